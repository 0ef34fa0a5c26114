"""Shared by the deadline and follow-up tests: a frozen clock the whole
process sees (time_machine), a directory with a two-person department, and
helpers to register, act, run the scheduler at a simulated moment and read
what the fake WeCom received.

Import ``settings``, ``overrides`` and ``wecom`` into a test module: they
replace conftest's, so ``services``, ``live``, ``wecom`` and ``worker`` run
on this directory. Parametrize ``overrides`` (a dict of dotted keys) for
other limits in one test."""
from __future__ import annotations

import copy
import threading
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests
import time_machine
from sqlalchemy import select

from bot import complaints, lifecycle, notify, registration, workflow
from bot.models import Complaint, ComplaintEvent, Deadline, OutboxMessage, Survey, utcnow
from bot.registration import Intake
from bot.scheduler import tick
from bot.wecom.callback_sender import CallbackSender
from tests.conftest import AES_KEY, TOKEN, make_settings

TZ = ZoneInfo("Asia/Shanghai")

LI, ZHANG, WANG = "li.shifu", "zhang.shifu", "wang.zhuren"  # 工程维修部: two members, their leader
WU, ZHENG = "wu.baoan", "zheng.kezhang"  # 安全保卫部
KEFU, HE = "kefu.liu", "he.zhuren"  # 客户服务中心
SUPERVISOR = "lin.lingdao"
ON_CALL = "zhou.zhiban"  # on the duty roster round the clock
OCCUPANT, NEIGHBOUR, GUEST = "xue.yuan", "lin.ju", "fang.ke"
ENGINEERING, SECURITY = "工程维修部", "安全保卫部"

DIRECTORY = {
    "departments": [
        {"name": ENGINEERING, "members": [LI, ZHANG], "leader": WANG},
        {"name": SECURITY, "members": [WU], "leader": ZHENG},
        {"name": "客户服务中心", "members": [KEFU], "leader": HE},
    ],
    "supervisors": [SUPERVISOR],
    "customer_service": [KEFU],
    "duty": [WU],
    "duty_roster": [{"days": [1, 2, 3, 4, 5, 6, 7], "hours": "00:00-24:00", "people": [ON_CALL]}],
}

# Texts that start each kind of notice (bot/texts.yaml).
WARNING, LEVEL_1, LEVEL_2 = "【时限提醒】", "【超时·第 1 级】", "【超时·第 2 级】"
REPUSH = "【紧急·仍无人受理】"
PROGRESS = "仍在处理中"  # the occupant's progress note


def at(text: str) -> datetime:
    """'2026-11-25 09:00' in Beijing time."""
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


@pytest.fixture
def wecom(live, fake_wecom):
    """Callbacks as in conftest, but on a new connection each: when the clock
    jumps, waitress drops idle keep-alive connections (its idle check reads the
    moved clock), and a request racing that drop would be reset."""
    session = requests.Session()
    session.headers["Connection"] = "close"
    sender = CallbackSender(f"{live.url}/wecom/callback", TOKEN, AES_KEY, fake_wecom.corp_id,
                            agent_id=fake_wecom.agent_id, session=session)
    yield sender
    session.close()


@pytest.fixture
def overrides() -> dict:
    return {}


@pytest.fixture
def settings(fake_wecom, database_url, key_prefix, tmp_path, overrides):
    return make_settings(fake_wecom, database_url, key_prefix, tmp_path / "data",
                         directory=copy.deepcopy(DIRECTORY), **overrides)  # overrides may add to it


class Clock:
    """The process's clock, frozen and moved by hand: utcnow() in the app,
    the callbacks' timestamps and the worker all see the same moment."""

    def __init__(self, traveller, start: datetime):
        self._traveller = traveller
        self.now = start

    def to(self, moment: datetime | str) -> datetime:
        moment = at(moment) if isinstance(moment, str) else moment
        assert moment >= self.now, "the clock only moves forward"
        self.now = moment
        self._traveller.move_to(moment)
        return moment


def frozen_clock(start: str):
    """A fixture factory: the test runs with time frozen at `start`."""

    @pytest.fixture
    def clock():
        moment = at(start)
        with time_machine.travel(moment, tick=False) as traveller:
            yield Clock(traveller, moment)

    return clock


