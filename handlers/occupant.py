"""Messages from occupants: their commands first (进度, 补充, 撤销), then the
intake dialog, which holds the conversation until a complaint is registered."""
from __future__ import annotations

from datetime import timedelta

from bot import complaints
from bot.models import utcnow
from dialogs.answers import meaningful_length
from dialogs.intake import IntakeDialog, Turn
from handlers import follow_up, occupant_commands
from handlers.context import Context, Outcome

# A photo sent this soon after registering belongs to that complaint.
RECENT_COMPLAINT = timedelta(minutes=30)
MEANINGFUL_SUPPLEMENT = 3


def on_text(ctx: Context) -> Outcome:
    return Outcome(converse(ctx, Turn(text=ctx.message.content or "")))


def on_voice(ctx: Context) -> Outcome:
    recognition = (ctx.message.recognition or "").strip()
    if not recognition:
        return Outcome(ctx.text("voice_not_recognized"))
    return Outcome(converse(ctx, Turn(text=recognition)))


def on_image(ctx: Context) -> Outcome:
    return Outcome(converse(ctx, Turn(media_id=ctx.message.media_id)))


def on_file(ctx: Context) -> Outcome:
    target = _supplement_target(ctx) or _recent_open_complaint(ctx)
    if target is None:
        return Outcome(ctx.text("link_received"))
    complaints.attach_media(ctx.session, target, kind="file", media_id=ctx.message.media_id, actor=ctx.user)
    return Outcome(ctx.text("file_attached", number=target.number))


def on_location(ctx: Context) -> Outcome:
    return Outcome(ctx.text("location_received", label=ctx.message.label or "位置"))


def on_link(ctx: Context) -> Outcome:
    return Outcome(ctx.text("link_received"))


def on_unsupported(ctx: Context) -> Outcome:
    return Outcome(ctx.text("unsupported_message"))


def converse(ctx: Context, turn: Turn) -> str:
    if turn.text:
        reply = occupant_commands.run(ctx, turn.text)
        if reply:
            return reply
    dialog = IntakeDialog(ctx)
    if not dialog.is_active():
        reply = (follow_up.on_text(ctx, turn.text) if turn.text else None) or _outside_dialog(ctx, turn)
        if reply:
            return reply
    return dialog.handle(turn)


def _outside_dialog(ctx: Context, turn: Turn) -> str | None:
    """Before a new dialog starts: additions to an existing complaint, and
    topics that belong to another office."""
    target = _supplement_target(ctx) or (_recent_open_complaint(ctx) if turn.media_id else None)
    # A bare "好" or "嗯" is an acknowledgement, not information worth adding.
    if target is not None and (turn.media_id or meaningful_length(turn.text or "") >= MEANINGFUL_SUPPLEMENT):
        return occupant_commands.supplement(ctx, target, turn.text, turn.media_id)
    if turn.text:
        return occupant_commands.redirect_if_out_of_scope(ctx, turn.text)
    return None


def _supplement_target(ctx: Context):
    number = IntakeDialog(ctx).store.supplement_target(ctx.user)
    complaint = complaints.find_by_number(ctx.session, number) if number else None
    return complaint if complaint and complaint.occupant_id == ctx.user else None


def _recent_open_complaint(ctx: Context):
    latest = complaints.latest_of(ctx.session, ctx.user)
    if latest and latest.status in complaints.OPEN_STATUSES and utcnow() - latest.created_at < RECENT_COMPLAINT:
        return latest
    return None
