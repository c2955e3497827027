"""``python -m explainer bench --soak``: many visitors, each a new session, against the real app.

A public demo meets visitors who come once and leave. This soak starts ``python app.py``, sends
it ``visitors`` new ``gradio_client`` sessions in mixed order (some one after another, some in
bursts at once) and follows the server's resident memory and its temporary folders throughout.
Each visitor analyses one clip (most their own, some a bundled example that many click), opens
one architecture's tab, and now and then adds a clip to "Your own sounds". The run is bounded in
visitors and in time, and stops by itself.

The figures: ``rss_warm_mb`` after the warm-up visitors, ``rss_peak_mb`` over the whole run,
``rss_after_mb`` when the last visitor has gone, and ``rss_growth_per_100_sessions_mb`` over the
second half of the run, when the result cache is full. ``folders`` gives the size of Gradio's
upload and output copies and of the app's own temporary folders at the end.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

SOAK_BUDGETS = {"rss_peak_mb": ("<=", 1536.0), "rss_growth_per_100_sessions_mb": ("<=", 50.0)}


@dataclass
class SoakConfig:
    """How many visitors come, in what order, and how long the soak may take."""

    visitors: int = 300  # new sessions in all
    warm: int = 20  # visitors one after another before rss_warm_mb is read
    burst: int = 30  # visitors at once in each burst
    between: int = 40  # visitors one after another after each burst
    shared_every: int = 3  # every third visitor sends a bundled example; the others a clip of their own
    own_every: int = 10  # every tenth visitor also adds a clip to "Your own sounds" (a temporary folder)
    visitor_timeout_s: float = 180.0  # one visitor gives up after this
    deadline_s: float = 2400.0  # the whole soak stops after this, whatever is left
    cache_mb: float | None = None  # EXPLAINER_CACHE_MB of the server; None keeps its default


def schedule(cfg: SoakConfig) -> list[list[int]]:
    """The visitors' order as phases: a phase of one visitor runs alone, a longer one all at once."""
    phases: list[list[int]] = []
    k = 0

    def take(n: int, together: bool) -> None:
        nonlocal k
        n = min(n, cfg.visitors - k)
        if n <= 0:
            return
        group = list(range(k, k + n))
        phases.extend([group] if together else [[i] for i in group])
        k += n

    take(cfg.warm, together=False)
    while k < cfg.visitors:
        take(cfg.burst, together=True)
        take(cfg.between, together=False)
    return phases


def folder_size(path: Path) -> dict:
    """Files and bytes under ``path`` (0 and 0 when it does not exist)."""
    files = size = 0
    for root, _, names in os.walk(path):
        for name in names:
            try:
                size += (Path(root) / name).lstat().st_size
                files += 1
            except OSError:
                continue
    return {"files": files, "mb": round(size / 2 ** 20, 2)}


def _app_folders(tmp: Path) -> dict:
    """The app's own temporary folders (their names start with ``explainer.audio.TEMP_PREFIX``)."""
    from .audio import TEMP_PREFIX

    found = [p for p in tmp.iterdir() if p.name.startswith(TEMP_PREFIX)] if tmp.is_dir() else []
    sizes = [folder_size(p) if p.is_dir() else {"files": 1, "mb": p.stat().st_size / 2 ** 20} for p in found]
    return {"entries": len(found), "files": sum(s["files"] for s in sizes),
            "mb": round(sum(s["mb"] for s in sizes), 2)}


class _Sampler:
    """The server's resident memory, read every ``every_s`` seconds in the background."""

    def __init__(self, pid: int, every_s: float = 0.25):
        from .bench import rss_mb

        self._read = lambda: rss_mb(pid)
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(every_s,), daemon=True)

    def _run(self, every_s: float) -> None:
        while not self._stop.is_set():
            self.now()
            self._stop.wait(every_s)

    def now(self) -> float:
        try:
            value = self._read()
        except OSError:  # the server has gone
            return float("nan")
        self.peak = max(self.peak, value)
        return value

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=5)


