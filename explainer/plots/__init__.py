"""Every figure of the app, drawn with matplotlib's object API.

Each public function takes an :class:`~explainer.analysis.Analysis` (plus what
the view lets a person choose) and returns a new :class:`matplotlib.figure.Figure`.
Nothing here touches pyplot's global state or the backend, so figures can be drawn
from many threads and are freed as soon as the caller drops them (or calls
:func:`close`). The figures read the features the analysis already holds; none
recomputes a model input.

- :mod:`.style`: sizes, fonts, colours and drawing helpers every figure shares;
- :mod:`.overview`: the clip and the set at a glance (Listen & look, Compare, Hear);
- :mod:`.model_views`: one architecture's tab;
- :mod:`.walkthrough`: the walkthrough's figures;
- :mod:`.trust`: how far to trust a map;
- :mod:`.live`: the Live tab's pictures, drawn straight into pixels.
"""

from .live import live_curve_picture, live_picture
from .model_views import (
    attribution_overlay,
    default_frame,
    dilation_diagram,
    feature_maps,
    model_input,
    receptive_field,
    shrink_feature_maps,
    tcn_frame_timeline,
)
from .overview import (
    confusion_matrix,
    lfcc_grid,
    listening_timeline,
    mask_picture,
    mel_spectrogram,
    prediction_table,
    transfer_chart,
    waveform,
)
from .style import (
    DPI,
    METHOD_TITLES,
    SIGNED_METHODS,
    SR,
    class_colors,
    clip_attribution,
    close,
    frame_model,
    model_title,
)
from .trust import agreement_plot, faithfulness_curves, randomisation_plot
from .walkthrough import (
    conv_on_grid,
    lfcc_spreadsheet,
    mean_correlation,
    mel_filters,
    one_d_vs_two_d,
    pool_columns,
    pooling_compare,
    samples_zoom,
    stft_frames,
)

__all__ = [
    "live_curve_picture",
    "live_picture",
    "DPI",
    "METHOD_TITLES",
    "SIGNED_METHODS",
    "SR",
    "agreement_plot",
    "attribution_overlay",
    "class_colors",
    "clip_attribution",
    "close",
    "confusion_matrix",
    "conv_on_grid",
    "default_frame",
    "dilation_diagram",
    "faithfulness_curves",
    "feature_maps",
    "frame_model",
    "lfcc_grid",
    "lfcc_spreadsheet",
    "listening_timeline",
    "mask_picture",
    "mean_correlation",
    "mel_filters",
    "mel_spectrogram",
    "model_input",
    "model_title",
    "one_d_vs_two_d",
    "pool_columns",
    "pooling_compare",
    "prediction_table",
    "randomisation_plot",
    "receptive_field",
    "samples_zoom",
    "shrink_feature_maps",
    "stft_frames",
    "tcn_frame_timeline",
    "transfer_chart",
    "waveform",
]
