"""Time limits, reminders and escalations on the real database, Redis and the
fake WeCom, with the process's clock frozen at a working-day morning
(Wednesday 2026-11-25 09:00 Beijing time) and the scheduler's tick run at
chosen moments; the worker delivers what the scan queued.

Default limits: ordinary 2h accept / 4h solution / 1d complete; complex (房屋质量)
2h / 2d / 5d with a progress note every working day; emergencies round the
clock, 10m accept, re-pushed to the on-duty list every 5 minutes. A working
day is 08:30–12:00 and 13:30–17:30 (7.5 h)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.models import OutboxMessage
from bot.services import build_services
from bot.worker import Worker
from tests.helpers import file_complaint
from tests.timeline_support import (LEVEL_1, LEVEL_2, LI, NEIGHBOUR, OCCUPANT, ON_CALL, REPUSH, SUPERVISOR, WANG,
                                    WARNING, WU, ZHANG, ZHENG, at, command, complaint_of, deadlines_of, deliver,
                                    events_of, frozen_clock, local, notices, overrides, register, run_at, settings,
                                    texts, tick_concurrently, wecom)

assert settings and overrides and wecom  # this module's directory and sender (imported fixtures)
clock = frozen_clock("2026-11-25 09:00")

LEAK = "3号楼201卫生间水管漏水"  # 房屋质量: complex
AIRCON = "3号楼201的空调不制冷"  # 设备设施: ordinary
LIFT = "3号楼电梯困人"  # 突发事件: emergency
ENGINEERS = (LI, ZHANG)


@pytest.fixture
def other_services(settings, redis_client):
    """A second, independent process's services on the same database and Redis prefix."""
    services = build_services(settings, redis_client)
    yield services
    services.close()


def stages(services, number: str) -> dict[str, tuple]:
    return {stage: (d.clock, local(d.warn_at), local(d.due_at), d.status)
            for stage, d in deadlines_of(services, number).items()}


# -- deadlines on registration ------------------------------------------------------------------------
def test_registration_through_the_dialog_starts_the_ordinary_clocks(clock, wecom, services):
    number, ack = file_complaint(wecom, OCCUPANT, AIRCON)
    assert complaint_of(services, number).category == "设备设施"
    assert stages(services, number) == {
        "accept": ("working", at("2026-11-25 10:36"), at("2026-11-25 11:00"), "open"),
        "solution": ("working", at("2026-11-25 13:42"), at("2026-11-25 14:30"), "open"),  # over lunch
        "complete": ("working", at("2026-11-25 16:30"), at("2026-11-26 09:00"), "open"),  # 1d = 7.5 h
    }
    assert "11月26日 09:00 前处理完毕" in ack  # the promise the occupant is given


def test_complex_and_emergency_complaints_get_their_own_profiles(clock, services):
    leak = register(services, OCCUPANT, LEAK, "房屋质量")
    assert stages(services, leak) == {
        "accept": ("working", at("2026-11-25 10:36"), at("2026-11-25 11:00"), "open"),
        "solution": ("working", at("2026-11-26 15:00"), at("2026-11-27 09:00"), "open"),  # 2d
        # 5d over the weekend of 28–29 November
        "complete": ("working", at("2026-12-01 09:00"), at("2026-12-02 09:00"), "open"),
    }
    lift = register(services, NEIGHBOUR, LIFT, "突发事件", location="3号楼", emergency=True)
    assert stages(services, lift) == {
        "accept": ("continuous", at("2026-11-25 09:08"), at("2026-11-25 09:10"), "open"),
        "solution": ("continuous", at("2026-11-25 10:36"), at("2026-11-25 11:00"), "open"),
        "complete": ("continuous", at("2026-11-26 04:12"), at("2026-11-26 09:00"), "open"),  # 24 h
    }


