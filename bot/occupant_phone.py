"""The phone number to offer an occupant in the summary: the one they left
on their last complaint, else the mobile WeCom's directory shows for them.

WeCom gives a self-built app created after June 2022 no mobile in user/get
unless the member consented through OAuth (snsapi_privateinfo), so the
directory often has none: then the summary just offers to take one. The
answer is kept in Redis, so a callback asks WeCom at most once a day per
person, and with a short timeout: the reply must go out within 5 seconds."""
from __future__ import annotations

import logging
import re

from bot import complaints
from bot.wecom.client import WeComError

log = logging.getLogger(__name__)

LOOKUP_TIMEOUT = (1.0, 1.5)  # connect, read: seconds
KEEP_FOUND, KEEP_NONE = 24 * 3600, 3600  # a failed or empty lookup is retried sooner


def known_phone(ctx, ask_directory: bool = True) -> tuple[str | None, str | None]:
    """(phone, where it came from: "上次留的" or "通讯录"), or (None, None).
    Without ``ask_directory`` only what is known already: no call to WeCom."""
    last = complaints.last_phone_of(ctx.session, ctx.user)
    if last:
        return last, "上次留的"
    mobile = _directory_mobile(ctx, ask=ask_directory)
    return (mobile, "通讯录") if mobile else (None, None)


def _directory_mobile(ctx, ask: bool) -> str | None:
    key = f"{ctx.services.settings.redis_prefix}mobile:{ctx.user}"
    cached = ctx.kv.get(key)
    if cached is not None:
        return cached or None
    if not ask or not ctx.services.wecom.has_token():  # a token fetch first could outlast the reply's wait
        return None
    try:
        mobile = re.sub(r"\D", "", str(ctx.services.wecom.user_get(ctx.user, timeout=LOOKUP_TIMEOUT).get("mobile") or ""))
    except WeComError as error:  # not a member the app may see, or WeCom is slow: offer to take one
        log.info("通讯录里查不到 %s 的手机号（%s）", ctx.user, error.errcode)
        mobile = ""
    ctx.kv.set(key, mobile, ex=KEEP_FOUND if mobile else KEEP_NONE)
    return mobile or None
