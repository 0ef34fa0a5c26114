"""The complaint's state machine, driven by staff text commands over real
encrypted callbacks: every allowed transition, every refusal (wrong number,
wrong state, missing words, malformed command), 不成立 with a configured
reason, 转派 chains and the 等待/恢复 pause."""
from __future__ import annotations

import pytest

from bot import complaints as c
from tests.workflow_fixtures import (ENGINEERING, INVALID_REASONS, KEFU, LEAK, LI, NAMES, OCCUPANT, SERVICE,
                                     SERVICE_PHONE, SUPERVISOR, WANG, ZHANG, cards, complaint_of, deliver,
                                     events_of, file_directly, put, say, settings, texts)

assert settings  # the module's directory (imported fixture)

ALL_STATES = tuple(c.STATUS_LABELS)
# command word -> (what follows the number, who sends it)
COMMANDS = {
    "受理": ("", LI),
    "不成立": ("经核实为正常使用损耗以外的情况", LI),
    "转派": (f"{SERVICE} 属于客服中心的设施", LI),
    "原因": ("接口老化松动", LI),
    "方案": ("更换接口，明天上午完成", LI),
    "同意": ("", SUPERVISOR),
    "驳回": ("请同时检查楼下", SUPERVISOR),
    "等待": ("等待厂家配件", LI),
    "恢复": ("", LI),
    "完成": ("已更换接口，试水无渗漏", LI),
}
# (command, from) -> to: the whole table, written out so that a lost or added
# transition shows up here.
TRANSITIONS = {
    ("受理", c.PENDING): c.ACCEPTED, ("受理", c.REOPENED): c.ACCEPTED,
    ("不成立", c.PENDING): c.INVALID, ("不成立", c.REOPENED): c.INVALID,
    ("不成立", c.ACCEPTED): c.INVALID, ("不成立", c.CAUSE_FOUND): c.INVALID,
    ("转派", c.PENDING): c.PENDING, ("转派", c.REOPENED): c.PENDING, ("转派", c.ACCEPTED): c.PENDING,
    ("原因", c.ACCEPTED): c.CAUSE_FOUND, ("原因", c.CAUSE_FOUND): c.CAUSE_FOUND,
    ("原因", c.SOLUTION_REJECTED): c.CAUSE_FOUND,
    ("方案", c.ACCEPTED): c.SOLUTION_PENDING, ("方案", c.CAUSE_FOUND): c.SOLUTION_PENDING,
    ("方案", c.SOLUTION_REJECTED): c.SOLUTION_PENDING,
    ("同意", c.SOLUTION_PENDING): c.IN_PROGRESS,
    ("驳回", c.SOLUTION_PENDING): c.SOLUTION_REJECTED,
    ("等待", c.ACCEPTED): c.WAITING, ("等待", c.CAUSE_FOUND): c.WAITING, ("等待", c.IN_PROGRESS): c.WAITING,
    ("恢复", c.WAITING): c.IN_PROGRESS,
    ("完成", c.IN_PROGRESS): c.RESOLVED,
}
KINDS = {"受理": "accept", "不成立": "invalid", "转派": "transfer", "原因": "cause", "方案": "solution",
         "同意": "approve", "驳回": "reject", "等待": "wait", "恢复": "resume", "完成": "complete"}


@pytest.mark.parametrize("word", list(COMMANDS), ids=list(KINDS.values()))
def test_each_command_moves_exactly_the_states_of_the_table_and_refuses_all_others(wecom, services, word):
    rest, actor = COMMANDS[word]
    number = file_directly(services, OCCUPANT, LEAK)
    for state in ALL_STATES:
        put(services, number, state, department=ENGINEERING)
        before = len(events_of(services, number))
        reply = say(wecom, actor, f"{word} {number} {rest}".strip())
        after = complaint_of(services, number)
        recorded = events_of(services, number)[before:]
        new_events = [e for e in recorded if e.kind in KINDS.values()]  # not the clocks' notes
        target = TRANSITIONS.get((word, state))
        if target is None:
            assert f"当前是“{c.status_label(state)}”" in reply and f"现在不能{word}" in reply, (state, reply)
            assert after.status == state and recorded == [], state
            continue
        assert after.status == target, (state, reply)
        [event] = new_events
        assert (event.kind, event.actor, event.from_status, event.to_status) == (KINDS[word], actor, state, target)
        assert "不能" not in reply and number in reply, (state, reply)
        assert event.comment == (rest.split(" ", 1)[1] if word == "转派" else rest or None)


