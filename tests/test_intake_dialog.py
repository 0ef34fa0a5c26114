"""The intake dialog end to end: encrypted callbacks to the live app, with the
real Redis (dialog state) and database (complaints, outbox, message log)."""
from __future__ import annotations

import threading
import time

import pytest

from bot.models import InboundMessage
from tests.dialog_support import (CUSTOMER_SERVICE, SERVICE_PHONE, Image, age_dialog, attachments_of,
                                  complaints_of, dialog_of, events_of, last, new_sender, queued_texts,
                                  say, sent_texts, stack_factory)  # noqa: F401 (fixture)
from tests.helpers import NUMBER

ASK_DESCRIPTION, ASK_LOCATION, ASK_SINCE = "请说说遇到了什么问题", "具体在什么地方", "什么时候开始"
ASK_PHOTOS, ASK_PHONE, CONFIRM = "现场照片", "留个联系电话", "请您核对"
REGISTERED = "已为您登记"


def number_in(text: str) -> str:
    found = NUMBER.search(text)
    assert found, text
    return found.group()


# -- a whole dialog ---------------------------------------------------------------
def test_a_full_dialog_collects_every_slot_and_registers_with_photos(wecom, services, worker, fake_wecom):
    fake_wecom.add_media("P1", b"jpeg-one", filename="a.jpg", content_type="image/jpeg")
    fake_wecom.add_media("P2", b"jpeg-two", filename="b.jpg", content_type="image/jpeg")
    replies = say(wecom, "zhang", "空调坏了", "3号楼201", "昨天晚上", Image("P1"), Image("P2"), "好了",
                  "138 1234 5678")
    assert "收到" in replies[0] and ASK_LOCATION in replies[0]
    assert ASK_SINCE in replies[1] and ASK_PHOTOS in replies[2]
    assert "第 1 张" in replies[3] and "第 2 张" in replies[4]
    assert ASK_PHONE in replies[5]
    summary = replies[6]
    assert CONFIRM in summary
    for shown in ("空调坏了", "3号楼201", "昨天晚上", "2 张", "13812345678"):
        assert shown in summary
    assert complaints_of(services) == []  # nothing is registered before the confirmation

    ack = last(wecom, "zhang", "确认")
    assert REGISTERED in ack and "工程维修部" in ack and "处理完毕" in ack
    [complaint] = complaints_of(services, "zhang")
    assert complaint.number == number_in(ack)
    assert (complaint.description, complaint.location, complaint.since, complaint.contact_phone) == \
        ("空调坏了", "3号楼201", "昨天晚上", "13812345678")
    assert complaint.emergency is False and complaint.department == "工程维修部"
    assert dialog_of(services, "zhang") is None

    worker.run_once()
    attachments = attachments_of(services, complaint.number)
    assert [a.media_id for a in attachments] == ["P1", "P2"]
    assert all(a.status == "stored" for a in attachments)
    with open(attachments[1].path, "rb") as stored:
        assert stored.read() == b"jpeg-two"


def test_a_first_message_with_place_and_time_skips_those_questions(wecom, services):
    first = last(wecom, "li", "3号楼201的暖气不热，昨天开始的")
    assert ASK_PHOTOS in first
    assert ASK_LOCATION not in first and ASK_SINCE not in first
    summary = last(wecom, "li", "跳过", "跳过")
    assert "地点：3号楼201" in summary and "开始时间：昨天" in summary


def test_a_first_message_with_only_the_place_asks_what_happened_and_not_where(wecom, services):
    reply = last(wecom, "li", "3号楼201")
    assert ASK_DESCRIPTION in reply and ASK_LOCATION not in reply
    after = last(wecom, "li", "灯一闪一闪的")
    assert ASK_SINCE in after  # the place is known already
    assert dialog_of(services, "li").slots["location"] == "3号楼201"


def test_a_greeting_is_welcomed_and_starts_nothing(wecom, services):
    reply = last(wecom, "hello", "您好！")
    assert "后勤投诉助手" in reply and "010-99998888" in reply
    assert dialog_of(services, "hello") is None


# -- wrong answers ----------------------------------------------------------------
def test_a_wrong_answer_is_asked_again_with_the_reason(wecom):
    say(wecom, "wang", "空调坏了")
    again = last(wecom, "wang", "x")
    assert "没能看懂" in again and ASK_LOCATION in again
    say(wecom, "wang", "3号楼201", "跳过", "跳过")
    wrong_phone = last(wecom, "wang", "12345")
    assert "号码格式好像不对" in wrong_phone and ASK_PHONE in wrong_phone


