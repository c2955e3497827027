"""The package's structural promises: a new architecture needs nothing but its class, no name of one is
written outside explainer/models/, the CLI prints the report the app's API and Export give, and a set
whose card disagrees with this code's features is refused."""

import io
import json
import os
import subprocess
import sys
import textwrap
import tokenize
from contextlib import redirect_stdout
from pathlib import Path

import pytest
import torch

from explainer import analysis, audio, pretrained, report
from explainer.__main__ import main as cli_main
from explainer.models import list_models

ROOT = Path(__file__).resolve().parent.parent

# registered from outside the package, as a contributor would add an eighth file to explainer/models/
SEVENTH = textwrap.dedent('''
    import json, sys
    import numpy as np
    import torch
    from torch import nn

    from explainer.models import list_models, register_model
    from explainer.models.layers import AudioModel, Mean

    @register_model("toy_cnn")
    class ToyCNN(AudioModel):
        """One conv block on the 64-band log-mel, then a mean over time and frequency."""

        input_kind = "mel64"
        cam_layer = "conv"
        rf_axis = 1
        title = "Toy CNN"
        short_title = "Toy"
        subtitle = "a one-block CNN registered by a test"
        order = 70
        training = {"crop_seconds": 0.5}

        def __init__(self, n_classes=6):
            super().__init__(n_classes)
            self.conv = nn.Conv2d(1, 8, 3, padding=1)
            self.relu = nn.ReLU()
            self.pool = Mean(dim=(2, 3))
            self.head = nn.Linear(8, n_classes)

        def forward(self, x):
            return self.head(self.pool(self.relu(self.conv(x))))

    out = {"listed": list_models()}

    # training: the trainer reads the class's own settings
    from explainer import train
    sys.path.insert(0, "tests")
    from helpers import make_folder_dataset
    import tempfile, pathlib
    tmp = pathlib.Path(tempfile.mkdtemp())
    data = train.load_dataset(make_folder_dataset(tmp / "data", per_class=4), train.TrainConfig(clip_seconds=1.0))
    model, info = train.train_one("toy_cnn", data, train.TrainConfig(max_epochs=1, min_epochs=1, clip_seconds=1.0))
    out["train"] = {"epochs": info["epochs_run"], "crop_seconds": info["crop_seconds"]}

    # analysis and the report
    from explainer import analysis, audio, plots, pretrained, report, story
    wave = 0.3 * np.sin(2 * np.pi * 440 * np.arange(16000) / 16000).astype(np.float32)
    clip = audio.load((16000, wave))
    a = analysis.analyze(clip, pretrained.untrained_set(), curves=True)
    r = a.models["toy_cnn"]
    rep = report.report_dict(a)["models"]["toy_cnn"]
    out["analysis"] = {"methods": sorted(rep["attributions"]), "curve_len": len(rep["attributions"][a.methods[0]]["time_curve"]),
                       "finite": bool(all(np.isfinite(v) for v in rep["attributions"][a.methods[0]]["time_curve"])),
                       "curves": a.methods[0] in r.curves}
    plots.close(plots.model_input(a, "toy_cnn"))
    plots.close(plots.listening_timeline(a, a.methods[0]))

    # the app: a tab of its own, filled by the same renderer as the six
    import app
    from explainer.ui import handlers
    from explainer.ui.sessions import Session
    tab = app.TABS["toy_cnn"]
    drawn = handlers.make_arch_renderer(tab, app.active_view)(Session.of(a), a.methods[0], 0.6,
                                                               progress=lambda *args, **kw: None)
    out["app"] = {"label": tab.tab.label, "caption": str(drawn[tab.input_md])[:200],
                  "has_overlay": drawn[tab.overlay] is not None, "tabs": list(app.TABS)}
    print("RESULT" + json.dumps(out))
''')


