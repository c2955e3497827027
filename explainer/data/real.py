"""Real recordings from Debian packages: people speaking, produced music, sampled drums.

Synthetic voices alone do not teach a model what a human voice sounds like, so the
generator also draws on recordings that Debian ships with games and music programs. A
*collection* is the unit a model could memorise: one speaker or language of a voice pack,
one music track, one drum kit, one drum loop. Every collection belongs to exactly one
split (see ``sources.py``), so the real test split holds voices, tracks and kits that no
model heard in training.

Nothing here reads a file at import time; `discover` walks the package folders when the
generator asks.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import tools
from .config import SAMPLE_RATE
from .speech import trim

# package -> (licence of the audio files used, what the generator takes from it)
PACKAGES: dict[str, tuple[str, str]] = {
    "ktuberling-data": ("GPL-2+", "words spoken by people, one speaker per language (speech)"),
    "hedgewars-data": ("GPL-2; voice packs GFDL-1.3", "voice packs (speech) and music tracks (music)"),
    "extremetuxracer-data": ("GPL-2+", "music tracks (music)"),
    "frozen-bubble-data": ("GPL-2", "music tracks (music)"),
    "lmms-common": ("GPL-2+", "drum loops and drum samples (percussion)"),
    "hydrogen-data": ("GPL-2+", "drum kits (percussion)"),
    "hydrogen-drumkits": ("per kit: GPL-2+, GPL-2, CC-BY-SA-3.0, CC-BY-3.0, CC0", "drum kits and hand percussion (percussion)"),
    "klettres-data": ("GPL-2+", "letters and syllables spoken in 19 languages (speech)"),
}
# Kits of hydrogen-drumkits whose licence is not the package's GPL-2+ (its copyright file).
_KIT_LICENCES = {"Gimme A Hand 1.0": "GPL-2", "The Black Pearl 1.0": "GPL-2", "circAfrique v4": "CC-BY-SA-3.0",
                 "BJA_Pacific": "CC-BY-SA-3.0-us", "rumpf_kit_z01_h2": "CC-BY-3.0", "Audiophob": "CC0",
                 "ColomboAcousticDrumkit": "GPL-2+ with composition exception"}
# Packages the shipped recipe cannot do without; the others add variety when present.
REQUIRED = ("ktuberling-data", "hedgewars-data", "extremetuxracer-data", "lmms-common", "hydrogen-data")
_AUDIO = {".wav", ".ogg", ".flac", ".aiff", ".aif"}
# Voice packs that are sung, not spoken: they would blur speech and music.
_SUNG_VOICES = ("Singer",)
# Drum roles by file name, for arranging one-shot samples into patterns.
_ROLES = {
    "kick": re.compile(r"kick|bd|bassdrum|bass_?drum|drum_?\d|djembe\d? bass|dununba", re.I),
    "snare": re.compile(r"snare|sn\d|sd_|sn_|rim|stick|slap|cajon", re.I),
    "hat": re.compile(r"hat|hh|shake|maraca|tamb|chh|ohh", re.I),
    "tom": re.compile(r"tom|ft_|t1_|t2_|conga|bongo|djembe\d? tone", re.I),
    "cymbal": re.compile(r"crash|ride|cymbal|splash|china|cc_|rc_|bell", re.I),
    "clap": re.compile(r"clap|snap", re.I),
}


@dataclass(frozen=True)
class Collection:
    """One memorisable unit of real audio.

    Attributes:
        name: source name recorded in the manifest, e.g. ``"ktuberling:fr"``.
        cls: the class it belongs to.
        kind: how clips are made from it: ``words`` (short utterances strung together),
            ``excerpt`` (a cut from a long track), ``loop`` (a drum loop repeated) or
            ``kit`` (one-shot drum samples arranged into patterns).
        package: the Debian package it comes from.
        files: absolute paths of its audio files.
    """

    name: str
    cls: str
    kind: str
    package: str
    files: tuple[str, ...]

    @property
    def licence(self) -> str:
        """The licence of this collection's files (a kit may differ from its package)."""
        kit = self.name.split(":", 1)[-1]
        if self.package == "hydrogen-drumkits":
            return _KIT_LICENCES.get(kit, "GPL-2+")
        if self.package == "hedgewars-data" and self.cls == "speech":
            return "GFDL-1.3"
        if self.package == "hedgewars-data":
            return "GPL-2"
        return PACKAGES[self.package][0]


