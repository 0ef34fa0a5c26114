"""What a handler gets (the message, a database session, the services) and
what it gives back (the text for the passive reply)."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from bot.inbound import Inbound
from bot.kv import WriteBehind
from bot.services import Services


@dataclass
class Context:
    inbound: Inbound
    session: Session
    services: Services
    # Short-lived state (dialogs, pointers): written to Redis only after the
    # database has committed this message's work.
    kv: WriteBehind = field(default=None)

    def __post_init__(self):
        if self.kv is None:
            self.kv = WriteBehind(self.services.redis)

    @property
    def user(self) -> str:
        return self.inbound.user

    @property
    def message(self):
        return self.inbound.message

    def text(self, key: str, **values) -> str:
        return self.services.texts(key, **values)


@dataclass
class Outcome:
    reply: str | None = None  # None: answer WeCom with an empty 200
