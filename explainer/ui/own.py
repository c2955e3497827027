"""Your own sounds: a visitor's classes and clips, fine-tuned and from-scratch training, and the new set.

Everything a visitor makes lives in a private temporary folder of their session
(:class:`OwnSounds`), removed when the session ends: when Gradio's time for it runs out, when Gradio
drops the session to make room for newer ones (the folder goes with the last reference to it), and
when the server stops. Folders that a server killed outright left behind go when the next one
starts (:func:`remove_orphans`). A new set gets a random name that only
its session's menu lists, so on a shared server no visitor sees another's clips or sets.
Saving a set into ``pretrained/`` is allowed only when ``EXPLAINER_SAVE_OWN_SETS=1`` (a local
install).
"""

from __future__ import annotations

import io
import os
import re
import secrets
import shutil
import tempfile
import threading
import weakref
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from .. import audio, pretrained

MIN_CLASSES, MAX_CLASSES = 2, 6
MIN_PER_CLASS = 5  # fewer cannot be split into training and held-out clips
MAX_PER_CLASS = 40
MAX_CLIP_SECONDS = 10.0  # longer recordings are cut to their first 10 s
MAX_ZIP_BYTES = 100 * 1024 * 1024
TRAIN_SECONDS = 2.0  # every clip is cut or padded to this for training
SAVE_ENV = "EXPLAINER_SAVE_OWN_SETS"
_CLASS_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _-]{0,23}$")

# private set name -> the folder that holds it; only its own session's menu ever lists the name
_PRIVATE: dict[str, Path] = {}
_PRIVATE_LOCK = threading.Lock()


class OwnSoundsError(ValueError):
    """Something a visitor can put right: a class name, a clip, a count."""


def private_root(name: str) -> Path | None:
    """The folder of a visitor's private set, or ``None`` when ``name`` is not one."""
    with _PRIVATE_LOCK:
        return _PRIVATE.get(name)


FOLDER_PREFIX = audio.TEMP_PREFIX + "own-"  # then the server's process id, so a later server knows whose it was


def _new_folder() -> Path:
    return Path(tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{os.getpid()}-"))


def _remove(folder: Path, sets: dict[str, str]) -> None:
    """Forget a visitor's private sets and remove their folder (no reference to the OwnSounds itself)."""
    from .sessions import forget_set

    with _PRIVATE_LOCK:
        for name in sets:
            _PRIVATE.pop(name, None)
    for name in list(sets):
        forget_set(name)
    shutil.rmtree(folder, ignore_errors=True)


def remove_orphans(root: Path | None = None) -> int:
    """Remove the own-sounds folders of servers that are no longer running; returns how many went."""
    root = Path(root or tempfile.gettempdir())
    removed = 0
    for folder in root.glob(FOLDER_PREFIX + "*"):
        pid = folder.name[len(FOLDER_PREFIX):].split("-", 1)[0]
        if not folder.is_dir() or not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)  # signal 0 only asks whether the process exists
            continue
        except ProcessLookupError:
            pass
        except PermissionError:  # alive, under another user
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed += 1
    return removed


