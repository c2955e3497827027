"""Which sources each split may use: the split-by-source rule of the data set.

A *source* is what a model could memorise instead of learning the class: an espeak voice
variant, a flite voice, a GM program, a drum kit, or the frequency band or kind of a
synthetic sound. Every source belongs to exactly one split, so the val and test scores are
scores on voices, instruments, kits and parameter ranges that training never heard.

- espeak-ng: voice *variants* are grouped into families (``klatt``..``klatt6`` are one
  family, since they share a design) and families are ranked by a seeded hash, then cut
  65 / 15 / 20 %. Languages are cut the same way, except ``en-us`` and ``en-gb``, which
  every split speaks, always with its own variants.
- flite: speakers, by hand (kal and kal16 are one speaker, awb and awb_time another).
- GM programs 0-111: within each family of 8 (pianos, organs, guitars ...), 5 train, 1 val,
  2 test by seeded hash, so every family is in every split with different programs.
- drum kits: whole kit families by hand (Standard 0-7 share samples, and so on).
- struck objects (knocks, thuds, metal, clicks, made with numpy): lowest-mode frequency
  bands interleaved between splits, like the tones.
- tone / noise / silence: parameter bands interleaved between splits, plus kinds that
  only val (vibrato tone, wind, a DC offset) or only test (call-progress tones, rain,
  bit flicker) use.
- real recordings (`real.py`): whole collections, i.e. a speaker or language of a voice
  pack, a music track, a drum kit or a drum loop, ranked by seeded hash and cut
  65 / 15 / 20 % within each class and kind.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

import numpy as np

from . import real, synth, tools
from .config import SPLITS, DataConfig

# Fractions of ranked names that go to train and val; test takes the rest.
_CUTS = (0.65, 0.80)
# English is the classroom language: all splits speak it, each with its own variants.
_SHARED_LANGUAGES = ("en-us", "en-gb")
# espeak-ng lists this voice but cannot speak Latin-script text with it.
_BROKEN_LANGUAGES = ("chr-US-Qaaa-x-west",)
# Variant families that are distinct voices despite a shared name (m1..m8, f1..f5).
_SINGLE_VARIANTS = re.compile(r"^[mf]\d$")

FLITE_SPLIT = {"kal": "train", "kal16": "train", "awb": "train", "awb_time": "train",
               "rms": "val", "slt": "test"}
# Drum kits (bank 128 program) by family; a family shares its samples.
KIT_SPLIT = {
    "train": (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 24, 32, 33, 34, 35, 36),
    "val": (16, 17, 18, 19, 48),     # Power family, Orchestra kit
    "test": (25, 40, 41, 42),        # TR-808, Brush family
}
KIT_NAMES = {0: "Standard", 8: "Room", 16: "Power", 24: "Electronic", 25: "TR-808",
             32: "Jazz", 40: "Brush", 48: "Orchestra"}
# Pitched-percussion presets as "bank:program". Tinker bell (112), steel drums (114) and
# reverse cymbal (119) are left out: they are melodic or a sweep, not a drum.
PERC_PROGRAM_SPLIT = {
    "train": ("0:113", "0:116", "0:118", "8:115", "8:118"),  # agogo, taiko, synth drum, castanets, 808 tom
    "val": ("0:115", "8:116"),                               # woodblock, concert bass drum
    "test": ("0:117", "8:117"),                              # melodic tom, melodic tom 2
}
DTMF_SPLIT = {"train": "0123456789", "val": "*#", "test": "ABCD"}
HUM_PROFILE_SPLIT = {"train": (0, 1, 2, 3), "val": (4,), "test": (5,)}


@dataclass
class SourcePool:
    """The sources of one kind that one split may draw, e.g. train's espeak voices.

    Attributes:
        cls: the class, e.g. ``"speech"``.
        kind: the generator, e.g. ``"espeak"``, ``"gm"``, ``"sine"``.
        choices: parameter name -> the values this split may use; a draw picks one each.
        key: format string of the source name recorded in the manifest.
        weight: relative chance of drawing this kind within its class.
    """

    cls: str
    kind: str
    choices: dict[str, tuple]
    key: str
    weight: float = 1.0

    def draw(self, rng: np.random.Generator) -> dict:
        """Pick one value per parameter; returns params with ``cls``, ``kind``, ``source``."""
        params = {name: values[int(rng.integers(len(values)))]
                  for name, values in self.choices.items()}
        params.update(cls=self.cls, kind=self.kind)
        params["source"] = self.key.format(**params)
        return params

    def describe(self) -> str:
        """One line for the manifest's ``held_out`` table."""
        parts = [f"{name}={','.join(map(str, values))}" for name, values in self.choices.items()]
        return f"{self.kind}: {'; '.join(parts)}"


