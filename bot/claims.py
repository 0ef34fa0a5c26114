"""Claim due rows of a work table (outbox, attachments) so that only one
process works on each, on SQLite and PostgreSQL alike: a conditional UPDATE
that only one contender can win. A claim expires, so work held by a process
that died is picked up again."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session


def claim_due(session: Session, model, now: datetime, claim_seconds: float, limit: int,
              exclude: set[int] = frozenset(), also=None) -> list[int]:
    """`exclude`: rows this round already worked on (tried once per round).
    `also`: a further condition a row must meet to be claimed."""
    free = or_(model.claimed_until.is_(None), model.claimed_until < now)
    query = select(model.id).where(model.status == "pending", model.next_attempt_at <= now, free)
    if also is not None:
        query = query.where(also)
    if exclude:
        query = query.where(model.id.not_in(exclude))
    candidates = session.execute(query.order_by(model.next_attempt_at, model.id).limit(limit)).scalars().all()
    claimed = []
    until = now + timedelta(seconds=claim_seconds)
    for row_id in candidates:
        won = session.execute(update(model).where(model.id == row_id, model.status == "pending", free)
                              .values(claimed_until=until))
        if won.rowcount == 1:
            claimed.append(row_id)
    session.commit()
    return claimed


def backoff_seconds(attempts: int, base: float, maximum: float) -> float:
    """Exponential back-off: base, 2·base, 4·base … capped at maximum."""
    return min(maximum, base * (2 ** max(0, attempts - 1)))
