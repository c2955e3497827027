"""Shared look of every figure: sizes, fonts, class colours, colour limits and small drawing helpers.

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

from .. import models
from ..attribution import CONTRIBUTION_METHODS
from ..features import DEFAULT as CFG

if TYPE_CHECKING:
    from ..analysis import Analysis


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
    # waveshow blanks the time axis' ticks when it is not asked to format them: keep the plain seconds
    ticks = (ax.xaxis.get_major_locator(), ax.xaxis.get_major_formatter(),
             ax.xaxis.get_minor_locator(), ax.xaxis.get_minor_formatter())
    if y0 is None:
        librosa.display.waveshow(wave, sr=SR, ax=ax, axis=None, offset=t0, color=color, **kw)
        ax.set_ylim(-max(peak, 1e-3) * 1.1, max(peak, 1e-3) * 1.1)
        ax.set_xlim(t0, t0 + n / SR)
        ax.axhline(0, color="#999999", linewidth=0.5)
    else:
        shift = Affine2D().translate(0, y0) + ax.transData
        librosa.display.waveshow(wave * (height / (peak or 1.0)), sr=SR, ax=ax, axis=None, offset=t0, color=color,
                                 transform=shift, **kw)
    ax.xaxis.set_major_locator(ticks[0])
    ax.xaxis.set_major_formatter(ticks[1])
    ax.xaxis.set_minor_locator(ticks[2])
    ax.xaxis.set_minor_formatter(ticks[3])


def _specshow(ax, data: np.ndarray, hop: int, y_axis: str | None = None, **kw):
    import librosa.display  # deferred: librosa's import is slow and only figures need it

    return librosa.display.specshow(data, sr=SR, hop_length=hop, x_axis="time", y_axis=y_axis, ax=ax, **kw)


def _stft_db(wave: np.ndarray) -> np.ndarray:
    """Magnitude STFT in dB (bins, frames) with the 64-band mel settings: 25 ms window, 10 ms hop."""
    from ..features import stft_db

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


_SOUND_SHADE = "#dff0d8"  # pale green behind the parts of the clip that sound


def _shade_sounding(ax, analysis: Analysis, y0: float, y1: float) -> None:
    """Pale bands behind the 10 ms steps where the clip sounds (features.sounding)."""
    steps = analysis.sounding
    if steps is None or not np.any(steps):
        return
    t = np.arange(steps.size) * 0.01
    ax.fill_between(t, y0, y1, where=steps, step="mid", color=_SOUND_SHADE, linewidth=0, zorder=0)


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
