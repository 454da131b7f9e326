"""DingTalk (钉钉) robot channel in stream mode.

Inbound: dingtalk-stream's frame parsing, handler and ack code, driven by our own connection
loop, because the SDK 0.24.3 loop blocks the event loop (`requests.post` without timeout),
cannot be cancelled and reconnects without backoff. The handler persists each robot message
through `submit` and returns at once; the SDK acks after it returns, so an acked message is
always in the inbox, and DingTalk's redeliveries (same `msgId`) are dropped there.
Outbound: markdown/text through the message's `sessionWebhook` while it is valid (≈90 min),
else the robot APIs `oToMessages/batchSend` (1:1) or `groupMessages/send` (groups); long
replies are split into several messages. A reply with buttons (a recorded note's 确认 / 修改 /
撤销) becomes an interactive card (`card/instances/createAndDeliver`, callbackType STREAM)
when a card template is configured: presses come back over the same stream on
`/v1.0/card/instances/callback`, are stored like messages (one per card, user and button)
and become the same `button` event a WeCom card press produces; the card then shows the
answer (`PUT card/instances`). Without a template the commands are listed in the text.
Pictures are left out: robots can only send images by public URL.
Every URL comes from `settings.dingtalk.openapi_endpoint`, never from the SDK's
import-time `DINGTALK_OPENAPI_ENDPOINT`.
"""
from __future__ import annotations

import asyncio
import json
import logging
import random
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus

import aiohttp
import dingtalk_stream
import requests
import websockets
from dingtalk_stream import AckMessage, CallbackMessage, ChatbotMessage

from bot import metrics
from bot.shared import (
    SHARED_TOKEN_REREAD_S,
    Limiter,
    Limits,
    LocalLimiter,
    TokenStore,
    token_from_others,
    wait_for_slot,
)
from bot.textsplit import split_bytes
from bot.types import (
    ChannelHealth,
    IncomingMessage,
    Kind,
    Media,
    Peer,
    PendingPresses,
    Press,
    Reply,
    Submit,
)

log = logging.getLogger(__name__)

CHANNEL = "dingtalk"
WEBHOOK_MARGIN_S = 60  # don't use a sessionWebhook in its last minute
TITLE_MAX = 20
# UTF-8 bytes of text/markdown per message. DingTalk rejects robot request bodies over
# 20,000 bytes (errcode 460101 "message too long, exceed 20000 bytes"); 4,000 bytes stay under
# it even when every character is JSON-escaped twice (msgParam is a JSON string inside JSON),
# and under the ~3,500 characters beyond which markdown is reported not to render.
TEXT_LIMIT = 4000
CARD_TOPIC = "/v1.0/card/instances/callback"
CARD_STATUS_MAX = 40  # characters of the answer shown on a pressed card
CARD_TITLE_MAX = 60
# A refusal for a rate limit: the gateway's 403 codes (Forbidden.AccessDenied.QpsLimitForApi,
# …QpsLimitForAppkeyAndApi), the legacy API's errcodes (90002 all calls of the API suspended,
# 90005/90006 per minute, 90018 per second) and batchSend's flowControlledStaffIdList (HTTP 200,
# but the person got nothing). The call was not carried out: it is made again after a wait.
THROTTLE_CODES = ("QpsLimit", "Throttling", "FlowControl")
THROTTLE_ERRCODES = frozenset({90002, 90005, 90006, 90018})
THROTTLE_WAIT_S = 1.0  # the gateway's QPS windows are one second

# User-facing strings of this channel (the rest is in handlers/texts.py).
DEFAULT_TITLE = "销售助手"
CONTINUED_TITLE = "{title}（{n}/{total}）"
CARD_SEE_ABOVE = "请确认以上内容"
CARD_DONE = "已处理"
CARD_FALLBACK = "可直接回复：{commands}（作用于你最近一条记录）"
BUTTON_COMMANDS = {"confirm": "确认", "edit": "改 客户／日期／金额 <新值>", "undo": "撤销"}


def _button_command(key: str, label: str) -> str:
    """What to type instead of pressing: an answer button "answer:12:1" is "#12 1"."""
    action, _, rest = key.partition(":")
    if action == "answer":
        return "#" + rest.replace(":", " ")
    return BUTTON_COMMANDS.get(action, label)


