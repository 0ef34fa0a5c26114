"""When did it happen? The first time expression in a Chinese message.

``find_time(text, now)`` returns the first phrase in ``text`` that says when
something happened or started (刚才, 昨天晚上10点, 三天了, 上周五, 12月1日,
开学以来 …) as a ``TimeSpan``, or None.

What it guarantees:

* Precision before recall. Words that only look like times give None: 一直,
  每天, 天天, 3号楼201, 1号楼, 215室, 13812345678, 50元, 三次, 第三次, 30度,
  一天三顿, 每周, 周一到周五 … So do times that are not when something
  happened: denied (不是昨天), supposed (如果半夜), deadlines (月底前, 这周内),
  plans and questions (今天能来吗, 下午两点还要上课), habits (每天晚上, a bare
  晚上 with no sign of an event in its clause, 周末), the chat itself (刚才说错了).
* ``TimeSpan.text`` is the phrase exactly as it stands in the message.
  Full-width digits and colons are read through NFKC, but ``text`` keeps them.
* ``start`` and ``end`` are aware datetimes in the zone of ``now`` and
  ``start <= end``. A point is the day, part of day, hour or minute it names
  (昨天 → that day, 晚上8点 → that hour); a duration runs from its estimated
  start up to ``now`` (三天了 → now-3d … now). An end later than ``now`` is
  cut back to ``now`` unless the start is later too (今晚, said at 15:00).
* Without a day, words resolve to the past: a clock time or part of day later
  than ``now`` means yesterday, a month-day after today last year, a bare 1号
  after today last month, a bare 周三 the most recent one before today.
* Vague amounts are estimates: 几=3, 好几=4, 两三=3, 十几=15, 二十多=25,
  一个多月=1.5 months; 开学 is the latest 1 September or 20 February,
  入住 and similar ninety days back.
* Linear time: every pattern is compiled once and repeats only boundedly, so a
  message of 20,000 characters takes tens of milliseconds.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Callable, Sequence

__all__ = ["TimeSpan", "find_time"]


@dataclass(frozen=True)
class TimeSpan:
    """A time expression found in a message and the span of time it names."""
    text: str        # the expression exactly as found in the message, e.g. "昨天晚上"
    start: datetime  # timezone-aware, in the zone of `now`
    end: datetime    # start <= end
    note: str = field(default="", compare=False)  # the date it came to, e.g. "12月2日" or "约11月30日起"

    def label(self) -> str:
        """The phrase plus the date, for a summary: 昨天晚上（12月2日）, 三天了（约11月30日起）, 刚才."""
        return f"{self.text}（{self.note}）" if self.note else self.text


def find_time(text: str, now: datetime) -> TimeSpan | None:
    """The first time expression in `text` that says when something happened or started, or None."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    if not text:
        return None
    flat, origin = _normalise(text)
    hit = _first_hit(_Ctx(flat, now))
    if hit is None:
        return None
    end = min(hit.end, now) if hit.start <= now else hit.end
    return TimeSpan(text[origin[hit.lo]:origin[hit.hi - 1] + 1], hit.start, max(end, hit.start), hit.note)


# -- scanning ----------------------------------------------------------------------------

@dataclass(frozen=True)
class _Hit:
    lo: int  # where the phrase starts and ends in the normalised text
    hi: int
    start: datetime
    end: datetime
    note: str = ""


@dataclass(frozen=True)
class _Ctx:
    text: str  # NFKC form of the message
    now: datetime

    @property
    def today(self) -> date:
        return self.now.date()

    @property
    def tz(self) -> tzinfo:
        return self.now.tzinfo

    def before(self, i: int, n: int = 1) -> str:
        return self.text[max(0, i - n):i]

    def after(self, i: int, n: int = 1) -> str:
        return self.text[i:i + n]


_Build = Callable[[re.Match, _Ctx], "_Hit | None"]


def _first_hit(ctx: _Ctx) -> _Hit | None:
    """The leftmost hit of all rules; at the same place the longest, then the earlier rule."""
    best: _Hit | None = None
    for pattern, build in _RULES:
        hit = _first_of(pattern, build, ctx, best.lo if best else len(ctx.text))
        if hit and (best is None or (hit.lo, -hit.hi) < (best.lo, -best.hi)):
            best = hit
    return best


def _first_of(pattern: re.Pattern, build: _Build, ctx: _Ctx, limit: int) -> _Hit | None:
    """The first match of one rule that its builder accepts, starting no later than `limit`.

    A rejected match is retried one character later (not after its end), so a
    shorter reading inside it still gets its chance; matches are short, which
    keeps this linear."""
    pos = 0
    while (m := pattern.search(ctx.text, pos)) and m.start() <= limit:
        if (hit := build(m, ctx)) and not _denied(ctx, hit):
            return hit
        pos = m.start() + 1
    return None


_IF = re.compile(r"如果|要是|假如|假设|万一|一旦|等到")
_NOT_THEN = ("不是", "并非", "而不是")
_BY_THEN = ("前", "之前", "以前", "内", "之内", "以内", "为止", "截止")


