"""explainer.inspect.unit: the arithmetic behind every number of the trace, and the sandbox's formulas."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import tone_and_noise
from torch import nn

from explainer import models
from explainer.inspect import _leaf_layers, conv_output_length, receptive_field, trace, unit

ARCHS = models.list_models()


def _trained_looking(arch: str) -> nn.Module:
    """A fresh model with BatchNorm statistics and affine terms drawn away from 0 and 1, so that
    a formula that forgot any of them fails."""
    torch.manual_seed(1)
    model = models.build(arch)
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.3, 0.3)
        if isinstance(m, nn.LayerNorm):
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.3, 0.3)
    return model.eval()


@pytest.fixture(scope="module")
def traced():
    """Each architecture on a 2 s clip: model, input, trace."""
    out = {}
    wav = tone_and_noise(2.0, seed=3)
    for arch in ARCHS:
        model = _trained_looking(arch)
        with torch.no_grad():
            x = model.front_end(wav)
        out[arch] = (model, x, trace(model, x, wav.shape[-1]))
    return out


def _recompute(u: dict) -> float:
    """The unit's output redone from what it returned, as a learner would by hand."""
    if u["kind"] == "norm":
        return (u["value"] - u["mean"]) / np.sqrt(u["var"] + u["eps"]) * u["gamma"] + u["beta"]
    if u["kind"] == "activation":
        v = torch.tensor(u["inputs"][0], dtype=torch.float64)
        return float(torch.relu(v) if u["function"] == "relu" else nn.functional.gelu(v))
    if u["kind"] == "pool" and u["mode"] == "max":
        return max(u["inputs"])
    if u["kind"] == "pool":
        return float(np.mean(u["inputs"]))
    return float(np.dot(u["inputs"], u["weights"]) + u["bias"])


def _positions(shape, rng, n=3):
    return [[int(rng.integers(s)) for s in shape] for _ in range(n)]


def _output_of(model, x, layer):
    """The layer's output in a plain forward pass, recorded by a hook of the test's own."""
    module = dict(model.named_modules())[layer]
    seen = {}
    handle = module.register_forward_hook(lambda m, a, o: seen.setdefault("out", o[0] if isinstance(o, tuple) else o))
    with torch.no_grad():
        model(x)
    handle.remove()
    return seen["out"][0]


@pytest.mark.parametrize("arch", ARCHS)
def test_every_conv_pool_and_norm_unit_reproduces_the_traced_activation(traced, arch):
    model, x, tr = traced[arch]
    rng = np.random.default_rng(0)
    kinds = set()
    for rec in tr.layers:
        if rec.type not in ("Conv1d", "Conv2d", "CausalConv1d", "MaxPool1d", "MaxPool2d", "AvgPool2d",
                            "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "Mean", "BatchNorm1d", "BatchNorm2d",
                            "LayerNorm", "Linear", "ReLU", "GELU"):
            continue
        real = _output_of(model, x, rec.name)
        assert list(real.shape) == rec.shape[1:]
        for idx in _positions(rec.shape[1:], rng):
            u = unit(model, x, rec.name, idx)
            kinds.add(u["kind"])
            assert u["output"] == pytest.approx(float(real[tuple(idx)]), abs=1e-5)
            assert _recompute(u) == pytest.approx(u["output"], abs=1e-4), (rec.name, idx, u["formula"])
            assert len(u["inputs"]) == len(u["positions"])
            if u["kind"] != "norm":
                assert len(u["inputs"]) == len(u["weights"]) or u["kind"] == "activation"
    assert {"conv", "norm"} <= kinds or arch == "baseline_cnn"
    assert "conv" in kinds


def test_conv_inputs_are_the_real_input_values_at_the_stated_positions(traced):
    model, x, _ = traced["waveform_cnn"]
    u = unit(model, x, "wide_conv.0", [5, 40])
    assert u["kind"] == "conv" and u["shape"] == [1, 64] and u["stride"] == [4]
    first = 40 * 4 - u["pad"][0]
    assert [p[1] for p in u["positions"]] == list(range(first, first + 64))
    assert u["inputs"] == pytest.approx(x[0, 0, first:first + 64].double().tolist())
    assert u["weights"] == pytest.approx(model.wide_conv[0].weight[5, 0].double().tolist())
    # the BatchNorm and ReLU that follow, each from the step before
    assert [s["kind"] for s in u["then"]] == ["norm", "activation"]
    assert u["then"][0]["value"] == pytest.approx(u["output"])
    assert u["then"][1]["output"] == pytest.approx(max(0.0, u["then"][0]["output"]))


def test_padding_taps_read_zero(traced):
    model, x, _ = traced["waveform_cnn"]
    u = unit(model, x, "wide_conv.0", [0, 0])
    assert any(u["padding"]) and not all(u["padding"])
    assert all(v == 0.0 for v, pad in zip(u["inputs"], u["padding"]) if pad)


