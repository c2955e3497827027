"""How far to trust a map: faithfulness checks and the sanity check.

:func:`deletion_check` hides the cells a map marks and compares with hiding the
same pattern elsewhere; :func:`deletion_curves` removes (or puts back) the clip's
time in the map's order and in the reverse order; :func:`randomisation_check`
explains a copy of the model whose weights were destroyed layer by layer; and
:func:`method_agreement` compares the methods on one clip. Every removal paints
in the same reference the maps measure from (:mod:`explainer.attribution`).
"""

from __future__ import annotations

import copy
import weakref

import numpy as np
import torch
from torch import nn

from .attribution import _RNG_LOCK, _reference, _time_axis, attribute
from .features import FRONT_ENDS
from .models import model_lock


# float elements that the widest layer output of one batched no-grad pass may hold (16 MB): the
# deletion variants of a long clip through the waveform or LFCC CNN would otherwise hold hundreds
# of megabytes at once, for no gain in speed on 2 cores
ACTIVATION_BUDGET = 4_194_304
_WIDEST: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model -> widest output / input elements


def _widest_ratio(model: nn.Module, x: torch.Tensor) -> float:
    """Elements of the widest layer output of ``model`` per element of one input, measured once per model
    with forward hooks on one input (the models' layer outputs grow in proportion to the input)."""
    ratio = _WIDEST.get(model)
    if ratio is None:
        widest = [x[:1].numel()]

        def seen(_module, _inputs, out):
            if isinstance(out, torch.Tensor):
                widest[0] = max(widest[0], out.numel())

        leaves = [m for m in model.modules() if not list(m.children())]
        handles = [m.register_forward_hook(seen) for m in leaves]
        try:
            with torch.no_grad():
                model(x[:1])
        finally:
            for h in handles:
                h.remove()
        ratio = _WIDEST[model] = widest[0] / x[:1].numel()
    return ratio


