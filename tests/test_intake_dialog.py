"""The intake dialog end to end: encrypted callbacks to the live app, with the
real Redis (dialog state) and database (complaints, outbox, message log).

The dialog asks only for what and where; the summary offers the rest (photos,
start time, phone), and any detail can be given or changed at any point."""
from __future__ import annotations

import threading
import time

import pytest

from bot.models import InboundMessage
from tests.dialog_support import (CUSTOMER_SERVICE, SERVICE_PHONE, Image, age_dialog, attachments_of,
                                  complaints_of, dialog_of, events_of, forget_recent, last, new_sender, queued_texts,
                                  say, sent_texts, stack_factory)  # noqa: F401 (fixture)
from tests.helpers import NUMBER

ASK_DESCRIPTION, ASK_LOCATION, ASK_ROOM = "请说说遇到了什么问题", "具体在什么地方", "几号房间"
CONFIRM, NOT_UNDERSTOOD, WHAT_TO_CHANGE = "请您核对", "没太看明白", "请直接告诉我要改的地方"
REGISTERED = "已为您登记"


def number_in(text: str) -> str:
    found = NUMBER.search(text)
    assert found, text
    return found.group()


# -- a whole dialog ---------------------------------------------------------------
def test_what_and_where_reach_the_summary_and_the_offered_details_can_be_added_there(wecom, services, worker,
                                                                                      fake_wecom):
    fake_wecom.add_media("P1", b"jpeg-one", filename="a.jpg", content_type="image/jpeg")
    fake_wecom.add_media("P2", b"jpeg-two", filename="b.jpg", content_type="image/jpeg")
    asked, summary = say(wecom, "zhang", "空调坏了", "3号楼201")
    assert "收到" in asked and ASK_LOCATION in asked
    assert CONFIRM in summary and "可以直接发现场照片、开始时间、联系电话" in summary
    one, two, phone, since = say(wecom, "zhang", Image("P1"), Image("P2"), "138 1234 5678", "昨天晚上开始的")
    assert "共 1 张" in one and "共 2 张" in two and CONFIRM in two
    assert "13812345678" in phone and "可以直接发开始时间。" in phone
    for shown in ("空调坏了", "3号楼201", "昨天晚上", "2 张", "13812345678"):
        assert shown in since
    assert "可以直接发" not in since  # nothing left to offer
    assert complaints_of(services) == []  # nothing is registered before the confirmation

    ack = last(wecom, "zhang", "确认")
    assert REGISTERED in ack and "工程维修部" in ack and "处理完毕" in ack
    [complaint] = complaints_of(services, "zhang")
    assert complaint.number == number_in(ack)
    assert (complaint.description, complaint.location, complaint.contact_phone) == \
        ("空调坏了", "3号楼201", "13812345678")
    assert complaint.since.startswith("昨天晚上")
    assert complaint.emergency is False and complaint.department == "工程维修部"
    assert dialog_of(services, "zhang") is None

    worker.run_once()
    attachments = attachments_of(services, complaint.number)
    assert [a.media_id for a in attachments] == ["P1", "P2"]
    assert all(a.status == "stored" for a in attachments)
    with open(attachments[1].path, "rb") as stored:
        assert stored.read() == b"jpeg-two"


def test_a_first_message_with_what_where_and_when_goes_straight_to_the_summary(wecom, services):
    summary = last(wecom, "li", "3号楼201的暖气不热，昨天开始的")
    assert CONFIRM in summary and "地点：3号楼201" in summary and "开始时间：昨天" in summary
    assert ASK_LOCATION not in summary
    last(wecom, "li", "确认")
    assert len(complaints_of(services, "li")) == 1


def test_a_first_message_with_only_the_place_asks_what_happened_and_not_where(wecom, services):
    reply = last(wecom, "li", "3号楼201")
    assert ASK_DESCRIPTION in reply and ASK_LOCATION not in reply
    after = last(wecom, "li", "灯一闪一闪的")
    assert CONFIRM in after and "地点：3号楼201" in after  # the place is known already
    assert dialog_of(services, "li").slots["location"] == "3号楼201"


def test_a_building_without_a_room_is_asked_which_room_and_whole_building_answers_it(wecom, services):
    reply = last(wecom, "qi", "5号楼的暖气不热")
    assert ASK_ROOM in reply
    summary = last(wecom, "qi", "整栋楼都这样")
    assert CONFIRM in summary and "地点：5号楼" in summary


