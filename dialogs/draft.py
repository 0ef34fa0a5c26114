"""The complaint being put together: which details it holds, which it still
needs, and how a message's details go into it. Pure rules, no storage."""
from __future__ import annotations

import re

from dialogs.understanding import Utterance
from dialogs.understanding.places import (BUILDING_ONLY, SHARED_FACILITIES, VAGUE_PLACES, WHOLE_BUILDING, completed_place,
                                          merged_place)
from dialogs.understanding.phrases import plain
from dialogs.understanding.utterance import DESCRIPTION, LOCATION, PHONE, SINCE

MOOD_RANK = {"calm": 0, "upset": 1, "angry": 2}
# Complaints about money, rudeness or a missing service have no place to send a repairer to.
NO_PLACE_CATEGORIES = {"管理费用"}
NO_PLACE_SUBCATEGORIES = {"服务态度", "服务项目"}
# Repairs need the room: "5号楼" alone does not tell a plumber which leak.
ROOM_CATEGORIES = {"房屋质量", "设备设施"}
SINCE_CHARS = 64  # the column's width


def new_slots(utterance: Utterance | None = None) -> dict:
    slots = {"photos": [], "mood": "calm"}
    if utterance is not None:
        fill(slots, utterance)
    return slots


def fill(slots: dict, utterance: Utterance) -> list[str]:
    """Put every detail the message holds into the draft, and nothing else.
    Returns the slots that changed."""
    changed = []
    for slot, value in utterance.contained().items():
        if slot == DESCRIPTION:
            value = _joined(slots.get(DESCRIPTION), value)
        if slot == LOCATION:
            value = merged_place(slots.get(LOCATION), value)
        if slot == SINCE:
            value = clipped_since(value)
        if slots.get(slot) != value:
            slots[slot] = value
            changed.append(slot)
    if PHONE in changed:
        _forget_phone_source(slots)
    if utterance.problem:
        _classify(slots, utterance)
    return changed


def correct(slots: dict, utterance: Utterance) -> str | None:
    """Replace the corrected slot with the value the message gives; None when it gives none."""
    slot = utterance.correction
    value = utterance.contained().get(slot)
    if value is None:
        return None
    if slot == LOCATION:
        value = completed_place(slots.get(LOCATION), value)
    if slot == DESCRIPTION:
        slots.pop(DESCRIPTION, None)
        _classify(slots, utterance)
    slots[slot] = clipped_since(value) if slot == SINCE else value
    if slot == PHONE:
        _forget_phone_source(slots)
    return slot


def clipped_since(label: str) -> str:
    """A start time as the complaints table can hold it."""
    return label[:SINCE_CHARS]


def _forget_phone_source(slots: dict) -> None:
    """The person gave a number: no longer "上次留的" or "通讯录"."""
    slots.pop("phone_remembered", None)
    slots.pop("phone_source", None)


def _classify(slots: dict, utterance: Utterance) -> None:
    found = utterance.classification
    if found is None:
        return
    slots.update(category=found.category, subcategory=found.subcategory,
                 wants_compensation=bool(slots.get("wants_compensation")) or found.wants_compensation)
    slots["mood"] = max(slots.get("mood", "calm"), found.mood, key=MOOD_RANK.get)


def _joined(before: str | None, text: str) -> str:
    if not before or text in before:
        return text if not before else before
    return f"{before}；{text}"


# -- what is still needed ----------------------------------------------------
def needs_place(slots: dict) -> bool:
    return slots.get("category") not in NO_PLACE_CATEGORIES and slots.get("subcategory") not in NO_PLACE_SUBCATEGORIES


def place_is_vague(place: str | None) -> bool:
    return not place or VAGUE_PLACES.is_whole(plain(place))


def needs_room(slots: dict) -> bool:
    """A repair in a building named without floor, room or facility, and not
    said to affect the whole building ("10号楼全楼都没热水")."""
    place = _without_room_kind(slots.get(LOCATION) or "")  # "3号楼宿舍": which 宿舍?
    description = plain(slots.get(DESCRIPTION, ""))
    return (slots.get("category") in ROOM_CATEGORIES and bool(BUILDING_ONLY.match(place))
            and not slots.get("whole_building") and not SHARED_FACILITIES.occurs(description)
            and not WHOLE_BUILDING.occurs(description))


def _without_room_kind(place: str) -> str:
    for word in sorted(VAGUE_PLACES.words, key=len, reverse=True):
        if word and place.endswith(word) and len(place) > len(word):
            return place[:-len(word)]
    return place


def missing(slots: dict) -> str | None:
    """The one detail a complaint cannot go without, or None when it can be confirmed."""
    if not slots.get(DESCRIPTION):
        return DESCRIPTION
    if needs_place(slots) and (place_is_vague(slots.get(LOCATION)) or needs_room(slots)):
        return LOCATION
    return None


def says_whole_building(text: str) -> bool:
    return WHOLE_BUILDING.occurs(plain(text))


def usable_emergency_place(place: str | None) -> bool:
    """Responders can find it: a named building or site, not just "厨房" or "楼道"."""
    return not place_is_vague(place)


