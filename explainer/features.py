"""Differentiable audio front-ends built on ``torchaudio.transforms``.

Every model in :mod:`explainer.models` owns one of these modules as its
``front_end``. Each maps a batch of 16 kHz mono waveforms ``(B, 1, samples)``
to the exact tensor its network expects, and keeps the dB step and any
per-clip normalisation outside the network that attributions explain.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
import torchaudio.transforms as T
from torch import nn

SAMPLE_RATE = 16000


@dataclass(frozen=True)
class FeatureConfig:
    """Settings of every representation the app shows and the models consume."""

    sample_rate: int = SAMPLE_RATE  # all clips are resampled to this rate before any feature
    # log-mel with 64 bands: spectrogram_cnn and the tcn's frame sequence
    mel64_n_fft: int = 512  # FFT size; 400 samples of window zero-padded to 512
    mel64_win: int = 400  # 25 ms analysis window
    mel64_hop: int = 160  # 10 ms between frames, so 100 frames per second
    mel64_n_mels: int = 64  # number of mel bands
    # log-mel 128x128 of the beginner notebook (baseline_cnn)
    mel128_n_fft: int = 1024  # FFT size and window, 64 ms
    mel128_hop: int = 512  # 32 ms between frames
    mel128_n_mels: int = 128  # number of mel bands, the image height
    mel128_frames: int = 128  # fixed image width: centre crop or pad with the minimum
    # min-max bounds of the 128x128 picture, in absolute dB: the bounds of the scale, not of each
    # clip, so a quiet room stays dark and a loud hiss bright (per-clip bounds erased that difference)
    mel128_db_min: float = -100.0
    mel128_db_max: float = 40.0
    # log-mel resized to an ImageNet-sized picture (spectrogram_vit)
    mel224_n_fft: int = 1024  # FFT size; window stays at 25 ms
    mel224_n_mels: int = 128  # bands before the bilinear resize
    image_size: int = 224  # output height and width
    # linear-frequency cepstral coefficients with deltas (lfcc_cnn)
    lfcc_n_lfcc: int = 60  # coefficients per frame; with delta and delta-delta, 180 columns
    lfcc_n_filter: int = 128  # linear (not mel) triangular filters before the DCT
    lfcc_n_fft: int = 512  # FFT size
    lfcc_win: int = 400  # 25 ms window
    lfcc_hop: int = 160  # 10 ms hop: 3.2 s gives 321 frames
    delta_win: int = 5  # frames used to estimate each delta
    top_db: float = 80.0  # dynamic range kept below each clip's loudest cell
    # fixed affine map that brings absolute dB values near zero mean, unit scale;
    # it is the same for every clip, so loudness is still visible to the model
    db_offset: float = 50.0
    db_scale: float = 20.0

    def to_dict(self) -> dict:
        return asdict(self)


DEFAULT = FeatureConfig()


def n_frames(n_samples: int, hop: int) -> int:
    """Frames a centred STFT gives for ``n_samples`` at ``hop``."""
    return n_samples // hop + 1


class LogMel(nn.Module):
    """Waveform ``(B, 1, samples)`` -> scaled log-mel ``(B, 1, n_mels, frames)``."""

    def __init__(self, n_fft: int, win: int, hop: int, n_mels: int, cfg: FeatureConfig = DEFAULT):
        super().__init__()
        self.cfg, self.hop, self.win = cfg, hop, win
        self.mel = T.MelSpectrogram(
            sample_rate=cfg.sample_rate, n_fft=n_fft, win_length=win, hop_length=hop,
            n_mels=n_mels, f_min=0.0, f_max=cfg.sample_rate / 2, power=2.0, norm="slaney", mel_scale="slaney",
        )
        self.to_db = T.AmplitudeToDB(stype="power", top_db=cfg.top_db)

    def db(self, wave: torch.Tensor) -> torch.Tensor:
        """Absolute log-mel in dB, ``(B, 1, n_mels, frames)``."""
        _check_wave(wave)
        return self.to_db(self.mel(wave))

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        return (self.db(wave) + self.cfg.db_offset) / self.cfg.db_scale


class Mel64(LogMel):
    """64-band log-mel, 10 ms hop: ``(B, 1, samples)`` -> ``(B, 1, 64, frames)``."""

    kind = "mel64"

    def __init__(self, cfg: FeatureConfig = DEFAULT):
        super().__init__(cfg.mel64_n_fft, cfg.mel64_win, cfg.mel64_hop, cfg.mel64_n_mels, cfg)


class MelSequence(Mel64):
    """The 64-band log-mel as a sequence of vectors: ``(B, 1, samples)`` -> ``(B, 64, frames)``."""

    kind = "mel_seq"

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        return super().forward(wave).squeeze(1)


class Mel128x128(LogMel):
    """The beginner notebook's input: ``(B, 1, samples)`` -> ``(B, 1, 128, 128)`` in [0, 1].

    Steps: power log-mel in dB (floored 80 dB below the clip's loudest cell), centre
    crop or right-pad with the clip's minimum to 128 frames, then min-max scaling
    from the fixed range ``mel128_db_min``..``mel128_db_max`` onto 0..1.
    """

    kind = "mel128x128"

    def __init__(self, cfg: FeatureConfig = DEFAULT):
        super().__init__(cfg.mel128_n_fft, cfg.mel128_n_fft, cfg.mel128_hop, cfg.mel128_n_mels, cfg)
        self.width = cfg.mel128_frames

    def crop_offset(self, frames: int) -> int:
        """First frame kept by the centre crop (0 when the clip is padded)."""
        return max(0, (frames - self.width) // 2)

    def fit(self, s_db: torch.Tensor) -> torch.Tensor:
        """Centre-crop or pad ``(B, 1, 128, frames)`` to ``(B, 1, 128, 128)``."""
        frames = s_db.shape[-1]
        if frames >= self.width:
            start = self.crop_offset(frames)
            return s_db[..., start : start + self.width]
        floor = s_db.amin(dim=(-2, -1), keepdim=True)  # pad with the darkest value of this clip
        pad = floor.expand(*s_db.shape[:-1], self.width - frames)
        return torch.cat([s_db, pad], dim=-1)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        fixed = self.fit(self.db(wave))  # (B, 1, 128, 128) absolute dB
        lo, hi = self.cfg.mel128_db_min, self.cfg.mel128_db_max
        return ((fixed - lo) / (hi - lo)).clamp(0.0, 1.0)


class Mel224(LogMel):
    """Log-mel stretched to a 3-channel picture: ``(B, 1, samples)`` -> ``(B, 3, 224, 224)``."""

    kind = "mel224"

    def __init__(self, cfg: FeatureConfig = DEFAULT):
        super().__init__(cfg.mel224_n_fft, cfg.mel64_win, cfg.mel64_hop, cfg.mel224_n_mels, cfg)
        self.size = cfg.image_size

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        s = super().forward(wave)  # (B, 1, 128, frames)
        s = F.interpolate(s, size=(self.size, self.size), mode="bilinear", align_corners=False)
        return s.expand(-1, 3, -1, -1).contiguous()  # the same picture in the R, G and B slots


class LfccGrid(nn.Module):
    """LFCC + delta + delta-delta grid: ``(B, 1, samples)`` -> ``(B, 1, frames, 180)``.

    Rows are 10 ms frames; columns 0-59 are LFCCs, 60-119 their deltas and
    120-179 the delta-deltas. 3.2 s at 16 kHz gives 321 rows.
    """

    kind = "lfcc"

    def __init__(self, cfg: FeatureConfig = DEFAULT):
        super().__init__()
        self.cfg, self.hop, self.win = cfg, cfg.lfcc_hop, cfg.lfcc_win
        self.lfcc = T.LFCC(
            sample_rate=cfg.sample_rate, n_filter=cfg.lfcc_n_filter, n_lfcc=cfg.lfcc_n_lfcc,
            speckwargs={"n_fft": cfg.lfcc_n_fft, "win_length": cfg.lfcc_win, "hop_length": cfg.lfcc_hop},
        )
        self.deltas = T.ComputeDeltas(win_length=cfg.delta_win)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        _check_wave(wave)
        c = self.lfcc(wave)  # (B, 1, 60, frames)
        d1 = self.deltas(c)
        d2 = self.deltas(d1)
        grid = torch.cat([c, d1, d2], dim=2)  # (B, 1, 180, frames)
        return grid.transpose(2, 3).contiguous()  # (B, 1, frames, 180)


class Waveform(nn.Module):
    """Identity front-end for the raw-waveform model: ``(B, 1, samples)`` unchanged."""

    kind = "waveform"

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        _check_wave(wave)
        return wave


FRONT_ENDS: dict[str, type[nn.Module]] = {
    cls.kind: cls for cls in (Waveform, Mel64, Mel128x128, LfccGrid, MelSequence, Mel224)
}


def build_front_end(kind: str, cfg: FeatureConfig = DEFAULT) -> nn.Module:
    """The front-end module for an ``input_kind``; raises ``KeyError`` listing valid kinds."""
    if kind not in FRONT_ENDS:
        raise KeyError(f"unknown input kind {kind!r}; valid kinds: {sorted(FRONT_ENDS)}")
    cls = FRONT_ENDS[kind]
    return cls() if cls is Waveform else cls(cfg)


def time_grid(kind: str, n_samples: int, cfg: FeatureConfig = DEFAULT) -> tuple[float, float, int]:
    """Where a model input's time axis sits on the clip.

    Returns ``(start_s, step_s, steps)``: step ``i`` of the input's time axis is
    centred near ``start_s + i * step_s`` seconds of the clip. Padded steps of the
    128x128 input lie past the clip's end.
    """
    sr = cfg.sample_rate
    if kind == "waveform":
        return 0.0, 1.0 / sr, n_samples
    if kind in ("mel64", "mel_seq", "lfcc"):
        return 0.0, cfg.mel64_hop / sr, n_frames(n_samples, cfg.mel64_hop)
    if kind == "mel128x128":
        frames = n_frames(n_samples, cfg.mel128_hop)
        start = max(0, (frames - cfg.mel128_frames) // 2)
        return start * cfg.mel128_hop / sr, cfg.mel128_hop / sr, cfg.mel128_frames
    if kind == "mel224":
        # the bilinear resize spreads the clip's frames evenly over 224 columns
        duration = n_frames(n_samples, cfg.mel64_hop) * cfg.mel64_hop / sr
        return 0.0, duration / cfg.image_size, cfg.image_size
    raise KeyError(f"unknown input kind {kind!r}; valid kinds: {sorted(FRONT_ENDS)}")


# where a clip "sounds": 25 ms frames every 10 ms (the common timeline of the time curves). In a clip
# with pauses, a frame sounds when it is within SOUND_BELOW_PEAK_DB of the loudest frame and at least
# SOUND_ABOVE_FLOOR_DB above the clip's floor (its 10th-percentile frame), so the room between the
# words never counts; a clip without pauses (a song, a steady hiss) sounds wherever it is within
# SOUND_BELOW_PEAK_DB of its peak. Nothing below SOUND_MIN_DBFS ever sounds.
SOUND_BELOW_PEAK_DB = 40.0
SOUND_ABOVE_FLOOR_DB = 10.0
SOUND_MIN_DBFS = -65.0


def sounding(wave: torch.Tensor, cfg: FeatureConfig = DEFAULT) -> torch.Tensor:
    """Which 10 ms steps of each clip hold sound rather than pause or background.

    Args:
        wave: ``(B, 1, samples)`` or ``(1, samples)`` or ``(samples,)`` at 16 kHz.

    Returns:
        Bool ``(B, samples // 160 + 1)``: step ``j`` covers the 25 ms centred on
        ``j * 10 ms``, on the same grid as :func:`explainer.attribution.time_curve`.
        When the clip's floor (10th-percentile step) is at least 10 dB below its
        loudest step, the clip has pauses, and a step sounds when its RMS level is
        within 40 dB of the loudest and 10 dB or more above the floor. Otherwise the
        clip sounds throughout, and every step within 40 dB of the loudest sounds.
        Steps below -65 dBFS never sound, so digital silence and a quiet room do not.
    """
    w = torch.as_tensor(wave).detach().float()
    w = w.reshape(w.shape[0] if w.ndim == 3 else 1, -1)
    hop, win = cfg.mel64_hop, cfg.mel64_win
    padded = F.pad(w, (win // 2, win // 2 + hop))
    steps = w.shape[-1] // hop + 1
    frames = padded.unfold(-1, win, hop)[:, :steps]  # (B, steps, win)
    db = 10 * torch.log10(frames.pow(2).mean(-1) + 1e-12)
    peak = db.amax(dim=1, keepdim=True)
    floor = torch.quantile(db, 0.1, dim=1, keepdim=True)
    pauses = floor + SOUND_ABOVE_FLOOR_DB < peak
    threshold = torch.where(pauses, torch.maximum(peak - SOUND_BELOW_PEAK_DB, floor + SOUND_ABOVE_FLOOR_DB),
                            peak - SOUND_BELOW_PEAK_DB)
    return (db > threshold) & (db > SOUND_MIN_DBFS)


def has_pauses(sounding_share: float) -> bool:
    """Whether a clip with this share of sounding steps holds both sound and pauses worth the name:
    sound in at least 5 % of its steps and pauses in at least 10 %. Only such a clip has a room to
    measure from, and an "on the sound" share that means anything."""
    return 0.05 <= sounding_share <= 0.9


def representation_sizes(n_samples: int, cfg: FeatureConfig = DEFAULT) -> list[dict]:
    """Element counts and float32 bytes of each representation of a clip.

    Args:
        n_samples: length of the 16 kHz clip in samples.

    Returns:
        One dict per representation with ``name``, ``shape``, ``elements``, ``bytes``
        and ``vs_samples`` (elements relative to the raw samples).
    """
    frames10 = n_frames(n_samples, cfg.mel64_hop)
    rows = [
        ("raw samples", (1, n_samples)),
        ("log-mel, 64 bands", (1, cfg.mel64_n_mels, frames10)),
        ("log-mel 128x128", (1, cfg.mel128_n_mels, cfg.mel128_frames)),
        ("LFCC + delta + delta-delta grid", (1, n_frames(n_samples, cfg.lfcc_hop), 3 * cfg.lfcc_n_lfcc)),
        ("mel picture 3x224x224", (3, cfg.image_size, cfg.image_size)),
    ]
    out = []
    for name, shape in rows:
        elements = 1
        for d in shape:
            elements *= d
        out.append({
            "name": name, "shape": list(shape), "elements": elements, "bytes": 4 * elements,
            "vs_samples": elements / max(n_samples, 1),
        })
    return out


def _check_wave(wave: torch.Tensor) -> None:
    if wave.ndim != 3 or wave.shape[1] != 1:
        raise ValueError(f"expected a waveform shaped (B, 1, samples), got {tuple(wave.shape)}")
