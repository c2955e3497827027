"""Small named building blocks, so that every step shows up in a layer trace."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..features import build_front_end


class AudioModel(nn.Module):
    """Base of every architecture: owns the front-end for its ``input_kind``.

    Subclasses set ``input_kind``, ``cam_layer`` (dotted name of the module whose
    output Grad-CAM reads) and ``rf_axis`` (index of the time axis inside a conv
    kernel tuple, used to compute receptive fields).
    """

    input_kind: str = ""
    cam_layer: str = ""
    rf_axis: int = 0

    def __init__(self, n_classes: int):
        super().__init__()
        self.n_classes = n_classes
        self.front_end = build_front_end(self.input_kind)


class Mean(nn.Module):
    """Average over one axis; a module so the trace lists it as a layer."""

    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class CausalConv1d(nn.Conv1d):
    """Conv1d that pads only on the left, so output frame t sees inputs <= t."""

    def __init__(self, c_in: int, c_out: int, kernel_size: int, dilation: int = 1):
        super().__init__(c_in, c_out, kernel_size, dilation=dilation)
        self.left_pad = (kernel_size - 1) * dilation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(F.pad(x, (self.left_pad, 0)))
