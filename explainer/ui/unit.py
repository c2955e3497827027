"""Inside a unit: pick one number of one layer (by clicking its picture, or with the controls) and
see the arithmetic that made it, step by step; the /unit endpoint returns the same as JSON."""

from __future__ import annotations

import html

import gradio as gr
import numpy as np

from .. import models
from ..features import front_end_class
from ..inspect import layer_io, most_active, sandbox, unit
from ..plots.unit import PictureLayout, layer_picture, picture_layout, sandbox_figure, unit_figure
from .sessions import get_set

MAX_ROWS = 64  # products listed one by one; beyond this they are grouped
TOP_GROUPS = 16  # groups listed by name before "the rest"
FULL_ROWS = 128  # channels listed with every product written out, when each has at most 3 taps


def _num(v: float) -> str:
    return f"{v:+.2e}" if v and abs(v) < 1e-3 else f"{v:+.4f}"


def _model_and_input(session, arch: str):
    a = session.analysis()
    if arch not in a.models:
        raise gr.Error(f"This set has no {models.title(arch)}.")
    return get_set(a.set_name).models[arch], a.models[arch].x


def _is_token(x, shape, layer_type: str) -> bool:
    return x.ndim == 4 and len(shape) == 2 and layer_type != "Mean"


def axis_names(shape, input_kind: str, token: bool) -> list[str]:
    """What each axis of a layer output means, for the controls."""
    if len(shape) == 1:
        return ["Unit"]
    if len(shape) == 2:
        return ["Token", "Channel"] if token else (["Channel", "Column"] if input_kind == "lfcc" else
                                                    ["Channel", "Time step"])
    time_first = front_end_class(input_kind).time_axis == 2
    return ["Channel", "Row (time)", "Column (feature)"] if time_first else \
        ["Channel", "Row (frequency)", "Column (time)"]


def _layout(shape, index, arch: str, x, layer_type: str) -> PictureLayout:
    kind = models.model_class(arch).input_kind
    return picture_layout(shape, index, kind, _is_token(x, shape, layer_type))


def _sliders(shape, index, names) -> list:
    updates = []
    for axis in range(3):
        if axis < len(shape):
            updates.append(gr.update(minimum=0, maximum=max(1, shape[axis] - 1), value=index[axis], step=1,
                                     label=f"{names[axis]} (0–{shape[axis] - 1})", visible=True,
                                     interactive=shape[axis] > 1))
        else:
            updates.append(gr.update(visible=False, value=0))
    return updates


def _rows(u: dict) -> list[tuple[str, str, str, str, float]]:
    """(what is read, input, weight, product) rows of the sum, grouped when there are many."""
    inputs, weights = np.asarray(u["inputs"], dtype=float), np.asarray(u["weights"], dtype=float)
    products = inputs * weights
    positions = u["positions"]
    shape = u.get("shape") or [len(inputs)]
    if len(inputs) <= MAX_ROWS:
        padding = u.get("padding") or [False] * len(inputs)
        return [(str(tuple(p)) + (" padding" if padding[i] else ""),
                 _num(inputs[i]), _num(weights[i]), _num(products[i]), products[i])
                for i, p in enumerate(positions)]
    if u["kind"] == "attention":
        per = products.reshape(shape).sum(0)  # per token, all heads
        label = "token {}: Σ over heads of weight × value"
    elif len(shape) >= 2 and int(np.prod(shape[1:])) <= 9:
        per = products.reshape(shape[0], -1).sum(1)  # per input channel
        label = "input channel {}: the sum of " + str(int(np.prod(shape[1:]))) + " products (input × weight)"
    else:
        per, label = products, "product {}"
    order = np.argsort(-np.abs(per))
    top, rest = order[:TOP_GROUPS], order[TOP_GROUPS:]
    taps = int(np.prod(shape[1:])) if len(shape) >= 2 else 0
    if u["kind"] != "attention" and 0 < taps <= 3 and len(per) == shape[0]:  # write every product out in full
        top, rest = order[:FULL_ROWS], order[FULL_ROWS:]
        xs, ws = inputs.reshape(shape[0], -1), weights.reshape(shape[0], -1)
        label_of = {int(i): f"input channel {int(i)}: " + " + ".join(
            f"({xs[i, j]:+.3f})·({ws[i, j]:+.3f})" for j in range(taps)) for i in top}
        rows = [(label_of[int(i)], "", "", _num(per[i]), per[i]) for i in top]
    else:
        rows = [(label.format(int(i)), "", "", _num(per[i]), per[i]) for i in top]
    if rest.size:
        rows.append((f"the other {rest.size:,} (smaller) terms together", "", "", _num(per[rest].sum()),
                     per[rest].sum()))
    return rows