# -- acting ------------------------------------------------------------------------------------------
def register(services, occupant: str, description: str, category: str, *, location: str = "3号楼201",
             emergency: bool = False) -> str:
    """Through the real registration (what the dialog calls at 确认)."""
    with services.db.session() as session:
        intake = Intake(occupant_id=occupant, description=description, category=category, location=location,
                        emergency=emergency)
        return registration.register(session, services, intake).number


def act(services, number: str, action: str, actor: str, text: str | None = None) -> None:
    """A staff action exactly as a command or a card button performs it."""
    with services.db.session() as session:
        complaint = complaints.find_by_number(session, number)
        directory = services.directory()
        workflow.perform(session, directory, complaint, action, actor, text)
        lifecycle.after_action(notify.Notice(session, services, directory, complaint, actor, text), action)


def command(wecom, user: str, text: str) -> str:
    reply = wecom.text(user, text)
    assert reply.status_code == 200, reply
    return reply.text or ""


def run_at(clock: Clock, services, worker, moment: str | datetime) -> None:
    """The scheduler's tick at a simulated moment, then the worker delivers."""
    clock.to(moment)
    tick(services, now=clock.now)
    deliver(services, worker)


def tick_concurrently(*services_list, now: datetime, rounds: int = 3) -> None:
    """Several independent scheduler instances tick at the same moment, in threads."""
    barrier = threading.Barrier(len(services_list))
    errors: list[BaseException] = []

    def scheduler(services) -> None:
        try:
            for _ in range(rounds):
                barrier.wait(timeout=30)
                tick(services, now=now)
        except BaseException as error:  # noqa: BLE001 — reported below
            errors.append(error)
            barrier.abort()

    threads = [threading.Thread(target=scheduler, args=(s,)) for s in services_list]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(t.is_alive() for t in threads), "a scheduler thread hung"
    assert not errors, errors


def deliver(services, worker, rounds: int = 20) -> None:
    """Run the worker until nothing due is left in the outbox."""
    for _ in range(rounds):
        worker.run_once()
        with services.db.session() as session:
            due = session.execute(select(OutboxMessage.id).where(
                OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= utcnow())).first()
        if due is None:
            return
    raise AssertionError("the outbox did not drain")


# -- reading -------------------------------------------------------------------------------------------
def texts(fake_wecom, user: str, prefix: str = "", number: str | None = None) -> list[str]:
    return [body["text"]["content"] for body in fake_wecom.sent(msgtype="text", touser=user)
            if body["text"]["content"].startswith(prefix) and (number is None or number in body["text"]["content"])]


def notices(fake_wecom, number: str) -> Counter:
    """(recipient, text) of every deadline notice about a complaint delivered so far."""
    def is_notice(text: str) -> bool:
        return text.startswith((WARNING, "【超时", REPUSH)) or PROGRESS in text

    return Counter((body["touser"], body["text"]["content"]) for body in fake_wecom.sent(msgtype="text")
                   if number in body["text"]["content"] and is_notice(body["text"]["content"]))


def complaint_of(services, number: str) -> Complaint:
    with services.db.session() as session:
        row = session.execute(select(Complaint).where(Complaint.number == number)).scalar_one()
        session.expunge_all()
        return row


def deadlines_of(services, number: str, status: str | None = None) -> dict[str, Deadline]:
    """The stage's latest deadline, by stage."""
    with services.db.session() as session:
        query = select(Deadline).join(Complaint, Deadline.complaint_id == Complaint.id).where(
            Complaint.number == number)
        if status:
            query = query.where(Deadline.status == status)
        rows = list(session.execute(query.order_by(Deadline.id)).scalars())
        session.expunge_all()
    return {row.stage: row for row in rows}


def events_of(services, number: str, kind: str) -> list[ComplaintEvent]:
    with services.db.session() as session:
        rows = list(session.execute(select(ComplaintEvent).join(Complaint).where(
            Complaint.number == number, ComplaintEvent.kind == kind).order_by(ComplaintEvent.id)).scalars())
        session.expunge_all()
        return rows


def surveys_of(services, number: str) -> list[Survey]:
    with services.db.session() as session:
        rows = list(session.execute(select(Survey).join(Complaint, Survey.complaint_id == Complaint.id).where(
            Complaint.number == number).order_by(Survey.id)).scalars())
        session.expunge_all()
        return rows


def local(moment: datetime) -> datetime:
    return moment.astimezone(TZ)


def hours(n: float) -> timedelta:
    return timedelta(hours=n)
