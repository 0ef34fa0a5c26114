"""The follow-up visit (回访): how free-text answers are read; then, on the real
database, Redis, the live app and the fake WeCom with the process's clock
frozen and moved by hand — the visit scheduled after completion (respecting
quiet hours), sent as a text and a button card, answered by a number, by
words or by a click; a "no" reopens the complaint; silence gets one reminder
and then the visit is closed as unanswered; a late answer is kept."""
from __future__ import annotations

import pytest

from bot import complaints as c
from bot.services import build_services
from bot.survey import read_answer
from tests.helpers import file_complaint
from tests.timeline_support import (HE, LI, NEIGHBOUR, OCCUPANT, SUPERVISOR, WANG, ZHANG, act, at, command,
                                    complaint_of, deadlines_of, deliver, events_of, frozen_clock, local, overrides,
                                    register, run_at, settings, surveys_of, texts, tick_concurrently, wecom)

assert settings and overrides and wecom  # this module's directory and sender (imported fixtures)
clock = frozen_clock("2026-11-25 09:00")

AIRCON = "3号楼201的空调不制冷"
QUESTION = "问题真的解决了吗"
DONE_AT, SEND_AT = "2026-11-25 09:30", "2026-11-25 11:30"  # completion + 2 working hours


# -- reading free-text answers --------------------------------------------------------------------------
@pytest.mark.parametrize("text, solved, score", [
    ("5", True, 5),
    ("5分", True, 5),
    ("５分", True, 5),  # a full-width digit
    (" 3 ", True, 3),
    ("满意", True, 4),
    ("非常满意", True, 5),
    ("还行", True, 3),
    ("一般", True, 3),
    ("不满意", False, 2),
    ("很不满意", False, 1),
    ("差评", False, 1),
    ("没修好", False, None),
    ("还是坏的", False, None),
    ("没解决 2分", False, None),
    ("空调修好了，谢谢师傅", True, 4),  # the longest phrase decides: 修好了
])
def test_read_answer(text, solved, score):
    answer = read_answer(text)
    assert answer is not None and (answer.solved, answer.score) == (solved, score)


@pytest.mark.parametrize("text", ["今天食堂几点开门", "asdf", "6", "0", "", "   ", "?" * 300])
def test_read_answer_ignores_what_is_not_an_answer(text):
    assert read_answer(text) is None


# -- helpers ----------------------------------------------------------------------------------------
@pytest.fixture
def other_services(settings, redis_client):
    """A second scheduler process on the same database and Redis prefix."""
    services = build_services(settings, redis_client)
    yield services
    services.close()


def handled(clock, services, done_at: str = DONE_AT) -> str:
    """A complaint taken through accept → plan → approval → completion."""
    number = register(services, OCCUPANT, AIRCON, "设备设施")
    act(services, number, "accept", ZHANG)
    act(services, number, "solution", ZHANG, "更换压缩机")
    act(services, number, "approve", SUPERVISOR)
    clock.to(done_at)
    act(services, number, "complete", ZHANG, "已更换压缩机，试机制冷正常")
    return number


def visited(clock, services, worker, fake_wecom, done_at: str = DONE_AT, send_at: str = SEND_AT) -> str:
    """Handled, and the visit's question delivered at its time."""
    number = handled(clock, services, done_at)
    run_at(clock, services, worker, send_at)
    assert len(questions(fake_wecom, number)) == 1 and len(survey_cards(fake_wecom, number)) == 1
    return number


def questions(fake_wecom, number: str) -> list[str]:
    return [t for t in texts(fake_wecom, OCCUPANT, number=number) if QUESTION in t]


def survey_cards(fake_wecom, number: str) -> list[dict]:
    return [body["template_card"] for body in fake_wecom.sent(msgtype="template_card", touser=OCCUPANT)
            if body["template_card"]["task_id"].startswith(f"{number}-survey-")]


def click(wecom, fake_wecom, number: str, choice: int) -> None:
    card = survey_cards(fake_wecom, number)[-1]
    key = f"survey:{number}:{choice}"
    assert key in [button["key"] for button in card["button_list"]]
    reply = wecom.event(OCCUPANT, "template_card_event", EventKey=key, TaskId=card["task_id"],
                        CardType="button_interaction", ResponseCode=fake_wecom.new_response_code())
    assert reply.status_code == 200 and reply.text is None  # the answer is pushed, not a passive reply


def status_of(services, number: str) -> str:
    return complaint_of(services, number).status


def pushed_reply(services, worker, fake_wecom, before: int) -> list[str]:
    """Texts the occupant was pushed since `before` of them had been."""
    deliver(services, worker)
    return texts(fake_wecom, OCCUPANT)[before:]


