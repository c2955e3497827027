"""Audio Explainer: the web app.

UI only. Every number, figure and sentence comes from the ``explainer`` package;
the handlers below pick what to show and when. Figures of the architecture tabs,
the walkthrough and "Hear the explanation" are drawn only when their tab is open.

    python app.py            # http://127.0.0.1:7860 (GRADIO_SERVER_PORT to change)
"""

from __future__ import annotations

import os

# before gradio is imported: no analytics, no version check, no telemetry, no network at all
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # forced: the app must never report usage
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

import ctypes  # noqa: E402
import ctypes.util  # noqa: E402
import html  # noqa: E402
import json  # noqa: E402
import threading  # noqa: E402
import uuid  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

import gradio as gr  # noqa: E402
import numpy as np  # noqa: E402

from explainer import analysis as analysis_mod  # noqa: E402
from explainer import attribution, audio, listen, plots, pretrained, report, story  # noqa: E402
from explainer.models import list_models  # noqa: E402

HERE = Path(__file__).resolve().parent
EXAMPLES_DIR = HERE / "examples"
ARCHS = list_models()
TAB_LABELS = {"waveform_cnn": "1D waveform CNN", "spectrogram_cnn": "2D spectrogram CNN",
              "baseline_cnn": "Beginner CNN", "lfcc_cnn": "LFCC CNN", "tcn": "TCN", "spectrogram_vit": "ViT"}
METHOD_CHOICES = [(plots.METHOD_TITLES[m], m) for m in attribution.METHODS]
DEFAULT_METHODS = list(analysis_mod.DEFAULT_METHODS)
SLOW_METHODS = {"integrated_gradients", "occlusion", "smoothgrad"}
NOT_YET = "*Analyse a clip (pick an example, upload or record) to fill this view.*"


# ---------------------------------------------------------------- model sets and sessions

_SETS: dict[str, pretrained.ModelSet] = {}
_SETS_LOCK = threading.Lock()


def set_choices() -> list[str]:
    """Trained sets found under pretrained/; the untrained set only when there is none."""
    return pretrained.list_sets() or ["untrained"]


def get_set(name: str) -> pretrained.ModelSet:
    """Load a model set once per process (first request), then reuse it."""
    with _SETS_LOCK:
        if name not in _SETS:
            _SETS[name] = pretrained.untrained_set() if name == "untrained" else pretrained.load_set(name)
        return _SETS[name]


def _libc():
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:  # not glibc (macOS, Windows): nothing to tune
        return None


_LIBC = _libc()
if _LIBC is not None and hasattr(_LIBC, "mallopt"):
    # glibc gives each worker thread its own heap arena; with a few dozen request threads the
    # freed pages of every arena stay mapped and the process only grows. Two arenas are plenty.
    _LIBC.mallopt(-8, 2)  # M_ARENA_MAX


def _release_memory() -> None:
    """Return freed heap pages to the system after an analysis, so memory stays flat."""
    if _LIBC is not None and hasattr(_LIBC, "malloc_trim"):
        _LIBC.malloc_trim(0)


@dataclass
class Session:
    """What one browser tab keeps between events: the last analysis and what was drawn from it."""

    analysis: analysis_mod.Analysis
    key: str = field(default_factory=lambda: uuid.uuid4().hex)
    overlays: dict = field(default_factory=dict)  # (arch, method, target index) -> (attr, deletion check)
    rendered: set = field(default_factory=set)  # lazy views already drawn for this analysis

    def __post_init__(self):
        for r in self.analysis.models.values():  # keep only what the gallery draws: far less memory per visitor
            r.trace.feature_maps = plots.shrink_feature_maps(r.trace, r.input_kind)
        self.index_overlays()

    def index_overlays(self) -> None:
        """Keep every map of the analysis, with its checks so far, for the architecture tabs."""
        for arch, r in self.analysis.models.items():
            for m, attr in r.attributions.items():
                check = dict(r.faithfulness.get(m) or {})
                if m in r.curves:
                    check["curves"] = r.curves[m]
                if m in r.method_info:
                    check["convergence"] = r.method_info[m]
                self.overlays[(arch, m, r.target)] = (attr, check or None)


def _examples() -> tuple[list[list[str]], list[str]]:
    """Example clips and their labels from examples/examples.json (or just the wav files)."""
    if not EXAMPLES_DIR.is_dir():
        return [], []
    paths, labels = [], []
    meta = EXAMPLES_DIR / "examples.json"
    try:
        info = json.loads(meta.read_text()) if meta.is_file() else {}
    except (OSError, ValueError):
        info = {}
    count: dict[str, int] = {}
    for clip in info.get("clips", []):
        p = EXAMPLES_DIR / str(clip.get("path", ""))
        if p.is_file() and p.parent == EXAMPLES_DIR:
            label = str(clip.get("label", p.stem))
            paths.append([str(p)])
            if clip.get("title"):  # a real recording: say what it is
                labels.append(f"{label}: {clip['title']} (real)")
                continue
            count[label] = count.get(label, 0) + 1
            labels.append(label if count[label] == 1 else f"{label} {count[label]}")
    seq = info.get("sequence") or {}
    if seq and (EXAMPLES_DIR / str(seq.get("path", ""))).is_file():
        parts = [s[2] for s in seq.get("segments", []) if len(s) == 3]
        paths.append([str(EXAMPLES_DIR / seq["path"])])
        labels.append("sequence: " + " → ".join(parts) if parts else "sequence")
    if not paths:  # no metadata: every wav, labelled by its name
        for p in sorted(EXAMPLES_DIR.glob("*.wav")):
            paths.append([str(p)])
            labels.append(p.stem.replace("_", " "))
    return paths, labels


# ---------------------------------------------------------------- handlers


def _progress_fn(progress):
    return lambda fraction, text: progress(fraction, desc=text)


