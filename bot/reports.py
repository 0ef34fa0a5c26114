"""及时总结: the figures of a period — how many complaints, of what, where,
how fast they were taken on and finished, how satisfied people were — and
the three ways they are read: a terminal table, a WeCom markdown message and
an Excel workbook.

Definitions (the README's 汇总报表 section says the same in Chinese):
- The period is local days (services.tz), the end day included. A complaint
  belongs to the period it was registered in; the figures about it (its
  deadlines, reopening, 不成立) are as they stand when the report is built.
- On time: every accept/complete deadline of those complaints is one
  promise. Met at or before due_at counts on time, met later counts late;
  still open past due_at (or paused after it) counts late; cancelled after
  due_at (judged 不成立 or withdrawn while overdue) counts late. Deadlines
  still running, or cancelled before they were due, are left out: nothing
  was promised and broken yet. A reopened complaint brings new deadlines,
  each counted.
- Handling time is wall-clock hours from registration to 处理完毕 (the
  latest completion); the percentile interpolates between ranks.
- Satisfaction is from the visits answered in the period (whatever period
  their complaint came from); satisfied means a score of 4 or 5, out of all
  answers (an answer of "没解决" has no score and is not satisfied).
- Top reporters leave out anonymous complaints: leaders see who complains
  most, but anonymity given is kept."""
from __future__ import annotations

import math
import unicodedata
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import complaints as c
from bot.models import Complaint, ComplaintEvent, Deadline, Survey, utcnow
from bot.services import Services
from bot.spreadsheet import append_header, append_row

NO_PLACE, NO_CATEGORY, NO_DEPARTMENT, NO_REASON = "（未填写地点）", "（未分类）", "（未分派）", "（未写理由）"
TOP = 10
MARKDOWN_LIMIT = 4096  # bytes: WeCom's limit for a markdown message
ANSWERED = ("answered", "answered_late")


@dataclass
class Rate:
    numerator: int
    denominator: int

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None

    @property
    def text(self) -> str:
        if not self.denominator:
            return "—"
        percent = (200 * self.numerator + self.denominator) // (2 * self.denominator)  # round half up
        return f"{percent}%（{self.numerator}/{self.denominator}）"


@dataclass
class Report:
    start: date
    end: date  # local dates, end included
    total: int
    by_category: list[tuple[str, int]]
    by_department: list[tuple[str, int]]
    by_place: list[tuple[str, int]]
    trend: list[tuple[date, int]]
    hotspots: list[tuple[str, str, int]]
    emergencies: list[dict]
    accept_on_time: Rate
    complete_on_time: Rate
    handling_median_hours: float | None
    handling_p90_hours: float | None
    satisfaction_avg: float | None
    satisfied: Rate
    reopen_rate: Rate
    invalid: Rate
    invalid_reasons: list[tuple[str, int]]
    top_reporters: list[tuple[str, str, int]]

    @property
    def period_text(self) -> str:
        return f"{self.start:%Y-%m-%d} 至 {self.end:%Y-%m-%d}"


# -- the period ----------------------------------------------------------------------------------------
def period_bounds(tz: ZoneInfo, start: date, end: date) -> tuple[datetime, datetime]:
    """The period's local days as [begin, finish) instants."""
    return datetime.combine(start, time(), tz), datetime.combine(end + timedelta(days=1), time(), tz)


def parse_period(start_text: str | None, end_text: str | None, today: date) -> tuple[date, date]:
    """--from/--to as typed; the default is the last 7 days up to today.
    Raises ValueError with a message for the user."""
    end = _parse_day(end_text, "--to") if end_text else today
    start = _parse_day(start_text, "--from") if start_text else end - timedelta(days=6)
    if start > end:
        raise ValueError(f"起始日期 {start} 晚于截止日期 {end}，请检查 --from 和 --to")
    return start, end


def _parse_day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{option} 的日期 {text!r} 无法识别，请写成 YYYY-MM-DD，例如 2026-11-23") from None


