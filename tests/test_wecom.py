"""WeCom channel: official crypto vectors, the callback route, and end-to-end flows against
a local fake of the WeCom API (tests/servers.py) with callbacks encrypted as WeCom does."""
from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestClient, TestServer
from sqlmodel import select
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException

from bot import metrics
from bot.app import App, build_app
from bot.config import load_settings
from bot.shared import LocalLimiter
from bot.textsplit import split_bytes
from bot.types import Button, IncomingMessage, Kind, Media, Peer, Reply
from bot.wecom import (
    CallbackVerifier,
    WecomChannel,
    WecomError,
    render,
    to_incoming,
)
from extraction import holidays
from handlers import texts
from store.models import FollowUp, InboxMessage
from tests import builders as b
from tests.conftest import NOW
from tests.fakes import FixedClock
from tests.servers import FakeWecom, await_until, tiny_png

NOTE = "今天去苏州恒达见了采购部王总，他们想换一批数控车床，预算大概八十万，周五前我把报价发给他。"
IDS = {"zhang": "ZhangWei", "li": "LiNa", "wang": "WangJL"}
ROOT = Path(__file__).resolve().parent.parent

# ---------------------------------------------------------------- official test vectors
# Copied from ../shared/PROTOCOLS.md A3 (WeCom doc 90968 samples, sbzhu/weworkapi_python
# callback/Sample.py, wechatpy tests/test_crypto.py @ v1.8.18). Each row: token, key, receiveid.
OFFICIAL = ("QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wx5823bf96d3bd56c7")
SBZHU = ("hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo", "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt", "ww1436e0e65a779aee")
WECHATPY = ("123456", "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR", "wx49f0ab532d5d035a")

GET_VECTORS = [
    (OFFICIAL, "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3", "1409659589", "263014780",
     "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==",
     "1616140317555161061"),
    (SBZHU, "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb", "1476416373", "47744683",
     "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA==",
     "1288432023552776189"),
    (WECHATPY, "dd6b9c95b495b3f7e2901bfbc76c664930ffdb96", "1411443780", "437374425",
     "4ByGGj+sVCYcvGeQYhaKIk1o0pQRNbRjxybjTGblXrBaXlTXeOo1+bXFXDQQb1o6co6Yh9Bv41n7hOchLF6p+Q==",
     "5927782489442352469"),
]
POST_VECTORS = [
    (OFFICIAL, "477715d11cdb4164915debcba66cb864d751f3e6", "1409659813", "1372623149",
     ("RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg"
      "3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+k"
      "DZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6ti"
      "WSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p"
      "8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q=="),
     {"FromUserName": "mycreate", "Content": "hello", "MsgId": "4561255354251345929", "AgentID": "218"}),
    (SBZHU, "0c3914025cb4b4d68103f6bfc8db550f79dcf48e", "1476422779", "1597212914",
     ("Kl7kjoSf6DMD1zh7rtrHjFaDapSCkaOnwu3bqLc5tAybhhMl9pFeK8NslNPVdMwmBQTNoW4mY7AIjeLvEl3NyeTkAgGzBhzTtRLN"
      "shw2AEew+kkYcD+Fq72Kt00fT0WnN87hGrW8SqGc+NcT3mu87Ha3dz1pSDi6GaUA6A0sqfde0VJPQbZ9U+3JWcoD4Z5jaU0y9GSh"
      "010wsHF8KZD24YhmZH4ch4Ka7ilEbjbfvhKkNL65HHL0J6EYJIZUC2pFrdkJ7MhmEbU2qARR4iQHE7wy24qy0cRX3Mfp6iELcDNf"
      "SsPGjUQVDGxQDCWjayJOpcwocugux082f49HKYg84EpHSGXAyh+/oxwaWbvL6aSDPOYuPDGOCI8jmnKiypE+"),
     {"FromUserName": "ChenJiaShun", "Content": "你好", "MsgId": "1456453720", "AgentID": "1000002"}),
    (WECHATPY, "74d92dfeb87ba7c714f89d98870ae5eb62dff26d", "1411525903", "461056294",
     ("RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6IHCrsTyeDXzF6Bv"
      "283dGymzxh6ydJRvZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTdaXpXaG4+BiYyolBug/gYNx410cvk"
      "KR2/nPwBiT+P4hIiOAQqGp/TywZBtDh1yCF2KOd0gpiMZ5jSw3e29mTvmUHzkVQiMS6td7vXUaWOMZnYZlF3So2SjHnwh4jYFxdg"
      "pkHHqIrH/54SNdshoQgWYEvccTKe7FS709/5t6NMxuGhcUGAPOQipvWTT4dShyqio7mlsl5noTrb++x6En749zCpQVhDpbV6GDnT"
      "bcX2e8K9QaNWHp91eBdCRxthuL0="),
     {"FromUserName": "messense", "Content": "test"}),
]


@pytest.mark.parametrize("keys,sig,ts,nonce,echostr,plain", GET_VECTORS)
def test_official_get_vectors(keys: tuple[str, str, str], sig: str, ts: str, nonce: str, echostr: str,
                              plain: str) -> None:
    verifier = CallbackVerifier(*keys, window_s=0)
    assert verifier.echo({"msg_signature": sig, "timestamp": ts, "nonce": nonce, "echostr": echostr}) == plain


def test_wechatpy_vector_wrong_nonce_fails() -> None:
    _, sig, ts, _, echostr, _ = GET_VECTORS[2]
    with pytest.raises(InvalidSignatureException):
        WeChatCrypto(*WECHATPY).check_signature(sig, ts, "437374424", echostr)


