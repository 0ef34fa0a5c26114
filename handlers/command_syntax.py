"""The shape shared by occupant and staff commands: a word, maybe a
complaint number, then free text. The free text is kept exactly as typed;
only the number is normalised (full-width digits, spaces, dash variants)."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

NUMBER = r"[TtＴｔ][SsＳｓ]\s*[0-9０-９]{8}\s*[-－—–]\s*[0-9０-９]{3,}"


@dataclass(frozen=True)
class Command:
    word: str
    number: str | None
    rest: str


def command_pattern(words) -> re.Pattern:
    return re.compile(r"^\s*(%s)\s*(%s)?\s*(.*)$" % ("|".join(words), NUMBER), re.S)


def parse(pattern: re.Pattern, text: str) -> Command | None:
    match = pattern.match(text or "")
    if not match:
        return None
    return Command(match.group(1), normalize_number(match.group(2)), match.group(3).strip())


def normalize_number(raw: str | None) -> str | None:
    if raw is None:
        return None
    plain = re.sub(r"\s", "", unicodedata.normalize("NFKC", raw))
    return re.sub(r"[—–]", "-", plain).upper()
