"""The clips a training run learns from: loading and splitting them, frame labels for sequence
clips, and the random augmentation of every training batch.

:func:`load_dataset` reads a generated set (``manifest.json``, with source-held-out splits and
sequence clips) or a folder per class; :func:`augment`, :func:`speed` and :func:`freq_shift`
vary each batch. :mod:`explainer.train` drives them with its ``TrainConfig``.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
import torchaudio.functional as AF
import torchaudio.functional.functional as AFF  # the resampling kernel's two halves (see _resample)
from tqdm import tqdm

from . import audio

if TYPE_CHECKING:
    from .train import TrainConfig

AUDIO_EXTENSIONS = {".wav", ".flac", ".ogg", ".mp3", ".m4a", ".opus", ".webm", ".aac"}


@dataclass
class Dataset:
    """Waveforms and labels of every split, all at 16 kHz and one length."""

    classes: list[str]
    waves: dict[str, torch.Tensor]  # split -> (N, 1, samples)
    labels: dict[str, torch.Tensor]  # split -> (N,)
    # split -> (waves (M, 1, S), each clip's (start_s, end_s, class) segments); frame labels are made per model,
    # on its own front-end's time grid (sequence_labels)
    sequences: dict[str, tuple[torch.Tensor, list]]
    recipe: dict
    # split -> per clip, "real" (a recording) or "synthetic", and its source name; empty for folders
    origins: dict[str, list[str]] = field(default_factory=dict)
    sources: dict[str, list[str]] = field(default_factory=dict)
    files: dict[str, list[str]] = field(default_factory=dict)  # split -> each clip's path inside the data folder


def _fit(wave: torch.Tensor, n: int) -> torch.Tensor:
    """Centre-crop or zero-pad ``(1, T)`` to ``(1, n)``."""
    t = wave.shape[-1]
    if t >= n:
        start = (t - n) // 2
        return wave[:, start : start + n]
    return F.pad(wave, (0, n - t))


def _read(path: Path, n: int) -> torch.Tensor:
    return _fit(audio.load(path, max_seconds=max(30.0, n / audio.SAMPLE_RATE)).waveform, n)


def _frame_labels(segments: list, grid: tuple[float, float, int], classes: list[str]) -> torch.Tensor:
    """Class index of every step of a sequence clip on ``grid`` (``FrontEnd.time_grid``); -100 where no
    segment covers it."""
    start_s, step_s, steps = grid
    labels = torch.full((steps,), -100, dtype=torch.long)
    for start, end, name in segments:
        a = max(0, int(round((start - start_s) / step_s)))
        b = min(steps, int(round((end - start_s) / step_s)) + 1)
        labels[a:b] = classes.index(name)
    return labels


def sequence_labels(model: torch.nn.Module, sequences: tuple[torch.Tensor, list], classes: list[str]) -> torch.Tensor:
    """Frame labels ``(M, steps)`` of sequence clips, on the time grid of ``model``'s own front-end."""
    waves, segments = sequences
    grid = model.front_end.time_grid(waves.shape[-1])
    return torch.stack([_frame_labels(segs, grid, classes) for segs in segments])


