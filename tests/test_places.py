"""Where the problem is: the place kept whole, down to the facility a repair
worker walks to, written the way occupants type it (full-width digits,
spaces, typos, dialect). The grammar is explained in bot/classify/location.py."""

from __future__ import annotations

import pytest

from bot.classify import location
from bot.classify.lexicon import load_tables, merge
from bot.classify.location import LocationFinder
from bot.classify.normalize import normalize


@pytest.fixture(scope="module")
def finder() -> LocationFinder:
    return LocationFinder(load_tables()["places.yaml"])


def place(finder: LocationFinder, text: str) -> str | None:
    return finder.find(normalize(text))  # as Classifier.classify calls it


WHOLE_PLACES = [
    ("5号楼东侧2号电梯坏了，门关不上", "5号楼东侧2号电梯"),
    ("一食堂的饭越来越难吃", "一食堂"),
    ("二食堂三楼空调不制冷", "二食堂三楼"),
    ("在一食堂二楼", "一食堂二楼"),
    ("5号楼公共厨房的灶打不着火", "5号楼公共厨房"),
    ("办公楼3楼男厕所堵了", "办公楼3楼男厕所"),
    ("办公楼二楼女厕所没纸", "办公楼二楼女厕所"),
    ("行政楼1楼男卫生间水龙头关不紧", "行政楼1楼男卫生间"),
    ("9号楼305卫生间顶上漏水", "9号楼305卫生间"),
    ("学员公寓B座412阳台漏雨", "学员公寓B座412阳台"),
    ("教学楼201教室投影仪不亮", "教学楼201教室"),
    ("3号楼2单元502没热水", "3号楼2单元502"),
    ("行政楼一楼大厅好冷", "行政楼一楼大厅"),
    ("图书馆三楼东侧自习室灯一闪一闪", "图书馆三楼东侧自习室"),
    ("食堂二楼西边窗口的阿姨态度差", "食堂二楼西边窗口"),
    ("食堂3号窗口的菜是凉的", "食堂3号窗口"),
    ("操场东北角的路灯坏了", "操场东北角"),
    ("5号楼楼顶漏水", "5号楼楼顶"),
    ("7号楼天台门锁不上", "7号楼天台"),
    ("3号楼地下车库积水了", "3号楼地下车库"),
    ("学员公寓东区7号楼停水", "学员公寓东区7号楼"),
    ("西门岗亭没人值班", "西门岗亭"),
    ("北区浴室没热水", "北区浴室"),
    ("洗衣房的洗衣机不转", "洗衣房"),
    ("小会议室空调滴水", "小会议室"),
    ("第三会议室投影连不上", "第三会议室"),
    ("302会议室话筒没声", "302会议室"),
    ("1号楼电梯又停了", "1号楼电梯"),
    ("11号楼2单元电梯坏了", "11号楼2单元电梯"),
    ("负一楼停车场灯不亮", "负一楼停车场"),
    ("地下一层车库漏水", "地下一层车库"),
    ("6号楼开水房没开水", "6号楼开水房"),
    ("2号楼3层洗漱间下水堵了", "2号楼3层洗漱间"),
    ("8号楼楼梯间的灯坏了", "8号楼楼梯间"),
    ("宿舍楼消防通道被车堵了", "宿舍楼消防通道"),
    ("4栋配电室有焦味", "4栋配电室"),
    ("C座5楼走廊灯不亮", "C座5楼走廊"),
    ("10号楼电梯间好多垃圾", "10号楼电梯间"),
    ("食堂后面车棚的顶漏了", "食堂后面车棚"),
    ("三号楼门口积水", "3号楼门口"),
    ("二号楼对面的路灯不亮", "2号楼对面"),
    ("宿舍楼旁边垃圾桶满了", "宿舍楼旁边"),
    ("图书馆一楼大厅门口积水", "图书馆一楼大厅门口"),
    ("二楼男厕所没水", "二楼男厕所"),
    ("305卫生间漏水", "305卫生间"),
    ("宿舍阳台门关不上", "宿舍阳台"),
    ("卫生间门口好多水", "卫生间门口"),
    ("新宿舍楼没网", "新宿舍楼"),
    ("5号楼三楼走廊冒黑烟了 好像哪个屋着火了 快来人", "5号楼三楼走廊"),
    ("我住4栋215", "4栋215"),
]

