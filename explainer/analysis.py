"""One pass over a clip that computes everything the app and the CLI show.

``analyze`` runs each model's front-end once, traces each network once (its
logits come from that same pass), and computes the requested attributions with
their time curves and faithfulness scores. ``Analysis.to_dict`` gives the JSON
report of the command line.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from . import attribution, trust
from .audio import Clip
from .features import DEFAULT as FEATURES
from .features import build_front_end, front_end_class, has_pauses, representation_sizes, sounding, stft_db
from .inspect import Trace, trace
from .models.fast import fast_copy, fast_input
from .pretrained import ModelSet

# the first is the primary map of every view (contribution); Grad-CAM is the cheap second opinion. Saliency
# (sensitivity) is a choice in every view, computed when asked for: a third default map cost 0.14 x the
# reference in bench and took the first answer past its budget
DEFAULT_METHODS = ("input_x_gradient", "gradcam")


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
    # method -> 10 ms curve over the clip (attribution.method_curve: a contribution map gives each 10 ms the
    # signed sum of its cells and keeps the positive part)
    time_curves: dict[str, np.ndarray] = field(default_factory=dict)
    faithfulness: dict[str, dict] = field(default_factory=dict)  # method -> deletion check
    curves: dict[str, dict] = field(default_factory=dict)  # method -> deletion/insertion curves (primary method)
    on_sound: dict[str, float] = field(default_factory=dict)  # method -> share of positive mass on the sound
    method_info: dict[str, dict] = field(default_factory=dict)  # method -> e.g. IG's steps and completeness error
    frame_probabilities: np.ndarray | None = None  # frame-level models only: (n_classes, frames)
    # the "nothing here" input every contribution map, deletion and insertion measure from:
    # attribution.background_reference (the clip's own room, where it has pauses)
    reference: torch.Tensor | None = None

    @property
    def reference_kind(self) -> str:
        """``"room"`` when the reference is the clip's own pauses, ``"silence"`` otherwise."""
        if self.reference is None:
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
    # display features computed on first use and kept with the analysis, so no figure recomputes them
    _display: dict = field(default_factory=dict, repr=False)

    def db(self, kind: str) -> np.ndarray:
        """The clip's absolute log-mel in dB, ``(n_mels, frames)``, as the front-end of ``kind`` makes it
        before any picture step (crop, padding, resize); computed once per analysis."""
        key = f"db:{kind}"
        if key not in self._display:
            if (front_end_class(kind).shares or kind) == "mel64":
                self._display[key] = self.mel_db
            else:
                fe = build_front_end(kind)
                with torch.inference_mode():
                    self._display[key] = fe.db(self.clip.waveform.reshape(1, 1, -1).float())[0, 0].numpy()
        return self._display[key]

    def stft_db(self) -> np.ndarray:
        """The clip's magnitude STFT in dB, ``(257, frames)`` (:func:`explainer.features.stft_db`); computed once."""
        if "stft" not in self._display:
            self._display["stft"] = stft_db(self.clip.waveform).numpy()
        return self._display["stft"]

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
                entry["frame_step_s"] = front_end_class(r.input_kind).time_grid(self.clip.waveform.shape[-1])[1]
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


def _attribute(model: nn.Module, x: torch.Tensor, method: str, target: int,
               reference: torch.Tensor | None = None) -> tuple[torch.Tensor, dict]:
    """One map on the fast copy, and what the method reports about its own accuracy (IG), or ``{}``."""
    fast = fast_copy(model)
    if method == "integrated_gradients":
        attr, info = attribution.integrated_gradients(fast, fast_input(model, x), target, reference=reference)
        return attr.contiguous(), info
    return attribution.attribute(fast, fast_input(model, x), method, target=target,
                                 reference=reference).contiguous(), {}


def _curves(model: nn.Module, x: torch.Tensor, attr: torch.Tensor, target: int,
            reference: torch.Tensor | None = None) -> dict:
    fast = fast_copy(model)
    return trust.deletion_curves(fast, fast_input(model, x), attr, target, reference=reference)


