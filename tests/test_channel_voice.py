"""A real voice note through each IM channel, end to end.

The platform delivers a voice message (WeCom: encrypted callback with a MediaId; DingTalk: an
`audio` robot message with a downloadCode and DingTalk's own `recognition`), the channel fetches
the AMR from the local fake platform (tests/servers.py), the bundled faster-whisper base model
transcribes it (as in test_voice_real.py), and the note lands on the 恒达 customer. The rep sees
"正在识别…" first and then the record with its 确认 / 修改 / 撤销 card.
"""
from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from store.models import MediaBlob
from tests import builders as b
from tests.conftest import NOW
from tests.servers import FakeDingtalk, FakeWecom
from tests.test_dingtalk import CARD_TEMPLATE
from tests.test_dingtalk import harness as dingtalk_harness
from tests.test_wecom import harness as wecom_harness

CLIP = Path(__file__).parent / "fixtures" / "audio" / "note_hengda.amr"  # "今天去恒达见了王总，下周三前把报价发给他。"
CUSTOMER = "苏州恒达精密机械有限公司"


class _Shared:
    """The module's real pool lent to one app: App.stop() closes its speech pool, not this one."""

    def __init__(self, pool: Any) -> None:
        self._pool = pool

    async def transcribe(self, audio: bytes, fmt: str | None, hotwords: Any = ()) -> Any:
        return await self._pool.transcribe(audio, fmt, hotwords)

    @property
    def queued(self) -> int:
        return int(getattr(self._pool, "queued", 0))


@pytest.fixture(scope="module")
def real_pool():  # type: ignore[no-untyped-def]
    from bot.config import load_settings
    from speech import TranscriptionPool

    p = TranscriptionPool.from_settings(load_settings(env={"SALESBOT_SPEECH_WORKERS": "1"}).speech)
    yield p
    p.shutdown()


@pytest.fixture
def pool(real_pool: Any) -> _Shared:
    return _Shared(real_pool)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_wecom_voice_note_end_to_end(tmp_path: Path, pool: Any) -> None:  # type: ignore[no-untyped-def]
    fake = FakeWecom(b.CORP_ID, b.SECRET, b.AGENT_ID).start()
    fake.media["MEDIA_HENGDA"] = CLIP.read_bytes()

    async def go() -> None:
        async with wecom_harness(tmp_path, fake) as h:
            h.app.svc.speech = pool
            fields = dict(b.voice_fields("ZhangWei", "MEDIA_HENGDA"), CreateTime=int(NOW.timestamp()))
            assert await h.post(b.encrypt_callback(fields)) == (200, "")  # stored, then acknowledged
            await h.drain()
            [fu] = h.followups()
            assert fu.customer_id == 1 and fu.source_key.startswith("wecom:")
            assert fu.transcript and "恒达" in fu.raw_text and fu.audio["model"] and fu.audio["duration_s"] > 3
            blob = h.app.svc.db.call(lambda s: s.exec(select(MediaBlob)).one())
            assert blob.data == CLIP.read_bytes()  # fetched once through media/get, kept

            sent = fake.sent
            assert sent[0]["msgtype"] == "text" and sent[0]["text"]["content"] == "正在识别…"
            everything = "\n".join(fake.texts())
            assert f"已记录 #{fu.id} · {CUSTOMER}" in everything and "1月14日(周三)" in everything
            [card] = [x["template_card"] for x in sent if x["msgtype"] == "template_card"]
            assert [x["key"] for x in card["button_list"]] == [f"confirm:{fu.id}", f"edit:{fu.id}", f"undo:{fu.id}"]
            assert sent[-1]["msgtype"] == "template_card" and all(x["touser"] == "ZhangWei" for x in sent)

    try:
        run(go())
    finally:
        fake.stop()


def test_dingtalk_voice_note_end_to_end(tmp_path: Path, pool: Any) -> None:  # type: ignore[no-untyped-def]
    fake = FakeDingtalk(b.CLIENT_ID, b.CLIENT_SECRET).start()
    fake.files["DLCODE_HENGDA"] = CLIP.read_bytes()
    recognition = "今天去恒达见了王总下周三前把报价发给他"  # DingTalk's own ASR, kept alongside

    async def go() -> None:
        async with dingtalk_harness(tmp_path, fake, now=NOW.timestamp, card_template=CARD_TEMPLATE) as h:
            h.app.svc.speech = pool
            data = b.ding_audio("staff-zhang", "DLCODE_HENGDA", recognition, webhook=fake.session_webhook("s1"),
                                created_ms=int(NOW.timestamp() * 1000))
            ack = await h.push(data)
            assert ack["code"] == 200 and len(h.inbox()) == 1
            await h.app.dispatcher.drain()
            [fu] = h.followups()
            assert fu.customer_id == 1 and fu.source_key.startswith("dingtalk:")
            assert fu.transcript and fu.audio["platform_transcript"] == recognition and fu.audio["model"]
            assert fake.downloads == [{"downloadCode": "DLCODE_HENGDA", "robotCode": b.CLIENT_ID}]

            [(session, first)] = fake.webhook_posts  # "正在识别…" through the session webhook …
            assert session == "s1" and first["text"]["content"] == "正在识别…"
            [card] = fake.card_sends  # … then the record as an interactive card
            params = card["cardData"]["cardParamMap"]
            assert f"已记录 #{fu.id} · {CUSTOMER}" in params["content"] and "1月14日(周三)" in params["content"]
            assert [x["key"] for x in json.loads(params["buttons"])] == [
                f"confirm:{fu.id}", f"edit:{fu.id}", f"undo:{fu.id}"]

    try:
        run(go())
    finally:
        fake.stop()
