"""Text normalisation shared by every part of the classifier.

Users type on phone keyboards that mix full-width and half-width characters
(`３号楼２０１`, `Ｂ座`, `！！`), so everything is folded to one form first and
the data files can be written in plain half-width text.
"""

from __future__ import annotations

import unicodedata

_DIGITS = {"零": 0, "〇": 0, "○": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4,
           "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_UNITS = {"十": 10, "百": 100, "千": 1000}
CHINESE_NUMERAL_CHARS = "".join(_DIGITS) + "".join(_UNITS)


def normalize(text: str) -> str:
    """Full-width to half-width (NFKC), trimmed; keeps the original letter case."""
    return unicodedata.normalize("NFKC", text).strip()


def fold(text: str) -> str:
    """The form used for keyword matching: normalised and lower-cased (WiFi == wifi)."""
    return normalize(text).lower()


def chinese_to_arabic(numeral: str) -> str:
    """`十二` -> `12`, `二〇五` -> `205`, `305` -> `305`.

    Strings without 十/百/千 are read digit by digit, the way people say room
    numbers (二零一); with units they are read as a quantity (十二号楼).
    """
    if numeral.isdigit():
        return numeral
    if not any(ch in _UNITS for ch in numeral):
        return "".join(str(_DIGITS[ch]) for ch in numeral)
    total, current = 0, 0
    for ch in numeral:
        if ch in _DIGITS:
            current = _DIGITS[ch]
        else:
            total += (current or 1) * _UNITS[ch]  # 十二: a bare 十 means 1×10
            current = 0
    return str(total + current)
