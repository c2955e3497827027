"""The clip and the set at a glance: waveform, mel spectrogram, LFCC grid, every model's
probabilities, the shared timeline of where each model listened, the held-out confusion
matrices, and the cells that "Hear the explanation" keeps.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from ..features import DEFAULT as CFG
from .style import (
    METHOD_TITLES,
    SIGNED_METHODS,
    SR,
    _colorbar,
    _draw_lfcc_bands,
    _draw_wave,
    _figure,
    _ink,
    _limits,
    _row_label,
    _seconds_axis,
    _shade_sounding,
    _signed,
    _specshow,
    _stft_db,
    _styled,
    _wave,
    class_colors,
    model_title,
)

if TYPE_CHECKING:
    from ..analysis import Analysis


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
    from ..attribution import TIME_STEP_S

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


@_styled
def transfer_chart(card: dict) -> Figure:
    """Fine-tuned from a trained set versus trained from scratch: held-out accuracy per architecture,
    with the seconds each took written on its bar."""
    models = card.get("models") or {}
    archs = list(models)
    fine = [100 * models[a]["test"]["accuracy"] for a in archs]
    scratch = [100 * ((models[a].get("scratch") or {}).get("test") or {}).get("accuracy", np.nan) for a in archs]
    fig = _figure(12, 3.8, margins=(0.9, 0.3, 0.5, 1.1))
    ax = fig.add_subplot()
    x = np.arange(len(archs))
    parent = (card.get("fine_tuned_from") or {}).get("set", "a trained set")
    bars = [(fine, -0.2, "#0072B2", f"fine-tuned from {parent}", "train_seconds"),
            (scratch, 0.2, "#8C8C8C", "from scratch", None)]
    for values, dx, colour, label, _ in bars:
        if np.all(np.isnan(values)):
            continue
        ax.bar(x + dx, np.nan_to_num(values), width=0.38, color=colour, label=label)
    for i, a in enumerate(archs):
        secs = [models[a].get("train_seconds"), (models[a].get("scratch") or {}).get("train_seconds")]
        for dx, v, s in ((-0.2, fine[i], secs[0]), (0.2, scratch[i], secs[1])):
            if s is not None and not np.isnan(v):
                ax.text(i + dx, v + 1.5, f"{v:.0f}%\n{s:.0f} s", ha="center", va="bottom", fontsize=10)
    ax.set_xticks(x, [model_title(a) for a in archs])
    ax.set_ylim(0, 135)
    ax.set_ylabel("held-out accuracy (%)")
    ax.legend(loc="upper left", ncol=2, frameon=False)
    ax.set_title("Your classes: transfer learning versus training from scratch, on clips no model trained on")
    return fig
