"""Pure-numpy sources: the tone, noise and silence classes, and struck-object percussion.

Each kind has a parameter that picks its *source* (a frequency band, a noise colour band,
a modulation-rate band, a hum profile ...). The split of sources in `sources.py` gives
val and test bands that train never draws from, and kinds of their own.

Every renderer has the signature ``render(params, rng, n, fill) -> (n,) float32``:
`params` is what `SourcePool.draw` returned, `rng` the clip's generator, `n` the length
in samples and `fill` asks for sound over the whole length (sequence segments, whose
frame labels must be true everywhere). Tone and noise come out with a peak near 1 (the
augmentation sets the final level); silence comes out at its final, absolute level.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import signal

from .config import SAMPLE_RATE

SR = SAMPLE_RATE
NYQUIST = SR / 2

# Source parameter grids. A kind's bands are interleaved between splits (see sources.py),
# so held-out bands sit between training bands instead of only at the edges.
TONE_BANDS = np.geomspace(100.0, 6000.0, 13)   # 12 fundamental-frequency bands, Hz
BETA_BANDS = np.linspace(-1.0, 2.2, 17)        # 16 spectral-slope bands: power ~ 1/f^beta
AM_BANDS = np.geomspace(0.3, 25.0, 9)          # 8 amplitude-modulation rate bands, Hz
HISS_BANDS = np.geomspace(500.0, 6000.0, 7)    # 6 high-pass cutoff bands, Hz
ROOM_BETA_BANDS = np.linspace(0.0, 2.4, 7)     # 6 room-tone colour bands
IMPACT_BANDS = np.geomspace(80.0, 3000.0, 11)  # 10 lowest-mode bands of struck objects, Hz
# Relative amplitudes of mains harmonics 1..8: clean, buzzy (odd-rich, as from a
# transformer), bright, dull, even-rich (a rectifier) and ragged.
HUM_PROFILES = (
    (1.0, 0.3, 0.15, 0.05, 0.03, 0.01, 0.0, 0.0),
    (1.0, 0.05, 0.6, 0.03, 0.4, 0.02, 0.25, 0.01),
    (0.6, 0.5, 0.7, 0.4, 0.5, 0.3, 0.3, 0.2),
    (1.0, 0.1, 0.02, 0.0, 0.0, 0.0, 0.0, 0.0),
    (0.5, 1.0, 0.2, 0.6, 0.1, 0.3, 0.05, 0.1),
    (1.0, 0.4, 0.5, 0.1, 0.35, 0.05, 0.2, 0.15),
)
DTMF_ROWS = {"1": 697, "2": 697, "3": 697, "A": 697, "4": 770, "5": 770, "6": 770, "B": 770,
             "7": 852, "8": 852, "9": 852, "C": 852, "*": 941, "0": 941, "#": 941, "D": 941}
DTMF_COLS = {"1": 1209, "4": 1209, "7": 1209, "*": 1209, "2": 1336, "5": 1336, "8": 1336,
             "0": 1336, "3": 1477, "6": 1477, "9": 1477, "#": 1477, "A": 1633, "B": 1633,
             "C": 1633, "D": 1633}
# Telephone call-progress tones: (frequencies Hz, cadence [(on s, off s), ...]).
CALL_PATTERNS = {
    "us_dial": ((350, 440), ()),
    "us_ringback": ((440, 480), ((2.0, 1.5),)),
    "us_busy": ((480, 620), ((0.5, 0.5),)),
    "reorder": ((480, 620), ((0.25, 0.25),)),
    "uk_ring": ((400, 450), ((0.4, 0.2), (0.4, 2.0))),
    "eu_dial": ((425,), ()),
    "eu_busy": ((425,), ((0.5, 0.5),)),
}
INT16_LSB = 1.0 / 32767.0


# ---------------------------------------------------------------- helpers

def _log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def _in_band(rng: np.random.Generator, edges: np.ndarray, band: int) -> float:
    return _log_uniform(rng, float(edges[band]), float(edges[band + 1]))


def fade(x: np.ndarray, seconds: float) -> np.ndarray:
    """Raised-cosine fade in and out, so gated tones do not click."""
    k = min(len(x) // 2, max(1, int(seconds * SR)))
    ramp = 0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, k))
    x = x.copy()
    x[:k] *= ramp
    x[len(x) - k:] *= ramp[::-1]
    return x


def _additive(freq: np.ndarray | float, n: int, amps: tuple[float, ...],
              rng: np.random.Generator) -> np.ndarray:
    """Sum of harmonics ``amps[k-1] * sin(k * phase)``, dropping any above Nyquist.

    Args:
        freq: fundamental in Hz, a scalar or a per-sample array (n,).
        n: samples.
        amps: harmonic amplitudes, first is the fundamental.

    Returns:
        (n,) float64, band-limited (no aliasing from square or saw shapes).
    """
    f = np.broadcast_to(np.asarray(freq, dtype=np.float64), (n,))
    phase = 2 * np.pi * np.cumsum(f) / SR + rng.uniform(0, 2 * np.pi)
    out = np.zeros(n)
    for k, a in enumerate(amps, start=1):
        if a == 0.0:
            continue
        # A soft mask near Nyquist keeps sweeps from popping when a harmonic crosses it.
        mask = np.clip((0.45 * SR - k * f) / (0.03 * SR), 0.0, 1.0)
        if not mask.any():
            break
        out += a * mask * np.sin(k * phase)
    return out


def _square_amps(k_max: int = 60) -> tuple[float, ...]:
    return tuple(1.0 / k if k % 2 else 0.0 for k in range(1, k_max + 1))


def _saw_amps(k_max: int = 60) -> tuple[float, ...]:
    return tuple(1.0 / k for k in range(1, k_max + 1))


def _gates(rng: np.random.Generator, n: int, on: tuple[float, float], off: tuple[float, float],
           fill: bool) -> np.ndarray:
    """A 0/1 on-off pattern of random on and off durations (seconds), with soft edges."""
    gate = np.zeros(n)
    t = 0 if fill else int(rng.uniform(0.0, 0.3) * SR)
    while t < n:
        length = int(rng.uniform(*on) * SR)
        gate[t:t + length] = fade(np.ones(min(length, n - t)), 0.004)
        t += length + int(rng.uniform(*off) * SR)
    return gate


def _partial(rng: np.random.Generator, x: np.ndarray, fill: bool) -> np.ndarray:
    """Sometimes keep only a stretch of a steady sound, as a short tone inside a clip."""
    n = len(x)
    if fill or rng.random() < 0.6:
        return fade(x, rng.uniform(0.005, 0.05))
    length = int(rng.uniform(0.35, 0.95) * n)
    start = int(rng.integers(0, n - length + 1))
    out = np.zeros(n)
    out[start:start + length] = fade(x[start:start + length], rng.uniform(0.005, 0.05))
    return out


def coloured_noise(rng: np.random.Generator, n: int, beta: float) -> np.ndarray:
    """Gaussian noise whose power falls as 1/f^beta (0 white, 1 pink, 2 brown, -1 blue).

    Returns:
        (n,) float64 with unit RMS.
    """
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1.0 / SR)
    f[0] = f[1]  # avoid 0 ** negative; DC is removed below anyway
    spectrum *= f ** (-beta / 2.0)
    spectrum[0] = 0.0
    x = np.fft.irfft(spectrum, n)
    return x / (np.sqrt(np.mean(x ** 2)) + 1e-12)


def smooth_random(rng: np.random.Generator, n: int, rate_hz: float) -> np.ndarray:
    """A slowly varying random curve in [0, 1]: noise low-passed at ``rate_hz``."""
    steps = max(4, int(n / SR * rate_hz) + 3)
    knots = rng.random(steps)
    curve = np.interp(np.linspace(0, steps - 1, n), np.arange(steps), knots)
    return signal.sosfiltfilt(signal.butter(2, max(rate_hz, 0.2), fs=SR, output="sos"), curve) \
        if n > 64 else curve


def _unit_peak(x: np.ndarray) -> np.ndarray:
    peak = float(np.max(np.abs(x))) if len(x) else 0.0
    return (x / peak if peak > 0 else x).astype(np.float32)


# ---------------------------------------------------------------- tone

def _tone_sine(p, rng, n, fill):
    f = _in_band(rng, TONE_BANDS, p["band"])
    return _partial(rng, _additive(f, n, (1.0,), rng), fill)


def _tone_beeps(p, rng, n, fill):
    freqs = [_in_band(rng, TONE_BANDS, p["band"]) for _ in range(2)]
    beep = rng.uniform(0.05, 0.5)
    gap = rng.uniform(0.05, 0.6)
    alternate = rng.random() < 0.4
    out, t, i = np.zeros(n), (0 if fill else int(rng.uniform(0, 0.3) * SR)), 0
    while t < n:
        length = min(int(beep * SR), n - t)
        f = freqs[i % 2] if alternate else freqs[0]
        out[t:t + length] = fade(_additive(f, length, (1.0,), rng), 0.005)
        t += length + int(gap * SR)
        i += 1
    return out


def _tone_sweep(p, rng, n, fill, log: bool):
    centre = _in_band(rng, TONE_BANDS, p["band"])
    ratio = rng.uniform(1.5, 8.0)
    f0, f1 = max(40.0, centre / np.sqrt(ratio)), min(7200.0, centre * np.sqrt(ratio))
    if rng.random() < 0.5:
        f0, f1 = f1, f0
    period = int(rng.uniform(0.3, 1.0 if rng.random() < 0.5 else n / SR) * SR)
    pos = (np.arange(n) % max(period, 1)) / max(period, 1)
    if rng.random() < 0.3:  # up-and-down instead of a sawtooth of sweeps
        pos = 1 - np.abs(2 * pos - 1)
    freq = f0 * (f1 / f0) ** pos if log else f0 + (f1 - f0) * pos
    return _partial(rng, _additive(freq, n, (1.0,), rng), fill)


def _tone_siren(p, rng, n, fill):
    centre = _in_band(rng, TONE_BANDS, p["band"])
    depth = rng.uniform(1.15, 1.8)
    rate = _log_uniform(rng, 0.15, 8.0)
    t = np.arange(n) / SR
    lfo = np.sin(2 * np.pi * rate * t + rng.uniform(0, 2 * np.pi))
    if rng.random() < 0.5:
        lfo = 2 / np.pi * np.arcsin(lfo)  # triangle: the "yelp" shape
    freq = centre * depth ** lfo
    amps = (1.0,) if rng.random() < 0.5 else (1.0, 0.4, 0.2, 0.1)
    return _partial(rng, _additive(freq, n, amps, rng), fill)


def _tone_dtmf(p, rng, n, fill):
    keys = p["keys"]
    on, off = rng.uniform(0.04, 0.25), rng.uniform(0.04, 0.25)
    twist = rng.uniform(0.7, 1.3)
    out, t = np.zeros(n), (0 if fill else int(rng.uniform(0, 0.3) * SR))
    while t < n:
        key = keys[int(rng.integers(len(keys)))]
        length = min(int(on * SR), n - t)
        tone = _additive(DTMF_ROWS[key], length, (1.0,), rng) \
            + twist * _additive(DTMF_COLS[key], length, (1.0,), rng)
        out[t:t + length] = fade(tone, 0.004)
        t += length + int(off * SR)
    return out


def _tone_shape(p, rng, n, fill, amps):
    f = _in_band(rng, TONE_BANDS, p["band"])
    x = _additive(f, n, amps, rng)
    if rng.random() < 0.35:
        return _partial(rng, x, fill)
    return x * _gates(rng, n, (0.1, 1.0), (0.05, 0.4) if fill else (0.05, 0.6), fill)


def _tone_vibrato(p, rng, n, fill):
    f = _in_band(rng, TONE_BANDS, p["band"])
    t = np.arange(n) / SR
    freq = f * (1 + rng.uniform(0.01, 0.06) * np.sin(2 * np.pi * rng.uniform(3, 9) * t))
    amps = (1.0,) if rng.random() < 0.5 else (1.0, 0.3, 0.1)
    return _partial(rng, _additive(freq, n, amps, rng), fill)


def _tone_call(p, rng, n, fill):
    freqs, cadence = CALL_PATTERNS[p["pattern"]]
    x = sum(_additive(f, n, (1.0,), rng) for f in freqs)
    if not cadence:
        return fade(x, 0.01)
    return x * _cycle_gate(rng, n, fill, cadence)


def _cycle_gate(rng: np.random.Generator, n: int, fill: bool, cycle) -> np.ndarray:
    """A 0/1 envelope repeating ``cycle``, a sequence of (on s, off s), with soft edges.

    Outside sequences it starts up to 0.5 s late; in a labelled segment (``fill``) no
    pause is longer than 0.3 s, so the segment keeps sounding.
    """
    gate, t, i = np.zeros(n), (0 if fill else int(rng.uniform(0, 0.5) * SR)), 0
    while t < n:
        on, off = cycle[i % len(cycle)]
        length = min(int(on * SR), n - t)
        gate[t:t + length] = fade(np.ones(length), 0.005)
        t += length + int((min(off, 0.3) if fill else off) * SR)
        i += 1
    return gate


def _cadence(rng: np.random.Generator, n: int, fill: bool) -> np.ndarray:
    """An on/off envelope like a device's: steady, a regular on/off, or double rings."""
    style = rng.choice(["steady", "regular", "double"], p=[0.25, 0.45, 0.3])
    if style == "steady":
        return np.ones(n)
    short = rng.uniform(0.15, 0.5)
    cycle = [(rng.uniform(0.15, 2.0), rng.uniform(0.15, 1.5))] if style == "regular" \
        else [(short, rng.uniform(0.1, 0.3)), (short, rng.uniform(0.6, 2.0))]
    return _cycle_gate(rng, n, fill, cycle)


