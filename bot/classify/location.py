"""Finding where the problem is: 楼栋 / 楼层 / 房间 / 区域.

A location is a chain of parts, roughly in this order (see _NEXT):
    [前缀] 场所…  楼栋…  楼层  场所  房间号 | 方位
e.g. 学员公寓 + B座 + 412, 食堂 + 二楼, 食堂 + 门口, 3号楼 + 201,
6号楼 + 地下室; the longest chain starting at a position wins.
Building and room numbers become Arabic digits (三号楼二〇五 -> 3号楼205);
floors stay as written (食堂二楼, 一楼) because that is how people read them.
A room part such as 卫生间 is a location only when nothing more specific
precedes it (9号楼305卫生间 -> 9号楼305).
When a message names several places, the first one with a building or room
number wins, otherwise the first one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

from .normalize import chinese_to_arabic

# Building and floor numbers: no 两 (两栋楼之间 names no building). At most six
# characters: no real number is longer, and the bound keeps a long run of
# digits from being rescanned to its end from every position inside it.
_NUM = r"\d{1,6}"
_CN_NUM = "[零〇○一二三四五六七八九十百]{1,6}"
_CN_DIGITS = "[零〇○一二三四五六七八九]{3,4}"
_ROOM_SUFFIX = "(?:号房|房间|室|房|宿舍|寝室|号)"
# Digits followed by a unit are a quantity (等了120分钟), not a room.
_NOT_QUANTITY = "(?![\\d年月日号次个元块分秒天度斤米岁人位台件层楼栋多])"
# A bare 3–4 digit number is a room only when nothing suggests a quantity.
_BARE_ROOM_END = r"(?=的|号房|房间|室|房|宿舍|寝室|[,.!?;:、。\s]|$)"


@dataclass(frozen=True)
class _Part:
    kind: str  # prefix, place, building, floor, room, position, room_part
    text: str  # as it should appear in the result
    end: int


class _Best(NamedTuple):
    end: int  # where the best chain from here ends
    first: _Part | None  # its first part; None for the empty chain


# Which part may follow which: a small grammar of campus addresses.
_NEXT = {
    "start": ("prefix", "place", "building", "floor", "bare_room", "room_part"),
    "prefix": ("place",),
    # 学员公寓东区, 6号楼地下室, 三楼会议室: a named place may follow a place, a building or a floor.
    "place": ("place", "building", "floor", "room", "position"),
    "building": ("building", "floor", "room", "place", "position"),
    "floor": ("room", "place", "position"),
    "room": (),
    "bare_room": (),
    "position": (),
    "room_part": (),
}


class LocationFinder:
    def __init__(self, places: dict):
        self.place_names = [str(p) for p in places.get("场所") or []]
        self.room_parts = [str(p) for p in places.get("室内部位") or []]
        suffixes = _alternation(places.get("楼栋后缀") or [])
        self.words = {  # by first character, so a position is checked against a handful of words
            "prefix": _by_first_char(places.get("前缀") or []),
            "place": _by_first_char(self.place_names),
            "room_part": _by_first_char(self.room_parts),
            "position": _by_first_char(places.get("方位") or []),
        }
        self.patterns = {
            "building": re.compile(rf"({_NUM}|{_CN_NUM}|(?<![A-Za-z])[A-Za-z])({suffixes})" if suffixes else "(?!)"),
            "floor": re.compile(rf"(?<![这那每哪第])(?:{_NUM}|{_CN_NUM}|顶|负一|地下[一二]?)[楼层](?!号|灰|土|皮|纸|膜)"),
            "room": re.compile(rf"(?:(\d{{3,4}})|({_CN_DIGITS})){_ROOM_SUFFIX}?{_NOT_QUANTITY}"),
            "bare_room": re.compile(rf"(?<![\d#-])(\d{{3,4}}){_BARE_ROOM_END}"),
        }
        # Where a location can begin at all: one quick pass of the regex engine
        # instead of trying every part at every character of a long message.
        starts = [f"(?:{self.patterns[kind].pattern})" for kind in _NEXT["start"] if kind in self.patterns]
        first_chars = "".join(sorted({ch for kind in _NEXT["start"] for ch in self.words.get(kind, ())}))
        if first_chars:
            starts.append(f"[{re.escape(first_chars)}]")
        self.may_start = re.compile(f"(?=(?:{'|'.join(starts)}))")

    def words_to_learn(self) -> list[str]:
        return self.place_names + self.room_parts

    def find(self, text: str) -> str | None:
        """`text` is normalised (half-width) but keeps its letter case."""
        chains: list[tuple[_Part, ...]] = []
        memo: dict[tuple[int, str], _Best] = {}
        pos = 0
        for start in self.may_start.finditer(text):
            if start.start() < pos:
                continue
            chain = self._longest_chain(text, start.start(), "start", memo)
            if chain:
                chains.append(chain)
                pos = chain[-1].end
        if not chains:
            return None
        numbered = [c for c in chains if any(p.kind in ("building", "room", "bare_room") for p in c)]
        return "".join(p.text for p in (numbered or chains)[0])

    def _longest_chain(self, text: str, pos: int, state: str,
                       memo: dict[tuple[int, str], _Best]) -> tuple[_Part, ...]:
        """The longest chain of parts from `pos`, `state` being the kind of the part before.

        memo keeps, per (position, state), only the end of the best chain and
        its first part: the rest is the best chain after that part. Worked
        out with a stack, not recursion, so a message of thousands of
        place names (食堂食堂…) cannot overflow Python's recursion limit.
        """
        stack = [(pos, state)]
        while stack:
            at, after = stack[-1]
            if (at, after) in memo:
                stack.pop()
                continue
            parts = [part for kind in _NEXT[after] for part in self._parts_at(text, at, kind)]
            pending = [(part.end, part.kind) for part in parts if (part.end, part.kind) not in memo]
            if pending:
                stack.extend(pending)
                continue
            best = _Best(at, None)  # the empty chain
            for part in parts:
                rest = memo[part.end, part.kind]
                if part.kind == "prefix" and rest.first is None:
                    continue  # 新 alone is no place
                if rest.end > best.end:  # ties: the first option wins
                    best = _Best(rest.end, part)
            memo[at, after] = best
            stack.pop()
        chain = []
        first = memo[pos, state].first
        while first is not None:
            chain.append(first)
            first = memo[first.end, first.kind].first
        return tuple(chain)

    def _parts_at(self, text: str, pos: int, kind: str) -> list[_Part]:
        """Every way a part of `kind` can start at `pos`.

        Word lists give every word that fits, not just the longest: 宿舍楼下
        reads best as 宿舍 + 楼下, which only the whole chain can tell.
        """
        if kind in self.words:
            candidates = self.words[kind].get(text[pos], ()) if pos < len(text) else ()
            return [_Part(kind, w, pos + len(w)) for w in candidates if text.startswith(w, pos)]
        match = self.patterns[kind].match(text, pos)
        return [_Part(kind, _render(kind, match), match.end())] if match else []


def _render(kind: str, match: re.Match[str]) -> str:
    if kind == "building":
        number, suffix = match.group(1), match.group(2)
        number = number.upper() if number.isalpha() and number.isascii() else chinese_to_arabic(number)
        return number + suffix
    if kind in ("room", "bare_room"):
        return chinese_to_arabic(next(g for g in match.groups() if g))
    return match.group(0)


def _by_first_char(words) -> dict[str, list[str]]:
    index: dict[str, list[str]] = {}
    for word in map(str, words):
        index.setdefault(word[0], []).append(word)
    return index


def _alternation(words) -> str:
    return "|".join(re.escape(str(w)) for w in sorted(words, key=len, reverse=True))

