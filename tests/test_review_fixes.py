"""Regression tests for the review fixes, each on the real Redis, the real
database (SQLite, or PostgreSQL with TEST_DATABASE_URL), the live app and the
fake WeCom: Redis writes applied only after the commit, compare-and-set on a
complaint's status, what the on-duty people may do, one outbox claim per send,
formula-looking text in spreadsheets, the accept clock after a transfer,
progress notes after a reopening, survey answers that are new complaints, the
不成立 reason "²", a failing save of a photo, and the intake's place questions."""
from __future__ import annotations

from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from wechatpy.enterprise import parse_message

from bot import complaints, registration, reports, survey, workflow
from bot.actions import perform_action
from bot.claims import claim_due
from bot.console.views import _workbook
from bot.inbound import Inbound
from bot.kv import WriteBehind
from bot.models import Attachment, Complaint, OutboxMessage, utcnow
from bot.outbox import DeliveryReport, OutboxSender, push_text
from bot.registration import Intake
from bot.wecom.callback_sender import build_xml
from bot.webhook import Conversation
from bot.workflow import WorkflowError
from dialogs.state import DialogState, DialogStore
from handlers.context import Context
from handlers.occupant_commands import withdraw
from tests.dialog_support import complaints_of, dialog_of
from tests.helpers import answer_for
from tests.timeline_support import (KEFU, LI, NEIGHBOUR, OCCUPANT, ON_CALL, PROGRESS, SUPERVISOR, WARNING, ZHANG,
                                    act, at, command, complaint_of, deadlines_of, deliver, events_of, frozen_clock,
                                    overrides, register, run_at, settings, surveys_of, texts, wecom)

assert settings and overrides and wecom  # timeline_support's directory and sender (imported fixtures)
clock = frozen_clock("2026-11-25 09:00")  # a Wednesday, 09:00 Beijing time

LEAK = "3号楼201卫生间水管漏水"  # 房屋质量: the complex profile (progress note every working day)
AIRCON = "3号楼201的空调不制冷"  # 设备设施: ordinary
LIFT = "3号楼电梯困人"  # 突发事件: an emergency, 安全保卫部
ENGINEERING, SERVICE = "工程维修部", "客户服务中心"
FORMULA = '=HYPERLINK("http://x","y")'


def db_error() -> OperationalError:
    return OperationalError("UPDATE complaints ...", {}, Exception("server closed the connection unexpectedly"))


def to_confirmation(wecom, user: str, text: str) -> str:
    """Answer the intake dialog up to (not including) the confirmation."""
    reply = wecom.text(user, text).text
    for _ in range(8):
        if "请您核对" in reply:
            return reply
        answer = answer_for(reply)
        assert answer, f"unexpected prompt: {reply!r}"
        reply = wecom.text(user, answer).text
    raise AssertionError(f"never reached the confirmation: {reply!r}")


# -- 1. Redis writes of a message's handling only after the commit --------------------------------------
def test_write_behind_holds_writes_until_flush(redis_client, key_prefix):
    kept, gone, other = f"{key_prefix}wb:kept", f"{key_prefix}wb:gone", f"{key_prefix}wb:other"
    redis_client.set(gone, "old")
    redis_client.set(other, "untouched")
    kv = WriteBehind(redis_client)

    kv.set(kept, 42, ex=100)
    kv.set(f"{key_prefix}wb:forever", "x")
    kv.delete(gone)
    # Nobody else sees them yet …
    assert redis_client.get(kept) is None and redis_client.get(gone) == "old"
    # … but the handler reads its own writes, and what it did not touch.
    assert kv.get(kept) == "42" and kv.get(gone) is None and kv.get(other) == "untouched"

    kv.flush()
    assert redis_client.get(kept) == "42" and 0 < redis_client.ttl(kept) <= 100
    assert redis_client.get(f"{key_prefix}wb:forever") == "x" and redis_client.ttl(f"{key_prefix}wb:forever") == -1
    assert redis_client.get(gone) is None and redis_client.get(other) == "untouched"
    assert kv.pending == {}


