"""Voice notes through the console channel with a scripted transcriber (the real model is
exercised in test_speech_whisper.py and test_voice_real.py)."""
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlmodel import select

from bot.console import console_message
from speech import AudioError
from store.models import FollowUp, MediaBlob
from tests.conftest import NOW, Bot, make_app
from tests.fakes import FakeTranscriber, FixedClock

SPOKEN = "今天去苏州恒达见了采购部王总预算大概八十万周五前我把报价发给他"


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    p = tmp_path / "note.amr"
    p.write_bytes(b"#!AMR\n" + bytes(range(256)) * 4)
    return p


def test_voice_note_is_transcribed_then_recorded_like_text(bot: Bot, clip: Path) -> None:
    fake = FakeTranscriber(SPOKEN)
    bot.app.svc.speech = fake
    reply = bot.say("zhang", f"/voice {clip}")
    lines = reply.splitlines()
    assert lines[0] == "正在识别…"
    assert "🎙 识别内容：" + SPOKEN in reply and "已记录 #1 · 苏州恒达精密机械有限公司" in reply
    assert "80万" in reply
    [(audio, fmt, hotwords)] = fake.calls
    assert audio == clip.read_bytes() and fmt == "amr"
    assert "苏州恒达精密机械有限公司" in hotwords and "康博生物医疗科技(上海)有限公司" not in hotwords  # own CRM only
    fu = bot.db(lambda s: s.exec(select(FollowUp)).one())
    assert fu.transcript == SPOKEN and fu.audio["model"] == "fake-whisper" and fu.audio["duration_s"] == 4.2
    blob = bot.db(lambda s: s.exec(select(MediaBlob)).one())
    assert blob.data == clip.read_bytes()