@dataclass
class OwnSounds:
    """One visitor's classes, clips and sets, in a temporary folder of their own, removed with the object."""

    folder: Path = field(default_factory=_new_folder)
    classes: list[str] = field(default_factory=list)
    sets: dict[str, str] = field(default_factory=dict)  # private name -> label for the menu
    last: str | None = None  # the set trained or restored last
    card: dict | None = None  # the card of the set trained last: its held-out clips, cell by cell

    def __post_init__(self):
        # runs at close(), when the last reference goes (Gradio dropped the session) or at exit, once
        self._cleanup = weakref.finalize(self, _remove, self.folder, self.sets)

    @property
    def data_dir(self) -> Path:
        return self.folder / "data"

    @property
    def sets_dir(self) -> Path:
        return self.folder / "sets"

    def counts(self) -> dict[str, int]:
        return {c: len(list((self.data_dir / c).glob("*.wav"))) if (self.data_dir / c).is_dir() else 0
                for c in self.classes}

    def set_classes(self, text: str) -> list[str]:
        """Name the classes: 2-6 distinct names, comma-separated. Clips of dropped classes go."""
        names = [n.strip() for n in (text or "").split(",") if n.strip()]
        bad = [n for n in names if not _CLASS_NAME.match(n)]
        if bad:
            raise OwnSoundsError(f"{bad[0]!r} cannot be a class name: use up to 24 letters, digits, spaces, "
                                 "'-' or '_'.")
        if len({n.lower() for n in names}) != len(names):
            raise OwnSoundsError("Two classes have the same name; give each class its own.")
        if not MIN_CLASSES <= len(names) <= MAX_CLASSES:
            raise OwnSoundsError(f"Name {MIN_CLASSES} to {MAX_CLASSES} classes, separated by commas "
                                 "(for example: dog, cat, bird).")
        for old in self.classes:
            if old not in names:
                shutil.rmtree(self.data_dir / old, ignore_errors=True)
        self.classes = names
        return names

    def add_clip(self, cls: str, source) -> float:
        """Add one clip (a path, bytes, or Gradio's ``(rate, array)``) to class ``cls``; returns its seconds."""
        if cls not in self.classes:
            raise OwnSoundsError("Choose which class these clips belong to first.")
        if self.counts()[cls] >= MAX_PER_CLASS:
            raise OwnSoundsError(f"{cls} already has {MAX_PER_CLASS} clips, the most a class may hold.")
        clip = audio.load(source, max_seconds=MAX_CLIP_SECONDS)  # AudioError says what is wrong
        folder = self.data_dir / cls
        folder.mkdir(parents=True, exist_ok=True)
        n = len(list(folder.glob("*.wav")))
        sf.write(folder / f"{n:03d}.wav", clip.waveform[0].numpy().astype(np.float32), audio.SAMPLE_RATE)
        return clip.duration_s

    def add_zip(self, data: bytes) -> dict[str, int]:
        """Add a zip laid out as one folder per class (``dog/1.wav``, ``cat/1.wav``, ...); names the classes."""
        if len(data) > MAX_ZIP_BYTES:
            raise OwnSoundsError(f"This zip is {len(data) / 2 ** 20:.0f} MB; upload at most "
                                 f"{MAX_ZIP_BYTES // 2 ** 20} MB of clips.")
        try:
            z = zipfile.ZipFile(io.BytesIO(data))
        except zipfile.BadZipFile:
            raise OwnSoundsError("This file is not a zip. Upload a zip with one folder per class, "
                                 "or add clips to each class below.") from None
        files = {}
        for m in z.infolist():
            if m.is_dir() or m.filename.startswith("__MACOSX") or Path(m.filename).name.startswith("."):
                continue
            parts = Path(m.filename).parts
            if ".." in parts or m.filename.startswith(("/", "\\")):
                raise OwnSoundsError(f"The zip's file {m.filename!r} points outside its folders.")
            if len(parts) < 2:
                raise OwnSoundsError(f"{m.filename!r} is not inside a class folder: lay the zip out as "
                                     "dog/1.wav, cat/1.wav, ...")
            files.setdefault(parts[-2], []).append(m)
        self.set_classes(", ".join(sorted(files)))
        for cls, members in files.items():
            for m in members:
                if m.file_size > audio.MAX_UPLOAD_BYTES:
                    raise OwnSoundsError(f"{m.filename} is larger than {audio.MAX_UPLOAD_BYTES // 2 ** 20} MB.")
                try:
                    self.add_clip(cls, z.read(m))
                except audio.AudioError as e:
                    raise OwnSoundsError(f"{m.filename}: {e}") from None
        return self.counts()

    def check_ready(self) -> None:
        """Refuse training, with what to add, until every class has enough clips."""
        if len(self.classes) < MIN_CLASSES:
            raise OwnSoundsError(f"Name at least {MIN_CLASSES} classes first.")
        short = {c: n for c, n in self.counts().items() if n < MIN_PER_CLASS}
        if short:
            need = ", ".join(f"{c} ({n})" for c, n in short.items())
            raise OwnSoundsError(f"Every class needs at least {MIN_PER_CLASS} clips; add more to {need}.")

    def register(self, name: str, label: str) -> str:
        """List a set in ``sets_dir`` under ``name`` for this session only."""
        with _PRIVATE_LOCK:
            _PRIVATE[name] = self.sets_dir
        self.sets[name] = label
        self.last = name
        return name

    def restore(self, data: bytes) -> str:
        """Unpack a set downloaded from this app (checked by :func:`explainer.pretrained.import_zip`)."""
        name = new_name()
        self.sets_dir.mkdir(parents=True, exist_ok=True)
        pretrained.import_zip(data, self.sets_dir, name)
        card = pretrained.load_set(name, root=self.sets_dir).card
        return self.register(name, f"restored: {', '.join(card['classes'])}")

    def close(self) -> None:
        """Forget this session's sets and remove its folder."""
        self._cleanup()


def new_name() -> str:
    """A set name nobody can guess: a visitor's sets are found only through their own menu."""
    return f"mine-{secrets.token_hex(8)}"


def can_save() -> bool:
    """Whether sets may be saved into ``pretrained/`` (a local install, ``EXPLAINER_SAVE_OWN_SETS=1``)."""
    import os

    return os.environ.get(SAVE_ENV, "") == "1"


# ---------------------------------------------------------------- the page's handlers

def _gr():
    import gradio as gr

    return gr


def counts_rows(own: OwnSounds | None) -> list[list]:
    """One row per class: its name and how many clips it holds."""
    if own is None:
        return []
    return [[c, n, "ready" if n >= MIN_PER_CLASS else f"add {MIN_PER_CLASS - n} more"] for c, n in own.counts().items()]