def test_a_failed_registration_answers_503_keeps_the_dialog_and_the_retry_registers(wecom, services, monkeypatch):
    to_confirmation(wecom, OCCUPANT, AIRCON)

    def broken(*args, **kwargs):
        raise db_error()

    monkeypatch.setattr(registration, "register", broken)  # dialogs/intake.py calls registration.register
    msg_id = 77_000_000_001
    assert wecom.text(OCCUPANT, "确认", msg_id=msg_id).status_code == 503
    assert complaints_of(services) == []
    assert dialog_of(services, OCCUPANT).step == "confirm"

    monkeypatch.undo()
    retried = wecom.text(OCCUPANT, "确认", msg_id=msg_id)  # WeCom retries the same message
    assert retried.status_code == 200 and "已为您登记" in retried.text
    [complaint] = complaints_of(services)
    assert complaint.number in retried.text and complaint.description == AIRCON
    assert dialog_of(services, OCCUPANT) is None


def test_a_commit_failing_after_the_dialog_moved_on_leaves_redis_untouched(wecom, services, monkeypatch):
    """The dialog cleared its state and registered, then the message's
    commit failed: Redis must still hold the confirmation step."""
    to_confirmation(wecom, OCCUPANT, AIRCON)
    real_mark = Conversation._mark

    def broken(session, row_id, status, **kwargs):
        raise db_error()

    monkeypatch.setattr(Conversation, "_mark", staticmethod(broken))
    msg_id = 77_000_000_002
    assert wecom.text(OCCUPANT, "确认", msg_id=msg_id).status_code == 503
    assert complaints_of(services) == []
    assert dialog_of(services, OCCUPANT).step == "confirm"  # the dialog's clear was never applied

    monkeypatch.setattr(Conversation, "_mark", staticmethod(real_mark))
    retried = wecom.text(OCCUPANT, "确认", msg_id=msg_id)
    assert retried.status_code == 200 and "已为您登记" in retried.text
    assert len(complaints_of(services)) == 1 and dialog_of(services, OCCUPANT) is None


# -- 2. compare-and-set on the status ------------------------------------------------------------------------
def test_of_two_concurrent_accepts_only_the_first_is_committed(services):
    number = register(services, OCCUPANT, AIRCON, "设备设施")
    directory = services.directory()
    with services.db.session() as first, services.db.session() as second:
        mine = complaints.find_by_number(first, number)
        theirs = complaints.find_by_number(second, number)
        assert mine.status == theirs.status == complaints.PENDING

        workflow.perform(first, directory, mine, "accept", LI)
        first.commit()
        with pytest.raises(WorkflowError) as refused:
            workflow.perform(second, directory, theirs, "accept", ZHANG)
        assert refused.value.reason == "wrong_state"
        # The staff handler answers the refusal and commits the message's
        # session: nothing of the losing accept may be in it.
        second.commit()

    accepts = events_of(services, number, "accept")
    assert [e.actor for e in accepts] == [LI]
    row = complaint_of(services, number)
    assert row.status == complaints.ACCEPTED and row.assignee == LI


def _occupant_context(session, services, user: str) -> Context:
    xml = build_xml({"ToUserName": "corp", "FromUserName": user, "CreateTime": 1764032400, "MsgType": "text",
                     "Content": "撤销", "MsgId": 1, "AgentID": 1000002})
    return Context(Inbound(message=parse_message(xml), xml=xml), session, services)


def test_a_withdrawal_racing_an_accept_is_refused_and_the_accept_stands(services):
    number = register(services, OCCUPANT, AIRCON, "设备设施")
    with services.db.session() as occupant_session:
        complaint = complaints.find_by_number(occupant_session, number)  # read as 待受理
        act(services, number, "accept", LI)  # meanwhile, in another request
        reply = withdraw(_occupant_context(occupant_session, services, OCCUPANT), complaint)
        assert "不能撤销" in reply and "已受理" in reply

    row = complaint_of(services, number)
    assert row.status == complaints.ACCEPTED and row.assignee == LI
    assert events_of(services, number, "withdrawn") == []
    assert deadlines_of(services, number, "open").keys() == {"solution", "complete"}  # clocks still running

    with services.db.session() as session:  # the bare set_status says so too
        complaint = complaints.find_by_number(session, number)
        session.execute(Complaint.__table__.update().where(Complaint.id == complaint.id)
                        .values(status=complaints.CAUSE_FOUND))
        with pytest.raises(complaints.StaleStatus):
            complaints.set_status(session, complaint, complaints.WITHDRAWN, OCCUPANT, "withdrawn")
        assert complaint.status == complaints.CAUSE_FOUND


