"""``python -m explainer bench``: the performance figures, each against a reference measured in the same run.

The reference is one forward pass of an AST-base-sized transformer (12 layers,
width 768, 12 heads, 16x16 patches with stride 10 on a 128 x 1024 log-mel, so
1212 patches) with random weights: what a visitor of an AST demo waits for.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

THREADS = 2  # the free Hugging Face tier has 2 vCPUs
BENCH_SECONDS = 10.0
ROOT = Path(__file__).resolve().parent.parent
BUDGETS = {"analysis_ratio": ("<=", 0.33), "integrated_gradients_ratio": ("<=", 1.0),
           "integrated_gradients_adaptive_ratio": ("<=", 1.0),
           "features_realtime_factor": (">=", 1000.0), "cold_start_s": ("<=", 10.0), "rss_mb": ("<=", 1536.0),
           "live_update_p95_ms": ("<=", 250.0), "live_latency_p95_ms": ("<=", 1000.0),
           "classroom_mixed_p95_s": ("<=", 10.0), "classroom_distinct_p95_s": ("<=", 15.0), "cold_start_ratio": ("<=", 1.5),
           # Your own sounds, 3 classes x 10 clips of 2 s (explainer.transfer): all six fine-tuned, all six from scratch
           "own_finetune_s": ("<=", 90.0), "own_scratch_s": ("<=", 300.0)}


class _ASTBlock(nn.Module):
    def __init__(self, dim: int = 768, heads: int = 12):
        super().__init__()
        self.heads = heads
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.qkv, self.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        self.fc1, self.fc2 = nn.Linear(dim, 4 * dim), nn.Linear(4 * dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        a = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, n, d)  # (B, N, D)
        x = x + self.proj(a)
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x))))


class ASTReference(nn.Module):
    """AST-base shape: (B, 1, 128, 1024) log-mel -> 1212 patches + 2 tokens -> 12 blocks -> 527 logits."""

    def __init__(self, dim: int = 768, depth: int = 12):
        super().__init__()
        self.patches = nn.Conv2d(1, dim, 16, stride=10)
        self.tokens = nn.Parameter(torch.zeros(1, 2, dim))
        self.pos = nn.Parameter(torch.zeros(1, 1214, dim))
        self.blocks = nn.ModuleList([_ASTBlock(dim) for _ in range(depth)])
        self.norm, self.head = nn.LayerNorm(dim), nn.Linear(dim, 527)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patches(x).flatten(2).transpose(1, 2)  # (B, 1212, D)
        x = torch.cat([self.tokens.expand(x.shape[0], -1, -1), x], 1) + self.pos  # (B, 1214, D)
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x[:, :2].mean(1)))


def gflop(fn) -> float:
    """Multiply-add work of ``fn()`` in GFLOP (2 per multiply-add), counted by torch's FLOP counter.

    Attention runs on its plain matrix-product kernel while counting, so that it is counted
    too; the counter does not see inside the fused CPU kernel.
    """
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops() / 1e9


def ig_gflop(model: nn.Module, x: torch.Tensor, steps: int = 32) -> float:
    """Work of Integrated Gradients on input ``x``: ``steps`` forwards and input-gradient backwards.

    Only the gradient with respect to the input is counted, as Captum asks for no weight gradients.
    """
    frozen = [p for p in model.parameters() if p.requires_grad]
    for p in frozen:
        p.requires_grad_(False)
    try:
        def one_step():
            model(x.detach().clone().requires_grad_(True))[:, 0].sum().backward()

        return steps * gflop(one_step)
    finally:
        for p in frozen:
            p.requires_grad_(True)


def bench_clip(seconds: float = BENCH_SECONDS, seed: int = 0) -> np.ndarray:
    """A varied 16 kHz clip: tone, harmonic notes, noise bursts and clicks, then quiet."""
    rng = np.random.default_rng(seed)
    sr = 16000
    t = np.arange(int(seconds * sr)) / sr
    x = np.zeros_like(t)
    x += 0.3 * np.sin(2 * np.pi * 440 * t) * (t < 2)
    for i, f0 in enumerate((262, 330, 392, 523)):
        seg = (t >= 2 + 0.5 * i) & (t < 2.5 + 0.5 * i)
        x += seg * sum(0.2 / h * np.sin(2 * np.pi * f0 * h * t) for h in range(1, 5))
    x += ((t >= 4) & (t < 6)) * 0.1 * rng.standard_normal(t.size)
    for c in np.arange(6, 8, 0.25):
        i = int(c * sr)
        x[i : i + 400] += 0.6 * np.exp(-np.arange(400) / 60) * rng.standard_normal(400)
    x += 0.001 * rng.standard_normal(t.size)
    return np.clip(x, -1, 1).astype(np.float32)


def _median_spread(fn, repeats: int) -> tuple[float, float, float]:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times), max(times)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    """Resident memory of process ``pid`` in MB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@contextmanager
def running_app(env: dict, log: Path, timeout_s: float = 120.0):
    """Start ``python app.py`` with ``env``, wait until its page answers, yield the process, stop it.

    ``env`` must set ``GRADIO_SERVER_PORT``; the server's output goes to ``log``. Raises
    ``RuntimeError`` with the end of the log when the app exits or does not answer in time.
    """
    url = f"http://127.0.0.1:{env['GRADIO_SERVER_PORT']}/"
    t0 = time.perf_counter()
    with open(log, "w") as f:
        proc = subprocess.Popen([sys.executable, str(ROOT / "app.py")], cwd=ROOT, env=env, stdout=f,
                                stderr=subprocess.STDOUT)
    try:
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.perf_counter() - t0 > timeout_s:
                raise RuntimeError(f"the app did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.1)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def _server_figures(wav: Path, set_name: str, analyses: int, clients: int, per_client: int,
                    classroom_size: int = 30) -> dict:
    """Cold start, memory over repeated analyses and concurrent latency of the real app."""
    from gradio_client import Client, handle_file

    port = free_port()
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_ANALYTICS_ENABLED": "False"}
    url = f"http://127.0.0.1:{port}/"
    out: dict = {}

    def ask(c, checks=True):
        return c.predict(handle_file(str(wav)), set_name, ["saliency", "gradcam"], checks, api_name="/analyze")

    imports = []
    for _ in range(2):  # what any Gradio app on torch pays before its own first line: the cold start's yardstick
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import torch, gradio"], check=True, env=env, capture_output=True)
        imports.append(time.perf_counter() - t)
    t0 = time.perf_counter()
    with running_app(env, wav.parent / "server.log") as proc:
        client = Client(url, verbose=False)
        ask(client, checks=False)  # the first screen: what a visitor waits for
        out["cold_start_s"] = round(time.perf_counter() - t0, 2)
        out["import_torch_gradio_s"] = round(min(imports), 2)
        out["cold_start_ratio"] = round(out["cold_start_s"] / min(imports), 2)
        rss = []
        for i in range(analyses):
            ask(client)
            rss.append(rss_mb(proc.pid))
        warm = rss[min(9, len(rss) - 1)]
        out["rss_mb"] = round(rss[-1], 1)
        out["rss_after_warmup_mb"] = round(warm, 1)
        out["rss_growth_mb"] = round(rss[-1] - warm, 1)
        out["analyses"] = analyses
        latencies, errors = [], []

        def worker():
            c = Client(url, verbose=False)
            for _ in range(per_client):
                t = time.perf_counter()
                try:
                    ask(c)
                    latencies.append(time.perf_counter() - t)
                except Exception as e:  # counted, not raised: the figure is the error count
                    errors.append(repr(e))

        threads = [threading.Thread(target=worker) for _ in range(clients)]
        t1 = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join(timeout=600)
        out["concurrency"] = {
            "clients": clients, "requests": clients * per_client, "errors": len(errors),
            "p50_s": round(float(np.percentile(latencies, 50)), 2) if latencies else None,
            "p95_s": round(float(np.percentile(latencies, 95)), 2) if latencies else None,
            "wall_s": round(time.perf_counter() - t1, 1), "rss_mb_after": round(rss_mb(proc.pid), 1),
        }
        if classroom_size:
            shared = Path(__file__).resolve().parent.parent / "examples" / CLASSROOM_SOURCES[0]
            mixed = classroom(url, classroom_clips(wav.parent, classroom_size, 0), shared, set_name)
            distinct = classroom(url, classroom_clips(wav.parent, classroom_size, 1000), None, set_name)
            out["classroom"] = {"mixed": mixed, "distinct": distinct}
            out["classroom_mixed_p95_s"] = mixed["p95_s"]
            out["classroom_distinct_p95_s"] = distinct["p95_s"]
    return out


