"""Audio decoding on the committed clips (made by bench/make_audio_fixtures.py with PyAV encoders)."""
from __future__ import annotations

import io
import json
import os
import pickle
import wave
from pathlib import Path

import pytest

np = pytest.importorskip("numpy")
av = pytest.importorskip("av")

from speech.audio import SAMPLE_RATE, _decode_with, decode
from speech.base import AudioError

AUDIO = Path(__file__).parent / "fixtures" / "audio"
MANIFEST = json.loads((AUDIO / "manifest.json").read_text(encoding="utf-8"))
SPEECH_FILES = ["note_hengda.wav", "note_hengda.amr", "note_hengda.ogg", "note_hengda.mp3",
                "note_hengda.m4a", "note_hengda.awb", "note_hengda_dtx.amr", "note_hongyuan.amr", "name_kangbo.wav",
                "note_long.amr"]


def clip(name: str) -> bytes:
    return (AUDIO / name).read_bytes()


def wav_bytes(seconds: float, rate: int = 8000) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\0\0" * int(seconds * rate))
    return buf.getvalue()


@pytest.mark.parametrize("name", SPEECH_FILES)
def test_each_format_decodes_to_16k_mono_float(name: str) -> None:
    samples = decode(clip(name), name.rsplit(".", 1)[1])
    expected = MANIFEST[name.rsplit(".", 1)[0]]["duration_s"]
    assert samples.dtype == np.float32 and samples.ndim == 1
    assert abs(len(samples) / SAMPLE_RATE - expected) < 0.15
    assert float(np.abs(samples).max()) <= 1.0
    assert float(np.sqrt(np.mean(samples**2))) > 0.02  # speech, not silence


def test_silence_and_noise_decode() -> None:
    assert float(np.abs(decode(clip("silence.wav"), "wav")).max()) < 0.001
    assert float(np.abs(decode(clip("silence.amr"), "amr")).max()) < 0.01
    assert len(decode(clip("noise.ogg"), "ogg")) == 3 * SAMPLE_RATE


def test_dtx_amr_uses_the_opencore_fallback() -> None:
    data = clip("note_hengda_dtx.amr")
    samples = decode(data, "amr")
    assert abs(len(samples) / SAMPLE_RATE - MANIFEST["note_hengda_dtx"]["duration_s"]) < 0.15
    direct = _decode_with(av, data, "amr", 120.0, decoder="libopencore_amrnb")
    assert np.array_equal(samples, direct)


def test_dtx_amr_defeats_the_native_decoder() -> None:
    """Why the fallback exists; skipped if a future FFmpeg learns to decode DTX frames."""
    try:
        _decode_with(av, clip("note_hengda_dtx.amr"), "amr", 120.0, decoder=None)
    except av.FFmpegError:
        return
    pytest.skip("FFmpeg's native AMR-NB decoder handles DTX in this PyAV build")


def test_empty_audio() -> None:
    with pytest.raises(AudioError) as err:
        decode(b"", "amr")
    assert err.value.kind == "empty"
    assert "空" in err.value.user_message


@pytest.mark.parametrize("data", [
    os.urandom(4000),
    "这不是音频".encode() * 50,
    b"#!AMR\n",  # header only: no frames
    clip("note_hengda.amr")[:7],
    b"\x89PNG\r\n\x1a\n" + bytes(200),
], ids=["random", "text", "amr-header-only", "amr-truncated", "png"])
def test_broken_or_non_audio_bytes(data: bytes) -> None:
    with pytest.raises(AudioError) as err:
        decode(data, "amr")
    assert err.value.kind in {"unreadable", "empty"}
    assert err.value.user_message  # a Chinese chat reply
    assert str(err.value)  # English detail for the log


def test_too_long_is_rejected_with_the_limit_in_the_reply() -> None:
    with pytest.raises(AudioError) as err:
        decode(wav_bytes(5.0), "wav", max_duration_s=2)
    assert err.value.kind == "too_long"
    assert "2 秒" in err.value.user_message
    with pytest.raises(AudioError):
        decode(clip("note_long.amr"), "amr", max_duration_s=10)
    assert len(decode(wav_bytes(5.0), "wav", max_duration_s=6)) == 5 * SAMPLE_RATE


def test_audio_error_survives_pickling_for_process_workers() -> None:
    err = pickle.loads(pickle.dumps(AudioError("too_long", "audio is 200 s", 120)))
    assert (err.kind, err.detail, err.max_s) == ("too_long", "audio is 200 s", 120)
    assert "120 秒" in err.user_message
