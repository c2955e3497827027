"""Differentiable audio front-ends built on ``torchaudio.transforms``.

Every model in :mod:`explainer.models` owns one of these modules as its
``front_end``. Each maps a batch of 16 kHz mono waveforms ``(B, 1, samples)``
to the exact tensor its network expects, and keeps the dB step and any
per-clip normalisation outside the network that attributions explain.
"""

from __future__ import annotations

import functools
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


class FrontEnd(nn.Module):
    """Base of every front-end: the one home of the facts about its input kind.

    Attribution, the trust checks, the layer trace, the listening view and the
    figures read these class attributes instead of testing a kind's name:

    - ``kind``: the name models declare as their ``input_kind``;
    - ``title``: what the representation is called in figures and tables;
    - ``ndim``: axes of one input, without the batch axis;
    - ``time_axis``: the time axis of a batched input (or map);
    - ``channel_axis``: the axis of a batched input whose entries form one cell
      (the R, G, B slots of a picture, or a 1-long channel), or ``None`` when every
      entry is its own cell;
    - ``occlusion``: the occlusion ``(window, stride)`` over one input;
    - ``ig_batch``: path points per internal batch of Integrated Gradients: the
      fastest of 1-32 for one 10 s clip on 2 cores (``python -m explainer bench``);
      small inputs gain from batching, and large activations outgrow the caches;
    - ``channels_last``: whether inference runs faster in channels-last memory (measured);
    - ``curve_segment``: input time steps that the deletion curves remove together (10 ms);
    - ``shares``: the kind whose tensor this one is a view of, computed once for both;
    - ``names_frequencies``: whether a cell of the input belongs to one band of frequencies
      (a spectrogram) rather than to every frequency at once (raw samples, cepstra);
    - ``room_reference``: whether the clip's own room can serve as the reference, held still
      over time (raw samples cannot be held still: their reference stays digital silence).

    ``time_grid`` says where each input step sits on the clip, ``span_ms`` how much
    audio one step covers, and ``reference`` what "nothing here" looks like.
    """

    kind: str = ""
    title: str = ""
    ndim: int = 0
    time_axis: int = -1
    channel_axis: int | None = 1
    occlusion: tuple[tuple[int, ...], tuple[int, ...]] = ((), ())
    ig_batch: int | None = None
    channels_last: bool = False
    curve_segment: int = 1
    shares: str | None = None
    names_frequencies: bool = False
    room_reference: bool = True

    @classmethod
    def time_grid(cls, n_samples: int, cfg: FeatureConfig = DEFAULT) -> tuple[float, float, int]:
        """``(start_s, step_s, steps)`` of the input's time axis (see :func:`time_grid`)."""
        return 0.0, cfg.mel64_hop / cfg.sample_rate, n_frames(n_samples, cfg.mel64_hop)

    @classmethod
    def span_ms(cls, n_samples: int, cfg: FeatureConfig = DEFAULT) -> tuple[float, float]:
        """``(step_ms, window_ms)``: time between input steps, and the audio one step covers."""
        return 1000 * cls.time_grid(n_samples, cfg)[1], 1000 * cfg.mel64_win / cfg.sample_rate

    @classmethod
    def reference(cls, x: torch.Tensor) -> torch.Tensor:
        """The plain "nothing here" input shaped like the batch ``x``: each item's quietest cell."""
        x = x.detach()
        floor = x.flatten(1).amin(dim=1).view(-1, *[1] * (x.ndim - 1))
        return floor.expand_as(x).contiguous()

    @classmethod
    def hold_still(cls, x: torch.Tensor) -> torch.Tensor:
        """``x`` as a sound that does not change would give it, in place (only the LFCC grid has
        parts that measure change: its deltas)."""
        return x

    @classmethod
    def mel_bands(cls, a: torch.Tensor, n_samples: int, cfg: FeatureConfig = DEFAULT) -> tuple[torch.Tensor, int] | None:
        """A map of this input (``|attr|``, batch of 1 or none) on mel bands and 10 ms frames.

        Returns ``(map (n_mels, n_samples // 160 + 1), n_fft)``, where ``n_fft`` is the FFT
        size of the mel filterbank behind the bands; ``None`` for inputs without a frequency
        axis (raw samples, cepstral coefficients).
        """
        return None

    @classmethod
    def from_shared(cls, x: torch.Tensor) -> torch.Tensor:
        """This kind's input from the input of the kind it ``shares``."""
        return x

    @classmethod
    def to_shared(cls, x: torch.Tensor) -> torch.Tensor:
        """The input of the kind it ``shares``, from this kind's input."""
        return x


