"""Captum attributions for every architecture, and where they fall on the clip.

:func:`attribute` explains one model input ``x`` (as the model's ``front_end``
made it) with one of :data:`METHODS` and returns a map shaped like ``x``.
:func:`time_curve` collapses any such map onto one common 10 ms timeline, so
that models with very different inputs can be compared on "where did it
listen", and :func:`on_sound_share` says whether a map sits on the sound or on
the pauses around it. How far to trust a map is the business of
:mod:`explainer.trust`.

Two kinds of map answer two questions. Saliency and SmoothGrad measure
*sensitivity*: how much the score would move if this cell changed, which is large
in a silent pause the model would notice a sound in. The contribution methods
(input x gradient, Integrated Gradients, occlusion) measure what each cell of
*this* clip added to the score compared with the reference, so a cell that holds
nothing but the reference adds nothing. ``input_x_gradient`` is the default.

Every method starts from the same notion of "nothing here", the
:func:`reference_input`: digital silence for the waveform, the quietest cell
for the log-mel pictures, and the quietest frame held still for the LFCC grid.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import torch
from captum.attr import IntegratedGradients, LayerAttribution, LayerGradCam, NoiseTunnel, Occlusion, Saliency
from torch import nn

from .features import FRONT_ENDS, SAMPLE_RATE, FrontEnd, front_end_class, has_pauses, time_grid
from .models import model_lock

METHODS = ("input_x_gradient", "saliency", "integrated_gradients", "gradcam", "occlusion", "smoothgrad")
# methods whose maps say what the clip added to the score against the reference, with a sign
CONTRIBUTION_METHODS = ("input_x_gradient", "integrated_gradients", "occlusion")
TIME_STEP_S = 0.01  # step of the common timeline every attribution is mapped onto

# what each input kind looks like (its axes, occlusion window, IG batch, reference) is a fact of its
# front-end class: explainer.features.FrontEnd


@dataclass(frozen=True)
class AttributionConfig:
    """Default cost and noise settings of the methods."""

    ig_steps: int = 32  # Gauss-Legendre steps of Integrated Gradients when a caller fixes them (bench)
    # Integrated Gradients otherwise tries these step counts in turn and keeps the first whose
    # completeness error |sum(map) - (f(x) - f(reference))| is within ig_tolerance of |f(x) - f(reference)|
    ig_step_ladder: tuple[int, ...] = (8, 16, 32, 64, 128)
    ig_tolerance: float = 0.05
    smoothgrad_samples: int = 12  # noisy copies averaged by SmoothGrad
    smoothgrad_noise: float = 0.15  # noise stdev as a fraction of the input's range (Smilkov et al.: 10-20 %)
    seed: int = 0  # seed of SmoothGrad's noise; fixed so a clip always gets the same map
    # input elements per internal batch of IG, SmoothGrad and occlusion: bounds memory,
    # and larger batches ran no faster on 2 cores
    batch_elements: int = 262_144


DEFAULT = AttributionConfig()

_RNG_LOCK = threading.Lock()  # fork_rng swaps the process-wide generator state


def _front_end(kind: str | None) -> type[FrontEnd]:
    """The facts of ``kind``; a model outside the registry gets the base class's defaults."""
    return FRONT_ENDS.get(kind, FrontEnd)


def reference_input(x: torch.Tensor, kind: str | None) -> torch.Tensor:
    """The "nothing here" input that IG starts from and occlusion and deletion paint in.

    Args:
        x: a batch of model inputs ``(B, ...)``.
        kind: the model's ``input_kind``, or ``None`` for a model outside the registry.

    Returns:
        A tensor shaped like ``x``: zeros (digital silence) for ``"waveform"``; for
        ``"lfcc"`` the clip's quietest frame (lowest c0) with its deltas set to zero,
        repeated over time, because LFCC columns are cepstral coefficients and one
        scalar minimum would be far outside anything the model saw; otherwise each
        item's minimum value, i.e. its quietest cell.
    """
    return _front_end(kind).reference(x)