def own_classes(own, text):
    """Name the classes; the class menu follows."""
    gr = _gr()
    own = own or OwnSounds()
    try:
        names = own.set_classes(text)
    except OwnSoundsError as e:
        raise gr.Error(str(e)) from None
    return own, gr.update(choices=names, value=names[0]), counts_rows(own)


def own_add(own, cls, files, recording):
    """Add the uploaded files and the recording to one class."""
    gr = _gr()
    if own is None or not own.classes:
        raise gr.Error("Name your classes first (for example: dog, cat, bird).")
    sources = [getattr(f, "name", f) for f in (files or [])] + ([recording] if recording else [])
    if not sources:
        raise gr.Error("Upload files or record a clip first, then add them.")
    try:
        for src in sources:
            own.add_clip(cls, src)
    except (OwnSoundsError, audio.AudioError) as e:
        raise gr.Error(str(e)) from None
    return own, counts_rows(own), None, None


def own_zip(own, file):
    """Add a zip with one folder per class."""
    gr = _gr()
    if not file:
        return gr.skip(), gr.skip(), gr.skip(), gr.skip()
    own = own or OwnSounds()
    try:
        own.add_zip(Path(getattr(file, "name", file)).read_bytes())
    except (OwnSoundsError, audio.AudioError) as e:
        raise gr.Error(str(e)) from None
    return own, ", ".join(own.classes), gr.update(choices=own.classes, value=own.classes[0]), counts_rows(own)


def own_restore(own, file):
    """Bring back a set downloaded earlier (checked like a shipped one)."""
    gr = _gr()
    if not file:
        return gr.skip(), gr.skip(), gr.skip()
    own = own or OwnSounds()
    try:
        name = own.restore(Path(getattr(file, "name", file)).read_bytes())
    except pretrained.PretrainedError as e:
        raise gr.Error(str(e)) from None
    return own, f"Restored **{own.sets[name]}**: it is chosen in the Model set menu.", menu_update(own, name)


def own_save(own):
    """Copy the last set into ``pretrained/`` (a local install only)."""
    gr = _gr()
    if not can_save():
        raise gr.Error(f"Saving into pretrained/ is switched off on this server (set {SAVE_ENV}=1 on a local "
                       "install to allow it). Download the zip instead.")
    if own is None or own.last is None:
        raise gr.Error("Train or restore a set first.")
    target = pretrained.set_dir(own.last, pretrained.PRETRAINED_DIR)
    shutil.copytree(own.sets_dir / own.last, target, dirs_exist_ok=True)
    return f"Saved as `pretrained/{own.last}`: it is listed for everyone after the app restarts."


def menu_update(own: OwnSounds | None, chosen: str | None = None):
    """The Model set menu for this visitor: the shared sets and their own."""
    gr = _gr()
    from .sessions import set_choices

    choices = [(n, n) for n in set_choices()] + ([(label, n) for n, label in own.sets.items()] if own else [])
    return gr.update(choices=choices, value=chosen) if chosen else gr.update(choices=choices)


def cell_matrix(own: OwnSounds | None, arch: str | None) -> dict:
    """The held-out confusion matrix of one model of the set trained last, as a table to click."""
    gr = _gr()
    if own is None or not own.card or arch not in (own.card.get("models") or {}):
        return gr.update(value=None, visible=False)  # nothing trained yet: no empty table
    classes = own.card["classes"]
    conf = own.card["models"][arch]["test"]["confusion"]
    return gr.update(value=[[f"{c} (true)"] + list(row) for c, row in zip(classes, conf)],
                     headers=["true \\ predicted"] + classes, visible=True)


def cell_clips(own: OwnSounds | None, arch: str | None, row: int, col: int):
    """The held-out clips of one cell (true class ``row``, predicted class ``col``): their paths and a line."""
    if own is None or not own.card or arch not in (own.card.get("models") or {}) or col < 1:
        return [], "Click a number in the matrix to hear the clips behind it."
    classes = own.card["classes"]
    true, pred = row, col - 1
    clips = [own.data_dir / f for f, t, q in own.card["models"][arch]["test"].get("clips", []) if t == true and q == pred]
    clips = [str(c) for c in clips if c.is_file()]
    verdict = "right" if true == pred else f"wrong: heard as {classes[pred]}"
    return clips, (f"{len(clips)} held-out {classes[true]} clip{'s' if len(clips) != 1 else ''} ({verdict})."
                   if clips else f"No held-out {classes[true]} clip was heard as {classes[pred]}.")


def own_cell(own, arch, evt=None):
    """A click on the matrix: list that cell's clips and play the first."""
    gr = _gr()
    row, col = (evt.index if evt is not None and evt.index is not None else (0, 0))
    clips, text = cell_clips(own, arch, int(row), int(col))
    choices = [(Path(c).parent.name + "/" + Path(c).name, c) for c in clips]
    return gr.update(choices=choices, value=clips[0] if clips else None), (clips[0] if clips else None), text
