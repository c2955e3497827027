"""Load a trained model set from ``pretrained/NAME/``: safetensors only, checked against its card."""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from .features import DEFAULT as FEATURES
from .models import build, list_models, share_lock

# the shipped sets; EXPLAINER_PRETRAINED_DIR points the app and CLI at another folder (tests use it)
PRETRAINED_DIR = Path(os.environ.get("EXPLAINER_PRETRAINED_DIR") or Path(__file__).resolve().parent.parent / "pretrained")
DEFAULT_SET = "sound-types"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class PretrainedError(ValueError):
    """A model set is missing, malformed or does not match its card."""


@dataclass
class ModelSet:
    """A trained set: its classes, one eval-mode model per architecture, and its card."""

    name: str
    classes: list[str]
    models: dict[str, nn.Module]
    card: dict = field(default_factory=dict)
    # the one lock of the set: analysis holds it for a whole request, and every attribution of one of
    # its models (explainer.models.model_lock) takes the same re-entrant lock
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False, compare=False)

    def __post_init__(self):
        share_lock(self.models.values(), self.lock)


def set_dir(name: str, root: Path | None = None) -> Path:
    """The folder of set ``name``; refuses names that could leave ``pretrained/``."""
    root = (root or PRETRAINED_DIR).resolve()
    if not isinstance(name, str) or not _NAME.match(name) or ".." in name:
        raise PretrainedError(f"{name!r} is not a valid model-set name: use letters, digits, '-', '_' or '.'.")
    path = (root / name).resolve()
    if path.parent != root:
        raise PretrainedError(f"{name!r} points outside the pretrained folder.")
    return path


def list_sets(root: Path | None = None) -> list[str]:
    """Names of every folder under ``pretrained/`` that holds a ``card.json``, default set first."""
    root = root or PRETRAINED_DIR
    if not root.is_dir():
        return []
    names = sorted(p.name for p in root.iterdir() if (p / "card.json").is_file() and _NAME.match(p.name))
    return sorted(names, key=lambda n: n != DEFAULT_SET)


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _compact(v: torch.Tensor) -> torch.Tensor:
    """``v`` as fp16 when every value fits fp16's range, else unchanged."""
    if not v.is_floating_point():
        return v
    half = v.half()
    return half if bool(torch.isfinite(half).all() or not torch.isfinite(v).all()) else v


def save_weights(model: nn.Module, path: Path) -> str:
    """Write a model's network weights (not its fixed front-end) as fp16 safetensors; returns sha256.

    A tensor with a value beyond fp16's range (about 65,504) stays fp32: a BatchNorm's running
    variance of a log-energy column can pass it, and fp16 would store it as infinity.
    """
    state = {k: _compact(v).contiguous() for k, v in model.state_dict().items() if not k.startswith("front_end.")}
    save_file(state, str(path))
    return sha256(path)


def load_weights(model: nn.Module, path: Path) -> None:
    """Load fp16 or fp32 safetensors into ``model``; every network key must match."""
    try:
        state = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as e:
        raise PretrainedError(f"{path.name} is not a readable safetensors file ({e}).") from None
    expected = {k: v for k, v in model.state_dict().items() if not k.startswith("front_end.")}
    if set(state) != set(expected):
        missing, extra = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
        raise PretrainedError(f"{path.name} does not fit this architecture (missing {missing[:3]}, unexpected {extra[:3]}).")
    for k, v in state.items():
        if v.shape != expected[k].shape:
            raise PretrainedError(f"{path.name}: {k} has shape {tuple(v.shape)}, the model needs {tuple(expected[k].shape)}.")
    model.load_state_dict({k: v.to(expected[k].dtype) for k, v in state.items()}, strict=False)


def untrained_set(classes: list[str] | None = None) -> ModelSet:
    """Randomly initialised models, for exploring shapes before any set is trained.

    Their predictions mean nothing; the app labels them plainly as untrained.
    """
    classes = classes or ["speech", "music", "percussion", "tone", "noise", "silence"]
    torch.manual_seed(0)
    models = {arch: build(arch, n_classes=len(classes)).eval() for arch in list_models()}
    for model in models.values():
        for p in model.parameters():
            p.requires_grad_(False)
    return ModelSet(name="untrained", classes=classes, models=models, card={"untrained": True})


