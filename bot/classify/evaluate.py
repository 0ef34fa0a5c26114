"""Scoring the classifier against labelled sentences (tests and the benchmark share it);
the file format is described in labelled.py."""

from __future__ import annotations

from dataclasses import dataclass, field

from .classifier import Classification, Classifier
from .labelled import Example, read_examples  # noqa: F401  (read_examples: re-exported for tests and benches)


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
