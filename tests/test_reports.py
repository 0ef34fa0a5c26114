"""及时总结: a week of complaints is played through the real registration,
workflow, deadlines and follow-up visits on the real database, with the
process's clock moved by hand — then every figure of the report is checked,
in the terminal table, the WeCom markdown, the Excel workbook, the
`complaint-bot report` command and the weekly push to the leaders."""
from __future__ import annotations

import unicodedata
from datetime import date, datetime

import pytest
import yaml
from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy import select

from bot import registration, reports, survey
from bot.cli import main
from bot.config import ENV_OVERRIDES
from bot.models import Complaint, OutboxMessage, Survey
from bot.registration import Intake
from bot.report_push import week_key
from bot.reports import Rate, Report
from bot.scheduler import tick
from bot.services import build_services
from tests.conftest import make_settings
from tests.timeline_support import (DIRECTORY, LI, NEIGHBOUR, OCCUPANT, SUPERVISOR, WU, ZHANG, GUEST, KEFU, act,
                                    deliver, frozen_clock, tick_concurrently)

ADMIN = "admin.zhao"
NAMES = {OCCUPANT: "薛学员", NEIGHBOUR: "林居民", GUEST: "方访客", LI: "李师傅", ZHANG: "张师傅", WU: "吴保安"}
CONSOLE = "https://hq.example.edu"
START, END = date(2026, 11, 23), date(2026, 11, 29)  # Monday to Sunday
PERIOD = "2026-11-23 至 2026-11-29"
OUT_OF_SCOPE, NORMAL, MISUSE = ("不属于后勤服务的范围", "经现场核实，设施运行正常",
                                "属于个人使用不当造成，按有关规定由个人负责")
# No variable of the developer's shell may point the command elsewhere.
CLEAN_ENV = {var: None for var in [*ENV_OVERRIDES, "COMPLAINT_BOT_CONFIG"]}

clock = frozen_clock("2026-11-22 15:00")


@pytest.fixture
def settings(fake_wecom, database_url, key_prefix, tmp_path):
    return make_settings(fake_wecom, database_url, key_prefix, tmp_path / "data",
                         directory={**DIRECTORY, "people": NAMES, "admins": [ADMIN]},
                         **{"server.public_url": CONSOLE})


@pytest.fixture
def other_services(settings, redis_client):
    """A second scheduler process on the same database and Redis."""
    services = build_services(settings, redis_client)
    yield services
    services.close()


# -- playing the week through ------------------------------------------------------------------------------
def file(services, occupant: str, description: str, category: str, place: str, **fields) -> str:
    """Registration exactly as the dialog's 确认 does it."""
    with services.db.session() as session:
        intake = Intake(occupant_id=occupant, description=description, category=category, location=place, **fields)
        return registration.register(session, services, intake).number


def plan(services, number: str, actor: str) -> None:
    act(services, number, "solution", actor, "更换损坏的部件")
    act(services, number, "approve", SUPERVISOR)


def answer(services, clock, number: str, text: str) -> None:
    """The complainant answers the visit that was sent to them."""
    with services.db.session() as session:
        visit = session.execute(select(Survey).join(Complaint, Survey.complaint_id == Complaint.id).where(
            Complaint.number == number, Survey.status == "sent")).scalar_one()
        survey.record(session, services, visit, survey.read_answer(text), text, clock.now)


def at(clock, services, moment: str, *, scheduler: bool = False) -> None:
    clock.to(moment)
    if scheduler:
        tick(services, now=clock.now)  # sends the visits that are due


