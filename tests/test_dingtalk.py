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

from bot import metrics
from bot.app import App, build_app
from bot.config import load_settings
from bot.dingtalk import (
    CARD_TOPIC,
    TEXT_LIMIT,
    DingtalkChannel,
    DingtalkError,
    card_press_to_incoming,
    peer_limits,
    press_key,
    to_incoming,
)
from bot.shared import LocalLimiter
from bot.types import Button, IncomingMessage, Kind, Media, Peer, Reply
from store.models import FollowUp, InboxMessage
from tests import builders as b
from tests.conftest import NOW
from tests.fakes import FixedClock
from tests.servers import WEBHOOK_BODY_LIMIT, FakeDingtalk, tiny_png

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
        return await asyncio.to_thread(self.fake.push_bot_message, data, **kw)  # type: ignore[arg-type]

    async def connected(self, count: int = 1) -> None:
        await asyncio.to_thread(self.fake.wait_connected, count)

    def followups(self) -> list[FollowUp]:
        return self.app.svc.db.call(lambda s: list(s.exec(select(FollowUp))))

    def inbox(self) -> list[InboxMessage]:
        return self.app.svc.db.call(lambda s: list(s.exec(select(InboxMessage))))


CARD_TEMPLATE = "salesbot-record.schema"  # what FakeDingtalk knows as an imported template


def make_channel(settings: Any, now: Any = time.time, card_template: str = "") -> DingtalkChannel:
    return DingtalkChannel(settings.dingtalk, backoff=(0.01, 0.1), retry_s=0, timeout_s=5, now=now,
                           card_template_id=card_template, throttle_s=0.01)


@asynccontextmanager
async def harness(tmp_path: Path, fake: FakeDingtalk, seed: bool = True, now: Any = time.time,
                  card_template: str = "") -> AsyncIterator[Harness]:
    env = {"SALESBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'salesbot.db'}", **b.dingtalk_settings(fake.url)}
    settings = load_settings(env=env)
    app = build_app(settings, clock=FixedClock(NOW))
    if seed:
        b.seed_im_team(app, "dingtalk", IDS)
    channel = make_channel(settings, now, card_template)
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
            assert fake.batch_sends == [] and fake.card_sends == []  # no card template: no card …
            last = body["text"]["content"].splitlines()[-2:]  # … but the commands to type instead
            assert "撤销" in last[0] and last[1] == "可直接回复：「确认」（作用于你最近一条记录）"
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


def test_rate_limit_refusals_are_sent_again_and_nothing_is_lost(tmp_path: Path, fake: FakeDingtalk) -> None:
    """DingTalk refuses over its limits in two ways: the gateway's 403 QpsLimit, and batchSend's
    HTTP 200 naming the person flow-controlled (nothing delivered). Each is a short wait and
    another try; a person DingTalk calls invalid is a failure the outbox keeps, not a success."""
    async def go() -> None:
        async with harness(tmp_path, fake, seed=False) as h:
            before = metrics.PUSHES_THROTTLED.value(channel="dingtalk")
            fake.fail_next("batch", "qps", "flow", "qps")
            await h.channel.send(Peer("dingtalk", "staff-zhang"), Reply("回款提醒：恒达"))
            assert [json.loads(s["msgParam"])["content"] for s in fake.batch_sends] == ["回款提醒：恒达"]
            assert metrics.PUSHES_THROTTLED.value(channel="dingtalk") == before + 3
            fake.fail_next("batch", *["flow"] * 4)  # as many as the channel tries
            with pytest.raises(DingtalkError, match="rate limit"):  # bounded, and reported as not sent
                await h.channel.send(Peer("dingtalk", "staff-zhang"), Reply("一直被限流"))
            fake.fail_next("batch", "invalid")
            with pytest.raises(DingtalkError, match="invalid"):
                await h.channel.send(Peer("dingtalk", "staff-gone"), Reply("已离职的人"))
            assert len(fake.batch_sends) == 1
    run(go())


