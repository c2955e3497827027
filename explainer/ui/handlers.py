"""The app's event handlers: each takes the visitor's session (and what the view lets them choose)
and returns what Gradio shows. Every number, figure and sentence comes from the ``explainer``
package; the handlers pick what to draw and when. Figures of the architecture tabs, the
walkthrough and "Hear the explanation" are drawn only when their tab is open.
"""

from __future__ import annotations

import gradio as gr
import numpy as np

from .. import analysis as analysis_mod
from .. import attribution, audio, listen, plots, pretrained, report, story
from ..models import list_models
from .html import empty_headline_html, headline_html, layer_flow_html, notice_html, untrained_banner_html
from .runtime import release_memory
from .sessions import Session, compact_clip, get_set, set_choices
from .tabs import ArchTab

ARCHS = list_models()
DEFAULT_METHODS = list(analysis_mod.DEFAULT_METHODS)
NOT_YET = "*Analyse a clip (pick an example, upload or record) to fill this view.*"


def _progress_fn(progress, prefix: str = ""):
    return lambda fraction, text: progress(fraction, desc=prefix + text)


def _run_analysis(audio_path, set_name, methods, progress, faithfulness: bool) -> tuple[Session, analysis_mod.Analysis]:
    """A new session for the visitor's clip, and its analysis (from the shared cache when this clip, set and
    methods were analysed before)."""
    if not audio_path:
        raise gr.Error("No audio yet: pick an example, upload a file or record a few seconds.")
    methods = tuple(m for m in (methods or []) if m in attribution.METHODS) or tuple(DEFAULT_METHODS)
    try:
        progress(0.0, desc="reading the clip")
        clip = compact_clip(audio.load(audio_path))
        progress(0.02, desc="loading the models")
        model_set = get_set(set_name or set_choices()[0])
    except (audio.AudioError, pretrained.PretrainedError) as e:
        raise gr.Error(str(e)) from None
    session = Session.start(clip, model_set.name, methods)
    session.checks = bool(faithfulness)  # only the checks this analysis lacks: a cached one may have them already
    a = session.analysis(_progress_fn(progress))
    release_memory()
    return session, a


def analyze(audio_path, set_name, methods, checks=False, progress=gr.Progress()):
    """Analyse a clip with every model of a set.

    Args:
        audio_path: path of an audio file (WAV, FLAC, MP3, OGG, Opus, M4A, WebM).
        set_name: a model set under pretrained/ (or "untrained").
        methods: attribution methods for the Compare view.
        checks: also run the deletion (faithfulness) check of every map; they cost two to three
            times the analysis itself, so the first screen does without them.

    Returns:
        The headline (HTML) and the JSON report of the analysis.
    """
    session, a = _run_analysis(audio_path, set_name, methods, progress, faithfulness=bool(checks))
    return session, headline_html(a) + notice_html(a), report.report_dict(a)


def analyze_in_page(audio_path, set_name, methods, progress=gr.Progress()):
    """The page's analysis: answers first, faithfulness checks in a later step (see add_faithfulness).

    The deletion checks cost more than the answers themselves, so the page shows the headline
    and Listen & look before running them. Does nothing when the audio was cleared.
    """
    if not audio_path:
        return gr.skip(), empty_headline_html(), gr.skip()
    session, a = _run_analysis(audio_path, set_name, methods, progress, faithfulness=False)
    return session, headline_html(a) + notice_html(a), gr.skip()


def add_faithfulness(session, progress=gr.Progress()):
    """Run the deletion check of every map the page's analysis made; returns the full report."""
    if session is None:
        return gr.skip()
    session.checks = True  # from now on, this session's analysis comes with its checks, even recomputed
    return report.report_dict(session.analysis(_progress_fn(progress, "faithfulness: ")))


def set_info(set_name):
    """The untrained banner for the chosen set (hidden for a trained one)."""
    untrained = story.is_untrained(set_name or "")
    return gr.update(value=untrained_banner_html(untrained), visible=untrained)


def render_listen(session):
    """Listen & look: waveform, mel, LFCC grid, sizes table and their captions."""
    if session is None:
        return [gr.skip()] * 8
    a = session.analysis()
    cap = story.listen_captions(a)
    return (plots.waveform(a), cap["waveform"], plots.mel_spectrogram(a), cap["mel"], plots.lfcc_grid(a),
            cap["lfcc"], story.sizes_rows(a), cap["sizes"])


def render_compare(session, method):
    """Compare: probabilities, where each model listened, the TCN's frames, and the card's metrics."""
    if session is None:
        return [gr.skip()] * 10
    a = session.analysis()
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
    if session is None or method not in session.methods:
        return gr.skip(), gr.skip()
    a = session.analysis()
    return plots.listening_timeline(a, method), story.compare_caption(a, method)


