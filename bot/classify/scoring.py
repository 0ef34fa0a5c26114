"""Choosing the category from weighted keywords."""

from __future__ import annotations

from typing import Iterable, Sequence

from .matching import Token, WeightedLexicon

EMERGENCY_CATEGORY = "突发事件"
# A hint from an emergency word that turned out not to be one (没有停电 -> 设备设施)
# is a clue, not proof: worth about one ordinary keyword.
FALLBACK_WEIGHT = 2.0
# How much the learned model (learned.py) counts beside the keyword lists, whose
# scores are scaled so the best is 1. Chosen with each labelled set left out of
# the model in turn: lower lets tuned keywords overrule the model on new
# wordings, higher lets the model overrule keywords an expert was sure of.
LEARNED_WEIGHT = 4.0
# With no keyword at all the model decides alone only when fairly sure: "嗯嗯"
# spreads its probability evenly (top about 0.15) and gets the default category.
LEARNED_ALONE = 0.3


class CategoryScorer:
    def __init__(self, table: dict):
        self.lexicon = WeightedLexicon(table.get("关键词") or {}, table.get("不计分") or [])
        self.default = str(table.get("默认类别") or "设备设施")

    def words_to_learn(self) -> list[str]:
        return self.lexicon.keys()

    def scores(self, text: str, tokens: Sequence[Token], hints: Iterable[str] = ()) -> dict[str, float]:
        return with_hints(self.lexicon.score(text, tokens), hints)

    def best(self, scores: dict[str, float], learned: dict[str, float] | None = None) -> str:
        """Highest score, keywords and the learned probabilities together;
        ties go to the label listed first in the data file."""
        top = max(scores.values(), default=0.0)
        if learned and (top > 0 or max(learned.values()) >= LEARNED_ALONE):
            scale = top if top > 0 else 1.0
            scores = {label: scores.get(label, 0.0) / scale + LEARNED_WEIGHT * learned.get(label, 0.0)
                      for label in set(scores) | set(learned)}
        order = {label: i for i, label in enumerate(self.lexicon.labels)}
        label, score = max(scores.items(), key=lambda kv: (kv[1], -order.get(kv[0], len(order))))
        return label if score > 0 else self.default


def with_hints(scores: dict[str, float], hints: Iterable[str]) -> dict[str, float]:
    """`scores` plus FALLBACK_WEIGHT for each label hinted by a dismissed emergency word."""
    hinted = dict(scores)
    for label in hints:
        hinted[label] = hinted.get(label, 0.0) + FALLBACK_WEIGHT
    return hinted


def split_label(label: str) -> tuple[str, str | None]:
    """`管理服务/服务态度` -> (`管理服务`, `服务态度`); other labels have no subcategory."""
    category, _, sub = label.partition("/")
    return category, sub or None
