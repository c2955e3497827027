"""The Debian programs behind speech, music and percussion, and how we call them.

Every call is a plain subprocess with arguments (no shell), writing into a temporary folder
that the caller owns. Outputs are read back as float mono and resampled to 16 kHz.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np

from .config import SAMPLE_RATE, DataConfig

DEFAULT_SOUNDFONT = "/usr/share/sounds/sf2/FluidR3_GM.sf2"

# Program name -> the Debian package that provides it.
_PROGRAMS = {"espeak-ng": "espeak-ng", "flite": "flite", "fluidsynth": "fluidsynth"}
# Which packages each tool-backed class needs.
_NEEDS = {
    "speech": ("espeak-ng", "flite"),
    "music": ("fluidsynth", "fluid-soundfont-gm"),
    "percussion": ("fluidsynth", "fluid-soundfont-gm"),
}


class MissingToolError(RuntimeError):
    """A Debian package that the generator needs is not installed."""


def missing_tools(soundfont: str = DEFAULT_SOUNDFONT) -> list[str]:
    """Debian packages that the speech, music and percussion classes need but are absent.

    Args:
        soundfont: the SoundFont file that stands for ``fluid-soundfont-gm``.

    Returns:
        Package names, e.g. ``["flite", "fluid-soundfont-gm"]``; empty when all are present.
    """
    missing = [pkg for prog, pkg in _PROGRAMS.items() if shutil.which(prog) is None]
    if not Path(soundfont).is_file():
        missing.append("fluid-soundfont-gm")
    return missing


def require_tools(config: DataConfig) -> None:
    """Raise MissingToolError naming the packages to install for ``config``.

    Checks the programs of ``config.classes``, ffmpeg when the codec augmentation is on,
    and, when ``config.use_real``, the packages of real recordings (`real.REQUIRED`).
    """
    from . import real

    absent = set(missing_tools(config.soundfont))
    needed = sorted({pkg for cls in config.classes for pkg in _NEEDS.get(cls, ()) if pkg in absent})
    if needed:
        classes = [c for c in config.classes if set(_NEEDS.get(c, ())) & absent]
        raise MissingToolError(
            f"the classes {classes} need Debian packages that are not installed: "
            f"{', '.join(needed)}. Install them with: apt-get install -y {' '.join(needed)} "
            f"(or generate only the numpy classes: --classes tone,noise,silence, or "
            f"DataConfig(classes=('tone', 'noise', 'silence')))")
    if config.augment.p_codec > 0 and shutil.which("ffmpeg") is None:
        raise MissingToolError(
            "the codec augmentation (Opus/WebM and MP3 round trips) needs ffmpeg: "
            "apt-get install -y ffmpeg (or AugmentConfig(p_codec=0))")
    real_classes = [c for c in config.classes if config.real_share.get(c, 0.0) > 0]
    if config.use_real and real_classes:
        lacking = real.missing(real.discover(config.real_root))
        if lacking:
            raise MissingToolError(
                f"real recordings for {real_classes} come from Debian packages that are not "
                f"installed: {', '.join(lacking)}. Install them with: apt-get install -y "
                f"{' '.join(lacking)} (optional extras: {' '.join(p for p in real.PACKAGES if p not in real.REQUIRED)}), "
                f"or generate without real recordings: --no-real, or DataConfig(use_real=False)")


def espeak_variants() -> list[str]:
    """Names of espeak-ng's voice variants (``+f3``, ``+croak`` ...), from ``--voices=variant``."""
    out = _run(["espeak-ng", "--voices=variant"]).decode("utf-8", "replace")
    names = set()
    for line in out.splitlines()[1:]:
        cols = line.split()
        # Columns: Pty Language Age/Gender VoiceName File; the file is "!v/<variant>".
        if len(cols) >= 5 and cols[4].startswith("!v/"):
            names.add(cols[4][3:])
    return sorted(names)


def espeak_languages() -> list[str]:
    """espeak-ng's language voice names (``en-us``, ``de`` ...), from ``--voices``."""
    out = _run(["espeak-ng", "--voices"]).decode("utf-8", "replace")
    names = {line.split()[1] for line in out.splitlines()[1:] if len(line.split()) >= 2}
    return sorted(names)


def flite_voices() -> list[str]:
    """flite's built-in voices, from ``flite -lv``."""
    out = _run(["flite", "-lv"]).decode("utf-8", "replace")
    return out.split(":", 1)[1].split() if ":" in out else out.split()


def espeak_render(text: str, voice: str, rate: int, pitch: int, word_gap: int,
                  path: Path) -> np.ndarray:
    """Speak ``text`` with espeak-ng and return the 16 kHz mono waveform.

    Args:
        text: what to say.
        voice: ``language+variant`` such as ``en-us+f3``.
        rate: words per minute (espeak ``-s``).
        pitch: 0..99 (espeak ``-p``).
        word_gap: extra pause between words in units of 10 ms (espeak ``-g``).
        path: where espeak writes its 22.05 kHz wav.

    Returns:
        Waveform (samples,) float32 at 16 kHz.
    """
    _run(["espeak-ng", "-v", voice, "-s", str(rate), "-p", str(pitch), "-g", str(word_gap),
          "-w", str(path), "--", text])
    return read_mono(path)


def flite_render(text: str, voice: str, stretch: float, path: Path) -> np.ndarray:
    """Speak ``text`` with flite and return the 16 kHz mono waveform (samples,) float32.

    ``stretch`` is flite's ``duration_stretch``: above 1 is slower speech.
    """
    _run(["flite", "-voice", voice, "--setf", f"duration_stretch={stretch:.3f}",
          "-t", text, "-o", str(path)])
    return read_mono(path)


def fluidsynth_render(midi_path: Path, wav_path: Path, config: DataConfig) -> np.ndarray:
    """Render a MIDI file with fluidsynth and the GM SoundFont.

    Reverb and chorus are off: the augmentation adds rooms itself, and fluidsynth's tails
    would leak from one batch slot into the next. Float output avoids fluidsynth's dither.

    Returns:
        Waveform (samples,) float32 at 16 kHz, the stereo render averaged to mono.
    """
    _run(["fluidsynth", "-ni", "-q", "-R", "0", "-C", "0", "-T", "wav", "-O", "float",
          "-r", str(config.render_rate), "-F", str(wav_path), config.soundfont, str(midi_path)])
    return read_mono(wav_path)


def read_mono(path: Path) -> np.ndarray:
    """Read a wav file as float32 mono at 16 kHz (averaging channels, resampling with soxr)."""
    import soundfile as sf  # runtime dependency; imported here so numpy-only use stays light
    import soxr

    audio, sr = sf.read(str(path), dtype="float32", always_2d=True)
    mono = audio.mean(axis=1)
    if sr != SAMPLE_RATE:
        mono = soxr.resample(mono, sr, SAMPLE_RATE, quality="HQ")
    return np.ascontiguousarray(mono, dtype=np.float32)


def _run(args: list[str]) -> bytes:
    """Run a program, raising a RuntimeError that shows its stderr when it fails."""
    try:
        done = subprocess.run(args, capture_output=True, timeout=120, check=False)
    except FileNotFoundError as err:
        pkg = _PROGRAMS.get(args[0], args[0])
        raise MissingToolError(f"{args[0]} is not installed: apt-get install -y {pkg}") from err
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:4])} ... failed ({done.returncode}): "
                           f"{done.stderr.decode('utf-8', 'replace')[-500:]}")
    return done.stdout
