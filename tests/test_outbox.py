"""The outbox against a real database and the fake WeCom: retries with
back-off, final errors, restarts, racing workers, per-member limits, card
updates, dedup, and the background media download."""
from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from hypothesis import given, settings as hsettings, strategies as st
from sqlalchemy import select, update

from bot import complaints, outbox
from bot.media import MediaFetcher
from bot.models import Attachment, OutboxMessage, utcnow
from bot.outbox import OutboxSender, split_text
from bot.services import build_services
from bot.worker import Worker
from tests.conftest import make_settings

LATER = timedelta(hours=2)  # far enough for any back-off used here to be over


@pytest.fixture
def build(fake_wecom, database_url, key_prefix, tmp_path, redis_client):
    """Services on the test database with outbox overrides; several calls give
    several independent processes' worth of services on the same database."""
    built = []

    def make(migrate: bool = True, **outbox_overrides):
        overrides = {f"outbox.{key}": value for key, value in outbox_overrides.items()}
        services = build_services(make_settings(fake_wecom, database_url, key_prefix, tmp_path / "data",
                                                **overrides), redis_client)
        if migrate:
            services.db.upgrade()
        built.append(services)
        return services

    yield make
    for services in built:
        services.close()


@pytest.fixture
def slow(build):
    """Back-off of a minute: a failed row is certainly not due again right away."""
    return build(backoff_base_seconds=60, backoff_max_seconds=600, batch_size=50)


def sender_for(services) -> OutboxSender:
    return OutboxSender(services.db, services.wecom, services.settings.outbox)


def queue_text(services, user: str, text: str, **kwargs) -> None:
    with services.db.session() as session:
        outbox.push_text(session, user, text, **kwargs)


def rows(services) -> list[OutboxMessage]:
    with services.db.session() as session:
        return list(session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars())


def only_row(services) -> OutboxMessage:
    [row] = rows(services)
    return row


def send_calls(fake) -> list:
    return [call for call in fake.calls if call.path == "message/send"]


def texts_sent(fake, user: str | None = None) -> list[str]:
    return [body["text"]["content"] for body in fake.sent("text", touser=user)]


# -- delivery and retries ---------------------------------------------------------
def test_text_is_delivered_exactly_once(services, worker, fake_wecom):
    queue_text(services, "alice", "您的投诉已受理")
    worker.run_once()
    worker.run_once()
    assert texts_sent(fake_wecom, "alice") == ["您的投诉已受理"]
    row = only_row(services)
    assert row.status == "sent" and row.attempts == 1 and row.sent_at is not None
    assert row.claimed_until is None and row.last_error is None


@pytest.mark.parametrize("failure", [
    {"errcode": -1}, {"http_status": 500}, {"http_status": 502}, {"errcode": 45009}, {"errcode": 45047},
], ids=["system-busy", "http-500", "http-502", "45009-frequency", "45047-send-limit"])
def test_transient_failures_are_retried_until_delivered_once(slow, fake_wecom, failure):
    sender = sender_for(slow)
    fake_wecom.fail_next("message/send", times=2, **failure)
    queue_text(slow, "alice", "维修师傅明天上午到")

    first = sender.deliver_due()
    assert (first.sent, first.retried) == (0, 1)
    row = only_row(slow)
    assert row.status == "pending" and row.attempts == 1 and row.last_error
    assert row.next_attempt_at > utcnow() + timedelta(seconds=30)  # backed off, not hammering
    assert sender.deliver_due().retried == 0  # not due yet: nothing is tried
    assert len(send_calls(fake_wecom)) == 1

    assert sender.deliver_due(now=utcnow() + LATER).retried == 1
    assert sender.deliver_due(now=utcnow() + LATER).sent == 1
    assert sender.deliver_due(now=utcnow() + LATER).sent == 0

    assert texts_sent(fake_wecom, "alice") == ["维修师傅明天上午到"]
    assert len(send_calls(fake_wecom)) == 3
    row = only_row(slow)
    assert row.status == "sent" and row.attempts == 3