# -- 3. the duty roster may accept emergencies, nothing more ----------------------------------------------------
def test_someone_on_duty_in_no_department_may_only_accept_an_emergency(services):
    directory = services.directory()
    assert directory.departments_of(ON_CALL) == [] and ON_CALL in directory.duty_people()
    lift = register(services, NEIGHBOUR, LIFT, "突发事件", location="3号楼", emergency=True)
    aircon = register(services, OCCUPANT, AIRCON, "设备设施")

    with services.db.session() as session:
        emergency = complaints.find_by_number(session, lift)
        ordinary = complaints.find_by_number(session, aircon)
        for action in ("invalid", "transfer"):
            with pytest.raises(WorkflowError) as refused:
                workflow.check(directory, emergency, action, ON_CALL)
            assert refused.value.reason == "not_your_department", action
        assert workflow.check(directory, emergency, "accept", ON_CALL).name == "accept"
        workflow.perform(session, directory, emergency, "accept", ON_CALL)
        for action in ("cause", "solution", "invalid", "transfer", "wait"):
            with pytest.raises(WorkflowError) as refused:
                workflow.check(directory, emergency, action, ON_CALL)
            assert refused.value.reason == "not_your_department", action
        assert [a.name for a in workflow.allowed_actions(directory, emergency, ON_CALL)] == []
        with pytest.raises(WorkflowError) as refused:
            workflow.check(directory, ordinary, "accept", ON_CALL)
        assert refused.value.reason == "not_your_department"

    assert complaint_of(services, lift).assignee == ON_CALL


# -- 4. the outbox sender ----------------------------------------------------------------------------------
def _sends(fake_wecom) -> int:
    return sum(1 for call in list(fake_wecom.calls) if call.path == "message/send")


def test_a_row_superseded_after_its_claim_is_not_sent(services, fake_wecom):
    sender = OutboxSender(services.db, services.wecom, services.settings.outbox)
    with services.db.session() as session:
        push_text(session, LI, "一张已经处理过的卡片的提醒")
    with services.db.session() as session:
        [row_id] = claim_due(session, OutboxMessage, utcnow(), 60, 10)
    with services.db.session() as session:  # a click on the card supersedes it meanwhile
        session.get(OutboxMessage, row_id).status = "superseded"

    report = DeliveryReport()
    sender._deliver(row_id, report)
    assert _sends(fake_wecom) == 0 and report == DeliveryReport()
    with services.db.session() as session:
        row = session.get(OutboxMessage, row_id)
        assert row.status == "superseded" and row.attempts == 0 and row.sent_at is None


def test_a_failing_row_is_tried_once_per_round(services, fake_wecom):
    sender = OutboxSender(services.db, services.wecom, services.settings.outbox)
    with services.db.session() as session:
        push_text(session, LI, "请处理")
    fake_wecom.fail_next("message/send", errcode=-1)

    report = sender.deliver_due(now=utcnow() + timedelta(days=365))  # its retry is long due by then
    assert _sends(fake_wecom) == 1
    assert (report.sent, report.retried) == (0, 1)
    with services.db.session() as session:
        row = session.execute(select(OutboxMessage)).scalar_one()
        assert row.status == "pending" and row.attempts == 1 and row.last_error.startswith("-1")

    report = sender.deliver_due(now=utcnow() + timedelta(days=365))  # the next round sends it
    assert report.sent == 1 and _sends(fake_wecom) == 2


# -- 5. what people typed stays text in spreadsheets ------------------------------------------------------------
def test_formula_looking_text_is_a_string_cell_in_the_report_and_the_console_export(services, tmp_path):
    number = register(services, OCCUPANT, FORMULA, "设备设施")
    today = services.local_now().date()
    with services.db.session() as session:
        report = reports.build_report(session, services, today, today)
        rows = reports.complaint_rows(session, services, today, today)
        listed = list(session.execute(select(Complaint)).scalars())
        exported = _workbook(services, listed)

    path = tmp_path / "report.xlsx"
    reports.write_xlsx(report, rows, path, include_people=False)
    detail = load_workbook(path)["明细"]
    header = [cell.value for cell in detail[1]]
    [row] = [r for r in detail.iter_rows(min_row=2) if r[0].value == number]
    cell = row[header.index("问题描述")]
    assert cell.value == FORMULA and cell.data_type == "s"

    sheet = load_workbook(exported).active
    cell = sheet.cell(row=2, column=9)
    assert sheet.cell(row=2, column=1).value == number
    assert cell.value == FORMULA and cell.data_type == "s"