def test_a_greeting_is_welcomed_and_starts_nothing(wecom, services):
    reply = last(wecom, "hello", "您好！")
    assert "后勤投诉助手" in reply and "010-99998888" in reply
    assert dialog_of(services, "hello") is None


# -- what the bot cannot read -------------------------------------------------------
def test_words_the_bot_cannot_read_are_asked_again_and_never_stored(wecom, services):
    say(wecom, "wang", "空调坏了")
    again = last(wecom, "wang", "x")
    assert NOT_UNDERSTOOD in again and ASK_LOCATION in again
    slots = dialog_of(services, "wang").slots
    assert "location" not in slots and slots["description"] == "空调坏了"


def test_after_three_unreadable_answers_in_a_row_a_person_is_offered(wecom, services):
    say(wecom, "wang", "空调坏了")
    first, second, third = say(wecom, "wang", "x", "嗯哼哼", "啊")
    assert SERVICE_PHONE not in first and SERVICE_PHONE not in second
    assert "人工" in third and SERVICE_PHONE in third and ASK_LOCATION in third
    assert CONFIRM in last(wecom, "wang", "3号楼201")


def test_the_count_of_unreadable_answers_starts_again_after_a_good_answer(wecom):
    say(wecom, "wang", "3号楼201", "x", "嗯哼哼")
    say(wecom, "wang", "空调坏了")  # a good answer
    reply = last(wecom, "wang", "x")
    assert NOT_UNDERSTOOD in reply and SERVICE_PHONE not in reply


@pytest.mark.parametrize("typed, stored", [("010-12345678", "010-12345678"), ("１３９ ００００ １１１１", "13900001111"),
                                           ("我电话+86 138-1234-5678", "13812345678")])
def test_phone_numbers_are_stored_normalised(wecom, services, typed, stored):
    say(wecom, "zhao", "3号楼201的灯坏了三天了", typed)
    ack = last(wecom, "zhao", "确认")
    assert complaints_of(services, "zhao")[0].contact_phone == stored, ack


def test_an_unclear_confirmation_shows_the_summary_again(wecom, services):
    say(wecom, "qian", "3号楼201的灯坏了三天了")
    reply = last(wecom, "qian", "嗯哼哼")
    assert NOT_UNDERSTOOD in reply and CONFIRM in reply
    assert complaints_of(services) == []


# -- changing a detail ------------------------------------------------------------------
def test_a_correction_at_the_summary_changes_only_the_named_detail(wecom, services):
    say(wecom, "sun", "3号楼201的灯坏了三天了", "13812345678")
    assert WHAT_TO_CHANGE in last(wecom, "sun", "修改")
    summary = last(wecom, "sun", "地点改成5号楼101")
    assert "已改好，地点：5号楼101" in summary and CONFIRM in summary and "13812345678" in summary
    assert "请问新的联系电话" in last(wecom, "sun", "电话要改一下")
    summary = last(wecom, "sun", "010-12345678")
    assert CONFIRM in summary and "010-12345678" in summary and "5号楼101" in summary
    last(wecom, "sun", "确认")
    [complaint] = complaints_of(services, "sun")
    assert (complaint.location, complaint.contact_phone) == ("5号楼101", "010-12345678")
    assert complaint.since.startswith("三天了") and complaint.description == "3号楼201的灯坏了三天了"


# -- every command in every state ------------------------------------------------------
def reach_repeat_check(wecom, services, user):
    say(wecom, user, "3号楼201空调坏了三天了", "确认")
    forget_recent(services, user)  # later, no longer "just registered"
    return ["3号楼201空调又坏了", "确认"]


# state: (how to get there, words of its question)
STATES = {
    "collect": (["空调坏了"], ASK_LOCATION),
    "confirm": (["3号楼201空调坏了三天了"], CONFIRM),
    "two_things": (["3号楼201空调坏了，还有食堂的饭菜太咸了"], "分别登记"),
    "repeat_check": (reach_repeat_check, "是同一件事吗"),
    "emergency_check": (["3号楼201的插座担心会漏电"], "是不是正在发生"),
    "emergency_place": (["有人被困在电梯里了"], "具体位置"),
    "await_correction": (["3号楼201空调坏了", "地点要改一下"], "地点改成哪里"),
    "resume": (["空调坏了", "在吗"], "还没提交的投诉"),
}


