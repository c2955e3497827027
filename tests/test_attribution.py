"""explainer.attribution and explainer.listen: every method on every architecture, checked
against hand-computed gradients on tiny models, plus the sanity checks that need trained weights.

Clips are seeded noise plus a tone, made here; random-init models are enough for the shape,
hook, determinism and mapping checks. The trained-model checks skip until
``pretrained/sound-types/`` and ``examples/`` exist.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from explainer.attribution import METHODS, attribute, reference_input, time_curve
from explainer.trust import deletion_check
from explainer.features import time_grid
from explainer.listen import resynthesize
from explainer.models import build, list_models

ROOT = Path(__file__).resolve().parent.parent
SR = 16000
SECONDS = 1.2
# cheap settings; the defaults (32 IG steps, 12 SmoothGrad samples) are what the app and the bench run
FAST = {
    "integrated_gradients": {"n_steps": 4},
    "smoothgrad": {"nt_samples": 2},
    "occlusion": {},  # each model's own windows, except the ViT's 49 forward passes
}
COARSE = {  # occlusion windows for the silence sweep, a handful of forwards each
    "waveform": (1, 4000), "mel64": (1, 32, 25), "mel128x128": (1, 64, 64), "lfcc": (1, 25, 90),
    "mel_seq": (32, 25), "mel224": (3, 112, 112),
}


def clip(seconds: float = SECONDS, seed: int = 0) -> torch.Tensor:
    """(1, 1, T): a 440 Hz tone in the second half over quiet seeded noise."""
    g = torch.Generator().manual_seed(seed)
    n = int(SR * seconds)
    t = torch.arange(n) / SR
    tone = 0.4 * torch.sin(2 * torch.pi * 440 * t) * (t >= seconds / 2)
    return (tone + 0.03 * torch.randn(n, generator=g)).view(1, 1, n)


def options(method: str, kind: str, coarse: bool = False) -> dict:
    if method == "occlusion" and (coarse or kind == "mel224"):
        return {"window": COARSE[kind], "stride": COARSE[kind]}
    return FAST.get(method, {})


@pytest.fixture(scope="module")
def models() -> dict[str, nn.Module]:
    """Seeded random-init models, frozen like the loader freezes them."""
    out = {}
    for name in list_models():
        torch.manual_seed(0)
        m = build(name).eval()
        for p in m.parameters():
            p.requires_grad_(False)
        out[name] = m
    return out


@pytest.fixture(scope="module")
def inputs(models) -> dict[str, torch.Tensor]:
    wave = clip()
    with torch.no_grad():
        return {name: m.front_end(wave) for name, m in models.items()}


def hook_counts(model: nn.Module) -> list[int]:
    return [
        len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks) + len(m._backward_pre_hooks)
        for m in model.modules()
    ]


# ---------------------------------------------------------------- every method, every model


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("name", list_models())
def test_method_on_model(models, inputs, name, method):
    model, x = models[name], inputs[name]
    before = hook_counts(model)
    attr = attribute(model, x, method, **options(method, model.input_kind))
    assert attr.shape == x.shape
    assert not attr.requires_grad
    assert torch.isfinite(attr).all()
    if method == "gradcam":
        # a random network may hold no positive evidence for its top class at the cam layer;
        # Grad-CAM then rightly gives zeros, so ask that some class gets a map
        attr = max((attribute(model, x, method, target=c) for c in range(model.n_classes)), key=lambda a: a.sum())
    assert attr.abs().sum() > 0, f"{method} on {name} gave an all-zero map"
    assert hook_counts(model) == before, "hooks left on the model"
    assert not x.requires_grad, "the caller's input was changed"
    curve = time_curve(attr, model.input_kind, int(SR * SECONDS))
    assert curve.shape == (int(SR * SECONDS) // 160 + 1,)
    assert np.isfinite(curve).all() and curve.max() == pytest.approx(1.0)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("name", list_models())
def test_digital_silence_is_finite(models, name, method):
    model = models[name]
    with torch.no_grad():
        x = model.front_end(torch.zeros(1, 1, SR // 2))
    assert torch.isfinite(x).all()
    attr = attribute(model, x, method, **options(method, model.input_kind, coarse=True))
    assert attr.shape == x.shape and torch.isfinite(attr).all()
    curve = time_curve(attr, model.input_kind, SR // 2)
    assert np.isfinite(curve).all()


@pytest.mark.parametrize("mode", [torch.no_grad, torch.inference_mode])
def test_works_inside_no_grad_and_inference_mode(models, mode):
    model = models["spectrogram_cnn"]
    with mode():
        x = model.front_end(clip())
        attr = attribute(model, x, "gradcam")
        sal = attribute(model, x, "saliency")
    assert attr.shape == x.shape and sal.abs().sum() > 0


def test_gradcam_on_lfcc_keeps_the_grid(models, inputs):
    x = inputs["lfcc_cnn"]
    frames = int(SR * SECONDS) // 160 + 1
    assert x.shape == (1, 1, frames, 180)
    cam = attribute(models["lfcc_cnn"], x, "gradcam")
    assert cam.shape == (1, 1, frames, 180)
    assert (cam >= 0).all() and cam.sum() > 0


def test_gradcam_broadcasts_over_vit_channels_and_tcn_bands(models, inputs):
    # all-zero maps would be equal everywhere, so each must hold something first
    cam = attribute(models["spectrogram_vit"], inputs["spectrogram_vit"], "gradcam")
    assert cam.abs().sum() > 0
    assert torch.equal(cam[:, 0], cam[:, 1]) and torch.equal(cam[:, 0], cam[:, 2])
    cam = attribute(models["tcn"], inputs["tcn"], "gradcam")
    assert cam.abs().sum() > 0
    assert torch.equal(cam, cam[:, :1].expand_as(cam))


def test_explicit_target_and_bad_method(models, inputs):
    model, x = models["spectrogram_cnn"], inputs["spectrogram_cnn"]
    a0 = attribute(model, x, "saliency", target=0)
    a1 = attribute(model, x, "saliency", target=1)
    assert not torch.equal(a0, a1)
    with pytest.raises(ValueError, match="valid methods"):
        attribute(model, x, "lime")
    with pytest.raises(ValueError, match="out of range"):
        attribute(model, x, "saliency", target=99)


# ---------------------------------------------------------------- tiny models, exact answers


class TinyMLP(nn.Module):
    """4 -> 3 -> ReLU -> 2, with weights written by hand."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 3)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(3, 2)
        with torch.no_grad():
            self.fc1.weight.copy_(torch.tensor([[1.0, -2.0, 0.5, 0.0], [0.0, 1.0, 1.0, -1.0], [-1.0, 0.0, 0.0, 2.0]]))
            self.fc1.bias.copy_(torch.tensor([0.1, -0.2, 0.3]))
            self.fc2.weight.copy_(torch.tensor([[2.0, -1.0, 0.5], [-0.5, 1.5, 1.0]]))
            self.fc2.bias.zero_()

    def forward(self, x):
        return self.fc2(self.relu(self.fc1(x)))