def _run_analysis(audio_path, set_name, methods, progress, faithfulness: bool) -> Session:
    if not audio_path:
        raise gr.Error("No audio yet: pick an example, upload a file or record a few seconds.")
    methods = [m for m in (methods or []) if m in attribution.METHODS] or DEFAULT_METHODS
    try:
        progress(0.0, desc="reading the clip")
        clip = audio.load(audio_path)
        progress(0.02, desc="loading the models")
        model_set = get_set(set_name or set_choices()[0])
    except (audio.AudioError, pretrained.PretrainedError) as e:
        raise gr.Error(str(e)) from None
    result = analysis_mod.analyze(clip, model_set, tuple(methods), faithfulness=faithfulness,
                                  progress=_progress_fn(progress))
    session = Session(result)
    _release_memory()
    return session


def analyze(audio_path, set_name, methods, progress=gr.Progress()):
    """Analyse a clip with every model of a set.

    Args:
        audio_path: path of an audio file (WAV, FLAC, MP3, OGG, Opus, M4A, WebM).
        set_name: a model set under pretrained/ (or "untrained").
        methods: attribution methods for the Compare view.

    Returns:
        The headline (HTML) and the JSON report of the analysis.
    """
    session = _run_analysis(audio_path, set_name, methods, progress, faithfulness=True)
    a = session.analysis
    return session, story.headline_html(a) + _notice_html(a), report.report_dict(a)


def analyze_in_page(audio_path, set_name, methods, progress=gr.Progress()):
    """The page's analysis: answers first, faithfulness checks in a later step (see add_faithfulness).

    The deletion checks cost more than the answers themselves, so the page shows the headline
    and Listen & look before running them. Does nothing when the audio was cleared.
    """
    if not audio_path:
        return gr.skip(), story.empty_headline_html(), gr.skip()
    session = _run_analysis(audio_path, set_name, methods, progress, faithfulness=False)
    a = session.analysis
    return session, story.headline_html(a) + _notice_html(a), gr.skip()


def add_faithfulness(session, progress=gr.Progress()):
    """Run the deletion check of every map the page's analysis made; returns the full report."""
    if session is None:
        return gr.skip()
    a = session.analysis
    analysis_mod.add_faithfulness(a, get_set(a.set_name),
                                  progress=lambda f, text: progress(f, desc=f"faithfulness: {text}"))
    session.index_overlays()  # the tabs now show each map with its check
    return report.report_dict(a)


def _notice_html(a) -> str:
    """The clip's warnings (cropped, padded...) in a yellow box; plain facts (resampled...) in grey."""
    warnings, facts = story.clip_notes(a)
    out = "".join(f'<div class="ae-notice">Warning: {html.escape(w)}</div>' for w in warnings)
    if facts:
        out += f'<div class="ae-fact">{html.escape(" ".join(facts))}</div>'
    return out


def set_info(set_name):
    """The untrained banner for the chosen set (hidden for a trained one)."""
    untrained = story.is_untrained(set_name or "")
    return gr.update(value=story.untrained_banner_html(untrained), visible=untrained)


def render_listen(session):
    """Listen & look: waveform, mel, LFCC grid, sizes table and their captions."""
    if session is None:
        return [gr.skip()] * 8
    a = session.analysis
    cap = story.listen_captions(a)
    return (plots.waveform(a), cap["waveform"], plots.mel_spectrogram(a), cap["mel"], plots.lfcc_grid(a),
            cap["lfcc"], story.sizes_rows(a), cap["sizes"])


def render_compare(session, method):
    """Compare: probabilities, where each model listened, the TCN's frames, and the card's metrics."""
    if session is None:
        return [gr.skip()] * 10
    a = session.analysis
    method = method if method in a.methods else a.methods[0]
    card = get_set(a.set_name).card
    archs = [x for x in ARCHS if x in (card.get("models") or {})]
    conf = plots.confusion_matrix(card, archs[0], a.classes) if archs else None
    has_frames = any(r.frame_probabilities is not None for r in a.models.values())
    method_choices = [(plots.METHOD_TITLES[m], m) for m in a.methods]
    return (plots.prediction_table(a), gr.update(choices=method_choices, value=method),
            plots.listening_timeline(a, method), story.compare_caption(a, method),
            gr.update(value=plots.tcn_frame_timeline(a) if has_frames else None, visible=has_frames),
            story.tcn_caption(a),
            gr.update(value=story.metrics_rows(card), visible=bool(story.metrics_rows(card))),
            story.metrics_note(card, a.set_name),
            gr.update(choices=[(plots.model_title(x), x) for x in archs], value=archs[0] if archs else None,
                      visible=bool(archs)), gr.update(value=conf, visible=conf is not None))


def render_timeline(session, method):
    if session is None or method not in session.analysis.methods:
        return gr.skip(), gr.skip()
    a = session.analysis
    return plots.listening_timeline(a, method), story.compare_caption(a, method)


def render_confusion(session, arch):
    if session is None or not arch:
        return gr.skip()
    a = session.analysis
    return plots.confusion_matrix(get_set(a.set_name).card, arch, a.classes)


