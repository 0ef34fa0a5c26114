"""Time limits on a complaint's stages, and the reminders and escalations
they cause.

Due work is derived from the database on every scheduler tick, so a restart
or a process that was down loses nothing: the next tick catches up. Each
notice is queued with a unique outbox key (deadline, kind, level), which is
the claim that makes it go out exactly once even with two schedulers."""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from bot import complaints, outbox
from bot.config import StageLimits
from bot.models import Complaint, Deadline
from bot.services import Services
from bot.workcalendar import parse_duration

STAGES = ("accept", "solution", "complete")
STAGE_LABELS = {"accept": "受理", "solution": "提出方案", "complete": "处理完成", "follow_up": "回访"}
# Which workflow action meets which deadline.
MET_BY = {"accept": "accept", "solution": "solution", "complete": "complete"}


@dataclass
class Clock:
    """Adds durations in working time or round the clock."""
    services: Services
    kind: str  # "working" | "continuous"

    def add(self, start: datetime, duration: str) -> datetime:
        calendar = self.services.calendar
        amount = parse_duration(duration, calendar.day_length() if self.kind == "working" else timedelta(days=1))
        return calendar.add(start, amount) if self.kind == "working" else start + amount

    def between(self, start: datetime, end: datetime) -> timedelta:
        return self.services.calendar.between(start, end) if self.kind == "working" else max(end - start,
                                                                                             timedelta())

    def extend(self, moment: datetime, amount: timedelta) -> datetime:
        return self.services.calendar.add(moment, amount) if self.kind == "working" else moment + amount


def profile_for(services: Services, complaint: Complaint) -> StageLimits:
    limits = services.settings.time_limits
    if complaint.emergency:
        return limits.profiles["emergency"]
    return limits.profiles[limits.categories.get(complaint.category, limits.default_profile)]


def start_clocks(session: Session, services: Services, complaint: Complaint, now: datetime) -> None:
    """New (or reopened) complaint: its accept, solution and completion limits."""
    profile = profile_for(services, complaint)
    for stage in STAGES:
        _open(session, services, complaint, stage, getattr(profile, stage), profile.clock, now)


def start_follow_up(session: Session, services: Services, complaint: Complaint, now: datetime) -> None:
    profile = profile_for(services, complaint)
    _open(session, services, complaint, "follow_up", profile.follow_up, profile.clock, now)


def _open(session: Session, services: Services, complaint: Complaint, stage: str, duration: str, clock: str,
          now: datetime) -> Deadline:
    timer = Clock(services, clock)
    due = timer.add(now, duration)
    share = services.settings.time_limits.remind_at
    warn = timer.extend(now, timer.between(now, due) * share)
    deadline = Deadline(complaint_id=complaint.id, stage=stage, clock=clock, started_at=now, warn_at=warn,
                        due_at=due, status="open", next_check_at=now)  # the next scan works out the rest
    session.add(deadline)
    return deadline


def meet(session: Session, complaint: Complaint, stage: str, now: datetime) -> None:
    for deadline in _open_deadlines(session, complaint, stage):
        deadline.status, deadline.met_at = "met", now


def cancel_all(session: Session, complaint: Complaint, now: datetime) -> None:
    for deadline in _open_deadlines(session, complaint):
        deadline.status, deadline.met_at = "cancelled", now


def pause(session: Session, complaint: Complaint, now: datetime) -> None:
    """Waiting on something outside our control stops the clock."""
    for deadline in _open_deadlines(session, complaint):
        # A clock that stands still has nothing to say until resume() (which looks again).
        deadline.paused_at, deadline.next_check_at = deadline.paused_at or now, None


def resume(session: Session, services: Services, complaint: Complaint, actor: str, now: datetime) -> None:
    """The clock runs again; every limit moves by the time it stood still."""
    paused = timedelta()
    for deadline in _open_deadlines(session, complaint):
        if deadline.paused_at is None:
            continue
        timer = Clock(services, deadline.clock)
        stood_still = timer.between(deadline.paused_at, now)
        deadline.due_at = timer.extend(deadline.due_at, stood_still)
        deadline.warn_at = timer.extend(deadline.warn_at, stood_still)
        deadline.paused_at, deadline.next_check_at = None, now
        paused = max(paused, stood_still)
    complaints.record_event(session, complaint, actor, "clock_resumed",
                            comment=f"计时暂停了 {_readable(paused)}，各项时限相应顺延",
                            data={"paused_minutes": round(paused.total_seconds() / 60)})


