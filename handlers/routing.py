"""Route a decrypted message to the handler for its type."""
from __future__ import annotations

from handlers import events, occupant
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
        handler = EVENT_HANDLERS.get(message.event, events.on_silent)
    else:
        handler = MESSAGE_HANDLERS.get(message.type, occupant.on_unsupported)
    return handler(ctx)
