"""Registering a complaint the intake dialog collected: the record, its route,
its links to other reports, its photos, and the pushes it triggers."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot import complaints, lifecycle, outbox
from bot.complaints import OPEN_STATUSES
from bot.models import Complaint, utcnow
from bot.services import Services


@dataclass
class Intake:
    """What the dialog collected."""
    occupant_id: str
    description: str
    category: str
    subcategory: str | None = None
    location: str | None = None
    since: str | None = None
    phone: str | None = None
    photos: tuple[str, ...] = ()
    emergency: bool = False
    mood: str = "calm"
    wants_compensation: bool = False
    anonymous: bool = False


def department_for(services: Services, category: str, subcategory: str | None = None,
                   location: str | None = None) -> str:
    """Routing rules first (category, subcategory, place pattern; first match
    wins), then the category table, then the default department."""
    routing = services.settings.routing
    for rule in routing.rules:
        if rule.category and rule.category != category:
            continue
        if rule.subcategory and rule.subcategory != subcategory:
            continue
        if rule.place and not re.search(rule.place, location or ""):
            continue
        return rule.department
    return routing.by_category.get(category, routing.default)


def find_repeat(session: Session, services: Services, intake: Intake) -> Complaint | None:
    """The same person, place and category, still open, within the window."""
    if not intake.location:
        return None
    since = utcnow() - timedelta(hours=services.settings.dialog.repeat_window_hours)
    return session.execute(
        select(Complaint).where(Complaint.occupant_id == intake.occupant_id,
                                Complaint.location == intake.location,
                                Complaint.category == intake.category,
                                Complaint.status.in_(OPEN_STATUSES), Complaint.created_at >= since)
        .order_by(Complaint.id.desc()).limit(1)).scalar_one_or_none()


def register(session: Session, services: Services, intake: Intake) -> Complaint:
    complaint = complaints.create_complaint(
        session, occupant_id=intake.occupant_id, description=intake.description, tz=services.tz,
        category=intake.category, subcategory=intake.subcategory, location=intake.location,
        since=intake.since, contact_phone=intake.phone, emergency=intake.emergency, mood=intake.mood,
        wants_compensation=intake.wants_compensation,
        department=department_for(services, intake.category, intake.subcategory, intake.location),
        reporter_recent_count=_recent_count(session, services, intake.occupant_id),
        anonymous=intake.anonymous, about_department=_complained_about(services, intake))
    complaint.group_id = _group_of(session, services, complaint)
    for media_id in intake.photos:
        complaints.attach_media(session, complaint, kind="image", media_id=media_id, actor=intake.occupant_id)
    if intake.wants_compensation:
        _flag_compensation(session, services, complaint)
    if intake.emergency:
        alert_emergency(session, services, complaint)
    session.flush()
    session.refresh(complaint, ["attachments"])
    lifecycle.after_registration(session, services, complaint)
    return complaint


def add_to_existing(session: Session, complaint: Complaint, intake: Intake) -> None:
    """A repeat report of the same thing: keep it on the first complaint."""
    complaints.record_event(session, complaint, intake.occupant_id, "repeat_report", comment=intake.description)
    for media_id in intake.photos:
        complaints.attach_media(session, complaint, kind="image", media_id=media_id, actor=intake.occupant_id)


def alert_emergency(session: Session, services: Services, complaint: Complaint, update: str | None = None) -> None:
    """Emergencies jump the queue: the on-duty people, the department leader
    and the supervising leaders are pushed at once."""
    text = services.texts("emergency_alert", number=complaint.number,
                          location=complaint.location or "位置待确认", description=complaint.description[:200],
                          phone=complaint.contact_phone or "未留")
    if update:
        text = services.texts("emergency_alert_update", number=complaint.number, update=update)
    for person in emergency_contacts(services, complaint.department):
        outbox.push_text(session, person, text)


def emergency_contacts(services: Services, department: str | None) -> list[str]:
    """Who is on duty right now, the department's leader, the supervising leaders."""
    directory = services.directory()
    people = [*directory.on_duty(services.local_now()), directory.leader_of(department),
              *directory.settings.supervisors]
    return list(dict.fromkeys(p for p in people if p))


def _complained_about(services: Services, intake: Intake) -> str | None:
    """For a complaint about staff attitude: whose staff it is about."""
    if intake.subcategory != "服务态度":
        return None
    department = services.directory().complained_about(intake.description)
    return department.name if department else None


def _recent_count(session: Session, services: Services, occupant_id: str) -> int:
    since = utcnow() - timedelta(days=services.settings.dialog.recent_days)
    return session.execute(select(func.count()).select_from(Complaint).where(
        Complaint.occupant_id == occupant_id, Complaint.created_at >= since)).scalar_one()


def _group_of(session: Session, services: Services, complaint: Complaint) -> int | None:
    """Link to an open report of the same place and category by someone else."""
    if not complaint.location:
        return None
    since = utcnow() - timedelta(hours=services.settings.dialog.cluster_window_hours)
    first = session.execute(
        select(Complaint).where(Complaint.occupant_id != complaint.occupant_id,
                                Complaint.location == complaint.location,
                                Complaint.category == complaint.category,
                                Complaint.status.in_(OPEN_STATUSES), Complaint.created_at >= since)
        .order_by(Complaint.id).limit(1)).scalar_one_or_none()
    if first is None:
        return None
    complaints.record_event(session, complaint, "system", "linked", data={"group": first.group_id or first.id})
    return first.group_id or first.id


def _flag_compensation(session: Session, services: Services, complaint: Complaint) -> None:
    complaints.record_event(session, complaint, "system", "compensation_flagged")
    text = services.texts("compensation_alert", number=complaint.number, description=complaint.description[:200])
    for leader in services.settings.directory.supervisors:
        outbox.push_text(session, leader, text)
