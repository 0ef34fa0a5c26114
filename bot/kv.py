"""Redis: dialog state, locks and the token cache. Without REDIS_URL the
service runs single-process on an embedded Redis-compatible store."""
from __future__ import annotations

import logging
import math

import redis

log = logging.getLogger(__name__)


def connect(url: str | None) -> redis.Redis:
    if url:
        return redis.Redis.from_url(url, decode_responses=True, socket_timeout=5,
                                    socket_connect_timeout=3, health_check_interval=30)
    import fakeredis

    log.warning("未设置 REDIS_URL：使用进程内嵌的 Redis 兼容存储，仅支持单进程运行"
                "（生产环境请设置 REDIS_URL）")
    return fakeredis.FakeRedis(server=fakeredis.FakeServer(), decode_responses=True)


def is_embedded(client: redis.Redis) -> bool:
    return type(client).__module__.startswith("fakeredis")


class WriteBehind:
    """Redis writes held back until the database transaction they belong to
    has committed. A dialog step must not move on in Redis while the
    complaint it produced is rolled back in the database (WeCom would retry
    the message against a dialog that already forgot it). Reads see the
    held writes, so a handler reads its own changes."""

    def __init__(self, client: redis.Redis):
        self.client = client
        self.pending: dict[str, tuple[str | None, int | None]] = {}

    def get(self, key: str) -> str | None:
        if key in self.pending:
            return self.pending[key][0]
        return self.client.get(key)

    def set(self, key: str, value, ex: int | None = None) -> None:
        self.pending[key] = (str(value), ex)

    def delete(self, key: str) -> None:
        self.pending[key] = (None, None)

    def journal(self) -> list[list] | None:
        """The held writes as JSON-able [key, value or None, expiry] triples,
        stored with the message they belong to (bot.kv_journal)."""
        return [[key, value, expiry] for key, (value, expiry) in self.pending.items()] or None

    def flush(self, pipe=None) -> None:
        """Apply the held writes at once, on ``pipe`` (a transaction the caller
        adds to and this executes) or a pipeline of its own."""
        pipe = pipe if pipe is not None else self.client.pipeline(transaction=True)
        apply_writes(pipe, self.journal() or [])
        if len(pipe):
            pipe.execute()
        self.pending.clear()


def apply_writes(pipe, writes: list[list], age_seconds: float = 0.0) -> None:
    """Queue journaled writes on a pipeline; ``age_seconds`` after they were
    first made, an expiry that has run out deletes the key instead."""
    for key, value, expiry in writes:
        left = None if expiry is None else math.ceil(expiry - age_seconds)
        if value is None or (left is not None and left <= 0):
            pipe.delete(key)
        else:
            pipe.set(key, value, ex=left)
