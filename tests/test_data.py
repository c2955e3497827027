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
import torch

import shutil

from explainer.data import (CLASSES, SAMPLE_RATE, SPLITS, AugmentConfig, DataConfig, MissingToolError,
                            generate, missing_tools, write_examples)
from explainer.data import augment, midi, real, tools

NUMPY_CLASSES = ("tone", "noise", "silence")
HAVE_FFMPEG = shutil.which("ffmpeg") is not None


def _tiny(classes: tuple[str, ...], seed: int = 0, **options) -> DataConfig:
    """A few clips a split; synthetic only, and no codec round trip unless ffmpeg is here."""
    options.setdefault("use_real", False)
    options.setdefault("augment", AugmentConfig(p_codec=0.5 if HAVE_FFMPEG else 0.0))
    return DataConfig(seed=seed, classes=classes, train_per_class=2, val_per_class=2,
                      test_per_class=2, train_sequences=1, val_sequences=1, test_sequences=1, **options)


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
        assert config.sequence_segments[0] <= len(segments) <= config.sequence_segments[1], segments
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


@pytest.mark.slow
def test_all_classes(tmp_path: Path) -> None:
    missing = missing_tools() + ([] if HAVE_FFMPEG else ["ffmpeg"])
    if missing:
        pytest.skip(f"speech/music/percussion need Debian packages: apt-get install -y {' '.join(missing)}")
    config = _tiny(CLASSES)
    manifest = _check_dataset(Path(generate(tmp_path / "a", config)).parent, config)
    speech = [c for c in manifest["clips"] if c["label"] == "speech"]
    assert all(c["source"].startswith(("espeak:", "flite:")) for c in speech)
    generate(tmp_path / "b", config)
    assert _files(tmp_path / "a") == _files(tmp_path / "b"), "same seed must give the same bytes"


@pytest.mark.slow
def test_examples(tmp_path: Path) -> None:
    missing = missing_tools() + ([] if HAVE_FFMPEG else ["ffmpeg"]) + real.missing(real.discover())
    if missing:
        pytest.skip(f"examples need Debian packages: apt-get install -y {' '.join(missing)}")
    written = write_examples(tmp_path)
    names = {p.name for p in written}
    assert {f"{c}_{k}.wav" for c in CLASSES for k in (1, 2)} | {"sequence.wav"} <= names
    assert _read(tmp_path / "speech_1.wav").shape == (51_200,)
    assert _read(tmp_path / "sequence.wav").shape == (8 * SAMPLE_RATE,)
    listing = json.loads((tmp_path / "examples.json").read_text())
    assert {c["label"] for c in listing["clips"]} == set(CLASSES)
    # real recordings from test-split speakers, tracks and kits, each with its package and licence
    reals = {c["path"]: c for c in listing["clips"] if c["origin"] == "real"}
    assert set(reals) == {"speech_person.wav", "music_song.wav", "percussion_drums.wav", "percussion_claps.wav",
                          "speech_room.wav"}
    from explainer.features import sounding
    room = torch.from_numpy(_read(tmp_path / "speech_room.wav"))
    assert 0.3 < float(sounding(room).float().mean()) < 0.7  # words and pauses, for the explanation tests
    from explainer.data.sources import build_inventory
    test_names = {n for pools in build_inventory(DataConfig()).pools["test"].values() for p in pools
                 if p.kind == "real" for n in p.choices["name"]}
    assert all(c["source"] in test_names and c["package"] in real.PACKAGES and c["licence"] for c in reals.values())
    sources_md = (tmp_path / "SOURCES.md").read_text()
    assert all(f"`{name}`" in sources_md and c["package"] in sources_md for name, c in reals.items())
    assert sum(p.stat().st_size for p in written) < 4_000_000


def test_missing_tools_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tools.shutil, "which", lambda name: None)
    assert set(missing_tools()) >= {"espeak-ng", "flite", "fluidsynth"}
    assert "fluid-soundfont-gm" in missing_tools(soundfont="/nonexistent.sf2")
    with pytest.raises(MissingToolError, match="apt-get install -y espeak-ng flite"):
        tools.require_tools(DataConfig(classes=("speech", "tone")))
    with pytest.raises(MissingToolError, match="apt-get install -y ffmpeg"):  # the codec round trip
        tools.require_tools(DataConfig(classes=NUMPY_CLASSES))
    # numpy classes without the codec need nothing
    tools.require_tools(DataConfig(classes=NUMPY_CLASSES, augment=AugmentConfig(p_codec=0.0)))


