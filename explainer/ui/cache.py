"""One server-side cache of results, bounded in bytes and shared by every visitor.

A classroom sends the same bundled example many times over, and a visitor who comes back to
a clip should not wait for it twice. :class:`ResultCache` keeps results by what makes them
(an analysis by the clip's samples, the model set and the methods; a map or a check by its
analysis and its own choices), drops the least recently used when its byte budget is
exceeded, and lets requests for a result that is being computed wait for it instead of
computing it again. A miss is always computed afresh, so eviction costs time, never a wrong
answer. The app's one instance is :data:`explainer.ui.sessions.RESULTS`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import threading
from collections import OrderedDict
from typing import Callable

import numpy as np
import torch

# EXPLAINER_CACHE_MB sets another budget; 0 turns the cache off. With 300, the soak's 300 visitors (bursts of
# 30 at once) peaked at 1,523 MB of server memory; with 400, at 1,612 MB
DEFAULT_MB = 300.0


def env_bytes(name: str, default_mb: float) -> int:
    """A budget in bytes from the environment variable ``name``, in megabytes (``default_mb`` when it is
    unset or not a number; never below 0)."""
    try:
        mb = float(os.environ.get(name, default_mb))
    except ValueError:
        mb = default_mb
    return max(0, int(mb * 1024 * 1024))


def budget_bytes() -> int:
    """The cache's budget from ``EXPLAINER_CACHE_MB`` (default 300 MB)."""
    return env_bytes("EXPLAINER_CACHE_MB", DEFAULT_MB)


def _memory_of(obj) -> tuple[tuple, int]:
    """The identity and size of the memory behind a tensor or an array: a view holds its whole base alive."""
    if isinstance(obj, np.ndarray):
        while isinstance(obj.base, np.ndarray):
            obj = obj.base
        if not isinstance(obj.base, torch.Tensor):
            return ("array", id(obj)), int(obj.nbytes)
        obj = obj.base  # np.asarray of a tensor shares the tensor's storage
    storage = obj.untyped_storage()
    return ("storage", storage.data_ptr()), storage.nbytes()


def nbytes(obj, _seen: set | None = None) -> int:
    """Bytes held by the tensors and arrays inside ``obj`` (dataclasses, dicts, lists and tuples followed).

    A view counts the whole memory it keeps alive (a tensor's storage, an array's base), once
    however many views share it: a slice of four channels of a 64-channel map holds all 64.
    """
    seen = set() if _seen is None else _seen
    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    if isinstance(obj, (torch.Tensor, np.ndarray)):
        memory, size = _memory_of(obj)
        if memory in seen:
            return 0
        seen.add(memory)
        return size
    if isinstance(obj, dict):
        return sum(nbytes(v, seen) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(nbytes(v, seen) for v in obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return sum(nbytes(getattr(obj, f.name), seen) for f in dataclasses.fields(obj))
    return 0


def clip_key(waveform: torch.Tensor, *parts) -> str:
    """A key for a result of this clip: the sha256 of its 16 kHz samples, and ``parts`` (set, methods, ...)."""
    h = hashlib.sha256(np.ascontiguousarray(waveform.detach().cpu().numpy(), dtype=np.float32).tobytes())
    for p in parts:
        h.update(b"\0" + repr(p).encode())
    return h.hexdigest()


class ResultCache:
    """Least-recently-used results, bounded in bytes; one computation per key at a time."""

    def __init__(self, max_bytes: int | None = None, size_of: Callable[[object], int] = nbytes):
        self.max_bytes = budget_bytes() if max_bytes is None else int(max_bytes)
        self.size_of = size_of
        self._items: OrderedDict[str, tuple[object, int]] = OrderedDict()
        self._making: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        self.bytes = 0
        self.hits = self.misses = self.evictions = 0

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: str) -> bool:
        with self._lock:
            return key in self._items

    def get_or_make(self, key: str, make: Callable[[], object]):
        """The cached result for ``key``, or ``make()``'s, kept for the next request.

        A request for a key that another thread is making waits for that result. A result
        bigger than the whole budget is returned but not kept.
        """
        while True:
            with self._lock:
                if key in self._items:
                    self._items.move_to_end(key)
                    self.hits += 1
                    return self._items[key][0]
                waiting = self._making.get(key)
                if waiting is None:
                    self._making[key] = threading.Event()
                    self.misses += 1
                    break
            waiting.wait()
        try:
            value = make()
        except BaseException:
            with self._lock:
                self._making.pop(key).set()
            raise
        size = self.size_of(value)
        with self._lock:
            if self.max_bytes and size <= self.max_bytes:
                self._items[key] = (value, size)
                self.bytes += size
                self._evict()
            self._making.pop(key).set()
        return value

    def recount(self, key: str) -> None:
        """Count the bytes of ``key``'s result again, after it grew in place (checks, curves, display
        features added to an analysis), and evict the least recently used results beyond the budget."""
        with self._lock:
            entry = self._items.get(key)
        if entry is None:
            return
        size = self.size_of(entry[0])  # outside the lock: walking a big result takes a moment
        with self._lock:
            if self._items.get(key) is not entry:
                return
            self._items[key] = (entry[0], size)
            self.bytes += size - entry[1]
            if size > self.max_bytes:  # grew past the whole budget: its session computes it again next time
                self.bytes -= self._items.pop(key)[1]
                self.evictions += 1
            self._evict()

    def _evict(self) -> None:
        """Drop the least recently used results until the bytes fit the budget (the lock is held)."""
        while self.bytes > self.max_bytes and self._items:
            _, (_, freed) = self._items.popitem(last=False)
            self.bytes -= freed
            self.evictions += 1

    def stats(self) -> dict:
        """Entries, bytes held, budget, hits, misses and evictions so far."""
        with self._lock:
            return {"entries": len(self._items), "bytes": self.bytes, "max_bytes": self.max_bytes,
                    "hits": self.hits, "misses": self.misses, "evictions": self.evictions}