def on_action(session: Session, services: Services, complaint: Complaint, action: str, actor: str,
              now: datetime) -> None:
    """What a workflow action does to the clocks."""
    for deadline in _open_deadlines(session, complaint):
        deadline.next_check_at = now  # the complaint changed: the next scan looks again
    if action in MET_BY:
        meet(session, complaint, MET_BY[action], now)
    if action == "complete":
        cancel_all(session, complaint, now)  # a solution stage skipped needs no reminder
        start_follow_up(session, services, complaint, now)
    elif action in ("invalid", "withdrawn"):
        cancel_all(session, complaint, now)
    elif action == "transfer":  # the new department gets its own time to accept
        for deadline in _open_deadlines(session, complaint, "accept"):
            deadline.status, deadline.met_at = "cancelled", now
        profile = profile_for(services, complaint)
        _open(session, services, complaint, "accept", profile.accept, profile.clock, now)
    elif action == "wait":
        pause(session, complaint, now)
    elif action == "resume":
        resume(session, services, complaint, actor, now)


def due_dates(session: Session, complaint: Complaint) -> dict[str, datetime]:
    return {d.stage: d.due_at for d in _open_deadlines(session, complaint)}


def due_text(session: Session, services: Services, complaint: Complaint, stage: str) -> str:
    """'11月28日 17:30' for the open limit of a stage (or a plain fallback)."""
    due = due_dates(session, complaint).get(stage)
    if due is None:
        return "尽快"
    local = due.astimezone(services.tz)
    return f"{local.month}月{local.day}日 {local:%H:%M}"


def _open_deadlines(session: Session, complaint: Complaint, stage: str | None = None) -> list[Deadline]:
    query = select(Deadline).where(Deadline.complaint_id == complaint.id, Deadline.status == "open")
    if stage:
        query = query.where(Deadline.stage == stage)
    return list(session.execute(query).scalars())


def _readable(amount: timedelta) -> str:
    minutes = int(amount.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} 小时 {minutes} 分钟" if hours else f"{minutes} 分钟"