def test_refuses_foreign_folder(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a data set")
    with pytest.raises(ValueError, match="not empty"):
        generate(tmp_path, _tiny(("tone",)))


def test_midi_file_parses_back_with_the_same_notes(tmp_path: Path) -> None:
    import mido
    events = [midi.note_on(0.5, 0, 60, 100), midi.note_off(1.0, 0, 60), midi.note_off(0.5, 0, 60),
              midi.note_on(0.0, 0, 60, 90), midi.program(0.0, 0, 24), midi.note_on(0.25, 9, 200, 0)]
    midi.midi_file(events).save(tmp_path / "score.mid")
    back = mido.MidiFile(tmp_path / "score.mid")
    assert back.type == 0 and len(back.tracks) == 1
    t, got = 0.0, []
    for msg in back:  # mido turns the delta ticks into seconds with the file's tempo
        t += msg.time
        if not msg.is_meta:
            got.append((round(t, 6), msg.copy(time=0)))
    # sorted by time; at 0.5 s the old note is released before the same pitch is struck again;
    # out-of-range pitch and velocity are clamped (a velocity of 0 would be a note-off)
    assert got == [(0.0, mido.Message("program_change", channel=0, program=24)),
                   (0.0, mido.Message("note_on", channel=0, note=60, velocity=90)),
                   (0.25, mido.Message("note_on", channel=9, note=127, velocity=1)),
                   (0.5, mido.Message("note_off", channel=0, note=60, velocity=0)),
                   (0.5, mido.Message("note_on", channel=0, note=60, velocity=100)),
                   (1.0, mido.Message("note_off", channel=0, note=60, velocity=0))]


def test_eq_biquads_have_their_gain_and_do_not_clip() -> None:
    import torchaudio.functional as AF
    t = np.arange(16_000) / SAMPLE_RATE

    def gain_db(design, freq, *args):  # steady-state gain of a full-scale sine, in dB
        y = augment._biquad(design, np.sin(2 * np.pi * freq * t), *args)
        return 20 * np.log10(np.std(y[8_000:]) / np.std(np.sin(2 * np.pi * freq * t[8_000:])))

    # a +12 dB peak lifts a full-scale tone to about 4: torchaudio alone would clamp it at 1
    assert gain_db(AF.equalizer_biquad, 1_000, 1_000.0, 12.0, 1.0) == pytest.approx(12.0, abs=0.1)
    assert gain_db(AF.equalizer_biquad, 6_000, 1_000.0, 12.0, 1.0) == pytest.approx(0.0, abs=0.5)
    assert gain_db(AF.bass_biquad, 40, 9.0, 300.0, 0.7) == pytest.approx(9.0, abs=0.5)  # low shelf
    assert gain_db(AF.bass_biquad, 6_000, 9.0, 300.0, 0.7) == pytest.approx(0.0, abs=0.5)
    assert gain_db(AF.treble_biquad, 7_000, -9.0, 3_000.0, 0.7) == pytest.approx(-9.0, abs=0.5)  # high shelf
    assert gain_db(AF.treble_biquad, 100, -9.0, 3_000.0, 0.7) == pytest.approx(0.0, abs=0.5)
    # every random EQ (shelves, peaks, the phone band) stays finite and within its +-12 dB of gain
    x = np.random.default_rng(0).standard_normal(16_000)
    for seed in range(24):
        y = augment.random_eq(x, np.random.default_rng(seed), (-12.0, 12.0))
        assert np.all(np.isfinite(y)) and -30 < 20 * np.log10(np.std(y) / np.std(x)) < 12.5, seed


def _numpy_pools():
    from explainer.data import sources, synth
    pools = [p for build in (sources._tone_pools, sources._noise_pools, sources._silence_pools,
                             sources._percussion_pools)
             for split_pools in build(0).values() for p in split_pools if p.kind in synth.RENDERERS]
    return {p.kind: p for p in pools}  # one pool per kind is enough


def test_numpy_sources_cover_every_numpy_class() -> None:
    # the test below is parametrised over these pools: an empty or shrunken list would pass it
    rng = np.random.default_rng(0)
    assert {p.draw(rng)["cls"] for p in _numpy_pools().values()} == {"tone", "noise", "silence", "percussion"}


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
            if params["cls"] == "silence":  # a quiet room or a hum, never normalised up to full scale
                assert np.sqrt(np.mean(x ** 2)) < 10 ** (-45 / 20), params
                continue
            assert np.max(np.abs(x)) == pytest.approx(1.0, abs=1e-4), params
            if fill:  # a sequence segment is labelled over its whole length, so each second must sound
                seconds = x[: 48_000].reshape(3, 16_000)
                assert np.all(np.sqrt(np.mean(seconds ** 2, axis=1)) > 1e-3), params


# ---------------------------------------------------------------- real recordings

def _tone_file(path: Path, seconds: float, freq: float, sr: int = 22_050, gap: bool = False,
               decay: float = 3.0) -> None:
    """A small stand-in for a packaged recording: a decaying tone (a word or a drum hit), or a
    steady one (``decay=0``, a music track)."""
    import soundfile as sf
    t = np.arange(int(seconds * sr)) / sr
    x = 0.5 * np.sin(2 * np.pi * freq * t) * np.exp(-decay * t)
    if gap:
        x[len(x) // 2:] = 0.0
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), x.astype(np.float32), sr)