# -- reminder, then the leader, then the supervisors ----------------------------------------------------
def test_unaccepted_complaint_warns_the_department_then_escalates_level_by_level_once_each(
        clock, services, worker, fake_wecom):
    number = register(services, OCCUPANT, AIRCON, "设备设施")
    deliver(services, worker)

    run_at(clock, services, worker, "2026-11-25 10:35")
    assert notices(fake_wecom, number) == {}  # not yet 80 % of the two hours

    for moment in ("2026-11-25 10:36", "2026-11-25 10:40", "2026-11-25 10:59"):
        run_at(clock, services, worker, moment)
    for person in ENGINEERS:  # the whole department: nobody has taken it yet
        [warning] = texts(fake_wecom, person, WARNING, number)
        assert "“受理”时限是 11-25 11:00" in warning
    assert texts(fake_wecom, WANG, number=number) == [] and texts(fake_wecom, SUPERVISOR, number=number) == []

    for moment in ("2026-11-25 11:00", "2026-11-25 11:30", "2026-11-25 12:59"):
        run_at(clock, services, worker, moment)
    [level_1] = texts(fake_wecom, WANG, LEVEL_1, number)  # the department leader at the deadline
    assert "“受理”已超过时限 11-25 11:00" in level_1 and "工程维修部" in level_1
    assert texts(fake_wecom, SUPERVISOR, number=number) == []

    for moment in ("2026-11-25 13:00", "2026-11-25 13:10", "2026-11-25 13:20"):
        run_at(clock, services, worker, moment)
    [level_2] = texts(fake_wecom, SUPERVISOR, LEVEL_2, number)  # two hours past it: the supervisors
    assert "受理" in level_2
    assert len(texts(fake_wecom, WANG, LEVEL_1, number)) == 1 and texts(fake_wecom, WANG, LEVEL_2) == []
    for person in ENGINEERS:
        assert len(texts(fake_wecom, person, WARNING, number)) == 1 and texts(fake_wecom, person, "【超时") == []
    assert sum(notices(fake_wecom, number).values()) == 4


THREE_LEVELS = {"time_limits.escalation": [{"after": "0m", "notify": "department_leader"},
                                             {"after": "30m", "notify": "supervisors"},
                                             {"after": "1h", "notify": "admins"}],
                "directory.admins": ["admin.zhao"]}


@pytest.mark.parametrize("overrides", [THREE_LEVELS])
def test_the_configured_escalation_levels_are_followed(clock, services, worker, fake_wecom):
    number = register(services, OCCUPANT, AIRCON, "设备设施")
    expected = {"2026-11-25 10:59": (0, 0, 0), "2026-11-25 11:00": (1, 0, 0), "2026-11-25 11:29": (1, 0, 0),
                "2026-11-25 11:30": (1, 1, 0), "2026-11-25 11:59": (1, 1, 0), "2026-11-25 12:00": (1, 1, 1),
                "2026-11-25 12:30": (1, 1, 1)}
    for moment, counts in expected.items():
        run_at(clock, services, worker, moment)
        assert (len(texts(fake_wecom, WANG, LEVEL_1, number)), len(texts(fake_wecom, SUPERVISOR, LEVEL_2, number)),
                len(texts(fake_wecom, "admin.zhao", "【超时·第 3 级】", number))) == counts, moment


def test_accepting_meets_the_accept_limit_and_later_reminders_go_to_the_assignee(
        clock, wecom, services, worker, fake_wecom):
    number = register(services, OCCUPANT, AIRCON, "设备设施")
    clock.to("2026-11-25 09:30")
    assert command(wecom, ZHANG, f"受理 {number}").startswith(f"已受理 {number}")
    accept = deadlines_of(services, number)["accept"]
    assert accept.status == "met" and local(accept.met_at) == at("2026-11-25 09:30")

    for moment in ("2026-11-25 10:36", "2026-11-25 11:00", "2026-11-25 13:00", "2026-11-25 13:41"):
        run_at(clock, services, worker, moment)
    assert notices(fake_wecom, number) == {}  # nothing about 受理 any more, nothing else due yet

    run_at(clock, services, worker, "2026-11-25 13:42")
    run_at(clock, services, worker, "2026-11-25 14:00")
    [warning] = texts(fake_wecom, ZHANG, WARNING, number)
    assert "“提出方案”时限是 11-25 14:30" in warning and "已受理" in warning
    assert texts(fake_wecom, LI, WARNING, number) == []  # only the assignee, not the whole department


# -- exactly once across processes and restarts ------------------------------------------------------
def test_two_schedulers_ticking_at_once_deliver_each_notice_once(
        clock, services, other_services, worker, fake_wecom):
    numbers = [register(services, OCCUPANT, AIRCON, "设备设施"),
               register(services, NEIGHBOUR, LEAK, "房屋质量", location="5号楼302")]
    deliver(services, worker)
    for moment in ("2026-11-25 10:36", "2026-11-25 11:00", "2026-11-25 13:00", "2026-11-25 13:42",
                   "2026-11-25 14:30", "2026-11-25 16:30"):
        clock.to(moment)
        tick_concurrently(services, other_services, now=clock.now)
        deliver(services, Worker(other_services))
        deliver(services, worker)

    ordinary, complex_ = (notices(fake_wecom, number) for number in numbers)
    assert set(ordinary.values()) == {1} and set(complex_.values()) == {1}, (ordinary, complex_)
    # ordinary: 受理, 提出方案 and 处理完成 warned to both engineers; 受理 (due 11:00)
    # and 提出方案 (due 14:30) escalated to the leader, and two hours later to the supervisors
    assert sum(ordinary.values()) == 3 * 2 + 2 + 2
    assert sum(complex_.values()) == 2 + 1 + 1  # 受理 only: warned, leader, supervisors
    with services.db.session() as session:
        keys = session.execute(select(OutboxMessage.dedup_key).where(
            OutboxMessage.dedup_key.like("dl%"))).scalars().all()
    assert len(keys) == len(set(keys)) == sum(ordinary.values()) + sum(complex_.values())


