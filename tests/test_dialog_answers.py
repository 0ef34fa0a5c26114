"""dialogs/answers.py: the small words and the slot validators."""
from __future__ import annotations

import pytest

from dialogs.answers import (DONE, NO, SKIP, YES, Invalid, find_since, is_one_of, meaningful_length,
                             parse_location, parse_phone, parse_since, plain)


# -- phone numbers --------------------------------------------------------------
@pytest.mark.parametrize("typed, stored", [
    ("13812345678", "13812345678"),
    ("+8613812345678", "13812345678"),
    ("8613812345678", "13812345678"),
    ("+86 138 1234 5678", "13812345678"),
    ("+86-138-1234-5678", "13812345678"),
    ("138-1234-5678", "13812345678"),
    (" 13812345678 ", "13812345678"),
    ("１３８１２３４５６７８", "13812345678"),  # full-width digits
    ("＋８６　１３８－１２３４－５６７８", "13812345678"),  # full-width plus, space and dashes
    ("19912345678", "19912345678"),
])
def test_mobile_numbers_in_every_usual_spelling_are_accepted(typed, stored):
    assert parse_phone(typed) == stored


@pytest.mark.parametrize("typed, stored", [
    ("010-12345678", "010-12345678"),  # Beijing: three-digit area code
    ("01012345678", "010-12345678"),
    ("(010)12345678", "010-12345678"),
    ("（010）12345678", "010-12345678"),
    ("021 87654321", "021-87654321"),
    ("0755-1234567", "0755-1234567"),  # four-digit area code, seven digits
    ("0311-12345678", "0311-12345678"),
    ("０１０－１２３４５６７８", "010-12345678"),
])
def test_landlines_keep_their_area_code(typed, stored):
    assert parse_phone(typed) == stored


@pytest.mark.parametrize("typed", [
    "", "   ", "abc", "电话", "1381234567", "138123456789", "+86 138123456", "12812345678",
    "23812345678", "12345", "12345678", "010-123456", "010-123456789", "0755-123456", "13812345678转1",
    "+1 415 555 0100",
])
def test_wrong_lengths_and_non_numbers_are_rejected_with_the_phone_reason(typed):
    with pytest.raises(Invalid) as wrong:
        parse_phone(typed)
    assert wrong.value.reason == "phone_invalid"


# -- places -----------------------------------------------------------------------
def test_a_recognised_place_wins_over_the_typed_words():
    assert parse_location("就在3号楼201那边", "3号楼201") == "3号楼201"


def test_an_unrecognised_short_place_is_taken_as_typed():
    assert parse_location("  老图书馆门口 ", None) == "老图书馆门口"
    assert parse_location("8", None) == "8"  # a room number alone is a place


@pytest.mark.parametrize("typed", ["x", "。", "  ", "好"])
def test_a_place_of_punctuation_or_one_letter_is_rejected(typed):
    with pytest.raises(Invalid) as wrong:
        parse_location(typed, None)
    assert wrong.value.reason == "location_too_short"


def test_a_place_longer_than_forty_characters_is_rejected():
    with pytest.raises(Invalid) as wrong:
        parse_location("很" * 41, None)
    assert wrong.value.reason == "location_too_long"
    assert parse_location("很" * 40, None) == "很" * 40


# -- since when ---------------------------------------------------------------------
@pytest.mark.parametrize("text, found", [
    ("空调坏了三天了", "三天了"),
    ("昨天晚上开始漏水", "昨天晚上"),
    ("从３天前就这样", "3天前"),
    ("刚才突然停水", "刚才"),
    ("开学以来一直这样", "开学以来"),
    ("3号楼201的灯坏了", None),
    ("", None),
])
def test_find_since_picks_the_time_out_of_a_sentence(text, found):
    assert find_since(text) == found


def test_parse_since_takes_a_short_answer_and_reads_skip_as_unknown():
    assert parse_since(" 上周五 ") == "上周五"
    assert parse_since("跳过") == "不清楚"
    assert parse_since("不知道") == "不清楚"


@pytest.mark.parametrize("typed", ["", "   ", "很久很久以前" * 6])
def test_parse_since_rejects_empty_and_overlong_answers(typed):
    with pytest.raises(Invalid) as wrong:
        parse_since(typed)
    assert wrong.value.reason == "since_invalid"


# -- the small words --------------------------------------------------------------------
def test_plain_folds_width_case_spaces_and_punctuation():
    assert plain("  ＯＫ！ ") == "ok"
    assert plain("是的。") == "是的"
    assert plain("好 了～") == "好了"
    assert plain(None) == ""


@pytest.mark.parametrize("typed, words", [
    ("是！", YES), ("确认。", YES), ("OK", YES), ("不是", NO), ("否", NO), ("跳过", SKIP), ("好了~", DONE),
])
def test_small_words_are_recognised_whatever_the_punctuation(typed, words):
    assert is_one_of(typed, words)


def test_a_sentence_that_only_contains_a_small_word_is_not_that_word():
    assert not is_one_of("是不是要等很久", YES)
    assert not is_one_of("不是很清楚", NO)


def test_meaningful_length_ignores_punctuation_and_spaces():
    assert meaningful_length("？？ ！！") == 0
    assert meaningful_length("灯 坏了！") == 3
