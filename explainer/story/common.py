"""Small helpers every text of the app shares: number formats, shapes, and finding a model
by what it reads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from .. import models
from ..features import DEFAULT as CFG

if TYPE_CHECKING:
    from ..analysis import Analysis, ModelResult
    from ..inspect import LayerRecord

SR = CFG.sample_rate
title = models.title


def _tcn_convs(layers) -> list:
    """The TCN's dilated causal convolutions among its trace records (not the 1x1 input and head)."""
    return [x for x in layers if x.type == "CausalConv1d" or (x.name.startswith("blocks") and "Conv" in x.type)]


def _n(v: float) -> str:
    """1234567 -> '1,234,567'."""
    return f"{int(round(v)):,}"


def _kb(n_bytes: float) -> str:
    return f"{n_bytes / 1024:,.1f} KB" if n_bytes < 1024 ** 2 else f"{n_bytes / 1024 ** 2:,.2f} MB"


def _pct(p: float) -> str:
    return f"{100 * float(p):.0f}%"


def _shape(shape) -> str:
    return "(" + ", ".join(_n(d) for d in shape) + ")"


def _samples(analysis: Analysis) -> int:
    return int(analysis.clip.waveform.shape[-1])


def _params(result: ModelResult) -> int:
    return sum(rec.params for rec in result.trace.layers)


def is_untrained(analysis_or_name) -> bool:
    """True for the random-weight set that exists only to explore shapes."""
    name = analysis_or_name if isinstance(analysis_or_name, str) else analysis_or_name.set_name
    return name == "untrained"


def _of_kind(analysis: Analysis, kind: str) -> str | None:
    """The first model of the analysis that reads ``kind`` (an ``input_kind``), or ``None``."""
    return next((a for a, r in analysis.models.items() if r.input_kind == kind), None)


def _first(result: ModelResult, pred: Callable[[LayerRecord], bool]) -> LayerRecord | None:
    return next((rec for rec in result.trace.layers if pred(rec)), None)


def _last_local(result: ModelResult) -> LayerRecord | None:
    """The deepest layer whose outputs still depend on only part of the input."""
    recs = [rec for rec in result.trace.layers if not rec.is_global and rec.receptive_field]
    return recs[-1] if recs else None


def vote(analysis: Analysis) -> tuple[str, int, int]:
    """(most chosen class, how many models chose it, how many models there are)."""
    tops = [r.top for r in analysis.models.values()]
    if not tops:
        return "", 0, 0
    best = max(dict.fromkeys(tops), key=tops.count)
    return best, tops.count(best), len(tops)


def summary_line(analysis: Analysis) -> str:
    """One plain sentence about what the models heard."""
    if is_untrained(analysis):
        return ("These models are **untrained**: their answers are random. Use them to explore shapes and layers, "
                "not to classify sounds.")
    best, count, total = vote(analysis)
    if total == 0:
        return "No model ran."
    if total == 1:
        arch = next(iter(analysis.models))
        return (f"The only model in this set, the {title(arch)}, hears **{best}**. The set has {total} of the "
                f"{len(models.list_models())} architectures; the other tabs stay empty.")
    known = len(models.list_models())
    partial = f" (this set has {total} of the {known} architectures)" if total < known else ""
    if count == total:
        return f"All {total} models hear **{best}**{partial}."
    if count > total / 2:
        others = [f"{title(a)} says {r.top}" for a, r in analysis.models.items() if r.top != best]
        return f"**{count} of {total} models hear {best}** ({'; '.join(others)}){partial}."
    tally = {}
    for r in analysis.models.values():
        tally[r.top] = tally.get(r.top, 0) + 1
    parts = ", ".join(f"{k} × {v}" for k, v in sorted(tally.items(), key=lambda kv: -kv[1]))
    return f"**The models disagree** ({parts}){partial}. A mixed or unusual sound often does this."
