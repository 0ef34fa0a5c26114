"""A directory with names, two departments of several people, supervisors,
administrators, routing rules and reasons for 不成立 — and small helpers to
talk to the live app as staff, click cards and read what WeCom received.

Import ``settings`` into a test module: it replaces conftest's settings, so
the ``services``, ``live``, ``wecom`` and ``worker`` fixtures run on it."""
from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot import registration
from bot.models import Attachment, Complaint, ComplaintEvent, OutboxMessage, utcnow
from bot.registration import Intake
from tests.conftest import make_settings
from tests.helpers import NUMBER

# Who is who ------------------------------------------------------------------
LI, ZHANG, WANG = "li.shifu", "zhang.shifu", "wang.zhuren"  # 工程维修部: two members and their leader
KEFU, HE = "kefu.liu", "he.zhuren"  # 客户服务中心: one member and the leader
SUPERVISOR, ADMIN, DUTY = "lin.lingdao", "admin.zhao", "wu.baoan"
OCCUPANT, NEIGHBOUR = "xue.yuan", "lin.ju"  # not in the directory
ENGINEERING, SERVICE = "工程维修部", "客户服务中心"

NAMES = {LI: "李师傅", ZHANG: "张师傅", WANG: "王主任", KEFU: "客服小刘", HE: "何主任",
         SUPERVISOR: "林领导", ADMIN: "赵管理员", DUTY: "吴保安", OCCUPANT: "薛学员"}
DIRECTORY = {
    "people": NAMES,
    "departments": [
        {"name": ENGINEERING, "members": [LI, ZHANG], "leader": WANG, "staff_words": ["维修工", "师傅"]},
        {"name": SERVICE, "members": [KEFU], "leader": HE, "staff_words": ["前台", "客服"]},
    ],
    "supervisors": [SUPERVISOR],
    "admins": [ADMIN],
    "customer_service": [KEFU],
    "duty": [DUTY],
}
ROUTING = {
    "rules": [
        {"category": "管理服务", "subcategory": "服务态度", "department": SERVICE},
        {"place": "^9号楼", "department": SERVICE},  # 9号楼 is looked after by the service centre
    ],
    "by_category": {"房屋质量": ENGINEERING, "设备设施": ENGINEERING, "突发事件": ENGINEERING},
    "default": SERVICE,
}
INVALID_REASONS = ["不属于后勤服务的范围", "经现场核实，设施运行正常", "属于个人使用不当，按宿舍管理规定由个人负责"]
SERVICE_PHONE = "010-11112222"
LEAK = "3号楼201卫生间水管漏水"


@pytest.fixture
def settings(fake_wecom, database_url, key_prefix, tmp_path):
    return make_settings(fake_wecom, database_url, key_prefix, tmp_path / "data",
                         directory=DIRECTORY, routing=ROUTING, invalid_reasons=INVALID_REASONS)


# Occupants ---------------------------------------------------------------------
def register(wecom, fake_wecom, user: str, text: str, *, location: str = "3号楼201", photos: tuple[str, ...] = (),
             confirm: str = "确认", phone: str = "13812345678") -> tuple[str, str]:
    """Drive the intake dialog to a registered complaint; returns (number, reply).
    At the summary the occupant adds the photos, the phone and the start time, then confirms."""
    extras = [*[("photo", m) for m in photos], ("text", phone), ("text", "今天早上开始的")]
    answers = {"是同一件事吗": "不是", "是不是正在发生": "不是", "具体在什么地方": location, "几号房间": "201"}
    reply = wecom.text(user, text).text
    for _ in range(12):
        found = NUMBER.search(reply or "")
        if found and ("已为您登记" in reply or "已立即通知" in reply):
            return found.group(), reply
        if "确认无误请回复" in (reply or ""):
            if extras:
                kind, value = extras.pop(0)
                if kind == "photo":
                    fake_wecom.add_media(value, b"\xff\xd8\xff\xe0photo", filename=f"{value}.jpg")
                    reply = wecom.image(user, value).text
                else:
                    reply = wecom.text(user, value).text
                continue
            reply = wecom.text(user, confirm).text
            continue
        answer = next((a for cue, a in answers.items() if cue in (reply or "")), None)
        assert answer, f"unexpected prompt: {reply!r}"
        reply = wecom.text(user, answer).text
    raise AssertionError(f"no complaint registered; last reply: {reply!r}")


