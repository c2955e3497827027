"""Turn whatever a user gives us into one clean clip: 16 kHz mono float32 in [-1, 1].

Sources are a file path, raw bytes, or the ``(sample_rate, array)`` tuple of
``gr.Audio(type="numpy")``. WAV, FLAC, OGG, Opus and MP3 are decoded by soundfile; every other
format (M4A/AAC, WebM, video files with an audio track) by the ``ffmpeg`` binary. Every failure
becomes an :class:`AudioError` whose message tells a person what to do next.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Union

import numpy as np
import soundfile as sf
import soxr
import torch

SAMPLE_RATE = 16000
MAX_UPLOAD_BYTES = 50 * 1024 * 1024  # documented upload limit, checked before decoding
MIN_SECONDS = 0.25  # shorter clips are refused: too little sound for any model to hear
PAD_TO_SECONDS = 1.0  # clips from MIN_SECONDS up to this are padded with silence at the end
MIN_RATE, MAX_RATE, MAX_CHANNELS = 8000, 192000, 8
TEMP_PREFIX = "audio-explainer-"  # every temporary file we create starts with this
_SLACK_S = 0.05  # decoders may overshoot -t slightly; only more than this counts as cut
_FORMATS = "WAV, FLAC, MP3, OGG, Opus, M4A or WebM"
_CUT_SHORT = "The file ends earlier than its header says; only the part that is there was analysed."
_NEEDS_FFMPEG = "This format needs ffmpeg; install it (apt-get install ffmpeg) or upload WAV/FLAC."

Source = Union[str, os.PathLike, bytes, bytearray, memoryview, tuple]


class AudioError(ValueError):
    """Input that cannot be analysed; the message is one sentence a person can act on."""


@dataclass
class Clip:
    waveform: torch.Tensor  # (1, T) float32, 16 kHz mono, values in [-1, 1]
    duration_s: float  # T / 16000, after cropping and padding
    source_sample_rate: int  # rate of the file or array before resampling
    source_channels: int  # channels before the downmix
    warnings: list[str]  # things the user should know, e.g. that the clip was cropped
    sample_rate: int = SAMPLE_RATE


@dataclass
class _Decoded:
    mono: np.ndarray  # (n,) float32 at `rate`, at most about max_seconds + 0.1 s long
    rate: int
    channels: int
    total_s: float | None  # full duration of the source, when known
    warnings: list[str]


# (offset, magic bytes, kind): the first bytes say what a file is, whatever its extension
_MAGIC = (
    (8, b"WEBP", "!a WebP image"), (0, b"\x89PNG", "!a PNG image"), (0, b"\xff\xd8\xff", "!a JPEG image"),
    (0, b"GIF8", "!a GIF image"), (0, b"%PDF", "!a PDF document"), (0, b"PK\x03\x04", "!a ZIP archive"),
    (8, b"AVI ", "AVI"), (0, b"RIFF", "WAV"), (0, b"RF64", "WAV"), (0, b"fLaC", "FLAC"),
    (0, b"OggS", "OGG"), (0, b"ID3", "MP3"), (0, b"FORM", "AIFF"), (4, b"ftyp", "MP4"),
    (0, b"\x1a\x45\xdf\xa3", "WebM/Matroska"), (0, b"caff", "CAF"), (0, b"#!AMR", "AMR"),
)
_VIDEO_KINDS = {"AVI", "MP4", "WebM/Matroska"}
_NATIVE_KINDS = {"WAV", "FLAC", "AIFF"}  # soundfile reads all of these; ffmpeg only helps if damaged


def load(source: Source, *, max_seconds: float = 30.0) -> Clip:
    """Decode, downmix, resample and check a clip.

    Args:
        source: a filesystem path (str or Path), the raw bytes of a file, or the
            ``(sample_rate, samples)`` tuple of ``gr.Audio(type="numpy")``; samples are int16,
            int32, uint8 or float, shaped (n,), (n, channels) or (channels, n).
        max_seconds: only the first ``max_seconds`` are decoded and analysed; a longer source
            adds a warning. Files are never read whole: soundfile reads a bounded number of
            frames and ffmpeg gets ``-t``.

    Returns:
        A :class:`Clip` whose waveform is (1, T) float32 at 16 kHz, channels averaged,
        resampled with soxr (HQ) and clamped to [-1, 1]. Clips shorter than ``MIN_SECONDS``
        (0.25 s) are refused; clips from 0.25 s to ``PAD_TO_SECONDS`` (1.0 s) are padded with
        zeros at the end to 1.0 s, with a warning. Digital silence, DC offset and clipping are
        valid input.

    Raises:
        AudioError: empty, missing, unreadable, truncated, oversized or non-audio input,
            NaN/inf samples, more than 8 channels, a rate outside 8-192 kHz, or a clip
            shorter than 0.25 s.
    """
    if not (0 < max_seconds < math.inf):
        raise ValueError(f"max_seconds must be positive and finite, got {max_seconds}")
    if source is None:
        raise AudioError("No audio was given; record or upload a clip.")
    if isinstance(source, tuple):
        decoded = _from_array(source, max_seconds)
    elif isinstance(source, (bytes, bytearray, memoryview)):
        decoded = _from_bytes(bytes(source), max_seconds)
    elif isinstance(source, (str, os.PathLike)):
        decoded = _from_path(Path(source), max_seconds)
    else:
        raise AudioError(f"Cannot read audio from a {type(source).__name__}; "
                         "give a file path, bytes or a (sample_rate, samples) tuple.")
    return _finish(decoded, max_seconds)


def _finish(d: _Decoded, max_seconds: float) -> Clip:
    """Check, crop, resample (n,) at d.rate to (1, T) at 16 kHz, clamp and pad."""
    mono, warnings = d.mono, list(d.warnings)
    if mono.size == 0:
        raise AudioError(f"The audio holds no samples; record or upload at least {MIN_SECONDS} s of sound.")
    if not np.isfinite(mono).all():
        raise AudioError("The audio contains NaN or infinite sample values; "
                         "re-export it (for example as 16-bit WAV) and try again.")
    promised = min(d.total_s or 0.0, max_seconds)  # header durations of MP3s are estimates
    if mono.size / d.rate < promised - max(0.25, 0.05 * promised) and _CUT_SHORT not in warnings:
        warnings.append(_CUT_SHORT)
    if mono.size > (max_seconds + _SLACK_S) * d.rate:
        full = f" of {d.total_s:.1f} s" if d.total_s and d.total_s > max_seconds else ""
        warnings.append(f"Only the first {max_seconds:.1f} s{full} were analysed.")
    limit = round(max_seconds * d.rate)
    cropped, mono = mono.size >= limit, mono[:limit]
    seconds = mono.size / d.rate
    # soxr may round the length by a sample; pin it so a cropped clip is exactly max_seconds
    target = round((max_seconds if cropped else seconds) * SAMPLE_RATE)
    if seconds < MIN_SECONDS:
        raise AudioError(f"The clip is only {seconds:.2f} s long; "
                         f"record or upload at least {MIN_SECONDS} s of sound.")
    if np.abs(mono).max() > 1.0:
        warnings.append("Samples outside [-1, 1] were clipped to that range.")
    if d.rate != SAMPLE_RATE:
        mono = soxr.resample(np.ascontiguousarray(mono), d.rate, SAMPLE_RATE, quality="HQ")
    mono = np.pad(mono[:target], (0, max(0, target - mono.size)))
    if seconds < PAD_TO_SECONDS:
        mono = np.pad(mono, (0, round(PAD_TO_SECONDS * SAMPLE_RATE) - mono.size))
        warnings.append(f"The clip is {seconds:.2f} s long; "
                        f"it was padded with silence to {PAD_TO_SECONDS} s.")
    # resampling a clipped square wave overshoots a little; the contract is [-1, 1]
    wave = torch.from_numpy(np.clip(mono, -1.0, 1.0).astype(np.float32)).unsqueeze(0)  # (1, T)
    return Clip(wave, wave.shape[1] / SAMPLE_RATE, d.rate, d.channels, warnings)


def _check_layout(rate: int, channels: int) -> None:
    if not MIN_RATE <= rate <= MAX_RATE:
        raise AudioError(f"The sample rate is {rate} Hz; convert the audio to a rate "
                         f"between {MIN_RATE} and {MAX_RATE} Hz (for example 44100 Hz).")
    if not 1 <= channels <= MAX_CHANNELS:
        raise AudioError(f"The audio has {channels} channels; mix it down to at most "
                         f"{MAX_CHANNELS} (stereo or mono is best) and try again.")


def _from_array(source: tuple, max_seconds: float) -> _Decoded:
    """Gradio's (sample_rate, samples) tuple; samples (n,), (n, channels) or (channels, n)."""
    if len(source) != 2 or not isinstance(source[0], (int, np.integer)):
        raise AudioError("Expected a (sample_rate, samples) pair, as gr.Audio(type='numpy') gives.")
    rate, data = int(source[0]), _frames(np.asarray(source[1]))
    _check_layout(rate, data.shape[1])
    n = data.shape[0]
    mono = _mix_down(data[: int((max_seconds + 2 * _SLACK_S) * rate)])
    return _Decoded(mono, rate, data.shape[1], n / rate, [])


