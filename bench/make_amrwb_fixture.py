"""Write tests/fixtures/audio/note_hengda.awb: the committed WAV clip as AMR-WB (12.65 kbit/s).

Neither PyAV nor Debian's ffmpeg ships an AMR-WB encoder, but Debian packages VisualOn's
(libvo-amrwbenc0, the encoder Android used); this calls it through ctypes, frame by frame, and
writes the RFC 4867 storage format ("#!AMR-WB\\n" + frames). Run once, commit the output:

    apt-get install -y libvo-amrwbenc0
    .venv/bin/python bench/make_amrwb_fixture.py
"""
from __future__ import annotations

import ctypes
import wave
from pathlib import Path

AUDIO = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "audio"
FRAME = 320  # 20 ms at 16 kHz
MODE_12_65 = 2  # AMR-WB mode index: 2 = 12.65 kbit/s, the usual rate for voice messages


def encode(pcm: bytes, mode: int = MODE_12_65) -> bytes:
    lib = ctypes.CDLL("libvo-amrwbenc.so.0")
    lib.E_IF_init.restype = ctypes.c_void_p
    lib.E_IF_encode.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(ctypes.c_short),
                                ctypes.POINTER(ctypes.c_ubyte), ctypes.c_int]
    lib.E_IF_exit.argtypes = [ctypes.c_void_p]
    state = lib.E_IF_init()
    out = bytearray(b"#!AMR-WB\n")
    serial = (ctypes.c_ubyte * 64)()
    step = FRAME * 2
    pcm += b"\0" * (-len(pcm) % step)
    try:
        for off in range(0, len(pcm), step):
            frame = (ctypes.c_short * FRAME).from_buffer_copy(pcm[off:off + step])
            n = lib.E_IF_encode(state, mode, frame, serial, 0)
            out += bytes(serial[:n])
    finally:
        lib.E_IF_exit(state)
    return bytes(out)


def main() -> None:
    with wave.open(str(AUDIO / "note_hengda.wav"), "rb") as w:
        assert w.getframerate() == 16000 and w.getnchannels() == 1 and w.getsampwidth() == 2
        pcm = w.readframes(w.getnframes())
    data = encode(pcm)
    (AUDIO / "note_hengda.awb").write_bytes(data)
    print(f"note_hengda.awb: {len(data)} bytes")


if __name__ == "__main__":
    main()
