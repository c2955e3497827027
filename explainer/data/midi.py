"""A tiny Standard MIDI File writer: just enough for fluidsynth to render a score.

`mido` is not a dependency, and a format-0 file with one track is a few dozen bytes of
header plus delta-timed events, so we write the bytes ourselves.

Time is kept in seconds everywhere outside this module. The file uses 500 ticks per quarter
note at 120 bpm, which is exactly 1000 ticks per second, so one tick is one millisecond and
16 samples at 16 kHz: slot boundaries fall on whole samples when we slice the render.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

TICKS_PER_SECOND = 1000
# 500 ticks per quarter at 500,000 us per quarter (120 bpm) gives 1000 ticks per second.
_DIVISION = 500
_TEMPO_US_PER_QUARTER = 500_000

# Ordering of simultaneous events: set up the channel, release old notes, then start new
# ones, so a repeated pitch is re-struck instead of being cut by its own note-off.
_PRIORITY_SETUP, _PRIORITY_OFF, _PRIORITY_ON = 0, 1, 2


@dataclass(frozen=True, order=True)
class MidiEvent:
    """One channel event at an absolute time.

    Attributes:
        tick: absolute time in ticks (1 tick = 1 ms).
        priority: tie-break order at equal ticks (setup, note-off, note-on).
        data: the raw status byte and its data bytes, e.g. ``b"\\x90\\x3c\\x64"``.
    """

    tick: int
    priority: int
    data: bytes


def seconds_to_tick(t: float) -> int:
    """Round a time in seconds to the nearest tick."""
    return int(round(t * TICKS_PER_SECOND))


def note_on(t: float, channel: int, pitch: int, velocity: int) -> MidiEvent:
    """A note-on at time ``t`` seconds; pitch and velocity are clamped to 0..127."""
    return MidiEvent(seconds_to_tick(t), _PRIORITY_ON,
                     bytes([0x90 | channel, _clamp7(pitch), max(1, _clamp7(velocity))]))


def note_off(t: float, channel: int, pitch: int) -> MidiEvent:
    """A note-off at time ``t`` seconds."""
    return MidiEvent(seconds_to_tick(t), _PRIORITY_OFF, bytes([0x80 | channel, _clamp7(pitch), 0]))


def control(t: float, channel: int, number: int, value: int) -> MidiEvent:
    """A control change (e.g. 0 bank select, 7 volume, 120 all sound off, 121 reset)."""
    return MidiEvent(seconds_to_tick(t), _PRIORITY_SETUP,
                     bytes([0xB0 | channel, _clamp7(number), _clamp7(value)]))


def program(t: float, channel: int, number: int) -> MidiEvent:
    """A program change to GM program ``number`` (0..127) on ``channel``."""
    return MidiEvent(seconds_to_tick(t), _PRIORITY_SETUP, bytes([0xC0 | channel, _clamp7(number)]))


def midi_bytes(events: list[MidiEvent]) -> bytes:
    """Encode events as a format-0 Standard MIDI File.

    Args:
        events: channel events in any order; they are sorted by (tick, priority), a stable
            order, so the same list always gives the same bytes.

    Returns:
        The complete file contents.
    """
    track = bytearray()
    # Tempo meta event first, so ticks mean milliseconds from tick 0.
    track += b"\x00\xff\x51\x03" + _TEMPO_US_PER_QUARTER.to_bytes(3, "big")
    now = 0
    for event in sorted(events):
        track += _varlen(event.tick - now) + event.data
        now = event.tick
    track += b"\x00\xff\x2f\x00"  # end of track
    header = b"MThd" + struct.pack(">IHHH", 6, 0, 1, _DIVISION)
    return header + b"MTrk" + struct.pack(">I", len(track)) + bytes(track)


def _varlen(value: int) -> bytes:
    """MIDI variable-length quantity: 7 bits per byte, high bit set on all but the last."""
    if value < 0:
        raise ValueError(f"events must not go back in time, got delta {value}")
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def _clamp7(value: int) -> int:
    return int(min(127, max(0, value)))
