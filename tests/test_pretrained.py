"""The trainer end to end on a tiny folder dataset, and every refusal of the set loader."""

import json
import pickle
import shutil
from pathlib import Path

import pytest
import soundfile as sf
import torch

from explainer import train
from explainer.train import __main__ as train_cli
from explainer.models import build, list_models
from explainer.pretrained import PretrainedError, list_sets, load_set, set_dir, sha256
from explainer.transfer import own_config
from explainer.trainset import add_pauses, freq_mask, sound_crop_starts
from helpers import make_folder_dataset


def test_trainer_writes_every_model_and_a_card(tiny_set):
    card = json.loads((tiny_set / "card.json").read_text())
    assert card["classes"] == ["beep", "hiss", "hum"]
    assert set(card["models"]) == set(list_models())
    for arch, entry in card["models"].items():
        assert (tiny_set / entry["file"]).is_file()
        assert entry["sha256"] == sha256(tiny_set / entry["file"])
        assert 0.0 <= entry["test"]["accuracy"] <= 1.0
        assert len(entry["test"]["confusion"]) == 3
        assert entry["params"] > 0 and entry["train_seconds"] >= 0
    assert card["data"]["kind"] == "folder" and card["training"]["seed"] == 0


def test_trained_set_loads_and_predicts(tiny_set):
    ms = load_set("tiny", root=tiny_set.parent)
    assert ms.classes == ["beep", "hiss", "hum"] and list(ms.models) == list_models()
    wave = torch.randn(1, 1, 16000) * 0.1
    for model in ms.models.values():
        assert not model.training
        probs = torch.softmax(model(model.front_end(wave)), 1)
        assert probs.shape == (1, 3) and torch.isfinite(probs).all()


def test_training_is_deterministic(tmp_path):
    data = make_folder_dataset(tmp_path / "data", per_class=4)
    cfg = train.TrainConfig(max_epochs=1, clip_seconds=1.0, batch_size=4)
    a = train.run(data, "a", ["tcn"], cfg, out_root=tmp_path / "sets")
    b = train.run(data, "b", ["tcn"], cfg, out_root=tmp_path / "sets")
    assert sha256(a / "tcn.safetensors") == sha256(b / "tcn.safetensors")


