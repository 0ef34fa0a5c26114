"""Staff and leaders working from WeCom: short text commands and card
buttons. Every command is validated with a clear answer: wrong number, wrong
state, wrong person, or the right form when the syntax is off."""
from __future__ import annotations

from bot import complaints, outbox, workflow
from bot.actions import perform_action
from bot.cards import history_lines
from bot.directory import Directory
from bot.models import Complaint
from bot.workflow import WorkflowError
from dialogs.state import SupplementPointer
from handlers.command_syntax import Command, command_pattern
from handlers.command_syntax import parse as parse_command
from handlers.context import Context

WORDS = ("待办", "帮助", "受理", "原因", "方案", "完成", "转派", "不成立", "详情", "同意", "驳回", "等待", "恢复")
COMMAND = command_pattern(WORDS)
# Command word -> workflow action (the rest are views).
ACTIONS = {"受理": "accept", "原因": "cause", "方案": "solution", "完成": "complete", "不成立": "invalid",
           "同意": "approve", "驳回": "reject", "等待": "wait", "恢复": "resume", "转派": "transfer"}
# What a click on a card button that needs words asks for.
NEEDS_WORDS = {"invalid": "不成立", "transfer": "转派", "reject": "驳回"}


def parse(text: str) -> Command | None:
    return parse_command(COMMAND, text)


def run(ctx: Context, command: Command) -> str:
    directory = ctx.services.directory()
    if command.word == "待办":
        return todo(ctx, directory)
    if command.word == "帮助":
        return ctx.text("staff_help", invalid_reasons=_numbered(ctx.services.settings.invalid_reasons))
    if command.number is None:
        return ctx.text("staff_form", form=ctx.text(f"form_{ACTIONS.get(command.word, 'detail')}"))
    complaint = complaints.find_by_number(ctx.session, command.number)
    if complaint is None:
        return ctx.text("staff_no_such_complaint", number=command.number)
    if command.word == "详情":
        return detail(ctx, directory, complaint)
    try:
        return act(ctx, directory, complaint, ACTIONS[command.word], command.rest)
    except WorkflowError as refused:
        return _refusal(ctx, refused, ACTIONS[command.word])


def act(ctx: Context, directory: Directory, complaint: Complaint, action: str, text: str | None,
        click_code: str | None = None) -> str:
    if action == "transfer":
        return _transfer(ctx, directory, complaint, text)
    perform_action(ctx.session, ctx.services, directory, complaint, action, ctx.user, text, click_code=click_code)
    if action == "complete":
        _completion_photos_go_to(ctx, complaint)
    return ctx.text(f"staff_done_{action}", number=complaint.number,
                    status=complaints.status_label(complaint.status))


def on_card_click(ctx: Context, key: str, response_code: str | None) -> None:
    """A button on a task or approval card. The answer goes back as a pushed
    text (a card event's passive reply cannot be a text)."""
    action, _, number = (key or "").partition(":")
    directory = ctx.services.directory()
    complaint = complaints.find_by_number(ctx.session, number)
    # Task cards only go to staff and the duty roster: from anyone else a
    # click is forged, and its answer must not tell whose complaint is where.
    if complaint is None or action not in workflow.ACTIONS or not _may_press_buttons(directory, ctx.user):
        reply = ctx.text("staff_unknown_button")
    elif action in NEEDS_WORDS:
        reply = _ask_for_words(ctx, complaint, action)
    else:
        try:
            reply = act(ctx, directory, complaint, action, None, click_code=response_code)
        except WorkflowError as refused:
            reply = _refusal(ctx, refused, action)
    outbox.push_text(ctx.session, ctx.user, reply)


def _may_press_buttons(directory: Directory, userid: str) -> bool:
    return directory.is_staff(userid) or userid in directory.duty_people()