@pytest.fixture
def week(clock, services) -> dict[str, str]:
    """Ten complaints from Monday 23 to Sunday 29 November (and one either
    side). Returns their numbers; the clock ends on Monday 30, 08:20."""
    n = {}
    # Sunday before: handled, visited in the period (its score counts), reopened.
    n["P0"] = file(services, NEIGHBOUR, "6号楼102暖气不热", "设备设施", "6号楼102")
    at(clock, services, "2026-11-22 15:10")
    act(services, n["P0"], "accept", LI)
    plan(services, n["P0"], LI)
    at(clock, services, "2026-11-22 16:00")
    act(services, n["P0"], "complete", LI, "已排气")

    # Monday: three reports of the same air conditioner.
    at(clock, services, "2026-11-23 09:00")
    n["A1"] = file(services, OCCUPANT, "3号楼201空调不制冷", "设备设施", "3号楼201")
    at(clock, services, "2026-11-23 09:30")
    act(services, n["A1"], "accept", LI)  # due 11:00: on time
    plan(services, n["A1"], LI)
    at(clock, services, "2026-11-23 10:00")
    act(services, n["A1"], "complete", LI, "已加氟")  # 1 hour
    n["A2"] = file(services, NEIGHBOUR, "3号楼201空调又坏了", "设备设施", "3号楼201")
    at(clock, services, "2026-11-23 10:30", scheduler=True)  # P0's visit goes out
    at(clock, services, "2026-11-23 11:00")
    answer(services, clock, n["P0"], "2")  # reopens P0 (not of the period)
    n["A3"] = file(services, GUEST, "3号楼201空调漏水", "设备设施", "3号楼201")
    at(clock, services, "2026-11-23 11:10")
    act(services, n["A3"], "accept", ZHANG)  # and never finished: overdue since Tuesday 11:00
    at(clock, services, "2026-11-23 12:00", scheduler=True)  # A1's visit
    at(clock, services, "2026-11-23 14:00")
    act(services, n["A2"], "accept", LI)  # due 12:00: the one late acceptance
    answer(services, clock, n["A1"], "5")
    plan(services, n["A2"], LI)
    at(clock, services, "2026-11-23 15:00")
    act(services, n["A2"], "complete", LI, "已修复")
    at(clock, services, "2026-11-23 17:00", scheduler=True)  # A2's visit

    # Tuesday: A2 was not solved — reopened, accepted in time, completed again.
    at(clock, services, "2026-11-24 09:00")
    n["B1"] = file(services, OCCUPANT, "5号楼门厅灯不亮", "设备设施", "5号楼门厅")
    answer(services, clock, n["A2"], "没修好")
    at(clock, services, "2026-11-24 09:05")
    act(services, n["B1"], "accept", LI)
    at(clock, services, "2026-11-24 09:30")
    act(services, n["A2"], "accept", LI)
    plan(services, n["A2"], LI)
    at(clock, services, "2026-11-24 10:00")
    n["B2"] = file(services, NEIGHBOUR, "食堂饭菜太咸", "管理服务", "食堂")
    at(clock, services, "2026-11-24 10:30")
    act(services, n["B2"], "invalid", KEFU, OUT_OF_SCOPE)
    at(clock, services, "2026-11-24 11:00")
    act(services, n["A2"], "complete", LI, "更换压缩机")  # 25 hours after it was registered
    at(clock, services, "2026-11-24 14:30", scheduler=True)
    at(clock, services, "2026-11-24 15:00")
    answer(services, clock, n["A2"], "3")

    # Wednesday: a lock judged 不成立 in time; B1 finished a day late.
    at(clock, services, "2026-11-25 09:00")
    n["B3"] = file(services, OCCUPANT, "2号楼301门锁坏了", "房屋质量", "2号楼301")
    at(clock, services, "2026-11-25 09:10")
    plan(services, n["B1"], LI)
    at(clock, services, "2026-11-25 10:00")
    act(services, n["B3"], "invalid", LI, MISUSE)
    at(clock, services, "2026-11-25 13:00")
    act(services, n["B1"], "complete", LI, "更换灯管")  # 28 hours; due Wednesday 09:00

    # Thursday: one more 不成立, and an emergency at night.
    at(clock, services, "2026-11-26 10:00")
    n["C2"] = file(services, NEIGHBOUR, "要求调换宿舍", "管理服务", "1号楼")
    at(clock, services, "2026-11-26 10:20")
    act(services, n["C2"], "invalid", KEFU, OUT_OF_SCOPE)
    at(clock, services, "2026-11-26 20:00")
    n["C1"] = file(services, GUEST, "4号楼配电间冒烟", "突发事件", "4号楼配电间", emergency=True)
    at(clock, services, "2026-11-26 20:05")
    act(services, n["C1"], "accept", WU)  # due 20:10
    plan(services, n["C1"], WU)
    at(clock, services, "2026-11-26 22:00")
    act(services, n["C1"], "complete", WU, "已断电检修")  # 2 hours

    at(clock, services, "2026-11-27 10:30", scheduler=True)  # C1's and B1's visits
    at(clock, services, "2026-11-27 11:00")
    answer(services, clock, n["C1"], "满意")

    # The weekend: two new reports, one of them anonymous; not yet due on Monday morning.
    at(clock, services, "2026-11-28 10:00")
    n["D1"] = file(services, OCCUPANT, "5号楼门厅灯又不亮了", "设备设施", "5号楼门厅")
    at(clock, services, "2026-11-29 21:00")
    n["D2"] = file(services, OCCUPANT, "3号楼201空调还是不制冷", "设备设施", "3号楼201", anonymous=True)

    # Monday after: a new complaint and a late answer — neither belongs to the week.
    at(clock, services, "2026-11-30 08:00")
    n["P1"] = file(services, GUEST, "7号楼电梯异响", "设备设施", "7号楼")
    at(clock, services, "2026-11-30 08:20")
    answer(services, clock, n["B1"], "5")
    return n