def _lesson(u: dict, causal: bool) -> str:
    """One plain sentence on what this unit teaches."""
    k = u["kind"]
    if k == "conv" and len(u["shape"]) == 2 and u["shape"][0] == 1:
        taps, s = u["shape"][1], u["stride"][0]
        return (f"{taps} taps read {taps / 16:g} ms of raw samples. The stride is {s}: the next unit starts {s} "
                f"samples later, so every second of audio gives {16000 // s:,} outputs per channel.")
    if k == "conv" and len(u["shape"]) == 2:
        d, taps = u["dilation"][0], u["shape"][1]
        when = (" All of them are now or in the past, so the unit can answer as soon as its frame arrives."
                if causal else "")
        return (f"Each of the {u['shape'][0]} input channels is read at {taps} time steps, {d} apart "
                f"(dilation {d}).{when}")
    if k == "conv":
        c, h, w = u["shape"]
        return f"A {h}×{w} patch of each of the {c} input channels is multiplied by the kernel, cell by cell."
    if k == "pool" and u["shape"] == [2, 1]:
        rows = sorted({p[1] for p in u["positions"]})
        col = u["positions"][0][2]
        return (f"Two neighbouring time rows ({rows[0]} and {rows[-1]}) of one column ({col}) are averaged. "
                "Columns are never mixed, so each feature keeps its own meaning.")
    if k == "pool":
        return "Pooling has no weights: it keeps the " + ("largest value." if u["mode"] == "max" else "mean.")
    if k == "attention":
        return ("Attention weights are computed from this token and every other one; each head's weights sum to "
                "1, and the output is their weighted sum of what each token sends.")
    if k == "norm":
        return "Normalisation is a straight line per channel: subtract a mean, divide by a spread, scale, shift."
    return ""


def unit_html(u: dict, causal: bool = False) -> str:
    """The arithmetic of one unit as an HTML table whose rows appear one after another."""
    rows = _rows(u) if u["kind"] not in ("norm", "activation") else []
    delay = 3.0 / max(len(rows), 1)
    body, running = [], 0.0
    for i, (what, xv, wv, pv, p) in enumerate(rows):
        running += p
        body.append(f'<tr style="animation-delay:{i * min(delay, 0.08):.2f}s"><td>{i + 1}</td>'
                    f"<td>{html.escape(what)}</td><td>{xv}</td><td>{wv}</td><td>{pv}</td><td>{_num(running)}</td></tr>")
    t_end = len(rows) * min(delay, 0.08) + 0.2
    steps = []
    if rows:
        head = "largest value" if u.get("mode") == "max" else "sum of the products"
        steps.append(("the " + head, _num(float(np.dot(u["inputs"], u["weights"])))))
        if u.get("has_bias"):
            steps.append((f"+ bias {_num(u['bias'])}", _num(u["output"])))
    for st in [u] if u["kind"] in ("norm", "activation") else []:
        steps += _elementwise(st)
    for st in u.get("then", []):
        if st.get("added"):
            steps.append((f"+ {_num(st['added'])} from the skip connection (the block's input)",
                          _num(st.get("value", st["inputs"][0]))))
        steps += [(f"{st['layer']}: {a}", b) for a, b in _elementwise(st)]
    step_html = "".join(
        f'<div class="ae-step" style="animation-delay:{t_end + 0.5 * i:.2f}s">{html.escape(a)} '
        f"<b>= {b}</b></div>" for i, (a, b) in enumerate(steps))
    table = ("" if not rows else
             '<div class="ae-sumbox"><table class="ae-sum"><thead><tr><th>#</th><th>reads</th><th>input</th>'
             "<th>× weight</th><th>= product</th><th>running sum</th></tr></thead><tbody>"
             + "".join(body) + "</tbody></table></div>")
    lesson = _lesson(u, causal)
    return (f'<div class="ae-unit"><div class="ae-formula">{html.escape(u["formula"])}.</div>'
            + (f'<div class="ae-lesson">{html.escape(lesson)}</div>' if lesson else "")
            + table + step_html
            + f'<div class="ae-step ae-final" style="animation-delay:{t_end + 0.5 * len(steps):.2f}s">'
              f"The traced value: <b>{_num(_final(u))}</b></div></div>")