def test_after_three_wrong_answers_in_a_row_a_person_is_offered(wecom, services):
    say(wecom, "wang", "3号楼201的灯坏了三天了", "跳过")
    first, second, third = say(wecom, "wang", "12345", "abc", "1381234567")
    assert SERVICE_PHONE not in first and SERVICE_PHONE not in second
    assert "人工" in third and SERVICE_PHONE in third and ASK_PHONE in third
    assert CONFIRM in last(wecom, "wang", "+86 138-1234-5678")
    assert dialog_of(services, "wang").slots["phone"] == "13812345678"


def test_the_failure_count_starts_again_after_a_good_answer(wecom):
    say(wecom, "wang", "空调坏了", "x", "?")
    say(wecom, "wang", "3号楼201")  # a good answer
    reply = last(wecom, "wang", "啊" * 31)  # the since step's first wrong answer
    assert "时间简单说一下" in reply and SERVICE_PHONE not in reply


@pytest.mark.parametrize("typed, stored", [("010-12345678", "010-12345678"), ("１３９ ００００ １１１１", "13900001111")])
def test_phone_numbers_are_stored_normalised(wecom, services, typed, stored):
    say(wecom, "zhao", "3号楼201的灯坏了三天了", "跳过", typed)
    ack = last(wecom, "zhao", "确认")
    assert complaints_of(services, "zhao")[0].contact_phone == stored, ack


def test_an_unclear_confirmation_shows_the_summary_again(wecom, services):
    say(wecom, "qian", "3号楼201的灯坏了三天了", "跳过", "跳过")
    reply = last(wecom, "qian", "嗯哼哼")
    assert "确认" in reply and CONFIRM in reply
    assert complaints_of(services) == []


# -- editing from the confirmation --------------------------------------------------
def test_edit_from_the_confirmation_changes_one_item_and_returns_to_the_summary(wecom, services):
    say(wecom, "sun", "3号楼201的灯坏了三天了", "跳过", "13812345678")
    assert "要修改哪一项" in last(wecom, "sun", "修改")
    assert "1 到 5" in last(wecom, "sun", "9")
    assert ASK_LOCATION in last(wecom, "sun", "2")
    summary = last(wecom, "sun", "5号楼101")
    assert CONFIRM in summary and "地点：5号楼101" in summary and "13812345678" in summary
    assert "留个联系电话" in last(wecom, "sun", "修改", "联系电话")
    summary = last(wecom, "sun", "010-12345678")
    assert CONFIRM in summary and "010-12345678" in summary and "5号楼101" in summary
    last(wecom, "sun", "确认")
    [complaint] = complaints_of(services, "sun")
    assert (complaint.location, complaint.contact_phone, complaint.since) == ("5号楼101", "010-12345678", "三天了")


# -- every command at every step ------------------------------------------------------
def reach_repeat_check(wecom, user):
    say(wecom, user, "3号楼201空调坏了三天了", "跳过", "跳过", "确认")
    return ["3号楼201空调又坏了三天了", "跳过", "跳过", "确认"]


# step: (how to get there, the step before it for 上一步, words of its question)
STEPS = {
    "description": ([Image("PX")], None, ASK_DESCRIPTION),
    "location": ([Image("PX"), "空调坏了"], "description", ASK_LOCATION),
    "since": (["空调坏了", "3号楼201"], "location", ASK_SINCE),
    "photos": (["3号楼201空调坏了", "昨天"], "since", ASK_PHOTOS),
    "phone": (["3号楼201空调坏了三天了", "跳过"], "photos", ASK_PHONE),
    "confirm": (["3号楼201空调坏了三天了", "跳过", "13812345678"], "phone", CONFIRM),
    "edit_choice": (["3号楼201空调坏了三天了", "跳过", "13812345678", "修改"], "phone", "要修改哪一项"),
    "repeat_check": (reach_repeat_check, "phone", "是同一件事吗"),
    "emergency_check": (["3号楼201的插座担心会漏电"], None, "是不是正在发生"),
    "emergency_location": (["有人被困在电梯里了"], None, ASK_LOCATION),
    "resume": (["空调坏了", "3号楼201", "在吗"], "location", "还没提交的投诉"),
}
SLOT_OF = {"description": "description", "location": "location", "since": "since", "photos": "photos_done",
           "phone": "phone"}


def go_to(wecom, services, step: str, user: str):
    how, _, _ = STEPS[step]
    turns = how(wecom, user) if callable(how) else list(how)
    if step == "resume":  # the last words come after a long pause
        say(wecom, user, *turns[:-1])
        age_dialog(services, user, 3600)
        turns = turns[-1:]
    say(wecom, user, *turns)
    assert dialog_of(services, user).step == step


