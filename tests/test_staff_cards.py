"""Task and approval cards as WeCom receives them: what a new complaint's
card shows and who gets it (emergencies, anonymous reporters, complaints
about staff attitude), what a click does to every copy, and what the
occupant is told along the way."""
from __future__ import annotations

import json

from bot import complaints as c
from tests.workflow_fixtures import (ADMIN, DUTY, ENGINEERING, HE, INVALID_REASONS, KEFU, LEAK, LI, NAMES,
                                     NEIGHBOUR, OCCUPANT, SERVICE, SERVICE_PHONE, SUPERVISOR, WANG, ZHANG,
                                     attachments_of, cards, click, complaint_of, deliver, events_of, facts,
                                     register, say, send_codes, settings, texts)

assert settings  # the module's directory (imported fixture)

STAFF = (LI, ZHANG, WANG, KEFU, HE, SUPERVISOR, ADMIN, DUTY)


def receivers(fake_wecom, number: str) -> set[str]:
    return {person for person in STAFF if cards(fake_wecom, person, number)}


def calm(text: str) -> bool:
    return "冷静" not in text and "！" not in text and "!" not in text


# -- the new complaint's card ---------------------------------------------------------------------
def test_a_new_complaint_reaches_its_department_as_a_task_card_with_the_facts(wecom, services, worker, fake_wecom):
    number, _ = register(wecom, fake_wecom, OCCUPANT, LEAK, photos=("P1", "P2"))
    deliver(services, worker)
    assert receivers(fake_wecom, number) == {LI, ZHANG}  # the members; the leader only when there are none
    [card] = cards(fake_wecom, LI, number)
    assert cards(fake_wecom, ZHANG, number) == [card]  # one card, one task id, a copy each
    assert card["card_type"] == "button_interaction"
    assert number in card["main_title"]["title"] and "【紧急】" not in card["main_title"]["title"]
    assert card["main_title"]["desc"] == f"房屋质量 · {ENGINEERING}"
    assert card["sub_title_text"] == LEAK
    shown = facts(card)
    assert shown["地点"] == "3号楼201卫生间" and shown["反映人数"] == "1 人" and shown["照片"] == "2 张"
    assert shown["投诉人"] == NAMES[OCCUPANT] and shown["近30天投诉"] == "0 次"
    assert "前受理" in shown["时限"] and "前完成" in shown["时限"]
    assert [(b["text"], b["key"]) for b in card["button_list"]] == [
        ("受理", f"accept:{number}"), ("不成立", f"invalid:{number}"), ("转派", f"transfer:{number}")]
    assert set(send_codes(fake_wecom, card["task_id"])) == {LI, ZHANG}  # interactive: each copy has a code

    # The same person again, elsewhere: the card says they complained before.
    second, _ = register(wecom, fake_wecom, OCCUPANT, "5号楼302的门锁坏了")
    # Someone else about the first place: the card counts two reporters.
    third, _ = register(wecom, fake_wecom, NEIGHBOUR, "3号楼201卫生间的水管一直在漏水")
    deliver(services, worker)
    assert facts(cards(fake_wecom, LI, second)[0])["近30天投诉"] == "1 次"
    shown = facts(cards(fake_wecom, LI, third)[0])
    assert shown["反映人数"] == "2 人" and shown["照片"] == "无" and shown["近30天投诉"] == "0 次"


def test_an_emergency_card_is_marked_and_also_goes_to_the_people_on_duty(wecom, services, worker, fake_wecom):
    text = "3号楼的电梯里有人被困住了"
    assert services.classifier.classify(text).emergency_state == "yes"
    number, _ = register(wecom, fake_wecom, OCCUPANT, text)
    assert complaint_of(services, number).emergency
    deliver(services, worker)
    assert receivers(fake_wecom, number) == {LI, ZHANG, DUTY}
    [card] = cards(fake_wecom, DUTY, number)
    assert card["main_title"]["title"] == f"【紧急】新投诉 {number}"
    assert card == cards(fake_wecom, LI, number)[0]


def test_an_ordinary_card_does_not_go_to_the_people_on_duty(wecom, services, worker, fake_wecom):
    number, _ = register(wecom, fake_wecom, OCCUPANT, LEAK)
    deliver(services, worker)
    assert DUTY not in receivers(fake_wecom, number)


