"""Shared fixtures: small synthetic clips made on the fly."""

import numpy as np
import pytest
import torch

torch.set_num_threads(2)


def tone_and_noise(seconds: float, seed: int = 0, sr: int = 16000) -> torch.Tensor:
    """A (1, 1, samples) clip: a 440 Hz tone over quiet noise, seeded."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    x = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.02 * rng.standard_normal(t.size)
    return torch.from_numpy(x.astype(np.float32)).view(1, 1, -1)


@pytest.fixture
def clip_3s2() -> torch.Tensor:
    return tone_and_noise(3.2)
