"""Tests of the synthetic data generator (`explainer.data`), on tiny data sets in tmp_path.

The tone/noise/silence classes are pure numpy and always tested; speech, music and
percussion need Debian packages and are skipped, with the packages named, without them.
"""

from __future__ import annotations

import json
import wave
from pathlib import Path

import numpy as np
import pytest

from explainer.data import (CLASSES, SAMPLE_RATE, SPLITS, DataConfig, MissingToolError,
                            generate, missing_tools, write_examples)
from explainer.data import midi, tools

NUMPY_CLASSES = ("tone", "noise", "silence")


def _tiny(classes: tuple[str, ...], seed: int = 0) -> DataConfig:
    return DataConfig(seed=seed, classes=classes, train_per_class=2, val_per_class=2,
                      test_per_class=2, train_sequences=1, val_sequences=1, test_sequences=1)


def _read(path: Path) -> np.ndarray:
    with wave.open(str(path)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (SAMPLE_RATE, 1, 2), path
        return np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32767


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _check_dataset(root: Path, config: DataConfig) -> dict:
    manifest = json.loads((root / "manifest.json").read_text())
    for key in ("seed", "sample_rate", "clip_seconds", "classes", "config", "clips", "sequences"):
        assert key in manifest, key
    assert manifest["sample_rate"] == SAMPLE_RATE and manifest["clip_seconds"] == 3.2
    assert manifest["classes"] == list(config.classes)

    sources: dict[str, set[str]] = {s: set() for s in SPLITS}
    for clip in manifest["clips"]:
        assert set(clip) >= {"path", "label", "split", "source"}
        path = root / clip["path"]
        # Folder-per-class layout: <split>/<class>/<file>.wav
        assert path.parent.name == clip["label"] and path.parent.parent.name == clip["split"]
        audio = _read(path)
        assert audio.shape == (51_200,)
        assert np.all(np.isfinite(audio)) and np.max(np.abs(audio)) <= 1.0
        if clip["label"] != "silence":
            assert np.sqrt(np.mean(audio ** 2)) > 10 ** (-50 / 20), f"{clip} is nearly silent"
        else:
            assert np.sqrt(np.mean(audio ** 2)) < 10 ** (-45 / 20), f"{clip} is too loud"
        sources[clip["split"]].add(clip["source"])
    for split in SPLITS:
        for cls in config.classes:
            n = sum(c["split"] == split and c["label"] == cls for c in manifest["clips"])
            assert n == config.per_class(split), (split, cls, n)

    assert len(manifest["sequences"]) == sum(config.sequences(s) for s in SPLITS)
    for seq in manifest["sequences"]:
        audio = _read(root / seq["path"])
        assert audio.shape == (int(config.sequence_seconds * SAMPLE_RATE),)
        segments = seq["segments"]
        assert segments[0][0] == 0.0 and segments[-1][1] == pytest.approx(config.sequence_seconds)
        for (a0, a1, ca), (b0, _, cb) in zip(segments, segments[1:]):
            assert a1 == pytest.approx(b0) and a1 > a0 and ca != cb
        assert all(cls in config.classes for _, _, cls in segments)
        sources[seq["split"]].update(seq["sources"])

    # The split-by-source rule: no voice, program, kit or band is shared between splits.
    for i, a in enumerate(SPLITS):
        for b in SPLITS[i + 1:]:
            assert not sources[a] & sources[b], (a, b, sources[a] & sources[b])
    return manifest


def test_numpy_classes_without_tools(tmp_path: Path) -> None:
    config = _tiny(NUMPY_CLASSES)
    _check_dataset(Path(generate(tmp_path / "a", config)).parent, config)
    generate(tmp_path / "b", config)
    assert _files(tmp_path / "a") == _files(tmp_path / "b"), "same seed must give the same bytes"
    generate(tmp_path / "c", _tiny(NUMPY_CLASSES, seed=1))
    assert _files(tmp_path / "a") != _files(tmp_path / "c"), "another seed must differ"


def test_all_classes(tmp_path: Path) -> None:
    missing = missing_tools()
    if missing:
        pytest.skip(f"speech/music/percussion need Debian packages: apt-get install -y {' '.join(missing)}")
    config = _tiny(CLASSES)
    manifest = _check_dataset(Path(generate(tmp_path / "a", config)).parent, config)
    speech = [c for c in manifest["clips"] if c["label"] == "speech"]
    assert all(c["source"].startswith(("espeak:", "flite:")) for c in speech)
    generate(tmp_path / "b", config)
    assert _files(tmp_path / "a") == _files(tmp_path / "b"), "same seed must give the same bytes"


def test_examples(tmp_path: Path) -> None:
    missing = missing_tools()
    if missing:
        pytest.skip(f"examples need Debian packages: apt-get install -y {' '.join(missing)}")
    written = write_examples(tmp_path)
    names = {p.name for p in written}
    assert {f"{c}_{k}.wav" for c in CLASSES for k in (1, 2)} | {"sequence.wav"} <= names
    assert _read(tmp_path / "speech_1.wav").shape == (51_200,)
    assert _read(tmp_path / "sequence.wav").shape == (8 * SAMPLE_RATE,)
    listing = json.loads((tmp_path / "examples.json").read_text())
    assert {c["label"] for c in listing["clips"]} == set(CLASSES)
    assert sum(p.stat().st_size for p in written) < 2_000_000


def test_missing_tools_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tools.shutil, "which", lambda name: None)
    assert set(missing_tools()) >= {"espeak-ng", "flite", "fluidsynth"}
    assert "fluid-soundfont-gm" in missing_tools(soundfont="/nonexistent.sf2")
    with pytest.raises(MissingToolError, match="apt-get install -y espeak-ng flite"):
        tools.require_tools(DataConfig(classes=("speech", "tone")))
    tools.require_tools(DataConfig(classes=NUMPY_CLASSES))  # numpy classes need nothing


