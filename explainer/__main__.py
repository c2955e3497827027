"""Command line: ``python -m explainer analyze FILE`` and ``python -m explainer bench``.

Bad input exits with status 2 and one line on stderr; there is never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from contextlib import contextmanager


@contextmanager
def _quiet_native_stderr():
    """Silence what C decoders (libmpg123 inside libsndfile) print straight to file descriptor 2.

    The CLI promises one line on stderr; Python-level errors are still reported by us.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(devnull)
        os.close(saved)


def _summary(report: dict) -> str:
    clip = report["clip"]
    lines = [f"{clip['duration_s']:.2f} s clip (source {clip['source_sample_rate']} Hz), set {report['set']!r}"]
    lines += [f"warning: {w}" for w in clip["warnings"]]
    width = max(len(a) for a in report["models"])
    for arch, m in report["models"].items():
        p = m["probabilities"][m["top"]]
        n_params = sum(layer["params"] for layer in m["layers"])
        faith = {k: v["faithfulness"].get("score") for k, v in m["attributions"].items() if v["faithfulness"]}
        faith_txt = "  ".join(f"{k} faithfulness {v:+.2f}" for k, v in faith.items() if v is not None)
        lines.append(f"  {arch:<{width}}  {m['top']:<11} {p:6.1%}   {n_params:>9,} params  {faith_txt}")
    lines.append(f"total {report['timings_ms'].get('total', 0):.0f} ms")
    return "\n".join(lines)


def _analyze(args: argparse.Namespace) -> int:
    from . import analysis, attribution, audio, pretrained, report

    if args.methods is None:
        args.methods = ",".join(analysis.DEFAULT_METHODS)
    methods = tuple(m.strip() for m in args.methods.split(",") if m.strip())
    unknown = [m for m in methods if m not in attribution.METHODS]
    if unknown or not methods:
        print(f"error: unknown method(s) {unknown or [args.methods]}; choose from {', '.join(attribution.METHODS)}",
              file=sys.stderr)
        return 2
    try:
        with _quiet_native_stderr():
            clip = audio.load(args.file, max_seconds=args.max_seconds)
        model_set = pretrained.load_set(args.set)
    except (audio.AudioError, pretrained.PretrainedError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    result = analysis.analyze(clip, model_set, methods, curves=True)
    out = report.report_dict(result)  # the same JSON as the app's API and Export
    print(json.dumps(out) if args.json else _summary(out))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m explainer", description="Audio Explainer from the command line.")
    sub = parser.add_subparsers(dest="command", required=True)
    a = sub.add_parser("analyze", help="run every model of a set on one audio file and explain it")
    a.add_argument("file", help="audio file: WAV, FLAC, OGG, Opus, MP3, M4A, WebM or a video with sound")
    a.add_argument("--set", default="sound-types", help="model set under pretrained/ (default: sound-types)")
    a.add_argument("--methods", default=None,
                   help="comma-separated: input_x_gradient, saliency, integrated_gradients, gradcam, occlusion, "
                        "smoothgrad (default: the app's primary contribution map, then Grad-CAM)")
    a.add_argument("--max-seconds", type=float, default=30.0, help="analyse at most this many seconds")
    a.add_argument("--json", action="store_true", help="print one JSON object instead of a summary")
    b = sub.add_parser("bench", help="measure the performance budgets on this machine")
    b.add_argument("--json", action="store_true", help="print one JSON object")
    b.add_argument("--repeats", type=int, default=5, help="repeats per figure; the median is reported")
    b.add_argument("--quick", action="store_true", help="fewer repeats and a shorter memory run")
    b.add_argument("--soak", action="store_true",
                   help="only the soak: many visitors, each a new session, against the real app (memory, temp files)")
    b.add_argument("--visitors", type=int, default=300, help="visitors in the soak (default 300)")
    b.add_argument("--cache-mb", type=float, default=None, help="the soak server's EXPLAINER_CACHE_MB")
    b.add_argument("--own", action="store_true",
                   help="only the Your own sounds budgets: fine-tune and train from scratch all six on real drum clips")
    args = parser.parse_args(argv)
    try:
        if args.command == "analyze":
            return _analyze(args)
        from . import bench

        return bench.main(args)
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # the promise is one line, never a traceback
        print(f"error: {type(e).__name__}: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
