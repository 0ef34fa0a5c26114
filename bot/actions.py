"""One staff action, however it was asked for — a card button, a chat
command or a console form: check it, apply it, then what follows (the clocks,
the follow-up visit, the notices)."""
from __future__ import annotations

from sqlalchemy.orm import Session

from bot import lifecycle, notify, workflow
from bot.directory import Directory
from bot.models import Complaint
from bot.services import Services
from bot.workflow import WorkflowError


def perform_action(session: Session, services: Services, directory: Directory, complaint: Complaint, action: str,
                   actor: str, text: str | None = None, *, department: str | None = None,
                   click_code: str | None = None) -> None:
    text = (text or "").strip() or None
    if action == "transfer":
        if not department:
            raise WorkflowError("needs_department", known="、".join(directory.departments))
        workflow.transfer(session, directory, complaint, actor, department, text or "")
    else:
        if action == "invalid" and text and text.isdecimal():
            text = invalid_reason(services, text)
        workflow.perform(session, directory, complaint, action, actor, text)
    notice = notify.Notice(session, services, directory, complaint, actor, text, clicker=actor, click_code=click_code)
    lifecycle.after_action(notice, action)


def invalid_reason(services: Services, choice: str) -> str:
    """不成立 reasons can be picked by their number in the configured list."""
    reasons = services.settings.invalid_reasons
    index = int(choice) - 1
    if not 0 <= index < len(reasons):
        raise WorkflowError("invalid_reason_choice", count=len(reasons))
    return reasons[index]
