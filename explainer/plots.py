"""Every figure of the app, drawn with matplotlib's object API.

Each public function takes an :class:`~explainer.analysis.Analysis` (plus what
the view lets a person choose) and returns a new :class:`matplotlib.figure.Figure`.
Nothing here touches pyplot's global state, so figures can be drawn from many
threads and are freed as soon as the caller drops them (or calls :func:`close`).

The figures are meant for a projector: fonts of 11 pt and more, magma/viridis or
diverging maps with strong contrast, and one colour per class that is the same in
every figure (:func:`class_colors`). Attribution maps are clipped at their 99th
percentile before colouring, so one extreme cell cannot wash out the rest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from . import models
from .attribution import CONTRIBUTION_METHODS
from .features import DEFAULT as CFG

if TYPE_CHECKING:
    from .analysis import Analysis

SR = CFG.sample_rate
DPI = 100
METHOD_TITLES = {
    "input_x_gradient": "Input × gradient",
    "saliency": "Saliency",
    "integrated_gradients": "Integrated Gradients",
    "gradcam": "Grad-CAM",
    "occlusion": "Occlusion",
    "smoothgrad": "SmoothGrad",
}
SIGNED_METHODS = CONTRIBUTION_METHODS  # their sign means for/against the class
# Okabe-Ito colours: distinguishable with the common colour-vision deficiencies and on a projector
_FIXED = {"speech": "#0072B2", "music": "#E69F00", "percussion": "#009E73", "tone": "#CC79A7",
          "noise": "#D55E00", "silence": "#8C8C8C"}
_PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#8C8C8C", "#F0E442", "#000000"]
_STYLE = {
    "font.size": 12, "axes.titlesize": 13, "axes.labelsize": 12, "xtick.labelsize": 11,
    "ytick.labelsize": 11, "legend.fontsize": 11, "figure.titlesize": 14, "axes.titleweight": "bold",
    "image.interpolation": "nearest",
}
_BAND_NAMES = ("LFCC", "Δ", "ΔΔ")


def model_title(arch: str) -> str:
    """The plain name the app shows for an architecture (its class's ``title``)."""
    return models.title(arch)


def frame_model(analysis: Analysis, arch: str | None = None) -> str | None:
    """``arch``, or the first model of the analysis that answers per frame (``frame_level``)."""
    if arch is not None:
        return arch
    return next((a for a, r in analysis.models.items() if r.frame_probabilities is not None), None)


def class_colors(classes: list[str]) -> dict[str, str]:
    """One colour per class, fixed for the shipped classes and by position for any other set."""
    out, free = {}, [c for c in _PALETTE]
    for c in classes:
        if c in _FIXED:
            out[c] = _FIXED[c]
            if _FIXED[c] in free:
                free.remove(_FIXED[c])
    for i, c in enumerate(x for x in classes if x not in out):
        out[c] = free[i % len(free)] if free else _PALETTE[i % len(_PALETTE)]
    return out


def close(fig: Figure | None) -> None:
    """Free a figure's memory now (a Figure not made by pyplot is otherwise freed by the GC)."""
    if fig is not None:
        fig.clear()


def _figure(width: float, height: float, margins: tuple[float, float, float, float] | None = None,
            hspace: float = 0.15) -> Figure:
    """A new figure; ``margins`` = (left, right, top, bottom) in inches fixes the layout by hand.

    Constrained layout is convenient but costs about half of a figure's drawing time, so the
    figures of the first response place their axes by hand.
    """
    if margins is None:
        return Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    fig = Figure(figsize=(width, height), dpi=DPI)
    left, right, top, bottom = margins
    fig.subplots_adjust(left=left / width, right=1 - right / width, top=1 - top / height,
                        bottom=bottom / height, hspace=hspace)
    return fig


def _styled(fn):
    """Run a figure function inside the projector style, so every text it makes is large."""

    def wrapper(*args, **kwargs):
        with matplotlib.rc_context(_STYLE):
            return fn(*args, **kwargs)

    wrapper.__name__, wrapper.__doc__, wrapper.__wrapped__ = fn.__name__, fn.__doc__, fn
    return wrapper


# ---------------------------------------------------------------- helpers


def _wave(analysis: Analysis) -> np.ndarray:
    return np.nan_to_num(analysis.clip.waveform.reshape(-1).detach().cpu().numpy().astype(np.float32))


def _np(t) -> np.ndarray:
    a = t.detach().float().cpu().numpy() if hasattr(t, "detach") else np.asarray(t, dtype=np.float32)
    return np.nan_to_num(a.astype(np.float32))


def _limits(a: np.ndarray, lo_q: float = 1.0, hi_q: float = 99.0) -> tuple[float, float]:
    """Percentile colour limits that never collapse to one value (digital silence)."""
    a = a[np.isfinite(a)]
    if a.size == 0:
        return 0.0, 1.0
    lo, hi = np.percentile(a, [lo_q, hi_q])
    if not hi > lo:
        lo, hi = float(a.min()), float(a.max())
    if not hi > lo:
        lo, hi = lo - 0.5, hi + 0.5
    return float(lo), float(hi)


def _sym_limit(a: np.ndarray, q: float = 99.0) -> float:
    a = np.abs(a[np.isfinite(a)])
    if a.size == 0:
        return 1.0
    v = float(np.percentile(a, q))
    if not v > 0:
        v = float(a.max())
    return v if v > 0 else 1.0


def clip_attribution(attr: np.ndarray, signed: bool, q: float = 99.0) -> tuple[np.ndarray, float]:
    """Clip a map at its ``q``-th percentile of magnitude; returns (clipped map, limit).

    Unsigned maps are made non-negative first. The limit is always positive, so a
    map of zeros (digital silence) colours evenly instead of failing.
    """
    a = np.nan_to_num(np.asarray(attr, dtype=np.float32))
    if not signed:
        a = np.abs(a)
    lim = _sym_limit(a, q)
    return np.clip(a, -lim if signed else 0.0, lim), lim


def _relative(attr: np.ndarray, signed: bool) -> np.ndarray:
    """A map clipped at its 99th percentile and scaled so that percentile is 1."""
    clipped, lim = clip_attribution(attr, signed)
    return clipped / lim


def _draw_wave(ax, wave: np.ndarray, color: str = "#1f3b57", t0: float = 0.0, *, y0: float | None = None,
               height: float = 1.0, **kw) -> None:
    """Waveform against seconds, with librosa's ``waveshow`` (an envelope for long clips, samples up close).

    By default the axes fit the wave; with ``y0``, the wave is scaled to peak at ``height`` and
    drawn around ``y0`` of axes that already hold other rows.
    """
    import librosa.display  # deferred: librosa's import is slow and only figures need it
    from matplotlib.transforms import Affine2D

    n = wave.size
    peak = float(np.abs(wave).max(initial=0.0))
    if y0 is None:
        librosa.display.waveshow(wave, sr=SR, ax=ax, axis=None, offset=t0, color=color, **kw)
        ax.set_ylim(-max(peak, 1e-3) * 1.1, max(peak, 1e-3) * 1.1)
        ax.set_xlim(t0, t0 + n / SR)
        ax.axhline(0, color="#999999", linewidth=0.5)
        return
    shift = Affine2D().translate(0, y0) + ax.transData
    librosa.display.waveshow(wave * (height / (peak or 1.0)), sr=SR, ax=ax, axis=None, offset=t0, color=color,
                             transform=shift, **kw)


def _specshow(ax, data: np.ndarray, hop: int, y_axis: str | None = None, **kw):
    import librosa.display  # deferred: librosa's import is slow and only figures need it

    return librosa.display.specshow(data, sr=SR, hop_length=hop, x_axis="time", y_axis=y_axis, ax=ax, **kw)


def _stft_db(wave: np.ndarray) -> np.ndarray:
    """Magnitude STFT in dB (bins, frames) with the 64-band mel settings: 25 ms window, 10 ms hop."""
    from .features import stft_db

    return stft_db(np.ascontiguousarray(wave, dtype=np.float32)).numpy()


def _seconds_axis(ax) -> None:
    ax.set_xlabel("time (s)")


def _frames_to_s(frames: int, hop: int) -> float:
    return frames * hop / SR


def _loudest_start(wave: np.ndarray, span: int) -> int:
    """Start of the ``span``-sample stretch with the most energy (where there is something to see)."""
    if wave.size <= span:
        return 0
    energy = np.convolve(wave.astype(np.float64) ** 2, np.ones(span), mode="valid")
    return int(np.argmax(energy)) if energy.max() > 0 else 0


def _ink(cmap, value: float) -> str:
    """Black or white text, whichever reads better on ``cmap(value)``."""
    r, g, b, _ = cmap(float(np.clip(value, 0, 1)))
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white"


def _row_label(ax, y: float, text: str, fontsize: int = 12, pad: float = 1.5) -> None:
    """The name of one row of a stacked-curves figure, at its top left, on a white box."""
    ax.text(0.003, y, text, ha="left", va="top", fontsize=fontsize, transform=ax.get_yaxis_transform(),
            bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "none", "pad": pad})


