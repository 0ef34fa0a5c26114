"""Send callbacks to our own app exactly as WeCom does: the plaintext XML is
encrypted with the EncodingAESKey, wrapped in an envelope, signed, and POSTed
with msg_signature/timestamp/nonce in the query string. Used by the tests and
by ``complaint-bot demo``.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import secrets
import time
from typing import Any

import defusedxml.ElementTree as SafeET
import requests
from wechatpy.enterprise.crypto import PrpCrypto
from wechatpy.utils import to_text


def sign(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    """WeCom's msg_signature: sha1 over the four values sorted as strings."""
    return hashlib.sha1("".join(sorted([token, str(timestamp), str(nonce), encrypted])).encode("utf-8")).hexdigest()


def aes_key(encoding_aes_key: str) -> bytes:
    key = base64.b64decode(encoding_aes_key + "=")
    if len(key) != 32:
        raise ValueError("EncodingAESKey must decode to 32 bytes")
    return key


class _FixedPrefixCrypto(PrpCrypto):
    """wechatpy's cipher with a chosen 16-byte random prefix, so a known
    ciphertext can be reproduced exactly."""

    def __init__(self, key: bytes, prefix: str):
        super().__init__(key)
        self._prefix = prefix

    def get_random_string(self):
        return self._prefix


def encrypt(plaintext: str, encoding_aes_key: str, corp_id: str, random_prefix: str | None = None) -> str:
    key = aes_key(encoding_aes_key)
    crypto = PrpCrypto(key) if random_prefix is None else _FixedPrefixCrypto(key, random_prefix)
    return to_text(crypto.encrypt(plaintext, corp_id))


def decrypt(encrypted: str, encoding_aes_key: str, corp_id: str) -> str:
    """Raises wechatpy's InvalidCorpIdException when the ReceiveId differs."""
    return to_text(PrpCrypto(aes_key(encoding_aes_key)).decrypt(encrypted, corp_id))


