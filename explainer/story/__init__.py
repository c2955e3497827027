"""The words of the app: captions, design notes, the trust texts and the walkthrough.

Every function takes an :class:`~explainer.analysis.Analysis` (and what the view
lets a person choose) and returns Markdown, written around the numbers of *this*
clip and *these* models: sample counts, shapes, parameter shares, receptive fields,
probabilities and deletion scores all come from the analysis or the model set's
card, never from a fixed text. The HTML fragments of the page live with their CSS,
in :mod:`explainer.ui`.

- :mod:`.captions`: beside every figure and table;
- :mod:`.design`: "Why this design?" for each architecture;
- :mod:`.trust`: how far to trust a map;
- :mod:`.walkthrough`: the guided steps;
- :mod:`.common`: number formats and small lookups they share.
"""

from .captions import (
    LAYER_HEADERS,
    METRICS_HEADERS,
    SIZES_HEADERS,
    clip_notes,
    clip_notice,
    compare_caption,
    hear_caption,
    input_caption,
    layer_rows,
    listen_captions,
    metrics_note,
    metrics_rows,
    receptive_field_caption,
    sizes_rows,
    tcn_caption,
)
from .common import is_untrained, summary_line, vote
from .design import why_design
from .trust import (
    CURVES_HEADERS,
    agreement_text,
    convergence_text,
    curves_note,
    curves_rows,
    faithfulness_text,
    on_sound_text,
    randomisation_text,
    reference_text,
    sensitivity_vs_contribution,
)
from .walkthrough import STEPS, Step, step_figure, step_indicator, step_markdown

__all__ = [
    "STEPS",
    "CURVES_HEADERS",
    "LAYER_HEADERS",
    "METRICS_HEADERS",
    "SIZES_HEADERS",
    "Step",
    "agreement_text",
    "clip_notes",
    "clip_notice",
    "compare_caption",
    "convergence_text",
    "curves_note",
    "curves_rows",
    "faithfulness_text",
    "hear_caption",
    "input_caption",
    "is_untrained",
    "layer_rows",
    "listen_captions",
    "metrics_note",
    "metrics_rows",
    "on_sound_text",
    "randomisation_text",
    "receptive_field_caption",
    "reference_text",
    "sensitivity_vs_contribution",
    "sizes_rows",
    "step_figure",
    "step_indicator",
    "step_markdown",
    "summary_line",
    "tcn_caption",
    "vote",
    "why_design",
]