def build(services, start: date = START, end: date = END) -> Report:
    with services.db.session() as session:
        return reports.build_report(session, services, start, end)


def rows_of(services) -> list[dict]:
    with services.db.session() as session:
        return reports.complaint_rows(session, services, START, END)


# -- the figures ---------------------------------------------------------------------------------------------
def test_every_figure_of_the_week(week, services):
    report = build(services)
    assert (report.start, report.end, report.total) == (START, END, 10)
    assert report.by_category == [("设备设施", 6), ("管理服务", 2), ("房屋质量", 1), ("突发事件", 1)]
    assert report.by_department == [("工程维修部", 7), ("客户服务中心", 2), ("安全保卫部", 1)]
    assert report.by_place == [("3号楼201", 4), ("5号楼门厅", 2), ("1号楼", 1), ("2号楼301", 1),
                               ("4号楼配电间", 1), ("食堂", 1)]
    assert report.trend == [(date(2026, 11, day), count)
                            for day, count in [(23, 3), (24, 2), (25, 1), (26, 2), (27, 0), (28, 1), (29, 1)]]
    assert report.hotspots == [("3号楼201", "设备设施", 4), ("5号楼门厅", "设备设施", 2)]
    [emergency] = report.emergencies
    assert emergency["number"] == week["C1"] and emergency["location"] == "4号楼配电间"
    assert emergency["description"] == "4号楼配电间冒烟" and emergency["status"] == "已关闭"
    assert emergency["created"].replace(tzinfo=None) == datetime(2026, 11, 26, 20, 0)
    # Accept: A1, A2 (late, then on time after reopening), A3, B1, C1; the 不成立 ones were judged before
    # their limit and D1/D2 are not due yet. Complete: A1, A2 twice, C1 on time; B1 late, A3 overdue.
    assert report.accept_on_time == Rate(5, 6) and report.accept_on_time.text == "83%（5/6）"
    assert report.complete_on_time == Rate(4, 6) and report.complete_on_time.text == "67%（4/6）"
    # Handled in 1 (A1), 2 (C1), 25 (A2) and 28 (B1) hours.
    assert report.handling_median_hours == 13.5 and report.handling_p90_hours == 27.1
    # Answered in the week: P0's 2 (an older complaint), A1's 5, A2's "没修好" and 3, C1's 满意 (4);
    # B1's 5 came on Monday 30.
    assert report.satisfaction_avg == 3.5
    assert report.satisfied == Rate(2, 5) and report.satisfied.text == "40%（2/5）"
    assert report.reopen_rate == Rate(1, 4)  # A2, of A1, A2, B1, C1
    assert report.invalid == Rate(3, 10) and report.invalid.text == "30%（3/10）"
    assert report.invalid_reasons == [(OUT_OF_SCOPE, 2), (MISUSE, 1)]
    # D2 was anonymous: 薛学员 counts four, not five.
    assert report.top_reporters == [(OCCUPANT, "薛学员", 4), (NEIGHBOUR, "林居民", 3), (GUEST, "方访客", 2)]


