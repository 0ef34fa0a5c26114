"""The reader on its own: acts and details of single messages, written as
occupants write. No services needed."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.classify import Classifier
from dialogs.understanding import Reader
from dialogs.understanding import utterance as u
from dialogs.understanding.evaluate import read_labelled, score

DATA = Path(__file__).parent / "data"
NOW = datetime(2026, 12, 3, 15, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture(scope="module")
def reader():
    return Reader.load(Classifier.load())


def read(reader, text):
    return reader.read(text, NOW)


@pytest.mark.parametrize("text, act", [
    ("3号楼201卫生间一直在滴水", u.REPORT),
    ("我要投诉", u.REPORT),
    ("对，就是那件事", u.YES),
    ("嗯嗯 没错没错", u.YES),
    ("要得，确认", u.YES),
    ("不是，现在没危险", u.NO),
    ("不是不是", u.NO),
    ("没有照片", u.SKIP),
    ("不留了", u.SKIP),
    ("电话就不留了吧", u.SKIP),
    ("算了，不弄了", u.CANCEL),
    ("取消", u.CANCEL),
    ("不投诉了", u.CANCEL),
    ("食堂几点开门？", u.QUESTION),
    ("请问洗衣房周末开吗", u.QUESTION),
    ("我的投诉到哪了", u.PROGRESS),
    ("上次报的空调修了没", u.PROGRESS),
    ("谢谢啦", u.SMALLTALK),
    ("辛苦了师傅", u.SMALLTALK),
    ("转人工", u.HUMAN),
    ("😡😡", u.EMOJI),
    ("👍", u.YES),  # a thumbs-up agrees (at the summary it confirms)
    ("😡😡", u.EMOJI),
    ("3号楼201", u.INFORM),
    ("昨天晚上开始的", u.INFORM),
    ("13812345678", u.INFORM),
    ("9号楼电梯里有人被困住了，快来人", u.EMERGENCY),
    ("不对，是5号楼不是3号楼", u.CORRECT),
    ("地点改成4号楼302", u.CORRECT),
    ("电话写错了，是13911112222", u.CORRECT),
])
def test_what_the_person_is_doing(reader, text, act):
    assert read(reader, text).act == act


@pytest.mark.parametrize("text", ["昨天停了一会儿电，现在好了", "没有着火，就是有股烟味", "万一漏电怎么办",
                                  "上个月电梯困过人，到现在也没人检修"])
def test_negated_recovered_past_or_hypothetical_danger_is_no_emergency(reader, text):
    assert read(reader, text).act != u.EMERGENCY


@pytest.mark.parametrize("text, slot, value", [
    ("不对，是5号楼不是3号楼", u.LOCATION, "5号楼"),
    ("不是3号楼，是5号楼", u.LOCATION, "5号楼"),
    ("电话写错了，是13911112222", u.PHONE, "13911112222"),
    ("地点改成4号楼302", u.LOCATION, "4号楼302"),
])
def test_a_correction_names_the_slot_and_its_new_value(reader, text, slot, value):
    found = read(reader, text)
    assert found.correction == slot and found.contained()[slot] == value


def test_a_correction_inside_a_report_keeps_the_later_value(reader):
    found = read(reader, "9号楼113热水器坏了，电话13512345678，啊不对，电话是13512345679")
    assert found.act == u.REPORT and found.phone == "13512345679"
    assert read(reader, "3号楼305空调坏了，哦不对是503").place == "3号楼503"


@pytest.mark.parametrize("text", ["一直在滴水", "A座215的灯坏了", "3号楼201", "每天都这样", "多收了50元"])
def test_what_is_not_a_time_gives_no_time(reader, text):
    assert read(reader, text).time is None


def test_details_are_taken_only_from_words_that_hold_them(reader):
    found = read(reader, "电话 139 1234 5678")
    assert found.phone == "13912345678" and found.place is None
    assert read(reader, "我要投诉").contained() == {}  # wanting to complain says nothing about what
    assert read(reader, "宿舍空调坏了三天了").contained().keys() == {"location", "since", "description"}


def test_a_yes_may_carry_a_detail(reader):
    found = read(reader, "对，在3号楼201")
    assert found.polarity == u.YES and found.place == "3号楼201"


def test_two_matters_in_one_message_are_told_apart(reader):
    assert len(read(reader, "3号楼201卫生间漏水，而且宿管态度也很差").problems) == 2
    assert len(read(reader, "空调坏了，另外走廊灯也不亮").problems) == 2
    assert read(reader, "卫生间漏水，而且越来越严重了").problems == ()


def test_a_long_message_is_read_in_its_first_thousand_characters(reader):
    found = read(reader, "3号楼201空调坏了。" + "很热。" * 7000)
    assert found.act == u.REPORT and found.place == "3号楼201"


# -- the labelled sets ----------------------------------------------------------
# Thresholds sit a little under what the reader reaches, so a regression fails.
@pytest.mark.parametrize("name, accuracy", [("utterances.tsv", 0.92), ("utterances_round2.tsv", 0.92),
                                            ("utterances_round3.tsv", 0.90)])
def test_labelled_sets(reader, name, accuracy):
    scores = score(reader, read_labelled(DATA / name), NOW)
    assert scores.accuracy >= accuracy, scores.accuracy
    assert scores.recall(u.EMERGENCY) >= 0.95
    assert scores.rate("phone", "invented") == 0
    assert scores.rate("place", "invented") <= 0.05
    assert scores.rate("time", "invented") <= 0.05


@pytest.mark.parametrize("one, other, same", [
    ("3号楼201", "3号楼", True), ("3号楼201", "5号楼201", False),
    ("3号楼201", "楼下302", True),  # a place without a building may be inside it
    ("3号楼201", "食堂二楼", False), ("二食堂门口", "5号楼", False),  # a site of its own is not
    ("食堂二楼", "食堂门口", True), ("图书馆", "食堂", False), (None, "食堂", True),
])
def test_which_places_can_be_the_same_spot(one, other, same):
    from dialogs.understanding.places import same_site
    assert same_site(one, other) is same
