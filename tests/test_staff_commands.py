"""Staff text commands and who may use them: 帮助, 待办 and 详情 by
department, actions on other departments' complaints, the approvers, and
occupants whose words only look like staff commands."""
from __future__ import annotations

import pytest
from sqlalchemy import update

from bot import complaints as c
from bot.models import Complaint
from tests.workflow_fixtures import (ADMIN, ENGINEERING, HE, INVALID_REASONS, KEFU, LEAK, LI, NAMES, NEIGHBOUR,
                                     OCCUPANT, SERVICE, SUPERVISOR, WANG, ZHANG, complaint_of, deliver, events_of,
                                     file_directly, put, say, settings, texts)

assert settings  # the module's directory (imported fixture)

WORDS = ("待办", "详情", "受理", "不成立", "转派", "原因", "方案", "等待", "恢复", "完成", "同意", "驳回")


def test_help_for_staff_lists_every_command_and_the_reasons(wecom, services):
    for person in (LI, KEFU, SUPERVISOR, ADMIN):
        reply = say(wecom, person, "帮助")
        assert reply.startswith("工作人员可用的命令"), person
        assert all(word in reply for word in WORDS), person
        assert all(f"{i}. {reason}" in reply for i, reason in enumerate(INVALID_REASONS, 1)), person


def test_help_for_an_occupant_is_not_the_staff_help(wecom, services):
    reply = say(wecom, OCCUPANT, "帮助")
    assert "工作人员" not in reply and "待办" not in reply


# -- 待办 -------------------------------------------------------------------------------------------
def test_todo_lists_the_open_complaints_of_ones_own_department_only(wecom, services):
    leak = file_directly(services, OCCUPANT, LEAK)
    lift = file_directly(services, NEIGHBOUR, "3号楼电梯困人", category="突发事件", location="3号楼", emergency=True)
    desk = file_directly(services, OCCUPANT, "前台办理入住太慢", category="管理服务", location="1号楼大厅")
    done = file_directly(services, NEIGHBOUR, "5号楼302的门锁坏了", location="5号楼302")
    closed = file_directly(services, NEIGHBOUR, "6号楼的窗户关不上", location="6号楼")
    put(services, done, c.RESOLVED)
    put(services, closed, c.INVALID)
    put(services, leak, c.IN_PROGRESS)

    for person in (LI, ZHANG, WANG):
        listed = say(wecom, person, "待办")
        assert leak in listed and lift in listed, person
        assert desk not in listed and done not in listed and closed not in listed, person
    listed = say(wecom, LI, "待办")
    assert listed.index(lift) < listed.index(leak) and f"【紧急】{lift}" in listed  # emergencies first
    assert "待处理的投诉（2 条）" in listed and "处理中" in listed

    for person in (KEFU, HE):
        listed = say(wecom, person, "待办")
        assert desk in listed and leak not in listed and lift not in listed, person
    for person in (ADMIN, SUPERVISOR):
        listed = say(wecom, person, "待办")
        assert all(n in listed for n in (leak, lift, desk)) and done not in listed, person


def test_todo_is_not_crowded_out_by_complaints_about_oneself(wecom, services):
    """Fifty-five complaints about the service centre's own staff go to its
    leader only; the member's list still shows the one meant for them."""
    about_them = [file_directly(services, OCCUPANT, f"前台态度很差，第{i}次", category="管理服务",
                                location="1号楼大厅") for i in range(55)]
    with services.db.session() as session:
        session.execute(update(Complaint).where(Complaint.number.in_(about_them)).values(about_department=SERVICE))
    theirs = file_directly(services, NEIGHBOUR, "前台办理入住太慢", category="管理服务", location="1号楼大厅")
    listed = say(wecom, KEFU, "待办")
    assert theirs in listed and not any(number in listed for number in about_them)
    assert about_them[0] in say(wecom, HE, "待办")  # the leader handles them


def test_todo_with_nothing_open_says_so(wecom, services):
    number = file_directly(services, OCCUPANT, "前台办理入住太慢", category="管理服务", location="1号楼大厅")
    assert say(wecom, LI, "待办") == services.texts("staff_todo_empty")
    assert number in say(wecom, KEFU, "待办")


# -- 详情 -------------------------------------------------------------------------------------------
def test_details_are_for_the_department_the_approvers_and_administrators(wecom, services):
    number = file_directly(services, OCCUPANT, LEAK, phone="13812345678")
    for person in (LI, WANG, SUPERVISOR, ADMIN):
        detail = say(wecom, person, f"详情 {number}")
        assert detail.startswith(f"{number}（待受理）房屋质量"), person
        assert "13812345678" in detail and f"{NAMES[OCCUPANT]} 登记投诉" in detail, person
    assert say(wecom, LI, f"详情 {number}").endswith("您现在可以：受理、不成立、转派")

    refused = say(wecom, KEFU, f"详情 {number}")
    assert refused == services.texts("not_your_department", number=number, department=ENGINEERING)
    assert "13812345678" not in refused and LEAK not in refused