def load_dataset(data_dir: Path, cfg: TrainConfig) -> Dataset:
    """Read a generated set (``manifest.json``) or a folder-per-class dataset."""
    data_dir = Path(data_dir)
    n = int(round(cfg.clip_seconds * audio.SAMPLE_RATE))
    manifest_path = data_dir / "manifest.json"
    items: list[tuple[Path, str, str]] = []  # (path, class, split)
    seq_items: list[tuple[Path, list, str]] = []
    origin_of: dict[Path, tuple[str, str]] = {}
    if manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text())
        classes = list(manifest["classes"])
        items = [(data_dir / c["path"], c["label"], c["split"]) for c in manifest["clips"]]
        origin_of = {data_dir / c["path"]: (c.get("origin", "synthetic"), c["source"]) for c in manifest["clips"]}
        seq_items = [(data_dir / s["path"], s["segments"], s["split"]) for s in manifest.get("sequences", [])]
        recipe = {"kind": "generated", "seed": manifest.get("seed"), "config": manifest.get("config"),
                  "split": "by source (held-out voices, speakers, languages, programs, tracks and kits)",
                  "real_packages": manifest.get("real_packages", {}),
                  # the real speakers, tracks and kits held out for testing: evaluate on these (or on
                  # recordings from elsewhere), never on the training collections
                  "real_test_sources": sorted({c["source"] for c in manifest["clips"]
                                               if c["split"] == "test" and c.get("origin") == "real"})}
    else:
        classes = sorted(p.name for p in data_dir.iterdir()
                         if p.is_dir() and any(f.suffix.lower() in AUDIO_EXTENSIONS for f in p.iterdir()))
        if len(classes) < 2:
            raise ValueError(f"{data_dir} needs at least two class folders of audio files (e.g. {data_dir}/dog/*.wav).")
        rng = np.random.default_rng(cfg.seed)
        for name in classes:
            files = sorted(f for f in (data_dir / name).iterdir() if f.suffix.lower() in AUDIO_EXTENSIONS)
            order = rng.permutation(len(files))
            n_train = max(1, int(round(cfg.split_fractions[0] * len(files))))
            n_val = max(1, int(round(cfg.split_fractions[1] * len(files)))) if len(files) >= 3 else 0
            for rank, idx in enumerate(order):
                split = "train" if rank < n_train else "val" if rank < n_train + n_val else "test"
                items.append((files[idx], name, split))
        recipe = {"kind": "folder", "root": data_dir.name, "split": "random per file, seeded",
                  "fractions": list(cfg.split_fractions)}
    waves, labels, origins, sources, files = {}, {}, {}, {}, {}
    for split in ("train", "val", "test"):
        chosen = [(p, c) for p, c, s in items if s == split]
        if not chosen:
            continue
        files[split] = [Path(p).relative_to(data_dir).as_posix() if Path(p).is_relative_to(data_dir)
                        else Path(p).name for p, _ in chosen]
        waves[split] = torch.stack([_read(p, n) for p, _ in tqdm(chosen, desc=f"reading {split}", leave=False)])
        labels[split] = torch.tensor([classes.index(c) for _, c in chosen])
        if origin_of:
            origins[split] = [origin_of[p][0] for p, _ in chosen]
            sources[split] = [origin_of[p][1] for p, _ in chosen]
    if "val" not in waves:  # tiny folder datasets: validate on the training clips
        waves["val"], labels["val"] = waves["train"], labels["train"]
    sequences = {}
    for split in ("train", "val", "test"):
        chosen = [(p, segs) for p, segs, s in seq_items if s == split]
        if chosen:
            seq_wave = [audio.load(p).waveform for p, _ in chosen]
            m = min(w.shape[-1] for w in seq_wave)
            sequences[split] = (torch.stack([w[:, :m] for w in seq_wave]), [segs for _, segs in chosen])
    recipe["counts"] = {s: int(len(v)) for s, v in labels.items()}
    recipe["real_counts"] = {s: sum(o == "real" for o in v) for s, v in origins.items()}
    recipe["sequence_counts"] = {s: int(len(v[0])) for s, v in sequences.items()}
    return Dataset(classes, waves, labels, sequences, recipe, origins, sources, files)


