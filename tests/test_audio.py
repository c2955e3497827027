"""explainer.audio.load: every format, rate, width and layout a user may give, and every refusal.

All inputs are made here with numpy, soundfile and the ffmpeg binary; nothing is downloaded.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from explainer import audio
from explainer.audio import AudioError, load

HAVE_FFMPEG = shutil.which("ffmpeg") is not None and shutil.which("ffprobe") is not None
needs_ffmpeg = pytest.mark.skipif(not HAVE_FFMPEG, reason="the ffmpeg and ffprobe binaries are not installed")
FREQ, AMP = 440.0, 0.5


def sine(rate: int, seconds: float = 1.0, channels: int = 1, amp: float = AMP) -> np.ndarray:
    """(n, channels) float64: the same 440 Hz sine on every channel."""
    t = np.arange(round(rate * seconds)) / rate
    return np.repeat((amp * np.sin(2 * np.pi * FREQ * t))[:, None], channels, axis=1)


def dominant_hz(clip: audio.Clip) -> float:
    x = clip.waveform[0].double().numpy()
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    return float(np.argmax(spectrum)) * clip.sample_rate / x.size


def check(clip: audio.Clip, seconds: float, tol: float = 0.01, freq: bool = True) -> None:
    wave = clip.waveform
    assert isinstance(wave, torch.Tensor) and wave.dtype == torch.float32
    assert wave.ndim == 2 and wave.shape[0] == 1
    assert clip.sample_rate == audio.SAMPLE_RATE == 16000
    assert torch.isfinite(wave).all() and wave.abs().max() <= 1.0
    assert clip.duration_s == pytest.approx(wave.shape[1] / 16000)
    assert clip.duration_s == pytest.approx(seconds, abs=tol)
    if freq:
        assert abs(dominant_hz(clip) - FREQ) <= 3.0


def load_both(path: Path, **kw) -> list[audio.Clip]:
    """Load a file by path and from its bytes; the two must agree."""
    by_path, by_bytes = load(path, **kw), load(path.read_bytes(), **kw)
    assert torch.equal(by_path.waveform, by_bytes.waveform)
    assert (by_path.source_sample_rate, by_path.source_channels) == (
        by_bytes.source_sample_rate, by_bytes.source_channels)
    return [by_path, by_bytes]


def refuse(source, **kw) -> str:
    """The load must fail with exactly AudioError and a sentence that says what to do."""
    with pytest.raises(AudioError) as info:
        load(source, **kw)
    assert type(info.value) is AudioError and isinstance(info.value, ValueError)
    message = str(info.value)
    assert message and message[0].isupper() and message.endswith(".")
    return message


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args], check=True)


def temp_files() -> set[str]:
    return set(glob.glob(os.path.join(tempfile.gettempdir(), audio.TEMP_PREFIX + "*")))


@pytest.fixture
def staged(monkeypatch) -> list[str]:
    """Names of the temporary files the loader makes, so a test can tell 'removed' from 'never made'."""
    names, real = [], tempfile.NamedTemporaryFile

    def spy(*args, **kwargs):
        f = real(*args, **kwargs)
        names.append(f.name)
        return f

    monkeypatch.setattr(audio.tempfile, "NamedTemporaryFile", spy)
    return names


# --- soundfile formats ------------------------------------------------------------------------

@pytest.mark.parametrize("rate", [8000, 11025, 22050, 44100, 48000, 96000, 192000])
def test_every_rate(tmp_path, rate):
    path = tmp_path / "clip.wav"
    sf.write(path, sine(rate), rate, subtype="PCM_16")
    for clip in load_both(path):
        check(clip, 1.0)
        assert clip.source_sample_rate == rate and clip.source_channels == 1 and clip.warnings == []


@pytest.mark.parametrize("fmt", ["wav", "flac"])
@pytest.mark.parametrize("channels", [1, 2, 6, 8])
def test_channels_are_averaged(tmp_path, fmt, channels):
    path = tmp_path / f"clip.{fmt}"
    sf.write(path, sine(44100, channels=channels), 44100, subtype="PCM_16")
    for clip in load_both(path):
        check(clip, 1.0)
        assert clip.source_channels == channels
        assert clip.waveform.abs().max().item() == pytest.approx(AMP, abs=0.01)


def test_downmix_is_a_plain_average(tmp_path):
    data = sine(16000, channels=2)
    data[:, 1] = 0.0
    sf.write(tmp_path / "left.wav", data, 16000)
    clip = load(tmp_path / "left.wav")
    assert clip.waveform.abs().max().item() == pytest.approx(AMP / 2, abs=0.001)


@pytest.mark.parametrize("fmt,subtype", [
    ("wav", "PCM_U8"), ("wav", "PCM_16"), ("wav", "PCM_24"), ("wav", "PCM_32"), ("wav", "FLOAT"),
    ("wav", "DOUBLE"), ("flac", "PCM_S8"), ("flac", "PCM_16"), ("flac", "PCM_24"),
])
def test_every_sample_width(tmp_path, fmt, subtype):
    path = tmp_path / f"clip.{fmt}"
    sf.write(path, sine(22050, channels=2), 22050, subtype=subtype)
    for clip in load_both(path):
        check(clip, 1.0)
        assert clip.waveform.abs().max().item() == pytest.approx(AMP, abs=0.02)


@pytest.mark.parametrize("subtype", ["PCM_24", "FLOAT"])
@pytest.mark.parametrize("channels", [2, 8])
@pytest.mark.parametrize("rate", [8000, 22050, 192000])
def test_rate_layout_width_combinations(tmp_path, rate, channels, subtype):
    path = tmp_path / "clip.wav"
    sf.write(path, sine(rate, 0.6, channels), rate, subtype=subtype)
    clip = load(path.read_bytes())
    check(clip, 1.0, freq=False)  # 0.6 s is padded to 1.0 s
    assert (clip.source_sample_rate, clip.source_channels) == (rate, channels)


def test_upper_case_wav_extension(tmp_path):
    path = tmp_path / "CLIP.WAV"
    sf.write(path, sine(48000), 48000)
    for clip in load_both(path):
        check(clip, 1.0)


# --- compressed formats and video, through soundfile or ffmpeg -------------------------------

COMPRESSED = {  # file name: ffmpeg output options
    "clip.ogg": ["-c:a", "libvorbis"],
    "clip.opus": ["-c:a", "libopus"],
    "clip.mp3": ["-c:a", "libmp3lame"],
    "CLIP.MP3": ["-c:a", "libmp3lame"],
    "clip.m4a": ["-c:a", "aac"],
    "clip.webm": ["-c:a", "libopus"],
}


@pytest.fixture(scope="module")
def encoded(tmp_path_factory) -> Path:
    """A 1.5 s stereo 44.1 kHz sine in every compressed format, and two videos with sound."""
    if not HAVE_FFMPEG:
        pytest.skip("the ffmpeg binary is needed to make compressed test files")
    folder = tmp_path_factory.mktemp("encoded")
    sf.write(folder / "source.wav", sine(44100, 1.5, 2), 44100)
    for name, options in COMPRESSED.items():
        ffmpeg("-i", str(folder / "source.wav"), *options, str(folder / name))
    video = ["-f", "lavfi", "-i", "testsrc=size=64x48:rate=10:duration=1.5", "-i", str(folder / "source.wav"),
             "-c:v", "libx264", "-c:a", "aac", "-shortest"]
    ffmpeg(*video, str(folder / "video.mp4"))
    ffmpeg(*video, str(folder / "video.MKV"))
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48:rate=10:duration=1", "-c:v", "libx264",
           str(folder / "silent_video.mp4"))
    return folder


@needs_ffmpeg
@pytest.mark.parametrize("name", [*COMPRESSED, "video.mp4", "video.MKV"])
def test_compressed_formats_and_video(encoded, name):
    for clip in load_both(encoded / name):
        check(clip, 1.5, tol=0.06)
        assert clip.source_channels == 2
        assert clip.source_sample_rate == (48000 if "opus" in str(COMPRESSED.get(name)) else 44100)
        assert clip.waveform.abs().max().item() == pytest.approx(AMP, abs=0.06)


@needs_ffmpeg
def test_no_temp_file_left_behind(encoded, staged):
    before = temp_files()
    check(load((encoded / "clip.m4a").read_bytes()), 1.5, tol=0.06)
    assert "no audio track" in refuse((encoded / "silent_video.mp4").read_bytes())
    assert "could not be decoded" in refuse((encoded / "clip.m4a").read_bytes()[:3000])  # truncated: the index is lost
    assert len(staged) == 3 and all(Path(n).name.startswith(audio.TEMP_PREFIX) for n in staged)
    assert not any(Path(n).exists() for n in staged)
    assert temp_files() == before


@needs_ffmpeg
@pytest.mark.parametrize("name", ["clip.flac", "clip.mp3", "clip.webm", "faststart.m4a"])
def test_compressed_file_cut_short_is_read_with_a_warning(encoded, tmp_path, name):
    path = encoded / name
    if name == "faststart.m4a":  # the index first, as phones write it, so the start survives a cut
        path = tmp_path / name
        ffmpeg("-i", str(encoded / "source.wav"), "-c:a", "aac", "-movflags", "+faststart", str(path))
    if name == "clip.flac":
        path = tmp_path / name
        sf.write(path, sine(44100, 1.5, 2), 44100)
    data = path.read_bytes()
    clip = load(data[: len(data) * 2 // 3])
    assert 0.7 < clip.duration_s < 1.3
    assert audio._CUT_SHORT in clip.warnings
    check(clip, clip.duration_s, freq=False)


@needs_ffmpeg
def test_cut_ogg_is_refused(encoded):
    data = (encoded / "clip.ogg").read_bytes()
    assert "truncated" in refuse(data[: len(data) // 3])


@needs_ffmpeg
@pytest.mark.parametrize("error,message", [(OSError(2, "No such file"), audio._NEEDS_FFMPEG),
                                           (subprocess.TimeoutExpired("ffmpeg", 120), "took over 2 minutes")],
                         ids=["oserror", "timeout"])
def test_subprocess_failures_become_audio_errors(encoded, monkeypatch, staged, error, message):
    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(audio.subprocess, "run", fail)
    before = temp_files()
    assert message in refuse(encoded / "clip.m4a")
    assert message in refuse((encoded / "clip.m4a").read_bytes())
    assert len(staged) == 1 and not Path(staged[0]).exists()  # the bytes were staged, then removed
    assert temp_files() == before


@needs_ffmpeg
def test_video_without_sound_is_refused(encoded):
    assert "no audio track" in refuse(encoded / "silent_video.mp4")


@needs_ffmpeg
def test_missing_ffmpeg_is_explained(encoded, monkeypatch):
    monkeypatch.setattr(audio.shutil, "which", lambda name: None)
    assert refuse(encoded / "clip.m4a") == audio._NEEDS_FFMPEG
    assert refuse((encoded / "clip.webm").read_bytes()) == audio._NEEDS_FFMPEG
    check(load(encoded / "source.wav"), 1.5)  # WAV never needs ffmpeg


# --- Gradio's (sample_rate, numpy array) tuple ------------------------------------------------

@pytest.mark.parametrize("kind", ["int16", "int16_stereo", "int16_channels_first", "int32", "uint8",
                                  "float32", "float64_stereo"])
def test_gradio_tuple(kind):
    x = sine(24000)[:, 0]
    samples = {
        "int16": (x * 32767).astype(np.int16),
        "int16_stereo": (np.stack([x, x], axis=1) * 32767).astype(np.int16),  # (n, 2)
        "int16_channels_first": (np.stack([x, x]) * 32767).astype(np.int16),  # (2, n)
        "int32": (x * (2**31 - 1)).astype(np.int32),
        "uint8": (x * 127 + 128).astype(np.uint8),
        "float32": x.astype(np.float32),
        "float64_stereo": np.stack([x, x], axis=1),
    }[kind]
    clip = load((24000, samples))
    check(clip, 1.0)
    assert clip.source_sample_rate == 24000
    assert clip.source_channels == (2 if "stereo" in kind or "first" in kind else 1)
    assert clip.waveform.abs().max().item() == pytest.approx(AMP, abs=0.02)


@pytest.mark.parametrize("rate,max_seconds", [(8000, 30.0), (11025, 2.5), (44100, 1.7), (192000, 3.3)])
def test_gradio_tuple_long_is_cropped_exactly(rate, max_seconds):
    samples = (sine(rate, 45.0 if rate == 8000 else 5.0)[:, 0] * 32767).astype(np.int16)
    clip = load((rate, samples), max_seconds=max_seconds)
    assert clip.waveform.shape == (1, round(max_seconds * 16000))
    assert clip.warnings == [f"Only the first {max_seconds:.1f} s of {samples.size / rate:.1f} s were analysed."]
    check(clip, max_seconds)


# --- awkward but valid audio ------------------------------------------------------------------

@pytest.mark.parametrize("as_file", [True, False])
def test_digital_silence(tmp_path, as_file):
    silence = np.zeros((44100, 2), np.int16)
    sf.write(tmp_path / "silence.wav", silence, 44100)
    clip = load(tmp_path / "silence.wav") if as_file else load((44100, silence))
    check(clip, 1.0, freq=False)
    assert torch.count_nonzero(clip.waveform) == 0


def test_dc_offset(tmp_path):
    sf.write(tmp_path / "dc.wav", sine(44100, amp=0.3) + 0.4, 44100, subtype="PCM_16")
    clip = load(tmp_path / "dc.wav")
    check(clip, 1.0, freq=False)
    assert clip.waveform.mean().item() == pytest.approx(0.4, abs=0.01)


def test_clipped_audio(tmp_path):
    sf.write(tmp_path / "loud.wav", np.clip(sine(44100, amp=3.0), -1, 1), 44100, subtype="PCM_16")
    clip = load(tmp_path / "loud.wav")
    check(clip, 1.0)
    assert clip.waveform.abs().max().item() > 0.99


def test_float_beyond_full_scale_is_clamped_with_a_warning(tmp_path):
    sf.write(tmp_path / "hot.wav", sine(48000, amp=2.0), 48000, subtype="FLOAT")
    clip = load(tmp_path / "hot.wav")
    check(clip, 1.0)
    assert any("clipped" in w for w in clip.warnings)


def test_short_clip_is_padded_to_one_second(tmp_path):
    sf.write(tmp_path / "short.wav", sine(44100, 0.5), 44100)
    clip = load(tmp_path / "short.wav")
    check(clip, 1.0, freq=False)
    assert clip.waveform[0, 8100:].abs().max() == 0  # the padding is silence
    assert clip.warnings == ["The clip is 0.50 s long; it was padded with silence to 1.0 s."]
    check(load((16000, np.ones(4000, np.float32) * 0.1)), 1.0, freq=False)  # exactly MIN_SECONDS


def test_wav_cut_mid_data_is_read_with_a_warning(tmp_path):
    sf.write(tmp_path / "full.wav", sine(16000, 2.0), 16000, subtype="PCM_16")
    data = (tmp_path / "full.wav").read_bytes()
    (tmp_path / "cut.wav").write_bytes(data[: len(data) // 2])
    clip = load(tmp_path / "cut.wav")
    check(clip, 1.0, tol=0.01)
    assert any("ends earlier" in w for w in clip.warnings)


# --- long files are never read whole ----------------------------------------------------------

@pytest.mark.parametrize("max_seconds", [30.0, 7.3])
def test_ten_minute_wav(tmp_path, max_seconds):
    path, rate = tmp_path / "long.wav", 22050
    block = (sine(rate, 10.0) * 32767).astype(np.int16)
    with sf.SoundFile(path, "w", samplerate=rate, channels=1, subtype="PCM_16") as f:
        for _ in range(60):
            f.write(block)
    tracemalloc.start()
    try:
        clip = load(path, max_seconds=max_seconds)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2**20  # the whole file as float32 would be 53 MB
    assert clip.waveform.shape == (1, round(max_seconds * 16000))
    assert clip.warnings == [f"Only the first {max_seconds:.1f} s of 600.0 s were analysed."]
    check(clip, max_seconds)


@needs_ffmpeg
def test_ten_minute_compressed_file(tmp_path):
    path = tmp_path / "long.m4a"
    ffmpeg("-f", "lavfi", "-i", "sine=f=440:d=600:sample_rate=8000", "-c:a", "aac", "-b:a", "8k", str(path))
    for clip in load_both(path):
        assert clip.waveform.shape == (1, 30 * 16000)
        assert clip.warnings == ["Only the first 30.0 s of 600.0 s were analysed."]
        check(clip, 30.0)


@needs_ffmpeg
def test_long_browser_recording_without_duration(tmp_path):
    # a WebM written to a pipe has no duration, like a browser's MediaRecorder output
    path = tmp_path / "recording.webm"
    with open(path, "wb") as out:
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", "sine=f=440:d=40",
                        "-c:a", "libopus", "-b:a", "12k", "-f", "webm", "pipe:1"], stdout=out, check=True)
    clip = load(path.read_bytes())
    assert clip.waveform.shape == (1, 30 * 16000)
    assert clip.warnings == ["Only the first 30.0 s were analysed."]


# --- refusals ---------------------------------------------------------------------------------

def wav_bytes(data: np.ndarray, rate: int = 16000, subtype: str = "PCM_16") -> bytes:
    path = Path(tempfile.mkdtemp()) / "x.wav"
    try:
        sf.write(path, data, rate, subtype=subtype)
        return path.read_bytes()
    finally:
        shutil.rmtree(path.parent)


def nan_samples() -> np.ndarray:
    x = sine(16000).astype(np.float32)
    x[100] = np.nan
    return x


def inf_samples() -> np.ndarray:
    x = sine(16000).astype(np.float32)
    x[100] = np.inf
    return x


BAD_FILES = {  # case: (file bytes, a word the message must contain)
    "empty": (lambda: b"", "empty"),
    "header_only": (lambda: wav_bytes(np.zeros((0, 1))), "no samples"),
    "truncated_header": (lambda: wav_bytes(sine(16000))[:30], "truncated"),
    "truncated_flac": (lambda: b"fLaC" + bytes(60), "truncated"),
    "random_bytes": (lambda: b"\x00\x17" + np.random.default_rng(0).bytes(8000), "audio format"),
    "text": (lambda: "These are my notes, not a sound.\n".encode() * 20, "text file"),
    "png": (lambda: b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200), "PNG image"),
    "jpeg": (lambda: b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(200), "JPEG image"),
    "nan": (lambda: wav_bytes(nan_samples(), subtype="FLOAT"), "NaN"),
    "inf": (lambda: wav_bytes(inf_samples(), subtype="FLOAT"), "infinite"),
    "too_short": (lambda: wav_bytes(sine(16000, 0.05)), "0.05 s"),
    "nine_channels": (lambda: wav_bytes(sine(16000, channels=9)), "9 channels"),
    "rate_too_low": (lambda: wav_bytes(sine(4000), rate=4000), "4000 Hz"),
    "rate_too_high": (lambda: wav_bytes(sine(384000, 0.3), rate=384000), "384000 Hz"),
}


@pytest.mark.parametrize("as_path", [True, False], ids=["path", "bytes"])
@pytest.mark.parametrize("case", BAD_FILES)
def test_bad_files_are_refused(tmp_path, case, as_path):
    make, word = BAD_FILES[case]
    data = make()
    if as_path:
        (tmp_path / "upload.wav").write_bytes(data)
    message = refuse(tmp_path / "upload.wav" if as_path else data)
    assert word in message


def test_too_short_message_is_exact():
    assert refuse((16000, np.zeros(800, np.int16))) == (
        "The clip is only 0.05 s long; record or upload at least 0.25 s of sound.")


@pytest.mark.parametrize("source,words", [
    ((16000, np.zeros((16000, 9), np.int16)), "9 channels"),
    ((16000, np.zeros((9, 16000), np.float32)), "9 channels"),
    ((4000, np.zeros(16000, np.int16)), "4000 Hz"),
    ((16000, np.array([[0.0, np.nan]] * 16000)), "NaN"),
    ((16000, np.zeros(0, np.int16)), "no samples"),
    ((16000, np.zeros((2, 2, 16000))), "(n,) or (n, channels)"),
    ((16000, np.array(["a"] * 16000)), "are not audio"),
    (("16000", np.zeros(16000)), "(sample_rate, samples) pair"),
    ((16000,), "(sample_rate, samples) pair"),
], ids=["9ch", "9ch_first", "4kHz", "nan", "empty", "3d", "strings", "rate_str", "no_array"])
def test_bad_gradio_tuples_are_refused(source, words):
    assert words in refuse(source)


def test_oversized_upload_is_refused_before_decoding(tmp_path, monkeypatch):
    sf.write(tmp_path / "big.wav", sine(16000, 2.0), 16000)
    monkeypatch.setattr(audio, "MAX_UPLOAD_BYTES", 1000)
    monkeypatch.setattr(audio.sf, "SoundFile", lambda *a, **k: pytest.fail("decoded an oversized file"))
    assert "upload limit" in refuse(tmp_path / "big.wav")
    assert "upload limit" in refuse((tmp_path / "big.wav").read_bytes())


def test_missing_path(tmp_path):
    assert "No file was found" in refuse(tmp_path / "nope.wav")
    assert "No file was found" in refuse(str(tmp_path / "nope.wav"))


def test_directory(tmp_path):
    assert "folder" in refuse(tmp_path)


def test_unreadable_file(tmp_path, monkeypatch):
    sf.write(tmp_path / "locked.wav", sine(16000), 16000)

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(audio, "open", denied, raising=False)
    assert "Permission denied" in refuse(tmp_path / "locked.wav")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can read any file")
def test_unreadable_file_permissions(tmp_path):
    path = tmp_path / "locked.wav"
    sf.write(path, sine(16000), 16000)
    path.chmod(0)
    assert "permissions" in refuse(path)


def test_nothing_or_the_wrong_type():
    assert refuse(None) == "No audio was given; record or upload a clip."
    assert refuse(12345).startswith("Cannot read audio from a int;")
    assert refuse(np.zeros(16000)).startswith("Cannot read audio from a ndarray;")


@pytest.mark.parametrize("max_seconds", [0, -1.0, float("inf"), float("nan")])
def test_bad_max_seconds_is_a_programming_error(max_seconds):
    with pytest.raises(ValueError, match="max_seconds must be positive and finite") as info:
        load((16000, np.zeros(16000)), max_seconds=max_seconds)
    assert not isinstance(info.value, AudioError)  # a caller's mistake, not a user's file
