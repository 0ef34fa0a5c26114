"""The Redis writes of each handled message are kept with it in the message
log, so Redis can always be brought back in step with the database: after a
failure between the database commit and the Redis write, and after Redis
itself lost everything (it keeps nothing on disk) — dialogs in progress
survive both. Writes are absolute (set or delete), so replaying is harmless."""
from __future__ import annotations

from datetime import timedelta

import redis
from sqlalchemy import select

from bot.kv import WriteBehind, apply_writes
from bot.models import InboundMessage, utcnow


class KvJournal:
    """Per user, Redis holds a marker (the last message whose writes it has)
    and, from the start of a turn until its writes have arrived, a "pending"
    flag. Only a missing marker (Redis lost it) or a flag left by an earlier
    turn (its writes never arrived) sends a turn to the log to catch up: the
    usual turn costs one round trip here and one for its writes, no query."""

    def __init__(self, client: redis.Redis, prefix: str, window_seconds: float):
        self.client = client
        self.prefix = prefix
        self.window = int(window_seconds)  # the longest-lived journaled key lives this long

    def catch_up(self, session, user: str) -> int:
        """At the start of a turn: raise this turn's flag and apply the user's
        journaled writes that Redis has not seen, oldest first; returns how
        many messages' writes were applied."""
        pipe = self.client.pipeline(transaction=False)
        pipe.mget(self._marker_key(user), self._pending_key(user))
        pipe.set(self._pending_key(user), "1", ex=self.window)
        (marker, pending), _ = pipe.execute()
        if marker is not None and pending is None:
            return 0  # Redis has everything
        applied = int(marker or 0)
        now = utcnow()
        rows = session.execute(
            select(InboundMessage.id, InboundMessage.handled_at, InboundMessage.kv_writes)
            .where(InboundMessage.from_user == user, InboundMessage.id > applied,
                   InboundMessage.kv_writes.is_not(None),
                   InboundMessage.handled_at >= now - timedelta(seconds=self.window))
            .order_by(InboundMessage.id)).all()
        pipe = self.client.pipeline(transaction=True)
        for row in rows:
            apply_writes(pipe, row.kv_writes, (now - row.handled_at).total_seconds())
        pipe.set(self._marker_key(user), rows[-1].id if rows else applied, ex=self.window)
        pipe.execute()
        return len(rows)

    def flush(self, kv: WriteBehind, user: str, message_id: int) -> None:
        """After the commit: this message's writes, the marker (when it wrote
        anything) and the end of the turn's flag, at once."""
        pipe = self.client.pipeline(transaction=True)
        if kv.pending:
            pipe.set(self._marker_key(user), message_id, ex=self.window)
        pipe.delete(self._pending_key(user))
        kv.flush(pipe)

    def _marker_key(self, user: str) -> str:
        return f"{self.prefix}kv-applied:{user}"

    def _pending_key(self, user: str) -> str:
        return f"{self.prefix}kv-pending:{user}"
