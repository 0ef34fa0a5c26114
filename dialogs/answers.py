"""Reading what people type: the small words that mean yes, no, skip, done,
and the validators for the slots (phone, place, time)."""
from __future__ import annotations

import re
import unicodedata

YES = {"是", "是的", "对", "对的", "确认", "确定", "提交", "好", "好的", "可以", "没问题", "嗯", "y", "yes", "ok"}
NO = {"不是", "否", "不对", "没有", "不", "no", "n"}
SKIP = {"跳过", "不用", "不用了", "没有", "没", "无", "不清楚", "不知道", "不留", "算了吧", "略"}
DONE = {"好了", "完成", "发完了", "没了", "就这些", "没有了", "结束", "ok", "好"}
THANKS = {"谢谢", "谢谢你", "谢谢您", "多谢", "感谢", "辛苦了", "辛苦", "好的谢谢", "好谢谢", "麻烦了", "thanks", "thx"}
# Answers to a question of the dialog: said with no dialog open they describe nothing.
DIALOG_ANSWERS = YES | NO | SKIP | DONE | {"修改", "匿名", "匿名提交"}
GREETINGS = {"你好", "您好", "在吗", "在不在", "有人吗", "hello", "hi", "哈喽", "嗨", "早", "早上好", "下午好", "晚上好"}

_PUNCTUATION = re.compile(r"[\s,.!?;:，。！？；：、~～…\-—_\"'“”‘’()（）\[\]【】]+")


class Invalid(Exception):
    """A wrong answer; ``reason`` is the key of the text that explains why."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def plain(text: str) -> str:
    """Full-width to half-width, lower case, no punctuation or spaces."""
    return _PUNCTUATION.sub("", unicodedata.normalize("NFKC", text or "")).lower()


def is_one_of(text: str, words: set[str]) -> bool:
    return plain(text) in words


def meaningful_length(text: str) -> int:
    return len(plain(text))


_MOBILE = re.compile(r"^(?:\+?86)?(1[3-9]\d{9})$")
# Area codes: 010 and 020-029 have three digits, all others (0311, 0755 …) four.
_LANDLINE = re.compile(r"^(010|02\d|0[3-9]\d{2})(\d{7,8})$")


def parse_phone(text: str) -> str:
    digits = re.sub(r"[\s\-()（）]", "", unicodedata.normalize("NFKC", text))
    if match := _MOBILE.match(digits):
        return match.group(1)
    if match := _LANDLINE.match(digits):
        return f"{match.group(1)}-{match.group(2)}"
    raise Invalid("phone_invalid")


_SINCE = re.compile(
    r"(刚才|刚刚|今天(?:早上|上午|中午|下午|晚上)?|昨天(?:早上|上午|中午|下午|晚上)?|前天|今早|昨晚|"
    r"[0-9一二两三四五六七八九十几半]+(?:个)?(?:天|周|星期|礼拜|月|小时|分钟)(?:了|前|以来)?|"
    r"上(?:周|星期|个月)|这(?:周|几天)|本周|好几天|好久|一直|很久|开学(?:以来|后)?|入住(?:以来|后)?)")


def find_since(text: str) -> str | None:
    match = _SINCE.search(unicodedata.normalize("NFKC", text or ""))
    return match.group(0) if match else None


def parse_since(text: str) -> str:
    if is_one_of(text, SKIP):
        return "不清楚"
    value = text.strip()
    if not value or len(value) > 30:
        raise Invalid("since_invalid")
    return value


MAX_PLACE_CHARS = 40
# Places that say the kind of room but not which one: the bot asks which.
GENERIC_PLACES = {"宿舍", "寝室", "教室", "办公室", "房间", "楼道", "走廊", "卫生间", "厕所", "洗手间", "会议室",
                  "公寓", "楼里", "学员楼", "宿舍楼", "教学楼", "办公楼"}


def is_specific_place(place: str | None) -> bool:
    return bool(place) and plain(place) not in GENERIC_PLACES


def parse_location(text: str, found: str | None) -> str:
    """Prefer the place the classifier recognised; otherwise take the answer
    as typed if it is short and not just punctuation."""
    if found and len(found) <= MAX_PLACE_CHARS:
        return found
    value = text.strip()
    if meaningful_length(value) < 2 and not re.search(r"\d", value):
        raise Invalid("location_too_short")
    if find_since(value):  # "昨天开始" answers "since when", not "where"
        raise Invalid("location_is_time")
    if len(value) > MAX_PLACE_CHARS:
        raise Invalid("location_too_long")
    return value
