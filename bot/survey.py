"""The follow-up visit (回访): after a complaint is handled, ask the
complainant whether it is really solved and how satisfied they are. A "no"
reopens the complaint and restarts its clock; silence gets one reminder,
then the visit is closed as 未回复."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot import complaints, deadlines, outbox
from bot.cards import SOURCE, task_id
from bot.models import Complaint, Survey
from bot.services import Services
from bot.workcalendar import parse_duration

# Free-text answers. Order matters: "没解决" must win over "解决".
NOT_SOLVED = ("没修好", "没有修好", "没解决", "没有解决", "还没好", "还是坏", "还是不行", "还没修", "依然", "仍然",
              "又坏了", "又漏", "没人来", "没处理", "未解决", "没弄好", "还在漏", "重新打开")
SCORE_WORDS = (
    (1, ("非常不满意", "很不满意", "极差", "太差", "差评", "很差")),
    (2, ("不满意", "不太满意", "不好")),
    (3, ("一般", "还行", "凑合", "马马虎虎", "过得去")),
    (4, ("满意", "挺好", "不错", "可以", "还可以", "好的", "解决了", "修好了", "好了")),
    (5, ("非常满意", "很满意", "特别满意", "太好了", "非常好", "点赞", "好评", "感谢", "谢谢")),
)
BUTTONS = ((5, "非常满意"), (4, "满意"), (3, "一般"), (2, "不满意"), (1, "很不满意"), (0, "还没解决"))


@dataclass(frozen=True)
class Answer:
    solved: bool
    score: int | None


def read_answer(text: str) -> Answer | None:
    """Understand a survey answer in free text, or None if it is not one."""
    plain = unicodedata.normalize("NFKC", text or "").strip()
    if not plain or len(plain) > 200:
        return None
    if any(phrase in plain for phrase in NOT_SOLVED):
        return Answer(solved=False, score=_score_in(plain))
    digit = re.fullmatch(r"\s*([1-5])\s*分?\s*", plain)
    if digit:
        return Answer(solved=True, score=int(digit.group(1)))
    score = _score_in(plain)
    return Answer(solved=score > 2, score=score) if score else None


def _score_in(text: str) -> int | None:
    # Longest matching phrase decides ("非常满意" over "满意", "不满意" over "满意").
    best = None
    for score, words in SCORE_WORDS:
        for word in words:
            if word in text and (best is None or len(word) > best[1]):
                best = (score, len(word))
    return best[0] if best else None


def schedule(session: Session, services: Services, complaint: Complaint, now: datetime) -> Survey:
    delay = parse_duration(services.settings.survey.delay, services.calendar.day_length())
    send_at = services.calendar.add(now, delay)
    send_at = deadlines.quiet_until(services, send_at) or send_at
    survey = Survey(complaint_id=complaint.id, occupant_id=complaint.occupant_id, send_at=send_at,
                    status="scheduled")
    session.add(survey)
    return survey


def pending_for(session: Session, occupant_id: str) -> Survey | None:
    """The visit waiting for this person's answer, if any."""
    return session.execute(select(Survey).where(Survey.occupant_id == occupant_id, Survey.status == "sent")
                           .order_by(Survey.id.desc()).limit(1)).scalar_one_or_none()


def latest_closed_for(session: Session, occupant_id: str, within: timedelta, now: datetime) -> Survey | None:
    return session.execute(select(Survey).where(
        Survey.occupant_id == occupant_id, Survey.status == "unanswered", Survey.closed_at >= now - within)
        .order_by(Survey.id.desc()).limit(1)).scalar_one_or_none()


def record(session: Session, services: Services, survey: Survey, answer: Answer, comment: str | None,
           now: datetime) -> str:
    """Store an answer and act on it; returns the reply for the occupant."""
    complaint = survey.complaint
    texts = services.texts
    if survey.status in ("answered", "answered_late"):  # answered before (a second click): that answer stands
        return texts("survey_already_answered", number=complaint.number)
    late = survey.status != "sent"
    survey.solved, survey.score, survey.comment, survey.answered_at = answer.solved, answer.score, comment, now
    if late:  # closed as 未回复 already: keep the answer, change nothing else
        survey.status = "answered_late"
        complaints.record_event(session, complaint, complaint.occupant_id, "late_survey_answer", comment=comment,
                                data={"solved": answer.solved, "score": answer.score})
        return texts("survey_late_thanks", number=complaint.number)
    survey.status = "answered"
    negative = not answer.solved or (answer.score is not None
                                     and answer.score <= services.settings.survey.reopen_at_or_below)
    complaints.record_event(session, complaint, complaint.occupant_id, "survey_answered", comment=comment,
                            data={"solved": answer.solved, "score": answer.score})
    if negative:
        reopen(session, services, complaint, comment, now)
        return texts("survey_reopened", number=complaint.number)
    complaints.set_status(session, complaint, complaints.CLOSED, "system", "closed")
    complaint.closed_at = now
    return texts("survey_thanks", number=complaint.number)