def test_the_raw_list_of_the_week(week, services):
    rows = rows_of(services)
    assert [row["number"] for row in rows] == [week[k] for k in
                                               ("A1", "A2", "A3", "B1", "B2", "B3", "C2", "C1", "D1", "D2")]
    first = rows[0]
    assert first == {"number": week["A1"], "created": datetime(2026, 11, 23, 9, 0), "status": "已关闭",
                     "category": "设备设施", "subcategory": "", "location": "3号楼201", "department": "工程维修部",
                     "emergency": False, "description": "3号楼201空调不制冷", "assignee": "李师傅",
                     "resolved": datetime(2026, 11, 23, 10, 0), "score": 5}
    by_number = {row["number"]: row for row in rows}
    assert by_number[week["A2"]]["score"] == 3  # the latest visit's answer
    assert by_number[week["A2"]]["resolved"] == datetime(2026, 11, 24, 11, 0)
    assert by_number[week["A3"]]["status"] == "已受理" and by_number[week["A3"]]["assignee"] == "张师傅"
    assert by_number[week["B2"]]["status"] == "不成立" and by_number[week["B2"]]["resolved"] is None
    assert by_number[week["C1"]]["emergency"] is True and by_number[week["C1"]]["score"] == 4
    assert by_number[week["D1"]]["status"] == "待受理" and by_number[week["D1"]]["score"] is None


def test_an_empty_period_has_no_rates(week, services):
    report = build(services, date(2026, 10, 1), date(2026, 10, 3))
    assert report.total == 0 and report.trend == [(date(2026, 10, d), 0) for d in (1, 2, 3)]
    assert report.accept_on_time.value is None and report.accept_on_time.text == "—"
    assert report.handling_median_hours is None and report.satisfaction_avg is None
    assert "（无）" in reports.render_text(report, include_people=True)


