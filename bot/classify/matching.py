"""Finding keywords in a message.

A keyword in the data files is one of:
  * a phrase of two or more characters, found anywhere (so unseen compounds
    such as 卫生间漏水不停 still contain 漏水);
  * a single character, counted only when jieba cuts it out as a word of its
    own (凶 in 很凶, but not 差 in 差不多);
  * `甲…乙` (or `甲...乙`): 甲 followed by 乙 later in the same clause;
  * `re:` followed by a regular expression, e.g. `re:裂` for a single
    character that should count anywhere (裂开, 裂了), or a pattern with
    exceptions such as `re:(?<![浪免])费`.
Where matches overlap, the longest contiguous one wins (see drop_contained).
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from itertools import accumulate
from typing import Iterable, Sequence

from .normalize import fold

# Punctuation and spaces that end a clause (after NFKC full-width marks are ASCII).
CLAUSE_BREAKS = ",.!?;:、。~…\n\t "
_NOT_BREAK = "[^" + re.escape(CLAUSE_BREAKS) + "]"
_GAP_MARK = "..."  # NFKC turns the Chinese ellipsis … into three dots
_MAX_GAP = 8
REGEX_PREFIX = "re:"

Token = tuple[str, int, int]  # word, start, end — as jieba's tokenize() gives them


@dataclass(frozen=True)
class Hit:
    key: str
    start: int
    end: int
    # Only contiguous phrases hide the shorter keywords inside them; a gapped
    # or regex match spans unrelated words that must still count.
    contiguous: bool
    # Where the last part of a gapped phrase begins: in 电梯没有困人 the
    # negation sits between 电梯 and 困, so context is read up to here.
    anchor: int = -1

    @property
    def head(self) -> int:
        return self.anchor if self.anchor >= 0 else self.start


def normalize_key(key: str) -> str:
    key = str(key).strip()
    if key.startswith(REGEX_PREFIX):
        return key  # lower-casing would turn \S into \s
    return fold(key)


def is_plain_phrase(key: str) -> bool:
    """True for keys that can also serve as jieba user words."""
    return len(key) >= 2 and not key.startswith(REGEX_PREFIX) and _GAP_MARK not in key


class Matcher:
    """Finds every occurrence of a fixed set of keywords."""

    def __init__(self, keys: Iterable[str]):
        self.phrases: list[str] = []
        self._by_first_char: dict[str, list[str]] = {}  # scanning the text once beats one find() per phrase
        self.single_chars: set[str] = set()
        self.patterns: list[tuple[str, re.Pattern[str]]] = []
        self._sources: list[str] = []  # each pattern without group names, for the quick check below
        for key in dict.fromkeys(normalize_key(k) for k in keys if str(k).strip()):
            self._add(key)
        # Most messages match none of the patterns: one search for any of them
        # spares a hundred separate scans. (Left out if the patterns cannot be
        # joined, e.g. an administrator's pattern with a named group.)
        try:
            self._any_pattern = re.compile("|".join(f"(?:{source})" for source in self._sources)) \
                if len(self._sources) > 1 else None
        except re.error:
            self._any_pattern = None

    def _add(self, key: str) -> None:
        if key.startswith(REGEX_PREFIX):
            self.patterns.append((key, re.compile(key[len(REGEX_PREFIX):])))
            self._sources.append(key[len(REGEX_PREFIX):])
        elif _GAP_MARK in key:
            parts = [re.escape(p) for p in key.split(_GAP_MARK) if p]
            gap = f"{_NOT_BREAK}{{0,{_MAX_GAP}}}?"
            self.patterns.append((key, re.compile(gap.join(parts[:-1] + [f"(?P<last>{parts[-1]})"]))))
            self._sources.append(gap.join(parts))
        elif len(key) == 1:
            self.single_chars.add(key)
        else:
            self.phrases.append(key)
            self._by_first_char.setdefault(key[0], []).append(key)

    def find(self, text: str, tokens: Sequence[Token]) -> list[Hit]:
        hits = [Hit(word, start, end, True) for word, start, end in tokens
                if word in self.single_chars]
        for start, char in enumerate(text):
            for phrase in self._by_first_char.get(char, ()):
                if text.startswith(phrase, start):
                    hits.append(Hit(phrase, start, start + len(phrase), True))
        if self._any_pattern is not None and not self._any_pattern.search(text):
            return hits
        for key, pattern in self.patterns:
            hits.extend(Hit(key, m.start(), m.end(), False, _last_part_start(m))
                        for m in pattern.finditer(text))
        return hits


def _last_part_start(match: re.Match[str]) -> int:
    return match.start("last") if "last" in match.re.groupindex else -1


def drop_contained(hits: Iterable[Hit]) -> list[Hit]:
    """Keep the longest reading: 物业费 hides 物业, 电梯困人 hides 电梯.

    A hit is hidden by a contiguous hit with another span that wholly contains
    it. One pass in start order (longest first) keeps this linear after the
    sort: a long message full of keywords must not compare every pair.
    """
    ordered = sorted(hits, key=lambda h: (h.start, h.start - h.end))
    kept: list[Hit] = []
    reach = -1  # furthest end of a contiguous hit that starts earlier
    i = 0
    while i < len(ordered):
        j = i
        while j < len(ordered) and ordered[j].start == ordered[i].start:
            j += 1
        group = ordered[i:j]
        longest = max((h.end for h in group if h.contiguous), default=-1)
        kept.extend(h for h in group if reach < h.end and not longest > h.end)
        reach = max(reach, longest)
        i = j
    return kept


class Spans:
    """Where a fixed set of hits lie, answering "is one inside / around here?"
    by binary search, so judging many keywords in a long message stays fast."""

    def __init__(self, hits: Iterable[Hit]):
        hits = list(hits)
        by_end = sorted(hits, key=lambda h: h.end)
        self._ends = [h.end for h in by_end]
        self._latest_start = list(accumulate((h.start for h in by_end), max))
        by_start = sorted(hits, key=lambda h: h.start)
        self._starts = [h.start for h in by_start]
        self._furthest_end = list(accumulate((h.end for h in by_start), max))

    def any_within(self, start: int, end: int) -> bool:
        """Is some hit wholly inside text[start:end]?"""
        i = bisect_right(self._ends, end)
        return i > 0 and self._latest_start[i - 1] >= start

    def any_around(self, start: int, end: int) -> bool:
        """Does some hit wholly contain text[start:end]?"""
        i = bisect_right(self._starts, start)
        return i > 0 and self._furthest_end[i - 1] >= end


def clause_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """The clause (text between two breaks) that holds text[start:end]."""
    return Breaks(text).around(start, end)


class Breaks:
    """The positions of break characters in one text (clause breaks by default),
    found once so each keyword's clause is a binary search, not a scan."""

    def __init__(self, text: str, chars: str = CLAUSE_BREAKS):
        self.length = len(text)
        self.positions = [i for i, ch in enumerate(text) if ch in chars]

    def around(self, start: int, end: int) -> tuple[int, int]:
        """From just after the last break before `start` to the first break at or after `end`."""
        i = bisect_left(self.positions, start)
        j = bisect_left(self.positions, end)
        left = self.positions[i - 1] + 1 if i else 0
        return left, self.positions[j] if j < len(self.positions) else self.length


