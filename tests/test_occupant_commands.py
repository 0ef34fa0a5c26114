"""What occupants ask about their own complaints (我的投诉, 进度, 补充, 撤销),
topics of other offices, and repeated or shared reports."""
from __future__ import annotations

from tests.dialog_support import (CUSTOMER_SERVICE, Image, attachments_of, complaints_of, dialog_of, events_of,
                                  forget_recent, last, queued_texts, say, sent_texts)
from tests.helpers import file_complaint

NOT_FOUND = "没有找到"


# -- the list and one complaint -------------------------------------------------------------
def test_my_complaints_lists_only_my_own(wecom, services):
    mine_1, _ = file_complaint(wecom, "zhang", "3号楼201的灯坏了")
    mine_2, _ = file_complaint(wecom, "zhang", "食堂二楼水龙头漏水")
    theirs, _ = file_complaint(wecom, "li", "5号楼的空调坏了")

    listed = last(wecom, "zhang", "我的投诉")
    assert mine_1 in listed and mine_2 in listed and theirs not in listed
    assert "待受理" in listed
    other = last(wecom, "li", "进度")
    assert theirs in other and mine_1 not in other and mine_2 not in other
    assert "还没有提交过投诉" in last(wecom, "nobody", "我的投诉")
    assert dialog_of(services, "nobody") is None


def test_progress_of_my_own_complaint_shows_its_details(wecom, services):
    number, _ = file_complaint(wecom, "zhang", "3号楼201的灯坏了")
    detail = last(wecom, "zhang", f"进度 {number}")
    assert number in detail and "3号楼201" in detail and "工程维修部" in detail and "登记投诉" in detail
    assert number in last(wecom, "zhang", f"进度 {number.lower()}")  # typed in lower case


def test_progress_of_someone_elses_complaint_is_not_found(wecom, services):
    number, _ = file_complaint(wecom, "zhang", "3号楼201的灯坏了")
    reply = last(wecom, "li", f"进度 {number}")
    assert NOT_FOUND in reply and "3号楼201" not in reply
    assert NOT_FOUND in last(wecom, "zhang", "进度 TS19990101-999")


def test_the_history_shown_to_the_occupant_hides_internal_notes(wecom, services):
    file_complaint(wecom, "zhang", "3号楼201的灯坏了")
    number, _ = file_complaint(wecom, "li", "3号楼201的灯也坏了，必须赔偿我的损失")
    kinds = [e.kind for e in events_of(services, number)]
    assert "linked" in kinds and "compensation_flagged" in kinds
    detail = last(wecom, "li", f"进度 {number}")
    assert "关联" not in detail and "领导" not in detail


# -- 补充 -------------------------------------------------------------------------------------
def test_supplement_with_text_is_recorded_on_my_complaint(wecom, services):
    number, _ = file_complaint(wecom, "zhang", "3号楼201的灯坏了")
    reply = last(wecom, "zhang", f"补充 {number} 晚上十点以后更严重")
    assert "已补充" in reply and number in reply
    supplements = [e for e in events_of(services, number) if e.kind == "supplement"]
    assert [(e.actor, e.comment) for e in supplements] == [("zhang", "晚上十点以后更严重")]


def test_supplement_then_a_photo_attaches_the_photo(wecom, services, worker, fake_wecom):
    fake_wecom.add_media("S1", b"supplement-photo", content_type="image/jpeg")
    number, _ = file_complaint(wecom, "zhang", "3号楼201的灯坏了")
    waiting = last(wecom, "zhang", f"补充 {number}")
    assert "请直接发送" in waiting and number in waiting
    assert number in last(wecom, "zhang", Image("S1"))
    worker.run_once()
    [attachment] = attachments_of(services, number)
    assert attachment.media_id == "S1" and attachment.status == "stored"
    assert len(complaints_of(services)) == 1


def test_supplement_to_someone_elses_complaint_is_refused(wecom, services):
    number, _ = file_complaint(wecom, "zhang", "3号楼201的灯坏了")
    assert NOT_FOUND in last(wecom, "li", f"补充 {number} 其实是我家的灯")
    assert [e for e in events_of(services, number) if e.kind == "supplement"] == []


def test_a_command_without_a_number_asks_for_it(wecom, services):
    assert "请带上投诉编号" in last(wecom, "zhang", "撤销")
    assert "请带上投诉编号" in last(wecom, "zhang", "补充 灯又灭了")
    assert dialog_of(services, "zhang") is None


# -- 撤销 ------------------------------------------------------------------------------------------
def test_withdraw_once_and_not_twice(wecom, services):
    number, _ = file_complaint(wecom, "zhang", "3号楼201的灯坏了")
    assert NOT_FOUND in last(wecom, "li", f"撤销 {number}")
    assert complaints_of(services)[0].status == "pending"

    reply = last(wecom, "zhang", f"撤销 {number}")
    assert "已撤销" in reply and number in reply
    assert complaints_of(services)[0].status == "withdrawn"
    assert "withdrawn" in [e.kind for e in events_of(services, number)]

    again = last(wecom, "zhang", f"撤回 {number}")
    assert "不能撤销" in again and "已撤销" in again and "010-11112222" in again
    assert [e.kind for e in events_of(services, number)].count("withdrawn") == 1