def test_an_anonymous_complaint_shows_no_name_or_phone_on_the_card_or_in_the_details(
        wecom, services, worker, fake_wecom):
    number, ack = register(wecom, fake_wecom, OCCUPANT, LEAK, confirm="匿名提交", phone="13812345678")
    assert services.texts("ack_anonymous") in ack
    complaint = complaint_of(services, number)
    assert complaint.anonymous and complaint.contact_phone == "13812345678"  # kept, not shown
    deliver(services, worker)
    [card] = cards(fake_wecom, LI, number)
    assert facts(card)["投诉人"] == "匿名"
    everything = json.dumps(card, ensure_ascii=False)
    assert NAMES[OCCUPANT] not in everything and OCCUPANT not in everything and "13812345678" not in everything

    detail = say(wecom, LI, f"详情 {number}")
    assert "投诉人：匿名，电话：（匿名）" in detail
    assert NAMES[OCCUPANT] not in detail and OCCUPANT not in detail and "13812345678" not in detail
    assert "投诉人 登记投诉" in detail  # the history names no one either


def test_a_named_complaint_shows_the_reporter_and_phone_in_the_details(wecom, services, worker, fake_wecom):
    number, _ = register(wecom, fake_wecom, OCCUPANT, LEAK, phone="13812345678")
    detail = say(wecom, LI, f"详情 {number}")
    assert f"投诉人：{NAMES[OCCUPANT]}，电话：13812345678" in detail
    assert f"{NAMES[OCCUPANT]} 登记投诉" in detail


# -- who gets the card: routing rules and complaints about staff -------------------------------------
def test_an_attitude_complaint_about_repairmen_never_reaches_them_but_their_leader(
        wecom, services, worker, fake_wecom):
    text = "维修工态度很差，说话很难听"
    assert services.classifier.classify(text).subcategory == "服务态度"
    number, _ = register(wecom, fake_wecom, OCCUPANT, text)
    complaint = complaint_of(services, number)
    assert (complaint.department, complaint.about_department) == (SERVICE, ENGINEERING)
    deliver(services, worker)
    assert receivers(fake_wecom, number) == {KEFU, WANG}
    for person in (LI, ZHANG):
        assert not any(number in t for t in texts(fake_wecom, person))
        assert number not in say(wecom, person, "待办")
    assert "不能处理" in say(wecom, LI, f"受理 {number}")
    assert complaint_of(services, number).status == c.PENDING


def test_an_attitude_complaint_about_the_front_desk_goes_to_its_leader_only(wecom, services, worker, fake_wecom):
    text = "前台态度很差，说话很难听"
    assert services.classifier.classify(text).subcategory == "服务态度"
    number, _ = register(wecom, fake_wecom, OCCUPANT, text)
    complaint = complaint_of(services, number)
    assert (complaint.department, complaint.about_department) == (SERVICE, SERVICE)
    deliver(services, worker)
    assert receivers(fake_wecom, number) == {HE}
    assert not any(number in t for t in texts(fake_wecom, KEFU))


def test_a_place_rule_sends_a_complaint_to_the_department_of_that_place(wecom, services, worker, fake_wecom):
    number, _ = register(wecom, fake_wecom, OCCUPANT, "9号楼103的墙裂了一道大缝")
    complaint = complaint_of(services, number)
    assert (complaint.category, complaint.department) == ("房屋质量", SERVICE)
    deliver(services, worker)
    assert receivers(fake_wecom, number) == {KEFU}


# -- clicking 受理 -----------------------------------------------------------------------------------
def test_accept_on_the_card_updates_every_copy_and_tells_the_occupant(wecom, services, worker, fake_wecom):
    number, _ = register(wecom, fake_wecom, OCCUPANT, LEAK)
    deliver(services, worker)
    [card] = cards(fake_wecom, LI, number)
    codes = send_codes(fake_wecom, card["task_id"])

    clicked = click(wecom, fake_wecom, LI, number, "accept")
    complaint = complaint_of(services, number)
    assert (complaint.status, complaint.assignee) == (c.ACCEPTED, LI)
    deliver(services, worker)
    label = f"已由 {NAMES[LI]} 受理"
    assert sorted(fake_wecom.card_updates(), key=lambda u: u["userids"]) == [
        {"userids": [LI], "response_code": clicked, "button": {"replace_name": label}, "agentid": fake_wecom.agent_id},
        {"userids": [ZHANG], "response_code": codes[ZHANG], "button": {"replace_name": label},
         "agentid": fake_wecom.agent_id}]
    assert texts(fake_wecom, LI, number) == [services.texts("staff_done_accept", number=number, status="已受理")]
    [told] = texts(fake_wecom, OCCUPANT, number)
    assert told == services.texts("occupant_accepted", number=number, department=ENGINEERING) and calm(told)

    # A colleague clicks the same button a moment later.
    click(wecom, fake_wecom, ZHANG, number, "accept")
    deliver(services, worker)
    [refused] = texts(fake_wecom, ZHANG, number)
    assert refused.endswith("现在不能受理。") and NAMES[LI] in refused
    assert complaint_of(services, number).assignee == LI
    assert len(events_of(services, number, "accept")) == 1
    assert len(fake_wecom.card_updates()) == 2  # nothing more to update