def _copy(tiny_set: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "sets" / "tiny"
    shutil.copytree(tiny_set, dst)
    return dst


def test_weights_beyond_fp16_range_are_kept_exactly(tmp_path):
    # the LFCC CNN's first BatchNorm sees a log-energy column whose running variance can pass 65,504:
    # written as fp16 it became infinity, and the loaded model answered differently on 128 of 720 clips
    from explainer.pretrained import load_weights, save_weights

    model = build("lfcc_cnn", n_classes=6).eval()
    state = model.state_dict()
    state["column_norm.running_var"][0] = 7.3e4
    state["column_norm.running_mean"][0] = 385.5
    model.load_state_dict(state)
    save_weights(model, tmp_path / "w.safetensors")
    back = build("lfcc_cnn", n_classes=6).eval()
    load_weights(back, tmp_path / "w.safetensors")
    assert float(back.state_dict()["column_norm.running_var"][0]) == 7.3e4
    x = torch.randn(1, 1, 100, 180)
    x[..., 0] = 300.0 + 200.0 * x[..., 0]
    torch.testing.assert_close(back(x), model(x), atol=2e-2, rtol=0)  # the rest, fp16, changes little
    from safetensors.torch import load_file

    stored = load_file(str(tmp_path / "w.safetensors"))
    assert stored["column_norm.running_var"].dtype == torch.float32
    assert stored["block1.0.weight"].dtype == torch.float16  # the weights in range stay half size


def test_refuses_a_bad_checksum(tiny_set, tmp_path):
    dst = _copy(tiny_set, tmp_path)
    blob = bytearray((dst / "tcn.safetensors").read_bytes())
    blob[-1] ^= 0xFF
    (dst / "tcn.safetensors").write_bytes(bytes(blob))
    with pytest.raises(PretrainedError, match="checksum"):
        load_set("tiny", root=dst.parent)


def test_refuses_a_pickle_even_with_a_matching_checksum(tiny_set, tmp_path):
    dst = _copy(tiny_set, tmp_path)
    bomb = dst / "tcn.safetensors"
    bomb.write_bytes(pickle.dumps({"weights": [1, 2, 3]}))
    card = json.loads((dst / "card.json").read_text())
    card["models"]["tcn"]["sha256"] = sha256(bomb)
    (dst / "card.json").write_text(json.dumps(card))
    with pytest.raises(PretrainedError, match="safetensors"):
        load_set("tiny", root=dst.parent)


def test_refuses_a_pickle_file_named_in_the_card(tiny_set, tmp_path):
    dst = _copy(tiny_set, tmp_path)
    card = json.loads((dst / "card.json").read_text())
    torch.save({}, dst / "tcn.pt")
    card["models"]["tcn"]["file"] = "tcn.pt"
    (dst / "card.json").write_text(json.dumps(card))
    with pytest.raises(PretrainedError, match=r"\.safetensors"):
        load_set("tiny", root=dst.parent)


def test_refuses_a_class_mismatch(tiny_set, tmp_path):
    dst = _copy(tiny_set, tmp_path)
    card = json.loads((dst / "card.json").read_text())
    card["classes"] = ["beep", "hiss"]
    (dst / "card.json").write_text(json.dumps(card))
    with pytest.raises(PretrainedError, match="card says 3 classes but lists 2"):
        load_set("tiny", root=dst.parent)


@pytest.mark.parametrize("name", ["../tiny", "..", "/etc", "a/b", "tiny/../../x", "", ".hidden", "x" * 80])
def test_refuses_names_that_escape(name, tiny_set):
    with pytest.raises(PretrainedError, match="is not a valid model-set name"):
        load_set(name, root=tiny_set.parent)


def test_set_dir_stays_inside(tmp_path):
    assert set_dir("sound-types", tmp_path) == (tmp_path / "sound-types").resolve()
    with pytest.raises(PretrainedError, match="is not a valid model-set name"):
        set_dir("../sound-types", tmp_path)


def test_list_sets(tiny_set):
    assert list_sets(tiny_set.parent) == ["tiny"]
    assert list_sets(tiny_set.parent / "missing") == []


def test_train_cli_refuses_bad_arguments(tmp_path, capsys):
    assert train_cli.main(["--data", str(tmp_path / "nope"), "--name", "x"]) == 2
    assert capsys.readouterr().err == f"error: {tmp_path / 'nope'} is not a folder\n"
    assert train_cli.main(["--data", str(tmp_path), "--name", "x", "--models", "resnet"]) == 2
    assert capsys.readouterr().err.startswith("error: unknown models ['resnet']; choose from")


def test_train_cli_trains_each_model_in_a_process_of_its_own_with_the_same_weights(tmp_path, capsys):
    data = make_folder_dataset(tmp_path / "data", per_class=4)
    common = ["--data", str(data), "--models", "tcn,baseline_cnn", "--epochs", "1", "--clip-seconds", "1.0"]
    assert train_cli.main([*common, "--name", "apart", "--out", str(tmp_path / "a")]) == 0
    assert capsys.readouterr().out.strip().endswith(str(tmp_path / "a" / "apart"))
    assert train_cli.main([*common, "--name", "together", "--out", str(tmp_path / "b"), "--one-process"]) == 0
    apart = json.loads((tmp_path / "a" / "apart" / "card.json").read_text())
    together = json.loads((tmp_path / "b" / "together" / "card.json").read_text())
    assert list(apart["models"]) == list(together["models"]) == ["tcn", "baseline_cnn"]
    for arch in ("tcn", "baseline_cnn"):  # training is seeded: a fresh process changes the time, not the weights
        assert apart["models"][arch]["sha256"] == together["models"][arch]["sha256"], arch
        assert apart["models"][arch]["test"] == together["models"][arch]["test"], arch
    total = sum(m["train_seconds"] for m in apart["models"].values())
    assert apart["train_seconds_total"] == pytest.approx(total, abs=0.05)
    assert train_cli.main([*common, "--name", "../out", "--out", str(tmp_path / "a")]) == 2  # refused before any child
    assert "is not a valid model-set name" in capsys.readouterr().err


def test_each_child_of_a_multi_model_run_gets_every_option_of_its_parent(tmp_path):
    p = train_cli._parser()
    parent = p.parse_args(["--data", str(tmp_path), "--name", "x", "--models", "tcn,lfcc_cnn", "--epochs", "3",
                           "--seed", "7", "--clip-seconds", "1.5", "--batch-size", "4", "--out", str(tmp_path / "o"),
                           "--from", "sound-types", "--layers", "last", "--compare-scratch"])
    args = train_cli.child_args(p, parent)
    assert "--models" not in args and "--one-process" not in args and args[-1] == "--child"
    child = p.parse_args([*args, "--models", "tcn"])
    for key, value in vars(parent).items():  # what the parent parsed, the child parses back
        if key not in ("models", "child"):
            assert getattr(child, key) == value, key
    assert child.models == "tcn" and child.child
    bare = train_cli.child_args(p, p.parse_args(["--data", str(tmp_path), "--name", "x"]))
    assert "--compare-scratch" not in bare and "--from" not in bare and "--out" not in bare


def test_evaluate_on_a_folder(tiny_set, tmp_path):
    data = make_folder_dataset(tmp_path / "data", per_class=2)
    report = train.evaluate(data, "tiny", out_root=tiny_set.parent)
    assert set(report) == set(list_models())
    assert all(m["n"] == 6 and 0.0 <= m["accuracy"] <= 1.0 for m in report.values())


def test_speed_moves_pitch_and_keeps_length():
    sr = 16000
    t = torch.arange(sr) / sr
    wave = torch.sin(2 * torch.pi * 1000 * t).view(1, 1, -1)
    gen = torch.Generator().manual_seed(0)
    for rate in (0.8, 1.25):
        out = train.speed(wave, rate, rate, gen)
        assert out.shape == wave.shape
        peak_hz = torch.fft.rfft(out[0, 0]).abs().argmax().item()  # 1 Hz bins for a 1 s clip
        assert peak_hz == pytest.approx(1000 * rate, abs=2)
    # faster playback is shorter: the last fifth of the clip is silence
    assert out[0, 0, -3000:].abs().max() == 0 and out[0, 0, :12000].abs().max() > 0.9


def test_speed_stretches_time_by_the_factor_without_aliasing():
    sr = 16000
    t = torch.arange(sr) / sr
    burst = torch.where((t >= 0.2) & (t < 0.6), torch.sin(2 * torch.pi * 1000 * t), torch.zeros(())).view(1, 1, -1)
    gen = torch.Generator().manual_seed(0)
    for rate in (0.8, 1.25):  # a 0.4 s burst lasts 0.4 / rate seconds
        out = train.speed(burst, rate, rate, gen)[0, 0]
        sounding = (out.abs() > 0.1).nonzero()
        assert (sounding.max() - sounding.min()).item() / sr == pytest.approx(0.4 / rate, abs=0.005)

    def spectrum(x):
        return torch.fft.rfft(x * torch.hann_window(len(x), periodic=False)).abs() ** 2  # 1 Hz bins for 1 s

    tone = torch.sin(2 * torch.pi * 1000 * t).view(1, 1, -1)
    for rate in (0.8, 1.1, 1.25):
        power = spectrum(train.speed(tone, rate, rate, gen)[0, 0, : int(sr / max(rate, 1.0))])
        peak = round(1000 * rate * len(power) / (sr / 2))  # the bin of 1000 * rate Hz
        near, outside = power[peak - 30 : peak + 31].sum(), power[: peak - 30].sum() + power[peak + 31 :].sum()
        # everything outside the moved tone is below -60 dB (linear interpolation leaves about -45 dB)
        assert 10 * torch.log10(outside / near) < -60, rate
    # a 7 kHz tone played 1.25 times faster would be 8.75 kHz, above Nyquist: it must vanish, not fold to 7.25 kHz
    high = torch.sin(2 * torch.pi * 7000 * t).view(1, 1, -1)
    out = train.speed(high, 1.25, 1.25, gen)[0, 0, :12800]
    assert 10 * torch.log10(out.pow(2).mean() / high.pow(2).mean()) < -40


def test_speed_draws_a_seeded_rate_in_range():
    sr = 16000
    wave = torch.sin(2 * torch.pi * 1000 * torch.arange(sr) / sr).repeat(8, 1, 1)
    a = train.speed(wave, 0.8, 1.25, torch.Generator().manual_seed(1))
    assert torch.equal(a, train.speed(wave, 0.8, 1.25, torch.Generator().manual_seed(1)))
    assert not torch.equal(a, train.speed(wave, 0.8, 1.25, torch.Generator().manual_seed(2)))
    peaks = [torch.fft.rfft(clip[0]).abs().argmax().item() for clip in a]  # 1 Hz bins
    assert all(795 <= hz <= 1255 for hz in peaks) and len(set(peaks)) > 4  # a spread of rates, not one


def test_augment_gain_and_noise_snr():
    # a constant clip is unchanged by the circular shift, so what augment adds is exactly clip - gained input
    wave = torch.full((16, 1, 16000), 0.3)
    gen = torch.Generator().manual_seed(0)
    for snr in (15.0, 30.0, 45.0):
        cfg = train.TrainConfig(gain_db=(-6.0, -6.0), noise_snr_db=(snr, snr), noise_probability=1.0)
        out = train.augment(wave, cfg, gen, None)
        clean = 0.3 * 10 ** (-6 / 20)
        noise = out - clean
        measured = 10 * torch.log10(clean ** 2 / noise.pow(2).mean(dim=-1))
        assert torch.allclose(measured, torch.full_like(measured, snr), atol=0.5), (snr, measured)
    quiet = train.augment(wave, train.TrainConfig(gain_db=(-6.0, -6.0), noise_probability=0.0), gen, None)
    torch.testing.assert_close(quiet, torch.full_like(wave, 0.3 * 10 ** (-6 / 20)))
    silent = train.augment(torch.zeros(4, 1, 16000), train.TrainConfig(noise_probability=1.0), gen, None)
    assert torch.equal(silent, torch.zeros_like(silent))  # no noise bed on silence, and no NaN


def _burst_in_a_room(n: int = 4, seconds: float = 4.0, at: float = 3.0, burst: float = 0.2) -> torch.Tensor:
    """``n`` clips: a quiet room (-60 dB noise) with one ``burst``-long 440 Hz tone ``at`` seconds in."""
    sr = 16000
    gen = torch.Generator().manual_seed(0)
    wave = torch.randn(n, 1, int(seconds * sr), generator=gen) * 1e-3
    t = torch.arange(int(burst * sr)) / sr
    wave[..., int(at * sr): int(at * sr) + len(t)] += 0.5 * torch.sin(2 * torch.pi * 440 * t)
    return wave


def test_crops_are_drawn_around_the_sound():
    # a short crop of a long clip with one sound in it must hold that sound: a crop of the room alone,
    # labelled with the sound's class, is what teaches a model that the room is the class
    wave = _burst_in_a_room(n=64)
    crop = int(0.64 * 16000)
    quiet = train.TrainConfig(gain_db=(0.0, 0.0), noise_probability=0.0)
    out = train.augment(wave, quiet, torch.Generator().manual_seed(1), crop, on_sound=True)
    assert out.shape == (64, 1, crop)
    assert (out.abs().amax(dim=-1) > 0.1).all()  # every crop holds part of the burst
    starts = sound_crop_starts(wave, crop, torch.Generator().manual_seed(2))
    assert len(set(starts.tolist())) > 16  # still a spread of places, not one
    uniform = train.augment(wave, train.TrainConfig(gain_db=(0.0, 0.0), noise_probability=0.0),
                            torch.Generator().manual_seed(1), crop)  # the default: uniform crops
    assert (uniform.abs().amax(dim=-1) < 0.1).any()  # uniform crops do miss it
    silent = sound_crop_starts(torch.zeros(8, 1, 64000), crop, torch.Generator().manual_seed(3))
    assert ((silent >= 0) & (silent <= 64000 - crop)).all()  # silence: uniform crops, no error


def test_options_against_room_shortcuts_are_set_by_architecture():
    # the three CNNs they helped on real recordings train with crops on the sound and pauses; the
    # LFCC CNN, TCN and ViT, which they hurt, do not; a run can still override any one by name
    own = {a: train.model_settings(a, train.TrainConfig()) for a in list_models()}
    assert {a for a, o in own.items() if o["pause_probability"] > 0} == {"waveform_cnn", "spectrogram_cnn",
                                                                           "baseline_cnn"}
    assert {a for a, o in own.items() if o["crop_on_sound"]} == {"waveform_cnn", "spectrogram_cnn"}
    override = train.TrainConfig(crop_on_sound={"lfcc_cnn": True}, pause_probability={"waveform_cnn": 0.0})
    assert train.model_settings("lfcc_cnn", override)["crop_on_sound"] is True
    assert train.model_settings("waveform_cnn", override)["pause_probability"] == 0.0
    assert train.TrainConfig().freq_mask_bands == {"mel128x128": 12}  # only the beginner CNN's picture
    # pause consistency for the three whose maps put the most on the pauses
    assert {a: o["pause_consistency"] for a, o in own.items() if o["pause_consistency"]} == {
        "waveform_cnn": 2.0, "spectrogram_cnn": 0.5, "lfcc_cnn": 1.0}
    assert train.model_settings("tcn", train.TrainConfig(pause_consistency={"tcn": 0.5}))["pause_consistency"] == 0.5


def test_channels_last_training_runs_the_weights_in_that_layout_and_keeps_the_usual_one(tmp_path, monkeypatch):
    # the LFCC CNN trains in channels-last memory, weights and activations alike (with the input alone in
    # it, the first layer's output came back in the usual layout and nothing changed); the model that
    # comes back, and is saved, is in the usual layout
    own = {a: train.model_settings(a, train.TrainConfig()) for a in list_models()}
    assert {a for a, o in own.items() if o["channels_last"]} == {"lfcc_cnn"}
    data = train.load_dataset(make_folder_dataset(tmp_path / "clips", per_class=4), train.TrainConfig(clip_seconds=1.0))
    cfg = train.TrainConfig(max_epochs=1, min_epochs=1, clip_seconds=1.0, batch_size=8, epoch_scale={"lfcc_cnn": 1.0})
    seen = []

    def record(module, inputs, output):
        if module.training:
            seen.append((output.is_contiguous(memory_format=torch.channels_last), output.is_contiguous()))

    real_build = train.build

    def build_and_watch(arch, **kw):
        model = real_build(arch, **kw)
        model.block2[0].register_forward_hook(record)  # a layer inside the body, past the input's own layout
        return model

    monkeypatch.setattr(train, "build", build_and_watch)
    model, _ = train.train_one("lfcc_cnn", data, cfg)
    assert seen and all(last and not usual for last, usual in seen)
    assert all(p.is_contiguous() for p in model.parameters())
    assert torch.isfinite(model(model.front_end(torch.randn(1, 1, 16000) * 0.1))).all()


def test_quieted_copies_are_the_clips_with_pauses():
    from explainer.attribution import quiet_pauses
    from explainer.features import sounding

    model = build("spectrogram_cnn", n_classes=3)
    burst = _burst_in_a_room(n=3, seconds=1.0, at=0.3, burst=0.4)  # sound and pauses
    steady = torch.full((1, 1, 16000), 0.3)  # sounds throughout
    wave = torch.cat([steady, burst, torch.zeros(1, 1, 16000)])  # and digital silence
    x = model.front_end(wave)
    rows, quiet = train.quieted(model, wave, x, limit=2)
    assert rows.tolist() == [1, 2]  # the first two clips with pauses, in order
    steps = sounding(wave)
    for row, q in zip(rows.tolist(), quiet):
        assert torch.equal(q[None], quiet_pauses(x[row : row + 1], "mel64", steps[row].numpy(), 16000))
        assert not torch.equal(q, x[row])
    assert train.quieted(model, steady, model.front_end(steady), limit=8) is None


def test_pause_consistency_teaches_a_model_to_ignore_the_room(tmp_path):
    # two classes that only the room tells apart (a hum under one, a hiss under the other), with the same
    # kind of short tone in both: plain training of the waveform CNN (whose maps measure from digital
    # silence) learns the room; a model that must answer the same when each moment of the room is
    # silenced or reversed cannot lean on it
    sr, n = 16000, 16000
    gen = torch.Generator().manual_seed(0)
    t = torch.arange(n) / sr
    for label in ("hum", "hiss"):
        (tmp_path / label).mkdir()
        for i in range(12):
            bed = 0.03 * torch.sin(2 * torch.pi * 60 * t) if label == "hum" else 0.015 * torch.randn(n, generator=gen)
            at = int(torch.randint(1600, 12800, (1,), generator=gen))
            pitch = float(300 + 1700 * torch.rand(1, generator=gen))
            wave = bed.clone()
            wave[at : at + 1600] += 0.2 * torch.sin(2 * torch.pi * pitch * t[:1600])
            sf.write(tmp_path / label / f"{i}.wav", wave.numpy(), sr)
    data = train.load_dataset(tmp_path, train.TrainConfig(clip_seconds=1.0))

    def moved_by_quieting(weight: float) -> float:
        cfg = train.TrainConfig(max_epochs=8, min_epochs=8, clip_seconds=1.0, batch_size=8, noise_probability=0.0,
                                pause_consistency={"waveform_cnn": weight}, crop_seconds={"waveform_cnn": None},
                                pause_probability={"waveform_cnn": 0.0},
                                ema_decay={"waveform_cnn": None}, epoch_scale={"waveform_cnn": 1.0})
        model, info = train.train_one("waveform_cnn", data, cfg)
        assert info["pause_consistency"] == weight
        wave = data.waves["train"]
        x = model.front_end(wave)
        moved = []
        for seed in range(4):  # each moment of pause set to the room or reversed about it, four draws
            rows, quiet = train.quieted(model, wave, x, limit=len(wave), generator=torch.Generator().manual_seed(seed))
            with torch.no_grad():
                p, q = model(x[rows]).softmax(1), model(quiet).softmax(1)
            moved.append(float((p - q).abs().sum(1).mean()))
        return sum(moved) / len(moved)

    plain, consistent = moved_by_quieting(0.0), moved_by_quieting(4.0)
    assert consistent < 0.5 * plain, (plain, consistent)


def test_pauses_hold_the_clips_own_room():
    from explainer.features import sounding

    # a tone that sounds from 0.4 s to 2.8 s of a 3.2 s clip in a -60 dB room
    wave = _burst_in_a_room(n=16, seconds=3.2, at=0.4, burst=2.4)
    gen = torch.Generator().manual_seed(0)
    assert torch.equal(add_pauses(wave, 0.0, (0.1, 0.35), gen), wave)  # a share of 0 changes nothing
    out = add_pauses(wave, 1.0, (0.2, 0.3), gen)
    before, after = sounding(wave).float().mean(1), sounding(out).float().mean(1)
    lost = before - after
    # a pause may fall partly on the room already there, but together they cut the sound, never all of it
    assert lost.mean() > 0.1 and (lost > 0.05).sum() >= 12 and (lost >= 0).all() and (lost < 0.35).all(), lost
    assert out.abs().amax() <= wave.abs().amax() + 1e-6  # nothing louder than the clip
    # what replaced the tone is the room: at its level, not digital silence
    changed = (out - wave).abs() > 0.1
    level = out[changed].abs().median()  # the 5 ms fades still hold some tone; the rest is room
    assert 2e-4 < level < 2e-3, level
    steady = torch.full((4, 1, 16000), 0.3)  # a steady sound is its own room: nothing to cut
    torch.testing.assert_close(add_pauses(steady, 1.0, (0.2, 0.3), gen), steady)


def test_frequency_mask_hides_one_band_at_the_floor():
    x = torch.randn(8, 1, 128, 64)
    out = freq_mask(x, 12, torch.Generator().manual_seed(0))
    for i in range(8):
        rows = (out[i] != x[i]).any(dim=-1).flatten().nonzero().flatten()
        if len(rows):
            assert len(rows) <= 12 and rows.max() - rows.min() + 1 == len(rows)  # one band of at most 12 rows
            assert torch.all(out[i, :, rows] == x[i].min())
    assert (out != x).any()


def test_confusion_keeps_a_row_for_every_class():
    m = train.metrics(torch.tensor([0, 1, 1, 0]), torch.tensor([0, 0, 1, 1]), ["a", "b", "absent"])
    assert m["confusion"] == [[1, 1, 0], [1, 1, 0], [0, 0, 0]]
    assert all(type(v) is int for row in m["confusion"] for v in row)  # written to the card as plain JSON ints
    assert m["per_class_recall"] == {"a": 0.5, "b": 0.5, "absent": None} and m["accuracy"] == 0.5


def test_weight_average_is_what_the_trainer_keeps(tmp_path, monkeypatch):
    # the average starts from the weights after the first step; with a decay of 1 it never moves again,
    # so the kept model is exactly the model after step one, although three more steps follow
    data = train.load_dataset(make_folder_dataset(tmp_path / "data", per_class=4),
                              train.TrainConfig(clip_seconds=1.0))
    after_first_step = []
    real_step = torch.optim.AdamW.step

    def step(self, *args, **kwargs):
        out = real_step(self, *args, **kwargs)
        if not after_first_step:
            after_first_step.extend(p.detach().clone() for group in self.param_groups for p in group["params"])
        return out

    monkeypatch.setattr(torch.optim.AdamW, "step", step)
    # the run's dicts override the class's own training settings (a doubled schedule, a 0.99 average)
    cfg = train.TrainConfig(max_epochs=4, min_epochs=4, clip_seconds=1.0, batch_size=64,  # one step an epoch
                            ema_decay={"waveform_cnn": 1.0}, epoch_scale={"waveform_cnn": 1.0})
    kept, info = train.train_one("waveform_cnn", data, cfg)
    assert info["ema_decay"] == 1.0 and info["epochs_run"] == 4
    trained = [p for n, p in kept.named_parameters() if not n.startswith("front_end.")]
    assert len(trained) == len(after_first_step)
    for value, first in zip(trained, after_first_step):
        torch.testing.assert_close(value, first)
    after_first_step.clear()
    cfg.ema_decay = {"waveform_cnn": None}  # without the average, the kept model has moved on from step one
    moved, info = train.train_one("waveform_cnn", data, cfg)
    assert info["ema_decay"] is None and info["epochs_run"] == 4
    head = [n for n, _ in moved.named_parameters() if not n.startswith("front_end.")].index("head.weight")
    assert not torch.equal(moved.state_dict()["head.weight"], after_first_step[head])


def test_speed_resamples_as_torchaudio_does_with_its_kernels_kept():
    import torchaudio.functional as AF
    from fractions import Fraction

    from explainer import trainset

    wave = torch.randn(6, 1, 8000, generator=torch.Generator().manual_seed(3))
    played = trainset.speed(wave, 0.8, 1.25, torch.Generator().manual_seed(5))
    rates = (0.8 + 0.45 * torch.rand(6, generator=torch.Generator().manual_seed(5))).tolist()
    for i, rate in enumerate(rates):
        r = Fraction(rate).limit_denominator(trainset.SPEED_DENOMINATOR)
        ref = AF.resample(wave[i], r.numerator, r.denominator, **trainset._RESAMPLING)
        n = ref.shape[-1]
        m = min(n, 8000)
        assert torch.equal(played[i, :, :m], ref[:, (n - m) // 2:(n - m) // 2 + m])  # the same samples, bit for bit
        assert not played[i, :, m:].any()  # a faster clip ends in silence
    assert trainset._resampling_kernel.cache_info().currsize >= 1
    assert torch.equal(trainset.speed(wave, 1.0, 1.0, torch.Generator()), wave)  # rate 1: untouched


def test_validation_scores_only_the_last_share_of_the_epochs(tmp_path, monkeypatch):
    assert [train.validated_from(n, 0.4) for n in (1, 2, 9, 12, 24)] == [1, 2, 6, 8, 15]
    assert train.validated_from(12, 1.0) == 1 and train.validated_from(5, 0.01) == 5  # the last is always scored
    with pytest.raises(ValueError):
        train.validated_from(5, 0.0)
    data = train.load_dataset(make_folder_dataset(tmp_path / "data", per_class=4),
                              train.TrainConfig(clip_seconds=1.0))
    scored = []
    real_predict = train.predict

    def predict(model, waves, *args, **kwargs):
        scored.append(len(waves))
        return real_predict(model, waves, *args, **kwargs)

    monkeypatch.setattr(train, "predict", predict)
    heard = []
    cfg = train.TrainConfig(max_epochs=5, min_epochs=5, clip_seconds=1.0, batch_size=64, validate_share=0.4,
                            epoch_scale={"waveform_cnn": 1.0})
    _, info = train.train_one("waveform_cnn", data, cfg, on_epoch=lambda e, n, v: heard.append((e, v)))
    assert len(scored) == 2 and info["epochs_run"] == 5  # epochs 4 and 5 of 5
    assert [v is None for _, v in heard] == [True, True, True, False, False]
    assert [h["val_accuracy"] is None for h in info["history"]] == [True, True, True, False, False]
    assert info["best_epoch"] in (4, 5)
    # "Your own sounds" and fine-tuning show a learner every epoch, so they score all of them
    assert own_config().validate_share == 1.0 and train.finetune_config(cfg).validate_share == 1.0


def test_real_and_synthetic_test_clips_are_scored_apart():
    classes = ["speech", "music"]
    true = torch.tensor([0, 0, 1, 1, 0, 1])
    pred = torch.tensor([0, 1, 1, 1, 0, 0])
    origins = ["real", "real", "real", "synthetic", "synthetic", "synthetic"]
    sources = ["ktuberling:fr", "klettres:de", "hedgewars-music:City", "gm:program=3", "espeak:de+m1", "gm:program=9"]
    m = train.origin_metrics(pred, true, origins, sources, classes)
    assert m["real"]["accuracy"] == pytest.approx(2 / 3, abs=1e-4) and m["real"]["n"] == 3
    assert m["real"]["per_class_recall"] == {"speech": 0.5, "music": 1.0}
    assert m["synthetic"]["accuracy"] == pytest.approx(2 / 3, abs=1e-4)
    assert m["synthetic"]["confusion"] == [[1, 0], [1, 1]]
    assert m["real_by_source"] == {"hedgewars-music": {"accuracy": 1.0, "n": 1},
                                   "klettres": {"accuracy": 0.0, "n": 1},
                                   "ktuberling": {"accuracy": 1.0, "n": 1}}
    assert train.origin_metrics(pred, true, [], [], classes) == {}  # folder datasets have no origins


SHIPPED_CARD = Path(__file__).resolve().parents[1] / "pretrained" / "sound-types" / "card.json"


@pytest.mark.weights
@pytest.mark.skipif(not SHIPPED_CARD.is_file(), reason="pretrained/sound-types is not built")
def test_shipped_card_reports_the_real_split_apart():
    card = json.loads(SHIPPED_CARD.read_text())
    packages = card["data"]["real_packages"]
    assert {"ktuberling-data", "hedgewars-data", "lmms-common", "hydrogen-data"} <= set(packages)
    assert all(p["licence"] for p in packages.values())
    held_out = card["data"]["real_test_sources"]
    assert any(s.startswith(("ktuberling:", "klettres:", "hedgewars:")) for s in held_out)
    assert any(s.startswith("hydrogen-kit:") for s in held_out)
    for arch, entry in card["models"].items():
        test = entry["test"]
        assert test["real"]["n"] >= 100 and test["synthetic"]["n"] >= 300, arch
        assert test["real"]["n"] + test["synthetic"]["n"] == test["n"], arch
        assert len(test["real"]["confusion"]) == len(card["classes"]), arch
    assert set(card["models"]) == set(list_models())  # the loop above saw every architecture
    assert card["train_seconds_total"] > 0
