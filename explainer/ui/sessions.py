"""Per-visitor sessions, the one cache of results that all visitors share, and the shared model sets.

A :class:`Session` is what one browser tab keeps between events: its clip as 16-bit samples,
the set and methods it asked for, and which views it has drawn. Everything heavy (the
analysis with its traces, feature maps and attributions, and every map, check and curve
computed later) lives in :data:`RESULTS`, one least-recently-used cache bounded in bytes
(``EXPLAINER_CACHE_MB``), keyed by the clip's samples, the set and the methods. A session whose
results were evicted computes them again from its clip on its next event: the same numbers,
only later.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from .. import analysis as analysis_mod
from .. import audio, plots, pretrained
from .cache import ResultCache, clip_key

_SETS: dict[str, pretrained.ModelSet] = {}
_SETS_LOCK = threading.Lock()
# every heavy result of every visitor: analyses, maps, checks, curves (bounded in bytes: EXPLAINER_CACHE_MB)
RESULTS = ResultCache()
_PCM_SCALE = 32768.0  # int16 full scale: a 16-bit source at 16 kHz is kept sample for sample


def set_choices() -> list[str]:
    """Trained sets found under pretrained/; the untrained set only when there is none."""
    return pretrained.list_sets() or ["untrained"]


def get_set(name: str) -> pretrained.ModelSet:
    """Load a model set once per process (first request), then reuse it. A visitor's own set (its name
    from their menu) loads from their private folder."""
    from .own import private_root

    with _SETS_LOCK:
        if name not in _SETS:
            private = private_root(name)
            if name == "untrained":
                _SETS[name] = pretrained.untrained_set()
            elif private is not None:
                _SETS[name] = pretrained.load_set(name, root=private)
            else:
                _SETS[name] = pretrained.load_set(name)
        return _SETS[name]


def forget_set(name: str) -> None:
    """Drop a loaded set (a visitor's own, when their session ends)."""
    with _SETS_LOCK:
        _SETS.pop(name, None)


def to_pcm(waveform: torch.Tensor) -> np.ndarray:
    """A ``(1, T)`` float waveform in [-1, 1] as ``(T,)`` int16 samples."""
    w = np.nan_to_num(waveform.detach().reshape(-1).numpy().astype(np.float64))
    return np.clip(np.round(w * _PCM_SCALE), -32768, 32767).astype(np.int16)


def from_pcm(pcm: np.ndarray) -> torch.Tensor:
    """int16 samples back to the ``(1, T)`` float32 waveform that :func:`to_pcm` was given (to 16 bits)."""
    return torch.from_numpy(pcm.astype(np.float32) / np.float32(_PCM_SCALE)).reshape(1, -1)


def compact_clip(clip: audio.Clip) -> audio.Clip:
    """The clip at 16 bits, as a session keeps it; the app analyses this one, so that an evicted
    analysis computed again from the session's samples is the very same analysis."""
    wave = from_pcm(to_pcm(clip.waveform))
    return audio.Clip(waveform=wave, duration_s=clip.duration_s, source_sample_rate=clip.source_sample_rate,
                      source_channels=clip.source_channels, warnings=list(clip.warnings))


@dataclass
class Session:
    """What one browser tab keeps between events: keys and small values, never a result.

    ``nbytes`` says how much that is: two bytes per sample of the clip and a few hundred bytes more.
    """

    pcm: np.ndarray  # (T,) int16: the clip at 16 kHz, as analysed
    source_sample_rate: int
    source_channels: int
    warnings: tuple[str, ...]
    set_name: str
    methods: tuple[str, ...]
    checks: bool = False  # the deletion check of every map was asked for (the page's second step)
    curves: bool = False  # every model's deletion and insertion curves were asked for (Compare)
    key: str = field(default_factory=lambda: uuid.uuid4().hex)  # this tab, for what is drawn per visitor
    rendered: set = field(default_factory=set)  # lazy views already drawn for this analysis
    _analysis_key: str = ""

    @classmethod
    def start(cls, clip: audio.Clip, set_name: str, methods) -> Session:
        """A session for a clip that :func:`compact_clip` made (its samples are kept as they are)."""
        return cls(pcm=to_pcm(clip.waveform), source_sample_rate=clip.source_sample_rate,
                   source_channels=clip.source_channels, warnings=tuple(clip.warnings), set_name=set_name,
                   methods=tuple(methods))

    @classmethod
    def of(cls, analysis: analysis_mod.Analysis) -> Session:
        """A session for an analysis made outside the page (a script, a test), put into the cache under the
        session's key. Its clip should come from :func:`compact_clip`, so that computing it again gives the
        same analysis."""
        session = cls.start(analysis.clip, analysis.set_name, analysis.methods)
        RESULTS.get_or_make(session.analysis_key, lambda: analysis)
        return session

    @property
    def analysis_key(self) -> str:
        """The cache key of this session's analysis: the clip's samples, the set and the methods."""
        if not self._analysis_key:
            self._analysis_key = clip_key(from_pcm(self.pcm), self.set_name, self.methods, self.source_sample_rate,
                                          self.source_channels, self.warnings)
        return self._analysis_key

    @property
    def nbytes(self) -> int:
        """Bytes this session holds: its samples, strings and small values."""
        strings = [self.set_name, self.key, self._analysis_key, *self.methods, *self.warnings, *self.rendered]
        return int(self.pcm.nbytes) + sum(len(s) for s in strings) + 8 * 4

    def clip(self) -> audio.Clip:
        """The clip again, from the session's samples."""
        return audio.Clip(waveform=from_pcm(self.pcm), duration_s=self.pcm.size / audio.SAMPLE_RATE,
                          source_sample_rate=self.source_sample_rate, source_channels=self.source_channels,
                          warnings=list(self.warnings))

    def model_set(self) -> pretrained.ModelSet:
        return get_set(self.set_name)

    def analysis(self, progress: Callable[[float, str], None] | None = None) -> analysis_mod.Analysis:
        """This session's analysis from the cache, computed again when it was evicted, with the checks and
        curves the session asked for."""
        a = RESULTS.get_or_make(self.analysis_key, lambda: make_analysis(self.clip(), self.model_set(),
                                                                         self.methods, progress))
        if self.checks and any(m not in r.faithfulness for r in a.models.values() for m in r.attributions):
            analysis_mod.add_faithfulness(a, self.model_set(), progress=progress)
        if self.curves and any(a.methods[0] not in r.curves for r in a.models.values()):
            analysis_mod.add_curves(a, self.model_set(), progress=progress)
        RESULTS.recount(self.analysis_key)  # checks, curves and display features added since it was stored
        return a

    def result(self, parts: tuple, make: Callable[[], object]):
        """A result derived from this session's analysis (a map, a check, a curve), from the cache or ``make()``."""
        return RESULTS.get_or_make(self._result_key(parts), make)

    def has_result(self, parts: tuple) -> bool:
        """Whether the cache holds that result now (it may be evicted a moment later)."""
        return self._result_key(parts) in RESULTS

    def _result_key(self, parts: tuple) -> str:
        return f"{self.analysis_key}:{parts!r}"


def make_analysis(clip: audio.Clip, model_set: pretrained.ModelSet, methods, progress=None) -> analysis_mod.Analysis:
    """The app's analysis of a clip: answers and maps, no checks yet, and only the feature maps the gallery draws."""
    a = analysis_mod.analyze(clip, model_set, methods, faithfulness=False, progress=progress)
    for r in a.models.values():  # far less memory per analysis
        r.trace.feature_maps = plots.shrink_feature_maps(r.trace, r.input_kind)
    return a
