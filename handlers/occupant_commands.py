"""What occupants can ask for about their own complaints: the list (我的投诉 /
进度), one complaint (进度 TS…), additions (补充 TS…) and withdrawal (撤销 TS…).
They only ever see their own."""
from __future__ import annotations

import re

from bot import complaints, lifecycle
from bot.models import Complaint
from dialogs.questions import list_own, short
from dialogs.state import SupplementPointer
from handlers.command_syntax import command_pattern, parse
from handlers.context import Context

LIST_WORDS = {"我的投诉", "进度", "查询", "查进度", "查询进度", "我的", "投诉记录"}
COMMAND = command_pattern(("进度", "查询", "详情", "补充", "撤销", "撤回"))


def run(ctx: Context, text: str) -> str | None:
    """The reply to a command, or None when the text is not one."""
    if re.sub(r"\s", "", text) in LIST_WORDS:
        return list_own(ctx)
    command = parse(COMMAND, text)
    if command is None:
        return None
    word, number, rest = command.word, command.number, command.rest
    if number is None:
        if word in ("进度", "查询") and not rest:
            return list_own(ctx)
        if word == "补充" and rest:  # "补充一下，我电话…": the complaint just registered
            from dialogs.intake import IntakeDialog  # the dialog imports this module's list
            added = IntakeDialog(ctx).supplement_recent(rest)
            if added:
                return added
        return ctx.text("number_missing", command=word) if not rest or word in ("补充", "撤销", "撤回") else None
    complaint = complaints.find_by_number(ctx.session, number)
    if complaint is None or complaint.occupant_id != ctx.user:
        return ctx.text("complaint_not_found", number=number)
    if word == "补充":
        return supplement(ctx, complaint, rest, None) if rest else _await_supplement(ctx, complaint)
    if word in ("撤销", "撤回"):
        return withdraw(ctx, complaint)
    return detail(ctx, complaint)


def detail(ctx: Context, complaint: Complaint) -> str:
    # Occupants see their own history, but never internal notes (links, flags).
    visible = [e for e in complaint.events if e.kind not in {"linked", "compensation_flagged"}][-5:]
    events = "\n".join(f"· {_local(ctx, e.at)} {complaints.event_label(e.kind)}" for e in visible)
    return ctx.text("complaint_detail", number=complaint.number, status=complaints.status_label(complaint.status),
                    description=short(complaint.description, 100), location=complaint.location or "未说明",
                    department=complaint.department or "待分派", created=_local(ctx, complaint.created_at),
                    events=events)


def supplement(ctx: Context, complaint: Complaint, text: str | None, media_id: str | None) -> str:
    if media_id:
        complaints.attach_media(ctx.session, complaint, kind="image", media_id=media_id, actor=ctx.user)
    if text:
        complaints.record_event(ctx.session, complaint, ctx.user, "supplement", comment=text)
    return ctx.text("supplement_added", number=complaint.number)


def _await_supplement(ctx: Context, complaint: Complaint) -> str:
    SupplementPointer(ctx.kv, ctx.services.settings.redis_prefix).point(ctx.user, complaint.number)
    return ctx.text("supplement_waiting", number=complaint.number)


def withdraw(ctx: Context, complaint: Complaint) -> str:
    if complaint.status not in complaints.WITHDRAWABLE:
        return ctx.text("withdraw_not_allowed", number=complaint.number,
                        status=complaints.status_label(complaint.status), phone=ctx.services.settings.service.phone)
    try:
        complaints.set_status(ctx.session, complaint, complaints.WITHDRAWN, ctx.user, "withdrawn")
    except complaints.StaleStatus:  # staff took it on at the same moment
        return ctx.text("withdraw_not_allowed", number=complaint.number,
                        status=complaints.status_label(complaint.status), phone=ctx.services.settings.service.phone)
    lifecycle.after_withdrawal(ctx.session, ctx.services, complaint)
    return ctx.text("withdrawn", number=complaint.number)


def _local(ctx: Context, moment) -> str:
    return moment.astimezone(ctx.services.tz).strftime("%m-%d %H:%M")