# -- building ------------------------------------------------------------------------------------------
def build_report(session: Session, services: Services, start: date, end: date,
                 now: datetime | None = None) -> Report:
    now = now or utcnow()
    begin, finish = period_bounds(services.tz, start, end)
    rows = _complaints(session, begin, finish)
    events = _events(session, begin, finish)
    deadlines = _deadlines(session, begin, finish)
    scores = _answered_scores(session, begin, finish)
    hours = [(row.resolved_at - row.created_at).total_seconds() / 3600 for row in rows if row.resolved_at]
    reached = {cid for cid, kind, _ in events if kind == "complete"}
    reopened = {cid for cid, kind, _ in events if kind == "reopened"}
    invalid = [row for row in rows if row.status == c.INVALID]
    return Report(
        start=start, end=end, total=len(rows),
        by_category=_ranked(Counter(row.category or NO_CATEGORY for row in rows)),
        by_department=_ranked(Counter(row.department or NO_DEPARTMENT for row in rows)),
        by_place=_ranked(Counter(row.location or NO_PLACE for row in rows)),
        trend=_trend(rows, services.tz, start, end),
        hotspots=_hotspots(rows),
        emergencies=[_emergency(row, services.tz) for row in rows if row.emergency],
        accept_on_time=on_time([d for d in deadlines if d.stage == "accept"], now),
        complete_on_time=on_time([d for d in deadlines if d.stage == "complete"], now),
        handling_median_hours=_percentile(hours, 0.5),
        handling_p90_hours=_percentile(hours, 0.9),
        satisfaction_avg=_average([s for s in scores if s is not None]),
        satisfied=Rate(sum(1 for s in scores if s is not None and s >= 4), len(scores)),
        reopen_rate=Rate(len(reopened & reached), len(reached)),
        invalid=Rate(len(invalid), len(rows)),
        invalid_reasons=_invalid_reasons(invalid, events),
        top_reporters=_top_reporters(rows, services),
    )


def _in_period(begin: datetime, finish: datetime):
    return select(Complaint.id).where(Complaint.created_at >= begin, Complaint.created_at < finish)


def _complaints(session: Session, begin: datetime, finish: datetime) -> list[Complaint]:
    return list(session.execute(select(Complaint).where(
        Complaint.created_at >= begin, Complaint.created_at < finish)
        .order_by(Complaint.created_at, Complaint.id)).scalars())


def _events(session: Session, begin: datetime, finish: datetime) -> list[tuple[int, str, str | None]]:
    """(complaint id, kind, comment) of the events the figures need."""
    return list(session.execute(select(ComplaintEvent.complaint_id, ComplaintEvent.kind, ComplaintEvent.comment)
                                .where(ComplaintEvent.complaint_id.in_(_in_period(begin, finish)),
                                       ComplaintEvent.kind.in_(("complete", "reopened", "invalid")))
                                .order_by(ComplaintEvent.id)).tuples())


def _deadlines(session: Session, begin: datetime, finish: datetime) -> list[Deadline]:
    return list(session.execute(select(Deadline).where(
        Deadline.complaint_id.in_(_in_period(begin, finish)), Deadline.stage.in_(("accept", "complete"))))
        .scalars())


def _answered_scores(session: Session, begin: datetime, finish: datetime) -> list[int | None]:
    return list(session.execute(select(Survey.score).where(
        Survey.status.in_(ANSWERED), Survey.answered_at >= begin, Survey.answered_at < finish)).scalars())


def _ranked(counts: Counter) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def _trend(rows: list[Complaint], tz: ZoneInfo, start: date, end: date) -> list[tuple[date, int]]:
    per_day = Counter(row.created_at.astimezone(tz).date() for row in rows)
    return [(start + timedelta(days=n), per_day[start + timedelta(days=n)]) for n in range((end - start).days + 1)]


def _hotspots(rows: list[Complaint]) -> list[tuple[str, str, int]]:
    """The same kind of problem at the same place, reported again and again."""
    counts = Counter((row.location, row.category or NO_CATEGORY) for row in rows if row.location)
    ranked = sorted(((place, category, n) for (place, category), n in counts.items() if n >= 2),
                    key=lambda item: (-item[2], item[0], item[1]))
    return ranked[:TOP]