def test_tcn_taps_reach_back_only(traced):
    model, x, _ = traced["tcn"]
    t = 60
    for block, d in enumerate(model.dilations):
        u = unit(model, x, f"blocks.{block}.conv1", [2, t])
        times = sorted({p[1] for p in u["positions"]})
        assert times == [t - 2 * d, t - d, t]
    # the second ReLU of a block adds the skip connection before it clips
    u = unit(model, x, "blocks.1.conv2", [4, t])
    relu = u["then"][-1]
    assert relu["layer"] == "blocks.1.relu2"
    block_input = _output_of(model, x, "blocks.0.relu2")[4, t]
    assert relu["added"] == pytest.approx(float(block_input), abs=1e-5)


def test_lfcc_pool_averages_two_time_rows_of_one_column(traced):
    model, x, _ = traced["lfcc_cnn"]
    u = unit(model, x, "block1.3", [3, 7, 90])
    assert u["kind"] == "pool" and u["mode"] == "mean" and u["shape"] == [2, 1]
    assert u["positions"] == [[3, 14, 90], [3, 15, 90]]


def test_vit_patch_and_attention(traced):
    model, x, _ = traced["spectrogram_vit"]
    u = unit(model, x, "to_patches", [0, 2, 3])
    assert len(u["inputs"]) == 768 and u["input_span"] == [[32, 47], [48, 63]]
    a = unit(model, x, "blocks.0.attn", [10, 7])
    assert a["kind"] == "attention" and len(a["attention"]) == 197
    assert sum(a["attention"]) == pytest.approx(1.0, abs=1e-6)
    assert all(sum(row) == pytest.approx(1.0, abs=1e-6) for row in a["heads"])
    assert _recompute(a) == pytest.approx(a["output"], abs=1e-4)


