"""Export an analysis: the JSON report and a zip of its figures, in a temporary folder.

:func:`export` is a context manager. It writes both files into a fresh folder
whose name starts with :data:`explainer.audio.TEMP_PREFIX`, yields their paths,
and deletes the folder when the ``with`` block ends, so nothing is left behind
even when the caller fails halfway.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import tempfile
import zipfile
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

from . import plots, story
from .audio import TEMP_PREFIX

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .analysis import Analysis


def report_dict(analysis: Analysis) -> dict:
    """``Analysis.to_dict()`` plus the one-line summary the app shows."""
    out = analysis.to_dict()
    out["summary"] = story.summary_line(analysis).replace("**", "")
    out["untrained"] = story.is_untrained(analysis)
    return out


def figure_jobs(analysis: Analysis) -> list[tuple[str, Callable[[], Figure]]]:
    """(file stem, figure maker) for every figure worth exporting, in reading order."""
    a = analysis
    jobs: list[tuple[str, Callable[[], Figure]]] = [
        ("01_waveform", lambda: plots.waveform(a)),
        ("02_mel_spectrogram", lambda: plots.mel_spectrogram(a)),
        ("03_lfcc_grid", lambda: plots.lfcc_grid(a)),
        ("04_predictions", lambda: plots.prediction_table(a)),
    ]
    for m in a.methods:
        jobs.append((f"05_where_each_model_listened_{m}", lambda m=m: plots.listening_timeline(a, m)))
    if any(r.frame_probabilities is not None for r in a.models.values()):
        jobs.append(("06_tcn_frames", lambda: plots.tcn_frame_timeline(a)))
    for i, arch in enumerate(a.models, start=1):
        r = a.models[arch]
        jobs.append((f"1{i}_{arch}_input", lambda arch=arch: plots.model_input(a, arch)))
        jobs.append((f"1{i}_{arch}_feature_maps", lambda arch=arch: plots.feature_maps(a, arch)))
        for m, attr in r.attributions.items():
            jobs.append((f"1{i}_{arch}_{m}", lambda arch=arch, m=m, attr=attr:
                         plots.attribution_overlay(a, arch, attr, m, a.classes[a.models[arch].target])))
    return jobs


def _safe(stem: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", stem)[:80]


@contextmanager
def export(analysis: Analysis, progress: Callable[[float, str], None] | None = None) -> Iterator[tuple[Path, Path]]:
    """Write ``report.json`` and ``figures.zip`` to a temporary folder; yields their two paths.

    Args:
        analysis: what to export.
        progress: optional ``progress(fraction, text)`` called after each figure.

    The folder and both files are deleted when the ``with`` block exits.
    """
    folder = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX + "export-"))
    try:
        stamp = _safe(f"{analysis.set_name}")
        json_path = folder / f"audio-explainer-report-{stamp}.json"
        json_path.write_text(json.dumps(report_dict(analysis), indent=1))
        zip_path = folder / f"audio-explainer-figures-{stamp}.zip"
        jobs = figure_jobs(analysis)
        with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_STORED) as zf:  # PNGs are already compressed
            for k, (stem, make) in enumerate(jobs):
                fig = make()
                buf = io.BytesIO()
                fig.savefig(buf, format="png")
                plots.close(fig)
                zf.writestr(f"{_safe(stem)}.png", buf.getvalue())
                if progress is not None:
                    progress((k + 1) / len(jobs), f"figure {k + 1} of {len(jobs)}")
            zf.writestr("report.json", json_path.read_text())
        yield json_path, zip_path
    finally:
        shutil.rmtree(folder, ignore_errors=True)
