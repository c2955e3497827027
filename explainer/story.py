"""The words of the app: captions, "why this design" notes and the walkthrough.

Every function takes an :class:`~explainer.analysis.Analysis` (and what the view
lets a person choose) and returns Markdown or a small HTML fragment, written
around the numbers of *this* clip and *these* models: sample counts, shapes,
parameter shares, receptive fields, probabilities and deletion scores all come
from the analysis or the model set's card, never from a fixed text.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import numpy as np

from . import models, plots
from .features import DEFAULT as CFG
from .features import has_pauses, n_frames

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .analysis import Analysis, ModelResult
    from .inspect import LayerRecord

SR = CFG.sample_rate
title = models.title


# ---------------------------------------------------------------- small helpers


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


# ---------------------------------------------------------------- headline


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


def clip_notes(analysis: Analysis) -> tuple[list[str], list[str]]:
    """(warnings, facts) about the clip: cropped or padded clips warn; resampling is just a fact."""
    clip = analysis.clip
    facts = []
    if clip.source_sample_rate != SR:
        facts.append(f"Converted from {_n(clip.source_sample_rate)} to {_n(SR)} samples per second, the rate every "
                     "model uses.")
    if clip.source_channels > 1:
        facts.append(f"Its {clip.source_channels} channels were averaged into one.")
    return list(clip.warnings), facts


def clip_notice(analysis: Analysis) -> str:
    """The clip's warnings and facts as plain lines ('' when there are none)."""
    warnings, facts = clip_notes(analysis)
    return "\n".join([f"Warning: {w}" for w in warnings] + facts)


# ---------------------------------------------------------------- Listen & look


def sizes_rows(analysis: Analysis) -> list[list]:
    """Rows for the sizes table: representation, shape, numbers, float32 memory, × the samples."""
    rows = []
    for s in analysis.sizes:
        rows.append([s["name"], " × ".join(_n(d) for d in s["shape"]), _n(s["elements"]), _kb(s["bytes"]),
                     f"{s['vs_samples']:.2f}×"])
    return rows


SIZES_HEADERS = ["representation", "shape", "numbers", "memory (float32)", "× the samples"]


def listen_captions(analysis: Analysis) -> dict[str, str]:
    """Captions for the waveform, the mel spectrogram, the LFCC grid and the sizes table."""
    n = _samples(analysis)
    dur = n / SR
    wave = analysis.clip.waveform.reshape(-1).numpy()
    peak = float(np.abs(wave).max(initial=0.0))
    rms = float(np.sqrt(np.mean(wave.astype(np.float64) ** 2))) if wave.size else 0.0
    frames = n_frames(n, CFG.mel64_hop)
    mel = np.asarray(analysis.mel_db)
    lfcc = np.asarray(analysis.lfcc_grid)
    raw = analysis.sizes[0]
    biggest = max(analysis.sizes, key=lambda s: s["elements"])
    smallest = min(analysis.sizes, key=lambda s: s["elements"])
    loud_db = float(mel.max()) if mel.size else 0.0
    quiet = "This clip is digital silence: every sample is zero, so every picture below is flat." if peak == 0 else ""
    out = {
        "waveform": (
            f"**The waveform** is the raw material: {_n(n)} numbers, one every 1/16,000 of a second, for "
            f"{dur:.2f} s. The loudest sample reaches {peak:.2f} (1.0 is the maximum a file can hold) and the "
            f"average level (RMS) is {rms:.3f}. {quiet}"
        ),
        "mel": (
            f"**The mel spectrogram** cuts the clip into {frames} overlapping slices of 25 ms, one every 10 ms, and "
            f"measures how much energy each slice has in 64 frequency bands. The bands are narrow at low "
            f"frequencies and wide at high ones, roughly as our ears resolve pitch. Colour is loudness in dB; "
            f"the loudest cell here is {loud_db:.0f} dB. Speech shows stacked horizontal stripes (the harmonics of "
            f"the voice); noise is a smear; a tone is one bright line."
        ),
        "lfcc": (
            f"**The LFCC grid** describes each 10 ms slice with 180 numbers, so the clip becomes a table of "
            f"{lfcc.shape[0]} rows × {lfcc.shape[1] if lfcc.ndim == 2 else 180} columns. Columns 0–59 (LFCC) "
            f"summarise the shape of the spectrum using evenly spaced (linear) bands; columns 60–119 (Δ) say how "
            f"each of those numbers is changing from slice to slice; columns 120–179 (ΔΔ) say whether that change "
            f"is speeding up or slowing down. Each band has its own colour scale because LFCC values here span "
            f"{float(np.ptp(lfcc[:, :60])) if lfcc.size else 0:.0f} units while the Δ values span only "
            f"{float(np.ptp(lfcc[:, 60:120])) if lfcc.size else 0:.0f}."
        ),
        "sizes": (
            f"**The same {dur:.2f} s of sound takes very different amounts of memory.** The raw samples are "
            f"{_n(raw['elements'])} numbers ({_kb(raw['bytes'])}). The {biggest['name']} is the largest at "
            f"{biggest['vs_samples']:.2f}× the samples, the {smallest['name']} the smallest at "
            f"{smallest['vs_samples']:.2f}×. The 3×224×224 picture has a fixed size whatever the clip's length, "
            f"so short clips are blown up and long ones squeezed."
        ),
    }
    return out


# ---------------------------------------------------------------- Compare