# -- the whole way through callbacks ---------------------------------------------------------------------
def test_complaint_handled_by_commands_is_visited_and_closed_by_a_score(clock, wecom, services, worker,
                                                                       fake_wecom):
    number, _ = file_complaint(wecom, OCCUPANT, AIRCON)
    clock.to("2026-11-25 09:10")
    assert command(wecom, LI, f"受理 {number}").startswith(f"已受理 {number}")
    assert command(wecom, LI, f"方案 {number} 更换压缩机").startswith(f"已提交 {number}")
    assert command(wecom, SUPERVISOR, f"同意 {number}").startswith(f"已同意 {number}")
    clock.to("2026-11-25 10:00")
    assert command(wecom, LI, f"完成 {number} 已更换压缩机，试机正常").startswith(f"{number} 已标记为处理完毕")
    [visit] = surveys_of(services, number)
    assert visit.status == "scheduled" and local(visit.send_at) == at("2026-11-25 12:00")  # 2 working hours
    assert deadlines_of(services, number)["follow_up"].status == "open"

    run_at(clock, services, worker, "2026-11-25 11:59")
    assert questions(fake_wecom, number) == [] and survey_cards(fake_wecom, number) == []
    run_at(clock, services, worker, "2026-11-25 12:00")
    run_at(clock, services, worker, "2026-11-25 12:05")  # ticking again sends nothing twice
    [question] = questions(fake_wecom, number)
    assert "空调不制冷" in question and "1-5" in question
    [card] = survey_cards(fake_wecom, number)
    assert [b["key"] for b in card["button_list"]] == [f"survey:{number}:{s}" for s in (5, 4, 3, 2, 1, 0)]
    assert [b["text"] for b in card["button_list"]][-1] == "还没解决"
    assert status_of(services, number) == c.FOLLOW_UP
    assert deadlines_of(services, number)["follow_up"].status == "met"

    clock.to("2026-11-25 14:00")
    reply = command(wecom, OCCUPANT, "5")
    assert reply == services.texts("survey_thanks", number=number)
    [visit] = surveys_of(services, number)
    assert (visit.status, visit.solved, visit.score) == ("answered", True, 5)
    complaint = complaint_of(services, number)
    assert complaint.status == c.CLOSED and local(complaint.closed_at) == at("2026-11-25 14:00")
    assert "已关闭" in command(wecom, OCCUPANT, f"进度 {number}")


# -- when the visit is sent ------------------------------------------------------------------------------
@pytest.mark.parametrize("overrides, send_at, ticks_before", [
    # office hours: two working hours after 21:30 is 10:30 the next morning
    ({}, "2026-11-26 10:30", ("2026-11-25 23:30", "2026-11-26 07:30", "2026-11-26 10:29")),
    # round-the-clock working time: 23:30 falls in the quiet hours, so 07:30
    ({"calendar.work_hours": ["00:00-24:00"]}, "2026-11-26 07:30",
     ("2026-11-25 23:30", "2026-11-26 03:00", "2026-11-26 07:29")),
    # a configured delay of one working day (7.5 h): the end of the next working day
    ({"survey.delay": "1d"}, "2026-11-26 17:30", ("2026-11-26 10:30", "2026-11-26 17:29")),
], ids=["office-hours", "quiet-hours", "delay-1d"])
def test_a_completion_at_21_30_is_visited_after_the_delay_outside_quiet_hours(
        clock, services, worker, fake_wecom, send_at, ticks_before):
    number = handled(clock, services, done_at="2026-11-25 21:30")
    assert local(surveys_of(services, number)[0].send_at) == at(send_at)
    for moment in ticks_before:
        run_at(clock, services, worker, moment)
    assert questions(fake_wecom, number) == [] and surveys_of(services, number)[0].status == "scheduled"
    run_at(clock, services, worker, send_at)
    assert len(questions(fake_wecom, number)) == 1 and len(survey_cards(fake_wecom, number)) == 1


# -- positive answers ------------------------------------------------------------------------------------
@pytest.mark.parametrize("answer, score", [("非常满意", 5), ("还行", 3), ("4分", 4), (4, 4), (3, 3)],
                         ids=["words-5", "words-3", "number-4", "click-4", "click-3"])