def _frames(data: np.ndarray) -> np.ndarray:
    """Samples as ``(n, channels)``: ``(n,)`` gets one channel, ``(channels, n)`` is turned round."""
    if data.ndim == 1:
        return data[:, None]
    if data.ndim == 2 and data.shape[0] < data.shape[1]:
        return data.T  # (channels, n) -> (n, channels)
    if data.ndim != 2:
        raise AudioError(f"Expected samples shaped (n,) or (n, channels), got {data.shape}.")
    return data


def to_mono(data) -> np.ndarray:
    """Integer or float samples, ``(n,)``, ``(n, channels)`` or ``(channels, n)``, as mono float32
    (integers scaled so that full scale is 1; the channels averaged)."""
    return _mix_down(_frames(np.asarray(data)))


def _mix_down(data: np.ndarray) -> np.ndarray:
    """``(n, channels)`` integer or float samples -> mono float32, full scale 1."""
    if data.dtype.kind == "i":
        data = data.astype(np.float32) / 2.0 ** (8 * data.itemsize - 1)
    elif data.dtype.kind == "u":
        half = 2.0 ** (8 * data.itemsize - 1)
        data = (data.astype(np.float32) - half) / half
    elif data.dtype.kind != "f":
        raise AudioError(f"Samples of type {data.dtype} are not audio; give integer or float samples.")
    return data.astype(np.float32).mean(axis=1)


