"""Protocol-faithful local fakes of the WeCom API and the DingTalk stream gateway.

Each fake is an aiohttp app served from its own thread and event loop, so a client that
blocks (dingtalk-stream 0.24.3 calls `requests.post` inside its async start) cannot
deadlock it, and a test's own loop stays free. State is read by tests through plain
attributes guarded by a lock. Failures are injected per endpoint with `fail_next`.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any, Self

from aiohttp import BodyPartReader, WSMsgType, web


def tiny_png(width: int = 4, height: int = 3) -> bytes:
    """A valid RGB PNG (signature, IHDR, IDAT, IEND with CRCs), e.g. a stand-in funnel chart."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes([200, 60, 60]) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def amr_clip(frames: int = 50) -> bytes:
    """A valid AMR-NB file: header + `frames` 20 ms frames of mode 7 (12.2 kbit/s, 32 bytes each)."""
    return b"#!AMR\n" + (bytes([0x3C]) + bytes(31)) * frames


class ServerThread:
    """Run an aiohttp Application on 127.0.0.1:<free port> in a daemon thread."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()
        self.port = 0
        self._ready = threading.Event()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._start())
        self._ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(self._runner.cleanup())  # type: ignore[union-attr]
        self.loop.close()

    async def _start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    def start(self) -> ServerThread:
        self._thread.start()
        self._ready.wait(10)
        return self

    def call(self, coro: Any, timeout: float = 10) -> Any:
        """Run a coroutine on the server's loop from another thread and wait for it."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        if self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)


class _Failures:
    """Per-endpoint queue of injected failures: an int errcode or "5xx"."""

    def __init__(self) -> None:
        self._q: dict[str, deque[Any]] = {}

    def add(self, endpoint: str, *failures: Any) -> None:
        self._q.setdefault(endpoint, deque()).extend(failures)

    def take(self, endpoint: str) -> Any:
        q = self._q.get(endpoint)
        return q.popleft() if q else None


# ================================================================ WeCom


class _FakeService:
    """Start/stop in a thread and scripted failures, shared by the fake platforms."""

    server: ServerThread
    lock: threading.Lock
    failures: _Failures

    def start(self) -> Self:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    @property
    def url(self) -> str:
        return self.server.url

    def fail_next(self, endpoint: str, *failures: Any) -> None:
        """Make the next calls of `endpoint` fail: an errcode, or "5xx" (see each fake's routes)."""
        with self.lock:
            self.failures.add(endpoint, *failures)


PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"


def _content(body: dict[str, Any]) -> dict[str, Any]:
    """A message/send body without the duplicate-check switches: what WeCom compares."""
    return {k: v for k, v in body.items() if k not in ("enable_duplicate_check", "duplicate_check_interval")}


