"""The working calendar: deadline arithmetic in working time with explicit
moments (Asia/Shanghai), China's statutory holidays and make-up workdays as
chinesecalendar knows them, the administrator's overrides, years the package
does not know, durations, and `check-config`'s warning about unknown years."""
from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
import time_machine
import yaml
from click.testing import CliRunner
from hypothesis import given, settings as hsettings, strategies as st

from bot.cli import main
from bot.config import ENV_OVERRIDES, Settings
from bot.workcalendar import WorkCalendar, parse_duration

TZ = ZoneInfo("Asia/Shanghai")
WECOM = {"corp_id": "ww_cal", "agent_id": 1000002, "secret": "s", "token": "t",
         "encoding_aes_key": "a" * 43}
DAY = timedelta(hours=7, minutes=30)  # 08:30–12:00 and 13:30–17:30


def at(text: str) -> datetime:
    """'2026-11-25 09:00' as a moment in Beijing time."""
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def calendar(**overrides) -> WorkCalendar:
    """The calendar exactly as the service builds it from its settings."""
    return WorkCalendar.from_settings(Settings.model_validate({"wecom": WECOM, "calendar": overrides}))


def h(hours: float) -> timedelta:
    return timedelta(hours=hours)


# -- working hours and weekends ------------------------------------------------------------
@pytest.mark.parametrize("start, amount, expected", [
    ("2026-11-25 11:30", h(1), "2026-11-25 14:00"),  # the lunch break is not working time
    ("2026-11-25 09:00", h(2), "2026-11-25 11:00"),
    ("2026-11-25 12:30", h(1), "2026-11-25 14:30"),  # starting in the lunch break
    ("2026-11-25 07:00", h(1), "2026-11-25 09:30"),  # before work starts
    ("2026-11-25 17:00", h(1), "2026-11-26 09:00"),  # after hours: the next morning
    ("2026-11-20 16:30", h(2), "2026-11-23 09:30"),  # Friday afternoon to Monday morning
    ("2026-11-21 10:00", h(1), "2026-11-23 09:30"),  # reported on a Saturday
    ("2026-11-25 09:00", DAY, "2026-11-26 09:00"),  # one working day
    ("2026-11-25 12:00", timedelta(), "2026-11-25 13:30"),  # zero from a break: the next working moment
])
def test_add_counts_working_time_only(start, amount, expected):
    assert calendar().add(at(start), amount) == at(expected)


def test_add_accepts_a_moment_in_another_timezone():
    utc_moment = at("2026-11-25 11:30").astimezone(ZoneInfo("UTC"))
    assert calendar().add(utc_moment, h(1)) == at("2026-11-25 14:00")


@pytest.mark.parametrize("start, end, expected", [
    ("2026-11-25 11:30", "2026-11-25 14:00", h(1)),
    ("2026-11-20 16:30", "2026-11-23 09:30", h(2)),
    ("2026-11-21 08:00", "2026-11-22 20:00", h(0)),  # a whole weekend
    ("2026-11-25 12:10", "2026-11-25 13:20", h(0)),  # inside the lunch break
    ("2026-11-25 18:00", "2026-11-25 09:00", h(0)),  # backwards
    ("2026-11-25 00:00", "2026-11-26 00:00", DAY),
])
def test_between_is_the_working_time_in_a_span(start, end, expected):
    assert calendar().between(at(start), at(end)) == expected


@hsettings(max_examples=150, deadline=None)
@given(start=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 20)),
       minutes=st.integers(min_value=0, max_value=5 * 450))
def test_between_undoes_add(start, minutes):
    cal = calendar()
    begin = start.replace(second=0, microsecond=0, tzinfo=TZ)
    amount = timedelta(minutes=minutes)
    end = cal.add(begin, amount)
    assert end >= begin
    assert cal.between(begin, end) == amount
    if minutes:  # the result is inside working hours
        assert cal.between(begin, end - timedelta(minutes=1)) == amount - timedelta(minutes=1)


