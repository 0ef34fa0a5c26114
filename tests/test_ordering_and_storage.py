"""One user's messages are handled one at a time and in arrival order; a
message is acknowledged only once it is stored; a stored but unhandled
message is handled when WeCom retries it."""
from __future__ import annotations

import shutil
import threading
import time
import uuid

import pytest
import requests
from sqlalchemy import func, select

from bot import complaints
from bot.models import Complaint, InboundMessage, utcnow
from bot.user_queue import QueueBusy, UserQueue
from handlers import routing
from handlers.context import Outcome
from tests.helpers import NUMBER
from tests.live_app import app_factory  # noqa: F401

UNREACHABLE_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:1/x"


def wait_until(condition, timeout: float = 15.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)


def count(services, model) -> int:
    with services.db.session() as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


# -- the per-user queue ------------------------------------------------------------
@pytest.fixture
def queue(redis_client, key_prefix):
    return UserQueue(redis_client, key_prefix, wait_seconds=10, hold_seconds=30, poll_seconds=0.005)


def queue_key(key_prefix: str, user: str) -> str:
    return f"{key_prefix}userq:{user}"


def test_waiters_enter_strictly_in_the_order_they_joined(queue, redis_client, key_prefix):
    user = f"u-{uuid.uuid4().hex[:6]}"
    key = queue_key(key_prefix, user)
    entered: list[str] = []
    inside = threading.Event()
    errors: list[BaseException] = []

    def visit(name: str, hold: float = 0.0) -> None:
        try:
            with queue.turn(user):
                entered.append(name)
                inside.set()
                time.sleep(hold)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    holder = threading.Thread(target=visit, args=("A", 0.3))
    holder.start()
    assert inside.wait(10)
    # D, C, B would race for a plain lock; here they join one after another
    # (each once the previous one's ticket is in the list) and must enter in that order.
    waiters = []
    for position, name in enumerate("BCD", start=2):
        thread = threading.Thread(target=visit, args=(name, 0.02))
        thread.start()
        waiters.append(thread)
        wait_until(lambda: redis_client.llen(key) == position, what=f"{name} to join")
        time.sleep(0.03)
    for thread in [holder, *waiters]:
        thread.join(15)
    assert not errors
    assert entered == ["A", "B", "C", "D"]
    assert redis_client.llen(key) == 0  # every ticket is gone afterwards


def test_an_abandoned_ticket_at_the_head_is_skipped(queue, redis_client, key_prefix):
    key = queue_key(key_prefix, "crashed")
    # A process that joined 1000 s ago and died without leaving the queue.
    redis_client.rpush(key, f"{time.time() - 1000:.6f}:{uuid.uuid4().hex}")
    with queue.turn("crashed"):
        assert redis_client.llen(key) == 1  # only our own ticket is left
    assert redis_client.llen(key) == 0


def test_a_live_ticket_at_the_head_is_waited_for_until_the_budget_runs_out(redis_client, key_prefix):
    short = UserQueue(redis_client, key_prefix, wait_seconds=0.3, hold_seconds=30, poll_seconds=0.01)
    key = queue_key(key_prefix, "busy")
    other = f"{time.time():.6f}:{uuid.uuid4().hex}"  # someone still working on an earlier message
    redis_client.rpush(key, other)
    with pytest.raises(QueueBusy):
        with short.turn("busy"):
            pytest.fail("entered while an earlier message was still being handled")
    assert redis_client.lrange(key, 0, -1) == [other]  # our ticket was withdrawn, theirs kept


def test_different_users_do_not_wait_for_each_other(redis_client, key_prefix):
    short = UserQueue(redis_client, key_prefix, wait_seconds=0.5, hold_seconds=30, poll_seconds=0.01)
    with short.turn("alice"):
        with short.turn("bob"):
            pass


