"""Registry-driven checks of every architecture and of the layer trace."""

import pytest
import torch

from explainer.inspect import trace
from explainer.models import build, list_models, model_class
from helpers import tone_and_noise

NAMES = ["waveform_cnn", "spectrogram_cnn", "baseline_cnn", "lfcc_cnn", "tcn", "spectrogram_vit"]


def test_registry_order_and_unknown_name():
    assert list_models() == NAMES
    with pytest.raises(KeyError, match="valid names"):
        build("resnet")


@pytest.mark.parametrize("name", NAMES)
def test_logits_shape_and_finite(name):
    model = build(name, n_classes=5).eval()
    x = model.front_end(tone_and_noise(1.6).repeat(2, 1, 1))
    logits = model(x)
    assert tuple(logits.shape) == (2, 5)
    assert torch.isfinite(logits).all()


def _three_clips() -> torch.Tensor:
    """(3, 1, samples): a tone over noise, the same 20 dB quieter with other noise, and louder noise alone."""
    noise = torch.randn(1, 1, 25600, generator=torch.Generator().manual_seed(7))
    return torch.cat([tone_and_noise(1.6, seed=1), 0.1 * tone_and_noise(1.6, seed=2), 0.2 * noise])


@pytest.mark.parametrize("name", list_models())
def test_batch_gives_each_clip_the_answer_it_gets_alone(name):
    """In eval mode no clip of a batch changes another's answer: front-ends, BatchNorm, pooling and
    attention all work one clip at a time, so a batched request gives what three requests give."""
    torch.manual_seed(0)
    model = build(name).eval()
    clips = _three_clips()
    with torch.no_grad():
        alone_x = [model.front_end(clips[i:i + 1]) for i in range(3)]
        # random weights can give three clips logits only 2e-4 apart (the waveform CNN), too close to
        # the tolerance for a batch that mixes clips to show; scaling the last layer spreads them to
        # about 1 (it scales every difference made upstream alike)
        alone = torch.cat([model(xi) for xi in alone_x])
        model.head.weight.mul_(1.0 / float((alone - alone.mean(0)).abs().max()))
        x = model.front_end(clips)
        batch, alone = model(x), torch.cat([model(xi) for xi in alone_x])
        assert tuple(batch.shape) == (3, 6)
        assert float((alone - alone.mean(0)).abs().max()) > 0.5  # three different answers to compare
        torch.testing.assert_close(batch, alone, atol=1e-4, rtol=1e-4)
        if model_class(name).frame_level:
            frames, frames_alone = model.frame_logits(x), torch.cat([model.frame_logits(xi) for xi in alone_x])
            assert tuple(frames.shape) == (3, 6, 161)
            torch.testing.assert_close(frames, frames_alone, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("name", NAMES)
def test_every_parameter_gets_a_gradient(name):
    torch.manual_seed(0)
    model = build(name).train()
    x = model.front_end(torch.cat([tone_and_noise(1.6, seed=s) for s in range(2)]))
    model(x).logsumexp(1).sum().backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, f"{name}.{pname} got no gradient"


@pytest.mark.parametrize("name", NAMES)
def test_no_inplace_or_shared_activations(name):
    model = build(name)
    acts = [m for m in model.modules() if isinstance(m, (torch.nn.ReLU, torch.nn.GELU))]
    assert acts, f"{name} has no activation modules to check"
    assert all(not getattr(m, "inplace", False) for m in acts)
    assert len({id(m) for m in acts}) == len(acts)


@pytest.mark.parametrize("name", NAMES)
def test_front_end_is_differentiable(name):
    model = build(name).eval()
    wave = tone_and_noise(1.6).requires_grad_(True)
    model(model.front_end(wave))[0, 0].backward()
    assert wave.grad is not None and torch.isfinite(wave.grad).all()
    assert wave.grad.abs().sum() > 0, f"no gradient reaches the waveform through {name}'s front-end"


def test_tcn_frame_logits_shape_and_clip_mean():
    model = build("tcn", n_classes=5).eval()
    x = model.front_end(torch.cat([tone_and_noise(1.6, seed=s) for s in range(2)]))
    assert tuple(x.shape) == (2, 64, 161)  # 64 mel bands, 1.6 s in 10 ms frames
    with torch.no_grad():
        frames, clip = model.frame_logits(x), model(x)
    assert tuple(frames.shape) == (2, 5, 161)
    torch.testing.assert_close(clip, frames.mean(dim=2))
    with pytest.raises(ValueError, match=r"expected \(B, 64, frames\)"):
        model.frame_logits(x[:, :32])


def test_tcn_is_causal():
    torch.manual_seed(0)
    model = build("tcn").eval()
    x = model.front_end(tone_and_noise(2.0))
    changed = x.clone()
    changed[..., 120:] = torch.randn_like(changed[..., 120:]) * 3
    with torch.no_grad():
        a, b = model.frame_logits(x), model.frame_logits(changed)
    assert tuple(a.shape) == (1, 6, x.shape[-1])
    torch.testing.assert_close(a[..., :120], b[..., :120])
    assert not torch.allclose(a[..., 120:], b[..., 120:])


def test_tcn_receptive_field_by_hand():
    """Kernel 3, dilations 1, 2, 4, 8, 16, two convs per block: 1 + 2*2*(1+2+4+8+16) = 125 frames."""
    model = build("tcn").eval()
    wave = tone_and_noise(3.2)
    layers = trace(model, model.front_end(wave), wave.shape[-1]).layers
    by_name = {r.name: r for r in layers}
    assert by_name["blocks.0.conv1"].receptive_field == 3
    assert by_name["blocks.1.conv2"].receptive_field == 13
    assert by_name["head"].receptive_field == 125 == model.receptive_field_frames()
    assert by_name["head"].receptive_field_ms == pytest.approx(124 * 10 + 25)


def test_tcn_receptive_field_is_real():
    """Perturbing a frame 125 frames back changes nothing; 124 back changes the output."""
    torch.manual_seed(0)
    model = build("tcn").eval()
    x = model.front_end(tone_and_noise(3.2))
    t = 300
    with torch.no_grad():
        base = model.frame_logits(x)[..., t]
        for lag, moves in ((125, False), (124, True)):
            y = x.clone()
            y[..., t - lag] += 5.0
            assert (not torch.allclose(model.frame_logits(y)[..., t], base)) == moves


def test_waveform_cnn_receptive_field_by_hand():
    """rf += (k - 1) * jump, jump *= stride, layer by layer:
    conv 64/4 -> 64 (jump 4); pool 4 -> 64+3*4=76 (jump 16); conv 3 -> 108; pool 4 -> 108+3*16=156 (jump 64);
    conv 3 -> 284; conv 3 -> 412; pool 4 -> 412+3*64=604 (jump 256); conv 3 -> 1116; conv 3 -> 1628;
    pool 4 -> 1628+3*256=2396 (jump 1024); conv 3 -> 4444; conv 3 -> 6492.
    BatchNorm and ReLU work on one position at a time and add nothing."""
    model = build("waveform_cnn").eval()
    wave = tone_and_noise(3.2)
    by_name = {r.name: r for r in trace(model, wave, wave.shape[-1]).layers}
    names = ("wide_conv.0", "wide_conv.2", "wide_conv.3", "block2.0", "block2.3",
             "block3.0", "block3.3", "block3.6", "block4.0", "block4.3", "block4.6", "block5.0", "block5.3")
    assert [by_name[n].receptive_field for n in names] == \
        [64, 64, 76, 108, 156, 284, 412, 604, 1116, 1628, 2396, 4444, 6492]
    assert by_name["block5.3"].receptive_field_ms == pytest.approx(6492 / 16)
    assert by_name["head"].receptive_field == wave.shape[-1]


@pytest.mark.parametrize("name", NAMES)
def test_trace_matches_model(name):
    model = build(name).eval()
    wave = tone_and_noise(3.2)
    x = model.front_end(wave)
    t = trace(model, x, wave.shape[-1])
    assert sum(r.params for r in t.layers) == sum(p.numel() for p in model.parameters())
    # every model ends in (1, 6) logits, except the TCN: its head is a 1x1 conv with one answer per
    # frame (a 3.2 s clip is 321 frames of 10 ms), and forward averages those over time
    assert t.layers[-1].shape == ([1, 6, 321] if name == "tcn" else [1, 6])
    assert tuple(t.logits.shape) == (1, 6)
    torch.testing.assert_close(t.logits, model(x))
    assert t.feature_maps and all(v.shape[0] <= 8 for v in t.feature_maps.values())
    assert all(r.activation_bytes > 0 for r in t.layers)


def _layers(name: str) -> dict:
    model = build(name).eval()
    return {r.name: r for r in trace(model, model.front_end(tone_and_noise(3.2)), 51200).layers}


def test_seed_shapes():
    lfcc = _layers("lfcc_cnn")
    # time halves at each block while all 180 columns stay; the widths double, 32 -> 64 -> 128 as in the seed
    assert [lfcc[n].shape for n in ("block1.3", "block2.3", "block3.3")] == \
        [[1, 32, 160, 180], [1, 64, 80, 180], [1, 128, 40, 180]]
    assert lfcc["flatten"].shape == [1, 23040]  # 128 channels x 180 columns
    assert lfcc["head"].params == 23040 * 6 + 6
    base = _layers("baseline_cnn")
    assert base["flatten"].shape == [1, 65536] and base["dense"].params == 65536 * 64 + 64
    vit = _layers("spectrogram_vit")
    assert vit["to_tokens"].shape == [1, 196, 192] and vit["add_cls"].shape == [1, 197, 192]
    wav = build("waveform_cnn").wide_conv[0]
    assert wav.kernel_size == (64,) and wav.stride == (4,)