def _denied(ctx: _Ctx, hit: _Hit) -> bool:
    """不是昨天: a time said not to be the one; 如果半夜: one that has not happened;
    月底前, 12月5日前, 这周内: a deadline, not when something happened."""
    window = _clause_before(ctx, hit.lo, 4)
    if window.endswith(_NOT_THEN) or _IF.search(window):
        return True
    return ctx.after(hit.hi, 2).startswith(_BY_THEN)


_CLAUSE_END = re.compile(r"[，,。.！!？?；;：:\s、~…]")


def _clause_before(ctx: _Ctx, lo: int, n: int) -> str:
    window = ctx.before(lo, n)
    cut = [m.end() for m in _CLAUSE_END.finditer(window)]
    return window[cut[-1]:] if cut else window


def _clause_after(ctx: _Ctx, hi: int, n: int) -> str:
    window = ctx.after(hi, n)
    m = _CLAUSE_END.search(window)
    return window[:m.start()] if m else window


def _normalise(text: str) -> tuple[str, Sequence[int]]:
    """The NFKC form of `text`, and for each of its characters the index of the character it came from."""
    if unicodedata.is_normalized("NFKC", text):
        return text, range(len(text))
    parts: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        folded = unicodedata.normalize("NFKC", ch)
        parts.append(folded)
        origin.extend([i] * len(folded))
    return "".join(parts), origin


# -- numbers -----------------------------------------------------------------------------

_CN_DIGIT = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4,
             "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_INT = re.compile(r"(?:(?P<h>[一二两三四五六七八九])百)?(?:(?P<t>[一二两三四五六七八九])?(?P<ten>十))?"
                     r"(?:[零〇]?(?P<u>[一二两三四五六七八九]))?")
_VAGUE = {"半": 0.5, "几": 3.0, "好几": 4.0, "好多": 5.0, "好些": 5.0, "几十": 30.0}


def _int(raw: str) -> int | None:
    """12 or 十二 (up to 九百九十九) as an int; None for anything else."""
    if raw.isdigit():
        return int(raw)
    m = _CN_INT.fullmatch(raw)
    if not raw or not m:
        return None
    tens = (_CN_DIGIT[m["t"]] if m["t"] else 1) if m["ten"] else 0
    hundreds = _CN_DIGIT[m["h"]] if m["h"] else 0
    return hundreds * 100 + tens * 10 + (_CN_DIGIT[m["u"]] if m["u"] else 0)


def _positional(raw: str) -> int | None:
    """A year written digit by digit: 2026 or 二〇二六."""
    if raw.isdigit():
        return int(raw)
    if all(ch in _CN_DIGIT for ch in raw):
        return int("".join(str(_CN_DIGIT[ch]) for ch in raw))
    return None


def _amount(raw: str) -> float | None:
    """How many: 3, 三, 十几 (15), 二十多 (25), 两三 (3), 半 (0.5), 好几 (4) …"""
    if raw in _VAGUE:
        return _VAGUE[raw]
    if raw[-1] in "多来":
        base = _plain_amount(raw[:-1])
        if base is None or raw[-1] == "来":
            return base
        return base + 10 ** (len(str(int(base))) - 1) / 2
    return _plain_amount(raw)


def _plain_amount(raw: str) -> float | None:
    if not raw:
        return None
    if raw.endswith("几") and len(raw) > 1:  # 十几, 二十几
        base = _int(raw[:-1])
        return base + 5.0 if base and base % 10 == 0 else None
    if len(raw) == 2 and all(ch in _CN_DIGIT for ch in raw):  # 两三, 三四: the larger
        low, high = _CN_DIGIT[raw[0]], _CN_DIGIT[raw[1]]
        return float(high) if 0 < low < high else None
    value = _int(raw)
    return float(value) if value is not None else None


# -- days, parts of the day, clock times ---------------------------------------------------

_PART_HOURS = {  # hours from the start of the day; may run into the next day
    "凌晨": (0, 6), "一大早": (5, 9), "大早上": (5, 9), "清早": (5, 9), "清晨": (5, 9),
    "早上": (5, 10), "早晨": (5, 10), "上午": (8, 12), "中午": (11, 13), "晌午": (11, 13),
    "午后": (13, 18), "下午": (13, 18), "傍晚": (17, 19), "晚上": (18, 24), "晚间": (18, 24),
    "夜晚": (18, 24), "夜里": (21, 29), "夜间": (21, 29), "半夜": (23, 27), "深夜": (23, 27),
    "午夜": (23, 25), "白天": (8, 18),
}
_PARTS = "|".join(sorted(_PART_HOURS, key=len, reverse=True))
_FUSED = {"今早": (0, "早上"), "今晨": (0, "早上"), "今晚上": (0, "晚上"), "今晚": (0, "晚上"),
          "今夜": (0, "夜里"), "昨晚上": (-1, "晚上"), "昨晚": (-1, "晚上"), "昨夜": (-1, "夜里"),
          "昨早": (-1, "早上"), "前晚": (-2, "晚上"), "前夜": (-2, "夜里")}
_DAY_WORDS = {"大大前天": -4, "大前天": -3, "大前儿个": -3, "大前儿": -3, "前天": -2, "前儿个": -2,
              "前儿": -2, "前日": -2, "昨天": -1, "昨儿个": -1, "昨儿": -1, "昨日": -1,
              "今天": 0, "今儿个": 0, "今儿": 0, "今日": 0}