def _overlay(session, arch, method, target_name, opacity, progress=None):
    """The attribution overlay of one model, computing (and caching) a map it has not got yet."""
    a = session.analysis
    r = a.models[arch]
    target = a.classes.index(target_name) if target_name in a.classes else r.target
    method = method if method in attribution.METHODS else a.methods[0]
    key = (arch, method, target)
    if key not in session.overlays:
        if progress is not None:
            progress(0.1, desc=f"{plots.METHOD_TITLES[method]} and its faithfulness check, "
                               f"{plots.model_title(arch)} only")
        attr, _, check = analysis_mod.explain(get_set(a.set_name), arch, r.x, method, target,
                                              a.clip.waveform.shape[-1], reference=r.reference)
        session.overlays[key] = (attr, check)
    attr, check = session.overlays[key]
    if not (check or {}).get("curves"):
        if progress is not None:
            progress(0.5, desc=f"deletion and insertion curves, {plots.model_title(arch)} only")
        check = {**(check or {}), "curves": analysis_mod.curves_for(get_set(a.set_name), arch, r.x, attr, target,
                                                                          r.reference)}
        session.overlays[key] = (attr, check)
    fig = plots.attribution_overlay(a, arch, attr, method, a.classes[target], opacity)
    on = attribution.on_sound_share(attr, r.input_kind, a.clip.waveform.shape[-1], a.sounding)
    text = story.faithfulness_text(check, a.classes[target], method, on, a.sounding_share)
    if method in plots.SIGNED_METHODS:
        text += "\n\n" + story.reference_text(r.reference_kind, method)
    if method in ("saliency", "input_x_gradient") and a.has_pauses:
        other = "input_x_gradient" if method == "saliency" else "saliency"
        shares = {method: on, other: _on_sound(session, arch, other, target)}
        text += "\n\n" + story.sensitivity_vs_contribution(shares["saliency"], shares["input_x_gradient"])
    curves = (check or {}).get("curves")
    curves_fig = plots.faithfulness_curves(curves, a.classes[target], method) if curves else None
    return fig, text, gr.update(value=curves_fig, visible=curves_fig is not None)


def _on_sound(session, arch, method, target) -> float:
    """The on-sound share of one model's map, computing (and caching) the map if needed."""
    a = session.analysis
    r = a.models[arch]
    key = (arch, method, target)
    if key not in session.overlays:
        attr, _, check = analysis_mod.explain(get_set(a.set_name), arch, r.x, method, target,
                                              a.clip.waveform.shape[-1], faithfulness=False, reference=r.reference)
        session.overlays[key] = (attr, check or None)
    return attribution.on_sound_share(session.overlays[key][0], r.input_kind, a.clip.waveform.shape[-1], a.sounding)


def check_every_map(session, progress=gr.Progress()):
    """Deletion and insertion curves of the primary map of every model, as a table."""
    if session is None:
        raise gr.Error("Analyse a clip first.")
    a = session.analysis
    analysis_mod.add_curves(a, get_set(a.set_name), progress=lambda f, text: progress(f, desc=text))
    return story.curves_rows(a), story.curves_note(a)


def make_arch_renderer(arch: str):
    def render(session, method, opacity, progress=gr.Progress()):
        """Everything in one architecture's tab, drawn when the tab opens."""
        outputs = arch_outputs(arch)
        if session is None:
            return {c: gr.skip() for c in outputs} | {active_view: arch}
        tag = f"arch:{arch}"
        if tag in session.rendered:
            return {c: gr.skip() for c in outputs} | {active_view: arch}
        a = session.analysis
        ui = ARCH_UI[arch]
        if arch not in a.models:
            missing = f"*The model set '{a.set_name}' has no trained {plots.model_title(arch)}.*"
            return {c: gr.skip() for c in outputs} | {ui["input_md"]: missing, active_view: arch}
        r = a.models[arch]
        progress(0.1, desc="drawing the input")
        out = {
            ui["input_plot"]: plots.model_input(a, arch),
            ui["input_md"]: story.input_caption(a, arch),
            ui["flow"]: story.layer_flow_html(a, arch),
            ui["layers"]: story.layer_rows(a, arch),
            ui["why"]: story.why_design(a, arch),
            ui["target"]: gr.update(choices=a.classes, value=r.top),
        }
        # the feature maps are drawn when their accordion is opened; a new clip closes it again
        out[ui["fmaps"]] = None
        out[ui["fmaps_acc"]] = gr.update(open=False)
        progress(0.5, desc="drawing the attribution")
        method = method if method in attribution.METHODS else a.methods[0]
        if (arch, method, r.target) not in session.overlays:
            method = a.methods[0]
            out[ui["method"]] = gr.update(value=method)
        out[ui["overlay"]], out[ui["faith"]], out[ui["faith_plot"]] = _overlay(session, arch, method, r.top, opacity)
        out[ui["random_cb"]] = gr.update(value=False)
        out[ui["random_plot"]] = gr.update(value=None, visible=False)
        out[ui["random_md"]] = ""
        if "rf_slider" in ui:
            frames = int(r.x.shape[-1])
            t = plots.default_frame(a, arch)
            out[ui["rf_slider"]] = gr.update(maximum=frames - 1, value=t)
            out[ui["rf_plot"]] = plots.receptive_field(a, t, arch)
            out[ui["rf_md"]] = story.receptive_field_caption(a, t, arch)
        session.rendered.add(tag)
        out[active_view] = arch
        return out

    render.__name__ = f"view_{arch}"
    return render


def make_fmaps_renderer(arch: str):
    def render(session, progress=gr.Progress()):
        """The feature-map gallery of one model, drawn when its accordion is opened."""
        if session is None or arch not in session.analysis.models:
            return gr.skip()
        progress(0.2, desc="drawing feature maps")
        return plots.feature_maps(session.analysis, arch)

    render.__name__ = f"feature_maps_{arch}"
    return render


def make_overlay_handler(arch: str):
    def update(session, method, target_name, opacity, progress=gr.Progress()):
        """Recompute this model's attribution for the chosen method and class (this model only)."""
        if session is None:
            raise gr.Error("Analyse a clip first.")
        return _overlay(session, arch, method, target_name, opacity, progress)

    update.__name__ = f"overlay_{arch}"
    return update


