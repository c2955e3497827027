"""2D CNN on the 64-band log-mel: 3x3 convs with pooling, then a global average."""

from __future__ import annotations

import torch
from torch import nn

from . import register_model
from .layers import AudioModel


def _block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(),
        nn.MaxPool2d(2),
    )


@register_model("spectrogram_cnn")
class SpectrogramCNN(AudioModel):
    """Input ``(B, 1, 64, frames)`` -> logits ``(B, n_classes)``.

    Square 3x3 kernels and 2x2 pooling treat frequency and time alike, like an
    image; the adaptive pool makes any clip length fit the linear head.
    """

    input_kind = "mel64"
    title = "2D spectrogram CNN"
    short_title = "2D spectrogram CNN"
    subtitle = "a 2D CNN on the 64-band mel spectrogram"
    order = 20
    # pause consistency at weight 0.5: 0.78 -> 0.86 of its map on the sound; weights 1 and 2 cost it 3 points
    # of real accuracy
    training = {"crop_seconds": 2.0, "finetune_layers": "all", "crop_on_sound": True, "pause_probability": 0.3,
                "pause_consistency": 0.5}
    unit_layer = "block1.0"  # the unit view opens on the first 3 x 3 kernel over the log-mel
    cam_layer = "block4"
    finetune_block = ("block4",)
    rf_axis = 1  # kernels are (freq, time)

    def __init__(self, n_classes: int = 6):
        super().__init__(n_classes)
        self.block1 = _block(1, 16)
        self.block2 = _block(16, 32)
        self.block3 = _block(32, 64)
        self.block4 = _block(64, 128)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.head = nn.Linear(128, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # B batch, C channels, F mel bands, T frames
        if x.ndim != 4 or x.shape[1] != 1 or x.shape[2] != 64:
            raise ValueError(f"expected (B, 1, 64, frames), got {tuple(x.shape)}")
        x = self.block1(x)  # (B, 16, 32, T/2)
        x = self.block2(x)  # (B, 32, 16, T/4)
        x = self.block3(x)  # (B, 64, 8, T/8)
        x = self.block4(x)  # (B, 128, 4, T/16)
        x = self.flatten(self.pool(x))  # (B, 128)
        return self.head(x)  # (B, n_classes)