_CN = "零〇一二两三四五六七八九十"
_NUMERAL_CHARS = set(_CN + "0123456789几")
# 8点, 八点半, 十点一刻, 3点20, 三点二十分, 4点多, 8:30 (NFKC turns ８：３０ into 8:30)
_CLOCK = (r"(?:(?<![0-9" + _CN + r"几百.])(?P<ch>[0-9]{1,2}|[" + _CN + r"]{1,3})(?P<cunit>点钟|点|时)"
          r"(?:(?P<chalf>半|一刻|三刻|整)|(?P<cmm>[0-9]{1,2}(?![0-9])|[二三四五]?十[一二三四五六七八九]?)(?:分钟?)?"
          r"|(?P<cmm1>[零〇]?[一二三四五六七八九])分钟?)?(?P<capprox>多钟?|左右|前后)?"
          r"|(?<![0-9:.])(?P<kh>[01]?[0-9]|2[0-3]):(?P<kmm>[0-5][0-9])(?![0-9:]))")
_TAIL = re.compile(r"\s{0,2}(?P<link>那天|当天)?的?(?P<part>" + _PARTS + r")?" + _CLOCK + r"?")
_UNITS = set("元块角毛度米厘毫公斤克吨升匹倍万千百亿寸尺个只件台次岁折级平方秒瓦伏%")


@dataclass(frozen=True)
class _Clock:
    hour: int
    minute: int
    exact: bool  # minutes given: a one-minute span; else the whole hour


def _clock(m: re.Match) -> _Clock | None:
    if m["kh"] is not None:
        return _Clock(int(m["kh"]), int(m["kmm"]), True)
    if m["ch"] is None:
        return None
    hour = _int(m["ch"])
    minute = _minute(m)
    if hour is None or hour > 24 or minute is None or minute > 59:
        return None
    given = bool(m["cmm"] or m["cmm1"] or m["chalf"])
    if m["cunit"] == "时" and not given:  # 一时, 同时: 时 alone is no clock
        return None
    return _Clock(hour, minute, given and not (m["capprox"] or "").startswith("多"))


def _minute(m: re.Match) -> int | None:
    half = {"半": 30, "一刻": 15, "三刻": 45, "整": 0}
    if m["chalf"]:
        return half[m["chalf"]]
    raw = m["cmm"] or m["cmm1"]
    return _int(raw.lstrip("零〇")) if raw else 0


_EVENING = ("晚上", "晚间", "夜晚")
_NIGHT = ("夜里", "夜间", "半夜", "深夜", "午夜")


def _hour_in(part: str | None, hour: int) -> int:
    """The hour from the start of the day that `hour` on the clock means in `part` (晚上10点 → 22)."""
    if part in _EVENING or part in _NIGHT:
        if hour == 12:
            return 24
        if hour <= (3 if part in _EVENING else 5):  # 晚上2点, 半夜3点: after midnight
            return hour + 24
        return hour + 12 if hour < 12 else hour
    if part in ("中午", "晌午"):
        return hour + 12 if hour < 10 else hour
    if part in ("下午", "午后", "傍晚") or (part == "白天" and hour < 7):
        return hour + 12 if hour < 12 else hour
    if part == "凌晨" and hour == 12:
        return 0
    return hour


def _midnight(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=tz)


def _on_day(day: date, part: str | None, clock: _Clock | None, tz: tzinfo) -> tuple[datetime, datetime]:
    """The span of a day, a part of it, or a clock time on it."""
    base = _midnight(day, tz)
    if clock:
        start = base + timedelta(hours=_hour_in(part, clock.hour), minutes=clock.minute)
        return start, start + (timedelta(minutes=1) if clock.exact else timedelta(hours=1))
    if part:
        first, last = _PART_HOURS[part]
        return base + timedelta(hours=first), base + timedelta(hours=last)
    return base, base + timedelta(days=1)


def _latest_past(ctx: _Ctx, part: str | None, clock: _Clock | None) -> tuple[datetime, datetime]:
    """Today's span, or yesterday's when today's has not begun yet."""
    start, end = _on_day(ctx.today, part, clock, ctx.tz)
    if start > ctx.now:
        start, end = _on_day(ctx.today - timedelta(days=1), part, clock, ctx.tz)
    return start, end


def _with_tail(ctx: _Ctx, lo: int, hi: int, day: date, part: str | None = None,
               note: Callable[[datetime], str] | None = None) -> _Hit:
    """A hit for a day word, extended by what follows it: 昨天 + 晚上 + 10点, 12月1日 + 那天."""
    m = _TAIL.match(ctx.text, hi)
    clock = _clock(m)
    if clock:
        hi = m.end()
    elif m["part"] or m["link"]:
        hi = m.end("part") if m["part"] else m.end("link")
    part = m["part"] or part
    start, end = _on_day(day, part, clock, ctx.tz)
    return _Hit(lo, hi, start, end, (note or _day_note(ctx))(start))


# -- notes: the date in the label ------------------------------------------------------------

def _date_text(moment: datetime | date, now: datetime) -> str:
    prefix = f"{moment.year}年" if moment.year != now.year else ""
    return f"{prefix}{moment.month}月{moment.day}日"


def _day_note(ctx: _Ctx) -> Callable[[datetime], str]:
    return lambda start: _date_text(start, ctx.now)