def forward_probs(model: nn.Module, batch: torch.Tensor, target: int) -> torch.Tensor:
    """Softmax probability of ``target`` for every input of ``batch``, run in chunks whose widest layer
    output stays within :data:`ACTIVATION_BUDGET` (the caller holds the model's lock, in eval mode)."""
    per_input = _widest_ratio(model, batch) * batch[:1].numel()
    chunk = max(1, int(ACTIVATION_BUDGET // per_input))
    with torch.no_grad():
        return torch.cat([torch.softmax(model(batch[i:i + chunk]).float(), dim=1)[:, int(target)]
                          for i in range(0, len(batch), chunk)])


def _channel_axis(kind: str | None, x: torch.Tensor) -> int | None:
    """The axis whose entries form one cell (the front-end says); outside the registry, axis 1 of a 3D+ input."""
    if kind in FRONT_ENDS:
        return FRONT_ENDS[kind].channel_axis
    return 1 if x.ndim >= 3 else None


def deletion_check(
    model: nn.Module,
    x: torch.Tensor,
    attr: torch.Tensor,
    target: int,
    fraction: float = 0.2,
    n_random: int = 3,
    seed: int = 0,
    control: str = "shift",
    reference: torch.Tensor | None = None,
) -> dict[str, float]:
    """Remove the most-attributed cells and see whether the model notices.

    The top ``fraction`` of input cells by ``attr`` are set to
    :func:`explainer.attribution.reference_input`; so, separately, are ``n_random`` random sets of the
    same size. Cells are ranked by their signed value: for a signed map
    (Integrated Gradients, occlusion) the top set is the strongest evidence *for*
    the target. Ranking by size would also remove the strongest evidence against
    it, whose removal raises the score, and the two effects would cancel.
    Channels of one position (the ViT's three copies) are ranked and removed
    together. All variants run in one forward pass.

    The random sets are, by default (``control="shift"``), the top set moved by a
    random circular shift along every non-channel axis: the same amount and the
    same shape of removal, in another place. Scattered single cells
    (``control="scatter"``) are a harsher control: salt-and-pepper holes are
    unlike anything a CNN saw in training and hurt it more than any compact
    region, so coarse maps such as Grad-CAM would look unfaithful for a reason
    that has nothing to do with where they point.

    Args:
        model: the classifier; put in eval mode.
        x: one model input ``(1, ...)``.
        attr: its attribution, shaped like ``x``.
        target: the class whose probability is watched.
        fraction: share of cells removed.
        n_random, seed: number of random sets, and the seed that draws them.
        control: ``"shift"`` or ``"scatter"``, how the random sets are drawn.
        reference: what removed cells become (default :func:`explainer.attribution.reference_input`).

    Returns:
        ``p_orig``, ``p_top_removed``, ``p_random_removed`` (mean over the random
        sets), ``drop_top`` and ``drop_random`` (falls in softmax probability of
        ``target``) and ``score = drop_top - drop_random``: positive when the map
        points at evidence the model really uses.
    """
    if x.ndim < 2 or x.shape[0] != 1:
        raise ValueError(f"deletion_check takes one input (1, ...), got {tuple(x.shape)}")
    if tuple(attr.shape) != tuple(x.shape):
        raise ValueError(f"attribution {tuple(attr.shape)} does not match input {tuple(x.shape)}")
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction must be between 0 and 1, got {fraction}")
    if control not in ("shift", "scatter"):
        raise ValueError(f"control must be 'shift' or 'scatter', got {control!r}")
    kind = getattr(model, "input_kind", None)
    x = torch.nan_to_num(x.detach())
    scores = torch.nan_to_num(attr.detach().to(x.device).float())  # signed: evidence for the target first
    axis = _channel_axis(kind, x)
    if axis is not None:
        scores = scores.sum(dim=axis, keepdim=True)  # one score per position, shared by its channels
    cells = scores.numel()
    k = min(cells, max(1, round(fraction * cells)))
    top = torch.zeros(cells, dtype=torch.bool, device=x.device)
    top[torch.argsort(scores.flatten(), descending=True, stable=True)[:k]] = True
    top = top.view(scores.shape)  # (1, ...) with channels folded to 1
    gen = torch.Generator().manual_seed(seed)
    masks = [top]
    for _ in range(n_random):
        if control == "shift":
            dims = [d for d in range(1, top.ndim) if d != axis and top.shape[d] > 1]
            shifts = [int(torch.randint(1, top.shape[d], (1,), generator=gen)) for d in dims]  # never in place
            masks.append(torch.roll(top, shifts, dims) if dims else top)
        else:
            idx = torch.randperm(cells, generator=gen)[:k].to(x.device)
            masks.append(torch.zeros(cells, dtype=torch.bool, device=x.device).index_fill_(0, idx, True).view(top.shape))
    masks = torch.cat(masks).expand(len(masks), *x.shape[1:])
    ref = _reference(x, kind, reference)
    variants = torch.where(masks, ref, x)  # (1 + n_random, ...)
    with model_lock(model):
        model.eval()
        probs = forward_probs(model, torch.cat([x, variants]), target)
    probs = torch.nan_to_num(probs).cpu()
    p_orig, p_top = float(probs[0]), float(probs[1])
    p_random = float(probs[2:].mean()) if n_random > 0 else p_orig
    drop_top, drop_random = p_orig - p_top, p_orig - p_random
    return {
        "p_orig": p_orig, "p_top_removed": p_top, "p_random_removed": p_random,
        "drop_top": drop_top, "drop_random": drop_random, "score": drop_top - drop_random,
    }


CURVE_FRACTIONS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)  # shares of the clip's time removed or inserted




def deletion_curves(model: nn.Module, x: torch.Tensor, attr: torch.Tensor, target: int,
                    fractions: tuple[float, ...] = CURVE_FRACTIONS, reference: torch.Tensor | None = None) -> dict:
    """Deletion and insertion curves along time, most and least relevant first.

    The input's time axis is cut into segments: one column for the spectrogram
    inputs (10 ms, or 32 ms for the 128x128 picture, or 1/224 of the clip for the
    ViT's picture), 160 samples (10 ms) for the waveform. The segments are ranked
    by the map's signed sum over everything else in them: the strongest evidence
    for the target first ("most relevant first"), or last ("least relevant first").

    - *Deletion* sets the top ``f`` of segments to the reference (``reference``,
      by default :func:`explainer.attribution.reference_input`) and
      watches the target's probability fall: a faithful map makes it fall fast.
    - *Insertion* starts from the reference and puts back the top ``f`` of
      segments: a faithful map makes the probability come back fast.

    Each curve's *area* is its mean probability over ``fractions`` (trapezoids,
    divided by the widest fraction), so areas of different clips compare.

    Returns:
        ``fractions``; ``deletion`` and ``insertion``, each ``{"most": [...],
        "least": [...]}`` probabilities; ``areas`` with keys ``deletion_most``,
        ``deletion_least``, ``insertion_most`` and ``insertion_least``; ``p_orig``
        and ``p_reference``; ``margin = (deletion_least - deletion_most) +
        (insertion_most - insertion_least)``, and ``beats_least``, true when the
        map's order hurts more on deletion and helps more on insertion than its
        own reverse order.
    """
    if x.ndim < 2 or x.shape[0] != 1:
        raise ValueError(f"deletion_curves takes one input (1, ...), got {tuple(x.shape)}")
    if tuple(attr.shape) != tuple(x.shape):
        raise ValueError(f"attribution {tuple(attr.shape)} does not match input {tuple(x.shape)}")
    fractions = tuple(float(f) for f in fractions)
    if not fractions or fractions[0] != 0.0 or any(b <= a for a, b in zip(fractions, fractions[1:])) \
            or fractions[-1] > 1.0:
        raise ValueError(f"fractions must rise from 0 to at most 1, got {fractions}")
    kind = getattr(model, "input_kind", None)
    x = torch.nan_to_num(x.detach())
    axis = _time_axis(kind, x)
    steps = x.shape[axis]
    # every spectrogram column is already 10-45 ms of the clip; raw samples are grouped into 10 ms
    per_segment = FRONT_ENDS[kind].curve_segment if kind in FRONT_ENDS else 1
    n_seg = -(-steps // per_segment)
    a = torch.nan_to_num(attr.detach().float()).movedim(axis, -1).reshape(-1, steps).sum(0)  # signed, per step
    seg_of_step = torch.arange(steps) // per_segment
    score = torch.zeros(n_seg, dtype=torch.float64).index_add_(0, seg_of_step, a.double().cpu())
    most = torch.argsort(score, descending=True, stable=True)
    least = torch.argsort(score, descending=False, stable=True)
    ref = _reference(x, kind, reference)
    shape = [1] * x.ndim
    shape[axis] = steps
    variants = []
    for order in (most, least):
        for f in fractions[1:]:
            chosen = torch.zeros(n_seg, dtype=torch.bool)
            chosen[order[: int(round(f * n_seg))]] = True
            mask = chosen[seg_of_step].view(shape).to(x.device)
            variants.append(torch.where(mask, ref, x))  # deletion
            variants.append(torch.where(mask, x, ref))  # insertion
    with model_lock(model):
        model.eval()
        probs = forward_probs(model, torch.cat([x, ref] + variants), target)
    probs = torch.nan_to_num(probs).cpu().tolist()
    p_orig, p_ref, rest = probs[0], probs[1], probs[2:]
    k = len(fractions) - 1
    curves = {"deletion": {}, "insertion": {}}
    for j, name in enumerate(("most", "least")):
        block = rest[2 * k * j: 2 * k * (j + 1)]
        curves["deletion"][name] = [p_orig] + block[0::2]
        curves["insertion"][name] = [p_ref] + block[1::2]
    width = fractions[-1] or 1.0
    areas = {f"{kind_}_{name}": float(np.trapezoid(curves[kind_][name], fractions) / width)
             for kind_ in ("deletion", "insertion") for name in ("most", "least")}
    margin = (areas["deletion_least"] - areas["deletion_most"]) + (areas["insertion_most"] - areas["insertion_least"])
    return {"fractions": list(fractions), **curves, "areas": areas, "p_orig": p_orig, "p_reference": p_ref,
            "margin": float(margin),
            "beats_least": bool(areas["deletion_most"] < areas["deletion_least"]
                                and areas["insertion_most"] > areas["insertion_least"])}


def rank_correlation(a, b) -> float:
    """Spearman rank correlation of two maps (or curves) of one shape; 0 when either is constant."""
    from scipy.stats import spearmanr

    a = np.asarray(torch.as_tensor(a).detach().float().cpu()).ravel()
    b = np.asarray(torch.as_tensor(b).detach().float().cpu()).ravel()
    if a.shape != b.shape:
        raise ValueError(f"maps of different sizes: {a.size} and {b.size} cells")
    if a.size < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return 0.0
    rho = float(spearmanr(a, b).statistic)
    return rho if np.isfinite(rho) else 0.0


def _reinitialise(module: nn.Module) -> None:
    if hasattr(module, "reset_parameters"):
        module.reset_parameters()
    elif hasattr(module, "_reset_parameters"):
        module._reset_parameters()
    else:  # parameters held directly (a position table, a class token): small random values
        for p in module.parameters(recurse=False):
            nn.init.normal_(p, std=0.02)


def randomisation_stages(model: nn.Module, max_stages: int = 8) -> list[list[str]]:
    """The model's layers with weights, from the output down, grouped into at most ``max_stages``.

    The front-end (fixed feature extraction) is never part of it.
    """
    names = [n for n, m in model.named_modules()
             if not n.startswith("front_end") and any(True for _ in m.parameters(recurse=False))]
    names = names[::-1]  # top (the classifier) first
    if not names:
        return []
    n = min(max_stages, len(names))
    bounds = np.linspace(0, len(names), n + 1).round().astype(int)
    return [names[a:b] for a, b in zip(bounds, bounds[1:]) if b > a]


def randomisation_check(model: nn.Module, x: torch.Tensor, method: str, target: int, *,
                        trained: torch.Tensor | None = None, max_stages: int = 8, seed: int = 0,
                        reference: torch.Tensor | None = None, progress=None) -> dict:
    """The cascading model randomisation test of Adebayo et al. (2018), "Sanity checks for saliency maps".

    A copy of the model has its layers re-initialised from the top (the classifier)
    down, one group of layers more at each stage (:func:`randomisation_stages`).
    After each stage the same method explains the same input and target, and the
    map is compared with the trained model's by Spearman rank correlation. A map
    that stays alike while the weights it should depend on are destroyed says
    more about the input than about the model.

    Args:
        model: the trained model; never modified (the copy is).
        x, method, target: the input ``(1, ...)``, a method of :data:`explainer.attribution.METHODS`, the class.
        trained: the trained model's map, if already computed.
        max_stages: at most this many stages.
        seed: seeds the new weights, so a clip always gets the same check.
        progress: optional ``progress(fraction, text)``.

    Returns:
        ``stages`` (the layer names randomised at each stage), ``rank_correlation``
        (signed maps) and ``rank_correlation_abs`` (absolute maps), one value per
        stage; ``final`` and ``final_abs`` (all layers randomised); and
        ``randomised``, the last stage's map shaped like ``x``.
    """
    if trained is None:
        trained = attribute(model, x, method, target=target, reference=reference)
    stages = randomisation_stages(model, max_stages)
    if not stages:
        raise ValueError(f"{type(model).__name__} has no layers with weights to randomise")
    rand = copy.deepcopy(model).eval()
    modules = dict(rand.named_modules())
    signed, absolute, attr = [], [], trained
    with _RNG_LOCK, torch.random.fork_rng(devices=[]):
        for i, group in enumerate(stages):
            if progress is not None:
                progress(i / len(stages), f"randomising {group[-1] or 'the embeddings'}")
            torch.manual_seed(seed + i)
            for name in group:
                _reinitialise(modules[name])
            rand.eval()
            attr = attribute(rand, x, method, target=target, reference=reference)
            signed.append(rank_correlation(trained, attr))
            absolute.append(rank_correlation(trained.abs(), attr.abs()))
    return {"method": method, "stages": stages, "rank_correlation": signed, "rank_correlation_abs": absolute,
            "final": signed[-1], "final_abs": absolute[-1], "randomised": attr}


def method_agreement(curves: dict[str, np.ndarray]) -> dict:
    """Pairwise Spearman rank correlations of time curves of one clip and model, by method.

    Returns:
        ``{"methods": [...], "matrix": [[rho, ...], ...]}``, the diagonal all 1.
    """
    names = list(curves)
    matrix = [[1.0 if a == b else rank_correlation(curves[a], curves[b]) for b in names] for a in names]
    return {"methods": names, "matrix": matrix}