def test_refuses_foreign_folder(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a data set")
    with pytest.raises(ValueError, match="not empty"):
        generate(tmp_path, _tiny(("tone",)))


def test_midi_bytes() -> None:
    assert midi._varlen(0) == b"\x00" and midi._varlen(0x3FFF) == b"\xff\x7f"
    data = midi.midi_bytes([midi.note_off(0.5, 0, 60), midi.note_on(0.0, 0, 60, 100)])
    assert data.startswith(b"MThd") and b"MTrk" in data
    # The note-on (tick 0) is written before the note-off (500 ticks = 0.5 s later).
    assert data.index(b"\x90\x3c\x64") < data.index(b"\x80\x3c\x00")


def _numpy_pools():
    from explainer.data import sources, synth
    pools = [p for build in (sources._tone_pools, sources._noise_pools, sources._silence_pools,
                             sources._percussion_pools)
             for split_pools in build(0).values() for p in split_pools if p.kind in synth.RENDERERS]
    return {p.kind: p for p in pools}  # one pool per kind is enough


@pytest.mark.parametrize("kind", sorted(_numpy_pools()))
def test_every_numpy_source_renders(kind: str) -> None:
    from explainer.data import synth
    pool = _numpy_pools()[kind]
    rng = np.random.default_rng(3)
    for draw in range(6):
        params = pool.draw(rng)
        for fill in (False, True):
            x = synth.render(params, rng, 51_200, fill)
            assert x.shape == (51_200,) and x.dtype == np.float32 and np.all(np.isfinite(x)), params
            if params["cls"] == "silence":
                continue
            assert np.max(np.abs(x)) == pytest.approx(1.0, abs=1e-4), params
            if fill:  # a sequence segment is labelled over its whole length, so each second must sound
                seconds = x[: 48_000].reshape(3, 16_000)
                assert np.all(np.sqrt(np.mean(seconds ** 2, axis=1)) > 1e-3), params