def _since_note(ctx: _Ctx, start: datetime) -> str:
    if ctx.now - start < timedelta(days=1):
        day = "" if start.date() == ctx.today else _date_text(start, ctx.now)
        return f"约{day}{start:%H:%M}起"
    return f"约{_date_text(start, ctx.now)}起"


def _range_note(ctx: _Ctx, start: datetime, end: datetime) -> str:
    last = min(end, ctx.now) if start <= ctx.now else end
    last_day = (last - timedelta(microseconds=1)).date() if last > start else start.date()
    if last_day == start.date():
        return _date_text(start, ctx.now)
    return f"{_date_text(start, ctx.now)}—{_date_text(last_day, ctx.now)}"


# -- the rules ----------------------------------------------------------------------------------

# 目前天气, 之前, 以前天天, 提前: 前 that belongs to the word before it.
_FORE_BOUND = set("目之以提眼跟面当门空往向超事生")


def _rel_day(m: re.Match, ctx: _Ctx) -> _Hit | None:
    word = m["w"]
    if "前" in word[:2] and ctx.before(m.start()) in _FORE_BOUND:
        return None
    if word.startswith("今") and ctx.before(m.start()) == "如":  # 如今天气
        return None
    offset, part = _FUSED.get(word, (_DAY_WORDS.get(word), None))
    if offset == 0 and ctx.after(m.end(), 4).startswith(_ASKING_AHEAD):
        return None  # 今天能来吗, 今天之内修好: a wish, not when it happened
    if offset == 0 and ctx.after(m.end(), 2) == "天气":
        return None
    return _with_tail(ctx, m.start(), m.end(), ctx.today + timedelta(days=offset), part)


_ASKING_AHEAD = ("能", "要", "还要", "可以", "可不可以", "会不会", "几点", "什么时候", "之内", "内", "以内", "有人", "有没有")
_REL_DAY = re.compile("(?P<w>" + "|".join(sorted([*_DAY_WORDS, *_FUSED], key=len, reverse=True)) + ")")

_WEEKDAY = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "7": 6,
            **{str(n): n - 1 for n in range(1, 7)}}
_WEEK = re.compile(r"(?:(?P<wp>上上|上|这|本)个?)?(?P<w>周|星期|礼拜)(?P<wd>[一二三四五六日天末1-7])?")
# 楼上周一很吵: 上 belongs to the word before; 上周期, 上周围: 周 to the word after.
_UP_BOUND = set("楼床桌墙地身手晚早马路网线台面顶街柜车")
_WEEK_WORD_NEXT = set("期围边年岁转全长游刊报")
_NOT_A_WEEKDAY_NEXT = re.compile(r"直|样|次|回|遍|趟|些|般|定|共|旦|切|整|阵|个|天")
_AFTER_WEEKDAY = re.compile(r"[一二三四五六日天1-7](?:到|至|-|~|、|和|或)$")
_SCHEDULE = re.compile(r"(?:到|至|-|~|、|和|或)(?:周|星期|礼拜)?[一二三四五六日天1-7]")


def _week(m: re.Match, ctx: _Ctx) -> _Hit | None:
    prefix, day = m["wp"], m["wd"]
    if prefix and prefix[0] == "上" and ctx.before(m.start()) in _UP_BOUND:
        return None
    if day and (day == "末" and m["w"] != "周" or _NOT_A_WEEKDAY_NEXT.match(ctx.text, m.end())):
        day = None  # 上周一直 is 上周 + 一直
    if not prefix:
        return _bare_weekday(m, ctx, day)
    if not day and ctx.after(m.end("w")) in _WEEK_WORD_NEXT:
        return None
    weeks_back = len(prefix) if prefix[0] == "上" else 0  # 上上 is two weeks back
    monday = ctx.today - timedelta(days=ctx.today.weekday() + 7 * weeks_back)
    hi = m.end("wd") if day else m.end("w")
    if day == "末":
        return _range(ctx, m.start(), hi, monday + timedelta(days=5), monday + timedelta(days=7))
    if day:
        return _with_tail(ctx, m.start(), hi, monday + timedelta(days=_WEEKDAY[day]))
    return _range(ctx, m.start(), hi, monday, monday + timedelta(days=7))


def _bare_weekday(m: re.Match, ctx: _Ctx, day: str | None) -> _Hit | None:
    """周三, 星期二, 礼拜天 without 上/这: the most recent one before today."""
    before = ctx.before(m.start())
    if not day or day == "末":  # a bare 周末 is mostly a habit: 周末没热水
        return None
    if before in set("每个第隔下") or before in _NUMERAL_CHARS:
        return None  # 每周三, 一周三次, 下周二
    if ctx.after(m.end(), 4).startswith(_ASKING_AHEAD):
        return None  # 周五能不能加个菜
    if _SCHEDULE.match(ctx.text, m.end()) or _AFTER_WEEKDAY.search(ctx.before(m.start(), 2)):
        return None  # 周一到周五: opening hours, not a time
    back = (ctx.today.weekday() - _WEEKDAY[day]) % 7 or 7
    return _with_tail(ctx, m.start(), m.end(), ctx.today - timedelta(days=back))