@pytest.mark.parametrize("keys,sig,ts,nonce,encrypt,expect", POST_VECTORS)
def test_official_post_vectors(keys: tuple[str, str, str], sig: str, ts: str, nonce: str, encrypt: str,
                               expect: dict[str, str]) -> None:
    verifier = CallbackVerifier(*keys, window_s=0)
    body = f"<xml><ToUserName><![CDATA[{keys[2]}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    d = verifier.message({"msg_signature": sig, "timestamp": ts, "nonce": nonce}, body.encode())
    for k, v in expect.items():
        assert d[k] == v


def test_wechatpy_encrypt_vector() -> None:
    """wechatpy's own encrypt test (random fixed to 1234567890123456) gives the expected signature."""
    from wechatpy.enterprise import crypto as ecrypto

    class FixedRandom(ecrypto.PrpCrypto):
        def get_random_string(self) -> str:  # type: ignore[override]
            return "1234567890123456"

    reply = ("<xml>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[test]]></Content>\n"
             "<FromUserName><![CDATA[wx49f0ab532d5d035a]]></FromUserName>\n<ToUserName><![CDATA[messense]]>"
             "</ToUserName>\n<AgentID>1</AgentID>\n<CreateTime>1411525903</CreateTime>\n</xml>")
    out = WeChatCrypto(*WECHATPY)._encrypt_message(reply, "461056294", "1411525903", FixedRandom)
    assert "<MsgSignature><![CDATA[407518b7649e86ef23978113f92d27afa9296533]]></MsgSignature>" in out


def test_official_vector_tampered_signature_is_rejected() -> None:
    keys, sig, ts, nonce, encrypt, _ = POST_VECTORS[0]
    verifier = CallbackVerifier(*keys, window_s=0)
    body = f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>".encode()
    from bot.wecom import Rejected

    with pytest.raises(Rejected) as err:
        verifier.message({"msg_signature": "0" + sig[1:], "timestamp": ts, "nonce": nonce}, body)
    assert err.value.status == 403


# ---------------------------------------------------------------- conversion and rendering


def test_builder_roundtrip_and_conversion() -> None:
    verifier = CallbackVerifier(b.TOKEN, b.AES_KEY, b.CORP_ID)
    cb = b.encrypt_callback(b.voice_fields("ZhangWei", "MEDIA_VOICE_1", msg_id=42))
    msg = to_incoming(verifier.message(cb.query, cb.body))
    assert msg is not None and msg.kind is Kind.VOICE and msg.msg_id == "42"
    assert msg.media == Media("MEDIA_VOICE_1", "amr") and msg.sender == Peer("wecom", "ZhangWei")

    enter = to_incoming(b.event_fields("ZhangWei", "enter_agent", at=1700000000))
    assert enter is not None and enter.kind is Kind.EVENT and enter.event == "enter"
    press = to_incoming(b.card_event_fields("ZhangWei", "confirm:12", "followup_12-ab", "rc1", at=1700000000))
    assert press is not None and press.event == "button" and press.text == "confirm:12"
    other = to_incoming(b.card_event_fields("ZhangWei", "undo:12", "followup_12-ab", "rc2", at=1700000000))
    assert other is not None and other.msg_id != press.msg_id  # same sender and second, other button
    assert to_incoming(b.event_fields("ZhangWei", "subscribe")) is None
    image = to_incoming(b.image_fields("ZhangWei"))
    assert image is not None and image.kind is Kind.IMAGE


def test_render_card_and_long_markdown() -> None:
    buttons = (Button("confirm:12", "确认"), Button("edit:12", "修改"), Button("undo:12", "撤销"))
    [card] = render(Reply("已记录 #12\n客户：恒达", buttons=buttons, ref="followup:12"))
    tc = card["template_card"]
    assert card["msgtype"] == "template_card" and tc["card_type"] == "button_interaction"
    assert [x["key"] for x in tc["button_list"]] == ["confirm:12", "edit:12", "undo:12"]
    assert tc["main_title"]["title"] == "已记录 #12" and tc["sub_title_text"] == "客户：恒达"
    assert tc["task_id"].startswith("followup_12-")

    long_body = "已记录 #12\n" + "\n".join(f"第{i}行：客户需求和下一步计划" for i in range(30))
    parts = render(Reply(long_body, buttons=buttons))
    assert [p["msgtype"] for p in parts] == ["text", "template_card"]
    assert parts[0]["text"]["content"] == long_body

    md = "\n".join(f"- 第{i}条 **商机** 进展说明：客户已确认预算和时间" for i in range(200))
    chunks = render(Reply(md, markdown=True))
    assert len(chunks) > 1
    assert all(len(c["markdown"]["content"].encode()) <= 2048 for c in chunks)
    assert "\n".join(c["markdown"]["content"] for c in chunks) == md
    assert all(len(c.encode()) <= 2048 for c in split_bytes("长" * 5000, 2048))


# ---------------------------------------------------------------- harness


@dataclass
class Harness:
    app: App
    channel: WecomChannel
    client: TestClient
    fake: FakeWecom

    async def post(self, cb: b.Callback) -> tuple[int, str]:
        r = await self.client.post(cb.path(), data=cb.body, headers={"Content-Type": "text/xml"})
        return r.status, await r.text()

    async def drain(self) -> None:
        await self.app.dispatcher.drain()

    def followups(self) -> list[FollowUp]:
        return self.app.svc.db.call(lambda s: list(s.exec(select(FollowUp))))

    def inbox(self) -> list[InboxMessage]:
        return self.app.svc.db.call(lambda s: list(s.exec(select(InboxMessage))))


def make_wecom_app(db_path: Path, fake: FakeWecom) -> tuple[App, WecomChannel]:
    env = {"SALESBOT_DATABASE_URL": f"sqlite:///{db_path}", **b.wecom_settings(fake.url)}
    settings = load_settings(env=env)
    app = build_app(settings, clock=FixedClock(NOW))

    async def no_sleep(_: float) -> None:
        await asyncio.sleep(0)

    channel = WecomChannel(settings.wecom, sleep=no_sleep)
    channel.api.sleep = no_sleep
    app.add_channel(channel)
    return app, channel


