"""DingTalk (钉钉) robot channel in stream mode.

Inbound: dingtalk-stream's frame parsing, handler and ack code, driven by our own connection
loop, because the SDK 0.24.3 loop blocks the event loop (`requests.post` without timeout),
cannot be cancelled and reconnects without backoff. The handler persists each robot message
through `submit` and returns at once; the SDK acks after it returns, so an acked message is
always in the inbox, and DingTalk's redeliveries (same `msgId`) are dropped there.
Outbound: markdown/text through the message's `sessionWebhook` while it is valid (≈90 min),
else the robot APIs `oToMessages/batchSend` (1:1) or `groupMessages/send` (groups).
Every URL comes from `settings.dingtalk.openapi_endpoint`, never from the SDK's
import-time `DINGTALK_OPENAPI_ENDPOINT`.
"""
from __future__ import annotations

import asyncio
import json
import logging
import random
import time
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
from bot.types import IncomingMessage, Kind, Media, Peer, Reply, Submit

log = logging.getLogger(__name__)

CHANNEL = "dingtalk"
WEBHOOK_MARGIN_S = 60  # don't use a sessionWebhook in its last minute
TITLE_MAX = 20


class DingtalkError(Exception):
    """A DingTalk API failure; never carries tokens or secrets."""


class _Transient(Exception):
    pass


class _QuietPings(logging.Filter):
    """The SDK logs every SYSTEM ping as an 'unknown message topic' warning."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("unknown message topic")


# ---------------------------------------------------------------- conversion


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


# ---------------------------------------------------------------- the channel


class DingtalkChannel:
    """The DingTalk robot (stream mode) as a `Channel`."""

    name = CHANNEL

    def __init__(self, settings: Any, *, backoff: tuple[float, float] = (1.0, 60.0), timeout_s: float = 10.0,
                 attempts: int = 4, retry_s: float = 0.5,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
                 now: Callable[[], float] = time.time) -> None:
        if not settings.client_id or not settings.client_secret:
            from bot.config import ConfigError

            raise ConfigError("config error: DingTalk is enabled but dingtalk.client_id / dingtalk.client_secret "
                              "(开发者后台 → 凭证与基础信息 → Client ID / Client Secret) is empty")
        self.settings = settings
        self.endpoint = str(settings.openapi_endpoint).rstrip("/")
        self.robot_code = settings.robot_code or settings.client_id
        self.backoff, self.timeout_s, self.attempts, self.retry_s = backoff, timeout_s, max(1, attempts), retry_s
        self.sleep, self.now = sleep, now
        self.connected = False
        self._submit: Submit | None = None
        self._webhooks: dict[str, tuple[str, float]] = {}  # peer key → (url, expires epoch s)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._runner: asyncio.Task[None] | None = None
        self._stopping = False
        self._ws: Any = None
        self._session: aiohttp.ClientSession | None = None
        self._token: tuple[str, float] | None = None
        self._token_lock = asyncio.Lock()
        sdk_log = logging.getLogger("bot.dingtalk.sdk")
        sdk_log.addFilter(_QuietPings())
        self.client = _StreamClient(dingtalk_stream.Credential(settings.client_id, settings.client_secret),
                                    self.endpoint + "/v1.0/gateway/connections/open", timeout_s, sdk_log)
        self.client.register_callback_handler(ChatbotMessage.TOPIC, _Handler(self))

    # -- lifecycle ----------------------------------------------------------------

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
        """sessionWebhook while valid, else the robot API; raises DingtalkError when both fail."""
        key = to.conversation_id or to.user_id
        hook = self._webhooks.get(key)
        if hook is not None and hook[1] - WEBHOOK_MARGIN_S > self.now():
            try:
                await self._post_webhook(hook[0], to, reply)
                metrics.PUSHES_SENT.inc(channel=CHANNEL)
                return
            except DingtalkError as exc:
                log.warning("sessionWebhook failed (%s); using the robot API", exc)
                self._webhooks.pop(key, None)
        try:
            await self._proactive(to, reply)
        except DingtalkError:
            metrics.PUSHES_FAILED.inc(channel=CHANNEL)
            raise
        metrics.PUSHES_SENT.inc(channel=CHANNEL)

    @staticmethod
    def _title(reply: Reply) -> str:
        first = (reply.text.strip().splitlines() or ["销售助手"])[0].lstrip("#* ").strip()
        return first[:TITLE_MAX] or "销售助手"

    async def _post_webhook(self, url: str, to: Peer, reply: Reply) -> None:
        if reply.markdown:
            body: dict[str, Any] = {"msgtype": "markdown",
                                    "markdown": {"title": self._title(reply), "text": reply.text}}
        else:
            body = {"msgtype": "text", "text": {"content": reply.text}}
        if to.conversation_id:
            body["at"] = {"atUserIds": [to.user_id], "isAtAll": False}
        try:
            async with self.session.post(url, json=body) as r:
                data = await r.json(content_type=None) if r.status < 500 else {}
                if r.status >= 400 or int(data.get("errcode", 0) or 0) != 0:
                    raise DingtalkError(f"webhook HTTP {r.status} errcode {data.get('errcode')}")
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            raise DingtalkError(f"webhook {type(exc).__name__}") from None

    async def _proactive(self, to: Peer, reply: Reply) -> None:
        if reply.markdown:
            key, param = "sampleMarkdown", {"title": self._title(reply), "text": reply.text}
        else:
            key, param = "sampleText", {"content": reply.text}
        body: dict[str, Any] = {"robotCode": self.robot_code, "msgKey": key,
                                "msgParam": json.dumps(param, ensure_ascii=False)}
        if to.conversation_id:
            body["openConversationId"] = to.conversation_id
            await self.api("POST", "/v1.0/robot/groupMessages/send", body)
        else:
            body["userIds"] = [to.user_id]
            await self.api("POST", "/v1.0/robot/oToMessages/batchSend", body)

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
            try:
                async with self.session.post(self.endpoint + "/v1.0/oauth2/accessToken",
                                             json={"appKey": self.settings.client_id,
                                                   "appSecret": self.settings.client_secret}) as r:
                    data = await r.json(content_type=None)
                    if r.status >= 400 or not data.get("accessToken"):
                        raise DingtalkError(f"accessToken HTTP {r.status} {data.get('code', '')}")
            except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
                raise DingtalkError(f"accessToken {type(exc).__name__}") from None
            self._token = (str(data["accessToken"]), self.now() + int(data.get("expireIn", 7200)) - 300)
            metrics.TOKEN_REFRESHES.inc(channel=CHANNEL)
            return self._token[0]

    async def api(self, method: str, path: str, body: Any) -> dict[str, Any]:
        """An OpenAPI call: one token refresh on 401, bounded retries on 5xx/network errors."""
        refreshed = False
        attempt = 0
        while True:
            tok = await self.access_token()
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
            if status >= 400:
                raise DingtalkError(f"{path} HTTP {status} {data.get('code', '')}: {data.get('message', '')}")
            return data if isinstance(data, dict) else {}