def todo(ctx: Context, directory: Directory) -> str:
    query = complaints.visible_to(directory, ctx.user).where(Complaint.status.in_(complaints.OPEN_STATUSES))
    rows = ctx.session.execute(query.order_by(Complaint.emergency.desc(), Complaint.id).limit(20)).scalars().all()
    if not rows:
        return ctx.text("staff_todo_empty")
    lines = "\n".join(ctx.text("staff_todo_line", number=c.number, status=complaints.status_label(c.status),
                               urgent="【紧急】" if c.emergency else "", location=c.location or "",
                               description=c.description[:20]) for c in rows)
    return ctx.text("staff_todo", lines=lines, count=len(rows))


def detail(ctx: Context, directory: Directory, complaint: Complaint) -> str:
    if not (directory.may_handle_complaint(ctx.user, complaint)
            or directory.may_approve(ctx.user, complaint.department)):
        return ctx.text("not_your_department", number=complaint.number, department=complaint.department)
    reporter = "匿名" if complaint.anonymous else directory.name_of(complaint.occupant_id)
    phone = "（匿名）" if complaint.anonymous else (complaint.contact_phone or "未留")
    allowed = "、".join(a.label for a in workflow.allowed_actions(directory, complaint, ctx.user)) or "无"
    return ctx.text("staff_detail", number=complaint.number, status=complaints.status_label(complaint.status),
                    category=complaint.category, location=complaint.location or "未说明",
                    description=complaint.description[:300], department=complaint.department,
                    reporter=reporter, phone=phone, recent=complaint.reporter_recent_count,
                    reporters=complaints.reporters_count(ctx.session, complaint), photos=len(complaint.attachments),
                    history=history_lines(directory, complaint, ctx.services.tz), allowed=allowed)


def _transfer(ctx: Context, directory: Directory, complaint: Complaint, text: str | None) -> str:
    target, reason = ((text or "").split(maxsplit=1) + ["", ""])[:2]  # also a full-width space
    department = directory.find_department(target) if target else None
    if department is None or not reason.strip():
        return ctx.text("staff_form", form=ctx.text("form_transfer")) + "\n" + \
            ctx.text("known_departments", departments="、".join(directory.departments))
    perform_action(ctx.session, ctx.services, directory, complaint, "transfer", ctx.user, reason,
                   department=department.name)
    return ctx.text("staff_done_transfer", number=complaint.number, department=department.name)


def _ask_for_words(ctx: Context, complaint: Complaint, action: str) -> str:
    directory = ctx.services.directory()
    try:  # refuse now rather than after the person has typed a reason
        workflow.check(directory, complaint, action, ctx.user)
    except WorkflowError as refused:
        return _refusal(ctx, refused, action)
    return ctx.text(f"staff_ask_{action}", number=complaint.number,
                    reasons=_numbered(ctx.services.settings.invalid_reasons),
                    departments="、".join(d for d in directory.departments if d != complaint.department))


def completion_photo(ctx: Context) -> str | None:
    """A photo from staff right after 完成 TS… belongs to that complaint."""
    number = SupplementPointer(ctx.kv, ctx.services.settings.redis_prefix).target(ctx.user)
    complaint = complaints.find_by_number(ctx.session, number) if number else None
    if complaint is None or not ctx.services.directory().may_handle_complaint(ctx.user, complaint):
        return None
    complaints.attach_media(ctx.session, complaint, kind="image", media_id=ctx.message.media_id, actor=ctx.user)
    complaints.record_event(ctx.session, complaint, ctx.user, "completion_photo")
    return ctx.text("staff_photo_added", number=complaint.number)


def _completion_photos_go_to(ctx: Context, complaint: Complaint) -> None:
    SupplementPointer(ctx.kv, ctx.services.settings.redis_prefix).point(ctx.user, complaint.number)


def _refusal(ctx: Context, refused: WorkflowError, action: str) -> str:
    text = ctx.text(refused.reason, **refused.values)
    if refused.reason == "needs_text":
        text += "\n" + ctx.text("staff_form", form=ctx.text(f"form_{action}"))
    return text


def _numbered(items: list[str]) -> str:
    return "\n".join(f"{i}. {item}" for i, item in enumerate(items, 1))
