"""Registry of the six architectures.

Every model shares one interface: ``input_kind``, a differentiable ``front_end``
mapping ``(B, 1, samples)`` 16 kHz audio to the model input ``x``, and
``forward(x) -> logits (B, n_classes)``. Training, analysis and the app never
branch on an architecture's name: what differs between architectures is declared
on each class (see :class:`explainer.models.layers.AudioModel`).
"""

from __future__ import annotations

import threading
import weakref

from torch import nn

_REGISTRY: dict[str, type[nn.Module]] = {}
# one re-entrant lock per shared model, and one for all the models of a loaded set (share_lock):
# Captum's layer methods hook a model for one pass, and a second request in that window would feed
# its own activations into the hook
_LOCKS: "weakref.WeakKeyDictionary[nn.Module, threading.RLock]" = weakref.WeakKeyDictionary()
_LOCKS_GUARD = threading.Lock()


def register_model(name: str):
    """Class decorator that adds an architecture to the registry under ``name``.

    The class's own attributes (``order``, ``title``, ``frame_level``, ``training``, ...;
    see :class:`explainer.models.layers.AudioModel`) are all the rest of the package
    reads about it, so registering a class is the only step that adds a model.
    """

    def add(cls):
        _REGISTRY[name] = cls
        cls.arch_name = name
        return cls

    return add


def _load_all() -> None:
    # imported here, not at module import, so that listing names stays cheap
    from . import baseline_cnn, lfcc_cnn, spectrogram_cnn, spectrogram_vit, tcn, waveform_cnn  # noqa: F401


def list_models() -> list[str]:
    """Names of every registered architecture, in display order (each class's ``order``, then name)."""
    _load_all()
    return sorted(_REGISTRY, key=lambda n: (getattr(_REGISTRY[n], "order", 100), n))


def model_class(name: str) -> type[nn.Module]:
    """The registered class of ``name``; raises ``KeyError`` listing the valid names."""
    _load_all()
    if name not in _REGISTRY:
        raise KeyError(f"unknown model {name!r}; valid names: {list_models()}")
    return _REGISTRY[name]


def title(name: str) -> str:
    """How figures and captions name an architecture (its class's ``title``, else the registry name)."""
    try:
        return model_class(name).title or name
    except KeyError:
        return name


def short_title(name: str) -> str:
    """The architecture's name on a tab: its class's ``short_title``, else :func:`title`."""
    try:
        return model_class(name).short_title or title(name)
    except KeyError:
        return name


def subtitle(name: str) -> str:
    """What the architecture is, in a few words (its class's ``subtitle``), or ``""``."""
    try:
        return model_class(name).subtitle
    except KeyError:
        return ""


def build(name: str, n_classes: int = 6, **options) -> nn.Module:
    """A fresh, randomly initialised model with its front-end.

    ``options`` go to the architecture's constructor (e.g. ``channels`` of ``lfcc_cnn``).

    Raises:
        KeyError: ``name`` is not registered; the message lists the valid names.
    """
    cls = model_class(name)
    if n_classes < 2:
        raise ValueError(f"a classifier needs at least 2 classes, got {n_classes}")
    return cls(n_classes=n_classes, **options)


def model_lock(model: nn.Module) -> threading.RLock:
    """The re-entrant lock that guards hooked or batched passes through a shared ``model``.

    Every model of a loaded set, and every inference copy made of one, shares the set's
    lock (:func:`share_lock`); any other model gets a lock of its own.
    """
    with _LOCKS_GUARD:
        lock = _LOCKS.get(model)
        if lock is None:
            lock = _LOCKS[model] = threading.RLock()
        return lock


def share_lock(models, lock: threading.RLock) -> threading.RLock:
    """Make ``lock`` the :func:`model_lock` of each of ``models``; returns it."""
    with _LOCKS_GUARD:
        for m in models:
            _LOCKS[m] = lock
    return lock
