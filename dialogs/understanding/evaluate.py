"""Scoring the reader against a labelled TSV (tests and the benchmark share it).

Columns: text, intent, place, time, phone, slot — see tests/data/utterances.tsv.
Per act: precision and recall. Per detail: how often the reader found what
the label holds (exact, and for places also "one contains the other"), and
how often it invented a detail the message does not hold.
"""
from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from dialogs.understanding.phrases import plain
from dialogs.understanding.reader import Reader
from dialogs.understanding.utterance import ACTS, EMOJI, SMALLTALK, UNCLEAR, Utterance

# The labelled set calls emoji small talk; the reader tells them apart.
SAME_ACT = {EMOJI: SMALLTALK}


@dataclass(frozen=True)
class Labelled:
    text: str
    act: str
    place: str
    time: str
    phone: str
    slot: str


@dataclass
class Scores:
    confusion: Counter = field(default_factory=Counter)  # (labelled, read) -> count
    details: Counter = field(default_factory=Counter)  # e.g. ("place", "exact") -> count
    errors: list[tuple[Labelled, Utterance]] = field(default_factory=list)
    total: int = 0

    def precision(self, act: str) -> float:
        read = sum(n for (_, got), n in self.confusion.items() if got == act)
        return self.confusion[act, act] / read if read else 1.0

    def recall(self, act: str) -> float:
        labelled = sum(n for (want, _), n in self.confusion.items() if want == act)
        return self.confusion[act, act] / labelled if labelled else 1.0

    def support(self, act: str) -> int:
        return sum(n for (want, _), n in self.confusion.items() if want == act)

    @property
    def accuracy(self) -> float:
        return sum(n for (want, got), n in self.confusion.items() if want == got) / self.total if self.total else 1.0

    def rate(self, detail: str, outcome: str) -> float:
        total = sum(n for (d, _), n in self.details.items() if d == detail)
        return self.details[detail, outcome] / total if total else 1.0


def read_labelled(path: Path) -> list[Labelled]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        return [Labelled(r["text"], r["intent"], r["place"] or "", r["time"] or "", r["phone"] or "", r["slot"] or "")
                for r in rows]


def score(reader: Reader, examples: list[Labelled], now: datetime) -> Scores:
    scores = Scores()
    for example in examples:
        got = reader.read(example.text, now)
        act = SAME_ACT.get(got.act, got.act)
        scores.total += 1
        scores.confusion[example.act, act] += 1
        outcomes = _details(example, got)
        for detail, outcome in outcomes.items():
            scores.details[detail, outcome] += 1
        if act != example.act or any(o in ("missed", "invented", "wrong") for o in outcomes.values()):
            scores.errors.append((example, got))
    return scores


def _details(example: Labelled, got: Utterance) -> dict[str, str]:
    return {"place": _compare(example.place, got.place, lenient=True),
            "time": _compare(example.time, got.time.text if got.time else None, lenient=True),
            "phone": _compare(example.phone, got.phone)}


def _compare(want: str, got: str | None, lenient: bool = False) -> str:
    want, got = plain(want), plain(got or "")
    if not want:
        return "invented" if got else "none"
    if not got:
        return "missed"
    if want == got:
        return "exact"
    return "partial" if lenient and (want in got or got in want) else "wrong"


def acts_in(scores: Scores) -> list[str]:
    return [act for act in ACTS if act not in (EMOJI, UNCLEAR) and scores.support(act)]