def _signed(v: float) -> str:
    """``+0.41`` style, never ``-0.00``."""
    return f"{round(float(v), 2) + 0.0:+.2f}"


def _colorbar(fig, im, ax, label: str):
    cb = fig.colorbar(im, ax=ax, pad=0.01, fraction=0.04)
    cb.set_label(label)
    return cb


# ---------------------------------------------------------------- Listen & look


@_styled
def waveform(analysis: Analysis) -> Figure:
    """The clip's samples against time in seconds."""
    wave = _wave(analysis)
    fig = _figure(12, 2.6, margins=(0.9, 1.15, 0.4, 0.6))
    ax = fig.add_subplot()
    _draw_wave(ax, wave)
    ax.set_ylabel("amplitude")
    _seconds_axis(ax)
    ax.set_title(f"Waveform: {wave.size:,} samples at {SR:,} per second = {wave.size / SR:.2f} s")
    return fig


@_styled
def mel_spectrogram(analysis: Analysis) -> Figure:
    """The 64-band log-mel in dB, on a mel-spaced Hz axis and a seconds axis."""
    mel = np.nan_to_num(np.asarray(analysis.mel_db, dtype=np.float32))
    fig = _figure(12, 3.4, margins=(0.9, 0.6, 0.4, 0.6))
    ax = fig.add_subplot()
    lo, hi = _limits(mel, 0.5, 100.0)
    im = _specshow(ax, mel, CFG.mel64_hop, y_axis="mel", fmin=0.0, fmax=SR / 2, cmap="magma", vmin=lo, vmax=hi)
    _colorbar(fig, im, ax, "dB")
    ax.set_ylabel("frequency (Hz)")
    _seconds_axis(ax)
    ax.set_title(f"Mel spectrogram: {mel.shape[0]} bands × {mel.shape[1]} frames (one every 10 ms), dB")
    return fig


def _draw_lfcc_bands(fig, axes, grid: np.ndarray, hop: int, colorbars: bool = True) -> None:
    """Draw a (frames, 180) grid as three stacked bands, each with its own colour scale."""
    n = grid.shape[1] // 3
    for b, ax in enumerate(axes):
        band = grid[:, b * n:(b + 1) * n].T  # (60, frames)
        if b == 0:
            lo, hi = _limits(band)
            im = _specshow(ax, band, hop, cmap="viridis", vmin=lo, vmax=hi, y_coords=np.arange(n) + b * n)
        else:
            lim = _sym_limit(band)
            im = _specshow(ax, band, hop, cmap="RdBu_r", vmin=-lim, vmax=lim, y_coords=np.arange(n) + b * n)
        ax.set_ylabel(f"{_BAND_NAMES[b]}", rotation=0, ha="right", va="center", fontsize=14, fontweight="bold")
        ax.set_yticks([b * n, (b + 1) * n - 1])
        if colorbars:
            cb = fig.colorbar(im, ax=ax, pad=0.01, fraction=0.03, aspect=8)
            cb.set_label("level" if b == 0 else ("rising +\nfalling −" if b == 1 else "change of\nthe change"),
                         fontsize=10)
        if b < 2:
            ax.set_xlabel("")
            ax.tick_params(labelbottom=False)
        else:
            _seconds_axis(ax)


@_styled
def lfcc_grid(analysis: Analysis) -> Figure:
    """The LFCC + Δ + ΔΔ grid: three labelled bands of 60 columns over time."""
    grid = np.nan_to_num(np.asarray(analysis.lfcc_grid, dtype=np.float32))
    fig = _figure(12, 4.6, margins=(1.0, 1.0, 0.4, 0.6), hspace=0.08)
    axes = fig.subplots(3, 1, sharex=True)
    _draw_lfcc_bands(fig, axes, grid, CFG.lfcc_hop)
    axes[0].set_title(f"LFCC + Δ + ΔΔ grid: {grid.shape[0]} rows (10 ms frames) × {grid.shape[1]} columns, "
                      "drawn with time running left to right")
    return fig


# ---------------------------------------------------------------- Compare


@_styled
def prediction_table(analysis: Analysis) -> Figure:
    """Heat table of every model's probability for every class, the top class outlined."""
    classes = analysis.classes
    archs = list(analysis.models)
    probs = np.array([np.nan_to_num(analysis.models[a].probabilities) for a in archs]).reshape(len(archs), len(classes))
    untrained = analysis.set_name == "untrained"
    fig = _figure(12, 0.55 * len(archs) + 1.2, margins=(2.9, 0.2, 0.7, 0.5))
    ax = fig.add_subplot()
    cmap = matplotlib.colormaps["Greys" if untrained else "viridis"]
    ax.imshow(probs, cmap=cmap, vmin=0, vmax=1, aspect="auto")
    colors = class_colors(classes)
    for i in range(len(archs)):
        top = int(np.argmax(probs[i]))
        for j in range(len(classes)):
            v = probs[i, j]
            ax.text(j, i, f"{100 * v:.0f}%", ha="center", va="center", fontsize=13,
                    fontweight="bold" if j == top else "normal", color=_ink(cmap, v))
        ax.add_patch(Rectangle((top - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="#ff3b30", linewidth=3))
    ax.xaxis.tick_top()
    ax.set_xticks(range(len(classes)), classes, fontsize=13, fontweight="bold")
    for lbl, c in zip(ax.get_xticklabels(), classes):
        lbl.set_color(colors[c])
    ax.set_yticks(range(len(archs)), [model_title(a) for a in archs], fontsize=12)
    title = "Each model's probability for each class; red box = its answer; brighter = more sure"
    if untrained:
        title = "UNTRAINED models: these probabilities are random, not answers"
    ax.set_xlabel(title)
    return fig


@_styled
def listening_timeline(analysis: Analysis, method: str) -> Figure:
    """Waveform on top, then one row per model with its attribution collapsed onto the seconds axis.

    Drawn in a single axes (rows stacked by offset), which is several times cheaper than
    one axes per row.
    """
    from .attribution import TIME_STEP_S

    wave = _wave(analysis)
    archs = [a for a in analysis.models if method in analysis.models[a].time_curves]
    colors = class_colors(analysis.classes)
    rows = len(archs) + 1
    fig = _figure(12, 0.95 * rows + 0.9, margins=(0.25, 0.2, 0.45, 0.6))
    ax = fig.add_subplot()
    duration = wave.size / SR
    base = rows - 1  # the waveform sits in the top row, centred
    _draw_wave(ax, wave, y0=base + 0.45, height=0.4)
    _row_label(ax, base + 0.95, "your clip")
    _shade_sounding(ax, analysis, -0.05, rows - 1)
    for i, arch in enumerate(archs):
        y0 = rows - 2 - i
        r = analysis.models[arch]
        curve = np.nan_to_num(np.asarray(r.time_curves[method], dtype=np.float32))
        t = np.arange(curve.size) * TIME_STEP_S
        color = colors.get(r.top, "#333333")
        ax.fill_between(t, y0, y0 + 0.72 * curve, color=color, alpha=0.8, linewidth=0)
        ax.plot(t, y0 + 0.72 * curve, color="black", linewidth=0.7)
        ax.axhline(y0, color="#bbbbbb", linewidth=0.8)
        faith = r.faithfulness.get(method, {})
        score = f"  ·  faithfulness {_signed(faith['score'])}" if "score" in faith else ""
        on = r.on_sound.get(method)
        on = f"  ·  {100 * on:.0f}% on the sound" if on is not None and analysis.has_pauses else ""
        guess = "random guess: " if analysis.set_name == "untrained" else ""
        label = f"{model_title(arch)} → {guess}{r.top} {100 * float(r.probabilities[r.target]):.0f}%{on}{score}"
        _row_label(ax, y0 + 0.95, label)
    ax.set_ylim(-0.05, rows)
    ax.set_xlim(0, duration)
    ax.set_yticks([])
    _seconds_axis(ax)
    what = "evidence for its answer" if method in SIGNED_METHODS else "sensitivity"
    ax.set_title(f"Where each model listened: {METHOD_TITLES.get(method, method)} ({what}); green: the clip sounds",
                 fontsize=12)
    return fig


@_styled
def tcn_frame_timeline(analysis: Analysis, arch: str | None = None) -> Figure:
    """The TCN's class for every 10 ms frame: the waveform with a band of the winner, and stacked probabilities."""
    arch = frame_model(analysis, arch)
    wave = _wave(analysis)
    r = analysis.models.get(arch)
    fig = _figure(12, 3.8, margins=(0.9, 1.7, 0.4, 0.6), hspace=0.06)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[1, 1.2])
    _draw_wave(top, wave)
    top.set_yticks([])
    top.set_ylabel("clip")
    if r is None or r.frame_probabilities is None:
        top.set_title("No model with per-frame predictions in this set")
        return fig
    probs = np.nan_to_num(np.asarray(r.frame_probabilities, dtype=np.float32))  # (n_classes, frames)
    classes, colors = analysis.classes, class_colors(analysis.classes)
    step = CFG.mel64_hop / SR
    t = np.arange(probs.shape[1]) * step
    rgb = np.array([matplotlib.colors.to_rgb(colors[c]) for c in classes])
    band = rgb[probs.argmax(0)][None]  # (1, frames, 3)
    lo, hi = top.get_ylim()
    top.imshow(band, aspect="auto", extent=(-step / 2, t[-1] + step / 2, lo, lo + 0.22 * (hi - lo)), zorder=3)
    top.set_ylim(lo, hi)
    bottom.stackplot(t, probs, colors=[colors[c] for c in classes], labels=classes, alpha=0.9)
    bottom.set_ylim(0, 1)
    bottom.set_ylabel("probability")
    bottom.set_xlim(0, wave.size / SR)
    bottom.legend(loc="upper left", bbox_to_anchor=(1.0, 1.6), frameon=False)
    _seconds_axis(bottom)
    top.set_title(f"{model_title(arch)}: its answer for every 10 ms frame (coloured strip = the winning class)")
    return fig