@pytest.mark.slow
def test_a_seventh_model_needs_nothing_but_its_class(tmp_path):
    script = tmp_path / "seventh.py"
    script.write_text(SEVENTH)
    done = subprocess.run([sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "GRADIO_ANALYTICS_ENABLED": "False"})
    line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT")), None)
    assert line is not None, done.stderr[-3000:]
    out = json.loads(line[len("RESULT"):])
    assert out["listed"] == list_models() + ["toy_cnn"]  # after the six: its order is 70
    assert out["train"] == {"epochs": 1, "crop_seconds": 0.5}  # the class's own crop length was used
    assert out["analysis"]["methods"] == sorted(analysis.DEFAULT_METHODS)
    assert out["analysis"]["curve_len"] == 16000 // 160 + 1 and out["analysis"]["finite"] and out["analysis"]["curves"]
    assert out["app"]["label"] == "Toy" and out["app"]["tabs"][-1] == "toy_cnn"
    assert "64" in out["app"]["caption"] and out["app"]["has_overlay"]


def _string_literals(path: Path):
    with open(path, "rb") as f:
        for tok in tokenize.tokenize(f.readline):
            if tok.type == tokenize.STRING:
                yield tok.start[0], tok.string


def test_no_architecture_name_outside_the_models_package():
    names = set(list_models())
    files = [p for p in (ROOT / "explainer").rglob("*.py") if "models" not in p.relative_to(ROOT / "explainer").parts]
    files.append(ROOT / "app.py")
    found = []
    for path in files:
        for line, literal in _string_literals(path):
            body = literal.lstrip("rbfuRBFU").strip("\"'")
            if body in names:
                found.append(f"{path.relative_to(ROOT)}:{line}: {literal}")
    assert len(files) > 20
    assert found == []


def _copy_set(tiny_set: Path, tmp_path: Path, edit) -> Path:
    import shutil

    dest = tmp_path / "sets" / "edited"
    shutil.copytree(tiny_set, dest)
    card = json.loads((dest / "card.json").read_text())
    edit(card)
    (dest / "card.json").write_text(json.dumps(card))
    return dest


def test_load_set_refuses_other_feature_settings(tiny_set, tmp_path):
    folder = _copy_set(tiny_set, tmp_path, lambda c: c["features"].update(mel64_hop=320))
    with pytest.raises(pretrained.PretrainedError, match=r"trained on features .*mel64_hop: the set has 320"):
        pretrained.load_set("edited", root=folder.parent)


def test_load_set_refuses_an_input_shape_the_code_does_not_make(tiny_set, tmp_path):
    arch = list_models()[-1]

    def edit(card):
        card["models"][arch]["input_shape"] = [3, 999]

    folder = _copy_set(tiny_set, tmp_path, edit)
    with pytest.raises(pretrained.PretrainedError, match=rf"{arch} of 'edited' was trained on inputs shaped \(3, 999\)"):
        pretrained.load_set("edited", root=folder.parent)
    assert set(pretrained.load_set("tiny", root=tiny_set.parent).models) == set(list_models())  # the original loads


def test_cli_prints_the_same_report_as_the_api_and_export(tiny_set, wav_file, monkeypatch):
    monkeypatch.setattr(pretrained, "PRETRAINED_DIR", tiny_set.parent)
    buf = io.StringIO()
    with redirect_stdout(buf):
        assert cli_main(["analyze", str(wav_file), "--set", "tiny", "--json"]) == 0
    printed = json.loads(buf.getvalue())
    a = analysis.analyze(audio.load(wav_file), pretrained.load_set("tiny", root=tiny_set.parent), curves=True)
    expected = json.loads(json.dumps(report.report_dict(a)))
    for d in (printed, expected):
        d.pop("timings_ms")
    assert set(printed) == set(expected) and "summary" in printed and "untrained" in printed
    assert printed == expected


def test_sequence_labels_follow_the_models_own_time_grid():
    from explainer import train
    from explainer.models import build, model_class

    model = build(next(n for n in list_models() if model_class(n).frame_level))
    waves = torch.zeros(2, 1, 16000)
    segments = [[(0.0, 0.5, "music"), (0.5, 1.0, "speech")], [(0.2, 0.3, "speech")]]
    labels = train.sequence_labels(model, (waves, segments), ["speech", "music"])
    start, step, steps = model.front_end.time_grid(16000)
    assert (start, step, steps) == (0.0, 0.01, 101) and labels.shape == (2, steps)
    assert labels[0, :50].eq(1).all() and labels[0, 50:].eq(0).all()  # the later segment owns the boundary
    assert labels[1, 20:31].eq(0).all() and labels[1, :20].eq(-100).all() and labels[1, 31:].eq(-100).all()
