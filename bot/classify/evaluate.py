"""Scoring the classifier against a labelled TSV (tests and the benchmark share it).

Columns: text, categories, emergency, location, mood, compensation.
`|` separates accepted answers in any column; `管理服务/服务态度` names a
category with its subcategory; `-` means no location, or for mood "any".
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from .classifier import Classification, Classifier


@dataclass(frozen=True)
class Example:
    text: str
    categories: frozenset[str]
    emergency: frozenset[str]
    location: str | None
    mood: frozenset[str]  # empty: any mood is fine
    compensation: frozenset[str]

    @property
    def must_alarm(self) -> bool:
        return self.emergency == {"1"}

    @property
    def must_not_alarm(self) -> bool:
        return self.emergency == {"0"}

    @property
    def is_service(self) -> bool:
        return any(c.startswith("管理服务/") for c in self.categories)


@dataclass
class Ratio:
    right: int = 0
    total: int = 0

    def add(self, ok: bool) -> None:
        self.right += ok
        self.total += 1

    @property
    def value(self) -> float:
        return self.right / self.total if self.total else 1.0


@dataclass
class Report:
    category: Ratio = field(default_factory=Ratio)
    subcategory: Ratio = field(default_factory=Ratio)
    emergency_recall: Ratio = field(default_factory=Ratio)
    false_alarms: Ratio = field(default_factory=Ratio)  # value = false-alarm rate
    location: Ratio = field(default_factory=Ratio)
    mood: Ratio = field(default_factory=Ratio)
    compensation: Ratio = field(default_factory=Ratio)
    mistakes: list[tuple[str, str, Example, Classification]] = field(default_factory=list)


def read_examples(path: str | Path) -> list[Example]:
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [_example(row) for row in rows if (row.get("text") or "").strip()]


def _example(row: dict) -> Example:
    def options(name: str) -> frozenset[str]:
        return frozenset(v.strip() for v in row[name].split("|") if v.strip())

    location = row["location"].strip()
    return Example(row["text"].strip(), options("categories"), options("emergency"),
                   None if location == "-" else location, options("mood") - {"-"},
                   options("compensation"))


def category_ok(example: Example, result: Classification) -> bool:
    """The top-level category only: 管理服务/服务态度 counts as 管理服务 here."""
    return result.category in {answer.partition("/")[0] for answer in example.categories}


def subcategory_ok(example: Example, result: Classification) -> bool:
    return f"{result.category}/{result.subcategory}" in example.categories


def evaluate(classifier: Classifier, examples: list[Example]) -> Report:
    report = Report()
    for example in examples:
        result = classifier.classify(example.text)
        _score(report, example, result)
    return report


def _score(report: Report, example: Example, result: Classification) -> None:
    def check(name: str, ratio: Ratio, ok: bool) -> None:
        ratio.add(ok)
        if not ok:
            report.mistakes.append((name, example.text, example, result))

    check("category", report.category, category_ok(example, result))
    if example.is_service and result.category == "管理服务":  # sub accuracy given the category
        check("subcategory", report.subcategory, subcategory_ok(example, result))
    if example.must_alarm:
        check("emergency missed", report.emergency_recall, result.emergency)
    if example.must_not_alarm:
        report.false_alarms.add(result.emergency)
        if result.emergency:
            report.mistakes.append(("false alarm", example.text, example, result))
    check("location", report.location, result.location == example.location)
    if example.mood:
        check("mood", report.mood, result.mood in example.mood)
    check("compensation", report.compensation, str(int(result.wants_compensation)) in example.compensation)