@asynccontextmanager
async def harness(tmp_path: Path, fake: FakeWecom, seed: bool = True) -> AsyncIterator[Harness]:
    app, channel = make_wecom_app(tmp_path / "salesbot.db", fake)
    if seed:
        b.seed_im_team(app, "wecom", IDS)
    web_app = web.Application()
    channel.install(web_app)
    await app.start()
    async with TestClient(TestServer(web_app)) as client:
        try:
            yield Harness(app, channel, client, fake)
        finally:
            await app.stop()


@pytest.fixture
def fake() -> Any:
    server = FakeWecom(b.CORP_ID, b.SECRET, b.AGENT_ID).start()
    yield server
    server.stop()


def run(coro: Any) -> Any:
    return asyncio.run(coro)


# ---------------------------------------------------------------- callback route


def test_url_verification_get(tmp_path: Path, fake: FakeWecom) -> None:
    async def go() -> None:
        async with harness(tmp_path, fake, seed=False) as h:
            r = await h.client.get("/wecom/callback", params=b.echo_query("8712345678901234567"))
            assert r.status == 200 and await r.text() == "8712345678901234567"
            bad = b.echo_query("1", token="other")
            r = await h.client.get("/wecom/callback", params=bad)
            assert r.status == 403
    run(go())


def test_text_note_recorded_and_confirmed_with_card(tmp_path: Path, fake: FakeWecom) -> None:
    async def go() -> None:
        async with harness(tmp_path, fake) as h:
            status, body = await h.post(b.encrypt_callback(b.text_fields("ZhangWei", NOTE)))
            assert (status, body) == (200, "")  # acknowledged with an empty body …
            assert len(h.inbox()) == 1  # … after the message was stored
            await h.drain()
            [fu] = h.followups()
            assert fu.source_key.startswith("wecom:")
            sent = fake.sent
            assert all(s["touser"] == "ZhangWei" and s["agentid"] == b.AGENT_ID for s in sent)
            cards = [s for s in sent if s["msgtype"] == "template_card"]
            assert len(cards) == 1
            keys = [x["key"] for x in cards[0]["template_card"]["button_list"]]
            assert keys == [f"confirm:{fu.id}", f"edit:{fu.id}", f"undo:{fu.id}"]
            assert any(f"#{fu.id}" in t for t in fake.texts())
            assert metrics.ACK_SECONDS.count(channel="wecom") >= 1
    run(go())


def test_same_callback_three_times_one_record_one_reply(tmp_path: Path, fake: FakeWecom) -> None:
    async def go() -> None:
        async with harness(tmp_path, fake) as h:
            cb = b.encrypt_callback(b.text_fields("ZhangWei", NOTE))
            for _ in range(3):  # WeCom's retries carry the identical body and query
                assert await h.post(cb) == (200, "")
            await h.drain()
            assert len(h.followups()) == 1 and len(h.inbox()) == 1
            assert len([s for s in fake.sent if s["msgtype"] == "template_card"]) == 1
            assert sum("已记录" in s.get("text", {}).get("content", "") for s in fake.sent) <= 1
            assert len(fake.sent) <= 2  # one reply: a card, or the long text and then its card
    run(go())


def _bad_callbacks() -> dict[str, tuple[b.Callback, int]]:
    good = b.encrypt_callback(b.text_fields("ZhangWei", NOTE))
    tampered = b.Callback(dict(good.query, msg_signature="f" * 40), good.body)
    stale = b.encrypt_callback(b.text_fields("ZhangWei", NOTE), timestamp=int(time.time()) - 3600)
    other_key = b.encrypt_callback(b.text_fields("ZhangWei", NOTE),
                                   aes_key="jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C")
    other_corp = b.encrypt_callback(b.text_fields("ZhangWei", NOTE), corp_id="wwsomeoneelse")
    dtd = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>'
           b'<xml><Encrypt>&lol2;</Encrypt></xml>')
    doctype = b.Callback(good.query, dtd)
    inner_dtd = b.encrypt_callback('<!DOCTYPE x [<!ENTITY e "e">]><xml><FromUserName>&e;</FromUserName></xml>')
    malformed = b.Callback(good.query, b"<xml><Encrypt>unterminated")
    huge = b.Callback(good.query, b"<xml><Encrypt>" + b"A" * 200_000 + b"</Encrypt></xml>")
    no_params = b.Callback({}, good.body)
    return {"tampered": (tampered, 403), "stale": (stale, 403), "other-key": (other_key, 400),
            "other-corp": (other_corp, 403), "doctype": (doctype, 400), "inner-doctype": (inner_dtd, 400),
            "malformed": (malformed, 400), "too-large": (huge, 413), "no-params": (no_params, 400)}


def test_bad_callbacks_get_4xx_and_store_nothing(tmp_path: Path, fake: FakeWecom) -> None:
    async def go() -> None:
        async with harness(tmp_path, fake) as h:
            for name, (cb, status) in _bad_callbacks().items():
                got, _ = await h.post(cb)
                assert got == status, name
            await h.drain()
            assert h.inbox() == [] and h.followups() == [] and fake.sent == []
    run(go())


def test_unregistered_sender_and_image_get_polite_text(tmp_path: Path, fake: FakeWecom) -> None:
    async def go() -> None:
        async with harness(tmp_path, fake) as h:
            assert await h.post(b.encrypt_callback(b.text_fields("Stranger", "你好"))) == (200, "")
            assert await h.post(b.encrypt_callback(b.image_fields("ZhangWei"))) == (200, "")
            await h.drain()
            who = {s["touser"]: s["text"]["content"] for s in fake.sent}
            assert "开通" in who["Stranger"] and "图片" in who["ZhangWei"]
    run(go())


# ---------------------------------------------------------------- token, retries, rate limits


