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
from dataclasses import dataclass
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
        for key in dict.fromkeys(normalize_key(k) for k in keys if str(k).strip()):
            self._add(key)

    def _add(self, key: str) -> None:
        if key.startswith(REGEX_PREFIX):
            self.patterns.append((key, re.compile(key[len(REGEX_PREFIX):])))
        elif _GAP_MARK in key:
            parts = [re.escape(p) for p in key.split(_GAP_MARK) if p]
            gap = f"{_NOT_BREAK}{{0,{_MAX_GAP}}}?"
            self.patterns.append((key, re.compile(gap.join(parts[:-1] + [f"(?P<last>{parts[-1]})"]))))
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
        for key, pattern in self.patterns:
            hits.extend(Hit(key, m.start(), m.end(), False, _last_part_start(m))
                        for m in pattern.finditer(text))
        return hits


def _last_part_start(match: re.Match[str]) -> int:
    return match.start("last") if "last" in match.re.groupindex else -1


def drop_contained(hits: Iterable[Hit]) -> list[Hit]:
    """Keep the longest reading: 物业费 hides 物业, 电梯困人 hides 电梯."""
    kept: list[Hit] = []
    for hit in sorted(hits, key=lambda h: (h.start - h.end, h.start)):
        covered = any(k.contiguous and k.start <= hit.start and hit.end <= k.end
                      and (k.start, k.end) != (hit.start, hit.end) for k in kept)
        if not covered:
            kept.append(hit)
    return sorted(kept, key=lambda h: h.start)


def clause_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """The clause (text between two breaks) that holds text[start:end]."""
    left = max(text.rfind(ch, 0, start) for ch in CLAUSE_BREAKS) + 1
    rights = [i for i in (text.find(ch, end) for ch in CLAUSE_BREAKS) if i != -1]
    return left, min(rights, default=len(text))


class AdjacentCue:
    """A cue word that must sit right next to a keyword, e.g. 没有 in 没有停电.

    `fillers` may stand between the cue and the keyword (没有*发生*火灾).
    """

    def __init__(self, cues: Iterable[str], fillers: Iterable[str] = ()):
        cue_alt = "|".join(re.escape(fold(c)) for c in sorted(cues, key=len, reverse=True))
        fill_alt = "|".join(re.escape(fold(f)) for f in sorted(fillers, key=len, reverse=True))
        fill = f"(?:{fill_alt}){{0,2}}" if fill_alt else ""
        self._before = re.compile(f"(?:{cue_alt}){fill}$") if cue_alt else None
        self._after = re.compile(f"^{fill}(?:{cue_alt})") if cue_alt else None

    def ends(self, prefix: str) -> bool:
        """Does `prefix` (the text just before a keyword) end with the cue?"""
        return bool(self._before and self._before.search(prefix))

    def starts(self, suffix: str) -> bool:
        """Does `suffix` (the text just after a keyword) start with the cue?"""
        return bool(self._after and self._after.search(suffix))


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