def test_the_same_click_retried_by_wecom_changes_nothing_the_second_time(wecom, services, worker, fake_wecom):
    number, _ = register(wecom, fake_wecom, OCCUPANT, LEAK)
    deliver(services, worker)
    moment = 1_790_000_000
    code = click(wecom, fake_wecom, LI, number, "accept", create_time=moment)
    click(wecom, fake_wecom, LI, number, "accept", create_time=moment, response_code=code)  # WeCom's retry
    deliver(services, worker)
    assert len(events_of(services, number, "accept")) == 1
    assert len(fake_wecom.card_updates()) == 2
    assert len(texts(fake_wecom, LI, number)) == 1 and len(texts(fake_wecom, OCCUPANT, number)) == 1

    # A new click (another moment) is a new request: refused, since it is taken.
    click(wecom, fake_wecom, LI, number, "accept", create_time=moment + 5)
    deliver(services, worker)
    assert texts(fake_wecom, LI, number)[-1].endswith("现在不能受理。")


def test_accepting_before_the_cards_went_out_means_they_are_not_sent_at_all(wecom, services, worker, fake_wecom):
    number, _ = register(wecom, fake_wecom, OCCUPANT, LEAK)
    assert "已受理" in say(wecom, ZHANG, f"受理 {number}")  # the worker has not run yet
    deliver(services, worker)
    assert receivers(fake_wecom, number) == set() and fake_wecom.card_updates() == []
    assert len(texts(fake_wecom, OCCUPANT, number)) == 1


# -- buttons that need words --------------------------------------------------------------------------
def test_invalid_and_transfer_buttons_ask_for_the_words_and_change_nothing(wecom, services, worker, fake_wecom):
    number, _ = register(wecom, fake_wecom, OCCUPANT, LEAK)
    deliver(services, worker)
    click(wecom, fake_wecom, LI, number, "invalid")
    click(wecom, fake_wecom, ZHANG, number, "transfer")
    deliver(services, worker)
    [ask_invalid] = texts(fake_wecom, LI, number)
    assert f"不成立 {number} 理由" in ask_invalid
    assert all(f"{i}. {reason}" in ask_invalid for i, reason in enumerate(INVALID_REASONS, 1))
    [ask_transfer] = texts(fake_wecom, ZHANG, number)
    assert f"转派 {number} 部门 理由" in ask_transfer and ask_transfer.endswith(f"可选部门：{SERVICE}")
    assert complaint_of(services, number).status == c.PENDING
    assert fake_wecom.card_updates() == []  # the cards stay open

    say(wecom, LI, f"不成立 {number} 1")
    deliver(services, worker)
    labels = {u["userids"][0]: u["button"]["replace_name"] for u in fake_wecom.card_updates()}
    assert labels == {LI: f"{NAMES[LI]} 判定不成立", ZHANG: f"{NAMES[LI]} 判定不成立"}
    [told] = texts(fake_wecom, OCCUPANT, number)
    assert INVALID_REASONS[0] in told and SERVICE_PHONE in told and calm(told)


def test_a_button_is_refused_when_the_complaint_has_moved_on(wecom, services, worker, fake_wecom):
    number, _ = register(wecom, fake_wecom, OCCUPANT, LEAK)
    deliver(services, worker)
    say(wecom, LI, f"受理 {number}")
    say(wecom, LI, f"原因 {number} 接口老化")
    click(wecom, fake_wecom, ZHANG, number, "transfer")  # a stale copy of the card
    deliver(services, worker)
    [refused] = texts(fake_wecom, ZHANG, number)
    assert "原因已分析" in refused and "现在不能转派" in refused


