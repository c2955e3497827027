"""Write the data set: class clips, sequence clips, the manifest, and the bundled examples.

Every clip has its own random streams, seeded by (seed, what, split, class, index), in a
fixed order, so the same config always gives the same bytes. A clip's source, score, text
and augmentation depend on its index alone, so raising a count adds clips and keeps the
earlier ones (music and percussion may move by a block of fluidsynth samples, ~2 ms,
when their batch changes).
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import time
import wave
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from . import augment, instruments, real, speech, synth
from .config import CLASSES, SAMPLE_RATE, SPLITS, AugmentConfig, DataConfig
from .sources import Inventory, build_inventory
from ..features import sounding
from .tools import require_tools

log = logging.getLogger("explainer.data")

# First word of each random stream's seed, so that the streams can never collide.
_STREAM_CLIP, _STREAM_SEGMENT, _STREAM_SEQUENCE, _STREAM_EXAMPLE, _STREAM_EXAMPLE_SEQ = range(5)
# Folders that generate() owns inside its output folder (removed on a re-run).
_OWNED = (*SPLITS, "sequences", "manifest.json")
# Sequence boundaries fall on a 10 ms grid: the hop of every frame-level front-end here.
_BOUNDARY_GRID = SAMPLE_RATE // 100


@dataclass
class Item:
    """One sound to render: a class clip or one segment of a sequence."""

    split: str
    cls: str
    n: int                              # length in samples
    content_rng: np.random.Generator    # source choice and content
    aug_rng: np.random.Generator        # augmentation only
    fill: bool = False                  # sound over the whole length (segments)
    params: dict = field(default_factory=dict)
    audio: np.ndarray | None = None


def _item(entropy: list[int], split: str, cls: str, n: int, fill: bool = False) -> Item:
    content, aug = np.random.SeedSequence(entropy).spawn(2)
    return Item(split, cls, n, np.random.default_rng(content), np.random.default_rng(aug), fill)


# ---------------------------------------------------------------- rendering

def render_items(items: list[Item], inventory: Inventory, config: DataConfig,
                 aug: AugmentConfig | None = None) -> None:
    """Choose a source for each item, render it and augment it, in place (``item.audio``).

    Music and percussion scores are collected and rendered together by fluidsynth; speech
    is spoken one utterance at a time; the rest is numpy.
    """
    aug = aug or config.augment
    scores: list[tuple[Item, dict]] = []
    with tempfile.TemporaryDirectory(prefix="explainer-speech-") as tmp:
        for it in items:
            it.params = inventory.draw(it.split, it.cls, it.content_rng)
            seconds = it.n / SAMPLE_RATE
            if it.params["kind"] == "real":  # recordings from Debian packages
                it.audio = real.render(inventory.collections[it.params["name"]], it.content_rng,
                                       it.n, it.fill)
            elif it.params["kind"] in synth.RENDERERS:  # tone, noise, silence, struck objects
                it.audio = synth.render(it.params, it.content_rng, it.n, it.fill)
            elif it.cls == "speech":
                it.params = speech.plan(it.params, it.content_rng, it.n)
                it.audio = speech.render(it.params, it.content_rng, it.n, Path(tmp), it.fill)
            elif it.cls == "music":
                scores.append((it, instruments.plan_music(it.params, it.content_rng, seconds)))
            elif it.cls == "percussion":
                scores.append((it, instruments.plan_percussion(it.params, it.content_rng, seconds)))
            else:
                raise ValueError(f"no renderer for {it.params['source']}")
    if scores:
        for (it, _), audio in zip(scores, instruments.render_batch([s for _, s in scores], config)):
            it.audio = audio[:it.n]
    for it in items:
        it.audio = augment.augment(it.audio, it.cls, it.aug_rng, aug, shift=not it.fill)
        if not np.all(np.isfinite(it.audio)):
            raise RuntimeError(f"non-finite audio from {it.params['source']}")


def _origin(params: dict) -> str:
    """``"real"`` for a recording from a Debian package, ``"synthetic"`` for anything rendered."""
    return "real" if params["kind"] == "real" else "synthetic"


def write_wav(path: Path, audio: np.ndarray) -> None:
    """Write mono 16-bit PCM at 16 kHz with the standard library (a plain 44-byte header)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pcm = np.round(np.clip(audio, -1.0, 1.0) * 32767.0).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(pcm.tobytes())