def test_sends_to_one_person_wait_for_the_per_person_limit(tmp_path: Path, fake: FakeDingtalk) -> None:
    """Over dingtalk.sends_per_peer_per_minute a message waits for its slot instead of going out
    (DingTalk would flow-control it); the others are not held up."""
    async def go() -> list[float]:
        clock = [5_000.0]
        waits: list[float] = []

        async def advance(s: float) -> None:
            waits.append(s)
            clock[0] += s
            await asyncio.sleep(0)

        env = {"SALESBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
               **b.dingtalk_settings(fake.url, sends_per_peer_per_minute="3")}
        ding = load_settings(env=env).dingtalk
        channel = DingtalkChannel(ding, retry_s=0, sleep=advance, card_template_id="",
                                  limiter=LocalLimiter(peer_limits(ding), clock=lambda: clock[0]))
        for i in range(4):
            await channel.send(Peer("dingtalk", "staff-zhang"), Reply(f"提醒{i}"))
        await channel.send(Peer("dingtalk", "staff-li"), Reply("给李娜"))
        await channel.stop()
        return waits

    waits = run(go())
    assert len(fake.batch_sends) == 5 and len(waits) == 1 and 60 <= waits[0] <= 62  # the 4th waited a minute


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


# ---------------------------------------------------------------- long replies


LONG_MD = "## 本周商机\n" + "\n".join(f"- 第{i}条 **商机** 进展：客户已确认预算和交期，下周安排技术交流" for i in range(150))


def test_long_replies_are_split_on_both_paths(tmp_path: Path, fake: FakeDingtalk) -> None:
    async def go() -> None:
        async with harness(tmp_path, fake) as h:
            await h.push(b.ding_text("staff-zhang", "帮助", webhook=fake.session_webhook("s1")))
            await h.app.dispatcher.drain()
            fake.webhook_posts.clear()
            assert len(LONG_MD.encode()) > 3 * TEXT_LIMIT

            await h.channel.send(Peer("dingtalk", "staff-zhang"), Reply(LONG_MD, markdown=True))
            posts = [body for _, body in fake.webhook_posts]
            assert len(posts) >= 4 and fake.batch_sends == []  # all accepted by the session webhook
            texts = [p["markdown"]["text"] for p in posts]
            assert all(len(t.encode()) <= TEXT_LIMIT for t in texts)
            assert "\n".join(texts) == LONG_MD  # cut at line ends only
            assert [p["markdown"]["title"] for p in posts][:2] == [f"本周商机（1/{len(posts)}）", f"本周商机（2/{len(posts)}）"]

            plain = "客户需求说明：" + "设备需要二十四小时连续运转，" * 400  # one line, no line breaks
            await h.channel.send(Peer("dingtalk", "staff-li"), Reply(plain))  # no webhook → robot API
            sends = fake.batch_sends
            assert len(sends) > 1 and {x["msgKey"] for x in sends} == {"sampleText"}
            parts = [json.loads(x["msgParam"])["content"] for x in sends]
            assert all(len(p.encode()) <= TEXT_LIMIT for p in parts) and "".join(parts) == plain
            assert all(p.endswith("，") for p in parts[:-1])  # a long line is cut after punctuation
    run(go())


