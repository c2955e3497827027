"""The HTML fragments of the page: the headline cards, the untrained banner, the clip's notices
and the layer flow. Their classes (``ae-*``) are defined beside them, in ``app.css``."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from .. import plots
from ..story.captions import clip_notes
from ..story.common import _n, _params, _pct, _shape, is_untrained, summary_line, title

if TYPE_CHECKING:
    from ..analysis import Analysis, ModelResult
    from ..inspect import LayerRecord


def headline_html(analysis: Analysis) -> str:
    """A row of compact cards: every model's answer and how sure it is, plus the summary line."""
    colors = plots.class_colors(analysis.classes)
    untrained = is_untrained(analysis)
    cards = []
    for arch, r in analysis.models.items():
        p = float(r.probabilities[r.target])
        color = "#9aa0a6" if untrained else colors.get(r.top, "#333")
        answer = (f'<span class="ae-random">random: {html.escape(r.top)}</span>' if untrained
                  else f'<span class="ae-class" style="background:{color}">{html.escape(r.top)}</span>')
        cards.append(
            f'<div class="ae-card" style="border-top-color:{color}">'
            f'<div class="ae-model">{html.escape(title(arch))}</div>'
            f'<div class="ae-answer">{answer} <span class="ae-conf">{_pct(p)}</span></div>'
            f'<div class="ae-bar"><div style="width:{100 * p:.0f}%;background:{color}"></div></div></div>'
        )
    summary = html.escape(summary_line(analysis)).replace("**", "")
    cls = "ae-summary ae-untrained-summary" if untrained else "ae-summary"
    return (f'<div class="ae-headline"><div class="ae-cards">{"".join(cards)}</div>'
            f'<div class="{cls}">{summary}</div></div>')


def empty_headline_html() -> str:
    return ('<div class="ae-headline"><div class="ae-summary ae-waiting">Pick an example, upload a file or record '
            'a few seconds: all six networks will listen to it and their answers appear here.</div></div>')


def untrained_banner_html(visible: bool) -> str:
    if not visible:
        return ""
    return ('<div class="ae-banner">UNTRAINED MODELS: no trained set was found, so every network has random '
            'weights. Shapes, layers and sizes are real; predictions and attributions are noise.</div>')


def _groups(result: ModelResult) -> list[tuple[str, list[LayerRecord]]]:
    """Consecutive layers grouped by their top-level block (``blocks.2.conv1`` -> ``blocks.2``)."""
    groups: list[tuple[str, list]] = []
    for rec in result.trace.layers:
        parts = rec.name.split(".")
        key = ".".join(parts[:2]) if parts[0] == "blocks" else parts[0]
        if groups and groups[-1][0] == key:
            groups[-1][1].append(rec)
        else:
            groups.append((key, [rec]))
    return groups


def layer_flow_html(analysis: Analysis, arch: str) -> str:
    """A left-to-right flow of boxes: each block, what it contains, and the shape it hands on."""
    r = analysis.models[arch]
    total = max(1, _params(r))
    boxes = [f'<div class="ae-box ae-input"><b>input</b><br><code>{_shape(r.x.shape[1:])}</code>'
             f'<br><small>{html.escape(r.input_kind)}</small></div>']
    for key, recs in _groups(r):
        params = sum(x.params for x in recs)
        kinds = " → ".join(dict.fromkeys(x.type for x in recs))
        heavy = " ae-heavy" if params / total > 0.5 else ""
        pct = 100 * params / total
        share = "no weights" if not params else (f"{_n(params)} weights" + (f" · {pct:.0f}%" if pct >= 1 else ""))
        boxes.append(f'<div class="ae-box{heavy}"><b>{html.escape(key)}</b><br><small>{html.escape(kinds)}</small>'
                     f'<br><code>{_shape(recs[-1].shape[1:])}</code><br><small>{share}</small></div>')
    return ('<div class="ae-flow">' + '<span class="ae-arrow">→</span>'.join(boxes) + "</div>"
            f'<div class="ae-flow-note">{_n(total)} parameters in all; boxes in red hold more than half of them. '
            "Shapes leave out the batch axis.</div>")


def notice_html(analysis: Analysis) -> str:
    """The clip's warnings (cropped, padded...) in a yellow box; plain facts (resampled...) in grey."""
    warnings, facts = clip_notes(analysis)
    out = "".join(f'<div class="ae-notice">Warning: {html.escape(w)}</div>' for w in warnings)
    if facts:
        out += f'<div class="ae-fact">{html.escape(" ".join(facts))}</div>'
    return out