# ---------------------------------------------------------------- sequences

def _plan_sequence(rng: np.random.Generator, classes: tuple[str, ...], n: int,
                   config: DataConfig, segments: tuple[int, int]) -> list[tuple[int, int, str]]:
    """Random segment boundaries (on a 10 ms grid) and classes, neighbours always differ.

    Returns:
        [(start_sample, end_sample, class), ...] covering [0, n) without gaps.
    """
    k = int(rng.integers(segments[0], segments[1] + 1))
    if len(classes) == 1:
        k = 1
    if k <= len(classes):
        labels = [classes[i] for i in rng.permutation(len(classes))[:k]]
    else:  # fewer classes than segments: allow repeats, never two alike in a row
        labels = [classes[int(rng.integers(len(classes)))]]
        while len(labels) < k:
            nxt = classes[int(rng.integers(len(classes)))]
            if nxt != labels[-1]:
                labels.append(nxt)
    shortest = int(config.min_segment_seconds * SAMPLE_RATE)
    free = n - k * shortest
    cuts = np.cumsum(shortest + free * rng.dirichlet(np.ones(k)))[:-1]
    cuts = [int(round(c / _BOUNDARY_GRID)) * _BOUNDARY_GRID for c in cuts]
    edges = [0, *cuts, n]
    return [(edges[i], edges[i + 1], labels[i]) for i in range(k)]


def make_sequences(split: str, count: int, inventory: Inventory, config: DataConfig,
                   entropy_of: Callable[[int], tuple[list[int], list[int]]],
                   aug: AugmentConfig | None = None,
                   segments: tuple[int, int] | None = None) -> list[tuple[np.ndarray, list, list]]:
    """Render ``count`` sequence clips of ``split``.

    Args:
        entropy_of: ``i -> (sequence seed words, segment seed words)``, so examples and
            data use separate streams.

    Returns:
        One (audio (samples,), segments [[start_s, end_s, class]], sources) per sequence.
    """
    n = int(round(config.sequence_seconds * SAMPLE_RATE))
    plans, items = [], []
    for i in range(count):
        seq_entropy, seg_entropy = entropy_of(i)
        rng = np.random.default_rng(np.random.SeedSequence(seq_entropy))
        plan = _plan_sequence(rng, config.classes, n, config, segments or config.sequence_segments)
        segs = [_item([*seg_entropy, j], split, cls, b - a, fill=True)
                for j, (a, b, cls) in enumerate(plan)]
        plans.append((rng, plan, segs))
        items += segs
    render_items(items, inventory, config, aug)
    out = []
    for rng, plan, segs in plans:
        audio = np.zeros(n, np.float32)
        for (a, b, _), it in zip(plan, segs):
            audio[a:b] = synth.fade(it.audio, 0.005)  # no clicks at the joins
        if rng.random() < 0.7:  # one room under the whole clip, quieter than any silence
            audio += synth.coloured_noise(rng, n, rng.uniform(0.5, 2.0)).astype(np.float32) \
                * np.float32(10 ** (rng.uniform(-90.0, -72.0) / 20))
        labels = [[round(a / SAMPLE_RATE, 4), round(b / SAMPLE_RATE, 4), cls] for a, b, cls in plan]
        out.append((audio, labels, [it.params["source"] for it in segs]))
    return out


# ---------------------------------------------------------------- public API

