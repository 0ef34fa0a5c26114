"""The Redis writes of each handled message are kept with it in the message
log, so Redis can always be brought back in step with the database: after a
failure between the database commit and the Redis write, and after Redis
itself lost everything (it keeps nothing on disk) — dialogs in progress
survive both. Writes are absolute (set or delete), so replaying is harmless."""
from __future__ import annotations

from datetime import timedelta

import redis
from sqlalchemy import select

from bot.kv import apply_writes
from bot.models import InboundMessage, utcnow


class KvJournal:
    def __init__(self, client: redis.Redis, prefix: str, window_seconds: float):
        self.client = client
        self.prefix = prefix
        self.window = int(window_seconds)  # the longest-lived journaled key lives this long

    def marker(self, user: str, message_id: int) -> tuple[str, int, int]:
        """For WriteBehind.flush: this message's writes are the latest applied."""
        return self._marker_key(user), message_id, self.window

    def catch_up(self, session, user: str) -> int:
        """Apply this user's journaled writes that Redis has not seen, oldest
        first; returns how many messages' writes were applied."""
        applied = int(self.client.get(self._marker_key(user)) or 0)
        now = utcnow()
        rows = session.execute(
            select(InboundMessage.id, InboundMessage.handled_at, InboundMessage.kv_writes)
            .where(InboundMessage.from_user == user, InboundMessage.id > applied,
                   InboundMessage.kv_writes.is_not(None),
                   InboundMessage.handled_at >= now - timedelta(seconds=self.window))
            .order_by(InboundMessage.id)).all()
        for row in rows:
            pipe = self.client.pipeline(transaction=True)
            apply_writes(pipe, row.kv_writes, (now - row.handled_at).total_seconds())
            pipe.set(self._marker_key(user), row.id, ex=self.window)
            pipe.execute()
        return len(rows)

    def _marker_key(self, user: str) -> str:
        return f"{self.prefix}kv-applied:{user}"
