"""Memory and temporary files within bounds, however many visitors come, and nothing lost on the way.

A session keeps its clip as 16-bit samples and a few keys; every heavy result lives in the one
byte-bounded cache. After an eviction the same views come back with the same figures. Over forty
new sessions the server grows by no more than the cache's budget and a small margin, and
Gradio's copies of files and the visitors' own-sounds folders are removed when their time comes.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from matplotlib.figure import Figure

from explainer import audio, plots, report
from explainer.ui.cache import ResultCache, nbytes
from helpers import tone_and_noise

ROOT = Path(__file__).resolve().parent.parent


def _noop(*args, **kwargs):
    return None


def _data(x):
    """What a handler's answer shows, as plain values: a figure becomes the arrays and words it draws."""
    if isinstance(x, Figure):
        out = []
        for ax in x.axes:
            out += [np.asarray(im.get_array()) for im in ax.images]
            out += [np.asarray(line.get_xydata()) for line in ax.lines]
            for c in ax.collections:
                out.append(np.asarray(c.get_offsets()))
                if c.get_array() is not None:
                    out.append(np.asarray(c.get_array()))
            out += [p.get_path().vertices.copy() for p in ax.patches]
            out += [t.get_text() for t in ax.texts] + [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
        plots.close(x)
        return ("figure", out)
    if isinstance(x, dict):
        return {str(getattr(k, "_id", k)): _data(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_data(v) for v in x]
    if isinstance(x, torch.Tensor):
        return x.detach().numpy()
    return x


def _assert_same(a, b, where="answer"):
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float), rtol=1e-5, atol=1e-6,
                                   err_msg=where)
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _assert_same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, float):
        assert a == pytest.approx(b, rel=1e-5, abs=1e-6), where
    else:
        assert a == b, where


def test_a_session_keeps_its_clip_in_16_bits_and_no_result(tmp_path):
    from explainer.ui.sessions import Session, compact_clip, from_pcm, to_pcm

    path = tmp_path / "clip.wav"
    sf.write(path, tone_and_noise(2.0)[0, 0].numpy(), 16000, subtype="PCM_16")
    loaded = audio.load(path)
    clip = compact_clip(loaded)
    assert torch.equal(clip.waveform, loaded.waveform)  # a 16-bit source at 16 kHz is kept sample for sample
    session = Session.start(clip, "untrained", ("input_x_gradient", "gradcam"))
    assert session.pcm.dtype == np.int16 and session.pcm.size == clip.waveform.shape[-1]
    assert torch.equal(session.clip().waveform, clip.waveform)
    assert nbytes(session) == session.pcm.nbytes == 2 * 32000  # no tensor or array beside the samples
    assert session.nbytes < session.pcm.nbytes + 1024
    wave = torch.linspace(-1, 1, 999).reshape(1, -1)
    err = (from_pcm(to_pcm(wave)) - wave).abs()[0]
    assert err[:-1].max() <= 0.5 / 32768 + 1e-7 and err[-1] <= 1 / 32768 + 1e-7  # +1.0 itself is 32767 / 32768


@pytest.mark.slow
def test_views_after_eviction_are_the_views_before(monkeypatch):
    import app  # the page's tabs: a tab's answer is keyed by its components
    from explainer.ui import handlers, sessions

    cache = ResultCache(max_bytes=256 * 2 ** 20)
    monkeypatch.setattr(sessions, "RESULTS", cache)
    clip = (16000, tone_and_noise(2.0, seed=1)[0, 0].numpy())
    session, a = handlers._run_analysis(clip, "untrained", None, _noop, faithfulness=False)
    handlers.add_faithfulness(session, progress=_noop)  # what the session asks for is kept with it
    handlers.check_every_map(session, progress=_noop)
    other_class = next(c for c in a.classes if c != a.models["lfcc_cnn"].top)

    def views():
        session.rendered.clear()  # the tabs are opened again, as after a reload of the page
        out = {"listen": handlers.render_listen(session), "compare": handlers.render_compare(session, a.methods[0])}
        for arch in ("tcn", "spectrogram_vit"):
            out[arch] = handlers.make_arch_renderer(app.TABS[arch], app.active_view)(session, "saliency", 0.6,
                                                                                    progress=_noop)
        out["overlay"] = handlers.make_overlay_handler("lfcc_cnn")(session, "saliency", other_class, 0.6,
                                                                   progress=_noop)
        out["sanity"] = handlers.make_sanity_handler("tcn")(session, True, "gradcam", None, progress=_noop)
        out["fmaps"] = handlers.make_fmaps_renderer("baseline_cnn")(session, progress=_noop)
        out["rf"] = handlers.make_rf_handler("tcn")(session, 10)
        out["step"] = handlers.render_step(session, 3)
        out["hear"] = handlers.hear(session, "spectrogram_cnn", a.methods[0], 30)
        out["agree"] = handlers.agree(session, "tcn", progress=_noop)
        out["curves"] = handlers.check_every_map(session, progress=_noop)
        out["report"] = {k: v for k, v in report.report_dict(session.analysis()).items() if k != "timings_ms"}
        return _data(out)

    before = views()
    key = session.analysis_key
    assert key in cache and cache.stats()["misses"] > 1  # the analysis and the maps, checks and curves made since
    cache.max_bytes = int(1.2 * cache._items[key][1])  # room for about one analysis
    handlers._run_analysis((16000, tone_and_noise(2.0, seed=2)[0, 0].numpy()), "untrained", None, _noop, False)
    assert key not in cache and not any(k.startswith(key) for k in cache._items)  # all of it evicted
    cache.max_bytes = 256 * 2 ** 20
    misses = cache.stats()["misses"]
    after = views()
    assert cache.stats()["misses"] > misses + 3  # computed again from the session's clip, not found
    _assert_same(before, after)
    assert before["overlay"][0][1] and before["tcn"]  # the comparison compared figures, not empty answers


