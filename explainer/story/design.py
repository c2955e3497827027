""""Why this design?": the design notes of each architecture, with the numbers of its own
trace on the learner's clip (shapes, parameter shares, receptive fields).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .. import models
from ..features import DEFAULT as CFG
from ..features import n_frames
from .common import _first, _last_local, _n, _params, _samples, _shape, _tcn_convs

if TYPE_CHECKING:
    from ..analysis import Analysis
    from ..inspect import LayerRecord


def _fmt_rf(rec: LayerRecord | None, unit: str) -> str:
    if rec is None or rec.receptive_field is None:
        return "—"
    return f"{_n(rec.receptive_field)} {unit} ({rec.receptive_field_ms:,.0f} ms of audio)"


def why_design(analysis: Analysis, arch: str) -> str:
    """The "why this design" note of one architecture, computed from its trace and this clip."""
    r = analysis.models[arch]
    n = _samples(analysis)
    total = _params(r)
    kind = r.input_kind
    layers = r.trace.layers
    if kind == "waveform":
        first = _first(r, lambda x: x.type == "Conv1d")
        pool = _first(r, lambda x: x.type.startswith("MaxPool"))
        deep = _last_local(r)
        return (
            "**A wide first kernel that takes big steps.** One sample on its own says almost nothing: it is a "
            "single air-pressure reading. The first layer therefore looks at 64 samples at a time (4 ms, long "
            "enough to hold a full cycle of any pitch above 250 Hz), so its 32 kernels can become learned filters "
            "for different frequencies.\n\n"
            f"**Why stride 4.** Your clip is {_n(n)} samples. Moving the kernel 4 samples at a time gives "
            f"{_n(first.shape[-1]) if first else '?'} positions per kernel instead of {_n(n)}, and the pool after it "
            f"shrinks that to {_n(pool.shape[-1]) if pool else '?'}: every later layer has a quarter (then a "
            "sixteenth) of the work. Audio at 16,000 numbers per second is long; cutting it down early is what "
            "keeps a raw-waveform network affordable.\n\n"
            f"**What it pays.** The first layer has only {_n(first.params) if first else '?'} weights, but the "
            "network must discover frequency analysis from data, which a spectrogram would have given it for "
            f"free. By its last convolution each output sees {_fmt_rf(deep, 'samples')}: a fifth block at "
            "64 ms steps is there so that this span holds a syllable or a few notes, not just one pitch period. A "
            "global average over time then turns any clip length into 128 numbers for the final layer. "
            f"{_n(total)} parameters in all."
        )
    if kind == "mel64":
        pools = [x for x in layers if x.type.startswith("MaxPool")]
        last = pools[-1] if pools else None
        deep = _last_local(r)
        shape = _shape(last.shape[1:]) if last else "?"
        shrink = r.x.shape[2] // last.shape[2] if last and last.shape[2] else 1
        return (
            "**Treat the spectrogram like a photo.** Square 3×3 kernels and 2×2 pooling handle frequency and time "
            f"in the same way, exactly as an image network handles height and width. After {len(pools)} poolings "
            f"the 64 × {r.x.shape[-1]} input has become {shape}: {shrink} times fewer bands and frames, many more "
            "channels.\n\n"
            "**Where the photo analogy breaks.** Moving a cat across a picture leaves a cat. Moving a sound up "
            "in frequency changes what it is: a low hum and a high whistle are different sounds. Pooling over "
            "frequency throws away some of that *where*, which is why other designs here keep frequency apart "
            "(the LFCC model never pools it; the TCN treats bands as channels).\n\n"
            f"**Any length in, fixed size out.** An adaptive average pool collapses what is left to 128 numbers, "
            f"so the head never depends on the clip's length. Its last convolution sees {_fmt_rf(deep, 'frames')}. "
            f"{_n(total)} parameters in all."
        )
    if kind == "mel128x128":
        flat = _first(r, lambda x: x.type == "Flatten")
        idx = layers.index(flat) if flat else -1
        dense = next((x for x in layers[idx + 1:] if x.type == "Linear"), None) if flat else None
        share = dense.params / max(total, 1) if dense else 0.0
        convs = sum(x.params for x in layers if x.type.startswith("Conv"))
        return (
            "**A fixed-size picture.** This is the classic first audio network of a tutorial: it wants exactly "
            "128 × 128 numbers, so every clip is cut or padded to about 4.1 s, whatever it contains.\n\n"
            "**Flatten is expensive.** After two conv + pool stages the maps are "
            f"{_shape(flat.shape[1:]) if flat else '?'}"
            f" numbers laid out in a line. Flatten keeps every position of every map, and the dense layer after it "
            f"connects each of those {_n(flat.shape[-1]) if flat else '?'} numbers to each of its "
            f"{_n(dense.shape[-1]) if dense else '?'} units: **{_n(dense.params) if dense else '?'} weights, "
            f"{100 * share:.1f}% of all {_n(total)}** in the model. Both convolutions together have only "
            f"{_n(convs)}.\n\n"
            "**Why that matters.** So many weights for a small dataset invite memorising the training clips. They "
            "also tie the model to one input size and to *where* a sound sits in the picture. The other CNNs here "
            "average over positions instead (global pooling, or a mean over time), and stay small."
        )
    if kind == "lfcc":
        mean = _first(r, lambda x: x.type == "Mean")
        head = layers[-1]
        pools = [x for x in layers if x.type == "AvgPool2d"]
        rows_after = pools[-1].shape[2] if pools else "?"
        convs = [x for x in layers if x.type == "Conv2d"]
        widths = [x.shape[1] for x in convs]
        channels = mean.shape[1] if mean else (widths[-1] if widths else 0)
        # multiply-adds of a bias-free conv: output cells x kernel weights per output channel
        macs = sum(int(np.prod(x.shape[1:])) * x.params // max(1, x.shape[1]) for x in convs)
        grid = np.asarray(analysis.lfcc_grid)
        lfcc_span = float(np.ptp(grid[:, :60])) if grid.size else 0.0
        delta_span = float(np.ptp(grid[:, 60:120])) if grid.size else 0.0
        return (
            "**Pool time, never columns.** Each of the 180 columns has a fixed meaning: column 5 is always the "
            "5th coefficient, column 65 always how fast that coefficient changes. `AvgPool2d((2, 1))` halves the "
            f"number of time rows and leaves the columns alone, so after three blocks your {r.x.shape[2]} rows are "
            f"{rows_after} and there are still 180 columns. A square (2, 2) pool would average neighbouring columns "
            "and, after a few layers, blend the last LFCC columns with the first Δ columns: two different kinds of "
            "measurement in one number. The walkthrough shows it on your clip.\n\n"
            f"**Mean over time.** `{mean.name if mean else 'Mean'}` averages what is left over time, leaving "
            f"{channels} channels × 180 columns = {_n(channels * 180)} numbers whatever the clip's length; the final "
            f"layer turns them into {len(analysis.classes)} scores with {_n(head.params)} weights.\n\n"
            f"**Widths and cost.** The convolutions here have {' → '.join(map(str, widths))} channels, the source "
            "design's doubling. Because no layer ever shrinks the 180 columns, every convolution works on the whole "
            "grid, and its cost grows with input × output channels: the third block alone does more work than the "
            f"other two together. This model's three convolutions take {_n(macs)} multiply-adds on your clip, more "
            "than any other network on this page.\n\n"
            f"**Columns on one scale.** In your clip the LFCC columns span {lfcc_span:.0f} units and the Δ columns "
            f"{delta_span:.0f}. A per-column normalisation, learned in training, puts them on one scale before the "
            f"first convolution. {_n(total)} parameters in all. This design comes from spoofed-speech detection, "
            "where the tell-tale artefacts hide in fine spectral detail."
        )
    if kind == "mel_seq":
        convs = _tcn_convs(layers)
        rf = layers[-1].receptive_field or 1
        ms = layers[-1].receptive_field_ms or 0.0
        dil = getattr(_model_attr(analysis, arch), "dilations", None)
        dtxt = ", ".join(str(d) for d in dil) if dil else "1, 2, 4, …"
        plain = max(1, (rf - 1) // 2)
        return (
            "**A sequence model.** The TCN reads the spectrogram as a row of 64-number vectors, one per 10 ms, "
            "and answers for every frame, so it can say *when* something happens, not just *what*. A rule of "
            "thumb: a 2D CNN for one answer per clip, a TCN for an answer per moment.\n\n"
            "**Causal.** Each convolution pads only on the left, so frame t is computed from frames t and "
            "earlier, never from the future, so it can listen live: the Live tab runs it on your microphone, "
            "judging each 10 ms frame once, as it arrives.\n\n"
            f"**Dilated.** The {len(convs)} convolutions skip inputs with dilations {dtxt} (two convolutions per "
            f"residual block). The reach doubles at every block, so the last layer sees **{rf} frames = "
            f"{ms / 1000:.2f} s** (from the trace). Undilated 3-wide convolutions would need about {plain} layers "
            "to reach as far.\n\n"
            f"**Residual.** Each block adds its output to its input, which keeps training stable in deep stacks. "
            f"{_n(total)} parameters in all; the clip's answer is the mean of the frame answers."
        )
    if kind == "mel224":
        frames = n_frames(n, CFG.mel64_hop)
        return (
            "**Borrow an image model.** Vision Transformers are built for 224 × 224 photos, so the mel "
            f"spectrogram is resized: 128 bands become 224 rows (×{224 / 128:.2f}) and this clip's {frames} frames "
            f"become 224 columns (×{224 / frames:.2f}). A longer clip is squeezed harder, so the same sound looks "
            "narrower. The picture is copied three times because photos have three colour channels.\n\n"
            "**196 patches + 1.** The picture is cut into 16 × 16 tiles, 14 × 14 = 196 of them. Each becomes a "
            "vector (a *token*); one extra learned token, the class token, collects the answer. Self-attention "
            "lets every token look at every other one in the very first block, so unlike a CNN there is no "
            "growing receptive field: each layer sees the whole clip.\n\n"
            "**Transfer learning, and why it is missing here.** The usual reason to use this design is to start "
            "from weights learned on millions of photos (ImageNet) and fine-tune them on spectrograms: edges and "
            "textures carry over, and far less audio is needed. **This ViT is trained from scratch**, because "
            "ImageNet weights cannot be downloaded in this build. Transformers have no built-in sense of which "
            "tiles are neighbours and must learn it from data, so on a small dataset expect it to trail the CNNs; "
            f"compare the accuracy table in Compare. {_n(total)} parameters in all."
        )
    return ""


def _model_attr(analysis: Analysis, arch: str):
    """The model class of an architecture, for its documented constants (dilations, kernel)."""
    try:
        return models.model_class(arch)
    except KeyError:
        return None
