"""Keep personal data and secrets out of the logs.

``RedactingFilter`` rewrites every record it sees so that its final message
(``msg % args``), its exception text and its stack text carry no mainland
mobile or landline number, ID card number, name introduced as one ("我叫张伟"),
secret query parameter or URL password, and none of the configured secret
values. ``bot.runtime.setup_logging`` puts it on every root handler; the
secrets are registered once the settings are loaded (``register_settings``).

The record itself is rewritten (its message is formatted once, its arguments
dropped), so every handler that sees it afterwards gets the masked text too.
"""
from __future__ import annotations

import logging
import re
import threading
import traceback
from typing import Iterable
from urllib.parse import quote, quote_plus, urlsplit

MASK = "***"
# Registered secrets shorter than this are not masked: they would mask ordinary words.
SHORTEST_SECRET = 4

_MOBILE = re.compile(r"(?<!\d)((?:\+?86[-\s]?)?1[3-9]\d)[-\s]?(\d{4})[-\s]?(\d{4})(?!\d)")
_LANDLINE = re.compile(r"(?<![0-9A-Za-z])(0\d{2,3})([-\s]?)(\d{3,4})(\d{4})(?![0-9A-Za-z])")
_ID_CARD = re.compile(r"(?<![0-9A-Za-z])([1-9]\d{5})((?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01]))"
                      r"(\d{3}[0-9Xx])(?![0-9A-Za-z])")
_NAME = re.compile(r"(我叫|我是|本人|姓名[:：]?\s*|联系人[:：]?\s*)([\u4e00-\u9fff])([\u4e00-\u9fff]{1,3})")
_SECRET_WORDS = (r"access_token|corpsecret|secret|secret_key|password|passwd|pwd|token|"
                 r"encoding_aes_key|encodingaeskey|aes_key|api_key")
_SECRET_PARAM = re.compile(r"(?<![A-Za-z])((?:%s)=)([^&\s'\",;)<>]+)" % _SECRET_WORDS, re.I)
_SECRET_JSON = re.compile(r"""(["'](?:%s)["']\s*:\s*["'])([^"']+)""" % _SECRET_WORDS, re.I)
_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s]+:)([^@\s/]+)(@)", re.I)

_secrets: set[str] = set()
_lock = threading.Lock()


def register_secrets(values: Iterable[str | None]) -> None:
    """Mask these values wherever they appear (also as they look in a URL)."""
    with _lock:
        for value in values:
            if value and len(value) >= SHORTEST_SECRET:
                _secrets.update({value, quote(value, safe=""), quote_plus(value)})


def register_settings(settings) -> None:
    """The secrets of the configuration: WeCom's secret, token and AES key, the
    console's password and session key, and the passwords inside the URLs."""
    wecom, console = settings.wecom, settings.console
    register_secrets([wecom.secret, wecom.token, wecom.encoding_aes_key, console.admin_password,
                      console.secret_key, _url_password(settings.database_url),
                      _url_password(settings.redis_url)])


def forget_secrets() -> None:
    with _lock:
        _secrets.clear()


def redact(text: str) -> str:
    """The text with personal data and secrets masked."""
    if not text:
        return text
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)  # the longest first: no half-masked secret
    for secret in secrets:
        text = text.replace(secret, MASK)
    text = _SECRET_PARAM.sub(lambda m: m.group(1) + MASK, text)
    text = _SECRET_JSON.sub(lambda m: m.group(1) + MASK, text)
    text = _URL_PASSWORD.sub(lambda m: m.group(1) + MASK + m.group(3), text)
    text = _ID_CARD.sub(lambda m: m.group(1) + "*" * 8 + m.group(3)[-4:], text)
    text = _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
    text = _LANDLINE.sub(lambda m: f"{m.group(1)}{m.group(2)}****{m.group(4)}", text)
    return _NAME.sub(lambda m: m.group(1) + m.group(2) + "*" * len(m.group(3)), text)


class RedactingFilter(logging.Filter):
    """Rewrites each record's message, exception and stack text; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_redacted", False):
            return True
        record.msg, record.args = redact(_message(record)), None
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        record.exc_text = redact(record.exc_text) if record.exc_text else record.exc_text
        record.stack_info = redact(record.stack_info) if record.stack_info else record.stack_info
        record._redacted = True
        return True


def _message(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except Exception:  # a broken format string must not hide the record: keep its parts
        return f"{record.msg} {record.args!r}"


def _url_password(url: str | None) -> str | None:
    try:
        return urlsplit(url).password if url else None
    except ValueError:
        return None