@pytest.mark.parametrize("step", list(STEPS))
def test_every_command_works_at_every_step(wecom, services, step):
    _, previous, question = STEPS[step]

    # 帮助: the help, then the same question again; nothing changes.
    go_to(wecom, services, step, f"{step}-help")
    reply = last(wecom, f"{step}-help", "帮助")
    assert "随时可以回复" in reply and question in reply
    assert dialog_of(services, f"{step}-help").step == step

    # 人工: the service phone, a note for customer service, the same question again.
    user = f"{step}-human"
    go_to(wecom, services, step, user)
    reply = last(wecom, user, "人工")
    assert SERVICE_PHONE in reply and question in reply
    assert any(user in note for note in queued_texts(services, CUSTOMER_SERVICE))
    assert dialog_of(services, user).step == step

    # 取消: the dialog is gone and nothing new is registered.
    user = f"{step}-cancel"
    go_to(wecom, services, step, user)
    registered = len(complaints_of(services, user))
    reply = last(wecom, user, "取消")
    assert ("紧急情况已经通知" if step == "emergency_location" else "已取消") in reply
    assert dialog_of(services, user) is None
    assert len(complaints_of(services, user)) == registered

    # 重来: an empty dialog at its first question.
    user = f"{step}-restart"
    go_to(wecom, services, step, user)
    reply = last(wecom, user, "重来")
    assert "重新开始" in reply and "遇到了什么问题" in reply
    state = dialog_of(services, user)
    assert (state.step, state.slots, state.history) == ("description", {"photos": []}, [])

    # 上一步: the step before, its answer cleared; or "already the first step".
    user = f"{step}-back"
    go_to(wecom, services, step, user)
    reply = last(wecom, user, "上一步")
    state = dialog_of(services, user)
    if previous is None:
        assert "已经是第一步了" in reply and question in reply
        assert state.step == step
    else:
        assert STEPS[previous][2] in reply
        assert state.step == previous
        assert SLOT_OF[previous] not in state.slots  # answered again from scratch


def test_human_pushes_a_note_to_customer_service_through_the_outbox(wecom, services, worker, fake_wecom):
    say(wecom, "zhou", "空调坏了")
    reply = last(wecom, "zhou", "转人工")
    assert SERVICE_PHONE in reply and ASK_LOCATION in reply
    assert sent_texts(fake_wecom, CUSTOMER_SERVICE) == []  # queued, not sent inline
    worker.run_once()
    [note] = sent_texts(fake_wecom, CUSTOMER_SERVICE)
    assert "zhou" in note and "空调坏了" in note
    assert ASK_SINCE in last(wecom, "zhou", "3号楼201")  # and the dialog goes on


def test_human_as_the_very_first_message_is_not_taken_for_a_complaint(wecom, services, worker, fake_wecom):
    reply = last(wecom, "wu", "人工")
    assert SERVICE_PHONE in reply and "我来帮您登记" not in reply
    worker.run_once()
    assert any("wu" in note for note in sent_texts(fake_wecom, CUSTOMER_SERVICE))
    assert not dialog_of(services, "wu").slots.get("description")
    assert ASK_LOCATION in last(wecom, "wu", "空调坏了")


@pytest.mark.parametrize("command", ["取消", "帮助", "上一步", "重来"])
def test_a_command_without_an_open_dialog_never_becomes_a_complaint(wecom, services, command):
    reply = last(wecom, "zheng", command)
    assert "我来帮您登记" not in reply and ASK_LOCATION not in reply
    state = dialog_of(services, "zheng")
    assert state is None or not state.slots.get("description")
    if command == "取消":
        assert "没有正在登记" in reply and state is None


# -- idle dialogs --------------------------------------------------------------------------
@pytest.fixture
def idle_stack(stack_factory):
    """The same app, but a dialog goes idle after 0.06 s."""
    return stack_factory(**{"dialog.idle_minutes": 0.001})


def pause() -> None:
    time.sleep(0.2)  # longer than the idle stack's idle time


def test_an_idle_dialog_asks_whether_to_continue_and_continue_resumes_the_same_step(idle_stack, wecom, services):
    sender = idle_stack.sender
    say(sender, "feng", "空调坏了")
    pause()
    asked = last(sender, "feng", "3号楼201")
    assert "还没提交的投诉" in asked and "空调坏了" in asked and "继续" in asked
    assert dialog_of(services, "feng").step == "resume"
    resumed = last(sender, "feng", "继续")
    assert "接着来" in resumed and ASK_LOCATION in resumed
    state = dialog_of(services, "feng")
    assert state.step == "location" and state.slots["description"] == "空调坏了"
    # The same dialog, answered through the app with the usual idle time:
    assert ASK_SINCE in last(wecom, "feng", "3号楼201")


