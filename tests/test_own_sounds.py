"""Your own sounds: fine-tuning a trained set on new classes, side by side with training from scratch,
and a set that travels as a zip and is checked when it comes back."""

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from explainer import pretrained, train
from explainer.models import list_models

ROOT = Path(__file__).resolve().parent.parent


def _two_tones(root: Path, per_class: int = 6) -> Path:
    """Two new classes the tiny parent set never heard: a low and a high whistle."""
    rng = np.random.default_rng(1)
    t = np.arange(16000) / 16000
    for name, lo, hi in (("low", 150, 300), ("high", 2500, 4000)):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            x = 0.3 * np.sin(2 * np.pi * rng.uniform(lo, hi) * t) + 0.01 * rng.standard_normal(t.size)
            sf.write(root / name / f"{i}.wav", x.astype(np.float32), 16000)
    return root


@pytest.fixture(scope="module")
def child(tiny_set, tmp_path_factory) -> Path:
    import shutil

    root = tmp_path_factory.mktemp("own")
    sets = root / "sets"
    shutil.copytree(tiny_set, sets / "tiny")  # the parent beside the child, so the shared tiny folder stays as it was
    data = _two_tones(root / "data")
    cfg = train.TrainConfig(max_epochs=2, clip_seconds=1.0, batch_size=8, finetune_epochs=3)
    return train.run(data, "child", list_models(), cfg, out_root=sets, parent="tiny", compare_scratch=True)


@pytest.mark.slow
def test_fine_tuning_writes_a_set_that_names_its_parent(child, tiny_set):
    card = json.loads((child / "card.json").read_text())
    expected = {a: train.model_settings(a, train.TrainConfig())["finetune_layers"] for a in list_models()}
    assert card["fine_tuned_from"]["set"] == "tiny" and card["fine_tuned_from"]["trained_layers"] == expected
    assert card["fine_tuned_from"]["classes"] == pretrained.load_set("tiny", root=child.parent).classes
    assert card["classes"] == ["high", "low"]
    loaded = pretrained.load_set("child", root=child.parent)
    parent = pretrained.load_set("tiny", root=child.parent)
    assert list(loaded.models) == list_models()
    for arch, entry in card["models"].items():
        trained = train.trained_prefixes(loaded.models[arch], expected[arch])
        learnt = sum(p.numel() for n, p in loaded.models[arch].named_parameters() if n.startswith(trained))
        assert entry["trained_layers"] == expected[arch] and entry["trained_params"] == learnt
        assert 0.0 <= entry["scratch"]["test"]["accuracy"] <= 1.0 and entry["scratch"]["train_seconds"] >= 0
        body = {k: v for k, v in parent.models[arch].state_dict().items()
                if not k.startswith(("head.", "front_end.")) and not k.startswith(trained)}
        mine = loaded.models[arch].state_dict()
        assert body or expected[arch] == "all"
        for k, v in body.items():  # the rest of the body is the parent's, untouched (BatchNorm statistics included)
            torch.testing.assert_close(mine[k], v, msg=f"{arch}: {k} changed")


@pytest.mark.slow
def test_fine_tuning_the_last_block_trains_it_and_nothing_below(tiny_set, tmp_path):
    from explainer.trainset import load_dataset

    parent = pretrained.load_set("tiny", root=tiny_set.parent)
    cfg = train.finetune_config(train.TrainConfig(max_epochs=2, clip_seconds=1.0, batch_size=8, finetune_epochs=2))
    data = load_dataset(_two_tones(tmp_path / "d"), cfg)
    for arch in ("spectrogram_cnn", "spectrogram_vit"):
        model, info = train.train_one(arch, data, cfg, parent=parent.models[arch], layers="last")
        block = train.trained_prefixes(model, "last")
        assert info["trained_layers"] == "last" and len(block) > 1
        assert info["trained_params"] == sum(p.numel() for n, p in model.named_parameters() if n.startswith(block))
        old, new = parent.models[arch].state_dict(), model.state_dict()
        moved = {k for k in old if not k.startswith(("head.", "front_end.")) and not torch.equal(old[k], new[k])}
        assert moved and all(k.startswith(block) for k in moved), f"{arch}: {sorted(moved)[:3]}"
    with pytest.raises(ValueError, match="layers must be one of"):
        train.train_one("tcn", data, cfg, parent=parent.models["tcn"], layers="middle")


