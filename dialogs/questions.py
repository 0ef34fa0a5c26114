"""Answers to questions that are not complaints: the person's own
complaints, the FAQ in config.yaml, topics of other offices, and otherwise a
hand-over to customer service (a few an hour per person)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from bot import complaints, outbox

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


# Forwarded questions per person and hour: customer service reads every one.
FORWARDS_PER_HOUR = 3


def list_own(ctx: "Context") -> str:
    """"我的投诉到哪了": the person's complaints, newest first."""
    own = complaints.of_occupant(ctx.session, ctx.user)
    if not own:
        return ctx.text("my_complaints_none")
    lines = "\n".join(ctx.text("complaint_line", number=c.number, status=complaints.status_label(c.status),
                               description=short(c.description)) for c in own)
    return ctx.text("my_complaints", lines=lines)


def short(text: str, limit: int = 24) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def answer(ctx: "Context", text: str) -> str:
    found = faq_answer(ctx.services.settings, text) or out_of_scope(ctx, text)
    if found:
        return found
    if not _may_forward(ctx):
        return ctx.text("question_not_forwarded", phone=ctx.services.settings.service.phone)
    note = ctx.text("question_forwarded_note", user=ctx.services.directory().name_of(ctx.user), question=text[:300])
    for person in ctx.services.settings.directory.customer_service:
        outbox.push_text(ctx.session, person, note)
    return ctx.text("question_forwarded", phone=ctx.services.settings.service.phone)


def _may_forward(ctx: "Context") -> bool:
    key = f"{ctx.services.settings.redis_prefix}forwarded:{ctx.user}"
    count = int(ctx.kv.get(key) or 0)
    if count >= FORWARDS_PER_HOUR:
        return False
    ctx.kv.set(key, count + 1, ex=3600)
    return True
