"""No slot is ever filled from a message that does not contain it.

Two levels: the pure rules (the reader and draft.fill, many random messages,
fast) and the live dialog (random conversations through encrypted callbacks:
after every message, each detail that changed in the stored draft must come
from something a message said)."""
from __future__ import annotations

import itertools
import re
import unicodedata
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.services import load_reader
from dialogs import draft
from dialogs.understanding.phrases import plain
from dialogs.understanding.utterance import DESCRIPTION, LOCATION, PHONE, SINCE
from tests.dialog_support import dialog_of

NOW = datetime(2026, 12, 4, 10, 0, tzinfo=timezone(timedelta(hours=8)))
SLOTS = (LOCATION, SINCE, PHONE, DESCRIPTION)

# Fragments people combine; some hold a detail, most do not.
PLACES = ["3号楼201", "学员公寓B座412", "一食堂二楼", "5号楼", "办公楼305会议室", "宿舍", "图书馆三楼", "东边那个楼梯口",
          "二号楼五层东侧"]
TIMES = ["昨天晚上", "三天了", "从上周一开始", "今天早上", "刚才", "一直", "前天"]
PHONES = ["13812345678", "139 0000 1111", "010-12345678"]
PROBLEMS = ["空调坏了", "水龙头一直滴水", "灯不亮", "饭菜太咸了", "门锁坏了", "暖气不热", "网络老断"]
WORDS = ["好的", "对", "不是", "不对", "没有照片", "不留了", "算了", "谢谢", "确认", "嗯嗯", "在吗", "我的投诉到哪了",
         "食堂几点开门？", "转人工", "改一下", "地点改成", "电话是", "是", "哦不对", "，", "。", " ", "😡", "还有个事"]
fragment = st.sampled_from(PLACES + TIMES + PHONES + PROBLEMS + WORDS)
message = st.lists(fragment, min_size=1, max_size=5).map("".join)


@pytest.fixture(scope="module")
def reader():
    return load_reader(None)


def digits(text: str) -> str:
    return re.sub(r"\D", "", unicodedata.normalize("NFKC", text))


# -- the pure rules -------------------------------------------------------------------------------------------
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=message)
def test_every_detail_the_reader_finds_is_in_the_message(reader, text):
    said = reader.read(text, NOW)
    flat = plain(text)
    if said.phone:
        assert digits(said.phone) in digits(text), (text, said.phone)
    if said.time:
        assert plain(said.time.text) in flat, (text, said.time)
        assert plain(said.time.text) not in ("一直", "一直在"), text  # not a time
    if said.place:
        # Normalised (三号楼 -> 3号楼, 那个 left out) but made of what was written.
        assert all(ch in flat or ch.isdigit() for ch in plain(said.place)), (text, said.place)
    if said.problem:
        assert said.problem == text.strip()  # the description is the message as typed


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(before=message, text=message)
def test_filling_a_draft_changes_only_the_slots_the_message_holds(reader, before, text):
    slots = draft.new_slots(reader.read(before, NOW))
    old = {slot: slots.get(slot) for slot in SLOTS}
    said = reader.read(text, NOW)
    changed = draft.fill(slots, said)
    held = said.contained()
    assert set(changed) <= set(held), (before, text, changed, held)
    for slot in SLOTS:
        if slot not in held:
            assert slots.get(slot) == old[slot], (before, text, slot)
    if LOCATION in changed:
        assert plain(held[LOCATION]) in plain(slots[LOCATION]) or plain(slots[LOCATION]) in plain(held[LOCATION])


# -- the live dialog ------------------------------------------------------------------------------------------
counter = itertools.count()


class Provenance:
    """Everything the messages so far said, slot by slot."""

    def __init__(self):
        self.said = {slot: [] for slot in SLOTS}

    def add(self, reader, text: str) -> None:
        for slot, value in reader.read(text, NOW).contained().items():
            self.said[slot].append(value)

    def explains(self, slot: str, value: str, slots: dict) -> bool:
        said = self.said[slot]
        if slot == LOCATION:  # merged or completed from places said
            return any(plain(p) in plain(value) or plain(value) in plain(p) for p in said)
        if slot == SINCE:  # the label of a time said (the date may differ by the clock)
            return any(value.split("（")[0] == s.split("（")[0] for s in said)
        if slot == PHONE:
            return value in said or bool(slots.get("phone_remembered"))  # last time's, or the directory's
        return any(part in said or any(part in s for s in said) for part in value.split("；"))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(turns=st.lists(message, min_size=1, max_size=6))
def test_no_state_of_the_dialog_stores_a_detail_no_message_gave(wecom, services, reader, turns):
    user = f"slots-{next(counter)}-{uuid.uuid4().hex[:6]}"
    seen = Provenance()
    for text in turns:
        before = dialog_of(services, user)
        reply = wecom.text(user, text)
        assert reply.status_code == 200 and reply.text, (text, reply)
        seen.add(reader, text)
        after = dialog_of(services, user)
        if after is None:
            continue
        old = before.slots if before else {}
        for slot in SLOTS:
            value = after.slots.get(slot)
            if value and value != old.get(slot):
                assert seen.explains(slot, value, after.slots), (turns, text, slot, value, after.step)
