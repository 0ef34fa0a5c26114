"""Complaints: creation with a readable number, the event history, attachments."""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import distinct, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.models import Attachment, Complaint, ComplaintEvent, DailyCounter, utcnow

NUMBER_PREFIX = "TS"
NUMBER_PATTERN = re.compile(r"TS\d{8}-\d{3,}", re.IGNORECASE)
PENDING = "pending"
INVALID = "invalid"
ACCEPTED = "accepted"
CAUSE_FOUND = "cause_found"
SOLUTION_PENDING = "solution_pending"
SOLUTION_REJECTED = "solution_rejected"
IN_PROGRESS = "in_progress"
WAITING = "waiting_external"
RESOLVED = "resolved"
FOLLOW_UP = "awaiting_follow_up"
CLOSED = "closed"
REOPENED = "reopened"
WITHDRAWN = "withdrawn"

STATUS_LABELS = {
    PENDING: "待受理",
    INVALID: "不成立",
    ACCEPTED: "已受理",
    CAUSE_FOUND: "原因已分析",
    SOLUTION_PENDING: "方案待批",
    SOLUTION_REJECTED: "方案被驳回",
    IN_PROGRESS: "处理中",
    WAITING: "等待外部条件",
    RESOLVED: "已处理",
    FOLLOW_UP: "待回访",
    CLOSED: "已关闭",
    REOPENED: "重新打开",
    WITHDRAWN: "已撤销",
}
# States in which the complaint is still being worked on.
OPEN_STATUSES = (PENDING, ACCEPTED, CAUSE_FOUND, SOLUTION_PENDING, SOLUTION_REJECTED, IN_PROGRESS, WAITING,
                 REOPENED)
# States in which the occupant may still withdraw it (no work has begun).
WITHDRAWABLE = (PENDING, ACCEPTED, CAUSE_FOUND, REOPENED)

# What each kind of history event is called where people read it.
EVENT_LABELS = {
    "created": "登记投诉",
    "attachment_added": "补充附件",
    "supplement": "补充说明",
    "repeat_report": "再次反映",
    "linked": "与他人反映的同一问题关联",
    "compensation_flagged": "提出赔偿诉求，已提请领导关注",
    "location_added": "补充地点",
    "withdrawn": "本人撤销",
    "accept": "受理",
    "invalid": "判定不成立",
    "transfer": "转派",
    "cause": "分析原因",
    "solution": "提出处理方案",
    "approve": "领导批准方案",
    "reject": "领导驳回方案",
    "wait": "等待外部条件",
    "resume": "恢复处理",
    "complete": "处理完成",
    "completion_photo": "上传完工照片",
    "clock_resumed": "恢复计时",
    "survey_sent": "发出回访",
    "survey_answered": "回访答复",
    "survey_comment": "回访补充意见",
    "late_survey_answer": "结案后收到回访答复",
    "reopened": "重新打开",
    "closed": "结案",
    "closed_no_answer": "回访未回复，结案",
}


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)


def event_label(kind: str) -> str:
    return EVENT_LABELS.get(kind, kind)


def next_number(session: Session, now: datetime, tz: ZoneInfo) -> str:
    """TS20261126-007: the local date and that day's sequence. The counter row
    is locked by the UPDATE, so concurrent workers never share a number."""
    day = now.astimezone(tz).strftime("%Y%m%d")
    bumped = session.execute(
        update(DailyCounter).where(DailyCounter.day == day).values(last=DailyCounter.last + 1))
    if bumped.rowcount == 0:
        try:
            with session.begin_nested():
                session.add(DailyCounter(day=day, last=1))
        except IntegrityError:  # another worker created today's row first
            session.execute(
                update(DailyCounter).where(DailyCounter.day == day).values(last=DailyCounter.last + 1))
    sequence = session.execute(select(DailyCounter.last).where(DailyCounter.day == day)).scalar_one()
    return f"{NUMBER_PREFIX}{day}-{sequence:03d}"