def test_keep_no_component_values_drops_gradios_copies():
    import gradio as gr
    from gradio.state_holder import SessionState

    from explainer.ui.runtime import keep_no_component_values

    with gr.Blocks() as demo:
        box = gr.Textbox()
    keep_no_component_values()
    state = SessionState(demo)
    state[box._id] = box
    state._update_value_in_config(box._id, "x" * 1_000_000)
    assert all("x" * 100 not in str(c) for c in state.config_values.values())


def _files(folder: Path, n: int, size: int = 1000) -> list[str]:
    paths = []
    for i in range(n):
        (folder / f"h{i}").mkdir()
        p = folder / f"h{i}" / "f.bin"
        p.write_bytes(b"\0" * size)
        paths.append(str(p))
        time.sleep(0.02)  # the files' change times give their order
    return paths


def test_janitor_removes_the_oldest_files_beyond_the_budget(tmp_path):
    from explainer.ui import janitor

    class Blocks:  # what sweep reads of gr.Blocks
        def __init__(self, sets, kept):
            self.temp_file_sets = sets
            self.blocks = {0: type("C", (), {"keep_in_cache": kept})()}

    paths = _files(tmp_path, 6)
    uploads, outputs = set(paths[:3]), set(paths[3:])
    outputs.add(str(tmp_path / "gone.bin"))  # removed by someone else: forgotten, not counted
    blocks = Blocks([uploads, outputs], kept={paths[1]})
    assert janitor.sweep(blocks, max_bytes=6000, min_age_s=3600)["removed"] == 0  # too young to go
    left = janitor.sweep(blocks, max_bytes=2500, min_age_s=0)
    assert left == {"files": 2, "bytes": 2000, "removed": 4, "freed": 4000}
    assert [os.path.exists(p) for p in paths] == [False, True, False, False, False, True]  # oldest first; kept stays
    assert not (tmp_path / "h0").exists()  # its hash folder went with it
    assert uploads == {paths[1]} and outputs == {paths[5]}


def test_own_sounds_folders_go_with_their_session(tmp_path):
    from explainer.ui import own as own_mod

    own = own_mod.OwnSounds()
    folder = own.folder
    own.set_classes("a, b")
    own.add_clip("a", (16000, tone_and_noise(1.0)[0, 0].numpy()))
    assert folder.is_dir() and str(os.getpid()) in folder.name
    del own  # Gradio dropped the session without calling its delete_callback
    gc.collect()
    assert not folder.exists()
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = tmp_path / f"{own_mod.FOLDER_PREFIX}{done.stdout.strip()}-x1"  # a server that was killed
    mine = tmp_path / f"{own_mod.FOLDER_PREFIX}{os.getpid()}-x2"
    for d in (dead, mine):
        (d / "data").mkdir(parents=True)
    assert own_mod.remove_orphans(tmp_path) == 1
    assert not dead.exists() and mine.exists()


@pytest.mark.slow
@pytest.mark.server
@pytest.mark.weights
def test_forty_new_sessions_grow_the_server_by_at_most_the_cache_budget():
    """Eight warm-up visitors fill a 40 MB cache; forty more, each a new session with a clip of its own (ten
    of them at once), may grow the server by the budget and a margin for the allocator, never by what forty
    analyses would hold (about 8 MB each)."""
    from explainer import soak

    budget_mb, margin_mb = 40, 60
    cfg = soak.SoakConfig(visitors=48, warm=8, burst=10, between=15, shared_every=1000, own_every=1000,
                          visitor_timeout_s=120, deadline_s=420, cache_mb=budget_mb)
    out = soak.run(cfg)
    assert out["errors"] == 0, out["error_examples"]
    assert out["visitors"] == 48 and "stopped_early" not in out
    growth = out["rss_after_mb"] - out["rss_warm_mb"]
    assert growth <= budget_mb + margin_mb, out["checkpoints"]