def render_confusion(session, arch):
    if session is None or not arch:
        return gr.skip()
    return plots.confusion_matrix(get_set(session.set_name).card, arch, session.analysis().classes)


def _is_analysed(a, arch: str, method: str, target: int) -> bool:
    """Whether the analysis itself made this map (the model's own answer, a method of the analysis)."""
    r = a.models[arch]
    return target == r.target and method in r.attributions


def _map(session, a, arch: str, method: str, target: int, progress=None):
    """One model's map for a method and class, and what the method reports of its own accuracy: the analysis'
    own, or computed for this model only and kept in the shared cache."""
    r = a.models[arch]
    if _is_analysed(a, arch, method, target):
        info = r.method_info.get(method)
        return r.attributions[method], ({"convergence": info} if info else {})

    def make():
        if progress is not None:
            progress(0.1, desc=f"{plots.METHOD_TITLES[method]}, {plots.model_title(arch)} only")
        attr, _, info = analysis_mod.explain(session.model_set(), arch, r.x, method, target, a.clip.waveform.shape[-1],
                                             faithfulness=False, reference=r.reference)
        return attr, info

    return session.result(("map", arch, method, target), make)


def _has_map(session, a, arch: str, method: str, target: int) -> bool:
    return _is_analysed(a, arch, method, target) or session.has_result(("map", arch, method, target))


def _check(session, a, arch: str, method: str, target: int, attr, progress=None) -> dict:
    """The deletion check and the deletion and insertion curves of one map (a map of the analysis has its
    deletion check from the page's second step; its curves are computed when its tab asks)."""
    r = a.models[arch]
    own = _is_analysed(a, arch, method, target)
    check = dict(r.faithfulness.get(method) or {}) if own else {}
    if own and method in r.curves:
        return {**check, "curves": r.curves[method]}

    def make():
        if progress is not None:
            progress(0.5, desc=f"deletion and insertion curves, {plots.model_title(arch)} only")
        return analysis_mod.check_map(session.model_set(), arch, r.x, attr, target, r.reference, deletion=not own)

    return {**check, **session.result(("check", arch, method, target), make)}


def _overlay(session, arch, method, target_name, opacity, progress=None):
    """The attribution overlay of one model, computing (and caching) a map it has not got yet."""
    a = session.analysis()
    r = a.models[arch]
    target = a.classes.index(target_name) if target_name in a.classes else r.target
    method = method if method in attribution.METHODS else a.methods[0]
    attr, info = _map(session, a, arch, method, target, progress)
    check = {**info, **_check(session, a, arch, method, target, attr, progress)}
    fig = plots.attribution_overlay(a, arch, attr, method, a.classes[target], opacity)
    on = attribution.on_sound_share(attr, r.input_kind, a.clip.waveform.shape[-1], a.sounding)
    text = story.faithfulness_text(check, a.classes[target], method, on, a.sounding_share)
    if method in plots.SIGNED_METHODS:
        text += "\n\n" + story.reference_text(r.reference_kind, method)
    if method in ("saliency", "input_x_gradient") and a.has_pauses:
        other = "input_x_gradient" if method == "saliency" else "saliency"
        other_attr = _map(session, a, arch, other, target)[0]
        shares = {method: on, other: attribution.on_sound_share(other_attr, r.input_kind, a.clip.waveform.shape[-1],
                                                                a.sounding)}
        text += "\n\n" + story.sensitivity_vs_contribution(shares["saliency"], shares["input_x_gradient"])
    curves = check.get("curves")
    curves_fig = plots.faithfulness_curves(curves, a.classes[target], method) if curves else None
    return fig, text, gr.update(value=curves_fig, visible=curves_fig is not None)


def check_every_map(session, progress=gr.Progress()):
    """Deletion and insertion curves of the primary map of every model, as a table."""
    if session is None:
        raise gr.Error("Analyse a clip first.")
    session.curves = True  # kept with the session: an analysis computed again gets them again
    a = session.analysis(_progress_fn(progress))
    return story.curves_rows(a), story.curves_note(a)


