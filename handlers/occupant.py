"""Messages from occupants. Until the intake dialog exists, a text becomes a
complaint at once and a photo or file joins the sender's latest complaint."""
from __future__ import annotations

from bot import complaints
from handlers.context import Context, Outcome


def on_text(ctx: Context) -> Outcome:
    return _complain(ctx, ctx.message.content or "")


def on_voice(ctx: Context) -> Outcome:
    recognition = (ctx.message.recognition or "").strip()
    if not recognition:
        return Outcome(ctx.text("voice_not_recognized"))
    return _complain(ctx, recognition)


def on_image(ctx: Context) -> Outcome:
    return _attach(ctx, "image", "image_attached")


def on_file(ctx: Context) -> Outcome:
    return _attach(ctx, "file", "file_attached")


def on_location(ctx: Context) -> Outcome:
    return Outcome(ctx.text("location_received", label=ctx.message.label or "位置"))


def on_link(ctx: Context) -> Outcome:
    return Outcome(ctx.text("link_received"))


def on_unsupported(ctx: Context) -> Outcome:
    return Outcome(ctx.text("unsupported_message"))


def _complain(ctx: Context, text: str) -> Outcome:
    text = text.strip()
    if not text:
        return Outcome(ctx.text("empty_text"))
    complaint = complaints.create_complaint(ctx.session, occupant_id=ctx.user, description=text,
                                            tz=ctx.services.tz)
    return Outcome(ctx.text("complaint_received", number=complaint.number))


def _attach(ctx: Context, kind: str, reply_key: str) -> Outcome:
    latest = complaints.latest_of(ctx.session, ctx.user)
    if latest is None:
        return Outcome(ctx.text("image_without_complaint"))
    complaints.attach_media(ctx.session, latest, kind=kind, media_id=ctx.message.media_id, actor=ctx.user)
    return Outcome(ctx.text(reply_key, number=latest.number))
