"""Answers to questions that are not complaints: the FAQ in config.yaml,
topics of other offices, and otherwise a hand-over to customer service."""
from __future__ import annotations

from typing import TYPE_CHECKING

from bot import outbox

if TYPE_CHECKING:
    from handlers.context import Context


def faq_answer(settings, text: str) -> str | None:
    """The first FAQ entry whose every keyword group has a word in ``text``."""
    for entry in settings.faq:
        if all(any(word in text for word in group) for group in entry.keywords):
            return entry.answer.strip()
    return None


def out_of_scope(ctx: "Context", text: str) -> str | None:
    for topic in ctx.services.settings.out_of_scope:
        if any(word in text for word in topic.keywords):
            hint = f"（电话 {topic.phone}）" if topic.phone else ""
            return ctx.text("out_of_scope", topic=topic.name, office=topic.office, phone_hint=hint)
    return None


def answer(ctx: "Context", text: str) -> str:
    found = faq_answer(ctx.services.settings, text) or out_of_scope(ctx, text)
    if found:
        return found
    note = ctx.text("question_forwarded_note", user=ctx.services.directory().name_of(ctx.user), question=text[:300])
    for person in ctx.services.settings.directory.customer_service:
        outbox.push_text(ctx.session, person, note)
    return ctx.text("question_forwarded", phone=ctx.services.settings.service.phone)