def test_compare_scratch_needs_a_parent(tmp_path):
    done = subprocess.run([sys.executable, "-m", "explainer.train", "--data", str(_two_tones(tmp_path / "d", 3)),
                           "--name", "x", "--compare-scratch", "--out", str(tmp_path / "sets")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "give the set to start from with --from" in done.stderr


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


@pytest.mark.slow
def test_a_set_travels_as_a_zip_and_comes_back(child, tmp_path):
    data = pretrained.export_zip(child)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert sorted(z.namelist()) == sorted(["card.json"] + [f"{a}.safetensors" for a in list_models()])
    name = pretrained.import_zip(data, tmp_path, "again")
    assert name == "again" and set(pretrained.load_set("again", root=tmp_path).models) == set(list_models())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again"]  # no staging folder left


@pytest.mark.slow
def test_bad_zips_are_refused_with_a_sentence(child, tmp_path):
    with zipfile.ZipFile(io.BytesIO(pretrained.export_zip(child))) as z:
        good = {n: z.read(n) for n in z.namelist()}
    card = json.loads(good["card.json"])
    cases = {
        "escapes": ({**good, "../evil.safetensors": b"x"}, "escapes or nests a folder"),
        "nested": ({**good, "sub/x.safetensors": b"x"}, "escapes or nests a folder"),
        "pickle": ({**good, "tcn.pt": b"\x80\x04K\x01."}, "pickle or array file"),
        "other": ({**good, "run.sh": b"rm -rf /"}, "holds only card.json and .safetensors"),
        "checksum": ({**good, card["models"]["tcn"]["file"]: good[card["models"]["tcn"]["file"]][:-8] + b"\0" * 8},
                     "does not match the checksum"),
        "no card": ({k: v for k, v in good.items() if k != "card.json"}, "has no card.json"),
    }
    for label, (members, message) in cases.items():
        with pytest.raises(pretrained.PretrainedError, match=message):
            pretrained.import_zip(_zip(members), tmp_path, "bad")
        assert list(tmp_path.iterdir()) == [], label  # nothing left behind
    with pytest.raises(pretrained.PretrainedError, match="not a zip"):
        pretrained.import_zip(b"not a zip at all", tmp_path, "bad")


@pytest.mark.slow
def test_two_sessions_cannot_see_each_others_sets(child):
    from explainer.ui import own as own_mod
    from explainer.ui import sessions

    a, b = own_mod.OwnSounds(), own_mod.OwnSounds()
    try:
        name = a.restore(pretrained.export_zip(child))
        menu = lambda s: [value for _, value in own_mod.menu_update(s)["choices"]]
        assert name in menu(a) and name not in menu(b)
        assert name not in pretrained.list_sets()  # never among the shared sets
        assert not any(b.folder.rglob("*.safetensors")) and any(a.folder.rglob("*.safetensors"))
        assert sessions.get_set(name).classes == ["high", "low"]  # its own page can analyse with it
    finally:
        a.close()
        b.close()
    assert not a.folder.exists() and not b.folder.exists()
    with pytest.raises(pretrained.PretrainedError, match="No model set named"):
        sessions.get_set(name)  # gone with its session


def test_clips_and_classes_are_checked(tmp_path):
    from explainer import audio
    from explainer.ui import own as own_mod

    own = own_mod.OwnSounds()
    try:
        for bad, message in (("dog", "Name 2 to 6 classes"), ("dog, Dog", "same name"), ("dog, c/at", "cannot be")):
            with pytest.raises(own_mod.OwnSoundsError, match=message):
                own.set_classes(bad)
        own.set_classes("low, high")
        text = tmp_path / "notes.wav"
        text.write_text("not audio at all, just words")
        with pytest.raises(audio.AudioError, match="text file"):
            own.add_clip("low", str(text))
        with pytest.raises(own_mod.OwnSoundsError, match="at least 5 clips"):
            own.check_ready()
        data = _two_tones(tmp_path / "d", 5)
        for cls in ("low", "high"):
            for f in sorted((data / cls).iterdir()):
                own.add_clip(cls, str(f))
        own.check_ready()
        assert own.counts() == {"low": 5, "high": 5}
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("../escape/1.wav", (data / "low" / "0.wav").read_bytes())
        with pytest.raises(own_mod.OwnSoundsError, match="outside its folders"):
            own.add_zip(buf.getvalue())
    finally:
        own.close()


def _shipped_complete() -> bool:
    card = ROOT / "pretrained" / "sound-types" / "card.json"
    return card.is_file() and set(json.loads(card.read_text()).get("models", {})) == set(list_models())


@pytest.mark.slow
@pytest.mark.weights
@pytest.mark.skipif(not _shipped_complete(), reason="the shipped set is not installed")
def test_the_page_trains_a_private_set_from_the_shipped_one(tmp_path):
    from explainer.ui import own as own_mod
    from explainer.ui import sessions

    own = own_mod.OwnSounds()
    try:
        data = _two_tones(tmp_path / "d", 5)
        own.set_classes("low, high")
        for cls in ("low", "high"):
            for f in sorted((data / cls).iterdir()):
                own.add_clip(cls, str(f))
        from explainer import plots
        from explainer.ui import own_train

        steps = list(own_train.own_train_steps(own, compare=False))
        own, rows, chart, note, download, menu, panel = steps[-1]
        assert [r[0] for r in rows] and len(rows) == len(list_models())
        assert all(r[3] == "—" for r in rows)  # no scratch run was asked for
        # the panel was redrawn while each model trained: one bar per model, showing its epochs, then done
        panels = [s[-1] for s in steps[:-1]]
        for arch in list_models():
            title = plots.model_title(arch)
            assert any(f"{title}</div><div class=\"ae-run ae-run-finetuned ae-run-epoch\"" in p for p in panels), arch
        assert "6 of 6 runs done" in panel and panel.count("ae-run-done") == len(list_models())
        assert "6 of 6 runs done" not in panels[0] and panels[0].count("ae-run-waiting") == len(list_models())
        assert "sound-types" in note and chart is not None
        name = menu["value"]
        assert name.startswith("mine-") and name in [v for _, v in menu["choices"]]
        assert sessions.get_set(name).classes == ["high", "low"]
        assert pretrained.import_zip(Path(download).read_bytes(), tmp_path / "back", "back") == "back"
    finally:
        own.close()


def test_the_progress_panel_draws_one_bar_per_model_and_run():
    from explainer.ui.own_progress import TrainingBoard, train_live

    board = TrainingBoard({"tcn": "TCN", "spectrogram_vit": "ViT"}, ["fine-tuned", "scratch"])

    def work(events):  # what train.run tells its listener, for two models and two runs each
        for arch in ("tcn", "spectrogram_vit"):
            for run in ("fine-tuned", "scratch"):
                events({"arch": arch, "run": run, "state": "waiting"})
        events({"arch": "tcn", "run": "fine-tuned", "state": "epoch", "epoch": 3, "epochs": 12, "val_accuracy": 0.5,
                "seconds": 1.2})
        events({"arch": "tcn", "run": "fine-tuned", "state": "done", "epoch": 9, "best_epoch": 5, "seconds": 2.5,
                "accuracy": 0.75, "layers": "last"})
        events({"arch": "tcn", "run": "elsewhere", "state": "epoch", "epoch": 1, "epochs": 2})  # not on the board
        return "the set"

    steps = list(train_live(board, work, min_interval_s=0.0))
    assert steps[-1][1] == "the set" and all(result is None for _, result in steps[:-1])
    panels = [panel for panel, _ in steps]
    assert any('style="width:25%"' in p and "epoch 3 of 12 · 50% on its check clips" in p for p in panels)
    last = panels[-1]
    assert "1 of 4 runs done" in last and "done · 75% held out · 2.5 s · best epoch 5 of 9 (last block + head)" in last
    assert last.count("ae-run-waiting") == 3 and last.count('class="ae-runs-row"') == 2

    def broken(events):
        raise ValueError("no clips")

    with pytest.raises(ValueError, match="no clips"):
        list(train_live(TrainingBoard({"tcn": "TCN"}, ["fine-tuned"]), broken))


def test_a_confusion_cell_lists_its_held_out_clips(tmp_path):
    from explainer.ui import own as own_mod

    own = own_mod.OwnSounds()
    try:
        own.set_classes("low, high")
        data = _two_tones(tmp_path / "d", 2)
        for cls in ("low", "high"):
            for f in sorted((data / cls).iterdir()):
                own.add_clip(cls, str(f))
        # classes sort as the trainer sorts them: high = 0, low = 1
        own.card = {"classes": ["high", "low"], "models": {"tcn": {"test": {
            "confusion": [[1, 1], [0, 2]],
            "clips": [["high/000.wav", 0, 0], ["high/001.wav", 0, 1], ["low/000.wav", 1, 1], ["low/001.wav", 1, 1]]}}}}
        clips, text = own_mod.cell_clips(own, "tcn", 0, 2)  # true high, heard as low (column 0 holds the labels)
        assert [Path(c).relative_to(own.data_dir).as_posix() for c in clips] == ["high/001.wav"]
        assert text == "1 held-out high clip (wrong: heard as low)."
        clips, text = own_mod.cell_clips(own, "tcn", 1, 2)
        assert len(clips) == 2 and "(right)" in text
        assert own_mod.cell_clips(own, "tcn", 1, 1) == ([], "No held-out low clip was heard as high.")
        shown = own_mod.cell_matrix(own, "tcn")
        assert shown["value"] == [["high (true)", 1, 1], ["low (true)", 0, 2]] and shown["visible"]
        assert not own_mod.cell_matrix(own, "waveform_cnn")["visible"]  # no such model trained: no empty table
    finally:
        own.close()


def test_the_card_says_which_held_out_clip_went_where(child):
    card = json.loads((child / "card.json").read_text())
    for entry in card["models"].values():
        clips, conf = entry["test"]["clips"], entry["test"]["confusion"]
        assert len(clips) == entry["test"]["n"] and all((child.parent.parent / "data" / f).is_file() for f, _, _ in clips)
        for t, row in enumerate(conf):
            for q, count in enumerate(row):
                assert count == sum(1 for _, a, b in clips if (a, b) == (t, q))