def _emergency(row: Complaint, tz: ZoneInfo) -> dict:
    return {"number": row.number, "location": row.location or NO_PLACE, "description": row.description,
            "created": row.created_at.astimezone(tz), "status": c.status_label(row.status)}


def _verdict(deadline: Deadline, now: datetime) -> bool | None:
    """True on time, False late, None not decided (see the module's docstring)."""
    if deadline.status == "met":
        return deadline.met_at <= deadline.due_at
    if deadline.status == "cancelled":
        return False if deadline.met_at and deadline.met_at > deadline.due_at else None
    stood_at = deadline.paused_at or now  # a paused clock is judged where it stopped
    return False if stood_at > deadline.due_at else None


def on_time(deadlines: list[Deadline], now: datetime) -> Rate:
    """Deadlines met in time among those already decided (the console uses it too)."""
    verdicts = [v for v in (_verdict(d, now) for d in deadlines) if v is not None]
    return Rate(sum(verdicts), len(verdicts))


def _percentile(values: list[float], share: float) -> float | None:
    """Linear interpolation between the closest ranks (numpy's default)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * share
    low, high = math.floor(position), math.ceil(position)
    return round(ordered[low] + (ordered[high] - ordered[low]) * (position - low), 2)


def _average(values: list[int]) -> float | None:
    return round(sum(values) / len(values), 2) if values else None


def _invalid_reasons(invalid: list[Complaint], events) -> list[tuple[str, int]]:
    ids = {row.id for row in invalid}
    reason = {cid: (comment or "").strip() or NO_REASON for cid, kind, comment in events
              if kind == "invalid" and cid in ids}  # the latest judgement wins
    return _ranked(Counter(reason.get(cid, NO_REASON) for cid in ids))


def _top_reporters(rows: list[Complaint], services: Services) -> list[tuple[str, str, int]]:
    counts = Counter(row.occupant_id for row in rows if not row.anonymous)
    directory = services.directory()
    return [(userid, directory.name_of(userid), n) for userid, n in _ranked(counts) if n >= 2][:TOP]


# -- the raw list --------------------------------------------------------------------------------------
def complaint_rows(session: Session, services: Services, start: date, end: date) -> list[dict]:
    """Every complaint of the period, one flat row each (local, naive times: Excel has no time zones)."""
    begin, finish = period_bounds(services.tz, start, end)
    directory = services.directory()
    scores = dict(session.execute(select(Survey.complaint_id, Survey.score).where(
        Survey.complaint_id.in_(_in_period(begin, finish)), Survey.status.in_(ANSWERED))
        .order_by(Survey.id)).tuples().all())  # the latest answer wins

    def local(moment: datetime | None) -> datetime | None:
        return moment.astimezone(services.tz).replace(tzinfo=None) if moment else None

    return [{"number": row.number, "created": local(row.created_at), "status": c.status_label(row.status),
             "category": row.category or "", "subcategory": row.subcategory or "", "location": row.location or "",
             "department": row.department or "", "emergency": row.emergency, "description": row.description,
             "assignee": directory.name_of(row.assignee) if row.assignee else "",
             "resolved": local(row.resolved_at), "score": scores.get(row.id)}
            for row in _complaints(session, begin, finish)]


# -- figures in words ----------------------------------------------------------------------------------
def _hours(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} 小时"


def _score(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} 分"


def _share(count: int, total: int) -> str:
    return f"{(200 * count + total) // (2 * total)}%" if total else "—"


def key_figures(report: Report) -> list[tuple[str, str]]:
    """The headline numbers, in the order every view shows them."""
    return [
        ("统计期间", report.period_text),
        ("投诉总数", f"{report.total} 件"),
        ("紧急投诉", f"{len(report.emergencies)} 件"),
        ("受理及时率", report.accept_on_time.text),
        ("完成及时率", report.complete_on_time.text),
        ("处理时长中位数", _hours(report.handling_median_hours)),
        ("处理时长 90 分位", _hours(report.handling_p90_hours)),
        ("平均满意度", _score(report.satisfaction_avg)),
        ("满意率（4 分及以上）", report.satisfied.text),
        ("重新打开率", report.reopen_rate.text),
        ("不成立比例", report.invalid.text),
    ]


# -- terminal tables -----------------------------------------------------------------------------------
def _width(text: str) -> int:
    """Columns a string takes in a terminal: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def _pad(text: str, width: int, right: bool) -> str:
    gap = " " * (width - _width(text))
    return gap + text if right else text + gap


