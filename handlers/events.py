"""Events: entering the app, menu clicks, card buttons."""
from __future__ import annotations

from handlers import staff
from handlers.context import Context, Outcome


def on_enter_agent(ctx: Context) -> Outcome:
    service = ctx.services.settings.service
    return Outcome(ctx.text("welcome", service_name=service.name, duty_phone=service.duty_phone))


def on_menu_click(ctx: Context) -> Outcome:
    return on_enter_agent(ctx)


def on_card_click(ctx: Context) -> Outcome:
    staff.on_card_click(ctx, ctx.message.key, ctx.message.response_code)
    return Outcome(None)


def on_silent(ctx: Context) -> Outcome:
    """Events that need no answer (a menu link opened, a location report)."""
    return Outcome(None)