def _tone_dual(p, rng, n, fill):
    # two steady sines a small, unmusical interval apart, the way signalling tones are
    # built; the exact telephone pairs stay in the test split's "call" kind
    f1 = _in_band(rng, TONE_BANDS, p["band"])
    f2 = f1 * rng.uniform(1.04, 1.6) ** (1 if rng.random() < 0.5 else -1)
    x = _additive(f1, n, (1.0,), rng) + rng.uniform(0.6, 1.4) * _additive(f2, n, (1.0,), rng)
    return x * _cadence(rng, n, fill)


def _tone_buzzer(p, rng, n, fill):
    # an electronic beeper (alarm clock, microwave, smoke alarm): a pulse wave with a few
    # strong harmonics, in groups of short beeps with a pause after each group
    f = _in_band(rng, TONE_BANDS, p["band"])
    duty = rng.uniform(0.15, 0.5)
    amps = tuple(abs(np.sin(np.pi * k * duty)) / k for k in range(1, 16))
    group, beep, gap = int(rng.integers(1, 6)), rng.uniform(0.04, 0.25), rng.uniform(0.03, 0.15)
    pause = rng.uniform(0.1, 0.4) if fill else rng.uniform(0.2, 1.2)
    out, t, i = np.zeros(n), (0 if fill else int(rng.uniform(0, 0.4) * SR)), 0
    while t < n:
        length = min(int(beep * SR), n - t)
        out[t:t + length] = fade(_additive(f, length, amps, rng), 0.003)
        i += 1
        t += length + int((pause if i % group == 0 else gap) * SR)
    return out


