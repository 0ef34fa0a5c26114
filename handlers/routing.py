"""Route a decrypted message: staff commands first (for people in the
directory), then the handler for the message's type."""
from __future__ import annotations

from handlers import events, occupant, staff
from handlers.context import Context, Outcome

MESSAGE_HANDLERS = {
    "text": occupant.on_text,
    "image": occupant.on_image,
    "voice": occupant.on_voice,
    "file": occupant.on_file,
    "location": occupant.on_location,
    "link": occupant.on_link,
}

EVENT_HANDLERS = {
    "enter_agent": events.on_enter_agent,
    "click": events.on_menu_click,
    "view": events.on_silent,
    "location": events.on_silent,
    "template_card_event": events.on_card_click,
}


def dispatch(ctx: Context) -> Outcome:
    message = ctx.message
    if message.type == "event":
        return EVENT_HANDLERS.get(message.event, events.on_silent)(ctx)
    staff_reply = _as_staff(ctx)
    if staff_reply is not None:
        return Outcome(staff_reply)
    return MESSAGE_HANDLERS.get(message.type, occupant.on_unsupported)(ctx)


def _as_staff(ctx: Context) -> str | None:
    """Staff may also complain like anyone: only their commands and their
    completion photos are taken as staff work."""
    if ctx.message.type not in ("text", "image") or not ctx.services.directory().is_staff(ctx.user):
        return None
    if ctx.message.type == "image":
        return staff.completion_photo(ctx)
    command = staff.parse(ctx.message.content or "")
    return staff.run(ctx, command) if command else None
