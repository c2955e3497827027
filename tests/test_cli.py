"""``python -m explainer analyze``: the documented JSON schema, and one clear line for bad input."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from explainer.models import list_models

ROOT = Path(__file__).resolve().parent.parent
ARCHS = list_models()  # their order is checked in test_models


def run_cli(args, tiny_set: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "EXPLAINER_PRETRAINED_DIR": str(tiny_set.parent)}
    return subprocess.run([sys.executable, "-m", "explainer", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_analyze_json_schema(tiny_set, wav_file):
    out = run_cli(["analyze", str(wav_file), "--set", "tiny", "--methods", "saliency,gradcam", "--json"], tiny_set)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert set(report) >= {"clip", "set", "classes", "models", "timings_ms"}
    assert report["set"] == "tiny" and report["classes"] == ["beep", "hiss", "hum"]
    clip = report["clip"]
    assert clip["sample_rate"] == 16000 and clip["source_sample_rate"] == 16000
    assert clip["duration_s"] == pytest.approx(2.0, abs=1e-3) and clip["warnings"] == []
    assert list(report["models"]) == ARCHS
    n_steps = 32000 // 160 + 1
    for arch, m in report["models"].items():
        assert m["top"] in report["classes"]
        assert sum(m["probabilities"].values()) == pytest.approx(1.0, abs=1e-3)
        assert m["probabilities"][m["top"]] == max(m["probabilities"].values())
        assert m["layers"] and m["layers"][-1]["name"] == "head", arch
        for layer in m["layers"]:
            assert {"name", "type", "shape", "params", "receptive_field_ms"} <= set(layer)
        assert set(m["attributions"]) == {"saliency", "gradcam"}
        for a in m["attributions"].values():
            assert a["time_step_s"] == 0.01 and len(a["time_curve"]) == n_steps
            assert max(a["time_curve"]) == pytest.approx(1.0)
    tcn_layers = {layer["name"]: layer for layer in report["models"]["tcn"]["layers"]}
    assert tcn_layers["head"]["receptive_field_ms"] == pytest.approx(1265.0)
    assert len(report["models"]["tcn"]["frame_top"]) == n_steps
    assert report["timings_ms"]["total"] > 0


@pytest.mark.slow
def test_analyze_without_methods_uses_the_contribution_default(tiny_set, wav_file):
    out = run_cli(["analyze", str(wav_file), "--set", "tiny", "--json"], tiny_set)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["methods"][0] == "input_x_gradient" and 0.0 <= report["sounding_share"] <= 1.0
    for m in report["models"].values():
        primary = m["attributions"]["input_x_gradient"]
        assert 0.0 <= primary["on_sound"] <= 1.0
        assert len(primary["curves"]["deletion"]["most"]) == len(primary["curves"]["fractions"]) == 6
        assert isinstance(primary["curves"]["beats_least"], bool)


@pytest.mark.slow
def test_analyze_summary_names_every_model(tiny_set, wav_file):
    out = run_cli(["analyze", str(wav_file), "--set", "tiny", "--methods", "saliency"], tiny_set)
    assert out.returncode == 0, out.stderr
    for arch in ARCHS:
        assert arch in out.stdout


BAD_INPUT = {  # case: what the one line must say
    "text": "looks like a text file", "empty": "The file is empty", "missing": "No file was found",
    "png": "looks like a PNG image", "method": "unknown method(s) ['lime']", "set": "No model set named 'no-such-set'",
    "escape": "is not a valid model-set name",
}


@pytest.mark.parametrize("case", BAD_INPUT)
def test_bad_input_exits_2_with_one_line(case, tiny_set, tmp_path, wav_file):
    path, extra = wav_file, []
    if case == "text":
        path = tmp_path / "notes.wav"
        path.write_text("these are my lecture notes, not audio\n" * 20)
    elif case == "empty":
        path = tmp_path / "empty.wav"
        path.write_bytes(b"")
    elif case == "missing":
        path = tmp_path / "nope.wav"
    elif case == "png":
        path = tmp_path / "photo.wav"
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    elif case == "method":
        extra = ["--methods", "lime"]
    elif case == "set":
        extra = ["--set", "no-such-set"]
    elif case == "escape":
        extra = ["--set", "../../etc"]
    out = run_cli(["analyze", str(path), "--json", *extra], tiny_set)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and BAD_INPUT[case] in lines[0], lines
    assert "Traceback" not in out.stderr and out.stdout == ""
