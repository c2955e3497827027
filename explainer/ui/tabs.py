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
    # inside a unit: the layer, up to three position controls, the clickable layer picture, the figure and the sum
    unit_acc: gr.Accordion
    unit_layer: gr.Dropdown
    unit_a0: gr.Slider
    unit_a1: gr.Slider
    unit_a2: gr.Slider
    unit_map: gr.Image
    unit_plot: gr.Plot
    unit_html: gr.HTML
    # the receptive-field view of a model that answers frame by frame (frame_level); None otherwise
    rf_slider: gr.Slider | None = None
    rf_plot: gr.Plot | None = None
    rf_md: gr.Markdown | None = None

    def unit_controls(self) -> list:
        """The unit view's layer dropdown and position sliders."""
        return [self.unit_layer, self.unit_a0, self.unit_a1, self.unit_a2]

    def unit_views(self) -> list:
        """What the unit view draws: the layer picture, the figure and the arithmetic."""
        return [self.unit_map, self.unit_plot, self.unit_html]

    def outputs(self) -> list:
        """Every component the tab's renderer writes, in a fixed order."""
        skip = {"arch", "tab", "opacity", "unit_acc", "unit_layer", "unit_a0", "unit_a1", "unit_a2", "unit_map",
                "unit_plot", "unit_html"}  # the unit view draws itself when opened
        return [getattr(self, f.name) for f in fields(self) if f.name not in skip and getattr(self, f.name) is not None]