def test_restart_after_an_idle_dialog_starts_afresh(idle_stack, services):
    sender = idle_stack.sender
    say(sender, "chen", "空调坏了", "3号楼201")  # may or may not have gone idle in between
    pause()
    assert "还没提交的投诉" in last(sender, "chen", "宿舍")
    reply = last(sender, "chen", "重新开始")
    assert "重新开始" in reply and "遇到了什么问题" in reply
    state = dialog_of(services, "chen")
    assert state.step == "description" and "description" not in state.slots and "location" not in state.slots


def test_no_after_an_idle_dialog_starts_a_new_one_from_the_words_that_woke_it(idle_stack, wecom, services):
    sender = idle_stack.sender
    say(sender, "chu", "空调坏了")
    pause()
    assert "还没提交的投诉" in last(sender, "chu", "食堂二楼水龙头漏水")
    assert "请回复“继续”或“重新开始”" in last(sender, "chu", "什么意思")
    reply = last(sender, "chu", "不用了")
    assert ASK_SINCE in reply
    state = dialog_of(services, "chu")
    assert state.slots["description"] == "食堂二楼水龙头漏水" and state.slots["location"] == "食堂二楼"


# -- a restart in the middle -----------------------------------------------------------------
def test_a_dialog_continues_where_it_stopped_after_the_app_restarts(stack_factory, fake_wecom):
    before = stack_factory()
    say(before.sender, "he", "空调坏了", "3号楼201", Image("R1"))
    before.stop()

    after = stack_factory()  # new services, same database and Redis prefix
    assert after.services is not before.services
    replies = say(after.sender, "he", "三天了", "好了", "跳过")
    assert "已收到 1 张照片" in replies[0]
    assert CONFIRM in replies[2] and "3号楼201" in replies[2]
    ack = last(after.sender, "he", "确认")
    [complaint] = complaints_of(after.services, "he")
    assert complaint.number == number_in(ack)
    assert (complaint.description, complaint.location, complaint.since) == ("空调坏了", "3号楼201", "三天了")
    assert [a.media_id for a in attachments_of(after.services, complaint.number)] == ["R1"]