# ---------------------------------------------------------------- percussion without a soundfont

def _hit(rng: np.random.Generator, material: str, centre: float) -> np.ndarray:
    """One struck object by modal synthesis: a few damped, inharmonic sine modes over a
    short noise burst. Knocks and thuds die in tens of ms; metal rings longer."""
    decay = {"wood": (0.015, 0.08), "membrane": (0.05, 0.25), "metal": (0.1, 0.6), "click": (0.003, 0.015)}[material]
    length = int(min(1.2, 5 * decay[1]) * SR)
    t = np.arange(length) / SR
    out = np.zeros(length)
    ratios = np.sort(np.concatenate([[1.0], rng.uniform(1.3, 6.5, int(rng.integers(2, 7)))]))
    for r in ratios:
        f = centre * r
        if f > 0.45 * SR:
            break
        drop = 1.0 if material != "membrane" else 1.0 + rng.uniform(0.1, 0.8) * np.exp(-t / 0.03)  # pitch falls
        phase = 2 * np.pi * np.cumsum(f * drop) / SR + rng.uniform(0, 2 * np.pi)
        out += rng.uniform(0.2, 1.0) / r * np.exp(-t / rng.uniform(*decay)) * np.sin(phase)
    burst_len = int(rng.uniform(0.002, 0.02) * SR)
    burst = rng.standard_normal(burst_len) * np.exp(-np.arange(burst_len) / (0.3 * burst_len + 1))
    b, a = signal.butter(2, min(0.95, rng.uniform(1.0, 8.0) * centre / NYQUIST), "high")
    out[:burst_len] += rng.uniform(0.2, 1.5) * signal.lfilter(b, a, burst)
    return out / (np.max(np.abs(out)) + 1e-9)