def generate(out_dir: str | Path, config: DataConfig | None = None,
             splits: tuple[str, ...] = SPLITS) -> Path:
    """Generate the data set into ``out_dir`` and return the manifest's path.

    Layout: ``<split>/<class>/<class>_<index>.wav`` (3.2 s class clips, so the folder is
    also a folder-per-class data set), ``sequences/<split>/sequence_<index>.wav`` (8 s)
    and ``manifest.json``. All audio is 16 kHz mono 16-bit.

    Args:
        out_dir: output folder; created if missing. A folder that already holds a generated
            data set is overwritten; any other non-empty folder is refused.
        config: what to generate; the defaults are the shipped `sound-types` recipe.
        splits: the splits to write. Every clip's random streams depend on its own split, class
            and index only, so ``splits=("test",)`` writes the same test clips as a full run
            (music and percussion within a block of fluidsynth samples), in a fifth of the time.

    Returns:
        Path of ``manifest.json``.

    Raises:
        MissingToolError: a Debian package needed by ``config.classes`` is missing.
        ValueError: bad config, or ``out_dir`` is a non-empty folder of something else.
    """
    config = config or DataConfig()
    config.validate()
    unknown = [s for s in splits if s not in SPLITS]
    if unknown or not splits:
        raise ValueError(f"splits must be a non-empty subset of {SPLITS}, got {splits}")
    require_tools(config)
    out = Path(out_dir)
    _prepare(out)
    inventory = build_inventory(config)
    t0 = time.perf_counter()
    clips = []
    for s, split in enumerate(SPLITS):
        if split not in splits:
            continue
        for cls in config.classes:
            c = CLASSES.index(cls)
            items = [_item([config.seed, _STREAM_CLIP, s, c, i], split, cls, config.clip_samples)
                     for i in range(config.per_class(split))]
            render_items(items, inventory, config)
            for i, it in enumerate(items):
                rel = f"{split}/{cls}/{cls}_{i:04d}.wav"
                write_wav(out / rel, it.audio)
                clips.append({"path": rel, "label": cls, "split": split,
                              "source": it.params["source"],
                              "origin": _origin(it.params)})
            log.info("%-5s %-10s %4d clips  %6.1f s", split, cls, len(items), time.perf_counter() - t0)
    sequences = []
    for s, split in enumerate(SPLITS):
        if split not in splits:
            continue
        seqs = make_sequences(
            split, config.sequences(split), inventory, config,
            lambda i, s=s: ([config.seed, _STREAM_SEQUENCE, s, i], [config.seed, _STREAM_SEGMENT, s, i]))
        for i, (audio, segments, sources) in enumerate(seqs):
            rel = f"sequences/{split}/sequence_{i:04d}.wav"
            write_wav(out / rel, audio)
            sequences.append({"path": rel, "split": split, "segments": segments,
                              "sources": sources})
        log.info("%-5s sequences %4d        %6.1f s", split, len(seqs), time.perf_counter() - t0)
    manifest = {
        "seed": config.seed,
        "sample_rate": SAMPLE_RATE,
        "clip_seconds": config.clip_seconds,
        "classes": list(config.classes),
        "config": asdict(config),
        "splits": list(splits),
        "held_out": inventory.held_out(),
        "real_packages": inventory.packages(),
        "clips": clips,
        "sequences": sequences,
    }
    path = out / "manifest.json"
    path.write_text(json.dumps(manifest, indent=1) + "\n")
    return path


