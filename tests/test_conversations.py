"""Conversations as occupants really talk (tests/data/conversations.yaml),
each sent as encrypted callbacks to the live app on the real Redis and
database, with outcomes checked: complaints and their fields, emergency
pushes, turns used, whether a draft is left open."""
from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from bot import complaints as c
from bot.models import Attachment, Complaint, Survey, utcnow
from tests.dialog_support import (CUSTOMER_SERVICE, DUTY, complaints_of, detached, dialog_of, age_dialog,
                                  queued_texts)
from tests.helpers import NUMBER

# conversations.yaml, then later rounds (conversations_round3.yaml …), each written before it was run.
FILES = sorted((Path(__file__).parent / "data").glob("conversations*.yaml"), key=lambda p: (len(p.name), p.name))
CONVERSATIONS = [c for path in FILES for c in yaml.safe_load(path.read_text(encoding="utf-8"))]
users = itertools.count()

# What a reply must show for each `expect` marker.
REPLY_MARKS = {
    "summary": lambda reply: "请您核对" in reply,
    "registered": lambda reply: bool(NUMBER.search(reply)),
    "asks_place": lambda reply: any(w in reply for w in ("什么地方", "几号房间", "哪个位置")),
    "asks_problem": lambda reply: "什么问题" in reply,
    "emergency": lambda reply: "已立即通知值班人员" in reply,
    "asks_emergency_place": lambda reply: "具体位置" in reply,
    "two_things": lambda reply: "两件事" in reply,
    "progress": lambda reply: "您最近的投诉" in reply or "还没有提交过投诉" in reply,
    "cancelled": lambda reply: "已取消" in reply or "不用取消" in reply,
    "human": lambda reply: "客服同事" in reply,
    "not_registered": lambda reply: not NUMBER.search(reply) or "进度" in reply and "您最近的投诉" in reply,
}


class Talk:
    """One person's side of a conversation, and what it caused."""

    def __init__(self, wecom, services, fake_wecom, user: str):
        self.wecom, self.services, self.fake, self.user = wecom, services, fake_wecom, user
        self.sent = 0
        self.turns_to_last_number = None
        self.reply = ""
        self.draft_before = self.draft_after = None
        self.created_before = self.created_after = 0
        self.transcript: list[str] = []

    def send(self, turn) -> None:
        self.draft_before, self.created_before = dialog_of(self.services, self.user), self._count()
        if isinstance(turn, str):
            response = self.wecom.text(self.user, turn)
        elif "image" in turn:
            self.fake.add_media(turn["image"], b"\xff\xd8photo", filename=f"{turn['image']}.jpg")
            response = self.wecom.image(self.user, turn["image"])
        else:
            response = self.wecom.location(self.user, 39.9, 116.3, turn["location"])
        assert response.status_code == 200, (turn, response)
        self.reply = response.text or ""
        self.transcript += [f"用户：{turn}", f"助手：{self.reply}"]
        assert self.reply.strip(), f"no reply to {turn!r}"
        self.sent += 1
        self.draft_after, self.created_after = dialog_of(self.services, self.user), self._count()
        if NUMBER.search(self.reply) and self.created_after > self.created_before:
            self.turns_to_last_number = self.sent

    def _count(self) -> int:
        return len(complaints_of(self.services, self.user))

    def wait(self, minutes: float) -> None:
        if dialog_of(self.services, self.user) is not None:
            age_dialog(self.services, self.user, minutes * 60)
        if minutes >= 30:  # the "just registered" pointer has run out
            self.services.redis.delete(f"{self.services.settings.redis_prefix}recent:{self.user}")

    def survey(self) -> None:
        """Staff finished the latest complaint and the visit was sent."""
        with self.services.db.session() as session:
            complaint = session.execute(select(Complaint).where(Complaint.occupant_id == self.user)
                                        .order_by(Complaint.id.desc()).limit(1)).scalar_one()
            complaint.status = c.FOLLOW_UP
            now = utcnow()
            session.add(Survey(complaint_id=complaint.id, occupant_id=self.user, status="sent", send_at=now,
                               sent_at=now))
        self.services.redis.delete(f"{self.services.settings.redis_prefix}recent:{self.user}")

    def check(self, marks) -> None:
        for mark in [marks] if isinstance(marks, str) else marks:
            if mark == "answer":
                assert self.created_after == self.created_before and not self._started_draft(), self.reply
            elif mark == "no_draft":
                assert self.draft_after is None, (self.reply, self.draft_after)
            else:
                assert REPLY_MARKS[mark](self.reply), f"expected {mark}: {self.reply!r}"

    def _started_draft(self) -> bool:
        return self.draft_before is None and self.draft_after is not None