def make_sanity_handler(arch: str):
    def update(session, on, method, target_name, progress=gr.Progress()):
        """The cascading randomisation check of this model's map (Adebayo et al., 2018), when switched on."""
        if not on:
            return gr.update(value=None, visible=False), ""
        if session is None:
            raise gr.Error("Analyse a clip first.")
        a = session.analysis
        if arch not in a.models:
            return gr.update(value=None, visible=False), ""
        r = a.models[arch]
        target = a.classes.index(target_name) if target_name in a.classes else r.target
        method = method if method in attribution.METHODS else a.methods[0]
        key = ("randomised", arch, method, target)
        if key not in session.overlays:
            if (arch, method, target) not in session.overlays:
                _overlay(session, arch, method, a.classes[target], 0.6)
            trained = session.overlays[(arch, method, target)][0]
            session.overlays[key] = analysis_mod.sanity_check(
                get_set(a.set_name), arch, r.x, method, target, trained=trained, reference=r.reference,
                progress=lambda f, text: progress(f, desc=f"sanity check: {text}"))
        check = session.overlays[key]
        trained = session.overlays[(arch, method, target)][0]
        return (gr.update(value=plots.randomisation_plot(a, arch, method, trained, check), visible=True),
                story.randomisation_text(check, method, arch))

    update.__name__ = f"sanity_{arch}"
    return update


def agree(session, arch, progress=gr.Progress()):
    """Every method's time curve for one model, and how far the methods agree."""
    if session is None:
        raise gr.Error("Analyse a clip first.")
    a = session.analysis
    if arch not in a.models:
        return None, f"This set has no {plots.model_title(arch)}."
    r = a.models[arch]
    key = ("agreement", arch, r.target)
    if key not in session.overlays:
        have = {m: r.attributions[m] for m in r.attributions}
        session.overlays[key] = analysis_mod.agreement(
            get_set(a.set_name), arch, r.x, r.target, a.clip.waveform.shape[-1], have=have, reference=r.reference,
            progress=lambda f, text: progress(f, desc=text))
        for m, attr in session.overlays[key]["maps"].items():  # the tab can show them without recomputing
            session.overlays.setdefault((arch, m, r.target), (attr, None))
    res = session.overlays[key]
    return plots.agreement_plot(a, arch, res), story.agreement_text(res, arch)


def make_rf_handler(arch: str):
    def update(session, t):
        """The receptive field of output frame t."""
        if session is None:
            return gr.skip(), gr.skip()
        a = session.analysis
        return plots.receptive_field(a, int(t), arch), story.receptive_field_caption(a, int(t), arch)

    update.__name__ = f"receptive_field_{arch}"
    return update


def render_step(session, step):
    """One walkthrough step: indicator, text and figure."""
    step = int(np.clip(step or 0, 0, len(story.STEPS) - 1))
    if session is None:
        return step, story.step_indicator(step), NOT_YET, gr.skip()
    a = session.analysis
    return step, story.step_indicator(step), story.step_markdown(a, step), story.step_figure(a, step)


def walk_open(session, step):
    out = render_step(session, step)
    if session is not None:
        session.rendered.add("walkthrough")
    return (*out, "walkthrough")


def walk_back(session, step):
    return render_step(session, (step or 0) - 1)


def walk_next(session, step):
    return render_step(session, (step or 0) + 1)


def _int16(wave: np.ndarray) -> tuple[int, np.ndarray]:
    w = np.clip(np.nan_to_num(np.asarray(wave, dtype=np.float32).reshape(-1)), -1.0, 1.0)
    return audio.SAMPLE_RATE, (w * 32767).astype(np.int16)


def hear(session, arch, method, keep_percent):
    """Resynthesise the clip from its most-attributed cells for one model and method."""
    if session is None:
        return gr.skip(), gr.skip(), gr.skip(), NOT_YET
    a = session.analysis
    arch = arch if arch in a.models else next(iter(a.models))
    method = method if method in a.models[arch].attributions else a.methods[0]
    keep = float(np.clip((keep_percent or 20) / 100.0, 0.05, 1.0))
    r = a.models[arch]
    attr = r.attributions[method]
    if method in attribution.CONTRIBUTION_METHODS:  # keep what spoke for the answer, not what spoke against it
        attr = attr.clamp(min=0.0)
    res = listen.resynthesize(a.clip.waveform, attr, r.input_kind, keep=keep)
    fig = plots.mask_picture(a.clip.waveform.numpy(), res.audio, res.mask, keep)
    caption = story.hear_caption(a, arch, method, keep) + (
        f" The mask keeps {100 * res.kept_fraction:.0f}% of the cells and {100 * res.energy_kept:.0f}% of the "
        "sound's energy.")
    return _int16(a.clip.waveform.numpy()), _int16(res.audio), fig, caption


def hear_open(session, arch, method, keep_percent):
    """The Hear tab, drawn when it opens: the model and method lists follow the analysis."""
    if session is None:
        return gr.skip(), gr.skip(), gr.skip(), NOT_YET, gr.skip(), gr.skip(), "hear"
    a = session.analysis
    if "hear" in session.rendered:
        return (*[gr.skip()] * 6, "hear")
    session.rendered.add("hear")
    method = method if method in a.methods else a.methods[0]
    arch = arch if arch in a.models else next(iter(a.models))
    return (*hear(session, arch, method, keep_percent),
            gr.update(choices=[(plots.METHOD_TITLES[m], m) for m in a.methods], value=method),
            gr.update(choices=[(plots.model_title(x), x) for x in a.models], value=arch), "hear")


def export_files(session, progress=gr.Progress()):
    """Write the JSON report and a zip of the figures; the temporary folder is removed afterwards."""
    if session is None:
        raise gr.Error("Analyse a clip first; then its report and figures can be downloaded.")
    with report.export(session.analysis, progress=_progress_fn(progress)) as (json_path, zip_path):
        # gradio copies the files into its own cache when it sends this answer; the folder goes afterwards
        yield str(json_path), str(zip_path)


# ---------------------------------------------------------------- layout

