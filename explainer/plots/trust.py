"""How far to trust a map, drawn: deletion and insertion curves, the randomisation check, and
the agreement of the methods on one model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

from .style import (
    METHOD_TITLES,
    SIGNED_METHODS,
    SR,
    _figure,
    _row_label,
    _seconds_axis,
    _shade_sounding,
    _styled,
    _wave,
    model_title,
)

if TYPE_CHECKING:
    from ..analysis import Analysis


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
    from ..attribution import method_curve

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