def run(talk: Talk, turns: list) -> None:
    for turn in turns:
        if isinstance(turn, dict) and "expect" in turn:
            talk.check(turn["expect"])
        elif isinstance(turn, dict) and "reply_has" in turn:
            assert turn["reply_has"] in talk.reply, talk.reply
        elif isinstance(turn, dict) and "reply_lacks" in turn:
            assert turn["reply_lacks"] not in talk.reply, talk.reply
        elif isinstance(turn, dict) and "wait_minutes" in turn:
            talk.wait(turn["wait_minutes"])
        elif isinstance(turn, dict) and "survey" in turn:
            talk.survey()
        else:
            talk.send(turn)


def check_complaint(services, complaint: Complaint, want: dict) -> None:
    shown = f"{complaint.number} {complaint.description!r} @ {complaint.location!r}"
    for part in want.get("location_has", []):
        assert part in (complaint.location or ""), shown
    for part in want.get("description_has", []):
        assert part in complaint.description, shown
    for part in want.get("since_has", []):
        assert part in (complaint.since or ""), (shown, complaint.since)
    if "phone" in want:
        assert complaint.contact_phone == (str(want["phone"]) if want["phone"] else None), shown
    if "category" in want:
        assert complaint.category == want["category"], (shown, complaint.category)
    if "emergency" in want:
        assert bool(complaint.emergency) == want["emergency"], shown
    if "status_not" in want:
        assert complaint.status != want["status_not"], shown
    if "photos" in want:
        photos = detached(services, select(Attachment).where(Attachment.complaint_id == complaint.id,
                                                             Attachment.kind == "image"))
        assert len(photos) == want["photos"], shown


def check_outcome(talk: Talk, outcome: dict) -> None:
    services = talk.services
    mine = complaints_of(services, talk.user)
    if "complaints" in outcome:
        assert len(mine) == outcome["complaints"], [(m.number, m.description) for m in mine]
    details = outcome.get("complaints_detail") or ([outcome["complaint"]] if "complaint" in outcome else [])
    for complaint, want in zip(mine, details):
        check_complaint(services, complaint, want)
    if "alerts" in outcome:
        alerts = [t for t in queued_texts(services, DUTY) if t.startswith("【紧急】")]
        assert len(alerts) == outcome["alerts"], alerts
    if "human_called" in outcome:
        called = any(t.startswith("【请联系】") for t in queued_texts(services, CUSTOMER_SERVICE))
        assert called == outcome["human_called"]
    if "draft_open" in outcome:
        assert (dialog_of(services, talk.user) is not None) == outcome["draft_open"], dialog_of(services, talk.user)
    if "max_turns" in outcome:
        assert talk.turns_to_last_number is not None and talk.turns_to_last_number <= outcome["max_turns"], \
            talk.turns_to_last_number


@pytest.mark.parametrize("conversation", CONVERSATIONS,
                         ids=[f"{i:03d}-{c['covers']}" for i, c in enumerate(CONVERSATIONS)])
def test_conversation(conversation, wecom, services, fake_wecom):
    user = conversation.get("user") or f"occupant{next(users)}"
    talk = Talk(wecom, services, fake_wecom, f"{user}.{next(users)}")
    try:
        run(talk, conversation["turns"])
        check_outcome(talk, conversation.get("outcome") or {})
    except AssertionError as failed:  # show the whole conversation, not just the last reply
        raise AssertionError("\n".join([conversation["name"], str(failed), "—— 对话 ——", *talk.transcript])) from None


def test_the_suite_covers_every_behaviour():
    covered = {c["covers"] for c in CONVERSATIONS}
    assert len(CONVERSATIONS) >= 60
    assert {"emergency_mid_dialog", "second_emergency", "correction_at_summary", "question", "two_problems",
            "not_emergency", "emergency_no_place", "location_message", "two_turns"} <= covered
