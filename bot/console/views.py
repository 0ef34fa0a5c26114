"""The console's pages. Permissions are the chat commands' own (bot.workflow
and the directory), checked here on the server for every request."""
from __future__ import annotations

import io
import logging
import secrets
from collections import Counter
from datetime import timedelta
from pathlib import Path

from flask import (Blueprint, abort, flash, g, redirect, render_template, request, send_file, session,
                   url_for)
from flask_wtf.csrf import CSRFError
from sqlalchemy import func, select

from bot import complaints, workflow
from bot.actions import perform_action
from bot.config import CATEGORIES
from bot.console import auth
from bot.console.auth import login_required
from bot.console.queries import Filters, filtered, visible_complaints
from bot.models import Attachment, Complaint, Deadline, Survey, utcnow
from bot.reports import on_time
from bot.spreadsheet import append_header, append_row
from bot.wecom.client import WeComError
from bot.workflow import WorkflowError

log = logging.getLogger(__name__)
blueprint = Blueprint("console", __name__, url_prefix="/console", template_folder="templates",
                      static_folder="static")
DASHBOARD_DAYS = 30
MAX_ID = 2**31 - 1  # the largest id an INTEGER column holds: a larger one is no attachment


@blueprint.before_request
def refuse_nul_characters():
    """No browser sends a NUL character, and PostgreSQL text cannot hold one:
    refuse it here rather than fail on it in a query."""
    values = [request.path, *(part for item in request.args.items(multi=True) for part in item)]
    if request.method == "POST":
        values += [part for item in request.form.items(multi=True) for part in item]
    if any("\x00" in value for value in values):
        abort(400, "请求中含有无效字符。")


# -- signing in and out -------------------------------------------------------------
@blueprint.get("/login")
def login():
    settings = auth.services().settings
    return render_template("console/login.html", password_login=bool(settings.console.admin_password),
                           next=request.args.get("next", ""))


@blueprint.post("/login")
def login_with_password():
    if not auth.check_password(request.form.get("password", "")):
        flash("密码不正确。")
        return redirect(url_for("console.login", next=request.form.get("next", "")))
    auth.start_session(auth.LOCAL_ADMIN)
    return redirect(auth.safe_next(request.form.get("next")))


@blueprint.get("/login/wecom")
def login_with_wecom():
    state = secrets.token_urlsafe(16)
    session["oauth_state"] = state
    session["oauth_next"] = request.args.get("next", "")
    return redirect(auth.oauth_redirect(state))


@blueprint.get("/oauth")
def oauth():
    if not request.args.get("state") or request.args.get("state") != session.pop("oauth_state", None):
        abort(400, "登录请求已失效，请重新登录。")
    try:
        userid = auth.services().wecom.oauth_userinfo(request.args.get("code", "")).get("userid")
    except WeComError as error:
        log.warning("企业微信网页授权失败：%s", error)
        abort(403, "企业微信登录失败，请重新登录。")
    if not userid or not auth.services().directory().is_staff(userid):
        abort(403, "您不在后勤工作人员名单中，无法使用管理后台。")
    next_page = session.pop("oauth_next", "")
    auth.start_session(userid)
    return redirect(auth.safe_next(next_page))


@blueprint.post("/logout")
def logout():
    session.clear()
    return redirect(url_for("console.login"))


# -- pages --------------------------------------------------------------------------
@blueprint.get("/")
@login_required
def dashboard():
    services = auth.services()
    directory = services.directory()
    since = utcnow() - timedelta(days=DASHBOARD_DAYS)
    with services.db.session() as db:
        recent = db.execute(visible_complaints(g.viewer, directory).where(Complaint.created_at >= since)) \
            .scalars().all()
        charts = _charts(db, services, recent)
        overdue = _overdue_count(db, [c.id for c in recent])
    return render_template("console/dashboard.html", charts=charts, total=len(recent), overdue=overdue,
                           days=DASHBOARD_DAYS, open_count=sum(c.status in complaints.OPEN_STATUSES for c in recent))


