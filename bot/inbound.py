"""Turn a WeCom callback request into a verified, decrypted, parsed message —
or a rejection with an HTTP status, before any work is done."""
from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import time
from dataclasses import dataclass
from xml.etree.ElementTree import ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException
from wechatpy.crypto import PrpCrypto
from wechatpy.enterprise import events as wecom_events
from wechatpy.enterprise import messages as wecom_messages
from wechatpy.enterprise import parse_message
from wechatpy.exceptions import InvalidAppIdException
from wechatpy.fields import DateTimeField, IntegerField, StringField
from wechatpy.messages import BaseMessage, VoiceMessage
from wechatpy.utils import to_text


# -- message types wechatpy 1.8.18 does not know ------------------------------
@wecom_events.register_event("template_card_event")
class TemplateCardEvent(BaseMessage):
    """A click on a button of a template card (button_interaction)."""
    type = "event"
    event = "template_card_event"
    agent = IntegerField("AgentID", 0)
    key = StringField("EventKey")
    task_id = StringField("TaskId")
    card_type = StringField("CardType")
    response_code = StringField("ResponseCode")


class FileMessage(BaseMessage):
    type = "file"
    agent = IntegerField("AgentID", 0)
    media_id = StringField("MediaId")
    title = StringField("Title")


class RecognizedVoiceMessage(VoiceMessage):
    """A voice message; ``recognition`` is WeCom's speech-to-text when enabled."""
    agent = IntegerField("AgentID", 0)
    recognition = StringField("Recognition")


wecom_messages.MESSAGE_TYPES["file"] = FileMessage
wecom_messages.MESSAGE_TYPES["voice"] = RecognizedVoiceMessage


# Fields longer than the columns they are stored in (WeCom's own limits are
# lower: a userid has at most 64 characters) and the width of the dedup key.
LONGEST = {"FromUserName": 64, "MediaId": 256}
MAX_DEDUP_KEY = 255

log = logging.getLogger(__name__)


class CallbackRejected(Exception):
    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Inbound:
    """A decrypted callback: the wechatpy message plus its plaintext."""
    message: BaseMessage
    xml: str

    @property
    def user(self) -> str:
        return self.message.source

    @property
    def dedup_key(self) -> str:
        """WeCom retries carry the same MsgId; events have none, so their
        identity is sender + time (+ the card task and button for clicks)."""
        message = self.message
        if message.type != "event":
            key = f"msg:{message.id}" if message.id else f"nomsgid:{message.source}:{message.time}:{_digest(self.xml)}"
            return _bounded(key)
        parts = [message.source, str(message.time), message.event]
        for field in ("task_id", "key"):
            value = getattr(message, field, None)
            if value:
                parts.append(value)
        return _bounded("evt:" + ":".join(parts))