def test_fake_webhook_enforces_dingtalks_body_limit(fake: FakeDingtalk) -> None:
    async def go() -> None:
        import aiohttp

        async with aiohttp.ClientSession() as s:
            body = {"msgtype": "text", "text": {"content": "长" * (WEBHOOK_BODY_LIMIT // 3)}}
            async with s.post(fake.session_webhook(), data=json.dumps(body, ensure_ascii=False)) as r:
                assert (await r.json())["errcode"] == 460101
    run(go())


def test_pictures_are_left_out(tmp_path: Path, fake: FakeDingtalk) -> None:
    async def go() -> None:
        async with harness(tmp_path, fake, seed=False) as h:
            await h.channel.send(Peer("dingtalk", "staff-zhang"),
                                 Reply("## 本周漏斗\n| 阶段 | 数量 |\n| --- | --- |\n| 报价 | 3 |", markdown=True,
                                       image=tiny_png()))
            [send] = fake.batch_sends
            assert json.loads(send["msgParam"])["text"].startswith("## 本周漏斗")  # the table only
    run(go())


# ---------------------------------------------------------------- interactive cards


def _card_labels(card: dict[str, Any]) -> list[tuple[str, str]]:
    return [(x["text"], x["key"]) for x in json.loads(card["cardData"]["cardParamMap"]["buttons"])]


def test_note_card_press_undo_is_acted_on_once(tmp_path: Path, fake: FakeDingtalk) -> None:
    async def go() -> None:
        async with harness(tmp_path, fake, card_template=CARD_TEMPLATE) as h:
            assert fake.subscribed(CARD_TOPIC) and fake.subscribed("/v1.0/im/bot/messages/get")
            await h.push(b.ding_text("staff-zhang", NOTE, webhook=fake.session_webhook("s1")))
            await h.app.dispatcher.drain()
            [fu] = h.followups()
            [card] = fake.card_sends
            assert fake.webhook_posts == [] and fake.batch_sends == []  # the card is the answer
            assert card["cardTemplateId"] == CARD_TEMPLATE and card["callbackType"] == "STREAM"
            assert card["openSpaceId"] == "dtv1.card//IM_ROBOT.staff-zhang"
            assert card["imRobotOpenDeliverModel"] == {"spaceType": "IM_ROBOT", "robotCode": b.CLIENT_ID}
            params = card["cardData"]["cardParamMap"]
            assert params["title"].startswith(f"已记录 #{fu.id}") and "恒达" in params["title"] + params["content"]
            assert _card_labels(card) == [("确认", f"confirm:{fu.id}"), ("修改", f"edit:{fu.id}"),
                                          ("撤销", f"undo:{fu.id}")]
            track = card["outTrackId"]

            ack = await asyncio.to_thread(fake.press, track, "staff-zhang", "撤销", message_id="press-1")
            assert ack is not None and ack["code"] == 200 and ack["headers"]["messageId"] == "press-1"
            assert json.loads(ack["data"]) == {"response": {}}
            for mid in ("press-1", None):  # redelivered as is, and again under a new messageId
                ack = await asyncio.to_thread(fake.press, track, "staff-zhang", "撤销", message_id=mid)
                assert ack is not None and ack["code"] == 200
            await h.app.dispatcher.drain()

            fu2 = h.followups()[0]
            assert fu2.status == "revoked"
            presses = [r for r in h.inbox() if r.kind == "event"]
            assert len(presses) == 1  # one press stored, the redeliveries dropped
            assert (presses[0].payload["event"], presses[0].payload["text"]) == ("button", f"undo:{fu.id}")
            answers = [t for t in fake.texts() if "撤销" in t]
            assert len(answers) == 1 and answers[0].startswith(f"已撤销记录 #{fu.id}")
            [update] = fake.card_updates
            assert update["outTrackId"] == track and update["cardUpdateOptions"] == {"updateCardDataByKey": True}
            status = fake.cards[track]["params"]["status"]
            assert status.startswith(f"已撤销记录 #{fu.id}") and fake.cards[track]["params"]["buttons"]
    run(go())


def test_edit_press_keeps_the_dingtalk_card_as_it_is(tmp_path: Path, fake: FakeDingtalk) -> None:
    """修改 changes nothing yet: the card is not updated (its buttons stay); the answer says how."""
    async def go() -> None:
        async with harness(tmp_path, fake, card_template=CARD_TEMPLATE) as h:
            await h.push(b.ding_text("staff-zhang", NOTE, webhook=fake.session_webhook("s1")))
            await h.app.dispatcher.drain()
            [fu] = h.followups()
            [card] = fake.card_sends
            ack = await asyncio.to_thread(fake.press, card["outTrackId"], "staff-zhang", "修改", message_id="p-e")
            assert ack is not None and ack["code"] == 200
            await h.app.dispatcher.drain()
            assert fake.card_updates == []
            assert any(f"要修改记录 #{fu.id}" in t for t in fake.texts())
    run(go())


def test_fixed_button_template_and_group_card(tmp_path: Path, fake: FakeDingtalk) -> None:
    """A template whose buttons only send an action: the record comes from the outTrackId."""
    async def go() -> None:
        async with harness(tmp_path, fake, card_template=CARD_TEMPLATE) as h:
            await h.push(b.ding_text("staff-zhang", NOTE, webhook=fake.session_webhook("g1"),
                                     conversation_type="2"))
            await h.app.dispatcher.drain()
            [fu] = h.followups()
            [card] = fake.card_sends
            conv = card["openSpaceId"].removeprefix("dtv1.card//IM_GROUP.")
            assert conv.startswith("cid") and card["imGroupOpenDeliverModel"] == {"robotCode": b.CLIENT_ID}
            data = {"outTrackId": card["outTrackId"], "userId": "staff-zhang", "corpId": "dingcorp",
                    "spaceType": "IM_GROUP", "spaceId": conv, "type": "actionCallback",
                    "content": json.dumps({"cardPrivateData": {"actionIds": ["confirm"], "params": {}}})}
            assert press_key(data) == f"confirm:{fu.id}"
            ack = await asyncio.to_thread(fake.push_card_callback, data)
            assert ack is not None and ack["code"] == 200
            await h.app.dispatcher.drain()
            assert h.followups()[0].confirmed
            [(session, body)] = fake.webhook_posts  # the answer goes to the group, @ the presser
            assert session == "g1" and body["at"]["atUserIds"] == ["staff-zhang"]
            assert body["text"]["content"] == f"已确认记录 #{fu.id}。"
            assert fake.cards[card["outTrackId"]]["params"]["status"] == f"已确认记录 #{fu.id}。"
    run(go())


def test_card_refused_falls_back_to_commands_in_text(tmp_path: Path, fake: FakeDingtalk) -> None:
    async def go() -> None:
        async with harness(tmp_path, fake, card_template="not-imported.schema") as h:
            await h.push(b.ding_text("staff-zhang", NOTE, webhook=fake.session_webhook("s1")))
            await h.app.dispatcher.drain()
            [fu] = h.followups()
            assert fake.card_sends == []
            [(_, body)] = fake.webhook_posts
            text = body["text"]["content"]
            assert f"#{fu.id}" in text and text.endswith("\n可直接回复：「确认」（作用于你最近一条记录）")
            bare = h.channel._hint(Reply("已记录 #3", buttons=(Button("confirm:3", "确认"), Button("edit:3", "修改"),
                                                              Button("undo:3", "撤销"))), "已记录 #3")
            assert bare == "可直接回复：「确认」「改 客户／日期／金额 <新值>」「撤销」（作用于你最近一条记录）"
    run(go())


def test_card_press_conversion() -> None:
    content = json.dumps({"cardPrivateData": {"actionIds": ["button_2"], "params": {"key": "undo:12"}}})
    d = {"outTrackId": "followup_12-ab12", "userId": "staff-zhang", "content": content, "spaceType": "IM_ROBOT"}
    msg = card_press_to_incoming(d, born_ms=1_700_000_000_000)
    assert msg is not None and (msg.kind, msg.event, msg.text) == (Kind.EVENT, "button", "undo:12")
    assert msg.sender == Peer("dingtalk", "staff-zhang") and msg.msg_id == "card:followup_12-ab12:staff-zhang:undo:12"
    assert msg.received_at.year == 2023
    assert card_press_to_incoming(dict(d, content="not json")) is None
    assert card_press_to_incoming(dict(d, userId="")) is None
    assert press_key(dict(d, content=json.dumps({"cardPrivateData": {"params": {"action": "edit"}}}))) == "edit:12"


# ---------------------------------------------------------------- the unmodified SDK against the fake

STOCK_CLIENT = """
import dingtalk_stream
from dingtalk_stream import AckMessage

class Echo(dingtalk_stream.ChatbotHandler):
    async def process(self, callback):
        msg = dingtalk_stream.ChatbotMessage.from_dict(callback.data)
        print("GOT", msg.message_id, msg.text.content, flush=True)
        return AckMessage.STATUS_OK, "OK"

class Card(dingtalk_stream.CallbackHandler):
    async def process(self, callback):
        msg = dingtalk_stream.CardCallbackMessage.from_dict(callback.data)
        print("CARD", msg.card_instance_id, msg.user_id, msg.content["cardPrivateData"]["params"]["key"],
              flush=True)
        return AckMessage.STATUS_OK, {{}}

client = dingtalk_stream.DingTalkStreamClient(dingtalk_stream.Credential("{cid}", "{secret}"))
client.register_callback_handler(dingtalk_stream.ChatbotMessage.TOPIC, Echo())
client.register_callback_handler(dingtalk_stream.CallbackHandler.TOPIC_CARD_CALLBACK, Card())
client.start_forever()
"""


def test_unmodified_sdk_client_connects_to_fake_gateway(fake: FakeDingtalk) -> None:
    env = dict(os.environ, DINGTALK_OPENAPI_ENDPOINT=fake.url, PYTHONPATH=str(ROOT))
    code = STOCK_CLIENT.format(cid=b.CLIENT_ID, secret=b.CLIENT_SECRET)
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        fake.wait_connected(1)
        assert fake.opens[0]["subscriptions"] == [{"type": "CALLBACK", "topic": "/v1.0/im/bot/messages/get"},
                                                  {"type": "CALLBACK", "topic": CARD_TOPIC}]
        ack = fake.push_bot_message(b.ding_text("staff-zhang", "你好", webhook=fake.session_webhook(), msg_id="mS"))
        assert ack is not None and ack["code"] == 200 and ack["headers"]["messageId"].startswith("msg-")
        assert proc.stdout is not None and proc.stdout.readline().strip() == "GOT mS 你好"
        fake.cards["followup_7-ab"] = {"params": {"buttons": json.dumps([{"text": "撤销", "key": "undo:7"}])},
                                       "space_type": "IM_ROBOT", "space_id": "staff-zhang"}
        ack = fake.press("followup_7-ab", "staff-zhang", "撤销")  # the fake's press parses in the stock SDK
        assert ack is not None and ack["code"] == 200 and json.loads(ack["data"]) == {"response": {}}
        assert proc.stdout.readline().strip() == "CARD followup_7-ab staff-zhang undo:7"
        ping = fake.ping("opaque-xyz")
        assert ping is not None and json.loads(ping["data"])["opaque"] == "opaque-xyz"
    finally:
        proc.kill()
        proc.wait(10)


def test_a_question_on_a_card_is_answered_by_its_button(tmp_path: Path, fake: FakeDingtalk) -> None:
    """Issue 12 on DingTalk: "新商机？" comes with a button, and pressing it answers that record."""
    from decimal import Decimal

    from store import repos
    from store.models import Deal

    async def go() -> None:
        async with harness(tmp_path, fake, card_template=CARD_TEMPLATE) as h:
            h.app.svc.db.call(lambda s: s.add(Deal(customer_id=1, owner_id=2, title="一期", stage="won",
                                                   status="won", amount=Decimal(900_000), amount_kind="order")))
            await h.push(b.ding_text("staff-zhang", "苏州恒达王总说三期还想追加8台，预算大概三十万",
                                     webhook=fake.session_webhook("s1")))
            await h.app.dispatcher.drain()
            [fu] = h.followups()
            [card] = fake.card_sends
            assert _card_labels(card)[0] == ("是，新建商机", f"answer:{fu.id}:1")
            assert "新商机吗" in card["cardData"]["cardParamMap"]["content"]
            assert h.app.svc.db.call(repos.open_deal_for, 1) is None  # nothing invented before the answer
            ack = await asyncio.to_thread(fake.press, card["outTrackId"], "staff-zhang", "是，新建商机",
                                          message_id="press-q")
            assert ack is not None and ack["code"] == 200
            await h.app.dispatcher.drain()
            deal = h.app.svc.db.call(repos.open_deal_for, 1)
            assert deal is not None and deal.amount == 300_000
    run(go())
