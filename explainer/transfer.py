"""The transfer-learning claim, measured on real drum recordings that no model trained on.

A teacher's class might teach the models three drums: kick, snare and hi-hat. This module makes
that task from the drum kits of Debian's ``hydrogen-data`` and ``hydrogen-drumkits``: ten
two-second clips a class from some kits (the clips the "Your own sounds" tab would get) and a
held-out folder from *other* kits, then trains all six architectures the way the tab does,
fine-tuned from the shipped set (head only, last block + head, or every layer) and from
scratch, and scores each on the held-out kits.

    python -m explainer.transfer --out DIR [--layers head,last,all] [--no-scratch]

``python -m explainer bench --own`` reports the same figures beside the budgets.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROLES = ("kick", "snare", "hat")
# kits of the training clips, and the kits held out for scoring (none shares a sample with another);
# the first two held-out kits are also in the shipped set's test split, so no shipped model heard them
TRAIN_KITS = ("GMRockKit", "ForzeeStereo", "Millo_MultiLayered2", "ColomboAcousticDrumkit", "BJA_Pacific")
HELD_OUT_KITS = ("Millo_MultiLayered3", "The Black Pearl 1.0", "ElectricEmpireKit", "VariBreaks",
                 "TR808EmulationKit")
CLIP_SECONDS = 2.0
SAMPLE_RATE = 16_000


def _kits(names: tuple[str, ...], root: str = "/") -> dict[str, dict[str, list[str]]]:
    """Each kit's samples by drum role; refuses a kit that is missing or lacks a role."""
    from .data import real

    found = {c.name.split(":", 1)[1]: c for c in real.discover(root) if c.name.startswith("hydrogen-kit:")}
    missing = [k for k in names if k not in found]
    if missing:
        raise ValueError(f"drum kits {missing} are not installed: apt-get install hydrogen-data hydrogen-drumkits")
    kits = {k: real.roles(found[k].files) for k in names}
    short = [(k, r) for k in names for r in ROLES if not kits[k].get(r)]
    if short:
        raise ValueError(f"kit {short[0][0]!r} has no {short[0][1]} samples")
    return kits


def _clip(samples: list[str], rng: np.random.Generator) -> np.ndarray:
    """Two to four hits of one drum, at random times and velocities, over a quiet room: how a learner
    would record "kick" by playing it a few times."""
    from .data.speech import trim
    from .data.tools import read_mono

    n = int(CLIP_SECONDS * SAMPLE_RATE)
    out = np.zeros(n, np.float32)
    for t in np.sort(rng.uniform(0.05, CLIP_SECONDS - 0.35, int(rng.integers(2, 5)))):
        hit = trim(read_mono(Path(samples[int(rng.integers(len(samples)))])), -60.0, pad_s=0.005)
        a = int(t * SAMPLE_RATE)
        piece = hit[: n - a]
        out[a : a + len(piece)] += np.float32(rng.uniform(0.5, 1.0)) * piece
    out += np.float32(10 ** (rng.uniform(-70, -55) / 20)) * rng.standard_normal(n).astype(np.float32)
    peak = float(np.abs(out).max())
    return out * np.float32(10 ** (rng.uniform(-12, -3) / 20) / peak) if peak > 0 else out


def drum_folders(out: Path, per_class: int = 10, held_out_per_class: int = 20, seed: int = 0,
                 root: str = "/") -> dict:
    """Write ``out/train/<role>/*.wav`` (``per_class`` clips from :data:`TRAIN_KITS`) and
    ``out/held_out/<role>/*.wav`` (from :data:`HELD_OUT_KITS`); returns what came from where."""
    from .data.generate import write_wav

    listing: dict = {"train": {}, "held_out": {}}
    for part, names, count in (("train", TRAIN_KITS, per_class), ("held_out", HELD_OUT_KITS, held_out_per_class)):
        kits = _kits(names, root)
        for r, role in enumerate(ROLES):
            rng = np.random.default_rng(np.random.SeedSequence([seed, part == "held_out", r]))
            for i in range(count):
                kit = names[i % len(names)]  # the kits take turns, so each class hears all of them
                write_wav(out / part / role / f"{role}_{i:02d}.wav", _clip(kits[kit][role], rng))
                listing[part].setdefault(kit, 0)
                listing[part][kit] += 1
    return listing