def _fake_packages(root: Path) -> None:
    """A tiny tree shaped like the Debian packages that `real.discover` reads."""
    share = root / "usr" / "share"
    for i, lang in enumerate(("en", "fr", "de", "sr", "sr@latin")):
        for w in range(3):
            _tone_file(share / "ktuberling" / "sounds" / lang / f"word{w}.wav", 0.5, 200 + 40 * i + 9 * w)
    for i, voice in enumerate(("British", "Pirate", "Pirate_es", "Singer")):
        _tone_file(share / "games" / "hedgewars" / "Data" / "Sounds" / "voices" / voice / "Hello.ogg", 0.6, 300 + 30 * i)
    for i in range(4):
        _tone_file(share / "games" / "hedgewars" / "Data" / "Music" / f"Track{i}.ogg", 12.0, 440 + 50 * i, decay=0)
    for i in range(3):
        _tone_file(share / "games" / "etr" / "music" / f"race{i}.ogg", 10.0, 330 + 20 * i, decay=0)
    for name in ("break01", "jungle01", "house_loop01", "rave_kick01"):
        _tone_file(share / "lmms" / "samples" / "beats" / f"{name}.ogg", 1.5, 90, gap=True)
    for name in ("kick01", "snare01", "hihat_closed01", "clap01"):
        _tone_file(share / "lmms" / "samples" / "drums" / f"{name}.ogg", 0.2, 120)
    for kit in ("GMRockKit", "TR808EmulationKit", "Gimme A Hand 1.0"):
        for name in ("Kick-Hard", "Snare-Med", "HatClosed-Soft", "HandClap"):
            _tone_file(share / "hydrogen" / "data" / "drumkits" / kit / f"{name}.wav", 0.2, 150)
    _tone_file(share / "klettres" / "it" / "alpha" / "a.ogg", 0.5, 500)


def test_real_collections_are_split_by_speaker_track_and_kit(tmp_path: Path) -> None:
    _fake_packages(tmp_path)
    found = {c.name: c for c in real.discover(tmp_path)}
    # sr and sr@latin are one speaker; Pirate and Pirate_es one pack; the sung pack is left out
    assert "ktuberling:sr" in found and len(found["ktuberling:sr"].files) == 6
    assert "hedgewars:Pirate" in found and len(found["hedgewars:Pirate"].files) == 2
    assert not any("Singer" in n for n in found) and "lmms-beat:rave_kick01" not in found
    assert found["klettres:it"].package == "klettres-data" and found["hydrogen-kit:GMRockKit"].package == "hydrogen-data"
    assert real.missing(list(found.values())) == []
    assert real.roles(found["hydrogen-kit:GMRockKit"].files).keys() == {"kick", "snare", "hat", "clap"}

    from explainer.data.sources import build_inventory
    inv = build_inventory(_tiny(CLASSES, real_root=str(tmp_path), use_real=True))
    owner: dict[str, str] = {}
    for split in SPLITS:
        for pool in (p for pools in inv.pools[split].values() for p in pools if p.kind == "real"):
            for name in pool.choices["name"]:
                assert owner.setdefault(name, split) == split, f"{name} is in {owner[name]} and {split}"
    assert set(owner) == set(found)  # every collection is in exactly one split
    assert {owner[n] for n in found if found[n].cls == "speech"} == set(SPLITS)
    assert set(inv.packages()) >= set(real.REQUIRED) | {"klettres-data"}
    assert all(v["licence"] for v in inv.packages().values())


@pytest.mark.parametrize("kind", ["words", "excerpt", "loop", "kit"])
def test_every_real_kind_renders(tmp_path: Path, kind: str) -> None:
    _fake_packages(tmp_path)
    c = next(c for c in real.discover(tmp_path) if c.kind == kind)
    rng = np.random.default_rng(0)
    for fill in (False, True):
        x = real.render(c, rng, 51_200, fill)
        assert x.shape == (51_200,) and x.dtype == np.float32 and np.all(np.isfinite(x))
        assert np.max(np.abs(x)) == pytest.approx(1.0, abs=1e-4), c.name
    if kind == "words":  # a spoken clip keeps its pauses: some 100 ms stretches hold no voice at all
        x = real.render(c, np.random.default_rng(1), 51_200, False)
        quiet = np.sqrt(np.mean(x.reshape(-1, 1600) ** 2, axis=1)) < 1e-4
        assert 0 < quiet.sum() < len(quiet)


