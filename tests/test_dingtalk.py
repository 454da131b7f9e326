"""DingTalk stream channel against a local fake gateway (tests/servers.py) that the unmodified
dingtalk-stream client also connects to; frames and payloads from tests/builders.py."""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from bot.app import App, build_app
from bot.config import load_settings
from bot.dingtalk import DingtalkChannel, DingtalkError, to_incoming
from bot.types import IncomingMessage, Kind, Media, Peer, Reply
from store.models import FollowUp, InboxMessage
from tests import builders as b
from tests.conftest import NOW
from tests.fakes import FixedClock
from tests.servers import FakeDingtalk

NOTE = "今天去苏州恒达见了采购部王总，他们想换一批数控车床，预算大概八十万，周五前我把报价发给他。"
IDS = {"zhang": "staff-zhang", "li": "staff-li", "wang": "staff-wang"}
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def fake() -> Any:
    server = FakeDingtalk(b.CLIENT_ID, b.CLIENT_SECRET).start()
    yield server
    server.stop()


def run(coro: Any) -> Any:
    return asyncio.run(coro)


@dataclass
class Harness:
    app: App
    channel: DingtalkChannel
    fake: FakeDingtalk

    async def push(self, data: dict[str, Any], **kw: Any) -> dict[str, Any]:
        """Deliver a robot message and return the SDK's ack (the fake runs in its own thread)."""
        return await asyncio.to_thread(self.fake.push_bot_message, data, **kw)  # type: ignore[return-value]

    async def connected(self, count: int = 1) -> None:
        await asyncio.to_thread(self.fake.wait_connected, count)

    def followups(self) -> list[FollowUp]:
        return self.app.svc.db.call(lambda s: list(s.exec(select(FollowUp))))

    def inbox(self) -> list[InboxMessage]:
        return self.app.svc.db.call(lambda s: list(s.exec(select(InboxMessage))))


def make_channel(settings: Any, now: Any = time.time) -> DingtalkChannel:
    return DingtalkChannel(settings.dingtalk, backoff=(0.01, 0.1), retry_s=0, timeout_s=5, now=now)


@asynccontextmanager
async def harness(tmp_path: Path, fake: FakeDingtalk, seed: bool = True, now: Any = time.time,
                  ) -> AsyncIterator[Harness]:
    env = {"SALESBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'salesbot.db'}", **b.dingtalk_settings(fake.url)}
    settings = load_settings(env=env)
    app = build_app(settings, clock=FixedClock(NOW))
    if seed:
        b.seed_im_team(app, "dingtalk", IDS)
    channel = make_channel(settings, now)
    app.add_channel(channel)
    await app.start()
    try:
        h = Harness(app, channel, fake)
        await h.connected()
        yield h
    finally:
        await app.stop()


# ---------------------------------------------------------------- conversion


def test_conversion_of_robot_payloads() -> None:
    hook = "http://127.0.0.1:1/robot/sendBySession/x"
    text = to_incoming(b.ding_text("staff-zhang", "  帮助 ", webhook=hook, msg_id="m1"))
    assert text is not None and (text.kind, text.text, text.msg_id) == (Kind.TEXT, "帮助", "m1")
    assert text.sender == Peer("dingtalk", "staff-zhang", None)
    voice = to_incoming(b.ding_audio("staff-zhang", "DLCODE_VOICE_1", "明天去恒达", webhook=hook))
    assert voice is not None and voice.kind is Kind.VOICE
    assert voice.media == Media("DLCODE_VOICE_1", "amr") and voice.platform_transcript == "明天去恒达"
    pic = to_incoming(b.ding_picture("staff-zhang", webhook=hook))
    assert pic is not None and pic.kind is Kind.IMAGE
    group = to_incoming(b.ding_text("staff-li", "查 恒达", webhook=hook, conversation_type="2"))
    assert group is not None and group.sender.conversation_id is not None
    f = to_incoming(b.ding_message("staff-li", "file", {"content": {"downloadCode": "F", "fileName": "a.pdf"}},
                                   webhook=hook))
    assert f is not None and f.kind is Kind.FILE


# ---------------------------------------------------------------- end to end