def test_a_later_push_never_overtakes_one_waiting_for_its_retry(slow, fake_wecom):
    sender = sender_for(slow)
    fake_wecom.fail_next("message/send", errcode=-1, times=1)
    queue_text(slow, "alice", "第一条")
    sender.deliver_due()  # fails: backed off for a minute
    queue_text(slow, "alice", "第二条")
    queue_text(slow, "bob", "别人的消息")

    sender.deliver_due()
    assert texts_sent(fake_wecom, "alice") == []  # the second waits behind the first
    assert texts_sent(fake_wecom, "bob") == ["别人的消息"]  # another member is not held up

    sender.deliver_due(now=utcnow() + LATER)
    assert texts_sent(fake_wecom, "alice") == ["第一条", "第二条"]


def test_a_push_held_for_quiet_hours_does_not_hold_up_an_urgent_one(slow, fake_wecom):
    sender = sender_for(slow)
    queue_text(slow, "alice", "明早再说的提醒", not_before=utcnow() + LATER)
    queue_text(slow, "alice", "紧急：3号楼漏电")
    sender.deliver_due()
    assert texts_sent(fake_wecom, "alice") == ["紧急：3号楼漏电"]
    sender.deliver_due(now=utcnow() + LATER * 2)
    assert texts_sent(fake_wecom, "alice") == ["紧急：3号楼漏电", "明早再说的提醒"]


def test_back_off_grows_with_each_failure(slow, fake_wecom):
    sender = sender_for(slow)
    fake_wecom.fail_next("message/send", errcode=-1, times=3)
    queue_text(slow, "alice", "退避")
    delays = []
    for _ in range(3):
        before = utcnow()
        sender.deliver_due(now=before + LATER)
        delays.append((only_row(slow).next_attempt_at - before).total_seconds())
    assert delays[0] < delays[1] < delays[2] <= 600 + 5


def test_with_tiny_back_off_the_worker_loop_delivers_on_its_own(services, worker, fake_wecom):
    fake_wecom.fail_next("message/send", errcode=-1, times=2)
    queue_text(services, "alice", "稍后送达")
    deadline = time.monotonic() + 15
    while not texts_sent(fake_wecom) and time.monotonic() < deadline:
        worker.run_once()
        time.sleep(0.02)
    worker.run_once()
    assert texts_sent(fake_wecom) == ["稍后送达"]


@pytest.mark.parametrize("errcode", [81013, 40007, 40003, 45002, 60111])
def test_final_errors_fail_the_row_without_retry(slow, fake_wecom, errcode):
    sender = sender_for(slow)
    fake_wecom.fail_next("message/send", errcode=errcode, times=5)
    queue_text(slow, "alice", "不会送达")
    report = sender.deliver_due()
    assert (report.failed, report.retried, report.sent) == (1, 0, 0)
    sender.deliver_due(now=utcnow() + LATER)
    row = only_row(slow)
    assert row.status == "failed" and row.attempts == 1
    assert row.last_error.startswith(f"{errcode}:")
    assert len(send_calls(fake_wecom)) == 1


def test_member_outside_the_visible_range_fails_with_81013(slow, fake_wecom):
    fake_wecom.set_out_of_range("ghost")
    queue_text(slow, "ghost", "看不见的人")
    queue_text(slow, "alice", "看得见的人")
    sender_for(slow).deliver_due()
    sender_for(slow).deliver_due(now=utcnow() + LATER)
    ghost, alice = rows(slow)
    assert ghost.status == "failed" and ghost.last_error.startswith("81013:")
    assert alice.status == "sent"
    assert len([c for c in send_calls(fake_wecom) if c.body["touser"] == "ghost"]) == 1


def test_invalid_message_type_fails_with_40008(slow, fake_wecom):
    with slow.db.session() as session:
        outbox.push(session, "alice", {"msgtype": "hologram", "hologram": {"content": "x"}})
    sender_for(slow).deliver_due()
    row = only_row(slow)
    assert row.status == "failed" and row.last_error.startswith("40008:")


def test_unknown_error_codes_are_retried_not_dropped(slow, fake_wecom):
    fake_wecom.fail_next("message/send", errcode=99999)
    queue_text(slow, "alice", "未知错误码")
    assert sender_for(slow).deliver_due().retried == 1
    assert sender_for(slow).deliver_due(now=utcnow() + LATER).sent == 1


