"""Finding where the problem is: 楼栋 / 楼层 / 房间 / 部位 / 方位.

A location is a chain of parts, roughly in this order (see _NEXT):
    [前缀|序号] 场所…  楼栋…  楼层  [序号]场所  房间号  部位|设施  方位  场所…
e.g. 学员公寓 + B座 + 412 + 阳台, 5号楼 + 东侧 + 2号 + 电梯, 一 + 食堂 + 三楼,
图书馆 + 三楼 + 东侧 + 自习室; the longest chain starting at a position wins.
The place is kept whole, down to the facility a repair worker walks to:
9号楼305卫生间 stays 9号楼305卫生间, 1号楼电梯 stays 1号楼电梯.

Normalising:
  * building, unit and room numbers become Arabic digits (三号楼二〇五 -> 3号楼205,
    三号电梯 -> 3号电梯); a room suffix is dropped (7号楼312房间 -> 7号楼312);
  * floors stay as written (食堂二楼, 一楼, 负一层) because that is how people read
    them, and so do ordinals (一食堂, 第三会议室);
  * 3-201 stays 3-201: the dash may separate a building or a unit from the room,
    and only the door plate knows which;
  * misspellings listed under 别字 in places.yaml are written correctly (侧所 -> 厕所).

Joining: parts are normally adjacent. A building, floor or room may follow
after up to three spaces (七号楼 一单元 502 -> 7号楼1单元502), though not a second
building with the same suffix (3号楼 4号楼 names two); a room part, facility,
position or N号 may follow one 的 or a 那部 / 这个 (4号楼的电梯 -> 4号楼电梯,
8号楼西边那部电梯 -> 8号楼西边电梯). Spaces and 的 are
left out of the result. Facilities (电梯, 窗口) and positions (东侧, 门口) never
stand alone, and a number, 前缀 or ordinal counts only with a place after it
(2个人, 三次, 第二天: no place).

When a message names several places, the first one with a number (building,
room, 2号电梯, 一食堂) wins, otherwise the first one. On the messages of the
labelled sets that name two or more places this rule is right 25 times in 33;
the first place (21), the longest (23) or the one of most parts (24) do no better.

Speed: the work grows linearly with the length of the message. Chains can
begin only at a character some start part begins with (one character class,
scanned by the regex engine), each (position, kind before) is worked out once
(memo), words are looked up by their first character, each pattern is tried
only where its first character fits (_FIRST_CHARS), and every pattern is
bounded in length.
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
_CN_ORDINAL = "[一二三四五六七八九十]{1,2}"
_ROOM_SUFFIX = "(?:号房|房间|室|房|宿舍|寝室|号)"
# Digits followed by a unit are a quantity (等了120分钟), not a room (412天花板 is
# one), nor is the first group of a phone number typed with spaces.
_NOT_QUANTITY = r"(?![\d年月日号次个元块分秒度斤米岁人位件层楼栋多-]|天(?!花|台|井)|台(?!灯|面|阶)|[ \t]{1,3}\d)"
# A bare 3–4 digit number is a room only when nothing suggests a quantity.
_BARE_ROOM_END = r"(?:(?:号房|房间|室|房|宿舍|寝室)|(?=的|[,.!?;:、。\s]|$))(?![ \t]{1,3}\d)"
# Not inside a longer number or word, a phone number typed with spaces
# (139 1234 5678), nor an amount (住宿费200, 押金500).
_NUMBER_START = r"(?<![A-Za-z\d#-])(?<!\d )(?<!\d  )(?<![费钱价款金¥$])"
# 305, A301 (a letter in front is a wing), 3-201 (building or unit, then room).
_ROOM_NUMBER = rf"{_NUMBER_START}(\d{{1,2}}-\d{{3,4}}|[A-Za-z]?\d{{3,4}})"
_SPACES = re.compile(r"[ \t]{1,3}")
# What may join a place to the part after it, left out of the result like 的.
LINK = re.compile(r"[的滴]?[那这](?:部|台|个|间|扇|盏|排)的?|的|滴(?!水|漏|答)")  # 滴: dialect for 的
# The characters each pattern in LocationFinder._patterns can begin with (see
# _may_begin). Keep them in step: tests/test_places.py checks them on its cases.
_ASCII = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_CN_CHARS = "零〇○一二三四五六七八九十百"
_FIRST_CHARS = {
    "building": frozenset(_ASCII + _CN_CHARS),
    "floor": frozenset(_ASCII[:10] + _CN_CHARS + "顶负地"),
    "room": frozenset(_ASCII + _CN_CHARS),
    "bare_room": frozenset(_ASCII),
    "ordinal": frozenset(_ASCII + "第"),
    "serial": frozenset(_ASCII[:10] + _CN_CHARS),
    "cn_ordinal": frozenset(_CN_CHARS),
}

# Parts that mean nothing without a place after them: 新, 2号, 第三, 一.
_NEEDS_FOLLOWER = frozenset({"prefix", "ordinal", "serial", "cn_ordinal"})
# Parts that carry a number: the first chain holding one wins.
_NUMBERED = frozenset({"building", "floor", "room", "bare_room", "ordinal", "serial", "cn_ordinal"})
# What may follow after a few spaces (七号楼 一单元 502) or after one 的 (4号楼的电梯).
_AFTER_SPACES = frozenset({"building", "floor", "room"})
_AFTER_DE = frozenset({"room", "room_part", "facility", "position", "serial"})


@dataclass(frozen=True)
class _Part:
    kind: str  # see _NEXT
    text: str  # as it should appear in the result
    end: int


class _Best(NamedTuple):
    end: int  # where the best chain from here ends
    first: _Part | None  # its first part; None for the empty chain


# Which part may follow which: a small grammar of campus addresses. Order
# matters on ties: a room comes before an ordinal so 305宿舍 reads as room 305.
_AFTER_PLACE = ("building", "floor", "room", "place", "room_part", "facility", "prefix",
                "ordinal", "serial", "cn_ordinal", "position")
_NEXT = {
    "start": ("prefix", "place", "building", "floor", "bare_room", "room_part",
              "ordinal", "serial", "cn_ordinal"),
    "prefix": ("place",),  # 新宿舍楼, 小会议室
    "ordinal": ("place", "room_part", "facility"),  # 302会议室, 第三会议室, 305卫生间
    "serial": ("place", "room_part", "facility", "serial_facility"),  # 2号电梯, 3号门
    "cn_ordinal": ("ordinal_place",),  # 一食堂
    "place": _AFTER_PLACE,  # 学员公寓东区, 6号楼地下室, 三楼会议室
    "ordinal_place": _AFTER_PLACE,
    "building": _AFTER_PLACE,
    "floor": ("room", "place", "room_part", "facility", "prefix", "ordinal", "serial", "position"),
    "room": ("room_part", "place", "facility", "position"),  # 9号楼305卫生间, 教学楼201教室
    "bare_room": ("room_part", "place", "facility", "position"),
    "room_part": ("position",),  # 卫生间门口
    "facility": ("position",),  # 电梯门口
    "serial_facility": ("position",),
    "position": ("place", "room_part", "facility", "prefix", "ordinal", "serial"),  # 三楼东侧自习室
}


def _narrowed(best: tuple[_Part, ...], later: list[tuple[_Part, ...]]) -> tuple[_Part, ...]:
    """"住在学员公寓2号楼……2号楼507": the same building said again with the
    room is the same place, narrowed down; a different building is not."""
    kinds = [p.kind for p in best]
    if "building" not in kinds or kinds[-1] != "building":
        return best
    building = best[-1].text
    for chain in later:
        at = next((i for i, p in enumerate(chain) if p.kind == "building"), None)
        if at is not None and chain[at].text == building and len(chain) > at + 1:
            return best + chain[at + 1:]
    return best


class LocationFinder:
    def __init__(self, places: dict):
        self.place_names = _words(places, "场所")
        self.room_parts = _words(places, "室内部位")
        self.spelling = {str(k): str(v) for k, v in (places.get("别字") or {}).items()}
        self.words = self._word_index(places)
        self.patterns = self._patterns(places)
        self.may_start = self._start_pattern()
        self.start_chars = re.compile(self._char_class(_NEXT["start"]))  # one class: scanned in C, quickly
        # (kind before, gap, character) -> the kinds that may begin there; only
        # characters some part begins with are kept, so it stays small.
        self._kinds_cache: dict[tuple[str, str, str], tuple[str, ...]] = {}
        self._any_first_char = frozenset(self._starting_chars([*self.words, *_FIRST_CHARS]))

    def _word_index(self, places: dict) -> dict[str, dict[str, list[str]]]:
        """Word kinds, each indexed by first character so a position is checked
        against a handful of words; a misspelling joins its correct word's kinds."""
        lists = {"prefix": "前缀", "place": "场所", "room_part": "室内部位", "facility": "设施",
                 "serial_facility": "编号设施", "ordinal_place": "序号场所", "position": "方位"}
        index = {}
        for kind, key in lists.items():
            words = _words(places, key)
            words += [w for w, right in self.spelling.items() if right in words]
            index[kind] = _by_first_char(words)
        return index

    def _patterns(self, places: dict) -> dict[str, re.Pattern[str]]:
        suffixes = _words(places, "楼栋后缀")
        suffixes += [w for w, right in self.spelling.items() if right in suffixes]
        building = (rf"({_NUM}|{_CN_NUM}|(?<![A-Za-z])[A-Za-z]) ?({_alternation(suffixes)})"
                    if suffixes else "(?!)")
        ordinal_places = _alternation(_words(places, "序号场所")) or "(?!)"
        return {
            "building": re.compile(building),
            "floor": re.compile(rf"(?<![这那每哪第])(?:{_NUM}|{_CN_NUM}|顶|负(?:\d|[一二三])|地下(?:\d|[一二三])?)"
                                rf"[楼层](?!号|灰|土|皮|纸|膜)"),
            "room": re.compile(rf"(?:{_ROOM_NUMBER}|({_CN_DIGITS})){_ROOM_SUFFIX}?{_NOT_QUANTITY}"),
            "bare_room": re.compile(rf"{_NUMBER_START}(?:(\d{{1,2}}-\d{{3,4}}){_ROOM_SUFFIX}?{_NOT_QUANTITY}"
                                    rf"|([A-Za-z]?\d{{3,4}}){_BARE_ROOM_END})"),
            "ordinal": re.compile(rf"第(?:\d{{1,3}}|{_CN_ORDINAL})|(?<![A-Za-z\d-])(?:[A-Za-z]\d{{3,4}}|\d{{1,4}})"
                                  rf"(?![\d号楼层.-])"),
            "serial": re.compile(rf"(?<![月\d])(\d{{1,4}}|{_CN_ORDINAL})号"),
            # not 周六食堂 / 星期一食堂 / 初一: a day, not the canteen's number
            "cn_ordinal": re.compile(rf"(?<![一二三四五六七八九十第这那每哪周期拜初月号日]){_CN_ORDINAL}(?={ordinal_places})"),
        }

    def _start_pattern(self) -> re.Pattern[str]:
        """Where a location can begin at all: one quick pass of the regex engine
        instead of trying every part at every character of a long message. A
        number or 前缀 counts only where a word it needs may follow (2号 + 电梯),
        so the digits of 1 2 3 … are not each tried as a start."""
        starts = []
        for kind in _NEXT["start"]:
            if kind in _NEEDS_FOLLOWER:
                starts.append(f"(?:{self._begin(kind)})(?={self._char_class(_NEXT[kind])})")
            elif kind in self.patterns:
                starts.append(f"(?:{self.patterns[kind].pattern})")
        standalone_words = [kind for kind in _NEXT["start"] if kind in self.words and kind not in _NEEDS_FOLLOWER]
        starts.append(self._char_class(standalone_words))
        return re.compile(f"(?=(?:{'|'.join(starts)}))")

    def _begin(self, kind: str) -> str:
        if kind in self.patterns:
            return self.patterns[kind].pattern
        words = [w for group in self.words[kind].values() for w in group]
        return _alternation(words) or "(?!)"

    def _starting_chars(self, kinds) -> set[str]:
        """The characters a part of any of `kinds` can begin with."""
        return {ch for kind in kinds for ch in (self.words[kind] if kind in self.words else _FIRST_CHARS[kind])}

    def _char_class(self, kinds) -> str:
        """A pattern for the first character of any part of `kinds`."""
        chars = self._starting_chars(kinds)
        return f"[{re.escape(''.join(sorted(chars)))}]" if chars else "(?!)"

    def words_to_learn(self) -> list[str]:
        return self.place_names + self.room_parts

    def find(self, text: str) -> str | None:
        """`text` is normalised (half-width) but keeps its letter case."""
        chains = self._chains(text)
        if not chains:
            return None
        numbered = [c for c in chains if any(p.kind in _NUMBERED for p in c)]
        best = (numbered or chains)[0]
        return "".join(p.text for p in _narrowed(best, chains[chains.index(best) + 1:]))

    def _chains(self, text: str) -> list[tuple[_Part, ...]]:
        """Every chain, left to right, none overlapping the one before."""
        chains: list[tuple[_Part, ...]] = []
        memo: dict[tuple[int, str], _Best] = {}
        pos = 0
        for char in self.start_chars.finditer(text):
            start = char.start()
            if start < pos or not self.may_start.match(text, start):
                continue
            chain = self._longest_chain(text, start, "start", memo)
            if chain:
                chains.append(chain)
                pos = chain[-1].end
        return chains

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
            parts = self._next_parts(text, at, after)
            pending = [(part.end, part.kind) for part in parts if (part.end, part.kind) not in memo]
            if pending:
                stack.extend(pending)
                continue
            memo[at, after] = _best_of(at, parts, memo)
            stack.pop()
        chain = []
        first = memo[pos, state].first
        while first is not None:
            chain.append(first)
            first = memo[first.end, first.kind].first
        return tuple(chain)

    def _next_parts(self, text: str, at: int, after: str) -> list[_Part]:
        """The parts that may follow a part of kind `after` ending at `at`."""
        parts = self._parts_of(text, at, after, "")
        if after == "start":
            return parts
        spaces = _SPACES.match(text, at)
        if spaces:
            later = self._parts_of(text, spaces.end(), after, " ")
        elif link := LINK.match(text, at):  # 4号楼的电梯, 8号楼西边那部电梯
            later = self._parts_of(text, link.end(), after, "的")
        else:
            return parts
        return parts + [part for part in later if not _lists_another(text, at, part)]

    def _parts_of(self, text: str, pos: int, after: str, gap: str) -> list[_Part]:
        """Every part at `pos` that may follow `after` across `gap` ("", " " or "的")."""
        char = text[pos] if pos < len(text) else ""
        if char not in self._any_first_char:
            return []
        kinds = self._kinds_cache.get((after, gap, char))
        if kinds is None:
            allowed = {"": _NEXT[after], " ": _AFTER_SPACES, "的": _AFTER_DE}[gap]
            kinds = tuple(kind for kind in _NEXT[after] if kind in allowed and self._may_begin(kind, char))
            self._kinds_cache[after, gap, char] = kinds
        return [part for kind in kinds for part in self._parts_at(text, pos, kind)]

    def _may_begin(self, kind: str, char: str) -> bool:
        """Whether a part of `kind` can begin with `char` (a set lookup, not a regex)."""
        if kind in self.words:
            return char in self.words[kind]
        return char in _FIRST_CHARS[kind]

    def _parts_at(self, text: str, pos: int, kind: str) -> list[_Part]:
        """Every way a part of `kind` can start at `pos`.

        Word lists give every word that fits, not just the longest: 宿舍楼下
        reads best as 宿舍 + 楼下, which only the whole chain can tell.
        """
        if kind in self.words:
            candidates = self.words[kind].get(text[pos], ()) if pos < len(text) else ()
            return [_Part(kind, self.spelling.get(w, w), pos + len(w)) for w in candidates if text.startswith(w, pos)]
        match = self.patterns[kind].match(text, pos)
        return [_Part(kind, self._render(kind, match), match.end())] if match else []

    def _render(self, kind: str, match: re.Match[str]) -> str:
        if kind == "building":
            number, suffix = match.group(1), match.group(2)
            return _number(number) + self.spelling.get(suffix, suffix)
        if kind in ("room", "bare_room"):
            return _number(next(g for g in match.groups() if g))
        if kind == "serial":
            return _number(match.group(1)) + "号"
        if kind == "ordinal":
            return match.group(0).upper()  # 第三, 302, A301
        return match.group(0)  # floors as written