def _deletion(model: nn.Module, x: torch.Tensor, attr: torch.Tensor, target: int,
              reference: torch.Tensor | None = None) -> dict:
    fast = fast_copy(model)
    return trust.deletion_check(fast, fast_input(model, x), attr, target, reference=reference)


@contextmanager
def _timed(timings: dict[str, float], key: str):
    t0 = time.perf_counter()
    try:
        yield
    finally:
        timings[key] = timings.get(key, 0.0) + 1000 * (time.perf_counter() - t0)


def model_inputs(wave: torch.Tensor, model_set: ModelSet) -> dict[str, torch.Tensor]:
    """Each model's input for a ``(1, 1, samples)`` clip, computing shared features once."""
    shared: dict[str, torch.Tensor] = {}  # by the kind a front-end's tensor is a view of
    out = {}
    with torch.inference_mode():
        for arch, model in model_set.models.items():
            fe = model.front_end
            base = fe.shares or fe.kind
            if base not in shared:
                shared[base] = fe.to_shared(fe(wave))
            out[arch] = fe.from_shared(shared[base])
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

    with model_set.lock:
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
                if model.frame_level:
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
    """The dB 64-band mel and the LFCC grid for the figures, reusing model inputs where they exist."""
    by_kind = {m.input_kind: (m.front_end, inputs[arch]) for arch, m in model_set.models.items()}
    mel = next((fe.to_shared(x) for fe, x in by_kind.values() if (fe.shares or fe.kind) == "mel64"), None)
    lfcc = by_kind["lfcc"][1] if "lfcc" in by_kind else None
    with torch.inference_mode():
        if mel is None:
            mel = build_front_end("mel64")(wave)
        if lfcc is None:
            lfcc = build_front_end("lfcc")(wave)
    mel_db = (mel[0, 0] * FEATURES.db_scale - FEATURES.db_offset).detach().numpy()  # undo the fixed scaling
    return mel_db, lfcc[0, 0].detach().numpy()


def curves_for(model_set: ModelSet, arch: str, x: torch.Tensor, attr: torch.Tensor, target: int,
               reference: torch.Tensor | None = None) -> dict:
    """Deletion and insertion curves of one map (:func:`trust.deletion_curves`), under the set's lock."""
    with model_set.lock:
        return _curves(model_set.models[arch], x, attr, target, reference)


def check_map(model_set: ModelSet, arch: str, x: torch.Tensor, attr: torch.Tensor, target: int,
              reference: torch.Tensor | None = None, *, deletion: bool = True) -> dict:
    """The deletion check of one map (when ``deletion``) and its deletion and insertion curves (``curves``),
    as :func:`explain` gives them, for a map computed before; under the set's lock."""
    model = model_set.models[arch]
    with model_set.lock:
        check = _deletion(model, x, attr, target, reference) if deletion else {}
        return {**check, "curves": _curves(model, x, attr, target, reference)}


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
    with model_set.lock:
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
    with model_set.lock:
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
    with model_set.lock:
        for k, m in enumerate(methods):
            if m not in maps:
                if progress is not None:
                    progress(k / len(methods), f"{m} for {arch}")
                maps[m] = _attribute(model, x, m, target, reference)[0]
    curves = {m: attribution.method_curve(maps[m], model.input_kind, n_samples, m) for m in methods}
    return {"curves": curves, "maps": {m: maps[m] for m in methods}, **trust.method_agreement(curves)}


def add_faithfulness(result: Analysis, model_set: ModelSet, progress=None) -> Analysis:
    """Run the deletion check for every map of ``result`` that lacks one (the app does this second)."""
    with model_set.lock:  # the list is made under the lock: two visitors of one cached analysis share its checks
        todo = [(arch, m) for arch, r in result.models.items() for m in r.attributions if m not in r.faithfulness]
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
    with model_set.lock:
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
