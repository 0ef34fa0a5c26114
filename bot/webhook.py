"""/wecom/callback: verify, decrypt, store, handle, answer — in that order.

A message is stored in the message log before anything else happens; if that
fails WeCom gets a 503 and retries, so an acknowledged message is never lost.
"""
from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass

from flask import Blueprint, Response, current_app, request
from redis.exceptions import RedisError
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from bot import outbox
from bot.inbound import CallbackRejected, Inbound
from bot.models import InboundMessage, utcnow
from bot.services import Services
from bot.user_queue import QueueBusy
from handlers import Context, dispatch

log = logging.getLogger(__name__)
blueprint = Blueprint("wecom", __name__)


def _services() -> Services:
    return current_app.extensions["services"]


@blueprint.get("/wecom/callback")
def verify_url():
    try:
        echo = _services().codec.verify_url(request.args)
    except CallbackRejected as rejected:
        return _rejection(rejected)
    return Response(echo, mimetype="text/plain")


@blueprint.post("/wecom/callback")
def receive():
    started = time.monotonic()
    services = _services()
    try:
        inbound = services.codec.decode(request.args, request.get_data(cache=False))
    except CallbackRejected as rejected:
        return _rejection(rejected)
    try:
        with services.user_queue.turn(inbound.user):
            reply = Conversation(services, inbound, started).run()
    except (QueueBusy, RedisError, SQLAlchemyError) as exc:
        log.warning("暂时无法处理 %s 的消息（%s），返回 503 让企业微信重试", inbound.user, type(exc).__name__)
        return Response("service unavailable, retry later", status=503, mimetype="text/plain")
    if not reply:
        return Response("", mimetype="text/plain")
    nonce = request.args.get("nonce") or uuid.uuid4().hex[:16]
    body = services.codec.encrypt_reply(_text_reply_xml(inbound, reply), nonce)
    return Response(body, mimetype="application/xml")


@dataclass
class Conversation:
    """One callback's work once its turn has come."""
    services: Services
    inbound: Inbound
    started: float

    def run(self) -> str | None:
        row_id, status, earlier_reply = self._store()
        if status != "received":
            log.info("重复回调 %s，原样回复", self.inbound.dedup_key)
            return earlier_reply
        return self._handle(row_id)

    def _store(self) -> tuple[int, str, str | None]:
        """Insert into the message log; a unique-key clash means WeCom retried.
        A retry of a message that was stored but never handled (the process
        failed in between) is handled now."""
        message = self.inbound.message
        row = InboundMessage(
            dedup_key=self.inbound.dedup_key, from_user=self.inbound.user, msg_type=message.type,
            event=getattr(message, "event", None), content=getattr(message, "content", None),
            raw_xml=self.inbound.xml, received_at=utcnow(), status="received")
        try:
            with self.services.db.session() as session:
                # Redis first catches up with what earlier messages committed.
                self.services.kv_journal.catch_up(session, self.inbound.user)
                session.add(row)
            return row.id, "received", None
        except IntegrityError:
            with self.services.db.session() as session:
                earlier = session.execute(select(InboundMessage).where(
                    InboundMessage.dedup_key == self.inbound.dedup_key)).scalar_one()
                return earlier.id, earlier.status, earlier.reply

    def _handle(self, row_id: int) -> str | None:
        try:
            with self.services.db.session() as session:
                context = Context(self.inbound, session, self.services)
                outcome = dispatch(context)
                reply = self._deliverable(session, outcome.reply)
                self._mark(session, row_id, "handled", reply=reply, kv_writes=context.kv.journal())
            self.services.kv_journal.flush(context.kv, self.inbound.user, row_id)
            return reply
        except (SQLAlchemyError, RedisError):
            raise  # storage trouble: 503, the message stays "received" and WeCom's retry handles it
        except Exception as exc:  # the message is stored: answer kindly, keep the trace in the log
            log.exception("处理消息 #%s 时出错", row_id)
            reply = self.services.texts("internal_error", phone=self.services.settings.service.phone)
            with self.services.db.session() as session:
                self._mark(session, row_id, "failed", reply=reply, error=f"{type(exc).__name__}: {exc}")
            return reply

    def _deliverable(self, session, reply: str | None) -> str | None:
        """The passive reply holds 2048 bytes and must leave within the budget;
        what doesn't fit, or comes too late, goes through the outbox."""
        if not reply:
            return None
        late = time.monotonic() - self.started > self.services.settings.callback.reply_budget_seconds
        parts = outbox.split_text(reply)
        if late:
            outbox.push_text(session, self.inbound.user, reply)
            return None
        for part in parts[1:]:
            outbox.push_text(session, self.inbound.user, part)
        return parts[0]

    @staticmethod
    def _mark(session, row_id: int, status: str, *, reply: str | None, error: str | None = None,
              kv_writes: list | None = None) -> None:
        session.execute(update(InboundMessage).where(InboundMessage.id == row_id).values(
            status=status, reply=reply, error=error, handled_at=utcnow(), kv_writes=kv_writes))


def _text_reply_xml(inbound: Inbound, text: str) -> str:
    return ("<xml><ToUserName>{0}</ToUserName><FromUserName>{1}</FromUserName>"
            "<CreateTime>{2}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            "<Content>{3}</Content></xml>").format(
        _cdata(inbound.user), _cdata(inbound.message.target or ""), int(time.time()), _cdata(text))


def _cdata(value: str) -> str:
    # A "]]>" inside user-provided text would end the section early.
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _rejection(rejected: CallbackRejected) -> Response:
    log.warning("拒绝回调：%s（HTTP %s）", rejected.reason, rejected.status)
    return Response(rejected.reason, status=rejected.status, mimetype="text/plain; charset=utf-8")
