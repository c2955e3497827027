"""Layer-by-layer trace of a model on a real input, and the arithmetic inside one unit.

:func:`trace`: one forward pass with forward hooks on every leaf layer records its output
shape, parameter count, activation size and receptive field, and keeps a few channels of
each feature map for drawing.

:func:`unit`: for one output number of one traced layer, the input values it reads, the
weights it multiplies them by, its bias, and the elementwise steps (BatchNorm, ReLU) that
follow, so that a learner can redo the sum by hand. :func:`conv_output_length` and
:func:`receptive_field` are the formulas behind the trace's shapes and fields.
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


def grow(rf: int, jump: int, kernel: int, stride: int = 1, dilation: int = 1) -> tuple[int, int]:
    """One window's step of the receptive-field rule: ``rf += (kernel - 1) * dilation * jump``, then
    ``jump *= stride`` (``jump``: input steps between two neighbouring outputs so far)."""
    return rf + (kernel - 1) * dilation * jump, jump * stride


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
        stride and dilation along the time axis by :func:`grow`; after a global layer
        the field is the whole input.
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
                state["rf"], state["jump"] = grow(state["rf"], state["jump"], *_time_window(module, model.rf_axis))
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


# --------------------------------------------------------------------------- one unit's arithmetic

_ELEMENTWISE = (nn.BatchNorm1d, nn.BatchNorm2d, nn.ReLU, nn.GELU)
_CONV = (nn.Conv1d, nn.Conv2d)
_POOL = (nn.MaxPool1d, nn.MaxPool2d, nn.AvgPool1d, nn.AvgPool2d, nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, Mean)
_NORM = (nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm)
_ACTIVATION = (nn.ReLU, nn.GELU)


class _Stop(Exception):
    """Raised inside a hook once every number :func:`unit` needs has been seen."""


def conv_output_length(n: int, kernel: int, stride: int = 1, dilation: int = 1, padding: int = 0) -> int:
    """Output length of a convolution or pool along one axis, as PyTorch computes it:
    ``floor((n + 2 padding - dilation (kernel - 1) - 1) / stride) + 1``."""
    return (n + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def receptive_field(steps) -> tuple[int, int]:
    """Receptive field and jump after a stack of windows ``steps`` = [(kernel, stride, dilation), ...],
    by :func:`grow`, the rule :func:`trace` applies layer by layer. Returns ``(rf, jump)``: how many
    input steps one output sees, and how many input steps lie between two neighbouring outputs."""
    rf, jump = 1, 1
    for k, s, d in steps:
        rf, jump = grow(rf, jump, k, s, d)
    return rf, jump


def _tuple(v, n: int) -> tuple[int, ...]:
    return tuple(int(a) for a in v) if isinstance(v, (tuple, list)) else (int(v),) * n


def _window(module: nn.Module, n: int) -> tuple[tuple[int, ...], ...]:
    """(kernel, stride, dilation, padding) per spatial axis of a windowed layer with ``n`` axes."""
    k = _tuple(module.kernel_size, n)
    s = _tuple(module.stride if module.stride is not None else module.kernel_size, n)
    d = _tuple(getattr(module, "dilation", 1), n)
    p = _tuple(getattr(module, "left_pad", None) if hasattr(module, "left_pad") else module.padding, n)
    return k, s, d, p


def _adaptive_range(i: int, n_in: int, n_out: int) -> tuple[int, int]:
    return (i * n_in) // n_out, -(-((i + 1) * n_in) // n_out)


def _check_index(name: str, out: torch.Tensor, index) -> tuple[int, ...]:
    shape = tuple(out.shape[1:])
    try:
        idx = tuple(int(i) for i in index)
    except (TypeError, ValueError):
        raise ValueError(f"index must be a list of whole numbers, one per axis of {name}'s output {list(shape)}")
    if len(idx) != len(shape) or any(not 0 <= i < n for i, n in zip(idx, shape)):
        ranges = ", ".join(f"0–{n - 1}" for n in shape)
        raise ValueError(f"index {list(idx)} does not fit {name}'s output of shape {list(shape)}; "
                         f"each position must lie in {ranges}")
    return idx


def _f(v) -> float:
    return float(v)


def _conv_unit(module, inp, idx) -> dict:
    n = inp.ndim - 2
    k, s, d, p = _window(module, n)
    c = idx[0]
    w = module.weight[c].detach().double()  # (c_in, *k)
    offsets = np.stack(np.meshgrid(*[np.arange(kk) for kk in k], indexing="ij"), -1).reshape(-1, n)  # (taps, n)
    pos = np.array(idx[1:]) * np.array(s) - np.array(p) + offsets * np.array(d)  # (taps, n)
    inside = np.all((pos >= 0) & (pos < np.array(inp.shape[2:])), axis=1)
    x = inp[0].detach().double().numpy()
    taps, c_in = len(offsets), x.shape[0]
    safe = np.where(inside[:, None], pos, 0)  # padded taps read index 0, then count as 0
    patch = x[(slice(None), *safe.T)] * inside  # (c_in, taps)
    values = patch.flatten().tolist()
    positions = [[ci, *pp] for ci in range(c_in) for pp in pos.tolist()]
    padding = np.tile(~inside, c_in).tolist()
    bias = 0.0 if module.bias is None else _f(module.bias[c])
    return {
        "kind": "conv", "inputs": values, "positions": positions, "padding": padding,
        "weights": w.flatten().tolist(), "shape": [c_in, *k], "bias": bias, "has_bias": module.bias is not None,
        "kernel": list(k), "stride": list(s), "dilation": list(d), "pad": list(p),
        "formula": (f"output = the sum of {c_in * taps:,} products (input × weight: {c_in} input channel"
                    f"{'s' if c_in != 1 else ''} × {taps} tap{'s' if taps != 1 else ''})"
                    + (" + bias" if module.bias is not None else ", with no bias (a BatchNorm follows)")),
    }


def _pool_unit(module, inp, idx) -> dict:
    x = inp[0].detach().double()
    if isinstance(module, Mean):
        dim = module.dim - 1  # without the batch axis
        full = list(idx)
        full.insert(dim, slice(None))
        row = x[tuple(full)]
        values = row.tolist()
        positions = [[*idx[:dim], j, *idx[dim:]] for j in range(len(values))]
        mode, shape = "mean", [len(values)]
    else:
        n = inp.ndim - 2
        c, out_pos = idx[0], idx[1:]
        if isinstance(module, (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d)):
            size = _tuple(module.output_size, n)
            ranges = [_adaptive_range(i, x.shape[1 + a], size[a]) for a, i in enumerate(out_pos)]
            shape = [b - a for a, b in ranges]
            grid = np.stack(np.meshgrid(*[np.arange(a, b) for a, b in ranges], indexing="ij"), -1).reshape(-1, n)
        else:
            k, s, d, p = _window(module, n)
            offsets = np.stack(np.meshgrid(*[np.arange(kk) for kk in k], indexing="ij"), -1).reshape(-1, n)
            grid = np.array(out_pos) * np.array(s) - np.array(p) + offsets * np.array(d)
            shape = list(k)
        positions = [[c, *g] for g in grid.tolist()]
        values = [float(x[tuple(pp)]) for pp in positions]
        mode = "max" if isinstance(module, (nn.MaxPool1d, nn.MaxPool2d)) else "mean"
    count = len(values)
    if mode == "max":
        best = int(np.argmax(values))
        weights = [1.0 if i == best else 0.0 for i in range(count)]
        formula = f"output = the largest of {count} values"
    else:
        weights = [1.0 / count] * count
        formula = f"output = the mean of {count} values (each weighs 1/{count})"
    return {"kind": "pool", "mode": mode, "inputs": values, "positions": positions, "weights": weights,
            "shape": shape, "bias": 0.0, "has_bias": False, "formula": formula}


def _linear_unit(module, inp, idx) -> dict:
    row = inp[0].detach().double()[tuple(idx[:-1])]
    j = idx[-1]
    values = row.tolist()
    bias = 0.0 if module.bias is None else _f(module.bias[j])
    return {"kind": "linear", "inputs": values, "positions": [[*idx[:-1], i] for i in range(len(values))],
            "weights": module.weight[j].detach().double().tolist(), "shape": [len(values)], "bias": bias,
            "has_bias": module.bias is not None,
            "formula": f"output = the sum of {len(values):,} products (input × weight) + bias"}


def _norm_unit(module, inp, idx) -> dict:
    x = inp[0].detach().double()
    if isinstance(module, nn.LayerNorm):
        row = x[tuple(idx[:-1])]
        mean, var = float(row.mean()), float(row.var(unbiased=False))
        d = idx[-1]
        gamma = 1.0 if module.weight is None else _f(module.weight[d])
        beta = 0.0 if module.bias is None else _f(module.bias[d])
        values, positions = row.tolist(), [[*idx[:-1], i] for i in range(row.numel())]
        value = values[d]
        stats = "the mean and variance of this token's own values"
    else:
        c = idx[0]
        mean, var = _f(module.running_mean[c]), _f(module.running_var[c])
        gamma = 1.0 if module.weight is None else _f(module.weight[c])
        beta = 0.0 if module.bias is None else _f(module.bias[c])
        value = float(x[idx])
        values, positions = [value], [list(idx)]
        stats = f"the running mean and variance of channel {c}, learned in training"
    scale = gamma / float(np.sqrt(var + module.eps))
    return {"kind": "norm", "inputs": values, "positions": positions, "value": value, "mean": mean, "var": var,
            "eps": float(module.eps), "gamma": gamma, "beta": beta, "scale": scale, "weights": [gamma],
            "bias": beta, "has_bias": True,
            "formula": f"output = (input − mean) / √(variance + ε) × γ + β, with {stats}"}


def _activation_unit(module, inp, idx) -> dict:
    value = float(inp[0].detach().double()[idx])
    name = "relu" if isinstance(module, nn.ReLU) else "gelu"
    formula = ("output = max(0, input): negatives become 0" if name == "relu"
               else "output = input × Φ(input), Φ the normal distribution's CDF: a soft ReLU")
    return {"kind": "activation", "function": name, "inputs": [value], "positions": [list(idx)], "weights": [],
            "bias": 0.0, "has_bias": False, "formula": formula}


def _attention_unit(module: nn.MultiheadAttention, args, idx) -> dict:
    if len(idx) != 2:
        raise ValueError("an attention output is picked by (token, channel)")
    t, ch = idx
    h = args[0][0].detach().double()  # (N, D): queries, keys and values are the same tokens here
    n_tok, dim = h.shape
    heads, hd = module.num_heads, dim // module.num_heads
    w_in, b_in = module.in_proj_weight.detach().double(), module.in_proj_bias.detach().double()
    q, k, v = (h @ w_in.T + b_in).split(dim, dim=1)  # (N, D) each
    q, k, v = (z.reshape(n_tok, heads, hd).transpose(0, 1) for z in (q, k, v))  # (H, N, hd)
    attn = torch.softmax(torch.einsum("hd,hnd->hn", q[:, t], k) / np.sqrt(hd), dim=-1)  # (H, N)
    w_out = module.out_proj.weight.detach().double()[ch].reshape(heads, hd)  # (H, hd)
    sent = torch.einsum("hnd,hd->hn", v, w_out)  # what each token's value sends to this channel, per head
    bias = _f(module.out_proj.bias[ch]) if module.out_proj.bias is not None else 0.0
    row = attn.mean(0)
    return {
        "kind": "attention", "inputs": sent.flatten().tolist(),
        "positions": [[hh, j] for hh in range(heads) for j in range(n_tok)],
        "weights": attn.flatten().tolist(), "shape": [heads, n_tok], "bias": bias, "has_bias": True,
        "attention": row.tolist(), "heads": attn.tolist(), "query": t,
        "formula": (f"output = Σ over {heads} heads and {n_tok} tokens of attention weight × what that token's "
                    f"value sends to channel {ch}, + bias; each head's weights over the tokens sum to 1"),
    }


def _rearrange_unit(module, inp, idx) -> dict:
    ids = torch.arange(inp.numel(), dtype=torch.float64).reshape(inp.shape)
    src = int(module(ids)[(0, *idx)])
    pos = list(np.unravel_index(src, inp.shape[1:]))
    pos = [int(p) for p in pos]
    return {"kind": "reshape", "inputs": [float(inp[0][tuple(pos)])], "positions": [pos], "weights": [1.0],
            "bias": 0.0, "has_bias": False,
            "formula": "output = one input value moved to a new place: this layer only rearranges numbers"}


def _embedding_unit(module, inp, idx) -> dict:
    t, ch = idx
    if t == 0:
        value, pos = _f(module.cls_token[0, 0, ch]), None
    else:
        value, pos = float(inp[0, t - 1, ch]), [t - 1, ch]
    return {"kind": "embedding", "inputs": [value], "positions": [pos], "weights": [1.0],
            "bias": _f(module.pos_embedding[0, t, ch]), "has_bias": True,
            "formula": ("output = the learned class token + its position embedding" if t == 0 else
                        "output = the patch token's value + the learned embedding of its position")}


def _unit_of(module, args, out, idx) -> dict:
    inp = args[0] if args else None
    if isinstance(module, _CONV):
        d = _conv_unit(module, inp, idx)
    elif isinstance(module, _POOL):
        d = _pool_unit(module, inp, idx)
    elif isinstance(module, nn.Linear):
        d = _linear_unit(module, inp, idx)
    elif isinstance(module, _NORM):
        d = _norm_unit(module, inp, idx)
    elif isinstance(module, _ACTIVATION):
        d = _activation_unit(module, inp, idx)
    elif isinstance(module, nn.MultiheadAttention):
        d = _attention_unit(module, args, idx)
    elif type(module).__name__ == "AddClassToken":
        d = _embedding_unit(module, inp, idx)
    elif isinstance(module, (nn.Flatten, nn.Identity)) or type(module).__name__ in ("GridToTokens", "TokensToGrid"):
        d = _rearrange_unit(module, inp, idx)
    else:
        raise ValueError(f"a {type(module).__name__} layer cannot be opened unit by unit")
    d["type"] = type(module).__name__
    d["input_shape"] = list(inp.shape[1:]) if inp is not None else None
    d["output"] = float(out[(0, *idx)])
    return d


def _input_span(fired: list[tuple[nn.Module, tuple, torch.Tensor]], idx: tuple[int, ...], x: torch.Tensor):
    """The stretch of the model's input, per spatial axis, that the unit at ``idx`` of the last fired layer
    can see: each window maps an output interval [a, b] back to [a s - p, b s - p + (k - 1) d]. ``None``
    once a layer mixes every position (a global pool, a flatten, attention)."""
    spatial = list(x.shape[2:])
    span = [[i, i] for i in idx[1:]]
    for module, args, out in reversed(fired):
        if isinstance(module, _GLOBAL + (nn.Linear, nn.LayerNorm)) or type(module).__name__ in (
                "GridToTokens", "TokensToGrid", "AddClassToken"):
            return None
        if isinstance(module, _WINDOWED):
            n = args[0].ndim - 2
            if len(span) != n:
                return None
            k, s, d, p = _window(module, n)
            span = [[a * s[i] - p[i], b * s[i] - p[i] + (k[i] - 1) * d[i]] for i, (a, b) in enumerate(span)]
    if len(span) != len(spatial):
        return None
    return [[max(0, a), min(n - 1, b)] for (a, b), n in zip(span, spatial)]


@torch.no_grad()
def unit(model: nn.Module, x: torch.Tensor, layer: str, index) -> dict:
    """The arithmetic behind one number of the trace: what output ``index`` of ``layer`` reads and how.

    Args:
        model: a registry model in eval mode.
        x: its input, as its ``front_end`` made it, batch of 1.
        layer: a layer name from :func:`trace` (e.g. ``"wide_conv.0"``).
        index: an output position without the batch axis: (channel, time),
            (channel, row, column), or (token, channel) for token layers and attention.

    Returns:
        A JSON-serialisable dict with ``kind`` (``"conv"``, ``"pool"``, ``"linear"``, ``"norm"``,
        ``"activation"``, ``"attention"``, ``"reshape"`` or ``"embedding"``), ``inputs`` (the
        input values read, in the order of ``weights``), ``positions`` (each one's place in the
        layer's input), ``weights``, ``bias``, ``output`` (the value the forward pass
        computed at ``index``), ``formula`` in plain words, ``input_span`` (per spatial axis,
        the part of the model's own input this unit can see, or ``None`` when it sees all
        of it) and ``then``: the elementwise steps (BatchNorm, ReLU, GELU) that follow at the
        same position, each a dict of the same kind, with ``added`` where a skip connection
        adds the block's input first. For ``conv``, ``linear``, ``pool``, ``attention``,
        ``reshape`` and ``embedding``, ``sum(inputs × weights) + bias`` equals ``output``.

    Raises:
        ValueError: an unknown layer or an index outside that layer's output; the message
            lists what would fit.
    """
    leaves = _leaf_layers(model)
    names = [n for n, _ in leaves]
    if layer not in names:
        raise ValueError(f"this model has no layer {layer!r}; its layers are: {', '.join(names)}")
    state: dict = {"fired": [], "hit": None, "then": [], "idx": None}
    handles = []

    def hook_for(name):
        def hook(module, args, out):
            out = out[0] if isinstance(out, tuple) else out
            if state["hit"] is None:
                state["fired"].append((module, args, out))
                if name == layer:
                    state["idx"] = _check_index(name, out, index)
                    state["hit"] = (module, args, out)
                return
            same = isinstance(module, _ELEMENTWISE) and tuple(out.shape) == tuple(state["hit"][2].shape)
            if not same:
                raise _Stop
            state["then"].append((name, module, args, out))

        return hook

    for name, module in leaves:
        handles.append(module.register_forward_hook(hook_for(name)))
    try:
        model(x)
    except _Stop:
        pass
    finally:
        for h in handles:
            h.remove()
    if state["hit"] is None:
        raise ValueError(f"layer {layer!r} did not run on this input")
    module, args, out = state["hit"]
    idx = state["idx"]
    result = _unit_of(module, args, out, idx)
    result["layer"], result["index"] = layer, list(idx)
    result["output_shape"] = list(out.shape[1:])
    result["input_span"] = _input_span(state["fired"], idx, x)
    steps, previous = [], result["output"]
    for name, mod, a, o in state["then"]:
        step = _unit_of(mod, a, o, idx)
        step["layer"] = name
        step["added"] = step.get("value", step["inputs"][0]) - previous
        if abs(step["added"]) < 1e-6 * max(1.0, abs(previous)):
            step["added"] = 0.0
        steps.append(step)
        previous = step["output"]
    result["then"] = steps
    return result


@torch.no_grad()
def layer_io(model: nn.Module, x: torch.Tensor, layer: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The input and output of ``layer`` (batch axis dropped) on ``x``; the forward pass stops there."""
    module = dict(_leaf_layers(model)).get(layer)
    if module is None:
        raise ValueError(f"this model has no layer {layer!r}")
    seen = {}

    def hook(_m, args, out):
        seen["io"] = (args[0][0] if args else None, (out[0] if isinstance(out, tuple) else out)[0])
        raise _Stop

    handle = module.register_forward_hook(hook)
    try:
        model(x)
    except _Stop:
        pass
    finally:
        handle.remove()
    if "io" not in seen:
        raise ValueError(f"layer {layer!r} did not run on this input")
    return seen["io"]