# -- the plan, its approval and the completion -----------------------------------------------------
def test_plan_approval_rejection_and_completion_through_cards_and_commands(wecom, services, worker, fake_wecom):
    number, _ = register(wecom, fake_wecom, OCCUPANT, LEAK)
    say(wecom, LI, f"受理 {number}")
    say(wecom, LI, f"原因 {number} 接口老化松动")
    assert say(wecom, LI, f"方案 {number} 更换接口") == services.texts("staff_done_solution", number=number,
                                                                     status="方案待批")
    deliver(services, worker)
    assert {p for p in STAFF if cards(fake_wecom, p, number, "plan")} == {SUPERVISOR}
    [plan] = cards(fake_wecom, SUPERVISOR, number, "plan")
    assert plan["card_type"] == "button_interaction"
    assert plan["main_title"] == {"title": f"方案待批 {number}", "desc": f"{ENGINEERING} · {NAMES[LI]} 提交"}
    assert plan["sub_title_text"] == "方案：更换接口" and facts(plan)["原因"] == "接口老化松动"
    assert [b["key"] for b in plan["button_list"]] == [f"approve:{number}", f"reject:{number}"]

    # 驳回 on the card asks for the reason; the reason comes as a command.
    click(wecom, fake_wecom, SUPERVISOR, number, "reject", kind="plan")
    deliver(services, worker)
    assert texts(fake_wecom, SUPERVISOR, number)[-1] == services.texts("staff_ask_reject", number=number)
    assert complaint_of(services, number).status == c.SOLUTION_PENDING
    say(wecom, SUPERVISOR, f"驳回 {number} 请同时检查楼下的天花板")
    assert complaint_of(services, number).status == c.SOLUTION_REJECTED
    deliver(services, worker)
    rejected = services.texts("staff_plan_rejected", number=number, by=NAMES[SUPERVISOR], comment="请同时检查楼下的天花板")
    assert texts(fake_wecom, LI, number)[-1] == rejected and texts(fake_wecom, WANG, number) == [rejected]
    plan_code = send_codes(fake_wecom, plan["task_id"])[SUPERVISOR]
    assert fake_wecom.card_updates() == [{"userids": [SUPERVISOR], "response_code": plan_code,
                                         "button": {"replace_name": f"已由 {NAMES[SUPERVISOR]} 驳回"},
                                         "agentid": fake_wecom.agent_id}]
    assert len(texts(fake_wecom, OCCUPANT, number)) == 1  # only "accepted": internal steps stay internal

    # A new plan: a new card; 同意 on it.
    say(wecom, LI, f"方案 {number} 更换接口并检查楼下天花板")
    deliver(services, worker)
    first, second = cards(fake_wecom, SUPERVISOR, number, "plan")
    assert first["task_id"] != second["task_id"] and second["sub_title_text"] == "方案：更换接口并检查楼下天花板"
    clicked = click(wecom, fake_wecom, SUPERVISOR, number, "approve", kind="plan")
    assert complaint_of(services, number).status == c.IN_PROGRESS
    deliver(services, worker)
    assert fake_wecom.card_updates()[1:] == [{"userids": [SUPERVISOR], "response_code": clicked,
                                             "button": {"replace_name": f"已由 {NAMES[SUPERVISOR]} 同意"},
                                             "agentid": fake_wecom.agent_id}]
    plan_told = texts(fake_wecom, OCCUPANT, number)[-1]
    assert plan_told.startswith(f"您的投诉 {number} 处理方案已确定：更换接口并检查楼下天花板") and calm(plan_told)
    assert "处理方案已由 林领导 同意" in texts(fake_wecom, LI, number)[-1]
    assert texts(fake_wecom, SUPERVISOR, number)[-1] == services.texts("staff_done_approve", number=number,
                                                                        status="处理中")

    # 完成 with words; the photo right after it is the completion photo.
    say(wecom, LI, f"完成 {number} 已更换接口，楼下天花板无渗水")
    fake_wecom.add_media("DONE1", b"\xff\xd8\xff\xe0done", filename="done.jpg")
    assert wecom.image(LI, "DONE1").text == services.texts("staff_photo_added", number=number)
    complaint = complaint_of(services, number)
    assert (complaint.status, complaint.resolution) == (c.RESOLVED, "已更换接口，楼下天花板无渗水")
    assert [(a.media_id, a.kind) for a in attachments_of(services, number)] == [("DONE1", "image")]
    [photo_event] = events_of(services, number, "completion_photo")
    assert photo_event.actor == LI
    deliver(services, worker)
    assert [a.status for a in attachments_of(services, number)] == ["stored"]
    done_told = texts(fake_wecom, OCCUPANT, number)[-1]
    assert done_told.startswith(f"您的投诉 {number} 已处理完毕：已更换接口，楼下天花板无渗水") and calm(done_told)

    # A colleague's photo is not taken as one: it was not they who completed it.
    fake_wecom.add_media("OTHER", b"\xff\xd8\xff\xe0other", filename="other.jpg")
    assert wecom.image(ZHANG, "OTHER").text != services.texts("staff_photo_added", number=number)
    assert [a.media_id for a in attachments_of(services, number)] == ["DONE1"]


def test_what_the_occupant_is_told_is_calm_and_never_tells_them_to_calm_down(wecom, services, worker, fake_wecom):
    number, _ = register(wecom, fake_wecom, OCCUPANT, "3号楼201卫生间水管漏水，太过分了！")
    say(wecom, LI, f"受理 {number}")
    say(wecom, LI, f"方案 {number} 更换接口")
    say(wecom, SUPERVISOR, f"同意 {number}")
    say(wecom, LI, f"完成 {number} 已更换接口")
    deliver(services, worker)
    told = texts(fake_wecom, OCCUPANT, number)
    assert len(told) == 3  # accepted, the plan, done
    assert all(calm(t) for t in told)