def test_a_restarted_scheduler_catches_up_every_passed_level_once(
        clock, services, other_services, worker, fake_wecom):
    number = register(services, OCCUPANT, AIRCON, "设备设施")
    deliver(services, worker)
    # The scheduler was down from registration until 13:05; a new process starts.
    restarted = other_services
    run_at(clock, restarted, Worker(restarted), "2026-11-25 13:05")
    assert texts(fake_wecom, WANG, LEVEL_1, number) and texts(fake_wecom, SUPERVISOR, LEVEL_2, number)
    # Past the deadline the reminder is moot: escalation speaks instead.
    assert all(texts(fake_wecom, person, WARNING, number) == [] for person in ENGINEERS)

    run_at(clock, restarted, worker, "2026-11-25 13:06")
    run_at(clock, services, worker, "2026-11-25 13:07")  # the old process comes back too
    assert notices(fake_wecom, number) == {(WANG, texts(fake_wecom, WANG, LEVEL_1, number)[0]): 1,
                                           (SUPERVISOR, texts(fake_wecom, SUPERVISOR, LEVEL_2, number)[0]): 1}


# -- emergencies ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("overrides, every", [({}, 5), ({"time_limits.emergency_repush_minutes": 3}, 3)],
                         ids=["default-5-minutes", "configured-3-minutes"])
def test_an_unaccepted_emergency_is_re_pushed_to_the_duty_list_until_accepted(
        clock, wecom, services, worker, fake_wecom, every):
    number = register(services, NEIGHBOUR, LIFT, "突发事件", location="3号楼", emergency=True)
    deliver(services, worker)

    run_at(clock, services, worker, "2026-11-25 09:08")
    assert len(texts(fake_wecom, WU, WARNING, number)) == 1  # 80 % of ten minutes
    assert texts(fake_wecom, ON_CALL, REPUSH) == []

    due = at("2026-11-25 09:10")
    for minutes in range(0, 11):  # a tick every minute for ten minutes past the accept limit
        run_at(clock, services, worker, due + timedelta(minutes=minutes))
        for person in (WU, ON_CALL):  # everyone on duty, once every `every` minutes
            assert len(texts(fake_wecom, person, REPUSH, number)) == minutes // every + 1, (minutes, person)
    assert len(texts(fake_wecom, ZHENG, LEVEL_1, number)) == 1  # the leader too, once
    pushed = 10 // every + 1

    clock.to("2026-11-25 09:21")
    assert command(wecom, WU, f"受理 {number}").startswith(f"已受理 {number}")
    for moment in ("2026-11-25 09:25", "2026-11-25 09:30", "2026-11-25 09:45", "2026-11-25 11:10"):
        run_at(clock, services, worker, moment)
    for person in (WU, ON_CALL):
        assert len(texts(fake_wecom, person, REPUSH, number)) == pushed, person
    assert texts(fake_wecom, SUPERVISOR, LEVEL_2, number) == []  # accepted before two hours were over


# -- quiet hours -------------------------------------------------------------------------------------------
EVENING_SHIFT = {"calendar.work_hours": ["08:00-24:00"]}  # the department works until midnight


