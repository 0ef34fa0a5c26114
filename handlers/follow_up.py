"""Answers to the follow-up visit (回访): a button on the survey card, a
number, or words (满意, 还行, 没修好, 差评…)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot import complaints, outbox, survey
from bot.models import Survey, utcnow
from handlers.context import Context

# A short negative answer ("没修好") gets one question for details.
DETAIL_BELOW_CHARS = 8
COMMENT_KEY = "survey_comment:"
LATE_ANSWERS_WITHIN = timedelta(days=7)
LONGEST_ANSWER = 60


def on_text(ctx: Context, text: str) -> str | None:
    """The reply if the text answers a visit (or adds its comment), else None."""
    waiting = _comment_awaited(ctx)
    if waiting is not None:
        return _add_comment(ctx, waiting, text)
    visit = survey.pending_for(ctx.session, ctx.user)
    if visit is None:
        visit = survey.latest_closed_for(ctx.session, ctx.user, LATE_ANSWERS_WITHIN, utcnow())
        if visit is None or len(text.strip()) > 6:  # late: only a plain score counts as an answer
            return None
    if len(text) > LONGEST_ANSWER or _names_another_place(ctx, text, visit):
        return None
    answer = survey.read_answer(text)
    if answer is None:
        return None
    return _record(ctx, visit, answer, text.strip())


def _names_another_place(ctx: Context, text: str, visit: Survey) -> bool:
    """"5号楼的路灯不好使了" while a visit about 3号楼's plumbing waits is a new
    complaint, not an answer: another place, or (in words that name a
    problem) another kind of problem."""
    found = ctx.services.classifier.classify(text)
    if found.location and found.location != visit.complaint.location:
        return True
    # Praise names no problem, and "没修好…" is about the visited complaint;
    # only a complaint-like negative ("空调又不好使了…") may be another one.
    answer = survey.read_answer(text)
    names_a_problem = (answer is not None and not answer.solved and len(text.strip()) > 6
                       and not any(phrase in text for phrase in survey.NOT_SOLVED))
    return names_a_problem and found.category != visit.complaint.category


def on_click(ctx: Context, number: str, choice: str) -> None:
    complaint = complaints.find_by_number(ctx.session, number)
    visits = _visits_of(ctx, complaint) if complaint else []
    if not visits or not choice.isdigit():
        outbox.push_text(ctx.session, ctx.user, ctx.text("survey_unknown"))
        return
    score = int(choice)
    answer = survey.Answer(solved=score > 0, score=score or None)
    outbox.push_text(ctx.session, ctx.user, _record(ctx, visits[-1], answer, None))


def _record(ctx: Context, visit: Survey, answer: survey.Answer, comment: str | None) -> str:
    before = visit.complaint.status
    reply = survey.record(ctx.session, ctx.services, visit, answer, comment, utcnow())
    reopened = visit.complaint.status == complaints.REOPENED != before  # this answer reopened it
    if reopened and len(comment or "") < DETAIL_BELOW_CHARS:
        ctx.kv.set(_comment_key(ctx), str(visit.id), ex=3600)
        reply += "\n" + ctx.text("survey_ask_detail")
    return reply


def _add_comment(ctx: Context, visit: Survey, text: str) -> str:
    ctx.kv.delete(_comment_key(ctx))
    visit.comment = "\n".join(filter(None, [visit.comment, text.strip()]))
    complaint = visit.complaint
    complaints.record_event(ctx.session, complaint, ctx.user, "survey_comment", comment=text.strip())
    survey.forward_comment(ctx.session, ctx.services, complaint, text.strip())
    return ctx.text("survey_comment_thanks", number=complaint.number)


def _comment_awaited(ctx: Context) -> Survey | None:
    survey_id = ctx.kv.get(_comment_key(ctx))
    return ctx.session.get(Survey, int(survey_id)) if survey_id else None


def _comment_key(ctx: Context) -> str:
    return f"{ctx.services.settings.redis_prefix}{COMMENT_KEY}{ctx.user}"


def _visits_of(ctx: Context, complaint) -> list[Survey]:
    if complaint.occupant_id != ctx.user:
        return []
    return list(ctx.session.execute(select(Survey).where(
        Survey.complaint_id == complaint.id, Survey.status != "scheduled").order_by(Survey.id)).scalars())