def compare_caption(analysis: Analysis, method: str) -> str:
    """What the listening timeline shows, with the clip's peaks and faithfulness scores."""
    from .attribution import TIME_STEP_S

    lines = []
    for arch, r in analysis.models.items():
        curve = r.time_curves.get(method)
        if curve is None or not np.any(curve):
            continue
        peak_t = float(np.argmax(curve)) * TIME_STEP_S
        f = r.faithfulness.get(method, {})
        score = f.get("score")
        verdict = "" if score is None else (" (faithful here)" if score > 0.05 else
                                            " (no better than random here)" if score > -0.05 else
                                            " (worse than random here)")
        curves = r.curves.get(method)
        order = "" if not curves else (", and its map beats its own least-relevant order" if curves["beats_least"]
                                       else ", but its map does not beat its own least-relevant order")
        lines.append(f"{title(arch)} peaks at {peak_t:.2f} s{verdict}{order}")
    body = "; ".join(lines) + "." if lines else ""
    base = _of_kind(analysis, "mel128x128")
    frames = n_frames(_samples(analysis), CFG.mel128_hop)
    if base is not None and frames > CFG.mel128_frames:
        start = (frames - CFG.mel128_frames) // 2 * CFG.mel128_hop / SR
        end = start + CFG.mel128_frames * CFG.mel128_hop / SR
        body += (f" The {title(base)}'s curve is flat outside {start:.2f}–{end:.2f} s: it only ever sees the middle "
                 "128 frames of a clip.")
    if method in plots.SIGNED_METHODS:
        meaning = ("A high curve means \"this moment of the clip added most to the model's answer\", measured "
                   "against the reference (the room of your clip, or silence); a pause that holds nothing adds "
                   "nothing.")
    else:
        meaning = ("A high curve means \"changing the sound here would move this model's answer most\": "
                   "sensitivity, which can be high in a pause where nothing made the answer.")
    return (
        f"Each row squeezes one model's {plots.METHOD_TITLES.get(method, method)} map onto the clip's seconds, so "
        f"models with completely different inputs can be compared. {meaning} "
        "**Faithfulness** checks the map: hide the 20% of input cells the "
        "map rates highest and see how far the model's confidence falls, minus how far it falls when the same "
        "pattern of cells is hidden somewhere else (shifted to a random place). Above zero, the map found evidence "
        f"the model really uses. {body}"
    )


def tcn_caption(analysis: Analysis, arch: str | None = None) -> str:
    """What the frame-by-frame model (``arch``, or the set's first) answered over time."""
    arch = plots.frame_model(analysis, arch)
    r = analysis.models.get(arch)
    if r is None or r.frame_probabilities is None:
        return "This set has no model that answers frame by frame."
    probs = np.asarray(r.frame_probabilities)
    winners = probs.argmax(0)
    frames = winners.size
    changes = int(np.count_nonzero(np.diff(winners))) if frames > 1 else 0
    counts = np.bincount(winners, minlength=len(analysis.classes))
    share = ", ".join(f"{analysis.classes[i]} {100 * counts[i] / max(frames, 1):.0f}%"
                      for i in np.argsort(-counts) if counts[i] > 0)
    return (
        f"The {title(arch)} gives an answer for every one of the {frames} frames (10 ms each), using only that frame and "
        f"the ones before it. The strip shows the winner over time: {share}; it changes its mind {changes} times. "
        "Its answer for the whole clip (in the headline) is the average over all frames. Try the sequence "
        "example, where the sound switches class part-way through."
    )


METRICS_HEADERS = ["model", "synthetic test clips", "real recordings", "real speech recall", "parameters", "training"]


def metrics_rows(card: dict) -> list[list]:
    """One row per model from the set's card: accuracy on held-out synthetic clips and on held-out
    real recordings (apart, when the card has both), real speech recall, size, training time."""
    rows = []
    pct = lambda v: "—" if v is None else f"{100 * v:.1f}%"
    for arch in models.list_models():
        entry = (card.get("models") or {}).get(arch)
        if not entry:
            continue
        test = entry.get("test") or {}
        synthetic = (test.get("synthetic") or test).get("accuracy")
        real = test.get("real") or {}
        secs = entry.get("train_seconds")
        rows.append([title(arch), pct(synthetic), pct(real.get("accuracy")),
                     pct((real.get("per_class_recall") or {}).get("speech")),
                     _n(entry.get("params", 0)), "—" if secs is None else f"{secs / 60:.1f} min"])
    return rows


def metrics_note(card: dict, set_name: str) -> str:
    if card.get("untrained") or set_name == "untrained":
        return ("**No test scores: these models are untrained.** Once a trained set is installed in `pretrained/`, "
                "this table shows how often each model was right on clips it never heard in training.")
    entries = card.get("models") or {}
    split = next(((m.get("test") or {}).get("split") for m in entries.values() if m.get("test")), None)
    n = next(((m.get("test") or {}).get("n") for m in entries.values() if m.get("test")), None)
    where = ("held-out test clips: voices, instruments and drum kits kept out of training"
             if split == "test" else "the validation clips")
    extra = f" ({_n(n)} clips)" if n else ""
    where, extra = (f"{_n(n)} {where}", "") if n and split == "test" else (where, extra)
    framed = next(((a, m["test"]["frame_accuracy"]) for a, m in entries.items()
                   if (m.get("test") or {}).get("frame_accuracy")), None)
    frame_txt = (f" The {title(framed[0])} labels {100 * framed[1]:.1f}% of 10 ms frames of sequence clips correctly."
                 if framed else "")
    n_real = next(((m.get("test") or {}).get("real", {}).get("n") for m in entries.values()
                   if (m.get("test") or {}).get("real")), None)
    real_txt = (f" {_n(n_real)} of them are **real recordings**: people speaking (speakers and languages never "
                "heard in training), produced music and sampled drum kits, many played through a simulated room, "
                "microphone and browser codec. They are scored apart, because a model that only knows synthetic "
                "voices can fail on yours."
                if n_real else "")
    return (f"How good is each model of the set *{set_name}*? Accuracy on {where}{extra}.{real_txt} A model can be "
            f"sure and still wrong, so read the headline with these numbers in mind.{frame_txt}")


# ---------------------------------------------------------------- one architecture