def test_a_full_run_records_every_step_and_fills_the_complaint(wecom, services, worker, fake_wecom):
    number = file_directly(services, OCCUPANT, LEAK)
    steps = [(LI, f"受理 {number}", c.ACCEPTED), (LI, f"原因 {number} 接口老化松动", c.CAUSE_FOUND),
             (LI, f"方案 {number} 更换接口", c.SOLUTION_PENDING), (SUPERVISOR, f"驳回 {number} 请同时检查楼下", c.SOLUTION_REJECTED),
             (LI, f"方案 {number} 更换接口并检查楼下", c.SOLUTION_PENDING), (SUPERVISOR, f"同意 {number} 抓紧", c.IN_PROGRESS),
             (LI, f"等待 {number} 等厂家配件", c.WAITING), (LI, f"恢复 {number}", c.IN_PROGRESS),
             (LI, f"完成 {number} 已更换接口，试水无渗漏", c.RESOLVED)]
    for actor, command, status in steps:
        say(wecom, actor, command)
        assert complaint_of(services, number).status == status, command
    done = complaint_of(services, number)
    assert done.assignee == LI and done.accepted_at is not None and done.resolved_at is not None
    assert (done.cause, done.solution, done.resolution) == ("接口老化松动", "更换接口并检查楼下", "已更换接口，试水无渗漏")
    assert [e.kind for e in events_of(services, number) if e.kind != "clock_resumed"] == [
        "created", "accept", "cause", "solution", "reject", "solution", "approve", "wait", "resume", "complete"]


def test_a_reopened_complaint_can_be_accepted_again(wecom, services):
    number = file_directly(services, OCCUPANT, LEAK)
    put(services, number, c.REOPENED)
    assert "已受理" in say(wecom, ZHANG, f"受理 {number}")
    complaint = complaint_of(services, number)
    assert complaint.status == c.ACCEPTED and complaint.assignee == ZHANG


# -- refusals --------------------------------------------------------------------------------
def test_a_number_that_does_not_exist_is_named_in_the_answer(wecom, services):
    file_directly(services, OCCUPANT, LEAK)
    for command in ("受理 TS20000101-999", "原因 TS20000101-999 接口老化", "详情 TS20000101-999",
                    "同意 TS20000101-999"):
        actor = SUPERVISOR if command.startswith("同意") else LI
        reply = say(wecom, actor, command)
        assert reply == services.texts("staff_no_such_complaint", number="TS20000101-999"), command


def test_a_card_button_for_a_complaint_that_does_not_exist_is_answered_with_a_push(
        wecom, services, worker, fake_wecom):
    reply = wecom.event(LI, "template_card_event", EventKey="accept:TS20000101-999", TaskId="TS20000101-999-new-x",
                        CardType="button_interaction", ResponseCode=fake_wecom.new_response_code())
    assert reply.status_code == 200 and reply.text is None
    deliver(services, worker)
    assert texts(fake_wecom, LI) == [services.texts("staff_unknown_button")]


def test_complete_before_the_plan_is_approved_and_approve_with_nothing_pending_are_refused(wecom, services):
    number = file_directly(services, OCCUPANT, LEAK)
    say(wecom, LI, f"受理 {number}")
    refused = say(wecom, LI, f"完成 {number} 修好了")
    assert refused == services.texts("wrong_state", number=number, status="已受理", who=NAMES[LI], action="完成")
    refused = say(wecom, SUPERVISOR, f"同意 {number}")
    assert refused == services.texts("wrong_state", number=number, status="已受理", who=NAMES[LI], action="同意")
    say(wecom, LI, f"方案 {number} 更换接口")
    refused = say(wecom, LI, f"完成 {number} 修好了")
    assert "方案待批" in refused and "现在不能完成" in refused
    complaint = complaint_of(services, number)
    assert complaint.status == c.SOLUTION_PENDING and complaint.resolution is None


@pytest.mark.parametrize("word,state,form", [
    ("原因", c.ACCEPTED, "form_cause"),
    ("方案", c.CAUSE_FOUND, "form_solution"),
    ("完成", c.IN_PROGRESS, "form_complete"),
    ("不成立", c.PENDING, "form_invalid"),
    ("驳回", c.SOLUTION_PENDING, "form_reject"),
    ("等待", c.IN_PROGRESS, "form_wait"),
])
def test_a_command_without_its_words_shows_the_right_form_and_changes_nothing(wecom, services, word, state, form):
    number = file_directly(services, OCCUPANT, LEAK)
    put(services, number, state)
    actor = SUPERVISOR if word == "驳回" else LI
    reply = say(wecom, actor, f"{word} {number}   ")
    assert reply == services.texts("needs_text", action=word, number=number) + "\n" + \
        services.texts("staff_form", form=services.texts(form))
    assert complaint_of(services, number).status == state
    assert [e.kind for e in events_of(services, number)] == ["created"]


