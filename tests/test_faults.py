"""Fault tests: real Redis, the real database, real `complaint-bot` processes
and real HTTP servers, with faults produced by really stopping, killing,
pausing or cutting them off; the project's fake WeCom API is the only
stand-in (tests/fault_support.py has the machinery).

After each scenario the invariants are checked: every message answered with
an HTTP 200 is in the message log exactly once and handled, every complaint's
status agrees with its history, and no push is lost or sent twice.

1. Redis shut down in the middle of dialogs and started again (empty); a
   lost dialog's bare answer; Redis failing between a commit and the dialog's write.
2. The database cut off (PostgreSQL behind a TCP proxy) and back; a database
   that accepts connections and never answers.
3. WeCom's API failing for minutes (the clock moved by time-machine).
4. `complaint-bot serve` and `complaint-bot worker` killed with SIGKILL mid-work.
Several processes at once (two `serve`, two `scheduler`): tests/test_multi_instance.py."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import redis as redis_lib
import requests
import time_machine
from sqlalchemy import create_engine, text

from bot import outbox
from bot.config import CallbackSettings
from bot.services import build_services
from bot.wecom.fake_server import FakeWeCom
from bot.worker import Worker
from tests.conftest import REDIS_URL, TEST_DATABASE_URL, LiveServer, make_settings
from tests.fault_support import (REGISTERED, BlackHole, TcpProxy, Talk, assert_invariants, assert_refused_for_retry,
                                 complaints_of, deployment, dialog_of, free_port, freeze_request,
                                 injected_failures_left, logged_row, message_log, outbox_rows, processes, retry,
                                 send_in_background, sender_for, sent_counter, throwaway_redis, upstream_of,
                                 via_proxy, wait_until)

assert processes and throwaway_redis and deployment  # fixtures
ON_POSTGRES = bool(TEST_DATABASE_URL)

# -- the app in this process -------------------------------------------------------------------------------
class InProcessApp:
    def __init__(self, services):
        self.services = services
        self.live = LiveServer(services).start()

    @property
    def url(self) -> str:
        return self.live.url

    def stop(self) -> None:
        self.live.stop()
        self.services.close()


@pytest.fixture
def start_app(fake_wecom, database_url, key_prefix, tmp_path):
    """start(redis_url=…, db_url=…, redis_client=…, **dotted overrides): the real
    app on waitress in this process, on its own Redis connection."""
    started: list[InProcessApp] = []

    def start(*, redis_url: str = REDIS_URL, db_url: str | None = None, redis_client=None,
              migrate: bool = True, **overrides) -> InProcessApp:
        settings = make_settings(fake_wecom, db_url or database_url, key_prefix, tmp_path / "data",
                                 redis_url=redis_url, **overrides)
        services = build_services(settings, redis_client)
        if migrate:
            services.db.upgrade()
        app = InProcessApp(services)
        started.append(app)
        return app

    yield start
    for app in reversed(started):
        app.stop()


def readiness(url: str) -> tuple[int, dict]:
    response = requests.get(f"{url}/readyz", timeout=30)
    return response.status_code, response.json()


# == 1. Redis stopped in the middle of dialogs =====================================================================
PLACE, SKIP, CONFIRM, SUMMARY = "3号楼201", "跳过", "确认", "请您核对"


def test_redis_shut_down_mid_dialogs_then_started_again_loses_no_acknowledged_message(
        throwaway_redis, start_app, fake_wecom, database_url):
    """Redis keeps dialog state and nothing on disk. While it is down every
    callback gets a 503 and nothing of it is stored; a message whose handling
    was under way when Redis crashed stays stored-but-unhandled. After Redis
    is back (empty), WeCom's retries all succeed and every dialog carries on
    where it was: each handled message's Redis writes are journaled in the
    message log (bot.kv_journal) and replayed. The complaint registered before
    the outage is intact."""
    app = start_app(redis_url=throwaway_redis.url)
    web, talk = sender_for(app.url, fake_wecom), Talk()

    before = talk.complain(web, "zhao.liu", "9号楼305的空调不制冷")
    assert "请问具体在什么地方" in talk.ok(web, "wang.wu", "宿舍的灯坏了")          # asked where
    talk.ok(web, "li.si", "5号楼302卫生间漏水")
    assert SUMMARY in talk.ok(web, "li.si", "昨天开始")                            # a detail added at the summary
    talk.to_confirmation(web, "zhang.san", "7号楼101门锁坏了")                       # at the summary
    assert SUMMARY in talk.ok(web, "sun.qi", "6号楼402暖气不热")                    # at the summary
    logged_before = len(message_log(app.services))

    # sun.qi's answer is being handled — stored, not yet answered — when Redis crashes.
    crashed_id, other_thread = talk.new_id(), sender_for(app.url, fake_wecom)
    flight = freeze_request(throwaway_redis, database_url, app.services, crashed_id,
                            lambda: other_thread.text("sun.qi", "昨天晚上", msg_id=crashed_id), after="store")
    throwaway_redis.kill()
    reply, error = flight.join()
    assert error is None, error
    assert_refused_for_retry(reply)
    assert logged_row(app.services, crashed_id).status == "received"  # stored, never answered

    # Redis is down: nothing is acknowledged, nothing is stored, nothing half-done.
    during = {}
    for user, content in (("wang.wu", PLACE), ("li.si", SKIP), ("zhang.san", CONFIRM)):
        during[user] = (talk.new_id(), content)
        assert_refused_for_retry(talk.say(web, user, content, msg_id=during[user][0]))
    status, checks = readiness(app.url)
    assert status == 503 and checks["redis"].startswith("error") and checks["database"] == "ok"
    assert requests.get(f"{app.url}/healthz", timeout=30).status_code == 200
    assert len(message_log(app.services)) == logged_before + 1  # only the crashed one
    assert [c.number for c in complaints_of(app.services)] == [before]

    throwaway_redis.start()  # same port, empty
    assert readiness(app.url)[0] == 200

    # WeCom's retries: all acknowledged now, each handled once.
    retried = {user: retry(talk, web, user, content, msg_id) for user, (msg_id, content) in during.items()}
    retried["sun.qi"] = retry(talk, web, "sun.qi", "昨天晚上", crashed_id)
    internal_error = app.services.texts("internal_error", phone=app.services.settings.service.phone)
    for user, reply in retried.items():
        assert reply.text and reply.text != internal_error, (user, reply.text)
        assert logged_row(app.services, during.get(user, (crashed_id,))[0]).status == "handled"
    # Every dialog went on from where it was before Redis lost everything.
    assert SUMMARY in retried["wang.wu"].text and "3号楼201宿舍" in retried["wang.wu"].text
    assert "好的" in retried["li.si"].text  # the skip was taken at the summary, which is kept
    assert SUMMARY in retried["sun.qi"].text and "昨天晚上" in retried["sun.qi"].text
    assert REGISTERED in retried["zhang.san"].text
    numbers = [c.number for c in complaints_of(app.services)]
    assert len(numbers) == 2 and numbers[0] == before and numbers[1] in retried["zhang.san"].text

    # The others finish their complaints from there.
    again = {user: talk.finish(web, user, retried[user].text) for user in ("wang.wu", "li.si", "sun.qi")}
    registered = {c.number: c for c in complaints_of(app.services)}
    assert set(registered) == {*numbers, *again.values()}
    assert registered[before].status == "pending" and registered[before].location == "9号楼305"
    assert registered[again["wang.wu"]].location.startswith(PLACE)  # the answer given before the outage
    for user, number in again.items():
        assert registered[number].occupant_id == user
        assert registered[number].description not in (PLACE, SKIP, CONFIRM, "昨天晚上")
    assert_invariants(app.services, talk, fake_wecom)


def test_a_bare_dialog_answer_with_no_dialog_open_starts_no_complaint(start_app, fake_wecom):
    """A "确认" or "跳过" when no registration waits for it (the dialog was
    forgotten after keep_hours, or never existed) describes no problem: the
    bot says so and starts nothing."""
    app = start_app()
    web, talk = sender_for(app.url, fake_wecom), Talk()
    for user, answer in (("zhang.san", CONFIRM), ("li.si", SKIP), ("wang.wu", "好")):
        assert talk.ok(web, user, answer) == app.services.texts("no_dialog_open")
        assert dialog_of(app.services, user) is None
    assert complaints_of(app.services) == []
    assert_invariants(app.services, talk, fake_wecom)


def test_redis_failing_between_the_commit_and_the_dialog_write_leaves_no_stale_dialog(
        throwaway_redis, start_app, fake_wecom, database_url):
    """Redis stops answering writes right after a "确认" was committed
    (complaint registered, message handled) and before the dialog's state is
    written: WeCom gets a 503, its retry the stored answer — exactly once. The
    dialog must not be left waiting at the confirmation of a complaint that is
    already registered."""
    # A Redis connection that gives up after 1 s instead of 5 s (the product's kv.connect): same failure, sooner.
    client = redis_lib.Redis.from_url(throwaway_redis.url, decode_responses=True, socket_timeout=1,
                                      socket_connect_timeout=1)
    app = start_app(redis_url=throwaway_redis.url, redis_client=client,
                    **{"callback.user_lock_wait_seconds": 1, "callback.user_lock_hold_seconds": 2})
    web, talk, user = sender_for(app.url, fake_wecom), Talk(), "zhang.san"
    talk.to_confirmation(web, user, "7号楼101门锁坏了")

    msg_id, other_thread = talk.new_id(), sender_for(app.url, fake_wecom)
    flight = freeze_request(throwaway_redis, database_url, app.services, msg_id,
                            lambda: other_thread.text(user, CONFIRM, msg_id=msg_id), after="commit")
    reply, error = flight.join()  # Redis does not answer the dialog's write: 503
    throwaway_redis.unpause()
    assert error is None, error
    assert_refused_for_retry(reply)
    [complaint] = complaints_of(app.services)  # committed before Redis failed

    retried = retry(talk, web, user, CONFIRM, msg_id)
    assert REGISTERED in retried.text and complaint.number in retried.text  # the stored reply: handled once
    assert len(complaints_of(app.services)) == 1
    state = dialog_of(app.services, user)
    assert state is None, f"the dialog still waits at {state.step!r} for a complaint already registered"


# == 2. The database cut off for a while ===================================================================
@pytest.mark.skipif(not ON_POSTGRES, reason=(
    "needs PostgreSQL (TEST_DATABASE_URL): the database is cut off by a TCP proxy in front of it; SQLite is "
    "a file with no connection to cut (an SQLite file that cannot be opened is covered in "
    "test_ordering_and_storage.py)"))
def test_database_cut_off_then_back_retries_succeed_nothing_lost_nothing_doubled(start_app, fake_wecom,
                                                                               database_url):
    """All connections to PostgreSQL are closed and new ones refused (the
    proxy's port is closed), then it listens again. A message whose handling
    was cut off after it was stored is handled by WeCom's retry; callbacks
    during the outage get 503 and their retries succeed; every message is in
    the log once, no complaint is doubled, dialogs carry on where they were."""
    proxy = TcpProxy(*upstream_of(database_url)).start()
    app = start_app(db_url=via_proxy(database_url, proxy))
    direct = create_engine(database_url)  # the test's own way in, around the proxy
    reader = build_services(app.services.settings.model_copy(update={"database_url": database_url}))
    try:
        web, talk = sender_for(app.url, fake_wecom), Talk()
        before = talk.complain(web, "zhao.liu", "9号楼305的空调不制冷")
        talk.to_confirmation(web, "zhang.san", "7号楼101门锁坏了")
        assert "请问具体在什么地方" in talk.ok(web, "wang.wu", "宿舍的灯坏了")

        # zhang.san's 确认 is stored; registering waits on a lock the test holds — and the connection is cut.
        cut_id, other_thread = talk.new_id(), sender_for(app.url, fake_wecom)
        watching = direct.connect().execution_options(isolation_level="AUTOCOMMIT")
        with direct.connect() as blocker, watching as watcher:
            blocker.execute(text("LOCK TABLE complaints IN EXCLUSIVE MODE"))
            holder = blocker.execute(text("SELECT pg_backend_pid()")).scalar()
            flight = send_in_background(lambda: other_thread.text("zhang.san", CONFIRM, msg_id=cut_id))
            wait_until(lambda: watcher.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE :holder = ANY(pg_blocking_pids(pid)) "
                "AND query ILIKE 'INSERT INTO complaints%'"), {"holder": holder}).scalar(),
                what="the registration to wait on the test's lock")
            proxy.cut()
            reply, error = flight.join()
            blocker.rollback()
        assert error is None, error
        assert_refused_for_retry(reply)
        assert logged_row(reader, cut_id).status == "received"

        # While the database is unreachable nothing is acknowledged and nothing is stored.
        during = {"wang.wu": (talk.new_id(), PLACE), "li.si": (talk.new_id(), "5号楼302卫生间漏水"),
                  "zhao.liu": (talk.new_id(), "进度")}
        for user, (msg_id, content) in during.items():
            assert_refused_for_retry(talk.say(web, user, content, msg_id=msg_id))
        status, checks = readiness(app.url)
        assert status == 503 and checks["database"].startswith("error") and checks["redis"] == "ok"
        assert all(logged_row(reader, msg_id) is None for msg_id, _ in during.values())

        proxy.resume()
        registered = retry(talk, web, "zhang.san", CONFIRM, cut_id)
        retried = {user: retry(talk, web, user, content, msg_id) for user, (msg_id, content) in during.items()}
        assert REGISTERED in registered.text
        assert SUMMARY in retried["wang.wu"].text and "3号楼201宿舍" in retried["wang.wu"].text  # went on from there
        assert "我来帮您登记" in retried["li.si"].text
        assert before in retried["zhao.liu"].text
        # Later retries of the same callbacks change nothing.
        assert web.text("zhang.san", CONFIRM, msg_id=cut_id).text == registered.text
        assert web.text("wang.wu", PLACE, msg_id=during["wang.wu"][0]).text == retried["wang.wu"].text

        numbers = [c.number for c in complaints_of(reader)]
        assert len(numbers) == 2 and numbers[0] == before and numbers[1] in registered.text
        assert len(message_log(reader)) == len(talk.acknowledged)
        assert_invariants(app.services, talk, fake_wecom)
    finally:
        reader.close()
        direct.dispose()
        proxy.cut()


@pytest.mark.skipif(ON_POSTGRES, reason="needs no database server: runs once, in the SQLite pass")
def test_a_database_that_never_answers_gets_a_prompt_503_not_a_hang(start_app, fake_wecom):
    """A PostgreSQL that accepts the connection and then never answers (a hung
    server, a stuck pooler): /readyz and the callback must still answer —
    503 — within WeCom's patience, not hang."""
    hole = BlackHole()
    app = start_app(db_url=f"postgresql+psycopg://postgres@127.0.0.1:{hole.port}/complaints", migrate=False)
    web = sender_for(app.url, fake_wecom)
    web.timeout = 8  # WeCom itself waits 5 s
    try:
        callback = send_in_background(lambda: web.text("wang.wu", "宿舍的灯坏了"))
        ready = requests.get(f"{app.url}/readyz", timeout=8)
        assert ready.status_code == 503 and ready.json()["database"].startswith("error")
        reply, error = callback.join()
        assert error is None, f"the callback got no answer: {error!r}"
        assert_refused_for_retry(reply)
    finally:
        hole.close()  # the hung requests end, the app can stop


# == 3. WeCom's API failing for minutes =====================================================================
def test_wecom_failing_for_minutes_then_every_push_is_delivered_once_in_order_per_recipient(
        database_url, key_prefix, tmp_path, redis_client):
    """WeCom is unreachable for four minutes, then answers errors (-1 system
    busy, HTTP 503, HTTP 500) for a while, with pushes to three people queued
    before and during the outage. Time is simulated (the process clock is
    moved in 5-second steps; the worker runs at each). Afterwards every push is
    delivered exactly once, and each person receives theirs in the order they
    were queued: a later push never overtakes an earlier one that is waiting
    for its retry."""
    fake = FakeWeCom(corp_id="ww_test_corp", secret="test-secret", agent_id=1000002, port=free_port()).start()
    settings = make_settings(fake, database_url, key_prefix, tmp_path / "data",
                             **{"outbox.backoff_base_seconds": 2, "outbox.backoff_max_seconds": 60,
                                "outbox.batch_size": 50})
    services = build_services(settings, redis_client)
    services.db.upgrade()
    worker = Worker(services)
    queued: dict[str, list[str]] = {"alice": [], "bob": [], "carol": []}

    def queue(*texts: str) -> None:
        with services.db.session() as session:
            for content in texts:
                recipient = {"a": "alice", "b": "bob", "c": "carol"}[content[0]]
                outbox.push_text(session, recipient, f"{content}：投诉进展通知")
                queued[recipient].append(f"{content}：投诉进展通知")

    start = datetime.now(timezone.utc).replace(microsecond=0)
    try:
        with time_machine.travel(start, tick=False) as traveller:
            now = start

            def run_for(seconds: int, until=None) -> None:
                nonlocal now
                end = now + timedelta(seconds=seconds)
                while now < end and not (until and until()):
                    now += timedelta(seconds=5)
                    traveller.move_to(now)
                    worker.run_once()

            fake.stop()  # unreachable: connections refused
            queue("a1", "b1", "c1", "a2", "b2")
            worker.run_once()
            run_for(120)
            queue("a3", "c2", "b3")
            run_for(120)
            assert fake.sent() == [] and all(row.status == "pending" for row in outbox_rows(services))
            first = {}
            for row in outbox_rows(services):
                first.setdefault(row.recipient, row)
            assert all(row.attempts >= 2 and row.last_error for row in first.values())  # kept trying

            # WeCom is back, but busy for a while: system busy, then HTTP 503s and 500s.
            fake.fail_next("message/send", errcode=-1, times=5)
            fake.fail_next("message/send", http_status=503, times=5)
            fake.fail_next("message/send", http_status=500, times=3)
            fake.start()
            queue("a4", "c3")
            run_for(20 * 60, until=lambda: all(row.status == "sent" for row in outbox_rows(services)))
        rows = outbox_rows(services)
    finally:
        fake.stop()
        services.close()

    assert [row.status for row in rows] == ["sent"] * len(rows)
    assert injected_failures_left(fake, "message/send") == 0  # the busy spell was really met
    for recipient, expected in queued.items():
        got = [body["text"]["content"] for body in fake.sent("text", touser=recipient)]
        assert sorted(got) == sorted(expected), f"{recipient}: lost or doubled: {got}"
        assert got == expected, f"{recipient} received pushes out of order: {got}"


# == 4. Processes killed with SIGKILL ========================================================================
def test_serve_killed_mid_message_the_retry_on_a_new_process_is_handled_exactly_once(
        throwaway_redis, deployment, processes, fake_wecom, database_url):
    """`complaint-bot serve` is killed with SIGKILL twice while handling a
    "确认" that registers a complaint: first after the message was stored but
    before it was handled, then after the handling's database commit but
    before the answer. Each time WeCom gets no answer, a new serve process
    starts, and WeCom's retry of the same callback is handled exactly once —
    one complaint each, the retry answered with what was registered. The dead
    process's turn in the per-user queue is dropped once it is older than
    wait + hold seconds (here 1 + 2)."""
    services = deployment(redis_url=throwaway_redis.url,
                          **{"callback.user_lock_wait_seconds": 1, "callback.user_lock_hold_seconds": 2})
    talk = Talk()
    first = processes.serve("serve-1").wait_ready()
    web = sender_for(first.url, fake_wecom, fresh_connections=True)
    talk.to_confirmation(web, "zhang.san", "7号楼101门锁坏了")
    talk.to_confirmation(web, "li.si", "5号楼302卫生间漏水")

    # 1. Killed after storing, before handling.
    stored_id, other_thread = talk.new_id(), sender_for(first.url, fake_wecom, fresh_connections=True)
    flight = freeze_request(throwaway_redis, database_url, services, stored_id,
                            lambda: other_thread.text("zhang.san", CONFIRM, msg_id=stored_id), after="store")
    first.kill()
    reply, error = flight.join()
    assert reply is None and isinstance(error, requests.ConnectionError), (reply, error)
    assert logged_row(services, stored_id).status == "received" and complaints_of(services) == []

    second = processes.serve("serve-2").wait_ready()
    web = sender_for(second.url, fake_wecom, fresh_connections=True)
    registered = retry(talk, web, "zhang.san", CONFIRM, stored_id)
    [complaint] = complaints_of(services, "zhang.san")
    assert REGISTERED in registered.text and complaint.number in registered.text
    assert logged_row(services, stored_id).reply == registered.text
    assert web.text("zhang.san", CONFIRM, msg_id=stored_id).text == registered.text  # a later retry: same answer

    # 2. Killed after the handling's commit, before the dialog's Redis write and the answer.
    committed_id, other_thread = talk.new_id(), sender_for(second.url, fake_wecom, fresh_connections=True)
    flight = freeze_request(throwaway_redis, database_url, services, committed_id,
                            lambda: other_thread.text("li.si", CONFIRM, msg_id=committed_id), after="commit")
    second.kill()
    throwaway_redis.unpause()
    reply, error = flight.join()
    assert reply is None and isinstance(error, requests.ConnectionError), (reply, error)
    [complaint] = complaints_of(services, "li.si")  # committed before the kill

    third = processes.serve("serve-3").wait_ready()
    web = sender_for(third.url, fake_wecom, fresh_connections=True)
    answered = retry(talk, web, "li.si", CONFIRM, committed_id)
    assert answered.text == logged_row(services, committed_id).reply and complaint.number in answered.text
    assert len(complaints_of(services)) == 2
    assert_invariants(services, talk, fake_wecom)


WECOM_LAST_RETRY_SECONDS = 15  # WeCom retries a callback three times, 5 s apart, then gives up


def test_a_dead_processes_turn_is_given_up_before_wecoms_last_retry():
    """The kill test above shows the mechanism with short limits (1 s wait,
    2 s hold): the dead process's ticket blocks the user's queue until it is
    wait + hold seconds old, and only then does a retry get through. With the
    default limits that must happen before WeCom's last retry has waited its
    turn, or the message is lost to the user."""
    defaults = CallbackSettings()
    blocked_for = defaults.user_lock_wait_seconds + defaults.user_lock_hold_seconds
    last_chance = WECOM_LAST_RETRY_SECONDS + defaults.user_lock_wait_seconds
    assert blocked_for < last_chance


def test_worker_killed_while_sending_then_restarted_delivers_every_push(deployment, processes, fake_wecom):
    """`complaint-bot worker` is killed with SIGKILL while WeCom is slowly
    answering its message/send (the fake holds the call for 2.5 s, then records
    it as delivered: WeCom got it). The push stays pending under the dead
    worker's claim; a new worker sends it again once the claim expires.

    Decided: delivery is at-least-once for the one push in flight at the kill
    (WeCom may have received it, and nothing tells us) — it may arrive twice,
    back to back. Every other push arrives exactly once, nothing is lost, and
    each person's pushes arrive in queue order (the later ones wait for the
    one in flight)."""
    services = deployment(**{"outbox.claim_seconds": 6, "outbox.poll_seconds": 0.05,
                             "outbox.backoff_base_seconds": 0.1, "outbox.backoff_max_seconds": 0.5})
    queued = {"alice": [], "bob": []}
    with services.db.session() as session:
        for content in ("a1", "b1", "a2", "b2", "a3"):
            recipient = "alice" if content.startswith("a") else "bob"
            outbox.push_text(session, recipient, f"{content}：维修师傅今天下午到")
            queued[recipient].append(f"{content}：维修师傅今天下午到")
    in_flight = queued["alice"][0]
    fake_wecom.fail_next("message/send", delay=2.5)  # the first send is answered slowly

    doomed = processes.worker("worker-1")
    wait_until(lambda: injected_failures_left(fake_wecom, "message/send") == 0 or not doomed.alive(),
               timeout=60, what="worker-1 to be inside its first message/send")
    doomed.kill()
    rows = outbox_rows(services)
    assert [row.status for row in rows] == ["pending"] * 5, "the kill came too late"
    assert rows[0].payload["text"]["content"] == in_flight and rows[0].claimed_until is not None

    successor = processes.worker("worker-2")
    wait_until(lambda: all(row.status == "sent" for row in outbox_rows(services)), timeout=60,
               what="worker-2 to deliver everything")
    successor.stop()

    sent = {recipient: [body["text"]["content"] for body in fake_wecom.sent("text", touser=recipient)]
            for recipient in queued}
    counts = sent_counter(fake_wecom)
    for recipient, expected in queued.items():
        for content in expected:
            n = counts[(recipient, "text", content)]
            assert (1 <= n <= 2) if content == in_flight else n == 1, (recipient, content, n)
        in_order = [content for i, content in enumerate(sent[recipient]) if i == 0 or sent[recipient][i - 1] != content]
        assert in_order == expected, f"{recipient} received pushes out of order: {sent[recipient]}"
