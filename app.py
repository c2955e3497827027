"""Audio Explainer: the web app's page.

The layout and its events only. The handlers that fill each view live in
:mod:`explainer.ui.handlers`, the page's styles in ``explainer/ui/app.css`` beside the
HTML fragments that use them, and every number, figure and sentence comes from the
``explainer`` package. Process settings (no analytics, allocator tuning) are applied by
:func:`main` when the server starts, not when this module is imported.

    python app.py            # http://127.0.0.1:7860 (GRADIO_SERVER_PORT to change)
"""

from __future__ import annotations

import threading
from pathlib import Path

import gradio as gr
import numpy as np

from explainer import analysis as analysis_mod
from explainer import attribution, audio, models, plots, story
from explainer.ui import janitor, runtime
from explainer.ui.examples import EXAMPLES_DIR, examples
from explainer.ui.handlers import (
    ARCHS,
    DEFAULT_METHODS,
    NOT_YET,
    add_faithfulness,
    agree,
    analyze,
    analyze_in_page,
    check_every_map,
    export_files,
    hear,
    hear_open,
    make_arch_renderer,
    make_fmaps_renderer,
    make_overlay_handler,
    make_rf_handler,
    make_sanity_handler,
    render_compare,
    render_confusion,
    render_listen,
    render_timeline,
    set_info,
    walk_back,
    walk_next,
    walk_open,
)
from explainer.ui.heldout import compare_cell, matrix_update
from explainer.ui.html import empty_headline_html, untrained_banner_html
from explainer.ui.live import (
    STREAM_EVERY_S,
    STREAM_LIMIT_S,
    live_cards,
    live_explain,
    live_start,
    live_status,
    live_update,
)
from explainer.ui.own import remove_orphans
from explainer.ui.own_tab import build_own_tab
from explainer.ui.sessions import get_set, set_choices
from explainer.ui.tabs import ArchTab
from explainer.ui.unit import (
    make_unit_click,
    make_unit_layer,
    make_unit_move,
    make_unit_open,
    sandbox_view,
    unit_api,
    unit_reset,
)

CSS_PATH = Path(__file__).resolve().parent / "explainer" / "ui" / "app.css"
METHOD_CHOICES = [(plots.METHOD_TITLES[m], m) for m in attribution.METHODS]
# requests that may hold a model slot at once: the compute itself is one at a time (each set's lock), so
# the second slot lets one request's upload, decoding, cache hit and reply overlap the other's models
MODEL_SLOTS = 2
# every handler that computes or draws shares those slots, so the work in flight (and the memory its
# tensors and figures take) is bounded by two requests however many visitors arrive at once
PAGE_WORK = {"concurrency_id": "models", "concurrency_limit": MODEL_SLOTS}
QUEUE_SIZE = 96  # requests waiting at once: a class of 30, each with the page's few follow-up events

THEME = gr.themes.Default(
    primary_hue="blue",
    # system fonts only: the default theme would otherwise ask for web fonts
    font=["Segoe UI", "Roboto", "Helvetica Neue", "Arial", "Noto Sans", "DejaVu Sans", "sans-serif"],
    font_mono=["Consolas", "DejaVu Sans Mono", "Menlo", "monospace"],
)

def compare_cell_page(session, arch, evt: gr.SelectData):
    """A click on the Compare view's held-out matrix: the bundled clips of that cell."""
    return compare_cell(session, arch, evt)


UNIT_HELP = ("Every number in a feature map is the output of one unit. Pick a layer and a position, or click a "
             "cell of the layer's picture: the figure shows which part of your clip that unit reads, its input "
             "beside its kernel, and their products. The table adds the products up, row after row, then the bias, "
             "the normalisation and the activation. Redo the sum yourself: the last line is the value the model "
             "really computed.")

TABS: dict[str, ArchTab] = {}  # one per architecture, filled in as the page is built


