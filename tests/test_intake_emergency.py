"""Emergencies: registered and pushed at once, safety advice first; the
"maybe" cases asked about; denials left alone."""
from __future__ import annotations

import pytest

from tests.dialog_support import (DUTY, DUTY_PHONE, ENGINEERING_LEADER, SECURITY_LEADER, SUPERVISOR, Image,
                                  attachments_of, complaints_of, dialog_of, events_of, last, say, sent_texts)
from tests.helpers import NUMBER

ALERTED = (DUTY, SECURITY_LEADER, SUPERVISOR)


def alerts(fake_wecom, number: str) -> dict[str, list[str]]:
    return {person: [t for t in sent_texts(fake_wecom, person) if number in t]
            for person in (*ALERTED, ENGINEERING_LEADER)}


def test_an_emergency_with_a_place_is_registered_and_pushed_before_anything_is_asked(
        wecom, services, worker, fake_wecom):
    text = "9号楼电梯里有人被困住了，快来人"
    assert services.classifier.classify(text).emergency_state == "yes"
    reply = last(wecom, "ren", text)

    advice = services.texts("advice_elevator")
    assert reply.startswith(advice)  # what to do right now comes first
    assert DUTY_PHONE in reply
    assert "？" not in reply and "?" not in reply  # nothing is asked: the place is known
    [complaint] = complaints_of(services, "ren")
    assert complaint.number == NUMBER.search(reply).group()
    assert complaint.emergency is True and complaint.location == "9号楼电梯"  # kept whole: responders need the lift
    assert complaint.category == "突发事件" and complaint.department == "安全保卫部"
    assert dialog_of(services, "ren") is None

    worker.run_once()
    pushed = alerts(fake_wecom, complaint.number)
    for person in ALERTED:
        assert len(pushed[person]) == 1 and "【紧急】" in pushed[person][0] and "9号楼" in pushed[person][0]
    assert pushed[ENGINEERING_LEADER] == []  # the leader of another department is not woken

    # What comes next belongs to the emergency.
    assert complaint.number in last(wecom, "ren", Image("EM1"))
    assert [a.media_id for a in attachments_of(services, complaint.number)] == ["EM1"]
    assert len(complaints_of(services, "ren")) == 1


def test_an_emergency_without_a_place_asks_for_it_after_the_advice_and_updates_the_pushes(
        wecom, services, worker, fake_wecom):
    text = "有人被困在电梯里了"
    assert services.classifier.classify(text).location is None
    reply = last(wecom, "shi", text)
    advice = services.texts("advice_elevator")
    question = reply.index("请马上告诉我具体位置")
    assert reply.startswith(advice) and reply.index(DUTY_PHONE) < question
    [complaint] = complaints_of(services, "shi")
    assert complaint.emergency is True and complaint.location is None  # registered before the place is known
    worker.run_once()
    assert all(len(texts) == 1 and "位置待确认" in texts[0]
               for person, texts in alerts(fake_wecom, complaint.number).items() if person in ALERTED)

    detail = last(wecom, "shi", "人在里面喊，还能说话")  # every word meanwhile goes to the responders
    assert "已转给值班人员" in detail and "具体位置" in detail
    meanwhile = last(wecom, "shi", Image("EM2"))  # a photo meanwhile goes straight to the complaint
    assert "照片收到了" in meanwhile and "具体位置" in meanwhile
    sent = last(wecom, "shi", "5号楼")
    assert "5号楼" in sent and "已转给值班人员" in sent
    [complaint] = complaints_of(services, "shi")
    assert complaint.location == "5号楼"
    assert [e.comment for e in events_of(services, complaint.number) if e.kind == "location_added"] == ["5号楼"]
    assert [a.media_id for a in attachments_of(services, complaint.number)] == ["EM2"]

    worker.run_once()
    for person in ALERTED:
        updates = [t for t in sent_texts(fake_wecom, person) if "【紧急·补充】" in t]
        assert [u.split(" ", 1)[1] for u in updates] == ["人在里面喊，还能说话", "位置：5号楼"]
        assert all(complaint.number in u for u in updates)


