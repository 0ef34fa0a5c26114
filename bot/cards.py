"""Template cards (button_interaction) for staff and leaders: what they show,
who gets them, and how every copy is updated once someone has acted."""
from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import outbox
from bot.complaints import event_label
from bot.directory import Directory
from bot.models import Complaint, OutboxMessage

SOURCE = {"desc": "后勤投诉助手"}


def task_id(complaint: Complaint, kind: str) -> str:
    # Unique, ≤128 bytes, only [0-9A-Za-z_-@]: the number plus a random tail.
    return f"{complaint.number}-{kind}-{uuid.uuid4().hex[:8]}"


def new_complaint_card(complaint: Complaint, reporter: str, reporters: int, limit: str, photos: int) -> dict:
    category = complaint.category + (f"/{complaint.subcategory}" if complaint.subcategory else "")
    title = ("【紧急】" if complaint.emergency else "") + f"新投诉 {complaint.number}"
    facts = [
        {"keyname": "地点", "value": complaint.location or "未说明"},
        {"keyname": "时限", "value": limit},
        {"keyname": "反映人数", "value": f"{reporters} 人"},
        {"keyname": "投诉人", "value": reporter},
        {"keyname": "近30天投诉", "value": f"{complaint.reporter_recent_count} 次"},
        {"keyname": "照片", "value": f"{photos} 张" if photos else "无"},
    ]
    return {
        "card_type": "button_interaction",
        "source": SOURCE,
        "main_title": {"title": title, "desc": f"{category} · {complaint.department}"},
        "sub_title_text": complaint.description[:120],
        "horizontal_content_list": facts,
        "task_id": task_id(complaint, "new"),
        "button_list": [
            {"text": "受理", "style": 1, "key": f"accept:{complaint.number}"},
            {"text": "不成立", "style": 2, "key": f"invalid:{complaint.number}"},
            {"text": "转派", "style": 2, "key": f"transfer:{complaint.number}"},
        ],
    }


def approval_card(complaint: Complaint, proposer: str) -> dict:
    return {
        "card_type": "button_interaction",
        "source": SOURCE,
        "main_title": {"title": f"方案待批 {complaint.number}", "desc": f"{complaint.department} · {proposer} 提交"},
        "sub_title_text": f"方案：{(complaint.solution or '')[:100]}",
        "horizontal_content_list": [
            {"keyname": "问题", "value": complaint.description[:30]},
            {"keyname": "原因", "value": (complaint.cause or "未填写")[:30]},
            {"keyname": "地点", "value": complaint.location or "未说明"},
        ],
        "task_id": task_id(complaint, "plan"),
        "button_list": [
            {"text": "同意", "style": 1, "key": f"approve:{complaint.number}"},
            {"text": "驳回", "style": 2, "key": f"reject:{complaint.number}"},
        ],
    }


def card_recipients(directory: Directory, complaint: Complaint, on_duty: list[str]) -> list[str]:
    """The handling department — but never the people a complaint about
    attitude is about: their leader hears of it instead."""
    people = directory.handlers_of(complaint.department)
    if complaint.about_department:
        complained = set(directory.members_of(complaint.about_department))
        people = [p for p in people if p not in complained]
        leader = directory.leader_of(complaint.about_department)
        people += [leader] if leader else []
    if complaint.emergency:
        people += on_duty
    return list(dict.fromkeys(p for p in people if p))


def send(session: Session, recipients: list[str], card: dict) -> None:
    for person in recipients:
        outbox.push_template_card(session, person, card)


def settle(session: Session, complaint: Complaint, kind: str, label: str, clicker: str | None = None,
           click_code: str | None = None) -> None:
    """Replace the buttons of every copy of the complaint's open cards of this
    kind with a label ("已由 张三 受理"). A copy not sent yet is not sent at all."""
    rows = session.execute(select(OutboxMessage).where(
        OutboxMessage.task_id.like(f"{complaint.number}-{kind}-%"),
        OutboxMessage.status.in_(("pending", "sent")))).scalars().all()
    for row in rows:
        if row.status == "pending":
            row.status, row.last_error = "superseded", f"已处理：{label}"
            continue
        if (row.result or {}).get("settled"):
            continue
        code = click_code if row.recipient == clicker and click_code else (row.result or {}).get("response_code")
        row.result = {**(row.result or {}), "settled": True}
        if code:
            outbox.update_card(session, {"userids": [row.recipient], "response_code": code,
                                         "button": {"replace_name": label}})


def history_lines(directory: Directory, complaint: Complaint, tz, limit: int = 8) -> str:
    lines = []
    for event in complaint.events[-limit:]:
        when = event.at.astimezone(tz).strftime("%m-%d %H:%M")
        comment = f"：{event.comment[:60]}" if event.comment and event.kind != "created" else ""
        # An anonymous reporter stays anonymous in the history too.
        who = "投诉人" if complaint.anonymous and event.actor == complaint.occupant_id else \
            directory.name_of(event.actor)
        route = f"（{event.data['from']}→{event.data['to']}）" if event.kind == "transfer" and event.data else ""
        lines.append(f"· {when} {who} {event_label(event.kind)}{route}{comment}")
    return "\n".join(lines)