def test_text_note_recorded_and_answered_via_session_webhook(tmp_path: Path, fake: FakeDingtalk) -> None:
    async def go() -> None:
        async with harness(tmp_path, fake) as h:
            ack = await h.push(b.ding_text("staff-zhang", NOTE, webhook=fake.session_webhook("s1")))
            assert ack["code"] == 200
            assert len(h.inbox()) == 1  # stored before the ack went out
            await h.app.dispatcher.drain()
            [fu] = h.followups()
            assert fu.source_key.startswith("dingtalk:")
            [(session, body)] = fake.webhook_posts
            assert session == "s1" and f"#{fu.id}" in json.dumps(body, ensure_ascii=False)
            assert fake.batch_sends == []
            assert fake.opens and "clientSecret" not in fake.opens[0]  # reached the configured endpoint
    run(go())


def test_redelivered_message_recorded_once(tmp_path: Path, fake: FakeDingtalk) -> None:
    async def go() -> None:
        async with harness(tmp_path, fake) as h:
            data = b.ding_text("staff-zhang", NOTE, webhook=fake.session_webhook(), msg_id="msgDUP1")
            for _ in range(3):  # DingTalk is reported to deliver the same msgId again ~60 s later
                assert (await h.push(data))["code"] == 200
            await h.app.dispatcher.drain()
            assert len(h.followups()) == 1 and len(h.inbox()) == 1
            assert len(fake.webhook_posts) == 1
    run(go())


def test_voice_reaches_submit_with_recognition_and_downloads(tmp_path: Path, fake: FakeDingtalk) -> None:
    async def go() -> None:
        got: list[IncomingMessage] = []

        async def submit(msg: IncomingMessage) -> bool:
            got.append(msg)
            return True

        async with harness(tmp_path, fake, seed=False) as h:
            await h.channel.stop()
            await h.channel.start(submit)
            await h.connected(2)
            ack = await h.push(b.ding_audio("staff-zhang", "DLCODE_VOICE_1", "今天拜访了恒达",
                                            webhook=fake.session_webhook()))
            assert ack["code"] == 200
            [msg] = got
            assert msg.kind is Kind.VOICE and msg.platform_transcript == "今天拜访了恒达"
            data = await h.channel.fetch_media(msg.media)  # type: ignore[arg-type]
            assert data == fake.files["DLCODE_VOICE_1"] and data.startswith(b"#!AMR\n")
            assert fake.downloads[-1] == {"downloadCode": "DLCODE_VOICE_1", "robotCode": b.CLIENT_ID}
            with pytest.raises(DingtalkError):
                await h.channel.fetch_media(Media("NOPE"))
    run(go())


def test_picture_gets_polite_reply(tmp_path: Path, fake: FakeDingtalk) -> None:
    async def go() -> None:
        async with harness(tmp_path, fake) as h:
            await h.push(b.ding_picture("staff-zhang", webhook=fake.session_webhook()))
            await h.app.dispatcher.drain()
            assert "图片" in fake.texts()[0]
    run(go())


def test_expired_or_failing_webhook_falls_back_to_batch_send(tmp_path: Path, fake: FakeDingtalk) -> None:
    async def go() -> None:
        async with harness(tmp_path, fake) as h:
            await h.push(b.ding_text("staff-zhang", "帮助", webhook=fake.session_webhook(), webhook_ttl_ms=30_000))
            await h.app.dispatcher.drain()  # webhook expires within the safety margin → robot API
            assert fake.webhook_posts == []
            [send] = fake.batch_sends
            assert send["userIds"] == ["staff-zhang"] and send["robotCode"] == b.CLIENT_ID
            assert send["msgKey"] in ("sampleText", "sampleMarkdown") and json.loads(send["msgParam"])

            fake.fail_next("webhook", "5xx")
            await h.push(b.ding_text("staff-li", "帮助", webhook=fake.session_webhook("s2")))
            await h.app.dispatcher.drain()
            assert fake.webhook_posts == [] and [s["userIds"] for s in fake.batch_sends][-1] == ["staff-li"]
            assert len(fake.batch_sends) == 2  # each reply delivered once
    run(go())


