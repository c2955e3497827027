"""Gradio's copies of uploads and outputs, kept within a byte budget over a long run.

Gradio copies every upload and every file it sends (the clip, the resynthesised sound, the Live
tab's pictures, the downloads) into its cache, and by itself removes them only by age
(``delete_cache``). A busy hour could fill a disk before that. :func:`sweep` removes the oldest
files first whenever the cache holds more than ``EXPLAINER_TEMP_MB`` (default 1024 MB), and
never a file younger than :data:`MIN_AGE_S`, which may still be on its way to a browser.
:func:`start` runs it every :data:`EVERY_S` seconds beside the server.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from .cache import env_bytes

DEFAULT_MB = 1024.0  # EXPLAINER_TEMP_MB sets another budget
MIN_AGE_S = 120.0  # a younger file may be an answer still being sent
EVERY_S = 15.0


def budget_bytes() -> int:
    """The budget of Gradio's cache from ``EXPLAINER_TEMP_MB`` (default 1024 MB)."""
    return env_bytes("EXPLAINER_TEMP_MB", DEFAULT_MB)


def sweep(blocks, max_bytes: int, min_age_s: float = MIN_AGE_S) -> dict:
    """Remove the oldest files of Gradio's cache until it holds at most ``max_bytes``.

    Args:
        blocks: the app's ``gr.Blocks``; its ``temp_file_sets`` list every file Gradio made.
        max_bytes: what the cache may hold.
        min_age_s: files younger than this stay, even over the budget.

    Returns:
        ``{"files", "bytes"}`` left in the cache, and ``"removed"``, ``"freed"``.
    """
    keep = set()
    for component in blocks.blocks.values():
        keep.update(getattr(component, "keep_in_cache", set()))
    files = []
    for temp_set in list(blocks.temp_file_sets):
        for path in list(temp_set):
            try:
                st = os.lstat(path)
            except OSError:
                temp_set.discard(path)  # already gone: forget it, or the set only grows
                continue
            files.append((st.st_ctime, st.st_size, path, temp_set))
    total = sum(f[1] for f in files)
    removed = freed = 0
    now = time.time()
    for ctime, size, path, temp_set in sorted(files, key=lambda f: f[0]):
        if total <= max_bytes or now - ctime < min_age_s:
            break
        if path in keep:
            continue
        try:
            os.remove(path)
        except OSError:
            continue
        temp_set.discard(path)
        total -= size
        removed += 1
        freed += size
        try:  # Gradio keeps each file in a folder of its own, named by its hash
            Path(path).parent.rmdir()
        except OSError:
            pass
    return {"files": len(files) - removed, "bytes": total, "removed": removed, "freed": freed}


def start(blocks, every_s: float = EVERY_S) -> threading.Thread:
    """Sweep Gradio's cache every ``every_s`` seconds in a daemon thread, for as long as the server runs."""
    max_bytes = budget_bytes()

    def loop():
        while True:
            time.sleep(every_s)
            try:
                sweep(blocks, max_bytes)
            except Exception:  # a file system hiccup must never stop the server; the next sweep tries again
                pass

    thread = threading.Thread(target=loop, name="temp-janitor", daemon=True)
    thread.start()
    return thread