@_styled
def confusion_matrix(card: dict, arch: str, classes: list[str]) -> Figure:
    """The held-out confusion matrices of one model from the set's card, rows = true class.

    When the card scores real recordings and synthetic clips apart, both are drawn side
    by side; otherwise the one matrix of the whole test split.
    """
    test = (card.get("models", {}).get(arch) or {}).get("test") or {}
    parts = [(test[k], label) for k, label in (("real", "real recordings"), ("synthetic", "synthetic clips"))
             if isinstance(test.get(k), dict)] or [(test, "held-out clips")]
    fig = _figure(7.5 * len(parts), 5.4)
    for ax, (scores, label) in zip(fig.subplots(1, len(parts), squeeze=False)[0], parts):
        _confusion_panel(fig, ax, scores, classes, label)
    fig.suptitle(model_title(arch), fontsize=13)
    return fig


def _confusion_panel(fig: Figure, ax, test: dict, classes: list[str], label: str) -> None:
    conf = np.asarray(test.get("confusion") or np.zeros((len(classes), len(classes))), dtype=float)
    rows = conf.sum(1, keepdims=True)
    share = np.divide(conf, rows, out=np.zeros_like(conf), where=rows > 0)
    im = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for i in range(conf.shape[0]):
        for j in range(conf.shape[1]):
            ax.text(j, i, f"{int(conf[i, j])}", ha="center", va="center", fontsize=12,
                    color="white" if share[i, j] > 0.5 else "black")
    ax.set_xticks(range(len(classes)), classes, rotation=35, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("the model said")
    ax.set_ylabel("the clip really was")
    acc = test.get("accuracy")
    ax.set_title(f"{label}" + (f": {100 * acc:.1f}% right of {int(conf.sum())}" if acc is not None else ""))
    _colorbar(fig, im, ax, "share of the row")


# ---------------------------------------------------------------- one architecture


def _input_waveform(fig, analysis: Analysis, arch: str) -> None:
    r = analysis.models[arch]
    wave = _np(r.x).reshape(-1)
    top, bottom = fig.subplots(2, 1, height_ratios=[1, 1.3])
    _draw_wave(top, wave)
    span = 240  # 15 ms: enough to see single samples and a few kernel positions
    start = _loudest_start(wave, span)
    top.axvspan(start / SR, (start + span) / SR, color="#E69F00", alpha=0.5)
    top.set_title(f"The model's input is the raw samples: a ({wave.size:,},) vector; orange = zoomed part below")
    top.set_yticks([])
    _seconds_axis(top)
    seg = wave[start:start + span]
    n = np.arange(start, start + seg.size)
    bottom.plot(n, seg, color="#1f3b57", linewidth=0.8)
    bottom.plot(n, seg, "o", color="#1f3b57", markersize=2.5)
    k0 = start + 40
    bottom.axvspan(k0, k0 + 64, color="#E69F00", alpha=0.35, label="first kernel: 64 samples = 4 ms")
    for j in range(1, 4):
        bottom.axvline(k0 + 4 * j, color="#D55E00", linewidth=1, linestyle="--")
    bottom.axvline(k0, color="#D55E00", linewidth=1, linestyle="--", label="next positions: stride 4 samples")
    bottom.set_xlabel("sample index")
    bottom.set_ylabel("amplitude")
    bottom.legend(loc="upper right")
    bottom.set_title("Zoom: every dot is one sample (1/16,000 s)")


def _input_mel64(fig, analysis: Analysis, arch: str) -> None:
    r = analysis.models[arch]
    x = _np(r.x)[0, 0]
    ax = fig.add_subplot()
    lo, hi = _limits(x, 0.5, 100)
    im = _specshow(ax, x, CFG.mel64_hop, y_axis="mel", fmin=0.0, fmax=SR / 2, cmap="magma", vmin=lo, vmax=hi)
    _colorbar(fig, im, ax, "(dB + 50) / 20")
    ax.set_title(f"Input tensor {tuple(r.x.shape)}: the 64-band log-mel, "
                 "shifted and scaled the same way for every clip")
    _seconds_axis(ax)


def _input_baseline(fig, analysis: Analysis, arch: str) -> None:
    from .features import Mel128x128

    r = analysis.models[arch]
    s_db = analysis.db("mel128x128")  # (128, frames) before the crop
    frames = s_db.shape[1]
    start = Mel128x128.crop_offset_of(frames)
    left, right = fig.subplots(1, 2, width_ratios=[1.5, 1])
    lo, hi = _limits(s_db, 0.5, 100)
    im = _specshow(left, s_db, CFG.mel128_hop, y_axis="mel", fmin=0.0, fmax=SR / 2, cmap="magma", vmin=lo, vmax=hi)
    _colorbar(fig, im, left, "dB")
    t0, t1 = _frames_to_s(start, CFG.mel128_hop), _frames_to_s(min(frames, start + 128), CFG.mel128_hop)
    if frames > 128:
        left.axvspan(t0, t1, fill=False, edgecolor="#00E5FF", linewidth=3, label="kept: centre 128 frames")
        left.set_title(f"{frames} frames of 32 ms: the centre 128 are kept")
    else:
        left.set_title(f"{frames} frames of 32 ms: {128 - frames} more are padded on")
    left.legend(loc="upper right") if frames > 128 else None
    _seconds_axis(left)
    x = _np(r.x)[0, 0]
    im2 = right.imshow(x, origin="lower", aspect="auto", cmap="magma", vmin=0, vmax=1)
    if frames < 128:
        right.axvspan(frames - 0.5, 127.5, facecolor="none", edgecolor="#00E5FF", hatch="//", linewidth=2)
        right.text((frames + 127) / 2, 64, "padding", color="white", ha="center", va="center", fontsize=13,
                   fontweight="bold", rotation=90)
    _colorbar(fig, im2, right, "min-max scaled to 0…1")
    right.set_title(f"Input {tuple(r.x.shape)}:\n{CFG.mel128_db_min:.0f}…{CFG.mel128_db_max:+.0f} dB mapped onto 0…1")
    right.set_xlabel("frame (of 128)")
    right.set_ylabel("mel band (of 128)")


def _input_lfcc(fig, analysis: Analysis, arch: str) -> None:
    r = analysis.models[arch]
    grid = _np(r.x)[0, 0]
    axes = fig.subplots(3, 1, sharex=True)
    _draw_lfcc_bands(fig, axes, grid, CFG.lfcc_hop)
    axes[0].set_title(f"Input tensor {tuple(r.x.shape)}: (batch, channel, {grid.shape[0]} time rows, 180 columns),"
                      " drawn time left to right")


def _input_sequence(fig, analysis: Analysis, arch: str) -> None:
    r = analysis.models[arch]
    x = _np(r.x)[0]  # (64, frames)
    left, right = fig.subplots(1, 2, width_ratios=[3, 1])
    lo, hi = _limits(x, 0.5, 100)
    im = _specshow(left, x, CFG.mel64_hop, cmap="magma", vmin=lo, vmax=hi)
    energy = x.mean(0)
    t = int(np.argmax(energy)) if energy.size else 0
    left.axvline(t * CFG.mel64_hop / SR, color="#00E5FF", linewidth=2.5)
    left.set_ylabel("vector entry (mel band)")
    left.set_yticks([0, 16, 32, 48, 63])
    left.set_title(f"Input tensor {tuple(r.x.shape)}: a sequence of {x.shape[1]} vectors, one per 10 ms")
    _seconds_axis(left)
    _colorbar(fig, im, left, "(dB + 50) / 20")
    right.barh(np.arange(x.shape[0]), x[:, t], color="#00A5C0", height=1.0)
    right.set_ylim(-0.5, x.shape[0] - 0.5)
    right.set_title(f"frame {t} ({t / 100:.2f} s):\n{x.shape[0]} numbers")
    right.set_xlabel("value")
    right.set_ylabel("mel band")


def _input_vit(fig, analysis: Analysis, arch: str) -> None:
    r = analysis.models[arch]
    before = (analysis.db("mel224") + CFG.db_offset) / CFG.db_scale  # (128, frames) before the resize
    x = _np(r.x)[0, 0]  # (224, 224), the same picture in all three channels
    left, right = fig.subplots(1, 2, width_ratios=[1.4, 1])
    lo, hi = _limits(before, 0.5, 100)
    _specshow(left, before, CFG.mel64_hop, y_axis="mel", fmin=0.0, fmax=SR / 2, cmap="magma", vmin=lo, vmax=hi)
    left.set_title(f"Before: {before.shape[0]} mel bands × {before.shape[1]} frames")
    _seconds_axis(left)
    right.imshow(x, origin="lower", cmap="magma", vmin=lo, vmax=hi, extent=(0, 224, 0, 224))
    for k in range(0, 225, 16):
        right.axhline(k, color="white", linewidth=0.7, alpha=0.8)
        right.axvline(k, color="white", linewidth=0.7, alpha=0.8)
    right.add_patch(Rectangle((0, 0), 16, 16, fill=False, edgecolor="#00E5FF", linewidth=3))
    right.set_xlim(0, 224)
    right.set_ylim(0, 224)
    right.set_title("After: 224×224 × 3 copies;\n14×14 = 196 patches + 1 class token")
    right.set_xlabel(f"time {_stretch(224 / before.shape[1])}")
    right.set_ylabel(f"bands {_stretch(224 / before.shape[0])}")


def default_frame(analysis: Analysis, arch: str | None = None) -> int:
    """A good first frame for the receptive-field view: loud, and with a full window behind it."""
    arch = frame_model(analysis, arch)
    r = analysis.models[arch]
    x = _np(r.x)[0]
    frames = x.shape[-1]
    rf = int(r.trace.layers[-1].receptive_field or 1)
    loud = int(np.argmax(x.mean(0))) if frames else 0
    return int(np.clip(max(loud, rf - 1), 0, frames - 1))


def _stretch(f: float) -> str:
    return f"stretched ×{f:.2f}" if f >= 1 else f"squeezed ×{f:.2f}"


_INPUT_DRAWERS = {
    "waveform": (_input_waveform, 5.2),
    "mel64": (_input_mel64, 3.6),
    "mel128x128": (_input_baseline, 4.4),
    "lfcc": (_input_lfcc, 5.0),
    "mel_seq": (_input_sequence, 4.0),
    "mel224": (_input_vit, 5.0),
}


@_styled
def model_input(analysis: Analysis, arch: str) -> Figure:
    """How the clip becomes this model's input, drawn from the real tensor ``result.x``."""
    kind = analysis.models[arch].input_kind
    draw, height = _INPUT_DRAWERS[kind]
    fig = _figure(12, height)
    draw(fig, analysis, arch)
    return fig


def _pick_maps(trace, limit: int) -> list[str]:
    """Feature maps worth showing: one per block (its activation), spread over the depth."""
    names = list(trace.feature_maps)
    types = {rec.name: rec.type for rec in trace.layers}
    acts = [n for n in names if types.get(n) in ("ReLU", "GELU")]
    # the tcn's blocks have two activations each; the second one is the block's output
    blocks = {}
    for n in acts:
        blocks[n.rsplit(".", 1)[0] if "." in n else n] = n
    chosen = list(blocks.values()) if len(blocks) >= 2 else (acts or names)
    for n in names:  # the Grad-CAM layer (e.g. the ViT's patch grid) is worth a look too
        if n not in chosen and types.get(n) not in ("ReLU", "MaxPool1d", "MaxPool2d", "AvgPool2d"):
            chosen.append(n)
    if len(chosen) > limit:
        idx = np.linspace(0, len(chosen) - 1, limit).round().astype(int)
        chosen = [chosen[i] for i in idx]
    return chosen


def shrink_feature_maps(trace, kind: str, max_layers: int = 5) -> dict[str, np.ndarray]:
    """Only what :func:`feature_maps` draws: the chosen layers, a few channels, time cut to screen size.

    A 30 s clip keeps about 60 MB of maps per analysis; a browser session only needs what
    fits on a 1,200-pixel-wide figure. Long time axes are reduced by a block maximum, which
    keeps the peaks of sparse (ReLU) activations visible.
    """
    out = {}
    for name in _pick_maps(trace, max_layers):
        fmap = np.asarray(trace.feature_maps[name])
        # 2D maps are drawn as 4 small pictures each; 1D maps as one wide picture of 8 rows
        channels, max_steps = (4, 400) if fmap.ndim == 3 else (8, 1200)
        fmap = fmap[:channels]
        axis = 1 if kind == "lfcc" and fmap.ndim == 3 else fmap.ndim - 1  # the time axis of this map
        steps = fmap.shape[axis]
        if steps > max_steps:
            k = int(np.ceil(steps / max_steps))
            pad = [(0, 0)] * fmap.ndim
            pad[axis] = (0, k * int(np.ceil(steps / k)) - steps)
            fmap = np.pad(fmap, pad, mode="edge")
            shape = list(fmap.shape)
            shape[axis: axis + 1] = [shape[axis] // k, k]
            fmap = fmap.reshape(shape).max(axis=axis + 1)
        out[name] = np.ascontiguousarray(fmap, dtype=np.float32)
    return out


@_styled
def feature_maps(analysis: Analysis, arch: str, channels: int = 4, max_layers: int = 5) -> Figure:
    """Small multiples: the first channels of the model's feature maps, one row per layer."""
    r = analysis.models[arch]
    trace = r.trace
    chosen = _pick_maps(trace, max_layers)
    recs = {rec.name: rec for rec in trace.layers}
    if not chosen:
        fig = _figure(12, 1.5)
        fig.add_subplot().text(0.5, 0.5, "This model keeps no feature maps.", ha="center", va="center")
        return fig
    maps = [np.nan_to_num(np.asarray(trace.feature_maps[n], dtype=np.float32)) for n in chosen]
    duration = _wave(analysis).size / SR

    def label(name: str) -> str:
        rec = recs.get(name)
        return f"{name} ({rec.type})\n{tuple(rec.shape[1:])}" if rec else name

    if all(m.ndim == 2 for m in maps):  # (channels, time): one picture per layer, a row per channel
        fig = _figure(12, 1.9 * len(chosen) + 0.6)
        axes = fig.subplots(len(chosen), 1, sharex=True, squeeze=False)[:, 0]
        for ax, name, fmap in zip(axes, chosen, maps):
            lo, hi = _limits(fmap, 1, 99.5)
            ax.imshow(fmap, aspect="auto", cmap="viridis", vmin=lo, vmax=hi,
                      extent=(0, duration, fmap.shape[0] - 0.5, -0.5))
            ax.set_yticks(range(fmap.shape[0]))
            ax.tick_params(axis="y", labelsize=10)
            ax.set_ylabel(label(name), rotation=0, ha="right", va="center", fontsize=11)
        _seconds_axis(axes[-1])
        fig.suptitle(f"{model_title(arch)}: the first {maps[0].shape[0]} channels of some layers, over the clip "
                     "(bright = strong)")
        return fig
    fig = _figure(12, 2.0 * len(chosen) + 0.4)
    grid = fig.subplots(len(chosen), channels, squeeze=False)
    transpose = r.input_kind == "lfcc"  # draw time left to right like every other picture
    for row, name, fmap in zip(grid, chosen, maps):
        for c, ax in enumerate(row):
            ax.set_xticks([])
            ax.set_yticks([])
            if fmap.ndim != 3 or c >= fmap.shape[0]:
                ax.axis("off")
                continue
            img = fmap[c].T if transpose else fmap[c]
            lo, hi = _limits(img, 1, 99.5)
            ax.imshow(img, origin="lower", aspect="auto", cmap="viridis", vmin=lo, vmax=hi)
            ax.set_title(f"channel {c}", fontsize=11)
        row[0].set_ylabel(label(name), rotation=0, ha="right", va="center", fontsize=11)
    fig.suptitle(f"{model_title(arch)}: what some of its filters respond to (bright = strong; time runs left to right)")
    return fig


def _overlay_2d(ax, base: np.ndarray, amap: np.ndarray, signed: bool, opacity: float, extent=None, y_label=""):
    blo, bhi = _limits(base, 0.5, 100)
    ax.imshow(base, origin="lower", aspect="auto", cmap="gray", vmin=blo, vmax=bhi, extent=extent)
    rel = _relative(amap, signed)
    if signed:
        im = ax.imshow(rel, origin="lower", aspect="auto", cmap="RdBu_r", vmin=-1, vmax=1,
                       alpha=opacity, extent=extent)
    else:
        rgba = matplotlib.colormaps["inferno"](rel)
        rgba[..., 3] = opacity * np.clip(rel, 0, 1) ** 0.7  # quiet cells stay see-through
        im = ax.imshow(rgba, origin="lower", aspect="auto", extent=extent)
        im.set_cmap("inferno")
        im.set_clim(0, 1)
    if y_label:
        ax.set_ylabel(y_label)
    return im


@_styled
def attribution_overlay(analysis: Analysis, arch: str, attr, method: str, target: str,
                        opacity: float = 0.6) -> Figure:
    """The attribution map over the model's own input, clipped at its 99th percentile.

    Args:
        attr: the map, shaped like the model input ``x``.
        method: one of the attribution methods (sets signed or unsigned colouring).
        target: the class the map explains (for the title).
        opacity: 0 shows only the input, 1 only the map.
    """
    r = analysis.models[arch]
    kind = r.input_kind
    x = _np(r.x)[0]
    a = _np(attr).reshape(r.x.shape)[0]
    signed = method in SIGNED_METHODS
    opacity = float(np.clip(opacity, 0.0, 1.0))
    fig = _figure(12, 4.0 if kind != "lfcc" else 4.6)
    ax = fig.add_subplot()
    n = _wave(analysis).size
    dur = n / SR
    if kind == "waveform":
        wave, amap = x[0], a[0]
        # one colour cell per 10 ms: a map of 48,000 samples is unreadable sample by sample
        hop = CFG.mel64_hop
        cells = int(np.ceil(wave.size / hop))
        pad = np.pad(np.abs(amap) if not signed else amap, (0, cells * hop - wave.size))
        binned = pad.reshape(cells, hop).sum(1)
        rel = _relative(binned, signed)
        cmap = "RdBu_r" if signed else "YlOrRd"
        im = ax.imshow(rel[None], aspect="auto", cmap=cmap, vmin=-1 if signed else 0, vmax=1,
                       alpha=max(opacity, 0.05), extent=(0, cells * hop / SR, -1, 1))
        _draw_wave(ax, wave, y0=0.0, height=1.0, alpha=0.9)
        ax.set_ylim(-1, 1)
        ax.set_yticks([])
        ax.set_xlim(0, dur)
        _seconds_axis(ax)
    elif kind == "lfcc":
        im = _overlay_2d(ax, x[0].T, a[0].T, signed, opacity, extent=(0, x.shape[1] * CFG.lfcc_hop / SR, 0, 180))
        for b in (60, 120):
            ax.axhline(b, color="#00E5FF", linewidth=1.5)
        for b, name in enumerate(_BAND_NAMES):
            ax.text(1.0, (b + 0.5) / 3, f" {name}", transform=ax.transAxes, va="center", fontsize=13, fontweight="bold")
        ax.set_ylabel("grid column")
        _seconds_axis(ax)
    elif kind in ("mel64", "mel_seq"):
        base = x[0] if kind == "mel64" else x
        amap = a[0] if kind == "mel64" else a
        im = _overlay_2d(ax, base, amap, signed, opacity, extent=(0, base.shape[1] * CFG.mel64_hop / SR, 0, 64),
                         y_label="mel band")
        _seconds_axis(ax)
    elif kind == "mel128x128":
        im = _overlay_2d(ax, x[0], a[0], signed, opacity, extent=(0, 128, 0, 128), y_label="mel band (of 128)")
        ax.set_xlabel("frame of the 128×128 input (32 ms each)")
    else:  # mel224: the three channels are one picture
        im = _overlay_2d(ax, x[0], a.sum(0), signed, opacity, extent=(0, 224, 0, 224), y_label="row (of 224)")
        ax.set_xlabel(f"column (of 224); the clip's {dur:.2f} s are spread over all 224")
    cb = _colorbar(fig, im, ax, "for (red) / against (blue)" if signed else "importance (1 = top 1%)")
    cb.ax.tick_params(labelsize=10)
    ax.set_title(f"{METHOD_TITLES.get(method, method)} for '{target}' on the {model_title(arch)}'s own input")
    return fig


@_styled
def receptive_field(analysis: Analysis, t: int, arch: str | None = None) -> Figure:
    """The input span that output frame ``t`` of a causal model sees, and its prediction there."""
    arch = frame_model(analysis, arch)
    r = analysis.models[arch]
    x = _np(r.x)[0]  # (64, frames)
    frames = x.shape[1]
    t = int(np.clip(t, 0, frames - 1))
    rf = int(r.trace.layers[-1].receptive_field or 1)
    lo_f = max(0, t - rf + 1)
    seen = t - lo_f + 1
    step = CFG.mel64_hop / SR
    fig = _figure(12, 4.8)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[1.4, 1])
    vlo, vhi = _limits(x, 0.5, 100)
    top.imshow(x, origin="lower", aspect="auto", cmap="magma", vmin=vlo, vmax=vhi,
               extent=(-step / 2, (frames - 0.5) * step, 0, 64))
    top.axvspan((t - rf + 0.5) * step, (t + 0.5) * step, facecolor="#00E5FF", alpha=0.25, edgecolor="#00E5FF",
                linewidth=2.5)
    if t + 1 < frames:
        top.axvspan((t + 0.5) * step, (frames - 0.5) * step, facecolor="black", alpha=0.55)
    top.axvline(t * step, color="white", linewidth=2)
    top.set_ylabel("mel band")
    top.set_title(f"Frame {t} ({t * step:.2f} s) sees frames {lo_f}–{t}: {seen} frames = {seen * step:.2f} s "
                  "(blue); later frames (dark) never")
    probs = r.frame_probabilities
    colors = class_colors(analysis.classes)
    if probs is not None:
        probs = np.nan_to_num(np.asarray(probs, dtype=np.float32))
        tt = np.arange(probs.shape[1]) * step
        for i, c in enumerate(analysis.classes):
            bottom.plot(tt, probs[i], color=colors[c], linewidth=2, label=c)
        k = int(np.argmax(probs[:, t]))
        bottom.axvline(t * step, color="black", linewidth=1.5)
        bottom.set_title(f"At frame {t} the TCN says '{analysis.classes[k]}' ({100 * probs[k, t]:.0f}%)")
        bottom.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
        bottom.set_ylim(0, 1)
    bottom.set_ylabel("probability")
    bottom.set_xlim(-step / 2, (frames - 0.5) * step)
    _seconds_axis(bottom)
    return fig


# ---------------------------------------------------------------- walkthrough


@_styled
def samples_zoom(analysis: Analysis) -> Figure:
    """The whole clip, and 10 ms of it where every sample is a visible dot."""
    wave = _wave(analysis)
    fig = _figure(12, 4.4)
    top, bottom = fig.subplots(2, 1)
    _draw_wave(top, wave)
    span = SR // 100
    start = _loudest_start(wave, span)
    top.axvspan(start / SR, (start + span) / SR, color="#E69F00", alpha=0.6)
    top.set_title("The whole clip (orange: the 10 ms shown below)")
    _seconds_axis(top)
    seg = wave[start:start + span]
    t_ms = 1000 * (start + np.arange(seg.size)) / SR
    bottom.vlines(t_ms, 0, seg, color="#1f3b57", linewidth=1)
    bottom.plot(t_ms, seg, "o", color="#0072B2", markersize=4)
    bottom.axhline(0, color="#999999", linewidth=0.5)
    bottom.set_xlabel("time (ms)")
    bottom.set_ylabel("amplitude")
    bottom.set_title(f"10 ms = {seg.size} samples; each is one number between −1 and 1")
    return fig


@_styled
def stft_frames(analysis: Analysis) -> Figure:
    """A few 25 ms windows on the waveform, and the linear-frequency spectrogram they build."""
    wave = _wave(analysis)
    fig = _figure(12, 5.0)
    top, bottom = fig.subplots(2, 1, height_ratios=[1, 1.6])
    start = _loudest_start(wave, 1600)
    seg = wave[start:start + 1600]
    t_ms = 1000 * (start + np.arange(seg.size)) / SR
    top.plot(t_ms, seg, color="#1f3b57", linewidth=0.9)
    colors = ["#0072B2", "#E69F00", "#009E73"]
    for k, c in enumerate(colors):
        a = start + k * CFG.mel64_hop
        top.axvspan(1000 * a / SR, 1000 * (a + CFG.mel64_win) / SR, ymin=0.05 + 0.3 * k, ymax=0.3 + 0.3 * k,
                    color=c, alpha=0.55)
    top.set_xlabel("time (ms)")
    top.set_yticks([])
    top.set_title("Windows of 400 samples (25 ms) that start every 160 samples (10 ms) and overlap")
    for k, c in enumerate(colors):
        a = start + k * CFG.mel64_hop
        top.text(1000 * (a + CFG.mel64_win / 2) / SR, top.get_ylim()[0] + (0.17 + 0.3 * k) * np.ptp(top.get_ylim()),
                 f"frame {k + 1}", ha="center", va="center", fontsize=11, fontweight="bold")
    db = analysis.stft_db()
    db = np.maximum(db, db.max() - 80)
    lo, hi = _limits(db, 0.5, 100)
    im = _specshow(bottom, db, CFG.mel64_hop, y_axis="linear", cmap="magma", vmin=lo, vmax=hi)
    _colorbar(fig, im, bottom, "dB")
    bottom.set_title(f"Spectrogram: {db.shape[0]} frequency bins (0–8,000 Hz, "
                     f"{SR / CFG.mel64_n_fft:.2f} Hz apart) × {db.shape[1]} frames")
    bottom.set_ylabel("frequency (Hz)")
    return fig


@_styled
def mel_filters(analysis: Analysis) -> Figure:
    """The 64 triangular mel filters on a linear Hz axis, above the mel spectrogram they make."""
    from torchaudio.functional import melscale_fbanks

    n_freqs = CFG.mel64_n_fft // 2 + 1
    fb = melscale_fbanks(n_freqs, 0.0, SR / 2, CFG.mel64_n_mels, SR, norm=None, mel_scale="slaney").T.numpy()
    freqs = np.linspace(0, SR / 2, n_freqs)
    fig = _figure(12, 5.4)
    top, bottom = fig.subplots(2, 1, height_ratios=[1, 1.5])
    cmap = matplotlib.colormaps["viridis"]
    for i, row in enumerate(fb):
        top.plot(freqs, row, color=cmap(i / max(1, len(fb) - 1)), linewidth=1)
    top.set_xlim(0, SR / 2)
    top.set_xlabel("frequency (Hz)")
    top.set_ylabel("weight")
    low = int(np.count_nonzero(freqs[fb.argmax(1)] < 1000))
    top.set_title(f"The 64 mel filters: {low} of them sit below 1,000 Hz, the rest share 1,000–8,000 Hz")
    mel = np.nan_to_num(np.asarray(analysis.mel_db, dtype=np.float32))
    lo, hi = _limits(mel, 0.5, 100)
    im = _specshow(bottom, mel, CFG.mel64_hop, y_axis="mel", fmin=0.0, fmax=SR / 2, cmap="magma", vmin=lo, vmax=hi)
    _colorbar(fig, im, bottom, "dB")
    bottom.set_title("Your clip through those filters: one row per filter")
    _seconds_axis(bottom)
    return fig


@_styled
def lfcc_spreadsheet(analysis: Analysis, rows: int = 8) -> Figure:
    """A few rows of the real LFCC grid printed as numbers, like a spreadsheet."""
    grid = np.nan_to_num(np.asarray(analysis.lfcc_grid, dtype=np.float32))
    frames = grid.shape[0]
    energy = grid[:, 0]
    start = int(np.clip(np.argmax(energy) - rows // 2, 0, max(0, frames - rows)))
    cols = [0, 1, 2, 59, 60, 61, 119, 120, 121, 179]
    names = ["LFCC 0", "LFCC 1", "LFCC 2", "LFCC 59", "Δ 0", "Δ 1", "Δ 59", "ΔΔ 0", "ΔΔ 1", "ΔΔ 59"]
    block = grid[start:start + rows][:, cols]
    fig = _figure(12, 0.5 * block.shape[0] + 1.6)
    ax = fig.add_subplot()
    # colour each column on its own scale: LFCC values are hundreds of times larger than deltas
    norm = np.zeros_like(block)
    for j in range(block.shape[1]):
        colv = block[:, j]
        lim = _sym_limit(colv, 100)
        norm[:, j] = colv / lim
    ax.imshow(norm, cmap="RdBu_r", vmin=-1.6, vmax=1.6, aspect="auto")
    for i in range(block.shape[0]):
        for j in range(block.shape[1]):
            ax.text(j, i, f"{block[i, j]:.2f}", ha="center", va="center", fontsize=11)
    ax.set_xticks(range(len(cols)), names)
    ax.xaxis.tick_top()
    ax.set_yticks(range(block.shape[0]),
                  [f"row {start + i} ({(start + i) * CFG.lfcc_hop / SR:.2f} s)" for i in range(block.shape[0])])
    for x in (2.5, 3.5, 6.5):
        ax.axvline(x, color="black", linewidth=2.5)
    ax.set_xlabel(f"{rows} of {frames} rows and 10 of 180 columns (the thick lines hide the columns in between)")
    return fig


@_styled
def conv_on_grid(analysis: Analysis) -> Figure:
    """A 3×3 kernel on the LFCC grid, and how alike neighbouring rows and columns of this clip are."""
    grid = np.nan_to_num(np.asarray(analysis.lfcc_grid, dtype=np.float32))
    fig = _figure(12, 4.4)
    left, right = fig.subplots(1, 2, width_ratios=[1.3, 1])
    t0 = int(np.clip(np.argmax(grid[:, 0]) - 20, 0, max(0, grid.shape[0] - 40)))
    window = grid[t0:t0 + 40, :24].T
    lo, hi = _limits(window)
    left.imshow(window, origin="lower", aspect="auto", cmap="viridis", vmin=lo, vmax=hi,
                extent=(t0 - 0.5, t0 + window.shape[1] - 0.5, -0.5, window.shape[0] - 0.5))
    left.add_patch(Rectangle((t0 + 18.5, 9.5), 3, 3, fill=False, edgecolor="#ff3b30", linewidth=3))
    left.set_xlabel("row of the grid (10 ms frame)")
    left.set_ylabel("LFCC column")
    left.set_title("A 3×3 kernel (red) sees 3 frames × 3 columns")
    lags = np.arange(1, 21)
    lfcc = grid[:, :60]
    std = lfcc.std(0, keepdims=True)
    z = (lfcc - lfcc.mean(0, keepdims=True)) / np.where(std > 1e-9, std, 1.0)  # c0 must not dominate
    row_c = [mean_correlation(z, lag, axis=0) for lag in lags]
    col_c = [mean_correlation(z, lag, axis=1) for lag in lags]
    right.plot(lags, row_c, "o-", color="#0072B2", linewidth=2, label="rows (time) apart")
    right.plot(lags, col_c, "s-", color="#E69F00", linewidth=2, label="LFCC columns apart")
    right.set_ylim(-1, 1)
    right.axhline(0, color="#999999", linewidth=0.8)
    right.set_xlabel("distance")
    right.set_ylabel("correlation in your clip")
    right.legend(loc="lower left")
    right.set_title("How alike are neighbours in your clip?")
    return fig


def mean_correlation(block: np.ndarray, lag: int, axis: int) -> float:
    """Mean correlation of the grid with itself shifted by ``lag`` along ``axis`` (0 for silence)."""
    a = block.astype(np.float64)
    if axis == 0:
        u, v = a[:-lag], a[lag:]
    else:
        u, v = a[:, :-lag].T, a[:, lag:].T
    if u.size == 0:
        return 0.0
    u = u - u.mean(1, keepdims=True)
    v = v - v.mean(1, keepdims=True)
    den = np.sqrt((u ** 2).sum(1) * (v ** 2).sum(1))
    ok = den > 1e-12
    if not ok.any():
        return 0.0
    return float(np.mean((u * v).sum(1)[ok] / den[ok]))


def pool_columns(n_columns: int, times: int, width: int) -> list[list[tuple[int, int]]]:
    """Which original columns each output column covers after ``times`` poolings of ``width``.

    Returns one list per pooling depth; entry ``j`` is the (first, last) original column.
    """
    spans = [(j, j) for j in range(n_columns)]
    out = []
    for _ in range(times):
        if width > 1:
            spans = [(spans[2 * j][0], spans[2 * j + 1][1]) for j in range(len(spans) // width)]
        out.append(list(spans))
    return out


def _avg_pool(a: np.ndarray, pt: int, pf: int) -> np.ndarray:
    t, f = (a.shape[0] // pt) * pt, (a.shape[1] // pf) * pf
    return a[:t, :f].reshape(t // pt, pt, f // pf, pf).mean(axis=(1, 3))


@_styled
def pooling_compare(analysis: Analysis) -> Figure:
    """Average-pool the real LFCC grid three times with (2,1) and with (2,2), around the LFCC/Δ border."""
    grid = np.nan_to_num(np.asarray(analysis.lfcc_grid, dtype=np.float32))
    # standardise each column so LFCC and Δ can share one colour scale (as the model's column norm does)
    std = grid.std(0, keepdims=True)
    z = (grid - grid.mean(0, keepdims=True)) / np.where(std > 1e-9, std, 1.0)
    rows = min(128, (z.shape[0] // 8) * 8) or z.shape[0]
    r0 = int(np.clip(np.argmax(grid[:, 0]) - rows // 2, 0, max(0, z.shape[0] - rows)))
    z = z[r0:r0 + rows]
    p21, p22 = z, z
    for _ in range(3):
        p21 = _avg_pool(p21, 2, 1) if p21.shape[0] >= 2 else p21
        p22 = _avg_pool(p22, 2, 2) if p22.shape[0] >= 2 else p22
    spans = pool_columns(180, 3, 2)[-1]
    mixed = next(j for j, (a, b) in enumerate(spans) if a < 60 <= b)
    fig = _figure(12, 4.8)
    axes = fig.subplots(1, 3, width_ratios=[1.2, 1.2, 1])
    lim = 2.5
    c0, c1 = 48, 72
    axes[0].imshow(z[:, c0:c1].T, origin="lower", aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim,
                   extent=(r0, r0 + z.shape[0], c0 - 0.5, c1 - 0.5))
    axes[0].axhline(59.5, color="black", linewidth=2.5)
    axes[0].set_title(f"{z.shape[0]} of the grid's {grid.shape[0]} rows")
    axes[0].set_ylabel("column (LFCC below the line, Δ above)")
    axes[0].set_xlabel("row (time)")
    axes[1].imshow(p21[:, c0:c1].T, origin="lower", aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim,
                   extent=(0, p21.shape[0], c0 - 0.5, c1 - 0.5))
    axes[1].axhline(59.5, color="black", linewidth=2.5)
    axes[1].set_title(f"3× pool (2,1): {p21.shape[0]} rows,\nall 180 columns kept")
    axes[1].set_xlabel("row (time)")
    k0, k1 = c0 // 8, c1 // 8
    axes[2].imshow(p22[:, k0:k1].T, origin="lower", aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim,
                   extent=(0, p22.shape[0], k0 - 0.5, k1 - 0.5))
    axes[2].add_patch(Rectangle((0, mixed - 0.5), p22.shape[0], 1, fill=False, edgecolor="#ff3b30", linewidth=3))
    a, b = spans[mixed]
    axes[2].set_yticks(range(k0, k1), [f"{spans[j][0]}–{spans[j][1]}" for j in range(k0, k1)])
    axes[2].set_title(f"3× pool (2,2): {p22.shape[0]} rows, {len(spans)} cols;\nred = columns {a}–{b} in one")
    axes[2].set_xlabel("row (time)")
    axes[2].set_ylabel("original columns")
    return fig


@_styled
def one_d_vs_two_d(analysis: Analysis) -> Figure:
    """The 1D model's first kernel on the samples next to a 2D 3×3 kernel on the mel spectrogram."""
    wave = _wave(analysis)
    mel = np.nan_to_num(np.asarray(analysis.mel_db, dtype=np.float32))
    fig = _figure(12, 4.6)
    left, right = fig.subplots(1, 2)
    span = 400
    start = _loudest_start(wave, span)
    seg = wave[start:start + span]
    left.plot(np.arange(seg.size), seg, color="#1f3b57", linewidth=0.9)
    for k, c in enumerate(["#0072B2", "#E69F00", "#009E73"]):
        a = 100 + 16 * k
        left.axvspan(a, a + 64, ymin=0.05 + 0.3 * k, ymax=0.3 + 0.3 * k, color=c, alpha=0.55)
    left.set_xlabel(f"sample (from {start:,})")
    left.set_yticks([])
    left.set_title("1D: a 64-sample kernel slides along time only\n(shown every 16 samples; it moves 4 at a time)")
    t0 = int(np.clip(np.argmax(mel.mean(0)) - 15, 0, max(0, mel.shape[1] - 30)))
    win = mel[8:40, t0:t0 + 30]  # 32 bands x 30 frames: the 3x3 box stays roughly square
    lo, hi = _limits(win, 0.5, 100)
    right.imshow(win, origin="lower", aspect="auto", cmap="magma", vmin=lo, vmax=hi,
                 extent=(t0 - 0.5, t0 + win.shape[1] - 0.5, 7.5, 39.5))
    right.add_patch(Rectangle((t0 + 12.5, 20.5), 3, 3, fill=False, edgecolor="#00E5FF", linewidth=3))
    right.annotate("", xy=(t0 + 22, 22), xytext=(t0 + 16.5, 22),
                   arrowprops={"arrowstyle": "->", "color": "#00E5FF", "lw": 2.5})
    right.annotate("", xy=(t0 + 14, 32), xytext=(t0 + 14, 24.5),
                   arrowprops={"arrowstyle": "->", "color": "#00E5FF", "lw": 2.5})
    right.set_xlabel("frame (10 ms)")
    right.set_ylabel("mel band")
    right.set_title("2D: a 3×3 kernel slides along time and frequency")
    return fig


@_styled
def dilation_diagram(analysis: Analysis, arch: str | None = None) -> Figure:
    """How dilated causal convolutions reach back, and the receptive field after each layer from the trace."""
    arch = frame_model(analysis, arch)
    r = analysis.models.get(arch)
    fig = _figure(12, 5.0)
    left, right = fig.subplots(1, 2, width_ratios=[1.2, 1])
    dilations = [1, 2, 4, 8]
    n = 16
    ys = np.arange(len(dilations) + 1)
    for y in ys:
        left.plot(np.arange(n), np.full(n, y), "o", color="#bbbbbb", markersize=7)
    active = {n - 1}
    for level, d in enumerate(dilations):
        y_out = len(dilations) - level
        nxt = set()
        for t in active:
            for k in (0, 1):
                src = t - k * d
                if src >= 0:
                    left.plot([t, src], [y_out, y_out - 1], color="#0072B2", linewidth=1.6)
                    nxt.add(src)
        for t in active:
            left.plot(t, y_out, "o", color="#D55E00", markersize=8)
        active = nxt
    for t in active:
        left.plot(t, 0, "o", color="#009E73", markersize=8)
    left.set_yticks(ys, ["input"] + [f"dilation {d}" for d in dilations])
    left.set_xticks([0, n - 1], ["t − 15", "t"])
    left.set_title("Sketch with kernel 2, dilations 1, 2, 4, 8:\noutput t sees 16 past inputs, never the future")
    left.set_xlim(-1, n)
    if r is None:
        right.axis("off")
        right.text(0.5, 0.5, "This set has no TCN", ha="center", va="center", fontsize=14)
    else:
        recs = [rec for rec in r.trace.layers if rec.receptive_field is not None and "conv" in rec.type.lower()]
        names = [rec.name.replace("blocks.", "b").replace(".conv", " conv") for rec in recs]
        rfs = [rec.receptive_field for rec in recs]
        right.barh(range(len(recs)), rfs, color="#0072B2")
        right.set_yticks(range(len(recs)), names)
        right.invert_yaxis()
        for i, rec in enumerate(recs):
            right.text(rec.receptive_field, i, f" {rec.receptive_field} ({rec.receptive_field_ms / 1000:.2f} s)",
                       va="center", fontsize=10)
        right.set_xlim(0, max(rfs) * 1.45 if rfs else 1)
        right.set_xlabel("input frames one output frame sees")
        right.set_title("Receptive field after each conv (from the trace)")
    return fig


# ---------------------------------------------------------------- hear the explanation


@_styled
def mask_picture(original: np.ndarray, kept: np.ndarray, mask: np.ndarray, keep: float) -> Figure:
    """Spectrogram of the clip, the mask that selects its most-attributed cells, and what is left.

    Args:
        original, kept: the clip and its resynthesis, 16 kHz, ``(T,)``.
        mask: ``(257, frames)`` in [0, 1], 1 = kept, on the 10 ms / 31.25 Hz STFT grid.
        keep: the fraction asked for (for the title).
    """
    fig = _figure(12, 3.4)
    axes = fig.subplots(1, 3, sharey=True)
    dbs = [_stft_db(np.nan_to_num(np.asarray(w, dtype=np.float32).reshape(-1))) for w in (original, kept)]
    top = max(float(dbs[0].max()), -100.0)
    m = np.nan_to_num(np.asarray(mask, dtype=np.float32))
    panels = [(dbs[0], "your clip", "magma", top - 80, top),
              (m, f"mask: white = kept ({100 * keep:.0f}% of cells asked)", "gray", 0.0, 1.0),
              (dbs[1], "what is left", "magma", top - 80, top)]
    for ax, (data, name, cmap, lo, hi) in zip(axes, panels):
        data = np.maximum(data, lo) if cmap == "magma" else data
        _specshow(ax, data, CFG.mel64_hop, y_axis="linear", cmap=cmap, vmin=lo, vmax=hi)
        ax.set_title(name, fontsize=12)
        _seconds_axis(ax)
    for ax in axes[1:]:
        ax.set_ylabel("")
    axes[0].set_ylabel("frequency (Hz)")
    return fig


# ---------------------------------------------------------------- how far to trust a map

_SOUND_SHADE = "#dff0d8"  # pale green behind the parts of the clip that sound


def _shade_sounding(ax, analysis: Analysis, y0: float, y1: float) -> None:
    """Pale bands behind the 10 ms steps where the clip sounds (features.sounding)."""
    steps = analysis.sounding
    if steps is None or not np.any(steps):
        return
    t = np.arange(steps.size) * 0.01
    ax.fill_between(t, y0, y1, where=steps, step="mid", color=_SOUND_SHADE, linewidth=0, zorder=0)


@_styled
def faithfulness_curves(curves: dict, target: str, method: str) -> Figure:
    """Deletion and insertion curves of one map, most- and least-relevant time first.

    Args:
        curves: the dict of :func:`explainer.trust.deletion_curves`.
        target: the class whose probability is drawn.
        method: the method that made the map (for the title).
    """
    fig = _figure(12, 3.3)
    axes = fig.subplots(1, 2)
    f = 100 * np.asarray(curves["fractions"], dtype=float)
    areas = curves["areas"]
    for ax, kind, verb, good in ((axes[0], "deletion", "removed", "a faithful map makes it fall fast"),
                                 (axes[1], "insertion", "put back", "a faithful map makes it rise fast")):
        most = 100 * np.asarray(curves[kind]["most"], dtype=float)
        least = 100 * np.asarray(curves[kind]["least"], dtype=float)
        ax.plot(f, most, "-o", color="#D55E00", linewidth=2,
                label=f"most relevant first (area {100 * areas[f'{kind}_most']:.0f})")
        ax.plot(f, least, "--s", color="#0072B2", linewidth=2,
                label=f"least relevant first (area {100 * areas[f'{kind}_least']:.0f})")
        ax.set_ylim(-3, 103)
        ax.set_xlim(f[0], f[-1])
        ax.set_xlabel(f"% of the clip's time {verb}")
        ax.set_ylabel(f"P({target}) in %")
        ax.set_title(f"{kind.capitalize()}: {good}", fontsize=12)
        ax.legend(fontsize=10, loc="best")
    fig.suptitle(f"{METHOD_TITLES.get(method, method)}: does the model lose '{target}' when this map's time goes?",
                 fontsize=13)
    return fig


@_styled
def randomisation_plot(analysis: Analysis, arch: str, method: str, trained, check: dict) -> Figure:
    """The sanity check: the trained map and the randomised copy's map on the clip's seconds,
    and their rank correlation as layers are randomised from the top down."""
    from .attribution import method_curve

    r = analysis.models[arch]
    n = _wave(analysis).size
    curves = [method_curve(m, r.input_kind, n, method) for m in (trained, check["randomised"])]
    fig = _figure(12, 4.2)
    grid = fig.add_gridspec(2, 3)
    ax_c = fig.add_subplot(grid[:, 2])
    for row, (curve, label) in enumerate(zip(curves, ("trained model", "every layer randomised"))):
        ax = fig.add_subplot(grid[row, :2])
        t = np.arange(curve.size) * 0.01
        _shade_sounding(ax, analysis, 0, 1.05)
        ax.fill_between(t, 0, curve, color="#E69F00" if row == 0 else "#8C8C8C", alpha=0.85, linewidth=0)
        ax.set_ylim(0, 1.05)
        ax.set_xlim(0, n / SR)
        ax.set_yticks([])
        ax.set_ylabel(label, fontsize=11)
        if row == 0:
            ax.set_title(f"{METHOD_TITLES.get(method, method)} of the {model_title(arch)} (green: the clip sounds)",
                         fontsize=12)
            ax.tick_params(labelbottom=False)
        else:
            _seconds_axis(ax)
    stages = np.arange(1, len(check["rank_correlation"]) + 1)
    ax_c.axhline(0.5, color="#999999", linestyle=":", linewidth=1)
    ax_c.axhline(0.0, color="#cccccc", linewidth=0.8)
    ax_c.plot(stages, check["rank_correlation"], "-o", color="#D55E00", label="signed maps")
    ax_c.plot(stages, check["rank_correlation_abs"], "--s", color="#0072B2", label="absolute maps")
    ax_c.set_ylim(-1.0, 1.0)
    ax_c.set_xticks(stages)
    ax_c.set_xlabel("layer groups randomised,\nfrom the output down")
    ax_c.set_ylabel("rank correlation with the trained map")
    ax_c.legend(fontsize=10, loc="lower left")
    return fig


@_styled
def agreement_plot(analysis: Analysis, arch: str, result: dict) -> Figure:
    """Every method's time curve for one model, stacked, and their pairwise rank correlations."""
    methods = result["methods"]
    n = _wave(analysis).size
    fig = _figure(12, 0.75 * len(methods) + 1.6)
    grid = fig.add_gridspec(1, 3)
    ax = fig.add_subplot(grid[0, :2])
    rows = len(methods)
    _shade_sounding(ax, analysis, 0, rows)
    for i, m in enumerate(methods):
        y0 = rows - 1 - i
        curve = np.nan_to_num(np.asarray(result["curves"][m], dtype=np.float32))
        t = np.arange(curve.size) * 0.01
        ax.fill_between(t, y0, y0 + 0.8 * curve, color="#56B4E9" if m not in SIGNED_METHODS else "#E69F00",
                        alpha=0.9, linewidth=0)
        ax.axhline(y0, color="#bbbbbb", linewidth=0.8)
        _row_label(ax, y0 + 0.93, METHOD_TITLES.get(m, m), fontsize=11, pad=1.2)
    ax.set_ylim(0, rows)
    ax.set_xlim(0, n / SR)
    ax.set_yticks([])
    _seconds_axis(ax)
    fig.suptitle(f"{model_title(arch)}: every method on your clip (orange: contribution, blue: the others; "
                 "green: the clip sounds)", fontsize=12)
    axm = fig.add_subplot(grid[0, 2])
    mat = np.asarray(result["matrix"], dtype=float)
    axm.imshow(mat, cmap="RdBu_r", vmin=-1, vmax=1)
    short = [METHOD_TITLES.get(m, m).replace("Integrated Gradients", "IG").replace("Input × gradient", "In×grad")
             for m in methods]
    axm.set_xticks(range(rows), short, rotation=60, ha="right", fontsize=9)
    axm.set_yticks(range(rows), short, fontsize=9)
    for i in range(rows):
        for j in range(rows):
            axm.text(j, i, f"{mat[i, j]:.2f}", ha="center", va="center", fontsize=8,
                     color="white" if abs(mat[i, j]) > 0.6 else "black")
    axm.set_title("rank correlation", fontsize=11)
    return fig