def _audio_files(folder: Path) -> list[Path]:
    """Audio files under ``folder`` that libsndfile can open (a few packaged files are malformed)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in _AUDIO and p.is_file() and _readable(p))


def _readable(path: Path) -> bool:
    import soundfile as sf

    try:
        return sf.info(str(path)).frames > 0
    except (RuntimeError, sf.LibsndfileError):
        return False


def discover(root: str | Path = "/") -> list[Collection]:
    """Every real collection found under ``root`` (``/`` on a Debian system).

    Args:
        root: prefix of ``usr/share``; tests point it at a small fake tree.

    Returns:
        Collections sorted by name; empty when none of the packages is installed.
    """
    share = Path(root) / "usr" / "share"
    found: dict[str, dict] = {}

    def add(name, cls, kind, package, files):
        files = [str(f) for f in files]
        if not files:
            return
        entry = found.setdefault(name, dict(cls=cls, kind=kind, package=package, files=[]))
        entry["files"] += files

    for lang in _dirs(share / "ktuberling" / "sounds"):
        # sr, sr@latin and sr@ijekavian are one speaker recorded for several scripts
        add(f"ktuberling:{lang.name.split('@')[0]}", "speech", "words", "ktuberling-data",
            _audio_files(lang))
    for voice in _dirs(share / "games" / "hedgewars" / "Data" / "Sounds" / "voices"):
        if voice.name not in _SUNG_VOICES:
            # Default_es, Russian_pl ...: a pack and its translations may share a speaker
            add(f"hedgewars:{voice.name.split('_')[0]}", "speech", "words", "hedgewars-data",
                _audio_files(voice))
    for lang in _dirs(share / "klettres"):
        files = _audio_files(lang / "alpha") + _audio_files(lang / "syllab")
        add(f"klettres:{lang.name.split('_')[0]}", "speech", "words", "klettres-data", files)
    for track in _audio_files(share / "games" / "hedgewars" / "Data" / "Music"):
        add(f"hedgewars-music:{track.stem}", "music", "excerpt", "hedgewars-data", [track])
    for track in _audio_files(share / "games" / "etr" / "music"):
        add(f"etr-music:{track.stem}", "music", "excerpt", "extremetuxracer-data", [track])
    for track in _audio_files(share / "games" / "frozen-bubble" / "snd"):
        if "zik" in track.stem:  # the game's music; the rest are short effects
            add(f"frozen-bubble:{track.stem}", "music", "excerpt", "frozen-bubble-data", [track])
    for loop in _audio_files(share / "lmms" / "samples" / "beats"):
        if loop.stem.startswith("rave_"):  # one drum played as a roll: closer to noise than to a beat
            continue
        add(f"lmms-beat:{loop.stem}", "percussion", "loop", "lmms-common", [loop])
    add("lmms-kit:drums", "percussion", "kit", "lmms-common",
        _audio_files(share / "lmms" / "samples" / "drums"))
    for kit in _dirs(share / "hydrogen" / "data" / "drumkits"):
        # hydrogen-data ships GMRockKit and TR808EmulationKit; hydrogen-drumkits the rest
        package = "hydrogen-data" if kit.name in ("GMRockKit", "TR808EmulationKit") else "hydrogen-drumkits"
        add(f"hydrogen-kit:{kit.name}", "percussion", "kit", package, _audio_files(kit))
    return [Collection(name, e["cls"], e["kind"], e["package"], tuple(sorted(e["files"])))
            for name, e in sorted(found.items())]


def installed(collections: list[Collection]) -> list[str]:
    """Packages that at least one collection came from."""
    return sorted({c.package for c in collections})


def missing(collections: list[Collection]) -> list[str]:
    """Required packages (`REQUIRED`) that gave no collection."""
    have = set(installed(collections))
    return [p for p in REQUIRED if p not in have]


def _dirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


# ---------------------------------------------------------------- decoding

# A short file as float32 mono at 16 kHz, cached: kits and voices are reused often.
_decoded = functools.lru_cache(maxsize=2048)(tools.read_mono)


def _segment(path: str, rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` samples at 16 kHz from a random point of a long file, skipping quiet stretches."""
    import soundfile as sf
    import soxr

    info = sf.info(path)
    want = int(np.ceil(n * info.samplerate / SAMPLE_RATE)) + 64
    best, best_rms = None, -1.0
    for _ in range(6):
        # keep clear of the first and last seconds: fades in and out are not the track
        lo = min(int(info.samplerate), max(0, info.frames - want))
        hi = max(lo + 1, info.frames - want - int(info.samplerate))
        start = int(rng.integers(lo, hi)) if hi > lo else 0
        audio, sr = sf.read(path, start=start, frames=want, dtype="float32", always_2d=True)
        mono = audio.mean(axis=1)
        if sr != SAMPLE_RATE:
            mono = soxr.resample(mono, sr, SAMPLE_RATE, quality="HQ")
        rms = float(np.sqrt(np.mean(mono ** 2))) if len(mono) else 0.0
        if rms > best_rms:
            best, best_rms = mono, rms
        if rms > 0.02:
            break
    out = np.zeros(n, np.float32)
    out[:min(n, len(best))] = best[:n]
    return out


