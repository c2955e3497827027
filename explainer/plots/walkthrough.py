"""The figures of the walkthrough, each drawn on the learner's own clip: samples, STFT frames,
mel filters, the LFCC spreadsheet, a convolution, pooling, 1D versus 2D.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from ..features import DEFAULT as CFG
from .style import (
    SR,
    _colorbar,
    _draw_wave,
    _figure,
    _limits,
    _loudest_start,
    _seconds_axis,
    _specshow,
    _styled,
    _sym_limit,
    _wave,
)

if TYPE_CHECKING:
    from ..analysis import Analysis


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