def _table(headers: list[str], rows: list[tuple]) -> list[str]:
    if not rows:
        return ["（无）"]
    cells = [headers, *[[str(value) for value in row] for row in rows]]
    widths = [max(_width(line[i]) for line in cells) for i in range(len(headers))]
    numeric = [all(isinstance(row[i], (int, float)) for row in rows) for i in range(len(headers))]

    def line(values: list[str]) -> str:
        return "  ".join(_pad(v, w, right) for v, w, right in zip(values, widths, numeric)).rstrip()

    return [line(headers), "  ".join("-" * w for w in widths), *(line(values) for values in cells[1:])]


def _sections(report: Report, include_people: bool) -> list[tuple[str, list[str], list[tuple]]]:
    total = report.total
    sections = [
        ("概览", ["指标", "数值"], key_figures(report)),
        ("按类别", ["类别", "件数", "占比"], [(name, n, _share(n, total)) for name, n in report.by_category]),
        ("按部门", ["部门", "件数", "占比"], [(name, n, _share(n, total)) for name, n in report.by_department]),
        ("按地点", ["地点", "件数"], report.by_place),
        ("热点（同一地点同类问题 2 次及以上）", ["地点", "类别", "次数"], report.hotspots),
        ("紧急", ["编号", "登记时间", "地点", "状态", "问题"],
         [(e["number"], f"{e['created']:%m-%d %H:%M}", e["location"], e["status"], e["description"][:30])
          for e in report.emergencies]),
        ("不成立原因", ["理由", "件数"], report.invalid_reasons),
    ]
    if include_people:
        sections.append(("投诉最多的人（不含匿名）", ["账号", "姓名", "件数"], report.top_reporters))
    sections.append(("每日趋势", ["日期", "件数", ""], [(f"{day:%m-%d}", n, "#" * n) for day, n in report.trend]))
    return sections


def render_text(report: Report, include_people: bool) -> str:
    lines = [f"后勤投诉汇总 {report.period_text}"]
    for title, headers, rows in _sections(report, include_people):
        lines += ["", f"【{title}】", *_table(headers, rows)]
    return "\n".join(lines) + "\n"


# -- WeCom markdown ------------------------------------------------------------------------------------
def render_markdown(report: Report, console_url: str) -> str:
    """Key figures for the leaders' phones; the details are one tap away.
    The lists below the figures are cut from the end until it fits WeCom's limit."""
    head = ["## 后勤投诉汇总", f'<font color="comment">{report.period_text}</font>',
            *(f"> {name}：**{value}**" for name, value in key_figures(report)[1:])]
    link = f"[打开管理后台查看明细]({console_url})"
    extra = _markdown_details(report)
    while extra and _bytes([*head, *extra, "", link]) > MARKDOWN_LIMIT:
        extra.pop()
    return "\n".join([*head, *extra, "", link])  # the head is figures only: a few hundred bytes


def _markdown_details(report: Report) -> list[str]:
    # A blank line before each block keeps it out of the quote above it.
    lines = []
    if report.by_category:
        lines += ["", "**类别**：" + "、".join(f"{name} {n}" for name, n in report.by_category[:5])]
    if report.hotspots:
        lines += ["", "**热点**", *(f"> {place[:30]} · {category} {n} 次" for place, category, n in report.hotspots[:5])]
    if report.emergencies:
        lines += ["", "**紧急**",
                  *(f"> {e['number']} {e['location'][:30]}（{e['status']}）" for e in report.emergencies)]
    return lines


def _bytes(lines: list[str]) -> int:
    return len("\n".join(lines).encode("utf-8"))