def test_token_expiring_between_sends_is_renewed_and_the_message_delivered(services, worker, fake_wecom):
    queue_text(services, "alice", "第一条")
    worker.run_once()
    fake_wecom.expire_tokens()
    queue_text(services, "alice", "第二条")
    worker.run_once()
    assert texts_sent(fake_wecom, "alice") == ["第一条", "第二条"]
    assert fake_wecom.tokens_issued == 2
    assert all(row.status == "sent" and row.attempts == 1 for row in rows(services))


def test_token_expiring_while_a_batch_is_sent_loses_nothing(services, worker, fake_wecom):
    for n in range(5):
        queue_text(services, f"user{n}", f"消息{n}")
    fake_wecom.fail_next("message/send", errcode=42001, times=1)  # as if it expired mid-batch
    worker.run_once()
    assert sorted(texts_sent(fake_wecom)) == [f"消息{n}" for n in range(5)]
    assert all(row.status == "sent" for row in rows(services))


# -- restarts and concurrency -------------------------------------------------------
def test_rows_queued_before_a_restart_are_delivered_by_the_new_process(build, fake_wecom):
    before = build()
    for n in range(3):
        queue_text(before, "alice", f"重启前{n}")
    before.close()

    after = build(migrate=False)  # a fresh process: new engine, new client, same database
    Worker(after).run_once()
    assert texts_sent(fake_wecom, "alice") == ["重启前0", "重启前1", "重启前2"]
    assert all(row.status == "sent" for row in rows(after))


def test_a_row_claimed_by_a_dead_process_is_picked_up_after_its_claim_expires(build, fake_wecom):
    services = build()
    queue_text(services, "alice", "死进程认领过")
    queue_text(services, "bob", "还在别人手里")
    now = utcnow()
    with services.db.session() as session:
        dead, alive = session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars()
        dead.claimed_until = now - timedelta(seconds=1)
        alive.claimed_until = now + timedelta(minutes=5)

    sender_for(build(migrate=False)).deliver_due()
    assert texts_sent(fake_wecom) == ["死进程认领过"]  # the live claim is respected

    sender_for(build(migrate=False)).deliver_due(now=utcnow() + timedelta(minutes=10))
    assert texts_sent(fake_wecom) == ["死进程认领过", "还在别人手里"]
    assert [row.status for row in rows(services)] == ["sent", "sent"]


def test_two_workers_racing_never_send_a_row_twice(build, fake_wecom):
    first = build(batch_size=3)
    second = build(migrate=False, batch_size=3)
    count = 40
    for n in range(count):
        queue_text(first, f"member{n % 20}", f"竞争{n}")
    senders = [sender_for(first), sender_for(second)]
    start = threading.Barrier(len(senders))
    errors = []

    def run(sender):
        try:
            start.wait(10)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                report = sender.deliver_due()
                if report.sent + report.retried + report.failed + report.deferred == 0:
                    if all(row.status != "pending" for row in rows(first)):
                        return
                    time.sleep(0.01)
        except Exception as exc:  # reported below; a thread's exception would be lost
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(s,)) for s in senders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    sent = texts_sent(fake_wecom)
    assert sorted(sent) == sorted(f"竞争{n}" for n in range(count))  # each exactly once
    assert all(row.status == "sent" and row.attempts == 1 for row in rows(first))


# -- per-member limits --------------------------------------------------------------
def test_thirty_per_minute_per_member_the_rest_waits(build, fake_wecom):
    services = build(batch_size=100)
    for n in range(31):
        queue_text(services, "alice", f"第{n + 1}条")
    for n in range(3):
        queue_text(services, "bob", f"给bob{n}")

    report = sender_for(services).deliver_due()
    assert (report.sent, report.deferred) == (33, 1)
    assert texts_sent(fake_wecom, "alice") == [f"第{n + 1}条" for n in range(30)]
    assert texts_sent(fake_wecom, "bob") == ["给bob0", "给bob1", "给bob2"]
    held = [row for row in rows(services) if row.status != "sent"]
    assert [row.payload["text"]["content"] for row in held] == ["第31条"]
    assert held[0].status == "pending" and held[0].claimed_until is None
    assert held[0].next_attempt_at > utcnow() + timedelta(seconds=30)  # about a minute after the first

    assert sender_for(services).deliver_due().sent == 0  # still held back
    assert len(texts_sent(fake_wecom, "alice")) == 30