@dataclass
class Inventory:
    """All pools, by split then class."""

    pools: dict[str, dict[str, list[SourcePool]]] = field(default_factory=dict)
    # real collections by source name, for the renderer (see `real.render`)
    collections: dict[str, real.Collection] = field(default_factory=dict)

    def draw(self, split: str, cls: str, rng: np.random.Generator) -> dict:
        """Draw a source of ``cls`` that ``split`` may use."""
        pools = self.pools[split][cls]
        weights = np.array([p.weight for p in pools], dtype=np.float64)
        pool = pools[int(rng.choice(len(pools), p=weights / weights.sum()))]
        return pool.draw(rng)

    def held_out(self) -> dict[str, dict[str, list[str]]]:
        """split -> class -> descriptions of its pools, for the manifest."""
        return {split: {cls: [p.describe() for p in pools] for cls, pools in by_cls.items()}
                for split, by_cls in self.pools.items()}

    def packages(self) -> dict[str, dict[str, str]]:
        """The Debian packages whose recordings this inventory uses, with licence and use."""
        used = sorted({c.package for c in self.collections.values()})
        return {p: {"licence": real.PACKAGES[p][0], "use": real.PACKAGES[p][1]} for p in used}


def build_inventory(config: DataConfig) -> Inventory:
    """Assign every source of ``config.classes`` to one split.

    Speech asks espeak-ng and flite for their voices, so it needs the tools installed.
    """
    inv = Inventory({split: {} for split in SPLITS})
    builders = {"speech": _speech_pools, "music": _music_pools, "percussion": _percussion_pools,
                "tone": _tone_pools, "noise": _noise_pools, "silence": _silence_pools}
    found = real.discover(config.real_root) if config.use_real else []
    for cls in config.classes:
        by_split = builders[cls](config.split_seed)
        share = config.real_share.get(cls, 0.0)
        collections = [c for c in found if c.cls == cls]
        if share > 0 and collections:
            for split, pool in _real_pools(cls, collections, config.split_seed).items():
                # weighted so that a draw is real with probability `share`
                pool.weight = sum(p.weight for p in by_split[split]) * share / (1.0 - share)
                by_split[split].append(pool)
            inv.collections.update({c.name: c for c in collections})
        for split in SPLITS:
            if not by_split[split]:
                raise RuntimeError(f"no {cls} sources for split {split!r}")
            inv.pools[split][cls] = by_split[split]
    return inv


def _real_pools(cls: str, collections: list[real.Collection], split_seed: int) -> dict[str, SourcePool]:
    """One pool of real collections per split; each kind (words, kits ...) is cut on its own."""
    names: dict[str, list[str]] = {s: [] for s in SPLITS}
    for kind in sorted({c.kind for c in collections}):
        group = [c.name for c in collections if c.kind == kind]
        if len(group) >= 3:
            for split, part in _cut(group, split_seed, f"real-{cls}-{kind}").items():
                names[split] += part
        else:  # too few to hold any out: train on them, test on none
            names["train"] += group
    return {s: SourcePool(cls, "real", {"name": tuple(sorted(v))}, "{name}") for s, v in names.items() if v}


# ---------------------------------------------------------------- partition helpers

def _rank(names: list[str], split_seed: int, salt: str) -> list[str]:
    """Names in a seeded pseudo-random order that does not depend on the list's order."""
    def h(name: str) -> str:
        return hashlib.sha256(f"{split_seed}:{salt}:{name}".encode()).hexdigest()
    return sorted(names, key=h)


def _cut(names: list[str], split_seed: int, salt: str) -> dict[str, list[str]]:
    """Cut ranked names 65 / 15 / 20 % into train / val / test, each non-empty when n >= 3."""
    ranked = _rank(names, split_seed, salt)
    n = len(ranked)
    a = min(max(1, round(_CUTS[0] * n)), n - 2)
    b = min(max(a + 1, round(_CUTS[1] * n)), n - 1)
    return {"train": sorted(ranked[:a]), "val": sorted(ranked[a:b]), "test": sorted(ranked[b:])}


def _interleaved(count: int) -> dict[str, tuple[int, ...]]:
    """Band indices per split: every 6th band from 2 to test, from 4 to val, rest train."""
    out: dict[str, list[int]] = {s: [] for s in SPLITS}
    for i in range(count):
        out["test" if i % 6 == 2 else "val" if i % 6 == 4 else "train"].append(i)
    return {s: tuple(v) for s, v in out.items()}


def variant_family(variant: str) -> str:
    """``klatt3`` -> ``klatt``; numbered m/f variants stay separate voices."""
    if _SINGLE_VARIANTS.match(variant):
        return variant
    return re.sub(r"\d+$", "", variant).lower()


# ---------------------------------------------------------------- per class