# -- concurrent callbacks of one user ----------------------------------------------
def test_concurrent_callbacks_of_one_user_are_handled_in_send_order(app_factory, redis_client, key_prefix,
                                                                   monkeypatch):
    """Eight callbacks of one user arrive while an earlier one is still being
    handled; each joins the queue after the previous one. All are stored and
    answered, and handled in the order they arrived."""
    def register_at_once(ctx):  # the pre-dialog behaviour: every text is a complaint
        complaint = complaints.create_complaint(ctx.session, occupant_id=ctx.user,
                                                description=ctx.message.content, tz=ctx.services.tz)
        return Outcome(f"已登记 {complaint.number}")

    monkeypatch.setitem(routing.MESSAGE_HANDLERS, "text", register_at_once)
    app = app_factory(**{"callback.user_lock_wait_seconds": 60, "server.threads": 16})
    user, key = "zhangsan", queue_key(key_prefix, "zhangsan")
    replies: dict[int, object] = {}
    errors: list[BaseException] = []

    def send(index: int) -> None:
        try:
            replies[index] = app.new_sender().text(user, f"第{index}件事：3号楼{index}01的灯坏了")
        except BaseException as exc:
            errors.append(exc)

    threads = []
    with app.services.user_queue.turn(user):  # an earlier message still in progress
        for index in range(8):
            thread = threading.Thread(target=send, args=(index,))
            thread.start()
            threads.append(thread)
            wait_until(lambda: redis_client.llen(key) == index + 2, what=f"callback {index} to queue")
            time.sleep(0.05)
    for thread in threads:
        thread.join(60)
    assert not errors
    assert [replies[i].status_code for i in range(8)] == [200] * 8
    numbers = [NUMBER.search(replies[i].text).group() for i in range(8)]
    assert numbers == sorted(numbers) and len(set(numbers)) == 8
    with app.services.db.session() as session:
        logged = session.execute(select(InboundMessage).order_by(InboundMessage.id)).scalars().all()
        registered = session.execute(select(Complaint).order_by(Complaint.number)).scalars().all()
    assert [row.content for row in logged] == [f"第{i}件事：3号楼{i}01的灯坏了" for i in range(8)]
    assert all(row.status == "handled" for row in logged)
    assert [c.description for c in registered] == [row.content for row in logged]


def test_concurrent_callbacks_with_the_real_handlers_are_all_stored_in_order(app_factory, redis_client,
                                                                            key_prefix):
    app = app_factory(**{"callback.user_lock_wait_seconds": 60, "server.threads": 16})
    user, key = "lisi", queue_key(key_prefix, "lisi")
    texts = ["宿舍的灯坏了", "3号楼201", "昨天开始", "没有照片", "电话13812345678", "确认"]
    replies: dict[int, object] = {}

    def send(index: int) -> None:
        replies[index] = app.new_sender().text(user, texts[index])

    threads = []
    with app.services.user_queue.turn(user):
        for index in range(len(texts)):
            thread = threading.Thread(target=send, args=(index,))
            thread.start()
            threads.append(thread)
            wait_until(lambda: redis_client.llen(key) == index + 2, what=f"callback {index} to queue")
    for thread in threads:
        thread.join(60)
    assert [replies[i].status_code for i in range(len(texts))] == [200] * len(texts)
    with app.services.db.session() as session:
        logged = session.execute(select(InboundMessage).order_by(InboundMessage.id)).scalars().all()
    assert [row.content for row in logged] == texts
    assert [row.reply for row in logged] == [replies[i].text for i in range(len(texts))]
    handled_at = [row.handled_at for row in logged]
    assert handled_at == sorted(handled_at)  # one after another, never interleaved


# -- storage down: nothing is acknowledged --------------------------------------------
def assert_unavailable(app) -> None:
    reply = app.sender.text("zhangsan", "3号楼201的灯坏了")
    assert reply.status_code == 503 and "Traceback" not in reply.response.text
    assert not reply.response.text.strip().startswith("<xml")  # no passive reply: WeCom will retry
    ready = requests.get(f"{app.url}/readyz", timeout=10)
    assert ready.status_code == 503
    assert ready.json()["status"] == "unavailable"
    assert ready.json()["database"].startswith("error")
    assert ready.json()["redis"] == "ok"
    assert requests.get(f"{app.url}/healthz", timeout=10).status_code == 200