def _cdata(text: str) -> str:
    # "]]>" cannot appear inside one CDATA section: split it across two.
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _element(tag: str, value: Any) -> str:
    """A dict becomes nested elements, a list repeats the tag, numbers stay bare."""
    if isinstance(value, dict):
        return f"<{tag}>" + "".join(_element(k, v) for k, v in value.items()) + f"</{tag}>"
    if isinstance(value, (list, tuple)):
        return "".join(_element(tag, item) for item in value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"<{tag}>{value}</{tag}>"
    return f"<{tag}>{_cdata(str(value))}</{tag}>"


def build_xml(fields: dict) -> str:
    return "<xml>" + "".join(_element(tag, value) for tag, value in fields.items()) + "</xml>"


def _to_value(element):
    children = list(element)
    if not children:
        return element.text or ""
    result: dict = {}
    for child in children:
        value = _to_value(child)
        if child.tag in result:  # repeated tag (e.g. <item>): collect into a list
            existing = result[child.tag]
            result[child.tag] = existing + [value] if isinstance(existing, list) else [existing, value]
        else:
            result[child.tag] = value
    return result


def parse_xml(text: str | bytes) -> dict:
    root = SafeET.fromstring(text, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    value = _to_value(root)
    return value if isinstance(value, dict) else {}


class Reply:
    """Our app's answer to a callback; decrypts the passive reply on demand."""

    def __init__(self, response: requests.Response, sender: "CallbackSender"):
        self.response = response
        self._sender = sender

    @property
    def status_code(self) -> int:
        return self.response.status_code

    def xml(self) -> dict | None:
        body = self.response.text.strip()
        if not body:
            return None
        envelope = parse_xml(body)
        encrypted = envelope.get("Encrypt", "")
        expected = sign(self._sender.token, envelope.get("TimeStamp", ""), envelope.get("Nonce", ""), encrypted)
        if not hmac.compare_digest(expected, envelope.get("MsgSignature", "")):
            raise ValueError("passive reply has a wrong MsgSignature")
        return parse_xml(self._sender.decrypt(encrypted))

    @property
    def text(self) -> str | None:
        fields = self.xml()
        return fields.get("Content") if fields else None

    def __repr__(self) -> str:
        return f"<Reply {self.status_code} {self.response.text[:80]!r}>"


class CallbackSender:
    def __init__(self, url: str, token: str, encoding_aes_key: str, corp_id: str, agent_id: int = 1000002,
                 session: requests.Session | None = None, timeout: float = 10):
        self.url = url
        self.token = token
        self.encoding_aes_key = encoding_aes_key
        self.corp_id = corp_id
        self.agent_id = agent_id
        self.timeout = timeout
        self._session = session or requests.Session()
        # A large random base keeps ids unique across senders and test runs.
        self._msg_ids = itertools.count(10**18 + secrets.randbelow(10**18))

    # -- crypto -----------------------------------------------------------
    def encrypt(self, plaintext: str) -> str:
        return encrypt(plaintext, self.encoding_aes_key, self.corp_id)

    def decrypt(self, encrypted: str) -> str:
        return decrypt(encrypted, self.encoding_aes_key, self.corp_id)

    # -- URL verification (GET) -------------------------------------------
    def verify_url(self, echostr_plain: str) -> requests.Response:
        timestamp, nonce = _now(), _nonce()
        echostr = self.encrypt(echostr_plain)
        params = {"msg_signature": sign(self.token, timestamp, nonce, echostr),
                  "timestamp": timestamp, "nonce": nonce, "echostr": echostr}
        # requests percent-encodes the params, so '+' and '/' arrive intact.
        return self._session.get(self.url, params=params, timeout=self.timeout)

    # -- messages ---------------------------------------------------------
    def text(self, user: str, content: str, msg_id=None, create_time=None) -> Reply:
        return self._message(user, "text", {"Content": content}, msg_id, create_time)

    def image(self, user: str, media_id: str, pic_url: str = "http://fake/p.jpg", msg_id=None) -> Reply:
        return self._message(user, "image", {"PicUrl": pic_url, "MediaId": media_id}, msg_id)

    def voice(self, user: str, media_id: str, recognition: str | None = None, msg_id=None) -> Reply:
        fields = {"MediaId": media_id, "Format": "amr"}
        if recognition is not None:
            fields["Recognition"] = recognition
        return self._message(user, "voice", fields, msg_id)

    def video(self, user: str, media_id: str, thumb_media_id: str = "thumb", msg_id=None) -> Reply:
        return self._message(user, "video", {"MediaId": media_id, "ThumbMediaId": thumb_media_id}, msg_id)

    def file(self, user: str, media_id: str, title: str = "file.pdf", msg_id=None) -> Reply:
        return self._message(user, "file", {"MediaId": media_id, "Title": title}, msg_id)

    def location(self, user: str, x: float, y: float, label: str, scale: int = 15, msg_id=None) -> Reply:
        fields = {"Location_X": x, "Location_Y": y, "Scale": scale, "Label": label}
        return self._message(user, "location", fields, msg_id)

    def link(self, user: str, title: str, description: str, url: str, pic_url: str = "", msg_id=None) -> Reply:
        fields = {"Title": title, "Description": description, "Url": url, "PicUrl": pic_url}
        return self._message(user, "link", fields, msg_id)

    def event(self, user: str, event: str, create_time=None, **fields) -> Reply:
        """Fields become XML elements (EventKey=..., TaskId=..., ResponseCode=...)."""
        xml_fields = {**self._header(user, "event", create_time), "Event": event, **fields}
        xml_fields.setdefault("AgentID", self.agent_id)
        return self.raw(build_xml(xml_fields))

    def _message(self, user: str, msgtype: str, fields: dict, msg_id=None, create_time=None) -> Reply:
        xml_fields = {**self._header(user, msgtype, create_time), **fields,
                      "MsgId": int(msg_id) if msg_id is not None else next(self._msg_ids),
                      "AgentID": self.agent_id}
        return self.raw(build_xml(xml_fields))

    def _header(self, user: str, msgtype: str, create_time=None) -> dict:
        return {"ToUserName": self.corp_id, "FromUserName": user,
                "CreateTime": int(create_time if create_time is not None else time.time()), "MsgType": msgtype}

    # -- the POST itself --------------------------------------------------
    def raw(self, plaintext_xml: str, *, timestamp=None, nonce=None, signature=None, body=None) -> Reply:
        """POST a plaintext as WeCom would; a test may override any part to
        send something WeCom would not."""
        timestamp = str(timestamp) if timestamp is not None else _now()
        nonce = str(nonce) if nonce is not None else _nonce()
        encrypted = self.encrypt(plaintext_xml)
        if signature is None:
            signature = sign(self.token, timestamp, nonce, encrypted)
        if body is None:
            body = build_xml({"ToUserName": self.corp_id, "Encrypt": encrypted, "AgentID": str(self.agent_id)})
        params = {"msg_signature": signature, "timestamp": timestamp, "nonce": nonce}
        data = body.encode("utf-8") if isinstance(body, str) else body
        response = self._session.post(self.url, params=params, data=data,
                                      headers={"Content-Type": "text/xml; charset=utf-8"}, timeout=self.timeout)
        return Reply(response, self)


def _now() -> str:
    return str(int(time.time()))


def _nonce() -> str:
    return str(secrets.randbelow(10**10))
