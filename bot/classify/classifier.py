"""The complaint classifier: one message in, one Classification out."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, TextIO

import jieba

from .emergency import YES, EmergencyDetector
from .lexicon import load_tables
from .location import LocationFinder
from .matching import Token, is_plain_phrase, normalize_key
from .normalize import fold, normalize
from .scoring import EMERGENCY_CATEGORY, CategoryScorer, split_label
from .tone import CompensationDetector, MoodJudge

JSON_KEYS = ("category", "subcategory", "emergency", "location", "mood", "wants_compensation")


@dataclass(frozen=True)
class Classification:
    category: str
    subcategory: str | None
    emergency: bool
    emergency_state: str  # "yes" / "no" / "unsure" — see emergency.py
    location: str | None
    mood: str
    wants_compensation: bool
    emergency_kinds: tuple[str, ...] = ()  # the kinds judged live, e.g. ("停电",)

    def as_json(self) -> dict:
        """The fields other tools read; emergency_state stays internal to the dialog."""
        return {key: getattr(self, key) for key in JSON_KEYS}


class Classifier:
    def __init__(self, tables: dict, tokenizer: jieba.Tokenizer):
        self.scorer = CategoryScorer(tables["categories.yaml"])
        self.emergency = EmergencyDetector(tables["emergency.yaml"], tables["cues.yaml"])
        self.places = LocationFinder(tables["places.yaml"])
        self.mood = MoodJudge(tables["mood.yaml"])
        self.compensation = CompensationDetector(tables["compensation.yaml"])
        self.tokenizer = tokenizer

    @classmethod
    def load(cls, extra_dir: str | Path | None = None) -> "Classifier":
        """Packaged data plus an administrator's same-named files in `extra_dir`.

        Uses its own jieba tokenizer (so user words never leak into other
        code using the global one) and loads the dictionary now: jieba takes
        about a second on first use, too slow inside a WeCom callback.
        """
        tokenizer = jieba.Tokenizer()
        tokenizer.initialize()
        classifier = cls(load_tables(extra_dir), tokenizer)
        for word in classifier._user_words():
            tokenizer.add_word(word)
        return classifier

    def _user_words(self) -> list[str]:
        words = (self.scorer.words_to_learn() + self.emergency.words_to_learn()
                 + self.places.words_to_learn() + self.mood.words_to_learn()
                 + self.compensation.words_to_learn())
        return [w for w in dict.fromkeys(normalize_key(w) for w in words) if is_plain_phrase(w)]

    def tokens(self, folded: str) -> list[Token]:
        return list(self.tokenizer.tokenize(folded, HMM=False))

    def classify(self, text: str) -> Classification:
        folded = fold(text)
        tokens = self.tokens(folded)
        verdict = self.emergency.assess(folded, tokens)
        if verdict.state == YES:
            label = EMERGENCY_CATEGORY
        else:
            label = self.scorer.best(self.scorer.scores(folded, tokens, verdict.fallback_labels))
        category, subcategory = split_label(label)
        return Classification(
            category=category,
            subcategory=subcategory,
            emergency=verdict.state == YES,
            emergency_state=verdict.state,
            location=self.places.find(normalize(text)),
            mood=self.mood.judge(folded, tokens),
            wants_compensation=self.compensation.wants(folded, tokens),
            emergency_kinds=verdict.live_kinds,
        )

    def words_of(self, text: str) -> set[str]:
        """The words of two characters or more, as the tokenizer cuts them."""
        return {word for word, _, _ in self.tokens(fold(text)) if len(word) >= 2}

    def topic_score(self, text: str) -> float:
        """How strongly `text` names anything the category lists know; 0 for none."""
        folded = fold(text)
        return max(self.scorer.scores(folded, self.tokens(folded)).values(), default=0.0)


def classify_lines(classifier: Classifier, lines: Iterable[str], out: TextIO) -> None:
    """One JSON object per non-blank input line, Chinese kept readable."""
    for line in lines:
        text = line.strip()
        if not text:
            continue
        out.write(json.dumps(classifier.classify(text).as_json(), ensure_ascii=False) + "\n")
