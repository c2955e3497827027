"""Inference copies of the models for attributions: the same function, less work on a CPU.

The layer trace and every figure read the original models, so a learner still sees each
BatchNorm and each strided convolution as it was trained; gradients for the maps run
through these copies, which give the same numbers to float rounding.
"""

from __future__ import annotations

import copy
import weakref

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from . import model_lock, share_lock

_FAST: "weakref.WeakKeyDictionary[nn.Module, nn.Module]" = weakref.WeakKeyDictionary()


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
    still points at the same block), strided 1D convolutions become
    :class:`PolyphaseConv1d`, patch embeddings :class:`PatchLinear`, and the 2D CNNs
    whose front-end says so (``channels_last``) use channels-last memory. Outputs
    match the original to float rounding. The layer trace keeps the original, so
    learners still see every BatchNorm.
    """
    cached = _FAST.get(model)
    if cached is not None:
        return cached
    fast = folded_copy(model)
    share_lock([fast], model_lock(model))  # the copy runs under its original's (its set's) lock
    _FAST[model] = fast
    return fast


def folded_copy(model: nn.Module) -> nn.Module:
    """:func:`fast_copy`'s copy of ``model`` as its weights are now, made afresh and kept nowhere: the
    trainer scores each epoch's weights with it."""
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
    if _channels_last(model):
        fast = fast.to(memory_format=torch.channels_last)
    for p in fast.parameters():
        p.requires_grad_(False)
    return fast


def fast_input(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``x`` in the memory layout that :func:`fast_copy` of ``model`` runs fastest on."""
    return x.contiguous(memory_format=torch.channels_last) if _channels_last(model) else x


def _channels_last(model: nn.Module) -> bool:
    return bool(getattr(getattr(model, "front_end", None), "channels_last", False))
