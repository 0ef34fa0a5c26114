"""Shared pieces for the intake-dialog tests: a factory for extra live stacks
(other settings, or a fresh process against the same database and Redis
prefix), and small readers for what the bot stored.

Import the ``stack_factory`` fixture into a test module to use it."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select

from bot.models import Attachment, Complaint, ComplaintEvent, InboundMessage, OutboxMessage
from bot.services import Services, build_services
from bot.wecom.callback_sender import CallbackSender
from dialogs.state import DialogState, DialogStore
from tests.conftest import AES_KEY, TOKEN, LiveServer, make_settings

DUTY_PHONE = "010-99998888"
SERVICE_PHONE = "010-11112222"
# From tests/conftest.py's TEST_DIRECTORY.
DUTY, SECURITY_LEADER, SUPERVISOR, CUSTOMER_SERVICE = "wu.baoan", "zheng.kezhang", "lin.lingdao", "kefu.liu"
ENGINEERING_LEADER = "wang.zhuren"


@dataclass(frozen=True)
class Image:
    """A photo as one turn of a conversation."""
    media_id: str


@dataclass
class Stack:
    """Services + the live app + a sender: one running "process"."""
    services: Services
    live: LiveServer
    sender: CallbackSender
    stopped: bool = field(default=False)

    def stop(self) -> None:
        if not self.stopped:
            self.stopped = True
            self.live.stop()
            self.services.close()

    def new_sender(self) -> CallbackSender:
        return new_sender(self.sender)


def new_sender(sender: CallbackSender) -> CallbackSender:
    """Another sender to the same app (a requests session is not shared between threads)."""
    return CallbackSender(sender.url, sender.token, sender.encoding_aes_key, sender.corp_id,
                          agent_id=sender.agent_id)


@pytest.fixture
def stack_factory(fake_wecom, database_url, key_prefix, tmp_path, redis_client):
    """``start(**dotted_overrides)`` serves the app with make_settings(...) plus
    the overrides, on the test's database and Redis prefix (so several stacks
    share all state, like processes of one deployment)."""
    started: list[Stack] = []

    def start(**overrides) -> Stack:
        settings = make_settings(fake_wecom, database_url, key_prefix, tmp_path / "data", **overrides)
        services = build_services(settings, redis_client)
        services.db.upgrade()
        live = LiveServer(services).start()
        sender = CallbackSender(f"{live.url}/wecom/callback", TOKEN, AES_KEY, fake_wecom.corp_id,
                                agent_id=fake_wecom.agent_id)
        stack = Stack(services, live, sender)
        started.append(stack)
        return stack

    yield start
    for stack in reversed(started):
        stack.stop()


# -- talking ------------------------------------------------------------------
def send(sender: CallbackSender, user: str, turn):
    if isinstance(turn, Image):
        return sender.image(user, turn.media_id)
    return sender.text(user, turn)


def say(sender: CallbackSender, user: str, *turns) -> list[str]:
    """Send turns one after another; every one must be answered with a 200 and a text."""
    replies = []
    for turn in turns:
        reply = send(sender, user, turn)
        assert reply.status_code == 200, (turn, reply)
        text = reply.text
        assert text, f"no reply to {turn!r}"
        replies.append(text)
    return replies


def last(sender: CallbackSender, user: str, *turns) -> str:
    return say(sender, user, *turns)[-1]


# -- reading what was stored --------------------------------------------------
def dialog_of(services: Services, user: str) -> DialogState | None:
    settings = services.settings
    return DialogStore(services.redis, settings.redis_prefix, 3600).load(user)


def age_dialog(services: Services, user: str, seconds: float) -> None:
    """Make the stored dialog look as if its last answer was ``seconds`` ago."""
    store = DialogStore(services.redis, services.settings.redis_prefix, 3600)
    state = store.load(user)
    state.updated = time.time() - seconds
    store.save(user, state, touch=False)


def forget_recent(services: Services, user: str) -> None:
    """As if the complaint just registered was registered long ago (the 30-minute window is over)."""
    services.redis.delete(f"{services.settings.redis_prefix}recent:{user}")


def detached(services: Services, query) -> list:
    """Rows read in a session of their own, usable after it has closed."""
    with services.db.session() as session:
        rows = list(session.execute(query).scalars())
        session.expunge_all()
        return rows


def complaints_of(services: Services, user: str | None = None) -> list[Complaint]:
    query = select(Complaint).order_by(Complaint.id)
    if user is not None:
        query = query.where(Complaint.occupant_id == user)
    return detached(services, query)


def events_of(services: Services, number: str) -> list[ComplaintEvent]:
    return detached(services, select(ComplaintEvent).join(Complaint).where(Complaint.number == number)
                    .order_by(ComplaintEvent.id))


def attachments_of(services: Services, number: str) -> list[Attachment]:
    return detached(services, select(Attachment).join(Complaint).where(Complaint.number == number)
                    .order_by(Attachment.id))


def queued_texts(services: Services, recipient: str) -> list[str]:
    """Texts waiting in (or sent from) the outbox for one member."""
    with services.db.session() as session:
        rows = session.execute(select(OutboxMessage.payload).where(OutboxMessage.recipient == recipient)
                               .order_by(OutboxMessage.id)).scalars()
        return [payload["text"]["content"] for payload in rows if payload.get("msgtype") == "text"]


def sent_texts(fake_wecom, recipient: str) -> list[str]:
    """Texts the fake WeCom API actually received for one member."""
    return [body["text"]["content"] for body in fake_wecom.sent(msgtype="text", touser=recipient)]


def failed_messages(services: Services) -> list[InboundMessage]:
    with services.db.session() as session:
        rows = list(session.execute(select(InboundMessage).where(InboundMessage.status != "handled")).scalars())
        session.expunge_all()
        return rows
