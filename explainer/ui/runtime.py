"""Process settings of the web server, applied when it starts (never when a module is imported)."""

from __future__ import annotations

import ctypes
import ctypes.util
import os


def _libc():
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:  # not glibc (macOS, Windows): nothing to tune
        return None


_LIBC = None


def configure() -> None:
    """Settings for a server process: no analytics, telemetry or hub access, and a heap that gives memory back.

    The app never reports usage and never needs the network. glibc gives each worker thread its own
    heap arena; with a few dozen request threads the freed pages of every arena stay mapped and the
    process only grows, so two arenas are allowed. glibc also serves a freed block's size from the
    heap next time instead of mapping it afresh (its threshold rises to 32 MB); the heap then holds
    a burst's tensors after they are freed, so blocks of 1 MB and more are always mapped and given
    back when freed.
    """
    global _LIBC
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # forced: the app must never report usage
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    _LIBC = _libc()
    if _LIBC is not None and hasattr(_LIBC, "mallopt"):
        _LIBC.mallopt(-8, 2)  # M_ARENA_MAX
        _LIBC.mallopt(-3, 1 << 20)  # M_MMAP_THRESHOLD, fixed (no longer rising with what was freed)
    keep_no_component_values()


def keep_no_component_values() -> None:
    """Stop Gradio keeping, for every session, a copy of every component's configuration and last value.

    Gradio keeps them (headlines, reports, figures as PNG text) for its deep links, which save a page
    as it is; this app offers no deep link, so they are memory that grows with every visitor until
    the session is dropped. The values a page shows are sent to its browser all the same.
    """
    from gradio.state_holder import SessionState

    if getattr(SessionState, "_explainer_keeps_no_values", False):
        return
    make = SessionState.__init__

    def __init__(self, blocks):
        make(self, blocks)
        self.config_values = {}  # built for every block of the page: about 0.5 MB a session here

    SessionState.__init__ = __init__
    SessionState._update_value_in_config = lambda self, key, value: None
    SessionState._update_config = lambda self, key: None
    SessionState._explainer_keeps_no_values = True


def release_memory() -> None:
    """Return freed heap pages to the system after an analysis, so memory stays flat (glibc only)."""
    if _LIBC is not None and hasattr(_LIBC, "malloc_trim"):
        _LIBC.malloc_trim(0)
