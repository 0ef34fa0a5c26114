"""The complaint list as the console filters it — the same query feeds the
page and the Excel export, and it only ever holds what the viewer may see."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import Select, exists, or_

from bot import complaints
from bot.console.auth import Viewer
from bot.directory import Directory
from bot.models import Complaint, Deadline, utcnow


@dataclass
class Filters:
    status: str = ""
    category: str = ""
    department: str = ""
    date_from: date | None = None
    date_to: date | None = None
    overdue: bool = False
    q: str = ""
    page: int = 1

    @classmethod
    def from_args(cls, args) -> "Filters":
        return cls(status=args.get("status", ""), category=args.get("category", ""),
                   department=args.get("department", ""), date_from=_date(args.get("from")),
                   date_to=_date(args.get("to")), overdue=args.get("overdue") == "1", q=args.get("q", "").strip()[:50],
                   page=max(1, _int(args.get("page"), 1)))

    def as_args(self, **changes) -> dict:
        values = {"status": self.status, "category": self.category, "department": self.department,
                  "from": self.date_from.isoformat() if self.date_from else "",
                  "to": self.date_to.isoformat() if self.date_to else "", "overdue": "1" if self.overdue else "",
                  "q": self.q, "page": self.page}
        values.update(changes)
        return {key: value for key, value in values.items() if value not in ("", None)}


def visible_complaints(viewer: Viewer, directory: Directory) -> Select:
    return complaints.visible_to(directory, viewer.userid, sees_everything=viewer.local_admin)


def filtered(viewer: Viewer, directory: Directory, filters: Filters, tz) -> Select:
    query = visible_complaints(viewer, directory)
    if filters.status:
        query = query.where(Complaint.status == filters.status)
    if filters.category:
        query = query.where(Complaint.category == filters.category)
    if filters.department:
        query = query.where(Complaint.department == filters.department)
    if filters.date_from:
        query = query.where(Complaint.created_at >= _start_of(filters.date_from, tz))
    if filters.date_to:
        query = query.where(Complaint.created_at < _start_of(filters.date_to + timedelta(days=1), tz))
    if filters.overdue:
        query = query.where(exists().where(Deadline.complaint_id == Complaint.id, Deadline.status == "open",
                                           Deadline.due_at < utcnow()))
    if filters.q:
        pattern = f"%{filters.q}%"
        query = query.where(or_(Complaint.number.ilike(pattern), Complaint.description.ilike(pattern),
                                Complaint.location.ilike(pattern)))
    return query.order_by(Complaint.id.desc())


def _start_of(day: date, tz) -> datetime:
    return datetime.combine(day, time(0), tz)


def _date(text: str | None) -> date | None:
    """A day to filter by; none for what is not a date, or too close to the
    calendar's ends to shift into UTC and to the next day."""
    try:
        day = date.fromisoformat(text) if text else None
    except ValueError:
        return None
    return day if day and date.min < day < date.max else None


def _int(text: str | None, default: int) -> int:
    try:
        return int(text) if text else default
    except ValueError:
        return default
