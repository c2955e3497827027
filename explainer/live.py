"""Live listening: a microphone stream, heard chunk by chunk.

A :class:`LiveListener` takes the chunks a browser microphone sends (any rate, any
channels) and keeps, for the last :data:`WINDOW_S` seconds:

- the 64-band log-mel of the frame-by-frame model, one column per 10 ms. Only new frames
  are computed: a frame is made once the audio under its whole 25 ms window has arrived,
  and never again;
- that model's answer for every frame. The model is causal, so frame ``t`` depends only on
  frames ``t - R + 1 .. t`` (``R``, its receptive field). Each update therefore runs it on
  the ``R - 1`` frames it already has plus the new ones, and keeps only the new answers.
  These are exactly the answers a pass over the whole stream would give, and a frame once
  judged is never judged again;
- every model's answer on the last :data:`ANSWER_S` seconds, and the time curve of the
  primary (contribution) map of one chosen model over those seconds.

The log-mel's floor is 80 dB below the loudest frame heard *so far*, not below the loudest
of the whole clip (which a stream cannot know yet). For a stream whose loudest moment comes
late, the earliest frames can therefore differ from an uploaded clip's.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import soxr
import torch
import torchaudio.functional as AF

from . import attribution, audio
from .features import DEFAULT as FEATURES
from .models.fast import fast_copy, fast_input

SR = FEATURES.sample_rate
WINDOW_S = 8.0  # the scrolling picture shows this much of the past
ANSWER_S = 2.5  # every model answers on this much of the latest sound
MIN_ANSWER_S = 0.5  # no answers before this much sound has arrived
MAX_CHUNK_S = 5.0  # a longer chunk is cut to its last MAX_CHUNK_S (a stalled browser catching up)


def live_model(model_set) -> str | None:
    """The set's first causal frame-by-frame model (``frame_level`` and ``causal``), or ``None``."""
    return next((arch for arch, m in model_set.models.items()
                 if getattr(m, "frame_level", False) and getattr(m, "causal", False)), None)


@dataclass
class LiveUpdate:
    """What one update produced, for the page and for measurement."""

    new_frames: int  # frames judged in this update
    seconds: float  # audio heard so far
    compute_ms: float  # time spent in this update
    answers_updated: bool  # whether every model answered again