def _trim(x: np.ndarray, threshold_db: float = -35.0) -> np.ndarray:
    """Cut the silence before and after an utterance or a drum hit (keeps 10 ms either side)."""
    return trim(x, threshold_db, pad_s=0.01)


# ---------------------------------------------------------------- rendering

def render(c: Collection, rng: np.random.Generator, n: int, fill: bool,
           style: str | None = None, perturb: bool = True) -> np.ndarray:
    """Make ``n`` samples of sound from one collection.

    Args:
        c: the collection the clip's source draw named.
        rng: the clip's content generator.
        n: length in samples at 16 kHz.
        fill: sound over the whole length (sequence segments); otherwise words may leave
            pauses and silence around them, as a person speaking into a microphone does.
        style: for kits, the pattern to play (``beat``, ``groove``, ``claps``, ``hits``);
            drawn at random when None.
        perturb: change the speed of speech (a training augmentation); off for the
            bundled examples, which play as recorded.

    Returns:
        (n,) float32 with peak 1.
    """
    if c.kind == "words":
        x = _words(c, rng, n, fill, perturb)
    elif c.kind == "excerpt":
        x = _segment(c.files[int(rng.integers(len(c.files)))], rng, n)
    elif c.kind == "loop":
        x = _loop(c, rng, n)
    elif c.kind == "kit":
        x = _pattern(c, rng, n, style)
    else:
        raise ValueError(f"unknown collection kind {c.kind!r}")
    peak = float(np.max(np.abs(x))) if len(x) else 0.0
    return (x / peak).astype(np.float32) if peak > 0 else x.astype(np.float32)


