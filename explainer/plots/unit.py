"""Inside one unit: a clickable picture of a layer's output, and the figure of one unit's arithmetic.

:func:`layer_picture` draws a whole layer output as pixels (channels x time, one channel's
grid, or tokens x channels) and :func:`picture_layout` says which output position every pixel
stands for, so a click on the picture picks a unit. :func:`unit_figure` shows what
:func:`explainer.inspect.unit` returned: where the unit reads in the clip, the input patch
beside the kernel, and their products.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator
from scipy.special import erf

from ..features import front_end_class
from .style import _figure, _limits, _styled, _sym_limit

_WIDE = 1100  # pixels across a layer picture
_TALL = 260  # pixels down, at most


@dataclass(frozen=True)
class PictureLayout:
    """How a layer output of ``shape`` is laid out as a picture: which output axis runs down the rows and
    which across the columns, whether rows are flipped (low frequencies at the bottom), the fixed
    leading index (the channel of a 2D map) and the picture's size in pixels."""

    shape: tuple[int, ...]
    row_axis: int | None  # output axis along the rows (None: a single row)
    col_axis: int
    flip: bool
    fixed: tuple[int, ...]  # leading index held fixed (the channel of a (C, H, W) map)
    height: int
    width: int

    @property
    def n_rows(self) -> int:
        return 1 if self.row_axis is None else self.shape[self.row_axis]

    @property
    def n_cols(self) -> int:
        return self.shape[self.col_axis]

    def index_at(self, px: float, py: float) -> list[int]:
        """The output index under pixel (``px``, ``py``) of the picture."""
        col = int(np.clip(int(px * self.n_cols / self.width), 0, self.n_cols - 1))
        row = int(np.clip(int(py * self.n_rows / self.height), 0, self.n_rows - 1))
        if self.flip:
            row = self.n_rows - 1 - row
        idx = list(self.fixed) + [0] * (len(self.shape) - len(self.fixed))
        idx[self.col_axis] = col
        if self.row_axis is not None:
            idx[self.row_axis] = row
        return idx

    def cell_box(self, index) -> tuple[int, int, int, int]:
        """Pixel box (x0, y0, x1, y1) of the cell ``index``, at least 3 pixels each way."""
        col = index[self.col_axis]
        row = 0 if self.row_axis is None else index[self.row_axis]
        if self.flip:
            row = self.n_rows - 1 - row
        x0, x1 = col * self.width // self.n_cols, (col + 1) * self.width // self.n_cols
        y0, y1 = row * self.height // self.n_rows, (row + 1) * self.height // self.n_rows
        return x0, y0, max(x1, x0 + 3), max(y1, y0 + 3)


