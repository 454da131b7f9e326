"""Payload builders: WeCom callbacks encrypted exactly as WeCom does, DingTalk stream data.

WeCom: plaintext XML → wechatpy PrpCrypto (AES-256-CBC, random16 + len + msg + CorpID) →
envelope `<xml><ToUserName/><Encrypt/><AgentID/></xml>` with msg_signature =
sha1(sorted(token, timestamp, nonce, Encrypt)) in the query string (doc 90238 / 90968).
"""
from __future__ import annotations

import itertools
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from wechatpy.crypto import _get_signature
from wechatpy.enterprise.crypto import PrpCrypto, WeChatCrypto

# The test app's WeCom credentials (a valid 43-character EncodingAESKey).
CORP_ID = "wwcorp"
SECRET = "s3cret"
AGENT_ID = 1000002
TOKEN = "tokenabc"
AES_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"

_msg_ids = itertools.count(7_000_000_000_000_000_001)


def cdata(v: Any) -> str:
    return f"<![CDATA[{v}]]>"


def plain_xml(fields: dict[str, Any]) -> str:
    """WeCom's plaintext layout: strings in CDATA, numbers bare."""
    parts = []
    for k, v in fields.items():
        parts.append(f"<{k}>{v if isinstance(v, int) else cdata(v)}</{k}>")
    return "<xml>" + "".join(parts) + "</xml>"


def text_fields(user: str, content: str, msg_id: int | None = None, at: int | None = None) -> dict[str, Any]:
    return {"ToUserName": CORP_ID, "FromUserName": user, "CreateTime": at or int(time.time()),
            "MsgType": "text", "Content": content, "MsgId": msg_id or next(_msg_ids), "AgentID": AGENT_ID}


def voice_fields(user: str, media_id: str, msg_id: int | None = None) -> dict[str, Any]:
    return {"ToUserName": CORP_ID, "FromUserName": user, "CreateTime": int(time.time()),
            "MsgType": "voice", "MediaId": media_id, "Format": "amr", "MsgId": msg_id or next(_msg_ids),
            "AgentID": AGENT_ID}


def image_fields(user: str, media_id: str = "MEDIA_IMG") -> dict[str, Any]:
    return {"ToUserName": CORP_ID, "FromUserName": user, "CreateTime": int(time.time()),
            "MsgType": "image", "PicUrl": "http://example.invalid/p.jpg", "MediaId": media_id,
            "MsgId": next(_msg_ids), "AgentID": AGENT_ID}


def event_fields(user: str, event: str, at: int | None = None, **extra: Any) -> dict[str, Any]:
    return {"ToUserName": CORP_ID, "FromUserName": user, "CreateTime": at or int(time.time()),
            "MsgType": "event", "Event": event, "AgentID": AGENT_ID, **extra}


def card_event_fields(user: str, key: str, task_id: str, response_code: str,
                      at: int | None = None) -> dict[str, Any]:
    """template_card_event as in WxJava's WxCpXmlMessageTest.testTemplateCardEvent."""
    return event_fields(user, "template_card_event", at, EventKey=key, TaskId=task_id,
                        CardType="button_interaction", ResponseCode=response_code)


@dataclass
class Callback:
    """An encrypted POST as WeCom sends it: query string + XML body."""

    query: dict[str, str]
    body: bytes

    def path(self, base: str = "/wecom/callback") -> str:
        return f"{base}?{urlencode(self.query)}"


def encrypt_callback(fields: dict[str, Any] | str, *, token: str = TOKEN, aes_key: str = AES_KEY,
                     corp_id: str = CORP_ID, timestamp: int | None = None,
                     nonce: str | None = None) -> Callback:
    xml = fields if isinstance(fields, str) else plain_xml(fields)
    key = WeChatCrypto(token, aes_key, corp_id).key
    encrypt = PrpCrypto(key).encrypt(xml, corp_id)
    encrypt = encrypt.decode() if isinstance(encrypt, bytes) else encrypt
    ts = str(timestamp or int(time.time()))
    nonce = nonce or uuid.uuid4().hex[:10]
    sig = _get_signature(token, ts, nonce, encrypt)
    body = (f"<xml><ToUserName>{cdata(corp_id)}</ToUserName><Encrypt>{cdata(encrypt)}</Encrypt>"
            f"<AgentID>{cdata(AGENT_ID)}</AgentID></xml>")
    return Callback({"msg_signature": sig, "timestamp": ts, "nonce": nonce}, body.encode())