def _from_path(path: Path, max_seconds: float) -> _Decoded:
    if path.is_dir():
        raise AudioError(f"The path '{path}' is a folder, not an audio file; pick a file inside it.")
    try:
        size = path.stat().st_size
        _check_size(size)  # before open(): a FIFO or device reports 0 bytes and would block
        with open(path, "rb") as f:
            head = f.read(512)
    except FileNotFoundError:
        raise AudioError(f"No file was found at '{path}'; check the path and try again.") from None
    except OSError as e:
        raise AudioError(f"The file '{path.name}' cannot be read ({e.strerror}); "
                         "check its permissions.") from None
    except AudioError:
        raise
    except ValueError:  # e.g. an embedded NUL byte
        raise AudioError(f"'{path}' is not a valid file path; pick the file again.") from None
    kind = _sniff(head)
    return _try_soundfile(str(path), kind, max_seconds) or _decode_ffmpeg(str(path), kind, max_seconds)


def _from_bytes(data: bytes, max_seconds: float) -> _Decoded:
    _check_size(len(data))
    kind = _sniff(data[:512])
    decoded = _try_soundfile(io.BytesIO(data), kind, max_seconds)
    if decoded:
        return decoded
    _require_ffmpeg(kind)
    # ffmpeg must seek in MP4/M4A (the index is often at the end), so a pipe will not do
    name = None
    try:
        with tempfile.NamedTemporaryFile(prefix=TEMP_PREFIX, suffix=".bin", delete=False) as tmp:
            name = tmp.name
            tmp.write(data)
        return _decode_ffmpeg(name, kind, max_seconds)
    except OSError as e:
        raise AudioError(f"The upload could not be staged for decoding ({e.strerror}); "
                         "free some disk space and try again.") from None
    finally:
        if name:
            Path(name).unlink(missing_ok=True)


def _check_size(size: int) -> None:
    if size == 0:
        raise AudioError("The file is empty (0 bytes); record or upload the clip again.")
    if size > MAX_UPLOAD_BYTES:
        raise AudioError(f"The file is {size / 2**20:.1f} MB, over the {MAX_UPLOAD_BYTES / 2**20:.1f} MB "
                         "upload limit; upload a shorter clip or a compressed format such as MP3.")


def _sniff(head: bytes) -> str:
    """Name the container from its first bytes; refuse what is clearly not audio."""
    kind = next((k for off, magic, k in _MAGIC if head[off: off + len(magic)] == magic), None)
    if kind is None and len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        kind = "MP3"  # an MPEG audio frame sync (MP3 without tags, or ADTS AAC)
    if kind is None and _looks_like_text(head):
        kind = "!a text file"
    if kind and kind.startswith("!"):
        raise AudioError(f"This looks like {kind[1:]}, not audio; upload a sound file such as {_FORMATS}.")
    return kind or "unknown"