def _range(ctx: _Ctx, lo: int, hi: int, first: date, after_last: date, approx: bool = False) -> _Hit:
    start, end = _midnight(first, ctx.tz), _midnight(after_last, ctx.tz)
    note = _range_note(ctx, start, end)
    return _Hit(lo, hi, start, end, f"约{note}" if approx else note)


# Dates. Day numbers followed by these are rooms, buildings, lines, beds …, not days.
_NOT_A_DAY_NEXT = set("楼栋幢座门床房室线机柜窗口位厅馆院场车箱桌台区店铺仓库井桩码单元病宿公电梯教食阀表键"
                      "球人员字数子牌桶灯杆塔闸站舱包袋罐瓶盒样型色尺街路巷弄村组队班槽池柱段条期常用记语本志报程历光")
_NOT_A_DAY_BEFORE = set("楼栋幢座室房间区元号#-第月")  # 月: 2月30日 is no day
_MONTH = r"1[0-2]|0?[1-9]|十[一二]|十|[一二三四五六七八九]"
_DAY_CN = r"三十一?|二十[一二三四五六七八九]?|十[一二三四五六七八九]?|[一二三四五六七八九]"
_DAY_DIGITS = r"3[01]|[12][0-9]|0?[1-9]"
_PERIOD = r"上旬|中旬|下旬|初|中(?!午)|底|末"
_MONTH_DAY = (r"(?P<mo>" + _MONTH + r")月份?(?:(?P<d>" + _DAY_DIGITS + r")(?![0-9])(?P<ds>日|号)?"
              r"|(?P<dc>" + _DAY_CN + r")(?P<dcs>日|号)|(?P<pos>" + _PERIOD + r"))?")
_DATE_CN = re.compile(r"(?:(?P<yw>去年|今年|前年)|(?<![0-9])(?P<y>[0-9]{4}|[0-9]{2}|[零〇一二三四五六七八九]{4})年)?"
                      r"(?<![0-9" + _CN + r"几])" + _MONTH_DAY)
_DATE_NUM = re.compile(r"(?<![0-9A-Za-z.\-/:¥$])(?:(?P<y>20[0-9]{2})(?P<ysep>[-./]))?(?P<mo>1[0-2]|0?[1-9])"
                       r"(?P<sep>[-./])(?P<d>3[01]|[12][0-9]|0?[1-9])(?![0-9A-Za-z%])(?P<ds>日|号)?")
_DATE_DAY = re.compile(r"(?P<pm>上上个?月|上个?月|本月|这个?月)?(?<![0-9" + _CN + r"几A-Za-z])"
                       r"(?:(?P<d>" + _DAY_DIGITS + r")(?P<ds>号|日)|(?P<dc>" + _DAY_CN + r")(?P<dcs>号))")
_YEAR_WORD = {"去年": -1, "今年": 0, "前年": -2}


def _date_cn(m: re.Match, ctx: _Ctx) -> _Hit | None:
    """12月1日, 十二月一号, 2026年11月30日, 11月份, 12月初, 去年12月."""
    month_only = not (m["yw"] or m["y"] or m["d"] or m["dc"] or m["pos"])
    if month_only and (_NOT_A_WEEKDAY_NEXT.match(ctx.text, m.end()) or ctx.after(m.end()) in _NUMERAL_CHARS):
        return None  # 一月一次
    if m["d"] and not m["ds"] and ctx.after(m.end()) in _NOT_A_DAY_NEXT:
        return None  # 12月1 followed by 楼 …
    day = _day_number(m) if m["d"] or m["dc"] else None
    return _dated(m, ctx, _year_of(m, ctx), _int(m["mo"].lstrip("0")), day, m["pos"])


def _day_number(m: re.Match) -> int | None:
    return _int(m["d"].lstrip("0")) if m["d"] else _int(m["dc"])


def _year_of(m: re.Match, ctx: _Ctx) -> int | None:
    if m["yw"]:
        return ctx.today.year + _YEAR_WORD[m["yw"]]
    if m["y"]:
        year = _positional(m["y"])
        return year + 2000 if year is not None and year < 100 else year
    return None


def _date_num(m: re.Match, ctx: _Ctx) -> _Hit | None:
    """12.1, 12-01, 2026-11-30, 2026.11.30, 2026/11/30: not 12.5元, 3-201, 1.5匹."""
    if m["y"] is None and m["sep"] == "/":
        return None
    if m["y"] and m["ysep"] != m["sep"]:
        return None
    if m["y"] is None and m["sep"] == "-" and (len(m["mo"]) < 2 or len(m["d"]) < 2):
        return None  # 3-201 and 5-12 are rooms
    if ctx.before(m.start()) in _NOT_A_DAY_BEFORE or ctx.after(m.end()) in _UNITS:
        return None
    if not m["ds"] and ctx.after(m.end()) in _NOT_A_DAY_NEXT | {".", "-"}:
        return None
    year = int(m["y"]) if m["y"] else None
    return _dated(m, ctx, year, int(m["mo"]), int(m["d"]), None)


