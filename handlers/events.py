"""Events: entering the app, menu clicks, card buttons."""
from __future__ import annotations

from handlers import follow_up, staff
from handlers.context import Context, Outcome


def on_enter_agent(ctx: Context) -> Outcome:
    service = ctx.services.settings.service
    return Outcome(ctx.text("welcome", service_name=service.name, duty_phone=service.duty_phone))


def on_menu_click(ctx: Context) -> Outcome:
    return on_enter_agent(ctx)


def on_card_click(ctx: Context) -> Outcome:
    """Card buttons: the follow-up visit's (occupants) or a task's (staff).
    The answer is pushed: a card event's passive reply cannot be a text."""
    key = ctx.message.key or ""
    if key.startswith("survey:"):
        _, number, choice = (key.split(":") + ["", ""])[:3]
        follow_up.on_click(ctx, number, choice)
    else:
        staff.on_card_click(ctx, key, ctx.message.response_code)
    return Outcome(None)


def on_silent(ctx: Context) -> Outcome:
    """Events that need no answer (a menu link opened, a location report)."""
    return Outcome(None)
