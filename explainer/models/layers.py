"""Small named building blocks, so that every step shows up in a layer trace."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..features import build_front_end


class AudioModel(nn.Module):
    """Base of every architecture: owns the front-end for its ``input_kind``.

    Everything the rest of the package needs to know about an architecture lives on
    its class, so that training, analysis and the app never test a model's name:

    - ``input_kind``: the front-end it reads (:data:`explainer.features.FRONT_ENDS`);
    - ``cam_layer``: dotted name of the module whose output Grad-CAM reads;
    - ``unit_layer``: the traced layer that the "inside a unit" view opens on;
    - ``rf_axis``: index of the time axis inside a conv kernel tuple (receptive fields);
    - ``title``, ``short_title`` and ``subtitle``: how figures, tabs and captions name it;
    - ``order``: where it stands in every list, from raw samples to a transformer;
    - ``frame_level``: whether it also offers ``frame_logits(x) -> (B, n, frames)``,
      one answer per input frame;
    - ``causal``: whether each frame's answer depends on that frame and earlier ones only;
      such a model also gives ``receptive_field_frames()``, how many frames one answer reads,
      and can answer a live stream frame by frame (:mod:`explainer.live`);
    - ``training``: its departures from the shared training settings, with keys
      ``epoch_scale`` (epochs relative to the set's), ``crop_seconds`` (random crop
      length, for models whose input length is free), ``ema_decay`` (moving average of
      the weights), ``lr_scale`` (peak learning rate relative to the set's) and
      ``channels_last`` (memory layout of the training passes), and ``finetune_layers``
      (what fine-tuning from a trained set trains: ``"head"``, ``"last"`` or ``"all"``);
    - ``finetune_block``: names of the submodules that fine-tuning's ``"last"`` trains beside the
      ``head`` (the block nearest the output).
    """

    input_kind: str = ""
    cam_layer: str = ""
    unit_layer: str = ""
    rf_axis: int = 0
    title: str = ""
    short_title: str = ""
    subtitle: str = ""
    order: int = 100
    frame_level: bool = False
    causal: bool = False
    training: dict = {}
    finetune_block: tuple[str, ...] = ()

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
