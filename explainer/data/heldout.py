"""A small, listenable sample of a set's held-out clips, cell by cell of its confusion matrices.

The shipped set's test clips are not in the repository (they are 720 clips of 3.2 s), but they
can be made again: the generator seeds every clip by its split, class and index, so
``python -m explainer.data --out DIR --splits test`` remakes them. This module scores the set's
models on that folder, checks that the confusion matrices are the card's, and keeps up to
``per_cell`` clips of every cell of every model's matrix, encoded as low-bit-rate Opus, with a
manifest naming each clip's source, package and licence:

    python -m explainer.data.heldout --data DIR --out examples/held-out/sound-types

A clip that lands in a cell of several models' matrices serves them all, so the sample stays
small. The app's Compare view plays them when a cell of the held-out matrix is clicked.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

OPUS_KBPS = 12  # speech stays clear and drums keep their attack; a 3.2 s clip is about 5 KB
MANIFEST = "clips.json"


def score(data: Path, set_name: str = "sound-types") -> tuple[list[dict], dict[str, list[int]], dict]:
    """Every test clip of a generated folder, each model's answer for it, and the check against the card.

    Returns:
        ``(clips, heard, check)``: the manifest's test clips; per architecture the class index each
        clip was heard as; per architecture ``{"accuracy", "card_accuracy", "clips_moved", "confusion"}``,
        where ``clips_moved`` counts the clips whose cell differs from the card's matrix.
    """
    import soundfile as sf
    import torch

    from .. import pretrained, train

    manifest = json.loads((data / "manifest.json").read_text())
    model_set = pretrained.load_set(set_name)
    if manifest.get("seed") != model_set.card.get("data", {}).get("seed"):
        raise ValueError(f"{data} was generated with seed {manifest.get('seed')}, the set's card says "
                         f"{model_set.card.get('data', {}).get('seed')}")
    clips = [c for c in manifest["clips"] if c["split"] == "test"]
    if not clips:
        raise ValueError(f"{data} holds no test clips: make them with python -m explainer.data --splits test")
    waves = torch.stack([torch.from_numpy(sf.read(data / c["path"], dtype="float32")[0]).view(1, -1) for c in clips])
    true = torch.tensor([model_set.classes.index(c["label"]) for c in clips])
    heard, check = {}, {}
    for arch, model in model_set.models.items():
        pred = train.predict(model, waves)
        m = train.metrics(pred, true, model_set.classes)
        card_conf = np.asarray(model_set.card["models"][arch]["test"]["confusion"])
        heard[arch] = pred.tolist()
        check[arch] = {"accuracy": m["accuracy"], "card_accuracy": model_set.card["models"][arch]["test"]["accuracy"],
                       "clips_moved": int(np.abs(np.asarray(m["confusion"]) - card_conf).sum() // 2),
                       "confusion": m["confusion"]}
    return clips, heard, check


def choose(labels: list[int], heard: dict[str, list[int]], n_classes: int, per_cell: int = 3,
           real: list[bool] | None = None) -> list[int]:
    """Indices of clips so that every non-empty cell of every model's matrix holds up to ``per_cell`` of them.

    Greedy: the rarest cells are filled first, and a cell takes the clip that also fills the most
    still-short cells of the other models (then a real recording before a synthetic clip, then the
    lowest index), so that one clip serves several matrices.
    """
    archs = list(heard)
    cells = {(a, t, q): [i for i, y in enumerate(labels) if y == t and heard[a][i] == q]
             for a in archs for t in range(n_classes) for q in range(n_classes)}
    cells = {k: v for k, v in cells.items() if v}
    chosen: set[int] = set()

    def short(cell) -> bool:
        return sum(i in chosen for i in cells[cell]) < min(per_cell, len(cells[cell]))

    for cell in sorted(cells, key=lambda k: (len(cells[k]), k)):
        while short(cell):
            def value(i):
                covers = sum(short((a, labels[i], heard[a][i])) for a in archs)
                return covers, bool(real and real[i]), -i
            chosen.add(max((i for i in cells[cell] if i not in chosen), key=value))
    return sorted(chosen)


def encode(wav: Path, out: Path, kbps: int = OPUS_KBPS) -> None:
    """``wav`` as mono Opus in Ogg at ``kbps`` kbit/s (ffmpeg, without any metadata of this machine)."""
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", str(wav), "-map_metadata", "-1",
                    "-c:a", "libopus", "-b:a", f"{kbps}k", "-ac", "1", "-application", "audio",
                    "-fflags", "+bitexact", str(out)], check=True)


def write_sample(data: Path, out: Path, set_name: str = "sound-types", per_cell: int = 3) -> dict:
    """Score, choose, encode and write ``out/clips.json``; returns the manifest."""
    from . import real
    from .generate import _origin_of

    clips, heard, check = score(data, set_name)
    from .. import pretrained

    classes = pretrained.load_set(set_name).classes
    labels = [classes.index(c["label"]) for c in clips]
    picked = choose(labels, heard, len(classes), per_cell, [c["origin"] == "real" for c in clips])
    collections = {c.name: c for c in real.discover()}
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.ogg"):
        old.unlink()
    listing = []
    for k, i in enumerate(picked):
        c = clips[i]
        name = f"{c['label']}_{Path(c['path']).stem.split('_')[-1]}.ogg"
        encode(data / c["path"], out / name)
        package, licence = _origin_of(c["source"], collections)
        listing.append({"file": name, "test_clip": c["path"], "label": c["label"], "origin": c["origin"],
                        "source": c["source"], "package": package.strip("`"), "licence": licence,
                        "heard_as": {a: classes[heard[a][i]] for a in heard}})
    confusion = {a: check[a].pop("confusion") for a in check}
    manifest = {
        "set": set_name, "classes": classes, "split": "test", "per_cell": per_cell,
        "made_by": "python -m explainer.data --out DIR --splits test, then python -m explainer.data.heldout "
                   f"--data DIR --out examples/held-out/{set_name}",
        "codec": f"Opus {OPUS_KBPS} kbit/s mono in Ogg, from the 16 kHz WAV the generator writes",
        "test_clips": len(clips), "check_against_card": check, "confusion": confusion, "clips": listing,
    }
    write_manifest(out / MANIFEST, manifest)
    return manifest


def write_manifest(path: Path, manifest: dict) -> None:
    """Write ``manifest`` with one line per clip and per matrix: small, and a diff shows which clip changed."""
    head = ",\n".join(f" {json.dumps(k)}: {json.dumps(v)}" for k, v in manifest.items() if k not in ("confusion", "clips"))
    conf = ",\n".join(f"  {json.dumps(a)}: {json.dumps(v)}" for a, v in manifest["confusion"].items())
    rows = ",\n".join(f"  {json.dumps(c)}" for c in manifest["clips"])
    path.write_text(f"{{\n{head},\n \"confusion\": {{\n{conf}\n }},\n \"clips\": [\n{rows}\n ]\n}}\n")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m explainer.data.heldout", description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, type=Path, help="a folder made by python -m explainer.data --splits test")
    p.add_argument("--out", required=True, type=Path, help="where the Opus clips and clips.json go")
    p.add_argument("--set", default="sound-types")
    p.add_argument("--per-cell", type=int, default=3)
    a = p.parse_args(argv)
    try:
        m = write_sample(a.data, a.out, a.set, a.per_cell)
    except (ValueError, OSError, subprocess.CalledProcessError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    size = sum(f.stat().st_size for f in a.out.iterdir())
    print(f"{len(m['clips'])} clips of {m['test_clips']}, {size / 1024:.0f} KB in {a.out}; against the card: "
          + ", ".join(f"{arch} {c['clips_moved']} moved" for arch, c in m["check_against_card"].items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