# delete_cache: gradio's copies of exported files and uploads are removed after an hour (and at exit)
with gr.Blocks(title="Audio Explainer", delete_cache=(1800, 3600), analytics_enabled=False) as demo:
    session_state = gr.State(None, time_to_live=1800)
    active_view = gr.State("listen")
    initial_set = set_choices()[0]

    gr.Markdown("# Audio Explainer\nWhat do audio neural networks hear? Give them a clip and look inside six of "
                "them, side by side.", elem_id="ae-title")
    banner = gr.HTML(untrained_banner_html(story.is_untrained(initial_set)), padding=False,
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
            api_checks = gr.Checkbox(False, visible=False, label="checks")  # the API's deletion checks switch
            # /unit: one unit's arithmetic as JSON, for scripts (model, layer, "channel, position")
            unit_trigger = gr.Button(visible=False)
            unit_arch = gr.Textbox(visible=False, label="model")
            unit_name = gr.Textbox(visible=False, label="layer")
            unit_index = gr.Textbox(visible=False, label="index")
            unit_json = gr.JSON(visible=False, label="unit")
        with gr.Column(scale=4, min_width=280, elem_id="ae-examples"):
            ex_paths, ex_labels = examples()
            if ex_paths:
                # a gallery of labels, each handing its file to the clip box when clicked: gr.Examples would
                # probe every file with ffmpeg while the page is built (1.2 s of the cold start)
                example_ds = gr.Dataset(components=[gr.Textbox(visible=False)], samples=[[x] for x in ex_labels],
                                        label="Examples (click one)", samples_per_page=len(ex_labels),
                                        layout="gallery", type="index", elem_id="ae-example-list")
            else:
                example_ds = None
                gr.Markdown("No example clips found in `examples/`.")
    headline = gr.HTML(empty_headline_html(), elem_id="ae-headline", padding=False)

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
                conf_cells = gr.Dataframe(interactive=False, visible=False, elem_id="ae-conf-cells",
                                          label="The held-out clips as numbers "
                                          "(rows: the true class): click one to hear clips behind it")
                conf_cells_md = gr.Markdown(elem_classes="ae-caption", visible=False)
                with gr.Row(visible=False) as conf_listen:
                    conf_cell_dd = gr.Dropdown([], label="Bundled clips in this cell", interactive=True)
                    conf_cell_audio = gr.Audio(type="filepath", interactive=False, label="Listen")

        with gr.Tab("Live", id="live"):
            gr.Markdown("Listen live: press **Record** and speak, clap or whistle. The picture scrolls through the "
                        "last 8 seconds; beneath it, the frame-by-frame model's answer for every 10 ms. It is causal: "
                        "each frame is judged once, from that moment and the ones before it, and never changes "
                        "afterwards. The cards show every model's answer on the last 2.5 s, and the orange curve "
                        "where the chosen model found its evidence.", elem_classes="ae-caption")
            with gr.Row(equal_height=False):
                with gr.Column(scale=3, min_width=320):
                    live_in = gr.Audio(sources=["microphone"], streaming=True, type="numpy", label="Microphone",
                                       elem_id="ae-live-mic")
                with gr.Column(scale=2, min_width=260):
                    live_arch = gr.Dropdown([(models.title(x), x) for x in ARCHS],
                                            value=next((x for x in ARCHS if models.model_class(x).causal), ARCHS[0]),
                                            label="Explain which model (orange curve)", interactive=True)
                    live_seconds = gr.Slider(1.0, 8.0, value=3.0, step=0.5, label="Seconds to explain")
                    live_stop = gr.Button("Stop and explain the last seconds", variant="primary")
            live_md = gr.Markdown(live_status(None), elem_id="ae-live-now", elem_classes="ae-caption")
            live_img = gr.Image(type="numpy", label="The last 8 s: log-mel, and the class of every 10 ms frame",
                                interactive=False, elem_id="ae-live-strip", format="png")
            live_cards_html = gr.HTML(live_cards(None), padding=False)
            live_curve = gr.Image(type="numpy", label="The chosen model's evidence over the last 2.5 s",
                                  interactive=False, format="png", height=140)
            live_state = gr.State(None, time_to_live=STREAM_LIMIT_S)

        for arch in ARCHS:
            with gr.Tab(models.short_title(arch), id=arch) as tab:
                rf_slider = rf_plot = rf_md = None
                gr.Markdown(f"## {models.title(arch)} · {models.subtitle(arch)}")
                with gr.Accordion("How your clip becomes this model's input", open=True):
                    input_md = gr.Markdown(NOT_YET, elem_classes="ae-caption")
                    input_plot = gr.Plot(show_label=False, label="The real input tensor", format="png")
                with gr.Accordion("Layers: shape, parameters, receptive field", open=True):
                    flow = gr.HTML("")
                    with gr.Accordion("Full layer table", open=False):
                        layers = gr.Dataframe(headers=story.LAYER_HEADERS, interactive=False, max_height=420)
                with gr.Accordion("Where did it listen? (attribution on its own input)", open=True):
                    with gr.Row():
                        method = gr.Dropdown(METHOD_CHOICES, value=DEFAULT_METHODS[0], label="Method",
                                             interactive=True)
                        target = gr.Dropdown([], label="Explain the class", interactive=True)
                        opacity = gr.Slider(0.0, 1.0, value=0.6, step=0.05, label="Map opacity")
                    overlay = gr.Plot(show_label=False, label="Attribution overlay", format="png")
                    faith = gr.Markdown(elem_classes="ae-caption")
                    faith_plot = gr.Plot(show_label=False, label="Deletion and insertion curves", format="png",
                                         visible=False)
                    random_cb = gr.Checkbox(False, label="Sanity check: randomise the weights, layer by layer "
                                            "from the output down, and explain again")
                    random_plot = gr.Plot(show_label=False, label="Trained versus randomised", format="png",
                                          visible=False)
                    random_md = gr.Markdown(elem_classes="ae-caption")
                if models.model_class(arch).frame_level:
                    with gr.Accordion("Receptive field: what one output frame can see", open=True):
                        rf_slider = gr.Slider(0, 100, value=0, step=1, label="Output frame t")
                        rf_plot = gr.Plot(show_label=False, label="Receptive field", format="png")
                        rf_md = gr.Markdown(elem_classes="ae-caption")
                with gr.Accordion("Why this design?", open=True):
                    why = gr.Markdown(elem_classes="ae-caption")
                with gr.Accordion("Feature maps: what its filters respond to (click to draw)",
                                  open=False) as fmaps_acc:
                    fmaps = gr.Plot(show_label=False, label="Feature maps", format="png")
                with gr.Accordion("Inside a unit: the arithmetic behind one number (click to open)",
                                  open=False) as unit_acc:
                    gr.Markdown(UNIT_HELP, elem_classes="ae-caption")
                    with gr.Row(equal_height=True):
                        unit_layer = gr.Dropdown([], label="Layer", interactive=True, scale=2, min_width=260)
                        unit_a0 = gr.Slider(0, 1, value=0, step=1, label="Channel", scale=1, min_width=160)
                        unit_a1 = gr.Slider(0, 1, value=0, step=1, label="Position", scale=1, min_width=160)
                        unit_a2 = gr.Slider(0, 1, value=0, step=1, label="Position", scale=1, min_width=160,
                                            visible=False)
                    unit_map = gr.Image(type="numpy", label="This layer's output: click a cell to open that unit",
                                        interactive=False, format="png", elem_classes="ae-unit-map")
                    unit_plot = gr.Plot(show_label=False, label="Inside the unit", format="png")
                    unit_html = gr.HTML("", padding=False)
                TABS[arch] = ArchTab(
                    arch=arch, tab=tab, input_md=input_md, input_plot=input_plot, flow=flow, layers=layers,
                    method=method, target=target, opacity=opacity, overlay=overlay, faith=faith, faith_plot=faith_plot,
                    random_cb=random_cb, random_plot=random_plot, random_md=random_md, why=why, fmaps=fmaps,
                    fmaps_acc=fmaps_acc, unit_acc=unit_acc, unit_layer=unit_layer, unit_a0=unit_a0, unit_a1=unit_a1,
                    unit_a2=unit_a2, unit_map=unit_map, unit_plot=unit_plot, unit_html=unit_html,
                    rf_slider=rf_slider, rf_plot=rf_plot, rf_md=rf_md)

        with gr.Tab("Walkthrough", id="walkthrough") as tab_walk:
            step_state = gr.State(0)
            with gr.Row(equal_height=True):
                back_btn = gr.Button("← Back", scale=0, min_width=120)
                step_md = gr.Markdown(story.step_indicator(0), elem_id="ae-step-indicator")
                next_btn = gr.Button("Next →", variant="primary", scale=0, min_width=120)
            walk_md = gr.Markdown(NOT_YET, elem_classes="ae-caption", elem_id="ae-step-text")
            walk_plot = gr.Plot(show_label=False, label="This step on your clip", format="png")
            with gr.Accordion("Sandbox: kernel size, stride, dilation, padding and pooling", open=False) as sb_acc:
                gr.Markdown("Change a knob and watch a toy row of input cells turn into conv outputs and pooled "
                            "outputs: how many there are, and how many inputs one of them sees.",
                            elem_classes="ae-caption")
                with gr.Row():
                    sb_n = gr.Slider(4, 48, value=24, step=1, label="Input length")
                    sb_k = gr.Slider(1, 9, value=3, step=1, label="Kernel size")
                    sb_s = gr.Slider(1, 4, value=1, step=1, label="Stride")
                    sb_d = gr.Slider(1, 8, value=1, step=1, label="Dilation")
                    sb_p = gr.Slider(0, 8, value=0, step=1, label="Padding")
                    sb_pool = gr.Slider(1, 4, value=2, step=1, label="Pooling")
                sb_plot = gr.Plot(show_label=False, label="Sandbox", format="png")
                sb_md = gr.Markdown(elem_classes="ae-caption")

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

        build_own_tab(set_dd)

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
    cells_outputs = [conf_cells, conf_cells_md, conf_listen]
    compare_outputs = [pred_plot, timeline_method, timeline_plot, timeline_md, tcn_plot, tcn_md, metrics_df,
                       metrics_md, conf_dd, conf_plot]

    def refresh_open(session, view, *values):
        """After a new analysis, redraw the lazy view that is open (others are drawn when opened)."""
        method_by_arch = dict(zip(ARCHS, values[: len(ARCHS)]))
        opacity_by_arch = dict(zip(ARCHS, values[len(ARCHS): 2 * len(ARCHS)]))
        step, h_arch, h_method, h_keep = values[2 * len(ARCHS):]
        if session is None:
            return {active_view: view}
        if view in TABS:
            return make_arch_renderer(TABS[view], active_view)(session, method_by_arch[view], opacity_by_arch[view])
        if view == "walkthrough":
            s, ind, md, fig, _ = walk_open(session, step)
            return {step_state: s, step_md: ind, walk_md: md, walk_plot: fig}
        if view == "hear":
            outs = hear_open(session, h_arch, h_method, h_keep)
            return dict(zip([hear_orig, hear_out, hear_plot, hear_md, hear_method, hear_arch], outs[:6]))
        return {active_view: view}

    refresh_inputs = ([session_state, active_view] + [TABS[x].method for x in ARCHS]
                      + [TABS[x].opacity for x in ARCHS] + [step_state, hear_arch, hear_method, hear_keep])
    refresh_outputs = sorted({id(c): c for x in ARCHS for c in TABS[x].outputs() + [active_view]}.values(),
                             key=lambda c: c._id)
    refresh_outputs += [step_state, step_md, walk_md, walk_plot, hear_orig, hear_out, hear_plot, hear_md, hear_method,
                        hear_arch]

    unit_outputs = [c for x in ARCHS for c in [TABS[x].unit_layer] + TABS[x].unit_views()]

    def reset_units(session):
        """A new clip: every unit view shows this clip's layers and waits to be opened."""
        return unit_reset(TABS.values(), session)

    def chain(event):
        """Listen & look first, then the faithfulness checks, then Compare, then whatever lazy view is open."""
        return (event  # .success: a refused file keeps the views of the last good clip, untouched
                .success(reset_units, [session_state], unit_outputs, api_name="unit_reset",
                         api_visibility="undocumented", queue=False)
                .success(render_listen, [session_state], listen_outputs, api_name="render_listen", **PAGE_WORK,
                      api_visibility="undocumented")
                .then(add_faithfulness, [session_state], [report_json], api_name="faithfulness",
                      api_visibility="undocumented", concurrency_id="models", concurrency_limit=MODEL_SLOTS,
                      show_progress_on=[timeline_plot])
                .then(render_compare, [session_state, timeline_method], compare_outputs, api_name="render_compare",
                      api_visibility="undocumented", **PAGE_WORK)
                .then(matrix_update, [session_state, conf_dd], cells_outputs, api_name="render_compare_cells",
                      api_visibility="undocumented", **PAGE_WORK)
                .then(refresh_open, refresh_inputs, refresh_outputs, api_name="refresh_open_view", **PAGE_WORK,
                      api_visibility="undocumented"))

    chain(run_btn.click(analyze_in_page, analysis_inputs, analysis_outputs, api_name="analyze_button",
                        api_visibility="undocumented", concurrency_id="models", concurrency_limit=MODEL_SLOTS,
                        show_progress_on=[headline]))
    # the API's /analyze: the same analysis as the page (with its deletion checks when checks=True), returning
    # headline + report
    api_trigger.click(analyze, analysis_inputs + [api_checks], analysis_outputs, api_name="analyze",
                      concurrency_id="models", concurrency_limit=MODEL_SLOTS)
    chain(audio_in.change(analyze_in_page, analysis_inputs, analysis_outputs, api_name="analyze_on_change",
                          api_visibility="undocumented", concurrency_id="models", concurrency_limit=MODEL_SLOTS,
                          trigger_mode="always_last", show_progress_on=[headline]))
    chain(set_dd.input(analyze_in_page, analysis_inputs, analysis_outputs, api_name="analyze_on_set_change",
                       api_visibility="undocumented", concurrency_id="models", concurrency_limit=MODEL_SLOTS,
                       trigger_mode="always_last", show_progress_on=[headline]))
    chain(methods_cb.input(analyze_in_page, analysis_inputs, analysis_outputs, api_name="analyze_on_methods_change",
                           api_visibility="undocumented", concurrency_id="models", concurrency_limit=MODEL_SLOTS,
                           trigger_mode="always_last", show_progress_on=[headline]))
    set_dd.change(set_info, [set_dd], [banner], api_name="set_info")
    unit_trigger.click(unit_api, [session_state, unit_arch, unit_name, unit_index], [unit_json], api_name="unit",
                       concurrency_id="models", concurrency_limit=MODEL_SLOTS)
    if example_ds is not None:
        example_ds.click(lambda i: ex_paths[i][0] if i is not None and 0 <= i < len(ex_paths) else gr.skip(),
                         [example_ds], [audio_in], api_name="example", api_visibility="undocumented", queue=False)

    tab_listen.select(lambda: "listen", None, [active_view], api_name="view_listen", api_visibility="undocumented",
                      queue=False)
    tab_compare.select(lambda: "compare", None, [active_view], api_name="view_compare",
                       api_visibility="undocumented", queue=False)
    tab_export.select(lambda: "export", None, [active_view], api_name="view_export", api_visibility="undocumented",
                      queue=False)
    timeline_method.input(render_timeline, [session_state, timeline_method], [timeline_plot, timeline_md],
                          api_name="timeline", **PAGE_WORK)
    conf_dd.input(render_confusion, [session_state, conf_dd], [conf_plot], api_name="confusion", **PAGE_WORK)
    conf_dd.input(matrix_update, [session_state, conf_dd], cells_outputs, api_name="confusion_cells", **PAGE_WORK,
                  api_visibility="undocumented")
    conf_cells.select(compare_cell_page, [session_state, conf_dd], [conf_cell_dd, conf_cell_audio, conf_cells_md],
                      api_name="confusion_cell", **PAGE_WORK, api_visibility="undocumented")
    conf_cell_dd.input(lambda path: path, [conf_cell_dd], [conf_cell_audio], api_name="confusion_cell_clip",
                       api_visibility="undocumented")
    agree_btn.click(agree, [session_state, agree_dd], [agree_plot, agree_md], api_name="agreement",
                    concurrency_id="models", concurrency_limit=MODEL_SLOTS)
    curves_btn.click(check_every_map, [session_state], [curves_df, curves_md], api_name="curves",
                     concurrency_id="models", concurrency_limit=MODEL_SLOTS)

    for arch in ARCHS:
        t = TABS[arch]
        t.tab.select(make_arch_renderer(t, active_view), [session_state, t.method, t.opacity],
                     t.outputs() + [active_view], api_name=f"view_{arch}", api_visibility="undocumented",
                     concurrency_id="models", concurrency_limit=MODEL_SLOTS)
        overlay_inputs = [session_state, t.method, t.target, t.opacity]
        overlay_outputs = [t.overlay, t.faith, t.faith_plot]
        sanity_inputs = [session_state, t.random_cb, t.method, t.target]
        sanity_outputs = [t.random_plot, t.random_md]
        gr.on([t.method.input, t.target.input], make_overlay_handler(arch), overlay_inputs,
              overlay_outputs, api_name=f"overlay_{arch}", concurrency_id="models",
              concurrency_limit=MODEL_SLOTS, trigger_mode="always_last").then(
            make_sanity_handler(arch), sanity_inputs, sanity_outputs, api_name=f"sanity_follow_{arch}",
            api_visibility="undocumented", concurrency_id="models", concurrency_limit=MODEL_SLOTS)
        t.opacity.release(make_overlay_handler(arch), overlay_inputs, overlay_outputs,
                              api_name=f"overlay_opacity_{arch}", **PAGE_WORK, api_visibility="undocumented",
                              trigger_mode="always_last")
        t.random_cb.input(make_sanity_handler(arch), sanity_inputs, sanity_outputs, api_name=f"sanity_{arch}",
                              concurrency_id="models", concurrency_limit=MODEL_SLOTS, trigger_mode="always_last")
        t.fmaps_acc.expand(make_fmaps_renderer(arch), [session_state], [t.fmaps],
                               api_name=f"feature_maps_{arch}", **PAGE_WORK)
        t.unit_acc.expand(make_unit_open(arch), [session_state], t.unit_controls() + t.unit_views(),
                          api_name=f"unit_open_{arch}", **PAGE_WORK, api_visibility="undocumented")
        t.unit_layer.input(make_unit_layer(arch), [session_state, t.unit_layer], t.unit_controls()[1:] + t.unit_views(),
                           api_name=f"unit_layer_{arch}", **PAGE_WORK, api_visibility="undocumented")
        gr.on([t.unit_a0.release, t.unit_a1.release, t.unit_a2.release], make_unit_move(arch),
              [session_state] + t.unit_controls(), t.unit_views(), api_name=f"unit_move_{arch}", **PAGE_WORK,
              api_visibility="undocumented", trigger_mode="always_last")
        t.unit_map.select(make_unit_click(arch), [session_state, t.unit_layer, t.unit_a0],
                          t.unit_controls()[1:] + t.unit_views(), api_name=f"unit_click_{arch}", **PAGE_WORK,
                          api_visibility="undocumented")
        if t.rf_slider is not None:
            t.rf_slider.release(make_rf_handler(arch), [session_state, t.rf_slider],
                                    [t.rf_plot, t.rf_md], api_name=f"receptive_field_{arch}", **PAGE_WORK,
                                    trigger_mode="always_last")

    sb_inputs = [sb_n, sb_k, sb_s, sb_d, sb_p, sb_pool]
    sb_acc.expand(sandbox_view, sb_inputs, [sb_plot, sb_md], api_name="sandbox")
    gr.on([c.release for c in sb_inputs], sandbox_view, sb_inputs, [sb_plot, sb_md], api_name="sandbox_move",
          api_visibility="undocumented", trigger_mode="always_last")
    walk_outputs = [step_state, step_md, walk_md, walk_plot]
    tab_walk.select(walk_open, [session_state, step_state], walk_outputs + [active_view], api_name="view_walkthrough",
                    api_visibility="undocumented", **PAGE_WORK)
    back_btn.click(walk_back, [session_state, step_state], walk_outputs, api_name="walkthrough_back", **PAGE_WORK)
    next_btn.click(walk_next, [session_state, step_state], walk_outputs, api_name="walkthrough_next", **PAGE_WORK)

    hear_inputs = [session_state, hear_arch, hear_method, hear_keep]
    hear_outputs = [hear_orig, hear_out, hear_plot, hear_md]
    tab_hear.select(hear_open, hear_inputs, hear_outputs + [hear_method, hear_arch, active_view], api_name="view_hear",
                    api_visibility="undocumented", **PAGE_WORK)
    hear_arch.input(hear, hear_inputs, hear_outputs, api_name="hear", **PAGE_WORK, trigger_mode="always_last")
    hear_method.input(hear, hear_inputs, hear_outputs, api_name="hear_method", api_visibility="undocumented",
                      trigger_mode="always_last", **PAGE_WORK)
    hear_keep.release(hear, hear_inputs, hear_outputs, api_name="hear_keep", **PAGE_WORK, api_visibility="undocumented",
                      trigger_mode="always_last")

    live_outputs = [live_state, live_img, live_cards_html, live_curve, live_md]
    live_in.start_recording(live_start, [set_dd, live_arch], live_outputs, api_name="live_start",
                            api_visibility="undocumented")
    live_in.stream(live_update, [live_in, live_state, set_dd, live_arch], live_outputs, api_name="live_update",
                   api_visibility="undocumented", stream_every=STREAM_EVERY_S, time_limit=STREAM_LIMIT_S,
                   concurrency_id="live", concurrency_limit=8)
    live_stop.click(live_explain, [live_state, live_seconds], [audio_in, tabs], api_name="live_explain",
                    js="(state, seconds) => { document.querySelector('#ae-live-mic .stop-button')?.click();"
                       " return [state, seconds]; }")


    export_btn.click(export_files, [session_state], [export_json, export_zip], api_name="export",
                     concurrency_id="models", concurrency_limit=MODEL_SLOTS)


def warm_up() -> None:
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


def main() -> None:
    """Serve the app: process settings first, then the page, then a warm-up pass in the background."""
    runtime.configure()
    remove_orphans()  # own-sounds folders of an earlier server that was killed before it could clean up
    demo.queue(default_concurrency_limit=2, max_size=QUEUE_SIZE)
    demo.launch(
        prevent_thread_lock=True,  # warm up once the page is being served, then keep serving below
        theme=THEME,
        css_paths=[CSS_PATH],
        max_file_size=audio.MAX_UPLOAD_BYTES,
        allowed_paths=[str(EXAMPLES_DIR)],
        show_error=True,
        footer_links=["api"],
        # the oldest sessions are dropped beyond this; each keeps only its clip and a few keys, since results
        # live in the shared cache (EXPLAINER_CACHE_MB), so the count bounds little memory
        state_session_capacity=100,
        run_history=False,
    )
    janitor.start(demo)  # Gradio's copies of uploads and outputs, within EXPLAINER_TEMP_MB
    threading.Thread(target=warm_up, daemon=True).start()
    demo.block_thread()


if __name__ == "__main__":
    main()
