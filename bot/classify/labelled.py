"""Labelled sentences: the TSV format the classifier learns from and is scored on.

Columns: text, categories, emergency, location, mood, compensation.
`|` separates accepted answers in any column; `管理服务/服务态度` names a
category with its subcategory; `-` means no location, or for mood "any".
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path


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


COLUMNS = ("text", "categories", "emergency", "location", "mood", "compensation")


class BadLabels(ValueError):
    """A labelled file the classifier cannot learn from; the message names the file."""


def read_examples(path: str | Path) -> list[Example]:
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        missing = [name for name in COLUMNS if name not in (reader.fieldnames or ())]
        if missing:
            raise BadLabels(f"{path}：第一行缺少列 {'、'.join(missing)}（应为用 Tab 分隔的 {' '.join(COLUMNS)}）")
        rows = list(reader)
    return [_example(row) for row in rows if (row.get("text") or "").strip()]


def check_labels(path: str | Path, examples: list[Example], known: set[str]) -> None:
    """Every category label is one the classifier answers with: a typo would become a category of its own."""
    for example in examples:
        for label in example.categories - known:
            raise BadLabels(f"{path}：“{example.text[:20]}”的类别“{label}”不是已有的类别（{'、'.join(sorted(known))}）")


def _example(row: dict) -> Example:
    def options(name: str) -> frozenset[str]:
        return frozenset(v.strip() for v in row[name].split("|") if v.strip())

    location = row["location"].strip()
    return Example(row["text"].strip(), options("categories"), options("emergency"),
                   None if location == "-" else location, options("mood") - {"-"},
                   options("compensation"))