def reopen(session: Session, services: Services, complaint: Complaint, comment: str | None, now: datetime) -> None:
    complaints.set_status(session, complaint, complaints.REOPENED, complaint.occupant_id, "reopened", comment=comment)
    complaint.closed_at = None
    deadlines.cancel_all(session, complaint, now)
    deadlines.start_clocks(session, services, complaint, now)
    directory = services.directory()
    text = services.texts("staff_reopened", number=complaint.number, comment=comment or "（未说明）",
                          description=complaint.description[:60])
    for person in _working_on(directory, complaint):
        outbox.push_text(session, person, text)
    complaint.assignee = None  # it is accepted anew; until then reminders go to the whole department


def forward_comment(session: Session, services: Services, complaint: Complaint, comment: str) -> None:
    """More detail after a reopening goes to the people now working on it."""
    directory = services.directory()
    text = services.texts("staff_survey_comment", number=complaint.number, comment=comment)
    for person in _working_on(directory, complaint):
        outbox.push_text(session, person, text)


def _working_on(directory, complaint: Complaint) -> list[str]:
    """The assignee, the department leader and the department's handlers."""
    people = [complaint.assignee, directory.leader_of(complaint.department),
              *directory.handlers_of(complaint.department)]
    return list(dict.fromkeys(p for p in people if p))


def survey_card(complaint: Complaint) -> dict:
    return {
        "card_type": "button_interaction",
        "source": SOURCE,
        "main_title": {"title": f"回访 {complaint.number}", "desc": "您反映的问题解决了吗？"},
        "sub_title_text": f"{complaint.location or ''} {complaint.description[:60]}",
        "task_id": task_id(complaint, "survey"),
        "button_list": [{"text": label, "style": 1 if score >= 4 else 2, "key": f"survey:{complaint.number}:{score}"}
                        for score, label in BUTTONS],
    }


class SurveyRound:
    """The scheduler's survey work at `now`: send what is due, remind once,
    close what went unanswered."""

    def __init__(self, session: Session, services: Services, now: datetime):
        self.session = session
        self.services = services
        self.now = now
        self.settings = services.settings.survey

    def run(self) -> None:
        self._send_due()
        self._remind()
        self._close_unanswered()

    def _claim(self, survey: Survey, condition, **values) -> bool:
        """Only one scheduler process wins each step of a visit."""
        won = self.session.execute(update(Survey).where(Survey.id == survey.id, condition).values(**values))
        if won.rowcount == 1:
            self.session.refresh(survey)
        return won.rowcount == 1

    def _send_due(self) -> None:
        if deadlines.quiet_until(self.services, self.now):
            return  # quiet hours: the visit waits for the morning
        due = self.session.execute(select(Survey).where(Survey.status == "scheduled", Survey.send_at <= self.now))
        for survey in due.scalars().all():
            if not self._claim(survey, Survey.status == "scheduled", status="sent", sent_at=self.now):
                continue
            complaint = survey.complaint
            complaints.set_status(self.session, complaint, complaints.FOLLOW_UP, "system", "survey_sent")
            deadlines.meet(self.session, complaint, "follow_up", self.now)
            key = f"survey{survey.id}"
            outbox.push_text(self.session, survey.occupant_id,
                             self.services.texts("survey_question", number=complaint.number,
                                                 description=complaint.description[:40]), dedup_key=f"{key}:ask")
            outbox.push_template_card(self.session, survey.occupant_id, survey_card(complaint),
                                      dedup_key=f"{key}:card")

    def _remind(self) -> None:
        cutoff = self.now - timedelta(hours=self.settings.remind_after_hours)
        if deadlines.quiet_until(self.services, self.now):
            return
        rows = self.session.execute(select(Survey).where(Survey.status == "sent", Survey.reminded_at.is_(None),
                                                         Survey.sent_at <= cutoff))
        for survey in rows.scalars().all():
            if not self._claim(survey, Survey.reminded_at.is_(None), reminded_at=self.now):
                continue
            outbox.push_text(self.session, survey.occupant_id,
                             self.services.texts("survey_reminder", number=survey.complaint.number),
                             dedup_key=f"survey{survey.id}:remind")

    def _close_unanswered(self) -> None:
        cutoff = self.now - timedelta(hours=self.settings.close_after_hours)
        rows = self.session.execute(select(Survey).where(Survey.status == "sent", Survey.sent_at <= cutoff))
        for survey in rows.scalars().all():
            if not self._claim(survey, Survey.status == "sent", status="unanswered", closed_at=self.now):
                continue
            complaint = survey.complaint
            complaints.set_status(self.session, complaint, complaints.CLOSED, "system", "closed_no_answer")
            complaint.closed_at = self.now
