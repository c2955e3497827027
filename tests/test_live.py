"""Live listening: a stream of microphone chunks gives the same frames and answers as one pass, only ever
adds frames, and the page's handler keeps its work per update bounded."""

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr
import torch
from helpers import tone_and_noise

from explainer import live, pretrained
from explainer.features import build_front_end

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "pretrained" / "sound-types"


@pytest.fixture(scope="module")
def untrained():
    return pretrained.untrained_set()


def _chunks(wave16k: np.ndarray, rate: int = 48000, seconds: float = 0.1):
    """A 16 kHz clip as a browser microphone sends it: int16 chunks of ``seconds`` at ``rate``."""
    up = soxr.resample(wave16k.astype(np.float32), 16000, rate) if rate != 16000 else wave16k
    pcm = (np.clip(up, -1, 1) * 32767).astype(np.int16)
    step = int(rate * seconds)
    return [(rate, pcm[i:i + step]) for i in range(0, pcm.size, step)]


def _listener(model_set):
    arch = live.live_model(model_set)
    assert arch is not None
    return live.LiveListener(model_set, arch)


def test_the_strip_equals_one_pass_over_the_same_frames(untrained):
    wave = tone_and_noise(3.0, seed=3)[0, 0].numpy()
    wave[16000:24000] *= 0.05  # a quiet stretch, so the answers change over time
    lis = _listener(untrained)
    for rate, data in _chunks(wave, rate=16000, seconds=0.13):  # chunks that cut frames in two
        lis.feed(rate, data)
    assert lis.frames_done == lis.mel.shape[1] == lis.frame_probs.shape[1] > 250
    model = untrained.models[lis.arch]
    with torch.inference_mode():
        once = torch.softmax(model.frame_logits(torch.from_numpy(lis.mel)[None]), dim=1)[0].numpy()
    np.testing.assert_allclose(lis.frame_probs, once, atol=2e-5)  # each frame judged once, as a whole pass would
    assert len(set(lis.frame_winners())) >= 1 and lis.now() is not None


def test_live_log_mel_is_the_front_ends_own(untrained):
    # loudest at the start, so the stream's running floor equals the clip's own from the first chunk on
    wave = tone_and_noise(2.0, seed=1)[0, 0].numpy()
    wave[:3000] *= 2.5  # still below full scale: the stream clips at 1
    lis = _listener(untrained)
    chunks = _chunks(wave, rate=16000, seconds=0.5)
    for rate, data in chunks:
        lis.feed(rate, data)
    heard = np.concatenate([d for _, d in chunks]).astype(np.float32) / 32768  # the int16 samples, as heard
    fe = untrained.models[lis.arch].front_end
    with torch.inference_mode():
        full = fe(torch.from_numpy(heard).view(1, 1, -1))[0].numpy()  # (64, frames)
    n = lis.mel.shape[1]
    assert full.shape[1] - n == 2  # the last frames wait for the audio under their window
    # the first two frames of a whole clip are mirrored at its start; a stream starts from silence
    np.testing.assert_allclose(lis.mel[:, 2:], full[:, 2:n], atol=1e-4)


def test_chunks_at_any_rate_arrive_at_16_khz(untrained):
    lis = _listener(untrained)
    wave = tone_and_noise(2.0)[0, 0].numpy()
    for rate, data in _chunks(wave, rate=44100, seconds=0.1):
        lis.feed(rate, np.stack([data, data], axis=1))  # stereo, as some browsers send
    assert abs(lis.received - 32000) < 400  # the resampler holds back a few ms, never drops or doubles
    with pytest.raises(ValueError, match="positive sample rate"):
        lis.feed(0, np.zeros(100, np.int16))


def test_work_per_update_is_bounded(untrained):
    lis = _listener(untrained)
    wave = tone_and_noise(12.0, seed=2)[0, 0].numpy()
    chunks = _chunks(wave, rate=16000, seconds=0.25)
    for rate, data in chunks:
        update = lis.feed(rate, data)
        assert update.new_frames <= 0.25 * 100 + 2  # only the new frames, never the whole past
    assert lis.mel.shape[1] == lis.keep_frames == 800  # the past beyond the window is let go
    assert lis.samples.size <= (live.WINDOW_S + live.ANSWER_S) * 16000 + 512
    assert set(lis.answers) == set(untrained.models) and lis.curve is not None
    assert lis.curve.size == int(live.ANSWER_S * 100) + 1


def test_the_page_handler_redraws_four_times_a_second(untrained, monkeypatch):
    from explainer.ui import live as page

    monkeypatch.setattr(page, "get_set", lambda name: untrained)
    state, drawn = None, 0
    wave = tone_and_noise(3.0)[0, 0].numpy()
    for chunk in _chunks(wave):  # 0.1 s chunks, as Gradio's microphone sends them
        state, picture, cards, curve, status = page.live_update(chunk, state, "untrained", None)
        if isinstance(picture, np.ndarray):
            drawn += 1
            assert picture.ndim == 3 and picture.shape[2] == 3 and picture.dtype == np.uint8
            assert "hears" in status
    assert 10 <= drawn <= 13  # 3 s every 0.25 s
    audio, tabs = page.live_explain(state, 2.0)
    assert audio[0] == 16000 and abs(audio[1].size - 32000) < 400 and audio[1].dtype == np.int16
    import gradio as gr

    with pytest.raises(gr.Error, match="Nothing heard yet"):
        page.live_explain(None, 2.0)


def _complete_shipped_set() -> bool:
    card = SHIPPED / "card.json"
    if not card.is_file():
        return False
    entries = json.loads(card.read_text()).get("models", {})
    return all((SHIPPED / e.get("file", "")).is_file() for e in entries.values())


@pytest.mark.weights
@pytest.mark.skipif(not _complete_shipped_set(), reason="the shipped set is not installed")
def test_a_live_stream_hears_speech_then_drums():
    model_set = pretrained.load_set()
    lis = _listener(model_set)
    speech, _ = sf.read(ROOT / "examples" / "speech_person.wav", dtype="float32")
    drums, _ = sf.read(ROOT / "examples" / "percussion_drums.wav", dtype="float32")
    heard = {}
    for name, clip in (("speech", speech), ("percussion", drums)):
        start = lis.frame_probs.shape[1]
        for rate, data in _chunks(clip):
            lis.feed(rate, data)
        winners = lis.frame_winners()[start:]
        heard[name] = winners.count(name) / len(winners)
        assert lis.now(1.0)[0] == name, (name, lis.now(1.0))
    assert heard["speech"] > 0.6 and heard["percussion"] > 0.6, heard
