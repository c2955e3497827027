"""Registry of the six architectures.

Every model shares one interface: ``input_kind``, a differentiable ``front_end``
mapping ``(B, 1, samples)`` 16 kHz audio to the model input ``x``, and
``forward(x) -> logits (B, n_classes)``. Training, analysis and the app never
branch on an architecture's name.
"""

from __future__ import annotations

from typing import Callable

from torch import nn

_REGISTRY: dict[str, Callable[..., nn.Module]] = {}
# the order the app shows them in: from raw samples to a transformer
ORDER = ["waveform_cnn", "spectrogram_cnn", "baseline_cnn", "lfcc_cnn", "tcn", "spectrogram_vit"]


def register_model(name: str):
    """Class decorator that adds an architecture to the registry under ``name``."""

    def add(cls):
        _REGISTRY[name] = cls
        cls.arch_name = name
        return cls

    return add


def _load_all() -> None:
    # imported here, not at module import, so that listing names stays cheap
    from . import baseline_cnn, lfcc_cnn, spectrogram_cnn, spectrogram_vit, tcn, waveform_cnn  # noqa: F401


def list_models() -> list[str]:
    """Names of every architecture, in display order."""
    _load_all()
    return [n for n in ORDER if n in _REGISTRY]


def build(name: str, n_classes: int = 6, **options) -> nn.Module:
    """A fresh, randomly initialised model with its front-end.

    ``options`` go to the architecture's constructor (e.g. ``channels`` of ``lfcc_cnn``).

    Raises:
        KeyError: ``name`` is not registered; the message lists the valid names.
    """
    _load_all()
    if name not in _REGISTRY:
        raise KeyError(f"unknown model {name!r}; valid names: {list_models()}")
    if n_classes < 2:
        raise ValueError(f"a classifier needs at least 2 classes, got {n_classes}")
    return _REGISTRY[name](n_classes=n_classes, **options)
