"""The guided walkthrough: nine steps from samples to attributions, each a text and a
figure drawn on the learner's own clip.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import numpy as np

from .. import plots
from ..features import DEFAULT as CFG
from ..features import n_frames
from .common import SR, _first, _kb, _n, _of_kind, _params, _pct, _samples, _shape, _tcn_convs, is_untrained, title

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..analysis import Analysis


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
            f"exponentially. The {title(arch)}'s {len(convs)} causal convolutions reach "
            f"**{rf} frames ({ms / 1000:.2f} s)**, "
            "read from the trace (right-hand chart); the sketch on the left shows the idea with fewer layers. *Causal* "
            "means every connection points to the past: the answer at a moment never waits for the future.")


def _step_attr(a: Analysis) -> str:
    from ..attribution import TIME_STEP_S

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
