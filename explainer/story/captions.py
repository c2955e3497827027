"""The captions beside every figure and table: what the clip is, how it became each input,
what each model answered and where it listened, and how good each model is.

Every caption is written around the numbers of *this* clip and *these* models, taken from
the analysis or the model set's card, never from a fixed text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .. import models, plots
from ..features import DEFAULT as CFG
from ..features import front_end_class, n_frames
from .common import SR, _kb, _n, _of_kind, _samples, _shape, title

if TYPE_CHECKING:
    from ..analysis import Analysis


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


def compare_caption(analysis: Analysis, method: str) -> str:
    """What the listening timeline shows, with the clip's peaks and faithfulness scores."""
    from ..attribution import TIME_STEP_S

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
                   "against the reference (the room of your clip, or silence): the height of a moment is what "
                   "all its cells add up to, so cells that push both ways cancel, and a pause that holds nothing "
                   "adds nothing.")
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
        f"The {title(arch)} gives an answer for every one of the {frames} frames (10 ms each), using only that "
        "frame and "
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


def hear_caption(analysis: Analysis, arch: str, method: str, keep: float) -> str:
    r = analysis.models[arch]
    whole = ("This model's map has no frequency axis (its input is raw samples or cepstral coefficients), so "
             "whole 10 ms slices are kept or silenced. " if not front_end_class(r.input_kind).names_frequencies else "")
    return (f"The left player is your clip. The right one keeps only the **{100 * keep:.0f}%** of time-frequency "
            f"cells that the {title(arch)}'s {plots.METHOD_TITLES.get(method, method)} map rated highest for "
            f"'{r.top}', and silences the rest (the original phase is kept, so it still sounds natural). {whole}If "
            "you can still recognise the sound, the model was listening to the right part. Lower the slider to "
            "hear how little it needs.")