def picture_layout(shape, index, input_kind: str, is_token: bool) -> PictureLayout:
    """The layout of a layer output of ``shape`` (batch axis dropped) for a model reading ``input_kind``.

    A (channels, time) map shows every channel as a row; a (channels, rows, columns) map shows one
    channel, with time across and low frequencies at the bottom; a (tokens, width) output shows
    tokens down and channels across; a flat vector shows one row.
    """
    shape = tuple(int(s) for s in shape)
    fixed: tuple[int, ...] = ()
    flip = False
    if len(shape) == 1:
        row_axis, col_axis = None, 0
    elif len(shape) == 2:
        row_axis, col_axis = 0, 1
    else:
        fixed = (int(index[0]),)
        time = front_end_class(input_kind).time_axis - 1  # time's axis in a (C, A, B) map
        col_axis = time if time in (1, 2) else 2
        row_axis = 3 - col_axis
        flip = not is_token
    n_rows = 1 if row_axis is None else shape[row_axis]
    n_cols = shape[col_axis]
    width = n_cols * max(1, _WIDE // n_cols) if n_cols <= _WIDE else _WIDE
    height = max(24, n_rows * max(1, _TALL // n_rows)) if n_rows <= _TALL else _TALL
    return PictureLayout(shape, row_axis, col_axis, flip, fixed, height, width)


def layer_picture(out: np.ndarray, layout: PictureLayout, index) -> np.ndarray:
    """RGB pixels of a layer output laid out by ``layout``, with the cell ``index`` outlined."""
    data = np.asarray(out, dtype=np.float32)
    if layout.fixed:
        data = data[layout.fixed]
        row_axis, col_axis = layout.row_axis - 1, layout.col_axis - 1
        data = np.transpose(data, (row_axis, col_axis))
    elif layout.row_axis is None:
        data = data[None, :]
    if layout.flip:
        data = data[::-1]
    rows = np.arange(layout.height) * data.shape[0] // layout.height
    cols = np.arange(layout.width) * data.shape[1] // layout.width
    pix = data[rows][:, cols]
    if pix.min() < 0:
        lim = _sym_limit(pix) or 1.0
        norm, cmap = (pix / lim + 1) / 2, matplotlib.colormaps["RdBu_r"]
    else:
        lo, hi = _limits(pix, 1, 99.5)
        norm, cmap = (pix - lo) / ((hi - lo) or 1.0), matplotlib.colormaps["magma"]
    rgb = (cmap(np.clip(norm, 0, 1))[..., :3] * 255).astype(np.uint8)
    x0, y0, x1, y1 = layout.cell_box(index)
    for color, pad in (((255, 255, 255), 2), ((0, 229, 255), 0)):
        a, b = max(0, y0 - pad), min(layout.height, y1 + pad)
        c, d = max(0, x0 - pad), min(layout.width, x1 + pad)
        rgb[a:b, c:c + 2] = rgb[a:b, max(c, d - 2):d] = color
        rgb[a:a + 2, c:d] = rgb[max(a, b - 2):b, c:d] = color
    return rgb


# ---------------------------------------------------------------- the unit figure


def _model_input(ax, x: np.ndarray, input_kind: str, span, title: str, attention=None) -> None:
    """The model's own input (batch dropped) with the part this unit reads marked, or an attention row
    (one weight per token, the class token first) glowing over the patches it weighs."""
    fe = front_end_class(input_kind)
    if x.ndim == 2 and x.shape[0] == 1:  # raw samples
        wave = x[0]
        ax.plot(np.arange(wave.size), wave, color="#1f3b57", linewidth=0.5)
        ax.set_xlim(0, wave.size)
        ax.set_xlabel("sample")
        ax.set_yticks([])
        if span:
            lo, hi = span[0]
            ax.axvspan(lo, hi + 1, color="#E69F00", alpha=0.6)
    else:
        grid = x if x.ndim == 2 else x[0]  # (channels, time) or one channel of (C, A, B)
        time = fe.time_axis - 1 if x.ndim == 3 else 1
        if x.ndim == 3 and time == 1:  # (time, features): put time across, each feature on its own scale
            grid = grid.T
            grid = (grid - grid.mean(1, keepdims=True)) / (grid.std(1, keepdims=True) + 1e-6)
            ax.set_ylabel("feature column")
        lo, hi = _limits(grid, 0.5, 100)
        ax.imshow(grid, origin="lower", aspect="auto", cmap="magma", vmin=lo, vmax=hi, interpolation="nearest")
        ax.set_xlabel("time step")
        if attention is not None:
            weights = np.asarray(attention)[1:]
            side = int(round(np.sqrt(weights.size)))
            if side * side == weights.size:
                glow = weights.reshape(side, side) / (weights.max() or 1.0)
                rgba = np.zeros((side, side, 4))
                rgba[..., 1], rgba[..., 3] = 1.0, 0.85 * glow
                ax.imshow(rgba, origin="lower", aspect="auto", extent=(-0.5, grid.shape[1] - 0.5, -0.5,
                                                                         grid.shape[0] - 0.5), interpolation="nearest")
        if span:
            (r0, r1), (c0, c1) = (([0, grid.shape[0] - 1], span[0]) if x.ndim == 2 else
                                  ((span[1], span[0]) if time == 1 else (span[0], span[1])))
            ax.add_patch(Rectangle((c0 - 0.5, r0 - 0.5), c1 - c0 + 1, r1 - r0 + 1, fill=False,
                                   edgecolor="#00E5FF", linewidth=2.5))
    ax.set_title(title, loc="left")


def _stems(ax, values, color, title, xlabels=None):
    v = np.asarray(values, dtype=float)
    if v.size > 200:  # too many for bars: one line through them all
        ax.plot(np.arange(v.size), v, color=color, linewidth=0.5)
    else:
        ax.bar(np.arange(v.size), v, color=np.where(v >= 0, color, "#8C8C8C"), width=0.8)
    ax.axhline(0, color="#444", linewidth=0.6)
    ax.set_xlim(-0.7, v.size - 0.3)
    ax.set_title(_wrap(title), loc="left")
    if xlabels is not None:
        ax.set_xticks(np.arange(v.size)[:: max(1, v.size // 10)])
        ax.set_xticklabels(xlabels[:: max(1, v.size // 10)], rotation=90 if v.size > 4 else 0, fontsize=10)


def _grid(ax, values, title, signed=True, numbers=False, rows=None, cols=None):
    """A small grid drawn like the input pictures (first row at the bottom), with each number written in
    when it is small enough to read; ``rows``/``cols`` label the cells with their real positions."""
    g = np.asarray(values, dtype=float)
    lim = np.abs(g).max() or 1.0
    kw = {"cmap": "RdBu_r", "vmin": -lim, "vmax": lim} if signed else {"cmap": "magma"}
    im = ax.imshow(g, origin="lower", aspect="auto", interpolation="nearest", **kw)
    if numbers and g.size <= 49:
        for (r, c), v in np.ndenumerate(g):
            ax.text(c, r, f"{v:+.2f}", ha="center", va="center", fontsize=10,
                    color="white" if signed and abs(v) > 0.55 * lim else "black")
    if rows is not None:
        step = max(1, len(rows) // 8)
        ax.set_yticks(range(0, len(rows), step))
        ax.set_yticklabels([str(r) for r in rows][::step])
    if cols is not None:
        step = max(1, len(cols) // 8)
        ax.set_xticks(range(0, len(cols), step))
        ax.set_xticklabels([str(c) for c in cols][::step])
    ax.set_title(_wrap(title), loc="left")
    return im


def _wrap(text: str, width: int = 34) -> str:
    return "\n".join(textwrap.wrap(text, width))


def _integer_axes(ax) -> None:
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))


def _conv_panels(axes, u: dict, layer_in: np.ndarray, causal: bool) -> None:
    ctx, patch, kern, prod = axes
    shape = u["shape"]
    inputs = np.asarray(u["inputs"]).reshape(shape)
    weights = np.asarray(u["weights"]).reshape(shape)
    products = inputs * weights
    if len(shape) == 2 and shape[0] == 1:  # one input channel, 1D: the raw samples
        pos = [p[1] for p in u["positions"]]
        a, b = pos[0], pos[-1]
        step = u["stride"][0]
        lo, hi = max(0, a - 12), min(layer_in.shape[-1], b + 12 + step)
        n = np.arange(lo, hi)
        ctx.plot(n, layer_in[0, lo:hi], "o-", color="#1f3b57", markersize=2.5, linewidth=0.8)
        ctx.axvspan(a - 0.5, b + 0.5, color="#E69F00", alpha=0.35, label=f"this unit: {len(pos)} samples")
        ctx.axvspan(a + step - 0.5, b + step + 0.5, fill=False, edgecolor="#D55E00", linestyle="--", linewidth=1.5,
                    label=f"the next unit: {step} samples later")
        ctx.legend(loc="upper left", fontsize=10)
        ctx.set_title(_wrap("The samples it reads (dots), and its stride"), loc="left")
        ctx.set_xlabel("sample")
        _stems(patch, weights[0], "#0072B2", f"Its kernel: {shape[1]} weights")
        patch.set_xlabel("tap")
        _stems(kern, products[0], "#009E73", "Sample × weight, tap by tap")
        kern.set_xlabel("tap")
        run = np.cumsum(products[0])
        prod.plot(np.arange(run.size), run, "o-", color="#D55E00", markersize=3)
        prod.axhline(0, color="#444", linewidth=0.6)
        prod.set_title(_wrap(f"Running sum, tap by tap: ends at {run[-1]:+.4f}"), loc="left")
        prod.set_xlabel("tap")
        return
    if len(shape) == 2:  # several channels, 1D: channels x taps
        times = [p[1] for p in u["positions"][:shape[1]]]
        t = max(times)
        lo, hi = max(0, min(times) - 6), min(layer_in.shape[-1], t + 7)
        lim = np.abs(layer_in[:, lo:hi]).max() or 1.0
        ctx.imshow(layer_in[:, lo:hi], origin="lower", aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim,
                   extent=(lo - 0.5, hi - 0.5, -0.5, layer_in.shape[0] - 0.5), interpolation="nearest")
        for tt in times:
            if tt >= 0:
                ctx.axvspan(tt - 0.5, tt + 0.5, fill=False, edgecolor="#00E5FF", linewidth=2.5)
        d = u["dilation"][0]
        if d > 1 and len(times) > 1:
            ctx.annotate("", xy=(times[-1], layer_in.shape[0] * 1.02), xytext=(times[-2], layer_in.shape[0] * 1.02),
                         arrowprops={"arrowstyle": "<->", "color": "#0072B2"}, annotation_clip=False)
        if causal and t + 1 < hi:
            ctx.axvspan(t + 0.5, hi - 0.5, color="#BBBBBB", alpha=0.75, label="the future: never read")
            ctx.legend(loc="upper right", fontsize=10)
        ctx.set_title(_wrap(f"Its input, {layer_in.shape[0]} channels: the taps at {', '.join(map(str, times))} "
                            f"(dilation {d})"), loc="left")
        ctx.set_xlabel("time step")
        ctx.set_ylabel("input channel")
        _integer_axes(ctx)
        labels = [str(tt) for tt in times]
        _grid(patch, inputs, f"The values it reads: {shape[0]} × {shape[1]}", cols=labels)
        _grid(kern, weights, f"Its kernel: {shape[0]} channels × {shape[1]} taps", cols=labels)
        _grid(prod, products, f"Input × weight: sum {products.sum():+.4f}", cols=labels)
        for ax in (patch, kern, prod):
            ax.set_xlabel("time step read")
        return
    # 2D: show the input channel that adds the most; the arithmetic lists every channel
    per_channel = products.reshape(shape[0], -1).sum(1)
    c = int(np.argmax(np.abs(per_channel)))
    rows = sorted({p[1] for p in u["positions"]})
    cols = sorted({p[2] for p in u["positions"]})
    pad = 8
    r0, r1 = max(0, rows[0] - pad), min(layer_in.shape[1], rows[-1] + pad + 1)
    c0, c1 = max(0, cols[0] - pad), min(layer_in.shape[2], cols[-1] + pad + 1)
    lo, hi = _limits(layer_in[c, r0:r1, c0:c1], 0.5, 100)
    ctx.imshow(layer_in[c, r0:r1, c0:c1], origin="lower", aspect="auto", cmap="magma", vmin=lo, vmax=hi,
               extent=(c0 - 0.5, c1 - 0.5, r0 - 0.5, r1 - 0.5), interpolation="nearest")
    ctx.add_patch(Rectangle((cols[0] - 0.5, rows[0] - 0.5), len(cols), len(rows), fill=False, edgecolor="#00E5FF",
                            linewidth=2.5))
    _integer_axes(ctx)
    ctx.set_title(_wrap(f"Input channel {c} of {shape[0]} (the one that adds most), around the patch"), loc="left")
    numbers = shape[1] * shape[2] <= 25
    kw = {"numbers": numbers, "rows": rows, "cols": cols}
    _grid(patch, inputs[c], f"The patch: {shape[1]}×{shape[2]} input values", signed=bool(inputs[c].min() < 0), **kw)
    _grid(kern, weights[c], f"Kernel, channel {c}: {shape[1]}×{shape[2]} weights", **kw)
    _grid(prod, products[c], f"Patch × kernel, channel {c}: sum {per_channel[c]:+.4f}", **kw)


def _pool_panels(axes, u: dict, layer_in: np.ndarray, time_first: bool) -> None:
    ctx, vals, _, result = axes
    values = np.asarray(u["inputs"])
    pos = u["positions"]
    if layer_in.ndim == 3 and len(pos[0]) == 3:
        c = pos[0][0]
        rows, cols = sorted({p[1] for p in pos}), sorted({p[2] for p in pos})
        r0, r1 = max(0, rows[0] - 6), min(layer_in.shape[1], rows[-1] + 7)
        c0, c1 = max(0, cols[0] - 6), min(layer_in.shape[2], cols[-1] + 7)
        window = layer_in[c, r0:r1, c0:c1]
        box = (cols[0] - 0.5, rows[0] - 0.5, len(cols), len(rows))
        extent = (c0 - 0.5, c1 - 0.5, r0 - 0.5, r1 - 0.5)
        xlabel, ylabel = "column", "row"
        if time_first:  # (time, feature) grids: put time across, as every other picture does
            window, box = window.T, (rows[0] - 0.5, cols[0] - 0.5, len(rows), len(cols))
            extent, (xlabel, ylabel) = (r0 - 0.5, r1 - 0.5, c0 - 0.5, c1 - 0.5), ("time step (row of the grid)",
                                                                                  "feature column")
        ctx.imshow(window, origin="lower", aspect="auto", cmap="magma", extent=extent, interpolation="nearest")
        ctx.add_patch(Rectangle(box[:2], box[2], box[3], fill=False, edgecolor="#00E5FF", linewidth=2.5))
        ctx.set_xlabel(xlabel)
        ctx.set_ylabel(ylabel)
        _integer_axes(ctx)
        ctx.set_title(_wrap(f"Channel {c} of its input: the {len(rows)} × {len(cols)} window it pools"), loc="left")
    else:
        _stems(ctx, values, "#0072B2", f"The {values.size} values it pools")
    labels = [",".join(str(v) for v in p[1:]) for p in pos]
    _stems(vals, values, "#0072B2", "The values it reads (at row, column)", labels if values.size <= 16 else None)
    axes[2].axis("off")
    what = "the largest" if u["mode"] == "max" else "the mean"
    result.axis("off")
    result.text(0.0, 0.5, f"{what} of {values.size} values\n= {u['output']:+.4f}\n(no weights to learn)",
                fontsize=17, va="center")


def _attention_panels(axes, u: dict) -> None:
    grid_ax, heads_ax, kern, prod = axes
    row = np.asarray(u["attention"])
    n = row.size - 1
    side = int(round(np.sqrt(n)))
    t = u["query"]
    weights = np.asarray(u["weights"]).reshape(u["shape"])
    if side * side == n:
        grid_ax.imshow(row[1:].reshape(side, side), origin="lower", cmap="viridis", aspect="auto",
                       interpolation="nearest")
        if t > 0:
            r, c = divmod(t - 1, side)
            grid_ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, edgecolor="#FF4040", linewidth=2.5))
        grid_ax.set_title(_wrap(f"Token {t}'s attention over the {n} patches, mean of heads (class token: "
                                f"{row[0]:.3f}); red = token {t}"), loc="left")
        grid_ax.set_xlabel("time patch")
        grid_ax.set_ylabel("frequency patch")
        strip = np.concatenate([w[1:].reshape(side, side) for w in weights], axis=1)
        heads_ax.imshow(strip, origin="lower", cmap="viridis", aspect="auto", interpolation="nearest")
        for h in range(1, weights.shape[0]):
            heads_ax.axvline(h * side - 0.5, color="white", linewidth=2)
        heads_ax.set_xticks([side * (h + 0.5) - 0.5 for h in range(weights.shape[0])])
        heads_ax.set_xticklabels([f"head {h}" for h in range(weights.shape[0])])
        heads_ax.set_yticks([])
        heads_ax.set_title(_wrap("Each head's own row: each sums to 1"), loc="left")
    else:
        _stems(grid_ax, row, "#0072B2", f"Token {t}'s attention over {row.size} tokens")
        heads_ax.axis("off")
    sent = np.asarray(u["inputs"]).reshape(u["shape"])
    contrib = (weights * sent).sum(0)
    top = np.argsort(-np.abs(contrib))[:10]
    _stems(kern, row[top], "#0072B2", "Attention (mean of heads) of the 10 tokens that add most",
           [str(i) for i in top])
    _stems(prod, contrib[top], "#009E73", f"Weight × value sent, all heads; all {row.size}: {contrib.sum():+.4f}",
           [str(i) for i in top])


def _function_panel(axes, u: dict) -> None:
    ctx = axes[0]
    for ax in axes[1:]:
        ax.axis("off")
    if u["kind"] == "norm":
        x = u["value"]
        sd = np.sqrt(u["var"]) if u["type"] != "LayerNorm" else np.sqrt(u["var"] + u["eps"])
        xs = np.linspace(min(x, u["mean"] - 3 * sd), max(x, u["mean"] + 3 * sd), 50)
        ctx.plot(xs, (xs - u["mean"]) * u["scale"] + u["beta"], color="#0072B2")
        ctx.set_title(_wrap("Normalisation is a straight line: (x − mean) × γ / √(var + ε) + β"), loc="left")
    elif u["kind"] == "activation":
        x = u["inputs"][0]
        xs = np.linspace(min(-1.0, x - 1), max(1.0, x + 1), 100)
        ys = np.maximum(xs, 0) if u["function"] == "relu" else xs * 0.5 * (1 + erf(xs / np.sqrt(2)))
        ctx.plot(xs, ys, color="#0072B2")
        ctx.set_title(u["function"].upper(), loc="left")
    else:
        _stems(ctx, u["inputs"], "#0072B2", f"The {len(u['inputs']):,} values it reads")
        if u["kind"] == "linear":
            w = np.asarray(u["weights"])
            for ax in axes[1:3]:
                ax.axis("on")
            _stems(axes[1], w, "#0072B2", f"Its {w.size:,} weights")
            _stems(axes[2], np.asarray(u["inputs"]) * w, "#009E73", "Input × weight")
        return
    ctx.plot([x], [u["output"]], "o", color="#D55E00", markersize=10)
    ctx.axvline(x, color="#D55E00", linestyle=":")
    ctx.set_xlabel("input")
    ctx.set_ylabel("output")
    axes[1].text(0.0, 0.5, f"input {x:+.4f}\n→ output {u['output']:+.4f}", fontsize=17, va="center")


@_styled
def unit_figure(u: dict, x: np.ndarray, layer_in: np.ndarray | None, input_kind: str, causal: bool,
                model_title: str) -> Figure:
    """The figure of one unit: where it reads in the model's input (for attention, where the token looks),
    then its input, weights and products."""
    fig = _figure(16, 7.8, margins=(0.75, 0.25, 0.45, 0.75), hspace=0.62)
    gs = fig.add_gridspec(2, 4, height_ratios=[1, 1.3], wspace=0.32)
    top = fig.add_subplot(gs[0, :])
    span = u.get("input_span")
    where = ("It reads the part of the input in the cyan box" if span else
             "It reads the whole input: an earlier layer mixed every position")
    overlay = u.get("attention") if u["kind"] == "attention" else None
    if overlay is not None:
        where = "The green glow: where this token looks (its attention, mean of heads)"
    _model_input(top, x, input_kind, span, f"{model_title}, {u['layer']} at {tuple(u['index'])}. {where}.",
                 overlay)
    axes = [fig.add_subplot(gs[1, i]) for i in range(4)]
    time_first = front_end_class(input_kind).time_axis == 2 and x.ndim == 3
    if u["kind"] == "conv" and layer_in is not None:
        _conv_panels(axes, u, layer_in, causal)
    elif u["kind"] == "pool" and layer_in is not None:
        _pool_panels(axes, u, layer_in, time_first)
    elif u["kind"] == "attention":
        _attention_panels(axes, u)
    else:
        _function_panel(axes, u)
    return fig


@_styled
def sandbox_figure(sb: dict) -> Figure:
    """Input cells, the convolution's outputs and the pooled outputs, with one conv output's taps drawn."""
    n, k = sb["n"], sb["kernel"]
    fig = _figure(15, 4.2, margins=(0.9, 0.3, 0.6, 0.5))
    ax = fig.add_subplot()
    p = sb["padding"]
    xs = np.arange(-p, n + p)
    ax.scatter(xs, np.full(xs.size, 2.0), s=170, marker="s",
               c=["#DDDDDD" if (x < 0 or x >= n) else "#56B4E9" for x in xs], edgecolors="#333")
    if sb["conv_length"] > 0:
        centre = lambda i: i * sb["stride"] - p + (k - 1) * sb["dilation"] / 2  # noqa: E731
        outs = np.arange(sb["conv_length"])
        ax.scatter([centre(i) for i in outs], np.ones(outs.size), s=170, marker="s", c="#E69F00", edgecolors="#333")
        u = sb["unit"]
        for t in sb["taps"]:
            ax.plot([t, centre(u)], [2.0, 1.0], color="#D55E00", linewidth=1.5)
        if sb["pool"] > 1 and sb["pool_length"] > 0:
            pools = np.arange(sb["pool_length"])
            pc = [np.mean([centre(i * sb["pool"] + j) for j in range(sb["pool"])]) for i in pools]
            ax.scatter(pc, np.zeros(pools.size), s=170, marker="s", c="#009E73", edgecolors="#333")
        ax.set_title(f"{n} inputs → {sb['conv_length']} conv outputs"
                     + (f" → {sb['pool_length']} after pooling by {sb['pool']}" if sb["pool"] > 1 else "")
                     + f". Orange lines: the {k} taps of conv output {u}.", loc="left")
    else:
        ax.set_title("The kernel does not fit: with this dilation it spans more cells than the padded input has.",
                     loc="left", color="#b3261e")
    ax.set_yticks([2, 1, 0])
    ax.set_yticklabels(["input (grey: padding)", "conv output", "pooled"])
    ax.set_xlabel("input cell")
    ax.set_ylim(-0.6, 2.6)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return fig