def write_examples(out_dir: str | Path, config: DataConfig | None = None,
                   per_class: int = 2) -> list[Path]:
    """Write the app's bundled examples: ``<class>_<k>.wav`` and ``sequence.wav``.

    The examples come from TEST-split sources only (voices, programs and kits that no
    model trained on), are louder than average (peak -6..-1 dBFS) and cleaner (no noise
    bed, no EQ) so they play well in a browser, and are listed with their sources in
    ``examples.json``.

    Returns:
        Paths of the files written.
    """
    config = config or DataConfig()
    config.validate()
    require_tools(config)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    inventory = build_inventory(config)
    # Clean and loud: a demo clip should sound like its class at first listen.
    loud = replace(config.augment, peak_db=(-6.0, -1.0), p_shift=0.0, p_background=0.0, p_eq=0.0,
                   p_mic=0.0, p_agc=0.0, p_codec=0.0)
    items: list[Item] = []
    for cls in config.classes:
        # Walk the class's example stream and keep clips whose sources all differ, so the
        # two examples of a class show two voices, instruments or kits.
        seen: set[str] = set()
        for k in range(100):
            entropy = [config.seed, _STREAM_EXAMPLE, CLASSES.index(cls), k]
            params = inventory.draw("test", cls, _item(entropy, "test", cls, 1).content_rng)
            source = params["source"]
            if params["kind"] == "real":  # these two show the synthetic sources; real ones follow
                continue
            if source not in seen:
                seen.add(source)
                items.append(_item(entropy, "test", cls, config.clip_samples))
            if len(seen) == per_class:
                break
    render_items(items, inventory, config, loud)
    written, listing = [], []
    counts: dict[str, int] = {}
    for it in items:
        counts[it.cls] = counts.get(it.cls, 0) + 1
        path = out / f"{it.cls}_{counts[it.cls]}.wav"
        write_wav(path, it.audio)
        written.append(path)
        listing.append({"path": path.name, "label": it.cls, "source": it.params["source"],
                        "origin": _origin(it.params)})
    (audio, segments, sources), = make_sequences(
        "test", 1, inventory, config,
        lambda i: ([config.seed, _STREAM_EXAMPLE_SEQ, i], [config.seed, _STREAM_EXAMPLE_SEQ, 99, i]),
        aug=loud, segments=(4, 5))
    write_wav(out / "sequence.wav", audio)
    written.append(out / "sequence.wav")
    if config.use_real:
        real_listing = _write_real_examples(out, inventory, config)
        listing += real_listing
        written += [out / c["path"] for c in real_listing]
    written.append(_write_sources(out, listing, sources, inventory.collections))
    (out / "examples.json").write_text(json.dumps(
        {"seed": config.seed, "sample_rate": SAMPLE_RATE, "split": "test", "clips": listing,
         "sequence": {"path": "sequence.wav", "segments": segments, "sources": sources}},
        indent=1) + "\n")
    written.append(out / "examples.json")
    return written


# The real examples: (file, class, title, source-name prefix, kind, pattern style).
_REAL_EXAMPLES = (
    ("speech_person.wav", "speech", "a person speaking", "ktuberling:", "words", None),
    ("music_song.wav", "music", "a song", "hedgewars-music:", "excerpt", None),
    ("percussion_drums.wav", "percussion", "a drum pattern", "hydrogen-kit:", "kit", "beat"),
    ("percussion_claps.wav", "percussion", "hand claps", "hydrogen-kit:", "kit", "claps"),
    # words with pauses in a room, as a laptop records them: the clip the explanation tests use
    ("speech_room.wav", "speech", "words with pauses, laptop microphone", "ktuberling:", "words", "room"),
)
# the browser-microphone chain of the "room" example: a room, a steady background 20-25 dB down,
# the microphone's band and an Opus round trip; no time shift, no EQ, no gain riding
_ROOM = {"p_reverb": 1.0, "p_background": 1.0, "background_snr_db": (20.0, 25.0), "p_mic": 1.0, "p_agc": 0.0,
         "p_codec": 1.0, "p_shift": 0.0, "p_eq": 0.0, "peak_db": (-3.0, -3.0)}


