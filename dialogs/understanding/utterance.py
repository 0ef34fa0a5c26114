"""What one message says: the act (what the person is doing) and the
details it contains. Made by the reader, read by the dialog policy."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.classify import Classification
    from dialogs.understanding.times import TimeSpan

# What a person can be doing with one message.
REPORT = "report"  # describing a problem (or just saying they want to complain)
EMERGENCY = "emergency"  # something dangerous is happening now
INFORM = "inform"  # only details: a place, a time, a phone number
YES, NO = "yes", "no"
SKIP = "skip"  # refusing an optional detail (没有照片, 不留了)
CORRECT = "correct"  # changing a detail given before
CANCEL = "cancel"
PROGRESS = "progress"  # asking about their own complaints
QUESTION = "question"  # a question that is not a complaint
SMALLTALK = "smalltalk"  # greetings, thanks, acknowledgements
HUMAN = "human"  # asking for a person
EMOJI = "emoji"  # pictures only, no words
UNCLEAR = "unclear"  # too little to tell

ACTS = (REPORT, EMERGENCY, INFORM, YES, NO, SKIP, CORRECT, CANCEL, PROGRESS, QUESTION, SMALLTALK, HUMAN, EMOJI,
        UNCLEAR)

_WORDS = re.compile(r"[\w\u4e00-\u9fff]")

# The slots a message can fill, by the names the intake dialog uses.
LOCATION, SINCE, PHONE, DESCRIPTION, PHOTOS = "location", "since", "phone", "description", "photos"


@dataclass(frozen=True)
class Utterance:
    text: str
    act: str
    place: str | None = None
    time: "TimeSpan | None" = None
    phone: str | None = None
    problem: str | None = None  # the words that describe a problem, when there is one
    problems: tuple[str, ...] = ()  # two or more separate matters in one message
    correction: str | None = None  # the slot a correction changes
    skips: frozenset[str] = field(default_factory=frozenset)  # optional details refused
    polarity: str | None = None  # YES or NO when the message also agrees or denies
    thanks: bool = False
    new_matter: bool = False  # opens with "还有个事": not about what came before
    topical: bool = False  # names something the category lists know (空调, 漏水), not just "一直没好"
    classification: "Classification | None" = None

    @property
    def pictures_only(self) -> bool:
        """👍 or 😡 alone: no words at all."""
        return not _WORDS.search(self.text)

    @property
    def emergency_state(self) -> str:
        return self.classification.emergency_state if self.classification else "no"

    @property
    def emergency_kinds(self) -> tuple[str, ...]:
        return self.classification.emergency_kinds if self.classification else ()

    def contained(self) -> dict[str, str]:
        """The slot values this message holds, and only those."""
        values = {LOCATION: self.place, SINCE: self.time.label() if self.time else None, PHONE: self.phone,
                  DESCRIPTION: self.problem}
        return {slot: value for slot, value in values.items() if value}
