"""Helpers shared by the conversation tests."""
from __future__ import annotations

import re

NUMBER = re.compile(r"TS\d{8}-\d{3}")

# How a cooperative occupant answers each question of the intake dialog.
ANSWERS = (
    ("请您核对", "确认"),
    ("确认无误请回复", "确认"),
    ("是同一件事吗", "不是"),
    ("是不是正在发生", "不是"),
    ("具体在什么地方", "3号楼201"),
    ("几号房间", "201"),
)


def answer_for(prompt: str) -> str | None:
    return next((answer for cue, answer in ANSWERS if cue in prompt), None)


def file_complaint(wecom, user: str, text: str, max_turns: int = 10):
    """Send a first message and answer the dialog until it is registered.
    Returns (number, the last reply text)."""
    reply = wecom.text(user, text).text
    for _ in range(max_turns):
        found = NUMBER.search(reply or "")
        if found and "已为您登记" in reply or found and "已立即通知" in reply:
            return found.group(), reply
        answer = answer_for(reply or "")
        assert answer, f"unexpected prompt: {reply!r}"
        reply = wecom.text(user, answer).text
    raise AssertionError(f"no complaint registered; last reply: {reply!r}")