def _final(u: dict) -> float:
    return u["then"][-1]["output"] if u.get("then") else u["output"]


def _elementwise(st: dict) -> list[tuple[str, str]]:
    if st["kind"] == "norm":
        return [(f"{st['type']}: ({_num(st['value'])} − mean {_num(st['mean'])}) / √(var {st['var']:.4f} + ε) "
                 f"× γ {_num(st['gamma'])} + β {_num(st['beta'])}", _num(st["output"]))]
    if st["kind"] == "activation":
        x = st["inputs"][0]
        return [(f"{st['function'].upper()}({_num(x)})" + (": negative, so 0" if st["function"] == "relu" and x < 0
                                                             else ""), _num(st["output"]))]
    return []


def _render(session, arch: str, layer: str, index):
    model, x = _model_and_input(session, arch)
    with models.model_lock(model):
        layer_in, out = layer_io(model, x, layer)
        if index is None:
            index = most_active(out)
        u = unit(model, x, layer, index)
    layout = _layout(tuple(out.shape), u["index"], arch, x, u["type"])
    picture = layer_picture(out.float().numpy(), layout, u["index"])
    cls = models.model_class(arch)
    fig = unit_figure(u, x[0].float().numpy(), None if layer_in is None else layer_in.float().numpy(),
                      cls.input_kind, cls.causal, models.title(arch))
    names = axis_names(tuple(out.shape), cls.input_kind, _is_token(x, tuple(out.shape), u["type"]))
    return u, picture, fig, unit_html(u, cls.causal), _sliders(tuple(out.shape), u["index"], names)


def layer_choices(session, arch: str) -> list[tuple[str, str]]:
    """The traced layers of this model, labelled with their type and output shape."""
    r = session.analysis().models[arch]
    return [(f"{rec.name} · {rec.type} → {tuple(rec.shape[1:])}", rec.name) for rec in r.trace.layers]


UNIT_PROMPT = ('<div class="ae-unit"><div class="ae-lesson">Pick a layer, move a slider, or close and open this '
               "section again to see a unit of this clip.</div></div>")


def unit_reset(tabs, session) -> dict:
    """Every tab's unit view after a new analysis: this clip's layers in the menu, and a prompt in place of
    an earlier clip's unit (run once per analysis, before any tab can open its unit view)."""
    out = {}
    for tab in tabs:
        arch = tab.arch
        if session is None or arch not in session.analysis().models:
            continue
        layer = models.model_class(arch).unit_layer or session.analysis().models[arch].trace.layers[0].name
        out |= {tab.unit_layer: gr.update(choices=layer_choices(session, arch), value=layer),
                tab.unit_map: None, tab.unit_plot: None, tab.unit_html: UNIT_PROMPT}
    return out


def make_unit_open(arch: str):
    def open_unit(session):
        """Open the unit view on this model's teaching layer, at its most active unit."""
        if session is None or arch not in session.analysis().models:
            return [gr.skip()] * 7
        layer = models.model_class(arch).unit_layer or session.analysis().models[arch].trace.layers[0].name
        u, picture, fig, text, sliders = _render(session, arch, layer, None)
        return [gr.update(choices=layer_choices(session, arch), value=layer), *sliders, picture, fig, text]

    open_unit.__name__ = f"unit_open_{arch}"
    return open_unit


def make_unit_layer(arch: str):
    def pick_layer(session, layer):
        """Another layer: show its most active unit."""
        if session is None:
            raise gr.Error("Analyse a clip first.")
        try:
            u, picture, fig, text, sliders = _render(session, arch, layer, None)
        except ValueError as e:
            raise gr.Error(str(e)) from None
        return [*sliders, picture, fig, text]

    pick_layer.__name__ = f"unit_layer_{arch}"
    return pick_layer