# -- how it reads --------------------------------------------------------------------------------------------
def block(text: str, title: str) -> list[str]:
    """The table lines under one 【title】 of the terminal text."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"【{title}"))
    end = next((i for i in range(start + 1, len(lines)) if not lines[i]), len(lines))
    return lines[start + 1:end]


def width(line: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)


def test_terminal_tables(week, services):
    report = build(services)
    text = reports.render_text(report, include_people=True)
    assert text.startswith(f"后勤投诉汇总 {PERIOD}")
    for figure in ("10 件", "83%（5/6）", "67%（4/6）", "13.5 小时", "27.1 小时", "3.5 分", "40%（2/5）",
                   "25%（1/4）", "30%（3/10）", week["C1"], OUT_OF_SCOPE, "薛学员"):
        assert figure in text, figure
    places = block(text, "按地点")
    assert places[0].split() == ["地点", "件数"] and places[2].split() == ["3号楼201", "4"]
    assert len({width(line) for line in places}) == 1  # CJK-aware: the counts line up
    assert block(text, "热点")[2].split() == ["3号楼201", "设备设施", "4"]
    assert block(text, "每日趋势")[2].split() == ["11-23", "3", "###"]
    assert block(text, "按类别")[2].split() == ["设备设施", "6", "60%"]
    private = reports.render_text(report, include_people=False)
    assert "投诉最多的人" not in private and "薛学员" not in private and OCCUPANT not in private


def test_markdown_for_the_leaders(week, services):
    markdown = reports.render_markdown(build(services), f"{CONSOLE}/console/")
    assert len(markdown.encode("utf-8")) <= 4096
    assert f"({CONSOLE}/console/)" in markdown and PERIOD in markdown
    for figure in ("**10 件**", "83%（5/6）", "67%（4/6）", "40%（2/5）", "30%（3/10）", "3号楼201 · 设备设施 4 次",
                   week["C1"]):
        assert figure in markdown, figure
    assert "薛学员" not in markdown  # who complains is not for a group message


def test_markdown_stays_within_the_limit_and_keeps_the_link():
    many = [{"number": f"TS20261123-{i:03d}", "location": "很长的地点名称" * 10, "description": "冒烟",
             "created": datetime(2026, 11, 23, 9), "status": "待受理"} for i in range(200)]
    report = Report(start=START, end=END, total=200, by_category=[("突发事件", 200)], by_department=[],
                    by_place=[], trend=[], hotspots=[], emergencies=many, accept_on_time=Rate(0, 0),
                    complete_on_time=Rate(0, 0), handling_median_hours=None, handling_p90_hours=None,
                    satisfaction_avg=None, satisfied=Rate(0, 0), reopen_rate=Rate(0, 0), invalid=Rate(0, 200),
                    invalid_reasons=[], top_reporters=[])
    markdown = reports.render_markdown(report, f"{CONSOLE}/console/")
    assert len(markdown.encode("utf-8")) <= 4096
    assert markdown.endswith(f"({CONSOLE}/console/)") and "TS20261123-000" in markdown


def sheet_rows(book, title: str) -> list[tuple]:
    return list(book[title].iter_rows(values_only=True))


def test_workbook(week, services, tmp_path):
    path = tmp_path / "周报.xlsx"
    reports.write_xlsx(build(services), rows_of(services), path, include_people=True)
    book = load_workbook(path)
    assert book.sheetnames == ["概览", "按类别", "按部门", "按地点", "热点", "紧急", "满意度与时效", "不成立原因",
                               "投诉最多的人", "每日趋势", "明细"]
    overview = dict(sheet_rows(book, "概览")[1:])
    assert overview["统计期间"] == PERIOD and overview["投诉总数"] == "10 件"
    assert overview["受理及时率"] == "83%（5/6）" and overview["重新打开率"] == "25%（1/4）"
    assert sheet_rows(book, "按类别")[1] == ("设备设施", 6, 0.6)
    assert sheet_rows(book, "按部门")[1:] == [("工程维修部", 7, 0.7), ("客户服务中心", 2, 0.2), ("安全保卫部", 1, 0.1)]
    assert sheet_rows(book, "热点")[1:] == [("3号楼201", "设备设施", 4), ("5号楼门厅", "设备设施", 2)]
    assert sheet_rows(book, "紧急")[1] == (week["C1"], datetime(2026, 11, 26, 20, 0), "4号楼配电间", "已关闭",
                                           "4号楼配电间冒烟")
    timing = {row[0]: row[1:] for row in sheet_rows(book, "满意度与时效")[1:]}
    assert timing["受理及时率"] == (pytest.approx(5 / 6), 5, 6)
    assert timing["完成及时率"] == (pytest.approx(4 / 6), 4, 6)
    assert timing["处理时长中位数（小时）"][0] == 13.5 and timing["处理时长 90 分位（小时）"][0] == 27.1
    assert timing["平均满意度（分）"][0] == 3.5 and timing["满意率（4 分及以上）"] == (0.4, 2, 5)
    assert sheet_rows(book, "不成立原因")[1:] == [(OUT_OF_SCOPE, 2), (MISUSE, 1)]
    assert sheet_rows(book, "投诉最多的人")[1] == (OCCUPANT, "薛学员", 4)
    assert sheet_rows(book, "每日趋势")[1] == (datetime(2026, 11, 23), 3) and len(sheet_rows(book, "每日趋势")) == 8
    detail = sheet_rows(book, "明细")
    assert detail[0][:3] == ("编号", "登记时间", "状态") and len(detail) == 11
    assert detail[1] == (week["A1"], datetime(2026, 11, 23, 9, 0), "已关闭", "设备设施", None, "3号楼201", "工程维修部",
                         "否", "3号楼201空调不制冷", "李师傅", datetime(2026, 11, 23, 10, 0), 5)
    sheet = book["明细"]
    assert all(cell.font.bold for cell in sheet[1])
    assert sheet.column_dimensions["I"].width > sheet.column_dimensions["H"].width  # descriptions get room

    reports.write_xlsx(build(services), rows_of(services), tmp_path / "部门.xlsx", include_people=False)
    assert "投诉最多的人" not in load_workbook(tmp_path / "部门.xlsx").sheetnames


# -- the command --------------------------------------------------------------------------------------------
def config_file(settings, tmp_path) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(settings.model_dump(mode="json"), allow_unicode=True), encoding="utf-8")
    return str(path)


def run_cli(*args):
    return CliRunner().invoke(main, ["report", *args], env=CLEAN_ENV)


def test_report_command_prints_the_tables_and_writes_the_workbook(week, settings, tmp_path):
    path = tmp_path / "out" / "report.xlsx"
    path.parent.mkdir()
    result = run_cli("--config", config_file(settings, tmp_path), "--from", "2026-11-23", "--to", "2026-11-29",
                     "--xlsx", str(path))
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"后勤投诉汇总 {PERIOD}")
    for figure in ("83%（5/6）", "67%（4/6）", "薛学员", "已导出 Excel", "10 条明细"):
        assert figure in result.output, figure
    assert len(sheet_rows(load_workbook(path), "明细")) == 11


def test_report_command_defaults_to_the_last_seven_days(week, settings, tmp_path):
    result = run_cli("--config", config_file(settings, tmp_path))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("后勤投诉汇总 2026-11-24 至 2026-11-30")  # today is Monday 30


@pytest.mark.parametrize("args, expected", [
    (["--from", "2026-13-01"], "--from"),
    (["--to", "昨天"], "--to"),
    (["--from", "2026-11-29", "--to", "2026-11-23"], "晚于"),
])
def test_report_command_refuses_bad_dates(settings, tmp_path, args, expected):
    result = run_cli("--config", config_file(settings, tmp_path), *args)
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
    assert "日期有误" in result.output and expected in result.output
    assert "Traceback" not in result.output


# -- the weekly push ------------------------------------------------------------------------------------------
def weekly(fake_wecom, person: str, period: str) -> list[str]:
    return [body["markdown"]["content"] for body in fake_wecom.sent(msgtype="markdown", touser=person)
            if period in body["markdown"]["content"]]


def test_weekly_push_goes_once_a_week_to_the_leaders(week, clock, services, other_services, worker, fake_wecom):
    at(clock, services, "2026-11-30 08:29", scheduler=True)
    deliver(services, worker)
    assert weekly(fake_wecom, SUPERVISOR, PERIOD) == []

    clock.to("2026-11-30 08:30")
    tick_concurrently(services, other_services, now=clock.now)  # two schedulers, three rounds each
    deliver(services, worker)
    for person in (SUPERVISOR, ADMIN):
        [markdown] = weekly(fake_wecom, person, PERIOD)
        assert "**10 件**" in markdown and "83%（5/6）" in markdown and f"({CONSOLE}/console/)" in markdown
    assert not fake_wecom.sent(msgtype="markdown", touser=LI)  # only the leaders
    with services.db.session() as session:
        keys = set(session.execute(select(OutboxMessage.dedup_key).where(
            OutboxMessage.dedup_key.like("weekly:2026-W49:%"))).scalars())
    assert keys == {"weekly:2026-W49:lin.lingdao", "weekly:2026-W49:admin.zhao"}

    at(clock, services, "2026-12-02 10:00", scheduler=True)  # later that week: nothing again
    deliver(services, worker)
    assert len(weekly(fake_wecom, SUPERVISOR, PERIOD)) == 1

    # Down all Monday: the next week's report is caught up on Tuesday.
    at(clock, services, "2026-12-08 14:00", scheduler=True)
    deliver(services, worker)
    [next_week] = weekly(fake_wecom, SUPERVISOR, "2026-11-30 至 2026-12-06")
    assert "**1 件**" in next_week  # P1
    assert week_key(clock.now, SUPERVISOR) == "weekly:2026-W50:lin.lingdao"


def test_no_recipients_no_weekly_push(clock, services):
    services.settings.reports.recipients = []
    at(clock, services, "2026-11-23 10:00", scheduler=True)
    with services.db.session() as session:
        assert session.execute(select(OutboxMessage).where(OutboxMessage.dedup_key.like("weekly:%"))).first() is None


# -- small pieces -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("rate, text", [(Rate(10, 12), "83%（10/12）"), (Rate(1, 8), "13%（1/8）"),
                                        (Rate(0, 3), "0%（0/3）"), (Rate(0, 0), "—")])
def test_rate_text(rate, text):
    assert rate.text == text


def test_period_parsing():
    today = date(2026, 11, 30)
    assert reports.parse_period(None, None, today) == (date(2026, 11, 24), today)
    assert reports.parse_period("2026-11-01", None, today) == (date(2026, 11, 1), today)
    assert reports.parse_period(None, "2026-11-10", today) == (date(2026, 11, 4), date(2026, 11, 10))
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        reports.parse_period("11/23", None, today)