def test_token_expired_mid_run_is_refreshed(tmp_path: Path, fake: FakeWecom) -> None:
    async def go() -> None:
        async with harness(tmp_path, fake) as h:
            await h.post(b.encrypt_callback(b.text_fields("ZhangWei", "帮助")))
            await h.drain()
            assert fake.token_calls == 1 and len(fake.sent) >= 1
            before = len(fake.sent)
            fake.expire_tokens()  # two hours later: WeCom answers 42001
            await h.post(b.encrypt_callback(b.text_fields("LiNa", "帮助")))
            await h.drain()
            assert fake.token_calls == 2
            assert len(fake.sent) > before and fake.sent[-1]["touser"] == "LiNa"
            fake.fail_next("send", 40014)  # expiry reported as 40014 also refreshes
            await h.channel.send(Peer("wecom", "LiNa"), Reply("第二条"))
            assert fake.token_calls == 3 and fake.sent[-1]["text"]["content"] == "第二条"
    run(go())


def test_token_retry_is_bounded(tmp_path: Path, fake: FakeWecom) -> None:
    async def go() -> None:
        async with harness(tmp_path, fake, seed=False) as h:
            await h.channel.send(Peer("wecom", "ZhangWei"), Reply("热身"))
            fake.fail_next("send", 42001, 42001, 42001)
            attempts = len(fake.attempts)
            with pytest.raises(WecomError) as err:
                await h.channel.send(Peer("wecom", "ZhangWei"), Reply("不会死循环"))
            assert err.value.errcode == 42001
            assert len(fake.attempts) - attempts == 2  # the call and one retry with a fresh token
    run(go())


def test_send_fails_then_succeeds_delivered_once(tmp_path: Path, fake: FakeWecom) -> None:
    async def go() -> None:
        async with harness(tmp_path, fake) as h:
            fake.fail_next("send", "5xx", 45009)  # a gateway error, then the API frequency limit
            await h.post(b.encrypt_callback(b.text_fields("ZhangWei", "帮助")))
            await h.drain()
            assert len(fake.attempts) == 3
            assert len(fake.sent) == 1 and fake.sent[0]["touser"] == "ZhangWei"
            assert fake.sent[0].get("enable_duplicate_check") == 1  # a retry asks WeCom to dedupe
    run(go())


def test_send_gives_up_after_bounded_retries(tmp_path: Path, fake: FakeWecom) -> None:
    async def go() -> None:
        async with harness(tmp_path, fake, seed=False) as h:
            fake.fail_next("send", *["5xx"] * 10)
            with pytest.raises(WecomError):
                await h.channel.send(Peer("wecom", "ZhangWei"), Reply("送不出去"))
            assert len(fake.attempts) == h.channel.api.attempts
    run(go())


def test_member_rate_limit_queues_and_merges_never_drops(tmp_path: Path, fake: FakeWecom) -> None:
    async def go() -> None:
        clock = [1000.0]
        stamps: list[float] = []

        async def advance(s: float) -> None:
            clock[0] += s
            await asyncio.sleep(0)

        async with harness(tmp_path, fake, seed=False) as h:
            h.channel.limiter = LocalLimiter(((3, 60.0), (5, 3600.0)), clock=lambda: clock[0])
            h.channel.sleep = advance
            original = h.channel.send_body

            async def stamped(user: str, body: dict[str, Any]) -> dict[str, Any]:
                stamps.append(clock[0])
                return await original(user, body)

            h.channel.send_body = stamped  # type: ignore[method-assign]
            peer = Peer("wecom", "ZhangWei")
            await asyncio.gather(*(h.channel.send(peer, Reply(f"提醒{i}")) for i in range(12)))
            contents = "\n".join(s["text"]["content"] for s in fake.sent)
            assert all(contents.count(f"提醒{i}\n") + contents.endswith(f"提醒{i}") == 1 for i in range(12))
            assert len(fake.sent) < 12  # merged while waiting
            for t in stamps:  # never more than 3 a minute or 5 an hour
                assert sum(1 for u in stamps if t - 60 < u <= t) <= 3
                assert sum(1 for u in stamps if t - 3600 < u <= t) <= 5
            assert metrics.PUSHES_MERGED.value(channel="wecom") >= 1
    run(go())


# ---------------------------------------------------------------- voice, events, cards, media


def test_voice_reaches_submit_and_media_downloads(tmp_path: Path, fake: FakeWecom) -> None:
    async def go() -> None:
        got: list[IncomingMessage] = []

        async def submit(msg: IncomingMessage) -> bool:
            got.append(msg)
            return True

        async with harness(tmp_path, fake, seed=False) as h:
            await h.channel.start(submit)
            assert await h.post(b.encrypt_callback(b.voice_fields("ZhangWei", "MEDIA_VOICE_1"))) == (200, "")
            [msg] = got
            assert msg.kind is Kind.VOICE and msg.media == Media("MEDIA_VOICE_1", "amr")
            fake.expire_tokens()
            data = await h.channel.fetch_media(msg.media)
            assert data == fake.media["MEDIA_VOICE_1"] and data.startswith(b"#!AMR\n")
            with pytest.raises(WecomError) as err:
                await h.channel.fetch_media(Media("NO_SUCH_MEDIA"))
            assert err.value.errcode == 40007
    run(go())