def test_a_positive_answer_closes_the_complaint_with_thanks(clock, wecom, services, worker, fake_wecom,
                                                          answer, score):
    number = visited(clock, services, worker, fake_wecom)
    clock.to("2026-11-25 15:00")
    before = len(texts(fake_wecom, OCCUPANT))
    thanks = services.texts("survey_thanks", number=number)
    if isinstance(answer, int):
        click(wecom, fake_wecom, number, answer)
        assert pushed_reply(services, worker, fake_wecom, before) == [thanks]
    else:
        assert command(wecom, OCCUPANT, answer) == thanks
    [visit] = surveys_of(services, number)
    assert (visit.status, visit.solved, visit.score) == ("answered", True, score)
    assert status_of(services, number) == c.CLOSED
    assert [e.kind for e in events_of(services, number, "closed")] == ["closed"]
    assert deadlines_of(services, number, "open") == {}


# -- negative answers -----------------------------------------------------------------------------------
def test_a_negative_answer_reopens_tells_the_department_and_restarts_the_clock(clock, wecom, services, worker,
                                                                              fake_wecom):
    number = visited(clock, services, worker, fake_wecom)
    clock.to("2026-11-25 15:00")
    comment = "很不满意，空调开了半小时还是吹热风"
    reply = command(wecom, OCCUPANT, comment)
    assert reply == services.texts("survey_reopened", number=number)  # long enough: no question for details
    [visit] = surveys_of(services, number)
    assert (visit.status, visit.solved, visit.score, visit.comment) == ("answered", False, 1, comment)
    assert status_of(services, number) == c.REOPENED
    [reopened] = events_of(services, number, "reopened")
    assert reopened.actor == OCCUPANT and reopened.comment == comment

    deliver(services, worker)
    for person in (ZHANG, WANG, LI):  # the assignee, the leader and the department
        [told] = texts(fake_wecom, person, "【重新打开】", number)
        assert comment in told
    assert texts(fake_wecom, HE, number=number) == []  # another department's leader is not

    fresh = deadlines_of(services, number, "open")
    assert set(fresh) == {"accept", "solution", "complete"}
    assert all(local(d.started_at) == at("2026-11-25 15:00") for d in fresh.values())
    assert local(fresh["accept"].due_at) == at("2026-11-25 17:00")
    # The complaint is worked on again from the start.
    assert command(wecom, ZHANG, f"受理 {number}").startswith(f"已受理 {number}")


def test_a_short_negative_asks_for_details_and_forwards_them(clock, wecom, services, worker, fake_wecom):
    number = visited(clock, services, worker, fake_wecom)
    clock.to("2026-11-25 15:00")
    reply = command(wecom, OCCUPANT, "没修好")
    assert reply.startswith(services.texts("survey_reopened", number=number).rstrip())
    assert services.texts("survey_ask_detail").strip() in reply
    assert status_of(services, number) == c.REOPENED

    detail = "空调开了半小时还是吹热风，外机也没有转"
    assert command(wecom, OCCUPANT, detail) == services.texts("survey_comment_thanks", number=number)
    deliver(services, worker)
    for person in (ZHANG, WANG):
        [forwarded] = texts(fake_wecom, person, "【回访补充】", number)
        assert detail in forwarded
    assert surveys_of(services, number)[0].comment == f"没修好\n{detail}"
    assert [e.comment for e in events_of(services, number, "survey_comment")] == [detail]
    with services.db.session() as session:  # the details were not taken for a new complaint
        assert len(c.of_occupant(session, OCCUPANT)) == 1


def test_not_solved_on_the_card_reopens_and_asks_for_details(clock, wecom, services, worker, fake_wecom):
    number = visited(clock, services, worker, fake_wecom)
    clock.to("2026-11-25 15:00")
    before = len(texts(fake_wecom, OCCUPANT))
    click(wecom, fake_wecom, number, 0)
    [pushed] = pushed_reply(services, worker, fake_wecom, before)
    assert number in pushed and services.texts("survey_ask_detail").strip() in pushed
    [visit] = surveys_of(services, number)
    assert (visit.status, visit.solved, visit.score) == ("answered", False, None)
    assert status_of(services, number) == c.REOPENED
    assert len(texts(fake_wecom, WANG, "【重新打开】", number)) == 1

    assert command(wecom, OCCUPANT, "外机不转") == services.texts("survey_comment_thanks", number=number)
    deliver(services, worker)
    assert len(texts(fake_wecom, WANG, "【回访补充】", number)) == 1


def test_a_second_click_does_not_change_the_first_answer(clock, wecom, services, worker, fake_wecom):
    """The card's buttons stay clickable: the answer given first stands."""
    number = visited(clock, services, worker, fake_wecom)
    clock.to("2026-11-25 15:00")
    click(wecom, fake_wecom, number, 0)
    deliver(services, worker)
    clock.to("2026-11-25 15:01")
    before = len(texts(fake_wecom, OCCUPANT))
    click(wecom, fake_wecom, number, 5)
    assert pushed_reply(services, worker, fake_wecom, before) == [
        services.texts("survey_already_answered", number=number)]
    [visit] = surveys_of(services, number)
    assert (visit.status, visit.solved, visit.score) == ("answered", False, None)
    assert local(visit.answered_at) == at("2026-11-25 15:00")
    assert status_of(services, number) == c.REOPENED
    assert events_of(services, number, "late_survey_answer") == []


