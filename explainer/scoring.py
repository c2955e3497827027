"""Scoring trained models: predictions, accuracy, per-class recall, confusion matrices, and a set on a folder.

:mod:`explainer.train` scores every model it trains with these; ``python -m explainer.train
--evaluate`` and :mod:`explainer.transfer` score a set on a folder per class with :func:`evaluate`.
"""

from __future__ import annotations

from pathlib import Path

import torch
from sklearn.metrics import confusion_matrix

from . import audio
from .trainset import AUDIO_EXTENSIONS


@torch.no_grad()
def predict(model: torch.nn.Module, waves: torch.Tensor, batch: int = 32) -> torch.Tensor:
    """Class index predicted for each clip in ``(N, 1, samples)``."""
    model.eval()
    out = [model(model.front_end(waves[i : i + batch])).argmax(1) for i in range(0, len(waves), batch)]
    return torch.cat(out)


def metrics(pred: torch.Tensor, true: torch.Tensor, classes: list[str]) -> dict:
    """Accuracy, per-class recall and the confusion matrix (rows: true class)."""
    # labels= gives every class its row and column, also those the clips do not hold
    conf = confusion_matrix(true.numpy(), pred.numpy(), labels=range(len(classes)))
    recall = {c: float(conf[i, i] / conf[i].sum()) if conf[i].sum() else None for i, c in enumerate(classes)}
    return {"accuracy": round((pred == true).float().mean().item(), 4),
            "per_class_recall": {c: None if r is None else round(r, 4) for c, r in recall.items()},
            "confusion": conf.tolist(), "n": int(len(true))}


def origin_metrics(pred: torch.Tensor, true: torch.Tensor, origins: list[str], sources: list[str],
                   classes: list[str]) -> dict:
    """The test metrics of real recordings and of synthetic clips, each on its own.

    Returns:
        ``{"real": metrics, "synthetic": metrics, "real_by_package": {package: accuracy}}``,
        only the parts the split holds clips for; empty for folder datasets.
    """
    out: dict = {}
    for origin in ("synthetic", "real"):
        keep = torch.tensor([o == origin for o in origins], dtype=torch.bool)
        if keep.any():
            out[origin] = metrics(pred[keep], true[keep], classes)
    packages = sorted({s.split(":")[0] for s, o in zip(sources, origins) if o == "real"})
    if packages:
        out["real_by_source"] = {}
        for package in packages:
            keep = torch.tensor([o == "real" and s.split(":")[0] == package for s, o in zip(sources, origins)])
            out["real_by_source"][package] = {"accuracy": round((pred[keep] == true[keep]).float().mean().item(), 4),
                                              "n": int(keep.sum())}
    return out


@torch.no_grad()
def frame_accuracy(model: torch.nn.Module, waves: torch.Tensor, frame_labels: torch.Tensor) -> float:
    """Share of labelled frames of sequence clips that a frame-level model classifies correctly."""
    model.eval()
    pred = model.frame_logits(model.front_end(waves)).argmax(1)
    mask = frame_labels >= 0
    return round((pred[mask] == frame_labels[mask]).float().mean().item(), 4)


def evaluate(data_dir: Path, name: str, out_root: Path | None = None) -> dict:
    """Accuracy of every model of set ``name`` on a folder-per-class dataset (all of it is test data).

    Folders whose names are not classes of the set are ignored. Clips are analysed
    whole (up to 30 s), as the app does, not cut to the training length.
    """
    from .pretrained import load_set

    model_set = load_set(name, root=out_root)
    data_dir = Path(data_dir)
    items = [(f, c) for c in model_set.classes if (data_dir / c).is_dir()
             for f in sorted((data_dir / c).iterdir()) if f.suffix.lower() in AUDIO_EXTENSIONS]
    if not items:
        raise ValueError(f"{data_dir} has no folders named after the classes {model_set.classes}.")
    waves, kept, skipped = [], [], []
    for f, c in items:
        try:
            waves.append(audio.load(f).waveform.view(1, 1, -1))
            kept.append(c)
        except audio.AudioError as e:  # one unusable clip should not hide the rest
            skipped.append(f"{f.name}: {e}")
    if not waves:
        raise ValueError(f"none of the clips in {data_dir} could be read: {skipped[:3]}")
    truth = torch.tensor([model_set.classes.index(c) for c in kept])
    report = {}
    for arch, model in model_set.models.items():
        with torch.no_grad():
            pred = torch.tensor([int(model(model.front_end(w)).argmax()) for w in waves])
        report[arch] = metrics(pred, truth, model_set.classes)
        report[arch]["skipped"] = skipped
    return report