@pytest.mark.parametrize("command,form", [
    ("原因", "form_cause"), ("原因 水管老化", "form_cause"), ("方案 T20261126-1 更换", "form_solution"),
    ("受理", "form_accept"), ("完成", "form_complete"), ("同意", "form_approve"), ("详情", "form_detail"),
    ("转派 工程维修部", "form_transfer"), ("恢复", "form_resume"),
])
def test_a_command_without_a_number_shows_its_form(wecom, services, command, form):
    number = file_directly(services, OCCUPANT, LEAK)
    reply = say(wecom, LI, command)
    assert reply == services.texts("staff_form", form=services.texts(form))
    assert complaint_of(services, number).status == c.PENDING


def test_a_number_typed_loosely_is_still_understood(wecom, services):
    number = file_directly(services, OCCUPANT, LEAK)
    loose = "ｔｓ" + number[2:10] + " — " + number[11:]  # full-width letters, a long dash, spaces
    assert "已受理" in say(wecom, LI, f"受理{loose}")
    assert complaint_of(services, number).status == c.ACCEPTED


# -- 不成立 -------------------------------------------------------------------------------------
def test_invalid_with_a_reason_number_uses_the_configured_reason_and_tells_the_occupant(
        wecom, services, worker, fake_wecom):
    number = file_directly(services, OCCUPANT, LEAK)
    reply = say(wecom, LI, f"不成立 {number} 3")
    assert reply == services.texts("staff_done_invalid", number=number, status="不成立")
    complaint = complaint_of(services, number)
    assert complaint.status == c.INVALID and complaint.closed_at is not None
    [event] = events_of(services, number, "invalid")
    assert event.comment == INVALID_REASONS[2]
    deliver(services, worker)
    [told] = texts(fake_wecom, OCCUPANT, number)
    assert INVALID_REASONS[2] in told and SERVICE_PHONE in told
    assert "冷静" not in told and "！" not in told


def test_invalid_with_a_reason_number_out_of_range_is_refused(wecom, services):
    number = file_directly(services, OCCUPANT, LEAK)
    reply = say(wecom, LI, f"不成立 {number} 9")
    assert reply == services.texts("invalid_reason_choice", count=len(INVALID_REASONS))
    assert complaint_of(services, number).status == c.PENDING
    assert events_of(services, number, "invalid") == []


def test_invalid_with_its_own_words_passes_them_on(wecom, services, worker, fake_wecom):
    number = file_directly(services, OCCUPANT, LEAK)
    say(wecom, LI, f"受理 {number}")
    say(wecom, LI, f"不成立 {number} 漏水来自楼上住户自行改装的水管，已联系其处理")
    deliver(services, worker)
    told = texts(fake_wecom, OCCUPANT, number)[-1]
    assert "漏水来自楼上住户自行改装的水管" in told and SERVICE_PHONE in told


# -- 转派 ---------------------------------------------------------------------------------------
def test_transfer_to_an_unknown_department_lists_the_known_ones(wecom, services):
    number = file_directly(services, OCCUPANT, LEAK)
    reply = say(wecom, LI, f"转派 {number} 财务处 属于财务问题")
    assert reply == services.texts("staff_form", form=services.texts("form_transfer")) + "\n" + \
        services.texts("known_departments", departments=f"{ENGINEERING}、{SERVICE}")
    assert say(wecom, LI, f"转派 {number} {SERVICE}").endswith(f"{ENGINEERING}、{SERVICE}")  # no reason
    assert complaint_of(services, number).department == ENGINEERING
    assert events_of(services, number, "transfer") == []


def test_transfer_to_its_own_department_is_refused(wecom, services):
    number = file_directly(services, OCCUPANT, LEAK)
    reply = say(wecom, LI, f"转派 {number} 维修 还是我们的")
    assert reply == services.texts("same_department", department=ENGINEERING)
    assert events_of(services, number, "transfer") == []


