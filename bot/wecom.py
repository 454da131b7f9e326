"""WeCom (企业微信) self-built app channel.

Inbound: an aiohttp callback route verifies, decrypts (wechatpy's enterprise crypto) and
converts each callback, persists it through `submit`, and only then answers 200 with an empty
body, so WeCom never retries a stored message and a crash after the ack loses nothing.
Outbound: `message/send` (text, markdown, button cards, images uploaded with `media/upload`)
through a small async client with a cached access token, one bounded token retry, bounded
transient retries and per-member queues that wait and merge instead of exceeding WeCom's
30/min and 1000/h limits (WeCom silently drops the excess). wechatpy's own HTTP client is
not used: it is synchronous, has no template-card types and its token retry has no bound.
"""
from __future__ import annotations

import asyncio
import binascii
import json
import logging
import re
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.enterprise.exceptions import InvalidCorpIdException
from wechatpy.exceptions import InvalidSignatureException

from bot import metrics
from bot.shared import (
    SHARED_TOKEN_REREAD_S,
    Limiter,
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

CHANNEL = "wecom"
TEXT_LIMIT = 2048  # bytes, text and markdown content (longer is truncated by WeCom)
GROUP_MARKDOWN_LIMIT = 4096  # bytes, group robot markdown
TOKEN_ERRORS = frozenset({40001, 40014, 42001})  # invalid/expired access token
TRANSIENT_ERRORS = frozenset({-1, 45009, 45033})  # busy, API frequency, concurrency
# gettoken's answers that no retry fixes: wrong secret / corp id, untrusted server IP
CREDENTIAL_ERRORS = frozenset({40001, 40013, 40091, 41002, 41004, 60020})
MEMBER_LIMITS = ((30, 60.0), (1000, 3600.0))  # per app → same member (doc 90454)
DUPLICATE_CHECK = {"enable_duplicate_check": 1, "duplicate_check_interval": 600}  # message/send
CARD_TITLE_MAX = 26  # characters, "建议不超过26个字"
CARD_BODY_MAX = 112  # characters of sub_title_text
CARD_BUTTON_MAX = 10  # characters of a button label / replace_name
MAX_MEDIA_BYTES = 20 * 1024 * 1024  # media/get without Range
IMAGE_MAX_BYTES = 10 * 1024 * 1024  # media/upload type=image: JPG/PNG, 5 B … 10 MB (doc 90253)


class WecomError(Exception):
    """A WeCom API failure; the message never contains tokens or secrets."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"WeCom errcode {errcode}: {errmsg}")
        self.errcode, self.errmsg = errcode, errmsg


class Rejected(Exception):
    """A callback we refuse: HTTP status plus a short reason for logs and metrics."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


# ---------------------------------------------------------------- callback: verify & convert

_FORBIDDEN_XML = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


def _check_xml(data: bytes) -> None:
    if _FORBIDDEN_XML.search(data):
        raise Rejected(400, "xml-dtd")


def _to_dict(el: ET.Element) -> dict[str, Any]:
    return {child.tag: (_to_dict(child) if len(child) else (child.text or "")) for child in el}


def _parse_xml(data: bytes) -> dict[str, Any]:
    """Flat WeCom XML → dict. DTDs are refused before parsing, so no entity is ever expanded.

    ElementTree (C expat) rather than xmltodict: a third of the callback's CPU time.
    """
    _check_xml(data)
    try:
        root = ET.fromstring(data)
    except (ET.ParseError, ValueError) as exc:
        raise Rejected(400, "xml-malformed") from exc
    if root.tag != "xml":
        raise Rejected(400, "xml-malformed")
    return _to_dict(root)


class CallbackVerifier:
    """Signature, time window and decryption for WeCom callbacks (GET and POST)."""

    def __init__(self, token: str, encoding_aes_key: str, corp_id: str, *, window_s: float = 300,
                 now: Callable[[], float] = time.time) -> None:
        self.crypto = WeChatCrypto(token, encoding_aes_key, corp_id)
        self.window_s = window_s
        self.now = now

    def _params(self, query: Any) -> tuple[str, str, str]:
        sig, ts, nonce = query.get("msg_signature"), query.get("timestamp"), query.get("nonce")
        if not sig or not ts or not nonce:
            raise Rejected(400, "missing-params")
        try:
            stamp = int(ts)
        except ValueError:
            raise Rejected(400, "bad-timestamp") from None
        if self.window_s > 0 and abs(self.now() - stamp) > self.window_s:
            raise Rejected(403, "stale-timestamp")
        return sig, ts, nonce

    def _decrypt(self, fn: Callable[[], Any]) -> str:
        try:
            plain = fn()
        except InvalidSignatureException:
            raise Rejected(403, "bad-signature") from None
        except InvalidCorpIdException:
            raise Rejected(403, "bad-receiveid") from None
        except (ValueError, TypeError, KeyError, IndexError, binascii.Error, UnicodeError):
            raise Rejected(400, "undecryptable") from None
        return plain.decode("utf-8") if isinstance(plain, bytes) else str(plain)

    def echo(self, query: Any) -> str:
        """GET URL verification: the decrypted echostr is the response body."""
        sig, ts, nonce = self._params(query)
        echostr = query.get("echostr")
        if not echostr:
            raise Rejected(400, "missing-params")
        echostr = echostr.replace(" ", "+")  # a '+' left unescaped by a proxy decodes to ' '
        return self._decrypt(lambda: self.crypto.check_signature(sig, ts, nonce, echostr))

    def message(self, query: Any, body: bytes) -> dict[str, Any]:
        """POST: the decrypted, parsed inner XML as a dict."""
        sig, ts, nonce = self._params(query)
        envelope = _parse_xml(body)
        if not isinstance(envelope.get("Encrypt"), str):
            raise Rejected(400, "no-encrypt")
        plain = self._decrypt(
            lambda: self.crypto.decrypt_message({"Encrypt": envelope["Encrypt"]}, sig, ts, nonce))
        return _parse_xml(plain.encode("utf-8"))


def _when(d: dict[str, Any]) -> datetime:
    try:
        return datetime.fromtimestamp(int(d.get("CreateTime") or 0), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return datetime.now(UTC)


def event_msg_id(d: dict[str, Any]) -> str:
    """Events have no MsgId; sender+time alone merges distinct events (WxJava #1745)."""
    return ":".join(str(d.get(k) or "") for k in ("FromUserName", "CreateTime", "Event", "EventKey",
                                                    "TaskId"))


def to_incoming(d: dict[str, Any]) -> IncomingMessage | None:
    """Convert a decrypted callback; None for events the bot does not act on."""
    sender = d.get("FromUserName")
    mtype = str(d.get("MsgType") or "").lower()
    if not sender or not mtype:
        raise Rejected(400, "incomplete-message")
    peer = Peer(CHANNEL, str(sender))
    when = _when(d)
    if mtype == "event":
        event = str(d.get("Event") or "").lower()
        if event == "enter_agent":
            return IncomingMessage(CHANNEL, event_msg_id(d), peer, Kind.EVENT, when, event="enter")
        if event == "template_card_event":
            return IncomingMessage(CHANNEL, event_msg_id(d), peer, Kind.EVENT, when,
                                   text=str(d.get("EventKey") or ""), event="button")
        return None
    msg_id = d.get("MsgId")
    if not msg_id:
        return None
    if mtype == "text":
        return IncomingMessage(CHANNEL, str(msg_id), peer, Kind.TEXT, when, text=str(d.get("Content") or ""))
    if mtype == "voice":
        fmt = str(d.get("Format") or "amr").lower()
        return IncomingMessage(CHANNEL, str(msg_id), peer, Kind.VOICE, when,
                               media=Media(str(d.get("MediaId") or ""), fmt))
    if mtype == "image":
        return IncomingMessage(CHANNEL, str(msg_id), peer, Kind.IMAGE, when,
                               media=Media(str(d.get("MediaId") or ""), "jpg"))
    # file, video, location, link, …: answered politely by the core
    media = Media(str(d["MediaId"]), mtype) if d.get("MediaId") else None
    return IncomingMessage(CHANNEL, str(msg_id), peer, Kind.FILE, when, media=media)


# ---------------------------------------------------------------- API client


class WecomApi:
    """Access token cache and JSON API calls with bounded retries (never loops)."""

    def __init__(self, corp_id: str, secret: str, base: str = "https://qyapi.weixin.qq.com", *,
                 attempts: int = 4, backoff_s: float = 0.5, timeout_s: float = 10.0,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
                 clock: Callable[[], float] = time.monotonic, tokens: TokenStore | None = None) -> None:
        self.corp_id, self._secret = corp_id, secret
        self.tokens = tokens  # shared with the other boxes on the database (bot/shared.py)
        self.base = base.rstrip("/") + "/cgi-bin/"
        self.attempts, self.backoff_s = max(1, attempts), backoff_s
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self.sleep, self.clock = sleep, clock
        self._session: aiohttp.ClientSession | None = None
        self._token: str | None = None
        self._expires = 0.0
        self._lock = asyncio.Lock()
        self.health = ChannelHealth()

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def token(self, stale: str | None = None) -> str:
        """The cached token; refetched when near expiry or when `stale` was rejected."""
        async with self._lock:
            if self._token and self._token != stale and self.clock() < self._expires:
                return self._token
            if shared := await token_from_others(self.tokens, stale):
                self._token, self._expires = shared, self.clock() + SHARED_TOKEN_REREAD_S
                return shared
            try:
                async with self.session.get(self.base + "gettoken",
                                            params={"corpid": self.corp_id, "corpsecret": self._secret}) as r:
                    if r.status >= 400:
                        raise WecomError(-r.status, "gettoken HTTP error")
                    data = await r.json(content_type=None)
            except (TimeoutError, aiohttp.ClientError) as exc:
                raise WecomError(-1, f"gettoken network error: {type(exc).__name__}") from None
            if data.get("errcode", 0) != 0 or not data.get("access_token"):
                raise WecomError(int(data.get("errcode", -1)), str(data.get("errmsg", "gettoken failed")))
            self._token = str(data["access_token"])
            # WeCom may invalidate early; keep a 5-minute margin on the stated lifetime
            lifetime = max(60, int(data.get("expires_in", 7200)) - 300)
            self._expires = self.clock() + lifetime
            if self.tokens is not None:
                await self.tokens.put(self._token, lifetime)
            metrics.TOKEN_REFRESHES.inc(channel=CHANNEL)
            return self._token

    async def _once(self, method: str, path: str, params: dict[str, Any], payload: Any,
                    raw: bool, form: Callable[[], aiohttp.FormData] | None = None,
                    ) -> tuple[dict[str, Any] | None, bytes]:
        """One HTTP request; (json, b"") for JSON replies, (None, body) for binary ones."""
        body_kw: dict[str, Any] = {"data": form()} if form is not None else {"json": payload}
        try:
            async with self.session.request(method, self.base + path, params=params, **body_kw) as r:
                if r.status >= 500:
                    raise _Transient(f"HTTP {r.status}")
                if r.status >= 400:
                    raise WecomError(-r.status, f"HTTP {r.status} on {path}")
                ctype = r.headers.get("Content-Type", "")
                if raw and "json" not in ctype and "text/plain" not in ctype:
                    if (r.content_length or 0) > MAX_MEDIA_BYTES:
                        raise WecomError(-413, "media too large")
                    return None, await r.read()
                body = await r.read()
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _Transient(type(exc).__name__) from None
        try:
            return json.loads(body), b""
        except ValueError:
            raise _Transient("unparsable response") from None

    async def check(self) -> WecomError | None:
        """Fetch a token now (start of `serve`): None when the credentials work."""
        try:
            await self.token()
        except WecomError as exc:
            self.health.failed(str(exc), credentials=exc.errcode in CREDENTIAL_ERRORS)
            return exc
        self.health.ok()
        return None

    async def call(self, method: str, path: str, payload: Any = None, params: dict[str, Any] | None = None,
                   *, raw: bool = False, on_retry: Callable[[Any], Any] | None = None,
                   form: Callable[[], aiohttp.FormData] | None = None) -> Any:
        """An authenticated call: one token refresh at most, bounded transient retries; its
        outcome feeds `health` (/healthz).

        `form` builds a multipart body (uploads); a fresh one per attempt, as aiohttp's
        FormData can be sent only once.
        """
        try:
            out = await self._call(method, path, payload, params, raw=raw, on_retry=on_retry, form=form)
        except WecomError as exc:
            self.health.failed(str(exc), credentials=exc.errcode in CREDENTIAL_ERRORS)
            raise
        self.health.ok()
        return out

    async def _call(self, method: str, path: str, payload: Any, params: dict[str, Any] | None, *, raw: bool,
                    on_retry: Callable[[Any], Any] | None, form: Callable[[], aiohttp.FormData] | None) -> Any:
        refreshed = False
        attempt = 0
        while True:
            tok = await self.token()
            q = dict(params or {}, access_token=tok)
            try:
                data, blob = await self._once(method, path, q, payload, raw, form)
            except _Transient as exc:
                attempt += 1
                if attempt >= self.attempts:
                    raise WecomError(-1, f"{path} failed after {attempt} attempts: {exc}") from None
                await self.sleep(self.backoff_s * 2 ** (attempt - 1))
                payload = on_retry(payload) if on_retry else payload
                continue
            if data is None:
                return blob
            code = int(data.get("errcode", 0) or 0)
            if code == 0:
                return data
            if code in TOKEN_ERRORS and not refreshed:
                refreshed = True
                await self.token(stale=tok)
                continue
            if code in TRANSIENT_ERRORS:
                attempt += 1
                if attempt < self.attempts:
                    await self.sleep(self.backoff_s * 2 ** (attempt - 1))
                    payload = on_retry(payload) if on_retry else payload
                    continue
            raise WecomError(code, str(data.get("errmsg", "")))

    async def post_plain(self, url: str, payload: Any) -> dict[str, Any]:
        """POST without an access token (group robot webhook), bounded transient retries."""
        for attempt in range(1, self.attempts + 1):
            try:
                async with self.session.post(url, json=payload) as r:
                    if r.status < 500:
                        data = await r.json(content_type=None)
                        code = int(data.get("errcode", 0) or 0)
                        if code == 0:
                            return data
                        if code not in TRANSIENT_ERRORS:
                            raise WecomError(code, str(data.get("errmsg", "")))
            except (TimeoutError, aiohttp.ClientError, ValueError):
                pass
            if attempt < self.attempts:
                await self.sleep(self.backoff_s * 2 ** (attempt - 1))
        raise WecomError(-1, "webhook send failed after retries")


class _Transient(Exception):
    pass


# ---------------------------------------------------------------- rendering


def _clip(s: str, n: int) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"


def _task_id(ref: str | None, key: str | None = None) -> str:
    """A card's task id, unique per app: the stored answer's key when there is one (a resend is
    then the same card), else a random suffix."""
    base = re.sub(r"[^A-Za-z0-9_\-@]", "_", ref or "card")[:80]
    return f"{base}-{key}" if key else f"{base}-{uuid.uuid4().hex[:16]}"


def render(reply: Reply) -> list[dict[str, Any]]:
    """Reply → message/send bodies (without touser/agentid)."""
    if reply.buttons:
        lines = reply.text.strip().splitlines() or [""]
        title, rest = lines[0].strip(), "\n".join(lines[1:]).strip()
        out: list[dict[str, Any]] = []
        if len(title) > CARD_TITLE_MAX or len(rest) > CARD_BODY_MAX:
            # too long for a card: the full text first, then a short card carrying the buttons
            out = render(Reply(reply.text, markdown=reply.markdown))
            title, rest = _clip(title, CARD_TITLE_MAX), "请确认以上内容"
        card: dict[str, Any] = {
            "card_type": "button_interaction",
            "task_id": _task_id(reply.ref, reply.key),
            "main_title": {"title": title or "销售助手"},
            "button_list": [{"text": _clip(b.label, CARD_BUTTON_MAX), "style": 1 if i == 0 else 2, "key": b.key}
                            for i, b in enumerate(reply.buttons[:6])],
        }
        if rest:
            card["sub_title_text"] = rest
        out.append({"msgtype": "template_card", "template_card": card})
        return out
    if not reply.text.strip():
        return []
    kind = "markdown" if reply.markdown else "text"
    return [{"msgtype": kind, kind: {"content": chunk}} for chunk in split_bytes(reply.text, TEXT_LIMIT)]


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any] | None:
    """Two queued text/markdown bodies as one, if the result still fits."""
    kind = a["msgtype"]
    if kind not in ("text", "markdown") or b["msgtype"] != kind:
        return None
    content = a[kind]["content"] + "\n\n" + b[kind]["content"]
    if len(content.encode()) > TEXT_LIMIT:
        return None
    return {"msgtype": kind, kind: {"content": content}}


# ---------------------------------------------------------------- per-member rate limits


def member_limiter(clock: Callable[[], float] = time.monotonic) -> LocalLimiter:
    """WeCom's per-member limits counted in this process (one box); boxes sharing a database use
    bot/shared.SharedLimiter with MEMBER_LIMITS instead."""
    return LocalLimiter(MEMBER_LIMITS, clock)


@dataclass
class _Pending:
    body: dict[str, Any]
    futures: list[asyncio.Future[None]] = field(default_factory=list)


# ---------------------------------------------------------------- the channel


def check_settings(settings: Any) -> None:
    """Fail at start-up with the key to fix, not at the first callback."""
    from bot.config import ConfigError

    where = {"corp_id": "我的企业 → 企业ID", "agent_id": "应用管理 → AgentId", "secret": "应用管理 → Secret",
             "token": "接收消息 → 设置API接收 → Token",
             "encoding_aes_key": "接收消息 → 设置API接收 → EncodingAESKey"}
    missing = [k for k in where if not str(getattr(settings, k, "") or "").strip()]
    if missing:
        raise ConfigError("config error: WeCom is enabled but " + ", ".join(
            f"wecom.{k} (from {where[k]})" for k in missing) + " is empty")
    key = str(settings.encoding_aes_key)
    if len(key) != 43 or not key.isalnum():
        raise ConfigError("config error: wecom.encoding_aes_key must be the 43 letters/digits shown "
                          "under 接收消息 → 设置API接收 → EncodingAESKey")



class WecomChannel:
    """The WeCom self-built app as a `Channel`; mount `callback` on an aiohttp app."""

    name = CHANNEL
    takes_images = True  # Reply.image: media/upload + image message

    def __init__(self, settings: Any, *, api: WecomApi | None = None, now: Callable[[], float] = time.time,
                 limiter: Limiter | None = None, tokens: TokenStore | None = None,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> None:
        check_settings(settings)
        self.settings = settings
        self.agent_id = int(settings.agent_id) if str(settings.agent_id).isdigit() else settings.agent_id
        self.max_body = settings.max_body_bytes
        self.verifier = CallbackVerifier(settings.token, settings.encoding_aes_key, settings.corp_id,
                                         window_s=float(settings.timestamp_window_s), now=now)
        self.api = api or WecomApi(settings.corp_id, settings.secret, settings.api_base, sleep=sleep, tokens=tokens)
        self.limiter: Limiter = limiter or member_limiter()
        self.sleep = sleep
        self._submit: Submit | None = None
        self._queues: dict[str, list[_Pending]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._presses = PendingPresses()

    # -- lifecycle ----------------------------------------------------------------

    @property
    def health(self) -> ChannelHealth:
        return self.api.health

    async def check(self) -> str | None:
        """Whether the credentials work (a token fetch now): None, or what WeCom said."""
        err = await self.api.check()
        return None if err is None else f"{err.errcode} {err.errmsg}"

    async def start(self, submit: Submit) -> None:
        self._submit = submit

    async def stop(self) -> None:
        self._submit = None
        workers = list(self._workers.values())
        if workers:  # deliver what is queued (bounded by the API client's retries)
            await asyncio.wait(workers, timeout=30)
        for t in workers:
            t.cancel()
        await self.api.close()

    def install(self, app: web.Application, path: str | None = None) -> None:
        path = path or self.settings.callback_path
        app.router.add_get(path, self.handle_get)
        app.router.add_post(path, self.handle_post)

    # -- inbound ------------------------------------------------------------------

    async def handle_get(self, request: web.Request) -> web.Response:
        try:
            echo = self.verifier.echo(request.query)
        except Rejected as exc:
            return self._reject(exc)
        return web.Response(text=echo, content_type="text/plain")

    async def handle_post(self, request: web.Request) -> web.Response:
        t0 = time.perf_counter()
        if self._submit is None:
            return web.Response(status=503, text="not ready")
        try:
            body = await self._read_body(request)
            d = self.verifier.message(request.query, body)
            agent = d.get("AgentID")
            if agent and self.settings.agent_id and str(agent) != str(self.settings.agent_id):
                raise Rejected(403, "other-agent")
            msg = to_incoming(d)
        except Rejected as exc:
            return self._reject(exc)
        if msg is not None:
            try:
                fresh = await self._submit(msg)
            except Exception:  # not stored: a non-200 makes WeCom retry
                log.exception("storing WeCom message %s failed", msg.source_key)
                return web.Response(status=500)
            if fresh:
                metrics.MESSAGES_RECEIVED.inc(channel=CHANNEL)
                if msg.event == "button" and d.get("ResponseCode"):
                    self._presses.add(msg.sender.user_id, Press(str(d["ResponseCode"]), msg.text))
            else:
                metrics.MESSAGES_DUPLICATE.inc(channel=CHANNEL)
        metrics.ACK_SECONDS.observe(time.perf_counter() - t0, channel=CHANNEL)
        return web.Response(status=200, body=b"")

    async def _read_body(self, request: web.Request) -> bytes:
        if request.content_length is not None and request.content_length > self.max_body:
            raise Rejected(413, "too-large")
        body = await request.content.read(self.max_body + 1)
        if len(body) > self.max_body:
            raise Rejected(413, "too-large")
        if not body:
            raise Rejected(400, "empty-body")
        return body

    def _reject(self, exc: Rejected) -> web.Response:
        metrics.MESSAGES_REJECTED.inc(channel=CHANNEL, reason=exc.reason)
        log.warning("WeCom callback rejected: %s", exc.reason)
        return web.Response(status=exc.status, text=exc.reason)

    # -- outbound -----------------------------------------------------------------

    async def send(self, to: Peer, reply: Reply) -> None:
        """Deliver a reply; returns once WeCom accepted it, raises WecomError otherwise.

        A picture is uploaded before anything is sent, so a failed upload fails the whole
        reply (the outbox retries it) instead of leaving the text sent without its chart.
        """
        bodies = render(reply)
        if reply.image:
            media_id = await self.upload_image(reply.image)
            bodies.append({"msgtype": "image", "image": {"media_id": media_id}})
        press = self._presses.take(to.user_id, reply)
        if press is not None and not reply.keep_card:  # the record changed: its card says how
            await self._update_card(to.user_id, press, reply)
        if reply.resend:  # an earlier try may have arrived: WeCom drops the same message within 10 min
            bodies = [dict(body, **DUPLICATE_CHECK) for body in bodies]
        futures = [self._enqueue(to.user_id, body) for body in bodies]
        await asyncio.gather(*futures)

    async def upload_image(self, png: bytes, filename: str = "chart.png") -> str:
        """media/upload?type=image (multipart, field "media"); the media_id is valid for 3 days."""
        if not 5 < len(png) <= IMAGE_MAX_BYTES:
            raise WecomError(-413, f"image of {len(png)} bytes is outside WeCom's 5 B … 10 MB")

        def form() -> aiohttp.FormData:
            data = aiohttp.FormData()
            data.add_field("media", png, filename=filename, content_type="image/png")
            return data

        got: dict[str, Any] = await self.api.call("POST", "media/upload", params={"type": "image"}, form=form)
        media_id = got.get("media_id")
        if not media_id:
            raise WecomError(-1, "media/upload answered without media_id")
        return str(media_id)

    async def _update_card(self, user: str, press: Press, reply: Reply) -> None:
        label = _clip((reply.text.strip().splitlines() or ["已处理"])[0], CARD_BUTTON_MAX)
        try:
            await self.api.call("POST", "message/update_template_card", {
                "userids": [user], "agentid": self.agent_id, "response_code": press.token,
                "button": {"replace_name": label}})
        except WecomError as exc:  # cosmetic: the reply itself still goes out
            log.warning("updating the pressed card failed: %s", exc)

    def _enqueue(self, user: str, body: dict[str, Any]) -> asyncio.Future[None]:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue = self._queues.setdefault(user, [])
        if queue:
            merged = _merge(queue[-1].body, body)
            if merged is not None:
                queue[-1].body = merged
                queue[-1].futures.append(fut)
                metrics.PUSHES_MERGED.inc(channel=CHANNEL)
                return fut
        queue.append(_Pending(body, [fut]))
        if user not in self._workers:
            task = asyncio.create_task(self._deliver(user))
            self._workers[user] = task
        return fut

    async def _deliver(self, user: str) -> None:
        """One worker per member: wait out the rate limit, then send the oldest (merged) item."""
        queue = self._queues[user]
        try:
            while queue:
                await wait_for_slot(self.limiter, user, self.sleep, "WeCom per-member")
                item = queue.pop(0)
                try:
                    await self.send_body(user, item.body)
                except asyncio.CancelledError:
                    queue.insert(0, item)  # failed below with the rest of the queue
                    raise
                except Exception as exc:  # noqa: BLE001 - handed to the waiting senders
                    metrics.PUSHES_FAILED.inc(channel=CHANNEL)
                    for f in item.futures:
                        if not f.done():
                            f.set_exception(exc)
                else:
                    metrics.PUSHES_SENT.inc(channel=CHANNEL)
                    for f in item.futures:
                        if not f.done():
                            f.set_result(None)
        finally:
            self._workers.pop(user, None)
            if not queue:
                self._queues.pop(user, None)
            else:  # cancelled with work left: fail the waiters rather than hang them
                for item in queue:
                    for f in item.futures:
                        if not f.done():
                            f.set_exception(WecomError(-1, "channel stopped"))
                self._queues.pop(user, None)

    async def send_body(self, user: str, body: dict[str, Any]) -> dict[str, Any]:
        """message/send for one member; retries ask WeCom to drop a duplicate of a lost success."""
        payload = dict(body, touser=user, agentid=self.agent_id)

        def dedupe(p: dict[str, Any]) -> dict[str, Any]:
            return dict(p, **DUPLICATE_CHECK)

        data: dict[str, Any] = await self.api.call("POST", "message/send", payload, on_retry=dedupe)
        if data.get("invaliduser"):
            log.warning("WeCom did not deliver to an invalid user (errcode 0, invaliduser set)")
        return data

    async def fetch_media(self, media: Media) -> bytes:
        """media/get: the raw file (voice is AMR)."""
        blob: bytes = await self.api.call("GET", "media/get", params={"media_id": media.key}, raw=True)
        return blob

    async def send_group(self, webhook_key: str, reply: Reply) -> None:
        """A group robot (群机器人) message, e.g. a manager digest; the key is a secret."""
        url = self.api.base + "webhook/send?key=" + webhook_key
        for chunk in split_bytes(reply.text, GROUP_MARKDOWN_LIMIT):
            await self.api.post_plain(url, {"msgtype": "markdown", "markdown": {"content": chunk}})
            metrics.PUSHES_SENT.inc(channel=CHANNEL)
