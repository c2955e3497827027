"""One pass over a clip that computes everything the app and the CLI show.

``analyze`` runs each model's front-end once, traces each network once (its
logits come from that same pass), and computes the requested attributions with
their time curves and faithfulness scores. ``Analysis.to_dict`` gives the JSON
report of the command line.
"""

from __future__ import annotations

import copy
import threading
import time
import weakref
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from . import attribution, trust
from .audio import Clip
from .features import DEFAULT as FEATURES
from .features import has_pauses, representation_sizes, sounding
from .inspect import Trace, trace
from .pretrained import ModelSet

# the first is the primary map of every view (contribution); Grad-CAM is the cheap second opinion. Saliency
# (sensitivity) is a choice in every view, computed when asked for: a third default map cost 0.14 x the
# reference in bench and took the first answer past its budget
DEFAULT_METHODS = ("input_x_gradient", "gradcam")
_LOCKS: dict[int, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()
_FAST: "weakref.WeakKeyDictionary[nn.Module, nn.Module]" = weakref.WeakKeyDictionary()
# 2D CNNs whose convolutions run faster with channels-last memory on CPU (measured; the ViT ran slower)
_CHANNELS_LAST = ("mel64", "mel128x128", "lfcc")


@dataclass
class ModelResult:
    """Everything one architecture did with the clip."""

    arch: str
    input_kind: str
    x: torch.Tensor  # the model input made by its front-end, (1, ...)
    probabilities: np.ndarray  # (n_classes,)
    top: str  # predicted class name
    target: int  # class index the attributions explain
    trace: Trace  # per-layer records and feature maps
    attributions: dict[str, torch.Tensor] = field(default_factory=dict)  # method -> map shaped like x
    # method -> 10 ms curve over the clip (attribution.method_curve: contribution maps keep their positive part)
    time_curves: dict[str, np.ndarray] = field(default_factory=dict)
    faithfulness: dict[str, dict] = field(default_factory=dict)  # method -> deletion check
    curves: dict[str, dict] = field(default_factory=dict)  # method -> deletion/insertion curves (primary method)
    on_sound: dict[str, float] = field(default_factory=dict)  # method -> share of positive mass on the sound
    method_info: dict[str, dict] = field(default_factory=dict)  # method -> e.g. IG's steps and completeness error
    frame_probabilities: np.ndarray | None = None  # tcn only: (n_classes, frames)
    # the "nothing here" input every contribution map, deletion and insertion measure from:
    # attribution.background_reference (the clip's own room, where it has pauses)
    reference: torch.Tensor | None = None

    @property
    def reference_kind(self) -> str:
        """``"room"`` when the reference is the clip's own pauses, ``"silence"`` otherwise."""
        if self.reference is None or self.input_kind == "waveform":
            return "silence"
        plain = attribution.reference_input(self.x, self.input_kind)
        return "silence" if torch.equal(plain, self.reference) else "room"


@dataclass
class Analysis:
    """Result of :func:`analyze` for one clip and one model set."""

    clip: Clip
    set_name: str
    classes: list[str]
    methods: tuple[str, ...]
    mel_db: np.ndarray  # (64, frames) absolute log-mel in dB, for display
    lfcc_grid: np.ndarray  # (frames, 180)
    sizes: list[dict]
    models: dict[str, ModelResult]
    timings_ms: dict[str, float]
    sounding: np.ndarray | None = None  # bool per 10 ms step: where the clip sounds (features.sounding)

    @property
    def sounding_share(self) -> float:
        """Share of the clip's 10 ms steps that sound."""
        return float(self.sounding.mean()) if self.sounding is not None and self.sounding.size else 0.0

    @property
    def has_pauses(self) -> bool:
        """Whether the clip holds both sound and pauses (:func:`explainer.features.has_pauses`)."""
        return has_pauses(self.sounding_share)

    def _method_dict(self, r: ModelResult, m: str) -> dict:
        out = {"time_curve": [round(float(v), 4) for v in r.time_curves[m]],
               "time_step_s": attribution.TIME_STEP_S,
               "target": self.classes[r.target],
               "faithfulness": {k: round(float(v), 5) for k, v in r.faithfulness.get(m, {}).items()}}
        if m in r.on_sound:
            out["on_sound"] = round(float(r.on_sound[m]), 4)
        if m in r.method_info:
            out["convergence"] = {k: (round(v, 6) if isinstance(v, float) else v) for k, v in r.method_info[m].items()}
        if m in r.curves:
            c = r.curves[m]
            out["curves"] = {"fractions": c["fractions"],
                             "deletion": {k: [round(v, 5) for v in c["deletion"][k]] for k in ("most", "least")},
                             "insertion": {k: [round(v, 5) for v in c["insertion"][k]] for k in ("most", "least")},
                             "areas": {k: round(v, 5) for k, v in c["areas"].items()},
                             "beats_least": c["beats_least"]}
        return out

    def to_dict(self) -> dict:
        """The JSON report documented for ``python -m explainer analyze --json``."""
        models = {}
        for arch, r in self.models.items():
            entry = {
                "top": r.top,
                "probabilities": {c: round(float(p), 5) for c, p in zip(self.classes, r.probabilities)},
                "input_kind": r.input_kind,
                "input_shape": list(r.x.shape[1:]),
                "reference": r.reference_kind,
                "layers": [
                    {"name": rec.name, "type": rec.type, "shape": rec.shape, "params": rec.params,
                     "activation_bytes": rec.activation_bytes, "receptive_field": rec.receptive_field,
                     "receptive_field_ms": rec.receptive_field_ms}
                    for rec in r.trace.layers
                ],
                "attributions": {m: self._method_dict(r, m) for m in r.attributions},
            }
            if r.frame_probabilities is not None:
                entry["frame_top"] = [self.classes[i] for i in r.frame_probabilities.argmax(0)]
                entry["frame_step_s"] = FEATURES.mel64_hop / FEATURES.sample_rate
            models[arch] = entry
        return {
            "clip": {"duration_s": round(self.clip.duration_s, 4), "sample_rate": self.clip.sample_rate,
                     "source_sample_rate": self.clip.source_sample_rate,
                     "source_channels": self.clip.source_channels, "warnings": list(self.clip.warnings)},
            "set": self.set_name,
            "classes": list(self.classes),
            "sounding_share": round(self.sounding_share, 4),
            "methods": list(self.methods),
            "models": models,
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
        }


class PolyphaseConv1d(nn.Module):
    """A strided ``Conv1d`` rewritten as a stride-1 convolution over ``stride`` interleaved phases.

    A kernel of ``k = m * s`` taps moving ``s`` samples at a time equals an ``m``-tap,
    stride-1 kernel over the ``s`` polyphase channels of the input (sample ``n*s + r``
    goes to channel ``r``, position ``n``). Same numbers, but the backward pass to the
    input runs about 3x faster on CPU for the waveform CNN's 64-tap, stride-4 first layer.
    """

    def __init__(self, conv: nn.Conv1d):
        super().__init__()
        (self.stride,), (k,), (self.padding,) = conv.stride, conv.kernel_size, conv.padding
        self.kernel = k
        c_out, c_in, _ = conv.weight.shape
        w = conv.weight.detach().view(c_out, c_in, k // self.stride, self.stride)  # (out, in, m, s)
        self.weight = nn.Parameter(w.permute(0, 1, 3, 2).reshape(c_out, c_in * self.stride, -1).contiguous())
        self.bias = None if conv.bias is None else nn.Parameter(conv.bias.detach().clone())

    @staticmethod
    def applies(conv: nn.Module) -> bool:
        return (type(conv) is nn.Conv1d and conv.stride[0] > 1 and conv.kernel_size[0] % conv.stride[0] == 0
                and conv.dilation == (1,) and conv.groups == 1 and conv.padding_mode == "zeros"
                and isinstance(conv.padding, tuple))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, t = x.shape
        s = self.stride
        n_out = (t + 2 * self.padding - self.kernel) // s + 1
        used = (n_out - 1) * s + self.kernel  # padded samples the strided kernel touches
        x = F.pad(x, (self.padding, used - t - self.padding))  # a negative right pad trims
        x = x.view(b, c, used // s, s).transpose(2, 3).reshape(b, c * s, used // s)  # (B, C*s, N)
        return F.conv1d(x, self.weight, self.bias)  # (B, out, n_out)


class PatchLinear(nn.Module):
    """A ``Conv2d`` whose kernel equals its stride (a ViT patch embedding) as reshape + matmul.

    Same numbers; the gradient to the input is a reshape of one matrix product instead
    of a strided transposed convolution, about 10x faster on CPU.
    """

    def __init__(self, conv: nn.Conv2d):
        super().__init__()
        self.patch = conv.kernel_size
        self.weight = nn.Parameter(conv.weight.detach().flatten(1).clone())  # (D, C*ph*pw)
        self.bias = None if conv.bias is None else nn.Parameter(conv.bias.detach().clone())

    @staticmethod
    def applies(conv: nn.Module) -> bool:
        return (type(conv) is nn.Conv2d and conv.kernel_size == conv.stride and conv.padding == (0, 0)
                and conv.dilation == (1, 1) and conv.groups == 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        (ph, pw), gh, gw = self.patch, h // self.patch[0], w // self.patch[1]
        x = x[:, :, : gh * ph, : gw * pw].reshape(b, c, gh, ph, gw, pw)
        x = x.permute(0, 2, 4, 1, 3, 5).reshape(b, gh * gw, c * ph * pw)  # (B, patches, C*ph*pw)
        return F.linear(x, self.weight, self.bias).transpose(1, 2).reshape(b, -1, gh, gw)  # (B, D, gh, gw)


def fast_copy(model: nn.Module) -> nn.Module:
    """An inference copy of ``model`` for attributions: same function, less work.

    Each BatchNorm that follows a convolution is folded into that convolution's
    weights and replaced by ``nn.Identity`` (module names stay, so ``cam_layer``
    still points at the same block), and 2D CNNs use channels-last memory. Outputs
    match the original to float rounding. The layer trace keeps the original, so
    learners still see every BatchNorm.
    """
    cached = _FAST.get(model)
    if cached is not None:
        return cached
    fast = copy.deepcopy(model).eval()
    for parent in fast.modules():
        names = list(parent._modules)
        for a, b in zip(names, names[1:]):
            conv, norm = parent._modules[a], parent._modules[b]
            if isinstance(conv, (nn.Conv1d, nn.Conv2d)) and isinstance(norm, (nn.BatchNorm1d, nn.BatchNorm2d)):
                parent._modules[a] = fuse_conv_bn_eval(conv, norm)
                parent._modules[b] = nn.Identity()
    for parent in list(fast.modules()):
        for name, child in list(parent._modules.items()):
            if PolyphaseConv1d.applies(child):
                parent._modules[name] = PolyphaseConv1d(child)
            elif PatchLinear.applies(child):
                parent._modules[name] = PatchLinear(child)
    if model.input_kind in _CHANNELS_LAST:
        fast = fast.to(memory_format=torch.channels_last)
    for p in fast.parameters():
        p.requires_grad_(False)
    _FAST[model] = fast
    return fast


def _fast_input(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return x.contiguous(memory_format=torch.channels_last) if model.input_kind in _CHANNELS_LAST else x


def _attribute(model: nn.Module, x: torch.Tensor, method: str, target: int,
               reference: torch.Tensor | None = None) -> tuple[torch.Tensor, dict]:
    """One map on the fast copy, and what the method reports about its own accuracy (IG), or ``{}``."""
    fast = fast_copy(model)
    if method == "integrated_gradients":
        attr, info = attribution.integrated_gradients(fast, _fast_input(model, x), target, reference=reference)
        return attr.contiguous(), info
    return attribution.attribute(fast, _fast_input(model, x), method, target=target,
                                 reference=reference).contiguous(), {}


def _curves(model: nn.Module, x: torch.Tensor, attr: torch.Tensor, target: int,
            reference: torch.Tensor | None = None) -> dict:
    fast = fast_copy(model)
    return trust.deletion_curves(fast, _fast_input(model, x), attr, target, reference=reference)


def _deletion(model: nn.Module, x: torch.Tensor, attr: torch.Tensor, target: int,
              reference: torch.Tensor | None = None) -> dict:
    fast = fast_copy(model)
    return trust.deletion_check(fast, _fast_input(model, x), attr, target, reference=reference)


def _lock(model_set: ModelSet) -> threading.Lock:
    # attribution hooks live on the shared modules, so two requests must not run one set at once
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(id(model_set.models), threading.Lock())


@contextmanager
def _timed(timings: dict[str, float], key: str):
    t0 = time.perf_counter()
    try:
        yield
    finally:
        timings[key] = timings.get(key, 0.0) + 1000 * (time.perf_counter() - t0)


def model_inputs(wave: torch.Tensor, model_set: ModelSet) -> dict[str, torch.Tensor]:
    """Each model's input for a ``(1, 1, samples)`` clip, computing shared features once."""
    by_kind: dict[str, torch.Tensor] = {}
    out = {}
    with torch.inference_mode():
        for arch, model in model_set.models.items():
            kind = model.input_kind
            if kind not in by_kind:
                if kind == "mel_seq" and "mel64" in by_kind:
                    by_kind[kind] = by_kind["mel64"].squeeze(1)  # the same 64-band log-mel, as a sequence
                elif kind == "mel64" and "mel_seq" in by_kind:
                    by_kind[kind] = by_kind["mel_seq"].unsqueeze(1)
                else:
                    by_kind[kind] = model.front_end(wave)
            out[arch] = by_kind[kind]
    # inference tensors cannot take part in autograd later; clone them into normal tensors
    return {arch: x.clone() for arch, x in out.items()}


def analyze(clip: Clip, model_set: ModelSet, methods=DEFAULT_METHODS, *, faithfulness: bool = True,
            curves: bool = False, progress=None) -> Analysis:
    """Run every model of ``model_set`` on ``clip`` and explain each prediction.

    Args:
        clip: a loaded clip, waveform ``(1, samples)`` at 16 kHz.
        model_set: a loaded set; its models are shared and never modified.
        methods: attribution method names from :data:`attribution.METHODS`.
        faithfulness: also run the deletion check for each map.
        curves: also run the deletion and insertion curves of the primary (first) method's
            map of every model (22 forward passes each; see :func:`add_curves`).
        progress: optional callable ``progress(fraction, text)`` for long runs.

    Returns:
        An :class:`Analysis`. ``timings_ms`` has one entry per stage.
    """
    methods = tuple(dict.fromkeys(methods))
    unknown = [m for m in methods if m not in attribution.METHODS]
    if unknown:
        raise ValueError(f"unknown attribution method(s) {unknown}; choose from {list(attribution.METHODS)}")
    timings: dict[str, float] = {}
    wave = clip.waveform.reshape(1, 1, -1).float()
    n_samples = wave.shape[-1]
    steps = max(1, len(model_set.models) * (1 + len(methods)))
    done = 0

    def tick(text: str) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(min(done / steps, 1.0), text)

    with _lock(model_set):
        with _timed(timings, "features"):
            inputs = model_inputs(wave, model_set)
            steps_sounding = sounding(wave)[0].numpy()
        results: dict[str, ModelResult] = {}
        for arch, model in model_set.models.items():
            x = inputs[arch]
            with _timed(timings, f"forward:{arch}"):
                tr = trace(model, x, n_samples)
                probs = torch.softmax(tr.logits.float(), dim=1)[0]
                frame_probs = None
                if hasattr(model, "frame_logits"):
                    with torch.inference_mode():
                        frame_probs = torch.softmax(model.frame_logits(x), dim=1)[0].numpy()
            target = int(probs.argmax())
            result = ModelResult(arch=arch, input_kind=model.input_kind, x=x, probabilities=probs.numpy(),
                                 top=model_set.classes[target], target=target, trace=tr,
                                 frame_probabilities=frame_probs,
                                 reference=attribution.background_reference(x, model.input_kind, steps_sounding,
                                                                            n_samples))
            ref = result.reference
            tick(f"{arch}: forward")
            for method in methods:
                with _timed(timings, f"{method}:{arch}"):
                    attr = _add_map(result, model, method, n_samples, steps_sounding)
                if faithfulness:
                    with _timed(timings, f"faithfulness:{arch}"):
                        result.faithfulness[method] = _deletion(model, x, attr, target, ref)
                if curves and method == methods[0]:
                    with _timed(timings, f"curves:{arch}"):
                        result.curves[method] = _curves(model, x, attr, target, ref)
                tick(f"{arch}: {method}")
            results[arch] = result
    timings["total"] = sum(v for k, v in timings.items())
    mel_db, lfcc = _display_features(inputs, model_set, wave)
    return Analysis(clip=clip, set_name=model_set.name, classes=list(model_set.classes), methods=methods,
                    mel_db=mel_db, lfcc_grid=lfcc, sizes=representation_sizes(n_samples), models=results,
                    timings_ms=timings, sounding=steps_sounding)


def _add_map(r: ModelResult, model: nn.Module, method: str, n_samples: int, steps_sounding: np.ndarray) -> torch.Tensor:
    """Compute one method's map for ``r`` and keep it with its time curve, on-sound share and accuracy."""
    attr, info = _attribute(model, r.x, method, r.target, r.reference)
    r.attributions[method] = attr
    r.time_curves[method] = attribution.method_curve(attr, r.input_kind, n_samples, method)
    r.on_sound[method] = attribution.on_sound_share(attr, r.input_kind, n_samples, steps_sounding)
    if info:
        r.method_info[method] = info
    return attr


def _display_features(inputs: dict[str, torch.Tensor], model_set: ModelSet, wave: torch.Tensor):
    """The dB mel and the LFCC grid for the figures, reusing model inputs where they exist."""
    kinds = {m.input_kind: arch for arch, m in model_set.models.items()}
    if "mel64" in kinds:
        mel = inputs[kinds["mel64"]][0, 0]
    elif "mel_seq" in kinds:
        mel = inputs[kinds["mel_seq"]][0]
    else:
        from .features import Mel64
        with torch.inference_mode():
            mel = Mel64()(wave)[0, 0]
    mel_db = (mel * FEATURES.db_scale - FEATURES.db_offset).detach().numpy()  # undo the fixed scaling
    if "lfcc" in kinds:
        lfcc = inputs[kinds["lfcc"]][0, 0]
    else:
        from .features import LfccGrid
        with torch.inference_mode():
            lfcc = LfccGrid()(wave)[0, 0]
    return mel_db, lfcc.detach().numpy()


def curves_for(model_set: ModelSet, arch: str, x: torch.Tensor, attr: torch.Tensor, target: int,
               reference: torch.Tensor | None = None) -> dict:
    """Deletion and insertion curves of one map (:func:`trust.deletion_curves`), under the set's lock."""
    with _lock(model_set):
        return _curves(model_set.models[arch], x, attr, target, reference)


def explain(model_set: ModelSet, arch: str, x: torch.Tensor, method: str, target: int,
            n_samples: int, *, faithfulness: bool = True,
            reference: torch.Tensor | None = None) -> tuple[torch.Tensor, np.ndarray, dict]:
    """One attribution for one model, as the architecture tabs ask for it.

    Takes the same per-set lock as :func:`analyze`, so hooks from concurrent
    requests never meet on a shared module. ``reference`` is the analysis' own
    (:attr:`ModelResult.reference`); without it, :func:`attribution.reference_input`.

    Returns:
        ``(map shaped like x, 10 ms time curve, checks)``: the deletion check's keys, plus
        ``curves`` (deletion and insertion) when ``faithfulness``, plus ``convergence`` for
        Integrated Gradients; ``{}`` when neither applies.
    """
    if method not in attribution.METHODS:
        raise ValueError(f"unknown attribution method {method!r}; choose from {list(attribution.METHODS)}")
    if arch not in model_set.models:
        raise ValueError(f"unknown model {arch!r}; this set has {list(model_set.models)}")
    if not 0 <= target < len(model_set.classes):
        raise ValueError(f"target class {target} is outside 0..{len(model_set.classes) - 1}")
    model = model_set.models[arch]
    with _lock(model_set):
        attr, info = _attribute(model, x, method, target, reference)
        curve = attribution.method_curve(attr, model.input_kind, n_samples, method)
        check = _deletion(model, x, attr, target, reference) if faithfulness else {}
        if faithfulness:
            check = {**check, "curves": _curves(model, x, attr, target, reference)}
        if info:
            check = {**check, "convergence": info}
    return attr, curve, check


def sanity_check(model_set: ModelSet, arch: str, x: torch.Tensor, method: str, target: int,
                 trained: torch.Tensor | None = None, reference: torch.Tensor | None = None, progress=None) -> dict:
    """The cascading randomisation check of one model's map (:func:`trust.randomisation_check`).

    Runs on a randomised copy of the original model (never the shared one), under the set's lock.
    """
    if method not in attribution.METHODS:
        raise ValueError(f"unknown attribution method {method!r}; choose from {list(attribution.METHODS)}")
    model = model_set.models[arch]
    with _lock(model_set):
        return trust.randomisation_check(model, x, method, target, trained=trained, reference=reference,
                                               progress=progress)


def agreement(model_set: ModelSet, arch: str, x: torch.Tensor, target: int, n_samples: int,
              have: dict[str, torch.Tensor] | None = None, methods=attribution.METHODS,
              reference: torch.Tensor | None = None, progress=None) -> dict:
    """Every method's time curve for one model, and their pairwise rank correlations.

    ``have`` holds maps already computed (by method); the rest are computed here.

    Returns:
        ``{"curves": {method: 10 ms curve}, "maps": {method: map}, "methods": [...], "matrix": [[...]]}``.
    """
    model = model_set.models[arch]
    maps = dict(have or {})
    with _lock(model_set):
        for k, m in enumerate(methods):
            if m not in maps:
                if progress is not None:
                    progress(k / len(methods), f"{m} for {arch}")
                maps[m] = _attribute(model, x, m, target, reference)[0]
    curves = {m: attribution.method_curve(maps[m], model.input_kind, n_samples, m) for m in methods}
    return {"curves": curves, "maps": {m: maps[m] for m in methods}, **trust.method_agreement(curves)}


def add_faithfulness(result: Analysis, model_set: ModelSet, progress=None) -> Analysis:
    """Run the deletion check for every map of ``result`` that lacks one (the app does this second)."""
    todo = [(arch, m) for arch, r in result.models.items() for m in r.attributions if m not in r.faithfulness]
    with _lock(model_set):
        for k, (arch, method) in enumerate(todo):
            if progress is not None:
                progress(k / max(1, len(todo)), f"{arch}: faithfulness of {method}")
            r = result.models[arch]
            with _timed(result.timings_ms, f"faithfulness:{arch}"):
                r.faithfulness[method] = _deletion(model_set.models[arch], r.x, r.attributions[method], r.target,
                                                   r.reference)
    return result


def add_curves(result: Analysis, model_set: ModelSet, method: str | None = None, progress=None) -> Analysis:
    """The deletion and insertion curves of one method's map (the primary one by default) for every
    model of ``result`` that lacks them; the map is computed first where the analysis has none."""
    method = method or result.methods[0]
    with _lock(model_set):
        for k, (arch, r) in enumerate(result.models.items()):
            if method in r.curves:
                continue
            if progress is not None:
                progress(k / max(1, len(result.models)), f"{arch}: deletion and insertion")
            model = model_set.models[arch]
            if method not in r.attributions:
                _add_map(r, model, method, result.clip.waveform.shape[-1], result.sounding)
            with _timed(result.timings_ms, f"curves:{arch}"):
                r.curves[method] = _curves(model, r.x, r.attributions[method], r.target, r.reference)
    return result