def test_a_transfer_chain_is_kept_in_the_history_and_each_department_gets_a_new_card(
        wecom, services, worker, fake_wecom):
    number = file_directly(services, OCCUPANT, LEAK)
    deliver(services, worker)
    [first_card] = cards(fake_wecom, LI, number)
    assert cards(fake_wecom, KEFU, number) == []

    reply = say(wecom, LI, f"转派 {number} 客户服务 属于公共区域")  # a distinctive part of the name
    assert reply == services.texts("staff_done_transfer", number=number, department=SERVICE)
    complaint = complaint_of(services, number)
    assert (complaint.department, complaint.status, complaint.assignee) == (SERVICE, c.PENDING, None)
    deliver(services, worker)
    [service_card] = cards(fake_wecom, KEFU, number)
    assert service_card["task_id"] != first_card["task_id"]
    assert f"· {SERVICE}" in service_card["main_title"]["desc"]
    assert cards(fake_wecom, LI, number) == [first_card]  # the old department gets nothing new
    updated = {u["userids"][0]: u["button"]["replace_name"] for u in fake_wecom.card_updates()}
    assert updated == {LI: f"已由 {NAMES[LI]} 转派至{SERVICE}", ZHANG: f"已由 {NAMES[LI]} 转派至{SERVICE}"}
    assert any(SERVICE in t for t in texts(fake_wecom, OCCUPANT, number))

    # The service centre accepts, then sends it back with a reason.
    say(wecom, KEFU, f"受理 {number}")
    say(wecom, KEFU, f"转派 {number}　{ENGINEERING}　是卫生间内的水管")  # full-width spaces, as an IME types them
    complaint = complaint_of(services, number)
    assert (complaint.department, complaint.status, complaint.assignee) == (ENGINEERING, c.PENDING, None)
    transfers = events_of(services, number, "transfer")
    assert [(e.actor, e.data, e.comment) for e in transfers] == [
        (LI, {"from": ENGINEERING, "to": SERVICE}, "属于公共区域"),
        (KEFU, {"from": SERVICE, "to": ENGINEERING}, "是卫生间内的水管")]
    assert [e.from_status for e in transfers] == [c.PENDING, c.ACCEPTED]
    deliver(services, worker)
    assert len(cards(fake_wecom, LI, number)) == 2 and len(cards(fake_wecom, ZHANG, number)) == 2

    history = say(wecom, WANG, f"详情 {number}")
    assert f"{NAMES[LI]} 转派（{ENGINEERING}→{SERVICE}）：属于公共区域" in history
    assert f"{NAMES[KEFU]} 转派（{SERVICE}→{ENGINEERING}）：是卫生间内的水管" in history


def test_transfer_is_refused_once_the_cause_is_analysed(wecom, services):
    number = file_directly(services, OCCUPANT, LEAK)
    say(wecom, LI, f"受理 {number}")
    say(wecom, LI, f"原因 {number} 接口老化")
    reply = say(wecom, LI, f"转派 {number} {SERVICE} 不归我们")
    assert "原因已分析" in reply and "现在不能转派" in reply
    assert complaint_of(services, number).department == ENGINEERING


# -- 等待 / 恢复 -------------------------------------------------------------------------------
def test_wait_pauses_the_work_and_resume_continues_it(wecom, services, worker, fake_wecom):
    number = file_directly(services, OCCUPANT, LEAK)
    put(services, number, c.IN_PROGRESS)
    reply = say(wecom, LI, f"等待 {number} 等厂家配件，预计周五到")
    assert reply == services.texts("staff_done_wait", number=number, status="等待外部条件")
    assert complaint_of(services, number).status == c.WAITING
    refused = say(wecom, LI, f"完成 {number} 修好了")
    assert "等待外部条件" in refused and "现在不能完成" in refused
    deliver(services, worker)
    [told] = texts(fake_wecom, OCCUPANT, number)
    assert "等厂家配件，预计周五到" in told and "冷静" not in told

    assert say(wecom, LI, f"恢复 {number}") == services.texts("staff_done_resume", number=number, status="处理中")
    assert complaint_of(services, number).status == c.IN_PROGRESS
    refused = say(wecom, LI, f"恢复 {number}")
    assert "处理中" in refused and "现在不能恢复" in refused
    say(wecom, LI, f"完成 {number} 配件已换")
    assert complaint_of(services, number).status == c.RESOLVED


def test_resume_returns_to_where_the_work_was_paused_not_past_the_approval(wecom, services):
    number = file_directly(services, OCCUPANT, LEAK)
    say(wecom, LI, f"受理 {number}")
    say(wecom, LI, f"等待 {number} 等住户在家时再上门")
    say(wecom, LI, f"恢复 {number}")
    assert complaint_of(services, number).status == c.ACCEPTED
    refused = say(wecom, LI, f"完成 {number} 修好了")  # no plan was approved
    assert "现在不能完成" in refused
    say(wecom, LI, f"原因 {number} 接口老化")
    say(wecom, LI, f"等待 {number} 等配件")
    say(wecom, LI, f"恢复 {number}")
    assert complaint_of(services, number).status == c.CAUSE_FOUND
    assert [(e.from_status, e.to_status) for e in events_of(services, number, "resume")] == [
        (c.WAITING, c.ACCEPTED), (c.WAITING, c.CAUSE_FOUND)]