def test_full_queue_answers_then_records(bot: Bot, clip: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("handlers.followup.QUEUE_POLL_SECONDS", 0.01)
    bot.app.svc.speech = FakeTranscriber(SPOKEN, full_times=3)
    reply = bot.say("zhang", f"/voice {clip}")
    assert reply.count("排队中，稍后回复") == 1 and "已记录 #1" in reply


def test_bad_audio_and_silence_get_clear_replies(bot: Bot, clip: Path) -> None:
    bot.app.svc.speech = FakeTranscriber("", error=AudioError("unreadable", "invalid data"))
    assert "无法解析" in bot.say("zhang", f"/voice {clip}")
    bot.app.svc.speech = FakeTranscriber("   ")
    assert "没有听到说话内容" in bot.say("zhang", f"/voice {clip}")
    assert "下载失败" in bot.say("zhang", f"/voice {clip}.missing")
    assert bot.db(lambda s: list(s.exec(select(FollowUp)))) == []
    from store.models import InboxMessage

    rows = bot.db(lambda s: list(s.exec(select(InboxMessage))))
    assert [r.status for r in rows] == ["failed"] * 3 and "unreadable" in rows[0].error


def test_restart_resumes_voice_from_stored_audio(bot: Bot, clip: Path) -> None:
    """The audio is kept once fetched: a restart transcribes it even if the source is gone."""
    app1 = bot.app
    app1.svc.speech = FakeTranscriber(SPOKEN, error=RuntimeError("process killed mid-transcription"))

    async def crash() -> None:
        await app1.dispatcher.submit(console_message("zhang", f"/voice {clip}", "v-1", NOW))
        await app1.dispatcher.drain()

    asyncio.run(crash())
    assert bot.db(lambda s: s.exec(select(MediaBlob)).one()).size == clip.stat().st_size
    clip.unlink()
    with app1.svc.db.session() as s:  # what a crash leaves: the inbox row still pending, no answer
        from store.models import InboxMessage, OutgoingReply

        row = s.exec(select(InboxMessage)).one()
        row.status = "pending"
        s.add(row)
        for answer in s.exec(select(OutgoingReply)):
            s.delete(answer)
    app2, channel2 = make_app(bot.path, FixedClock(NOW))
    app2.svc.speech = FakeTranscriber(SPOKEN)

    async def restart() -> None:
        await app2.start()
        await app2.dispatcher.drain()

    asyncio.run(restart())
    assert "已记录 #1" in channel2.last()
    assert len(bot.db(lambda s: list(s.exec(select(FollowUp))))) == 1
    # And a redelivery of the same voice message stores nothing new.
    asyncio.run(app2.dispatcher.process(1, console_message("zhang", "/voice gone.amr", "v-1", NOW)))
    assert len(bot.db(lambda s: list(s.exec(select(FollowUp))))) == 1
    app2.svc.db.dispose()


def test_the_prompt_names_the_customers_a_rep_is_likely_to_talk_about_not_the_last_edited(
        bot: Bot, clip: Path) -> None:
    """A 60-customer book whose recently edited rows say nothing about today: the customer with a
    to-do due today, the one of the rep's last note and the one with the newest deal activity are
    in the Whisper prompt; the 57 others compete for what is left by newest interaction."""
    from datetime import timedelta
    from decimal import Decimal

    from handlers.crm import normalized_name
    from store import repos
    from store.models import ActionItem, Customer, Deal

    today = NOW.date()

    def seed(s):  # type: ignore[no-untyped-def]
        ids = [repos.add_customer(s, f"常州第{n}精工机械有限公司", normalized_name(f"常州第{n}精工机械有限公司"), 2).id
               for n in range(60)]
        for n, cid in enumerate(ids):  # edited in order: the last rows are the "most recent"
            c = s.get(Customer, cid)
            c.updated_at = NOW - timedelta(minutes=60 - n)
            c.last_touch_at = NOW - timedelta(days=40 + n)
        s.add(ActionItem(assignee_id=2, customer_id=ids[0], text="送样品", due=today, owner_kind="self"))
        s.add(Deal(customer_id=ids[1], owner_id=2, title="d", stage="quote", amount=Decimal(1),
                   last_activity_at=NOW - timedelta(hours=1), created_at=NOW))
        return ids

    ids = bot.db(seed)
    fake = FakeTranscriber("今天去常州第二精工开会")
    bot.app.svc.speech = fake
    bot.say("zhang", f"/voice {clip}")
    [(_, _, hotwords)] = fake.calls
    from speech.whisper import hotword_names as prompt_names

    prompt = prompt_names(hotwords)  # what the Whisper prompt takes (short forms), within budget
    assert len(prompt) <= 30 and "第0精工机械" in prompt and "第1精工机械" in prompt
    assert prompt.index("第0精工机械") < prompt.index("第1精工机械")  # due today first
    assert "第59精工机械" not in prompt  # edited last, but the longest silent
    assert "常州第59精工机械有限公司" in hotwords and len(hotwords) == 62  # correction sees the whole book
    latest = bot.db(lambda s: repos.hotword_names(s, repos.find_user(s, "zhang"), today))
    assert latest[0] == "常州第0精工机械有限公司" and len(ids) == 60


def test_an_unlinked_voice_note_offers_the_customers_it_may_have_misheard(bot: Bot, clip: Path) -> None:
    """Heard 鸿达 where the book has 恒达 (hong/heng): the note is not linked, and instead of a
    dead end the rep is asked which customer it was, with 新建客户 as the way out."""
    fake = FakeTranscriber("今天去鸿达见了王总，下周三前把报价发给他")
    bot.app.svc.speech = fake
    reply = bot.say("zhang", f"/voice {clip}")
    assert "未关联客户" in reply and "你说的是哪一家？" in reply
    assert "1) 苏州恒达精密机械有限公司" in reply and "新建客户" in reply
    bot.say("zhang", "#1 1")  # the rep picks the first
    assert bot.db(lambda s: s.exec(select(FollowUp)).one()).customer_id == 1


def test_a_voice_note_naming_one_of_two_same_sounding_customers_asks_which(bot: Bot, clip: Path) -> None:
    """鸿泰 and 宏泰 sound the same: a transcript that writes one of them settles nothing, so the rep
    is asked; a typed note that names one is taken as written."""
    from handlers.crm import normalized_name
    from store import repos

    def add(s):  # type: ignore[no-untyped-def]
        zhang = repos.find_user(s, "zhang")
        for name in ("杭州鸿泰包装材料有限公司", "杭州宏泰五金制品有限公司"):
            repos.add_customer(s, name, normalized_name(name), zhang.id, "杭州")

    bot.db(add)
    bot.app.svc.speech = FakeTranscriber("今天去鸿泰见了采购，下周三前把报价发给他")
    reply = bot.say("zhang", f"/voice {clip}")
    assert "未关联客户" in reply and "你说的是哪一家？" in reply, reply
    assert "1) 杭州鸿泰包装材料有限公司" in reply and "2) 杭州宏泰五金制品有限公司" in reply
    bot.say("zhang", "#1 2")  # it was the other one
    linked = bot.db(lambda s: s.exec(select(FollowUp)).one()).customer_id
    assert linked == bot.db(lambda s: repos.customers_named(s, ["杭州宏泰五金制品有限公司"])[0].id)
    typed = bot.say("zhang", "今天去鸿泰见了采购，下周三前把报价发给他")
    assert "已记录 #2 · 杭州鸿泰包装材料有限公司" in typed and "你说的是哪一家？" not in typed
    bot.app.svc.speech = FakeTranscriber("今天去杭州鸿泰包装见了采购")  # said with its trade: no doubt
    said = bot.say("zhang", f"/voice {clip}", msg_id="voice-2")
    assert "已记录 #3 · 杭州鸿泰包装材料有限公司" in said and "你说的是哪一家？" not in said, said


def test_a_voice_note_with_no_customer_heard_says_how_to_link_or_create_one(bot: Bot, clip: Path) -> None:
    """Nothing in the book sounds like what was heard: the reply still says how to link it."""
    bot.app.svc.speech = FakeTranscriber("今天下午见了采购，下周三前把报价发给他")
    reply = bot.say("zhang", f"/voice {clip}")
    assert "未关联客户" in reply and "没听出是哪家客户" in reply and "新建客户 <名称>" in reply, reply
    typed = bot.say("zhang", "今天下午见了采购，下周三前把报价发给他")
    assert "没听出" not in typed
