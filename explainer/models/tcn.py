"""Temporal convolutional network: residual blocks of dilated causal Conv1d."""

from __future__ import annotations

import torch
from torch import nn

from . import register_model
from .layers import AudioModel, CausalConv1d

N_MELS = 64


class ResidualBlock(nn.Module):
    """Two causal convs at one dilation, added back onto the block's input."""

    def __init__(self, channels: int, kernel: int, dilation: int):
        super().__init__()
        self.conv1 = CausalConv1d(channels, channels, kernel, dilation)
        self.norm1 = nn.BatchNorm1d(channels)  # a per-channel affine at inference: causality holds
        self.relu1 = nn.ReLU()
        self.conv2 = CausalConv1d(channels, channels, kernel, dilation)
        self.norm2 = nn.BatchNorm1d(channels)
        self.relu2 = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.relu1(self.norm1(self.conv1(x)))  # (B, C, T)
        y = self.norm2(self.conv2(y))  # (B, C, T)
        return self.relu2(x + y)  # (B, C, T)


@register_model("tcn")
class TCN(AudioModel):
    """Input ``(B, 64, frames)`` log-mel vectors -> logits ``(B, n_classes)``.

    ``frame_logits`` gives one prediction per 10 ms frame, each computed only
    from that frame and earlier ones; the clip logits are their mean over time.
    """

    input_kind = "mel_seq"
    title = "TCN"
    short_title = "TCN"
    subtitle = "a temporal convolutional network: dilated causal 1D convolutions, one answer per 10 ms"
    order = 50
    frame_level = True
    causal = True
    training = {"crop_seconds": 3.2, "finetune_layers": "all"}
    # Grad-CAM reads an early block: a late block's frame t sums evidence from up to 125 frames
    # before it, so its map lags behind the input that caused it (measured: deletion scores fall
    # from +0.11 at blocks.1 to -0.02 at blocks.4 on the shipped examples)
    unit_layer = "blocks.2.conv1"  # the unit view opens on a dilated causal conv (dilation 4)
    cam_layer = "blocks.1"
    finetune_block = ("blocks.4",)
    rf_axis = 0
    kernel = 3
    dilations = (1, 2, 4, 8, 16)

    def __init__(self, n_classes: int = 6, channels: int = 64):
        super().__init__(n_classes)
        self.input_proj = nn.Conv1d(N_MELS, channels, 1)
        self.blocks = nn.Sequential(*[ResidualBlock(channels, self.kernel, d) for d in self.dilations])
        self.head = nn.Conv1d(channels, n_classes, 1)

    def frame_logits(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, 64, frames)`` -> per-frame logits ``(B, n_classes, frames)``."""
        # B batch, C channels, T frames
        if x.ndim != 3 or x.shape[1] != N_MELS:
            raise ValueError(f"expected (B, {N_MELS}, frames), got {tuple(x.shape)}")
        x = self.input_proj(x)  # (B, C, T)
        x = self.blocks(x)  # (B, C, T)
        return self.head(x)  # (B, n, T)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.frame_logits(x).mean(dim=2)  # (B, n)

    def receptive_field_frames(self) -> int:
        """Input frames one output frame depends on: 1 + 2 (k - 1) * sum(dilations)."""
        return 1 + 2 * (self.kernel - 1) * sum(self.dilations)
