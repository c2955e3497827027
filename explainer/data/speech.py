"""The speech class: random sentences spoken by espeak-ng and flite voices.

Text is composed from small word lists (English words, made-up words built from common
syllables, numbers) so no corpus is needed and every clip says something new. Voices of
other languages read the same text with their own phonology, which is still speech.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import tools
from .config import SAMPLE_RATE

_NOUNS = (
    "house river teacher window garden music dog cat bird city morning evening table paper "
    "water mountain student friend story question answer school forest ocean computer sound "
    "picture market train station doctor kitchen summer winter road bridge island letter "
    "voice animal planet language number problem idea family village lesson clock apple "
    "bottle flower engine island desert castle candle pencil basket ticket camera"
).split()
_VERBS = (
    "sees likes finds opens closes builds reads writes hears makes takes gives brings wants "
    "needs watches follows carries paints cleans visits remembers explains counts moves "
    "starts stops helps sings plays calls"
).split()
_ADJECTIVES = (
    "red small big old new quiet loud happy bright dark green early late warm cold quick "
    "slow strange simple yellow heavy light young gentle famous busy empty"
).split()
_ADVERBS = "today slowly quickly again later often never always outside together".split()
_QUESTION = ("where is", "what is", "why does", "when will", "how many", "who has", "can you see")
_ONSETS = ("b", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "z",
           "ch", "sh", "br", "tr", "st", "pl", "gr", "")
_VOWELS = ("a", "e", "i", "o", "u", "ai", "ou", "ee", "oo", "ia")
_CODAS = ("", "", "", "n", "m", "s", "t", "l", "r", "k")
_HOURS = ("one two three four five six seven eight nine ten eleven twelve").split()
_PARTS = ("five past", "ten past", "a quarter past", "twenty past", "half past",
          "twenty to", "a quarter to", "ten to", "five to", "exactly")


def _choice(rng: np.random.Generator, items) -> str:
    return items[int(rng.integers(len(items)))]


def _english_sentence(rng: np.random.Generator) -> str:
    form = rng.integers(4)
    if form == 0:
        return (f"the {_choice(rng, _ADJECTIVES)} {_choice(rng, _NOUNS)} {_choice(rng, _VERBS)} "
                f"the {_choice(rng, _NOUNS)} {_choice(rng, _ADVERBS)}.")
    if form == 1:
        return f"{_choice(rng, _QUESTION)} the {_choice(rng, _ADJECTIVES)} {_choice(rng, _NOUNS)}?"
    if form == 2:
        return (f"my {_choice(rng, _NOUNS)} and the {_choice(rng, _NOUNS)} are "
                f"{_choice(rng, _ADJECTIVES)}, {_choice(rng, _ADVERBS)}.")
    return f"{int(rng.integers(2, 999))} {_choice(rng, _NOUNS)}s, {int(rng.integers(1, 99))} {_choice(rng, _NOUNS)}s."


def _pseudo_sentence(rng: np.random.Generator) -> str:
    words = []
    for _ in range(int(rng.integers(3, 8))):
        syllables = int(rng.integers(1, 4))
        words.append("".join(_choice(rng, _ONSETS) + _choice(rng, _VOWELS) + _choice(rng, _CODAS)
                             for _ in range(syllables)))
    return " ".join(words) + _choice(rng, (".", ",", "?", "!"))


def _time_sentence(rng: np.random.Generator) -> str:
    # flite's awb_time voice is a limited-domain voice that only speaks the time well.
    return (f"The time is now, {_choice(rng, ('just after', 'a little after', 'almost', ''))} "
            f"{_choice(rng, _PARTS)} {_choice(rng, _HOURS)} "
            f"{_choice(rng, ('in the morning', 'in the afternoon', 'in the evening', 'at night'))}.")


def compose_text(rng: np.random.Generator, seconds: float, words_per_minute: float,
                 english_only: bool = False) -> str:
    """Random text long enough to last about ``seconds`` at ``words_per_minute``."""
    words_needed = seconds * words_per_minute / 60.0 * 1.3 + 2
    sentences, words = [], 0
    while words < words_needed:
        s = _english_sentence(rng) if english_only or rng.random() < 0.6 else _pseudo_sentence(rng)
        sentences.append(s)
        words += len(s.split())
    return " ".join(sentences)


def plan(params: dict, rng: np.random.Generator, n: int) -> dict:
    """Choose the voice settings and text of one utterance.

    Args:
        params: a speech source draw (``kind`` espeak with ``language``/``variant``, or flite
            with ``voice``).
        rng: the clip's generator.
        n: target length in samples.

    Returns:
        ``params`` with rendering settings added (``text``, ``rate`` ...).
    """
    seconds = n / SAMPLE_RATE + 1.0
    p = dict(params)
    if p["kind"] == "espeak":
        p.update(rate=int(rng.integers(110, 240)), pitch=int(rng.integers(15, 90)),
                 word_gap=int(rng.integers(0, 4)))
        p["text"] = compose_text(rng, seconds, p["rate"], english_only=p["language"].startswith("en"))
    else:
        p["stretch"] = float(rng.uniform(0.75, 1.35))
        if p["voice"] == "awb_time":
            p["text"] = " ".join(_time_sentence(rng) for _ in range(2))
        else:
            p["text"] = compose_text(rng, seconds * p["stretch"], 170.0, english_only=True)
    return p


def render(p: dict, rng: np.random.Generator, n: int, workdir: Path, fill: bool) -> np.ndarray:
    """Speak a planned utterance and place it in ``n`` samples.

    Long renders are cropped at a random point; short ones are extended by speaking again
    (new text, same voice), so that speech covers the clip instead of trailing off into
    silence that would blur the speech/silence boundary.

    Returns:
        (n,) float32 with peak 1.
    """
    pieces, total, attempt = [], 0, 0
    while total < (n if fill else int(0.85 * n)) and attempt < 4:
        text = p["text"] if attempt == 0 else plan(p, rng, n)["text"]
        wav = workdir / "speech.wav"
        if p["kind"] == "espeak":
            voice = p["language"] if p["variant"] == "default" else f"{p['language']}+{p['variant']}"
            x = tools.espeak_render(text, voice, p["rate"], p["pitch"], p["word_gap"], wav)
        else:
            x = tools.flite_render(text, p["voice"], p["stretch"], wav)
        x = trim(x)
        if pieces:
            pieces.append(np.zeros(int(rng.uniform(0.05, 0.3) * SAMPLE_RATE), np.float32))
        pieces.append(x)
        total = sum(len(piece) for piece in pieces)
        attempt += 1
    speech = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
    out = np.zeros(n, np.float32)
    if len(speech) >= n:
        start = int(rng.integers(0, len(speech) - n + 1))
        out[:] = speech[start:start + n]
    else:
        start = 0 if fill else int(rng.integers(0, n - len(speech) + 1))
        out[start:start + len(speech)] = speech
    peak = float(np.max(np.abs(out)))
    return out / peak if peak > 0 else out


def trim(x: np.ndarray, threshold_db: float = -40.0, pad_s: float = 0.02) -> np.ndarray:
    """Drop the leading and trailing silence of an utterance or a hit, keeping ``pad_s`` either side.

    Sample-exact, unlike librosa's frame-based trim: a drum hit's attack must stay where it is.
    """
    if not len(x):
        return x
    level = np.abs(x)
    above = np.nonzero(level > level.max() * 10 ** (threshold_db / 20))[0]
    if not len(above):
        return x[:0]
    pad = int(pad_s * SAMPLE_RATE)
    return x[max(0, above[0] - pad):above[-1] + pad]
