"""What a handler gets (the message, a database session, the services) and
what it gives back (the text for the passive reply)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from bot.inbound import Inbound
from bot.services import Services


@dataclass
class Context:
    inbound: Inbound
    session: Session
    services: Services

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
