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
    # Chance of mixing a background bed under the sound (a room, a fan, mains hum, a mic).
    p_background: float = 0.7
    # Signal-to-background ratio in dB: a noisy classroom (5 dB) to a quiet study (30 dB).
    background_snr_db: tuple[float, float] = (5.0, 30.0)
    # Chance of a synthetic room: early reflections and an exponentially decaying tail.
    p_reverb: float = 0.5
    # RT60 of that room in seconds, from a small office to a hall.
    reverb_rt60_s: tuple[float, float] = (0.15, 1.2)
    # Wet/dry mix of the reverb tail.
    reverb_wet: tuple[float, float] = (0.1, 0.5)
    # Chance of one random EQ: a shelf, a peak or a telephone-like band-pass.
    p_eq: float = 0.3
    # Chance of a microphone's band: a laptop or headset mic rolls off lows and highs and
    # has a presence peak.
    p_mic: float = 0.6
    # Chance of automatic gain control, as browsers apply to a microphone: quiet parts are
    # lifted and loud ones held down, with the attack and release of a real AGC.
    p_agc: float = 0.4
    # How far below its target the AGC keeps the noise floor it lifts, dB, as a browser's AGC does;
    # None lets it lift the floor by its whole gain, which brought a fan's noise up to within
    # 0.3-2 dB of a short word in some clips labelled speech.
    agc_noise_room_db: float | None = 20.0
    # Chance of a codec round trip through ffmpeg: Opus in WebM (what browsers record) or MP3.
    p_codec: float = 0.5
    # Bit rates of those codecs, kbit/s.
    opus_kbps: tuple[int, int] = (24, 64)
    mp3_kbps: tuple[int, int] = (32, 128)
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
    train_per_class: int = 750
    val_per_class: int = 60
    test_per_class: int = 120
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
    # Draw on real recordings from Debian packages (see `real.py`) beside the synthetic sources.
    use_real: bool = True
    # Folder that holds ``usr/share`` of those packages; tests point it at a small fake tree.
    real_root: str = "/"
    # Share of each class's clips drawn from real recordings, when the class has any.
    real_share: dict[str, float] = field(default_factory=lambda: {
        "speech": 0.85, "music": 0.5, "percussion": 0.5})
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
        bad = {c: v for c, v in self.real_share.items() if not 0.0 <= v < 1.0}
        if bad:
            raise ValueError(f"real_share values must be in [0, 1), got {bad}")
        counts = [self.per_class(s) for s in SPLITS] + [self.sequences(s) for s in SPLITS]
        if min(counts) < 0:
            raise ValueError(f"clip and sequence counts must be >= 0, got {counts}")