def go_to(wecom, services, state: str, user: str):
    how, _ = STATES[state]
    turns = how(wecom, services, user) if callable(how) else list(how)
    if state == "resume":  # the last words come after a long pause
        say(wecom, user, *turns[:-1])
        age_dialog(services, user, 3600)
        turns = turns[-1:]
    say(wecom, user, *turns)
    assert dialog_of(services, user).step == state


@pytest.mark.parametrize("state", list(STATES))
def test_every_command_works_in_every_state(wecom, services, state):
    _, question = STATES[state]

    # 帮助: the help, then the same question again; nothing changes.
    go_to(wecom, services, state, f"{state}-help")
    reply = last(wecom, f"{state}-help", "帮助")
    assert "直接说问题和地点" in reply and question in reply
    assert dialog_of(services, f"{state}-help").step == state

    # 人工: the service phone, a note for customer service, the same question again.
    user = f"{state}-human"
    go_to(wecom, services, state, user)
    reply = last(wecom, user, "人工")
    assert SERVICE_PHONE in reply and question in reply
    assert any(user in note for note in queued_texts(services, CUSTOMER_SERVICE))
    assert dialog_of(services, user).step == state

    # 取消: the draft is gone and nothing new is registered.
    user = f"{state}-cancel"
    go_to(wecom, services, state, user)
    registered = len(complaints_of(services, user))
    reply = last(wecom, user, "算了，不弄了")
    assert ("紧急情况已经通知" if state == "emergency_place" else "已取消") in reply
    assert dialog_of(services, user) is None
    assert len(complaints_of(services, user)) == registered

    # 重来: no draft, and the next words start a new one.
    user = f"{state}-restart"
    go_to(wecom, services, state, user)
    reply = last(wecom, user, "重来")
    assert "重新开始" in reply and "遇到了什么问题" in reply
    assert dialog_of(services, user) is None

    # 上一步: there are no steps; the way to change a detail, and the same question.
    user = f"{state}-back"
    go_to(wecom, services, state, user)
    reply = last(wecom, user, "上一步")
    assert WHAT_TO_CHANGE in reply and question in reply
    assert dialog_of(services, user).step == state


def test_human_pushes_a_note_to_customer_service_through_the_outbox(wecom, services, worker, fake_wecom):
    say(wecom, "zhou", "空调坏了")
    reply = last(wecom, "zhou", "转人工")
    assert SERVICE_PHONE in reply and ASK_LOCATION in reply
    assert sent_texts(fake_wecom, CUSTOMER_SERVICE) == []  # queued, not sent inline
    worker.run_once()
    [note] = sent_texts(fake_wecom, CUSTOMER_SERVICE)
    assert "zhou" in note and "空调坏了" in note
    assert CONFIRM in last(wecom, "zhou", "3号楼201")  # and the dialog goes on


def test_human_as_the_very_first_message_is_not_taken_for_a_complaint(wecom, services, worker, fake_wecom):
    reply = last(wecom, "wu", "人工")
    assert SERVICE_PHONE in reply and "我来帮您登记" not in reply
    worker.run_once()
    assert any("wu" in note for note in sent_texts(fake_wecom, CUSTOMER_SERVICE))
    assert dialog_of(services, "wu") is None
    assert ASK_LOCATION in last(wecom, "wu", "空调坏了")


@pytest.mark.parametrize("command", ["取消", "帮助", "上一步", "重来", "继续", "修改"])
def test_a_command_without_an_open_dialog_never_becomes_a_complaint(wecom, services, command):
    reply = last(wecom, "zheng", command)
    assert "我来帮您登记" not in reply and ASK_LOCATION not in reply
    assert dialog_of(services, "zheng") is None
    if command == "取消":
        assert "没有正在登记" in reply


# -- idle dialogs --------------------------------------------------------------------------
@pytest.fixture
def idle_stack(stack_factory):
    """The same app, but a dialog goes idle after 0.06 s."""
    return stack_factory(**{"dialog.idle_minutes": 0.001})


def pause() -> None:
    time.sleep(0.2)  # longer than the idle stack's idle time


