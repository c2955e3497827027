"""The shared result cache: bounded in bytes, least recently used out, one computation per key."""

import threading
import time

import numpy as np
import pytest
import torch

from explainer.ui.cache import ResultCache, budget_bytes, clip_key, nbytes


def test_bytes_bound_and_least_recently_used_goes_first():
    cache = ResultCache(max_bytes=3000)
    made = []

    def maker(k):
        return lambda: made.append(k) or np.zeros(1000, np.uint8)

    for k in "abc":
        cache.get_or_make(k, maker(k))
    assert cache.bytes == 3000 and len(cache) == 3
    cache.get_or_make("a", maker("a"))  # a hit: "a" is now the most recent
    cache.get_or_make("d", maker("d"))  # over budget: the least recent ("b") goes
    assert made == ["a", "b", "c", "d"] and cache.bytes == 3000
    cache.get_or_make("b", maker("b"))  # evicted, so computed again
    assert made[-1] == "b" and cache.stats()["evictions"] == 2
    assert cache.get_or_make("huge", lambda: np.zeros(10_000, np.uint8)).size == 10_000  # returned, never kept
    assert "huge" not in cache._items and cache.bytes <= 3000


def test_identical_requests_share_one_computation():
    cache = ResultCache(max_bytes=1 << 20)
    calls = []

    def slow():
        calls.append(1)
        time.sleep(0.3)
        return torch.ones(10)

    results = []
    threads = [threading.Thread(target=lambda: results.append(cache.get_or_make("k", slow))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len(results) == 8 and all(r is results[0] for r in results)
    assert cache.stats()["hits"] == 7 and cache.stats()["misses"] == 1


def test_a_failed_computation_is_not_kept_and_others_may_retry():
    cache = ResultCache(max_bytes=1 << 20)
    with pytest.raises(RuntimeError, match="boom"):
        cache.get_or_make("k", lambda: (_ for _ in ()).throw(RuntimeError("boom")))
    assert len(cache) == 0 and cache.get_or_make("k", lambda: np.ones(3)).sum() == 3


def test_sizes_and_keys():
    obj = {"a": torch.zeros(10, dtype=torch.float32), "b": [np.zeros(5, np.float64)], "c": "text"}
    assert nbytes(obj) == 40 + 40
    wave = torch.randn(1, 1600)
    assert clip_key(wave, "set", ("m",)) == clip_key(wave.clone(), "set", ("m",))
    assert clip_key(wave, "set", ("m",)) != clip_key(wave, "other", ("m",))
    assert clip_key(wave, "set", ("m",)) != clip_key(wave * 0.99, "set", ("m",))


def test_a_view_counts_the_memory_it_keeps_alive():
    # four channels sliced from a 64-channel map keep all 64 in memory; counting only the four let the
    # cache hold more than its budget
    fmap = torch.zeros(64, 100)
    assert nbytes(fmap[:4]) == 64 * 100 * 4
    assert nbytes(np.asarray(fmap)[:4]) == 64 * 100 * 4  # a numpy view of a tensor's storage
    assert nbytes(np.zeros((64, 100))[:4]) == 64 * 100 * 8
    assert nbytes([fmap, fmap[:4], np.asarray(fmap)[2:6]]) == 64 * 100 * 4  # shared memory counts once


def test_shrunk_feature_maps_own_their_memory():
    from types import SimpleNamespace

    from explainer.plots.model_views import shrink_feature_maps

    maps = {f"block{i}": torch.randn(1, 64, 16, 40)[0] for i in range(3)}  # short enough to need no pooling
    small = shrink_feature_maps(SimpleNamespace(feature_maps=maps, layers=[]), "mel64")
    assert small and all(m.base is None and m.shape[0] == 4 for m in small.values())
    assert nbytes(small) == sum(m.nbytes for m in small.values())


def test_budget_from_the_environment(monkeypatch):
    monkeypatch.setenv("EXPLAINER_CACHE_MB", "12.5")
    assert budget_bytes() == int(12.5 * 1024 * 1024)
    monkeypatch.setenv("EXPLAINER_CACHE_MB", "not a number")
    assert budget_bytes() == 300 * 1024 * 1024
    monkeypatch.setenv("EXPLAINER_CACHE_MB", "0")
    cache = ResultCache()
    cache.get_or_make("k", lambda: np.ones(3))
    assert len(cache) == 0  # a budget of 0 keeps nothing
