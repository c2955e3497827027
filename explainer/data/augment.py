"""Per-clip augmentation: EQ, reverb, time shift, background noise and gain.

The order follows the physical chain: the source is coloured (EQ), played in a room
(reverb), starts a little late (shift), is picked up over the room's own noise
(background) and recorded at some level (gain). Silence is never augmented: its level is
its meaning, and an added noise bed or gain would turn it into the noise class.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

from .config import SAMPLE_RATE, AugmentConfig
from .synth import coloured_noise


def augment(x: np.ndarray, cls: str, rng: np.random.Generator, cfg: AugmentConfig,
            shift: bool = True) -> np.ndarray:
    """Augment one clip.

    Args:
        x: (samples,) float32 content at peak 1 (silence: at its final level).
        cls: the clip's class; ``"silence"`` is returned unchanged.
        rng: the clip's augmentation generator (separate from its content generator, so
            the content does not change when augmentation settings do).
        cfg: probabilities and ranges.
        shift: allow the time shift (off for sequence segments, whose edges are labels).

    Returns:
        (samples,) float32 with peak at a random level in ``cfg.peak_db``.
    """
    if cls == "silence":
        return x.astype(np.float32)
    # Draw every decision up front, so each clip uses the same number of draws.
    # Noise is stationary: a shift would only cut a hole of digital zeros into it, and a
    # noise bed under noise changes nothing.
    do_eq, do_reverb, do_shift, do_bg = rng.random(4) < (
        cfg.p_eq, cfg.p_reverb, cfg.p_shift if shift and cls != "noise" else 0.0,
        cfg.p_background if cls != "noise" else 0.0)
    y = x.astype(np.float64)
    if do_eq:
        y = random_eq(y, rng, cfg.eq_gain_db)
    if do_reverb:
        y = reverb(y, rng, rng.uniform(*cfg.reverb_rt60_s), rng.uniform(*cfg.reverb_wet))
    if do_shift:
        y = time_shift(y, int(rng.uniform(-cfg.max_shift_s, cfg.max_shift_s) * SAMPLE_RATE))
    if do_bg:
        y = add_background(y, rng, rng.uniform(*cfg.background_snr_db))
    return set_peak(y, rng.uniform(*cfg.peak_db))


def set_peak(x: np.ndarray, peak_db: float) -> np.ndarray:
    """Scale so the absolute peak is ``peak_db`` dBFS; all-zero input stays zero."""
    peak = float(np.max(np.abs(x))) if len(x) else 0.0
    if peak == 0.0:
        return x.astype(np.float32)
    return (x * (10 ** (peak_db / 20) / peak)).astype(np.float32)


def time_shift(x: np.ndarray, samples: int) -> np.ndarray:
    """Delay (positive) or advance (negative) by ``samples``, filling with zeros."""
    out = np.zeros_like(x)
    if samples >= 0:
        out[samples:] = x[:len(x) - samples]
    else:
        out[:samples] = x[-samples:]
    return out


def reverb(x: np.ndarray, rng: np.random.Generator, rt60: float, wet: float) -> np.ndarray:
    """Convolve with a synthetic room: noise under an exponential decay of ``rt60`` seconds.

    The tail beyond the clip is cut, as a recording of a longer sound would cut it.
    """
    length = int(min(rt60, 1.2) * SAMPLE_RATE)
    t = np.arange(length) / SAMPLE_RATE
    # -60 dB at rt60: amplitude exp(-6.91 t / rt60).
    ir = rng.standard_normal(length) * np.exp(-6.91 * t / rt60)
    # Rooms absorb highs faster than lows: a gentle low-pass darkens the tail.
    ir = signal.sosfilt(signal.butter(1, rng.uniform(2000, 7000), fs=SAMPLE_RATE, output="sos"), ir)
    ir /= np.sqrt(np.sum(ir ** 2)) + 1e-12
    tail = signal.fftconvolve(x, ir)[:len(x)]
    return (1 - wet) * x + wet * tail * (np.std(x) / (np.std(tail) + 1e-12))


def random_eq(x: np.ndarray, rng: np.random.Generator, gain_db: tuple[float, float]) -> np.ndarray:
    """One random filter: a low or high shelf, a peak (RBJ biquads) or a phone band-pass."""
    kind = int(rng.integers(4))
    if kind == 3:
        lo, hi = rng.uniform(200, 500), rng.uniform(3000, 4000)
        sos = signal.butter(2, [lo, hi], btype="bandpass", fs=SAMPLE_RATE, output="sos")
        return signal.sosfilt(sos, x)
    b, a = biquad(("lowshelf", "highshelf", "peak")[kind],
                  rng.uniform(150, 400) if kind == 0 else rng.uniform(2000, 6000) if kind == 1
                  else float(np.exp(rng.uniform(np.log(200), np.log(5000)))),
                  rng.uniform(*gain_db), q=rng.uniform(0.5, 2.0))
    return signal.lfilter(b, a, x)


def biquad(kind: str, f0: float, gain_db: float, q: float = 0.707) -> tuple[np.ndarray, np.ndarray]:
    """RBJ Audio-EQ-Cookbook coefficients for a low shelf, high shelf or peaking filter.

    Returns:
        (b, a), each (3,), normalised so ``a[0] == 1``.
    """
    A = 10 ** (gain_db / 40)
    w0 = 2 * np.pi * f0 / SAMPLE_RATE
    cos, alpha = np.cos(w0), np.sin(w0) / (2 * q)
    if kind == "peak":
        b = [1 + alpha * A, -2 * cos, 1 - alpha * A]
        a = [1 + alpha / A, -2 * cos, 1 - alpha / A]
    else:
        s = 1 if kind == "lowshelf" else -1
        sq = 2 * np.sqrt(A) * alpha
        b = [A * ((A + 1) - s * (A - 1) * cos + sq), s * 2 * A * ((A - 1) - s * (A + 1) * cos),
             A * ((A + 1) - s * (A - 1) * cos - sq)]
        a = [(A + 1) + s * (A - 1) * cos + sq, -s * 2 * ((A - 1) + s * (A + 1) * cos),
             (A + 1) + s * (A - 1) * cos - sq]
    b, a = np.asarray(b), np.asarray(a)
    return b / a[0], a / a[0]


def add_background(x: np.ndarray, rng: np.random.Generator, snr_db: float) -> np.ndarray:
    """Mix coloured noise (white to brown) at ``snr_db`` below the clip's active level."""
    active = x[np.abs(x) > 0.05 * (np.max(np.abs(x)) + 1e-12)]
    level = np.sqrt(np.mean(active ** 2)) if len(active) else 0.0
    bed = coloured_noise(rng, len(x), rng.uniform(0.0, 2.0))
    return x + bed * level * 10 ** (-snr_db / 20)
