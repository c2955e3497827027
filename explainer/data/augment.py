"""Per-clip augmentation: sound as a browser microphone records it.

The order follows the physical chain: the source is coloured (EQ), played in a room
(reverb), starts a little late (shift), is picked up over the room's own noise
(background) by a microphone with its own band (mic), levelled by the browser's
automatic gain control (AGC), recorded at some level (gain) and compressed by the
browser's codec (Opus in WebM, or MP3). Silence is never augmented: its level is its
meaning, and an added noise bed or gain would turn it into the noise class.
"""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import torch
import torchaudio.functional as AF
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
    do_eq, do_reverb, do_shift, do_bg, do_mic, do_agc, do_codec = rng.random(7) < (
        cfg.p_eq, cfg.p_reverb, cfg.p_shift if shift and cls != "noise" else 0.0,
        cfg.p_background if cls != "noise" else 0.0, cfg.p_mic, cfg.p_agc, cfg.p_codec)
    y = x.astype(np.float64)
    if do_eq:
        y = random_eq(y, rng, cfg.eq_gain_db)
    if do_reverb:
        y = reverb(y, rng, rng.uniform(*cfg.reverb_rt60_s), rng.uniform(*cfg.reverb_wet))
    if do_shift:
        y = time_shift(y, int(rng.uniform(-cfg.max_shift_s, cfg.max_shift_s) * SAMPLE_RATE))
    # A microphone always hears something: without a background bed a faint floor still
    # fills the pauses, so that only the silence class ever holds digital zeros.
    y = add_background(y, rng, rng.uniform(*cfg.background_snr_db) if do_bg else rng.uniform(45.0, 65.0))
    if do_mic:
        y = microphone(y, rng)
    if do_agc:
        y = agc(y, rng, cfg.agc_noise_room_db)
    peak_db = rng.uniform(*cfg.peak_db)
    y = set_peak(y, peak_db)
    if do_codec:
        y = set_peak(codec_round_trip(y, rng, cfg), peak_db)
    return y


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
    # Early reflections from walls, desk and ceiling: a few sparse echoes whose spread grows
    # with the room (a small office ~rt60 0.2 s: within 15 ms; a hall: within 60 ms).
    spread = int(min(0.06, 0.015 + 0.04 * rt60) * SAMPLE_RATE)
    taps = rng.integers(SAMPLE_RATE // 1000, spread, int(rng.integers(3, 9)))
    ir[taps] += rng.uniform(0.3, 1.0, len(taps)) * np.sign(rng.standard_normal(len(taps))) \
        * np.abs(ir).max() * 3
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
    f0 = rng.uniform(150, 400) if kind == 0 else rng.uniform(2000, 6000) if kind == 1 \
        else float(np.exp(rng.uniform(np.log(200), np.log(5000))))
    gain, q = rng.uniform(*gain_db), rng.uniform(0.5, 2.0)
    if kind == 0:  # SoX's "bass" is the cookbook's low shelf, its "treble" the high shelf
        return _biquad(AF.bass_biquad, x, gain, f0, q)
    if kind == 1:
        return _biquad(AF.treble_biquad, x, gain, f0, q)
    return _biquad(AF.equalizer_biquad, x, f0, gain, q)


def _biquad(design, x: np.ndarray, *args: float) -> np.ndarray:
    """Filter float64 ``x`` with a torchaudio biquad, ``design(waveform, SAMPLE_RATE, *args)``.

    torchaudio clamps a filter's output to [-1, 1], which would clip a boosted clip at
    full scale. The filter is linear, so the clip goes through 60 dB below its peak, by a
    power of two (exact in floating point), and is scaled back.
    """
    peak = float(np.max(np.abs(x))) if len(x) else 0.0
    scale = 2.0 ** (10 + int(np.ceil(np.log2(peak)))) if peak > 0 else 1.0
    return design(torch.from_numpy(x / scale), SAMPLE_RATE, *args).numpy() * scale


def add_background(x: np.ndarray, rng: np.random.Generator, snr_db: float) -> np.ndarray:
    """Mix a room's background at ``snr_db`` below the clip's active level.

    The bed is coloured noise (white to brown, a fan or a street), sometimes with the
    slow swell of ventilation or a mains hum under it.
    """
    active = x[np.abs(x) > 0.05 * (np.max(np.abs(x)) + 1e-12)]
    level = np.sqrt(np.mean(active ** 2)) if len(active) else 0.0
    bed = coloured_noise(rng, len(x), rng.uniform(0.0, 2.0))
    kind = rng.random()
    if kind < 0.25:  # ventilation: the bed swells and falls over a few seconds
        t = np.arange(len(x)) / SAMPLE_RATE
        bed = bed * (1 + 0.5 * np.sin(2 * np.pi * rng.uniform(0.1, 0.5) * t + rng.uniform(0, 6.3)))
    elif kind < 0.45:  # mains hum and its harmonics from a laptop charger
        t = np.arange(len(x)) / SAMPLE_RATE
        f0 = 50.0 if rng.random() < 0.5 else 60.0
        hum = sum(rng.uniform(0.2, 1.0) / k * np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 6.3))
                  for k in range(1, 6))
        bed = bed + hum / (np.std(hum) + 1e-12) * rng.uniform(0.3, 1.0)
    bed = bed / (np.std(bed) + 1e-12)
    return x + bed * level * 10 ** (-snr_db / 20)


