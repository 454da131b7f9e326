"""Platform audio (AMR-NB, AMR-WB, ogg/opus, mp3, m4a, wav ...) -> 16 kHz mono float32 for Whisper.

Decoding goes through PyAV's bundled FFmpeg, so no system ffmpeg is needed. WeCom AMR written
with silence suppression (DTX) makes FFmpeg's native AMR-NB decoder fail ("patches welcome");
PyAV also bundles libopencore_amrnb, which decodes it, so AMR-NB falls back to that decoder.
Length is checked while decoding, so an hour-long upload is rejected without decoding it all.
"""
from __future__ import annotations

import io
from collections.abc import Iterator

import numpy as np

from .base import AudioError

SAMPLE_RATE = 16000
DEFAULT_MAX_DURATION_S = 120.0
# Native FFmpeg decoder -> alternative bundled decoder to retry with when the native one fails.
FALLBACK_DECODERS = {"amrnb": "libopencore_amrnb", "amrwb": "libopencore_amrwb"}
# Demuxer to force when probing fails (e.g. a headerless stream); the hint comes from the channel.
FORMAT_HINTS = {"amr": "amr", "awb": "amr", "ogg": "ogg", "opus": "ogg", "oga": "ogg", "mp3": "mp3",
                "m4a": "mp4", "mp4": "mp4", "aac": "aac", "wav": "wav", "webm": "webm", "flac": "flac"}


def decode(data: bytes, fmt: str | None = None, max_duration_s: float = DEFAULT_MAX_DURATION_S) -> np.ndarray:
    """Decode audio bytes to 16 kHz mono float32 in [-1, 1]; AudioError if we cannot."""
    if not data:
        raise AudioError("empty", "zero-length audio")
    import av  # deferred: importing PyAV costs ~0.1 s, and text-only processes never need it

    try:
        return _decode_with(av, data, fmt, max_duration_s, decoder=None)
    except AudioError:
        raise
    except (av.FFmpegError, ValueError, IndexError) as exc:
        codec = _audio_codec_name(av, data, fmt)
        fallback = FALLBACK_DECODERS.get(codec or "")
        if fallback is None:
            raise AudioError("unreadable", f"cannot decode {fmt or 'audio'} ({codec or 'unknown codec'}): "
                             f"{type(exc).__name__}: {exc}") from exc
        try:
            return _decode_with(av, data, fmt, max_duration_s, decoder=fallback)
        except AudioError:
            raise
        except (av.FFmpegError, ValueError, IndexError) as exc2:
            raise AudioError("unreadable", f"cannot decode {codec} with {codec} or {fallback}: "
                             f"{type(exc2).__name__}: {exc2}") from exc2


def duration_s(samples: np.ndarray) -> float:
    return len(samples) / SAMPLE_RATE


def _open(av: object, data: bytes, fmt: str | None) -> object:
    """Probe the container; retry with the channel's format hint when probing alone fails."""
    try:
        return av.open(io.BytesIO(data), mode="r", metadata_errors="ignore")  # type: ignore[attr-defined]
    except av.FFmpegError:  # type: ignore[attr-defined]
        hint = FORMAT_HINTS.get((fmt or "").lower().lstrip("."))
        if hint is None:
            raise
        return av.open(io.BytesIO(data), mode="r", format=hint, metadata_errors="ignore")  # type: ignore[attr-defined]


def _audio_codec_name(av: object, data: bytes, fmt: str | None) -> str | None:
    try:
        with _open(av, data, fmt) as container:  # type: ignore[attr-defined]
            return container.streams.audio[0].codec_context.name if container.streams.audio else None
    except Exception:  # noqa: BLE001 - only used to choose a fallback
        return None


def _decode_with(av: object, data: bytes, fmt: str | None, max_duration_s: float, decoder: str | None) -> np.ndarray:
    max_samples = int(max_duration_s * SAMPLE_RATE)
    with _open(av, data, fmt) as container:  # type: ignore[attr-defined]
        if not container.streams.audio:
            raise AudioError("unreadable", f"no audio stream in {fmt or 'file'} "
                             f"(container {container.format.name})")
        stream = container.streams.audio[0]
        declared = float(stream.duration * stream.time_base) if stream.duration and stream.time_base else None
        if declared is None and container.duration:
            declared = container.duration / 1_000_000
        if declared is not None and declared > max_duration_s + 1.0:
            raise AudioError("too_long", f"audio is {declared:.1f} s, limit {max_duration_s:.0f} s", max_duration_s)
        resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)  # type: ignore[attr-defined]
        chunks: list[np.ndarray] = []
        total = 0
        for frame in _frames(av, container, stream, decoder):
            for out in resampler.resample(frame):
                arr = out.to_ndarray().reshape(-1)
                chunks.append(arr)
                total += arr.size
            if total > max_samples + SAMPLE_RATE // 2:  # half a second of slack for padding
                raise AudioError("too_long", f"audio longer than the {max_duration_s:.0f} s limit", max_duration_s)
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray().reshape(-1))
    if not chunks:
        raise AudioError("empty", f"no audio samples decoded from {fmt or 'file'}")
    samples = np.concatenate(chunks).astype(np.float32) / 32768.0
    if samples.size == 0:
        raise AudioError("empty", f"no audio samples decoded from {fmt or 'file'}")
    return samples


def _frames(av: object, container: object, stream: object, decoder: str | None) -> Iterator[object]:
    """Frames of the first audio stream, through the native decoder or a named one."""
    if decoder is None:
        yield from container.decode(stream)  # type: ignore[attr-defined]
        return
    ctx = av.CodecContext.create(decoder, "r")  # type: ignore[attr-defined]
    src = stream.codec_context  # type: ignore[attr-defined]
    ctx.sample_rate = src.sample_rate
    ctx.layout = src.layout
    for packet in container.demux(stream):  # type: ignore[attr-defined]
        yield from ctx.decode(packet if packet.size else None)