@blueprint.get("/complaints")
@login_required
def complaint_list():
    services = auth.services()
    directory = services.directory()
    filters = Filters.from_args(request.args)
    size = services.settings.console.page_size
    with services.db.session() as db:
        query = filtered(g.viewer, directory, filters, services.tz)
        total = db.execute(select(func.count()).select_from(query.order_by(None).subquery())).scalar_one()
        pages = max(1, -(-total // size))
        filters.page = min(filters.page, pages)  # past the end: show the last page
        rows = db.execute(query.offset((filters.page - 1) * size).limit(size)).scalars().all()
    return render_template("console/list.html", rows=rows, filters=filters, total=total, pages=pages,
                           statuses=complaints.STATUS_LABELS, categories=CATEGORIES,
                           departments=list(directory.departments), status_label=complaints.status_label,
                           tz=services.tz)


@blueprint.get("/complaints/export.xlsx")
@login_required
def export():
    services = auth.services()
    filters = Filters.from_args(request.args)
    with services.db.session() as db:
        rows = db.execute(filtered(g.viewer, services.directory(), filters, services.tz)).scalars().all()
        workbook = _workbook(services, rows)
    return send_file(workbook, as_attachment=True, download_name="投诉列表.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@blueprint.get("/complaints/<number>")
@login_required
def complaint_page(number: str):
    services = auth.services()
    directory = services.directory()
    with services.db.session() as db:
        complaint = _visible_or_404(db, directory, number)
        surveys = db.execute(select(Survey).where(Survey.complaint_id == complaint.id).order_by(Survey.id)).scalars()
        actions = workflow.allowed_actions(_acting(directory), complaint, _actor())
        return render_template(
            "console/detail.html", c=complaint, events=complaint.events, attachments=complaint.attachments,
            surveys=list(surveys), actions=actions, directory=directory, tz=services.tz,
            status_label=complaints.status_label, event_label=complaints.event_label,
            reasons=services.settings.invalid_reasons, departments=[d for d in directory.departments
                                                                    if d != complaint.department],
            reporter="匿名" if complaint.anonymous and not g.viewer.sees_everything(directory)
            else directory.name_of(complaint.occupant_id))


@blueprint.post("/complaints/<number>/act")
@login_required
def act(number: str):
    services = auth.services()
    directory = services.directory()
    action = request.form.get("action", "")
    with services.db.session() as db:
        complaint = _visible_or_404(db, directory, number)
        if action not in workflow.ACTIONS:
            abort(400, "未知的操作。")
        try:
            perform_action(db, services, _acting(directory), complaint, action, _actor(), request.form.get("text"),
                           department=request.form.get("department") or None)
        except WorkflowError as refused:
            db.rollback()
            flash(services.texts(refused.reason, **refused.values))
        else:
            flash(f"已{workflow.ACTIONS[action].label}：{complaint.number}（现在：{complaints.status_label(complaint.status)}）")
            if not g.viewer.may_see(directory, complaint):  # transferred away: its page is no longer theirs
                return redirect(url_for("console.complaint_list"))
    return redirect(url_for("console.complaint_page", number=number))


@blueprint.get("/attachments/<int:attachment_id>")
@login_required
def attachment(attachment_id: int):
    services = auth.services()
    with services.db.session() as db:
        item = db.get(Attachment, attachment_id) if attachment_id <= MAX_ID else None
        if item is None or not g.viewer.may_see(services.directory(), item.complaint) or not item.path:
            abort(404)
        path = Path(item.path)
        if not path.is_file():
            abort(404)
        # Photos are shown; anything else people sent (HTML, SVG…) only as a download, never rendered here.
        inline = (item.content_type or "").startswith("image/") and item.content_type != "image/svg+xml"
        return send_file(path.resolve(), mimetype=item.content_type if inline else "application/octet-stream",
                         as_attachment=not inline, download_name=path.name)


@blueprint.errorhandler(400)
@blueprint.errorhandler(403)
@blueprint.errorhandler(404)
def error_page(error):
    messages = {404: "没有找到这个页面，或您没有查看它的权限。"}
    message = messages.get(error.code) or error.description
    if isinstance(error, CSRFError):  # Flask-WTF's reason is in English
        message = "页面已过期或来源不明，请返回刷新后再试。"
    return render_template("console/error.html", message=message, code=error.code), error.code


# -- helpers --------------------------------------------------------------------------
def _actor() -> str:
    """Actions of the local administrator are recorded under that name."""
    return "本地管理员" if g.viewer.local_admin else g.viewer.userid


def _acting(directory):
    return directory.with_admin(_actor()) if g.viewer.local_admin else directory


def _visible_or_404(db, directory, number: str) -> Complaint:
    complaint = complaints.find_by_number(db, number)
    if complaint is None or not g.viewer.may_see(directory, complaint):
        abort(404)  # not "forbidden": whether it exists is not for this viewer to learn
    return complaint


def _charts(db, services, recent: list[Complaint]) -> dict:
    today = utcnow().astimezone(services.tz).date()
    days = [today - timedelta(days=n) for n in range(DASHBOARD_DAYS - 1, -1, -1)]
    per_day = Counter(c.created_at.astimezone(services.tz).date() for c in recent)
    ids = [c.id for c in recent]
    hotspots = Counter((c.location, c.category) for c in recent if c.location).most_common(8)
    return {
        "category": {"labels": list(CATEGORIES), "values": [sum(c.category == k for c in recent) for k in CATEGORIES]},
        "trend": {"labels": [d.strftime("%m-%d") for d in days], "values": [per_day[d] for d in days]},
        "timeliness": _timeliness(db, ids),
        "satisfaction": _satisfaction(db, ids),
        "hotspots": {"labels": [f"{place}·{category}" for (place, category), _ in hotspots if _ > 1],
                     "values": [n for _, n in hotspots if n > 1]},
    }


def _timeliness(db, ids: list[int]) -> dict:
    """Share of deadlines met in time, per stage — judged as the reports judge it."""
    rows = db.execute(select(Deadline).where(Deadline.complaint_id.in_(ids),
                                             Deadline.stage.in_(("accept", "complete")))).scalars().all()
    now = utcnow()
    rates = [on_time([d for d in rows if d.stage == stage], now) for stage in ("accept", "complete")]
    return {"labels": ["按时受理", "按时完成"], "values": [round(100 * (rate.value or 0)) for rate in rates]}


def _satisfaction(db, ids: list[int]) -> dict:
    scores = db.execute(select(Survey.score).where(Survey.complaint_id.in_(ids), Survey.score.is_not(None))) \
        .scalars().all()
    counts = Counter(scores)
    return {"labels": [f"{n} 分" for n in range(1, 6)], "values": [counts[n] for n in range(1, 6)]}


def _overdue_count(db, ids: list[int]) -> int:
    return db.execute(select(func.count(func.distinct(Deadline.complaint_id))).where(
        Deadline.complaint_id.in_(ids), Deadline.status == "open", Deadline.due_at < utcnow())).scalar_one()


def _workbook(services, rows: list[Complaint]) -> io.BytesIO:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "投诉列表"
    append_header(sheet, ("编号", "登记时间", "状态", "类别", "子类", "地点", "负责部门", "紧急", "问题"))
    for c in rows:
        append_row(sheet, (c.number, c.created_at.astimezone(services.tz).strftime("%Y-%m-%d %H:%M"),
                           complaints.status_label(c.status), c.category, c.subcategory or "", c.location or "",
                           c.department or "", "是" if c.emergency else "", c.description))
    for column, width in zip("ABCDEFGHI", (18, 18, 10, 10, 10, 16, 14, 6, 60)):
        sheet.column_dimensions[column].width = width
    buffer = io.BytesIO()
    book.save(buffer)
    buffer.seek(0)
    return buffer
