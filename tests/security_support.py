"""Helpers for the security tests: callbacks built byte by byte (so a test
can send exactly what WeCom would not, or the very same request twice), and
readers for what the app stored."""
from __future__ import annotations

import time
from dataclasses import dataclass

import requests
from sqlalchemy import func, inspect, select

from bot.models import Complaint, ComplaintEvent, InboundMessage, OutboxMessage
from bot.wecom.callback_sender import CallbackSender, Reply, build_xml, encrypt, sign
from tests.conftest import AES_KEY, TOKEN

CORP_ID = "ww_test_corp"
AGENT_ID = 1000002
TABLES = {"complaints", "complaint_events", "message_log", "outbox", "attachments"}


@dataclass(frozen=True)
class SignedRequest:
    """One callback POST, fixed down to the bytes: sending it twice is a replay."""
    params: dict
    body: bytes

    def send(self, url: str, session: requests.Session | None = None) -> requests.Response:
        http = session or requests
        return http.post(url, params=self.params, data=self.body, timeout=15,
                         headers={"Content-Type": "text/xml; charset=utf-8"})


def envelope(encrypted: str) -> str:
    return build_xml({"ToUserName": CORP_ID, "Encrypt": encrypted, "AgentID": str(AGENT_ID)})


def signed(encrypted: str, *, body: bytes | None = None, timestamp: str | None = None,
           nonce: str = "20241126") -> SignedRequest:
    """A correctly signed request around ``encrypted`` (the body may be anything)."""
    timestamp = timestamp or str(int(time.time()))
    params = {"msg_signature": sign(TOKEN, timestamp, nonce, encrypted), "timestamp": timestamp, "nonce": nonce}
    return SignedRequest(params, envelope(encrypted).encode("utf-8") if body is None else body)


def sealed(plaintext: str | bytes, **kwargs) -> SignedRequest:
    """``plaintext`` (text, or raw bytes in any encoding) encrypted and signed as WeCom does."""
    return signed(encrypt(plaintext, AES_KEY, CORP_ID), **kwargs)


def text_xml(user: str, content: str, msg_id: int, create_time: int | None = None) -> str:
    return build_xml({"ToUserName": CORP_ID, "FromUserName": user, "CreateTime": create_time or int(time.time()),
                      "MsgType": "text", "Content": content, "MsgId": msg_id, "AgentID": AGENT_ID})


def reply_text(sender: CallbackSender, response: requests.Response) -> str | None:
    """The passive reply's text, decrypted (None for an empty answer)."""
    return Reply(response, sender).text


def assert_clean_refusal(response: requests.Response, *statuses: int, case: str = "") -> None:
    """One of these statuses, and no trace of our internals in the body."""
    assert response.status_code in statuses, (case, response.status_code, response.text[:300])
    assert "Traceback" not in response.text and 'File "' not in response.text, case


# -- what was stored ----------------------------------------------------------------------
def count(services, model, *where) -> int:
    with services.db.session() as session:
        return session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


@dataclass(frozen=True)
class Snapshot:
    """Enough of the database to tell that nothing changed."""
    messages: int
    complaints: tuple
    events: int
    outbox: int

    @classmethod
    def of(cls, services) -> "Snapshot":
        with services.db.session() as session:
            rows = session.execute(select(Complaint.number, Complaint.status, Complaint.department,
                                          Complaint.assignee).order_by(Complaint.id)).all()
        return cls(count(services, InboundMessage), tuple(map(tuple, rows)), count(services, ComplaintEvent),
                   count(services, OutboxMessage))


def tables_of(services) -> set[str]:
    return set(inspect(services.db.engine).get_table_names())


def stored_descriptions(services) -> list[str]:
    with services.db.session() as session:
        return list(session.execute(select(Complaint.description).order_by(Complaint.id)).scalars())