def augment(wave: torch.Tensor, cfg: TrainConfig, gen: torch.Generator, crop: int | None,
            on_sound: bool = False, pauses: float = 0.0) -> torch.Tensor:
    """Random crop, pauses, gain and background noise on a batch ``(B, 1, samples)``.

    With ``on_sound``, each crop holds at least one 10 ms step where the clip sounds
    (:func:`sound_crop_starts`), so that a short crop of speech is never a pause labelled "speech".
    Then a ``pauses`` share of the clips gets pauses of its own room (:func:`add_pauses`), so that
    pauses are found in every class and are evidence of none (sequence clips get none: their frame
    labels would call a pause a class).
    """
    b, _, t = wave.shape
    if crop is not None and crop < t:
        starts = sound_crop_starts(wave, crop, gen) if on_sound else \
            torch.randint(0, t - crop + 1, (b,), generator=gen)
        wave = torch.stack([wave[i, :, s : s + crop] for i, s in enumerate(starts.tolist())])
    else:  # fixed-size inputs: a circular shift moves events in time instead
        shifts = torch.randint(-t // 8, t // 8 + 1, (b,), generator=gen)
        wave = torch.stack([torch.roll(wave[i], int(s), dims=-1) for i, s in enumerate(shifts)])
    if pauses > 0:
        wave = add_pauses(wave, pauses, cfg.pause_share, gen)
    lo, hi = cfg.gain_db
    gain_db = (lo + (hi - lo) * torch.rand(b, generator=gen)).tolist()
    wave = torch.stack([AF.gain(w, g) for w, g in zip(wave, gain_db)])
    lo, hi = cfg.noise_snr_db
    snr = lo + (hi - lo) * torch.rand(b, 1, generator=gen)
    use = torch.rand(b, 1, 1, generator=gen) < cfg.noise_probability
    # white noise at the drawn SNR below the clip's own power (a silent clip gets none)
    noisy = AF.add_noise(wave, torch.randn(wave.shape, generator=gen), snr)
    return torch.where(use, noisy, wave).clamp(-1.0, 1.0)


def sound_crop_starts(wave: torch.Tensor, crop: int, gen: torch.Generator) -> torch.Tensor:
    """Start samples of random ``crop``-long windows of a batch ``(B, 1, samples)``, each around a
    randomly drawn step where its clip sounds (:func:`explainer.features.sounding`); uniform over
    the clip when it never sounds (silence)."""
    from .features import DEFAULT, sounding

    b, _, t = wave.shape
    hop = DEFAULT.mel64_hop
    sounds = sounding(wave, bands=False)  # (B, t // hop + 1): the level rule the shipped set trained with
    starts = torch.randint(0, t - crop + 1, (b,), generator=gen)
    for i in range(b):
        steps = sounds[i].nonzero().flatten()
        if len(steps):
            centre = int(steps[int(torch.randint(len(steps), (1,), generator=gen))]) * hop
            start = centre - int(torch.randint(crop, (1,), generator=gen))  # the step lands anywhere in the crop
            starts[i] = min(max(start, 0), t - crop)
    return starts


# The stretch of a clip taken as its room: the quietest 100 ms, found on a 10 ms grid.
ROOM_WINDOW, ROOM_HOP = 1600, 160
PAUSE_FADE = 80  # 5 ms fades in and out of a pause, as a voice stops and starts


def add_pauses(wave: torch.Tensor, probability: float, share: tuple[float, float],
               gen: torch.Generator) -> torch.Tensor:
    """Cut pauses into a random ``probability`` share of a batch ``(B, 1, samples)``.

    A chosen clip gets one or two pauses that together fill a ``share`` (low, high) of it. A
    pause holds the clip's own room: its quietest 100 ms, repeated, faded in and out over 5 ms.
    A song gets the quiet between its notes, a recording in a hall its hall, and a clip of
    steady noise stays the same. Speech is full of such pauses and most other classes are not;
    heard in every class, the room stops being evidence for speech, so a model (and its maps)
    must find the class in what sounds. Labels are kept: the rest of the clip still sounds.
    """
    b, _, t = wave.shape
    use = (torch.rand(b, generator=gen) < probability).nonzero().flatten().tolist()
    if not use or t < 4 * ROOM_WINDOW:
        return wave
    out = wave.clone()
    power = F.avg_pool1d(wave[use].pow(2), ROOM_WINDOW, ROOM_HOP)[:, 0]  # (len(use), windows)
    fade = torch.linspace(0.0, 1.0, PAUSE_FADE)
    for row, i in enumerate(use):
        start = int(power[row].argmin()) * ROOM_HOP
        room = wave[i, 0, start : start + ROOM_WINDOW]
        count = int(torch.randint(1, 3, (1,), generator=gen))
        total = share[0] + (share[1] - share[0]) * float(torch.rand(1, generator=gen))
        n = max(2 * PAUSE_FADE, int(total * t / count))
        for _ in range(count):
            a = int(torch.randint(0, t - n + 1, (1,), generator=gen))
            offset = int(torch.randint(0, ROOM_WINDOW, (1,), generator=gen))
            fill = room.repeat(n // ROOM_WINDOW + 2)[offset : offset + n]
            mask = torch.ones(n)
            mask[:PAUSE_FADE], mask[-PAUSE_FADE:] = fade, fade.flip(0)
            out[i, 0, a : a + n] = out[i, 0, a : a + n] * (1 - mask) + fill * mask
    return out


def freq_mask(x: torch.Tensor, max_bands: int, gen: torch.Generator) -> torch.Tensor:
    """Hide one random band of up to ``max_bands`` rows of each picture ``(B, C, F, T)`` under its
    quietest value (SpecAugment's frequency mask), so no single band decides the answer."""
    out = x.clone()
    widths = torch.randint(0, max_bands + 1, (x.shape[0],), generator=gen).tolist()
    for i, w in enumerate(widths):
        if w == 0:
            continue
        a = int(torch.randint(0, x.shape[2] - w + 1, (1,), generator=gen))
        out[i, :, a : a + w] = x[i].min()
    return out


# Largest denominator of a speed ratio p/q: the resampling filter grows with p and q, and ratios at
# most 0.01 apart (near 1; finer elsewhere) are as good as a continuous draw.
SPEED_DENOMINATOR = 100
# torchaudio's "kaiser_best" settings (librosa's name): flat to about 90 % of the new Nyquist and some
# 60 dB down above it, where the default Hann filter lets a 7 kHz tone played 1.25 times faster
# fold back at -13 dB
_RESAMPLING = {"lowpass_filter_width": 64, "rolloff": 0.9475, "resampling_method": "sinc_interp_kaiser",
               "beta": 14.769656459379492}


@functools.lru_cache(maxsize=2048)
def _resampling_kernel(orig: int, new: int) -> tuple[torch.Tensor, int]:
    """torchaudio's resampling kernel from ``orig`` to ``new`` with :data:`_RESAMPLING`, built once per ratio.

    ``AF.resample`` builds its kernel again on every call, which cost three times what applying it
    did (a batch of 32 clips: 0.07 s of the waveform CNN's 0.17 s training step). The 1,400 or so
    ratios p/q with q <= 100 in the speed range each keep a kernel of at most about 100 kB; the
    trainer empties the cache when a model is done.
    """
    return AFF._get_sinc_resample_kernel(orig, new, math.gcd(orig, new), device=torch.device("cpu"),
                                         dtype=torch.float32, **_RESAMPLING)


def forget_resampling_kernels() -> None:
    """Free the kernels :func:`speed` kept; the trainer calls it when a model is done."""
    _resampling_kernel.cache_clear()


def _resample(wave: torch.Tensor, orig: int, new: int) -> torch.Tensor:
    """``AF.resample(wave, orig, new, **_RESAMPLING)`` for a float32 CPU ``wave``, with the kernel kept:
    the same arithmetic, so the same samples."""
    if orig == new:
        return wave
    kernel, width = _resampling_kernel(orig, new)
    return AFF._apply_sinc_resample_kernel(wave, orig, new, math.gcd(orig, new), kernel, width)


def speed(wave: torch.Tensor, lo: float, hi: float, gen: torch.Generator) -> torch.Tensor:
    """Play each clip of ``(B, 1, samples)`` at a random speed in ``[lo, hi]``, keeping its length.

    A clip played 1.25 times faster is 1.25 times higher and shorter; its centre is kept,
    or silence fills its end. Each rate is drawn uniformly, rounded to the nearest ratio
    p/q with q <= `SPEED_DENOMINATOR`, and applied by band-limited resampling from p to q
    (torchaudio's Kaiser-windowed sinc), so what would land above the new Nyquist is
    filtered out instead of folding back as an alias.
    """
    b, _, t = wave.shape
    out = torch.zeros_like(wave)
    for i, rate in enumerate((lo + (hi - lo) * torch.rand(b, generator=gen)).tolist()):
        ratio = Fraction(rate).limit_denominator(SPEED_DENOMINATOR)
        played = _resample(wave[i], ratio.numerator, ratio.denominator)
        n = played.shape[-1]
        m = min(n, t)
        out[i, :, :m] = played[:, (n - m) // 2 : (n - m) // 2 + m]
    return out


def freq_shift(x: torch.Tensor, max_bands: int, gen: torch.Generator) -> torch.Tensor:
    """Shift each picture ``(B, C, F, T)`` by up to ``max_bands`` along F, filling with its minimum."""
    out = x.clone()
    for i, k in enumerate(torch.randint(-max_bands, max_bands + 1, (x.shape[0],), generator=gen).tolist()):
        if k == 0:
            continue
        floor = x[i].min()
        out[i] = floor
        if k > 0:
            out[i, :, k:] = x[i, :, :-k]
        else:
            out[i, :, :k] = x[i, :, -k:]
    return out
