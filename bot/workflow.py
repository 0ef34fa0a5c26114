"""The complaint's life as a state machine: each action says from which
states it may happen, who may do it, what it needs, and where it leads. Every
action is checked, then recorded as an event in the complaint's history."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import complaints as c
from bot.directory import Directory
from bot.models import Complaint, ComplaintEvent, utcnow

HANDLER = "handler"  # the complaint's department (and leaders, administrators)
APPROVER = "approver"  # 主管领导


class WorkflowError(Exception):
    """A refused action; ``reason`` is a text key, ``values`` fill it in."""

    def __init__(self, reason: str, **values):
        super().__init__(reason)
        self.reason = reason
        self.values = values


@dataclass(frozen=True)
class Action:
    name: str
    label: str
    sources: tuple[str, ...]
    target: str
    role: str
    needs_text: bool
    apply: Callable[[Complaint, str, str | None], None] = lambda complaint, actor, text: None


def _accept(complaint: Complaint, actor: str, text: str | None) -> None:
    complaint.assignee = actor
    complaint.accepted_at = complaint.accepted_at or utcnow()


def _set(field: str) -> Callable[[Complaint, str, str | None], None]:
    def apply(complaint: Complaint, actor: str, text: str | None) -> None:
        setattr(complaint, field, text)
    return apply


def _complete(complaint: Complaint, actor: str, text: str | None) -> None:
    complaint.resolution = text
    complaint.resolved_at = utcnow()


def _close(complaint: Complaint, actor: str, text: str | None) -> None:
    complaint.closed_at = utcnow()


TRIAGE = (c.PENDING, c.REOPENED)
ACTIONS = {action.name: action for action in (
    Action("accept", "受理", TRIAGE, c.ACCEPTED, HANDLER, False, _accept),
    Action("invalid", "不成立", (*TRIAGE, c.ACCEPTED, c.CAUSE_FOUND), c.INVALID, HANDLER, True, _close),
    Action("transfer", "转派", (*TRIAGE, c.ACCEPTED), c.PENDING, HANDLER, True),
    Action("cause", "原因", (c.ACCEPTED, c.CAUSE_FOUND, c.SOLUTION_REJECTED), c.CAUSE_FOUND, HANDLER, True,
           _set("cause")),
    Action("solution", "方案", (c.ACCEPTED, c.CAUSE_FOUND, c.SOLUTION_REJECTED), c.SOLUTION_PENDING, HANDLER, True,
           _set("solution")),
    Action("approve", "同意", (c.SOLUTION_PENDING,), c.IN_PROGRESS, APPROVER, False),
    Action("reject", "驳回", (c.SOLUTION_PENDING,), c.SOLUTION_REJECTED, APPROVER, True),
    Action("wait", "等待", (c.ACCEPTED, c.CAUSE_FOUND, c.IN_PROGRESS), c.WAITING, HANDLER, True),
    Action("resume", "恢复", (c.WAITING,), c.IN_PROGRESS, HANDLER, False),
    Action("complete", "完成", (c.IN_PROGRESS,), c.RESOLVED, HANDLER, True, _complete),
)}


def perform(session: Session, directory: Directory, complaint: Complaint, name: str, actor: str,
            text: str | None = None, data: dict | None = None) -> ComplaintEvent:
    """Check and apply one action; returns the event it recorded."""
    action = check(directory, complaint, name, actor)
    if action.needs_text and not (text or "").strip():
        raise WorkflowError("needs_text", action=action.label, number=complaint.number)
    target = _paused_from(session, complaint) if name == "resume" else action.target
    try:
        event = c.set_status(session, complaint, target, actor, action.name, comment=text, data=data)
    except c.StaleStatus:  # someone else acted first
        raise WorkflowError("wrong_state", number=complaint.number, action=action.label,
                            status=c.status_label(complaint.status), who=last_actor_name(directory, complaint))
    action.apply(complaint, actor, text)
    return event


def _paused_from(session: Session, complaint: Complaint) -> str:
    """恢复 goes back to where 等待 paused the work: a complaint paused before
    its plan was approved must not come back as 处理中 (and skip the approval)."""
    paused = session.execute(select(ComplaintEvent.from_status).where(
        ComplaintEvent.complaint_id == complaint.id, ComplaintEvent.kind == "wait")
        .order_by(ComplaintEvent.id.desc()).limit(1)).scalar_one_or_none()
    return paused or ACTIONS["resume"].target


def check(directory: Directory, complaint: Complaint, name: str, actor: str) -> Action:
    """May this person do this now? Raises WorkflowError saying why not."""
    action = ACTIONS[name]
    # Permission first: who may not act is not told how far the complaint got.
    _check_permission(directory, complaint, action, actor)
    if complaint.status not in action.sources:
        raise WorkflowError("wrong_state", number=complaint.number, action=action.label,
                            status=c.status_label(complaint.status), who=last_actor_name(directory, complaint))
    return action


def transfer(session: Session, directory: Directory, complaint: Complaint, actor: str, department: str,
             reason: str) -> str:
    """转派: the complaint goes back to 待受理 in another department."""
    if directory.department(department) is None:
        raise WorkflowError("unknown_department", department=department, known="、".join(directory.departments))
    if department == complaint.department:
        raise WorkflowError("same_department", department=department)
    previous = complaint.department
    perform(session, directory, complaint, "transfer", actor, reason, data={"from": previous, "to": department})
    complaint.department, complaint.assignee = department, None
    return previous


def allowed_actions(directory: Directory, complaint: Complaint, actor: str) -> list[Action]:
    """What this person may do now (for 帮助 and the console)."""
    allowed = []
    for action in ACTIONS.values():
        if complaint.status not in action.sources:
            continue
        try:
            _check_permission(directory, complaint, action, actor)
        except WorkflowError:
            continue
        allowed.append(action)
    return allowed


def last_actor_name(directory: Directory, complaint: Complaint) -> str:
    staff_events = [e for e in complaint.events if e.kind in ACTIONS]
    return directory.name_of(staff_events[-1].actor) if staff_events else "其他同事"


def _check_permission(directory: Directory, complaint: Complaint, action: Action, actor: str) -> None:
    if action.role == APPROVER:
        if not directory.may_approve(actor, complaint.department):
            raise WorkflowError("not_approver", number=complaint.number)
        return
    if not directory.may_handle_complaint(actor, complaint, action.name):
        raise WorkflowError("not_your_department", number=complaint.number, department=complaint.department)
