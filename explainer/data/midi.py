"""Scores as Standard MIDI Files for fluidsynth to render, written with mido.

Time is kept in seconds everywhere outside this module. The file uses 500 ticks per quarter
note at 120 bpm, which is exactly 1000 ticks per second, so one tick is one millisecond and
16 samples at 16 kHz: slot boundaries fall on whole samples when we slice the render.
"""

from __future__ import annotations

from dataclasses import dataclass

import mido

TICKS_PER_SECOND = 1000
# 500 ticks per quarter at 500,000 us per quarter (120 bpm) gives 1000 ticks per second.
_TICKS_PER_BEAT = 500
_TEMPO = mido.bpm2tempo(120)

# Ordering of simultaneous events: set up the channel, release old notes, then start new
# ones, so a repeated pitch is re-struck instead of being cut by its own note-off.
_PRIORITY_SETUP, _PRIORITY_OFF, _PRIORITY_ON = 0, 1, 2


@dataclass(frozen=True)
class MidiEvent:
    """One channel message at an absolute time.

    Attributes:
        tick: absolute time in ticks (1 tick = 1 ms).
        priority: tie-break order at equal ticks (setup, note-off, note-on).
        message: the channel message; its own ``time`` is ignored (the file's delta
            times come from ``tick``).
    """

    tick: int
    priority: int
    message: mido.Message


def seconds_to_tick(t: float) -> int:
    """Round a time in seconds to the nearest tick."""
    return int(round(t * TICKS_PER_SECOND))


def note_on(t: float, channel: int, pitch: int, velocity: int) -> MidiEvent:
    """A note-on at time ``t`` seconds; pitch and velocity are clamped to 0..127 (velocity >= 1)."""
    return MidiEvent(seconds_to_tick(t), _PRIORITY_ON, mido.Message(
        "note_on", channel=channel, note=_clamp7(pitch), velocity=max(1, _clamp7(velocity))))


def note_off(t: float, channel: int, pitch: int) -> MidiEvent:
    """A note-off at time ``t`` seconds."""
    return MidiEvent(seconds_to_tick(t), _PRIORITY_OFF,
                     mido.Message("note_off", channel=channel, note=_clamp7(pitch), velocity=0))


def control(t: float, channel: int, number: int, value: int) -> MidiEvent:
    """A control change (e.g. 0 bank select, 7 volume, 120 all sound off, 121 reset)."""
    return MidiEvent(seconds_to_tick(t), _PRIORITY_SETUP, mido.Message(
        "control_change", channel=channel, control=_clamp7(number), value=_clamp7(value)))


def program(t: float, channel: int, number: int) -> MidiEvent:
    """A program change to GM program ``number`` (0..127) on ``channel``."""
    return MidiEvent(seconds_to_tick(t), _PRIORITY_SETUP,
                     mido.Message("program_change", channel=channel, program=_clamp7(number)))


def midi_file(events: list[MidiEvent]) -> mido.MidiFile:
    """A format-0 file of one track: the tempo, then ``events``.

    Args:
        events: channel events in any order; they are sorted by (tick, priority) and then
            by their bytes, so the same list always gives the same file.

    Returns:
        The file; ``.save(path)`` writes it. Saving raises ValueError for an event before
        tick 0.
    """
    # tempo first, so ticks mean milliseconds from tick 0
    track = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=_TEMPO, time=0)])
    now = 0
    for event in sorted(events, key=lambda e: (e.tick, e.priority, e.message.bytes())):
        track.append(event.message.copy(time=event.tick - now))
        now = event.tick
    return mido.MidiFile(type=0, ticks_per_beat=_TICKS_PER_BEAT, tracks=[track])


def _clamp7(value: int) -> int:
    return int(min(127, max(0, value)))
