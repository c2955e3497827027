"""The example gallery: the clips in ``examples/`` and their labels."""

from __future__ import annotations

import json
from pathlib import Path

EXAMPLES_DIR = Path(__file__).resolve().parent.parent.parent / "examples"


def examples(folder: Path = EXAMPLES_DIR) -> tuple[list[list[str]], list[str]]:
    """Example clips and their gallery labels, from ``folder/examples.json`` (or just its wav files).

    A clip with a ``title`` is a real recording and says so; repeated labels are numbered.
    """
    if not folder.is_dir():
        return [], []
    paths, labels = [], []
    meta = folder / "examples.json"
    try:
        info = json.loads(meta.read_text()) if meta.is_file() else {}
    except (OSError, ValueError):
        info = {}
    count: dict[str, int] = {}
    for clip in info.get("clips", []):
        p = folder / str(clip.get("path", ""))
        if p.is_file() and p.parent == folder:
            label = str(clip.get("label", p.stem))
            paths.append([str(p)])
            if clip.get("title"):  # a real recording: say what it is
                labels.append(f"{label}: {clip['title']} (real)")
                continue
            count[label] = count.get(label, 0) + 1
            labels.append(label if count[label] == 1 else f"{label} {count[label]}")
    seq = info.get("sequence") or {}
    if seq and (folder / str(seq.get("path", ""))).is_file():
        parts = [s[2] for s in seq.get("segments", []) if len(s) == 3]
        paths.append([str(folder / seq["path"])])
        labels.append("sequence: " + " → ".join(parts) if parts else "sequence")
    if not paths:  # no metadata: every wav, labelled by its name
        for p in sorted(folder.glob("*.wav")):
            paths.append([str(p)])
            labels.append(p.stem.replace("_", " "))
    return paths, labels
