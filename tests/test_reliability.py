"""What a classroom throws at the app: odd files, bad files, many clients at once.

Every input goes through the command line and through the running server's
``/analyze``. The server runs with a guard that records any connection to a
non-loopback address, with its own temporary folder, and must keep answering.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from explainer.audio import TEMP_PREFIX
from explainer.bench import free_port, rss_mb, running_app
from explainer.models import list_models

ROOT = Path(__file__).resolve().parent.parent
HAS_FFMPEG = shutil.which("ffmpeg") is not None
GUARD = '''
import os, socket
_log = os.environ["NET_GUARD_LOG"]
open(_log + ".on", "a").close()  # proof that this process ran the guard
_local = ("127.", "localhost", "::1", "0.0.0.0")
def _note(what):
    with open(_log, "a") as f:
        f.write(what + "\\n")
def _is_local(host):
    return str(host).startswith(_local) or str(host) in ("", "::")
_connect, _connect_ex, _getaddrinfo = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo
def connect(self, address):
    if isinstance(address, tuple) and not _is_local(address[0]):
        _note(f"connect {address[0]}")
        raise OSError("network calls are not allowed in this test")
    return _connect(self, address)
def connect_ex(self, address):
    if isinstance(address, tuple) and not _is_local(address[0]):
        _note(f"connect {address[0]}")
        return 111
    return _connect_ex(self, address)
def getaddrinfo(host, *args, **kwargs):
    if host is not None and not _is_local(host if isinstance(host, str) else host.decode()):
        _note(f"lookup {host}")
    return _getaddrinfo(host, *args, **kwargs)
socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo = connect, connect_ex, getaddrinfo
'''


def _tone(seconds: float, sr: int = 16000, channels: int = 1) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    x = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.01 * np.random.default_rng(0).standard_normal(t.size)
    return np.repeat(x[:, None], channels, axis=1).astype(np.float32)


def _ffmpeg(src: Path, dst: Path, *args: str) -> Path:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(src), *args, str(dst)], check=True)
    return dst


def make_valid(kind: str, folder: Path) -> Path:
    """An odd but valid input of the given kind."""
    base = folder / "base.wav"
    if not base.exists():
        sf.write(base, _tone(2.0, 44100, 2), 44100)
    if kind == "wav_8ch_192k_24bit":
        path = folder / "eight.wav"
        sf.write(path, _tone(1.5, 192000, 8), 192000, subtype="PCM_24")
    elif kind == "u8_8k_upper":
        path = folder / "OLD.WAV"
        sf.write(path, _tone(1.5, 8000), 8000, subtype="PCM_U8")
    elif kind == "silence":
        path = folder / "silence.wav"
        sf.write(path, np.zeros(32000, dtype=np.int16), 16000, subtype="PCM_16")
    elif kind == "dc_and_clipping":
        path = folder / "dc.flac"
        sf.write(path, np.clip(_tone(1.5)[:, 0] * 4 + 0.3, -1, 1), 16000)
    elif kind == "very_short":
        path = folder / "short.wav"
        sf.write(path, _tone(0.4), 16000)
    elif kind == "ten_minutes":
        path = folder / "lecture.wav"
        with sf.SoundFile(path, "w", 16000, 1, subtype="PCM_16") as f:
            for _ in range(60):
                f.write(_tone(10.0)[:, 0] * 0.5)
    elif kind in ("mp3", "ogg", "opus", "m4a", "webm"):
        codec = {"mp3": [], "ogg": ["-c:a", "libvorbis"], "opus": ["-c:a", "libopus"], "m4a": ["-c:a", "aac"],
                 "webm": ["-c:a", "libopus"]}[kind]
        path = _ffmpeg(base, folder / f"clip.{kind}", *codec)
    elif kind == "video_mp4":
        path = folder / "video.mp4"
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10",
                        "-i", str(base), "-t", "2", "-c:v", "mpeg4", "-c:a", "aac", "-shortest", str(path)], check=True)
    else:
        raise KeyError(kind)
    return path


def make_bad(kind: str, folder: Path) -> Path:
    """A file the app must refuse with a sentence, never a traceback."""
    path = folder / f"{kind}.wav"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "header_only":
        sf.write(path, np.zeros(0, dtype=np.int16), 16000)
    elif kind == "truncated":
        sf.write(path, _tone(1.0), 16000, subtype="PCM_16")
        path.write_bytes(path.read_bytes()[:30])
    elif kind == "random_bytes":
        path.write_bytes(np.random.default_rng(1).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    elif kind == "text":
        path.write_text("Homework: explain the mel scale.\n" * 50)
    elif kind == "png":
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(4000))
    elif kind == "nan":
        sf.write(path, np.full(16000, np.nan, dtype=np.float32), 16000, subtype="FLOAT")
    elif kind == "too_short":
        sf.write(path, _tone(0.05), 16000)
    else:
        raise KeyError(kind)
    return path


VALID = ["wav_8ch_192k_24bit", "u8_8k_upper", "silence", "dc_and_clipping", "very_short", "ten_minutes"]
VALID_FFMPEG = ["mp3", "ogg", "opus", "m4a", "webm", "video_mp4"]
BAD = {  # kind: what the refusal must say, on the command line and from the server
    "empty": "file is empty", "header_only": "no samples", "truncated": "truncated",
    "random_bytes": "could not be decoded", "text": "text file", "png": "PNG image", "nan": "NaN",
    "too_short": "0.05 s",
}


def _finite(report: dict) -> bool:
    text = json.dumps(report)
    return "NaN" not in text and "Infinity" not in text


# ---------------------------------------------------------------- command line


def _cli(path: Path, tiny_set: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "EXPLAINER_PRETRAINED_DIR": str(tiny_set.parent)}
    return subprocess.run([sys.executable, "-m", "explainer", "analyze", str(path), "--set", "tiny", "--json"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("kind", BAD)
def test_cli_refuses_bad_input(kind, tiny_set, tmp_path):
    out = _cli(make_bad(kind, tmp_path), tiny_set)
    assert out.returncode == 2, out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr
    assert BAD[kind] in out.stderr, out.stderr


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["ten_minutes", "silence", "wav_8ch_192k_24bit"] + (["opus"] if HAS_FFMPEG else []))
def test_cli_analyses_odd_input(kind, tiny_set, tmp_path):
    out = _cli(make_valid(kind, tmp_path), tiny_set)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert _finite(report) and list(report["models"]) == list_models()
    if kind == "ten_minutes":
        assert report["clip"]["duration_s"] == pytest.approx(30.0)
        assert any("30.0 s" in w for w in report["clip"]["warnings"])


# ---------------------------------------------------------------- the server


@pytest.fixture(scope="module")
def server(tiny_set, tmp_path_factory):
    work = tmp_path_factory.mktemp("server")
    guard_dir, tmp_dir, gradio_tmp = work / "guard", work / "tmp", work / "gradio"
    for d in (guard_dir, tmp_dir, gradio_tmp):
        d.mkdir()
    (guard_dir / "sitecustomize.py").write_text(GUARD)
    port = free_port()
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "EXPLAINER_PRETRAINED_DIR": str(tiny_set.parent),
           "PYTHONPATH": str(guard_dir), "NET_GUARD_LOG": str(work / "network.log"), "TMPDIR": str(tmp_dir),
           "GRADIO_TEMP_DIR": str(gradio_tmp)}
    env.pop("GRADIO_ANALYTICS_ENABLED", None)  # the app itself must turn analytics off
    log = work / "server.log"
    with running_app(env, log) as proc:
        yield {"url": f"http://127.0.0.1:{port}/", "proc": proc, "work": work, "tmp": tmp_dir, "log": log}


@pytest.fixture(scope="module")
def client(server):
    from gradio_client import Client

    return Client(server["url"], verbose=False)


def _analyze(client, path: Path):
    from gradio_client import handle_file

    return client.predict(handle_file(str(path)), "tiny", ["saliency", "gradcam"], api_name="/analyze")


@pytest.mark.server
@pytest.mark.slow
def test_server_refuses_bad_files_and_keeps_serving(client, server, tmp_path):
    from gradio_client import handle_file

    good = make_valid("silence", tmp_path)
    for kind in BAD:
        with pytest.raises(Exception) as info:
            client.predict(handle_file(str(make_bad(kind, tmp_path))), "tiny", ["saliency"], api_name="/analyze")
        message = str(info.value)
        assert "Traceback" not in message and BAD[kind] in message, (kind, message)
        _, report = _analyze(client, good)  # the next person is still served
        assert list(report["models"]) == list_models()
    assert server["proc"].poll() is None


@pytest.mark.server
@pytest.mark.slow
@pytest.mark.parametrize("kind", VALID + (VALID_FFMPEG if HAS_FFMPEG else []))
def test_server_analyses_odd_input(kind, client, tmp_path):
    _, report = _analyze(client, make_valid(kind, tmp_path))
    assert _finite(report) and list(report["models"]) == list_models()
    for m in report["models"].values():
        assert sum(m["probabilities"].values()) == pytest.approx(1.0, abs=1e-3)
    if kind == "very_short":
        assert any("padded" in w.lower() or "1.0 s" in w for w in report["clip"]["warnings"])


@pytest.mark.parametrize("path", ["gradio_api/file=/etc/passwd", "gradio_api/file=app.py",
                                  "gradio_api/file=../../etc/passwd", "file=/etc/passwd",
                                  "gradio_api/file=pretrained/sound-types/card.json"])
@pytest.mark.server
def test_serves_no_file_outside_its_own(server, path):
    try:
        with urllib.request.urlopen(server["url"] + path, timeout=10) as resp:
            body = resp.read()
            status = resp.status
    except urllib.error.HTTPError as e:
        status, body = e.code, b""
    assert status >= 400 or (b"root:" not in body and b"import gradio" not in body and b"sha256" not in body)


@pytest.mark.server
@pytest.mark.slow
def test_load_eight_clients(client, server, tmp_path):
    """8 clients at once, a warm-up round then 3 measured rounds, bounded in time.

    Each client's session keeps its latest analysis, so memory is measured after every
    client has one: later rounds replace analyses and must not grow the server.
    """
    from gradio_client import Client

    clip = make_valid("dc_and_clipping", tmp_path)
    clients = [Client(server["url"], verbose=False) for _ in range(8)]
    latencies, errors = [], []

    def round_of(c, n):
        for _ in range(n):
            t = time.perf_counter()
            try:
                _analyze(c, clip)
                latencies.append(time.perf_counter() - t)
            except Exception as e:  # counted and asserted below
                errors.append(repr(e))

    def run_all(n):
        threads = [threading.Thread(target=round_of, args=(c, n), daemon=True) for c in clients]
        for t in threads:
            t.start()
        deadline = time.time() + 600
        for t in threads:
            t.join(timeout=max(1.0, deadline - time.time()))

    run_all(1)
    rss_warm = rss_mb(server["proc"].pid)
    latencies.clear()
    run_all(3)
    rss_after = rss_mb(server["proc"].pid)
    print(f"load: {len(latencies)} ok, {len(errors)} errors, p95 {np.percentile(latencies, 95):.2f} s, "
          f"RSS {rss_warm:.0f} -> {rss_after:.0f} MB")
    assert not errors and len(latencies) == 24
    assert rss_after - rss_warm < 100


def test_the_network_guard_notices_a_connection(tmp_path):
    """The guard itself works: without this, an empty log could mean a guard that never ran."""
    (tmp_path / "sitecustomize.py").write_text(GUARD)
    log = tmp_path / "network.log"
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "NET_GUARD_LOG": str(log)}
    code = "import socket\ntry:\n    socket.create_connection(('192.0.2.1', 80), timeout=1)\nexcept OSError:\n    pass\n"
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=60)
    assert (tmp_path / "network.log.on").exists()
    assert "connect 192.0.2.1" in log.read_text().splitlines()


@pytest.mark.server
def test_no_network_calls_and_no_temp_files_left(client, server, tmp_path):
    _analyze(client, make_valid("silence", tmp_path))
    log = server["work"] / "network.log"
    assert (server["work"] / "network.log.on").exists(), "the server did not run the network guard"
    assert not log.exists() or log.read_text().strip() == "", f"the app reached out: {log.read_text()}"
    leftovers = [p.name for p in server["tmp"].iterdir() if p.name.startswith(TEMP_PREFIX)]
    assert leftovers == []