@pytest.mark.slow
def test_generate_with_real_recordings(tmp_path: Path) -> None:
    missing = missing_tools() + ([] if HAVE_FFMPEG else ["ffmpeg"])
    if missing:
        pytest.skip(f"speech/music/percussion need Debian packages: apt-get install -y {' '.join(missing)}")
    _fake_packages(tmp_path / "root")
    config = _tiny(CLASSES, real_root=str(tmp_path / "root"), use_real=True)
    config.train_per_class = config.test_per_class = 6
    # half and half, so that a few clips hold both kinds (at the default 85 % real speech, 14 clips are
    # all real one time in ten)
    config.real_share = {"speech": 0.5, "music": 0.5, "percussion": 0.5}
    manifest = _check_dataset(Path(generate(tmp_path / "data", config)).parent, config)
    origins = {(c["label"], c["origin"]) for c in manifest["clips"]}
    assert ("speech", "real") in origins and ("speech", "synthetic") in origins
    assert all(c["origin"] == "synthetic" for c in manifest["clips"] if c["label"] in ("tone", "silence"))
    assert set(manifest["real_packages"]) >= set(real.REQUIRED)


def test_missing_real_packages_are_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tools, "missing_tools", lambda soundfont=None: [])  # only the recordings are absent
    with pytest.raises(MissingToolError, match="apt-get install -y ktuberling-data hedgewars-data"):
        tools.require_tools(DataConfig(classes=("percussion", "tone"), real_root=str(tmp_path),
                                       augment=AugmentConfig(p_codec=0.0)))
    tools.require_tools(DataConfig(classes=("percussion", "tone"), real_root=str(tmp_path), use_real=False,
                                   augment=AugmentConfig(p_codec=0.0)))


def test_agc_lifts_quiet_parts_and_holds_loud_ones() -> None:
    t = np.arange(32_000) / SAMPLE_RATE
    x = np.sin(2 * np.pi * 300 * t) * np.where(t < 1.0, 0.01, 0.5)
    y = augment.agc(x, np.random.default_rng(0))
    ratio_in = np.std(x[20_000:]) / np.std(x[4_000:14_000])
    ratio_out = np.std(y[20_000:]) / np.std(y[4_000:14_000])
    assert np.all(np.isfinite(y)) and ratio_out < ratio_in / 3


def test_agc_with_a_noise_room_does_not_lift_the_room_over_a_word() -> None:
    # one 0.3 s word-like burst in 3 s of a room 20 dB below it: the gain may lift the room, but the
    # room must stay well under the word (it once came up as loud as the word)
    rng = np.random.default_rng(0)
    t = np.arange(48_000) / SAMPLE_RATE
    room = 0.05 * rng.standard_normal(len(t))
    word = np.where((t > 1.0) & (t < 1.3), 0.5 * np.sin(2 * np.pi * 300 * t), 0.0)
    def word_over_room(noise_room_db, seed):
        y = augment.agc(room + word, np.random.default_rng(seed), noise_room_db)
        inside = np.std(y[17_000:20_000])
        after = np.std(y[36_000:])  # the room, long after the word: the gain has fully released
        return 20 * np.log10(inside / after)

    for seed in range(8):
        assert word_over_room(20.0, seed) > 10, seed
    assert np.mean([word_over_room(None, seed) for seed in range(8)]) < 3  # unbounded, the room came up to the word


def test_microphone_band_cuts_lows_and_highs() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal(32_000)
    y = augment.microphone(x, np.random.default_rng(1))
    spec_x, spec_y = np.abs(np.fft.rfft(x)), np.abs(np.fft.rfft(y))
    band = lambda s, lo, hi: np.mean(s[int(lo * 2):int(hi * 2)])  # 0.5 Hz bins
    assert band(spec_y, 20, 40) / band(spec_x, 20, 40) < 0.3
    assert band(spec_y, 7_800, 7_990) / band(spec_x, 7_800, 7_990) < 0.5
    assert 0.3 < band(spec_y, 1_000, 1_500) / band(spec_x, 1_000, 1_500) < 3.0


@pytest.mark.skipif(not HAVE_FFMPEG, reason="the codec round trip needs ffmpeg: apt-get install -y ffmpeg")
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_codec_round_trip_keeps_length_and_content(seed: int) -> None:
    t = np.arange(32_000) / SAMPLE_RATE
    x = 0.5 * np.sin(2 * np.pi * 440 * t) * (t > 0.3)
    y = augment.codec_round_trip(x, np.random.default_rng(seed), AugmentConfig())
    assert y.shape == x.shape and np.all(np.isfinite(y))
    # the tone survives: its level at 440 Hz is within 3 dB and the start stays quiet
    assert abs(20 * np.log10(np.std(y[8_000:]) / np.std(x[8_000:]))) < 3
    assert np.std(y[:3_000]) < 0.05