CSS = """
.gradio-container {max-width: 1800px !important; margin: 0 auto !important}
#ae-title h1 {font-size: 1.55rem; margin: 0}
#ae-title p {margin: 0.1rem 0 0; font-size: 1rem}
.ae-banner {background: #b3261e; color: white; font-weight: 700; font-size: 1.05rem; padding: 8px 14px;
  border-radius: 8px; letter-spacing: 0.01em}
.ae-headline {display: flex; flex-direction: column; gap: 6px}
.ae-cards {display: flex; flex-wrap: wrap; gap: 8px}
.ae-card {flex: 1 1 150px; max-width: 330px; border: 1px solid #d0d5dd; border-top: 6px solid #888;
  border-radius: 8px; padding: 6px 10px; background: var(--block-background-fill)}
.ae-model {font-size: 0.95rem; font-weight: 600; white-space: nowrap; overflow: hidden; text-overflow: ellipsis}
.ae-answer {font-size: 1.25rem; margin-top: 2px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis}
.ae-class {color: white; font-weight: 700; padding: 0 8px; border-radius: 6px}
.ae-random {color: #6b7280; font-style: italic; font-size: 0.95rem}
.ae-conf {font-weight: 700}
.ae-bar {height: 6px; background: #e5e7eb; border-radius: 3px; margin-top: 4px}
.ae-bar div {height: 6px; border-radius: 3px}
.ae-summary {font-size: 1.15rem; font-weight: 600}
.ae-untrained-summary {color: #b3261e}
.ae-waiting {font-weight: 400; color: var(--body-text-color-subdued); padding: 8px 0}
.ae-notice {background: #fff4ce; color: #5c4400; border-left: 5px solid #e0a800; padding: 6px 10px;
  border-radius: 6px; font-size: 1rem; margin-top: 4px}
.ae-fact {font-size: 0.95rem; color: var(--body-text-color-subdued)}
.ae-flow {display: flex; flex-wrap: wrap; align-items: center; gap: 4px}
.ae-box {border: 2px solid #0072B2; border-radius: 8px; padding: 4px 8px; font-size: 0.95rem; line-height: 1.3;
  background: var(--block-background-fill)}
.ae-box code {font-size: 0.9rem}
.ae-input {border-color: #009E73}
.ae-heavy {border-color: #D55E00; background: #fde8dc}
.ae-arrow {font-size: 1.4rem; color: #6b7280}
.ae-flow-note {font-size: 0.95rem; margin-top: 4px; color: var(--body-text-color-subdued)}
.ae-caption {font-size: 1.1rem}
#ae-step-indicator {text-align: center; font-size: 1.15rem}
#ae-step-text h3 {margin-top: 0}
#ae-examples .label, #ae-examples button {font-size: 0.95rem}
"""

THEME = gr.themes.Default(
    primary_hue="blue",
    # system fonts only: the default theme would otherwise ask for web fonts
    font=["Segoe UI", "Roboto", "Helvetica Neue", "Arial", "Noto Sans", "DejaVu Sans", "sans-serif"],
    font_mono=["Consolas", "DejaVu Sans Mono", "Menlo", "monospace"],
)

ARCH_UI: dict[str, dict] = {}


def arch_outputs(arch: str) -> list:
    ui = ARCH_UI[arch]
    keys = ["input_plot", "input_md", "flow", "layers", "why", "target", "fmaps", "fmaps_acc", "method", "overlay",
            "faith", "faith_plot", "random_cb", "random_plot", "random_md"]
    keys += [k for k in ("rf_slider", "rf_plot", "rf_md") if k in ui]
    return [ui[k] for k in keys] + [active_view]


