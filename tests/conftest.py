"""Shared fixtures: small synthetic clips and a tiny trained model set, made on the fly.

The plain helper functions behind them live in helpers.py.
"""

from pathlib import Path

import pytest
import soundfile as sf
import torch

from helpers import make_folder_dataset, tone_and_noise

torch.set_num_threads(2)

# what each marker means; `python -m pytest -q tests` runs them all, `-m "not slow and not browser"` and
# the like pick a subset
MARKERS = {
    "slow": "takes more than about 5 s on 2 cores (a parametrised test is marked whole if any case does)",
    "server": "starts the app or another server, or talks to one through gradio_client",
    "browser": "drives Chromium through Playwright",
    "weights": "loads the shipped pretrained set (or reads its card) from pretrained/",
}


def pytest_configure(config):
    for name, meaning in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {meaning}")


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