def _write_real_examples(out: Path, inventory: Inventory, config: DataConfig) -> list[dict]:
    """Clips from real recordings of the TEST split (speakers, tracks and kits never trained on).

    Each is rendered clean, without room, noise or codec, at -3 dBFS, so that it plays as
    the recording sounds; except ``speech_room.wav``, which goes through a room, a
    background and an Opus round trip, as a learner's own recording would.
    """
    test_names = sorted(n for pools in inventory.pools["test"].values() for p in pools
                        if p.kind == "real" for n in p.choices["name"])
    listing = []
    for k, (name, cls, title, prefix, kind, style) in enumerate(_REAL_EXAMPLES):
        if cls not in config.classes:
            continue
        candidates = [inventory.collections[n] for n in test_names
                      if n.startswith(prefix) and inventory.collections[n].kind == kind
                      and (style != "claps" or "clap" in real.roles(inventory.collections[n].files))]
        if not candidates:
            continue
        rng = np.random.default_rng(np.random.SeedSequence([config.seed, _STREAM_EXAMPLE, 100 + k]))
        c = candidates[int(rng.integers(len(candidates)))]
        if style == "room":
            # of a few renders, keep the one whose pauses are closest to half of the clip
            room = replace(config.augment, **_ROOM)
            renders = [augment.augment(real.render(c, rng, config.clip_samples, False, None, perturb=False),
                                       cls, rng, room) for _ in range(6)]
            # (the level rule of sounding: the bundled example was chosen with it)
            audio = min(renders, key=lambda x: abs(float(sounding(torch.from_numpy(x.astype(np.float32)), bands=False)
                                                         .float().mean()) - 0.45))
        else:
            # of a few renders, keep the one that sounds most of the time: a demo of hand claps
            # should hold more than two claps
            renders = [real.render(c, rng, config.clip_samples, False, style, perturb=False) for _ in range(6)]
            audio = augment.set_peak(max(renders, key=_sounding_share), -3.0)
        write_wav(out / name, audio)
        listing.append({"path": name, "label": cls, "source": c.name, "origin": "real", "title": title,
                        "package": c.package, "licence": c.licence})
    return listing


# What renders each synthetic source, by the prefix of its source name, and its licence.
_SYNTHETIC_ORIGIN = {"espeak": ("espeak-ng", "GPL-3+"), "flite": ("flite", "BSD-style"),
                     "gm": ("fluid-soundfont-gm", "MIT"), "kit": ("fluid-soundfont-gm", "MIT")}


def _origin_of(source: str, collections: dict[str, real.Collection]) -> tuple[str, str]:
    if source in collections:
        return f"`{collections[source].package}`", collections[source].licence
    tool, licence = _SYNTHETIC_ORIGIN.get(source.split(":")[0], ("numpy, made by this project", "MIT"))
    return f"synthetic: {tool}", licence


def _sounding_share(x: np.ndarray) -> float:
    """Share of 50 ms frames within 30 dB of the clip's loudest frame."""
    frames = x[:len(x) // 800 * 800].reshape(-1, 800)
    rms = np.sqrt(np.mean(frames ** 2, axis=1))
    return float(np.mean(rms > rms.max() * 10 ** (-30 / 20))) if rms.max() > 0 else 0.0


def _write_sources(out: Path, listing: list[dict], sequence_sources: list[str],
                   collections: dict[str, real.Collection]) -> Path:
    """``SOURCES.md``: where every bundled example comes from, and its licence."""
    lines = ["# Where the example clips come from", "",
             "Every clip was made by `python -m explainer.data --examples examples/` from sources of the",
             "data set's test split: voices, tracks and kits that no shipped model trained on.", "",
             "| file | class | source | Debian package | licence |", "|---|---|---|---|---|"]
    for c in listing:
        where, licence = _origin_of(c["source"], collections)
        title = f" ({c['title']})" if c.get("title") else ""
        lines.append(f"| `{c['path']}` | {c['label']} | {c['source']}{title} | {where} | {licence} |")
    for source in sequence_sources:
        where, licence = _origin_of(source, collections)
        lines.append(f"| `sequence.wav` (one segment) | | {source} | {where} | {licence} |")
    path = out / "SOURCES.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def _prepare(out: Path) -> None:
    """Make ``out`` ready: refuse a foreign non-empty folder, clear a previous data set."""
    if out.exists() and any(out.iterdir()):
        if not (out / "manifest.json").is_file():
            raise ValueError(f"{out} is not empty and holds no manifest.json; "
                             "choose an empty or new folder")
        for name in _OWNED:
            target = out / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
    out.mkdir(parents=True, exist_ok=True)