def test_an_idle_dialog_asks_whether_to_continue_and_continue_resumes_it(idle_stack, wecom, services):
    sender = idle_stack.sender
    say(sender, "feng", "空调坏了")
    pause()
    asked = last(sender, "feng", "3号楼201")
    assert "还没提交的投诉" in asked and "空调坏了" in asked and "继续" in asked
    assert dialog_of(services, "feng").step == "resume"
    resumed = last(sender, "feng", "继续")
    assert "接着来" in resumed and ASK_LOCATION in resumed
    state = dialog_of(services, "feng")
    assert state.step == "collect" and state.slots["description"] == "空调坏了"
    # The same dialog, answered through the app with the usual idle time:
    assert CONFIRM in last(wecom, "feng", "3号楼201")


def test_restart_after_an_idle_dialog_starts_afresh(idle_stack, services):
    sender = idle_stack.sender
    say(sender, "chen", "空调坏了")
    pause()
    assert "还没提交的投诉" in last(sender, "chen", "宿舍")
    reply = last(sender, "chen", "重新开始")
    assert "重新开始" in reply and "遇到了什么问题" in reply
    assert dialog_of(services, "chen") is None


def test_no_after_an_idle_dialog_starts_a_new_one_from_the_words_that_woke_it(idle_stack, wecom, services):
    sender = idle_stack.sender
    say(sender, "chu", "空调坏了")
    pause()
    assert "还没提交的投诉" in last(sender, "chu", "食堂二楼水龙头漏水")
    assert "回复“继续”接着登记" in last(sender, "chu", "什么意思")
    reply = last(sender, "chu", "不用了")
    assert CONFIRM in reply
    state = dialog_of(services, "chu")
    assert state.slots["description"] == "食堂二楼水龙头漏水" and state.slots["location"] == "食堂二楼"


# -- a restart in the middle -----------------------------------------------------------------
def test_a_dialog_continues_where_it_stopped_after_the_app_restarts(stack_factory, fake_wecom):
    before = stack_factory()
    say(before.sender, "he", "空调坏了", Image("R1"))
    before.stop()

    after = stack_factory()  # new services, same database and Redis prefix
    assert after.services is not before.services
    summary = last(after.sender, "he", "3号楼201，三天了")
    assert CONFIRM in summary and "照片：1 张" in summary and "3号楼201" in summary
    ack = last(after.sender, "he", "确认")
    [complaint] = complaints_of(after.services, "he")
    assert complaint.number == number_in(ack)
    assert (complaint.description, complaint.location) == ("空调坏了", "3号楼201")
    assert complaint.since.startswith("三天了")
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
    assert all("照片收到了" in r.text for r in replies)
    assert sorted(dialog_of(services, "lu").slots["photos"]) == ["C1", "C2"]


def test_two_answers_at_the_same_moment_are_both_taken_whatever_their_order(wecom, services):
    say(wecom, "lu", "空调坏了")
    replies = send_together(wecom, "lu", "3号楼201", "昨天开始的")
    assert [r.status_code for r in replies] == [200, 200]
    state = dialog_of(services, "lu")
    assert state.slots["location"] == "3号楼201"  # "昨天" is never taken for the place
    assert state.slots["since"].startswith("昨天") and state.step == "confirm"
    assert any(CONFIRM in r.text for r in replies)


def test_a_retried_answer_moves_the_dialog_only_once(wecom, services):
    say(wecom, "ma", "空调坏了")
    first = wecom.text("ma", "3号楼201", msg_id=880001)
    again = wecom.text("ma", "3号楼201", msg_id=880001)
    assert again.status_code == 200 and again.text == first.text and CONFIRM in first.text
    ack = wecom.text("ma", "确认", msg_id=880003)
    again = wecom.text("ma", "确认", msg_id=880003)
    assert REGISTERED in ack.text and again.text == ack.text
    assert len(complaints_of(services, "ma")) == 1


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
    assert "共 2 张" in aside and ASK_LOCATION in aside
    summary = last(wecom, "niu", "3号楼201")
    assert "照片：2 张" in summary and "可以直接发开始时间" in summary
    ack = last(wecom, "niu", "确认")
    number = number_in(ack)
    worker.run_once()
    attachments = attachments_of(services, number)
    assert [a.media_id for a in attachments] == ["E1", "E2"]
    assert attachments[0].status == "stored"


def test_voice_with_recognition_answers_like_text(wecom, services):
    say(wecom, "yang", "空调坏了")
    reply = wecom.voice("yang", "V1", recognition="3号楼201")
    assert CONFIRM in reply.text
    assert dialog_of(services, "yang").slots["location"] == "3号楼201"