class LogMel(FrontEnd):
    """Waveform ``(B, 1, samples)`` -> scaled log-mel ``(B, 1, n_mels, frames)``."""

    ndim = 3
    time_axis = 3
    names_frequencies = True

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
    title = "log-mel, 64 bands"
    occlusion = ((1, 16, 10), (1, 16, 10))  # 16 mel bands x 100 ms tiles
    ig_batch = 4
    channels_last = True

    @classmethod
    def mel_bands(cls, a: torch.Tensor, n_samples: int, cfg: FeatureConfig = DEFAULT) -> tuple[torch.Tensor, int]:
        frames = n_frames(n_samples, cfg.mel64_hop)
        if a.numel() != cfg.mel64_n_mels * frames:
            raise ValueError(f"a {cls.kind} map of a {n_samples}-sample clip needs {frames} frames, got {tuple(a.shape)}")
        return a.reshape(cfg.mel64_n_mels, frames), cfg.mel64_n_fft  # batch and channel axes are 1

    def __init__(self, cfg: FeatureConfig = DEFAULT):
        super().__init__(cfg.mel64_n_fft, cfg.mel64_win, cfg.mel64_hop, cfg.mel64_n_mels, cfg)


class MelSequence(Mel64):
    """The 64-band log-mel as a sequence of vectors: ``(B, 1, samples)`` -> ``(B, 64, frames)``."""

    kind = "mel_seq"
    title = "log-mel, 64 bands, as a sequence"
    ndim = 2
    time_axis = 2
    channel_axis = None  # (B, 64, T): axis 1 is mel bands, each its own cell
    occlusion = ((16, 10), (16, 10))  # the same tiles as mel64: both read one log-mel
    ig_batch = 16
    channels_last = False
    shares = "mel64"

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        return super().forward(wave).squeeze(1)

    @classmethod
    def from_shared(cls, x: torch.Tensor) -> torch.Tensor:
        return x.squeeze(1)

    @classmethod
    def to_shared(cls, x: torch.Tensor) -> torch.Tensor:
        return x.unsqueeze(1)