class DingtalkError(Exception):
    """A DingTalk API failure; never carries tokens or secrets."""


class _Transient(Exception):
    pass


class _QuietPings(logging.Filter):
    """The SDK logs every SYSTEM ping as an 'unknown message topic' warning."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("unknown message topic")


# ---------------------------------------------------------------- conversion


def peer_limits(settings: Any) -> Limits:
    """Robot messages to one person or group (dingtalk.sends_per_peer_per_minute)."""
    return ((int(settings.sends_per_peer_per_minute), 60.0),)


def api_limits(settings: Any) -> Limits:
    """Calls per OpenAPI path (dingtalk.api_calls_per_second)."""
    return ((int(settings.api_calls_per_second), 1.0),)


def throttled(status: int, data: Any) -> str | None:
    """Why DingTalk refused a call for a rate limit (see THROTTLE_CODES), or None."""
    if not isinstance(data, dict):
        return None
    code = str(data.get("code") or "")
    if status in (403, 429) and any(c in code for c in THROTTLE_CODES):
        return code
    try:
        errcode = int(data.get("errcode") or 0)
    except (TypeError, ValueError):
        errcode = 0
    if errcode in THROTTLE_ERRCODES:
        return f"errcode {errcode}"
    if data.get("flowControlledStaffIdList"):
        return "flowControlledStaffIdList"
    return None


def _clip(s: str, n: int) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"


def to_incoming(d: dict[str, Any]) -> IncomingMessage | None:
    """A /v1.0/im/bot/messages/get payload → IncomingMessage (None when unusable)."""
    msg_id = d.get("msgId")
    sender = d.get("senderStaffId") or d.get("senderId")
    if not msg_id or not sender:
        return None
    group = str(d.get("conversationType")) == "2"
    peer = Peer(CHANNEL, str(sender), str(d.get("conversationId")) if group else None)
    try:
        when = datetime.fromtimestamp(int(d.get("createAt")) / 1000, UTC)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError, OSError):
        when = datetime.now(UTC)
    mtype = str(d.get("msgtype") or "")
    raw = d.get("content")
    content: dict[str, Any] = raw if isinstance(raw, dict) else {}
    base: dict[str, Any] = {"channel": CHANNEL, "msg_id": str(msg_id), "sender": peer, "received_at": when}
    if mtype == "text":
        text = str((d.get("text") or {}).get("content") or "").strip()
        return IncomingMessage(kind=Kind.TEXT, text=text, **base)
    if mtype == "audio":  # not parsed by the SDK: content stays raw (hermes-agent #38219)
        return IncomingMessage(kind=Kind.VOICE, media=Media(str(content.get("downloadCode") or ""), "amr"),
                               platform_transcript=content.get("recognition") or None, **base)
    if mtype == "richText":
        parts = [p.get("text", "") for p in content.get("richText", []) if isinstance(p, dict)]
        text = "".join(parts).strip()
        if text:
            return IncomingMessage(kind=Kind.TEXT, text=text, **base)
        return IncomingMessage(kind=Kind.IMAGE, **base)
    if mtype == "picture":
        return IncomingMessage(kind=Kind.IMAGE, media=Media(str(content.get("downloadCode") or ""), "jpg"),
                               **base)
    # file, video, and anything newer: answered politely by the core
    code = content.get("downloadCode")
    return IncomingMessage(kind=Kind.FILE, media=Media(str(code), mtype) if code else None,
                           **base)


_TRACK = re.compile(r"^[A-Za-z]+_(?P<id>\d+)-[0-9a-f]+$")


def card_track_id(ref: str | None) -> str:
    """A new card's outTrackId; it carries the record ref ("followup_12-…"), so a press names
    its record even after a restart and with templates whose buttons only send an action."""
    base = re.sub(r"[^A-Za-z0-9_\-]", "_", ref or "card")[:64]
    return f"{base}-{uuid.uuid4().hex[:16]}"


def press_key(d: dict[str, Any]) -> str | None:
    """The pressed button's key ("undo:12") from a card callback payload.

    The reference template sends the key as the request parameter `key`; a template with fixed
    buttons may send `action` (or only its actionId) = confirm / edit / undo instead, and the
    record id then comes from the outTrackId.
    """
    raw = d.get("content")
    try:
        content = json.loads(raw) if isinstance(raw, str) else (raw or {})
    except ValueError:
        return None
    private = content.get("cardPrivateData") if isinstance(content, dict) else None
    if not isinstance(private, dict):
        return None
    raw_params = private.get("params")
    params: dict[str, Any] = raw_params if isinstance(raw_params, dict) else {}
    key = params.get("key")
    if isinstance(key, str) and key.strip():
        return key.strip()
    raw_ids = private.get("actionIds")
    ids: list[Any] = raw_ids if isinstance(raw_ids, list) else []
    action = params.get("action") or (ids[0] if ids else None)
    if not isinstance(action, str) or not action:
        return None
    m = _TRACK.match(str(d.get("outTrackId") or ""))
    return f"{action}:{m.group('id')}" if m and ":" not in action else action


def card_press_to_incoming(d: dict[str, Any], peer: Peer | None = None,
                           born_ms: int | None = None) -> IncomingMessage | None:
    """A /v1.0/card/instances/callback payload → the `button` event a WeCom card press gives.

    The idempotency key is card + user + button: a redelivered press is dropped by the inbox,
    and the card shows the answer after the first press anyway.
    """
    track, user = d.get("outTrackId"), d.get("userId")
    key = press_key(d)
    if not track or not user or not key:
        return None
    if peer is None or peer.user_id != str(user):
        group = str(d.get("spaceType") or "").upper() == "IM_GROUP" and d.get("spaceId")
        peer = Peer(CHANNEL, str(user), str(d["spaceId"]) if group else None)
    try:
        when = datetime.fromtimestamp(int(born_ms) / 1000, UTC) if born_ms else datetime.now(UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        when = datetime.now(UTC)
    return IncomingMessage(CHANNEL, f"card:{track}:{user}:{key}", peer, Kind.EVENT, when, text=key,
                           event="button")


# ---------------------------------------------------------------- SDK glue


class _StreamClient(dingtalk_stream.DingTalkStreamClient):
    """The SDK client with a configurable gateway URL and a bounded connections/open call."""

    def __init__(self, credential: dingtalk_stream.Credential, open_url: str, timeout_s: float,
                 logger: logging.Logger) -> None:
        super().__init__(credential, logger=logger)
        self.open_url, self.timeout_s = open_url, timeout_s

    def open_connection(self) -> dict[str, Any] | None:
        topics = [{"type": "CALLBACK", "topic": t} for t in self.callback_handler_map]
        body = {"clientId": self.credential.client_id, "clientSecret": self.credential.client_secret,
                "subscriptions": topics, "ua": f"salesbot/dingtalk-stream-{dingtalk_stream.version.VERSION_STRING}",
                "localIp": self.get_host_ip()}
        try:
            r = requests.post(self.open_url, json=body, timeout=self.timeout_s,
                              headers={"Accept": "application/json"})
        except requests.RequestException as exc:
            self.logger.warning("DingTalk connections/open failed: %s", type(exc).__name__)
            return None
        if r.status_code != 200:
            self.logger.warning("DingTalk connections/open answered HTTP %s", r.status_code)
            return None
        try:
            data = r.json()
        except ValueError:
            return None
        return data if data.get("endpoint") and data.get("ticket") else None

    def get_host_ip(self) -> str:
        return ""  # informational only; the SDK's UDP probe of 8.8.8.8 is pointless offline


class _Handler(dingtalk_stream.ChatbotHandler):
    """Persist and return: the SDK sends the ack only after `process` returns."""

    def __init__(self, channel: DingtalkChannel) -> None:
        super().__init__()
        self.channel = channel

    async def process(self, callback: CallbackMessage) -> tuple[int, str]:
        data = callback.data if isinstance(callback.data, dict) else {}
        return await self.channel.accept(data)


class _CardHandler(dingtalk_stream.CallbackHandler):
    """Card button presses (topic /v1.0/card/instances/callback): persist, then ack."""

    def __init__(self, channel: DingtalkChannel) -> None:
        super().__init__()
        self.channel = channel

    async def process(self, callback: CallbackMessage) -> tuple[int, Any]:
        data = callback.data if isinstance(callback.data, dict) else {}
        return await self.channel.accept_card(data, callback.headers.time)


# ---------------------------------------------------------------- the channel


class DingtalkChannel:
    """The DingTalk robot (stream mode) as a `Channel`."""

    name = CHANNEL
    takes_images = False  # Reply.image: robots send images only by public URL

    def __init__(self, settings: Any, *, backoff: tuple[float, float] = (1.0, 60.0), timeout_s: float = 10.0,
                 attempts: int = 4, retry_s: float = 0.5,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
                 now: Callable[[], float] = time.time, card_template_id: str | None = None,
                 tokens: TokenStore | None = None, limiter: Limiter | None = None,
                 api_limiter: Limiter | None = None, throttle_s: float = THROTTLE_WAIT_S) -> None:
        if not settings.client_id or not settings.client_secret:
            from bot.config import ConfigError

            raise ConfigError("config error: DingTalk is enabled but dingtalk.client_id / dingtalk.client_secret "
                              "(开发者后台 → 凭证与基础信息 → Client ID / Client Secret) is empty")
        self.settings = settings
        self.endpoint = str(settings.openapi_endpoint).rstrip("/")
        self.robot_code = settings.robot_code or settings.client_id
        # the operator's card template (卡片平台 → 模板ID); without one, buttons become text commands
        self.card_template_id = card_template_id if card_template_id is not None else settings.card_template_id
        self._presses = PendingPresses()  # user → presses awaiting their answer
        self._card_peers: dict[str, Peer] = {}  # outTrackId → where the card was delivered
        self.backoff, self.timeout_s, self.attempts, self.retry_s = backoff, timeout_s, max(1, attempts), retry_s
        self.sleep, self.now = sleep, now
        self.connected = False
        self.health = ChannelHealth()  # the OpenAPI's answers (/healthz), besides the stream's state
        self._submit: Submit | None = None
        self._webhooks: dict[str, tuple[str, float]] = {}  # peer key → (url, expires epoch s)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._runner: asyncio.Task[None] | None = None
        self._stopping = False
        self._ws: Any = None
        self._session: aiohttp.ClientSession | None = None
        self._token: tuple[str, float] | None = None
        self._token_lock = asyncio.Lock()
        self.tokens = tokens  # shared with the other boxes on the database (bot/shared.py)
        # DingTalk's limits (bot/shared.SharedLimiter when boxes share the database)
        self.limiter: Limiter = limiter or LocalLimiter(peer_limits(settings))  # per person or group
        self.api_limiter: Limiter = api_limiter or LocalLimiter(api_limits(settings))  # per OpenAPI path
        self.throttle_s = throttle_s
        sdk_log = logging.getLogger("bot.dingtalk.sdk")
        sdk_log.addFilter(_QuietPings())
        self.client = _StreamClient(dingtalk_stream.Credential(settings.client_id, settings.client_secret),
                                    self.endpoint + "/v1.0/gateway/connections/open", timeout_s, sdk_log)
        self.client.register_callback_handler(ChatbotMessage.TOPIC, _Handler(self))
        if self.card_template_id:  # subscribe to presses only when cards are sent at all
            self.client.register_callback_handler(CARD_TOPIC, _CardHandler(self))

    # -- lifecycle ----------------------------------------------------------------

    async def check(self) -> str | None:
        """Whether the credentials work (an access token now): None, or what DingTalk said."""
        try:
            await self.access_token()
        except DingtalkError as exc:
            self.health.failed(str(exc), credentials=True)
            return str(exc)
        self.health.ok()
        return None

    async def start(self, submit: Submit) -> None:
        self._submit = submit
        self._stopping = False
        self.client.pre_start()
        self._runner = asyncio.create_task(self._run(), name="dingtalk-stream")

    async def stop(self) -> None:
        self._stopping = True
        if self._ws is not None:
            try:
                await self._ws.close()
            except Exception:  # noqa: BLE001, S110 - already closing; the runner is cancelled next
                pass
        if self._runner is not None:
            self._runner.cancel()
            await asyncio.gather(self._runner, return_exceptions=True)
            self._runner = None
        if self._tasks:  # handlers mid-submit: let them finish their inbox write
            await asyncio.wait(list(self._tasks), timeout=10)
        self._submit = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _delay(self, failures: int) -> float:
        base, cap = self.backoff
        return min(cap, base * 2 ** max(0, failures - 1)) * random.uniform(0.5, 1.0)

    async def _run(self) -> None:
        """Connect, read frames, and reconnect with capped exponential backoff and jitter."""
        failures = 0
        while not self._stopping:
            metrics.STREAM_RECONNECTS.inc(channel=CHANNEL)
            got_frames = False
            try:
                conn = await asyncio.wait_for(asyncio.to_thread(self.client.open_connection),
                                              self.timeout_s + 5)
                if not conn:
                    raise ConnectionError("connections/open failed")
                uri = f'{conn["endpoint"]}?ticket={quote_plus(conn["ticket"])}'
                async with websockets.connect(uri, open_timeout=self.timeout_s, ping_interval=20,
                                              ping_timeout=20, close_timeout=2, max_size=4 * 2**20) as ws:
                    self._ws = self.client.websocket = ws
                    self._set_connected(True)
                    log.info("DingTalk stream connected")
                    async for raw in ws:
                        got_frames, failures = True, 0
                        try:
                            frame = json.loads(raw)
                        except ValueError:
                            continue
                        self._spawn(self.client.background_task(frame))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the URI holds a ticket: log the type only
                log.warning("DingTalk stream dropped: %s", type(exc).__name__)
            finally:
                self._set_connected(False)
                self._ws = None
            if self._stopping:
                break
            if not got_frames:
                failures += 1
            delay = self._delay(failures)
            log.info("DingTalk stream reconnecting in %.1f s", delay)
            await self.sleep(delay)

    def _set_connected(self, value: bool) -> None:
        self.connected = value
        metrics.STREAM_CONNECTED.set(1 if value else 0, channel=CHANNEL)

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- inbound ------------------------------------------------------------------

    async def accept(self, data: dict[str, Any]) -> tuple[int, str]:
        """Convert and persist one robot message; the returned code becomes the ack."""
        t0 = time.perf_counter()
        msg = to_incoming(data)
        if msg is None or self._submit is None:
            return AckMessage.STATUS_OK, "ignored"
        self._remember_webhook(msg.sender, data)
        try:
            fresh = await self._submit(msg)
        except Exception:  # not stored: a failure ack lets DingTalk deliver it again
            log.exception("storing DingTalk message %s failed", msg.source_key)
            return AckMessage.STATUS_SYSTEM_EXCEPTION, "store failed"
        (metrics.MESSAGES_RECEIVED if fresh else metrics.MESSAGES_DUPLICATE).inc(channel=CHANNEL)
        metrics.ACK_SECONDS.observe(time.perf_counter() - t0, channel=CHANNEL)
        return AckMessage.STATUS_OK, "OK"

    async def accept_card(self, data: dict[str, Any], born_ms: int | None = None) -> tuple[int, Any]:
        """Convert and persist one card press; the card itself is updated once it is answered."""
        t0 = time.perf_counter()
        msg = card_press_to_incoming(data, self._card_peers.get(str(data.get("outTrackId") or "")), born_ms)
        if msg is None or self._submit is None:
            return AckMessage.STATUS_OK, {}
        try:
            fresh = await self._submit(msg)
        except Exception:  # not stored: a failure ack lets DingTalk deliver it again
            log.exception("storing DingTalk card press %s failed", msg.source_key)
            return AckMessage.STATUS_SYSTEM_EXCEPTION, {}
        if fresh:
            self._presses.add(msg.sender.user_id, Press(str(data["outTrackId"]), msg.text))
        (metrics.MESSAGES_RECEIVED if fresh else metrics.MESSAGES_DUPLICATE).inc(channel=CHANNEL)
        metrics.ACK_SECONDS.observe(time.perf_counter() - t0, channel=CHANNEL)
        return AckMessage.STATUS_OK, {}

    def _remember_webhook(self, peer: Peer, data: dict[str, Any]) -> None:
        url, expires = data.get("sessionWebhook"), data.get("sessionWebhookExpiredTime")
        if url and expires:
            try:
                self._webhooks[peer.conversation_id or peer.user_id] = (str(url), int(expires) / 1000)
            except (TypeError, ValueError):
                pass

    # -- outbound -----------------------------------------------------------------

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout_s))
        return self._session

    async def send(self, to: Peer, reply: Reply) -> None:
        """Deliver a reply as one or more messages (and a card); raises DingtalkError on failure."""
        if reply.image is not None:
            log.info("DingTalk reply: picture left out (robots send images only by public URL)")
        press = self._presses.take(to.user_id, reply)
        if press is not None and not reply.keep_card:  # the record changed: its card says how
            await self._update_card(press, reply)
        if not (reply.buttons and self.card_template_id):
            for message in self._messages(reply):
                await self._send_one(to, *message)
            return
        lines = reply.text.strip().splitlines() or [""]
        title, body = _clip(lines[0].lstrip("#* ").strip(), CARD_TITLE_MAX), "\n".join(lines[1:]).strip()
        text_first = len(reply.text.encode()) > TEXT_LIMIT
        if text_first:  # too long for one card: the text first, then a short card with the buttons
            for message in self._messages(Reply(reply.text, markdown=reply.markdown)):
                await self._send_one(to, *message)
            body = CARD_SEE_ABOVE
        if await self._send_card(to, reply, title, body):
            return
        if text_first:  # the card failed: the commands as text
            hint = self._hint(reply, reply.text)
            if hint:
                await self._send_one(to, False, self._title(reply.text), hint)
        else:
            for message in self._messages(reply):
                await self._send_one(to, *message)

    @staticmethod
    def _hint(reply: Reply, text: str) -> str:
        """The buttons as commands to type; those the text's last line already names are left out."""
        last = (text.strip().splitlines() or [""])[-1]
        commands = dict.fromkeys(_button_command(b.key, b.label) for b in reply.buttons)
        todo = [c for c in commands if c.split()[0] not in last]
        return CARD_FALLBACK.format(commands="".join(f"「{c}」" for c in todo)) if todo else ""

    def _messages(self, reply: Reply) -> list[tuple[bool, str, str]]:
        """(markdown?, title, text) per message: split under TEXT_LIMIT, buttons as commands."""
        text = reply.text.rstrip()
        hint = self._hint(reply, text) if reply.buttons else ""
        if hint:
            text = text + "\n" + hint
        if not text.strip():
            return []
        chunks = split_bytes(text, TEXT_LIMIT)
        title = self._title(text)
        if len(chunks) == 1:
            return [(reply.markdown, title, chunks[0])]
        short = _clip(title, TITLE_MAX - 6)
        return [(reply.markdown, CONTINUED_TITLE.format(title=short, n=i, total=len(chunks)), c)
                for i, c in enumerate(chunks, 1)]

    async def _send_one(self, to: Peer, markdown: bool, title: str, text: str) -> None:
        """One message: the sessionWebhook while valid, else the robot API."""
        key = to.conversation_id or to.user_id
        await wait_for_slot(self.limiter, key, self.sleep, "DingTalk per-person")
        hook = self._webhooks.get(key)
        if hook is not None and hook[1] - WEBHOOK_MARGIN_S > self.now():
            try:
                await self._post_webhook(hook[0], to, markdown, title, text)
                metrics.PUSHES_SENT.inc(channel=CHANNEL)
                return
            except DingtalkError as exc:
                log.warning("sessionWebhook failed (%s); using the robot API", exc)
                self._webhooks.pop(key, None)
        try:
            await self._proactive(to, markdown, title, text)
        except DingtalkError:
            metrics.PUSHES_FAILED.inc(channel=CHANNEL)
            raise
        metrics.PUSHES_SENT.inc(channel=CHANNEL)

    @staticmethod
    def _title(text: str) -> str:
        first = (text.strip().splitlines() or [DEFAULT_TITLE])[0].lstrip("#* ").strip()
        return first[:TITLE_MAX] or DEFAULT_TITLE

    async def _post_webhook(self, url: str, to: Peer, markdown: bool, title: str, text: str) -> None:
        if markdown:
            body: dict[str, Any] = {"msgtype": "markdown", "markdown": {"title": title, "text": text}}
        else:
            body = {"msgtype": "text", "text": {"content": text}}
        if to.conversation_id:
            body["at"] = {"atUserIds": [to.user_id], "isAtAll": False}
        try:
            async with self.session.post(url, json=body) as r:
                data = await r.json(content_type=None) if r.status < 500 else {}
                if r.status >= 400 or int(data.get("errcode", 0) or 0) != 0:
                    raise DingtalkError(f"webhook HTTP {r.status} errcode {data.get('errcode')}")
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            raise DingtalkError(f"webhook {type(exc).__name__}") from None

    async def _proactive(self, to: Peer, markdown: bool, title: str, text: str) -> None:
        if markdown:
            key, param = "sampleMarkdown", {"title": title, "text": text}
        else:
            key, param = "sampleText", {"content": text}
        body: dict[str, Any] = {"robotCode": self.robot_code, "msgKey": key,
                                "msgParam": json.dumps(param, ensure_ascii=False)}
        if to.conversation_id:
            body["openConversationId"] = to.conversation_id
            await self.api("POST", "/v1.0/robot/groupMessages/send", body)
        else:
            body["userIds"] = [to.user_id]
            data = await self.api("POST", "/v1.0/robot/oToMessages/batchSend", body)
            if to.user_id in (data.get("invalidStaffIdList") or []):  # HTTP 200, yet nobody got it
                raise DingtalkError("batchSend: DingTalk names the person invalid (left the organisation, "
                                    "or outside the robot's visible range)")

    # -- interactive cards --------------------------------------------------------

    async def _send_card(self, to: Peer, reply: Reply, title: str, body: str) -> bool:
        """createAndDeliver a card with request buttons; False (logged) when DingTalk refuses it."""
        track = card_track_id(reply.ref)
        params = {"title": title or DEFAULT_TITLE, "content": body, "status": "",
                  "buttons": json.dumps([{"text": b.label, "key": b.key} for b in reply.buttons],
                                        ensure_ascii=False)}
        payload: dict[str, Any] = {"cardTemplateId": self.card_template_id, "outTrackId": track,
                                   "callbackType": "STREAM", "userIdType": 1,
                                   "cardData": {"cardParamMap": params}}
        preview = {"ZH_CN": title or DEFAULT_TITLE}
        await wait_for_slot(self.limiter, to.conversation_id or to.user_id, self.sleep, "DingTalk per-person")
        if to.conversation_id:
            payload["openSpaceId"] = f"dtv1.card//IM_GROUP.{to.conversation_id}"
            payload["imGroupOpenSpaceModel"] = {"supportForward": False, "lastMessageI18n": preview}
            payload["imGroupOpenDeliverModel"] = {"robotCode": self.robot_code}
        else:
            payload["openSpaceId"] = f"dtv1.card//IM_ROBOT.{to.user_id}"
            payload["imRobotOpenSpaceModel"] = {"supportForward": False, "lastMessageI18n": preview}
            payload["imRobotOpenDeliverModel"] = {"spaceType": "IM_ROBOT", "robotCode": self.robot_code}
        try:
            data = await self.api("POST", "/v1.0/card/instances/createAndDeliver", payload)
        except DingtalkError as exc:
            log.warning("sending the card failed (%s); listing the commands instead", exc)
            return False
        raw_result = data.get("result")
        result: dict[str, Any] = raw_result if isinstance(raw_result, dict) else {}
        delivered = [d for d in result.get("deliverResults") or [] if isinstance(d, dict)]
        if data.get("success") is False or not delivered or not all(d.get("success") for d in delivered):
            errors = [d.get("errorMsg") for d in delivered]
            log.warning("card not delivered (%s); listing the commands instead", errors)
            return False
        self._card_peers[track] = to
        if len(self._card_peers) > 1000:  # only a hint for group presses: keep it bounded
            self._card_peers.pop(next(iter(self._card_peers)))
        metrics.PUSHES_SENT.inc(channel=CHANNEL)
        return True

    async def _update_card(self, press: Press, reply: Reply) -> None:
        """Show the answer on the pressed card (the reference template then hides its buttons)."""
        status = _clip((reply.text.strip().splitlines() or [CARD_DONE])[0], CARD_STATUS_MAX)
        try:
            await self.api("PUT", "/v1.0/card/instances", {
                "outTrackId": press.token, "cardData": {"cardParamMap": {"status": status}},
                "cardUpdateOptions": {"updateCardDataByKey": True}})
        except DingtalkError as exc:  # cosmetic: the reply itself still goes out
            log.warning("updating the pressed card failed: %s", exc)

    async def fetch_media(self, media: Media) -> bytes:
        """messageFiles/download → temporary downloadUrl → bytes (voice is AMR)."""
        data = await self.api("POST", "/v1.0/robot/messageFiles/download",
                              {"downloadCode": media.key, "robotCode": self.robot_code})
        url = data.get("downloadUrl")
        if not url:
            raise DingtalkError("no downloadUrl in messageFiles/download answer")
        for attempt in range(1, self.attempts + 1):
            try:
                async with self.session.get(url) as r:
                    if r.status < 400:
                        return await r.read()
                    if r.status < 500:
                        raise DingtalkError(f"download HTTP {r.status}")
            except (TimeoutError, aiohttp.ClientError):
                pass
            if attempt < self.attempts:
                await self.sleep(self.retry_s * 2 ** (attempt - 1))
        raise DingtalkError("media download failed after retries")

    # -- OpenAPI ------------------------------------------------------------------

    async def access_token(self, stale: str | None = None) -> str:
        async with self._token_lock:
            if self._token and self._token[0] != stale and self.now() < self._token[1]:
                return self._token[0]
            if shared := await token_from_others(self.tokens, stale):  # another box fetched it
                self._token = (shared, self.now() + SHARED_TOKEN_REREAD_S)
                return shared
            try:
                async with self.session.post(self.endpoint + "/v1.0/oauth2/accessToken",
                                             json={"appKey": self.settings.client_id,
                                                   "appSecret": self.settings.client_secret}) as r:
                    data = await r.json(content_type=None)
                    if r.status >= 400 or not data.get("accessToken"):
                        raise DingtalkError(f"accessToken HTTP {r.status} {data.get('code', '')}")
            except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
                raise DingtalkError(f"accessToken {type(exc).__name__}") from None
            lifetime = max(60, int(data.get("expireIn", 7200)) - 300)
            self._token = (str(data["accessToken"]), self.now() + lifetime)
            if self.tokens is not None:
                await self.tokens.put(self._token[0], lifetime)
            metrics.TOKEN_REFRESHES.inc(channel=CHANNEL)
            return self._token[0]

    async def api(self, method: str, path: str, body: Any) -> dict[str, Any]:
        """An OpenAPI call: one token refresh on 401, bounded retries on 5xx/network errors; its
        outcome feeds `health` (/healthz)."""
        try:
            out = await self._api(method, path, body)
        except DingtalkError as exc:
            self.health.failed(str(exc))
            raise
        self.health.ok()
        return out

    async def _api(self, method: str, path: str, body: Any) -> dict[str, Any]:
        refreshed = False
        attempt = 0
        while True:
            tok = await self.access_token()
            await wait_for_slot(self.api_limiter, path, self.sleep, "DingTalk API")
            try:
                async with self.session.request(method, self.endpoint + path, json=body,
                                                headers={"x-acs-dingtalk-access-token": tok}) as r:
                    if r.status >= 500 or r.status == 429:
                        raise _Transient(f"HTTP {r.status}")
                    data = await r.json(content_type=None)
                    status = r.status
            except (TimeoutError, aiohttp.ClientError, ValueError, _Transient) as exc:
                attempt += 1
                if attempt >= self.attempts:
                    raise DingtalkError(f"{path} failed after {attempt} attempts ({type(exc).__name__})") from None
                await self.sleep(self.retry_s * 2 ** (attempt - 1))
                continue
            if status == 401 and not refreshed:
                refreshed = True
                await self.access_token(stale=tok)
                continue
            if (why := throttled(status, data)) is not None:
                metrics.PUSHES_THROTTLED.inc(channel=CHANNEL)
                attempt += 1
                if attempt >= self.attempts:
                    raise DingtalkError(f"{path} refused for DingTalk's rate limit ({why}) {attempt} times")
                log.info("DingTalk refused %s for its rate limit (%s); trying again", path, why)
                await self.sleep(max(self.throttle_s, self.retry_s * 2 ** (attempt - 1)))
                continue
            if status >= 400:
                raise DingtalkError(f"{path} HTTP {status} {data.get('code', '')}: {data.get('message', '')}")
            return data if isinstance(data, dict) else {}
