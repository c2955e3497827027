"""The music and percussion classes: scores written as MIDI and rendered by fluidsynth.

A score is a list of MIDI events relative to its own start. `render_batch` lays many
scores one after another in a single MIDI file (each in its own time slot, with the
channels reset before and silenced after), renders it with one fluidsynth call and slices
the result, which is far cheaper than one process per clip and gives the same audio.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np

from . import midi, tools
from .config import SAMPLE_RATE, DataConfig

DRUM_CHANNEL = 9
# Silence between slots. All-sound-off ends every voice at the slot's end, so a short
# guard is enough; it also absorbs fluidsynth's few-millisecond attack ramps.
_SLOT_GAP_S = 0.25

SCALES = {
    "major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10), "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "harmonic_minor": (0, 2, 3, 5, 7, 8, 11), "pentatonic": (0, 2, 4, 7, 9),
    "minor_pentatonic": (0, 3, 5, 7, 10), "blues": (0, 3, 5, 6, 7, 10),
}
# GM families that mostly play one note at a time (bass, brass, reed, pipe, synth lead),
# and the solo strings: give them melodies and arpeggios, not block chords.
_MONOPHONIC_FAMILIES = (4, 7, 8, 9, 10)
_MONOPHONIC_PROGRAMS = (40, 41, 42, 43)
# Playable MIDI pitch range of each GM program (real instrument ranges). FluidR3 has no
# samples outside some of them (a contrabass note at C6 is silence), so scores stay inside.
_FAMILY_RANGE = {0: (36, 96), 1: (55, 96), 2: (36, 89), 3: (40, 84), 4: (28, 60), 5: (36, 88),
                 6: (36, 84), 7: (40, 82), 8: (50, 84), 9: (60, 96), 10: (36, 88), 11: (36, 88),
                 12: (36, 88), 13: (50, 84)}
_PROGRAM_RANGE = {
    9: (72, 100), 13: (65, 100), 14: (60, 77), 20: (53, 89), 22: (60, 84), 23: (53, 89),
    40: (55, 96), 41: (48, 88), 42: (36, 72), 43: (28, 57), 46: (36, 96), 47: (36, 57),
    52: (48, 79), 53: (48, 79), 54: (48, 79), 55: (48, 72), 56: (55, 82), 57: (40, 72),
    58: (28, 58), 59: (55, 82), 60: (41, 77), 64: (56, 87), 65: (49, 80), 66: (44, 75),
    67: (36, 69), 68: (58, 91), 69: (52, 81), 70: (34, 72), 71: (50, 91), 72: (74, 102),
    77: (55, 84), 79: (60, 84), 104: (48, 77), 105: (48, 84), 106: (50, 79), 107: (55, 90),
    108: (60, 84), 109: (60, 77), 110: (55, 93), 111: (60, 84),
}
# GM drum-map notes by role (whistles 71/72 are left out: they are pitched).
KICKS = (35, 36)
SNARES = (38, 40, 37, 39)
HATS = (42, 44, 46, 51, 53, 59)
TOMS = (41, 43, 45, 47, 48, 50)
CYMBALS = (49, 57, 52, 55)
LATIN = (54, 56, 58, 60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70, 73, 74, 75, 76, 77, 78, 79, 80, 81)
SOLO_HITS = (39, 38, 37, 54, 56, 75, 76, 60, 63, 36, 41, 45)


def _note(events: list, t: float, dur: float, ch: int, pitch: int, vel: int) -> None:
    events += [midi.note_on(t, ch, pitch, vel), midi.note_off(t + max(dur, 0.02), ch, pitch)]


def program_range(program: int) -> tuple[int, int]:
    """Lowest and highest MIDI pitch that GM ``program`` plays."""
    return _PROGRAM_RANGE.get(program, _FAMILY_RANGE[program // 8])


def _fit(pitch: int, span: tuple[int, int]) -> int:
    """Move ``pitch`` by octaves into ``span`` (clamping spans narrower than an octave)."""
    lo, hi = span
    while pitch > hi:
        pitch -= 12
    while pitch < lo:
        pitch += 12
    return min(pitch, hi)


# ---------------------------------------------------------------- music

def plan_music(params: dict, rng: np.random.Generator, seconds: float) -> dict:
    """Compose a melody, chords, an arpeggio or melody over chords for one GM program.

    Args:
        params: a music source draw with ``program`` (GM program 0-111).
        rng: the clip's generator.
        seconds: how long the score must sound.

    Returns:
        ``params`` plus ``events`` (relative MIDI events), ``setup`` (channel -> (bank,
        program)) and ``seconds``.
    """
    program = int(params["program"])
    family = program // 8
    beat = 60.0 / rng.uniform(60, 180)
    scale = SCALES[list(SCALES)[int(rng.integers(len(SCALES)))]]
    span = program_range(program)
    # Root low in the range, so melodies (which climb up to two octaves) mostly fit as written.
    root = int(rng.integers(span[0], max(span[0] + 1, min(span[1] - 12, span[0] + 24))))
    mono = family in _MONOPHONIC_FAMILIES or program in _MONOPHONIC_PROGRAMS
    styles = ("melody", "arpeggio") if mono else ("melody", "chords", "arpeggio", "melody_chords")
    style = styles[int(rng.integers(len(styles)))]
    events: list = []
    t = float(rng.uniform(0.0, 0.25))
    if style in ("melody", "melody_chords"):
        _melody(events, rng, t, seconds, beat, root + (12 if style == "melody_chords" else 0), scale)
    if style in ("chords", "melody_chords"):
        _chords(events, rng, t, seconds, beat, root - (12 if style == "melody_chords" else 0),
                scale, channel=1 if style == "melody_chords" else 0,
                soft=style == "melody_chords")
    if style == "arpeggio":
        _arpeggio(events, rng, t, seconds, beat, root, scale)
    # Keep every note inside the instrument's range (octave folding keeps the pitch class).
    events = [replace(e, message=e.message.copy(note=_fit(e.message.note, span)))
              if e.message.type in ("note_on", "note_off") else e for e in events]
    return {**params, "events": events, "setup": {0: (0, program), 1: (0, program)},
            "seconds": seconds, "style": style}


def _degree(root: int, scale: tuple, degree: int) -> int:
    octave, step = divmod(degree, len(scale))
    return root + 12 * octave + scale[step]


def _melody(events, rng, t, seconds, beat, root, scale):
    degree = int(rng.integers(0, len(scale)))
    legato = rng.uniform(0.6, 1.0)
    lengths = np.array([0.25, 0.5, 1.0, 1.5, 2.0])
    weights = np.array([0.15, 0.4, 0.3, 0.08, 0.07]) if rng.random() < 0.5 else np.array(
        [0.35, 0.4, 0.15, 0.05, 0.05])
    while t < seconds:
        length = float(lengths[rng.choice(len(lengths), p=weights)]) * beat
        if rng.random() > 0.08:  # a rest now and then
            vel = int(rng.integers(60, 118))
            _note(events, t, length * legato, 0, _degree(root, scale, degree), vel)
        degree = int(np.clip(degree + rng.choice([-3, -2, -1, -1, 0, 1, 1, 2, 3]), -4,
                             2 * len(scale)))
        t += length


def _chords(events, rng, t, seconds, beat, root, scale, channel, soft):
    length = beat * float(rng.choice([1, 2, 2, 4]))
    strum = rng.uniform(0.0, 0.03)
    sevenths = rng.random() < 0.3
    while t < seconds:
        degree = int(rng.integers(0, len(scale)))
        tones = (0, 2, 4, 6) if sevenths else (0, 2, 4)
        vel = int(rng.integers(45, 80) if soft else rng.integers(60, 110))
        for i, k in enumerate(tones):
            _note(events, t + i * strum, length * 0.95, channel, _degree(root, scale, degree + k), vel)
        t += length


def _arpeggio(events, rng, t, seconds, beat, root, scale):
    step = beat * float(rng.choice([0.25, 0.5, 0.5, 1.0]))
    pattern = rng.choice(["up", "down", "updown"])
    degree = int(rng.integers(0, len(scale)))
    i = 0
    while t < seconds:
        if i % 8 == 0:
            degree = int(rng.integers(0, len(scale)))
        k = i % 4 if pattern == "up" else 3 - i % 4 if pattern == "down" else (0, 1, 2, 3, 2, 1)[i % 6]
        _note(events, t, step * 0.9, 0, _degree(root, scale, degree + 2 * k), int(rng.integers(55, 110)))
        t += step
        i += 1


# ---------------------------------------------------------------- percussion

def plan_percussion(params: dict, rng: np.random.Generator, seconds: float) -> dict:
    """Write a drum pattern for a kit, or a rhythm for a pitched-percussion preset.

    Args:
        params: a percussion source draw with ``kit`` (bank-128 program) or ``preset``
            (``"bank:program"``).
        rng: the clip's generator.
        seconds: how long the score must sound.

    Returns:
        ``params`` plus ``events``, ``setup`` and ``seconds`` as in `plan_music`.
    """
    step = 60.0 / rng.uniform(70, 190) / 4  # a sixteenth note
    events: list = []
    if params["kind"] == "kit":
        style = ("beat", "beat", "latin", "fill", "hits", "roll")[int(rng.integers(6))]
        {"beat": _beat, "latin": _latin, "fill": _fill, "hits": _hits, "roll": _roll}[style](
            events, rng, seconds, step)
        setup = {DRUM_CHANNEL: (128, int(params["kit"]))}
    else:
        bank, prog = (int(v) for v in params["preset"].split(":"))
        style = "pitched"
        _pitched(events, rng, seconds, step)
        setup = {0: (bank, prog)}
    return {**params, "events": events, "setup": setup, "seconds": seconds, "style": style}


def _grid(rng, density: float, steps: int = 16) -> np.ndarray:
    return rng.random(steps) < density


def _beat(events, rng, seconds, step):
    kick = _grid(rng, 0.25)
    kick[0] = True
    snare = np.zeros(16, bool)
    snare[[4, 12]] = True
    snare |= _grid(rng, 0.05)
    hat_every = int(rng.choice([1, 2, 2, 4]))
    hat_note = int(rng.choice(HATS))
    kick_note, snare_note = int(rng.choice(KICKS)), int(rng.choice(SNARES[:3]))
    i = 0
    t = float(rng.uniform(0, 0.1))
    if rng.random() < 0.5:
        _note(events, t, 0.1, DRUM_CHANNEL, int(rng.choice(CYMBALS)), 100)
    while t < seconds:
        s = i % 16
        fill_bar = (i // 16) % 4 == 3 and s >= 12 and rng.random() < 0.7
        if fill_bar:
            _note(events, t, 0.1, DRUM_CHANNEL, int(rng.choice(TOMS)), int(rng.integers(80, 120)))
        else:
            if kick[s]:
                _note(events, t, 0.1, DRUM_CHANNEL, kick_note, int(rng.integers(90, 127)))
            if snare[s]:
                _note(events, t, 0.1, DRUM_CHANNEL, snare_note, int(rng.integers(80, 120)))
        if s % hat_every == 0:
            _note(events, t, 0.05, DRUM_CHANNEL, hat_note, int(rng.integers(50, 100)))
        t += step
        i += 1


def _latin(events, rng, seconds, step):
    voices = rng.choice(LATIN, size=int(rng.integers(2, 5)), replace=False)
    grids = [_grid(rng, rng.uniform(0.2, 0.6)) for _ in voices]
    t, i = float(rng.uniform(0, 0.1)), 0
    while t < seconds:
        for note, grid in zip(voices, grids):
            if grid[i % 16]:
                _note(events, t, 0.08, DRUM_CHANNEL, int(note), int(rng.integers(60, 120)))
        t += step
        i += 1


def _fill(events, rng, seconds, step):
    t = float(rng.uniform(0, 0.1))
    while t < seconds:
        note = int(rng.choice(TOMS + SNARES[:2] + KICKS))
        _note(events, t, 0.1, DRUM_CHANNEL, note, int(rng.integers(70, 127)))
        t += step * float(rng.choice([1, 1, 2, 0.5]))


def _hits(events, rng, seconds, step):
    # Claps, knocks and single drum hits at loose, human timing: the classroom sound.
    note = int(rng.choice(SOLO_HITS))
    t = float(rng.uniform(0, 0.3))
    gap = rng.uniform(0.15, 0.6)
    while t < seconds:
        _note(events, t, 0.1, DRUM_CHANNEL, note, int(rng.integers(70, 127)))
        t += gap * rng.uniform(0.6, 1.4)


def _roll(events, rng, seconds, step):
    note = int(rng.choice(SNARES[:2] + TOMS))
    rate = rng.uniform(0.04, 0.09)
    t, v = 0.0, rng.uniform(40, 70)
    target = rng.uniform(90, 127)
    while t < seconds:
        _note(events, t, 0.05, DRUM_CHANNEL, note, int(v))
        v += (target - v) * 0.05
        t += rate
        if rng.random() < 0.05:
            t += rng.uniform(0.1, 0.5)  # a pause between rolls
            note = int(rng.choice(SNARES[:2] + TOMS))


def _pitched(events, rng, seconds, step):
    pitches = rng.integers(40, 76, size=int(rng.integers(1, 4)))
    grid = _grid(rng, rng.uniform(0.3, 0.7))
    grid[0] = True
    t, i = float(rng.uniform(0, 0.1)), 0
    while t < seconds:
        if grid[i % 16]:
            _note(events, t, 0.15, 0, int(rng.choice(pitches)), int(rng.integers(70, 127)))
        t += step
        i += 1


# ---------------------------------------------------------------- rendering

def render_batch(scores: list[dict], config: DataConfig) -> list[np.ndarray]:
    """Render many scores, ``config.midi_batch`` per fluidsynth call.

    Args:
        scores: `plan_music` / `plan_percussion` results.
        config: supplies the SoundFont, render rate and batch size.

    Returns:
        One (round(seconds * 16000),) float32 waveform per score, peak-normalised to 1
        (silent renders stay zero).
    """
    out: list[np.ndarray] = []
    with tempfile.TemporaryDirectory(prefix="explainer-midi-") as tmp:
        for start in range(0, len(scores), config.midi_batch):
            out += _render_slots(scores[start:start + config.midi_batch], Path(tmp), config)
    return out


def _render_slots(scores: list[dict], tmp: Path, config: DataConfig) -> list[np.ndarray]:
    events: list = []
    starts: list[int] = []  # slot start in ticks, i.e. milliseconds
    tick = 0
    for score in scores:
        t0 = tick / midi.TICKS_PER_SECOND
        for ch, (bank, prog) in score["setup"].items():
            # Reset the channel so nothing of the previous slot (bend, volume) carries over.
            events += [midi.control(t0, ch, 121, 0), midi.control(t0, ch, 0, bank),
                       midi.control(t0, ch, 32, 0), midi.program(t0, ch, prog)]
        events += [replace(e, tick=e.tick + tick) for e in score["events"]
                   if e.tick < score["seconds"] * midi.TICKS_PER_SECOND]
        end = t0 + score["seconds"]
        for ch in range(16):
            events += [midi.control(end, ch, 123, 0), midi.control(end, ch, 120, 0)]
        starts.append(tick)
        tick = midi.seconds_to_tick(end + _SLOT_GAP_S)
    mid, wav = tmp / "batch.mid", tmp / "batch.wav"
    midi.midi_file(events).save(mid)
    audio = tools.fluidsynth_render(mid, wav, config)
    clips = []
    for score, slot in zip(scores, starts):
        a = slot * SAMPLE_RATE // midi.TICKS_PER_SECOND
        n = int(round(score["seconds"] * SAMPLE_RATE))
        clip = np.zeros(n, np.float32)
        piece = audio[a:a + n]
        clip[:len(piece)] = piece
        peak = float(np.max(np.abs(clip)))
        clips.append(clip / peak if peak > 0 else clip)
    return clips