def create_complaint(session: Session, *, occupant_id: str, description: str, tz: ZoneInfo,
                     actor: str | None = None, **fields) -> Complaint:
    now = utcnow()
    complaint = Complaint(number=next_number(session, now, tz), occupant_id=occupant_id,
                          description=description, status=PENDING, created_at=now, updated_at=now,
                          **fields)
    session.add(complaint)
    session.flush()
    record_event(session, complaint, actor or occupant_id, "created", to_status=PENDING)
    return complaint


def record_event(session: Session, complaint: Complaint, actor: str, kind: str, *,
                 comment: str | None = None, from_status: str | None = None,
                 to_status: str | None = None, data: dict | None = None) -> ComplaintEvent:
    event = ComplaintEvent(complaint_id=complaint.id, actor=actor, kind=kind, comment=comment,
                           from_status=from_status, to_status=to_status, data=data, at=utcnow())
    session.add(event)
    return event


def latest_of(session: Session, occupant_id: str) -> Complaint | None:
    return session.execute(
        select(Complaint).where(Complaint.occupant_id == occupant_id)
        .order_by(Complaint.id.desc()).limit(1)).scalar_one_or_none()


def last_phone_of(session: Session, occupant_id: str) -> str | None:
    """The contact phone a person left on their latest complaint that has one."""
    return session.execute(
        select(Complaint.contact_phone).where(Complaint.occupant_id == occupant_id,
                                              Complaint.contact_phone.is_not(None))
        .order_by(Complaint.id.desc()).limit(1)).scalar_one_or_none()


def find_by_number(session: Session, number: str) -> Complaint | None:
    return session.execute(select(Complaint).where(Complaint.number == number.upper())).scalar_one_or_none()


def of_occupant(session: Session, occupant_id: str, limit: int = 10) -> list[Complaint]:
    return list(session.execute(select(Complaint).where(Complaint.occupant_id == occupant_id)
                                .order_by(Complaint.id.desc()).limit(limit)).scalars())


class StaleStatus(Exception):
    """Someone else changed the complaint's status first."""


def set_status(session: Session, complaint: Complaint, status: str, actor: str, kind: str,
               comment: str | None = None, data: dict | None = None) -> ComplaintEvent:
    """Change the status only if it is still what this request read: of two
    people clicking 受理 at once, exactly one wins."""
    before = complaint.status
    won = session.execute(update(Complaint).where(Complaint.id == complaint.id, Complaint.status == before)
                          .values(status=status).execution_options(synchronize_session=False))
    if won.rowcount != 1:
        session.refresh(complaint)
        raise StaleStatus(complaint.status)
    complaint.status = status
    return record_event(session, complaint, actor, kind, comment=comment, from_status=before, to_status=status,
                        data=data)


def attach_media(session: Session, complaint: Complaint, *, kind: str, media_id: str,
                 actor: str) -> Attachment:
    """Record the media now; the worker downloads it (media_id lives 3 days)."""
    attachment = Attachment(complaint_id=complaint.id, kind=kind, media_id=media_id, status="pending",
                            next_attempt_at=utcnow())
    session.add(attachment)
    session.flush()
    record_event(session, complaint, actor, "attachment_added", data={"attachment_id": attachment.id,
                                                                      "kind": kind})
    return attachment


MEDIA_LIFETIME = timedelta(days=3)


def reporters_count(session: Session, complaint: Complaint) -> int:
    """How many people reported this one's group (a person's own repeats count once)."""
    group = complaint.group_id or complaint.id
    return session.execute(select(func.count(distinct(Complaint.occupant_id))).where(
        (Complaint.group_id == group) | (Complaint.id == group))).scalar_one()


def visible_to(directory, userid: str, sees_everything: bool = False):
    """The one rule for which complaints a staff member sees (待办, the console
    list): their departments' complaints, minus 服务态度 complaints about the
    people they work with (Directory.kept_from). As SQL, so a limit counts only
    rows they may see."""
    query = select(Complaint)
    if sees_everything or directory.sees_everything(userid):
        return query
    query = query.where(Complaint.department.in_(directory.departments_of(userid)))
    if kept_from := directory.kept_from(userid):
        query = query.where(or_(Complaint.about_department.is_(None), Complaint.about_department.not_in(kept_from)))
    return query