def echo_query(echo_plain: str, *, token: str = TOKEN, aes_key: str = AES_KEY, corp_id: str = CORP_ID,
               timestamp: int | None = None) -> dict[str, str]:
    """GET URL-verification query parameters for a given plaintext echostr."""
    key = WeChatCrypto(token, aes_key, corp_id).key
    echostr = PrpCrypto(key).encrypt(echo_plain, corp_id)
    echostr = echostr.decode() if isinstance(echostr, bytes) else echostr
    ts = str(timestamp or int(time.time()))
    nonce = uuid.uuid4().hex[:10]
    return {"msg_signature": _get_signature(token, ts, nonce, echostr), "timestamp": ts, "nonce": nonce,
            "echostr": echostr}


def wecom_settings(api_base: str, **over: Any) -> dict[str, Any]:
    """SALESBOT_WECOM_* style values for load_settings(env=...)."""
    values = {"enabled": "true", "corp_id": CORP_ID, "agent_id": str(AGENT_ID), "secret": SECRET,
              "token": TOKEN, "encoding_aes_key": AES_KEY, "api_base": api_base, **over}
    return {f"SALESBOT_WECOM_{k.upper()}": v for k, v in values.items()}


# ================================================================ DingTalk

CLIENT_ID = "dingclient"
CLIENT_SECRET = "dingsecret"
_ding_ids = itertools.count(1)


def ding_message(staff_id: str, msgtype: str, body: dict[str, Any], *, webhook: str,
                 msg_id: str | None = None, conversation_type: str = "1",
                 created_ms: int | None = None, webhook_ttl_ms: int = 5_400_000) -> dict[str, Any]:
    """The `data` of a /v1.0/im/bot/messages/get CALLBACK frame (protocol.md example fields)."""
    now = created_ms or int(time.time() * 1000)
    d: dict[str, Any] = {
        "conversationId": "cid" + uuid.uuid4().hex[:12] if conversation_type == "2" else "cid-1to1-" + staff_id,
        "chatbotCorpId": "dingcorp", "chatbotUserId": "$:LWCP_v1:$bot", "msgId": msg_id or f"msg{next(_ding_ids)}X",
        "senderNick": staff_id, "isAdmin": False, "senderStaffId": staff_id,
        "sessionWebhookExpiredTime": now + webhook_ttl_ms, "createAt": now, "senderCorpId": "dingcorp",
        "conversationType": conversation_type, "senderId": "$:LWCP_v1:$" + staff_id,
        "sessionWebhook": webhook, "robotCode": CLIENT_ID, "msgtype": msgtype,
    }
    if conversation_type == "2":
        d["conversationTitle"] = "销售群"
        d["isInAtList"] = True
    d.update(body)
    return d


def ding_text(staff_id: str, content: str, **kw: Any) -> dict[str, Any]:
    return ding_message(staff_id, "text", {"text": {"content": content}}, **kw)


def ding_audio(staff_id: str, download_code: str, recognition: str, **kw: Any) -> dict[str, Any]:
    return ding_message(staff_id, "audio", {"content": {"duration": 4000, "downloadCode": download_code,
                                                        "recognition": recognition}}, **kw)


def ding_picture(staff_id: str, **kw: Any) -> dict[str, Any]:
    return ding_message(staff_id, "picture", {"content": {"downloadCode": "DLIMG", "pictureDownloadCode": "x"}},
                        **kw)


def dingtalk_settings(endpoint: str, **over: Any) -> dict[str, Any]:
    values = {"enabled": "true", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
              "robot_code": CLIENT_ID, "openapi_endpoint": endpoint, **over}
    return {f"SALESBOT_DINGTALK_{k.upper()}": v for k, v in values.items()}


# ================================================================ apps


def seed_im_team(app: Any, channel: str, ids: dict[str, str]) -> None:
    """The conftest team and customers, with `channel` identities (console id → IM id)."""
    from handlers.crm import normalized_name
    from store import repos
    from tests.conftest import CUSTOMERS, TEAM

    def seed(s: Any) -> None:
        users: dict[str, Any] = {}
        for cid, name, role, mgr in TEAM:
            idents = {"console": cid}
            if cid in ids:
                idents[channel] = ids[cid]
            users[cid] = repos.add_user(s, name, role, users.get(mgr) if mgr else None, idents)
        for name, region, owner in CUSTOMERS:
            repos.add_customer(s, name, normalized_name(name), users[owner].id, region)

    app.svc.db.call(seed)