def _looks_like_text(head: bytes) -> bool:
    text = head.decode("utf-8", "replace").rstrip("\ufffd")  # a cut multi-byte char at the end
    return "\ufffd" not in text and all(c.isprintable() or c in "\t\r\n\f" for c in text)


def _try_soundfile(src: str | io.BytesIO, kind: str, max_seconds: float) -> _Decoded | None:
    """Read the first max_seconds with soundfile, downmixing block by block; None if it cannot."""
    try:
        with sf.SoundFile(src) as f:
            _check_layout(f.samplerate, f.channels)
            limit, parts = int((max_seconds + 2 * _SLACK_S) * f.samplerate), []
            while limit > 0:
                block = f.read(min(limit, 1 << 18), dtype="float32", always_2d=True)  # (n, channels)
                if not len(block):
                    break
                parts.append(block.mean(axis=1))
                limit -= len(block)
            rate, channels, frames, info = f.samplerate, f.channels, f.frames, f.extra_info
    except AudioError:
        raise
    except Exception:  # libsndfile cannot read it (or only part of it): ffmpeg gets a go
        return None
    if not parts and (frames > 0 or kind not in _NATIVE_KINDS):  # e.g. a cut Ogg: ask ffmpeg
        return None
    mono = np.concatenate(parts) if parts else np.zeros(0, np.float32)
    warnings = []
    # libsndfile reads a WAV cut short without complaint, but logs "data : 32000 (should be 15978)"
    cut = re.search(r"^data : (\d+) \(should be (\d+)\)", info, re.MULTILINE)
    if cut and int(cut[2]) < int(cut[1]) < 0xFFFFFF00:
        warnings.append(_CUT_SHORT)
    return _Decoded(mono, rate, channels, frames / rate, warnings)


def _require_ffmpeg(kind: str) -> None:
    if shutil.which("ffmpeg") and shutil.which("ffprobe"):
        return
    if kind == "unknown" or kind in _NATIVE_KINDS:  # ffmpeg would not help: say what is wrong
        raise _undecodable(kind)
    raise AudioError(_NEEDS_FFMPEG)


def _undecodable(kind: str) -> AudioError:
    if kind == "unknown":
        return AudioError(f"This file is not in an audio format this app can read; upload {_FORMATS}.")
    return AudioError(f"This {kind} file could not be decoded; it may be truncated or damaged, "
                     "so export or record it again.")


def _run(cmd: list[str], what: str) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(cmd, capture_output=True, timeout=120, check=False)
    except subprocess.TimeoutExpired:
        raise AudioError(f"{what} took over 2 minutes; upload a shorter or simpler file.") from None
    except OSError:
        raise AudioError(_NEEDS_FFMPEG) from None


def _decode_ffmpeg(path: str, kind: str, max_seconds: float) -> _Decoded:
    """Probe the first audio stream with ffprobe, then decode it to mono f32 at its own rate."""
    _require_ffmpeg(kind)
    probe = _run(["ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries",
                  "stream=sample_rate,channels:format=duration", "-of", "json", path], "Reading the file")
    try:
        info = json.loads(probe.stdout or b"{}")
        stream = info.get("streams", [{}])[0]
        rate, channels = int(stream["sample_rate"]), int(stream["channels"])
    except (ValueError, KeyError, IndexError, TypeError):
        if kind in _VIDEO_KINDS and probe.returncode == 0:
            raise AudioError("This video has no audio track; upload a file with sound.") from None
        raise _undecodable(kind) from None
    _check_layout(rate, channels)
    try:
        total_s = float(info.get("format", {}).get("duration"))
    except (TypeError, ValueError):
        total_s = None  # browser-recorded WebM often carries no duration
    # ffmpeg's own downmix weights channels by -3 dB; the contract is a plain average
    mix = "+".join(f"{1 / channels:.9f}*c{i}" for i in range(channels))
    run = _run(["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-map", "0:a:0",
                "-t", f"{max_seconds + 2 * _SLACK_S:.3f}", "-af", f"pan=mono|c0={mix}",
                "-ar", str(rate), "-f", "f32le", "-"], "Decoding")
    mono = np.frombuffer(run.stdout, dtype="<f4").copy()
    warnings = []
    if run.returncode != 0:
        if mono.size == 0:
            raise _undecodable(kind)
        warnings.append("The file seems damaged or truncated; only the readable part was analysed.")
    return _Decoded(mono, rate, channels, total_s, warnings)
