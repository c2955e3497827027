"""Command line: ``python -m explainer.train --data DIR --name NAME [--models a,b] [--epochs N]``.

With several models, each trains in a fresh Python process of its own (:func:`_train_apart`);
``--one-process`` trains them all here. ``--evaluate`` scores a set on a folder per class instead.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from .. import audio
from ..models import list_models
from ..pretrained import PRETRAINED_DIR, PretrainedError, set_dir
from ..scoring import evaluate
from . import FINETUNE_LAYERS, TrainConfig, model_settings, run
from . import __doc__ as _PACKAGE_DOC

_DESCRIPTION = _PACKAGE_DOC.split("\n\n")[0]  # the package docstring's first line


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m explainer.train", description=_DESCRIPTION)
    p.add_argument("--data", required=True, type=Path, help="generated set or folder-per-class dataset")
    p.add_argument("--name", required=True, help="name of the set to write under pretrained/")
    p.add_argument("--models", default=",".join(list_models()), help="comma-separated architectures")
    scales = {arch: model_settings(arch, TrainConfig())["epoch_scale"] for arch in list_models()}
    scaled = ", ".join(f"{arch} {scale:g}" for arch, scale in scales.items() if scale != 1.0)
    p.add_argument("--epochs", type=int, default=TrainConfig.max_epochs,
                   help=f"maximum epochs per model, times the epoch_scale on its class ({scaled})")
    p.add_argument("--seed", type=int, default=TrainConfig.seed)
    p.add_argument("--clip-seconds", type=float, default=TrainConfig.clip_seconds)
    p.add_argument("--batch-size", type=int, default=TrainConfig.batch_size)
    p.add_argument("--out", type=Path, default=None, help="folder holding model sets (default: pretrained/)")
    p.add_argument("--evaluate", action="store_true",
                   help="do not train: report each model's accuracy on --data, a folder per class")
    p.add_argument("--from", dest="parent", default=None, metavar="SET",
                   help="fine-tune each model from this trained set (a new head on its body) instead of "
                        "training from scratch")
    p.add_argument("--layers", choices=FINETUNE_LAYERS, default=None,
                   help="with --from: what fine-tuning trains in every model: the new head, the last block and "
                        "the head, or all layers (default: each architecture's own choice)")
    p.add_argument("--compare-scratch", action="store_true",
                   help="with --from: also train each model from scratch on the same clips, and print both")
    p.add_argument("--one-process", action="store_true",
                   help="train every model in this one process (by default each model trains in a fresh process "
                        "of its own, so none runs slower for what the one before it left in memory)")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)  # one model of a multi-model run
    return p


def main(argv: list[str] | None = None) -> int:
    p = _parser()
    a = p.parse_args(argv)
    if a.evaluate:
        try:
            report = evaluate(a.data, a.name, a.out)
        except (ValueError, audio.AudioError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        for arch, m in report.items():
            print(f"{arch:16s} accuracy {m['accuracy']:.3f} on {m['n']} clips  recall {m['per_class_recall']}")
        for line in next(iter(report.values()))["skipped"]:
            print(f"skipped {line}")
        return 0
    archs = [m.strip() for m in a.models.split(",") if m.strip()]
    unknown = [m for m in archs if m not in list_models()]
    if unknown:
        print(f"error: unknown models {unknown}; choose from {list_models()}", file=sys.stderr)
        return 2
    if not a.data.is_dir():
        print(f"error: {a.data} is not a folder", file=sys.stderr)
        return 2
    cfg = TrainConfig(seed=a.seed, max_epochs=a.epochs, min_epochs=min(TrainConfig.min_epochs, a.epochs),
                      clip_seconds=a.clip_seconds, batch_size=a.batch_size)
    if a.compare_scratch and not a.parent:
        print("error: --compare-scratch compares with fine-tuning: give the set to start from with --from SET",
              file=sys.stderr)
        return 2
    if len(archs) > 1 and not (a.one_process or a.child):
        try:
            folder = set_dir(a.name, a.out or PRETRAINED_DIR)  # a bad name stops here, not in the first child
        except PretrainedError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        return _train_apart(a, archs, folder, child_args(p, a))
    try:
        out = run(a.data, a.name, archs, cfg, a.out, parent=a.parent, compare_scratch=a.compare_scratch,
                  layers=a.layers)
    except (ValueError, audio.AudioError, PretrainedError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if a.child:
        return 0
    return _summary(a, out)


def child_args(p: argparse.ArgumentParser, a: argparse.Namespace) -> list[str]:
    """The command line of each child of a multi-model run: every option ``a`` holds, read off the
    parser ``p`` so that a flag added to it reaches the children too, less ``--models`` (each child
    gets its own), ``--one-process`` and ``--evaluate`` (which trains nothing), plus ``--child``."""
    args = []
    for action in p._actions:
        if not action.option_strings or action.dest in ("help", "models", "one_process", "child", "evaluate"):
            continue
        value = getattr(a, action.dest)
        if action.nargs == 0:  # a switch
            args += [action.option_strings[0]] if value else []
        elif value is not None:
            args += [action.option_strings[0], str(value)]
    return args + ["--child"]


def _train_apart(a: argparse.Namespace, archs: list[str], folder: Path, args: list[str]) -> int:
    """Train each of ``archs`` in a fresh Python process, one after the other, into the same set.

    In one long process the models after the waveform CNN trained up to 16 % slower than they do
    alone (the spectrogram CNN 291 s against 245-262 s, the ViT 666 s against 582 s); the shipped
    set (the ViT at 9 epochs then) trained in 42.3 min this way against 46.5 min in one process,
    with the same weights bit for bit. Each child writes its model into the set's card, as a
    one-model run would, so the set comes out as one run of all of them would leave it. ``args``
    is the children's command line (:func:`child_args`), to which each adds ``--models ARCH``.
    """
    package_root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [package_root] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else [])))
    for arch in archs:
        rc = subprocess.run([sys.executable, "-m", "explainer.train", *args, "--models", arch], env=env).returncode
        if rc != 0:
            print(f"error: training {arch} stopped (exit status {rc}); the models before it are in the set",
                  file=sys.stderr)
            return rc
    return _summary(a, folder)


def _summary(a: argparse.Namespace, out: Path) -> int:
    """Print a fine-tuning run's table of accuracies, then the set's folder."""
    if a.parent:
        card = json.loads((out / "card.json").read_text())
        print(f"{'model':16s} {'layers':>6s} {'fine-tuned':>10s} {'seconds':>8s}"
              + ("  from scratch  seconds" if a.compare_scratch else ""))
        for arch, m in card["models"].items():
            line = f"{arch:16s} {m['trained_layers']:>6s} {m['test']['accuracy']:10.3f} {m['train_seconds']:8.1f}"
            if "scratch" in m:
                line += f"  {m['scratch']['test']['accuracy']:12.3f}  {m['scratch']['train_seconds']:7.1f}"
            print(line)
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
