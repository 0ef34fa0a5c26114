"""One user's messages are handled one at a time, in arrival order.

A plain Redis lock gives mutual exclusion but lets a later message overtake an
earlier one. Here every request joins a per-user Redis list and proceeds when
its ticket is at the head. A ticket carries the time it joined, so one left
behind by a crashed process is dropped once it is older than anyone could
legitimately wait plus hold.
"""
from __future__ import annotations

import time
import uuid
from contextlib import contextmanager
from typing import Iterator

import redis


class QueueBusy(Exception):
    """The user's earlier messages did not finish within the wait budget."""


class UserQueue:
    def __init__(self, client: redis.Redis, prefix: str, wait_seconds: float, hold_seconds: float,
                 poll_seconds: float = 0.01):
        self.redis = client
        self.prefix = prefix
        self.wait_seconds = wait_seconds
        self.hold_seconds = hold_seconds
        self.poll_seconds = poll_seconds

    @contextmanager
    def turn(self, user: str) -> Iterator[None]:
        key = f"{self.prefix}userq:{user}"
        ticket = f"{time.time():.6f}:{uuid.uuid4().hex}"
        # Join and look at the head in one round trip: usually nobody is ahead.
        pipe = self.redis.pipeline(transaction=False)
        pipe.rpush(key, ticket)
        pipe.expire(key, int(self.wait_seconds + self.hold_seconds) + 60)
        pipe.lindex(key, 0)
        head = pipe.execute()[-1]
        try:
            if head != ticket:
                self._wait_for_head(key, ticket)
            yield
        finally:
            self.redis.lrem(key, 1, ticket)

    def _wait_for_head(self, key: str, ticket: str) -> None:
        deadline = time.monotonic() + self.wait_seconds
        while True:
            head = self.redis.lindex(key, 0)
            if head == ticket:
                return
            if head is not None and self._is_abandoned(head):
                self.redis.lrem(key, 1, head)
                continue
            if time.monotonic() >= deadline:
                raise QueueBusy(key)
            time.sleep(self.poll_seconds)

    def _is_abandoned(self, ticket: str) -> bool:
        joined = float(ticket.split(":", 1)[0])
        return time.time() - joined > self.wait_seconds + self.hold_seconds