def _date_day(m: re.Match, ctx: _Ctx) -> _Hit | None:
    """1号, 15日, 上个月5号: not 1号楼, 3号床, 7号线, 5日元."""
    if not m["pm"] and ctx.before(m.start()) in _NOT_A_DAY_BEFORE:
        return None
    if ctx.after(m.end()) in _NOT_A_DAY_NEXT or ctx.after(m.end()) in _UNITS:
        return None
    day = _day_number(m)
    if day is None or not 1 <= day <= 31:
        return None
    if m["pm"]:
        back = 2 if m["pm"].startswith("上上") else 1 if m["pm"].startswith("上") else 0
        first = _add_months(ctx.today.replace(day=1), -back)
        return _day_hit(m, ctx, _valid_date(first.year, first.month, day), said=False)
    for back in range(3):  # this month, or the last that has the day and has had it
        first = _add_months(ctx.today.replace(day=1), -back)
        found = _valid_date(first.year, first.month, day)
        if found and found <= ctx.today:
            return _day_hit(m, ctx, found, said=False)
    return None


def _dated(m: re.Match, ctx: _Ctx, year: int | None, month: int | None, day: int | None,
           period: str | None) -> _Hit | None:
    """A hit for a month (with a day or a part of the month); last year's when this year's is still to come."""
    if month is None or not 1 <= month <= 12:
        return None
    guessed = year is None
    year = ctx.today.year if guessed else year
    if day is not None:
        found = _valid_date(year, month, day)
        if found and guessed and found > ctx.today:
            found = _valid_date(year - 1, month, day)
        said = "月" in m[0] and found is not None and (not guessed or found.year == ctx.today.year)
        return _day_hit(m, ctx, found, said=said)
    first, after = _month_part(year, month, period)
    if guessed and first > ctx.today:
        first, after = _month_part(year - 1, month, period)
    return _range(ctx, m.start(), m.end(), first, after)


def _day_hit(m: re.Match, ctx: _Ctx, day: date | None, said: bool) -> _Hit | None:
    if day is None:
        return None
    note = (lambda _start: "") if said else _day_note(ctx)
    return _with_tail(ctx, m.start(), m.end(), day, note=note)


def _month_part(year: int, month: int, period: str | None) -> tuple[date, date]:
    first = date(year, month, 1)
    after = _add_months(first, 1)
    if period in ("初", "上旬"):
        return first, first.replace(day=11)
    if period in ("中", "中旬"):
        return first.replace(day=11), first.replace(day=21)
    if period in ("底", "末", "下旬"):
        return first.replace(day=21), after
    return first, after