def test_a_click_on_someone_elses_card_is_refused(clock, wecom, services, worker, fake_wecom):
    number = visited(clock, services, worker, fake_wecom)
    card = survey_cards(fake_wecom, number)[-1]
    wecom.event(NEIGHBOUR, "template_card_event", EventKey=f"survey:{number}:1", TaskId=card["task_id"],
                CardType="button_interaction", ResponseCode=fake_wecom.new_response_code())
    deliver(services, worker)
    assert texts(fake_wecom, NEIGHBOUR) == [services.texts("survey_unknown")]
    assert surveys_of(services, number)[0].status == "sent" and status_of(services, number) == c.FOLLOW_UP


# -- no answer --------------------------------------------------------------------------------------------
def reminders(fake_wecom, number: str) -> list[str]:
    return [t for t in texts(fake_wecom, OCCUPANT, number=number) if t.startswith("打扰了")]


def test_silence_gets_one_reminder_then_the_visit_is_closed_unanswered(clock, wecom, services, other_services,
                                                                      worker, fake_wecom):
    number = handled(clock, services)
    clock.to(SEND_AT)  # two schedulers reach the visit at once: it is sent once
    tick_concurrently(services, other_services, now=clock.now)
    deliver(services, worker)
    assert len(questions(fake_wecom, number)) == 1 and len(survey_cards(fake_wecom, number)) == 1

    run_at(clock, services, worker, "2026-11-26 11:29")
    assert reminders(fake_wecom, number) == []
    clock.to("2026-11-26 11:30")  # 24 hours after it was sent
    tick_concurrently(services, other_services, now=clock.now)
    deliver(services, worker)
    for moment in ("2026-11-26 12:00", "2026-11-27 09:00", "2026-11-28 11:29"):
        run_at(clock, services, worker, moment)
        tick_concurrently(services, other_services, now=clock.now, rounds=1)
        deliver(services, worker)
    [reminder] = reminders(fake_wecom, number)
    assert reminder == services.texts("survey_reminder", number=number)
    assert surveys_of(services, number)[0].status == "sent" and status_of(services, number) == c.FOLLOW_UP

    clock.to("2026-11-28 11:30")  # 72 hours after it was sent
    tick_concurrently(services, other_services, now=clock.now)
    deliver(services, worker)
    [visit] = surveys_of(services, number)
    assert visit.status == "unanswered" and local(visit.closed_at) == at("2026-11-28 11:30")
    assert visit.score is None and visit.solved is None
    assert status_of(services, number) == c.CLOSED
    assert len(events_of(services, number, "closed_no_answer")) == 1
    assert "（已关闭）" in command(wecom, OCCUPANT, f"进度 {number}")
    run_at(clock, services, worker, "2026-11-29 11:30")
    assert len(reminders(fake_wecom, number)) == 1


# -- late answers -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("answer, solved, score", [("4", True, 4), ("不满意", False, 2), ("还行", True, 3),
                                                   (0, False, None), (5, True, 5)],
                         ids=["text-4", "words-2", "words-3", "click-not-solved", "click-5"])
def test_a_late_answer_is_kept_without_reopening(clock, wecom, services, worker, fake_wecom, answer, solved,
                                                 score):
    number = visited(clock, services, worker, fake_wecom)
    run_at(clock, services, worker, "2026-11-28 11:30")
    assert surveys_of(services, number)[0].status == "unanswered"

    clock.to("2026-11-29 10:00")
    late_thanks = services.texts("survey_late_thanks", number=number)
    before = len(texts(fake_wecom, OCCUPANT))
    if isinstance(answer, int):
        click(wecom, fake_wecom, number, answer)
        assert pushed_reply(services, worker, fake_wecom, before) == [late_thanks]
    else:
        assert command(wecom, OCCUPANT, answer) == late_thanks
    [visit] = surveys_of(services, number)
    assert (visit.status, visit.solved, visit.score) == ("answered_late", solved, score)
    assert local(visit.answered_at) == at("2026-11-29 10:00")
    assert status_of(services, number) == c.CLOSED  # even a "not solved" does not reopen it
    assert events_of(services, number, "reopened") == []
    assert len(events_of(services, number, "late_survey_answer")) == 1
    assert deadlines_of(services, number, "open") == {}
    deliver(services, worker)
    assert texts(fake_wecom, WANG, "【重新打开】") == []