class Mel128x128(LogMel):
    """The beginner notebook's input: ``(B, 1, samples)`` -> ``(B, 1, 128, 128)`` in [0, 1].

    Steps: power log-mel in dB (floored 80 dB below the clip's loudest cell), centre
    crop or right-pad with the clip's minimum to 128 frames, then min-max scaling
    from the fixed range ``mel128_db_min``..``mel128_db_max`` onto 0..1.
    """

    kind = "mel128x128"
    title = "log-mel 128x128"
    occlusion = ((1, 16, 12), (1, 16, 12))  # 16 mel bands x 384 ms (12 frames of 32 ms)
    ig_batch = 8
    channels_last = True

    def __init__(self, cfg: FeatureConfig = DEFAULT):
        super().__init__(cfg.mel128_n_fft, cfg.mel128_n_fft, cfg.mel128_hop, cfg.mel128_n_mels, cfg)
        self.width = cfg.mel128_frames

    @classmethod
    def time_grid(cls, n_samples: int, cfg: FeatureConfig = DEFAULT) -> tuple[float, float, int]:
        start = cls.crop_offset_of(n_frames(n_samples, cfg.mel128_hop), cfg)
        return start * cfg.mel128_hop / cfg.sample_rate, cfg.mel128_hop / cfg.sample_rate, cfg.mel128_frames

    @classmethod
    def span_ms(cls, n_samples: int, cfg: FeatureConfig = DEFAULT) -> tuple[float, float]:
        return 1000 * cfg.mel128_hop / cfg.sample_rate, 1000 * cfg.mel128_n_fft / cfg.sample_rate

    @classmethod
    def mel_bands(cls, a: torch.Tensor, n_samples: int, cfg: FeatureConfig = DEFAULT) -> tuple[torch.Tensor, int]:
        # each 10 ms frame takes the nearest 32 ms column; padding and the unseen ends of a long clip are zero
        mel = a.reshape(cfg.mel128_n_mels, cfg.mel128_frames)
        return steps_to_frames(mel, cls.kind, n_samples, cfg), cfg.mel128_n_fft

    def crop_offset(self, frames: int) -> int:
        """First frame kept by the centre crop (0 when the clip is padded)."""
        return self.crop_offset_of(frames, self.cfg)

    @staticmethod
    def crop_offset_of(frames: int, cfg: FeatureConfig = DEFAULT) -> int:
        """First of ``frames`` that the centre crop keeps with these settings (0 when the clip is padded)."""
        return max(0, (frames - cfg.mel128_frames) // 2)

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
    title = "mel picture 3x224x224"
    occlusion = ((3, 32, 32), (3, 32, 32))  # 2x2 ViT patches, all three (identical) channels at once
    ig_batch = 32

    def __init__(self, cfg: FeatureConfig = DEFAULT):
        super().__init__(cfg.mel224_n_fft, cfg.mel64_win, cfg.mel64_hop, cfg.mel224_n_mels, cfg)
        self.size = cfg.image_size

    @classmethod
    def time_grid(cls, n_samples: int, cfg: FeatureConfig = DEFAULT) -> tuple[float, float, int]:
        # the bilinear resize spreads the clip's frames evenly over image_size columns
        duration = n_frames(n_samples, cfg.mel64_hop) * cfg.mel64_hop / cfg.sample_rate
        return 0.0, duration / cfg.image_size, cfg.image_size

    @classmethod
    def mel_bands(cls, a: torch.Tensor, n_samples: int, cfg: FeatureConfig = DEFAULT) -> tuple[torch.Tensor, int]:
        # undo the picture step: the mean of the three identical channels, resized back to the bands and frames
        pic = a.reshape(-1, cfg.image_size, cfg.image_size).mean(dim=0)
        size = (cfg.mel224_n_mels, n_frames(n_samples, cfg.mel64_hop))
        return F.interpolate(pic[None, None], size=size, mode="bilinear", align_corners=False)[0, 0].clamp_min(0.0), \
            cfg.mel224_n_fft

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        s = super().forward(wave)  # (B, 1, 128, frames)
        s = F.interpolate(s, size=(self.size, self.size), mode="bilinear", align_corners=False)
        return s.expand(-1, 3, -1, -1).contiguous()  # the same picture in the R, G and B slots


class LfccGrid(FrontEnd):
    """LFCC + delta + delta-delta grid: ``(B, 1, samples)`` -> ``(B, 1, frames, 180)``.

    Rows are 10 ms frames; columns 0-59 are LFCCs, 60-119 their deltas and
    120-179 the delta-deltas. 3.2 s at 16 kHz gives 321 rows.
    """

    kind = "lfcc"
    title = "LFCC + delta + delta-delta grid"
    ndim = 3
    time_axis = 2
    occlusion = ((1, 16, 60), (1, 16, 60))  # 160 ms x one block (LFCC, delta or delta-delta): the model is costly
    ig_batch = 1
    channels_last = True

    @classmethod
    def reference(cls, x: torch.Tensor) -> torch.Tensor:
        """The clip's quietest frame (lowest c0) held for the whole clip, with its deltas at zero:
        LFCC columns are cepstral coefficients, and one scalar minimum would be far outside
        anything the model saw."""
        x = x.detach()
        if x.ndim != 4:
            raise ValueError(f"expected an LFCC grid (B, 1, frames, 180), got {tuple(x.shape)}")
        quiet = x[..., 0].argmin(dim=2)  # (B, 1) frame with the least energy
        frame = torch.gather(x, 2, quiet[..., None, None].expand(-1, -1, 1, x.shape[3])).clone()  # (B, 1, 1, 180)
        return cls.hold_still(frame).expand_as(x).contiguous()

    @classmethod
    def hold_still(cls, x: torch.Tensor) -> torch.Tensor:
        x[..., DEFAULT.lfcc_n_lfcc:] = 0.0  # a steady sound has no delta
        return x

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


class Waveform(FrontEnd):
    """Identity front-end for the raw-waveform model: ``(B, 1, samples)`` unchanged."""

    kind = "waveform"
    title = "raw samples"
    ndim = 2
    time_axis = 2
    occlusion = ((1, 1600), (1, 800))  # 100 ms spans, half overlapping
    ig_batch = 4
    room_reference = False
    curve_segment = DEFAULT.sample_rate // 100  # 160 samples: 10 ms, like one spectrogram column

    @classmethod
    def time_grid(cls, n_samples: int, cfg: FeatureConfig = DEFAULT) -> tuple[float, float, int]:
        return 0.0, 1.0 / cfg.sample_rate, n_samples

    @classmethod
    def span_ms(cls, n_samples: int, cfg: FeatureConfig = DEFAULT) -> tuple[float, float]:
        return 1000 / cfg.sample_rate, 1000 / cfg.sample_rate

    @classmethod
    def reference(cls, x: torch.Tensor) -> torch.Tensor:
        """Digital silence."""
        return torch.zeros_like(x.detach())

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        _check_wave(wave)
        return wave


FRONT_ENDS: dict[str, type[FrontEnd]] = {
    cls.kind: cls for cls in (Waveform, Mel64, Mel128x128, LfccGrid, MelSequence, Mel224)
}


def front_end_class(kind: str) -> type[FrontEnd]:
    """The front-end class of an ``input_kind``, with its facts; raises ``KeyError`` listing valid kinds."""
    if kind not in FRONT_ENDS:
        raise KeyError(f"unknown input kind {kind!r}; valid kinds: {sorted(FRONT_ENDS)}")
    return FRONT_ENDS[kind]


def build_front_end(kind: str, cfg: FeatureConfig = DEFAULT) -> nn.Module:
    """The front-end module for an ``input_kind``; raises ``KeyError`` listing valid kinds."""
    cls = front_end_class(kind)
    return cls() if cls is Waveform else cls(cfg)


def time_grid(kind: str, n_samples: int, cfg: FeatureConfig = DEFAULT) -> tuple[float, float, int]:
    """Where a model input's time axis sits on the clip.

    Returns ``(start_s, step_s, steps)``: step ``i`` of the input's time axis is
    centred near ``start_s + i * step_s`` seconds of the clip. Padded steps of the
    128x128 input lie past the clip's end.
    """
    return front_end_class(kind).time_grid(n_samples, cfg)


def stft_db(wave, cfg: FeatureConfig = DEFAULT) -> torch.Tensor:
    """Magnitude STFT in dB, ``(n_fft // 2 + 1, frames)``, with the 64-band log-mel's settings (25 ms
    Hann window, 10 ms hop, 512-point FFT): the linear spectrogram the mel bands are made from."""
    w = torch.nan_to_num(torch.as_tensor(wave).detach().float().reshape(-1))
    spec = torch.stft(w, n_fft=cfg.mel64_n_fft, hop_length=cfg.mel64_hop, win_length=cfg.mel64_win,
                      window=torch.hann_window(cfg.mel64_win), center=True, return_complex=True).abs()
    return 20 * torch.log10(spec.clamp_min(1e-5))


def steps_to_frames(a: torch.Tensor, kind: str, n_samples: int, cfg: FeatureConfig = DEFAULT) -> torch.Tensor:
    """``(rows, steps)`` on an input's time axis -> ``(rows, n_samples // 160 + 1)`` on 10 ms frames.

    Each frame takes the nearest step, placed by :func:`time_grid`; frames outside the
    input (the unseen ends of a cropped clip) and padded steps past the clip's end are zero.
    """
    start, step, steps = time_grid(kind, n_samples, cfg)
    hop_s = cfg.mel64_hop / cfg.sample_rate
    t = torch.arange(n_frames(n_samples, cfg.mel64_hop), dtype=torch.float64) * hop_s
    idx = torch.round((t - start) / step).long()
    inside = (idx >= 0) & (idx < steps)
    idx = idx.clamp(0, steps - 1)
    real = (start + step * idx.double()) <= n_samples / cfg.sample_rate + 1e-9
    return a[:, idx] * (inside & real).to(a.dtype)


# where a clip "sounds": 25 ms frames every 10 ms (the common timeline of the time curves). In a clip
# with pauses, a frame sounds when it is within SOUND_BELOW_PEAK_DB of the loudest frame and at least
# SOUND_ABOVE_FLOOR_DB above the clip's floor (its 10th-percentile frame), so the room between the
# words never counts; a clip without pauses (a song, a steady hiss) sounds wherever it is within
# SOUND_BELOW_PEAK_DB of its peak. Nothing below SOUND_MIN_DBFS ever sounds.
SOUND_BELOW_PEAK_DB = 40.0
SOUND_ABOVE_FLOOR_DB = 10.0
SOUND_MIN_DBFS = -65.0
# A word in a loud room (a fan or a hum at 5-10 dB SNR) barely lifts the clip's overall level, but it
# rises far above the room in the bands where it has its energy. So a step also sounds when at least
# SOUND_BANDS of the 64 mel bands (their power smoothed over SOUND_BAND_SMOOTH steps) stand
# SOUND_BAND_RISE_DB above that band's own floor (its SOUND_BAND_FLOOR quantile over the clip).
SOUND_BANDS = 4
SOUND_BAND_RISE_DB = 12.0
SOUND_BAND_SMOOTH = 5
SOUND_BAND_FLOOR = 0.2


@functools.lru_cache(maxsize=4)
def _band_power(cfg: FeatureConfig) -> T.MelSpectrogram:
    """The band rule's 64-band mel power, 50 Hz to Nyquist, on :func:`sounding`'s 10 ms grid (zero padding,
    as the level rule's frames have)."""
    return T.MelSpectrogram(
        sample_rate=cfg.sample_rate, n_fft=cfg.mel64_n_fft, win_length=cfg.mel64_win, hop_length=cfg.mel64_hop,
        n_mels=cfg.mel64_n_mels, f_min=50.0, f_max=cfg.sample_rate / 2, power=2.0, norm="slaney",
        mel_scale="slaney", pad_mode="constant",
    )


def _bands_rise(w: torch.Tensor, cfg: FeatureConfig) -> torch.Tensor:
    """Whether enough mel bands of each step stand clear of their own floor (the band rule): ``(B, steps)``."""
    power = F.avg_pool1d(_band_power(cfg)(w), SOUND_BAND_SMOOTH, 1, SOUND_BAND_SMOOTH // 2,
                         count_include_pad=False)  # (B, bands, steps)
    db = 10 * torch.log10(power + 1e-12)
    floor = torch.quantile(db, SOUND_BAND_FLOOR, dim=2, keepdim=True)
    return ((db - floor) >= SOUND_BAND_RISE_DB).sum(dim=1) >= SOUND_BANDS


def sounding(wave: torch.Tensor, cfg: FeatureConfig = DEFAULT, bands: bool = True) -> torch.Tensor:
    """Which 10 ms steps of each clip hold sound rather than pause or background.

    Args:
        wave: ``(B, 1, samples)`` or ``(1, samples)`` or ``(samples,)`` at 16 kHz.
        bands: also apply the band rule (below). The training crops and the data generator use
            the level rule alone (``False``): the shipped data and set were made with it.

    Returns:
        Bool ``(B, samples // 160 + 1)``: step ``j`` covers the 25 ms centred on
        ``j * 10 ms``, on the same grid as :func:`explainer.attribution.time_curve`.
        The level rule: when the clip's floor (10th-percentile step) is at least 10 dB
        below its loudest step, the clip has pauses, and a step sounds when its RMS level
        is within 40 dB of the loudest and 10 dB or more above the floor. Otherwise the
        clip sounds throughout, and every step within 40 dB of the loudest sounds.
        The band rule adds the steps where at least 4 of the 64 mel bands, smoothed over
        50 ms, stand 12 dB above their own floor (the band's 20th percentile): it finds a
        word in a loud fan or hum, which barely lifts the overall level. It too keeps to
        40 dB of the loudest step. Steps below -65 dBFS never sound, so digital silence
        and a quiet room do not.
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
    sounds = db > threshold
    if bands:
        sounds = sounds | (_bands_rise(w, cfg) & (db > peak - SOUND_BELOW_PEAK_DB))
    return sounds & (db > SOUND_MIN_DBFS)


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