def own_config(**changes):
    """The settings the "Your own sounds" tab trains with (:func:`explainer.ui.own.own_train`)."""
    from .train import TrainConfig
    from .ui.own import TRAIN_SECONDS

    # more clips held out than the trainer's default: with 10 a class, 3 of each are scored; a few dozen
    # clips make epochs of a few steps, so training from scratch runs 20 of them
    settings = dict(clip_seconds=TRAIN_SECONDS, batch_size=16, split_fractions=(0.6, 0.1), max_epochs=20,
                    min_epochs=20, validate_share=1.0)
    return TrainConfig(**{**settings, **changes})


def measure(data: Path, sets: Path, layers: tuple[str, ...] = ("head", "last", "all"), scratch: bool = True,
            parent: str = "sound-types", seed: int = 0) -> dict:
    """Fine-tune all six on ``data/train`` with each of ``layers`` (and train them from scratch), score on
    ``data/held_out``; returns ``{run: {arch: {"held_out": accuracy, "seconds": s}}, "total_s": ...}``."""
    from . import train
    from .models import list_models

    archs = list_models()
    cfg = own_config(seed=seed)
    # a mode of None fine-tunes each architecture with its own default layers (its finetune_layers)
    runs = [(mode or "default", {"layers": mode}) for mode in layers]
    result: dict = {}
    for label, how in runs + ([("scratch", None)] if scratch else []):
        name = f"drums-{label}-{seed}"
        # from scratch: run() with no parent trains each model from random weights, as the tab's side-by-side run
        folder = train.run(data / "train", name, archs, cfg, out_root=sets, parent=how and parent,
                           layers=how and how["layers"])
        card = json.loads((folder / "card.json").read_text())
        seconds = {a: card["models"][a]["train_seconds"] for a in archs}
        scores = train.evaluate(data / "held_out", name, out_root=sets)
        result[label] = {a: {"held_out": scores[a]["accuracy"], "seconds": seconds[a]} for a in archs}
        result[label]["total_s"] = round(sum(seconds.values()), 1)
        print(f"{label}: {result[label]['total_s']} s, held-out "
              + ", ".join(f"{a} {scores[a]['accuracy']:.2f}" for a in archs), file=sys.stderr, flush=True)
    return result


def own_figures(seed: int = 0) -> dict:
    """The bench's Your own sounds figures: seconds to fine-tune all six with their default layers, and to
    train them from scratch, on :func:`drum_folders` clips; with the held-out accuracy of each."""
    import tempfile

    from .models import list_models
    from .train import TrainConfig, model_settings

    with tempfile.TemporaryDirectory(prefix="audio-explainer-own-") as tmp:
        drum_folders(Path(tmp) / "clips", seed=seed)
        r = measure(Path(tmp) / "clips", Path(tmp) / "sets", layers=(None,), seed=seed)
    fine = r["default"]
    return {"own_finetune_s": fine["total_s"], "own_scratch_s": r["scratch"]["total_s"],
            "own_finetune_layers": {a: model_settings(a, TrainConfig())["finetune_layers"] for a in list_models()},
            "own_held_out_accuracy": {a: {"fine-tuned": fine[a]["held_out"], "scratch": r["scratch"][a]["held_out"]}
                                      for a in list_models()}}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m explainer.transfer", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, type=Path, help="folder for the clips and the trained sets")
    p.add_argument("--layers", default="head,last,all", help="fine-tuning variants to compare")
    p.add_argument("--no-scratch", action="store_true", help="skip training from scratch")
    p.add_argument("--seeds", default="0", help="comma-separated seeds: each draws new clips and trains anew")
    a = p.parse_args(argv)
    report = {}
    try:
        for seed in [int(s) for s in a.seeds.split(",")]:
            data = a.out / f"clips-{seed}"
            report[f"seed {seed}"] = {"clips": drum_folders(data, seed=seed)}
            report[f"seed {seed}"].update(measure(data, a.out / "sets", tuple(a.layers.split(",")),
                                                  not a.no_scratch, seed=seed))
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
