"""Every figure, text and export of the app, on a normal clip and on digital silence.

The models are the untrained set (random weights), which is all these checks need:
shapes, finite numbers, and pictures that draw.
"""

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from explainer import analysis, audio, plots, pretrained, report, story
from explainer.attribution import METHODS
from explainer.ui import html
from explainer.models import list_models

from helpers import tone_and_noise


@pytest.fixture(scope="module")
def model_set():
    return pretrained.untrained_set()


RUN_METHODS = ("saliency", "gradcam")


def _analysis(model_set, wave: torch.Tensor):
    clip = audio.load((audio.SAMPLE_RATE, wave.reshape(-1).numpy()))
    return analysis.analyze(clip, model_set, RUN_METHODS)


@pytest.fixture(scope="module")
def tone_result(model_set):
    return _analysis(model_set, tone_and_noise(1.3, seed=1))


@pytest.fixture(scope="module")
def silence_result(model_set):
    return _analysis(model_set, torch.zeros(1, 1, int(1.3 * audio.SAMPLE_RATE)))


@pytest.fixture(params=["tone", "silence"])
def result(request):
    return request.getfixturevalue(f"{request.param}_result")


def _finite(fig: Figure) -> None:
    """Every array a figure draws is finite, and the figure renders to PNG."""
    assert isinstance(fig, Figure)
    assert fig.axes, "a figure with no axes"
    for ax in fig.axes:
        for im in ax.get_images():
            arr = np.ma.filled(np.ma.asarray(im.get_array(), dtype=float), 0.0)
            assert np.isfinite(arr).all(), f"image in {ax.get_title()!r} has non-finite values"
        for line in ax.get_lines():
            assert np.isfinite(np.asarray(line.get_xydata(), dtype=float)).all()
        for coll in ax.collections:
            arr = coll.get_array()
            if arr is not None:
                assert np.isfinite(np.ma.filled(np.ma.asarray(arr, dtype=float), 0.0)).all()
            for path in coll.get_paths():
                assert np.isfinite(path.vertices).all()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    assert buf.getvalue()[:4] == b"\x89PNG"
    plots.close(fig)


