"""The shared analysis pass: one result for app and CLI, fast copies that change nothing, safe under threads."""

import copy
import json
import threading

import numpy as np
import pytest
import torch

from explainer import analysis, attribution
from explainer.audio import load
from explainer.models import fast as fast_models
from explainer.models import list_models
from explainer.pretrained import load_set
from helpers import tone_and_noise


@pytest.fixture(scope="module")
def model_set(tiny_set):
    ms = load_set("tiny", root=tiny_set.parent)
    # BatchNorm statistics far from identity make the folding test meaningful
    torch.manual_seed(0)
    for model in ms.models.values():
        for m in model.modules():
            if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
                m.running_mean.normal_(0, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    return ms


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    import soundfile as sf

    path = tmp_path_factory.mktemp("clip") / "c.wav"
    sf.write(path, tone_and_noise(1.2, seed=4)[0, 0].numpy(), 16000)  # short: every test runs all six models
    return load(path)


def _norms(net: torch.nn.Module) -> list[str]:
    return [n for n, m in net.named_modules() if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d))]


def test_fast_copy_changes_nothing(model_set):
    wave = tone_and_noise(1.6, seed=5)
    assert list(model_set.models) == list_models()
    for arch, model in model_set.models.items():
        fast = fast_models.fast_copy(model)
        assert fast is fast_models.fast_copy(model)  # built once
        # every norm after a conv is folded away; the LFCC CNN's column norm follows no conv, so it stays
        assert _norms(fast) == (["column_norm"] if arch == "lfcc_cnn" else []), arch
        x = model.front_end(wave).detach()
        torch.testing.assert_close(fast(fast_models.fast_input(model, x)), model(x), rtol=1e-4, atol=1e-5)
        # the maps in float64: a small trained model's input gradients can be near float32's cancellation
        # floor, and the rewrite must match the original to rounding, not merely to float32's
        m64, x64 = copy.deepcopy(model).double(), x.double()
        for method in ("input_x_gradient", "saliency", "gradcam"):
            ref = attribution.attribute(m64, x64, method, target=0)
            got, _ = analysis._attribute(m64, x64, method, 0)
            assert method == "gradcam" or float(ref.abs().max()) > 0, (arch, method)  # Grad-CAM may be all ReLU-zero
            torch.testing.assert_close(got, ref, rtol=1e-7, atol=1e-9 * float(ref.abs().max())), (arch, method)


@pytest.mark.parametrize("kernel,stride,padding,length", [(64, 4, 30, 16000), (64, 4, 30, 16003), (8, 2, 0, 101),
                                                          (12, 3, 5, 50), (6, 3, 0, 7)])
def test_polyphase_conv_matches_strided_conv(kernel, stride, padding, length):
    torch.manual_seed(0)
    conv = torch.nn.Conv1d(2, 5, kernel, stride=stride, padding=padding)
    assert fast_models.PolyphaseConv1d.applies(conv)
    poly = fast_models.PolyphaseConv1d(conv)
    x = torch.randn(3, 2, length, requires_grad=True)
    y_ref, y = conv(x), poly(x)
    torch.testing.assert_close(y, y_ref, rtol=1e-5, atol=1e-5)
    g_ref, = torch.autograd.grad(y_ref, x, torch.ones_like(y_ref))
    g, = torch.autograd.grad(y, x, torch.ones_like(y))
    torch.testing.assert_close(g, g_ref, rtol=1e-5, atol=1e-5)
    assert not fast_models.PolyphaseConv1d.applies(torch.nn.Conv1d(1, 4, 5, stride=2))  # 5 taps do not split in 2
    assert not fast_models.PolyphaseConv1d.applies(torch.nn.Conv1d(1, 4, 3))  # stride 1: nothing to gain


def test_patch_linear_matches_patch_conv():
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(3, 7, 4, stride=4)
    assert fast_models.PatchLinear.applies(conv) and not fast_models.PatchLinear.applies(torch.nn.Conv2d(3, 7, 4, 2))
    lin = fast_models.PatchLinear(conv)
    x = torch.randn(2, 3, 16, 18, requires_grad=True)  # 18 is not a multiple of 4: the conv drops the rest
    y_ref, y = conv(x), lin(x)
    torch.testing.assert_close(y, y_ref, rtol=1e-5, atol=1e-5)
    g_ref, = torch.autograd.grad(y_ref, x, torch.ones_like(y_ref))
    g, = torch.autograd.grad(y, x, torch.ones_like(y))
    torch.testing.assert_close(g, g_ref, rtol=1e-5, atol=1e-5)


def test_fast_copy_rewrites_the_costly_layers(model_set):
    kinds = {arch: {type(m).__name__ for m in fast_models.fast_copy(model).modules()}
             for arch, model in model_set.models.items()}
    assert "PolyphaseConv1d" in kinds["waveform_cnn"]
    assert "PatchLinear" in kinds["spectrogram_vit"]