def _check_features(name: str, card: dict) -> None:
    """Refuse a card whose feature settings differ from this code's :class:`~explainer.features.FeatureConfig`.

    Every setting the card records must exist in the code with the same value; a setting the code
    has and an older card lacks is taken at the code's value.
    """
    recorded = card.get("features")
    if recorded is None:
        return
    if not isinstance(recorded, dict):
        raise PretrainedError(f"card.json of {name!r}: 'features' must be an object of feature settings.")
    code = FEATURES.to_dict()
    differ = [f"{k}: the set has {v!r}, this code {code[k]!r}" if k in code else f"{k}: unknown to this code"
              for k, v in recorded.items() if k not in code or code[k] != v]
    if differ:
        raise PretrainedError(
            f"The model set {name!r} was trained on features this version of Audio Explainer does not compute "
            f"({'; '.join(differ[:3])}). Retrain the set with this version, or run the version it was made with.")


def _check_input_shape(name: str, arch: str, model: nn.Module, entry: dict, card: dict) -> None:
    """Refuse a model whose card records an input shape its front-end no longer makes for the card's clip length."""
    shape, seconds = entry.get("input_shape"), card.get("clip_seconds")
    if shape is None or not isinstance(seconds, (int, float)) or seconds <= 0:
        return
    n = int(round(seconds * FEATURES.sample_rate))
    with torch.inference_mode():
        made = list(model.front_end(torch.zeros(1, 1, n)).shape[1:])
    if list(shape) != made:
        raise PretrainedError(
            f"{arch} of {name!r} was trained on inputs shaped {tuple(shape)} for a {seconds:g} s clip, but this code "
            f"makes {tuple(made)}. Retrain the set with this version, or run the version it was made with.")


def load_set(name: str = DEFAULT_SET, *, root: Path | None = None, models: list[str] | None = None) -> ModelSet:
    """Load every architecture of set ``name``, in eval mode.

    Checks, before any weight is read: the name stays inside ``pretrained/``, the
    card lists the classes and a ``.safetensors`` file per model, the card's feature
    settings and each model's input shape match what this code computes, and each
    file's sha256 matches the card. Pickled checkpoints are never opened.

    Raises:
        PretrainedError: with a sentence saying what is wrong.
    """
    folder = set_dir(name, root)
    card_path = folder / "card.json"
    if not card_path.is_file():
        raise PretrainedError(f"No model set named {name!r}: {card_path.parent.name}/card.json is missing.")
    try:
        card = json.loads(card_path.read_text())
    except json.JSONDecodeError as e:
        raise PretrainedError(f"card.json of {name!r} is not valid JSON ({e}).") from None
    classes = card.get("classes")
    if not isinstance(classes, list) or len(classes) < 2 or not all(isinstance(c, str) for c in classes):
        raise PretrainedError(f"card.json of {name!r} must list at least two class names.")
    _check_features(name, card)
    entries = card.get("models", {})
    wanted = [m for m in list_models() if m in entries and (models is None or m in models)]
    if not wanted:
        raise PretrainedError(f"card.json of {name!r} lists no known architecture.")
    loaded: dict[str, nn.Module] = {}
    for arch in wanted:
        entry = entries[arch]
        file = str(entry.get("file", ""))
        if not file.endswith(".safetensors") or Path(file).name != file:
            raise PretrainedError(f"{arch}: weights must be a .safetensors file inside the set, got {file!r}.")
        path = folder / file
        if not path.is_file():
            raise PretrainedError(f"{arch}: {file} is missing from {name!r}.")
        if sha256(path) != entry.get("sha256"):
            raise PretrainedError(f"{arch}: {file} does not match the checksum in card.json; it may be damaged or replaced.")
        if entry.get("n_classes", len(classes)) != len(classes):
            raise PretrainedError(f"{arch}: card says {entry.get('n_classes')} classes but lists {len(classes)}.")
        model = build(arch, n_classes=len(classes))
        _check_input_shape(name, arch, model, entry, card)
        load_weights(model, path)
        loaded[arch] = model.eval()
        for p in model.parameters():
            p.requires_grad_(False)  # shared across requests: attributions need input gradients only
    return ModelSet(name=name, classes=list(classes), models=loaded, card=card)