def make_arch_renderer(tab: ArchTab, active_view):
    """The handler that draws everything in one architecture's tab when it opens (``active_view`` is the
    page's state of which view is open)."""
    arch = tab.arch

    def render(session, method, opacity, progress=gr.Progress()):
        """Everything in one architecture's tab, drawn when the tab opens."""
        outputs = tab.outputs() + [active_view]
        if session is None:
            return {c: gr.skip() for c in outputs} | {active_view: arch}
        tag = f"arch:{arch}"
        if tag in session.rendered:
            return {c: gr.skip() for c in outputs} | {active_view: arch}
        a = session.analysis(_progress_fn(progress))
        if arch not in a.models:
            missing = f"*The model set '{a.set_name}' has no trained {plots.model_title(arch)}.*"
            return {c: gr.skip() for c in outputs} | {tab.input_md: missing, active_view: arch}
        r = a.models[arch]
        progress(0.1, desc="drawing the input")
        out = {
            tab.input_plot: plots.model_input(a, arch),
            tab.input_md: story.input_caption(a, arch),
            tab.flow: layer_flow_html(a, arch),
            tab.layers: story.layer_rows(a, arch),
            tab.why: story.why_design(a, arch),
            tab.target: gr.update(choices=a.classes, value=r.top),
        }
        # the feature maps are drawn when their accordion is opened; a new clip closes it again
        out[tab.fmaps] = None
        out[tab.fmaps_acc] = gr.update(open=False)
        progress(0.5, desc="drawing the attribution")
        method = method if method in attribution.METHODS else a.methods[0]
        if not _has_map(session, a, arch, method, r.target):
            method = a.methods[0]
            out[tab.method] = gr.update(value=method)
        out[tab.overlay], out[tab.faith], out[tab.faith_plot] = _overlay(session, arch, method, r.top, opacity)
        out[tab.random_cb] = gr.update(value=False)
        out[tab.random_plot] = gr.update(value=None, visible=False)
        out[tab.random_md] = ""
        if tab.rf_slider is not None:
            frames = int(r.x.shape[-1])
            t = plots.default_frame(a, arch)
            out[tab.rf_slider] = gr.update(maximum=frames - 1, value=t)
            out[tab.rf_plot] = plots.receptive_field(a, t, arch)
            out[tab.rf_md] = story.receptive_field_caption(a, t, arch)
        session.rendered.add(tag)
        out[active_view] = arch
        return out

    render.__name__ = f"view_{arch}"
    return render


def make_fmaps_renderer(arch: str):
    def render(session, progress=gr.Progress()):
        """The feature-map gallery of one model, drawn when its accordion is opened."""
        if session is None:
            return gr.skip()
        a = session.analysis(_progress_fn(progress))
        if arch not in a.models:
            return gr.skip()
        progress(0.2, desc="drawing feature maps")
        return plots.feature_maps(a, arch)

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
        a = session.analysis(_progress_fn(progress))
        if arch not in a.models:
            return gr.update(value=None, visible=False), ""
        r = a.models[arch]
        target = a.classes.index(target_name) if target_name in a.classes else r.target
        method = method if method in attribution.METHODS else a.methods[0]
        trained = _map(session, a, arch, method, target, progress)[0]
        check = session.result(("randomised", arch, method, target), lambda: analysis_mod.sanity_check(
            session.model_set(), arch, r.x, method, target, trained=trained, reference=r.reference,
            progress=_progress_fn(progress, "sanity check: ")))
        return (gr.update(value=plots.randomisation_plot(a, arch, method, trained, check), visible=True),
                story.randomisation_text(check, method, arch))

    update.__name__ = f"sanity_{arch}"
    return update


def agree(session, arch, progress=gr.Progress()):
    """Every method's time curve for one model, and how far the methods agree."""
    if session is None:
        raise gr.Error("Analyse a clip first.")
    a = session.analysis(_progress_fn(progress))
    if arch not in a.models:
        return None, f"This set has no {plots.model_title(arch)}."
    r = a.models[arch]

    def make():
        res = analysis_mod.agreement(session.model_set(), arch, r.x, r.target, a.clip.waveform.shape[-1],
                                     have=dict(r.attributions), reference=r.reference, progress=_progress_fn(progress))
        return {k: v for k, v in res.items() if k != "maps"}  # the curves and the matrix are all it draws

    res = session.result(("agreement", arch, r.target), make)
    return plots.agreement_plot(a, arch, res), story.agreement_text(res, arch)


def make_rf_handler(arch: str):
    def update(session, t):
        """The receptive field of output frame t."""
        if session is None:
            return gr.skip(), gr.skip()
        a = session.analysis()
        return plots.receptive_field(a, int(t), arch), story.receptive_field_caption(a, int(t), arch)

    update.__name__ = f"receptive_field_{arch}"
    return update


def render_step(session, step):
    """One walkthrough step: indicator, text and figure."""
    step = int(np.clip(step or 0, 0, len(story.STEPS) - 1))
    if session is None:
        return step, story.step_indicator(step), NOT_YET, gr.skip()
    a = session.analysis()
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
    a = session.analysis()
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
    if "hear" in session.rendered:
        return (*[gr.skip()] * 6, "hear")
    a = session.analysis()
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
    with report.export(session.analysis(_progress_fn(progress)), progress=_progress_fn(progress)) as (json_path,
                                                                                                      zip_path):
        # gradio copies the files into its own cache when it sends this answer; the folder goes afterwards
        yield str(json_path), str(zip_path)