def _speech_pools(split_seed: int) -> dict[str, list[SourcePool]]:
    variants = tools.espeak_variants()
    families = sorted({variant_family(v) for v in variants})
    fam_split = {fam: s for s, fams in _cut(families, split_seed, "espeak-variant").items()
                 for fam in fams}
    languages = [l for l in tools.espeak_languages()
                 if l not in _BROKEN_LANGUAGES and l not in _SHARED_LANGUAGES]
    lang_split = _cut(languages, split_seed, "espeak-language")
    flite = tools.flite_voices()
    out: dict[str, list[SourcePool]] = {}
    for split in SPLITS:
        split_variants = [v for v in variants if fam_split[variant_family(v)] == split]
        if split == "train":
            split_variants.append("default")  # the language's own voice, no variant
        langs = tuple(_SHARED_LANGUAGES) + tuple(lang_split[split])
        pools = [SourcePool("speech", "espeak",
                            {"language": langs, "variant": tuple(sorted(split_variants))},
                            "espeak:{language}+{variant}", weight=0.6)]
        voices = tuple(v for v in flite if FLITE_SPLIT.get(v) == split)
        if voices:
            pools.append(SourcePool("speech", "flite", {"voice": voices}, "flite:{voice}", 0.4))
        out[split] = pools
    return out


def _music_pools(split_seed: int) -> dict[str, list[SourcePool]]:
    chosen: dict[str, list[int]] = {s: [] for s in SPLITS}
    for family in range(14):  # GM families 0-13 of 8 programs; 14-15 are percussive / effects
        ranked = _rank([str(8 * family + i) for i in range(8)], split_seed, "gm-program")
        for split, part in (("train", ranked[:5]), ("val", ranked[5:6]), ("test", ranked[6:])):
            chosen[split] += [int(p) for p in part]
    return {s: [SourcePool("music", "gm", {"program": tuple(sorted(chosen[s]))},
                           "gm:program={program}")] for s in SPLITS}


def _percussion_pools(split_seed: int) -> dict[str, list[SourcePool]]:
    # struck objects made with numpy (knocks, thuds, metal, clicks) widen what a hit can
    # sound like beyond the soundfont's kits; their lowest-mode bands are split like tones
    bands = _interleaved(len(synth.IMPACT_BANDS) - 1)
    return {s: [SourcePool("percussion", "kit", {"kit": KIT_SPLIT[s]}, "kit:{kit}", 0.6),
                SourcePool("percussion", "perc_program", {"preset": PERC_PROGRAM_SPLIT[s]},
                           "gm:preset={preset}", 0.2),
                SourcePool("percussion", "impacts", {"band": bands[s]}, "impacts:band{band:02d}", 0.2)]
            for s in SPLITS}


def _tone_pools(split_seed: int) -> dict[str, list[SourcePool]]:
    bands = _interleaved(len(synth.TONE_BANDS) - 1)
    out = {}
    for s in SPLITS:
        pools = [SourcePool("tone", kind, {"band": bands[s]}, f"tone:{kind}:band{{band:02d}}")
                 for kind in ("sine", "beeps", "sweep_lin", "sweep_log", "siren", "square", "saw", "dual", "buzzer")]
        pools.append(SourcePool("tone", "dtmf", {"keys": (DTMF_SPLIT[s],)}, "tone:dtmf:{keys}"))
        if s == "val":
            all_bands = tuple(range(len(synth.TONE_BANDS) - 1))
            pools.append(SourcePool("tone", "vibrato", {"band": all_bands},
                                    "tone:vibrato:band{band:02d}"))
        if s == "test":
            pools.append(SourcePool("tone", "call", {"pattern": tuple(synth.CALL_PATTERNS)},
                                    "tone:call:{pattern}"))
        out[s] = pools
    return out


def _noise_pools(split_seed: int) -> dict[str, list[SourcePool]]:
    grids = {"coloured": (synth.BETA_BANDS, "beta"), "bandpass": (synth.TONE_BANDS, "band"),
             "am": (synth.AM_BANDS, "rate"), "hiss": (synth.HISS_BANDS, "cutoff")}
    out = {}
    for s in SPLITS:
        pools = [SourcePool("noise", kind, {"band": _interleaved(len(edges) - 1)[s]},
                            f"noise:{kind}:{label}{{band:02d}}")
                 for kind, (edges, label) in grids.items()]
        if s == "val":
            pools.append(SourcePool("noise", "wind", {}, "noise:wind"))
        if s == "test":
            pools.append(SourcePool("noise", "rain", {}, "noise:rain"))
        out[s] = pools
    return out


def _silence_pools(split_seed: int) -> dict[str, list[SourcePool]]:
    rooms = _interleaved(len(synth.ROOM_BETA_BANDS) - 1)
    digital = {"train": "zeros", "val": "dc_lsb", "test": "lsb"}
    return {s: [SourcePool("silence", "room", {"band": rooms[s]}, "silence:room:beta{band:02d}", 0.5),
                SourcePool("silence", "hum", {"mains": (50, 60), "profile": HUM_PROFILE_SPLIT[s]},
                           "silence:hum:{mains}hz:p{profile}", 0.35),
                SourcePool("silence", digital[s], {}, f"silence:{digital[s]}", 0.15)]
            for s in SPLITS}
