"""Front-end shapes, finiteness, batch consistency and agreement with librosa."""

import librosa
import numpy as np
import pytest
import torch

from explainer import features as F
from helpers import tone_and_noise


def test_lfcc_grid_is_321_by_180_for_3_2_seconds(clip_3s2):
    grid = F.LfccGrid()(clip_3s2)
    assert tuple(grid.shape) == (1, 1, 321, 180)


@pytest.mark.parametrize("kind,shape", [
    ("waveform", (1, 1, 51200)), ("mel64", (1, 1, 64, 321)), ("mel128x128", (1, 1, 128, 128)),
    ("lfcc", (1, 1, 321, 180)), ("mel_seq", (1, 64, 321)), ("mel224", (1, 3, 224, 224)),
])
def test_front_end_shapes(kind, shape, clip_3s2):
    assert tuple(F.build_front_end(kind)(clip_3s2).shape) == shape


@pytest.mark.parametrize("kind", list(F.FRONT_ENDS))
def test_silence_and_constant_stay_finite(kind):
    for wave in (torch.zeros(1, 1, 16000), torch.full((1, 1, 16000), 0.5)):
        assert torch.isfinite(F.build_front_end(kind)(wave)).all()


@pytest.mark.parametrize("kind", list(F.FRONT_ENDS))
def test_batch_consistency(kind):
    a, b = tone_and_noise(1.0, seed=1), tone_and_noise(1.0, seed=2) * 0.1
    fe = F.build_front_end(kind)
    both = fe(torch.cat([a, b]))
    torch.testing.assert_close(both[0:1], fe(a), rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(both[1:2], fe(b), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("kind", ["mel64", "mel128x128", "lfcc", "mel224"])
def test_front_ends_are_differentiable(kind):
    wave = tone_and_noise(1.0).requires_grad_(True)
    F.build_front_end(kind)(wave).sum().backward()
    assert wave.grad is not None and torch.isfinite(wave.grad).all() and wave.grad.abs().sum() > 0


def test_mel_matches_librosa():
    """Power mel with Slaney scale and norm agrees with librosa within 1e-3 relative (0.01 dB)."""
    wave = tone_and_noise(1.0, seed=3)
    cfg = F.DEFAULT
    ours = F.Mel64().mel(wave)[0, 0].double().numpy()
    ref = librosa.feature.melspectrogram(
        y=wave[0, 0].double().numpy(), sr=16000, n_fft=cfg.mel64_n_fft, win_length=cfg.mel64_win,
        hop_length=cfg.mel64_hop, n_mels=cfg.mel64_n_mels, power=2.0, center=True, pad_mode="reflect",
        htk=False, norm="slaney",
    )
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, rtol=1e-3, atol=1e-6 * ref.max())
    db_ours, db_ref = 10 * np.log10(np.maximum(ours, 1e-10)), librosa.power_to_db(ref, ref=1.0, top_db=None)
    assert np.abs(db_ours - db_ref).max() < 0.01


def test_baseline_input_crops_pads_and_normalises():
    fe = F.Mel128x128()
    short = fe(tone_and_noise(1.0))  # 32 frames: right-padded with the clip minimum
    long = fe(tone_and_noise(8.0))  # 251 frames: centre crop
    for x in (short, long):
        assert tuple(x.shape) == (1, 1, 128, 128)
        assert 0.0 <= float(x.min()) < float(x.max()) <= 1.0
    assert torch.all(short[..., 40:] == short[..., :32].min())  # padding takes the clip's darkest value
    quiet = fe(tone_and_noise(1.0) * 0.01)  # 40 dB quieter: fixed bounds keep it darker, per-clip bounds would not
    assert float(quiet[..., :32].mean()) < float(short[..., :32].mean()) - 0.2
    assert F.time_grid("mel128x128", 8 * 16000)[0] == pytest.approx((251 - 128) // 2 * 0.032)


def test_representation_sizes():
    rows = {r["name"]: r for r in F.representation_sizes(51200)}
    assert rows["raw samples"]["bytes"] == 51200 * 4
    assert rows["LFCC + delta + delta-delta grid"]["shape"] == [1, 321, 180]
    assert rows["mel picture 3x224x224"]["elements"] == 3 * 224 * 224