def input_caption(analysis: Analysis, arch: str) -> str:
    """How the clip becomes this model's input, with this clip's sizes."""
    r = analysis.models[arch]
    n = _samples(analysis)
    dur = n / SR
    shape = _shape(r.x.shape)
    kind = r.input_kind
    if kind == "waveform":
        return (f"No conversion at all: the {_n(n)} samples go straight in as a tensor of shape {shape}. The "
                "orange box below is one position of the first kernel (64 samples, 4 ms); the dashed lines are "
                "where it goes next, 4 samples later. The network has to learn for itself what a spectrogram "
                "would have handed it.")
    if kind == "mel64":
        return (f"The 64-band mel spectrogram of Listen & look, as a one-channel picture {shape}. Its dB values are "
                f"shifted by {CFG.db_offset:.0f} and divided by {CFG.db_scale:.0f} so they sit near zero; the same "
                "shift is used for every clip, so a quiet clip still looks quiet to the model.")
    if kind == "mel128x128":
        frames = n_frames(n, CFG.mel128_hop)
        if frames > CFG.mel128_frames:
            fate = (f"Your clip gives {frames} frames, so the middle 128 are kept and {frames - 128} are thrown "
                    f"away: the model never hears the first and last {(frames - 128) / 2 * CFG.mel128_hop / SR:.2f} s.")
        elif frames < CFG.mel128_frames:
            fate = (f"Your clip gives only {frames} frames, so {128 - frames} frames of padding (the clip's quietest "
                    "value) are added on the right.")
        else:
            fate = "Your clip gives exactly 128 frames: no crop, no padding."
        return (f"This model needs exactly 128 × 128 numbers: 128 mel bands from a 1,024-sample FFT, and 128 frames "
                f"spaced 32 ms apart (4.1 s). {fate} Finally every value is mapped from the fixed range "
                f"{CFG.mel128_db_min:.0f}…{CFG.mel128_db_max:+.0f} dB onto 0…1 (min-max with the scale's bounds). The "
                "notebook this model comes from used each clip's own darkest and brightest cell instead; that makes a "
                "quiet room and a loud hiss look the same, and cost this model its silence and noise scores.")
    if kind == "lfcc":
        return (f"The LFCC + Δ + ΔΔ grid of Listen & look, as a one-channel picture {shape}: {r.x.shape[2]} time "
                "rows by 180 columns. The figure draws time left to right; inside the model, time is the rows.")
    if kind == "mel_seq":
        return (f"The same 64-band mel spectrogram, but read as a *sequence*: {r.x.shape[-1]} vectors of 64 numbers, "
                f"shape {shape}. The 64 bands are channels, not a picture axis, so each convolution mixes all bands "
                "at once and slides only along time. The bar chart is one of those vectors.")
    if kind == "mel224":
        frames = n_frames(n, CFG.mel64_hop)
        return (f"A 128-band mel spectrogram ({frames} frames for {dur:.2f} s) is resized to 224 × 224, the size "
                f"of an ImageNet photo, and copied into the red, green and blue channels: shape {shape}. Bands are "
                f"stretched ×{224 / 128:.2f} and time ×{224 / frames:.2f}, so each 16 × 16 patch covers "
                f"{16 / 224 * dur * 1000:.0f} ms of this clip; a longer clip would make every patch cover more time.")
    return f"Input tensor {shape}."


LAYER_HEADERS = ["layer", "type", "output shape", "parameters", "activation", "receptive field (steps)",
                 "receptive field (ms)"]


def layer_rows(analysis: Analysis, arch: str) -> list[list]:
    """The layer table: one row per traced layer, batch axis left out of the shape."""
    rows = []
    for rec in analysis.models[arch].trace.layers:
        rf = "whole input" if rec.is_global else ("—" if rec.receptive_field is None else _n(rec.receptive_field))
        ms = "—" if rec.receptive_field_ms is None else f"{rec.receptive_field_ms:,.0f}"
        rows.append([rec.name, rec.type, _shape(rec.shape[1:]), _n(rec.params), _kb(rec.activation_bytes), rf, ms])
    return rows


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


def _fmt_rf(rec: LayerRecord | None, unit: str) -> str:
    if rec is None or rec.receptive_field is None:
        return "—"
    return f"{_n(rec.receptive_field)} {unit} ({rec.receptive_field_ms:,.0f} ms of audio)"