def make_unit_move(arch: str):
    def move(session, layer, a0, a1, a2):
        """The unit at the controls' position."""
        if session is None:
            raise gr.Error("Analyse a clip first.")
        shape = _shape(session, arch, layer)
        index = [int(v) for v in (a0, a1, a2)[:len(shape)]]
        try:
            u, picture, fig, text, sliders = _render(session, arch, layer, index)
        except ValueError as e:
            raise gr.Error(str(e)) from None
        return [picture, fig, text]

    move.__name__ = f"unit_move_{arch}"
    return move


def make_unit_click(arch: str):
    def click(session, layer, a0, evt: gr.SelectData):
        """The unit under the click on the layer picture."""
        if session is None:
            raise gr.Error("Analyse a clip first.")
        shape = _shape(session, arch, layer)
        model, x = _model_and_input(session, arch)
        rec_type = next(r.type for r in session.analysis().models[arch].trace.layers if r.name == layer)
        layout = _layout(shape, [int(a0)] + [0] * (len(shape) - 1), arch, x, rec_type)
        px, py = evt.index if isinstance(evt.index, (list, tuple)) else (evt.index, 0)
        index = layout.index_at(float(px), float(py))
        u, picture, fig, text, sliders = _render(session, arch, layer, index)
        return [*sliders, picture, fig, text]

    click.__name__ = f"unit_click_{arch}"
    return click


def _shape(session, arch: str, layer: str) -> tuple[int, ...]:
    for rec in session.analysis().models[arch].trace.layers:
        if rec.name == layer:
            return tuple(rec.shape[1:])
    raise gr.Error(f"{models.title(arch)} has no layer {layer!r}.")


def unit_api(session, arch: str, layer: str, index: str):
    """``/unit``: the arithmetic of one unit of the last analysed clip, as JSON (:func:`explainer.inspect.unit`).

    ``index`` is the output position without the batch axis, written as numbers separated by commas
    (``"3, 120"``) or as a JSON list (``"[3, 120]"``).
    """
    if session is None:
        raise gr.Error("Analyse a clip first: call /analyze with this client, then /unit.")
    if arch not in session.analysis().models:
        raise gr.Error(f"Unknown model {arch!r}; this set has: {', '.join(session.analysis().models)}.")
    try:
        idx = [int(v) for v in str(index).strip().strip("[]()").replace(",", " ").split()]
    except ValueError:
        raise gr.Error(f"The index {index!r} is not a list of whole numbers, e.g. \"3, 120\".") from None
    model, x = _model_and_input(session, arch)
    try:
        with models.model_lock(model):
            return unit(model, x, str(layer), idx)
    except ValueError as e:
        raise gr.Error(str(e)) from None


def sandbox_view(n, kernel, stride, dilation, padding, pool):
    """The sandbox's figure and its sums, from the formulas the layer trace uses."""
    sb = sandbox(int(n), int(kernel), int(stride), int(dilation), int(padding), int(pool))
    span = sb["dilation"] * (sb["kernel"] - 1) + 1
    lines = [f"**Output length** = ⌊({sb['n']} + 2·{sb['padding']} − {sb['dilation']}·({sb['kernel']} − 1) − 1) / "
             f"{sb['stride']}⌋ + 1 = **{sb['conv_length']}**"
             + ("" if sb["conv_length"] > 0 else ": no output at all. A PyTorch layer refuses such an input; "
                "add padding, or make the kernel, the dilation or the input fit.")]
    if sb["conv_length"] > 0:
        lines.append(f"**One conv output sees {sb['conv_rf']} input cells**: {sb['kernel']} taps, {sb['dilation']} "
                     f"apart, span 1 + {sb['dilation']}·({sb['kernel']} − 1) = {span}. Neighbouring outputs start "
                     f"{sb['conv_jump']} cell{'s' if sb['conv_jump'] != 1 else ''} apart (the stride).")
        if sb["pool"] > 1:
            lines.append(f"**After pooling by {sb['pool']}**: {sb['pool_length']} outputs, each seeing "
                         f"{sb['pool_rf']} input cells (rf += ({sb['pool']} − 1) × {sb['conv_jump']}), "
                         f"{sb['pool_jump']} cells apart.")
        lines.append("These are the rules the layer tables use for every model: rf += (kernel − 1) × dilation × "
                     "jump, then jump ×= stride.")
    return sandbox_figure(sb), "\n\n".join(lines)
