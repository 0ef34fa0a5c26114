"""A user's dialog state, kept in Redis as JSON (never in a process)."""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, fields

import redis


@dataclass
class DialogState:
    step: str
    slots: dict = field(default_factory=dict)
    failures: int = 0  # unreadable answers in a row
    updated: float = field(default_factory=time.time)
    paused_step: str | None = None  # the step an idle dialog stopped at
    complaint_id: int | None = None  # set once an emergency was registered
    parked: dict | None = None  # the slots of a draft an emergency interrupted

    def is_idle(self, idle_seconds: float, now: float | None = None) -> bool:
        return (now or time.time()) - self.updated > idle_seconds


class DialogStore:
    def __init__(self, client: redis.Redis, prefix: str, keep_seconds: float):
        self.redis = client
        self.prefix = prefix
        self.keep_seconds = int(keep_seconds)

    def _key(self, user: str) -> str:
        return f"{self.prefix}dialog:{user}"

    def load(self, user: str) -> DialogState | None:
        raw = self.redis.get(self._key(user))
        if not raw:
            return None
        known = {f.name for f in fields(DialogState)}  # a state saved by an older version may hold more
        return DialogState(**{k: v for k, v in json.loads(raw).items() if k in known})

    def save(self, user: str, state: DialogState, touch: bool = True) -> None:
        if touch:
            state.updated = time.time()
        self.redis.set(self._key(user), json.dumps(asdict(state), ensure_ascii=False), ex=self.keep_seconds)

    def clear(self, user: str) -> None:
        self.redis.delete(self._key(user))


class SupplementPointer:
    """A short-lived pointer, "the next photos or words belong to complaint X":
    set by an occupant's "补充 TS…" with nothing after it, and by a worker's
    完成 for the completion photos that follow."""

    SECONDS = 600  # ten minutes to send them

    def __init__(self, redis, prefix: str):
        self.redis, self.prefix = redis, prefix

    def _key(self, user: str) -> str:
        return f"{self.prefix}supplement:{user}"

    def point(self, user: str, number: str) -> None:
        self.redis.set(self._key(user), number, ex=self.SECONDS)

    def target(self, user: str) -> str | None:
        return self.redis.get(self._key(user))

    def clear(self, user: str) -> None:
        self.redis.delete(self._key(user))