# -- the scheduler's scan --------------------------------------------------------
class DeadlineScan:
    """Everything due at `now`: reminders before a deadline, escalation level
    by level after it, re-alerts for unaccepted emergencies, progress notes."""

    def __init__(self, session: Session, services: Services, now: datetime):
        self.session = session
        self.services = services
        self.now = now
        self.directory = services.directory()
        self.limits = services.settings.time_limits

    def run(self) -> None:
        rows = self.session.execute(
            select(Deadline).options(joinedload(Deadline.complaint))
            .where(Deadline.status == "open", Deadline.paused_at.is_(None), Deadline.next_check_at <= self.now)
            .order_by(Deadline.id)).scalars()
        for deadline in rows:
            self._remind(deadline)
            self._escalate(deadline)
            self._repush_emergency(deadline)
            self._progress_update(deadline)
            deadline.next_check_at = self._next_check(deadline)

    def _next_check(self, deadline: Deadline) -> datetime | None:
        """The first moment after now when this limit has something new to
        say; None when it never will (every level escalated, no re-alerts,
        no progress notes)."""
        moments = [deadline.warn_at, deadline.due_at, *self._escalation_moments(deadline),
                   self._next_repush(deadline), self._next_progress(deadline)]
        later = [moment for moment in moments if moment is not None and moment > self.now]
        return min(later, default=None)

    def _escalation_moments(self, deadline: Deadline) -> list[datetime]:
        day = self.services.calendar.day_length()
        return [deadline.due_at + parse_duration(rule.after, day) for rule in self.limits.escalation]

    def _push(self, people, key: str, text: str, urgent: bool) -> None:
        not_before = None if urgent else quiet_until(self.services, self.now)
        for person in dict.fromkeys(p for p in people if p):
            outbox.push_text(self.session, person, text, dedup_key=f"{key}:{person}", not_before=not_before)

    def _facts(self, deadline: Deadline) -> dict:
        complaint = deadline.complaint
        return {"number": complaint.number, "stage": STAGE_LABELS[deadline.stage],
                "due": deadline.due_at.astimezone(self.services.tz).strftime("%m-%d %H:%M"),
                "location": complaint.location or "", "status": complaints.status_label(complaint.status),
                "department": complaint.department}

    def _remind(self, deadline: Deadline) -> None:
        if not deadline.warn_at <= self.now < deadline.due_at or deadline.stage == "follow_up":
            return  # past due: escalation speaks instead; 回访 is the scheduler's own job
        complaint = deadline.complaint
        people = [complaint.assignee] if complaint.assignee else self.directory.handlers_of(complaint.department)
        self._push(people, f"dl{deadline.id}:warn", self.services.texts("deadline_warning", **self._facts(deadline)),
                   complaint.emergency)

    def _escalate(self, deadline: Deadline) -> None:
        if self.now < deadline.due_at:
            return
        complaint = deadline.complaint
        day = self.services.calendar.day_length()
        for level, rule in enumerate(self.limits.escalation):
            if self.now < deadline.due_at + parse_duration(rule.after, day):
                break
            text = self.services.texts("deadline_escalation", level=level + 1, **self._facts(deadline))
            self._push(self._escalation_targets(rule.notify, complaint), f"dl{deadline.id}:esc{level}", text,
                       complaint.emergency)

    def _escalation_targets(self, who: str, complaint: Complaint) -> list[str]:
        settings = self.services.settings.directory
        if who == "department_leader":
            leader = self.directory.leader_of(complaint.department)
            return [leader] if leader else list(settings.supervisors)
        return list(settings.supervisors if who == "supervisors" else settings.admins)

    def _repush_emergency(self, deadline: Deadline) -> None:
        if not self._repushes(deadline) or self.now < deadline.due_at:
            return
        round_ = math.floor((self.now - deadline.due_at) / self._repush_interval())
        text = self.services.texts("emergency_repush", **self._facts(deadline))
        self._push(self.directory.on_duty(self.now.astimezone(self.services.tz)),
                   f"dl{deadline.id}:repush{round_}", text, urgent=True)

    def _next_repush(self, deadline: Deadline) -> datetime | None:
        if not self._repushes(deadline) or self.now < deadline.due_at:
            return None
        interval = self._repush_interval()
        return deadline.due_at + interval * (math.floor((self.now - deadline.due_at) / interval) + 1)

    def _repushes(self, deadline: Deadline) -> bool:
        return deadline.complaint.emergency and deadline.stage == "accept"

    def _repush_interval(self) -> timedelta:
        return timedelta(minutes=self.limits.emergency_repush_minutes)

    def _progress_update(self, deadline: Deadline) -> None:
        step = self._progress_step(deadline)
        if step is None:
            return
        count = math.floor(Clock(self.services, deadline.clock).between(deadline.started_at, self.now) / step)
        if count >= 1:
            text = self.services.texts("progress_update", **self._facts(deadline))
            self._push([deadline.complaint.occupant_id], f"progress:{deadline.id}:{count}", text, urgent=False)

    def _next_progress(self, deadline: Deadline) -> datetime | None:
        step = self._progress_step(deadline)
        if step is None:
            return None
        timer = Clock(self.services, deadline.clock)
        count = math.floor(timer.between(deadline.started_at, self.now) / step)
        return timer.extend(deadline.started_at, step * (count + 1))

    def _progress_step(self, deadline: Deadline) -> timedelta | None:
        """How often the occupant hears how it goes: for an accepted complaint's
        completion limit, where its profile asks for it."""
        complaint = deadline.complaint
        every = profile_for(self.services, complaint).progress_every
        if deadline.stage != "complete" or not every or complaint.status == complaints.PENDING:
            return None
        return parse_duration(every, self.services.calendar.day_length())


def quiet_until(services: Services, now: datetime) -> datetime | None:
    """If `now` falls in the quiet hours, the moment they end."""
    window = services.settings.time_limits.quiet_hours
    if not window:
        return None
    local = now.astimezone(services.tz)
    start_text, end_text = window.split("-")
    start = local.replace(hour=int(start_text[:2]), minute=int(start_text[3:]), second=0, microsecond=0)
    end = local.replace(hour=int(end_text[:2]) % 24, minute=int(end_text[3:]), second=0, microsecond=0)
    if start <= end:
        return end if start <= local < end else None
    if local >= start:
        return end + timedelta(days=1)
    return end if local < end else None
