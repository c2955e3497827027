"""One progress bar per model while "Your own sounds" trains: fine-tuned and from scratch, side by side.

:class:`TrainingBoard` keeps the state of every run from the trainer's events
(:func:`explainer.train.run`, ``events=``) and draws it as an HTML panel; :func:`train_live`
runs the trainer in a worker thread and yields the panel after each event, so a generator
handler can redraw the page while the models learn.
"""

from __future__ import annotations

import html
import queue
import threading
from dataclasses import dataclass

RUN_TITLES = {"fine-tuned": "fine-tuned from the shipped set", "trained": "trained", "scratch": "from scratch"}
LAYER_WORDS = {"head": "head", "last": "last block + head", "all": "every layer"}


@dataclass
class RunState:
    """Where one training run stands."""

    state: str = "waiting"  # waiting, epoch (running) or done
    epoch: int = 0
    epochs: int = 0
    val_accuracy: float | None = None
    seconds: float = 0.0
    accuracy: float | None = None  # on the held-out clips, once done
    best_epoch: int = 0
    layers: str | None = None

    @property
    def fraction(self) -> float:
        if self.state == "done":
            return 1.0
        return self.epoch / self.epochs if self.epochs else 0.0


class TrainingBoard:
    """The state of every (architecture, run) pair, drawn as one row of bars per architecture."""

    def __init__(self, titles: dict[str, str], runs: list[str]):
        self.titles = titles  # arch -> title, in the order the rows show
        self.runs = runs  # the columns: "fine-tuned", and "scratch" when compared
        self.state = {(a, r): RunState() for a in titles for r in runs}

    def update(self, event: dict) -> None:
        """Take one event of :func:`explainer.train.run`; events of runs the board does not show are ignored."""
        key = (event.get("arch"), event.get("run"))
        if key not in self.state:
            return
        s = self.state[key]
        s.state = event.get("state", s.state)
        for name in ("epoch", "epochs", "val_accuracy", "seconds", "accuracy", "best_epoch", "layers"):
            if event.get(name) is not None:
                setattr(s, name, event[name])

    def done(self) -> int:
        return sum(s.state == "done" for s in self.state.values())

    def _cell(self, run: str, s: RunState) -> str:
        if s.state == "waiting":
            text = "waiting"
        elif s.state == "done":
            held = "" if s.accuracy is None else f"{100 * s.accuracy:.0f}% held out · "
            stop = f" · best epoch {s.best_epoch} of {s.epoch}" if s.best_epoch else ""
            text = f"done · {held}{s.seconds:.1f} s{stop}"
        else:
            val = "" if s.val_accuracy is None else f" · {100 * s.val_accuracy:.0f}% on its check clips"
            text = f"epoch {s.epoch} of {s.epochs}{val} · {s.seconds:.0f} s"
        layers = f" ({LAYER_WORDS.get(s.layers, s.layers)})" if s.layers and run == "fine-tuned" else ""
        return (f'<div class="ae-run ae-run-{run.replace("-", "")} ae-run-{s.state}">'
                f'<div class="ae-run-track"><div style="width:{100 * s.fraction:.0f}%"></div></div>'
                f'<div class="ae-run-text">{html.escape(text + layers)}</div></div>')

    def html(self, note: str = "") -> str:
        """The panel: a header, then per architecture its title and one bar per run."""
        total = len(self.state)
        head = "".join(f'<div class="ae-runs-col">{html.escape(RUN_TITLES.get(r, r))}</div>' for r in self.runs)
        rows = "".join(
            f'<div class="ae-runs-row"><div class="ae-runs-model">{html.escape(title)}</div>'
            + "".join(self._cell(r, self.state[(a, r)]) for r in self.runs) + "</div>"
            for a, title in self.titles.items())
        note = f'<div class="ae-runs-note">{html.escape(note)}</div>' if note else ""
        return (f'<div class="ae-runs" style="--ae-runs: {len(self.runs)}">'
                f'<div class="ae-runs-title">Training: {self.done()} of {total} runs done</div>'
                f'<div class="ae-runs-row ae-runs-head"><div></div>{head}</div>{rows}{note}</div>')


class Stopped(Exception):
    """The page that asked for the training went away: the worker stops at its next epoch."""


def train_live(board: TrainingBoard, work, min_interval_s: float = 0.25):
    """Run ``work(events)`` in a thread and yield ``(board_html, None)`` as its events arrive, then
    ``(board_html, result)`` once it returns.

    ``work`` is called with the listener to hand to :func:`explainer.train.run`. An exception in
    ``work`` is raised here. When the caller stops iterating (the page closed), the next event
    raises :class:`Stopped` inside the worker, so the training ends at its next epoch.
    """
    import time

    inbox: queue.Queue = queue.Queue()
    stop = threading.Event()

    def listen(event: dict) -> None:
        if stop.is_set():
            raise Stopped()
        inbox.put(("event", event))

    def worker() -> None:
        try:
            inbox.put(("done", work(listen)))
        except BaseException as e:  # handed to the page's thread, which raises it
            inbox.put(("error", e))

    thread = threading.Thread(target=worker, name="own-sounds-training", daemon=True)
    thread.start()
    last = 0.0
    try:
        yield board.html(), None
        while True:
            kind, value = inbox.get()
            if kind == "event":
                board.update(value)
                # redraw at most every min_interval_s: head-only epochs of small models take milliseconds
                if time.monotonic() - last >= min_interval_s or value.get("state") == "done":
                    last = time.monotonic()
                    yield board.html(), None
            elif kind == "error":
                raise value
            else:
                yield board.html(), value
                return
    finally:
        stop.set()
