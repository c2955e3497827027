"""Compare view: click a cell of a set's held-out confusion matrix and hear clips behind it.

A set can bundle a sample of its test clips in ``examples/held-out/<set>/`` (made by
:mod:`explainer.data.heldout`): up to a few clips per cell of every model's matrix, each with
its source and licence. The matrix shown here is the one of the remade test clips, which the
sample's manifest checks against the card.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from .examples import EXAMPLES_DIR

HELD_OUT_DIR = EXAMPLES_DIR / "held-out"
PROMPT = "Click a number in the matrix to hear held-out clips of that cell."


@functools.lru_cache(maxsize=8)
def bundled(set_name: str | None, folder: Path = HELD_OUT_DIR) -> dict | None:
    """The sample manifest of ``set_name``, or ``None`` when the set bundles no clips."""
    if not set_name or "/" in set_name or "\\" in set_name or set_name.startswith("."):
        return None
    path = folder / set_name / "clips.json"
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    manifest["folder"] = str(path.parent)
    return manifest


def cell_table(set_name: str | None, arch: str | None) -> list[list] | None:
    """The remade test split's matrix of one model, rows labelled with the true class; ``None`` without a sample."""
    m = bundled(set_name)
    if m is None or arch not in m.get("confusion", {}):
        return None
    return [[f"{c} (true)"] + list(row) for c, row in zip(m["classes"], m["confusion"][arch])]


def check_note(set_name: str | None, arch: str | None) -> str:
    """How the remade clips compare with the card, for the caption under the matrix."""
    m = bundled(set_name)
    if m is None or arch not in m.get("confusion", {}):
        return ""
    moved = m["check_against_card"][arch]["clips_moved"]
    same = ("the same cells as the card's matrix" if moved == 0 else
            f"{moved} clip{'s' if moved != 1 else ''} in another cell than the card's matrix counts")
    return (f"The {m['test_clips']} held-out clips were made again from the card's recipe and scored again: "
            f"{same}. Up to {m['per_cell']} clips of each cell are bundled to listen to. {PROMPT}")


def cell_clips(set_name: str | None, arch: str | None, row: int, col: int) -> tuple[list[tuple[str, str]], str]:
    """The bundled clips of one cell (true class ``row``, heard as class ``col - 1``): (label, path) and a line."""
    m = bundled(set_name)
    if m is None or arch not in m.get("confusion", {}) or col < 1:
        return [], PROMPT
    classes = m["classes"]
    if not (0 <= row < len(classes) and 1 <= col <= len(classes)):
        return [], PROMPT
    true, heard = classes[row], classes[col - 1]
    total = m["confusion"][arch][row][col - 1]
    clips = [c for c in m["clips"] if c["label"] == true and c["heard_as"].get(arch) == heard
             and (Path(m["folder"]) / c["file"]).is_file()]
    choices = [(f"{Path(c['file']).stem} · {c['source']} ({c['origin']}, {c['licence']})",
                str(Path(m["folder"]) / c["file"])) for c in clips]
    if not total:
        return [], f"No held-out {true} clip was heard as {heard}."
    verdict = "right" if true == heard else f"wrong: heard as {heard}"
    return choices, (f"{total} held-out {true} clip{'s' if total != 1 else ''} ({verdict}); "
                     f"{len(choices)} of them bundled to listen to.")


def compare_cell(session, arch, evt=None):
    """A click on the Compare view's matrix: list that cell's bundled clips and play the first."""
    import gradio as gr

    set_name = session.set_name if session is not None else None
    row, col = evt.index if evt is not None and evt.index is not None else (0, 0)
    choices, text = cell_clips(set_name, arch, int(row), int(col))
    first = choices[0][1] if choices else None
    return gr.update(choices=choices, value=first), first, text


def matrix_update(session, arch):
    """The clickable matrix, its caption and the listening row, for the page's set and model."""
    import gradio as gr

    set_name = session.set_name if session is not None else None
    table = cell_table(set_name, arch)
    classes = (bundled(set_name) or {}).get("classes", [])
    return (gr.update(value=table, headers=["true \\ heard as"] + classes, visible=table is not None),
            gr.update(value=check_note(set_name, arch), visible=table is not None),
            gr.update(visible=table is not None))