def microphone(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A cheap microphone's band: low cut at 60-300 Hz, high cut at 3.5-7.5 kHz, and a
    presence peak of -3..+8 dB between 2 and 5 kHz (laptop and headset capsules)."""
    lo = signal.butter(2, rng.uniform(60, 300), btype="highpass", fs=SAMPLE_RATE, output="sos")
    hi = signal.butter(int(rng.integers(2, 5)), rng.uniform(3500, 7500), btype="lowpass",
                       fs=SAMPLE_RATE, output="sos")
    y = signal.sosfilt(hi, signal.sosfilt(lo, x))
    f0, gain, q = rng.uniform(2000, 5000), rng.uniform(-3.0, 8.0), rng.uniform(0.7, 2.0)
    return _biquad(AF.equalizer_biquad, y, f0, gain, q)


def agc(x: np.ndarray, rng: np.random.Generator, noise_room_db: float | None = None) -> np.ndarray:
    """Automatic gain control: pull a 10 ms level envelope towards a target.

    The gain attacks fast (5-20 ms) when the sound gets louder and releases slowly
    (0.2-1 s) when it gets quieter, and never lifts more than 10-30 dB, so quiet passages
    come up and loud onsets are held down, as a browser's AGC does. Like a browser's AGC,
    it can also estimate the noise floor (the 10th-percentile frame) and never lift that floor
    to within ``noise_room_db`` of its target: pauses come up with their room noise, but the
    room never swamps a word that stood above it. ``None`` (the shipped set's data) leaves the
    floor free to rise by the whole gain.
    """
    hop = SAMPLE_RATE // 100
    frames = len(x) // hop
    if frames < 2:
        return x
    env = np.sqrt(np.mean(x[:frames * hop].reshape(frames, hop) ** 2, axis=1)) + 1e-9
    target = np.max(env) * 10 ** (-rng.uniform(6.0, 14.0) / 20)
    max_gain = 10 ** (rng.uniform(10.0, 30.0) / 20)
    if noise_room_db is not None:
        floor = np.percentile(env, 10)
        max_gain = max(min(max_gain, target * 10 ** (-noise_room_db / 20) / floor), 0.1)
    want = np.clip(target / env, 0.1, max_gain)
    attack = np.exp(-1.0 / rng.uniform(0.5, 2.0))    # in frames: 5-20 ms
    release = np.exp(-1.0 / rng.uniform(20.0, 100.0))  # 0.2-1 s
    gain = np.empty(frames)
    g = want[0]
    # a recursive smoother with two time constants: no library filter switches between them
    for i, w in enumerate(want):
        k = attack if w < g else release
        g = k * g + (1 - k) * w
        gain[i] = g
    per_sample = np.interp(np.arange(len(x)), (np.arange(frames) + 0.5) * hop, gain)
    return x * per_sample


def codec_round_trip(x: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig) -> np.ndarray:
    """Encode and decode with ffmpeg: Opus in WebM (seven times in ten) or MP3.

    Browsers record the microphone as Opus in WebM, and many uploads are MP3, so models
    should meet the smeared highs and pre-echo of both.

    Raises:
        RuntimeError: ffmpeg is missing (``apt-get install -y ffmpeg``) or failed.
    """
    if shutil.which("ffmpeg") is None:
        raise RuntimeError("the codec augmentation needs ffmpeg: apt-get install -y ffmpeg "
                           "(or set AugmentConfig.p_codec = 0)")
    if rng.random() < 0.7:
        args = ["-c:a", "libopus", "-b:a", f"{int(rng.integers(cfg.opus_kbps[0], cfg.opus_kbps[1] + 1))}k",
                "-f", "webm"]
    else:
        rates = [r for r in (32, 48, 64, 96, 128) if cfg.mp3_kbps[0] <= r <= cfg.mp3_kbps[1]]
        args = ["-c:a", "libmp3lame", "-b:a", f"{int(rng.choice(rates or [cfg.mp3_kbps[0]]))}k", "-f", "mp3"]
    pcm = ["-f", "f32le", "-ar", str(SAMPLE_RATE), "-ac", "1"]
    encoded = _ffmpeg([*pcm, "-i", "pipe:0", *args, "pipe:1"], x.astype("<f4").tobytes())
    decoded = np.frombuffer(_ffmpeg(["-i", "pipe:0", *pcm, "pipe:1"], encoded), "<f4").astype(np.float64)
    out = np.zeros(len(x))
    out[:min(len(x), len(decoded))] = decoded[:len(x)]
    return out


def _ffmpeg(args: list[str], data: bytes) -> bytes:
    done = subprocess.run(["ffmpeg", "-v", "error", "-nostdin", *args], input=data,
                          capture_output=True, timeout=60, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"ffmpeg failed ({done.returncode}): {done.stderr.decode('utf-8', 'replace')[-300:]}")
    return done.stdout
