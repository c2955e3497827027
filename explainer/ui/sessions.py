"""Per-visitor sessions, and the model sets that all visitors share (loaded once per process)."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field

from .. import analysis as analysis_mod
from .. import pretrained

_SETS: dict[str, pretrained.ModelSet] = {}
_SETS_LOCK = threading.Lock()


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


@dataclass
class Session:
    """What one browser tab keeps between events: the last analysis and what was drawn from it."""

    analysis: analysis_mod.Analysis
    key: str = field(default_factory=lambda: uuid.uuid4().hex)
    overlays: dict = field(default_factory=dict)  # (arch, method, target index) -> (attr, deletion check)
    rendered: set = field(default_factory=set)  # lazy views already drawn for this analysis

    def __post_init__(self):
        self.index_overlays()

    def index_overlays(self) -> None:
        """Keep every map of the analysis, with its checks so far, for the architecture tabs."""
        for arch, r in self.analysis.models.items():
            for m, attr in r.attributions.items():
                check = dict(r.faithfulness.get(m) or {})
                if m in r.curves:
                    check["curves"] = r.curves[m]
                if m in r.method_info:
                    check["convergence"] = r.method_info[m]
                self.overlays[(arch, m, r.target)] = (attr, check or None)
