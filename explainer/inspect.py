"""Layer-by-layer trace of a model on a real input.

One forward pass with forward hooks on every leaf layer records its output
shape, parameter count, activation size and receptive field, and keeps a few
channels of each feature map for drawing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from .features import DEFAULT, FeatureConfig, front_end_class
from .models.layers import Mean

# layers after which every output position depends on the whole input
_GLOBAL = (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.Flatten, nn.MultiheadAttention, Mean)
_WINDOWED = (nn.Conv1d, nn.Conv2d, nn.MaxPool1d, nn.MaxPool2d, nn.AvgPool1d, nn.AvgPool2d)
MAX_MAPS = 8  # channels kept per feature map


@dataclass
class LayerRecord:
    """What one layer did to the tensor."""

    name: str  # dotted module name, e.g. "block2.0"
    type: str  # class name, e.g. "Conv2d"
    shape: list[int]  # output shape, batch included
    params: int  # parameters owned by this layer
    activation_bytes: int  # float32 bytes of its output
    receptive_field: int | None  # input steps (samples or frames) one output position sees
    receptive_field_ms: float | None  # the same span in milliseconds of audio
    is_global: bool = False  # True once outputs depend on the whole input

    def to_dict(self) -> dict:
        return {
            "name": self.name, "type": self.type, "shape": self.shape, "params": self.params,
            "activation_bytes": self.activation_bytes, "receptive_field": self.receptive_field,
            "receptive_field_ms": self.receptive_field_ms,
        }


@dataclass
class Trace:
    """Result of :func:`trace`: logits, one record per layer, and feature maps."""

    logits: torch.Tensor  # (B, n_classes)
    layers: list[LayerRecord]
    feature_maps: dict[str, np.ndarray] = field(default_factory=dict)  # name -> (channels, ...) of item 0


def _time_window(module: nn.Module, axis: int) -> tuple[int, int, int]:
    """(kernel, stride, dilation) of a windowed layer along the time axis."""

    def pick(v, default=1):
        if v is None:
            return default
        if isinstance(v, (tuple, list)):
            return int(v[axis] if len(v) > axis else v[0])
        return int(v)

    return pick(module.kernel_size), pick(module.stride), pick(getattr(module, "dilation", 1))


def _leaf_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    leaves = []
    for name, module in model.named_modules():
        if not name or name.startswith("front_end"):
            continue
        # MultiheadAttention's projection is an internal detail, not a separate step
        if name.endswith("attn.out_proj"):
            continue
        if isinstance(module, nn.MultiheadAttention) or not any(True for _ in module.children()):
            leaves.append((name, module))
    return leaves


@torch.no_grad()
def trace(model: nn.Module, x: torch.Tensor, n_samples: int, cfg: FeatureConfig = DEFAULT) -> Trace:
    """Run ``model`` on its input ``x`` and record every leaf layer in execution order.

    Args:
        model: a registry model in eval mode.
        x: the model input, as its ``front_end`` made it, batch of 1.
        n_samples: length of the 16 kHz clip behind ``x`` (for milliseconds).

    Returns:
        A :class:`Trace`. Receptive fields are computed from each layer's kernel,
        stride and dilation along the time axis: ``rf += (k - 1) * d * jump``,
        ``jump *= stride``; after a global layer the field is the whole input.
    """
    fe = front_end_class(model.input_kind)
    step_ms, window_ms = fe.span_ms(n_samples, cfg)
    time_dim = fe.time_axis  # position of time in x
    whole_input = x.shape[time_dim]
    records: list[LayerRecord] = []
    maps: dict[str, np.ndarray] = {}
    state = {"rf": 1, "jump": 1, "global": False}
    handles = []

    def hook_for(name: str, module: nn.Module):
        def hook(_mod, _inp, out):
            out = out[0] if isinstance(out, tuple) else out
            if isinstance(module, _WINDOWED) and not state["global"]:
                k, s, d = _time_window(module, model.rf_axis)
                state["rf"] += (k - 1) * d * state["jump"]
                state["jump"] *= s
            if isinstance(module, _GLOBAL):
                state["global"] = True
            rf = whole_input if state["global"] else min(state["rf"], whole_input)
            records.append(LayerRecord(
                name=name, type=type(module).__name__, shape=list(out.shape),
                params=sum(p.numel() for p in module.parameters()),
                activation_bytes=out.numel() * out.element_size(),
                receptive_field=rf, receptive_field_ms=round((rf - 1) * step_ms + window_ms, 2),
                is_global=state["global"],
            ))
            # spatial maps after each activation or pool are what a learner wants to see
            if out.ndim >= 3 and isinstance(module, (nn.ReLU, nn.MaxPool2d, nn.AvgPool2d, nn.MaxPool1d)) \
                    or name == getattr(model, "cam_layer", None):
                maps[name] = out[0, :MAX_MAPS].detach().float().cpu().numpy().copy()

        return hook

    for name, module in _leaf_layers(model):
        handles.append(module.register_forward_hook(hook_for(name, module)))
    try:
        logits = model(x)
    finally:
        for h in handles:
            h.remove()
    return Trace(logits=logits, layers=records, feature_maps=maps)
