"""Contribution maps, Integrated Gradients' accuracy, deletion/insertion curves, the randomisation
sanity check and method agreement: first on small models whose answers are known, then on the
shipped set and the committed real recording ``examples/speech_room.wav`` (words with pauses,
through a room, a background and a codec)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from explainer import analysis, attribution, trust
from explainer.features import sounding
from explainer.models import list_models

ROOT = Path(__file__).resolve().parent.parent
CARD = ROOT / "pretrained" / "sound-types" / "card.json"
ROOM = ROOT / "examples" / "speech_room.wav"


class TimeWeighted(nn.Module):
    """A linear "classifier" on (B, 1, T): class 1 scores the first half of time, class 0 the second."""

    input_kind = "waveform"

    def __init__(self, t: int):
        super().__init__()
        w = torch.zeros(2, t)
        w[1, : t // 2] = 1.0
        w[0, t // 2:] = 1.0
        self.lin = nn.Linear(t, 2, bias=False)
        self.lin.weight.data.copy_(w)

    def forward(self, x):
        return self.lin(x.flatten(1).abs() * 1e-2 + x.flatten(1))


class Small(nn.Module):
    input_kind = "waveform"

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv1d(1, 4, 9, padding=4)
        self.head = nn.Linear(4, 3)

    def forward(self, x):
        return self.head(torch.tanh(self.conv(x)).mean(-1))


def test_sounding_marks_the_sound_and_not_the_pauses():
    t = np.arange(32000) / 16000
    wave = 0.01 * np.random.default_rng(0).standard_normal(t.size)  # a room's floor
    wave[8000:16000] += 0.5 * np.sin(2 * np.pi * 300 * t[8000:16000])  # 0.5-1.0 s sounds
    steps = sounding(torch.tensor(wave, dtype=torch.float32)[None, None])[0].numpy()
    assert steps.shape == (32000 // 160 + 1,)
    assert steps[55:95].all() and not steps[:45].any() and not steps[105:].any()
    gen = torch.Generator().manual_seed(1)
    assert sounding(0.1 * torch.randn(1, 1, 16000, generator=gen)).all()  # a clip without pauses sounds throughout
    assert not sounding(1e-4 * torch.randn(1, 1, 16000, generator=gen)).any()  # -80 dBFS: a quiet room, not sound
    assert not sounding(torch.zeros(2, 1, 8000)).any()


def test_sounding_finds_a_soft_syllable_in_a_loud_room_by_its_bands():
    from explainer.data.synth import coloured_noise
    from explainer.features import DEFAULT, _bands_rise

    rng = np.random.default_rng(4)
    t = np.arange(51200) / 16000
    # a voiced word over a fan: a loud syllable (0.6-1.0 s, 20 dB over the fan), then a soft one (1.4-2.0 s,
    # 5 dB over it); a 140 Hz voice whose harmonics gather in three formant-like bands
    voice = sum(np.sin(2 * np.pi * 140 * k * t) * np.exp(-((140 * k - f) / 250) ** 2)
                for k in range(1, 30) for f in (500, 1500, 2500))
    voice = voice / voice.std()
    loud, soft = (t >= 0.6) & (t < 1.0), (t >= 1.4) & (t < 2.0)
    fan = coloured_noise(rng, t.size, 1.0)
    fan = fan / fan.std()
    clip = torch.tensor(0.02 * (voice * (10 * loud + 10 ** (5 / 20) * soft) + fan), dtype=torch.float32)[None, None]
    level = sounding(clip, bands=False)[0].numpy()
    both = sounding(clip)[0].numpy()
    assert level[65:95].all()  # the loud syllable stands 20 dB over the room: the level rule finds it
    assert level[145:195].mean() < 0.2  # the soft one hardly lifts the overall level: the level rule misses it
    assert both[65:95].all() and both[145:195].mean() > 0.9  # in its bands it stands clear of the fan
    assert both[:50].mean() < 0.05 and both[215:].mean() < 0.05  # and the fan alone stays a pause
    for beta in (0.0, 1.0, 2.0):  # room noise alone, white to brown: next to no step rises in its bands
        room = torch.tensor(0.05 * coloured_noise(rng, t.size, beta), dtype=torch.float32)
        assert _bands_rise(room[None], DEFAULT).float().mean() < 0.02


def test_input_x_gradient_is_exact_for_a_linear_model():
    torch.manual_seed(0)
    lin = nn.Linear(50, 3)
    lin.input_kind = "waveform"
    model = nn.Sequential(nn.Flatten(1), lin)
    model.input_kind = "waveform"
    x = torch.randn(1, 1, 50)
    a = attribution.attribute(model, x, "input_x_gradient", target=2)
    with torch.no_grad():
        gap = model(x)[0, 2] - model(torch.zeros_like(x))[0, 2]
    assert a.shape == x.shape and torch.isfinite(a).all()
    torch.testing.assert_close(a.sum(), gap, rtol=1e-5, atol=1e-5)  # completeness holds exactly


def test_integrated_gradients_meets_its_tolerance_and_reports_it():
    model, x = Small(), torch.randn(1, 1, 200, generator=torch.Generator().manual_seed(2))
    attr, info = attribution.integrated_gradients(model, x, 1)
    assert info["steps"] in attribution.DEFAULT.ig_step_ladder
    assert info["converged"] and info["relative_error"] <= 0.05
    with torch.no_grad():
        gap = float(model(x)[0, 1] - model(torch.zeros_like(x))[0, 1])
    assert info["gap"] == pytest.approx(gap, rel=1e-4, abs=1e-6)
    assert info["delta"] == pytest.approx(abs(float(attr.sum()) - gap), rel=1e-3, abs=1e-6)
    fixed, fixed_info = attribution.integrated_gradients(model, x, 1, n_steps=4)
    assert fixed_info["steps"] == 4 and fixed.shape == x.shape


def test_deletion_curves_follow_the_evidence():
    t = 3200
    model = TimeWeighted(t)
    x = torch.ones(1, 1, t) * 0.5
    attr = torch.zeros_like(x)
    attr[..., : t // 2] = 1.0  # the truth for class 1: its evidence is the first half
    attr[..., t // 2:] = -1.0
    c = trust.deletion_curves(model, x, attr, target=1)
    assert c["fractions"] == list(trust.CURVE_FRACTIONS)
    dm, dl = c["deletion"]["most"], c["deletion"]["least"]
    assert dm[0] == dl[0] == pytest.approx(c["p_orig"])
    assert all(b <= a + 1e-6 for a, b in zip(dm, dm[1:]))  # removing evidence only lowers it
    assert c["areas"]["deletion_most"] < c["areas"]["deletion_least"]
    assert c["areas"]["insertion_most"] > c["areas"]["insertion_least"]
    assert c["beats_least"] and c["margin"] > 0
    reversed_map = trust.deletion_curves(model, x, -attr, target=1)  # a map that points the wrong way
    assert not reversed_map["beats_least"]
    with pytest.raises(ValueError, match="fractions"):
        trust.deletion_curves(model, x, attr, target=1, fractions=(0.1, 0.2))
    with pytest.raises(ValueError, match="does not match"):
        trust.deletion_curves(model, x, attr[..., :10], target=1)


def test_randomisation_leaves_the_model_alone_and_changes_the_map():
    model, x = Small(), torch.randn(1, 1, 400, generator=torch.Generator().manual_seed(3))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    check = trust.randomisation_check(model, x, "input_x_gradient", 0)
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert [name for group in check["stages"] for name in group] == ["head", "conv"]
    assert len(check["rank_correlation"]) == len(check["stages"]) == len(check["rank_correlation_abs"])
    assert all(-1.0 <= v <= 1.0 for v in check["rank_correlation"] + check["rank_correlation_abs"])
    assert check["randomised"].shape == x.shape
    again = trust.randomisation_check(model, x, "input_x_gradient", 0)
    assert again["rank_correlation"] == check["rank_correlation"]  # seeded: the same clip, the same check
    assert trust.rank_correlation(x, x) == pytest.approx(1.0)
    assert trust.rank_correlation(x, -x) == pytest.approx(-1.0)
    assert trust.rank_correlation(torch.ones(5), x.flatten()[:5]) == 0.0  # constant: no ranking


def test_method_agreement_is_a_symmetric_matrix():
    rng = np.random.default_rng(0)
    a = rng.random(100)
    res = trust.method_agreement({"m1": a, "m2": a[::-1].copy(), "m3": a * 2})
    m = np.asarray(res["matrix"])
    assert res["methods"] == ["m1", "m2", "m3"]
    assert np.allclose(np.diag(m), 1.0) and np.allclose(m, m.T)
    assert m[0, 2] == pytest.approx(1.0)


@pytest.mark.slow
def test_analysis_reports_on_sound_share_curves_and_convergence(tiny_set, wav_file):
    from explainer.audio import load
    from explainer.pretrained import load_set

    ms = load_set("tiny", root=tiny_set.parent)
    a = analysis.analyze(load(wav_file), ms, ("input_x_gradient", "integrated_gradients"), curves=True)
    report = a.to_dict()
    assert a.methods[0] == "input_x_gradient" and report["methods"][0] == "input_x_gradient"
    assert list(report["models"]) == list_models()
    assert 0.0 <= report["sounding_share"] <= 1.0
    for arch, entry in report["models"].items():
        first = entry["attributions"]["input_x_gradient"]
        assert 0.0 <= first["on_sound"] <= 1.0
        assert set(first["curves"]["areas"]) == {"deletion_most", "deletion_least", "insertion_most",
                                                 "insertion_least"}
        ig = entry["attributions"]["integrated_gradients"]["convergence"]
        assert ig["steps"] in attribution.DEFAULT.ig_step_ladder and ig["relative_error"] >= 0.0
    assert analysis.DEFAULT_METHODS[0] == "input_x_gradient"
    later = analysis.add_curves(analysis.analyze(load(wav_file), ms, ("input_x_gradient",)), ms, "saliency")
    assert list(later.models) == list_models()
    for r in later.models.values():  # curves of a method the analysis had not run: its map is made first
        assert "saliency" in r.attributions and set(r.curves) == {"saliency"}
        assert 0.0 <= r.on_sound["saliency"] <= 1.0  # kept like every map the analysis makes


# ---------------------------------------------------------------- the shipped set on a real recording

needs_room = pytest.mark.skipif(not (CARD.is_file() and ROOM.is_file()),
                                reason="needs pretrained/sound-types and examples/speech_room.wav")


@pytest.fixture(scope="module")
def room():
    from explainer.audio import load
    from explainer.pretrained import load_set

    ms = load_set()
    return analysis.analyze(load(ROOM), ms, ("input_x_gradient", "saliency", "gradcam"), curves=True), ms


@pytest.mark.weights
@needs_room
def test_the_room_example_has_pauses(room):
    a, _ = room
    assert 0.3 < a.sounding_share < 0.7  # words and pauses, about half and half


# On speech_room.wav, input x gradient (measured from the room for the spectrogram inputs, from digital
# silence for the waveform) puts 0.88-0.97 of its positive time mass on the sounding half of the clip for
# five models; the waveform, spectrogram and LFCC CNNs learnt to leave the pauses alone in training (pause
# consistency). The LFCC CNN still falls short of the 0.80 the product asks for (0.78): its map is faithful
# to a model that counts the room between the words as evidence. The fix belongs in training, so the
# target is marked here, strictly, until it meets it.
_LEANS_ON_PAUSES = {"lfcc_cnn"}


@pytest.mark.weights
@needs_room
@pytest.mark.parametrize("arch", list_models())
def test_the_default_map_sits_on_the_sound(room, arch):
    a, _ = room
    r = a.models[arch]
    share = r.on_sound[a.methods[0]]
    assert share > a.sounding_share + 0.05, (arch, share, a.sounding_share)  # well above chance
    assert share > r.on_sound["saliency"], (arch, share, r.on_sound["saliency"])  # contribution beats sensitivity


@pytest.mark.weights
@needs_room
@pytest.mark.parametrize("arch", [pytest.param(a, marks=pytest.mark.xfail(strict=True, reason="leans on the pauses"))
                                  if a in _LEANS_ON_PAUSES else a for a in list_models()])
def test_the_default_map_meets_the_on_sound_target(room, arch):
    a, _ = room
    assert a.models[arch].on_sound[a.methods[0]] >= 0.80


@pytest.mark.weights
@needs_room
def test_the_spectrogram_models_measure_from_the_room(room):
    a, _ = room
    assert list(a.models) == list_models()
    for arch, r in a.models.items():
        assert r.reference_kind == ("silence" if r.input_kind == "waveform" else "room"), arch


@pytest.mark.weights
@needs_room
@pytest.mark.parametrize("arch", list_models())
def test_deleting_the_most_relevant_time_hurts_more(room, arch):
    a, _ = room
    areas = a.models[arch].curves[a.methods[0]]["areas"]
    assert areas["deletion_most"] < areas["deletion_least"], areas


@pytest.mark.weights
@pytest.mark.slow
@needs_room
@pytest.mark.parametrize("arch", list_models())
def test_randomised_maps_no_longer_match(room, arch):
    a, ms = room
    r = a.models[arch]
    check = analysis.sanity_check(ms, arch, r.x, a.methods[0], r.target, trained=r.attributions[a.methods[0]])
    assert check["final"] < 0.5, check["rank_correlation"]