def _words(c: Collection, rng: np.random.Generator, n: int, fill: bool, perturb: bool = True) -> np.ndarray:
    """Utterances of one speaker one after another, with pauses of 50-600 ms between them.

    Without ``fill`` a clip holds one to five utterances and starts after up to 0.6 s of
    quiet, so models meet speech with real gaps and silence around it.
    """
    import soxr

    out = np.zeros(n, np.float32)
    t = 0 if fill else int(rng.uniform(0.0, 0.6) * SAMPLE_RATE)
    target = int(rng.integers(1, 6)) if not fill else 1_000
    spoken = 0
    # one speed for the whole clip: played 0.85-1.2 times as fast, pitch and formants move
    # together, which sounds like a smaller or larger speaker, so each recorded voice
    # stands for a range of voices
    speed = rng.uniform(0.85, 1.2) if perturb else 1.0
    for _ in range(40):
        word = _trim(_decoded(c.files[int(rng.integers(len(c.files)))]))
        if len(word) < SAMPLE_RATE // 10:
            continue
        if speed != 1.0:
            word = soxr.resample(word, SAMPLE_RATE * speed, SAMPLE_RATE).astype(np.float32)
        word = word * np.float32(10 ** (rng.uniform(-4.0, 4.0) / 20))
        room = n - t
        if room <= SAMPLE_RATE // 10:
            break
        piece = word[:room]
        out[t:t + len(piece)] += piece
        t += len(piece) + int(rng.uniform(0.05, 0.6 if not fill else 0.25) * SAMPLE_RATE)
        spoken += 1
        # a clip needs enough voice to be about speech: at least 1.2 s or a third of it
        if not fill and spoken >= target and t >= min(n // 3, int(1.2 * SAMPLE_RATE)):
            break
    return out


def _loop(c: Collection, rng: np.random.Generator, n: int) -> np.ndarray:
    """A drum loop repeated to length, at a random speed of 0.9-1.1 and a random start."""
    import soxr

    loop = _trim(_decoded(c.files[0]), threshold_db=-50.0)
    rate = rng.uniform(0.9, 1.1)
    loop = soxr.resample(loop, SAMPLE_RATE * rate, SAMPLE_RATE).astype(np.float32) if len(loop) else loop
    if not len(loop):
        return np.zeros(n, np.float32)
    reps = int(np.ceil((n + len(loop)) / len(loop))) + 1
    tiled = np.tile(loop, reps)
    start = int(rng.integers(0, len(loop)))
    return tiled[start:start + n]


def roles(files: tuple[str, ...]) -> dict[str, list[str]]:
    """Sort a kit's samples into drum roles by file name; unnamed samples go to ``other``."""
    out: dict[str, list[str]] = {}
    for f in files:
        name = Path(f).stem
        role = next((r for r, pat in _ROLES.items() if pat.search(name)), "other")
        out.setdefault(role, []).append(f)
    return out


def _pattern(c: Collection, rng: np.random.Generator, n: int, style: str | None = None) -> np.ndarray:
    """One-shot samples of a kit arranged into a pattern, as a drummer or clapper plays.

    Styles: a rock/pop beat (kick, snare on the backbeat, hats), a busy groove with toms,
    hand claps (one to three people clapping, each slightly off the others), or free hits.
    Timing wanders by a few milliseconds and every hit has its own velocity.
    """
    kit = roles(c.files)
    styles = ["beat", "groove", "hits"]
    if "clap" in kit:
        styles.append("claps")
    drawn = styles[int(rng.integers(len(styles)))]
    style = style if style in styles else drawn
    bpm = rng.uniform(70.0, 170.0)
    step = 60.0 / bpm / 4  # sixteenth notes
    steps = int(n / SAMPLE_RATE / step) + 1
    hits: list[tuple[float, str, float]] = []  # (time s, role, velocity)

    def pick(*wanted: str) -> str | None:
        have = [r for r in wanted if r in kit]
        return have[int(rng.integers(len(have)))] if have else None

    if style in ("beat", "groove"):
        kick, snare = pick("kick", "tom", "other"), pick("snare", "clap", "other")
        hat = pick("hat", "cymbal", "other")
        for s in range(steps):
            pos = s % 16
            if kick and (pos in (0, 8) or (style == "groove" and rng.random() < 0.2)):
                hits.append((s * step, kick, rng.uniform(0.7, 1.0)))
            if snare and pos in (4, 12):
                hits.append((s * step, snare, rng.uniform(0.7, 1.0)))
            if hat and (pos % 2 == 0 or (style == "groove" and rng.random() < 0.5)):
                hits.append((s * step, hat, rng.uniform(0.3, 0.7)))
            if style == "groove" and "tom" in kit and pos >= 12 and rng.random() < 0.3:
                hits.append((s * step, "tom", rng.uniform(0.5, 0.9)))
        if "cymbal" in kit and rng.random() < 0.4:
            hits.append((0.0, "cymbal", rng.uniform(0.5, 0.9)))
    elif style == "claps":
        people = int(rng.integers(1, 4))
        every = int(rng.choice([2, 4, 4, 8]))  # claps on eighths, beats or half notes
        for _ in range(people):
            lag = rng.uniform(0.0, 0.03)
            for s in range(0, steps, every):
                if rng.random() < 0.92:
                    hits.append((s * step + lag, "clap", rng.uniform(0.5, 1.0)))
    else:  # free hits: a few strikes with gaps, like tapping or a fill
        t = rng.uniform(0.0, 0.3)
        while t < n / SAMPLE_RATE:
            role = list(kit)[int(rng.integers(len(kit)))]
            hits.append((t, role, rng.uniform(0.4, 1.0)))
            t += rng.uniform(0.08, 0.6)
    out = np.zeros(n, np.float32)
    for t, role, vel in hits:
        sample = _trim(_decoded(kit[role][int(rng.integers(len(kit[role])))]), threshold_db=-60.0)
        a = int((t + rng.normal(0.0, 0.006)) * SAMPLE_RATE)
        if a < 0 or a >= n:
            continue
        piece = sample[:n - a]
        out[a:a + len(piece)] += np.float32(vel) * piece
    return out