class CallbackCodec:
    def __init__(self, token: str, encoding_aes_key: str, corp_id: str, replay_window_seconds: int = 300,
                 clock=time.time):
        self.token = token
        self.corp_id = corp_id
        self.replay_window_seconds = replay_window_seconds
        self._crypto = PrpCrypto(_aes_key(encoding_aes_key))
        self._clock = clock

    # -- GET: URL verification --------------------------------------------
    def verify_url(self, args) -> str:
        echostr = args.get("echostr", "")
        self._check_signature(args, echostr)
        return self._decrypt(echostr)

    # -- POST: a message or event -----------------------------------------
    def decode(self, args, body: bytes) -> Inbound:
        envelope = _parse_xml(body, "外层")
        encrypted = envelope.findtext("Encrypt")
        if not encrypted:
            raise CallbackRejected(400, "缺少 Encrypt 字段")
        self._check_signature(args, encrypted)
        self._check_timestamp(args.get("timestamp", ""))
        plaintext = self._decrypt(encrypted)
        _parse_xml(plaintext.encode("utf-8"), "内层")  # hardened check before wechatpy sees it
        try:
            message = parse_message(plaintext)
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            # The reason WeCom sees stays plain; the parser's words go to the log only.
            log.info("内层消息无法解析：%s: %s", type(exc).__name__, exc)
            raise CallbackRejected(400, "消息结构不完整") from None
        _check_fields(message)
        if not message.source:
            raise CallbackRejected(400, "消息缺少 FromUserName")
        return Inbound(message=message, xml=plaintext)

    def encrypt_reply(self, reply_xml: str, nonce: str, timestamp: str | None = None) -> str:
        timestamp = timestamp or str(int(self._clock()))
        encrypted = to_text(self._crypto.encrypt(reply_xml, self.corp_id))
        signature = _signature(self.token, timestamp, nonce, encrypted)
        return ("<xml><Encrypt><![CDATA[{0}]]></Encrypt><MsgSignature><![CDATA[{1}]]></MsgSignature>"
                "<TimeStamp>{2}</TimeStamp><Nonce><![CDATA[{3}]]></Nonce></xml>").format(
            encrypted, signature, timestamp, nonce)

    # -- checks -----------------------------------------------------------
    def _check_signature(self, args, encrypted: str) -> None:
        given = args.get("msg_signature", "")
        expected = _signature(self.token, args.get("timestamp", ""), args.get("nonce", ""), encrypted)
        if not given or not hmac.compare_digest(given.encode(), expected.encode()):
            raise CallbackRejected(403, "签名校验失败")

    def _check_timestamp(self, timestamp: str) -> None:
        if not self.replay_window_seconds:
            return
        try:
            sent_at = int(timestamp)
        except ValueError:
            raise CallbackRejected(403, "时间戳无效") from None
        if abs(self._clock() - sent_at) > self.replay_window_seconds:
            raise CallbackRejected(403, "时间戳超出允许范围（疑似重放）")

    def _decrypt(self, encrypted: str) -> str:
        try:
            return to_text(self._crypto.decrypt(encrypted, self.corp_id))
        except InvalidAppIdException:
            raise CallbackRejected(403, "ReceiveId 与本企业 CorpID 不符") from None
        except Exception:  # wrong key, bad padding, bad base64: all mean "not for us"
            raise CallbackRejected(400, "密文无法解密") from None


def _check_fields(message: BaseMessage) -> None:
    """Every field the message's type declares holds one text value that
    reads as its type. Nested or repeated elements and numbers that are not
    numbers never come from WeCom, and would fail only after storing."""
    for name, field in message._fields.items():
        raw = message._data.get(field.name)
        if raw is not None and not isinstance(raw, str):
            raise CallbackRejected(400, f"消息字段 {field.name} 格式不正确")
        if raw is not None and len(raw) > LONGEST.get(field.name, len(raw)):
            raise CallbackRejected(400, f"消息字段 {field.name} 过长")
        if isinstance(field, DateTimeField):
            continue  # CreateTime is read (and checked) as the integer field "time"
        try:
            getattr(message, name)
        except (ValueError, TypeError, OverflowError):
            raise CallbackRejected(400, f"消息字段 {field.name} 格式不正确") from None


def _bounded(key: str) -> str:
    """A dedup key that fits message_log.dedup_key: a longer one keeps its
    start and ends with a digest of the whole."""
    if len(key) <= MAX_DEDUP_KEY:
        return key
    return key[:MAX_DEDUP_KEY - 17] + "#" + _digest(key)


def _aes_key(encoding_aes_key: str) -> bytes:
    return base64.b64decode(encoding_aes_key + "=")


def _signature(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    parts = sorted([token, timestamp, nonce, encrypted])
    return hashlib.sha1("".join(parts).encode("utf-8")).hexdigest()


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def _parse_xml(data: bytes, which: str):
    try:
        return SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise CallbackRejected(400, f"{which} XML 含有 DTD 或实体声明，已拒绝") from None
    except (ParseError, ValueError):
        raise CallbackRejected(400, f"{which} XML 格式错误") from None
