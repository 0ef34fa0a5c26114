"""Messages from occupants. Every text is read whole first (an Utterance);
then, in order: an emergency is raised whatever else is going on; exact
commands (进度 TS…, 补充 TS…, 撤销 TS…); an answer to the follow-up visit;
the intake dialog, which decides what the message means for the complaint
being put together — or for the one just registered."""
from __future__ import annotations

from bot import complaints
from dialogs.intake import IntakeDialog
from dialogs.state import SupplementPointer
from dialogs.understanding import utterance as u
from handlers import follow_up, occupant_commands
from handlers.context import Context, Outcome


def on_text(ctx: Context) -> Outcome:
    return Outcome(converse(ctx, ctx.message.content or ""))


def on_voice(ctx: Context) -> Outcome:
    recognition = (ctx.message.recognition or "").strip()
    if not recognition:
        return Outcome(ctx.text("voice_not_recognized"))
    return Outcome(converse(ctx, recognition))


def on_image(ctx: Context) -> Outcome:
    media_id = ctx.message.media_id
    target = _supplement_target(ctx)
    if target is not None:
        return Outcome(occupant_commands.supplement(ctx, target, None, media_id))
    return Outcome(IntakeDialog(ctx).on_photo(media_id))


def on_file(ctx: Context) -> Outcome:
    target = _supplement_target(ctx) or _recent_open_complaint(ctx)
    if target is None:
        return Outcome(ctx.text("link_received"))
    complaints.attach_media(ctx.session, target, kind="file", media_id=ctx.message.media_id, actor=ctx.user)
    return Outcome(ctx.text("file_attached", number=target.number))


def on_location(ctx: Context) -> Outcome:
    """WeCom's 位置 message answers "where" in any state."""
    label = (ctx.message.label or "").strip()
    if not label:
        return Outcome(ctx.text("location_received", label="位置"))
    place = ctx.services.classifier.classify(label).location
    return Outcome(IntakeDialog(ctx).on_location(label, place))


def on_link(ctx: Context) -> Outcome:
    return Outcome(ctx.text("link_received"))


def on_unsupported(ctx: Context) -> Outcome:
    return Outcome(ctx.text("unsupported_message"))


def converse(ctx: Context, text: str) -> str:
    utterance = ctx.services.reader.read(text, ctx.services.local_now())
    dialog = IntakeDialog(ctx)
    if utterance.act == u.EMERGENCY:  # action first, in every state
        return dialog.on_text(utterance)
    reply = occupant_commands.run(ctx, text)
    if reply:
        return reply
    target = _supplement_target(ctx)
    if target is not None and utterance.act in (u.REPORT, u.INFORM, u.UNCLEAR, u.CORRECT):
        SupplementPointer(ctx.kv, ctx.services.settings.redis_prefix).clear(ctx.user)
        return occupant_commands.supplement(ctx, target, text, None)
    if not dialog.is_active():
        reply = follow_up.on_text(ctx, text)
        if reply:
            return reply
    return dialog.on_text(utterance)


def _supplement_target(ctx: Context):
    """Set only by "补充 TS…" with nothing after it."""
    number = SupplementPointer(ctx.kv, ctx.services.settings.redis_prefix).target(ctx.user)
    complaint = complaints.find_by_number(ctx.session, number) if number else None
    return complaint if complaint and complaint.occupant_id == ctx.user else None


def _recent_open_complaint(ctx: Context):
    return IntakeDialog(ctx).recent_complaint()