class FakeWecom(_FakeService):
    """gettoken, message/send, message/update_template_card, media/get, media/upload, webhook/send.

    media/upload follows doc 90253: multipart/form-data with the file in the field "media";
    images must be JPG/PNG of 5 B … 10 MB; the media_id can be fetched back with media/get and
    sent as `msgtype: image`.
    """

    def __init__(self, corp_id: str = "wwcorp", secret: str = "s3cret", agent_id: int = 1000002) -> None:
        self.corp_id, self.secret, self.agent_id = corp_id, secret, agent_id
        self.lock = threading.Lock()
        self.tokens: set[str] = set()
        self.token_calls = 0
        self.sent: list[dict[str, Any]] = []  # accepted message/send bodies
        self.attempts: list[dict[str, Any]] = []  # every message/send request, failed or not
        self.updates: list[dict[str, Any]] = []
        self.webhook: list[tuple[str, dict[str, Any]]] = []
        self.media: dict[str, bytes] = {"MEDIA_VOICE_1": amr_clip()}
        self.uploads: list[dict[str, Any]] = []  # accepted media/upload parts
        self.failures = _Failures()
        self._codes = itertools.count(1)
        app = web.Application(client_max_size=32 * 1024 * 1024)
        app.router.add_get("/cgi-bin/gettoken", self._gettoken)
        app.router.add_post("/cgi-bin/message/send", self._send)
        app.router.add_post("/cgi-bin/message/update_template_card", self._update)
        app.router.add_get("/cgi-bin/media/get", self._media)
        app.router.add_post("/cgi-bin/media/upload", self._upload)
        app.router.add_post("/cgi-bin/webhook/send", self._webhook)
        self.server = ServerThread(app)

    # -- control ------------------------------------------------------------------

    def expire_tokens(self) -> None:
        """Every issued token becomes invalid (WeCom answers 42001), as two hours later."""
        with self.lock:
            self.tokens.clear()

    def texts(self) -> list[str]:
        with self.lock:
            out = []
            for b in self.sent:
                t = b["msgtype"]
                if t in ("text", "markdown"):
                    out.append(b[t]["content"])
                elif t == "template_card":
                    card = b["template_card"]
                    out.append(card["main_title"]["title"] + "\n" + card.get("sub_title_text", ""))
            return out

    def images(self) -> list[bytes]:
        """The pictures sent with `msgtype: image`, as uploaded."""
        with self.lock:
            return [self.media[b["image"]["media_id"]] for b in self.sent if b["msgtype"] == "image"]

    # -- handlers -----------------------------------------------------------------

    def _injected(self, endpoint: str) -> web.Response | None:
        with self.lock:
            f = self.failures.take(endpoint)
        if f is None:
            return None
        if f == "5xx":
            return web.Response(status=502, text="bad gateway")
        return web.json_response({"errcode": int(f), "errmsg": f"injected {f}"})

    def _auth(self, request: web.Request) -> web.Response | None:
        tok = request.query.get("access_token")
        with self.lock:
            ok = tok in self.tokens
        if not ok:
            return web.json_response({"errcode": 42001, "errmsg": "access_token expired"})
        return None

    async def _gettoken(self, request: web.Request) -> web.Response:
        if (r := self._injected("gettoken")) is not None:
            return r
        if request.query.get("corpid") != self.corp_id or request.query.get("corpsecret") != self.secret:
            return web.json_response({"errcode": 40001, "errmsg": "invalid credential"})
        token = "tok-" + uuid.uuid4().hex
        with self.lock:
            self.tokens.add(token)
            self.token_calls += 1
        return web.json_response({"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200})

    async def _send(self, request: web.Request) -> web.Response:
        body = await request.json()
        with self.lock:
            self.attempts.append(body)
        if (r := self._auth(request)) is not None:
            return r
        if (r := self._injected("send")) is not None:
            return r
        if body.get("agentid") != self.agent_id or not body.get("touser"):
            return web.json_response({"errcode": 40056, "errmsg": "invalid agentid"})
        mtype = body.get("msgtype")
        if mtype in ("text", "markdown") and len(body[mtype]["content"].encode()) > 2048:
            return web.json_response({"errcode": 44004, "errmsg": "content exceeds 2048 bytes"})
        if mtype == "image":
            with self.lock:
                known = (body.get("image") or {}).get("media_id") in self.media
            if not known:
                return web.json_response({"errcode": 40007, "errmsg": "invalid media_id"})
        resp: dict[str, Any] = {"errcode": 0, "errmsg": "ok", "invaliduser": ""}
        with self.lock:
            if body.get("enable_duplicate_check") and _content(body) in map(_content, self.sent[-20:]):
                return web.json_response(resp)  # WeCom drops the same message within the interval
            self.sent.append(body)
            if mtype == "template_card":
                resp["response_code"] = f"rc-send-{next(self._codes)}"
        return web.json_response(resp)

    async def _update(self, request: web.Request) -> web.Response:
        body = await request.json()
        if (r := self._auth(request)) is not None:
            return r
        if (r := self._injected("update")) is not None:
            return r
        with self.lock:
            if any(u["response_code"] == body.get("response_code") for u in self.updates):
                return web.json_response({"errcode": 40066, "errmsg": "response_code used"})
            self.updates.append(body)
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def _media(self, request: web.Request) -> web.Response:
        if (r := self._auth(request)) is not None:
            return r
        if (r := self._injected("media")) is not None:
            return r
        data = self.media.get(request.query.get("media_id", ""))
        if data is None:
            return web.json_response({"errcode": 40007, "errmsg": "invalid media_id"})
        return web.Response(body=data, content_type="audio/amr",
                            headers={"Content-Disposition": 'attachment; filename="voice.amr"'})

    async def _upload(self, request: web.Request) -> web.Response:
        if (r := self._auth(request)) is not None:
            return r
        if (r := self._injected("upload")) is not None:
            return r
        mtype = request.query.get("type", "")
        if mtype not in ("image", "voice", "video", "file"):
            return web.json_response({"errcode": 40004, "errmsg": "invalid media type"})
        if not request.content_type.startswith("multipart/"):
            return web.json_response({"errcode": 44001, "errmsg": "empty media data"})
        part: dict[str, Any] | None = None
        reader = await request.multipart()
        async for field in reader:
            if isinstance(field, BodyPartReader) and field.name == "media":
                part = {"type": mtype, "filename": field.filename,
                        "content_type": field.headers.get("Content-Type", ""), "data": bytes(await field.read())}
        if part is None or not part["data"]:
            return web.json_response({"errcode": 44001, "errmsg": "empty media data"})
        data = part["data"]
        if mtype == "image":
            if not data.startswith((PNG_MAGIC, JPEG_MAGIC)):
                return web.json_response({"errcode": 40005, "errmsg": "invalid file type"})
            if not 5 < len(data) <= 10 * 1024 * 1024:
                return web.json_response({"errcode": 40006, "errmsg": "invalid file size"})
        media_id = f"MEDIA_UP_{uuid.uuid4().hex[:12]}"
        with self.lock:
            self.uploads.append(part)
            self.media[media_id] = data
        return web.json_response({"errcode": 0, "errmsg": "", "type": mtype, "media_id": media_id,
                                  "created_at": str(int(time.time()))})

    async def _webhook(self, request: web.Request) -> web.Response:
        body = await request.json()
        if (r := self._injected("webhook")) is not None:
            return r
        with self.lock:
            self.webhook.append((request.query.get("key", ""), body))
        return web.json_response({"errcode": 0, "errmsg": "ok"})


# ================================================================ DingTalk


CARD_TOPIC = "/v1.0/card/instances/callback"
WEBHOOK_BODY_LIMIT = 20_000  # bytes; errcode 460101 "message too long, exceed 20000 bytes"
_SPACE = re.compile(r"^dtv1\.card//(IM_ROBOT|IM_GROUP)\.(.+)$")


class FakeDingtalk(_FakeService):
    """Stream gateway (connections/open + websocket) plus the robot OpenAPI endpoints.

    Frames follow open-dingtalk/developerpedia docs/learn/stream/protocol.md: the server
    pushes `{"specVersion","type","headers","data"}` with `data` a JSON string and expects an
    ack `{"code","headers":{"messageId"},"message","data"}` for each.

    Interactive cards follow the card-instance API the dingtalk-stream SDK uses
    (card_replier.py): `POST /v1.0/card/instances/createAndDeliver` (template id, outTrackId,
    cardData.cardParamMap with string values, openSpaceId `dtv1.card//IM_ROBOT.<userId>` or
    `…IM_GROUP.<openConversationId>` and the matching deliver model) and
    `PUT /v1.0/card/instances` (updateCardDataByKey). `press()` plays a user pressing a button
    of a delivered card the way the reference template does: a CALLBACK frame on
    `/v1.0/card/instances/callback` whose data is card_callback.py's CardCallbackMessage
    (outTrackId, userId, content = JSON string of cardPrivateData.actionIds/params), sent only
    if the client subscribed to that topic.
    """

    def __init__(self, client_id: str = "dingclient", client_secret: str = "dingsecret",
                 card_template: str = "salesbot-record.schema") -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self.card_templates = {card_template}
        self.cards: dict[str, dict[str, Any]] = {}  # outTrackId → delivered card (params updated in place)
        self.card_sends: list[dict[str, Any]] = []  # accepted createAndDeliver bodies
        self.card_updates: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.tickets: set[str] = set()
        self.opens: list[dict[str, Any]] = []  # connections/open request bodies
        self.connections = 0  # websocket sessions accepted so far
        self.acks: dict[str, dict[str, Any]] = {}  # messageId → ack frame
        self.webhook_posts: list[tuple[str, dict[str, Any]]] = []
        self.batch_sends: list[dict[str, Any]] = []
        self.group_sends: list[dict[str, Any]] = []
        self.downloads: list[dict[str, Any]] = []
        self.files: dict[str, bytes] = {"DLCODE_VOICE_1": amr_clip()}
        self.failures = _Failures()
        self.peer_limit: tuple[int, float] | None = None  # (sends, seconds) per person; None = none
        self.accepted_at: dict[str, list[float]] = {}
        self.flow_controlled = 0  # batchSend calls refused for peer_limit
        self._ws: web.WebSocketResponse | None = None
        self._transport: asyncio.BaseTransport | None = None
        self._connected = threading.Event()
        self._ack_waiters: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._ids = itertools.count(1)
        app = web.Application()
        app.router.add_post("/v1.0/gateway/connections/open", self._open)
        app.router.add_get("/connect", self._connect)
        app.router.add_post("/v1.0/oauth2/accessToken", self._token)
        app.router.add_post("/v1.0/robot/oToMessages/batchSend", self._batch_send)
        app.router.add_post("/v1.0/robot/groupMessages/send", self._group_send)
        app.router.add_post("/v1.0/robot/messageFiles/download", self._download)
        app.router.add_post("/v1.0/card/instances/createAndDeliver", self._card_create)
        app.router.add_put("/v1.0/card/instances", self._card_update)
        app.router.add_get("/files/{code}", self._file)
        app.router.add_post("/robot/sendBySession/{session}", self._session_webhook)
        self.server = ServerThread(app)
        self.token = "dt-" + uuid.uuid4().hex
        self.token_calls = 0  # accessToken requests


    # -- driving the stream from a test (thread-safe, blocking) -------------------

    def wait_connected(self, count: int = 1, timeout: float = 20) -> None:
        """Block until at least `count` websocket sessions have been accepted."""
        deadline = threading.Event()
        for _ in range(int(timeout * 20)):
            with self.lock:
                if self.connections >= count and self._ws is not None and not self._ws.closed:
                    return
            deadline.wait(0.05)
        raise TimeoutError(f"gateway saw {self.connections} connections, wanted {count}")

    def push(self, frame_type: str, topic: str, data: dict[str, Any], message_id: str | None = None,
             wait_ack: bool = True, timeout: float = 20) -> dict[str, Any] | None:
        """Send one frame on the current websocket; return its ack (None if not waiting)."""
        mid = message_id or f"msg-{next(self._ids)}-{uuid.uuid4().hex[:8]}"
        frame = {
            "specVersion": "1.0", "type": frame_type,
            "headers": {"appId": "app", "connectionId": "c1", "contentType": "application/json",
                        "messageId": mid, "time": "1700000000000", "topic": topic},
            "data": json.dumps(data, ensure_ascii=False),
        }
        return self.server.call(self._push(frame, mid, wait_ack), timeout + 1)

    async def _push(self, frame: dict[str, Any], mid: str, wait_ack: bool) -> dict[str, Any] | None:
        ws = self._ws
        if ws is None or ws.closed:
            raise ConnectionError("no client connected")
        fut: asyncio.Future[dict[str, Any]] = self.server.loop.create_future()
        if wait_ack:
            self._ack_waiters[mid] = fut
        await ws.send_str(json.dumps(frame, ensure_ascii=False))
        if not wait_ack:
            return None
        return await asyncio.wait_for(fut, 20)

    def push_bot_message(self, data: dict[str, Any], **kw: Any) -> dict[str, Any] | None:
        return self.push("CALLBACK", "/v1.0/im/bot/messages/get", data, **kw)

    def subscribed(self, topic: str) -> bool:
        """Whether the latest connections/open asked for CALLBACK frames of `topic`."""
        with self.lock:
            subs = self.opens[-1].get("subscriptions", []) if self.opens else []
        return any(x.get("type") == "CALLBACK" and x.get("topic") in (topic, "*") for x in subs)

    def press(self, out_track_id: str, user_id: str, label: str, **kw: Any) -> dict[str, Any] | None:
        """A user presses the button `label` on a delivered card; returns the client's ack."""
        with self.lock:
            card = self.cards[out_track_id]
            buttons = json.loads(card["params"].get("buttons", "[]"))
        [(i, button)] = [(i, x) for i, x in enumerate(buttons) if x["text"] == label]
        private = {"actionIds": [f"button_{i}"], "params": {"key": button["key"]}}
        data = {"extension": "{}", "corpId": "dingcorp", "type": "actionCallback", "userId": user_id,
                "userIdType": 1, "content": json.dumps({"cardPrivateData": private}, ensure_ascii=False),
                "spaceType": card["space_type"], "spaceId": card["space_id"], "outTrackId": out_track_id}
        return self.push_card_callback(data, **kw)

    def push_card_callback(self, data: dict[str, Any], **kw: Any) -> dict[str, Any] | None:
        if not self.subscribed(CARD_TOPIC):
            raise AssertionError("the client did not subscribe to card callbacks; DingTalk would not push them")
        return self.push("CALLBACK", CARD_TOPIC, data, **kw)

    def ping(self, opaque: str = "opaque-1") -> dict[str, Any] | None:
        return self.push("SYSTEM", "ping", {"opaque": opaque})

    def disconnect(self) -> None:
        """SYSTEM disconnect (server going away); the client should reconnect with a new ticket."""
        self.push("SYSTEM", "disconnect", {"reason": "server maintenance"}, wait_ack=False)

    def drop(self) -> None:
        """Cut the websocket without a close handshake, as a network failure does."""
        async def _drop() -> None:
            if self._transport is not None:
                self._transport.abort()  # type: ignore[attr-defined]
        self.server.call(_drop())

    # -- HTTP handlers ------------------------------------------------------------

    def _injected(self, endpoint: str, user: str = "") -> web.Response | None:
        """A scripted failure: "qps" is the gateway's refusal for a rate limit (HTTP 403), "flow"
        and "invalid" batchSend's HTTP 200 that names the person flow-controlled or invalid
        (nothing delivered); anything else a 503."""
        with self.lock:
            f = self.failures.take(endpoint)
        if f is None:
            return None
        if f == "qps":
            return web.json_response({"code": "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi",
                                      "message": "injected"}, status=403)
        if f in ("flow", "invalid"):
            key = "flowControlledStaffIdList" if f == "flow" else "invalidStaffIdList"
            return web.json_response({"processQueryKey": uuid.uuid4().hex, key: [user]})
        return web.json_response({"code": "ServiceUnavailable", "message": "injected"}, status=503)

    def _flow_controlled(self, user: str) -> bool:
        """DingTalk's per-person flow control as `peer_limit` scripts it: over the limit the send
        is answered 200 with the person in flowControlledStaffIdList and nothing is delivered."""
        if self.peer_limit is None:
            return False
        count, window = self.peer_limit
        now = time.monotonic()
        with self.lock:
            recent = [t for t in self.accepted_at.get(user, []) if t > now - window]
            if len(recent) >= count:
                self.flow_controlled += 1
                return True
            self.accepted_at[user] = [*recent, now]
        return False

    async def _open(self, request: web.Request) -> web.Response:
        body = await request.json()
        with self.lock:
            self.opens.append({k: v for k, v in body.items() if k != "clientSecret"})
        if (r := self._injected("open")) is not None:
            return r
        if body.get("clientId") != self.client_id or body.get("clientSecret") != self.client_secret:
            return web.json_response({"code": "InvalidAuthentication", "message": "bad client"}, status=401)
        ticket = uuid.uuid4().hex
        with self.lock:
            self.tickets.add(ticket)
        return web.json_response({"endpoint": f"ws://127.0.0.1:{self.server.port}/connect", "ticket": ticket})

    async def _connect(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        with self.lock:
            valid = ticket in self.tickets
            self.tickets.discard(ticket)  # single use
        if not valid:
            return web.Response(status=401, text="invalid ticket")
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        with self.lock:
            self._ws = ws
            self._transport = request.transport
            self.connections += 1
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            ack = json.loads(msg.data)
            mid = ack.get("headers", {}).get("messageId", "")
            with self.lock:
                self.acks[mid] = ack
            fut = self._ack_waiters.pop(mid, None)
            if fut is not None and not fut.done():
                fut.set_result(ack)
        return ws

    async def _token(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("appKey") != self.client_id or body.get("appSecret") != self.client_secret:
            return web.json_response({"code": "InvalidAppKey", "message": "bad app"}, status=400)
        with self.lock:
            self.token_calls += 1
        return web.json_response({"accessToken": self.token, "expireIn": 7200})

    def _authed(self, request: web.Request) -> bool:
        return request.headers.get("x-acs-dingtalk-access-token") == self.token

    async def _batch_send(self, request: web.Request) -> web.Response:
        if not self._authed(request):
            return web.json_response({"code": "InvalidAuthentication"}, status=401)
        body = await request.json()
        user = (body.get("userIds") or [""])[0]
        if (r := self._injected("batch", user)) is not None:
            return r
        if self._flow_controlled(user):
            return web.json_response({"processQueryKey": uuid.uuid4().hex, "invalidStaffIdList": [],
                                      "flowControlledStaffIdList": [user]})
        with self.lock:
            self.batch_sends.append(body)
        return web.json_response({"processQueryKey": uuid.uuid4().hex, "invalidStaffIdList": [],
                                  "flowControlledStaffIdList": []})

    async def _group_send(self, request: web.Request) -> web.Response:
        if not self._authed(request):
            return web.json_response({"code": "InvalidAuthentication"}, status=401)
        body = await request.json()
        with self.lock:
            self.group_sends.append(body)
        return web.json_response({"processQueryKey": uuid.uuid4().hex})

    async def _download(self, request: web.Request) -> web.Response:
        if not self._authed(request):
            return web.json_response({"code": "InvalidAuthentication"}, status=401)
        if (r := self._injected("download")) is not None:
            return r
        body = await request.json()
        with self.lock:
            self.downloads.append(body)
        if body.get("downloadCode") not in self.files:
            return web.json_response({"code": "InvalidParameter", "message": "bad downloadCode"}, status=400)
        return web.json_response({"downloadUrl": f"{self.url}/files/{body['downloadCode']}"})

    async def _file(self, request: web.Request) -> web.Response:
        return web.Response(body=self.files[request.match_info["code"]], content_type="audio/amr")

    async def _card_create(self, request: web.Request) -> web.Response:
        if not self._authed(request):
            return web.json_response({"code": "InvalidAuthentication"}, status=401)
        if (r := self._injected("card")) is not None:
            return r
        body = await request.json()

        def bad(message: str) -> web.Response:
            return web.json_response({"code": "InvalidParameter", "message": message}, status=400)

        if body.get("cardTemplateId") not in self.card_templates:
            return bad("cardTemplateId not found")
        track = body.get("outTrackId")
        if not track or body.get("callbackType") not in ("STREAM", "HTTP"):
            return bad("outTrackId / callbackType")
        m = _SPACE.match(str(body.get("openSpaceId") or ""))
        if m is None:
            return bad("openSpaceId")
        space_type, space_id = m.groups()
        deliver = body.get("imRobotOpenDeliverModel" if space_type == "IM_ROBOT" else "imGroupOpenDeliverModel")
        if not isinstance(deliver, dict) or (space_type == "IM_ROBOT" and deliver.get("spaceType") != "IM_ROBOT"):
            return bad("deliver model")
        params = (body.get("cardData") or {}).get("cardParamMap")
        if not isinstance(params, dict) or not all(isinstance(v, str) for v in params.values()):
            return bad("cardParamMap values must be strings")
        with self.lock:
            if track in self.cards:
                return bad("outTrackId already exists")
            self.card_sends.append(body)
            self.cards[track] = {"template": body["cardTemplateId"], "params": dict(params),
                                 "space_type": space_type, "space_id": space_id}
        return web.json_response({"success": True, "result": {"outTrackId": track, "deliverResults": [
            {"spaceType": space_type, "spaceId": space_id, "success": True, "carrierId": uuid.uuid4().hex}]}})

    async def _card_update(self, request: web.Request) -> web.Response:
        if not self._authed(request):
            return web.json_response({"code": "InvalidAuthentication"}, status=401)
        body = await request.json()
        params = (body.get("cardData") or {}).get("cardParamMap") or {}
        with self.lock:
            card = self.cards.get(body.get("outTrackId"))
            if card is None:
                return web.json_response({"code": "InvalidParameter", "message": "card not found"}, status=400)
            self.card_updates.append(body)
            if (body.get("cardUpdateOptions") or {}).get("updateCardDataByKey"):
                card["params"].update(params)
            else:
                card["params"] = dict(params)
        return web.json_response({"success": True, "result": True})

    async def _session_webhook(self, request: web.Request) -> web.Response:
        if (r := self._injected("webhook")) is not None:
            return r
        raw = await request.read()
        if len(raw) > WEBHOOK_BODY_LIMIT:
            return web.json_response({"errcode": 460101, "errmsg": "message too long, exceed 20000 bytes"})
        body = json.loads(raw)
        with self.lock:
            self.webhook_posts.append((request.match_info["session"], body))
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    def session_webhook(self, session: str = "s1") -> str:
        return f"{self.url}/robot/sendBySession/{session}"

    def texts(self) -> list[str]:
        """Everything the robot said, through either path, in order of arrival per path."""
        with self.lock:
            out = []
            for _, b in self.webhook_posts:
                t = b.get("msgtype")
                out.append(b["markdown"]["text"] if t == "markdown" else b.get("text", {}).get("content", ""))
            for b in self.batch_sends:
                out.append(json.loads(b["msgParam"]).get("text") or json.loads(b["msgParam"]).get("content", ""))
            return out


def wait_until(pred: Callable[[], bool], timeout: float = 20, what: str = "condition") -> None:
    """Block until pred() holds (polling); for use from test code outside the event loop."""
    ev = threading.Event()
    for _ in range(int(timeout * 50)):
        if pred():
            return
        ev.wait(0.02)
    raise TimeoutError(f"timed out waiting for {what}")


async def await_until(pred: Callable[[], bool], timeout: float = 20, what: str = "condition") -> None:
    """The same inside an event loop."""
    for _ in range(int(timeout * 50)):
        if pred():
            return
        await asyncio.sleep(0.02)
    raise TimeoutError(f"timed out waiting for {what}")
