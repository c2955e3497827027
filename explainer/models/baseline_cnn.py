"""The beginner notebook's network on a fixed 128x128 log-mel picture."""

from __future__ import annotations

import torch
from torch import nn

from . import register_model
from .layers import AudioModel


@register_model("baseline_cnn")
class BaselineCNN(AudioModel):
    """Input ``(B, 1, 128, 128)`` in [0, 1] -> logits ``(B, n_classes)``.

    Conv 32 -> MaxPool 2 -> Conv 64 -> MaxPool 2 -> Flatten (64 x 32 x 32 =
    65,536) -> Dense 64 -> Dense n. Almost all of its weights sit in the first
    dense layer, because Flatten keeps every position of every map.
    """

    input_kind = "mel128x128"
    title = "Beginner CNN"
    short_title = "Beginner CNN"
    subtitle = "the classic tutorial CNN on a fixed 128 × 128 mel picture"
    order = 30
    unit_layer = "conv1"  # the layer the unit view opens on: 3 x 3 taps over the 128 x 128 picture
    cam_layer = "relu2"  # Grad-CAM reads the rectified maps of the last conv, as it was designed to
    finetune_block = ("dense",)  # fine-tuning "last": the Dense 64 before the head
    # half as many epochs again as the set's: at 12 its training loss was still falling, and 18 took it from
    # 0.870 to 0.924 of the synthetic held-out clips (tones 0.71 -> 0.84) and from 0.864 to 0.893 of the real
    training = {"epoch_scale": 1.5, "finetune_layers": "all", "pause_probability": 0.3}
    rf_axis = 1  # kernels are (freq, time)

    def __init__(self, n_classes: int = 6):
        super().__init__(n_classes)
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.relu2 = nn.ReLU()
        self.pool2 = nn.MaxPool2d(2)
        self.flatten = nn.Flatten()
        self.dense = nn.Linear(64 * 32 * 32, 64)
        self.relu3 = nn.ReLU()
        self.head = nn.Linear(64, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # B batch, C channels, F mel bands, T frames
        if x.shape[1:] != (1, 128, 128):
            raise ValueError(f"expected (B, 1, 128, 128), got {tuple(x.shape)}")
        x = self.pool1(self.relu1(self.conv1(x)))  # (B, 32, 64, 64)
        x = self.pool2(self.relu2(self.conv2(x)))  # (B, 64, 32, 32)
        x = self.flatten(x)  # (B, 65536)
        x = self.relu3(self.dense(x))  # (B, 64)
        return self.head(x)  # (B, n_classes)