def test_postgres_not_listening_gives_503_and_readyz_says_so(app_factory, redis_client, key_prefix):
    app = app_factory(upgrade=False, db_url=UNREACHABLE_POSTGRES)
    assert_unavailable(app)
    assert redis_client.llen(queue_key(key_prefix, "zhangsan")) == 0  # the turn was given back


def test_sqlite_file_that_cannot_be_opened_gives_503_then_works_once_storage_is_back(app_factory, tmp_path):
    folder = tmp_path / "storage"
    app = app_factory(upgrade=False, db_url=f"sqlite:///{folder / 'complaints.db'}")
    # The folder vanished and a regular file took its place: the database path
    # now lies under a regular file and cannot be opened.
    shutil.rmtree(folder)
    folder.write_text("not a directory")
    assert_unavailable(app)

    folder.unlink()
    folder.mkdir()
    app.services.db.upgrade()
    msg_id = 9_000_001
    reply = app.sender.text("zhangsan", "3号楼201的灯坏了", msg_id=msg_id)  # WeCom's retry
    assert reply.status_code == 200 and reply.text
    assert count(app.services, InboundMessage) == 1
    assert requests.get(f"{app.url}/readyz", timeout=10).status_code == 200


def test_message_log_failing_to_store_means_503_not_an_answer(app_factory):
    """The database answers, but the message log cannot be written: still 503."""
    app = app_factory(upgrade=False)  # no tables at all
    reply = app.sender.text("zhangsan", "3号楼201的灯坏了")
    assert reply.status_code == 503 and "Traceback" not in reply.response.text


# -- stored, never handled -----------------------------------------------------------------
def test_message_stored_but_never_handled_is_handled_on_wecoms_retry(wecom, services, monkeypatch):
    def register_at_once(ctx):
        complaint = complaints.create_complaint(ctx.session, occupant_id=ctx.user,
                                                description=ctx.message.content, tz=ctx.services.tz)
        return Outcome(f"已登记 {complaint.number}")

    monkeypatch.setitem(routing.MESSAGE_HANDLERS, "text", register_at_once)
    msg_id = 8_800_123
    with services.db.session() as session:  # as if the process died right after storing it
        session.add(InboundMessage(dedup_key=f"msg:{msg_id}", from_user="lisi", msg_type="text",
                                   content="食堂的饭菜有异味", raw_xml="<xml/>", received_at=utcnow(),
                                   status="received"))

    retry = wecom.text("lisi", "食堂的饭菜有异味", msg_id=msg_id)
    assert retry.status_code == 200
    number = NUMBER.search(retry.text).group()
    with services.db.session() as session:
        row = session.execute(select(InboundMessage)).scalar_one()
        complaint = session.execute(select(Complaint)).scalar_one()
    assert row.status == "handled" and row.reply == retry.text and row.handled_at is not None
    assert complaint.number == number and complaint.description == "食堂的饭菜有异味"

    again = wecom.text("lisi", "食堂的饭菜有异味", msg_id=msg_id)  # a later retry changes nothing
    assert again.text == retry.text
    assert count(services, Complaint) == 1 and count(services, InboundMessage) == 1


def test_message_stored_but_never_handled_with_the_real_handlers(wecom, services):
    msg_id = 8_800_456
    with services.db.session() as session:
        session.add(InboundMessage(dedup_key=f"msg:{msg_id}", from_user="wangwu", msg_type="text",
                                   content="宿舍的灯坏了", raw_xml="<xml/>", received_at=utcnow(),
                                   status="received"))
    reply = wecom.text("wangwu", "宿舍的灯坏了", msg_id=msg_id)
    assert reply.status_code == 200 and reply.text
    with services.db.session() as session:
        row = session.execute(select(InboundMessage)).scalar_one()
    assert row.status == "handled" and row.reply == reply.text