def test_voice_without_recognition_asks_to_type_and_keeps_the_draft(wecom, services):
    say(wecom, "yang", "空调坏了")
    reply = wecom.voice("yang", "V2")
    assert "打字" in reply.text
    state = dialog_of(services, "yang")
    assert state.step == "collect" and not state.slots.get("location")


# -- feelings, money, odd messages --------------------------------------------------------------
def test_an_angry_complaint_is_met_with_an_apology_and_never_told_to_calm_down(wecom, services):
    text = "你们这帮人太垃圾了，3号楼201空调坏了三天都没人管！！"
    assert services.classifier.classify(text).mood == "angry"
    replies = say(wecom, "gao", text, "确认")
    ack = replies[-1]
    assert REGISTERED in ack
    assert ack.startswith("再次向您致歉") and replies[0].startswith("非常抱歉")
    assert not any("冷静" in reply for reply in replies)
    assert complaints_of(services, "gao")[0].mood == "angry"


def test_a_compensation_demand_is_recorded_flagged_and_never_promised(wecom, services, worker, fake_wecom):
    ack = last(wecom, "lin", "3号楼201空调坏了三天了，必须赔偿我的损失", "确认")
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
    summary = wecom.text("xu", text)
    assert summary.status_code == 200
    summary = summary.text
    assert CONFIRM in summary and len(summary.encode()) <= 2048
    assert queued_texts(services, "xu") == []  # the summary fits one reply
    last(wecom, "xu", "确认")
    [complaint] = complaints_of(services, "xu")
    assert complaint.description == text and complaint.location == "3号楼201"


def test_emoji_and_mixed_scripts_go_through_the_whole_dialog(wecom, services):
    text = "3号楼201 aircon 坏了😡😡"
    replies = say(wecom, "ding", text, "since Monday 周一 🙏")
    assert "aircon 坏了😡😡" in replies[-1] and "周一（" in replies[-1]
    last(wecom, "ding", "确认")
    [complaint] = complaints_of(services, "ding")
    assert complaint.description == text and complaint.location == "3号楼201"
    assert complaint.since.startswith("周一（")
    with services.db.session() as session:
        assert session.query(InboundMessage).filter_by(content=text).count() == 1


# -- the phone number offered -------------------------------------------------------------------
def test_the_directory_mobile_is_offered_once_looked_up_and_a_typed_number_wins(wecom, services, fake_wecom):
    fake_wecom.add_user("xie", "谢老师", [1], mobile="13700001111")
    assert "联系电话：未留" in last(wecom, "xie.before", "3号楼203空调坏了")  # no token at hand: no lookup
    services.wecom.access_token()  # the worker's pushes keep one at hand
    summary = last(wecom, "xie", "3号楼201空调坏了")
    assert "联系电话：13700001111（通讯录）" in summary
    changed = last(wecom, "xie", "电话改成13912345678")
    assert "联系电话：13912345678" in changed and "（通讯录）" not in changed
    last(wecom, "xie", "确认")
    assert complaints_of(services, "xie")[0].contact_phone == "13912345678"
    lookups = [c for c in fake_wecom.calls if c.path == "user/get"]
    assert len(lookups) == 1
    again = last(wecom, "xie", "5号楼101的灯坏了")  # next time: the number given last time
    assert "13912345678（上次留的）" in again
    assert len([c for c in fake_wecom.calls if c.path == "user/get"]) == 1


def test_without_a_mobile_in_the_directory_the_summary_offers_to_take_one(wecom, services, fake_wecom):
    fake_wecom.add_user("yan", "严老师", [1])  # a self-built app after June 2022 sees no mobile
    services.wecom.access_token()
    summary = last(wecom, "yan", "3号楼201空调坏了")
    assert "联系电话：未留" in summary and "联系电话。确认无误" in summary
    summary = last(wecom, "nobody.known", "3号楼202空调坏了")  # not a member the app may see
    assert "联系电话：未留" in summary


def test_an_emergency_is_raised_without_waiting_on_the_directory(wecom, services, fake_wecom):
    fake_wecom.add_user("lu.em", "陆老师", [1], mobile="13700002222")
    services.wecom.access_token()
    reply = last(wecom, "lu.em", "9号楼电梯里有人被困住了，快来人")
    assert "已立即通知值班人员" in reply
    assert [c for c in fake_wecom.calls if c.path == "user/get"] == []