def why_design(analysis: Analysis, arch: str) -> str:
    """The "why this design" note of one architecture, computed from its trace and this clip."""
    r = analysis.models[arch]
    n = _samples(analysis)
    total = _params(r)
    kind = r.input_kind
    layers = r.trace.layers
    if kind == "waveform":
        first = _first(r, lambda x: x.type == "Conv1d")
        pool = _first(r, lambda x: x.type.startswith("MaxPool"))
        deep = _last_local(r)
        return (
            "**A wide first kernel that takes big steps.** One sample on its own says almost nothing: it is a "
            "single air-pressure reading. The first layer therefore looks at 64 samples at a time (4 ms, long "
            "enough to hold a full cycle of any pitch above 250 Hz), so its 32 kernels can become learned filters "
            "for different frequencies.\n\n"
            f"**Why stride 4.** Your clip is {_n(n)} samples. Moving the kernel 4 samples at a time gives "
            f"{_n(first.shape[-1]) if first else '?'} positions per kernel instead of {_n(n)}, and the pool after it "
            f"shrinks that to {_n(pool.shape[-1]) if pool else '?'}: every later layer has a quarter (then a "
            "sixteenth) of the work. Audio at 16,000 numbers per second is long; cutting it down early is what "
            "keeps a raw-waveform network affordable.\n\n"
            f"**What it pays.** The first layer has only {_n(first.params) if first else '?'} weights, but the "
            "network must discover frequency analysis from data, which a spectrogram would have given it for "
            f"free. By its last convolution each output sees {_fmt_rf(deep, 'samples')}: a fifth block at "
            "64 ms steps is there so that this span holds a syllable or a few notes, not just one pitch period. A "
            "global average over time then turns any clip length into 128 numbers for the final layer. "
            f"{_n(total)} parameters in all."
        )
    if kind == "mel64":
        pools = [x for x in layers if x.type.startswith("MaxPool")]
        last = pools[-1] if pools else None
        deep = _last_local(r)
        shape = _shape(last.shape[1:]) if last else "?"
        shrink = r.x.shape[2] // last.shape[2] if last and last.shape[2] else 1
        return (
            "**Treat the spectrogram like a photo.** Square 3×3 kernels and 2×2 pooling handle frequency and time "
            f"in the same way, exactly as an image network handles height and width. After {len(pools)} poolings "
            f"the 64 × {r.x.shape[-1]} input has become {shape}: {shrink} times fewer bands and frames, many more "
            "channels.\n\n"
            "**Where the photo analogy breaks.** Moving a cat across a picture leaves a cat. Moving a sound up "
            "in frequency changes what it is: a low hum and a high whistle are different sounds. Pooling over "
            "frequency throws away some of that *where*, which is why other designs here keep frequency apart "
            "(the LFCC model never pools it; the TCN treats bands as channels).\n\n"
            f"**Any length in, fixed size out.** An adaptive average pool collapses what is left to 128 numbers, "
            f"so the head never depends on the clip's length. Its last convolution sees {_fmt_rf(deep, 'frames')}. "
            f"{_n(total)} parameters in all."
        )
    if kind == "mel128x128":
        flat = _first(r, lambda x: x.type == "Flatten")
        idx = layers.index(flat) if flat else -1
        dense = next((x for x in layers[idx + 1:] if x.type == "Linear"), None) if flat else None
        share = dense.params / max(total, 1) if dense else 0.0
        convs = sum(x.params for x in layers if x.type.startswith("Conv"))
        return (
            "**A fixed-size picture.** This is the classic first audio network of a tutorial: it wants exactly "
            "128 × 128 numbers, so every clip is cut or padded to about 4.1 s, whatever it contains.\n\n"
            "**Flatten is expensive.** After two conv + pool stages the maps are "
            f"{_shape(flat.shape[1:]) if flat else '?'}"
            f" numbers laid out in a line. Flatten keeps every position of every map, and the dense layer after it "
            f"connects each of those {_n(flat.shape[-1]) if flat else '?'} numbers to each of its "
            f"{_n(dense.shape[-1]) if dense else '?'} units: **{_n(dense.params) if dense else '?'} weights, "
            f"{100 * share:.1f}% of all {_n(total)}** in the model. Both convolutions together have only "
            f"{_n(convs)}.\n\n"
            "**Why that matters.** So many weights for a small dataset invite memorising the training clips. They "
            "also tie the model to one input size and to *where* a sound sits in the picture. The other CNNs here "
            "average over positions instead (global pooling, or a mean over time), and stay small."
        )
    if kind == "lfcc":
        mean = _first(r, lambda x: x.type == "Mean")
        head = layers[-1]
        pools = [x for x in layers if x.type == "AvgPool2d"]
        rows_after = pools[-1].shape[2] if pools else "?"
        convs = [x for x in layers if x.type == "Conv2d"]
        widths = [x.shape[1] for x in convs]
        channels = mean.shape[1] if mean else (widths[-1] if widths else 0)
        # multiply-adds of a bias-free conv: output cells x kernel weights per output channel
        macs = sum(int(np.prod(x.shape[1:])) * x.params // max(1, x.shape[1]) for x in convs)
        grid = np.asarray(analysis.lfcc_grid)
        lfcc_span = float(np.ptp(grid[:, :60])) if grid.size else 0.0
        delta_span = float(np.ptp(grid[:, 60:120])) if grid.size else 0.0
        return (
            "**Pool time, never columns.** Each of the 180 columns has a fixed meaning: column 5 is always the "
            "5th coefficient, column 65 always how fast that coefficient changes. `AvgPool2d((2, 1))` halves the "
            f"number of time rows and leaves the columns alone, so after three blocks your {r.x.shape[2]} rows are "
            f"{rows_after} and there are still 180 columns. A square (2, 2) pool would average neighbouring columns "
            "and, after a few layers, blend the last LFCC columns with the first Δ columns: two different kinds of "
            "measurement in one number. The walkthrough shows it on your clip.\n\n"
            f"**Mean over time.** `{mean.name if mean else 'Mean'}` averages what is left over time, leaving "
            f"{channels} channels × 180 columns = {_n(channels * 180)} numbers whatever the clip's length; the final "
            f"layer turns them into {len(analysis.classes)} scores with {_n(head.params)} weights.\n\n"
            f"**Widths and cost.** The convolutions here have {' → '.join(map(str, widths))} channels, the source "
            "design's doubling. Because no layer ever shrinks the 180 columns, every convolution works on the whole "
            "grid, and its cost grows with input × output channels: the third block alone does more work than the "
            f"other two together. This model's three convolutions take {_n(macs)} multiply-adds on your clip, more "
            "than any other network on this page.\n\n"
            f"**Columns on one scale.** In your clip the LFCC columns span {lfcc_span:.0f} units and the Δ columns "
            f"{delta_span:.0f}. A per-column normalisation, learned in training, puts them on one scale before the "
            f"first convolution. {_n(total)} parameters in all. This design comes from spoofed-speech detection, "
            "where the tell-tale artefacts hide in fine spectral detail."
        )
    if kind == "mel_seq":
        convs = _tcn_convs(layers)
        rf = layers[-1].receptive_field or 1
        ms = layers[-1].receptive_field_ms or 0.0
        dil = getattr(_model_attr(analysis, arch), "dilations", None)
        dtxt = ", ".join(str(d) for d in dil) if dil else "1, 2, 4, …"
        plain = max(1, (rf - 1) // 2)
        return (
            "**A sequence model.** The TCN reads the spectrogram as a row of 64-number vectors, one per 10 ms, "
            "and answers for every frame, so it can say *when* something happens, not just *what*. A rule of "
            "thumb: a 2D CNN for one answer per clip, a TCN for an answer per moment.\n\n"
            "**Causal.** Each convolution pads only on the left, so frame t is computed from frames t and "
            "earlier, never from the future. Such a model could run live on a microphone.\n\n"
            f"**Dilated.** The {len(convs)} convolutions skip inputs with dilations {dtxt} (two convolutions per "
            f"residual block). The reach doubles at every block, so the last layer sees **{rf} frames = "
            f"{ms / 1000:.2f} s** (from the trace). Undilated 3-wide convolutions would need about {plain} layers "
            "to reach as far.\n\n"
            f"**Residual.** Each block adds its output to its input, which keeps training stable in deep stacks. "
            f"{_n(total)} parameters in all; the clip's answer is the mean of the frame answers."
        )
    if kind == "mel224":
        frames = n_frames(n, CFG.mel64_hop)
        return (
            "**Borrow an image model.** Vision Transformers are built for 224 × 224 photos, so the mel "
            f"spectrogram is resized: 128 bands become 224 rows (×{224 / 128:.2f}) and this clip's {frames} frames "
            f"become 224 columns (×{224 / frames:.2f}). A longer clip is squeezed harder, so the same sound looks "
            "narrower. The picture is copied three times because photos have three colour channels.\n\n"
            "**196 patches + 1.** The picture is cut into 16 × 16 tiles, 14 × 14 = 196 of them. Each becomes a "
            "vector (a *token*); one extra learned token, the class token, collects the answer. Self-attention "
            "lets every token look at every other one in the very first block, so unlike a CNN there is no "
            "growing receptive field: each layer sees the whole clip.\n\n"
            "**Transfer learning, and why it is missing here.** The usual reason to use this design is to start "
            "from weights learned on millions of photos (ImageNet) and fine-tune them on spectrograms: edges and "
            "textures carry over, and far less audio is needed. **This ViT is trained from scratch**, because "
            "ImageNet weights cannot be downloaded in this build. Transformers have no built-in sense of which "
            "tiles are neighbours and must learn it from data, so on a small dataset expect it to trail the CNNs; "
            f"compare the accuracy table in Compare. {_n(total)} parameters in all."
        )
    return ""


def _model_attr(analysis: Analysis, arch: str):
    """The model class of an architecture, for its documented constants (dilations, kernel)."""
    try:
        return models.model_class(arch)
    except KeyError:
        return None


def _curves_text(curves: dict, target: str) -> str:
    a = curves["areas"]
    verdict = ("so the map's order beats its own reverse: it ranks the clip's time the way the model weighs it."
               if curves["beats_least"] else
               "so on this clip the map's order does **not** beat its own reverse; do not read it as the model's "
               "reasons.")
    return (f"**Deletion and insertion.** Removing the clip's time in the map's order, most relevant first, leaves "
            f"{target} an average of {100 * a['deletion_most']:.0f}% over the first half of the clip "
            f"(least relevant first: {100 * a['deletion_least']:.0f}%). Putting the time back into the reference "
            f"in the map's order brings it to {100 * a['insertion_most']:.0f}% on average (least relevant first: "
            f"{100 * a['insertion_least']:.0f}%), {verdict}")


def convergence_text(info: dict) -> str:
    """Integrated Gradients' accuracy in plain words."""
    ok = ("within" if info.get("converged") else "still outside")
    return (f"**Accuracy of this map.** Integrated Gradients used {info['steps']} Gauss–Legendre steps from the "
            f"reference to your clip. Its cells add up to f(clip) − f(reference) = {info['gap']:+.3f} with an error "
            f"of {info['delta']:.3g}, that is {100 * info['relative_error']:.1f}% of it, {ok} the "
            f"{100 * info['tolerance']:.0f}% this app asks for.")


def on_sound_text(share: float | None, sounding_share: float, method: str) -> str:
    """Where the map's evidence sits: on the sound or on the pauses."""
    if share is None or not has_pauses(sounding_share):
        return ""  # a clip without pauses (or without sound) has no "off the sound" to speak of
    name = plots.METHOD_TITLES.get(method, method)
    what = ("evidence for the answer" if method in plots.SIGNED_METHODS else "sensitivity")
    return (f"**On the sound?** {100 * share:.0f}% of this {name} map's {what} lies on the "
            f"{100 * sounding_share:.0f}% of the clip that sounds (pale green in the timelines); a map spread "
            f"evenly would score {100 * sounding_share:.0f}%.")


def reference_text(reference_kind: str, method: str) -> str:
    """What "nothing here" means for this map: the clip's own room, or silence."""
    if method not in plots.SIGNED_METHODS:
        return ""
    if reference_kind == "room":
        return ("**Measured from your room.** \"Nothing here\" is your clip's own background: each row's "
                "typical value over the clip's pauses, held for the whole clip. So a pause adds nothing unless "
                "the model really reacts to it, and deletion replaces time with the room, not with a silence "
                "no microphone records.")
    return ("**Measured from silence.** \"Nothing here\" is digital silence (for raw samples, or for a clip "
            "without pauses, there is no room to hold still), so the room between sounds can count as "
            "something.")


def sensitivity_vs_contribution(saliency: float, contribution: float) -> str:
    """Why saliency lights up silence, told with the on-sound shares of this clip's two maps."""
    sal, con = 100 * saliency, 100 * contribution
    return (f"**Sensitivity or contribution?** Saliency puts {sal:.0f}% of its mass on the sounding part of your clip, "
            f"input × gradient {con:.0f}%. Saliency is the size of the gradient: how much the answer *would* move "
            "if the sound here changed. In a pause the model would notice a sound appear, so the gradient there "
            "can be large although nothing in the pause made the answer. Input × gradient multiplies that "
            "gradient by how far each cell is from the reference (your room, or silence), so a cell that holds "
            "nothing adds (nearly) nothing: it shows what in this clip made the answer.")


def randomisation_text(check: dict, method: str, arch: str) -> str:
    """The cascading randomisation check in plain words."""
    name = plots.METHOD_TITLES.get(method, method)
    signed = method in plots.SIGNED_METHODS
    rho = check["final"] if signed else check["final_abs"]
    verdict = ("the map changed completely, so it depends on what the model learnt." if abs(rho) < 0.5 else
               "the map stayed alike although the model is now noise, so it shows the input more than the model.")
    extra = ""
    if signed and abs(check["final_abs"]) >= 0.5:
        extra = (f" Without signs the maps still correlate at {check['final_abs']:.2f}: the input factor of "
                 f"{name} draws the outline of the sound whatever the weights, and only the sign of each "
                 "cell's evidence comes from the model.")
    return (f"**Sanity check** (Adebayo et al., 2018). A copy of the {title(arch)} had its layers replaced by random "
            f"weights, {len(check['stages'])} groups of layers, from the output down, and {name} explained the "
            f"same clip again. Rank correlation with the trained map after the last group: **{rho:+.2f}** "
            f"({'signed' if signed else 'absolute'} maps); {verdict}{extra}")


def agreement_text(result: dict, arch: str) -> str:
    """What the method agreement view shows."""
    names = result["methods"]
    mat = np.asarray(result["matrix"], dtype=float)
    pairs = [(mat[i, j], names[i], names[j]) for i in range(len(names)) for j in range(i + 1, len(names))]
    if not pairs:
        return ""
    best, worst = max(pairs), min(pairs)
    t = plots.METHOD_TITLES
    return (f"Every method's curve for the {title(arch)}, on the same seconds. The numbers are Spearman rank "
            f"correlations between the curves: 1 means two methods rank the clip's moments the same way. "
            f"Closest: {t.get(best[1], best[1])} and {t.get(best[2], best[2])} ({best[0]:+.2f}); furthest: "
            f"{t.get(worst[1], worst[1])} and {t.get(worst[2], worst[2])} ({worst[0]:+.2f}). Where the "
            "contribution methods agree, trust the picture more; where only sensitivity lights up, the model "
            "would have *noticed* a sound there, not used one.")


CURVES_HEADERS = ["model", "deletion, most first", "deletion, least first", "insertion, most first",
                  "insertion, least first", "beats its reverse?"]


def curves_rows(analysis: Analysis, method: str | None = None) -> list[list]:
    """One row per model: the areas of its map's deletion and insertion curves, and the verdict."""
    method = method or analysis.methods[0]
    rows = []
    for arch, r in analysis.models.items():
        c = r.curves.get(method)
        if not c:
            continue
        a = c["areas"]
        rows.append([title(arch)] + [f"{100 * a[k]:.0f}" for k in ("deletion_most", "deletion_least",
                                                                      "insertion_most", "insertion_least")]
                    + ["yes" if c["beats_least"] else "no"])
    return rows


def curves_note(analysis: Analysis, method: str | None = None) -> str:
    method = method or analysis.methods[0]
    rows = curves_rows(analysis, method)
    wins = sum(row[-1] == "yes" for row in rows)
    return (f"Each number is the mean probability of the model's own answer, in %, while 0–50% of the clip's "
            f"time is replaced by the reference (deletion: your clip's room where it has pauses, else silence) "
            f"or put back into it (insertion), most relevant first in the order of its "
            f"{plots.METHOD_TITLES.get(method, method)} map, or least relevant first. A faithful map makes deletion "
            f"fall faster and insertion rise faster than its reverse. On this clip, {wins} of {len(rows)} maps do.")


def faithfulness_text(check: dict | None, target: str, method: str, on_sound: float | None = None,
                      sounding_share: float = 0.0) -> str:
    """The faithfulness checks of one map in plain words: the shifted-block score, the deletion and
    insertion curves, IG's accuracy, and where the map's mass sits."""
    name = plots.METHOD_TITLES.get(method, method)
    extras = [t for t in (on_sound_text(on_sound, sounding_share, method),
                          convergence_text(check["convergence"]) if check and check.get("convergence") else "",
                          _curves_text(check["curves"], target) if check and check.get("curves") else "") if t]
    tail = "\n\n" + "\n\n".join(extras) if extras else ""
    if not check or "score" not in check:
        return f"No faithfulness check was run for this {name} map.{tail}"
    top = 100 * check["drop_top"]
    rnd = 100 * check["drop_random"]
    score = check["score"]

    def points(v: float) -> str:
        return f"{abs(v):.0f} point" + ("" if round(abs(v)) == 1 else "s")

    def drop(v: float) -> str:
        return f"drops the {target} probability by {points(v)}" if v >= 0.5 else (
            f"raises it by {points(v)}" if v <= -0.5 else "barely changes it")

    if score > 0.05:
        verdict = "this map points at evidence the model really uses."
    elif score > -0.05:
        verdict = "no better than chance, so this check cannot vouch for the map on this clip."
    else:
        verdict = ("hiding the same pattern elsewhere hurt more than hiding the marked cells, so this map is not "
                   "a reliable guide for this clip.")
    return (f"**Is this map faithful?** Hiding the 20% of input cells it marks most strongly as evidence for "
            f"{target} {drop(top)} "
            f"({_pct(check['p_orig'])} → {_pct(check['p_top_removed'])}); hiding the same pattern of cells moved "
            f"to a random place {drop(rnd)}. "
            f"Score {score:+.2f}: {verdict}{tail}")


def receptive_field_caption(analysis: Analysis, t: int, arch: str | None = None) -> str:
    r = analysis.models[plots.frame_model(analysis, arch)]
    rf = r.trace.layers[-1].receptive_field or 1
    frames = r.x.shape[-1]
    t = int(np.clip(t, 0, frames - 1))
    lo = max(0, t - rf + 1)
    extra = (f" Near the start there is less past to see: frame {t} only has {t + 1} frames behind it."
             if t + 1 < rf else "")
    return (f"Output frame **{t}** ({t / 100:.2f} s) depends on input frames {lo}–{t}. The window is {rf} frames "
            f"long because that is how far the stacked dilated convolutions reach back.{extra} Move the slider "
            "to watch the window slide; the right edge is always the current frame.")


# ---------------------------------------------------------------- walkthrough


@dataclass(frozen=True)
class Step:
    title: str
    text: Callable[["Analysis"], str]
    figure: Callable[["Analysis"], "Figure"]


def _step_samples(a: Analysis) -> str:
    n = _samples(a)
    clip = a.clip
    src = (f" Your file was recorded at {_n(clip.source_sample_rate)} samples per second and was converted to "
           f"16,000, the rate all six models use." if clip.source_sample_rate != SR else "")
    return (f"A microphone measures air pressure many times a second. Your clip is **{n / SR:.2f} s** long, "
            f"measured **16,000 times per second**: **{_n(n)} samples**, each a number between −1 and 1.{src} "
            f"Stored as 32-bit floats they take {_kb(4 * n)}. The bottom panel zooms into 10 ms: "
            f"160 numbers, one dot each. Everything the networks know about your sound is in these numbers.")


def _step_frames(a: Analysis) -> str:
    n = _samples(a)
    frames = n_frames(n, CFG.mel64_hop)
    bins = CFG.mel64_n_fft // 2 + 1
    return (f"Samples wiggle too fast to read by eye, so we cut the clip into short **frames**: "
            f"{CFG.mel64_win} samples (25 ms) each, starting every {CFG.mel64_hop} samples (10 ms), so they "
            f"overlap. That gives **{frames} frames** for your clip. A Fourier transform (FFT of {CFG.mel64_n_fft} "
            f"points) splits each frame into **{bins} frequencies** from 0 to 8,000 Hz, {SR / CFG.mel64_n_fft:.2f} Hz "
            f"apart. Stacking the frames side by side gives the spectrogram: {bins} × {frames} = "
            f"{_n(bins * frames)} numbers, showing which frequencies are loud at each moment. Doing this frame by "
            "frame is the short-time Fourier transform (STFT).")


def _step_mel(a: Analysis) -> str:
    n = _samples(a)
    frames = n_frames(n, CFG.mel64_hop)
    return ("Our ears tell 100 Hz from 200 Hz easily, but 7,100 Hz from 7,200 Hz hardly at all. The **mel scale** "
            "copies that: the 64 triangular filters in the figure are narrow and packed at low frequencies and wide "
            "at high ones. Each filter adds up the energy it covers, then we take the logarithm (decibels), because "
            "loudness is heard on a log scale too. Result for your clip: "
            f"**64 × {frames} = {_n(64 * frames)} numbers** instead of {_n((CFG.mel64_n_fft // 2 + 1) * frames)}, "
            "keeping what matters most to a listener.")


def _step_lfcc(a: Analysis) -> str:
    g = np.asarray(a.lfcc_grid)
    rows = g.shape[0]
    return (f"Another way to describe each frame: **LFCCs**. Use {CFG.lfcc_n_filter} evenly spaced (linear, not mel) "
            f"bands, take logs, then a cosine transform that summarises the spectrum's *shape* in {CFG.lfcc_n_lfcc} "
            "numbers: the first ones describe the broad tilt, later ones ever finer ripples. Then add how each number "
            f"changes (**Δ**, over {CFG.delta_win} neighbouring frames) and how that change changes (**ΔΔ**). Your "
            f"clip becomes a spreadsheet of **{rows} rows × 180 columns = {_n(rows * 180)} cells**: a row per 10 ms, "
            "a fixed measurement per column. The figure prints real cells from the loudest part of your clip.")


def _step_conv(a: Analysis) -> str:
    g = np.asarray(a.lfcc_grid, dtype=np.float64)[:, :60]
    std = g.std(0, keepdims=True)
    z = (g - g.mean(0, keepdims=True)) / np.where(std > 1e-9, std, 1.0)
    r1 = plots.mean_correlation(z, 1, 0)
    r10 = plots.mean_correlation(z, 10, 0)
    c1 = plots.mean_correlation(z, 1, 1)
    return ("A 2D convolution slides a small window (3 × 3) over a grid and asks the same question everywhere: "
            "*is my pattern here?* It does not care that the grid came from audio. It only pays off if neighbouring "
            f"cells are related. Measured on your clip: rows 10 ms apart correlate at **{r1:.2f}**, rows 100 ms "
            f"apart at {r10:.2f}, so time neighbourhoods are real. Neighbouring LFCC columns correlate at only "
            f"**{c1:.2f}**: the cosine transform makes coefficients fairly independent, so along the columns the "
            "kernel mainly learns *combinations* of measurements rather than smooth shapes. That asymmetry is the "
            "first hint that the two axes should not be treated alike.")


def _step_pool(a: Analysis) -> str:
    g = np.asarray(a.lfcc_grid, dtype=np.float64)
    spans = plots.pool_columns(180, 3, 2)[-1]
    mixed = next(j for j, (lo, hi) in enumerate(spans) if lo < 60 <= hi)
    lo, hi = spans[mixed]
    m59 = float(g[:, 59].mean()) if g.size else 0.0
    m60 = float(g[:, 60].mean()) if g.size else 0.0
    rows = g.shape[0]
    return ("Pooling shrinks a grid by averaging neighbours. A square **(2, 2)** pool halves rows *and* columns: "
            f"after three of them your {rows} × 180 grid is {rows // 8} × {len(spans)}, and output column {mixed} "
            f"averages original columns **{lo}–{hi}**: LFCC {lo}–59 together with Δ 0–{hi - 60} (red box). "
            "On your "
            f"clip LFCC 59 averages {m59:.2f} and Δ 0 averages {m60:.2f}; once blended, no later layer can tell "
            "which was which. A **(2, 1)** pool halves only the time rows, so the middle panel keeps every column "
            f"exactly where it was ({rows // 8} × 180). The figure zooms into {min(rows, 128)} rows around the "
            "loudest moment and the columns around the LFCC/Δ border. That is why the LFCC-grid CNN pools with "
            "(2, 1).")


def _step_1d2d(a: Analysis) -> str:
    wr = a.models.get(_of_kind(a, "waveform"))
    sr_ = a.models.get(_of_kind(a, "mel64"))
    n = _samples(a)
    parts = [f"The same {n / SR:.2f} s can be fed to a network in two ways."]
    if wr is not None:
        first = _first(wr, lambda x: x.type == "Conv1d")
        parts.append(f"The **{title(wr.arch)}** slides 64-sample kernels along the {_n(n)} samples, 4 at a time: its "
                     f"first layer outputs {_shape(first.shape[1:]) if first else '?'} (channels × positions), and "
                     f"it has {_n(_params(wr))} weights.")
    if sr_ is not None:
        first = _first(sr_, lambda x: x.type == "Conv2d")
        parts.append(f"The **{title(sr_.arch)}** slides 3 × 3 kernels over the {_shape(sr_.x.shape[2:])} mel "
                     f"picture, along time *and* frequency: first output {_shape(first.shape[1:]) if first else '?'}, "
                     f"{_n(_params(sr_))} weights.")
    parts.append("The 1D model must learn its own frequency analysis; the 2D model is handed one and can reuse "
                 "ideas from image networks. Compare their answers in the headline and where they listened in "
                 "Compare.")
    return " ".join(parts)


def _step_dilation(a: Analysis) -> str:
    arch = plots.frame_model(a)
    r = a.models.get(arch)
    if r is None:
        return "This set has no model that answers frame by frame."
    rf = r.trace.layers[-1].receptive_field or 1
    ms = r.trace.layers[-1].receptive_field_ms or 0
    convs = _tcn_convs(r.trace.layers)
    return ("How far back can a frame-by-frame model look? An ordinary 3-wide convolution adds 2 frames of reach per "
            "layer. A **dilated** convolution spaces its taps out: with dilation 4 the taps are 4 frames apart, so "
            "the same 3 weights span 9 frames. Doubling the dilation at every block makes the reach grow "
            f"exponentially. The {title(arch)}'s {len(convs)} causal convolutions reach **{rf} frames ({ms / 1000:.2f} s)**, "
            "read from the trace (right-hand chart); the sketch on the left shows the idea with fewer layers. *Causal* "
            "means every connection points to the past: the answer at a moment never waits for the future.")


def _step_attr(a: Analysis) -> str:
    from .attribution import TIME_STEP_S

    method = a.methods[0] if a.methods else "saliency"
    parts = []
    for arch, r in a.models.items():
        c = r.time_curves.get(method)
        if c is None or not np.any(c):
            continue
        f = r.faithfulness.get(method, {}).get("score")
        ftxt = "" if f is None else f", faithfulness {f:+.2f}"
        on = r.on_sound.get(method)
        otxt = f", {100 * on:.0f}% of its map on the sound" if on is not None and a.has_pauses else ""
        parts.append(f"{title(arch)}: {r.top} ({_pct(r.probabilities[r.target])}), listens hardest at "
                     f"{float(np.argmax(c)) * TIME_STEP_S:.2f} s{otxt}{ftxt}")
    lst = "\n".join(f"- {p}" for p in parts)
    caution = (" These models are untrained, so the maps show structure but no meaning."
               if is_untrained(a) else "")
    if method in plots.SIGNED_METHODS:
        kind = ("what each cell *added* to the answer compared with a reference (your clip's room, or silence), so "
                "a pause that holds nothing scores nothing")
    else:
        kind = ("how much the answer *would* move if each cell changed: sensitivity, which can be high in a pause "
                "where nothing made the answer")
    sound = (f" The clip sounds in {100 * a.sounding_share:.0f}% of its 10 ms steps; a map that sits on the sound "
             "scores well above that." if a.has_pauses else "")
    return ("Finally: *why* did each model answer as it did? An attribution method gives every input cell a score. "
            f"Here is {plots.METHOD_TITLES.get(method, method)}: {kind}. It is collapsed onto time so the models can "
            f"be compared on one axis:\n\n{lst}\n\n{sound.strip()} A map is only worth trusting if hiding the "
            "cells it marks hurts the model more than hiding as many cells elsewhere: that is the faithfulness "
            "score. Go to a "
            "model's tab to see its map on its own input, or to *Hear the explanation* to listen to only the "
            f"cells that mattered.{caution}")


STEPS: list[Step] = [
    Step("Samples and the sample rate", _step_samples, plots.samples_zoom),
    Step("Frames and the STFT", _step_frames, plots.stft_frames),
    Step("The mel scale", _step_mel, plots.mel_filters),
    Step("LFCC + Δ + ΔΔ: a spreadsheet", _step_lfcc, plots.lfcc_spreadsheet),
    Step("Why a 2D convolution works on that grid", _step_conv, plots.conv_on_grid),
    Step("(2, 2) or (2, 1) pooling?", _step_pool, plots.pooling_compare),
    Step("1D or 2D on the same clip", _step_1d2d, plots.one_d_vs_two_d),
    Step("Dilation and the receptive field", _step_dilation, plots.dilation_diagram),
    Step("What the attributions say", _step_attr,
         lambda a: plots.listening_timeline(a, a.methods[0] if a.methods else "saliency")),
]


def step_markdown(analysis: Analysis, index: int) -> str:
    """The text of walkthrough step ``index`` (0-based), headed by its number and title."""
    index = int(np.clip(index, 0, len(STEPS) - 1))
    step = STEPS[index]
    return f"### Step {index + 1} of {len(STEPS)}: {step.title}\n\n{step.text(analysis)}"


def step_figure(analysis: Analysis, index: int) -> Figure:
    index = int(np.clip(index, 0, len(STEPS) - 1))
    return STEPS[index].figure(analysis)


def step_indicator(index: int) -> str:
    index = int(np.clip(index, 0, len(STEPS) - 1))
    dots = " ".join("●" if i == index else "○" for i in range(len(STEPS)))
    return f"**Step {index + 1} of {len(STEPS)}** {dots}"


# ---------------------------------------------------------------- hear the explanation


def hear_caption(analysis: Analysis, arch: str, method: str, keep: float) -> str:
    r = analysis.models[arch]
    whole = ("This model's map has no frequency axis (its input is raw samples or cepstral coefficients), so "
             "whole 10 ms slices are kept or silenced. " if r.input_kind in ("waveform", "lfcc") else "")
    return (f"The left player is your clip. The right one keeps only the **{100 * keep:.0f}%** of time-frequency "
            f"cells that the {title(arch)}'s {plots.METHOD_TITLES.get(method, method)} map rated highest for "
            f"'{r.top}', and silences the rest (the original phase is kept, so it still sounds natural). {whole}If "
            "you can still recognise the sound, the model was listening to the right part. Lower the slider to "
            "hear how little it needs.")