# -- Excel ---------------------------------------------------------------------------------------------
class _Share(float):
    """A 0–1 value shown as a percentage in the workbook."""


DETAIL_COLUMNS = (("number", "编号"), ("created", "登记时间"), ("status", "状态"), ("category", "类别"),
                  ("subcategory", "子类"), ("location", "地点"), ("department", "责任部门"), ("emergency", "紧急"),
                  ("description", "问题描述"), ("assignee", "承办人"), ("resolved", "处理完毕时间"),
                  ("score", "回访评分"))


def _rate_row(name: str, rate: Rate) -> tuple:
    return (name, None if rate.value is None else _Share(rate.value), rate.numerator, rate.denominator)


def _workbook_sheets(report: Report, rows: list[dict], include_people: bool) -> list[tuple[str, list, list]]:
    total = report.total
    sheets = [
        ("概览", ["指标", "数值"], key_figures(report)),
        ("按类别", ["类别", "件数", "占比"], [(k, n, _Share(n / total)) for k, n in report.by_category]),
        ("按部门", ["部门", "件数", "占比"], [(k, n, _Share(n / total)) for k, n in report.by_department]),
        ("按地点", ["地点", "件数"], report.by_place),
        ("热点", ["地点", "类别", "次数"], report.hotspots),
        ("紧急", ["编号", "登记时间", "地点", "状态", "问题描述"],
         [(e["number"], e["created"].replace(tzinfo=None), e["location"], e["status"], e["description"])
          for e in report.emergencies]),
        # Excel forbids "/" in sheet names, hence 满意度与时效.
        ("满意度与时效", ["指标", "数值", "达标（件）", "总数（件）"], [
            _rate_row("受理及时率", report.accept_on_time), _rate_row("完成及时率", report.complete_on_time),
            ("处理时长中位数（小时）", report.handling_median_hours, None, None),
            ("处理时长 90 分位（小时）", report.handling_p90_hours, None, None),
            ("平均满意度（分）", report.satisfaction_avg, None, None),
            _rate_row("满意率（4 分及以上）", report.satisfied), _rate_row("重新打开率", report.reopen_rate),
            _rate_row("不成立比例", report.invalid)]),
        ("不成立原因", ["理由", "件数"], report.invalid_reasons),
    ]
    if include_people:
        sheets.append(("投诉最多的人", ["账号", "姓名", "件数"], report.top_reporters))
    sheets.append(("每日趋势", ["日期", "件数"], report.trend))
    detail = [[("是" if row[key] else "否") if key == "emergency" else row[key] for key, _ in DETAIL_COLUMNS]
              for row in rows]
    sheets.append(("明细", [label for _, label in DETAIL_COLUMNS], detail))
    return sheets


def write_xlsx(report: Report, rows: list[dict], path, include_people: bool) -> None:
    from openpyxl import Workbook  # only the export needs it; the scheduler stays light

    book = Workbook()
    book.remove(book.active)
    for title, headers, data in _workbook_sheets(report, rows, include_people):
        _fill_sheet(book.create_sheet(title), headers, data)
    book.save(path)


def _fill_sheet(sheet, headers: list[str], data: list) -> None:
    from openpyxl.utils import get_column_letter

    append_header(sheet, headers)
    for values in data:
        append_row(sheet, values)
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            cell.number_format = _number_format(cell.value) or cell.number_format
    sheet.freeze_panes = "A2"
    for index, header in enumerate(headers, start=1):
        shown = [header, *(_shown(values[index - 1]) for values in data)]
        sheet.column_dimensions[get_column_letter(index)].width = min(max(map(_width, shown)) + 2, 60)


def _number_format(value) -> str | None:
    if isinstance(value, _Share):
        return "0%"
    if isinstance(value, datetime):
        return "yyyy-mm-dd hh:mm"
    if isinstance(value, date):
        return "yyyy-mm-dd"
    return None


def _shown(value) -> str:
    """Roughly what a cell displays, to size its column."""
    if isinstance(value, datetime):
        return "2026-01-01 00:00"
    return "" if value is None else str(value)
