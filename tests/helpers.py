"""Plain helper functions shared by the test modules (fixtures live in conftest.py).

Import them as ``from helpers import tone_and_noise``: pytest puts ``tests/`` on
``sys.path`` before it imports conftest.py and the test modules ("prepend" import mode,
no ``__init__.py`` here), so this works from any working directory.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import torch


def tone_and_noise(seconds: float, seed: int = 0, sr: int = 16000) -> torch.Tensor:
    """A (1, 1, samples) clip: a 440 Hz tone over quiet noise, seeded."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    x = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.02 * rng.standard_normal(t.size)
    return torch.from_numpy(x.astype(np.float32)).view(1, 1, -1)


def make_folder_dataset(root: Path, per_class: int = 6, seconds: float = 1.0) -> Path:
    """Three classes in seed 003's folder-per-class layout: root/<class>/*.wav."""
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * 16000)) / 16000
    makers = {
        "beep": lambda: 0.3 * np.sin(2 * np.pi * rng.uniform(300, 3000) * t),
        "hiss": lambda: 0.2 * rng.standard_normal(t.size),
        "hum": lambda: 0.02 * np.sin(2 * np.pi * 50 * t) + 0.01 * np.sin(2 * np.pi * 100 * t),
    }
    for name, make in makers.items():
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            sf.write(root / name / f"{i}.wav", make().astype(np.float32), 16000)
    return root
