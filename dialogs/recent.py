"""The complaint a person registered last, for half an hour: what they say
next may be about it ("水越来越大了", "是东边那个"), or may not. Only the
pointer lives here; whether a message belongs to it is the dialog's call."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

# Long enough for "I forgot to say…", short enough not to catch tomorrow's new problem.
RECENT_SECONDS = 30 * 60


@dataclass
class Recent:
    number: str
    emergency: bool = False
    kinds: list[str] = field(default_factory=list)  # the live emergency kinds, e.g. ["电梯困人"]


class RecentStore:
    def __init__(self, client, prefix: str, seconds: int = RECENT_SECONDS):
        self.redis, self.prefix, self.seconds = client, prefix, seconds

    def _key(self, user: str) -> str:
        return f"{self.prefix}recent:{user}"

    def save(self, user: str, recent: Recent) -> None:
        self.redis.set(self._key(user), json.dumps(asdict(recent), ensure_ascii=False), ex=self.seconds)

    def load(self, user: str) -> Recent | None:
        raw = self.redis.get(self._key(user))
        return Recent(**json.loads(raw)) if raw else None