class AdjacentCue:
    """A cue word that must sit right next to a keyword, e.g. 没有 in 没有停电.

    `fillers` may stand between the cue and the keyword (没有*发生*火灾).
    Only a few characters next to the keyword are ever read, however long
    the message.
    """

    def __init__(self, cues: Iterable[str], fillers: Iterable[str] = ()):
        cues = [fold(c) for c in cues if str(c)]
        fillers = [fold(f) for f in fillers if str(f)]
        cue_alt = "|".join(re.escape(c) for c in sorted(cues, key=len, reverse=True))
        fill_alt = "|".join(re.escape(f) for f in sorted(fillers, key=len, reverse=True))
        fill = f"(?:{fill_alt}){{0,2}}" if fill_alt else ""
        self._before = re.compile(f"(?:{cue_alt}){fill}$") if cue_alt else None
        self._after = re.compile(f"{fill}(?:{cue_alt})") if cue_alt else None
        # The longest match, plus one for the newline that `$` may stand before.
        self._reach = max(map(len, cues), default=0) + 2 * max(map(len, fillers), default=0) + 1

    def ends(self, prefix: str) -> bool:
        """Does `prefix` (the text just before a keyword) end with the cue?"""
        return self.ends_at(prefix, len(prefix))

    def starts(self, suffix: str) -> bool:
        """Does `suffix` (the text just after a keyword) start with the cue?"""
        return self.starts_at(suffix, 0)

    def ends_at(self, text: str, pos: int, floor: int = 0) -> bool:
        """Does text[floor:pos] end with the cue?"""
        return bool(self._before and self._before.search(text, max(floor, pos - self._reach), pos))

    def starts_at(self, text: str, pos: int, ceiling: int | None = None) -> bool:
        """Does text[pos:ceiling] start with the cue?"""
        end = len(text) if ceiling is None else ceiling
        return bool(self._after and self._after.match(text, pos, min(end, pos + self._reach)))


class WeightedLexicon:
    """Labels, each with weighted keywords; scores a message per label."""

    def __init__(self, table: dict, neutral: Iterable[str] = ()):
        self.labels: list[str] = [str(label) for label in table]
        # Neutral words score nothing; they exist to hide shorter words inside
        # them (卫生间 hides 卫生, which would otherwise mean cleaning).
        self.weights: dict[str, list[tuple[str, float]]] = {normalize_key(w): [] for w in neutral}
        for label, words in table.items():
            for key, weight in (words or {}).items():
                if weight:
                    self.weights.setdefault(normalize_key(key), []).append((str(label), float(weight)))
        self.matcher = Matcher(self.weights)

    def keys(self) -> list[str]:
        return list(self.weights)

    def hits(self, text: str, tokens: Sequence[Token]) -> list[Hit]:
        return drop_contained(self.matcher.find(text, tokens))

    def score(self, text: str, tokens: Sequence[Token]) -> dict[str, float]:
        scores = dict.fromkeys(self.labels, 0.0)
        for key in {hit.key for hit in self.hits(text, tokens)}:  # each word counts once
            for label, weight in self.weights[key]:
                scores[label] += weight
        return scores
