"""How the complainant feels, and whether they ask for money back."""

from __future__ import annotations

import re
from typing import Sequence

from .matching import AdjacentCue, Matcher, Token, WeightedLexicon, drop_contained

CALM, UPSET, ANGRY = "calm", "upset", "angry"
_RUN_OF_BANGS = re.compile(r"!{2,}")
_RUN_OF_QUESTIONS = re.compile(r"\?{2,}|\?!|!\?")
_SINGLE_BANG = re.compile(r"(?<!!)!(?!!)")
# The learned anger model (learned.py) calls a message angry from this
# probability up. Its anger is sarcasm and rhetoric the word list lacks
# ("抢钱啊", "真棒啊你们客服"); with each labelled set left out in turn it about
# doubled the angry messages found, for one to two more mild ones in a hundred.
# ("烦死了，天天这样" scores about 0.63: annoyed, not angry.)
LEARNED_ANGER = 0.7


def anger_label(moods: frozenset[str]) -> str | None:
    """What a labelled sentence teaches the anger model: angry, not angry, or nothing if unsure."""
    if moods == {ANGRY}:
        return ANGRY
    return CALM if moods and ANGRY not in moods else None


class MoodJudge:
    def __init__(self, table: dict):
        # 不计分: phrases that only hide the shorter words inside them, as in
        # categories.yaml (多媒体 is not a threat to call the 媒体; 让我滚 reports
        # what the staff said, it is not the writer swearing).
        self.lexicon = WeightedLexicon({
            ANGRY: table.get("生气") or {},
            UPSET: table.get("不满") or {},
            CALM: table.get("礼貌") or {},
        }, table.get("不计分") or [])
        self.angry_threshold = float(table.get("生气门槛", 3))
        self.upset_threshold = float(table.get("不满门槛", 2))
        marks = table.get("标点") or {}
        self.bangs_weight = float(marks.get("连续感叹号", 3))
        self.questions_weight = float(marks.get("连续问号", 1))
        self.bang_weight = float(marks.get("单个感叹号", 1))

    def words_to_learn(self) -> list[str]:
        return self.lexicon.keys()

    def judge(self, text: str, tokens: Sequence[Token], learned_anger: float = 0.0) -> str:
        """angry beats upset; politeness (谢谢, 麻烦) softens upset but not anger.
        `learned_anger`: the anger model's probability for this message."""
        scores = self.lexicon.score(text, tokens)
        angry = scores[ANGRY] + self.bangs_weight * len(_RUN_OF_BANGS.findall(text))
        upset = scores[UPSET] + self.questions_weight * len(_RUN_OF_QUESTIONS.findall(text))
        upset += self.bang_weight * len(_SINGLE_BANG.findall(text))
        if angry >= self.angry_threshold or learned_anger >= LEARNED_ANGER:
            return ANGRY
        if angry + upset - scores[CALM] >= self.upset_threshold:
            return UPSET
        return CALM


class CompensationDetector:
    def __init__(self, table: dict):
        self.demands = Matcher(table.get("要求") or [])
        self.negation = AdjacentCue(table.get("否定") or [], table.get("否定后可跟") or [])

    def words_to_learn(self) -> list[str]:
        return list(self.demands.phrases)

    def wants(self, text: str, tokens: Sequence[Token]) -> bool:
        hits = drop_contained(self.demands.find(text, tokens))
        return any(not self.negation.ends_at(text, hit.start) for hit in hits)
