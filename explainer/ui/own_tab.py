"""The "Your own sounds" tab: its layout and its events (the handlers live in ``own`` and ``own_train``)."""

from __future__ import annotations

import gradio as gr

from .. import models
from .own import can_save, cell_matrix, own_add, own_cell, own_classes, own_restore, own_save, own_zip
from .own_train import RESULT_HEADERS as OWN_HEADERS
from .own_train import own_train_steps


def own_train_page(own, compare, progress=gr.Progress()):
    """Train on the visitor's clips: one bar per model in the panel, and the page's progress bar."""
    yield from own_train_steps(own, compare, progress=progress)


def own_cell_page(own, arch, evt: gr.SelectData):
    """A click on the held-out matrix of the visitor's set: that cell's clips."""
    return own_cell(own, arch, evt)


def build_own_tab(set_dd: gr.Dropdown) -> None:
    """Lay out the tab inside the page's ``gr.Tabs`` and wire its events; a new set lands in ``set_dd``."""
    archs = models.list_models()
    with gr.Tab("Your own sounds", id="own"):
        gr.Markdown("Teach all six models your own sounds. Name 2–6 classes, give each at least 5 clips "
                    "(record them, upload files, or upload one zip with a folder per class: `dog/1.wav`, "
                    "`cat/1.wav`, ...), and press Train. Each model is **fine-tuned** from the shipped set: a new "
                    "last layer learns your classes, and the body it already has is trained further at a tenth of "
                    "that rate, so it keeps most of what it learnt (the LFCC CNN trains its last block only). Side by side, the same "
                    "six are trained **from scratch**. Your clips and sets stay in this browser session; they "
                    "are deleted when it ends.", elem_classes="ae-caption")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=300):
                own_names = gr.Textbox(label="Your classes, separated by commas", placeholder="dog, cat, bird")
                own_names_btn = gr.Button("Use these classes")
                own_class = gr.Dropdown([], label="Add clips to the class", interactive=True)
                own_files = gr.File(file_count="multiple", file_types=["audio"], label="Audio files")
                own_mic = gr.Audio(sources=["microphone"], type="filepath", label="…or record one")
                own_add_btn = gr.Button("Add to this class")
            with gr.Column(scale=2, min_width=260):
                own_zip_in = gr.File(file_types=[".zip"], label="…or one zip with a folder per class",
                                     elem_id="ae-own-zip")
                own_counts = gr.Dataframe(headers=["class", "clips", "status"], interactive=False,
                                          label="Your clips")
                own_compare = gr.Checkbox(True, label="Also train all six from scratch (about half a minute more)")
                own_train_btn = gr.Button("Train", variant="primary", elem_id="ae-own-train")
        own_board = gr.HTML("", padding=False, elem_id="ae-own-board")
        own_table = gr.Dataframe(headers=OWN_HEADERS, interactive=False, label="Transfer versus scratch")
        own_plot = gr.Plot(show_label=False, label="Transfer versus scratch", format="png")
        own_md = gr.Markdown(elem_classes="ae-caption")
        with gr.Accordion("Listen to the held-out clips, cell by cell", open=True):
            own_arch = gr.Dropdown([(models.title(x), x) for x in archs], value=archs[0], label="Model",
                                   interactive=True)
            own_matrix = gr.Dataframe(interactive=False, label="Held-out confusion matrix (rows: the true "
                                      "class): click a number to hear its clips", visible=False)
            own_cell_md = gr.Markdown(elem_classes="ae-caption")
            with gr.Row():
                own_cell_dd = gr.Dropdown([], label="Clips in this cell", interactive=True)
                own_cell_audio = gr.Audio(type="filepath", interactive=False, label="Listen")
        with gr.Row():
            own_download = gr.File(label="Your set (safetensors + card), to keep", interactive=False)
            own_restore_in = gr.File(file_types=[".zip"], label="Bring back a set you downloaded")
        own_restore_md = gr.Markdown()
        own_save_btn = gr.Button("Save into pretrained/ (this computer only)", visible=can_save())
        own_state = gr.State(None, time_to_live=3600, delete_callback=lambda own: own.close() if own else None)

    own_names_btn.click(own_classes, [own_state, own_names], [own_state, own_class, own_counts], api_name="own_classes",
                        api_visibility="undocumented")
    own_add_btn.click(own_add, [own_state, own_class, own_files, own_mic], [own_state, own_counts, own_files, own_mic],
                      api_name="own_add", api_visibility="undocumented")
    own_zip_in.upload(own_zip, [own_state, own_zip_in], [own_state, own_names, own_class, own_counts],
                      api_name="own_zip", api_visibility="undocumented")
    own_train_btn.click(own_train_page, [own_state, own_compare], [own_state, own_table, own_plot, own_md,
                                                                     own_download, set_dd, own_board],
                        api_name="own_train", api_visibility="undocumented", concurrency_id="training",
                        concurrency_limit=1, show_progress_on=[own_table]).then(
        cell_matrix, [own_state, own_arch], [own_matrix], api_name="own_matrix_after", api_visibility="undocumented")
    own_arch.change(cell_matrix, [own_state, own_arch], [own_matrix], api_name="own_matrix",
                    api_visibility="undocumented")
    own_matrix.select(own_cell_page, [own_state, own_arch], [own_cell_dd, own_cell_audio, own_cell_md],
                      api_name="own_cell", api_visibility="undocumented")
    own_cell_dd.input(lambda path: path, [own_cell_dd], [own_cell_audio], api_name="own_cell_clip",
                      api_visibility="undocumented")
    own_restore_in.upload(own_restore, [own_state, own_restore_in], [own_state, own_restore_md, set_dd],
                          api_name="own_restore", api_visibility="undocumented")
    own_save_btn.click(own_save, [own_state], [own_restore_md], api_name="own_save", api_visibility="undocumented")
