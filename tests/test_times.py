"""find_time: which phrase of a message says when it happened, and what span of time it names."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from dialogs.understanding.times import TimeSpan, find_time

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 3, 15, 0, tzinfo=SHANGHAI)  # a Thursday


def at(stamp: str) -> datetime:
    """'12-02 18:00' (in 2026) or '2025-12-15 00:00', in Shanghai."""
    text = stamp if stamp.count("-") == 2 else f"2026-{stamp}"
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=SHANGHAI)


# (message, the phrase found, where its span starts)
FOUND = [
    # just now
    ("刚才突然停水", "刚才", "12-03 14:00"),
    ("刚刚才发现", "刚刚", "12-03 14:00"),
    ("方才还好好的", "方才", "12-03 14:00"),
    ("我刚发现门锁坏了", "刚", "12-03 14:00"),
    # today and its parts
    ("今天停水了", "今天", "12-03 00:00"),
    ("今早起来就没热水", "今早", "12-03 05:00"),
    ("今天早上水管爆了", "今天早上", "12-03 05:00"),
    ("上午突然停电了", "上午", "12-03 08:00"),
    ("中午吃了食堂的凉菜，现在拉肚子", "中午", "12-03 11:00"),
    ("下午开始漏水", "下午", "12-03 13:00"),
    ("晚上停电了", "晚上", "12-02 18:00"),  # this evening has not come yet: last night
    ("今晚又停水了", "今晚", "12-03 18:00"),
    ("凌晨突然停电了", "凌晨", "12-03 00:00"),
    ("半夜警报响了", "半夜", "12-02 23:00"),
    # yesterday and before
    ("昨天开始漏水", "昨天", "12-02 00:00"),
    ("昨天晚上开始漏水", "昨天晚上", "12-02 18:00"),
    ("昨天下午3点停的电", "昨天下午3点", "12-02 15:00"),
    ("昨晚楼上很吵", "昨晚", "12-02 18:00"),
    ("昨儿空调就不制冷了", "昨儿", "12-02 00:00"),
    ("昨儿个半夜有人敲门", "昨儿个半夜", "12-02 23:00"),
    ("昨儿晚上又断网了", "昨儿晚上", "12-02 18:00"),
    ("前天就报修了", "前天", "12-01 00:00"),
    ("前儿个就坏了", "前儿个", "12-01 00:00"),
    ("大前天开始的", "大前天", "11-30 00:00"),
    ("前天下午三点多停的水", "前天下午三点多", "12-01 15:00"),
    # N days ago, N days now
    ("3天前就这样了", "3天前", "11-30 00:00"),
    ("从３天前就这样", "３天前", "11-30 00:00"),
    ("空调坏了三天了", "三天了", "11-30 15:00"),
    ("等了三天了还没人来", "三天了", "11-30 15:00"),
    ("坏了五天多了", "五天多了", "11-28 03:00"),
    ("差不多三天左右", "三天左右", "11-30 15:00"),
    ("漏水两三天了", "两三天了", "11-30 15:00"),
    ("大概三四天了吧", "三四天了", "11-29 15:00"),
    ("门禁坏了好几天了", "好几天了", "11-29 15:00"),
    ("这个问题十几天了", "十几天了", "11-18 15:00"),
    ("二十多天了没人管", "二十多天了", "11-08 15:00"),
    ("连着两天停水", "连着两天", "12-01 15:00"),
    # weeks, months
    ("报修一个星期了", "一个星期了", "11-26 15:00"),
    ("一周了还没修", "一周了", "11-26 15:00"),
    ("快一个礼拜了", "快一个礼拜了", "11-26 15:00"),
    ("窗户半个月了还没修", "半个月了", "11-18 15:00"),
    ("拖了一个多月了", "一个多月了", "10-19 15:00"),
    ("三个月了还是这样", "三个月了", "09-03 15:00"),
    ("两周前就坏了", "两周前", "11-19 00:00"),
    # hours, minutes
    ("两个小时前停的电", "两个小时前", "12-03 13:00"),
    ("停电3个小时了", "3个小时了", "12-03 12:00"),
    ("半小时前还好好的", "半小时前", "12-03 14:30"),
    ("10分钟前电梯卡住了", "10分钟前", "12-03 14:50"),
    ("被困十几分钟了", "十几分钟了", "12-03 14:45"),
    # weeks by name
    ("上周就报修了", "上周", "11-23 00:00"),
    ("上个星期开始的", "上个星期", "11-23 00:00"),
    ("从上礼拜就开始了", "上礼拜", "11-23 00:00"),
    ("上周五停的水", "上周五", "11-27 00:00"),
    ("上周五晚上被偷了", "上周五晚上", "11-27 18:00"),
    ("上周一直停水", "上周", "11-23 00:00"),  # 上周 + 一直, not Monday
    ("上上周就坏了", "上上周", "11-16 00:00"),
    ("周三开始漏水", "周三", "12-02 00:00"),
    ("星期二报的修", "星期二", "12-01 00:00"),
    ("礼拜天晚上停电了", "礼拜天晚上", "11-29 18:00"),
    ("周四坏的", "周四", "11-26 00:00"),  # today is Thursday: the one before
    ("这周停了两次水", "这周", "11-30 00:00"),
    ("这几天一直停水", "这几天", "11-30 00:00"),
    ("最近几天老是跳闸", "最近几天", "11-30 00:00"),
    ("这两天一直跳闸", "这两天", "12-02 00:00"),
    ("前几天门锁坏了", "前几天", "11-26 00:00"),
    # months by name, since an event
    ("本月已经停了三次电", "本月", "12-01 00:00"),
    ("上个月的水费多收了30块", "上个月", "11-01 00:00"),
    ("月初就坏了", "月初", "12-01 00:00"),
    ("去年就坏过一次", "去年", "2025-01-01 00:00"),
    ("开学以来一直这样", "开学以来", "09-01 00:00"),
    ("开学后就没好过", "开学后", "09-01 00:00"),
    ("入住以来热水就不稳定", "入住以来", "09-04 15:00"),
    # dates
    ("12月1日开始的", "12月1日", "12-01 00:00"),
    ("12月1号晚上8点停电", "12月1号晚上8点", "12-01 20:00"),
    ("1号开始漏水", "1号", "12-01 00:00"),
    ("12.1那天停的水", "12.1那天", "12-01 00:00"),
    ("12-01停水", "12-01", "12-01 00:00"),
    ("2026年11月30日报的修", "2026年11月30日", "11-30 00:00"),
    ("12月15日就坏了", "12月15日", "2025-12-15 00:00"),  # still to come this year: last year's
    ("十二月一号停的电", "十二月一号", "12-01 00:00"),
    ("１２月１日停的电", "１２月１日", "12-01 00:00"),
    ("15号就报修了", "15号", "11-15 00:00"),  # this month's is still to come: last month's
    ("上个月5号交的费", "上个月5号", "11-05 00:00"),
    # clock times
    ("8点停的电", "8点", "12-03 08:00"),
    ("早上8点就没水了", "早上8点", "12-03 08:00"),
    ("晚上十点半停的电", "晚上十点半", "12-02 22:30"),
    ("8:30开始停水", "8:30", "12-03 08:30"),
    ("２０：１５停的电", "２０：１５", "12-02 20:15"),  # later than now: yesterday
    ("下午3点多停的电", "下午3点多", "12-03 15:00"),
    ("昨天晚上10点停的电", "昨天晚上10点", "12-02 22:00"),
    ("今早八点就停水了", "今早八点", "12-03 08:00"),
    ("凌晨3点被吵醒", "凌晨3点", "12-03 03:00"),
    ("半夜两点警报响了", "半夜两点", "12-03 02:00"),
    ("晚上12点还在施工", "晚上12点", "12-03 00:00"),
    # the first time among other numbers and times
    ("3号楼201的灯昨天坏了", "昨天", "12-02 00:00"),
    ("电话13812345678，前天开始漏水", "前天", "12-01 00:00"),
    ("上周就报修了，昨天又坏了", "上周", "11-23 00:00"),
    ("不是昨天，是前天开始的", "前天", "12-01 00:00"),
]

NOT_TIMES = [
    "", "一直", "老是这样", "总是停电", "经常跳闸", "每天都停水", "天天停水", "一直在滴水",
    "A座215", "3号楼201", "5号楼", "215室", "2楼", "二楼漏水", "13812345678", "50元", "多收了30块",
    "3个人", "两台空调", "三次", "一天三顿", "每周都停", "30度", "五楼", "第三次", "8号楼", "1号楼",
    "7号线", "5号床", "3-201", "12.5元", "空调1.5匹", "第2天", "24小时热水", "三天后再来",
    "每天晚上都很吵", "晚上睡不着", "周一到周五开放", "一周三次", "周末没热水", "目前天气很冷",
    "好一点了", "有两点建议", "明天来修", "下周二停电检修", "几点来修", "月底前修好", "12月5日前修好",
    "刚好够用", "如果半夜停水怎么办", "维修师傅今天能来吗", "刚才说错了", "刚才报的那个不要了",
    "刚发的电话是我同事的", "下午两点还要上课", "晚上十点以后就没热水了", "今天天气不错啊", "2月30日",
]


@pytest.mark.parametrize("message, phrase, start", FOUND)
def test_finds_the_phrase_and_when_it_starts(message, phrase, start):
    found = find_time(message, NOW)
    assert found is not None, message
    assert (found.text, found.start) == (phrase, at(start))


@pytest.mark.parametrize("message", NOT_TIMES)
def test_words_that_only_look_like_times_are_none(message):
    assert find_time(message, NOW) is None


@pytest.mark.parametrize("message, phrase, start", FOUND)
def test_every_span_is_ordered_aware_and_quoted_from_the_message(message, phrase, start):
    found = find_time(message, NOW)
    assert found.start <= found.end
    assert found.start.utcoffset() == found.end.utcoffset() == NOW.utcoffset()
    assert found.text in message


@pytest.mark.parametrize("message, label", [
    ("昨天晚上开始漏水", "昨天晚上（12月2日）"),
    ("空调坏了三天了", "三天了（约11月30日起）"),
    ("刚才突然停水", "刚才"),
    ("12月1日开始的", "12月1日"),
    ("12月15日就坏了", "12月15日（2025年12月15日）"),
    ("1号开始漏水", "1号（12月1日）"),
    ("上周就报修了", "上周（11月23日—11月29日）"),
    ("两个小时前停的电", "两个小时前（约13:00）"),
    ("停电3个小时了", "3个小时了（约12:00起）"),
    ("开学以来一直这样", "开学以来（约9月1日起）"),
])
def test_label_adds_the_date_to_the_phrase(message, label):
    assert find_time(message, NOW).label() == label


@pytest.mark.parametrize("message, end", [
    ("空调坏了三天了", NOW),
    ("开学以来一直这样", NOW),
    ("这几天一直停水", NOW),
    ("今天停水了", NOW),  # the rest of today has not happened
    ("昨天开始漏水", at("12-03 00:00")),
    ("8点停的电", at("12-03 09:00")),
    ("8:30开始停水", at("12-03 08:31")),
    ("上个月的水费多收了30块", at("12-01 00:00")),
    ("今晚又停水了", at("12-04 00:00")),  # all of it still to come: not cut
])
def test_durations_end_now_and_points_cover_what_they_name(message, end):
    assert find_time(message, NOW).end == end


def test_near_new_year_a_december_date_is_last_year():
    january = datetime(2027, 1, 5, 10, 0, tzinfo=SHANGHAI)
    assert find_time("12月30日停的水", january).start == datetime(2026, 12, 30, tzinfo=SHANGHAI)
    assert find_time("上个月就坏了", january).start == datetime(2026, 12, 1, tzinfo=SHANGHAI)
    assert find_time("31号就报修了", january).start == datetime(2026, 12, 31, tzinfo=SHANGHAI)


def test_a_clock_time_later_than_now_is_yesterday():
    morning = datetime(2026, 12, 3, 7, 0, tzinfo=SHANGHAI)
    assert find_time("8点停的电", morning).start == datetime(2026, 12, 2, 8, 0, tzinfo=SHANGHAI)
    assert find_time("6点停的电", morning).start == datetime(2026, 12, 3, 6, 0, tzinfo=SHANGHAI)


def test_spans_are_in_the_zone_of_now():
    utc_now = NOW.astimezone(timezone.utc)
    found = find_time("昨天开始漏水", utc_now)
    assert found.start.tzinfo is timezone.utc
    assert found.start == datetime(2026, 12, 2, tzinfo=timezone.utc)


def test_now_must_be_aware():
    with pytest.raises(ValueError):
        find_time("昨天", datetime(2026, 12, 3, 15, 0))


def test_a_span_built_by_hand_labels_as_its_text():
    assert TimeSpan("刚才", NOW - timedelta(hours=1), NOW).label() == "刚才"


@pytest.mark.parametrize("unit", ["1", "一", "刚好", "周", "12.", "1号楼", "晚上睡", "三天", "点", "１２．",
                                  "月", "二十多个", "不是", "前", "号", ":", "十一", "每天晚上", "周一到"])
def test_a_long_message_is_read_in_linear_time(unit):
    message = (unit * (20_000 // len(unit) + 1))[:20_000]
    started = time.perf_counter()
    find_time(message, NOW)
    assert time.perf_counter() - started < 2.0


def test_a_time_at_the_end_of_a_long_message_is_found():
    message = "漏水" * 9_990 + "昨天晚上"
    started = time.perf_counter()
    assert find_time(message, NOW).text == "昨天晚上"
    assert time.perf_counter() - started < 2.0
