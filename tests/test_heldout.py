"""The Compare view's held-out matrix: the bundled sample of the shipped set's test clips, cell by cell."""

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from explainer.data.heldout import choose
from explainer.ui import heldout

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "examples" / "held-out" / "sound-types"


def test_choose_fills_every_cell_and_shares_clips_between_models():
    # 6 clips of 2 classes; model a gets clip 1 wrong, model b gets clips 1 and 4 wrong
    labels = [0, 0, 0, 1, 1, 1]
    heard = {"a": [0, 1, 0, 1, 1, 1], "b": [0, 1, 0, 1, 0, 1]}
    picked = choose(labels, heard, 2, per_cell=2)
    for arch, answers in heard.items():
        for t in range(2):
            for q in range(2):
                cell = [i for i in range(6) if labels[i] == t and answers[i] == q]
                assert min(2, len(cell)) <= sum(i in picked for i in cell) <= len(cell), (arch, t, q)
    assert 1 in picked and 4 in picked  # the rare wrong answers are always kept
    one = choose(labels, heard, 2, per_cell=1, real=[False, False, True, False, False, False])
    # clip 4 fills b's (1, 0) cell and a's (1, 1) cell at once; the real clip 2 is kept before clip 0
    assert len(one) == 4 and 4 in one and 2 in one and 0 not in one


def test_the_sample_is_small_named_and_consistent():
    m = heldout.bundled("sound-types")
    assert m is not None and m["set"] == "sound-types" and m["split"] == "test"
    size = sum(f.stat().st_size for f in SAMPLE.iterdir())
    assert size < 1_500_000, f"{size / 1e6:.2f} MB"
    assert sorted(f.name for f in SAMPLE.glob("*.ogg")) == sorted(c["file"] for c in m["clips"])
    n = len(m["classes"])
    for arch, conf in m["confusion"].items():
        assert sum(map(sum, conf)) == m["test_clips"]
        for t in range(n):
            for q in range(n):
                kept = sum(1 for c in m["clips"] if c["label"] == m["classes"][t]
                           and c["heard_as"][arch] == m["classes"][q])
                assert min(m["per_cell"], conf[t][q]) <= kept <= conf[t][q], (arch, t, q)
    for c in m["clips"]:
        assert c["source"] and c["licence"] and c["package"] and c["origin"] in ("real", "synthetic")
        assert c["test_clip"].startswith(f"test/{c['label']}/")


@pytest.mark.weights
def test_the_remade_test_clips_land_in_the_cards_cells():
    card = json.loads((ROOT / "pretrained" / "sound-types" / "card.json").read_text())
    m = heldout.bundled("sound-types")
    assert m["test_clips"] == card["data"]["counts"]["test"]
    for arch, check in m["check_against_card"].items():
        assert check["card_accuracy"] == card["models"][arch]["test"]["accuracy"]
        moved = sum(abs(a - b) for ra, rb in zip(m["confusion"][arch], card["models"][arch]["test"]["confusion"])
                    for a, b in zip(ra, rb)) // 2
        assert moved == check["clips_moved"] <= 1, arch


def _session(set_name):
    """A visitor's real session (keys and small values), as the page's handlers receive it."""
    from explainer import audio
    from explainer.ui.sessions import Session

    return Session.start(audio.load(ROOT / "examples" / "speech_1.wav"), set_name, ("input_x_gradient",))


def test_a_click_on_a_cell_lists_and_plays_its_clips():
    from explainer import audio

    session = _session("sound-types")
    m = heldout.bundled("sound-types")
    arch = "waveform_cnn"
    t, q = next((t, q) for t, row in enumerate(m["confusion"][arch]) for q, v in enumerate(row) if t != q and v)
    menu, first, text = heldout.compare_cell(session, arch, SimpleNamespace(index=(t, q + 1)))
    paths = [p for _, p in menu["choices"]]
    assert first == paths[0] and 1 <= len(paths) <= m["confusion"][arch][t][q]
    assert f"held-out {m['classes'][t]} clip" in text and f"wrong: heard as {m['classes'][q]}" in text
    assert audio.load(first).duration_s == pytest.approx(3.2, abs=0.05)  # the bundled Opus decodes
    assert heldout.cell_clips("sound-types", arch, t, 0) == ([], heldout.PROMPT)  # the label column
    table, caption, row = heldout.matrix_update(session, arch)
    assert table["visible"] and table["value"][t][q + 1] == m["confusion"][arch][t][q] and row["visible"]
    assert "made again from the card's recipe" in caption["value"]


def test_sets_without_a_sample_hide_the_listening_row():
    none = _session("mine-0123456789abcdef")
    table, caption, row = heldout.matrix_update(none, "tcn")
    assert not table["visible"] and not row["visible"]
    assert heldout.bundled("../sound-types") is None and heldout.bundled(None) is None
    assert heldout.compare_cell(None, "tcn", SimpleNamespace(index=(1, 1)))[2] == heldout.PROMPT