def test_hourly_limit_per_member(build, fake_wecom):
    services = build(batch_size=100, per_member_per_hour=5)
    for n in range(6):
        queue_text(services, "alice", f"每小时{n}")
    report = sender_for(services).deliver_due()
    assert (report.sent, report.deferred) == (5, 1)
    held = [row for row in rows(services) if row.status == "pending"]
    assert len(held) == 1 and held[0].next_attempt_at > utcnow() + timedelta(minutes=50)


def test_card_updates_are_not_counted_against_a_member(build, fake_wecom):
    services = build(batch_size=100, per_member_per_minute=1)
    codes = [fake_wecom.new_response_code() for _ in range(3)]
    with services.db.session() as session:
        for code in codes:
            outbox.update_card(session, {"userids": ["alice"], "response_code": code,
                                         "button": {"replace_name": "已受理"}})
    assert sender_for(services).deliver_due().sent == 3


# -- card updates, dedup, splitting --------------------------------------------------
def test_update_card_goes_to_update_template_card(services, worker, fake_wecom):
    code = fake_wecom.new_response_code()
    with services.db.session() as session:
        outbox.update_card(session, {"userids": ["alice"], "response_code": code,
                                     "button": {"replace_name": "已受理"}})
    worker.run_once()
    [update_call] = fake_wecom.card_updates()
    assert update_call["response_code"] == code and update_call["button"] == {"replace_name": "已受理"}
    assert update_call["agentid"] == fake_wecom.agent_id
    assert fake_wecom.sent() == []
    row = only_row(services)
    assert row.kind == "update_card" and row.status == "sent"


def test_update_card_with_a_used_response_code_fails(services, worker, fake_wecom):
    with services.db.session() as session:
        outbox.update_card(session, {"userids": ["alice"], "response_code": "rc-never-issued",
                                     "button": {"replace_name": "已受理"}})
    worker.run_once()
    row = only_row(services)
    assert row.status == "failed" and row.last_error.startswith("40035:")


def test_same_dedup_key_queues_once(services, worker, fake_wecom):
    for _ in range(2):
        with services.db.session() as session:
            outbox.push_text(session, "alice", "提醒：工单即将超时", dedup_key="remind:TS1:sla")
    with services.db.session() as session:
        assert outbox.push_markdown(session, "alice", "**again**", dedup_key="remind:TS1:sla") is None
        assert outbox.push_markdown(session, "alice", "**other**", dedup_key="remind:TS1:other") is not None
    worker.run_once()
    assert texts_sent(fake_wecom, "alice") == ["提醒：工单即将超时"]
    assert len(fake_wecom.sent("markdown")) == 1
    assert len(rows(services)) == 2


def test_dedup_within_one_transaction_keeps_the_rest_of_it(services):
    with services.db.session() as session:
        outbox.push_text(session, "alice", "一", dedup_key="k")
        outbox.push_text(session, "alice", "一", dedup_key="k")
        outbox.push_text(session, "bob", "二")
    assert [row.recipient for row in rows(services)] == ["alice", "bob"]


def test_same_dedup_key_on_card_updates_queues_once(services):
    for _ in range(2):
        with services.db.session() as session:
            outbox.update_card(session, {"userids": ["alice"], "response_code": "rc",
                                         "button": {"replace_name": "x"}}, dedup_key="card:rc")
    assert len(rows(services)) == 1


def test_long_text_with_dedup_key_is_queued_once_in_full(services, worker, fake_wecom):
    long_text = "维修进度更新：" + "水管已更换，" * 500
    for _ in range(2):
        with services.db.session() as session:
            outbox.push_text(session, "alice", long_text, dedup_key="progress:TS1")
    worker.run_once()
    sent = texts_sent(fake_wecom, "alice")
    assert "".join(sent) == long_text
    assert len(rows(services)) == len(split_text(long_text))


def test_long_text_is_sent_in_order_in_parts_that_fit(services, worker, fake_wecom):
    long_text = "".join(f"第{n}段，" for n in range(1500))
    queue_text(services, "alice", long_text)
    worker.run_once()
    sent = texts_sent(fake_wecom, "alice")
    assert len(sent) > 1 and "".join(sent) == long_text
    assert all(len(part.encode("utf-8")) <= 2048 for part in sent)