def test_details_show_what_an_approver_may_do_when_a_plan_waits(wecom, services):
    number = file_directly(services, OCCUPANT, LEAK)
    say(wecom, LI, f"受理 {number}")
    say(wecom, LI, f"方案 {number} 更换接口")
    assert say(wecom, SUPERVISOR, f"详情 {number}").endswith("您现在可以：同意、驳回")
    assert say(wecom, LI, f"详情 {number}").endswith("您现在可以：无")


# -- acting on complaints ---------------------------------------------------------------------------
@pytest.mark.parametrize("command", ["受理 {n}", "不成立 {n} 1", "转派 {n} 客户服务中心 不归我们"])
def test_staff_of_another_department_cannot_act(wecom, services, command):
    number = file_directly(services, OCCUPANT, LEAK)
    reply = say(wecom, KEFU, command.format(n=number))
    assert reply == services.texts("not_your_department", number=number, department=ENGINEERING)
    complaint = complaint_of(services, number)
    assert (complaint.status, complaint.department) == (c.PENDING, ENGINEERING)
    assert [e.kind for e in events_of(services, number)] == ["created"]


def test_staff_of_another_department_are_not_told_how_far_a_complaint_got(wecom, services):
    number = file_directly(services, OCCUPANT, LEAK)
    say(wecom, LI, f"受理 {number}")
    reply = say(wecom, KEFU, f"受理 {number}")
    assert reply == services.texts("not_your_department", number=number, department=ENGINEERING)
    assert NAMES[LI] not in reply


def test_the_department_leader_supervisors_and_administrators_may_act(wecom, services):
    numbers = [file_directly(services, OCCUPANT, f"{i}号楼201卫生间水管漏水", location=f"{i}号楼201")
               for i in (1, 2, 3)]
    for person, number in zip((WANG, SUPERVISOR, ADMIN), numbers):
        assert "已受理" in say(wecom, person, f"受理 {number}"), person
        assert complaint_of(services, number).assignee == person
    desk = file_directly(services, OCCUPANT, "前台办理入住太慢", category="管理服务", location="1号楼大厅")
    assert "不能处理" in say(wecom, WANG, f"受理 {desk}")  # a leader leads one department only
    assert "已受理" in say(wecom, HE, f"受理 {desk}")


def test_only_approvers_may_approve_or_reject(wecom, services, worker, fake_wecom):
    number = file_directly(services, OCCUPANT, LEAK)
    say(wecom, LI, f"受理 {number}")
    say(wecom, LI, f"方案 {number} 更换接口")
    for person in (LI, ZHANG, WANG, KEFU, HE):
        for command in (f"同意 {number}", f"驳回 {number} 不行"):
            assert say(wecom, person, command) == services.texts("not_approver", number=number), (person, command)
    assert complaint_of(services, number).status == c.SOLUTION_PENDING
    assert "已驳回" in say(wecom, ADMIN, f"驳回 {number} 先核实楼下")  # administrators may, too
    say(wecom, LI, f"方案 {number} 更换接口并核实楼下")
    assert "已同意" in say(wecom, SUPERVISOR, f"同意 {number} 注意安全")
    assert complaint_of(services, number).status == c.IN_PROGRESS
    deliver(services, worker)
    approved = texts(fake_wecom, LI, number)[-1]
    assert "林领导 同意（意见：注意安全）" in approved


# -- occupants ------------------------------------------------------------------------------------------
def test_an_occupant_sending_staff_commands_gets_the_occupant_flow_and_never_acts(wecom, services, worker,
                                                                                fake_wecom):
    number = file_directly(services, NEIGHBOUR, LEAK)
    put(services, number, c.SOLUTION_PENDING)
    for command in (f"受理 {number}", f"同意 {number}", f"完成 {number} 修好了", f"不成立 {number} 1",
                    f"转派 {number} 客户服务中心 不归你们", "待办"):
        reply = say(wecom, OCCUPANT, command)
        assert "已受理" not in reply and "已同意" not in reply and "待处理的投诉" not in reply, command
        assert "不能处理" not in reply and "主管领导批示" not in reply, command  # no staff answer at all
        say(wecom, OCCUPANT, "取消")  # end the intake dialog the words started
    complaint = complaint_of(services, number)
    assert (complaint.status, complaint.department, complaint.assignee) == (c.SOLUTION_PENDING, ENGINEERING, None)
    assert [e.kind for e in events_of(services, number)] == ["created"]

    seen = say(wecom, OCCUPANT, f"详情 {number}")  # someone else's complaint
    assert seen == services.texts("complaint_not_found", number=number)
    assert say(wecom, OCCUPANT, f"进度 {number}") == seen
    deliver(services, worker)
    assert texts(fake_wecom, OCCUPANT, number) == []


def test_staff_describing_a_problem_are_heard_as_occupants(wecom, services):
    reply = say(wecom, LI, "5号楼302的门锁坏了")
    assert "请您核对" in reply  # what and where given: the intake dialog's summary
    assert "工作人员" not in reply and "命令格式" not in reply