def most_active(out: torch.Tensor) -> list[int]:
    """The position of the largest value of a layer's output (batch axis dropped): the unit that fired most."""
    flat = int(torch.argmax(out.detach().float()))
    return [int(i) for i in np.unravel_index(flat, tuple(out.shape))]


def sandbox(n: int, kernel: int, stride: int = 1, dilation: int = 1, padding: int = 0, pool: int = 1) -> dict:
    """A toy 1D convolution then max-pool on ``n`` input cells, worked out by the formulas the trace uses.

    Returns the output lengths (:func:`conv_output_length`), the receptive field and jump of one conv
    output and of one pooled output (:func:`receptive_field`), and, for the middle conv output, the input
    cells its taps read (negative or ``>= n``: padding). ``conv_length`` is 0 or less when the kernel
    does not fit the padded input.
    """
    conv_len = conv_output_length(n, kernel, stride, dilation, padding)
    pool_len = conv_output_length(conv_len, pool, pool) if conv_len > 0 and pool > 1 else conv_len
    conv_rf, conv_jump = receptive_field([(kernel, stride, dilation)])
    pool_rf, pool_jump = receptive_field([(kernel, stride, dilation), (pool, pool, 1)])
    mid = max(conv_len, 1) // 2
    taps = [mid * stride - padding + j * dilation for j in range(kernel)]
    return {"n": n, "kernel": kernel, "stride": stride, "dilation": dilation, "padding": padding, "pool": pool,
            "conv_length": conv_len, "pool_length": pool_len, "conv_rf": conv_rf, "conv_jump": conv_jump,
            "pool_rf": pool_rf, "pool_jump": pool_jump, "unit": mid, "taps": taps}