def background_reference(x: torch.Tensor, kind: str | None, steps_sounding, n_samples: int) -> torch.Tensor:
    """The clip's own room as the reference: what the input holds where the clip does not sound.

    A learner's recording is never digitally silent between its sounds: it holds the room, a hum,
    the microphone's hiss. Measured from digital silence, every pause of it is "something", so a
    contribution map spreads part of its evidence over the pauses. Measured from the room, a
    pause adds (nearly) nothing, and removing a stretch of time (deletion) replaces it with the
    room instead of with a hole no model ever heard.

    Args:
        x: one model input ``(1, ...)``.
        kind: its ``input_kind``.
        steps_sounding: bool per 10 ms step of the clip (:func:`explainer.features.sounding`).
        n_samples: the clip's length at 16 kHz.

    Returns:
        For the spectrogram and LFCC inputs of a clip with both sound and pauses
        (:func:`explainer.features.has_pauses`): each row's median over the input's
        pause steps, held
        for the whole clip (LFCC deltas set to zero, as in :func:`reference_input`; the 128x128
        picture's padding kept as it is). Otherwise, and always for the waveform (whose room
        cannot be held still sample by sample), :func:`reference_input`.
    """
    fallback = reference_input(x, kind)
    if kind not in FRONT_ENDS or not FRONT_ENDS[kind].room_reference or x.shape[0] != 1:
        return fallback
    inside, pause, _ = _input_steps(kind, x, steps_sounding, n_samples)
    if pause is None or int(pause.sum()) < 3:
        return fallback
    axis = _time_axis(kind, x)
    xt = x.detach().movedim(axis, -1)  # (..., time)
    room = xt[..., pause].median(dim=-1, keepdim=True).values.expand_as(xt).clone()
    padding = ~inside
    room[..., padding] = xt[..., padding]
    return FRONT_ENDS[kind].hold_still(room.movedim(-1, axis).contiguous())  # a steady room has no delta


def _input_steps(kind: str, x: torch.Tensor, steps_sounding, n_samples: int):
    """Which steps of the input's time axis lie inside the clip, which of those lie in its pauses, and
    the 10 ms step of the clip each falls in.

    Returns ``(inside, pause, at)``: bool tensors over the time axis of ``x``, and an int array;
    ``pause`` is ``None`` when the clip has no pauses worth the name
    (:func:`explainer.features.has_pauses`) or the input's time axis does not match the clip.
    """
    steps = np.asarray(steps_sounding, dtype=bool).ravel()
    start, step, n = time_grid(kind, n_samples)
    axis = _time_axis(kind, x)
    centres = start + step * np.arange(n)
    inside = centres <= n_samples / SAMPLE_RATE + 1e-9  # the 128x128 picture's padding lies past the end
    at = np.clip(np.round(centres / TIME_STEP_S).astype(int), 0, max(steps.size - 1, 0))
    if steps.size == 0 or not has_pauses(float(steps.mean())) or x.shape[axis] != n:
        return torch.from_numpy(inside), None, at
    return torch.from_numpy(inside), torch.from_numpy(inside & ~steps[at]), at