def test_input_span_covers_every_input_the_unit_depends_on(traced):
    """The gradient of one unit with respect to the model's input is zero outside its stated span."""
    for arch, layer in [("waveform_cnn", "block3.0"), ("spectrogram_cnn", "block2.0"), ("tcn", "blocks.2.conv2")]:
        model, x, _ = traced[arch]
        u = unit(model, x, layer, [1] + [s // 2 for s in _output_of(model, x, layer).shape[1:]])
        xg = x.clone().requires_grad_(True)
        seen = {}
        module = dict(model.named_modules())[layer]
        h = module.register_forward_hook(lambda m, a, o: seen.setdefault("o", o))
        model(xg)
        h.remove()
        seen["o"][(0, *u["index"])].backward()
        support = (xg.grad[0].abs() > 0).nonzero()[:, 1:]  # spatial positions with any effect
        assert support.numel() > 0
        for axis, (lo, hi) in enumerate(u["input_span"]):
            assert lo <= int(support[:, axis].min()) and int(support[:, axis].max()) <= hi, (arch, layer)


def test_every_traced_layer_opens_or_says_why(traced):
    for arch in ARCHS:
        model, x, tr = traced[arch]
        for rec in tr.layers:
            u = unit(model, x, rec.name, [0] * (len(rec.shape) - 1))
            assert _recompute(u) == pytest.approx(u["output"], abs=1e-4) if u["kind"] != "embedding" else True
            assert isinstance(u["formula"], str) and u["formula"]


def test_bad_layer_and_index_are_refused_with_what_fits(traced):
    model, x, _ = traced["waveform_cnn"]
    with pytest.raises(ValueError, match="no layer 'nope'.*wide_conv.0"):
        unit(model, x, "nope", [0, 0])
    with pytest.raises(ValueError, match=r"does not fit.*\[32, "):
        unit(model, x, "wide_conv.0", [32, 0])
    with pytest.raises(ValueError, match="does not fit"):
        unit(model, x, "wide_conv.0", [0])


@pytest.mark.parametrize("n,k,s,d,p", [(100, 3, 1, 1, 1), (1000, 64, 4, 1, 30), (50, 3, 1, 4, 0), (37, 5, 2, 2, 3),
                                       (16, 2, 2, 1, 0), (12, 9, 1, 1, 0)])
def test_sandbox_formulas_match_pytorch_layers(n, k, s, d, p):
    conv = nn.Conv1d(1, 1, k, stride=s, dilation=d, padding=p)
    out = conv(torch.zeros(1, 1, n))
    assert out.shape[-1] == conv_output_length(n, k, s, d, p)
    pool = nn.MaxPool1d(2)
    assert pool(out).shape[-1] == conv_output_length(out.shape[-1], 2, 2)
    # receptive field: the gradient of one output of conv then pool reaches exactly rf inputs
    rf, jump = receptive_field([(k, s, d), (2, 2, 1)])
    assert jump == s * 2
    if pool(out).shape[-1] > 2:
        stack = nn.Sequential(nn.Conv1d(1, 1, k, stride=s, dilation=d, padding=0), nn.AvgPool1d(2))
        nn.init.constant_(stack[0].weight, 1.0)
        xg = torch.ones(1, 1, n + 40, requires_grad=True)
        stack(xg)[0, 0, 1].backward()
        touched = (xg.grad[0, 0] != 0).nonzero().flatten()
        assert int(touched.max() - touched.min()) + 1 == rf


def test_trace_uses_the_same_receptive_field_rule(traced):
    model, x, tr = traced["waveform_cnn"]

    def first(v):
        return v[0] if isinstance(v, tuple) else v

    windows = [(first(m.kernel_size), first(m.stride), first(getattr(m, "dilation", 1)))
               for _, m in _leaf_layers(model) if isinstance(m, (nn.Conv1d, nn.MaxPool1d))]
    last_local = [r for r in tr.layers if not r.is_global][-1]
    assert last_local.receptive_field == min(receptive_field(windows)[0], x.shape[-1])
    assert last_local.receptive_field > 1000


@pytest.mark.parametrize("n,k,s,d,p,pool", [(24, 3, 1, 1, 0, 2), (24, 3, 2, 2, 1, 2), (48, 9, 4, 1, 4, 3),
                                            (10, 3, 1, 4, 0, 1), (4, 9, 1, 8, 0, 1)])
def test_sandbox_matches_pytorch(n, k, s, d, p, pool):
    from explainer.inspect import sandbox

    sb = sandbox(n, k, s, d, p, pool)
    stack = nn.Sequential(nn.Conv1d(1, 1, k, stride=s, dilation=d, padding=p), nn.MaxPool1d(pool))
    if sb["conv_length"] <= 0:
        with pytest.raises(RuntimeError):
            stack[0](torch.zeros(1, 1, n))
        return
    conv_out = stack[0](torch.zeros(1, 1, n))
    assert conv_out.shape[-1] == sb["conv_length"]
    if sb["pool_length"] > 0:
        assert stack(torch.zeros(1, 1, n)).shape[-1] == sb["pool_length"]
    # the taps of the middle output: those inputs and no others move it
    x = torch.randn(1, 1, n, requires_grad=True)
    nn.init.constant_(stack[0].weight, 1.0)
    stack[0](x)[0, 0, sb["unit"]].backward()
    moved = set((x.grad[0, 0] != 0).nonzero().flatten().tolist())
    assert moved == {t for t in sb["taps"] if 0 <= t < n}


def test_unit_api_and_view_on_an_analysed_clip(tiny_set_session):
    import gradio as gr

    from explainer.ui import unit as ui_unit

    session = tiny_set_session
    u = ui_unit.unit_api(session, "waveform_cnn", "wide_conv.0", "3, 10")
    assert u["index"] == [3, 10] and u["kind"] == "conv"
    assert u["output"] == pytest.approx(float(np.dot(u["inputs"], u["weights"]) + u["bias"]), abs=1e-4)
    for bad in [("nope", "wide_conv.0", "0, 0"), ("waveform_cnn", "wide_conv.0", "three"),
                ("waveform_cnn", "wide_conv.0", "999, 0"), ("waveform_cnn", "zzz", "0, 0")]:
        with pytest.raises(gr.Error):
            ui_unit.unit_api(session, *bad)
    with pytest.raises(gr.Error, match="Analyse a clip first"):
        ui_unit.unit_api(None, "waveform_cnn", "wide_conv.0", "0, 0")
    for arch in session.analysis().models:
        out = ui_unit.make_unit_open(arch)(session)
        picture, html_text = out[4], out[6]
        assert picture.ndim == 3 and picture.shape[2] == 3
        assert "The traced value" in html_text
    # a click on the picture opens the unit under it
    shape = ui_unit._shape(session, "tcn", "blocks.2.conv1")
    model, x = ui_unit._model_and_input(session, "tcn")
    layout = ui_unit._layout(shape, [5, 0], "tcn", x, "CausalConv1d")
    x0, y0, x1, y1 = layout.cell_box([5, 40])
    assert layout.index_at((x0 + x1) / 2, (y0 + y1) / 2) == [5, 40]


@pytest.fixture(scope="module")
def tiny_set_session():
    """A page session on a 2 s clip, analysed by the untrained set (its weights do not matter here)."""
    from explainer import analysis, audio
    from explainer.ui.sessions import Session, get_set

    clip = audio.load((16000, tone_and_noise(2.0, seed=5).reshape(-1).numpy()))
    return Session.of(analysis.analyze(clip, get_set("untrained"), faithfulness=False))
