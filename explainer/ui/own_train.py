"""Your own sounds, the Train button: fine-tune all six (and train them from scratch), one bar per run.

:func:`own_train_steps` is the page's generator handler: it yields the progress panel of
:mod:`explainer.ui.own_progress` after every epoch of every model, then the results table,
the chart, the note, the download and the set menu. :func:`own_train` runs it to the end and
returns the results (the API and the tests).
"""

from __future__ import annotations

from .. import audio, pretrained
from .own import OwnSounds, OwnSoundsError, _gr, menu_update, new_name
from .own_progress import LAYER_WORDS, TrainingBoard, train_live

RESULT_HEADERS = ["model", "fine-tuned from the set", "time", "from scratch", "time", "layers trained"]


def result_rows(card: dict) -> list[list]:
    """The transfer-versus-scratch table from a new set's card."""
    from .. import plots

    rows = []
    pct = lambda v: "—" if v is None else f"{100 * v:.0f}%"
    for arch, m in (card.get("models") or {}).items():
        s = m.get("scratch") or {}
        layers = m.get("trained_layers") or "all"
        rows.append([plots.model_title(arch), pct(m["test"]["accuracy"]), f"{m['train_seconds']:.1f} s",
                     pct((s.get("test") or {}).get("accuracy")),
                     "—" if "train_seconds" not in s else f"{s['train_seconds']:.1f} s",
                     f"{LAYER_WORDS.get(layers, layers)} ({m.get('trained_params', 0):,} weights)"])
    return rows


def result_note(card: dict) -> str:
    """Where the scores come from, and how far to trust so few clips."""
    models = card.get("models") or {}
    if not models:
        return ""
    test = next(iter(models.values()))["test"]
    n, split = test.get("n", 0), test.get("split")
    parent = (card.get("fine_tuned_from") or {}).get("set", "the shipped set")
    fine = sum(m.get("train_seconds", 0) for m in models.values())
    scratch = sum((m.get("scratch") or {}).get("train_seconds", 0) for m in models.values())
    more = [m for m in models.values() if m.get("trained_layers") not in (None, "head")]
    body = ("only a new last layer learns your classes" if not more else
            "a new last layer learns your classes, and where that measurably helps the block before it "
            "learns too, slowly (see *layers trained*)")
    where = (f"{n} of your clips that no model trained on" if split == "test" else
             f"the {n} clips kept aside to choose each model's best epoch (too few clips to hold others out)")
    trust = (" With so few clips one clip is a big step in accuracy: record more for a fairer race."
             if n < 12 else "")
    return (f"Each row is one architecture, scored on {where}. *Fine-tuned* models start from {parent}: their "
            f"body keeps what it learnt there, and {body} ({fine:.0f} s for all six)."
            f"{f' *From scratch* models start from random weights ({scratch:.0f} s).' if scratch else ''}"
            f"{trust} Your new set is now "
            "chosen in the Model set menu: analyse a clip and every view explains it with your classes.")


def own_train_steps(own: OwnSounds | None, compare: bool, progress=None):
    """Fine-tune all six from the shipped set (and train them from scratch too), then list the new set.

    Yields the page's outputs ``(own, table, chart, note, download, set menu, progress panel)``:
    first with only the panel changing, after every epoch of every run, then all of them.
    """
    gr = _gr()
    from .. import plots, train
    from ..transfer import own_config
    from ..models import list_models

    if own is None:
        raise gr.Error("Name your classes and add clips first.")
    try:
        own.check_ready()
    except OwnSoundsError as e:
        raise gr.Error(str(e)) from None
    parent = pretrained.DEFAULT_SET
    if parent not in pretrained.list_sets():
        raise gr.Error("There is no trained set to start from, so fine-tuning cannot run here.")
    name = new_name()
    own.sets_dir.mkdir(parents=True, exist_ok=True)
    cfg = own_config()
    archs = list_models()

    def report(fraction, text):  # "waveform_cnn: fine-tuning" -> "1D waveform CNN: fine-tuning"
        arch, _, what = text.partition(": ")
        progress(fraction, desc=f"{plots.model_title(arch)}: {what}" if what else text)

    board = TrainingBoard({a: plots.model_title(a) for a in archs}, ["fine-tuned"] + (["scratch"] if compare else []))
    work = lambda events: train.run(own.data_dir, name, archs, cfg, own.sets_dir, parent=parent,
                                    compare_scratch=bool(compare), progress=report if progress else None,
                                    events=events)
    skip = (gr.skip(),) * 6
    folder = None
    try:
        for panel, result in train_live(board, work):
            if result is None:
                yield (*skip, panel)
            folder = result
    except (ValueError, audio.AudioError) as e:
        raise gr.Error(f"Training stopped: {e}") from None
    card = pretrained.load_set(name, root=own.sets_dir).card
    own.register(name, f"your set: {', '.join(card['classes'])}")
    own.card = card
    download = own.folder / f"{name}.zip"
    download.write_bytes(pretrained.export_zip(folder))
    fine = sum(m.get("train_seconds", 0) for m in card["models"].values())
    yield (own, result_rows(card), plots.transfer_chart(card), result_note(card), str(download),
           menu_update(own, name), board.html(f"All done: fine-tuning took {fine:.0f} s for all six."))


def own_train(own: OwnSounds | None, compare: bool, progress=None) -> tuple:
    """:func:`own_train_steps` run to its end: ``(own, table, chart, note, download, menu, panel)``."""
    last = None
    for last in own_train_steps(own, compare, progress):
        pass
    return last