AS_OCCUPANTS_TYPE = [
    ("３号楼２０１空调坏了", "3号楼201"),  # full-width digits
    ("学员公寓Ｂ座４１２天花板渗水", "学员公寓B座412"),  # 412天花板: a room, not 412 days
    ("十二号楼三楼卫生间漏水", "12号楼三楼卫生间"),  # building numbers in Arabic, floors as written
    ("三号楼二〇五的窗帘掉了", "3号楼205"),
    ("三号电梯坏了", "3号电梯"),
    ("七号楼 一单元 502 没水", "7号楼1单元502"),  # spaces between the parts
    ("宿舍 402 灯坏了", "宿舍402"),
    ("学员公寓 B座 412 漏水", "学员公寓B座412"),
    ("3 号楼 201 的门关不上", "3号楼201"),
    ("b栋3楼厕所堵了", "B栋3楼厕所"),
    ("a301的灯不亮", "A301"),
    ("3-201门锁坏了", "3-201"),  # kept as written: building or unit, only the door plate knows
    ("5号搂停电了", "5号楼"),  # typos
    ("2号楼侧所堵了", "2号楼厕所"),
    ("3#楼 305 漏水", "3号楼305"),
    ("4号楼的电梯老是停在三楼", "4号楼电梯"),  # 的 before a facility
    ("学员公寓A座的男厕所没灯", "学员公寓A座男厕所"),
    ("5号楼的2号电梯门夹人", "5号楼2号电梯"),
    ("7号楼214的阳台门合页掉了", "7号楼214阳台"),
    ("咱这6号楼顶楼漏雨咋整", "6号楼顶楼"),  # dialect
    ("俺们宿舍楼底下老有人烧烤", "宿舍楼底下"),
    ("茅房堵了", "茅房"),
    ("5号楼305宿舍灯坏了", "5号楼305"),  # 宿舍 / 房间 after a room number is the room itself
    ("７号楼３１２房间门锁坏了", "7号楼312"),
    ("9号楼东侧那部电梯", "9号楼东侧电梯"),  # 那部 joins like 的
]

SEVERAL_PLACES = [  # the first one with a number wins, otherwise the first
    ("我住5号楼，食堂二楼的空调也坏了", "5号楼"),
    ("电梯困人了，4号楼，快！", "4号楼"),
    ("3号楼 4号楼都停电了", "3号楼"),  # two buildings, not one chain
    ("宿舍没热水，只能去澡堂洗", "宿舍"),
]

NOT_PLACES = [
    ("昨天晚上一直漏水", None),
    ("交了50元押金还没退", None),
    ("住宿费200一个月太贵了", None),
    ("电话13812345678", None),
    ("电话 139 1234 5678", None),
    ("就2个人在修，太慢了", None),
    ("报修三次了还没人来", None),
    ("等了120分钟", None),
    ("第二天还是没修", None),
    ("我们楼停电了", None),
    ("这楼太旧了", None),
    ("电梯坏了", None),  # a facility names no place on its own
    ("东侧的灯坏了", None),
    ("上周六食堂的鱼不新鲜", "食堂"),  # 周六, not the sixth canteen
    ("5月3号食堂吃坏肚子了", "食堂"),  # a date, not canteen No. 3
    ("楼下的人太吵", "楼下"),
]


@pytest.mark.parametrize("text, expected", WHOLE_PLACES + AS_OCCUPANTS_TYPE + SEVERAL_PLACES + NOT_PLACES)
def test_place(finder, text, expected):
    assert place(finder, text) == expected


def test_enough_cases():
    assert len(WHOLE_PLACES + AS_OCCUPANTS_TYPE + SEVERAL_PLACES + NOT_PLACES) >= 60


def test_administrator_words_join_the_grammar():
    tables = merge(load_tables()["places.yaml"], {"设施": ["充电桩"], "方位": ["西北侧"], "场所": ["游泳池"]})
    extended = LocationFinder(tables)
    assert place(extended, "5号楼充电桩没电") == "5号楼充电桩"
    assert place(extended, "游泳池西北侧的灯坏了") == "游泳池西北侧"
    assert place(extended, "充电桩坏了") is None  # a facility still needs a place


@pytest.mark.parametrize("unit", ["2号", "一食堂", "5号楼 ", "宿舍的卫生间的", "三楼东侧自习室", "新小大", "1 ", "第三"])
def test_long_repeats_still_finish(finder, unit):
    """Shapes the new parts could make slow; bench/classifier_accuracy.py reports speed."""
    text = (unit * 20000)[:20000]
    found = finder.find(text)
    assert found is None or len(found) <= len(text)


def test_first_characters_match_the_patterns(finder):
    """_FIRST_CHARS lets a pattern be skipped by its first character: it must
    list every character the pattern really begins with."""
    texts = [text for text, _ in WHOLE_PLACES + AS_OCCUPANTS_TYPE + SEVERAL_PLACES + NOT_PLACES]
    for text in map(normalize, texts):
        for kind, pattern in finder.patterns.items():
            for pos in range(len(text)):
                if pattern.match(text, pos):
                    assert text[pos] in location._FIRST_CHARS[kind], (kind, text, pos)