def test_an_emergency_that_shows_only_in_the_description_answer_carries_the_photo_along(
        wecom, services, worker, fake_wecom):
    assert "什么问题" in last(wecom, "tan", Image("EM3"))
    reply = last(wecom, "tan", "5号楼302厨房着火了")
    assert reply.startswith(services.texts("advice_fire")) and DUTY_PHONE in reply
    [complaint] = complaints_of(services, "tan")
    assert complaint.emergency is True and complaint.location == "5号楼302厨房"
    assert [a.media_id for a in attachments_of(services, complaint.number)] == ["EM3"]
    worker.run_once()
    assert all(alerts(fake_wecom, complaint.number)[person] for person in ALERTED)


# -- maybe ----------------------------------------------------------------------------------
UNSURE = "3号楼201的插座担心会漏电"


def test_an_unsure_message_asks_whether_it_is_happening_now_and_yes_raises_the_alarm(
        wecom, services, worker, fake_wecom):
    assert services.classifier.classify(UNSURE).emergency_state == "unsure"
    asked = last(wecom, "kong", UNSURE)
    assert "是不是正在发生" in asked
    assert complaints_of(services) == []
    assert "回复“是”我立即通知" in last(wecom, "kong", "也许吧")
    reply = last(wecom, "kong", "是")
    assert reply.startswith(services.texts("advice_electric")) and DUTY_PHONE in reply
    [complaint] = complaints_of(services, "kong")
    assert complaint.emergency is True and complaint.location == "3号楼201"
    worker.run_once()
    # Duty, the leader of the department it went to, the supervisors.
    leader = {"工程维修部": ENGINEERING_LEADER, "安全保卫部": SECURITY_LEADER}[complaint.department]
    for person in (DUTY, leader, SUPERVISOR):
        assert any(complaint.number in t and "【紧急】" in t for t in sent_texts(fake_wecom, person))


def test_an_unsure_message_answered_no_becomes_an_ordinary_complaint(wecom, services, worker, fake_wecom):
    reply = last(wecom, "cao", UNSURE, "不是，现在没危险")
    assert "按一般问题" in reply and "请您核对" in reply
    ack = last(wecom, "cao", "确认")
    assert "已为您登记" in ack and DUTY_PHONE not in ack
    [complaint] = complaints_of(services, "cao")
    assert complaint.emergency is False
    worker.run_once()
    assert sent_texts(fake_wecom, DUTY) == []


def test_unsure_in_the_answer_to_the_description_question_is_asked_about_too(wecom, services):
    last(wecom, "pan", Image("UN1"))  # a photo first: the description comes as an answer
    assert "是不是正在发生" in last(wecom, "pan", UNSURE)
    reply = last(wecom, "pan", "不是")
    assert "按一般问题" in reply and "照片：1 张" in reply
    state = dialog_of(services, "pan")
    assert state.step == "confirm" and state.slots["photos"] == ["UN1"] and state.slots["description"] == UNSURE
    assert complaints_of(services) == []


# -- denials --------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["3号楼没有停电，但是楼道灯一直闪", "3号楼201没有漏水，但是墙皮掉了"])
def test_a_negated_emergency_word_raises_no_alarm(wecom, services, worker, fake_wecom, text):
    assert services.classifier.classify(text).emergency_state == "no"
    first = last(wecom, "yan", text)
    assert DUTY_PHONE not in first and "是不是正在发生" not in first and "值班" not in first
    assert complaints_of(services) == []
    if "请您核对" not in first:  # a building alone: which room, or the whole building
        assert "整栋楼" in first
        last(wecom, "yan", "整栋楼")
    last(wecom, "yan", "确认")
    [complaint] = complaints_of(services, "yan")
    assert complaint.emergency is False and complaint.category != "突发事件"
    worker.run_once()
    assert sent_texts(fake_wecom, DUTY) == [] and sent_texts(fake_wecom, SUPERVISOR) == []


def test_cancel_after_an_emergency_keeps_the_alarm(wecom, services):
    last(wecom, "qin", "有人被困在电梯里了")
    reply = last(wecom, "qin", "取消")
    assert "紧急情况已经通知了值班人员" in reply
    [complaint] = complaints_of(services, "qin")
    assert complaint.emergency is True and complaint.status == "pending"