# -- statutory holidays and make-up workdays (chinesecalendar) ----------------------------------
def test_the_package_knows_national_day_2026_and_its_make_up_saturday():
    """The tests below are built on what chinesecalendar says about 2026."""
    for day in range(1, 8):
        assert chinese_calendar.is_holiday(date(2026, 10, day)), day
    assert chinese_calendar.is_workday(date(2026, 9, 30)) and chinese_calendar.is_workday(date(2026, 10, 8))
    assert date(2026, 10, 10).isoweekday() == 6 and chinese_calendar.is_workday(date(2026, 10, 10))
    assert chinese_calendar.is_holiday(date(2026, 10, 11))  # Sunday after it is off


def test_national_day_is_skipped():
    cal = calendar()
    assert not any(cal.is_workday(date(2026, 10, day)) for day in range(1, 8))
    # Wednesday before the holiday, 1 h left that day; the rest on Thursday 8 October.
    assert cal.add(at("2026-09-30 16:30"), h(2)) == at("2026-10-08 09:30")
    assert cal.add(at("2026-10-03 10:00"), h(1)) == at("2026-10-08 09:30")
    assert cal.between(at("2026-09-30 17:00"), at("2026-10-08 09:00")) == h(1)
    assert cal.between(at("2026-10-01 00:00"), at("2026-10-08 00:00")) == h(0)


def test_the_make_up_saturday_is_a_workday():
    cal = calendar()
    assert cal.is_workday(date(2026, 10, 10)) and not cal.is_workday(date(2026, 10, 11))
    assert cal.add(at("2026-10-09 17:00"), h(1)) == at("2026-10-10 09:00")
    # Friday evening to Monday: only the Saturday counts.
    assert cal.between(at("2026-10-09 18:00"), at("2026-10-12 08:00")) == DAY


# -- the administrator's overrides ----------------------------------------------------------------
def test_a_campus_holiday_is_not_worked():
    cal = calendar(holidays=["2026-11-26"])  # a Thursday
    assert not cal.is_workday(date(2026, 11, 26))
    assert cal.add(at("2026-11-25 17:00"), h(1)) == at("2026-11-27 09:00")
    assert calendar().add(at("2026-11-25 17:00"), h(1)) == at("2026-11-26 09:00")  # without it


def test_an_extra_duty_day_is_worked():
    cal = calendar(workdays=["2026-11-28"])  # a Saturday
    assert cal.is_workday(date(2026, 11, 28)) and not cal.is_workday(date(2026, 11, 29))
    assert cal.add(at("2026-11-27 17:00"), h(1)) == at("2026-11-28 09:00")
    assert calendar().add(at("2026-11-27 17:00"), h(1)) == at("2026-11-30 09:00")  # without it


def test_overrides_win_over_the_statutory_calendar():
    cal = calendar(workdays=["2026-10-05"], holidays=["2026-10-10"])
    assert cal.is_workday(date(2026, 10, 5))  # on duty during National Day
    assert not cal.is_workday(date(2026, 10, 10))  # the make-up Saturday given off
    assert cal.add(at("2026-10-09 17:00"), h(1)) == at("2026-10-12 09:00")


def test_other_working_hours_from_the_configuration():
    cal = calendar(work_hours=["09:00-12:00", "14:00-18:00"])
    assert cal.day_length() == h(7)
    assert cal.add(at("2026-11-25 11:30"), h(1)) == at("2026-11-25 14:30")


# -- a year chinesecalendar does not know ------------------------------------------------------------
def test_an_unknown_year_falls_back_to_monday_to_friday_with_one_warning(caplog):
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(2031, 5, 1))  # the premise: the package has no 2031
    cal = calendar(holidays=["2031-01-06"])
    caplog.set_level(logging.WARNING, logger="bot.workcalendar")

    assert cal.add(at("2031-01-03 16:30"), h(2)) == at("2031-01-07 09:30")  # Fri → (Mon off) → Tue
    assert cal.add(at("2031-05-01 09:00"), h(1)) == at("2031-05-01 10:00")  # Labour Day unknown: worked
    assert cal.is_workday(date(2031, 10, 1)) and not cal.is_workday(date(2031, 10, 4))
    assert cal.between(at("2031-01-03 00:00"), at("2031-01-10 00:00")) == 4 * DAY

    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "2031" in r.getMessage()]
    assert len(warnings) == 1, [r.getMessage() for r in caplog.records]
    assert "周一至周五" in warnings[0].getMessage()
    assert cal.unknown_years([2025, 2026, 2031, 2032]) == [2031, 2032]