# -- 6. a transfer restarts the accept clock for the new department ---------------------------------------------
def test_after_accept_and_transfer_the_new_department_gets_its_accept_clock_and_reminder(
        clock, services, worker, fake_wecom):
    number = register(services, OCCUPANT, AIRCON, "设备设施")
    clock.to("2026-11-25 09:10")
    act(services, number, "accept", LI)
    clock.to("2026-11-25 09:20")
    with services.db.session() as session:
        complaint = complaints.find_by_number(session, number)
        perform_action(session, services, services.directory(), complaint, "transfer", LI, "属于客服的事",
                       department=SERVICE)
    deliver(services, worker)

    accept = deadlines_of(services, number)["accept"]
    assert accept.status == "open" and accept.started_at == at("2026-11-25 09:20")
    assert accept.due_at == at("2026-11-25 11:20")
    assert deadlines_of(services, number, "met")["accept"].met_at == at("2026-11-25 09:10")

    run_at(clock, services, worker, "2026-11-25 11:00")  # past 80 % (10:56) of the new limit
    assert len(texts(fake_wecom, KEFU, WARNING, number)) == 1
    assert texts(fake_wecom, LI, WARNING, number) == [] and texts(fake_wecom, ZHANG, WARNING, number) == []


# -- 7. the progress note counts per deadline -----------------------------------------------------------------
def progress_notes(fake_wecom, number: str) -> list[str]:
    return [t for t in texts(fake_wecom, OCCUPANT, number=number) if PROGRESS in t]


def test_a_reopened_complaint_gets_progress_notes_on_its_new_clock(clock, services, worker, fake_wecom):
    number = register(services, OCCUPANT, LEAK, "房屋质量")
    clock.to("2026-11-25 09:10")
    act(services, number, "accept", LI)
    run_at(clock, services, worker, "2026-11-26 09:30")  # one working day after registration
    assert len(progress_notes(fake_wecom, number)) == 1

    clock.to("2026-11-26 10:00")
    with services.db.session() as session:
        survey.reopen(session, services, complaints.find_by_number(session, number), "还在漏", clock.now)
    run_at(clock, services, worker, "2026-11-27 10:30")  # one working day after the reopening
    assert len(progress_notes(fake_wecom, number)) == 2  # the same count (1) on the new deadline


# -- 8. an answer to the visit, or a new complaint ---------------------------------------------------------------
def visited_leak(clock, services, worker) -> str:
    """The 3号楼201 leak handled, and its visit sent and waiting for an answer."""
    number = register(services, OCCUPANT, LEAK, "房屋质量")
    act(services, number, "accept", ZHANG)
    act(services, number, "solution", ZHANG, "更换水管")
    act(services, number, "approve", SUPERVISOR)
    clock.to("2026-11-25 09:30")
    act(services, number, "complete", ZHANG, "已更换水管，不再漏水")
    run_at(clock, services, worker, "2026-11-25 11:30")  # the visit goes out
    assert [s.status for s in surveys_of(services, number)] == ["sent"]
    return number


def test_while_a_visit_waits_other_problems_start_a_new_dialog_and_not_fixed_reopens(
        clock, wecom, services, worker, fake_wecom):
    number = visited_leak(clock, services, worker)

    for other in ("5号楼的路灯不好使了", "空调又不好使了，一直吹热风"):
        reply = command(wecom, OCCUPANT, other)
        assert "重新打开" not in reply, other
        assert dialog_of(services, OCCUPANT) is not None, other  # the intake dialog began
        assert complaint_of(services, number).status == complaints.FOLLOW_UP, other
        assert [s.status for s in surveys_of(services, number)] == ["sent"], other
        assert "已取消" in command(wecom, OCCUPANT, "取消") and dialog_of(services, OCCUPANT) is None

    reply = command(wecom, OCCUPANT, "没修好")
    assert f"{number} 已重新打开" in reply
    assert complaint_of(services, number).status == complaints.REOPENED
    assert dialog_of(services, OCCUPANT) is None


@pytest.mark.parametrize("answer, status, reply_says", [
    ("非常满意，师傅很负责", complaints.CLOSED, "谢谢您的评价"),  # praise names no problem (the classifier's guess: 设备设施)
    ("没修好，还是老样子", complaints.REOPENED, "已重新打开"),  # about this very complaint (the guess: 管理服务)
])
def test_longer_answers_about_the_visited_complaint_are_answers(clock, wecom, services, worker, answer, status,
                                                                reply_says):
    number = visited_leak(clock, services, worker)
    reply = command(wecom, OCCUPANT, answer)
    assert reply_says in reply and dialog_of(services, OCCUPANT) is None
    assert complaint_of(services, number).status == status
    [visit] = surveys_of(services, number)
    assert visit.status == "answered" and visit.comment == answer