def _best_of(at: int, parts: list[_Part], memo: dict[tuple[int, str], _Best]) -> _Best:
    """The part that starts the longest chain, all later parts being in memo."""
    best = _Best(at, None)  # the empty chain
    for part in parts:
        rest = memo[part.end, part.kind]
        if part.kind in _NEEDS_FOLLOWER and rest.first is None:
            continue  # 新 or 2号 alone is no place
        if rest.end > best.end:  # ties: the first option wins
            best = _Best(rest.end, part)
    return best


def _lists_another(text: str, at: int, part: _Part) -> bool:
    """3号楼 4号楼 names two buildings, where 7号楼 1单元 goes on to the unit:
    across spaces a building with the same suffix as the part before is no part of it."""
    suffix = part.text.lstrip("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    return part.kind == "building" and text.endswith(suffix, 0, at)


def _number(number: str) -> str:
    """Arabic digits, ASCII letters upper-cased: 三 -> 3, b -> B, a301 -> A301, 3-201 stays."""
    if number.isascii():
        return number.upper()
    return chinese_to_arabic(number)


def _words(places: dict, key: str) -> list[str]:
    return [str(w) for w in places.get(key) or []]


def _by_first_char(words) -> dict[str, list[str]]:
    index: dict[str, list[str]] = {}
    for word in dict.fromkeys(map(str, words)):
        index.setdefault(word[0], []).append(word)
    return index


def _alternation(words) -> str:
    return "|".join(re.escape(str(w)) for w in sorted(words, key=len, reverse=True))
