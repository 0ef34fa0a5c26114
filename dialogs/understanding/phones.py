"""Phone numbers written anywhere in a message: mobiles and landlines with an area code."""
from __future__ import annotations

import re
import unicodedata

_MOBILE = re.compile(r"(?<!\d)(?:\+?86[\s-]?)?(1[3-9]\d(?:[\s-]?\d){8})(?!\d)")
# Area codes: 010 and 020-029 have three digits, all others (0311, 0755 …) four.
_LANDLINE = re.compile(r"(?<!\d)(010|02\d|0[3-9]\d{2})[\s-]?(\d{7,8})(?!\d)")


def find_phone(text: str) -> str | None:
    """The first phone number in ``text``, normalised (13812345678, 010-12345678), or None."""
    flat = unicodedata.normalize("NFKC", text or "")
    mobile, landline = _MOBILE.search(flat), _LANDLINE.search(flat)
    if mobile and (not landline or mobile.start() <= landline.start()):
        return re.sub(r"[\s-]", "", mobile.group(1))
    if landline:
        return f"{landline.group(1)}-{landline.group(2)}"
    return None


def phone_spans(text: str) -> list[str]:
    """The phone numbers as written, so they can be taken out of the words around them."""
    flat = unicodedata.normalize("NFKC", text or "")
    return [m.group(0) for m in _MOBILE.finditer(flat)] + [m.group(0) for m in _LANDLINE.finditer(flat)]
