"""The complaint classifier: one message in, one Classification out."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, TextIO

import jieba

from .emergency import NO, YES, EmergencyDetector, second_opinion
from .labelled import Example, check_labels, read_examples
from .learned import NaiveBayes, features
from .lexicon import labelled_files, load_tables
from .location import LocationFinder
from .matching import Token, is_plain_phrase, normalize_key
from .normalize import fold, normalize
from .scoring import EMERGENCY_CATEGORY, CategoryScorer, split_label, with_hints
from .tone import ANGRY, CompensationDetector, MoodJudge, anger_label

# A category score this high names an ordinary problem plainly (about two
# keywords): "救命" beside it is an exclamation, see EmergencyDetector.assess.
PLAIN_TOPIC = 5.0
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
        self.learned = NaiveBayes(())
        self.learned_anger = NaiveBayes(())
        self.learned_alarm = NaiveBayes(())

    @classmethod
    def load(cls, extra_dir: str | Path | None = None, leave_out: str | None = None) -> "Classifier":
        """Packaged data plus an administrator's same-named files in `extra_dir`.

        Uses its own jieba tokenizer (so user words never leak into other
        code using the global one) and loads the dictionary now: jieba takes
        about a second on first use, too slow inside a WeCom callback.
        `leave_out` names a labelled file not to learn from, so a benchmark can
        measure the model on sentences it has not seen.
        """
        tokenizer = jieba.Tokenizer()
        tokenizer.initialize()
        classifier = cls(load_tables(extra_dir), tokenizer)
        for word in classifier._user_words():
            tokenizer.add_word(word)
        known = set(classifier.scorer.lexicon.labels) | {EMERGENCY_CATEGORY}
        examples = []
        for path in labelled_files(extra_dir):
            if path.name != leave_out:
                found = read_examples(path)
                check_labels(path, found, known)
                examples += found
        classifier.learn(examples)
        return classifier

    def learn(self, examples: Iterable[Example]) -> None:
        """Fit the three models learned from labelled sentences: category,
        anger and alarm (the second opinion on the emergency rules).

        The category model leaves the emergency label out (the rules decide
        it); only sentences whose mood or emergency is certain teach those.
        """
        rows = [(self._features(fold(example.text)), example) for example in examples]
        self.learned = NaiveBayes((feats, labels) for feats, example in rows
                                  if (labels := sorted(example.categories - {EMERGENCY_CATEGORY})))
        self.learned_anger = NaiveBayes((feats, [anger_label(example.mood)]) for feats, example in rows
                                        if anger_label(example.mood))
        self.learned_alarm = NaiveBayes((feats, [YES if example.must_alarm else NO]) for feats, example in rows
                                        if example.must_alarm or example.must_not_alarm)

    def _features(self, folded: str, tokens: list[Token] | None = None) -> set[str]:
        return features(folded, self.tokens(folded) if tokens is None else tokens)

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
        feats = self._features(folded, tokens)
        keyword_scores = self.scorer.scores(folded, tokens)
        topical = max(keyword_scores.values(), default=0.0) >= PLAIN_TOPIC
        verdict = second_opinion(self.emergency.assess(folded, tokens, topical=topical),
                                 self.learned_alarm.posterior(feats).get(YES))
        if verdict.state == YES:
            label = EMERGENCY_CATEGORY
        else:
            label = self.scorer.best(with_hints(keyword_scores, verdict.fallback_labels),
                                     self.learned.posterior(feats))
        category, subcategory = split_label(label)
        return Classification(
            category=category,
            subcategory=subcategory,
            emergency=verdict.state == YES,
            emergency_state=verdict.state,
            location=self.places.find(normalize(text)),
            mood=self.mood.judge(folded, tokens, self.learned_anger.posterior(feats).get(ANGRY, 0.0)),
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
