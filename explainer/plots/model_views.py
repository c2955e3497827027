"""One architecture's tab: its real input tensor, its feature maps, an attribution on its own
input, the frame-by-frame answers of a model that gives them, and its receptive field.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from ..features import DEFAULT as CFG
from ..features import front_end_class
from .style import (
    _BAND_NAMES,
    METHOD_TITLES,
    SIGNED_METHODS,
    SR,
    _colorbar,
    _draw_lfcc_bands,
    _draw_wave,
    _figure,
    _frames_to_s,
    _limits,
    _loudest_start,
    _np,
    _relative,
    _seconds_axis,
    _specshow,
    _styled,
    _wave,
    class_colors,
    frame_model,
    model_title,
)

if TYPE_CHECKING:
    from ..analysis import Analysis


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
    from ..features import Mel128x128

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
    fe = front_end_class(kind)
    out = {}
    for name in _pick_maps(trace, max_layers):
        fmap = np.asarray(trace.feature_maps[name])
        # 2D maps are drawn as 4 small pictures each; 1D maps as one wide picture of 8 rows
        channels, max_steps = (4, 400) if fmap.ndim == 3 else (8, 1200)
        fmap = fmap[:channels]
        # the time axis of this map (no batch axis): the input's own where the map keeps its layout
        axis = fe.time_axis - 1 if fmap.ndim == fe.ndim else fmap.ndim - 1
        steps = fmap.shape[axis]
        if steps > max_steps:
            k = int(np.ceil(steps / max_steps))
            pad = [(0, 0)] * fmap.ndim
            pad[axis] = (0, k * int(np.ceil(steps / k)) - steps)
            fmap = np.pad(fmap, pad, mode="edge")
            shape = list(fmap.shape)
            shape[axis: axis + 1] = [shape[axis] // k, k]
            fmap = fmap.reshape(shape).max(axis=axis + 1)
        # a copy of its own: a slice of the layer's output would keep every channel alive behind it
        out[name] = np.array(fmap, dtype=np.float32, order="C", copy=True)
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
    transpose = front_end_class(r.input_kind).time_axis != r.x.ndim - 1  # draw time left to right, as everywhere
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