# -- other offices --------------------------------------------------------------------------------
def test_an_out_of_scope_question_is_redirected_and_starts_nothing(wecom, services):
    reply = last(wecom, "zhao", "请问下学期的课程安排什么时候出来？")
    assert "教务处" in reply and "010-12340000" in reply
    assert dialog_of(services, "zhao") is None
    assert complaints_of(services) == []
    assert "教务处" in last(wecom, "zhao", "期末考试成绩在哪查")


def test_an_unknown_question_is_forwarded_to_customer_service_a_few_times_an_hour(wecom, services):
    asked = ["周末可以带家属来住吗？", "请问学员证丢了找谁补办？", "请问宿舍能养猫吗？", "党校的快递点在哪？"]
    replies = say(wecom, "qiu", *asked)
    assert all("转给客服同事" in reply for reply in replies)
    notes = [n for n in queued_texts(services, CUSTOMER_SERVICE) if n.startswith("【咨询】")]
    assert [n.split("问：", 1)[1].split("\n")[0] for n in notes] == asked[:3]  # the fourth waits for their answer
    assert "已经转给客服同事了" in replies[3]
    assert dialog_of(services, "qiu") is None and complaints_of(services) == []


# -- the same thing again, by the same person ------------------------------------------------------
def test_the_same_person_reporting_the_same_place_and_thing_is_asked_and_yes_merges(wecom, services):
    first, _ = file_complaint(wecom, "wang", "3号楼201的灯坏了")
    forget_recent(services, "wang")  # a day later: not a detail of the one just registered
    asked = last(wecom, "wang", "3号楼201的灯又不亮了", Image("RP1"), "确认")
    assert "是同一件事吗" in asked and first in asked
    assert "请回复“是”或“不是”" in last(wecom, "wang", "啥")
    merged = last(wecom, "wang", "是")
    assert first in merged and "已补充" in merged
    assert [c.number for c in complaints_of(services)] == [first]
    repeats = [e for e in events_of(services, first) if e.kind == "repeat_report"]
    assert [e.comment for e in repeats] == ["3号楼201的灯又不亮了"]
    assert [a.media_id for a in attachments_of(services, first)] == ["RP1"]
    assert dialog_of(services, "wang") is None


def test_the_same_person_answering_no_gets_a_new_unlinked_complaint(wecom, services):
    first, _ = file_complaint(wecom, "wang", "3号楼201的灯坏了")
    forget_recent(services, "wang")
    last(wecom, "wang", "3号楼201的灯又不亮了", "确认")
    ack = last(wecom, "wang", "不是，是另一回事")
    assert "已为您登记" in ack
    assert "另外已有" not in ack  # nobody else reported it
    older, newer = complaints_of(services, "wang")
    assert older.number == first and newer.number in ack
    assert newer.group_id is None
    assert (older.reporter_recent_count, newer.reporter_recent_count) == (0, 1)


def test_a_different_place_is_not_a_repeat(wecom, services):
    file_complaint(wecom, "wang", "3号楼201的灯坏了")
    ack = last(wecom, "wang", "5号楼101的灯坏了", "确认")
    assert "已为您登记" in ack and "是同一件事吗" not in ack
    assert len(complaints_of(services, "wang")) == 2


# -- the same thing, by other people -------------------------------------------------------------------
def test_other_peoples_reports_of_the_same_place_and_thing_are_linked(wecom, services):
    first, first_ack = file_complaint(wecom, "u1", "3号楼201的灯坏了")
    assert "另外已有" not in first_ack
    second, second_ack = file_complaint(wecom, "u2", "3号楼201灯不亮")
    assert "另外已有 1 位" in second_ack
    third, third_ack = file_complaint(wecom, "u3", "3号楼201的灯一直不亮")
    assert "另外已有 2 位" in third_ack
    one, two, three = complaints_of(services)
    assert one.group_id is None and two.group_id == one.id and three.group_id == one.id
    assert [e.data for e in events_of(services, second) if e.kind == "linked"] == [{"group": one.id}]
    # A different category at the same place is something else.
    _, other_ack = file_complaint(wecom, "u4", "3号楼201的墙皮脱落")
    assert "另外已有" not in other_ack


def test_a_repeat_of_my_own_does_not_count_me_twice_among_the_reporters(wecom, services):
    file_complaint(wecom, "u1", "3号楼201的灯坏了")
    file_complaint(wecom, "u2", "3号楼201灯不亮")
    forget_recent(services, "u1")
    last(wecom, "u1", "3号楼201的灯又坏了", "确认")
    ack = last(wecom, "u1", "不是")
    assert "另外已有 1 位" in ack  # u2 only: u1 is the one speaking
    _, third_ack = file_complaint(wecom, "u3", "3号楼201的灯一直不亮")
    assert "另外已有 2 位" in third_ack  # u1 and u2, however often u1 wrote


def test_an_emergency_reported_by_two_people_tells_the_second_that_it_is_known(wecom, services, worker,
                                                                            fake_wecom):
    first = last(wecom, "e1", "9号楼电梯里有人被困住了，快来人")
    second = last(wecom, "e2", "9号楼电梯有人被困住了")
    assert "已立即通知" in first and "已立即通知" in second
    one, two = complaints_of(services)
    assert two.group_id == one.id
    worker.run_once()
    assert len([t for t in sent_texts(fake_wecom, "wu.baoan") if "【紧急】" in t]) == 2