def quiet_pauses(x: torch.Tensor, kind: str, steps_sounding, n_samples: int,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """One input ``(1, ...)`` with every step that lies in a pause of the clip set to the reference
    the app's maps measure from (:func:`background_reference`: the clip's own room held still, or
    digital silence for the waveform).

    A model whose answer does not move when its pauses are quieted this way draws no evidence from
    them. With ``generator``, each 10 ms of pause is, at random, either set to the reference or
    reversed about it (``2 * reference - x``): a model that answers the same whichever way each
    moment of pause goes has no evidence of its own to give any one of them either, so its
    contribution maps, which credit each moment with what it adds against the reference, have none
    to put there. The trainer's pause consistency (``TrainConfig.pause_consistency``) asks this of
    a model. A clip without pauses comes back unchanged.
    """
    _, pause, at = _input_steps(kind, x, steps_sounding, n_samples)
    if pause is None or not bool(pause.any()):
        return x
    ref = background_reference(x, kind, steps_sounding, n_samples)
    shape = [1] * x.ndim
    axis = _time_axis(kind, x)
    shape[axis] = x.shape[axis]
    pause = pause.view(shape).to(x.device)
    if generator is None:
        return torch.where(pause, ref, x)
    flip = torch.rand(int(at.max()) + 1, generator=generator) < 0.5  # per 10 ms of the clip
    reverse = flip[torch.from_numpy(at)].view(shape).to(x.device)
    return torch.where(pause, torch.where(reverse, 2 * ref - x, ref), x)


def _reference(x: torch.Tensor, kind: str | None, reference: torch.Tensor | None) -> torch.Tensor:
    """The caller's reference shaped like ``x``, or :func:`reference_input` when it gave none."""
    return reference_input(x, kind) if reference is None else reference.detach().to(x).expand_as(x)


def _time_axis(kind: str | None, x: torch.Tensor) -> int:
    """The time axis of a batched input (or batched map) ``x`` of this kind (the last one, outside the registry)."""
    return FRONT_ENDS[kind].time_axis if kind in FRONT_ENDS else x.ndim - 1


def _target(model: nn.Module, x: torch.Tensor, target) -> torch.Tensor:
    """Target class per item, ``(B,)`` long: the predicted class unless given."""
    if target is None:
        with torch.no_grad():
            return model(x).argmax(dim=1)
    t = torch.as_tensor(target, dtype=torch.long).flatten()
    if t.numel() == 1:
        t = t.expand(x.shape[0])
    if t.numel() != x.shape[0]:
        raise ValueError(f"need one target per item: {x.shape[0]} items, got {t.numel()} targets")
    n_classes = getattr(model, "n_classes", None)
    if n_classes is not None and (t.min() < 0 or t.max() >= n_classes):
        raise ValueError(f"target {t.tolist()} out of range for {n_classes} classes")
    return t.to(x.device)


def _gradcam(model: nn.Module, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    layer_name = getattr(model, "cam_layer", "")
    if not layer_name:
        raise ValueError(f"{type(model).__name__} names no cam_layer, so Grad-CAM has no layer to read")
    layer = model.get_submodule(layer_name)
    cam = LayerGradCam(model, layer).attribute(x, target=target, relu_attributions=True)  # (B, 1, *spatial)
    spatial = cam.ndim - 2
    if cam.ndim != x.ndim or spatial not in (1, 2):
        raise ValueError(f"Grad-CAM map {tuple(cam.shape)} of {layer_name!r} does not fit input {tuple(x.shape)}")
    # the layer's spatial axes are the input's last ones: (time), (freq, time) or (time, feature);
    # the tcn's 64 mel rows and the ViT's 3 channels get the same map each
    mode = "linear" if spatial == 1 else "bilinear"
    cam = LayerAttribution.interpolate(cam, tuple(x.shape[-spatial:]), interpolate_mode=mode)
    return cam.expand_as(x)


def _occlusion(model, x, target, ref, kind, window, stride, batch_elements) -> torch.Tensor:
    if window is None:
        window, default_stride = FRONT_ENDS[kind].occlusion if kind in FRONT_ENDS else \
            ((1,) * (x.ndim - 1), (1,) * (x.ndim - 1))
        stride = stride or default_stride
    stride = stride or window
    if len(window) != x.ndim - 1 or len(stride) != x.ndim - 1:
        raise ValueError(
            f"occlusion window {window} and stride {stride} need {x.ndim - 1} axes for input {tuple(x.shape)}"
        )
    window = tuple(min(w, s) for w, s in zip(window, x.shape[1:]))  # short clips: never wider than the input
    per_eval = max(1, batch_elements // x.numel())
    return Occlusion(model).attribute(
        x, sliding_window_shapes=window, strides=tuple(stride), baselines=ref, target=target,
        perturbations_per_eval=per_eval,
    )


def attribute(
    model: nn.Module,
    x: torch.Tensor,
    method: str,
    target: int | torch.Tensor | None = None,
    *,
    n_steps: int | None = None,
    nt_samples: int | None = None,
    noise: float | None = None,
    window: tuple[int, ...] | None = None,
    stride: tuple[int, ...] | None = None,
    reference: torch.Tensor | None = None,
    cfg: AttributionConfig = DEFAULT,
) -> torch.Tensor:
    """Attribute the model's score for ``target`` to every cell of its input.

    Args:
        model: a registry model (or any classifier ``(B, ...) -> (B, n_classes)``); it is
            put in eval mode, nothing else about it changes. Frozen parameters are fine.
        x: the model input ``(B, ...)`` as its ``front_end`` made it.
        method: one of :data:`METHODS`.
        target: class index (int, or one per item); the predicted class when ``None``.
        n_steps: Integrated Gradients steps; by default the fewest of ``cfg.ig_step_ladder``
            that meet ``cfg.ig_tolerance`` (see :func:`integrated_gradients`).
        nt_samples, noise: SmoothGrad samples, and noise stdev as a fraction of the
            batch's value range; the noise is seeded (``cfg.seed``) inside a forked RNG.
        window, stride: occlusion window and stride over ``x.shape[1:]``
            (default: the ``occlusion`` of the model's front-end, :class:`explainer.features.FrontEnd`).
        reference: the "nothing here" input of input x gradient, IG and occlusion, shaped
            like ``x`` (default :func:`reference_input`; the app passes
            :func:`background_reference`).

    Returns:
        A detached, finite tensor shaped like ``x``. Saliency and SmoothGrad give
        absolute gradients; input x gradient (``(x - reference) * d score / d x``),
        Integrated Gradients and occlusion are signed (positive means evidence for
        the target); Grad-CAM is non-negative and upsampled from
        the model's ``cam_layer`` (linear over time, bilinear over 2D maps), then
        repeated over channels or mel rows the layer does not resolve.

    Safe to call from several threads on one shared model: the call holds
    :func:`model_lock` while it runs the model.
    """
    if method not in METHODS:
        raise ValueError(f"unknown attribution method {method!r}; valid methods: {list(METHODS)}")
    if not isinstance(x, torch.Tensor) or x.ndim < 2:
        raise ValueError(f"expected a batched model input (B, ...), got {getattr(x, 'shape', type(x))}")
    kind = getattr(model, "input_kind", None)
    # gradients must flow even when the caller runs under no_grad or inference_mode
    with model_lock(model), torch.inference_mode(False), torch.enable_grad():
        x = torch.nan_to_num(x.detach().clone())  # Captum flips requires_grad on its input: never on the caller's
        model.eval()
        t = _target(model, x, target)
        ref = _reference(x, kind, reference)
        if method == "saliency":
            attr = Saliency(model).attribute(x.requires_grad_(), target=t)  # |d score / d x|
        elif method == "input_x_gradient":
            # Captum's InputXGradient measured from the reference instead of from zero: the first-order
            # share of f(x) - f(reference) that each cell holds, one backward pass
            grad = Saliency(model).attribute(x.clone().requires_grad_(), target=t, abs=False)
            attr = (x - ref) * grad
        elif method == "integrated_gradients":
            attr, _ = _integrated_gradients(model, x, t, kind, n_steps, cfg, ref)
        elif method == "gradcam":
            attr = _gradcam(model, x, t)
        elif method == "occlusion":
            attr = _occlusion(model, x, t, ref, kind, window, stride, cfg.batch_elements)
        else:  # smoothgrad
            samples = nt_samples or cfg.smoothgrad_samples
            span = float(x.max() - x.min())
            sigma = (cfg.smoothgrad_noise if noise is None else noise) * (span if span > 0 else 1.0)
            per_batch = max(1, min(samples, cfg.batch_elements // x.numel()))
            devices = [x.device.index or 0] if x.is_cuda else []
            # fixed noise from a forked generator: same map for the same clip, global RNG untouched
            with _RNG_LOCK, torch.random.fork_rng(devices=devices):
                torch.manual_seed(cfg.seed)
                attr = NoiseTunnel(Saliency(model)).attribute(
                    x, nt_type="smoothgrad", nt_samples=samples, nt_samples_batch_size=per_batch,
                    stdevs=float(sigma), target=t,
                )
    return torch.nan_to_num(attr.detach().to(x.dtype), nan=0.0, posinf=0.0, neginf=0.0).contiguous()


def _integrated_gradients(model, x, t, kind, n_steps, cfg, ref) -> tuple[torch.Tensor, dict]:
    ig = IntegratedGradients(model)
    with torch.no_grad():
        picked = torch.arange(x.shape[0])
        gap = (model(x)[picked, t] - model(ref)[picked, t]).float()  # f(x) - f(reference) per item
    ladder = (n_steps,) if n_steps else cfg.ig_step_ladder
    for steps in ladder:
        per_batch = _front_end(kind).ig_batch or max(1, cfg.batch_elements // x[0].numel())
        per_batch = min(steps * x.shape[0], per_batch)
        attr, delta = ig.attribute(x, baselines=ref, target=t, n_steps=steps, method="gausslegendre",
                                   internal_batch_size=per_batch, return_convergence_delta=True)
        error = (delta.detach().abs().float() / gap.abs().clamp_min(1e-6)).max()
        if float(error) <= cfg.ig_tolerance:
            break
    info = {"steps": int(steps), "delta": float(delta.detach().abs().max()), "gap": float(gap[0]),
            "relative_error": float(error), "tolerance": cfg.ig_tolerance,
            "converged": bool(float(error) <= cfg.ig_tolerance)}
    return attr, info


def integrated_gradients(model: nn.Module, x: torch.Tensor, target: int | torch.Tensor | None = None, *,
                         n_steps: int | None = None, reference: torch.Tensor | None = None,
                         cfg: AttributionConfig = DEFAULT) -> tuple[torch.Tensor, dict]:
    """Integrated Gradients from the reference, with the accuracy it reached.

    Uses Gauss-Legendre quadrature. Without ``n_steps`` it tries the step counts of
    ``cfg.ig_step_ladder`` in turn and stops at the first whose completeness error,
    Captum's convergence delta ``|sum(map) - (f(x) - f(reference))|``, is at most
    ``cfg.ig_tolerance`` of ``|f(x) - f(reference)|`` (``f`` is the target's logit).

    Returns:
        ``(map shaped like x, info)``; ``info`` has ``steps``, ``delta`` (the absolute
        completeness error), ``gap`` (``f(x) - f(reference)``), ``relative_error``,
        ``tolerance`` and ``converged`` (false when even the last rung missed it).
    """
    if not isinstance(x, torch.Tensor) or x.ndim < 2:
        raise ValueError(f"expected a batched model input (B, ...), got {getattr(x, 'shape', type(x))}")
    kind = getattr(model, "input_kind", None)
    with model_lock(model), torch.inference_mode(False), torch.enable_grad():
        x = torch.nan_to_num(x.detach().clone())
        model.eval()
        ref = _reference(x, kind, reference)
        attr, info = _integrated_gradients(model, x, _target(model, x, target), kind, n_steps, cfg, ref)
    return torch.nan_to_num(attr.detach().to(x.dtype)).contiguous(), info


def _single(attr, kind: str) -> torch.Tensor:
    """One clip's map with its batch axis, ``(1, ...)``, from a tensor or array."""
    a = torch.as_tensor(np.asarray(attr) if not isinstance(attr, torch.Tensor) else attr).detach().float().cpu()
    ndim = front_end_class(kind).ndim
    if a.ndim == ndim:
        a = a.unsqueeze(0)
    if a.ndim != ndim + 1 or a.shape[0] != 1:
        raise ValueError(f"expected one {kind} map shaped (1, ...) with {ndim + 1} axes, got {tuple(a.shape)}")
    return torch.nan_to_num(a, nan=0.0, posinf=0.0, neginf=0.0)


def time_mass(attr, kind: str, signed: bool = False) -> np.ndarray:
    """Attribution mass per step of the input's own time axis: sum of ``|attr|`` over the other axes
    (with ``signed``, the plain sum: what the step adds to the score, net)."""
    a = _single(attr, kind)
    a = a if signed else a.abs()
    axis = _time_axis(kind, a)
    other = tuple(d for d in range(a.ndim) if d != axis)
    return a.sum(dim=other).double().numpy()


def time_curve(attr, kind: str, n_samples: int, signed: bool = False) -> np.ndarray:
    """Collapse a map onto the common 10 ms timeline of the clip.

    Args:
        attr: one clip's attribution, shaped like the model input (batch of 1 or none).
        kind: the model's ``input_kind``.
        n_samples: length of the 16 kHz clip behind the input.
        signed: give each 10 ms what its cells add up to, with their signs, and keep the
            positive part (see :func:`positive_curve`) instead of the mass of ``|attr|``.

    Returns:
        ``(n_samples // 160 + 1,)`` float32: value ``j`` is the attribution mass
        (sum of absolute values; with ``signed``, the positive part of the plain sum)
        within 5 ms of ``j * 10 ms``, scaled so that the
        maximum is 1; all zeros when the map is all zero. Each input step is a box
        of its own width centred where :func:`explainer.features.time_grid` puts it,
        and spreads its mass over the 10 ms bins it overlaps: waveform samples
        pool into bins, 32 ms frames of the 128x128 input spread over about three,
        and its padding (past the clip's end) counts for nothing. Parts of the clip
        the input never saw (the 128x128 crop of long clips) stay zero.
    """
    mass = time_mass(attr, kind, signed)
    start, step, steps = time_grid(kind, n_samples)
    if mass.shape[0] != steps:
        raise ValueError(f"a {kind} input of a {n_samples}-sample clip has {steps} time steps, the map {mass.shape[0]}")
    centres = start + step * np.arange(steps)
    mass = np.where(centres <= n_samples / SAMPLE_RATE + 1e-9, mass, 0.0)  # right-padding lies past the end
    edges = start - step / 2 + step * np.arange(steps + 1)
    cumulative = np.concatenate([[0.0], np.cumsum(mass)])
    n = n_samples // round(TIME_STEP_S * SAMPLE_RATE) + 1
    bin_edges = (np.arange(n + 1) - 0.5) * TIME_STEP_S
    curve = np.diff(np.interp(bin_edges, edges, cumulative))  # exact overlap of boxes with bins
    curve = np.nan_to_num(np.clip(curve, 0.0, None))
    peak = curve.max(initial=0.0)
    return (curve / peak if peak > 0 else np.zeros_like(curve)).astype(np.float32)


def positive_curve(attr, kind: str, n_samples: int) -> np.ndarray:
    """Like :func:`time_curve`, but of the map's evidence *for* the target only: each 10 ms of the
    clip gets the signed sum of its cells (what that moment adds to the score, net), and the curve
    keeps the moments where it is positive.

    The sum comes before the sign is looked at because time is what the curve is about: a moment
    whose cells add +5 and -5 adds nothing, and removing it (a deletion curve, which ranks time by
    the same sums) leaves the score where it was. Clipping each cell first would count noise in a
    pause, whose cells scatter around zero, as evidence. For the unsigned methods (Saliency,
    SmoothGrad, Grad-CAM) this is the same curve as :func:`time_curve`.
    """
    return time_curve(attr, kind, n_samples, signed=True)


def method_curve(attr, kind: str, n_samples: int, method: str) -> np.ndarray:
    """The time curve the app draws for a map: the evidence *for* the target of a contribution
    method (:func:`positive_curve`), the whole mass of the others (:func:`time_curve`)."""
    if method in CONTRIBUTION_METHODS:
        return positive_curve(attr, kind, n_samples)
    return time_curve(attr, kind, n_samples)


def on_sound_share(attr, kind: str, n_samples: int, steps_sounding) -> float:
    """How much of a map's positive mass falls on the parts of the clip that sound.

    Args:
        attr: one clip's map, shaped like the model input.
        kind: the model's ``input_kind``.
        n_samples: length of the 16 kHz clip behind the input.
        steps_sounding: bool per 10 ms step of the clip (:func:`explainer.features.sounding`).

    Returns:
        The positive time mass (see :func:`positive_curve`) on the sounding steps, over
        all of it; 0 when the map has none. A map spread evenly over the clip scores the
        share of steps that sound.
    """
    steps = np.asarray(steps_sounding, dtype=bool).ravel()
    curve = positive_curve(attr, kind, n_samples)
    total = float(curve.sum())
    return float(curve[steps].sum() / total) if total > 0 else 0.0
