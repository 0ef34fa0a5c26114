"""The working calendar: working hours, China's statutory holidays and
make-up workdays (调休) from chinesecalendar, and the administrator's own
overrides. Deadlines in working time are computed here.

For a year chinesecalendar does not know yet, Monday–Friday plus the
overrides is used, and a warning says so (the log and `check-config`)."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

log = logging.getLogger(__name__)

MAX_DAYS_SEARCHED = 366 * 2  # a calendar with no working day at all must not loop forever


@dataclass
class WorkCalendar:
    tz: ZoneInfo
    hours: list[tuple[time, time]]  # working periods of a day, e.g. 08:30–12:00, 13:30–17:30
    holidays: set[date] = field(default_factory=set)  # campus holidays (not worked)
    workdays: set[date] = field(default_factory=set)  # extra duty days (worked)
    _warned_years: set[int] = field(default_factory=set)

    @classmethod
    def from_settings(cls, settings) -> "WorkCalendar":
        config = settings.calendar
        return cls(tz=ZoneInfo(settings.timezone), hours=[_period(p) for p in config.work_hours],
                   holidays=set(config.holidays), workdays=set(config.workdays))

    # -- days ---------------------------------------------------------------
    def is_workday(self, day: date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        try:
            return chinese_calendar.is_workday(day)
        except NotImplementedError:
            self._warn_unknown_year(day.year)
            return day.isoweekday() <= 5

    def unknown_years(self, years) -> list[int]:
        """Years chinesecalendar has no data for (check-config reports them)."""
        unknown = []
        for year in years:
            try:
                chinese_calendar.is_workday(date(year, 6, 1))
            except NotImplementedError:
                unknown.append(year)
        return unknown

    def _warn_unknown_year(self, year: int) -> None:
        if year not in self._warned_years:
            self._warned_years.add(year)
            log.warning("chinesecalendar 没有 %d 年的节假日数据：该年按周一至周五上班计算（加上配置里的调整）。"
                        "请升级 chinesecalendar 或在 calendar.holidays / calendar.workdays 中补充。", year)

    # -- working time ---------------------------------------------------------
    def day_length(self) -> timedelta:
        return sum((_delta(start, end) for start, end in self.hours), timedelta())

    def periods(self, day: date):
        """The working periods of a day, as aware datetimes."""
        if not self.is_workday(day):
            return
        for start, end in self.hours:
            yield (datetime.combine(day, start, self.tz),
                   datetime.combine(day, end, self.tz) if end != time.max else
                   datetime.combine(day + timedelta(days=1), time(0), self.tz))

    def add(self, start: datetime, amount: timedelta) -> datetime:
        """The moment `amount` of working time after `start`."""
        remaining = amount
        moment = start.astimezone(self.tz)
        day = moment.date()
        for _ in range(MAX_DAYS_SEARCHED):
            for begin, end in self.periods(day):
                if end <= moment:
                    continue
                begin = max(begin, moment)
                if begin + remaining <= end:
                    return begin + remaining
                remaining -= end - begin
            day += timedelta(days=1)
        raise ValueError("日历中找不到足够的工作时间（请检查 calendar 配置）")

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Working time between two moments."""
        if end <= start:
            return timedelta()
        total = timedelta()
        day = start.astimezone(self.tz).date()
        last = end.astimezone(self.tz).date()
        while day <= last:
            for begin, finish in self.periods(day):
                overlap = min(finish, end) - max(begin, start)
                if overlap > timedelta():
                    total += overlap
            day += timedelta(days=1)
        return total

    def next_working_moment(self, moment: datetime) -> datetime:
        return self.add(moment, timedelta())


def parse_duration(text: str, day_length: timedelta) -> timedelta:
    """'10m', '2h', '1d', '1d4h': in working time a day is one working day's hours."""
    import re

    parts = re.findall(r"(\d+(?:\.\d+)?)\s*([dhm])", text.strip().lower())
    if not parts or "".join(n + u for n, u in parts) != re.sub(r"\s", "", text.strip().lower()):
        raise ValueError(f"无法识别的时长 {text!r}，例如 10m、2h、1d")
    units = {"d": day_length, "h": timedelta(hours=1), "m": timedelta(minutes=1)}
    return sum((float(number) * units[unit] for number, unit in parts), timedelta())


def _period(text: str) -> tuple[time, time]:
    start, end = text.split("-")
    return _clock(start), _clock(end)


def _clock(text: str) -> time:
    hour, minute = (int(part) for part in text.split(":"))
    return time.max if hour == 24 else time(hour, minute)


def _delta(start: time, end: time) -> timedelta:
    end_minutes = 24 * 60 if end == time.max else end.hour * 60 + end.minute
    return timedelta(minutes=end_minutes - (start.hour * 60 + start.minute))