def _perc_impacts(p, rng, n, fill):
    centre = _in_band(rng, IMPACT_BANDS, p["band"])
    materials = rng.choice(["wood", "membrane", "metal", "click"], size=int(rng.integers(1, 3)), replace=False)
    style = rng.choice(["beat", "knocks", "scattered"])
    step = rng.uniform(0.1, 0.3)  # seconds between grid positions
    out, t = np.zeros(n), (0 if fill else int(rng.uniform(0, 0.3) * SR))
    while t < n:
        hit = _hit(rng, str(rng.choice(materials)), centre * rng.uniform(0.8, 1.25)) * rng.uniform(0.3, 1.0)
        end = min(n, t + len(hit))
        out[t:end] += hit[:end - t]
        if style == "beat":
            t += int(step * SR * (1 if rng.random() < 0.7 else 2))
        elif style == "knocks":  # quick groups of 2-5, like knocking on a door
            t += int(rng.uniform(0.08, 0.2) * SR) if rng.random() < 0.75 else int(rng.uniform(0.4, 1.0) * SR)
        else:
            t += int(rng.uniform(0.08, 0.3 if fill else 0.9) * SR)
    return out


# ---------------------------------------------------------------- noise

def _noise_coloured(p, rng, n, fill):
    beta = rng.uniform(BETA_BANDS[p["band"]], BETA_BANDS[p["band"] + 1])
    drift = 10 ** (rng.uniform(-3, 3) * smooth_random(rng, n, 0.5) / 20)
    return coloured_noise(rng, n, beta) * drift