@pytest.mark.parametrize("overrides", [EVENING_SHIFT])
def test_quiet_hours_hold_an_ordinary_reminder_until_morning_but_not_an_emergency(
        clock, services, worker, fake_wecom):
    clock.to("2026-11-25 21:24")
    ordinary = register(services, OCCUPANT, AIRCON, "设备设施")
    assert local(deadlines_of(services, ordinary)["accept"].warn_at) == at("2026-11-25 23:00")
    clock.to("2026-11-25 22:52")
    emergency = register(services, NEIGHBOUR, LIFT, "突发事件", location="3号楼", emergency=True)
    assert local(deadlines_of(services, emergency)["accept"].warn_at) == at("2026-11-25 23:00")
    deliver(services, worker)

    run_at(clock, services, worker, "2026-11-25 23:00")
    with services.db.session() as session:
        held = session.execute(select(OutboxMessage).where(
            OutboxMessage.dedup_key.like("dl%:warn:%"), OutboxMessage.recipient == LI)).scalars().all()
    by_complaint = {ordinary: [r for r in held if ordinary in r.payload["text"]["content"]],
                    emergency: [r for r in held if emergency in r.payload["text"]["content"]]}
    assert by_complaint[emergency] == []  # 安全保卫部's, not the engineers'
    [row] = by_complaint[ordinary]
    assert row.status == "pending" and local(row.next_attempt_at) == at("2026-11-26 07:30")
    assert texts(fake_wecom, LI, WARNING) == []  # held back
    assert len(texts(fake_wecom, WU, WARNING, emergency)) == 1  # an emergency is not

    run_at(clock, services, worker, "2026-11-26 07:29")
    assert texts(fake_wecom, LI, WARNING) == []
    clock.to("2026-11-26 07:30")
    deliver(services, worker)
    for person in ENGINEERS:
        assert len(texts(fake_wecom, person, WARNING, ordinary)) == 1


# -- waiting stops the clock ------------------------------------------------------------------------------
def test_waiting_pauses_the_reminders_and_resuming_moves_every_limit(clock, wecom, services, worker, fake_wecom):
    number = register(services, OCCUPANT, AIRCON, "设备设施")
    clock.to("2026-11-25 09:10")
    command(wecom, ZHANG, f"受理 {number}")
    clock.to("2026-11-25 09:30")
    assert command(wecom, ZHANG, f"等待 {number} 等厂家配件").startswith(f"{number} 已标记为等待外部条件")
    assert all(d.paused_at is not None for d in deadlines_of(services, number, "open").values())

    for moment in ("2026-11-25 13:42", "2026-11-25 14:30", "2026-11-25 15:00", "2026-11-25 15:59"):
        run_at(clock, services, worker, moment)  # 提出方案 would have been warned and overdue by now
    assert notices(fake_wecom, number) == {}

    clock.to("2026-11-25 16:00")
    assert command(wecom, ZHANG, f"恢复 {number}").startswith(f"{number} 已恢复处理")
    # 09:30–12:00 and 13:30–16:00 stood still: five working hours.
    [resumed] = events_of(services, number, "clock_resumed")
    assert resumed.data == {"paused_minutes": 300} and "5 小时 0 分钟" in resumed.comment
    open_ = deadlines_of(services, number, "open")
    assert {stage: (local(d.warn_at), local(d.due_at)) for stage, d in open_.items()} == {
        "solution": (at("2026-11-26 09:42"), at("2026-11-26 10:30")),  # was 13:42 / 14:30
        "complete": (at("2026-11-26 14:00"), at("2026-11-26 15:30")),  # was 16:30 / 09:00
    }
    assert all(d.paused_at is None for d in open_.values())

    run_at(clock, services, worker, "2026-11-26 09:41")
    assert notices(fake_wecom, number) == {}
    run_at(clock, services, worker, "2026-11-26 09:42")
    [warning] = texts(fake_wecom, ZHANG, WARNING, number)
    assert "“提出方案”时限是 11-26 10:30" in warning


# -- progress notes for long complaints -------------------------------------------------------------------
def test_complex_complaints_get_a_progress_note_once_per_working_day(clock, wecom, services, worker, fake_wecom):
    leak = register(services, OCCUPANT, LEAK, "房屋质量")
    aircon = register(services, NEIGHBOUR, AIRCON, "设备设施", location="5号楼302")
    clock.to("2026-11-25 09:05")
    command(wecom, LI, f"受理 {leak}")
    command(wecom, ZHANG, f"受理 {aircon}")
    deliver(services, worker)

    def progress(user: str, number: str) -> list[str]:
        return [t for t in texts(fake_wecom, user, "您的投诉", number) if "仍在处理中" in t]

    expected = {"2026-11-25 17:29": 0, "2026-11-26 09:00": 1, "2026-11-26 11:00": 1, "2026-11-26 17:30": 1,
                "2026-11-27 09:00": 2, "2026-11-27 10:00": 2}
    for moment, count in expected.items():
        run_at(clock, services, worker, moment)
        assert len(progress(OCCUPANT, leak)) == count, moment
    assert "当前：已受理" in progress(OCCUPANT, leak)[0]
    assert progress(NEIGHBOUR, aircon) == []  # ordinary complaints have no progress notes