def test_a_known_year_logs_no_warning(caplog):
    caplog.set_level(logging.WARNING, logger="bot.workcalendar")
    calendar().add(at("2026-09-30 16:30"), h(20))
    assert not [r for r in caplog.records if r.name == "bot.workcalendar"]


# -- durations ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("10m", timedelta(minutes=10)),
    ("2h", h(2)),
    ("1d", DAY),  # one working day's hours, not 24 h
    ("1d4h", DAY + h(4)),
    ("2d", 2 * DAY),
    ("1.5h", h(1.5)),
    (" 1D 30M ", DAY + timedelta(minutes=30)),
    ("0m", timedelta()),
])
def test_parse_duration(text, expected):
    assert parse_duration(text, calendar().day_length()) == expected


def test_a_day_is_as_long_as_the_day_length_given():
    assert parse_duration("1d", timedelta(days=1)) == timedelta(hours=24)  # round-the-clock profiles


@pytest.mark.parametrize("text", ["", "abc", "2", "h", "2x", "1d-4h", "-1h", "4h!", "1 day", "两小时"])
def test_a_bad_duration_raises(text):
    with pytest.raises(ValueError):
        parse_duration(text, DAY)


# -- no working time at all ---------------------------------------------------------------------
def test_a_calendar_without_working_hours_raises_instead_of_looping():
    empty = WorkCalendar(tz=TZ, hours=[])
    with pytest.raises(ValueError):
        empty.add(at("2026-11-25 09:00"), h(1))
    with pytest.raises(ValueError):
        empty.add(at("2026-11-25 09:00"), timedelta())
    assert empty.between(at("2026-11-25 00:00"), at("2026-11-30 00:00")) == timedelta()


def test_a_calendar_where_no_day_is_worked_raises():
    first = date(2026, 11, 1)
    every_day = {first + timedelta(days=n) for n in range(3 * 366)}
    never = WorkCalendar(tz=TZ, hours=[(time(8, 30), time(12))], holidays=every_day)  # all campus holidays
    with pytest.raises(ValueError):
        never.add(at("2026-11-25 09:00"), h(1))


def test_the_configuration_refuses_an_empty_working_day():
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        calendar(work_hours=[])
    with pytest.raises(ValidationError):
        calendar(work_hours=["12:00-08:00"])


# -- check-config --------------------------------------------------------------------------------
@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"wecom": WECOM, "database_url": f"sqlite:///{tmp_path / 'c.db'}"}),
                    encoding="utf-8")
    return path


def check_config(path) -> str:
    clean = {var: None for var in [*ENV_OVERRIDES, "COMPLAINT_BOT_CONFIG"]}
    result = CliRunner().invoke(main, ["check-config", "--config", str(path)], env=clean)
    assert result.exit_code == 0, result.output
    assert "OK" in result.output
    return result.output


@pytest.mark.parametrize("today, unknown", [
    ("2031-06-01", [2031, 2032]),  # this year and the next are unknown
    ("2026-06-01", [2027]),  # the next year is unknown
    ("2025-06-01", []),
])
def test_check_config_warns_about_years_the_package_does_not_know(config_file, today, unknown):
    with time_machine.travel(datetime.fromisoformat(today).replace(hour=10, tzinfo=TZ), tick=False):
        output = check_config(config_file)
    warned = [int(year) for year in range(2024, 2034) if f"没有 {year} 年" in output]
    assert warned == unknown, output
    assert ("警告" in output) == bool(unknown)
