"""Command line: ``python -m explainer.data --out DIR`` or ``--examples DIR``."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time

from .config import SPLITS, DataConfig
from .generate import generate, write_examples
from .sources import build_inventory
from .tools import MissingToolError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m explainer.data",
        description="Generate the six-class sound data set from synthetic sources and real "
                    "recordings in Debian packages (16 kHz mono 16-bit WAV).")
    parser.add_argument("--out", help="output folder for the data set and manifest.json")
    parser.add_argument("--examples", metavar="DIR",
                        help="write the app's bundled examples (2 per class + sequence.wav)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of every clip (default 0)")
    parser.add_argument("--split-seed", type=int, default=0,
                        help="seed of the source-to-split assignment (default 0)")
    parser.add_argument("--per-class", type=int, metavar="N",
                        help="clips per class in EVERY split (default 500 train / 60 val / 120 test)")
    parser.add_argument("--sequences", type=int, metavar="M",
                        help="sequence clips in EVERY split (default 60 train / 10 val / 20 test)")
    parser.add_argument("--classes", help="comma-separated subset of classes (default: all six)")
    parser.add_argument("--no-real", action="store_true",
                        help="synthetic sources only (no recordings from Debian packages)")
    parser.add_argument("--splits", default=",".join(SPLITS),
                        help="comma-separated splits to write (default: train,val,test); "
                             "--splits test remakes only the held-out clips")
    parser.add_argument("--list-sources", action="store_true",
                        help="print which sources each split holds (the held-out table), as JSON")
    args = parser.parse_args(argv)
    if not (args.out or args.examples or args.list_sources):
        parser.error("give --out DIR, --examples DIR or --list-sources")

    config = DataConfig(seed=args.seed, split_seed=args.split_seed, use_real=not args.no_real)
    if args.per_class is not None:
        config.train_per_class = config.val_per_class = config.test_per_class = args.per_class
    if args.sequences is not None:
        config.train_sequences = config.val_sequences = config.test_sequences = args.sequences
    if args.classes:
        config.classes = tuple(c.strip() for c in args.classes.split(",") if c.strip())
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    try:
        config.validate()
        if args.list_sources:
            print(json.dumps(build_inventory(config).held_out(), indent=1))
        if args.examples:
            paths = write_examples(args.examples, config)
            print(f"wrote {len(paths)} files to {args.examples}")
        if args.out:
            t0 = time.perf_counter()
            manifest = generate(args.out, config,
                                tuple(s.strip() for s in args.splits.split(",") if s.strip()))
            print(f"wrote {manifest} in {time.perf_counter() - t0:.1f} s")
    except (MissingToolError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
