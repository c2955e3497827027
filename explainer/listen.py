"""Hear the explanation: the clip resynthesised from its most-attributed cells.

The clip's STFT (512-point Hann window, 10 ms hop) gets a mask that keeps the
``keep`` fraction of time-frequency cells the attribution ranks highest; the
masked magnitudes go back through the inverse STFT with the clip's own phase.

How an attribution names STFT cells depends on the model input; each front-end
says it (:meth:`explainer.features.FrontEnd.mel_bands`):

- ``mel64``, ``mel_seq``: each linear bin takes the filter-weighted mean of the
  mel bands that cover it (the transpose of the mel filterbank, rows normalised);
  frames are already the STFT's 10 ms frames.
- ``mel128x128``: the same through the 128-band filterbank (n_fft 1024, every
  other bin, which are exactly the 512-point bins); each 10 ms frame takes the
  nearest 32 ms column (:func:`explainer.features.steps_to_frames`: crop offset
  honoured, right-padding and unseen parts of long clips count as zero).
- ``mel224``: the picture (mean of its three identical channels) is resized
  bilinearly back to 128 mel bands x 10 ms frames, then as ``mel128x128``.
- ``waveform``, ``lfcc``: nothing in the map names a frequency (LFCC columns are
  cepstral coefficients and their deltas), so the ranking is over 10 ms frames,
  from :func:`explainer.attribution.time_curve`, and kept frames keep every bin.

Every ranking uses ``|attr|``, as the time curves and the deletion check do.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F
import torchaudio.functional as AF

from .attribution import time_curve
from .features import DEFAULT, SAMPLE_RATE, front_end_class

N_FFT = 512  # 32 ms Hann window: fine enough in time for speech, 31.25 Hz bins
HOP = 160  # 10 ms, the common timeline of every time curve
SMOOTH = (3, 3)  # (bins, frames) box that fades the binary mask's edges in, so it does not crackle


@dataclass
class Resynthesis:
    """The clip played through the attribution's mask."""

    audio: np.ndarray  # (T,) float32, same length as the clip, peak <= 1
    sample_rate: int  # always 16000
    kept_fraction: float  # share of STFT cells the binary mask kept (before smoothing)
    energy_kept: float  # share of the clip's STFT energy that passes the smoothed mask
    mask: np.ndarray  # (257, frames) float32 smoothed mask in [0, 1], for drawing

    def to_gradio(self) -> tuple[int, np.ndarray]:
        """``(sample_rate, audio)`` as ``gr.Audio`` takes it."""
        return self.sample_rate, self.audio


@lru_cache(maxsize=4)
def _mel_to_bins(n_mels: int, n_fft: int) -> torch.Tensor:
    """``(257, n_mels)``: weight of each mel band in each 512-point STFT bin, rows summing to 1."""
    cfg = DEFAULT
    fb = AF.melscale_fbanks(
        n_freqs=n_fft // 2 + 1, f_min=0.0, f_max=cfg.sample_rate / 2, n_mels=n_mels,
        sample_rate=cfg.sample_rate, norm="slaney", mel_scale="slaney",
    )  # (n_fft/2 + 1, n_mels), the front-end's own filterbank
    fb = fb[:: n_fft // N_FFT]  # bins of a longer FFT that sit exactly on the 512-point bins
    return fb / fb.sum(dim=1, keepdim=True).clamp_min(1e-12)


def importance_map(attr, kind: str, n_samples: int) -> torch.Tensor:
    """How much the attribution values each STFT cell: ``(257, n_samples // 160 + 1)``, >= 0.

    Returns a map with one row (broadcast later) for kinds without a frequency axis.
    """
    a = torch.as_tensor(np.asarray(attr) if not isinstance(attr, torch.Tensor) else attr).detach().float().cpu()
    a = torch.nan_to_num(a, nan=0.0, posinf=0.0, neginf=0.0).abs()
    fe = front_end_class(kind)
    bands = fe.mel_bands(a, n_samples) if fe.names_frequencies else None
    if bands is None:
        return torch.from_numpy(time_curve(a, kind, n_samples)).float()[None]  # (1, frames)
    mel, n_fft = bands
    return _mel_to_bins(mel.shape[0], n_fft) @ mel


def _top_mask(importance: torch.Tensor, keep: float) -> torch.Tensor:
    """Binary mask of the ``keep`` fraction of highest cells; zero-importance cells are never kept."""
    if keep >= 1.0:
        return torch.ones_like(importance)
    flat = importance.flatten()
    k = round(keep * flat.numel())
    mask = torch.zeros_like(flat)
    if k > 0:
        top = torch.argsort(flat, descending=True, stable=True)[:k]
        mask[top] = (flat[top] > 0).to(mask.dtype)
    return mask.view_as(importance)


def resynthesize(
    waveform: torch.Tensor, attr, kind: str, keep: float = 0.2, n_samples: int | None = None,
) -> Resynthesis:
    """Play only the part of the clip that the attribution points at.

    Args:
        waveform: the 16 kHz clip, ``(1, T)`` (``(T,)`` and ``(1, 1, T)`` also accepted).
        attr: its attribution, shaped like the model input (batch of 1 or none).
        kind: the model's ``input_kind``.
        keep: fraction of STFT cells (or of 10 ms frames, for ``waveform`` and
            ``lfcc``) to keep; 1 keeps everything, 0 nothing.
        n_samples: length of the clip the model saw (defaults to ``T``).

    Returns:
        A :class:`Resynthesis`; its ``audio`` is ``(T,)`` float32, finite, with the
        clip's own phase, scaled down only if the masking pushed a peak above 1.
    """
    wave = torch.as_tensor(waveform).detach().float().cpu().reshape(-1)
    wave = torch.nan_to_num(wave)
    length = wave.numel()
    n_samples = length if n_samples is None else int(n_samples)
    keep = float(min(max(keep, 0.0), 1.0))
    window = torch.hann_window(N_FFT)
    spec = torch.stft(wave, N_FFT, hop_length=HOP, win_length=N_FFT, window=window, center=True, return_complex=True)
    bins, frames = spec.shape  # (257, T // 160 + 1)
    importance = importance_map(attr, kind, n_samples)
    if importance.shape[1] != frames:  # n_samples differs from the waveform: stretch onto its frames
        importance = F.interpolate(importance[None], size=frames, mode="nearest")[0]
    if importance.shape[0] == 1:
        mask = _top_mask(importance, keep).expand(bins, frames)  # whole frames, every frequency
    else:
        mask = _top_mask(importance, keep)
    kept = float(mask.mean())
    pad = (SMOOTH[0] // 2, SMOOTH[1] // 2)
    soft = F.avg_pool2d(mask[None, None], SMOOTH, stride=1, padding=pad, count_include_pad=False)[0, 0]
    soft = torch.maximum(soft, mask)  # kept cells pass whole; only their unkept neighbours are faded in
    masked = spec * soft
    audio = torch.istft(masked, N_FFT, hop_length=HOP, win_length=N_FFT, window=window, center=True, length=length)
    audio = torch.nan_to_num(audio)
    peak = float(audio.abs().max()) if length else 0.0
    if peak > 1.0:
        audio = audio / peak
    energy = float(spec.abs().pow(2).sum())
    energy_kept = float(masked.abs().pow(2).sum()) / energy if energy > 0 else 0.0
    return Resynthesis(
        audio=audio.numpy().astype(np.float32), sample_rate=SAMPLE_RATE, kept_fraction=kept,
        energy_kept=energy_kept, mask=soft.numpy().astype(np.float32),
    )