def _noise_bandpass(p, rng, n, fill):
    centre = _in_band(rng, TONE_BANDS, p["band"])
    octaves = rng.uniform(0.7, 2.5)  # wide enough that it never sounds like a pitch
    lo = max(30.0, centre / 2 ** (octaves / 2))
    hi = min(0.95 * NYQUIST, centre * 2 ** (octaves / 2))
    sos = signal.butter(int(rng.integers(1, 4)), [lo, hi], btype="bandpass", fs=SR, output="sos")
    return signal.sosfilt(sos, rng.standard_normal(n))


def _noise_am(p, rng, n, fill):
    rate = _log_uniform(rng, AM_BANDS[p["band"]], AM_BANDS[p["band"] + 1])
    base = coloured_noise(rng, n, rng.uniform(0.0, 2.0))
    t = np.arange(n) / SR
    shape = rng.integers(3)
    if shape == 0:
        lfo = 0.5 + 0.5 * np.sin(2 * np.pi * rate * t)
    elif shape == 1:
        lfo = fade(np.ones(n), 0.01) * (np.sin(2 * np.pi * rate * t) > 0)
        lfo = signal.sosfiltfilt(signal.butter(2, 60, fs=SR, output="sos"), lfo)
    else:
        lfo = smooth_random(rng, n, rate)
    floor = 0.2 if fill else rng.uniform(0.0, 0.5)  # a segment must not fall silent
    return base * (floor + (1 - floor) * np.clip(lfo, 0, 1))


def _noise_hiss(p, rng, n, fill):
    cutoff = _log_uniform(rng, HISS_BANDS[p["band"]], HISS_BANDS[p["band"] + 1])
    sos = signal.butter(int(rng.integers(2, 5)), min(cutoff, 0.9 * NYQUIST), btype="highpass",
                        fs=SR, output="sos")
    return signal.sosfilt(sos, rng.standard_normal(n)) + 0.1 * coloured_noise(rng, n, 1.0)


def _noise_wind(p, rng, n, fill):
    gusts = 0.25 + smooth_random(rng, n, rng.uniform(0.3, 1.5))
    low = coloured_noise(rng, n, 2.0)
    mid = signal.sosfilt(signal.butter(2, [150, 900], btype="bandpass", fs=SR, output="sos"),
                         rng.standard_normal(n))
    mid /= np.sqrt(np.mean(mid ** 2)) + 1e-12
    return gusts * low + (gusts ** 2) * mid * rng.uniform(0.2, 0.8)