def test_analyze_everything_once(model_set, clip):
    result = analysis.analyze(clip, model_set, ("saliency", "gradcam"))
    assert list(result.models) == list(model_set.models)
    n_steps = clip.waveform.shape[-1] // 160 + 1
    for arch, r in result.models.items():
        assert r.probabilities.shape == (3,) and np.isclose(r.probabilities.sum(), 1.0, atol=1e-5)
        assert r.top == model_set.classes[int(r.probabilities.argmax())] == model_set.classes[r.target]
        for m in ("saliency", "gradcam"):
            assert r.attributions[m].shape == r.x.shape and torch.isfinite(r.attributions[m]).all()
            assert r.time_curves[m].shape == (n_steps,)
            assert set(r.faithfulness[m]) == {"p_orig", "p_top_removed", "p_random_removed", "drop_top",
                                              "drop_random", "score"}
        # the trace's logits are the prediction: no second forward pass disagrees
        probs = torch.softmax(model_set.models[arch](r.x), 1)[0].detach().numpy()
        np.testing.assert_allclose(r.probabilities, probs, atol=1e-5)
    assert result.models["tcn"].frame_probabilities.shape == (3, n_steps)
    assert result.mel_db.shape == (64, n_steps) and result.lfcc_grid.shape == (n_steps, 180)
    assert json.loads(json.dumps(result.to_dict()))["models"].keys() == result.models.keys()  # serialisable as it is
    assert {"features", "total"} <= set(result.timings_ms)


def test_faithfulness_later_gives_the_same_numbers(model_set, clip):
    now = analysis.analyze(clip, model_set, ("saliency",))
    later = analysis.add_faithfulness(analysis.analyze(clip, model_set, ("saliency",), faithfulness=False), model_set)
    assert list(now.models) == list(later.models) == list_models()
    for arch in now.models:
        assert set(now.models[arch].faithfulness) == {"saliency"}  # two empty results would also be equal
        assert now.models[arch].faithfulness == later.models[arch].faithfulness


def test_analysis_is_deterministic(model_set, clip):
    a = analysis.analyze(clip, model_set, ("smoothgrad",), faithfulness=False).to_dict()
    b = analysis.analyze(clip, model_set, ("smoothgrad",), faithfulness=False).to_dict()
    a.pop("timings_ms"), b.pop("timings_ms")
    assert a == b


def test_silence_gives_no_nan(model_set):
    clip = load((16000, np.zeros(16000, dtype=np.int16)))
    report = analysis.analyze(clip, model_set, ("saliency", "gradcam", "integrated_gradients")).to_dict()
    assert list(report["models"]) == list_models()
    assert all(set(m["attributions"]) == {"saliency", "gradcam", "integrated_gradients"}
               for m in report["models"].values())
    text = json.dumps(report)
    assert "NaN" not in text and "Infinity" not in text


def _hook_count(model_set) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks)
               for model in model_set.models.values() for net in (model, fast_models.fast_copy(model))
               for m in net.modules())


@pytest.mark.slow
def test_concurrent_requests_match_sequential_and_leak_no_hooks(model_set, clip):
    methods = ["saliency", "gradcam", "integrated_gradients", "smoothgrad"]
    expected = {m: analysis.analyze(clip, model_set, (m,), faithfulness=False) for m in methods}
    before = _hook_count(model_set)
    got, errors = {}, []

    def work(method):
        try:
            got[method] = analysis.analyze(clip, model_set, (method,), faithfulness=False)
        except Exception as e:  # collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(m,)) for m in methods]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors
    for m in methods:
        for arch in model_set.models:
            torch.testing.assert_close(got[m].models[arch].attributions[m], expected[m].models[arch].attributions[m])
    assert _hook_count(model_set) == before == 0
    assert all(not p.requires_grad for model in model_set.models.values() for p in model.parameters())


def test_explain_one_model(model_set, clip):
    result = analysis.analyze(clip, model_set, ("saliency",), faithfulness=False)
    r = result.models["lfcc_cnn"]
    attr, curve, check = analysis.explain(model_set, "lfcc_cnn", r.x, "gradcam", 1, clip.waveform.shape[-1])
    assert attr.shape == r.x.shape and curve.ndim == 1 and "score" in check
    with pytest.raises(ValueError, match="method"):
        analysis.explain(model_set, "lfcc_cnn", r.x, "lime", 0, 1)
    with pytest.raises(ValueError, match="target"):
        analysis.explain(model_set, "lfcc_cnn", r.x, "saliency", 7, 1)


def test_unknown_method_is_refused(model_set, clip):
    with pytest.raises(ValueError, match="choose from"):
        analysis.analyze(clip, model_set, ("lime",))