def live_figures(model_set, seconds: float = 8.0) -> dict:
    """The Live tab's handler on a simulated microphone, paced in real time.

    A real speech clip and a real drum clip, at 48 kHz in the 0.1 s chunks Gradio's microphone
    sends, go through the page's own handler (:func:`explainer.ui.live.live_update`), one chunk
    every 0.1 s of wall time. ``live_update_p95_ms`` is the handler's time per chunk;
    ``live_latency_p95_ms`` runs from a chunk's arrival to the end of the first redraw that holds
    all of its frames. The network and the browser's drawing are not in these figures.
    """
    import soundfile as sf
    import soxr

    from .live import SR, LiveListener, live_model
    from .ui.live import LivePage, live_update

    arch = live_model(model_set)
    if arch is None:
        return {}
    root = Path(__file__).resolve().parent.parent / "examples"
    parts = [sf.read(root / name, dtype="float32")[0] for name in ("speech_person.wav", "percussion_drums.wav")]
    clip = np.concatenate(parts * int(np.ceil(seconds / sum(len(x) / SR for x in parts))))[: int(seconds * SR)]
    pcm = (np.clip(soxr.resample(clip, SR, 48000), -1, 1) * 32767).astype(np.int16)
    step = 4800  # 0.1 s at 48 kHz
    page = LivePage(LiveListener(model_set, arch))
    costs, pending, latencies = [], [], []
    t0 = time.perf_counter()
    for i in range(0, pcm.size, step):
        arrive = t0 + i / 48000
        time.sleep(max(0.0, arrive - time.perf_counter()))
        arrive = time.perf_counter()
        page, picture, *_ = live_update((48000, pcm[i:i + step]), page, model_set.name, arch)
        done = time.perf_counter()
        costs.append(1000 * (done - arrive))
        pending.append((arrive, min(i + step, pcm.size) * SR // 48000))  # when, and up to which 16 kHz sample
        if isinstance(picture, np.ndarray):
            shown = page.listener.frames_done * page.listener._hop  # every frame centred before this is on screen
            latencies += [1000 * (done - when) for when, end in pending if end <= shown + page.listener._hop]
            pending = [(when, end) for when, end in pending if end > shown + page.listener._hop]
    return {"live_update_p95_ms": round(float(np.percentile(costs, 95)), 1),
            "live_update_max_ms": round(float(max(costs)), 1),
            "live_latency_p95_ms": round(float(np.percentile(latencies, 95)), 1) if latencies else None,
            "live_chunks": len(costs), "live_seconds": seconds}


CLASSROOM_SOURCES = ("speech_person.wav", "speech_room.wav", "music_song.wav", "percussion_drums.wav",
                     "percussion_claps.wav")


def classroom_clips(folder: Path, n: int, first: int = 0) -> list[Path]:
    """``n`` distinct real clips: the bundled real recordings, each cut at its own offset and gain
    (clips ``first`` to ``first + n - 1`` of one endless series, so two calls can share none)."""
    import soundfile as sf

    root = Path(__file__).resolve().parent.parent / "examples"
    out = []
    for k in range(first, first + n):
        wave, sr = sf.read(root / CLASSROOM_SOURCES[k % len(CLASSROOM_SOURCES)], dtype="float32")
        shift = (k // len(CLASSROOM_SOURCES)) * 1600  # 0.1 s steps: a different clip to every cache
        wave = np.roll(wave, shift) * (1.0 - 0.02 * (k // len(CLASSROOM_SOURCES)))
        path = folder / f"student_{k:02d}.wav"
        sf.write(path, wave, sr)
        out.append(path)
    return out


def classroom(url: str, clips: list[Path], shared: Path | None, set_name: str = "sound-types",
              timeout_s: float = 300.0) -> dict:
    """One classroom at once: every student a new client (a new session) sending one clip to ``/analyze``.

    With ``shared``, the first half of the students all send that one clip (a bundled example
    clicked by half the room) and the rest send ``clips``; otherwise each sends a clip of ``clips``.
    Returns the count, errors, p50 and p95 in seconds, and the wall time. Bounded: every client
    gives up after ``timeout_s``.
    """
    from gradio_client import Client, handle_file

    sends = [shared] * (len(clips) // 2) + clips[len(clips) // 2:] if shared else list(clips)
    latencies, errors, answered = [], [], []
    barrier = threading.Barrier(len(sends))

    def student(path: Path):
        try:
            c = Client(url, verbose=False)
            barrier.wait(timeout=timeout_s)
            t = time.perf_counter()
            _, report = c.predict(handle_file(str(path)), set_name, ["input_x_gradient", "gradcam"],
                                  api_name="/analyze")
            latencies.append(time.perf_counter() - t)
            if report.get("models"):
                answered.append(len(report["models"]))
        except Exception as e:  # counted, not raised: the figure is the error count
            errors.append(repr(e)[:200])

    threads = [threading.Thread(target=student, args=(p,), daemon=True) for p in sends]
    t0 = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=timeout_s)
    return {"clients": len(sends), "answered": len(answered), "models_each": sorted(set(answered)),
            "errors": len(errors), "error_examples": errors[:2],
            "p50_s": round(float(np.percentile(latencies, 50)), 2) if latencies else None,
            "p95_s": round(float(np.percentile(latencies, 95)), 2) if latencies else None,
            "wall_s": round(time.perf_counter() - t0, 1)}


def run(repeats: int = 5, analyses: int = 50, clients: int = 8, per_client: int = 3, server: bool = True) -> dict:
    """Measure every figure; returns the JSON object ``bench --json`` prints."""
    import soundfile as sf

    from .analysis import analyze
    from .attribution import integrated_gradients
    from .audio import load
    from .features import LfccGrid, Mel64
    from .pretrained import DEFAULT_SET, list_sets, load_set, untrained_set

    torch.set_num_threads(THREADS)
    samples = bench_clip()
    result: dict = {"threads": THREADS, "clip_s": BENCH_SECONDS, "repeats": repeats}
    ref = ASTReference().eval()
    ref_in = torch.randn(1, 1, 128, 1024)
    with torch.inference_mode():
        ref(ref_in)  # warm-up
        med, lo, hi = _median_spread(lambda: ref(ref_in), repeats)
    result["reference_s"] = round(med, 3)
    result["reference_spread_s"] = [round(lo, 3), round(hi, 3)]

    with tempfile.TemporaryDirectory(prefix="audio-explainer-bench-") as tmp:
        wav = Path(tmp) / "bench.wav"
        sf.write(wav, samples, 16000)
        clip = load(wav)
        model_set = load_set(DEFAULT_SET) if DEFAULT_SET in list_sets() else untrained_set()
        result["set"] = model_set.name
        # DESIGN section 6: features, six forwards with layer traces, saliency and Grad-CAM for all six;
        # the app shows this first and runs the deletion checks as a second step, timed separately
        analyze(clip, model_set, faithfulness=False)  # warm-up
        med, lo, hi = _median_spread(lambda: analyze(clip, model_set, faithfulness=False), repeats)
        stages = analyze(clip, model_set).timings_ms
        result["faithfulness_s"] = round(sum(v for k, v in stages.items() if k.startswith("faithfulness")) / 1000, 3)
        result["analysis_s"] = round(med, 3)
        result["analysis_spread_s"] = [round(lo, 3), round(hi, 3)]
        result["analysis_ratio"] = round(med / result["reference_s"], 3)
        result["analysis_stages_ms"] = {k: round(v, 1) for k, v in stages.items()}

        from .analysis import model_inputs
        from .models.fast import fast_copy, fast_input

        inputs = model_inputs(clip.waveform.view(1, 1, -1), model_set)
        per_model: dict[str, float] = {}
        steps_used: dict[str, int] = {}

        def all_ig(n_steps=32, times=per_model):
            for arch, model in model_set.models.items():
                t0 = time.perf_counter()
                _, info = integrated_gradients(fast_copy(model), fast_input(model, inputs[arch]), 0, n_steps=n_steps)
                times[arch] = round(time.perf_counter() - t0, 3)
                steps_used[arch] = info["steps"]

        med, lo, hi = _median_spread(all_ig, max(1, repeats // 2))
        result["integrated_gradients_s"] = round(med, 3)
        result["integrated_gradients_spread_s"] = [round(lo, 3), round(hi, 3)]
        result["integrated_gradients_ratio"] = round(med / result["reference_s"], 3)
        result["integrated_gradients_per_model_s"] = per_model
        # the app's Integrated Gradients: the fewest Gauss-Legendre steps whose completeness error is
        # within 5 % of f(x) - f(reference), so the cost follows the model and the clip
        adaptive_times: dict[str, float] = {}
        med, lo, hi = _median_spread(lambda: all_ig(None, adaptive_times), max(1, repeats // 2))
        result["integrated_gradients_adaptive_s"] = round(med, 3)
        result["integrated_gradients_adaptive_ratio"] = round(med / result["reference_s"], 3)
        result["integrated_gradients_adaptive_steps"] = dict(steps_used)
        result["integrated_gradients_adaptive_per_model_s"] = adaptive_times
        # the same comparison in work rather than seconds: it does not depend on the machine
        with torch.no_grad():
            result["reference_gflop"] = round(gflop(lambda: ref(ref_in)), 1)
        work = {arch: round(ig_gflop(model, inputs[arch]), 1) for arch, model in model_set.models.items()}
        result["integrated_gradients_gflop"] = round(sum(work.values()), 1)
        result["integrated_gradients_per_model_gflop"] = work
        result["integrated_gradients_work_ratio"] = round(sum(work.values()) / result["reference_gflop"], 3)

        wave = clip.waveform.view(1, 1, -1)
        mel, lfcc = Mel64(), LfccGrid()

        def features():
            with torch.inference_mode():
                mel(wave)
                lfcc(wave)

        features()
        med, lo, hi = _median_spread(features, repeats * 4)
        result["features_s"] = round(med, 5)
        result["features_realtime_factor"] = round(BENCH_SECONDS / med, 1)

        result.update(live_figures(model_set, seconds=4.0 if repeats <= 2 else 8.0))
        if server:
            result.update(_server_figures(wav, model_set.name, analyses, clients, per_client))
    result["budgets"] = {
        k: {"budget": f"{op} {limit}", "ok": (result[k] <= limit if op == "<=" else result[k] >= limit)}
        for k, (op, limit) in BUDGETS.items() if k in result
    }
    return result


def main(args) -> int:
    if getattr(args, "soak", False):
        return _soak_main(args)
    quick = getattr(args, "quick", False)
    repeats = 2 if quick else args.repeats
    if getattr(args, "own", False):  # only the training budgets of Your own sounds: minutes of their own
        from .transfer import own_figures

        result = own_figures()
        result["budgets"] = {k: {"budget": f"{op} {limit}", "ok": result[k] <= limit}
                             for k, (op, limit) in BUDGETS.items() if k in result}
    else:
        result = run(repeats=repeats, analyses=15 if quick else 50, per_client=2 if quick else 3)
    if args.json:
        print(json.dumps(result))
        return 0
    for key in ("reference_s", "analysis_s", "analysis_ratio", "integrated_gradients_s", "integrated_gradients_ratio",
                "integrated_gradients_adaptive_ratio", "integrated_gradients_adaptive_steps",
                "reference_gflop", "integrated_gradients_gflop", "integrated_gradients_work_ratio",
                "features_realtime_factor", "live_update_p95_ms", "live_latency_p95_ms", "cold_start_s",
                "import_torch_gradio_s", "cold_start_ratio", "rss_mb", "rss_growth_mb", "classroom_mixed_p95_s",
                "classroom_distinct_p95_s", "own_finetune_s", "own_scratch_s", "own_finetune_layers",
                "own_held_out_accuracy"):
        if key in result:
            verdict = result["budgets"].get(key, {})
            mark = "" if not verdict else ("  ok" if verdict["ok"] else "  OVER BUDGET") + f" ({verdict['budget']})"
            print(f"{key:28s} {result[key]}{mark}")
    if "concurrency" in result:
        print(f"{'concurrency':28s} {result['concurrency']}")
    return 0


def _soak_main(args) -> int:
    from . import soak

    result = soak.run(soak.SoakConfig(visitors=args.visitors, cache_mb=args.cache_mb))
    if args.json:
        print(json.dumps(result))
        return 0
    for key in ("visitors", "wall_s", "errors", "p95_s", "rss_warm_mb", "rss_peak_mb", "rss_after_mb",
                "rss_growth_per_100_sessions_mb"):
        verdict = result["budgets"].get(key, {})
        mark = "" if not verdict else ("  ok" if verdict["ok"] else "  OVER BUDGET") + f" ({verdict['budget']})"
        print(f"{key:32s} {result.get(key)}{mark}")
    for name, size in result["folders"].items():
        print(f"{'folder ' + name:32s} {size}")
    return 0