def test_proactive_send_fails_then_succeeds_delivered_once(tmp_path: Path, fake: FakeDingtalk) -> None:
    async def go() -> None:
        async with harness(tmp_path, fake, seed=False) as h:
            fake.fail_next("batch", "5xx", "5xx")
            await h.channel.send(Peer("dingtalk", "staff-zhang"), Reply("## 逾期提醒\n- 恒达 回款", markdown=True))
            [send] = fake.batch_sends
            assert send["msgKey"] == "sampleMarkdown"
            assert json.loads(send["msgParam"]) == {"title": "逾期提醒", "text": "## 逾期提醒\n- 恒达 回款"}
            fake.fail_next("batch", *["5xx"] * 10)
            with pytest.raises(DingtalkError):  # bounded: gives up instead of looping
                await h.channel.send(Peer("dingtalk", "staff-zhang"), Reply("送不出去"))
    run(go())


def test_stream_dropped_mid_conversation_reconnects_and_continues(tmp_path: Path, fake: FakeDingtalk) -> None:
    async def go() -> None:
        async with harness(tmp_path, fake) as h:
            ping = await asyncio.to_thread(fake.ping, "op-1")
            assert ping is not None and json.loads(ping["data"]) == {"opaque": "op-1"}
            await h.push(b.ding_text("staff-zhang", NOTE, webhook=fake.session_webhook()))
            await asyncio.to_thread(fake.drop)  # network cut, no close handshake
            await h.connected(2)
            await h.push(b.ding_text("staff-zhang", "今天去无锡宏远见了李工，下周三前发方案", webhook=fake.session_webhook()))
            await asyncio.to_thread(fake.disconnect)  # the gateway asks the client to go away
            await h.connected(3)
            await h.push(b.ding_text("staff-li", "帮助", webhook=fake.session_webhook("s3")))
            await h.app.dispatcher.drain()
            assert len(h.followups()) == 2 and len(h.inbox()) == 3
            assert len(fake.webhook_posts) == 3
            assert len(fake.opens) >= 3  # a fresh ticket per connection
    run(go())


def test_gateway_open_failures_back_off_then_connect(tmp_path: Path, fake: FakeDingtalk) -> None:
    fake.fail_next("open", "5xx", "5xx", "5xx")

    async def go() -> None:
        async with harness(tmp_path, fake, seed=False) as h:
            assert len(fake.opens) == 4 and h.channel.connected
    run(go())


def test_stop_is_prompt_and_clean(tmp_path: Path, fake: FakeDingtalk) -> None:
    async def go() -> None:
        async with harness(tmp_path, fake, seed=False) as h:
            pass
        assert not h.channel.connected and h.channel._runner is None
    run(go())


# ---------------------------------------------------------------- the unmodified SDK against the fake

STOCK_CLIENT = """
import dingtalk_stream
from dingtalk_stream import AckMessage

class Echo(dingtalk_stream.ChatbotHandler):
    async def process(self, callback):
        msg = dingtalk_stream.ChatbotMessage.from_dict(callback.data)
        print("GOT", msg.message_id, msg.text.content, flush=True)
        return AckMessage.STATUS_OK, "OK"

client = dingtalk_stream.DingTalkStreamClient(dingtalk_stream.Credential("{cid}", "{secret}"))
client.register_callback_handler(dingtalk_stream.ChatbotMessage.TOPIC, Echo())
client.start_forever()
"""


def test_unmodified_sdk_client_connects_to_fake_gateway(fake: FakeDingtalk) -> None:
    env = dict(os.environ, DINGTALK_OPENAPI_ENDPOINT=fake.url, PYTHONPATH=str(ROOT))
    code = STOCK_CLIENT.format(cid=b.CLIENT_ID, secret=b.CLIENT_SECRET)
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        fake.wait_connected(1)
        assert fake.opens[0]["subscriptions"] == [{"type": "CALLBACK", "topic": "/v1.0/im/bot/messages/get"}]
        ack = fake.push_bot_message(b.ding_text("staff-zhang", "你好", webhook=fake.session_webhook(), msg_id="mS"))
        assert ack is not None and ack["code"] == 200 and ack["headers"]["messageId"].startswith("msg-")
        assert proc.stdout is not None and proc.stdout.readline().strip() == "GOT mS 你好"
        ping = fake.ping("opaque-xyz")
        assert ping is not None and json.loads(ping["data"])["opaque"] == "opaque-xyz"
    finally:
        proc.kill()
        proc.wait(10)