# Staff -------------------------------------------------------------------------
def say(wecom, user: str, text: str) -> str:
    reply = wecom.text(user, text)
    assert reply.status_code == 200, reply
    return reply.text or ""


def cards(fake_wecom, user: str, number: str, kind: str | None = None) -> list[dict]:
    """The template cards WeCom delivered to one person for one complaint."""
    prefix = f"{number}-{kind}-" if kind else f"{number}-"
    return [body["template_card"] for body in fake_wecom.sent(msgtype="template_card", touser=user)
            if body["template_card"]["task_id"].startswith(prefix)]


def click(wecom, fake_wecom, user: str, number: str, action: str, *, kind: str | None = None,
          create_time: int | None = None, response_code: str | None = None):
    """Press a button of the newest card this person received for the
    complaint, as WeCom reports it. Returns the ResponseCode sent."""
    card = cards(fake_wecom, user, number, kind)[-1]
    key = f"{action}:{number}"
    assert key in [b["key"] for b in card["button_list"]], (key, card["button_list"])
    code = response_code or fake_wecom.new_response_code()
    reply = wecom.event(user, "template_card_event", create_time=create_time, EventKey=key,
                        TaskId=card["task_id"], CardType="button_interaction", ResponseCode=code)
    assert reply.status_code == 200 and reply.text is None  # the answer is pushed, not passive
    return code


def send_codes(fake_wecom, task_id: str) -> dict[str, str]:
    """The response_code WeCom answered each delivered copy of a card with."""
    return {call.body["touser"]: call.response["response_code"] for call in list(fake_wecom.calls)
            if call.path == "message/send" and (call.response or {}).get("errcode") == 0
            and call.body.get("msgtype") == "template_card" and call.body["template_card"]["task_id"] == task_id}


def texts(fake_wecom, user: str, number: str | None = None) -> list[str]:
    return [body["text"]["content"] for body in fake_wecom.sent(msgtype="text", touser=user)
            if number is None or number in body["text"]["content"]]


def facts(card: dict) -> dict[str, str]:
    return {item["keyname"]: item["value"] for item in card.get("horizontal_content_list", [])}


def deliver(services, worker, rounds: int = 10) -> None:
    """Run the worker until nothing due is left in the outbox."""
    for _ in range(rounds):
        worker.run_once()
        with services.db.session() as session:
            due = session.execute(select(OutboxMessage.id).where(
                OutboxMessage.status == "pending",
                OutboxMessage.next_attempt_at <= utcnow() + timedelta(seconds=1))).first()
        if due is None:
            return
        time.sleep(0.05)
    raise AssertionError("the outbox did not drain")


# Reading what was stored ----------------------------------------------------------
def complaint_of(services, number: str) -> Complaint:
    with services.db.session() as session:
        row = session.execute(select(Complaint).where(Complaint.number == number)).scalar_one()
        session.refresh(row, ["events", "attachments"])
        session.expunge_all()
        return row


def events_of(services, number: str, kind: str | None = None) -> list[ComplaintEvent]:
    with services.db.session() as session:
        query = select(ComplaintEvent).join(Complaint).where(Complaint.number == number)
        if kind:
            query = query.where(ComplaintEvent.kind == kind)
        rows = list(session.execute(query.order_by(ComplaintEvent.id)).scalars())
        session.expunge_all()
        return rows


def attachments_of(services, number: str) -> list[Attachment]:
    with services.db.session() as session:
        rows = list(session.execute(select(Attachment).join(Complaint).where(Complaint.number == number)
                                    .order_by(Attachment.id)).scalars())
        session.expunge_all()
        return rows


def file_directly(services, occupant: str, description: str, *, category: str = "房屋质量",
                  location: str | None = "3号楼201", **fields) -> str:
    """Register through the real registration code without the dialog (for
    tests that need many complaints); the task cards are queued as usual."""
    with services.db.session() as session:
        intake = Intake(occupant_id=occupant, description=description, category=category, location=location,
                        **fields)
        return registration.register(session, services, intake).number


def put(services, number: str, status: str, department: str | None = None) -> None:
    """Put a complaint into a state directly (重新打开 has no callback leading to it yet)."""
    with services.db.session() as session:
        row = session.execute(select(Complaint).where(Complaint.number == number)).scalar_one()
        row.status = status
        if department:
            row.department = department