# -- 9. a 不成立 reason of a digit-like character -------------------------------------------------------------------
def test_an_invalid_reason_of_a_superscript_two_is_a_written_reason(wecom, services):
    number = register(services, OCCUPANT, LEAK, "房屋质量")
    reply = command(wecom, LI, f"不成立 {number} ²")
    assert reply.startswith(f"已判定 {number} 不成立"), reply
    assert "系统处理时遇到了一点问题" not in reply
    row = complaint_of(services, number)
    assert row.status == complaints.INVALID
    assert [e.comment for e in events_of(services, number, "invalid")] == ["²"]


# -- 10. a photo that cannot be saved ----------------------------------------------------------------------------
def _with_photo(services, occupant: str, media_id: str, location: str) -> int:
    with services.db.session() as session:
        intake = Intake(occupant_id=occupant, description=f"{location}的灯不亮", category="设备设施",
                        location=location, photos=(media_id,))
        return registration.register(session, services, intake).id


def _attachment(services, complaint_id: int) -> Attachment:
    with services.db.session() as session:
        row = session.execute(select(Attachment).where(Attachment.complaint_id == complaint_id)).scalar_one()
        session.expunge_all()
        return row


def test_a_failing_save_is_retried_later_and_does_not_stop_the_next_photo(services, worker, fake_wecom):
    fake_wecom.add_media("M-FIRST", b"\xff\xd8\xff\xe0first", filename="first.jpg")
    fake_wecom.add_media("M-SECOND", b"\xff\xd8\xff\xe0second", filename="second.jpg")
    first = _with_photo(services, OCCUPANT, "M-FIRST", "3号楼201")
    second = _with_photo(services, NEIGHBOUR, "M-SECOND", "5号楼302")
    media_dir = services.settings.media_dir
    media_dir.mkdir(parents=True, exist_ok=True)
    (media_dir / str(first)).write_bytes(b"a regular file where the complaint's folder should be")
    due_before = _attachment(services, first).next_attempt_at

    assert worker.fetcher.fetch_due() == 2

    failed = _attachment(services, first)
    assert (failed.status, failed.attempts, failed.path) == ("pending", 1, None)
    assert failed.next_attempt_at > due_before and failed.claimed_until is None
    assert "保存文件失败" in failed.last_error
    stored = _attachment(services, second)
    assert stored.status == "stored" and stored.attempts == 0
    with open(stored.path, "rb") as saved:
        assert saved.read() == b"\xff\xd8\xff\xe0second"


# -- 11. the intake's place questions ----------------------------------------------------------------------------
ASK_PLACE, CONFIRM = "具体在什么地方", "请您核对"


def test_a_kind_of_room_is_asked_which_one_and_a_time_is_not_a_place(wecom, services):
    reply = command(wecom, OCCUPANT, "宿舍的空调坏了")
    assert ASK_PLACE in reply
    assert dialog_of(services, OCCUPANT).slots["location"] == "宿舍"

    reply = command(wecom, OCCUPANT, "昨天开始")  # a time, given before it was asked for
    assert ASK_PLACE in reply
    state = dialog_of(services, OCCUPANT)
    assert state.step == "collect" and state.slots["location"] == "宿舍" and state.slots["since"].startswith("昨天")

    reply = command(wecom, OCCUPANT, "5号楼301")
    assert CONFIRM in reply and "地点：5号楼301宿舍" in reply
    state = dialog_of(services, OCCUPANT)
    assert state.step == "confirm" and state.slots["location"] == "5号楼301宿舍"


@pytest.mark.parametrize("known, expected", [(None, "5号楼301"), ("宿舍", "5号楼301宿舍")])
def test_a_place_completes_what_was_known_of_it(wecom, services, known, expected):
    # A draft saved while the place was unknown or only a kind of room.
    slots = {"description": "空调坏了", "category": "设备设施", "photos": [], "mood": "calm", "location": known}
    DialogStore(services.redis, services.settings.redis_prefix, 3600).save(
        OCCUPANT, DialogState(step="collect", slots=slots))

    reply = command(wecom, OCCUPANT, "5号楼301")
    assert f"地点：{expected}" in reply and CONFIRM in reply
    state = dialog_of(services, OCCUPANT)
    assert state.step == "confirm" and state.slots["location"] == expected and not state.slots.get("since")
