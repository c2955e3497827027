"""Constants and the commented configuration of the `sound-types` data generator."""

from __future__ import annotations

from dataclasses import dataclass, field

SAMPLE_RATE = 16_000
# The class order is the model's output order, so it is part of the set's contract.
CLASSES: tuple[str, ...] = ("speech", "music", "percussion", "tone", "noise", "silence")
SPLITS: tuple[str, ...] = ("train", "val", "test")
# Classes rendered by Debian programs; the other three are pure numpy and always available.
TOOL_CLASSES: tuple[str, ...] = ("speech", "music", "percussion")


@dataclass
class AugmentConfig:
    """Random per-clip augmentation. Probabilities are per clip; ranges are (low, high)."""

    # Final peak level in dBFS. Below 0 dB so the 16-bit file never clips.
    peak_db: tuple[float, float] = (-20.0, -1.0)
    # Chance of mixing a quiet coloured-noise bed under the sound (a room, a fan, a mic).
    p_background: float = 0.6
    # Signal-to-background ratio in dB: low enough to matter, high enough to keep the label.
    background_snr_db: tuple[float, float] = (12.0, 40.0)
    # Chance of a synthetic room: convolution with an exponentially decaying noise burst.
    p_reverb: float = 0.35
    # RT60 of that room in seconds, from a small office to a hall.
    reverb_rt60_s: tuple[float, float] = (0.15, 1.0)
    # Wet/dry mix of the reverb tail.
    reverb_wet: tuple[float, float] = (0.1, 0.5)
    # Chance of one random EQ: a shelf, a peak or a telephone-like band-pass.
    p_eq: float = 0.4
    # Gain range of shelves and peaks, dB.
    eq_gain_db: tuple[float, float] = (-12.0, 12.0)
    # Chance of shifting the sound in time, filling the gap with zeros (a late start).
    p_shift: float = 0.3
    # Largest shift either way, in seconds.
    max_shift_s: float = 0.5


@dataclass
class DataConfig:
    """What `generate()` writes. One config and one seed give byte-identical files."""

    # Seeds every clip's random stream; the same seed reproduces the whole data set.
    seed: int = 0
    # Seeds which sources go to which split. Kept apart from `seed` so that a new draw of
    # clips keeps the held-out voices, programs and kits that a model card reports.
    split_seed: int = 0
    # Length of a class clip: 3.2 s is 51,200 samples, the length all six models train on.
    clip_seconds: float = 3.2
    # Class clips per class in each split.
    train_per_class: int = 330
    val_per_class: int = 40
    test_per_class: int = 60
    # Sequence clips (several classes one after another) per split, for frame labels.
    train_sequences: int = 90
    val_sequences: int = 10
    test_sequences: int = 20
    # Length of a sequence clip, and its number of segments (inclusive range).
    sequence_seconds: float = 8.0
    sequence_segments: tuple[int, int] = (3, 5)
    # Shortest segment in a sequence, seconds: long enough to be heard as a class.
    min_segment_seconds: float = 1.0
    # Classes to generate; leave out speech/music/percussion to run without Debian tools.
    classes: tuple[str, ...] = CLASSES
    # SoundFont used for music and percussion (Debian package fluid-soundfont-gm).
    soundfont: str = "/usr/share/sounds/sf2/FluidR3_GM.sf2"
    # Rate fluidsynth renders at before resampling to 16 kHz: its sample interpolation has
    # no anti-alias filter, so rendering high and resampling keeps high notes clean.
    render_rate: int = 32_000
    # Items per fluidsynth call: one process renders many clips in consecutive time slots.
    midi_batch: int = 48
    augment: AugmentConfig = field(default_factory=AugmentConfig)

    def per_class(self, split: str) -> int:
        """Number of class clips per class in ``split``."""
        return {"train": self.train_per_class, "val": self.val_per_class,
                "test": self.test_per_class}[split]

    def sequences(self, split: str) -> int:
        """Number of sequence clips in ``split``."""
        return {"train": self.train_sequences, "val": self.val_sequences,
                "test": self.test_sequences}[split]

    @property
    def clip_samples(self) -> int:
        """Samples in one class clip at 16 kHz (51,200 for 3.2 s)."""
        return int(round(self.clip_seconds * SAMPLE_RATE))

    def validate(self) -> None:
        """Raise ValueError on settings that cannot produce a sensible data set."""
        unknown = [c for c in self.classes if c not in CLASSES]
        if unknown or not self.classes:
            raise ValueError(f"classes must be a non-empty subset of {CLASSES}, got {self.classes}")
        lo, hi = self.sequence_segments
        if not 1 <= lo <= hi:
            raise ValueError(f"sequence_segments must be 1 <= low <= high, got {self.sequence_segments}")
        if hi * self.min_segment_seconds > self.sequence_seconds:
            raise ValueError(
                f"{hi} segments of at least {self.min_segment_seconds} s do not fit in "
                f"{self.sequence_seconds} s")
        counts = [self.per_class(s) for s in SPLITS] + [self.sequences(s) for s in SPLITS]
        if min(counts) < 0:
            raise ValueError(f"clip and sequence counts must be >= 0, got {counts}")