def _noise_rain(p, rng, n, fill):
    drops = np.zeros(n)
    count = rng.poisson(_log_uniform(rng, 300, 3000) * n / SR)
    drops[rng.integers(0, n, count)] = rng.exponential(1.0, count) * rng.choice([-1, 1], count)
    sos = signal.butter(2, [_log_uniform(rng, 800, 2500), 7000], btype="bandpass", fs=SR,
                        output="sos")
    patter = signal.sosfilt(sos, drops)
    patter /= np.sqrt(np.mean(patter ** 2)) + 1e-12
    return patter + rng.uniform(0.3, 1.0) * coloured_noise(rng, n, rng.uniform(0.5, 1.5))


# ---------------------------------------------------------------- silence

def _db(level_db: float) -> float:
    return 10 ** (level_db / 20)


def _room_tone(rng, n, beta, rms_db):
    x = coloured_noise(rng, n, beta)
    x = signal.sosfilt(signal.butter(1, 20, btype="highpass", fs=SR, output="sos"), x)
    return x / (np.sqrt(np.mean(x ** 2)) + 1e-12) * _db(rms_db)


def _silence_room(p, rng, n, fill):
    beta = rng.uniform(ROOM_BETA_BANDS[p["band"]], ROOM_BETA_BANDS[p["band"] + 1])
    return _room_tone(rng, n, beta, rng.uniform(-80.0, -60.0))


def _silence_hum(p, rng, n, fill):
    f0 = p["mains"] * (1 + rng.uniform(-0.004, 0.004))  # the grid drifts a little
    amps = tuple(a * rng.uniform(0.8, 1.2) for a in HUM_PROFILES[p["profile"]])
    hum = _additive(f0, n, amps, rng)
    hum *= _db(rng.uniform(-75.0, -55.0)) / (np.sqrt(np.mean(hum ** 2)) + 1e-12)
    return hum + _room_tone(rng, n, rng.uniform(0.5, 2.0), rng.uniform(-90.0, -72.0))


def _silence_zeros(p, rng, n, fill):
    return np.zeros(n)


def _silence_lsb(p, rng, n, fill):
    # Flicker of the last bit (-1, 0, +1 LSB): what a 16-bit recorder writes when the
    # room is quieter than its own noise floor.
    return (rng.integers(-1, 2, n) * INT16_LSB) * (rng.random(n) < rng.uniform(0.2, 0.8))


def _silence_dc_lsb(p, rng, n, fill):
    offset = int(rng.integers(1, 17)) * rng.choice([-1, 1])
    return (offset + rng.integers(-1, 2, n)) * INT16_LSB


Renderer = Callable[[dict, np.random.Generator, int, bool], np.ndarray]

RENDERERS: dict[str, Renderer] = {
    "sine": _tone_sine,
    "beeps": _tone_beeps,
    "sweep_lin": lambda p, rng, n, fill: _tone_sweep(p, rng, n, fill, log=False),
    "sweep_log": lambda p, rng, n, fill: _tone_sweep(p, rng, n, fill, log=True),
    "siren": _tone_siren,
    "dtmf": _tone_dtmf,
    "square": lambda p, rng, n, fill: _tone_shape(p, rng, n, fill, _square_amps()),
    "saw": lambda p, rng, n, fill: _tone_shape(p, rng, n, fill, _saw_amps()),
    "vibrato": _tone_vibrato,
    "call": _tone_call,
    "dual": _tone_dual,
    "buzzer": _tone_buzzer,
    "impacts": _perc_impacts,
    "coloured": _noise_coloured,
    "bandpass": _noise_bandpass,
    "am": _noise_am,
    "hiss": _noise_hiss,
    "wind": _noise_wind,
    "rain": _noise_rain,
    "room": _silence_room,
    "hum": _silence_hum,
    "zeros": _silence_zeros,
    "lsb": _silence_lsb,
    "dc_lsb": _silence_dc_lsb,
}


def render(params: dict, rng: np.random.Generator, n: int, fill: bool = False) -> np.ndarray:
    """Render one synthetic source.

    Args:
        params: a `SourcePool.draw` result; ``params["kind"]`` picks the renderer.
        rng: the clip's random generator.
        n: length in samples at 16 kHz.
        fill: keep sound over the whole length (for sequence segments).

    Returns:
        (n,) float32: peak 1 for tone and noise, absolute level for silence.
    """
    x = np.asarray(RENDERERS[params["kind"]](params, rng, n, fill), dtype=np.float64)
    if params["cls"] == "silence":
        return x.astype(np.float32)
    return _unit_peak(x)