def visitor_clips(folder: Path, cfg: SoakConfig) -> list[Path]:
    """One clip per visitor: a bundled example for every ``shared_every``-th, otherwise a clip of its own."""
    from .bench import CLASSROOM_SOURCES, classroom_clips

    root = Path(__file__).resolve().parent.parent / "examples"
    own = iter(classroom_clips(folder, cfg.visitors - cfg.visitors // cfg.shared_every, first=2000))
    return [root / CLASSROOM_SOURCES[k % len(CLASSROOM_SOURCES)] if k % cfg.shared_every == 0 else next(own)
            for k in range(cfg.visitors)]


def _visit(url: str, clip: Path, set_name: str, arch: str, own: bool, timeout_s: float) -> None:
    """One visitor: a new session analyses its clip, opens one architecture's tab, maybe adds an own sound."""
    from gradio_client import Client, handle_file

    from .analysis import DEFAULT_METHODS

    c = Client(url, verbose=False)
    try:
        job = c.submit(handle_file(str(clip)), set_name, list(DEFAULT_METHODS), False, api_name="/analyze")
        _, report = job.result(timeout=timeout_s)
        if set(report.get("models") or {}) == set():
            raise RuntimeError("an analysis came back without models")
        c.submit(DEFAULT_METHODS[0], 0.6, api_name=f"/view_{arch}").result(timeout=timeout_s)
        if own:
            c.submit("clap, hum", api_name="/own_classes").result(timeout=timeout_s)
            c.submit("clap", [handle_file(str(clip))], None, api_name="/own_add").result(timeout=timeout_s)
    finally:
        c.close()


def run(cfg: SoakConfig | None = None, set_name: str | None = None) -> dict:
    """Run the soak; returns its figures, checkpoints and folder sizes as one JSON-ready dict."""
    from .bench import free_port, running_app
    from .models import list_models
    from .pretrained import DEFAULT_SET, list_sets

    cfg = cfg or SoakConfig()
    set_name = set_name or (DEFAULT_SET if DEFAULT_SET in list_sets() else "untrained")
    archs = list_models()
    with tempfile.TemporaryDirectory(prefix="audio-explainer-soak-") as tmp:
        tmp = Path(tmp)
        app_tmp, gradio_tmp = tmp / "app-tmp", tmp / "gradio"
        app_tmp.mkdir()
        clips = visitor_clips(tmp, cfg)
        port = free_port()
        # the server's temporary folders go under this soak's folder, so their sizes can be read
        env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_ANALYTICS_ENABLED": "False",
               "TMPDIR": str(app_tmp), "GRADIO_TEMP_DIR": str(gradio_tmp)}
        if cfg.cache_mb is not None:
            env["EXPLAINER_CACHE_MB"] = str(cfg.cache_mb)
        url = f"http://127.0.0.1:{port}/"
        errors: list[str] = []
        latencies: list[float] = []
        checkpoints: list[tuple[int, float]] = []
        lock = threading.Lock()

        def one(k: int) -> None:
            t = time.perf_counter()
            try:
                _visit(url, clips[k], set_name, archs[k % len(archs)], k % cfg.own_every == cfg.own_every - 1,
                       cfg.visitor_timeout_s)
                with lock:
                    latencies.append(time.perf_counter() - t)
            except Exception as e:  # counted, not raised: the figure is the error count
                with lock:
                    errors.append(f"visitor {k}: {e!r}"[:240])

        out: dict = {"config": asdict(cfg), "set": set_name}
        with running_app(env, tmp / "server.log") as proc, _Sampler(proc.pid) as rss:
            t0 = time.perf_counter()
            done = 0
            for phase in schedule(cfg):
                if time.perf_counter() - t0 > cfg.deadline_s:
                    out["stopped_early"] = f"deadline of {cfg.deadline_s:.0f} s reached after {done} visitors"
                    break
                threads = [threading.Thread(target=one, args=(k,), daemon=True) for k in phase]
                for th in threads:
                    th.start()
                for th in threads:
                    th.join(timeout=4 * cfg.visitor_timeout_s)  # a visitor makes up to four calls
                done += len(phase)
                if done == min(cfg.warm, cfg.visitors):
                    out["rss_warm_mb"] = round(rss.now(), 1)
                if len(phase) == 1 and (len(checkpoints) == 0 or done - checkpoints[-1][0] >= 10):
                    checkpoints.append((done, round(rss.now(), 1)))
            time.sleep(2.0)  # let the last replies go out
            out["rss_after_mb"] = round(rss.now(), 1)
            checkpoints.append((done, out["rss_after_mb"]))
            out["rss_peak_mb"] = round(rss.peak, 1)
            out["wall_s"] = round(time.perf_counter() - t0, 1)
            out["folders"] = {"gradio_cache": folder_size(gradio_tmp), "app_temp": _app_folders(app_tmp)}
        out["visitors"] = done
        half = next(((n, v) for n, v in checkpoints if n >= done / 2), checkpoints[-1])
        sessions = max(1, done - half[0])
        out["rss_growth_per_100_sessions_mb"] = round((out["rss_after_mb"] - half[1]) * 100 / sessions, 1) \
            if done > half[0] else None
        out["growth_measured_from_visitor"] = half[0]
        out["checkpoints"] = checkpoints
        out["errors"] = len(errors)
        out["error_examples"] = errors[:3]
        out["p50_s"] = round(float(np.percentile(latencies, 50)), 2) if latencies else None
        out["p95_s"] = round(float(np.percentile(latencies, 95)), 2) if latencies else None
    out["budgets"] = {k: {"budget": f"{op} {limit}", "ok": out.get(k) is not None and
                          (out[k] <= limit if op == "<=" else out[k] >= limit)}
                      for k, (op, limit) in SOAK_BUDGETS.items()}
    return out
