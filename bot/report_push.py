"""The weekly summary: at the configured weekday and time, the previous
seven days' figures go to the leaders as a markdown message.

Like every scheduled push it is derived on each tick: once the moment of the
current ISO week has passed, whoever ticks queues it under a key naming the
week and the person, so two schedulers send it once, and a scheduler that
was down sends it when it comes back (within that week)."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from bot import outbox
from bot.deadlines import quiet_until
from bot.models import OutboxMessage
from bot.reports import build_report, render_markdown
from bot.services import Services


def push_weekly_report(services: Services, now: datetime) -> None:
    settings = services.settings.reports
    local = now.astimezone(services.tz)
    due = weekly_moment(local, settings.weekly_day, settings.weekly_time)
    if local < due:
        return
    keys = {person: week_key(local, person) for person in recipients(services)}
    with services.db.session() as session:
        queued = set(session.execute(select(OutboxMessage.dedup_key).where(
            OutboxMessage.dedup_key.in_(keys.values()))).scalars())
        missing = [person for person, key in keys.items() if key not in queued]
        if not missing:
            return  # the usual case: this week's report is out; no need to build it again
        end = due.date() - timedelta(days=1)
        report = build_report(session, services, end - timedelta(days=6), end, now=now)
        markdown = render_markdown(report, console_url(services))
        for person in missing:
            outbox.push_markdown(session, person, markdown, dedup_key=keys[person],
                                 not_before=quiet_until(services, now))


def weekly_moment(local: datetime, weekday: int, at: str) -> datetime:
    """This ISO week's report time (weekday 1 = Monday)."""
    monday = local.date() - timedelta(days=local.isoweekday() - 1)
    hour, minute = (int(part) for part in at.split(":"))
    return datetime.combine(monday + timedelta(days=weekday - 1), time(hour, minute), local.tzinfo)


def week_key(local: datetime | date, person: str) -> str:
    year, week, _ = local.isocalendar()
    return f"weekly:{year}-W{week:02d}:{person}"


def recipients(services: Services) -> list[str]:
    """The configured roles expanded to people (and plain accounts kept)."""
    directory = services.settings.directory
    roles = {"supervisors": directory.supervisors, "admins": directory.admins}
    people = [person for entry in services.settings.reports.recipients for person in roles.get(entry, [entry])]
    return list(dict.fromkeys(p for p in people if p))


def console_url(services: Services) -> str:
    return services.settings.server.public_url.rstrip("/") + "/console/"