# -- one user, two messages at once; WeCom retries -----------------------------------------------
def send_together(wecom, user, *turns):
    barrier = threading.Barrier(len(turns))
    replies = [None] * len(turns)

    def run(index, turn):
        sender = new_sender(wecom)
        barrier.wait()
        replies[index] = (sender.image(user, turn.media_id) if isinstance(turn, Image)
                          else sender.text(user, turn))

    threads = [threading.Thread(target=run, args=(i, turn)) for i, turn in enumerate(turns)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return replies


def test_two_photos_at_the_same_moment_are_both_kept(wecom, services):
    say(wecom, "lu", "3号楼201空调坏了三天了")
    replies = send_together(wecom, "lu", Image("C1"), Image("C2"))
    assert [r.status_code for r in replies] == [200, 200]
    assert all("张照片" in r.text for r in replies)
    assert sorted(dialog_of(services, "lu").slots["photos"]) == ["C1", "C2"]


def test_two_answers_at_the_same_moment_are_both_answered_one_after_the_other(wecom, services):
    say(wecom, "lu", "空调坏了")
    replies = send_together(wecom, "lu", "3号楼201", "昨天")
    assert [r.status_code for r in replies] == [200, 200]
    texts = {r.text for r in replies}
    state = dialog_of(services, "lu")
    assert state.slots["location"] == "3号楼201"  # "昨天" is never taken for the place
    if state.step == "photos":  # the place arrived first, then the time
        assert any(ASK_SINCE in t for t in texts) and any(ASK_PHOTOS in t for t in texts)
        assert state.history == ["location", "since"] and state.slots["since"] == "昨天"
    else:  # the time arrived first: it was politely refused as a place, then the place was taken
        assert state.step == "since" and any("这像是时间" in t for t in texts)


def test_a_retried_answer_moves_the_dialog_only_once(wecom, services):
    say(wecom, "ma", "空调坏了")
    first = wecom.text("ma", "3号楼201", msg_id=880001)
    again = wecom.text("ma", "3号楼201", msg_id=880001)
    assert again.status_code == 200 and again.text == first.text and ASK_SINCE in first.text
    state = dialog_of(services, "ma")
    assert state.step == "since" and state.history == ["location"] and not state.slots.get("since")


def test_a_retried_photo_is_counted_once(wecom, services):
    say(wecom, "ma", "3号楼201空调坏了三天了")
    first = wecom.image("ma", "D1", msg_id=880002)
    again = wecom.image("ma", "D1", msg_id=880002)
    assert again.text == first.text
    assert dialog_of(services, "ma").slots["photos"] == ["D1"]


# -- photos and voice -------------------------------------------------------------------------
def test_photos_sent_before_and_during_the_dialog_are_all_registered(wecom, services, worker, fake_wecom):
    fake_wecom.add_media("E1", b"first", content_type="image/jpeg")
    first = last(wecom, "niu", Image("E1"))
    assert "照片收到了" in first and "什么问题" in first
    aside = last(wecom, "niu", "空调坏了", Image("E2"))
    assert "会一起登记" in aside and ASK_LOCATION in aside
    assert "已收到 2 张照片" in last(wecom, "niu", "3号楼201", "跳过")  # the photos step knows of both
    summary = last(wecom, "niu", "好了", "跳过")
    assert "照片：2 张" in summary
    ack = last(wecom, "niu", "确认")
    number = number_in(ack)
    worker.run_once()
    attachments = attachments_of(services, number)
    assert [a.media_id for a in attachments] == ["E1", "E2"]
    assert attachments[0].status == "stored"


def test_voice_with_recognition_answers_like_text(wecom, services):
    say(wecom, "yang", "空调坏了")
    reply = wecom.voice("yang", "V1", recognition="3号楼201")
    assert ASK_SINCE in reply.text
    assert dialog_of(services, "yang").slots["location"] == "3号楼201"


def test_voice_without_recognition_asks_to_type_and_keeps_the_step(wecom, services):
    say(wecom, "yang", "空调坏了")
    reply = wecom.voice("yang", "V2")
    assert "打字" in reply.text
    state = dialog_of(services, "yang")
    assert state.step == "location" and not state.slots.get("location")


# -- feelings, money, odd messages --------------------------------------------------------------
def test_an_angry_complaint_is_met_with_an_apology_and_never_told_to_calm_down(wecom, services):
    text = "你们这帮人太垃圾了，3号楼201空调坏了三天都没人管！！"
    assert services.classifier.classify(text).mood == "angry"
    replies = say(wecom, "gao", text, "跳过", "跳过", "确认")
    ack = replies[-1]
    assert REGISTERED in ack
    assert ack.startswith("再次向您致歉") and replies[0].startswith("非常抱歉")
    assert not any("冷静" in reply for reply in replies)
    assert complaints_of(services, "gao")[0].mood == "angry"


def test_a_compensation_demand_is_recorded_flagged_and_never_promised(wecom, services, worker, fake_wecom):
    ack = last(wecom, "lin", "3号楼201空调坏了三天了，必须赔偿我的损失", "跳过", "跳过", "确认")
    assert REGISTERED in ack and "赔偿诉求" in ack
    for promise in ("会赔偿", "一定赔", "保证赔", "给您赔"):
        assert promise not in ack
    [complaint] = complaints_of(services, "lin")
    assert complaint.wants_compensation is True
    assert "compensation_flagged" in [e.kind for e in events_of(services, complaint.number)]
    worker.run_once()
    assert any(complaint.number in text and "赔偿" in text for text in sent_texts(fake_wecom, "lin.lingdao"))


def test_a_twenty_thousand_character_first_message_is_answered_and_stored_whole(wecom, services):
    text = "3号楼201的空调坏了，" + "一直滴水吵得睡不着觉，" * 1999
    text = text[:20000]
    first = wecom.text("xu", text)
    assert first.status_code == 200 and first.text
    summary = last(wecom, "xu", "跳过", "跳过")
    assert CONFIRM in summary and len(summary.encode()) <= 2048
    assert queued_texts(services, "xu") == []  # the summary fits one reply
    last(wecom, "xu", "确认")
    [complaint] = complaints_of(services, "xu")
    assert complaint.description == text and complaint.location == "3号楼201"


def test_emoji_and_mixed_scripts_go_through_the_whole_dialog(wecom, services):
    text = "3号楼201 aircon 坏了😡😡"
    replies = say(wecom, "ding", text, "since Monday 周一 🙏", "跳过", "跳过")
    assert "aircon 坏了😡😡" in replies[-1] and "since Monday 周一 🙏" in replies[-1]
    last(wecom, "ding", "确认")
    [complaint] = complaints_of(services, "ding")
    assert complaint.description == text and complaint.location == "3号楼201"
    assert complaint.since == "since Monday 周一 🙏"
    with services.db.session() as session:
        assert session.query(InboundMessage).filter_by(content=text).count() == 1