# delete_cache: gradio's copies of exported files and uploads are removed after an hour (and at exit)
with gr.Blocks(title="Audio Explainer", delete_cache=(1800, 3600)) as demo:
    session_state = gr.State(None, time_to_live=1800)
    active_view = gr.State("listen")
    initial_set = set_choices()[0]

    gr.Markdown("# Audio Explainer\nWhat do audio neural networks hear? Give them a clip and look inside six of "
                "them, side by side.", elem_id="ae-title")
    banner = gr.HTML(story.untrained_banner_html(story.is_untrained(initial_set)), padding=False,
                     visible=story.is_untrained(initial_set))
    with gr.Row(equal_height=False):
        with gr.Column(scale=5, min_width=320):
            audio_in = gr.Audio(sources=["upload", "microphone"], type="filepath", label="Your clip",
                                elem_id="ae-audio")
        with gr.Column(scale=3, min_width=250):
            set_dd = gr.Dropdown(set_choices(), value=initial_set, label="Model set", interactive=True)
            methods_cb = gr.Dropdown(METHOD_CHOICES, value=DEFAULT_METHODS, multiselect=True, interactive=True,
                                     label="Attribution methods for Compare (IG, occlusion, SmoothGrad are slower)")
            run_btn = gr.Button("Analyse", variant="primary")
            api_trigger = gr.Button(visible=False)  # only the API calls it
        with gr.Column(scale=4, min_width=280, elem_id="ae-examples"):
            ex_paths, ex_labels = _examples()
            if ex_paths:
                gr.Examples(ex_paths, inputs=[audio_in], example_labels=ex_labels, label="Examples (click one)",
                            examples_per_page=len(ex_paths), cache_examples=False)
            else:
                gr.Markdown("No example clips found in `examples/`.")
    headline = gr.HTML(story.empty_headline_html(), elem_id="ae-headline", padding=False)

    with gr.Tabs(elem_id="ae-tabs") as tabs:
        with gr.Tab("Listen & look", id="listen") as tab_listen:
            with gr.Row():
                with gr.Column(scale=3):
                    wave_plot = gr.Plot(show_label=False, label="Waveform", format="png")
                with gr.Column(scale=1, min_width=240):
                    wave_md = gr.Markdown(NOT_YET, elem_classes="ae-caption")
            with gr.Row():
                with gr.Column(scale=3):
                    mel_plot = gr.Plot(show_label=False, label="Mel spectrogram", format="png")
                with gr.Column(scale=1, min_width=240):
                    mel_md = gr.Markdown(elem_classes="ae-caption")
            with gr.Row():
                with gr.Column(scale=3):
                    lfcc_plot = gr.Plot(show_label=False, label="LFCC + Δ + ΔΔ grid", format="png")
                with gr.Column(scale=1, min_width=240):
                    lfcc_md = gr.Markdown(elem_classes="ae-caption")
            with gr.Accordion("How big is each representation?", open=True):
                sizes_df = gr.Dataframe(headers=story.SIZES_HEADERS, interactive=False, wrap=True)
                sizes_md = gr.Markdown(elem_classes="ae-caption")

        with gr.Tab("Compare", id="compare") as tab_compare:
            pred_plot = gr.Plot(show_label=False, label="Every model's probabilities", format="png")
            with gr.Row():
                timeline_method = gr.Radio(METHOD_CHOICES[:1], value=DEFAULT_METHODS[0],
                                           label="Attribution method shown below (choose more at the top)")
            timeline_plot = gr.Plot(show_label=False, label="Where each model listened", format="png")
            timeline_md = gr.Markdown(elem_classes="ae-caption")
            tcn_plot = gr.Plot(show_label=False, label="TCN: an answer every 10 ms", format="png")
            tcn_md = gr.Markdown(elem_classes="ae-caption")
            with gr.Accordion("Does each map beat its own reverse order? (deletion and insertion)", open=False):
                curves_btn = gr.Button("Run the deletion and insertion curves for every model (a few seconds)")
                curves_df = gr.Dataframe(headers=story.CURVES_HEADERS, interactive=False)
                curves_md = gr.Markdown(elem_classes="ae-caption")
            with gr.Accordion("Do the methods agree? Every method on one model", open=False):
                with gr.Row():
                    agree_dd = gr.Dropdown([(plots.model_title(x), x) for x in ARCHS], value=ARCHS[0], label="Model",
                                           interactive=True)
                    agree_btn = gr.Button("Compute every method (IG and occlusion take a few seconds)")
                agree_plot = gr.Plot(show_label=False, label="Every method's time curve", format="png")
                agree_md = gr.Markdown(elem_classes="ae-caption")
            with gr.Accordion("How good is each model? (held-out test scores)", open=False):
                metrics_md = gr.Markdown()
                metrics_df = gr.Dataframe(headers=story.METRICS_HEADERS, interactive=False)
                conf_dd = gr.Dropdown([], label="Confusion matrix of", interactive=True, visible=False)
                conf_plot = gr.Plot(show_label=False, label="Confusion matrix", format="png", visible=False)

        for arch in ARCHS:
            with gr.Tab(TAB_LABELS.get(arch, arch), id=arch) as tab:
                ui: dict = {"tab": tab}
                gr.Markdown(f"## {plots.model_title(arch)} · {plots.MODEL_SUBTITLES.get(arch, '')}")
                with gr.Accordion("How your clip becomes this model's input", open=True):
                    ui["input_md"] = gr.Markdown(NOT_YET, elem_classes="ae-caption")
                    ui["input_plot"] = gr.Plot(show_label=False, label="The real input tensor", format="png")
                with gr.Accordion("Layers: shape, parameters, receptive field", open=True):
                    ui["flow"] = gr.HTML("")
                    with gr.Accordion("Full layer table", open=False):
                        ui["layers"] = gr.Dataframe(headers=story.LAYER_HEADERS, interactive=False, max_height=420)
                with gr.Accordion("Where did it listen? (attribution on its own input)", open=True):
                    with gr.Row():
                        ui["method"] = gr.Dropdown(METHOD_CHOICES, value=DEFAULT_METHODS[0], label="Method",
                                                   interactive=True)
                        ui["target"] = gr.Dropdown([], label="Explain the class", interactive=True)
                        ui["opacity"] = gr.Slider(0.0, 1.0, value=0.6, step=0.05, label="Map opacity")
                    ui["overlay"] = gr.Plot(show_label=False, label="Attribution overlay", format="png")
                    ui["faith"] = gr.Markdown(elem_classes="ae-caption")
                    ui["faith_plot"] = gr.Plot(show_label=False, label="Deletion and insertion curves", format="png",
                                               visible=False)
                    ui["random_cb"] = gr.Checkbox(False, label="Sanity check: randomise the weights, layer by layer "
                                                  "from the output down, and explain again")
                    ui["random_plot"] = gr.Plot(show_label=False, label="Trained versus randomised", format="png",
                                                visible=False)
                    ui["random_md"] = gr.Markdown(elem_classes="ae-caption")
                if arch == "tcn":
                    with gr.Accordion("Receptive field: what one output frame can see", open=True):
                        ui["rf_slider"] = gr.Slider(0, 100, value=0, step=1, label="Output frame t")
                        ui["rf_plot"] = gr.Plot(show_label=False, label="Receptive field", format="png")
                        ui["rf_md"] = gr.Markdown(elem_classes="ae-caption")
                with gr.Accordion("Why this design?", open=True):
                    ui["why"] = gr.Markdown(elem_classes="ae-caption")
                with gr.Accordion("Feature maps: what its filters respond to (click to draw)", open=False) as acc:
                    ui["fmaps"] = gr.Plot(show_label=False, label="Feature maps", format="png")
                ui["fmaps_acc"] = acc
                ARCH_UI[arch] = ui

        with gr.Tab("Walkthrough", id="walkthrough") as tab_walk:
            step_state = gr.State(0)
            with gr.Row(equal_height=True):
                back_btn = gr.Button("← Back", scale=0, min_width=120)
                step_md = gr.Markdown(story.step_indicator(0), elem_id="ae-step-indicator")
                next_btn = gr.Button("Next →", variant="primary", scale=0, min_width=120)
            walk_md = gr.Markdown(NOT_YET, elem_classes="ae-caption", elem_id="ae-step-text")
            walk_plot = gr.Plot(show_label=False, label="This step on your clip", format="png")

        with gr.Tab("Hear the explanation", id="hear") as tab_hear:
            with gr.Row():
                hear_arch = gr.Dropdown([(plots.model_title(x), x) for x in ARCHS], value=ARCHS[0], label="Model",
                                        interactive=True)
                hear_method = gr.Dropdown(METHOD_CHOICES[:1], value=DEFAULT_METHODS[0], label="Attribution",
                                          interactive=True)
                hear_keep = gr.Slider(5, 100, value=20, step=5, label="Keep this % of the most important cells")
            with gr.Row():
                hear_orig = gr.Audio(label="Your clip", type="numpy", interactive=False)
                hear_out = gr.Audio(label="Only what the model listened to", type="numpy", interactive=False)
            hear_md = gr.Markdown(NOT_YET, elem_classes="ae-caption")
            hear_plot = gr.Plot(show_label=False, label="Which cells are kept", format="png")

        with gr.Tab("Export", id="export") as tab_export:
            gr.Markdown("Download everything this analysis found: the JSON report (the same as "
                        "`python -m explainer analyze FILE --json`) and every figure as a PNG in one zip.")
            export_btn = gr.Button("Prepare downloads", variant="primary")
            with gr.Row():
                export_json = gr.File(label="JSON report", interactive=False)
                export_zip = gr.File(label="Figures (zip)", interactive=False)
            with gr.Accordion("The report, as returned by the /analyze API endpoint", open=False):
                report_json = gr.JSON(label="report")

    # ------------------------------------------------------------ events
    analysis_inputs = [audio_in, set_dd, methods_cb]
    analysis_outputs = [session_state, headline, report_json]
    listen_outputs = [wave_plot, wave_md, mel_plot, mel_md, lfcc_plot, lfcc_md, sizes_df, sizes_md]
    compare_outputs = [pred_plot, timeline_method, timeline_plot, timeline_md, tcn_plot, tcn_md, metrics_df,
                       metrics_md, conf_dd, conf_plot]
    lazy_views = {arch: (ARCH_UI[arch]["tab"], make_arch_renderer(arch)) for arch in ARCHS}

    def refresh_open(session, view, *values):
        """After a new analysis, redraw the lazy view that is open (others are drawn when opened)."""
        method_by_arch = dict(zip(ARCHS, values[: len(ARCHS)]))
        opacity_by_arch = dict(zip(ARCHS, values[len(ARCHS): 2 * len(ARCHS)]))
        step, h_arch, h_method, h_keep = values[2 * len(ARCHS):]
        if session is None:
            return {active_view: view}
        if view in ARCH_UI:
            return make_arch_renderer(view)(session, method_by_arch[view], opacity_by_arch[view])
        if view == "walkthrough":
            s, ind, md, fig, _ = walk_open(session, step)
            return {step_state: s, step_md: ind, walk_md: md, walk_plot: fig}
        if view == "hear":
            outs = hear_open(session, h_arch, h_method, h_keep)
            return dict(zip([hear_orig, hear_out, hear_plot, hear_md, hear_method, hear_arch], outs[:6]))
        return {active_view: view}

    refresh_inputs = ([session_state, active_view] + [ARCH_UI[x]["method"] for x in ARCHS]
                      + [ARCH_UI[x]["opacity"] for x in ARCHS] + [step_state, hear_arch, hear_method, hear_keep])
    refresh_outputs = sorted({id(c): c for x in ARCHS for c in arch_outputs(x)}.values(), key=lambda c: c._id)
    refresh_outputs += [step_state, step_md, walk_md, walk_plot, hear_orig, hear_out, hear_plot, hear_md, hear_method,
                        hear_arch]

    def chain(event):
        """Listen & look first, then the faithfulness checks, then Compare, then whatever lazy view is open."""
        return (event  # .success: a refused file keeps the views of the last good clip, untouched
                .success(render_listen, [session_state], listen_outputs, api_name="render_listen",
                      api_visibility="undocumented")
                .then(add_faithfulness, [session_state], [report_json], api_name="faithfulness",
                      api_visibility="undocumented", concurrency_id="models", concurrency_limit=1,
                      show_progress_on=[timeline_plot])
                .then(render_compare, [session_state, timeline_method], compare_outputs, api_name="render_compare",
                      api_visibility="undocumented")
                .then(refresh_open, refresh_inputs, refresh_outputs, api_name="refresh_open_view",
                      api_visibility="undocumented"))

    chain(run_btn.click(analyze_in_page, analysis_inputs, analysis_outputs, api_name="analyze_button",
                        api_visibility="undocumented", concurrency_id="models", concurrency_limit=1,
                        show_progress_on=[headline]))
    # the API's /analyze: the same analysis with its faithfulness checks, returning headline + report
    api_trigger.click(analyze, analysis_inputs, analysis_outputs, api_name="analyze", concurrency_id="models",
                      concurrency_limit=1)
    chain(audio_in.change(analyze_in_page, analysis_inputs, analysis_outputs, api_name="analyze_on_change",
                          api_visibility="undocumented", concurrency_id="models", concurrency_limit=1,
                          trigger_mode="always_last", show_progress_on=[headline]))
    chain(set_dd.input(analyze_in_page, analysis_inputs, analysis_outputs, api_name="analyze_on_set_change",
                       api_visibility="undocumented", concurrency_id="models", concurrency_limit=1,
                       trigger_mode="always_last", show_progress_on=[headline]))
    chain(methods_cb.input(analyze_in_page, analysis_inputs, analysis_outputs, api_name="analyze_on_methods_change",
                           api_visibility="undocumented", concurrency_id="models", concurrency_limit=1,
                           trigger_mode="always_last", show_progress_on=[headline]))
    set_dd.change(set_info, [set_dd], [banner], api_name="set_info")

    tab_listen.select(lambda: "listen", None, [active_view], api_name="view_listen", api_visibility="undocumented",
                      queue=False)
    tab_compare.select(lambda: "compare", None, [active_view], api_name="view_compare",
                       api_visibility="undocumented", queue=False)
    tab_export.select(lambda: "export", None, [active_view], api_name="view_export", api_visibility="undocumented",
                      queue=False)
    timeline_method.input(render_timeline, [session_state, timeline_method], [timeline_plot, timeline_md],
                          api_name="timeline")
    conf_dd.input(render_confusion, [session_state, conf_dd], [conf_plot], api_name="confusion")
    agree_btn.click(agree, [session_state, agree_dd], [agree_plot, agree_md], api_name="agreement",
                    concurrency_id="models", concurrency_limit=1)
    curves_btn.click(check_every_map, [session_state], [curves_df, curves_md], api_name="curves",
                     concurrency_id="models", concurrency_limit=1)

    for arch in ARCHS:
        ui = ARCH_UI[arch]
        ui["tab"].select(make_arch_renderer(arch), [session_state, ui["method"], ui["opacity"]], arch_outputs(arch),
                         api_name=f"view_{arch}", api_visibility="undocumented", concurrency_id="models",
                         concurrency_limit=1)
        overlay_inputs = [session_state, ui["method"], ui["target"], ui["opacity"]]
        overlay_outputs = [ui["overlay"], ui["faith"], ui["faith_plot"]]
        sanity_inputs = [session_state, ui["random_cb"], ui["method"], ui["target"]]
        sanity_outputs = [ui["random_plot"], ui["random_md"]]
        gr.on([ui["method"].input, ui["target"].input], make_overlay_handler(arch), overlay_inputs,
              overlay_outputs, api_name=f"overlay_{arch}", concurrency_id="models",
              concurrency_limit=1, trigger_mode="always_last").then(
            make_sanity_handler(arch), sanity_inputs, sanity_outputs, api_name=f"sanity_follow_{arch}",
            api_visibility="undocumented", concurrency_id="models", concurrency_limit=1)
        ui["opacity"].release(make_overlay_handler(arch), overlay_inputs, overlay_outputs,
                              api_name=f"overlay_opacity_{arch}", api_visibility="undocumented",
                              trigger_mode="always_last")
        ui["random_cb"].input(make_sanity_handler(arch), sanity_inputs, sanity_outputs, api_name=f"sanity_{arch}",
                              concurrency_id="models", concurrency_limit=1, trigger_mode="always_last")
        ui["fmaps_acc"].expand(make_fmaps_renderer(arch), [session_state], [ui["fmaps"]],
                               api_name=f"feature_maps_{arch}")
        if "rf_slider" in ui:
            ui["rf_slider"].release(make_rf_handler(arch), [session_state, ui["rf_slider"]],
                                    [ui["rf_plot"], ui["rf_md"]], api_name=f"receptive_field_{arch}",
                                    trigger_mode="always_last")

    walk_outputs = [step_state, step_md, walk_md, walk_plot]
    tab_walk.select(walk_open, [session_state, step_state], walk_outputs + [active_view], api_name="view_walkthrough",
                    api_visibility="undocumented")
    back_btn.click(walk_back, [session_state, step_state], walk_outputs, api_name="walkthrough_back")
    next_btn.click(walk_next, [session_state, step_state], walk_outputs, api_name="walkthrough_next")

    hear_inputs = [session_state, hear_arch, hear_method, hear_keep]
    hear_outputs = [hear_orig, hear_out, hear_plot, hear_md]
    tab_hear.select(hear_open, hear_inputs, hear_outputs + [hear_method, hear_arch, active_view], api_name="view_hear",
                    api_visibility="undocumented")
    hear_arch.input(hear, hear_inputs, hear_outputs, api_name="hear", trigger_mode="always_last")
    hear_method.input(hear, hear_inputs, hear_outputs, api_name="hear_method", api_visibility="undocumented",
                      trigger_mode="always_last")
    hear_keep.release(hear, hear_inputs, hear_outputs, api_name="hear_keep", api_visibility="undocumented",
                      trigger_mode="always_last")

    export_btn.click(export_files, [session_state], [export_json, export_zip], api_name="export",
                     concurrency_id="models", concurrency_limit=1)


def _warm_up() -> None:
    """Load the default set and run it once on a second of silence while the server starts.

    The first pass through each model pays one-off costs (allocations, kernel selection); paying
    them here, in the background, keeps them out of the first person's wait.
    """
    try:
        model_set = get_set(set_choices()[0])
        clip = audio.load((audio.SAMPLE_RATE, np.zeros(audio.SAMPLE_RATE, dtype=np.float32)))
        analysis_mod.analyze(clip, model_set, ("saliency",), faithfulness=False)
    except Exception:  # a broken set is reported to the user on their first request instead
        pass


if __name__ == "__main__":
    demo.queue(default_concurrency_limit=2, max_size=32)
    demo.launch(
        prevent_thread_lock=True,  # warm up once the page is being served, then keep serving below
        theme=THEME,
        css=CSS,
        max_file_size=audio.MAX_UPLOAD_BYTES,
        allowed_paths=[str(EXAMPLES_DIR)],
        show_error=True,
        footer_links=["api"],
        state_session_capacity=100,  # the oldest sessions' analyses are dropped beyond this
        run_history=False,
    )
    threading.Thread(target=_warm_up, daemon=True).start()
    demo.block_thread()
