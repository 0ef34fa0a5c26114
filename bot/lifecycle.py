"""What follows a complaint's registration and each workflow action: the
clocks (deadlines), the follow-up visit, and the notices. One place, so
every way of acting (card button, text command, console) does the same."""
from __future__ import annotations

from sqlalchemy.orm import Session

from bot import deadlines, notify, survey
from bot.models import Complaint, utcnow
from bot.services import Services


def after_registration(session: Session, services: Services, complaint: Complaint) -> None:
    deadlines.start_clocks(session, services, complaint, utcnow())
    notify.announce(session, services, complaint)


def after_action(notice: notify.Notice, action: str) -> None:
    now = utcnow()
    deadlines.on_action(notice.session, notice.services, notice.complaint, action, notice.actor, now)
    if action == "complete":
        survey.schedule(notice.session, notice.services, notice.complaint, now)
    notify.after(notice, action)


def after_withdrawal(session: Session, services: Services, complaint: Complaint) -> None:
    deadlines.on_action(session, services, complaint, "withdrawn", complaint.occupant_id, utcnow())
    notify.withdrawn(session, services, complaint)