def test_events_and_card_press_update(tmp_path: Path, fake: FakeWecom) -> None:
    async def go() -> None:
        got: list[IncomingMessage] = []

        async def submit(msg: IncomingMessage) -> bool:
            if any(m.msg_id == msg.msg_id for m in got):
                return False
            got.append(msg)
            return True

        async with harness(tmp_path, fake, seed=False) as h:
            await h.channel.start(submit)
            await h.post(b.encrypt_callback(b.event_fields("ZhangWei", "enter_agent")))
            press = b.encrypt_callback(b.card_event_fields("ZhangWei", "confirm:7", "followup_7-x", "RC-77"))
            for _ in range(2):  # a retried press is one event
                assert await h.post(press) == (200, "")
            assert [(m.kind, m.event, m.text) for m in got] == [
                (Kind.EVENT, "enter", ""), (Kind.EVENT, "button", "confirm:7")]
            await h.channel.send(Peer("wecom", "ZhangWei"), Reply("已确认 #7", ref="followup:7"))
            [upd] = fake.updates
            assert upd["response_code"] == "RC-77" and upd["button"]["replace_name"] == "已确认 #7"
            assert upd["userids"] == ["ZhangWei"] and upd["agentid"] == b.AGENT_ID
            assert fake.sent[-1]["text"]["content"] == "已确认 #7"
            await h.channel.send(Peer("wecom", "ZhangWei"), Reply("别的回复"))
            assert len(fake.updates) == 1  # a response code is used once
    run(go())


def test_reply_with_picture_uploads_then_sends_image(tmp_path: Path, fake: FakeWecom) -> None:
    async def go() -> None:
        async with harness(tmp_path, fake, seed=False) as h:
            png = tiny_png()
            peer = Peer("wecom", "WangJL")
            await h.channel.send(peer, Reply("## 本周漏斗\n- 报价 3 个", markdown=True, image=png))
            [up] = fake.uploads
            assert (up["type"], up["filename"], up["content_type"], up["data"]) == ("image", "chart.png",
                                                                                   "image/png", png)
            assert [x["msgtype"] for x in fake.sent] == ["markdown", "image"]  # the text, then the chart
            assert fake.images() == [png] and fake.sent[1]["touser"] == "WangJL"

            fake.expire_tokens()  # the upload refreshes the token like every other call
            await h.channel.send(peer, Reply("图表", image=png))
            assert len(fake.uploads) == 2 and fake.images() == [png, png]

            sent = len(fake.sent)
            with pytest.raises(WecomError) as err:  # not a PNG/JPG: refused, and nothing is sent
                await h.channel.send(peer, Reply("坏图", image=b"GIF89a" + bytes(64)))
            assert err.value.errcode == 40005 and len(fake.sent) == sent
            fake.fail_next("upload", "5xx")  # a transient upload failure is retried
            await h.channel.send(peer, Reply("", image=png))
            assert fake.sent[-1]["msgtype"] == "image" and len(fake.sent) == sent + 1
    run(go())


def test_card_press_is_not_taken_by_unrelated_replies(tmp_path: Path, fake: FakeWecom) -> None:
    async def go() -> None:
        async def submit(msg: IncomingMessage) -> bool:
            return True

        async with harness(tmp_path, fake, seed=False) as h:
            await h.channel.start(submit)
            press = b.encrypt_callback(b.card_event_fields("ZhangWei", "undo:9", "followup_9-x", "RC-9"))
            assert await h.post(press) == (200, "")
            peer = Peer("wecom", "ZhangWei")
            await h.channel.send(peer, Reply("正在识别…"))  # a progress line of another message
            await h.channel.send(peer, Reply("已记录 #19 · 恒达", ref="followup:19"))
            assert fake.updates == []
            await h.channel.send(peer, Reply("已撤销记录 #9（苏州恒达精密机械有限公司）"))  # the answer, no ref
            [upd] = fake.updates
            assert upd["response_code"] == "RC-9" and upd["button"]["replace_name"].startswith("已撤销记录")
    run(go())


def test_group_robot_webhook(tmp_path: Path, fake: FakeWecom) -> None:
    async def go() -> None:
        async with harness(tmp_path, fake, seed=False) as h:
            await h.channel.send_group("KEY-123", Reply("## 本周漏斗\n- 线索 3", markdown=True))
            [(key, body)] = fake.webhook
            assert key == "KEY-123" and body["msgtype"] == "markdown"
            assert body["markdown"]["content"].startswith("## 本周漏斗")
    run(go())


# ---------------------------------------------------------------- crash after the ack