@pytest.mark.parametrize("text, sizes", [
    ("a" * 2048, [2048]),
    ("a" * 2049, [2048, 1]),
    ("漏" * 682 + "漏", [2046, 3]),          # 2049 bytes: the 3-byte character is not cut
    ("a" * 2046 + "😀", [2046, 4]),          # a 4-byte character that would straddle the limit
    ("a" * 2044 + "😀", [2048]),
    ("", [0]),
])
def test_split_text_boundaries(text, sizes):
    parts = split_text(text)
    assert [len(part.encode("utf-8")) for part in parts] == sizes
    assert "".join(parts) == text


@hsettings(max_examples=150, deadline=None)
@given(st.text(alphabet="aé漏😀\n\u200d𝄞", max_size=3000) | st.text(st.characters(codec="utf-8"), max_size=1500),
       st.integers(min_value=4, max_value=2048))
def test_split_text_never_cuts_a_character_and_every_part_fits(text, limit):
    parts = split_text(text, limit)
    assert "".join(parts) == text
    for part in parts:
        encoded = part.encode("utf-8")
        assert len(encoded) <= limit
        assert encoded.decode("utf-8") == part
    assert all(parts) or parts == [""]
    # Greedy: a part ends only where the next character would not fit.
    for part, following in zip(parts, parts[1:]):
        assert len((part + following[0]).encode("utf-8")) > limit


# -- media ---------------------------------------------------------------------------------
def attachment_for(services, media_id: str) -> int:
    with services.db.session() as session:
        complaint = complaints.create_complaint(session, occupant_id="wangwu", description="宿舍漏水",
                                                tz=services.tz)
        return complaints.attach_media(session, complaint, kind="image", media_id=media_id, actor="wangwu").id


def attachment(services, attachment_id: int) -> Attachment:
    with services.db.session() as session:
        return session.get(Attachment, attachment_id)


def fetcher_for(services) -> MediaFetcher:
    return MediaFetcher(services.db, services.wecom, services.settings.media_dir, backoff_base=0.01,
                        backoff_max=0.02)


@pytest.mark.parametrize("failure", [{"errcode": -1}, {"http_status": 500}], ids=["busy", "http-500"])
def test_media_download_failure_then_success(services, fake_wecom, failure):
    fake_wecom.add_media("MEDIA-OK", b"\xff\xd8photo", filename="leak.jpg", content_type="image/jpeg")
    fake_wecom.fail_next("media/get", times=2, **failure)
    attachment_id = attachment_for(services, "MEDIA-OK")
    fetcher = fetcher_for(services)

    fetcher.fetch_due()
    first = attachment(services, attachment_id)
    assert first.status == "pending" and first.attempts == 1 and first.last_error

    deadline = time.monotonic() + 15
    while attachment(services, attachment_id).status == "pending" and time.monotonic() < deadline:
        fetcher.fetch_due()
        time.sleep(0.02)
    stored = attachment(services, attachment_id)
    assert stored.status == "stored" and stored.attempts == 2 and stored.size == len(b"\xff\xd8photo")
    with open(stored.path, "rb") as file:
        assert file.read() == b"\xff\xd8photo"
    assert stored.path.endswith(".jpg")
    assert len([c for c in fake_wecom.calls if c.path == "media/get"]) == 3


def test_unknown_media_fails_without_retry(services, fake_wecom):
    attachment_id = attachment_for(services, "MEDIA-GONE")
    fetcher = fetcher_for(services)
    fetcher.fetch_due()
    with services.db.session() as session:  # even if it were due again, nothing is tried
        session.execute(update(Attachment).values(next_attempt_at=utcnow() - timedelta(hours=1)))
    fetcher.fetch_due()
    failed = attachment(services, attachment_id)
    assert failed.status == "failed" and failed.path is None
    assert failed.last_error.startswith("40007:")
    assert len([c for c in fake_wecom.calls if c.path == "media/get"]) == 1


def test_media_older_than_three_days_is_given_up_on(services, fake_wecom):
    attachment_id = attachment_for(services, "MEDIA-OLD")
    with services.db.session() as session:
        session.execute(update(Attachment).values(created_at=utcnow() - timedelta(days=4)))
    fake_wecom.fail_next("media/get", errcode=-1)
    fetcher_for(services).fetch_due()
    assert attachment(services, attachment_id).status == "failed"