@dataclass
class LiveListener:
    """The state of one live stream (one visitor), fed with :meth:`feed`."""

    model_set: object
    arch: str  # the causal frame-level model that draws the strip
    explain_arch: str | None = None  # whose map the live time curve shows (default: ``arch``)
    method: str = "input_x_gradient"
    answer_every_s: float = 0.5  # every model answers again after this much new sound
    samples: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))  # 16 kHz, the recent past
    received: int = 0  # samples received in all
    frames_done: int = 0  # frames judged in all
    mel: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))  # (n_mels, frames kept)
    frame_probs: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))  # (n_classes, kept)
    peak_db: float = -np.inf
    answers: dict = field(default_factory=dict)  # arch -> probabilities on the last ANSWER_S
    curve: np.ndarray | None = None  # 10 ms time curve of the chosen model's map on the last ANSWER_S
    curve_target: str = ""
    answered_at: int = 0  # ``received`` when every model last answered
    _resampler: object = None
    _rate: int = 0

    def __post_init__(self):
        model = self.model_set.models[self.arch]
        fe = model.front_end
        self._spec = fe.mel.spectrogram  # the front-end's own STFT and mel filterbank settings
        self._melscale = fe.mel.mel_scale
        self._n_fft = self._spec.n_fft
        self._hop = self._spec.hop_length
        self.n_mels = fe.mel.n_mels
        self.context = int(model.receptive_field_frames()) - 1  # earlier frames each new answer needs
        self.keep_frames = int(round(WINDOW_S * SR / self._hop))
        self.mel = np.zeros((self.n_mels, 0), np.float32)
        self.frame_probs = np.zeros((len(self.model_set.classes), 0), np.float32)
        self.explain_arch = self.explain_arch or self.arch

    @property
    def frame_s(self) -> float:
        """Seconds between two frames of the strip (10 ms)."""
        return self._hop / SR

    # ------------------------------------------------------------ audio in

    def _to_16k(self, rate: int, data) -> np.ndarray:
        """One chunk as mono float32 at 16 kHz, resampled by one stream-aware resampler per rate."""
        rate = int(rate)
        if rate <= 0:
            raise ValueError(f"a microphone chunk needs a positive sample rate, got {rate}")
        a = np.nan_to_num(audio.to_mono(data))[-int(MAX_CHUNK_S * rate):]
        if rate == SR:
            return np.clip(a, -1.0, 1.0)
        if self._resampler is None or self._rate != rate:
            self._resampler, self._rate = soxr.ResampleStream(rate, SR, 1, dtype="float32", quality="HQ"), rate
        return np.clip(self._resampler.resample_chunk(a), -1.0, 1.0)

    def feed(self, rate: int, data) -> LiveUpdate:
        """Take one chunk from the microphone and judge every frame it completes.

        Args:
            rate: the chunk's sample rate in Hz (browsers send 44.1 or 48 kHz).
            data: its samples, ``(n,)`` or ``(n, channels)``, int16 or float.
        """
        t0 = time.perf_counter()
        new = self._to_16k(rate, data)
        self.received += new.size
        self.samples = np.concatenate([self.samples, new])
        judged = self._judge_new_frames()
        keep = int((WINDOW_S + ANSWER_S) * SR) + self._n_fft
        self.samples = self.samples[-keep:]
        answered = False
        heard = self.received / SR
        if heard >= MIN_ANSWER_S and (self.received - self.answered_at >= self.answer_every_s * SR or not self.answers):
            self._answer()
            answered = True
        return LiveUpdate(judged, heard, 1000 * (time.perf_counter() - t0), answered)

    def recent(self, seconds: float) -> np.ndarray:
        """The last ``seconds`` of 16 kHz audio heard (fewer when less has arrived)."""
        return self.samples[-int(seconds * SR):].copy()

    # ------------------------------------------------------------ the frame strip

    def _judge_new_frames(self) -> int:
        half = self._n_fft // 2
        # frame j is centred on sample j * hop; it is complete once sample j * hop + n_fft / 2 has arrived
        last = (self.received - half) // self._hop  # the newest complete frame
        first = self.frames_done
        if last < first:
            return 0
        start = first * self._hop - half  # first sample under the first new frame's window
        end = last * self._hop + half
        offset = self.received - self.samples.size  # stream index of samples[0]
        seg = np.zeros(end - start, np.float32)
        lo = max(start, offset)
        seg[lo - start:] = self.samples[lo - offset: end - offset]  # before the stream began: silence
        with torch.inference_mode():
            w = torch.from_numpy(seg)
            spec = torch.stft(w, self._n_fft, hop_length=self._hop, win_length=self._spec.win_length,
                              window=self._spec.window, center=False, return_complex=True).abs().pow(2)
            power = self._melscale(spec)  # (n_mels, new frames)
            db = AF.amplitude_to_DB(power, multiplier=10.0, amin=1e-10, db_multiplier=0.0)
            self.peak_db = max(self.peak_db, float(db.max()))
            db = db.clamp(min=self.peak_db - FEATURES.top_db)
            x_new = ((db + FEATURES.db_offset) / FEATURES.db_scale).numpy().astype(np.float32)
            n_new = x_new.shape[1]
            context = self.mel[:, -self.context:] if self.context > 0 else self.mel[:, :0]
            x = torch.from_numpy(np.concatenate([context, x_new], axis=1))[None]  # (1, n_mels, ctx + new)
            model = self.model_set.models[self.arch]
            with self.model_set.lock:
                probs = torch.softmax(model.frame_logits(x), dim=1)[0, :, -n_new:].numpy()
        self.mel = np.concatenate([self.mel, x_new], axis=1)[:, -max(self.keep_frames, self.context):]
        self.frame_probs = np.concatenate([self.frame_probs, probs], axis=1)[:, -self.keep_frames:]
        self.frames_done = last + 1
        return n_new

    # ------------------------------------------------------------ every model on the latest seconds

    def _answer(self) -> None:
        from .analysis import model_inputs

        wave = torch.from_numpy(self.recent(ANSWER_S)).view(1, 1, -1)
        if wave.shape[-1] < int(MIN_ANSWER_S * SR):
            return
        with self.model_set.lock:
            inputs = model_inputs(wave, self.model_set)
            with torch.inference_mode():
                self.answers = {arch: torch.softmax(m(inputs[arch]).float(), dim=1)[0].numpy()
                                for arch, m in self.model_set.models.items()}
            arch = self.explain_arch if self.explain_arch in self.model_set.models else self.arch
            model = self.model_set.models[arch]
            target = int(np.argmax(self.answers[arch]))
            x = inputs[arch]
            attr = attribution.attribute(fast_copy(model), fast_input(model, x), self.method, target=target)
        self.curve = attribution.method_curve(attr, model.input_kind, wave.shape[-1], self.method)
        self.curve_target = self.model_set.classes[target]
        self.answered_at = self.received

    # ------------------------------------------------------------ reading it

    def frame_winners(self) -> list[str]:
        """The winning class of every frame kept, oldest first."""
        return [self.model_set.classes[i] for i in self.frame_probs.argmax(0)] if self.frame_probs.size else []

    def now(self, seconds: float = 0.5) -> tuple[str, float] | None:
        """The frame model's most frequent winner over the last ``seconds``, and its share of those frames."""
        n = int(round(seconds * SR / self._hop))
        recent = self.frame_probs[:, -n:]
        if recent.size == 0:
            return None
        counts = np.bincount(recent.argmax(0), minlength=recent.shape[0])
        k = int(counts.argmax())
        return self.model_set.classes[k], float(counts[k] / recent.shape[1])