CRASHING_SERVER = """
import asyncio, sys
from bot.config import load_settings
from bot.app import build_app
from bot.dispatch import Dispatcher
from bot.http import serve

async def hang(self, inbox_id, msg):
    print("PROCESSING", flush=True)
    await asyncio.Event().wait()   # killed before the work is done

Dispatcher.process = hang
settings = load_settings()
asyncio.run(serve(build_app(settings), settings))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _server_process(tmp_path: Path, fake: FakeWecom, script: str, stderr: int) -> tuple[subprocess.Popen[str], int]:
    """`script` run as a separate salesbot process on a seeded SQLite file and a free port."""
    db = tmp_path / "salesbot.db"
    app, _ = make_wecom_app(db, fake)
    b.seed_im_team(app, "wecom", IDS)
    app.svc.db.dispose()
    port = _free_port()
    env = dict(os.environ, SALESBOT_DATABASE_URL=f"sqlite:///{db}", SALESBOT_SERVER_HOST="127.0.0.1",
               SALESBOT_SERVER_PORT=str(port), **b.wecom_settings(fake.url), PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-c", script], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=stderr, text=True)
    return proc, port


async def _post_when_up(port: int, cb: b.Callback) -> int:
    """POST the callback once the server accepts connections; its HTTP status."""
    async with ClientSession() as s:
        for _ in range(500):
            try:
                async with s.post(f"http://127.0.0.1:{port}{cb.path()}", data=cb.body) as r:
                    return r.status
            except OSError:
                await asyncio.sleep(0.05)
    raise AssertionError("server did not come up")


def test_killed_after_ack_and_restarted_records_once(tmp_path: Path, fake: FakeWecom) -> None:
    proc, port = _server_process(tmp_path, fake, CRASHING_SERVER, stderr=subprocess.STDOUT)
    cb = b.encrypt_callback(b.text_fields("ZhangWei", NOTE))
    try:
        assert run(_post_when_up(port, cb)) == 200
        assert proc.stdout is not None and "PROCESSING" in proc.stdout.readline()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    assert fake.sent == []  # acknowledged, not yet answered

    async def restart() -> None:
        async with harness(tmp_path, fake, seed=False) as h:  # start() resumes pending inbox rows
            await h.drain()
            assert len(h.followups()) == 1
            assert await h.post(cb) == (200, "")  # WeCom's late retry of the same callback
            await h.drain()
            assert len(h.followups()) == 1 and len(h.inbox()) == 1
            assert len([s for s in fake.sent if s["msgtype"] == "template_card"]) == 1
    run(restart())


# ---------------------------------------------------------------- salesbot serve


def test_serve_healthz_metrics_and_clean_stop(tmp_path: Path, fake: FakeWecom) -> None:
    from bot.http import serve

    async def go() -> None:
        port = _free_port()
        env = {"SALESBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'salesbot.db'}", "SALESBOT_SERVER_HOST": "127.0.0.1",
               "SALESBOT_SERVER_PORT": str(port), **b.wecom_settings(fake.url)}
        settings = load_settings(env=env)
        app = build_app(settings, clock=FixedClock(NOW))
        b.seed_im_team(app, "wecom", IDS)
        stop, ready = asyncio.Event(), asyncio.Event()
        task = asyncio.create_task(serve(app, settings, stop=stop, ready=ready))
        await asyncio.wait_for(ready.wait(), 30)
        base = f"http://127.0.0.1:{port}"
        async with ClientSession() as s:
            async with s.get(base + "/healthz") as r:
                health = await r.json()
                assert r.status == 200 and health["status"] == "ok" and health["channels"] == {"wecom": "ok"}
                assert health["undelivered_replies"] == 0
                # chinesecalendar 1.11 stops at 2026: in January 2026 next year has no schedule
                if 2027 not in holidays._PACKAGE_YEARS:
                    assert list(health["calendar_missing"]) == ["2027"]
                    assert len(health["calendar_missing"]["2027"]) == 7
                    assert "2027年没有节假日数据" in health["warnings"][0] and "[calendar]" in health["warnings"][0]
            cb = b.encrypt_callback(b.text_fields("ZhangWei", "帮助"))
            async with s.post(base + cb.path(), data=cb.body) as r:
                assert r.status == 200 and await r.read() == b""
            await app.dispatcher.drain()
            async with s.get(base + "/metrics") as r:
                assert r.status == 200 and r.headers["Content-Type"].startswith("text/plain")
                text = await r.text()
        assert 'salesbot_messages_received_total{channel="wecom"}' in text
        assert "\nsalesbot_inbox_backlog 0\n" in text and "\nsalesbot_replies_undelivered 0\n" in text
        assert 'salesbot_pushes_sent_total{channel="wecom"}' in text
        stop.set()
        await asyncio.wait_for(task, 30)
        assert fake.sent and fake.sent[-1]["touser"] == "ZhangWei"
    run(go())


def test_serve_reports_a_wrong_secret_at_start_and_healthz_says_degraded_until_calls_work(
        tmp_path: Path, fake: FakeWecom) -> None:
    from bot.http import serve

    async def go(secret: str) -> tuple[list[str], list[dict[str, Any]]]:
        port = _free_port()
        env = {"SALESBOT_DATABASE_URL": f"sqlite:///{tmp_path / (secret + '.db')}",
               "SALESBOT_SERVER_PORT": str(port), **b.wecom_settings(fake.url, secret=secret)}
        settings = load_settings(env=env)
        assert settings.server.host == "127.0.0.1"  # no host configured: this machine only
        app = build_app(settings, clock=FixedClock(NOW))
        b.seed_im_team(app, "wecom", IDS)
        said: list[str] = []
        stop, ready = asyncio.Event(), asyncio.Event()
        task = asyncio.create_task(serve(app, settings, stop=stop, ready=ready, say=said.append))
        await asyncio.wait_for(ready.wait(), 30)
        seen = []
        async with ClientSession() as s:
            async with s.get(f"http://127.0.0.1:{port}/healthz") as r:
                seen.append(await r.json())
            cb = b.encrypt_callback(b.text_fields("ZhangWei", "帮助"))  # an answer goes out (or fails)
            async with s.post(f"http://127.0.0.1:{port}" + cb.path(), data=cb.body) as r:
                assert r.status == 200
            await app.dispatcher.drain()
            async with s.get(f"http://127.0.0.1:{port}/healthz") as r:
                seen.append(await r.json())
        stop.set()
        await asyncio.wait_for(task, 30)
        return said, seen

    said, seen = run(go("not-the-secret"))
    assert said == [texts.channel_check("wecom", "40001 invalid credential")] and "wecom.secret" in said[0]
    for health in seen:
        assert health["status"] == "degraded" and health["channels"] == {"wecom": "degraded"}
        assert "40001" in health["channel_errors"]["wecom"]
    assert seen[1]["undelivered_replies"] == 1  # the answer is kept for later, not lost
    said, seen = run(go(b.SECRET))
    assert said == ["企业微信：凭据检查通过"]
    assert seen[-1]["status"] == "ok" and seen[-1]["channels"] == {"wecom": "ok"} and seen[-1]["channel_errors"] == {}


def test_serve_without_channels_says_so(tmp_path: Path) -> None:
    from bot.http import serve

    async def go() -> list[str]:
        settings = load_settings(env={"SALESBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
                                      "SALESBOT_SERVER_PORT": str(_free_port())})
        said: list[str] = []
        stop, ready = asyncio.Event(), asyncio.Event()
        task = asyncio.create_task(serve(build_app(settings), settings, stop=stop, ready=ready, say=said.append))
        await asyncio.wait_for(ready.wait(), 30)
        stop.set()
        await asyncio.wait_for(task, 30)
        return said

    assert run(go()) == [texts.SERVE_NO_CHANNEL]


SERVER = """
import asyncio
from bot.config import load_settings
from bot.app import build_app
from bot.http import serve

