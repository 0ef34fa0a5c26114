"""Phrase lists from data/acts.yaml and the two ways of matching them: the
whole message is one of the phrases (fillers aside), or a phrase occurs in it."""
from __future__ import annotations

import re
import unicodedata
from functools import cached_property
from pathlib import Path

from bot.classify.lexicon import _read_yaml, merge

DATA_FILE = Path(__file__).parent / "data" / "acts.yaml"
_PUNCTUATION = re.compile(r"[\s,.!?;:，。！？；：、~～…\-—_\"'“”‘’()（）\[\]【】/]+")


def plain(text: str) -> str:
    """Half-width, lower case, no punctuation or spaces: the form phrases are compared in."""
    return _PUNCTUATION.sub("", unicodedata.normalize("NFKC", text or "")).lower()


def load_acts(extra_dir: str | Path | None = None) -> dict:
    table = _read_yaml(DATA_FILE)
    extra = Path(extra_dir) / DATA_FILE.name if extra_dir else None
    if extra is not None and extra.is_file():
        table = merge(table, _read_yaml(extra))
    return table


class Phrases:
    """A list of phrases; ``re:`` entries are regular expressions."""

    def __init__(self, entries):
        entries = [str(e) for e in entries or []]
        self.words = [plain(e) for e in entries if not e.startswith("re:")]
        self.patterns = [re.compile(e[3:]) for e in entries if e.startswith("re:")]

    @cached_property
    def whole(self) -> frozenset[str]:
        return frozenset(self.words)

    def is_whole(self, flat: str) -> bool:
        return flat in self.whole

    def find(self, text: str) -> list[tuple[int, str]]:
        """Every phrase found in ``text`` (already plain, or raw for patterns), as (position, phrase)."""
        found = [(text.find(w), w) for w in self.words if w and w in text]
        found += [(m.start(), m.group(0)) for p in self.patterns for m in [p.search(text)] if m]
        return sorted(found)

    def remove(self, text: str) -> str:
        for word in sorted(self.words, key=len, reverse=True):
            text = text.replace(word, "") if word else text
        return text

    def occurs(self, text: str) -> bool:
        return any(w and w in text for w in self.words) or any(p.search(text) for p in self.patterns)


class Fillers:
    """Words that carry tone, not meaning (啊, 吧, 谢谢): dropped before a whole-message comparison."""

    def __init__(self, entries):
        words = sorted({plain(str(e)) for e in entries or []}, key=len, reverse=True)
        alternation = "|".join(map(re.escape, words)) or "(?!)"
        self.edges = re.compile(f"^(?:{alternation})+|(?:{alternation})+$")

    def only(self, flat: str) -> bool:
        """Nothing but tone: "嗯", "哦哦"."""
        return bool(self.edges.fullmatch(flat))

    def strip_edges(self, flat: str) -> str:
        """"好的呀" -> "好的"; a clause made only of fillers stays as it is."""
        stripped = self.edges.sub("", flat)
        return stripped or flat
