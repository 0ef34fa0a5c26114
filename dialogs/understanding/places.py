"""How places said at different moments fit together: a vague place made
specific, a correction that names only the wrong part. Pure rules."""
from __future__ import annotations

import re

from dialogs.understanding.phrases import Phrases, load_acts, plain

_PLACES = load_acts().get("地点") or {}
VAGUE_PLACES = Phrases(_PLACES.get("不具体"))  # 宿舍, 厨房, 楼道: which one?
WHOLE_BUILDING = Phrases(_PLACES.get("整栋"))  # "整栋楼都这样"
SHARED_FACILITIES = Phrases(_PLACES.get("公共设施"))
SEPARATE_SITES = tuple(_PLACES.get("独立场所") or ())  # 食堂, 图书馆: never inside 3号楼  # a lift or corridor light needs no room number
BUILDING_ONLY = re.compile(r"^(?:[\u4e00-\u9fff]{0,6}?)(?:\d{1,4}|[A-Z])(?:号楼|栋|幢|座|号公寓|号宿舍楼|号宿舍|区)$")


def merged_place(known: str | None, found: str) -> str:
    """"宿舍" then "5号楼301" -> "5号楼301宿舍"; "5号楼" then "5号楼301" -> "5号楼301"."""
    if not known or known in found:
        return found
    if found in known:
        return known
    if VAGUE_PLACES.is_whole(plain(known)):
        return f"{found}{known}"
    if BUILDING_ONLY.match(known) and not re.search(_BUILDING, found):  # "3号楼" then "201"
        return known + found
    return completed_place(known, found)


_BUILDING = r"(?:\d{1,4}|[A-Z])(?:号楼|栋|幢|座|号公寓|号宿舍楼|号宿舍)"
_PREFIX = re.compile(rf"^(.*(?:{_BUILDING}|楼|层))")


def completed_place(known: str | None, new: str) -> str:
    """A correction names only the part that was wrong: "3号楼201" corrected
    to "305" is 3号楼305, to "5号楼" is 5号楼201, "办公楼3楼第二会议室" to
    "第一会议室" is 办公楼3楼第一会议室."""
    if not known:
        return new
    building = re.match(rf"^{_BUILDING}$", new)
    old_building = re.match(_BUILDING, known)
    if building and old_building:
        return new + known[old_building.end():]
    prefix = _PREFIX.match(known)
    if prefix and not re.search(rf"{_BUILDING}|楼|层", new) and len(prefix.group(1)) < len(known):
        return prefix.group(1) + new
    return new


def same_site(one: str | None, other: str | None) -> bool:
    """Could both name the same spot? Different buildings cannot; a place
    without a building ("楼下302", "东边楼梯口") may be part of one with."""
    if not one or not other or one in other or other in one:
        return True
    first, second = re.match(_BUILDING, one), re.match(_BUILDING, other)
    if first and second:
        return first.group(0) == second.group(0)
    if first or second:  # "楼下302" may be in 3号楼; "食堂二楼" is not
        return not (other if first else one).startswith(SEPARATE_SITES)
    return one[:2] == other[:2]  # 食堂二楼 and 食堂门口 may be one spot; 图书馆 and 食堂 are not
