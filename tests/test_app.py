"""The real app, end to end: start ``python app.py``, call its API, then drive it in Chromium.

A tiny model set is trained for the test (about 20 s on 2 cores) unless a complete
shipped set exists. The browser test is skipped, with the reason, when Playwright or
a Chromium binary is missing. Screenshots go to ``$EXPLAINER_SCREENSHOTS`` when set.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from explainer import models, plots
from explainer.bench import free_port, running_app
from explainer.models import list_models

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "pretrained" / "sound-types"
METHODS = ["saliency", "gradcam"]

# every test here talks to a running app, which serves the shipped set when it is complete
pytestmark = [pytest.mark.server, pytest.mark.weights]


def _write_tone(path: Path, seconds: float = 1.5, freq: float = 440.0, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 16000)) / 16000
    x = 0.3 * np.sin(2 * np.pi * freq * t) + 0.02 * rng.standard_normal(t.size)
    sf.write(path, x.astype(np.float32), 16000)
    return path


def _complete(card_path: Path) -> bool:
    try:
        models = json.loads(card_path.read_text()).get("models", {})
    except (OSError, ValueError):
        return False
    return all(m in models for m in list_models())


@pytest.fixture(scope="module")
def model_sets(tmp_path_factory) -> tuple[Path | None, str]:
    """(folder to point EXPLAINER_PRETRAINED_DIR at, or None for the shipped one; set name)."""
    if _complete(SHIPPED / "card.json"):
        return None, "sound-types"
    root = tmp_path_factory.mktemp("tiny")
    rng = np.random.default_rng(0)
    for cls in ("tone", "noise"):
        (root / "data" / cls).mkdir(parents=True)
        for i in range(8):
            if cls == "tone":
                _write_tone(root / "data" / cls / f"{i}.wav", 1.0, 220 + 60 * i, seed=i)
            else:
                sf.write(root / "data" / cls / f"{i}.wav", (0.2 * rng.standard_normal(16000)).astype(np.float32), 16000)
    out = root / "sets"
    run = subprocess.run([sys.executable, "-m", "explainer.train", "--data", str(root / "data"), "--name", "tiny",
                          "--out", str(out), "--epochs", "1", "--clip-seconds", "1.0"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    return out, "tiny"


@pytest.fixture(scope="module")
def server(model_sets, tmp_path_factory):
    folder, set_name = model_sets
    port = free_port()
    env = dict(os.environ, GRADIO_SERVER_PORT=str(port), GRADIO_ANALYTICS_ENABLED="False")
    if folder is not None:
        env["EXPLAINER_PRETRAINED_DIR"] = str(folder)
    log = tmp_path_factory.mktemp("server") / "server.log"
    with running_app(env, log):
        yield f"http://127.0.0.1:{port}/", set_name


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return _write_tone(tmp_path_factory.mktemp("clips") / "tone.wav")


@pytest.fixture(scope="module")
def client(server):
    from gradio_client import Client

    return Client(server[0], verbose=False)


def _analyze(client, path: Path, set_name: str):
    from gradio_client import handle_file

    return client.predict(handle_file(str(path)), set_name, METHODS, True, api_name="/analyze")


def test_analyze_endpoint_returns_the_report(server, client, clip):
    _, set_name = server
    headline, report = _analyze(client, clip, set_name)
    assert report["set"] == set_name
    assert list(report["models"]) == list_models()
    for arch, m in report["models"].items():
        probs = m["probabilities"]
        assert set(probs) == set(report["classes"])
        assert sum(probs.values()) == pytest.approx(1.0, abs=1e-3)
        assert m["top"] in report["classes"]
        for method in METHODS:
            att = m["attributions"][method]
            assert len(att["time_curve"]) > 0 and "score" in att["faithfulness"]
    for arch in list_models():
        assert plots.model_title(arch) in headline
    assert report["summary"]


def test_analyze_without_checks_is_the_first_screen(server, client, clip):
    from gradio_client import handle_file

    _, set_name = server
    _, report = client.predict(handle_file(str(clip)), set_name, METHODS, api_name="/analyze")  # checks: off
    assert list(report["models"]) == list_models()
    for m in report["models"].values():
        assert all(len(att["time_curve"]) > 0 for att in m["attributions"].values())


@pytest.mark.slow
def test_a_small_classroom_at_once(server, tmp_path):
    """Six students at once, each a new session: three click one example, three send their own clips."""
    from explainer.bench import classroom, classroom_clips

    url, set_name = server
    out = classroom(url, classroom_clips(tmp_path, 6, 500), ROOT / "examples" / "speech_person.wav", set_name,
                    timeout_s=240)
    assert out["errors"] == 0, out["error_examples"]
    assert out["answered"] == 6 and out["models_each"] == [len(list_models())]
    assert out["p95_s"] is not None and out["wall_s"] < 240


def test_bad_file_is_refused_and_the_server_keeps_serving(server, client, clip, tmp_path):
    _, set_name = server
    fake = tmp_path / "notes.wav"
    fake.write_text("This is a text file pretending to be audio.\n" * 10)
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="This looks like a text file, not audio"):
        _analyze(client, fake, set_name)
    _, report = _analyze(client, clip, set_name)  # the next request is served normally
    assert list(report["models"]) == list_models()


def _browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install -r requirements-dev.txt)")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        pytest.skip("no chromium binary on PATH (apt-get install chromium)")
    return sync_playwright, chromium


@pytest.mark.browser
@pytest.mark.slow
def test_browser_walk_through_every_view(server, clip, tmp_path):
    sync_playwright, chromium = _browser()
    url, _ = server
    shots = Path(os.environ.get("EXPLAINER_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    outside = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            page.set_default_timeout(90_000)
            page.on("request", lambda r: outside.append(r.url)
                    if not r.url.startswith((url.rstrip("/"), "data:", "blob:")) else None)
            page.goto(url)
            page.locator("#ae-audio input[type=file]").set_input_files(str(clip))
            page.wait_for_function("document.querySelectorAll('.ae-card').length >= 6")
            headline = page.locator("#ae-headline")
            for arch in list_models():
                assert headline.get_by_text(plots.model_title(arch), exact=True).is_visible()
            text = headline.inner_text()
            assert any(c in text for c in ("tone", "noise", "speech", "music", "percussion", "silence")), text
            # the headline must be on screen without scrolling
            box = headline.bounding_box()
            assert box is not None and box["y"] + 60 < 768, box
            page.screenshot(path=str(shots / "01_headline.png"))

            tabs = page.get_by_role("tab")
            names = [n.strip() for n in tabs.all_inner_texts()]
            arch_tabs = [models.short_title(arch) for arch in list_models()]
            assert [n for n in names if n in arch_tabs] == arch_tabs, names  # one tab each, in display order
            for i, (arch, name) in enumerate(zip(list_models(), arch_tabs)):
                page.get_by_role("tab", name=name, exact=True).click()
                panel = page.locator("[role=tabpanel]:visible")
                panel.get_by_text(models.subtitle(arch)).wait_for()
                page.wait_for_function(
                    "[...document.querySelectorAll('[role=tabpanel]')].some(p => p.offsetParent !== null"
                    " && p.querySelectorAll('img').length >= 2)")
                if i == 0:  # the sanity check: switch it on and wait for the randomised copy's verdict
                    panel.get_by_label("Sanity check: randomise the weights", exact=False).check()
                    panel.get_by_text("Rank correlation with the trained map", exact=False).wait_for()
                page.screenshot(path=str(shots / f"1{i}_{arch}.png"), full_page=True)

            page.get_by_role("tab", name="Walkthrough").click()
            step = page.locator("#ae-step-text")
            step.get_by_text("Step 1 of").wait_for()
            first = step.inner_text()
            page.get_by_role("button", name="Next →").click()
            step.get_by_text("Step 2 of").wait_for()
            assert step.inner_text() != first
            page.screenshot(path=str(shots / "20_walkthrough.png"), full_page=True)

            # the Compare view's held-out matrix: a click on a cell lists the bundled clips behind it
            page.get_by_role("tab", name="Compare").click()
            page.get_by_text("How good is each model?").click()
            cells = page.locator("#ae-conf-cells [role=gridcell]")
            cells.first.wait_for()
            cells.nth(2).click()  # first row (speech, true), second class column
            page.get_by_text("(wrong: heard as", exact=False).first.wait_for()
            page.screenshot(path=str(shots / "30_held_out_cell.png"), full_page=True)
        finally:
            browser.close()
    assert not outside, f"the page fetched from outside the app: {outside[:5]}"


@pytest.mark.browser
def test_live_tab_hears_a_fake_microphone(server, tmp_path):
    """Chromium plays a speech clip as its microphone; the Live tab's frame model must say speech."""
    sync_playwright, chromium = _browser()
    url, set_name = server
    if set_name != "sound-types":
        pytest.skip("needs the shipped set: a tiny test set does not know speech")
    wav = tmp_path / "mic.wav"
    speech, rate = sf.read(ROOT / "examples" / "speech_person.wav", dtype="int16")
    sf.write(wav, np.concatenate([speech, speech]), rate, subtype="PCM_16")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=[
            "--no-sandbox", "--disable-gpu", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={wav}"])
        try:
            page = browser.new_context(permissions=["microphone"]).new_page()
            page.set_default_timeout(60_000)
            page.goto(url)
            page.get_by_role("tab", name="Live", exact=True).click()
            page.locator("#ae-live-mic").get_by_role("button", name="Record").click()
            now = page.locator("#ae-live-now")
            page.wait_for_function("document.querySelector('#ae-live-now').innerText.includes('hears')")
            page.wait_for_function("document.querySelector('#ae-live-now').innerText.includes('hears speech')",
                                   timeout=30_000)
            assert "s heard" in now.inner_text()
            assert page.locator("#ae-live-strip img").count() == 1  # the scrolling picture is drawn
            page.locator("#ae-live-mic").get_by_role("button", name="Stop").click()
        finally:
            browser.close()