@pytest.mark.parametrize("target", [0, 1])
def test_saliency_matches_hand_computed_gradient(target):
    model = TinyMLP()
    x = torch.tensor([[0.7, 0.2, -0.4, 0.9]])
    # d logit_t / d x = W2[t] . diag(relu'(W1 x + b1)) . W1
    w1, b1 = model.fc1.weight.detach().numpy(), model.fc1.bias.detach().numpy()
    w2 = model.fc2.weight.detach().numpy()
    active = (w1 @ x[0].numpy() + b1 > 0).astype(np.float32)
    grad = (w2[target] * active) @ w1
    attr = attribute(model, x, "saliency", target=target)
    np.testing.assert_allclose(attr[0].numpy(), np.abs(grad), rtol=1e-6, atol=1e-7)  # Saliency gives |grad|
    assert all(p.grad is None for p in model.parameters()), "parameters must not collect gradients"


def test_linear_integrated_gradients_and_occlusion_are_exact():
    torch.manual_seed(1)
    model = nn.Linear(6, 3)
    x = torch.randn(1, 6)
    w = model.weight.detach()[2]
    expected = (x[0] - x.min()) * w  # the reference input is the quietest (smallest) cell
    ig = attribute(model, x, "integrated_gradients", target=2)
    occ = attribute(model, x, "occlusion", target=2)  # one cell at a time outside the registry
    torch.testing.assert_close(ig[0], expected, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(occ[0], expected, rtol=1e-4, atol=1e-5)


def test_frozen_and_trainable_parameters_give_the_same_map():
    model = TinyMLP()
    x = torch.tensor([[0.3, -0.1, 0.8, 0.2]])
    free = attribute(model, x, "integrated_gradients", target=1, n_steps=8)
    for p in model.parameters():
        p.requires_grad_(False)
    frozen = attribute(model, x, "integrated_gradients", target=1, n_steps=8)
    assert torch.equal(free, frozen)


class Exploding(nn.Module):
    """A tiny CNN whose head fails after Grad-CAM's layer has run."""

    input_kind = "mel64"
    cam_layer = "conv"

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.head = nn.Linear(4, 2)

    def forward(self, x):
        self.conv(x)
        raise RuntimeError("boom")


@pytest.mark.parametrize("method", METHODS)
def test_hooks_removed_after_a_failing_call(method):
    model = Exploding()
    x = torch.randn(1, 1, 64, 20)
    before = hook_counts(model)
    with pytest.raises(RuntimeError, match="boom"):
        attribute(model, x, method, target=0, n_steps=2, nt_samples=2, window=(1, 32, 10), stride=(1, 32, 10))
    assert hook_counts(model) == before


def test_hooks_removed_when_a_registry_model_refuses_the_input(models):
    model = models["baseline_cnn"]
    before = hook_counts(model)
    with pytest.raises(ValueError, match="expected"):
        attribute(model, torch.zeros(1, 1, 64, 64), "gradcam", target=0)
    assert hook_counts(model) == before


def test_smoothgrad_is_deterministic_and_leaves_the_global_rng(models, inputs):
    model, x = models["spectrogram_cnn"], inputs["spectrogram_cnn"]
    torch.manual_seed(123)
    state = torch.get_rng_state()
    a = attribute(model, x, "smoothgrad", nt_samples=3)
    b = attribute(model, x, "smoothgrad", nt_samples=3)
    assert torch.equal(a, b)
    assert torch.equal(torch.get_rng_state(), state)
    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.set_rng_state(state)
    attribute(model, x, "smoothgrad", nt_samples=3)
    assert torch.equal(torch.rand(1), expected_next)


def test_concurrent_calls_on_a_shared_model_agree_with_sequential_ones(models, inputs):
    from concurrent.futures import ThreadPoolExecutor

    model, x = models["tcn"], inputs["tcn"]
    jobs = [("gradcam", {}), ("saliency", {}), ("smoothgrad", {"nt_samples": 2}), ("gradcam", {"target": 1})] * 2
    alone = [attribute(model, x, m, **kw) for m, kw in jobs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(lambda job: attribute(model, x, job[0], **job[1]), jobs))
    for a, b in zip(alone, together):
        assert torch.equal(a, b)
    assert all(n == 0 for n in hook_counts(model))


def test_reference_input_is_quiet():
    x = torch.randn(2, 1, 64, 30)
    ref = reference_input(x, "mel64")
    assert torch.equal(ref[0], torch.full_like(ref[0], float(x[0].min())))
    assert torch.equal(reference_input(x[:, :, 0], "waveform"), torch.zeros_like(x[:, :, 0]))
    grid = torch.randn(1, 1, 30, 180)
    ref = reference_input(grid, "lfcc")
    quiet = int(grid[0, 0, :, 0].argmin())
    assert torch.equal(ref[0, 0, 5, :60], grid[0, 0, quiet, :60])
    assert (ref[..., 60:] == 0).all()


def test_quiet_pauses_sets_only_the_pauses_to_the_maps_reference():
    from explainer.attribution import background_reference, quiet_pauses

    n = SR  # 101 steps of 10 ms; the clip sounds in steps 30-69
    steps = np.zeros(n // 160 + 1, dtype=bool)
    steps[30:70] = True
    grid = torch.randn(1, 1, 101, 180)
    quiet = quiet_pauses(grid, "lfcc", steps, n)
    ref = background_reference(grid, "lfcc", steps, n)
    assert torch.equal(quiet[:, :, 30:70], grid[:, :, 30:70])  # the sound is untouched
    assert torch.equal(quiet[:, :, :30], ref[:, :, :30]) and torch.equal(quiet[:, :, 70:], ref[:, :, 70:])
    assert (quiet[:, :, :30, 60:] == 0).all()  # a room held still has no deltas
    wave = torch.randn(1, 1, n)
    quiet = quiet_pauses(wave, "waveform", steps, n)
    assert (quiet[..., : 29 * 160] == 0).all() and (quiet[..., 71 * 160 :] == 0).all()  # digital silence
    assert torch.equal(quiet[..., 31 * 160 : 69 * 160], wave[..., 31 * 160 : 69 * 160])
    mixed = quiet_pauses(grid, "lfcc", steps, n, generator=torch.Generator().manual_seed(0))
    ref = background_reference(grid, "lfcc", steps, n)
    assert torch.equal(mixed[:, :, 30:70], grid[:, :, 30:70])
    pause = list(range(30)) + list(range(70, 101))
    quieted = [j for j in pause if torch.equal(mixed[0, 0, j], ref[0, 0, j])]
    reversed_ = [j for j in pause if torch.allclose(mixed[0, 0, j], 2 * ref[0, 0, j] - grid[0, 0, j])]
    assert sorted(quieted + reversed_) == pause and 15 < len(quieted) < 46  # each moment one or the other
    steps[:] = True  # a clip that sounds throughout has no pauses to quiet
    assert torch.equal(quiet_pauses(wave, "waveform", steps, n), wave)


# ---------------------------------------------------------------- time curves


def test_time_curve_follows_the_waveform_attribution():
    n = 32000
    attr = torch.zeros(1, 1, n)
    attr[..., 20000:26000] = torch.randn(6000).abs() + 0.1
    curve = time_curve(attr, "waveform", n)
    assert curve.shape == (n // 160 + 1,) and curve.dtype == np.float32
    assert np.isfinite(curve).all() and curve.max() == pytest.approx(1.0)
    half = curve.size // 2
    assert curve[half:].sum() > 0.99 * curve.sum()
    on = np.nonzero(curve)[0]
    assert abs(on[0] * 0.01 - 20000 / SR) <= 0.01 and abs(on[-1] * 0.01 - 26000 / SR) <= 0.01


def test_positive_curve_sums_each_moment_before_it_looks_at_the_sign():
    from explainer.attribution import positive_curve

    attr = torch.zeros(1, 1, 64, 101)
    attr[0, 0, :32, 10:20] = 1.0  # a pause whose cells cancel: +1 and -1 in every column
    attr[0, 0, 32:, 10:20] = -1.0
    attr[0, 0, :8, 50:60] = 1.0  # a moment that adds to the score, net
    attr[0, 0, :8, 80:90] = -1.0  # and one that takes from it
    curve = positive_curve(attr, "mel64", SR)
    assert curve[50:60].min() == pytest.approx(1.0) and curve.sum() == pytest.approx(10.0)
    assert not curve[10:20].any() and not curve[80:90].any()
    assert time_curve(attr, "mel64", SR)[10:20].min() == pytest.approx(1.0)  # the mass of |attr| is all there
    wave = torch.zeros(1, 1, SR)
    wave[..., 1600:3200] = torch.tensor([1.0, -1.0]).repeat(800)  # cancels within each 10 ms (to half a sample at its edges)
    wave[..., 8000:9600] = 0.5
    curve = positive_curve(wave, "waveform", SR)
    assert curve[:45].max() < 0.01 and curve[51:59].min() == pytest.approx(1.0)


def test_time_curve_all_zero_stays_zero():
    curve = time_curve(torch.zeros(1, 1, 64, 101), "mel64", SR)
    assert curve.shape == (101,) and not curve.any()


def test_time_curve_drops_padding_of_short_128_input():
    n = SR  # 1 s -> 32 real frames of 32 ms, then 96 padded ones
    attr = torch.ones(1, 1, 128, 128)
    curve = time_curve(attr, "mel128x128", n)
    assert curve.shape == (101,)
    assert curve[5:95].min() > 0.9  # real frames spread evenly over the clip
    attr[..., :32] = 0  # only padding is attributed
    assert not time_curve(attr, "mel128x128", n).any()


def test_time_curve_leaves_cropped_parts_of_long_clips_at_zero():
    n = 8 * SR
    start, step, steps = time_grid("mel128x128", n)
    curve = time_curve(torch.ones(1, 1, 128, 128), "mel128x128", n)
    first, last = np.nonzero(curve)[0][[0, -1]]
    assert abs(first * 0.01 - (start - step / 2)) <= 0.011
    assert abs(last * 0.01 - (start + (steps - 0.5) * step)) <= 0.011
    assert not curve[: int(start / 0.01) - 2].any() and not curve[int((start + steps * step) / 0.01) + 2 :].any()


@pytest.mark.parametrize(
    "kind,shape", [("lfcc", (1, 1, 101, 180)), ("mel_seq", (1, 64, 101)), ("mel224", (1, 3, 224, 224))]
)
def test_time_curve_time_axis_of_each_kind(kind, shape):
    attr = torch.zeros(shape)
    if kind == "lfcc":
        attr[:, :, 60:, :] = 1.0
    else:
        attr[..., shape[-1] * 6 // 10 :] = 1.0
    curve = time_curve(attr, kind, SR)
    assert curve.shape == (101,)
    assert curve[:55].sum() < 0.02 * curve.sum()


# ---------------------------------------------------------------- deletion


def test_deletion_check_on_every_model(models, inputs):
    for name, model in models.items():
        x = inputs[name]
        attr = attribute(model, x, "saliency")
        result = deletion_check(model, x, attr, target=int(model(x).argmax()))
        assert set(result) == {"p_orig", "p_top_removed", "p_random_removed", "drop_top", "drop_random", "score"}
        assert all(np.isfinite(v) for v in result.values()), (name, result)
        assert result["score"] == pytest.approx(result["drop_top"] - result["drop_random"])


def test_deletion_finds_the_one_strong_input():
    torch.manual_seed(0)
    model = nn.Linear(20, 2)
    with torch.no_grad():
        model.weight.mul_(0.05)
        model.weight[0, 7] = 6.0
        model.bias.zero_()
    x = torch.rand(1, 20)
    x[0, 7] = 1.0
    attr = attribute(model, x, "integrated_gradients", target=0)
    assert int(attr.abs().argmax()) == 7
    for control in ("shift", "scatter"):
        result = deletion_check(model, x, attr, target=0, fraction=0.1, n_random=3, seed=0, control=control)
        assert result["drop_top"] > 0.3  # logit 0 falls from about 6 to about 6 * min(x)
        assert result["drop_top"] > result["drop_random"] + 0.1
    assert deletion_check(model, x, attr, target=0) == deletion_check(model, x, attr, target=0)
    with pytest.raises(ValueError, match="control"):
        deletion_check(model, x, attr, target=0, control="blur")


def test_deletion_removes_evidence_for_the_target_first():
    # cell 3 is strong evidence for class 0, cell 11 stronger evidence against it
    model = nn.Linear(20, 2)
    with torch.no_grad():
        model.weight.zero_()
        model.bias.zero_()
        model.weight[0, 3], model.weight[0, 11] = 4.0, -6.0
    x = torch.zeros(1, 20)
    x[0, 3], x[0, 11] = 1.0, 1.0
    attr = attribute(model, x, "integrated_gradients", target=0)  # reference input: the minimum, 0 here
    assert attr[0, 3] > 0 > attr[0, 11] and attr[0, 11].abs() > attr[0, 3]
    result = deletion_check(model, x, attr, target=0, fraction=0.05, n_random=3)  # one cell of 20
    assert result["p_top_removed"] < result["p_orig"]  # cell 3 went, not cell 11
    assert result["drop_top"] > 0.1


def test_deletion_controls_remove_as_many_cells_as_the_map():
    """A model that counts removed cells: every variant must lose exactly the same number."""

    class CountQuiet(nn.Module):
        input_kind = "mel64"

        def forward(self, x):
            quiet = (x == x.flatten(1).amin(dim=1).view(-1, 1, 1, 1)).float().mean(dim=(1, 2, 3))
            return torch.stack([quiet * 10, torch.zeros_like(quiet)], dim=1)

    x = torch.rand(1, 1, 64, 50) + 0.5
    x[0, 0, 0, 0] = 0.0  # the single quietest cell
    attr = torch.zeros_like(x)
    attr[..., 10:20, 5:15] = 1.0
    attr[0, 0, 0, 0] = 0.5
    for control in ("shift", "scatter"):
        r = deletion_check(CountQuiet(), x, attr, target=0, fraction=0.05, control=control)
        assert r["p_top_removed"] == pytest.approx(r["p_random_removed"], abs=1e-3), control


# ---------------------------------------------------------------- hear the explanation


@pytest.mark.parametrize("name", list_models())
def test_resynthesis_keeps_all_or_nothing(models, inputs, name):
    wave = clip()[0]
    kind = models[name].input_kind
    attr = torch.rand(inputs[name].shape, generator=torch.Generator().manual_seed(0))
    full = resynthesize(wave, attr, kind, keep=1.0)
    assert full.audio.shape == (wave.shape[-1],) and full.audio.dtype == np.float32
    np.testing.assert_allclose(full.audio, wave[0].numpy(), atol=1e-4)
    nothing = resynthesize(wave, attr, kind, keep=0.0)
    assert np.abs(nothing.audio).max() < 1e-6
    part = resynthesize(wave, attr, kind, keep=0.2)
    assert np.isfinite(part.audio).all() and np.abs(part.audio).max() <= 1.0
    assert part.audio.shape == (wave.shape[-1],)
    assert 0.1 < part.kept_fraction <= 0.21
    assert part.mask.shape == (257, wave.shape[-1] // 160 + 1)
    if kind in ("waveform", "lfcc"):  # no frequency in the map: whole frames are kept
        assert np.allclose(part.mask, part.mask[:1])


def test_resynthesis_keeps_the_attributed_band():
    n = SR
    t = torch.arange(n) / SR
    wave = (0.3 * torch.sin(2 * torch.pi * 300 * t) + 0.3 * torch.sin(2 * torch.pi * 6000 * t)).view(1, n)
    attr = torch.zeros(1, 1, 64, n // 160 + 1)
    attr[:, :, 56:60, :] = 1.0  # only the mel bands around 6 kHz (about 5.4-6.6 kHz centres)
    out = resynthesize(wave, attr, "mel64", keep=0.3).audio
    spectrum = np.abs(np.fft.rfft(out))
    hz = np.fft.rfftfreq(n, 1 / SR)
    assert spectrum[np.argmin(np.abs(hz - 6000))] > 100 * spectrum[np.argmin(np.abs(hz - 300))]


def test_resynthesis_of_silence_and_padding():
    silent = resynthesize(torch.zeros(1, SR), torch.zeros(1, 1, 128, 128), "mel128x128", keep=0.5)
    assert np.isfinite(silent.audio).all() and not silent.audio.any() and silent.energy_kept == 0.0
    attr = torch.zeros(1, 1, 128, 128)
    attr[..., 40:] = 1.0  # padding of a 1 s clip names no real sound
    padded = resynthesize(clip(1.0)[0], attr, "mel128x128", keep=0.5)
    assert padded.kept_fraction == 0.0 and not padded.audio.any()


# ---------------------------------------------------------------- trained weights (skip until shipped)

CARD = ROOT / "pretrained" / "sound-types" / "card.json"
EXAMPLES = ROOT / "examples"
needs_weights = pytest.mark.skipif(not CARD.is_file(), reason="pretrained/sound-types/card.json is not built yet")


def example_waves(max_clips: int = 5, max_seconds: float = 3.2, per_class: int = 1) -> list[torch.Tensor]:
    """``(1, 1, T)`` example clips with something to delete: ``per_class`` clips of each class but silence."""
    import json

    from explainer.audio import load

    index = EXAMPLES / "examples.json"
    if index.is_file():
        chosen: dict[str, list[str]] = {}
        for entry in json.loads(index.read_text()).get("clips", []):
            paths = chosen.setdefault(entry.get("label", ""), [])
            if len(paths) < per_class:
                paths.append(entry["path"])
        files = [EXAMPLES / path for label, paths in chosen.items() if label != "silence" for path in paths]
    else:
        files = sorted(p for p in EXAMPLES.glob("*.wav") if not p.name.startswith(("silence", "sequence")))
    files = [p for p in files if p.is_file()]
    if not files:
        pytest.skip("examples/ holds no clips yet")
    return [load(p, max_seconds=max_seconds).waveform[None] for p in files[:max_clips]]


def trained_model(trained, name: str) -> nn.Module:
    if name not in trained.models:
        pytest.skip(f"the sound-types set has no {name} yet")
    return trained.models[name]


@pytest.fixture(scope="module")
def trained():
    from explainer.pretrained import load_set

    return load_set()


@pytest.mark.weights
@needs_weights
@pytest.mark.parametrize("method", ["saliency", "gradcam"])
@pytest.mark.parametrize("name", list_models())
def test_randomised_weights_change_the_map(trained, name, method):
    """Adebayo et al. 2018: a map that survives re-initialising every weight explains nothing."""
    from scipy.stats import spearmanr

    model = trained_model(trained, name)
    wave = example_waves(max_clips=1)[0]
    torch.manual_seed(0)
    fresh = build(name, n_classes=len(trained.classes)).eval()
    with torch.no_grad():
        x = model.front_end(wave)
        target = int(model(x).argmax())
    a = attribute(model, x, method, target=target).abs().flatten().numpy()
    b = attribute(fresh, x, method, target=target).abs().flatten().numpy()
    assert np.ptp(a) > 0, f"{name} {method}: the trained map is flat, so it ranks nothing"
    # a flat map from the random model keeps nothing of the trained ranking (its correlation is undefined)
    rho = spearmanr(a, b).statistic if np.ptp(b) > 0 else 0.0
    assert rho < 0.5, f"{name} {method}: rank correlation {rho:.2f} with a random model"


# Measured on the shipped set: the spectrogram CNN's and the ViT's Grad-CAM point away from what the
# models use on some examples: the mean deletion score over the ten examples is below zero, pulled down
# by two at -0.52 and -0.25 (spectrogram CNN) and two at -0.20 and -0.33 (ViT).
# Grad-CAM reads one coarse layer and is not a default map; strict, so a mark must go as soon as the
# map is faithful again (the beginner CNN's went when the set was retrained).
_UNFAITHFUL_GRADCAM = {"spectrogram_cnn", "spectrogram_vit"}


@pytest.mark.weights
@pytest.mark.slow
@needs_weights
@pytest.mark.parametrize("method", ["integrated_gradients", "gradcam"])
@pytest.mark.parametrize("name", list_models())
def test_deleting_top_cells_hurts_more_than_random(trained, name, method, request):
    if method == "gradcam" and name in _UNFAITHFUL_GRADCAM:
        request.applymarker(pytest.mark.xfail(strict=True, reason=f"{name} Grad-CAM is not faithful on the "
                                              "retrained set (mean deletion score below zero)"))
    model = trained_model(trained, name)
    scores = []
    # every non-silent example (two per class, all from held-out sources), with the app's own settings
    for wave in example_waves(max_clips=10, per_class=2):
        with torch.no_grad():
            x = model.front_end(wave)
            target = int(model(x).argmax())
        attr = attribute(model, x, method, target=target)
        scores.append(deletion_check(model, x, attr, target, fraction=0.2, n_random=3)["score"])
    assert float(np.mean(scores)) > 0, f"{name} {method}: deletion scores {np.round(scores, 3).tolist()}"