def figure_makers(a):
    """Every public figure function of plots.py, called the way the app calls it."""
    wave = a.clip.waveform.numpy().reshape(-1)
    makers = {
        "waveform": lambda: plots.waveform(a),
        "mel_spectrogram": lambda: plots.mel_spectrogram(a),
        "lfcc_grid": lambda: plots.lfcc_grid(a),
        "prediction_table": lambda: plots.prediction_table(a),
        "tcn_frame_timeline": lambda: plots.tcn_frame_timeline(a),
        "confusion_matrix": lambda: plots.confusion_matrix(
            {"models": {"tcn": {"test": {"accuracy": 0.5, "confusion": np.eye(len(a.classes)).tolist()}}}},
            "tcn", a.classes),
        "confusion_matrix_empty": lambda: plots.confusion_matrix({}, "tcn", a.classes),
        "confusion_matrix_real_and_synthetic": lambda: plots.confusion_matrix(
            {"models": {"tcn": {"test": {k: {"accuracy": 0.5, "confusion": np.eye(len(a.classes)).tolist()}
                                         for k in ("real", "synthetic")}}}}, "tcn", a.classes),
        "receptive_field": lambda: plots.receptive_field(a, plots.default_frame(a)),
        "receptive_field_first": lambda: plots.receptive_field(a, 0),
        "samples_zoom": lambda: plots.samples_zoom(a),
        "stft_frames": lambda: plots.stft_frames(a),
        "mel_filters": lambda: plots.mel_filters(a),
        "lfcc_spreadsheet": lambda: plots.lfcc_spreadsheet(a),
        "conv_on_grid": lambda: plots.conv_on_grid(a),
        "pooling_compare": lambda: plots.pooling_compare(a),
        "one_d_vs_two_d": lambda: plots.one_d_vs_two_d(a),
        "dilation_diagram": lambda: plots.dilation_diagram(a),
        "mask_picture": lambda: plots.mask_picture(wave, 0.5 * wave, np.ones((257, wave.size // 160 + 1)), 0.2),
    }
    for m in a.methods:
        makers[f"listening_timeline_{m}"] = lambda m=m: plots.listening_timeline(a, m)
    for arch, r in a.models.items():
        makers[f"model_input_{arch}"] = lambda arch=arch: plots.model_input(a, arch)
        makers[f"feature_maps_{arch}"] = lambda arch=arch: plots.feature_maps(a, arch)
        for m in a.methods:  # unsigned maps
            makers[f"overlay_{arch}_{m}"] = lambda arch=arch, m=m: plots.attribution_overlay(
                a, arch, a.models[arch].attributions[m], m, a.models[arch].top, 0.6)
        # a signed method's colouring, with a signed map of the right shape
        makers[f"overlay_{arch}_signed"] = lambda arch=arch: plots.attribution_overlay(
            a, arch, a.models[arch].x - a.models[arch].x.mean(), "integrated_gradients", a.classes[0], 1.0)
    return makers


def _covers_every_model_and_method(a) -> None:
    """The per-model and per-method loops below would shrink silently on a partial result."""
    assert list(a.models) == list_models() and tuple(a.methods) == RUN_METHODS


@pytest.mark.slow
def test_every_figure_is_finite(result):
    _covers_every_model_and_method(result)
    for name, make in figure_makers(result).items():
        try:
            _finite(make())
        except Exception as e:  # name the figure that failed
            raise AssertionError(f"{name}: {e}") from e


def test_every_walkthrough_step(result):
    for i in range(len(story.STEPS)):
        md = story.step_markdown(result, i)
        assert md.startswith(f"### Step {i + 1} of {len(story.STEPS)}")
        assert "nan" not in md.lower().replace("nano", "")
        _finite(story.step_figure(result, i))
    assert "Step 1 of" in story.step_indicator(-5) and f"Step {len(story.STEPS)} of" in story.step_indicator(99)


def test_texts_use_the_clip_and_never_nan(result, model_set):
    a = result
    _covers_every_model_and_method(a)
    n = a.clip.waveform.shape[-1]
    note = story.metrics_note(model_set.card, a.set_name)  # the card the app passes for this set
    untrained = "**No test scores: these models are untrained.**"
    assert note.startswith(untrained), note
    # the card's flag and the set's name each say so on their own
    assert story.metrics_note(model_set.card, "renamed").startswith(untrained)
    assert story.metrics_note({}, "untrained").startswith(untrained)
    assert not story.metrics_note({}, "renamed").startswith(untrained)
    texts = [html.headline_html(a), story.summary_line(a), story.clip_notice(a),
             *story.listen_captions(a).values(), story.tcn_caption(a), note]
    texts += [story.compare_caption(a, m) for m in a.methods]
    for arch in a.models:
        texts += [story.input_caption(a, arch), story.why_design(a, arch), html.layer_flow_html(a, arch)]
        r = a.models[arch]
        texts += [story.faithfulness_text(r.faithfulness.get(m), r.top, m) for m in a.methods]
        assert len(story.layer_rows(a, arch)) == len(r.trace.layers)
        assert all(len(row) == len(story.LAYER_HEADERS) for row in story.layer_rows(a, arch))
    texts.append(story.receptive_field_caption(a, 10))
    texts.append(story.hear_caption(a, "tcn", "saliency", 0.2))
    for t in texts:
        assert isinstance(t, str)
        assert "nan%" not in t and " nan " not in t and "inf%" not in t
    assert f"{n:,}" in story.listen_captions(a)["waveform"]
    assert "UNTRAINED" in html.untrained_banner_html(True) and html.untrained_banner_html(False) == ""
    assert "random" in html.headline_html(a)  # an untrained set never shows its guesses as answers
    assert len(story.sizes_rows(a)) == len(a.sizes)


def test_why_design_computes_the_flatten_share(tone_result):
    a = tone_result
    note = story.why_design(a, "baseline_cnn")
    dense = next(rec for rec in a.models["baseline_cnn"].trace.layers if rec.name == "dense")
    assert f"{dense.params:,}" in note
    assert "trained from scratch" in story.why_design(a, "spectrogram_vit")
    rf = a.models["tcn"].trace.layers[-1].receptive_field
    assert f"{rf} frames" in story.why_design(a, "tcn")
    # the LFCC note counts its convolutions' multiply-adds from the trace of this clip
    lfcc = a.models["lfcc_cnn"]
    frames = lfcc.x.shape[2]
    expected = (32 * frames * 180 * 9 + 64 * (frames // 2) * 180 * 32 * 9 + 128 * (frames // 4) * 180 * 64 * 9)
    note = story.why_design(a, "lfcc_cnn")
    assert f"{expected:,} multiply-adds" in note and "32 → 64 → 128" in note and f"{128 * 180:,} numbers" in note


def test_class_colors_are_stable():
    c1 = plots.class_colors(["speech", "music", "dog"])
    c2 = plots.class_colors(["dog", "speech", "music"])
    assert c1["speech"] == c2["speech"] and c1["music"] == c2["music"]
    many = plots.class_colors([f"c{i}" for i in range(12)])
    assert list(many) == [f"c{i}" for i in range(12)]
    # a class of another set never takes the colour a shipped class in the same set already has
    mixed = plots.class_colors(["speech", "dog", "cat", "music"])
    assert len(set(mixed.values())) == 4 and mixed["speech"] == c1["speech"]


def test_clip_attribution_uses_the_99th_percentile():
    a = np.concatenate([np.ones(990), np.full(10, 1000.0)])
    clipped, lim = plots.clip_attribution(a, signed=False)
    assert lim < 1000 and clipped.max() == pytest.approx(lim)
    z, lim0 = plots.clip_attribution(np.zeros(50), signed=True)
    assert lim0 > 0 and np.all(z == 0)


def test_pool_columns_shows_where_square_pooling_mixes():
    spans = plots.pool_columns(180, 3, 2)[-1]
    assert len(spans) == 22
    assert any(lo < 60 <= hi for lo, hi in spans)  # some output column holds LFCC and delta columns
    assert plots.pool_columns(180, 3, 1)[-1] == [(j, j) for j in range(180)]


@pytest.mark.slow
def test_export_writes_then_cleans_up(tone_result):
    result = tone_result
    with report.export(result) as (json_path, zip_path):
        folder = json_path.parent
        rep = json.loads(json_path.read_text())
        assert set(rep["models"]) == set(result.models)
        with zipfile.ZipFile(zip_path) as zf:
            names = zf.namelist()
        assert "report.json" in names and sum(n.endswith(".png") for n in names) >= 10
    assert not Path(folder).exists()


def test_methods_have_titles():
    assert set(plots.METHOD_TITLES) == set(METHODS)


def test_metrics_table_scores_real_recordings_apart():
    entry = {"params": 1000, "train_seconds": 90,
             "test": {"accuracy": 0.9, "synthetic": {"accuracy": 0.95},
                      "real": {"accuracy": 0.8125, "n": 160, "per_class_recall": {"speech": 0.9}}}}
    rows = story.metrics_rows({"models": {"tcn": entry}})
    assert rows == [[plots.model_title("tcn"), "95.0%", "81.2%", "90.0%", "1,000", "1.5 min"]]
    assert len(rows[0]) == len(story.METRICS_HEADERS)
    assert "160 of them are **real recordings**" in story.metrics_note({"models": {"tcn": entry}}, "s")
    fig = plots.confusion_matrix({"models": {"tcn": entry | {"test": {
        k: {"accuracy": 0.5, "confusion": [[1, 1], [0, 2]]} for k in ("real", "synthetic")}}}}, "tcn", ["a", "b"])
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles[:2] == ["real recordings: 50.0% right of 4", "synthetic clips: 50.0% right of 4"]
    plots.close(fig)