# a set downloaded as a zip and uploaded again: flat, small, safetensors and its card only
MAX_ZIP_BYTES = 64 * 1024 * 1024
MAX_ZIP_MEMBERS = 16
_PICKLE_SUFFIXES = (".pt", ".pth", ".bin", ".pkl", ".pickle", ".ckpt", ".npy", ".npz")


def export_zip(folder: Path) -> bytes:
    """The set in ``folder`` as zip bytes: its ``card.json`` and the safetensors files the card lists."""
    import io
    import zipfile

    folder = Path(folder)
    card = json.loads((folder / "card.json").read_text())
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(folder / "card.json", "card.json")
        for entry in card.get("models", {}).values():
            z.write(folder / entry["file"], entry["file"])
    return buf.getvalue()


def import_zip(data: bytes, root: Path, name: str | None = None) -> str:
    """Unpack a set zip into ``root/<name>`` after checking everything; returns the set's name.

    Refused, with a sentence: a file over :data:`MAX_ZIP_BYTES`, more than
    :data:`MAX_ZIP_MEMBERS` members, any name with a folder in it or ``..``, pickles and any
    file other than ``card.json`` and ``.safetensors``, a card that is not valid or lists a
    missing file, a checksum that differs from the card, and a set that does not load
    (classes, feature settings, shapes). Nothing is left behind when it is refused.
    """
    import io
    import shutil
    import zipfile

    if len(data) > MAX_ZIP_BYTES:
        raise PretrainedError(f"This zip is {len(data) / 2 ** 20:.0f} MB; a model set may be at most "
                              f"{MAX_ZIP_BYTES // 2 ** 20} MB.")
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
        members = z.infolist()
    except zipfile.BadZipFile:
        raise PretrainedError("This file is not a zip; upload a model set downloaded from this app.") from None
    if len(members) > MAX_ZIP_MEMBERS:
        raise PretrainedError(f"This zip holds {len(members)} files; a model set has a card and at most "
                              f"{MAX_ZIP_MEMBERS - 1} weight files.")
    names = [m.filename for m in members]
    for n in names:
        if "/" in n or "\\" in n or ".." in n or n.startswith(("~", ".")):
            raise PretrainedError(f"The zip's file {n!r} escapes or nests a folder; a model set is flat: "
                                  "card.json and .safetensors files side by side.")
        if n.lower().endswith(_PICKLE_SUFFIXES):
            raise PretrainedError(f"The zip holds {n!r}, a pickle or array file; only .safetensors weights are "
                                  "accepted, because pickles can run code when opened.")
        if n != "card.json" and not n.endswith(".safetensors"):
            raise PretrainedError(f"The zip holds {n!r}; a model set holds only card.json and .safetensors files.")
    if sum(m.file_size for m in members) > MAX_ZIP_BYTES:
        raise PretrainedError(f"This zip unpacks to more than {MAX_ZIP_BYTES // 2 ** 20} MB.")
    if "card.json" not in names:
        raise PretrainedError("This zip has no card.json, so it is not a model set from this app.")
    try:
        card = json.loads(z.read("card.json"))
    except (ValueError, UnicodeDecodeError) as e:
        raise PretrainedError(f"The zip's card.json is not valid JSON ({e}).") from None
    name = name or str(card.get("name", ""))
    target = set_dir(name, root)
    for arch, entry in (card.get("models") or {}).items():
        file = str(entry.get("file", ""))
        if file not in names:
            raise PretrainedError(f"{arch}: the card lists {file!r}, which is not in the zip.")
        if hashlib.sha256(z.read(file)).hexdigest() != entry.get("sha256"):
            raise PretrainedError(f"{arch}: {file} does not match the checksum in card.json; it may be damaged "
                                  "or replaced.")
    staging = target.with_name(target.name + ".incoming")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        for n in names:
            (staging / n).write_bytes(z.read(n))
        card["name"] = name
        (staging / "card.json").write_text(json.dumps(card, indent=1))
        load_set(staging.name, root=staging.parent)  # every check of a shipped set: classes, features, shapes
    except (PretrainedError, OSError) as e:
        shutil.rmtree(staging, ignore_errors=True)
        raise e if isinstance(e, PretrainedError) else PretrainedError(f"The set could not be unpacked ({e}).")
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return name
