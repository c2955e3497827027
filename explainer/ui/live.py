"""The Live tab's handlers: a microphone stream in, the scrolling picture, every model's answer and
a live explanation out, and "explain what I just heard" into the full analysis."""

from __future__ import annotations

import html
from dataclasses import dataclass

import gradio as gr
import numpy as np

from .. import plots
from ..live import ANSWER_S, SR, LiveListener, live_model
from .sessions import get_set, set_choices

# Gradio's microphone sends a chunk every 0.1 s whatever the event asks for; every chunk is heard at once
# (its frames judged), and the page is redrawn every REDRAW_S, which is what a projector needs
STREAM_EVERY_S = 0.5
REDRAW_S = 0.25
STREAM_LIMIT_S = 600  # one visitor streams at most this long per recording, so nobody holds a worker forever


def live_cards(listener: LiveListener | None) -> str:
    """Every model's answer on the latest seconds, as the headline's cards."""
    if listener is None or not listener.answers:
        return ('<div class="ae-headline"><div class="ae-summary ae-waiting">Press Record and make a sound: '
                "every model's answer on the last few seconds appears here.</div></div>")
    classes = list(listener.model_set.classes)
    colours = plots.class_colors(classes)
    cards = []
    for arch, probs in listener.answers.items():
        k = int(np.argmax(probs))
        p, top = float(probs[k]), classes[k]
        colour = colours.get(top, "#333")
        cards.append(
            f'<div class="ae-card" style="border-top-color:{colour}">'
            f'<div class="ae-model">{html.escape(plots.model_title(arch))}</div>'
            f'<div class="ae-answer"><span class="ae-class" style="background:{colour}">{html.escape(top)}</span> '
            f'<span class="ae-conf">{100 * p:.0f}%</span></div>'
            f'<div class="ae-bar"><div style="width:{100 * p:.0f}%;background:{colour}"></div></div></div>')
    return f'<div class="ae-headline"><div class="ae-cards">{"".join(cards)}</div></div>'


def _legend(listener: LiveListener) -> str:
    colours = plots.class_colors(list(listener.model_set.classes))
    return " ".join(f'<span style="color:{colours[c]}">■</span> {html.escape(c)}' for c in listener.model_set.classes)


def live_status(listener: LiveListener | None, update_ms: float | None = None) -> str:
    """One line on what the frame model hears now, and how long the update took."""
    if listener is None:
        return "*Press Record. The picture scrolls as you speak, clap or whistle.*"
    now = listener.now(0.5)
    title = plots.model_title(listener.arch)
    heard = f"{listener.received / SR:.1f} s heard"
    if now is None:
        return f"Listening… {heard}."
    cls, share = now
    timing = f" · update {update_ms:.0f} ms" if update_ms is not None else ""
    curve = (f" The orange curve is {plots.model_title(listener.explain_arch)}'s evidence for "
             f"**{listener.curve_target}** over the last {ANSWER_S:g} s." if listener.curve is not None else "")
    return (f"Now the {title} hears **{cls}** ({100 * share:.0f}% of the last 0.5 s){timing} · {heard}. "
            f"Strip colours: {_legend(listener)}.{curve}")


@dataclass
class LivePage:
    """One visitor's live stream and what the page last drew of it."""

    listener: LiveListener
    drawn_at: int = 0  # samples heard when the page was last redrawn
    answers_new: bool = False  # every model answered since the last redraw
    cost_ms: float = 0.0  # the costliest update since the last redraw


def live_start(set_name, explain_arch):
    """A fresh listener when recording starts, for the chosen set."""
    model_set = get_set(set_name or set_choices()[0])
    arch = live_model(model_set)
    if arch is None:
        raise gr.Error("This model set has no causal frame-by-frame model, so it cannot listen live.")
    listener = LiveListener(model_set, arch, explain_arch=explain_arch if explain_arch in model_set.models else arch)
    return LivePage(listener), plots.live_picture(listener), live_cards(None), None, live_status(listener)


def live_update(chunk, page, set_name, explain_arch):
    """One chunk from the microphone: judge its frames at once; redraw the picture, the answers and the curve
    every :data:`REDRAW_S`."""
    if chunk is None:
        return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
    if page is None or page.listener.model_set.name != (set_name or set_choices()[0]):
        page = live_start(set_name, explain_arch)[0]
    listener = page.listener
    if explain_arch in listener.model_set.models:
        listener.explain_arch = explain_arch
    rate, data = chunk
    try:
        update = listener.feed(rate, data)
    except ValueError as e:
        raise gr.Error(f"The microphone sent audio this page cannot read ({e}).") from None
    page.cost_ms = max(page.cost_ms, update.compute_ms)
    page.answers_new |= update.answers_updated
    if listener.received - page.drawn_at < REDRAW_S * SR:
        return page, gr.skip(), gr.skip(), gr.skip(), gr.skip()
    cards = live_cards(listener) if page.answers_new else gr.skip()
    curve = plots.live_curve_picture(listener) if page.answers_new else gr.skip()
    status = live_status(listener, page.cost_ms)
    page.drawn_at, page.answers_new, page.cost_ms = listener.received, False, 0.0
    return page, plots.live_picture(listener), cards, curve, status


def live_explain(page, seconds):
    """The last ``seconds`` heard, handed to the full analysis (it becomes the page's clip)."""
    listener = None if page is None else page.listener
    if listener is None or listener.received == 0:
        raise gr.Error("Nothing heard yet: press Record on the Live tab first.")
    wave = listener.recent(float(seconds or 3.0))
    audio = (np.clip(wave, -1.0, 1.0) * 32767).astype(np.int16)
    return (16000, audio), gr.Tabs(selected="compare")
