"""Shared fixtures: small synthetic clips and a tiny trained model set, made on the fly."""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

torch.set_num_threads(2)


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


@pytest.fixture
def clip_3s2() -> torch.Tensor:
    return tone_and_noise(3.2)


@pytest.fixture(scope="session")
def tiny_set(tmp_path_factory) -> Path:
    """A set named "tiny" with all six architectures, trained for two epochs; returns its folder."""
    from explainer import train
    from explainer.models import list_models

    tmp = tmp_path_factory.mktemp("tiny")
    data = make_folder_dataset(tmp / "data")
    cfg = train.TrainConfig(max_epochs=2, clip_seconds=1.0, batch_size=8)
    return train.run(data, "tiny", list_models(), cfg, out_root=tmp / "sets")


@pytest.fixture
def wav_file(tmp_path) -> Path:
    """A 2 s tone-and-noise WAV."""
    path = tmp_path / "clip.wav"
    sf.write(path, tone_and_noise(2.0)[0, 0].numpy(), 16000)
    return path
