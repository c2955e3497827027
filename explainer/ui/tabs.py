"""The components of one architecture's tab, as one typed object."""

from __future__ import annotations

from dataclasses import dataclass, fields

import gradio as gr


@dataclass
class ArchTab:
    """What the page holds for one architecture; the handlers fill it in when the tab opens."""

    arch: str
    tab: gr.Tab
    input_md: gr.Markdown  # how the clip became this model's input
    input_plot: gr.Plot
    flow: gr.HTML  # the layer flow
    layers: gr.Dataframe  # the full layer table
    method: gr.Dropdown  # attribution method
    target: gr.Dropdown  # the class explained
    opacity: gr.Slider
    overlay: gr.Plot  # the map on the model's own input
    faith: gr.Markdown  # faithfulness, on-sound share, reference
    faith_plot: gr.Plot  # deletion and insertion curves
    random_cb: gr.Checkbox  # the randomisation check's switch
    random_plot: gr.Plot
    random_md: gr.Markdown
    why: gr.Markdown  # why this design
    fmaps: gr.Plot  # feature maps, drawn when their accordion opens
    fmaps_acc: gr.Accordion
    # the receptive-field view of a model that answers frame by frame (frame_level); None otherwise
    rf_slider: gr.Slider | None = None
    rf_plot: gr.Plot | None = None
    rf_md: gr.Markdown | None = None

    def outputs(self) -> list:
        """Every component the tab's renderer writes, in a fixed order."""
        skip = {"arch", "tab", "opacity"}
        return [getattr(self, f.name) for f in fields(self) if f.name not in skip and getattr(self, f.name) is not None]