def _valid_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    first_of_next = date(year + (month + 1) // 12, (month + 1) % 12 + 1, 1)
    return day.replace(year=year, month=month + 1, day=min(day.day, (first_of_next - timedelta(days=1)).day))


_MONTH_WORD = re.compile(r"(?P<which>上上个?月|上个?月|本月|这个?月|当月)(?P<pos>" + _PERIOD + r")?"
                         r"|(?<![0-9" + _CN + r"几个每岁日明赏满蜜年正腊本这上当])月(?P<bpos>上旬|中旬|下旬|初|底|末)")
_YEAR_RANGE = re.compile(r"(?P<yw>去年|今年|前年)(?!份?[0-9" + _CN + r"]{1,2}月)")


def _month_word(m: re.Match, ctx: _Ctx) -> _Hit | None:
    """上个月, 这个月, 本月初, 月初, 月底."""
    if m["which"] and m["which"][0] == "上" and ctx.before(m.start()) in _UP_BOUND:
        return None
    which = m["which"] or ""
    back = 2 if which.startswith("上上") else 1 if which.startswith("上") else 0
    first = _add_months(ctx.today.replace(day=1), -back)
    period = m["pos"] or m["bpos"]
    start, after = _month_part(first.year, first.month, period)
    if m["bpos"] and start > ctx.today:  # a bare 月底 still to come: last month's
        previous = _add_months(first, -1)
        start, after = _month_part(previous.year, previous.month, period)
    return _range(ctx, m.start(), m.end(), start, after)


def _year_range(m: re.Match, ctx: _Ctx) -> _Hit | None:
    """去年, 今年 (a month after them makes a date instead)."""
    year = ctx.today.year + _YEAR_WORD[m["yw"]]
    return _range(ctx, m.start(), m.end(), date(year, 1, 1), date(year + 1, 1, 1))


# 这几天, 前几天, 最近几天: a few days up to now, or a few days before today.
_FEW_DAYS = re.compile(r"(?P<w>最近这几天|最近这些天|最近几天|最近两天|这几天|这些天|这两天|这一两天|近几天|近两天"
                       r"|前几天|前些天|前些日子|前两天|前一阵子|前阵子|前段时间|前一段时间)")
_FEW_DAYS_SPAN = {"前几天": (7, 0), "前些天": (7, 0), "前两天": (3, 0), "前些日子": (30, 0), "前一阵子": (30, 0),
                  "前阵子": (30, 0), "前段时间": (30, 0), "前一段时间": (30, 0), "这两天": (1, None),
                  "这一两天": (1, None), "最近两天": (1, None), "近两天": (1, None)}


def _few_days(m: re.Match, ctx: _Ctx) -> _Hit | None:
    word = m["w"]
    if word.startswith("前") and ctx.before(m.start()) in _FORE_BOUND:
        return None
    back, until = _FEW_DAYS_SPAN.get(word, (3, None))
    first = ctx.today - timedelta(days=back)
    if until is None:
        start = _midnight(first, ctx.tz)
        return _Hit(m.start(), m.end(), start, ctx.now, _since_note(ctx, start))
    return _range(ctx, m.start(), m.end(), first, ctx.today - timedelta(days=until), approx=True)


# 三天了, 3天前, 两三天了, 好几天了, 一个星期了, 半个月了, 一个多月了, 两个小时前, 十几分钟了 …
_NUM = r"(?:好几|好多|好些|(?:[0-9]{1,4}|[" + _CN + r"百几]{1,5})(?:多|来)?|半)"
_DURATION = re.compile(r"(?P<pre>最近|将近|快|过去的?|近|这|连着|连续|整整)?(?<![0-9" + _CN + r"百几.])(?P<num>" + _NUM + r")"
                       r"(?P<ge>个)?(?P<half>半|多|来)?(?P<unit>小时|钟头|分钟|天|日|周|星期|礼拜|月|年)"
                       r"(?P<more>多|半)?(?P<suf>了(?!解)|之前|以前|前(?![台面头排])|以来|左右)?"
                       r"(?P<cont>(?=都|一直|还|没|也没))?")  # 好几天都不能用了, 三天没人来
_UNIT = {"小时": ("h", 1), "钟头": ("h", 1), "分钟": ("min", 1), "天": ("d", 1), "日": ("d", 1), "周": ("d", 7),
         "星期": ("d", 7), "礼拜": ("d", 7), "月": ("mon", 1), "年": ("mon", 12)}
_MAX = {"h": 100, "min": 600, "d": 1000, "mon": 240}
_UP_TO_NOW_PREFIX = {"最近", "过去", "过去的", "近", "这", "连着", "连续"}


def _duration(m: re.Match, ctx: _Ctx) -> _Hit | None:
    lo = m.start() if m["pre"] else m.start("num")
    if ctx.before(lo) in set("每隔第") or not _duration_allowed(m):
        return None
    amount = _amount(m["num"])
    if amount is None:
        return None
    amount += 0.5 if (m["half"] in ("半", "多") or m["more"]) else 0
    kind, factor = _UNIT[m["unit"]]
    if not 0 < amount * factor <= _MAX[kind]:
        return None
    then = _back(ctx.now, kind, amount * factor)
    if m["suf"] in ("前", "之前", "以前"):
        return _ago(ctx, lo, m.end(), then, kind)
    return _Hit(lo, m.end(), then, ctx.now, _since_note(ctx, then))


def _duration_allowed(m: re.Match) -> bool:
    if m["unit"] == "月" and not (m["ge"] or m["num"] == "半"):
        return False  # 三月 is March
    if m["ge"] and m["unit"] in ("天", "日", "年"):
        return False
    if m["unit"] == "日" and m["num"][0].isdigit():
        return False  # 5日前 is "before the 5th"
    return bool(m["suf"]) or m["pre"] in _UP_TO_NOW_PREFIX or m["cont"] is not None


def _back(now: datetime, kind: str, amount: float) -> datetime:
    if kind == "h":
        return now - timedelta(hours=amount)
    if kind == "min":
        return now - timedelta(minutes=amount)
    if kind == "d":
        return now - timedelta(days=amount)
    whole = int(amount)
    moved = _add_months(now.date(), -whole)
    return datetime.combine(moved, now.timetz()) - timedelta(days=30 * (amount - whole))


def _ago(ctx: _Ctx, lo: int, hi: int, then: datetime, kind: str) -> _Hit:
    """三天前: that day; 两小时前: that hour; 十分钟前: that minute."""
    if kind in ("h", "min"):
        step = timedelta(hours=1) if kind == "h" else timedelta(minutes=1)
        day = "" if then.date() == ctx.today else _date_text(then, ctx.now)
        return _Hit(lo, hi, then, min(then + step, ctx.now), f"约{day}{then:%H:%M}")
    start = _midnight(then.date(), ctx.tz)
    return _Hit(lo, hi, start, start + timedelta(days=1), _date_text(start, ctx.now))


_RECENT = re.compile(r"刚刚|刚才|方才|刚")
_NOT_RECENT_NEXT = set("好巧性需强毅硬正度体果劲柔烈直")
_ABOUT_THE_CHAT = ("说", "讲", "那", "的", "发的", "发了", "填", "写", "提交", "打错", "输", "选", "报的")


def _recent(m: re.Match, ctx: _Ctx) -> _Hit | None:
    """刚才, 刚刚, 方才, 刚: the last hour. Not 刚好, 刚性, 金刚."""
    if m[0] in ("刚", "刚刚") and ctx.after(m.end()) in _NOT_RECENT_NEXT:
        return None
    if m[0] == "刚" and ctx.after(m.end(), 2) in ("开始", "开头"):  # 刚开始: at first
        return None
    if ctx.after(m.end(), 2).startswith(_ABOUT_THE_CHAT):
        return None  # 刚才说错了, 刚发的电话: about the last message
    if m[0].startswith("刚") and ctx.before(m.start()) in set("金阳血"):
        return None
    return _Hit(m.start(), m.end(), ctx.now - timedelta(hours=1), ctx.now)


_SETTLED = re.compile(r"(?P<ev>开学|入学|入住|住进来|搬进来|搬过来|搬来)"
                      r"(?P<suf>以来|以后|之后|后|开始|那天|时|的时候|起|初)")


def _settled(m: re.Match, ctx: _Ctx) -> _Hit | None:
    """开学以来, 开学后, 入住以来: since the term started (or ninety days); not 等开学以后."""
    if ctx.before(m.start()) in set("等快要没到"):
        return None
    if m["ev"] in ("开学", "入学") and m["suf"] == "那天":
        return _with_tail(ctx, m.start(), m.end(), _term_start(ctx.today), note=lambda s: f"约{_date_text(s, ctx.now)}")
    if m["ev"] in ("开学", "入学"):
        start = _midnight(_term_start(ctx.today), ctx.tz)
    else:
        start = ctx.now - timedelta(days=90)
    return _Hit(m.start(), m.end(), start, ctx.now, _since_note(ctx, start))


def _term_start(today: date) -> date:
    starts = (date(today.year, 9, 1), date(today.year, 2, 20), date(today.year - 1, 9, 1))
    return max(start for start in starts if start <= today)


_PART = re.compile(r"(?P<part>" + _PARTS + r")" + _CLOCK + r"?")
_HABIT_BEFORE = ("天天", "到", "一", "整", "一个", "整个")
# What makes a bare 晚上 an event (晚上停电了, 下午突然漏水) rather than a habit (晚上睡不着).
_EVENT = re.compile(r"了|开始|起|过|突然|忽然|发现")
_SINCE_NEXT = ("以后", "之后", "以前", "之前", "后", "几点")
_SCHEDULE_NEXT = _SINCE_NEXT + ("前", "到", "至", "-", "~")


def _part(m: re.Match, ctx: _Ctx) -> _Hit | None:
    """上午, 晚上, 凌晨, 下午3点多 (today's, or yesterday's if still to come).

    Not 每天晚上, 一晚上, 晚上好, 晚上几点; a bare part of the day only with a
    sign of an event in its clause (晚上停电了, not 晚上睡不着)."""
    part = m["part"]
    if part == "白天" or ctx.after(m.end("part")) == "好":
        return None
    window = _clause_before(ctx, m.start(), 3)
    if "每" in window or window.endswith(_HABIT_BEFORE):
        return None
    clock = _clock(m)
    hi = m.end() if clock else m.end("part")
    if _clause_after(ctx, hi, 4).startswith((_SCHEDULE_NEXT if clock else _SINCE_NEXT) + _ASKING_AHEAD):
        return None  # 晚上十点以后, 晚上几点, 早上六点半要集合
    if not clock and not _EVENT.search(_clause_after(ctx, hi, 16)):
        return None
    start, end = _latest_past(ctx, part, clock)
    return _Hit(m.start(), hi, start, end, _date_text(start, ctx.now))


_CLOCK_ALONE = re.compile(_CLOCK)
_NOT_A_CLOCK_BEFORE = set("第有好快慢多少差这那些稍再还更大小低高近远早晚零")
_NOT_A_CLOCK_NEXT = set("意建问原理内事看想需赞几儿点式阵滴个条项水") | _UNITS


def _clock_alone(m: re.Match, ctx: _Ctx) -> _Hit | None:
    """8点, 八点半, 8:30, 20:15 without a day: today's, or yesterday's if still to come."""
    clock = _clock(m)
    if clock is None or ctx.before(m.start()) == "第" or ctx.after(m.end()) in _NOT_A_CLOCK_NEXT:
        return None
    if _clause_after(ctx, m.end(), 4).startswith(_SCHEDULE_NEXT + _ASKING_AHEAD):
        return None  # 十点以后, 8点到10点: a schedule; 六点半要集合: a plan
    if m["ch"] and not m["ch"].isdigit() and not _spoken_clock_ok(m, ctx):
        return None
    lo, part = m.start(), None
    if m["ch"] and m["ch"].isdigit() and ctx.before(lo) in ("早", "晚"):  # 早8点, 晚8点
        part = "早上" if ctx.before(lo) == "早" else "晚上"
        lo -= 1
    start, end = _latest_past(ctx, part, clock)
    return _Hit(lo, m.end(), start, end, _date_text(start, ctx.now))


def _spoken_clock_ok(m: re.Match, ctx: _Ctx) -> bool:
    """两点, 三点 alone may be 'two points'; a spoken hour needs 钟, 半, minutes or 多 (一点: not 多)."""
    if ctx.before(m.start()) in _NOT_A_CLOCK_BEFORE:
        return False
    given = m["cunit"] == "点钟" or m["chalf"] or m["cmm"] or m["cmm1"]
    return bool(given or (m["capprox"] and m["ch"] != "一"))


_RULES: list[tuple[re.Pattern, _Build]] = [
    (_REL_DAY, _rel_day),
    (_WEEK, _week),
    (_DATE_CN, _date_cn),
    (_DATE_NUM, _date_num),
    (_DATE_DAY, _date_day),
    (_MONTH_WORD, _month_word),
    (_YEAR_RANGE, _year_range),
    (_FEW_DAYS, _few_days),
    (_DURATION, _duration),
    (_RECENT, _recent),
    (_SETTLED, _settled),
    (_PART, _part),
    (_CLOCK_ALONE, _clock_alone),
]