settings = load_settings()
asyncio.run(serve(build_app(settings), settings))
print("STOPPED", flush=True)
"""


def test_serve_stops_cleanly_on_sigterm(tmp_path: Path, fake: FakeWecom) -> None:
    proc, port = _server_process(tmp_path, fake, SERVER, stderr=subprocess.DEVNULL)
    cb = b.encrypt_callback(b.text_fields("ZhangWei", "帮助"))
    try:
        assert run(_post_when_up(port, cb)) == 200
        run(await_until(lambda: bool(fake.sent), what="the reply"))
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0 and "STOPPED" in out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_misconfigured_wecom_fails_at_start_with_the_key_to_fix(fake: FakeWecom) -> None:
    from bot.config import ConfigError

    settings = load_settings(env=b.wecom_settings(fake.url, encoding_aes_key="short"))
    with pytest.raises(ConfigError, match="encoding_aes_key"):
        WecomChannel(settings.wecom)
    settings = load_settings(env=b.wecom_settings(fake.url, secret=""))
    with pytest.raises(ConfigError, match="wecom.secret"):
        WecomChannel(settings.wecom)


def test_a_question_on_a_card_is_answered_by_its_button(tmp_path: Path, fake: FakeWecom) -> None:
    """Issue 12 on WeCom: "新商机？" comes as a card button, and its press answers that record."""
    from decimal import Decimal

    from store import repos
    from store.models import Deal

    async def go() -> None:
        async with harness(tmp_path, fake) as h:
            h.app.svc.db.call(lambda s: s.add(Deal(customer_id=1, owner_id=2, title="一期", stage="won",
                                                   status="won", amount=Decimal(900_000), amount_kind="order")))
            await h.post(b.encrypt_callback(b.text_fields("ZhangWei", "苏州恒达王总说下半年想增购6台，预算四十万左右")))
            await h.drain()
            [fu] = h.followups()
            [card] = [s for s in fake.sent if s["msgtype"] == "template_card"]
            buttons = [(x["text"], x["key"]) for x in card["template_card"]["button_list"]]
            assert buttons[0] == ("是，新建商机", f"answer:{fu.id}:1")
            assert h.app.svc.db.call(repos.open_deal_for, 1) is None  # nothing invented before the answer
            press = b.encrypt_callback(b.card_event_fields("ZhangWei", f"answer:{fu.id}:1", "t-1", "RC-1"))
            assert await h.post(press) == (200, "")
            await h.drain()
            deal = h.app.svc.db.call(repos.open_deal_for, 1)
            assert deal is not None and deal.amount == 400_000
            [upd] = fake.updates  # the pressed card is updated with the answer
            assert upd["response_code"] == "RC-1" and f"#{fu.id}" in upd["button"]["replace_name"]
    run(go())


def test_edit_on_a_card_keeps_its_buttons_and_the_next_correction_hits_the_pressed_record(
        tmp_path: Path, fake: FakeWecom) -> None:
    """修改 on an older card: the card keeps 确认/撤销, and "改 金额" without a number changes that
    record, not the newest; a newer note moves the focus back to itself."""
    from store.models import FollowUp

    async def go() -> None:
        async with harness(tmp_path, fake) as h:
            for text in ("苏州恒达王总说预算四十万左右，下周二去现场", "无锡宏远李厂长说今年预算六十万，月底前报价"):
                await h.post(b.encrypt_callback(b.text_fields("ZhangWei", text)))
                await h.drain()
            first, second = h.followups()
            press = b.encrypt_callback(b.card_event_fields("ZhangWei", f"edit:{first.id}", "t-1", "RC-E"))
            assert await h.post(press) == (200, "")
            await h.drain()
            assert fake.updates == []  # the card keeps its buttons: nothing changed yet
            assert "直到你再发新的拜访记录" in fake.sent[-1]["text"]["content"]
            await h.post(b.encrypt_callback(b.text_fields("ZhangWei", "改 金额 45万")))
            await h.drain()
            amounts = h.app.svc.db.call(lambda s: {f.id: f.amount for f in s.exec(select(FollowUp))})
            assert amounts[first.id] == 450_000 and amounts[second.id] == 600_000
            confirm = b.encrypt_callback(b.card_event_fields("ZhangWei", f"confirm:{first.id}", "t-1", "RC-C"))
            assert await h.post(confirm) == (200, "")
            await h.drain()
            [upd] = fake.updates  # a press that changed the record updates its card
            assert upd["response_code"] == "RC-C"
            await h.post(b.encrypt_callback(b.text_fields("ZhangWei", "宁波锦泰说预算三十万")))
            await h.drain()
            await h.post(b.encrypt_callback(b.text_fields("ZhangWei", "改 金额 35万")))  # the newest again
            await h.drain()
            third = h.followups()[-1]
            assert h.app.svc.db.call(lambda s: s.get(FollowUp, third.id).amount) == 350_000
    run(go())


# ---------------------------------------------------------------- the reply outbox


def _answers(h: Harness) -> list[Any]:
    from store.models import OutgoingReply

    return h.app.svc.db.call(lambda s: list(s.exec(select(OutgoingReply))))


def test_an_answer_that_cannot_be_delivered_is_kept_and_sent_later(tmp_path: Path, fake: FakeWecom) -> None:
    """WeCom refuses every try (a sustained 45009): the answer stays in the outbox with a backoff
    and goes out on a later round instead of being dropped."""
    async def go() -> None:
        async with harness(tmp_path, fake) as h:
            fake.fail_next("send", *[45009] * (2 * h.channel.api.attempts))  # the text and the card
            await h.post(b.encrypt_callback(b.text_fields("ZhangWei", NOTE)))
            await h.drain()
            assert fake.sent == [] and [i.status for i in h.inbox()] == ["done"]
            [kept] = _answers(h)
            assert kept.status == "pending" and kept.attempts == 1 and "45009" in (kept.last_error or "")
            assert await h.app.notifier.replies.deliver_due(NOW) == 0  # not due before its backoff
            later = kept.next_attempt_at
            assert await h.app.notifier.replies.deliver_due(later) == 1
            assert [m["msgtype"] for m in fake.sent] == ["text", "template_card"]
            assert [a.status for a in _answers(h)] == ["sent"]
    run(go())


def test_a_minute_of_45009_delays_every_answer_and_loses_none_and_each_person_is_told_once(
        tmp_path: Path, fake: FakeWecom) -> None:
    """WeCom answers 45009 to every send for a minute while reps keep writing: every answer is
    kept, all go out on the first round after the outage, and each rep's first late answer says
    it is late (once)."""
    from datetime import timedelta

    async def go() -> None:
        async with harness(tmp_path, fake) as h:
            fake.fail_next("send", *[45009] * 10_000)  # the outage: every send refused
            notes = [("ZhangWei", "帮助"), ("LiNa", "帮助"), ("ZhangWei", "我的待办"), ("ZhangWei", NOTE),
                     ("LiNa", "我的商机")]
            for user, text in notes:
                await h.post(b.encrypt_callback(b.text_fields(user, text)))
                await h.drain()
            assert fake.sent == [] and [a.status for a in _answers(h)] == ["pending"] * len(notes)
            assert await h.app.notifier.replies.deliver_due(NOW + timedelta(seconds=30)) == 0  # still out
            fake.failures = type(fake.failures)()  # the minute is over
            assert await h.app.notifier.replies.deliver_due(NOW + timedelta(seconds=75)) == len(notes)
            assert [a.status for a in _answers(h)] == ["sent"] * len(notes)
            texts_to = [(m["touser"], m.get("text", {}).get("content", "")) for m in fake.sent if m["msgtype"] == "text"]
            for user in ("ZhangWei", "LiNa"):
                late = [t for u, t in texts_to if u == user and t.startswith("（以下回复晚到了约1分钟")]
                assert len(late) == 1  # told once per person
            assert await h.app.notifier.replies.deliver_due(NOW + timedelta(seconds=90)) == 0  # once each
            assert len(h.app.notifier.replies._told) == 2  # remembered for this outage …
            await h.app.notifier.replies.deliver_due(NOW + timedelta(minutes=20))
            assert h.app.notifier.replies._told == {}  # … and forgotten after it: memory stays bounded
    run(go())


def test_once_the_platform_takes_answers_again_the_waiting_ones_are_sent_at_once(
        tmp_path: Path, fake: FakeWecom) -> None:
    """Answers whose backoff grew during an outage do not wait it out: the first one delivered
    after the outage brings the others of that channel forward."""
    from datetime import timedelta

    async def go() -> None:
        async with harness(tmp_path, fake) as h:
            fake.fail_next("send", *[45009] * 10_000)
            await h.post(b.encrypt_callback(b.text_fields("ZhangWei", "帮助")))
            await h.drain()
            for minutes in (1, 3, 7):  # the first answer's tries during the outage: its backoff grows
                await h.app.notifier.replies.deliver_due(NOW + timedelta(minutes=minutes))
            await h.post(b.encrypt_callback(b.text_fields("LiNa", "我的待办")))
            await h.drain()
            first, second = _answers(h)
            assert first.next_attempt_at > second.next_attempt_at  # the older answer waits longer now
            fake.failures = type(fake.failures)()  # the outage is over
            assert await h.app.notifier.replies.deliver_due(second.next_attempt_at) == 1  # only LiNa's was due
            assert await h.app.notifier.replies.deliver_due(second.next_attempt_at + timedelta(seconds=1)) == 1
            assert [a.status for a in _answers(h)] == ["sent", "sent"]
    run(go())


def test_an_answer_still_refused_after_the_give_up_time_is_dead(tmp_path: Path, fake: FakeWecom) -> None:
    async def go() -> None:
        from datetime import timedelta

        async with harness(tmp_path, fake) as h:
            fake.fail_next("send", *[45009] * 100)  # WeCom refuses for a day and more
            await h.post(b.encrypt_callback(b.text_fields("ZhangWei", "帮助")))
            await h.drain()
            assert await h.app.notifier.replies.deliver_due(NOW + timedelta(hours=23)) == 0
            [kept] = _answers(h)
            assert kept.status == "pending" and kept.attempts == 2
            give_up = timedelta(hours=h.app.settings.queue.reply_give_up_hours)
            assert await h.app.notifier.replies.deliver_due(NOW + give_up) == 0
            [dead] = _answers(h)
            assert dead.status == "dead" and dead.attempts == 3 and fake.sent == []
    run(go())


def test_an_answer_left_in_doubt_by_a_dead_box_is_sent_again_without_a_duplicate(tmp_path: Path,
                                                                                 fake: FakeWecom) -> None:
    """A box that died between WeCom taking the card and recording it leaves the answer claimed;
    once the claim runs out another round sends it again as a resend, and WeCom drops the copy."""
    async def go() -> None:
        from datetime import timedelta

        from store.models import OutgoingReply

        async with harness(tmp_path, fake) as h:
            await h.post(b.encrypt_callback(b.text_fields("ZhangWei", NOTE)))
            await h.drain()
            sent = list(fake.sent)

            def died_holding_it(s: Any) -> None:  # sent, but the box died before marking it
                a = s.exec(select(OutgoingReply)).one()
                a.status, a.claim_token, a.claimed_until = "pending", "dead-box:1", NOW - timedelta(seconds=1)
                s.add(a)

            h.app.svc.db.call(died_holding_it)
            assert await h.app.notifier.replies.deliver_due(NOW) == 1
            assert fake.sent == sent  # the copies were dropped
            assert fake.attempts[-1].get("enable_duplicate_check") == 1
            assert [a.status for a in _answers(h)] == ["sent"]
    run(go())
