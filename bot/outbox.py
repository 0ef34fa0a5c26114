"""The outbox: every push to WeCom is a row first, then delivered by the sender
with back-off, within WeCom's per-member limits, surviving restarts."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, func, or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, aliased

from bot.claims import backoff_seconds, claim_due
from bot.config import OutboxSettings
from bot.models import OutboxMessage, utcnow
from bot.wecom.client import WeComClient, WeComError

log = logging.getLogger(__name__)

TEXT_LIMIT_BYTES = 2048


# -- enqueueing (inside the caller's transaction) -----------------------------
def push(session: Session, recipient: str, payload: dict, *, dedup_key: str | None = None,
         not_before: datetime | None = None) -> OutboxMessage | None:
    """Queue one app message to one member. ``payload`` is the message/send body
    without touser/agentid. With a dedup_key the same push is queued once only
    (the unique key is the claim two schedulers cannot both win); not_before
    holds it back (quiet hours)."""
    body = {**payload, "touser": recipient}
    row = OutboxMessage(kind="message", recipient=recipient, payload=body, dedup_key=dedup_key,
                        next_attempt_at=not_before or utcnow())
    return _add(session, row)


def push_text(session: Session, recipient: str, text: str, **kwargs) -> None:
    if not text.strip():
        return  # WeCom refuses an empty text (44004): there is nothing to say
    for part in split_text(text):
        if push(session, recipient, {"msgtype": "text", "text": {"content": part}}, **kwargs) is None:
            return  # the first part's dedup_key was queued before, and with it the rest of the text
        kwargs.pop("dedup_key", None)


def push_markdown(session: Session, recipient: str, markdown: str, **kwargs) -> OutboxMessage | None:
    return push(session, recipient, {"msgtype": "markdown", "markdown": {"content": markdown}}, **kwargs)


def push_textcard(session: Session, recipient: str, title: str, description: str, url: str,
                  button: str = "详情", **kwargs) -> OutboxMessage | None:
    card = {"title": title, "description": description, "url": url, "btntxt": button}
    return push(session, recipient, {"msgtype": "textcard", "textcard": card}, **kwargs)


def push_template_card(session: Session, recipient: str, card: dict, **kwargs) -> OutboxMessage | None:
    row = push(session, recipient, {"msgtype": "template_card", "template_card": card}, **kwargs)
    if row is not None:
        row.task_id = card["task_id"]
    return row


def update_card(session: Session, payload: dict, *, dedup_key: str | None = None) -> OutboxMessage | None:
    """message/update_template_card body (userids, response_code, button or template_card)."""
    row = OutboxMessage(kind="update_card", recipient=None, payload=payload, dedup_key=dedup_key,
                        next_attempt_at=utcnow())
    return _add(session, row)


def _add(session: Session, row: OutboxMessage) -> OutboxMessage | None:
    if row.dedup_key is None:
        session.add(row)
        return row
    # INSERT … ON CONFLICT DO NOTHING: a push queued before costs one statement,
    # not a savepoint rolled back (which holds a lock until the transaction ends
    # and makes the session re-examine every object it has loaded).
    values = {column.key: getattr(row, column.key) for column in OutboxMessage.__table__.columns
              if column.key != "id" and getattr(row, column.key) is not None}
    insert = _dialect_insert(session)(OutboxMessage).values(
        {"status": "pending", "attempts": 0, "created_at": utcnow(), **values})
    new_id = session.execute(insert.on_conflict_do_nothing(index_elements=["dedup_key"])
                             .returning(OutboxMessage.id)).scalar()
    return None if new_id is None else session.get(OutboxMessage, new_id)


def _dialect_insert(session: Session):
    return postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def split_text(text: str, limit: int = TEXT_LIMIT_BYTES) -> list[str]:
    """WeCom texts hold at most 2048 bytes: cut on character boundaries."""
    parts, current = [], ""
    for char in text:
        if len((current + char).encode("utf-8")) > limit:
            parts.append(current)
            current = ""
        current += char
    if current or not parts:
        parts.append(current)
    return parts


# -- delivery ------------------------------------------------------------------
def _first_in_line(now: datetime):
    """A member's messages arrive in the order they were queued: a push waits
    while an earlier one to the same member is in flight or waiting for its
    retry. An earlier push held back for quiet hours does not hold up an
    urgent one. As a side effect one member is never sent to by two workers
    at once, so the per-member rate limit holds across workers."""
    earlier = aliased(OutboxMessage)
    return ~exists().where(
        earlier.recipient == OutboxMessage.recipient, earlier.id < OutboxMessage.id,
        earlier.status == "pending", or_(earlier.attempts > 0, earlier.next_attempt_at <= now))


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    deferred: int = 0

    @property
    def attempted(self) -> int:
        return self.sent + self.retried + self.failed + self.deferred


class OutboxSender:
    def __init__(self, db, client: WeComClient, settings: OutboxSettings):
        self.db = db
        self.client = client
        self.settings = settings

    def deliver_due(self, now: datetime | None = None) -> DeliveryReport:
        """Claim and send one row at a time: a claim is fresh when its send
        starts, so a slow WeCom cannot let a claim lapse into a double send."""
        report = DeliveryReport()
        tried: set[int] = set()
        for _ in range(self.settings.batch_size):
            with self.db.session() as session:
                moment = now or utcnow()
                ids = claim_due(session, OutboxMessage, moment, self.settings.claim_seconds, 1, tried,
                                also=_first_in_line(moment))
            if not ids:
                break
            tried.add(ids[0])
            self._deliver(ids[0], report)
        return report

    def _deliver(self, row_id: int, report: DeliveryReport) -> None:
        with self.db.session() as session:
            row = session.get(OutboxMessage, row_id)
            if row.status != "pending":
                return  # superseded meanwhile (a card already acted on)
            wait = self._rate_limit_wait(session, row)
            if wait:
                row.next_attempt_at = utcnow() + wait
                row.claimed_until = None
                report.deferred += 1
                return
            try:
                answer = self._call(row)
            except WeComError as error:
                self._record_failure(row, error, report)
            else:
                row.status, row.sent_at, row.claimed_until = "sent", utcnow(), None
                row.result = {key: answer[key] for key in ("msgid", "response_code") if answer.get(key)}
                row.attempts += 1
                report.sent += 1

    def _call(self, row: OutboxMessage) -> dict:
        if row.kind == "update_card":
            return self.client.update_template_card(dict(row.payload))
        return self.client.send_message(dict(row.payload))

    def _record_failure(self, row: OutboxMessage, error: WeComError, report: DeliveryReport) -> None:
        row.attempts += 1
        row.last_error = f"{error.errcode}: {error.errmsg}"
        row.claimed_until = None
        if error.retriable:
            delay = backoff_seconds(row.attempts, self.settings.backoff_base_seconds,
                                    self.settings.backoff_max_seconds)
            row.next_attempt_at = utcnow() + timedelta(seconds=delay)
            report.retried += 1
            log.warning("推送 #%s 失败（%s），%.0f 秒后重试", row.id, row.last_error, delay)
        else:
            row.status = "failed"
            report.failed += 1
            log.error("推送 #%s 放弃：%s（企业微信拒绝，重试无用）", row.id, row.last_error)

    def _rate_limit_wait(self, session: Session, row: OutboxMessage) -> timedelta | None:
        """WeCom silently drops messages past 30/minute or 1000/hour per member;
        hold ours back instead of losing them."""
        if row.recipient is None:
            return None
        now = utcnow()
        for window, limit in ((timedelta(minutes=1), self.settings.per_member_per_minute),
                              (timedelta(hours=1), self.settings.per_member_per_hour)):
            sent = session.execute(
                select(func.count(), func.min(OutboxMessage.sent_at)).where(
                    OutboxMessage.recipient == row.recipient, OutboxMessage.status == "sent",
                    OutboxMessage.sent_at > now - window)).one()
            if sent[0] >= limit:
                return (sent[1] + window) - now + timedelta(seconds=1)
        return None
