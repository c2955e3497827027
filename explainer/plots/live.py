"""The Live tab's pictures, drawn straight into pixels: a stream updates twice a second, and a
matplotlib figure per update would cost more than the models do.

:func:`live_picture` is the scrolling log-mel of the last seconds with the frame model's class
strip beneath it; :func:`live_curve_picture` is the time curve of one model's map over the
latest seconds, on the waveform it explains.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageDraw

from .style import class_colors

if TYPE_CHECKING:
    from ..live import LiveListener

MEL_ROW_PX = 3  # picture rows per mel band
STRIP_PX = 26  # height of the class strip
AXIS_PX = 22  # height of the time axis under it
BACKGROUND = (32, 32, 40)
# the colour scale of the scaled log-mel: -100 dB (dark) to +10 dB (bright), the same for every stream
MEL_RANGE = (-2.5, 3.0)


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    h = hex_colour.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def _lut(name: str) -> np.ndarray:
    import matplotlib

    return (matplotlib.colormaps[name](np.linspace(0, 1, 256))[:, :3] * 255).astype(np.uint8)


_MAGMA: np.ndarray | None = None


def _font():
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=13)
    except TypeError:  # Pillow before 10.1 has one size only
        return ImageFont.load_default()


def live_picture(listener: LiveListener) -> np.ndarray:
    """``(H, W, 3)`` uint8: the last :data:`explainer.live.WINDOW_S` seconds, newest on the right.

    Top: the scaled log-mel, one pixel column per 10 ms frame, low frequencies at the bottom.
    Below it: the winning class of the frame model for every frame. A causal model never
    revises a frame, so the strip only ever grows at the right edge.
    """
    global _MAGMA
    if _MAGMA is None:
        _MAGMA = _lut("magma")
    width = listener.keep_frames
    mel_h = listener.n_mels * MEL_ROW_PX
    pic = np.empty((mel_h + STRIP_PX + AXIS_PX, width, 3), np.uint8)
    pic[:] = BACKGROUND
    frames = listener.frame_probs.shape[1]
    if frames:
        mel = listener.mel[:, -frames:]
        lo, hi = MEL_RANGE
        idx = np.clip((mel - lo) / (hi - lo) * 255, 0, 255).astype(np.uint8)[::-1]  # low bands at the bottom
        block = np.repeat(_MAGMA[idx], MEL_ROW_PX, axis=0)  # (mel_h, frames, 3)
        pic[:mel_h, width - frames:] = block
        colours = class_colors(list(listener.model_set.classes))
        palette = np.array([_rgb(colours[c]) for c in listener.model_set.classes], np.uint8)
        pic[mel_h + 2: mel_h + STRIP_PX - 2, width - frames:] = palette[listener.frame_probs.argmax(0)][None]
    pic[mel_h + STRIP_PX:] = 255
    img = Image.fromarray(pic)
    draw = ImageDraw.Draw(img)
    font = _font()
    per_s = 1.0 / listener.frame_s  # pixels per second
    seconds = int(round(width / per_s))
    for s in range(seconds, -1, -2):
        x = width - 1 - int(round(s * per_s))
        draw.line([(x, mel_h + STRIP_PX), (x, mel_h + STRIP_PX + 4)], fill=(0, 0, 0))
        label = "now" if s == 0 else f"-{s} s"
        tw = draw.textlength(label, font=font)
        draw.text((min(max(0, x - tw / 2), width - tw - 1), mel_h + STRIP_PX + 5), label, fill=(0, 0, 0), font=font)
    return np.asarray(img)


def live_curve_picture(listener: LiveListener, width: int = 500, height: int = 110) -> np.ndarray | None:
    """``(height, width, 3)`` uint8: the waveform of the latest seconds in grey, and the time curve of
    the chosen model's map over them in orange (its evidence for the answer); ``None`` before any."""
    if listener.curve is None:
        return None
    wave = listener.recent(len(listener.curve) * 0.01)
    pic = np.full((height, width, 3), 255, np.uint8)
    mid = height // 2
    if wave.size:
        peak = float(np.abs(wave).max()) or 1.0
        cols = np.array_split(wave / peak, width)
        for x, c in enumerate(cols):
            if c.size:
                top, bottom = int(mid - 0.45 * height * c.max()), int(mid - 0.45 * height * c.min())
                pic[max(0, top): min(height, bottom + 1), x] = (170, 176, 186)
    curve = np.asarray(listener.curve, dtype=np.float32)
    if curve.size:
        xs = np.linspace(0, curve.size - 1, width)
        values = np.interp(xs, np.arange(curve.size), curve)
        for x, v in enumerate(values):
            h = int(round(v * (height - 4)))
            if h > 0:  # orange over the grey wave, a little see-through
                pic[height - h:, x] = (0.3 * pic[height - h:, x] + 0.7 * np.array((230, 159, 0))).astype(np.uint8)
    return pic
