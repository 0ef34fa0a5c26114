"""The complaint classifier: accuracy on labelled sets, emergency rules,
location normalisation, the JSON contract, administrator word lists."""

from __future__ import annotations

import io
import json
from pathlib import Path

import jieba
import pytest

from bot.classify import Classification, Classifier, classify_lines
from bot.classify.emergency import EmergencyVerdict, second_opinion
from bot.classify.evaluate import evaluate, read_examples
from bot.classify.learned import NaiveBayes, features
from bot.classify.lexicon import DuplicateKey, merge
from bot.classify.normalize import chinese_to_arabic, fold

DATA = Path(__file__).parent.parent / "bot" / "classify" / "data" / "labelled"
EXAMPLES = DATA / "complaints.tsv"  # the examples handed to the project
HOLDOUT = DATA / "complaints_holdout.tsv"  # our own set, written before tuning on it
# Rounds of new wordings, each written and measured before tuning on it: about a
# third emergencies in colloquial phrasing, the rest hard non-emergencies
# (denied, resolved, hypothetical, past, questions, 停水通知, 火锅 …).
FRESH = DATA / "complaints_fresh.tsv"
JSON_KEYS = {"category", "subcategory", "emergency", "location", "mood", "wants_compensation"}
CATEGORIES = {"房屋质量", "物业配套", "设备设施", "管理服务", "管理费用", "突发事件"}


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier.load()


@pytest.fixture(scope="module", params=[EXAMPLES, HOLDOUT], ids=["examples", "holdout"])
def report(request, classifier):
    return evaluate(classifier, read_examples(request.param))


def _misses(report, kind: str) -> list[str]:
    return [text for name, text, _, _ in report.mistakes if name == kind]


# ---------------------------------------------------------------- accuracy

def test_category_accuracy(report):
    assert report.category.value >= 0.95, _misses(report, "category")


def test_subcategory_accuracy(report):
    assert report.subcategory.value >= 0.9, _misses(report, "subcategory")


def test_every_emergency_is_caught(report):
    assert report.emergency_recall.total > 0
    assert _misses(report, "emergency missed") == []


def test_false_alarms_stay_rare(report):
    assert report.false_alarms.value <= 0.05, _misses(report, "false alarm")


def test_location_mood_and_compensation(report):
    assert report.location.value >= 0.9, _misses(report, "location")
    assert report.mood.value >= 0.75, _misses(report, "mood")
    assert report.compensation.value >= 0.95, _misses(report, "compensation")


# Rounds of new sentences, each written and measured before tuning on it (figures
# in the README), by someone who had not seen the lexicons from unseen.tsv on.
# (file, category accuracy at least, false alarms at most)
ROUNDS = [("complaints_fresh.tsv", 0.9, 0.05), ("complaints_unseen.tsv", 0.95, 0.04),
          ("complaints_unseen_round2.tsv", 0.95, 0.04), ("complaints_round3.tsv", 0.95, 0.04),
          ("complaints_round4.tsv", 0.95, 0.03), ("complaints_round5.tsv", 0.95, 0.03),
          ("complaints_round6.tsv", 0.95, 0.03), ("complaints_round7.tsv", 0.95, 0.03),
          ("complaints_round8.tsv", 0.95, 0.03), ("complaints_round9.tsv", 0.95, 0.03),
          ("complaints_round10.tsv", 0.95, 0.03)]
LATER_ROUNDS = [name for name, _, _ in ROUNDS[1:]]


@pytest.fixture(scope="module", params=ROUNDS, ids=[name for name, _, _ in ROUNDS])
def round_(request, classifier):
    name, accuracy, alarms = request.param
    return evaluate(classifier, read_examples(DATA / name)), accuracy, alarms


def test_rounds_category_accuracy(round_):
    report, accuracy, _ = round_
    assert report.category.value >= accuracy, _misses(report, "category")


def test_rounds_every_emergency_is_caught(round_, classifier):
    """Every emergency alarms at once or, at worst, is asked about ("是不是正在发生"):
    none is silently dropped; nearly all alarm at once."""
    report, _, _ = round_
    missed = _misses(report, "emergency missed")
    assert [text for text in missed if classifier.classify(text).emergency_state != "unsure"] == []
    assert len(missed) <= 0.07 * report.emergency_recall.total, missed


def test_rounds_false_alarms_stay_rare(round_):
    report, _, alarms = round_
    assert report.false_alarms.value <= alarms, _misses(report, "false alarm")


@pytest.mark.parametrize("name", LATER_ROUNDS)
def test_insults_are_angry_and_mild_complaints_are_not(classifier, name):
    """The mood must tell an insult or a furious complaint from a mild one."""
    angry, mild = [], []
    for example in read_examples(DATA / name):
        moods = set(example.mood)
        if moods == {"angry"}:
            angry.append(classifier.classify(example.text).mood == "angry")
        elif moods and "angry" not in moods:
            mild.append(classifier.classify(example.text).mood == "angry")
    assert sum(angry) / len(angry) >= 0.9
    # The labels' "upset" includes sharp sentences ("真是服了"); the anger model
    # finds twice the angry ones on unseen sets for a few such mild ones more.
    assert sum(mild) / len(mild) <= 0.05


def test_fresh_set_is_substantial():
    examples = read_examples(FRESH)
    assert len(examples) >= 180
    assert sum(e.must_alarm for e in examples) >= 60
    assert sum(e.must_not_alarm for e in examples) >= 100


def test_holdout_set_is_substantial():
    examples = read_examples(HOLDOUT)
    assert len(examples) >= 150
    assert sum(e.must_alarm for e in examples) >= 20


# ------------------------------------------------------------- emergencies

@pytest.mark.parametrize("text, state", [
    ("没有停电，就是灯不亮", "no"),
    ("已经不停电了，谢谢你们", "no"),
    ("电梯已经修好了", "no"),
    ("电梯没有困人，就是开门特别慢", "no"),
    ("燃气灶打不着火", "no"),
    ("刚才停了一会儿电，现在已经来电了", "no"),
    ("插座没电，充不了电", "no"),
    ("会不会停电啊", "unsure"),
    ("上次被困在电梯里，现在还害怕", "unsure"),
    ("担心会漏电", "unsure"),
    ("万一着火了，楼道里全是杂物", "unsure"),
    ("去年宿舍被盗过一次", "unsure"),
    ("这个月停了好几次电", "unsure"),
    ("停电了", "yes"),
    ("宿舍停电两个小时了还没来电", "yes"),
    ("上次停电到现在还没来电", "yes"),
    ("我被困了，快来人", "yes"),
    ("会议室着火了", "yes"),
    ("电梯困人已经半小时，修好了吗", "yes"),
    ("昨天晚上我的自行车在车棚被偷了", "yes"),
    # lasting states told as yesterday's news are asked about; events reported after the fact are not
    ("昨天晚上电梯困人了", "unsure"),
    ("上个月停电的时候，电梯里困了人，现在电梯修好了吗", "unsure"),
    ("为什么最近老是停电", "unsure"),
    ("昨天晚上停了一会儿电，现在好了", "no"),
    ("从昨天晚上开始一直停电", "yes"),
    ("宿舍停电了，到底什么时候来电", "yes"),
    # doubtful words and hints: the bot asks unless the message sounds urgent
    ("烧水壶有股塑料味", "unsure"),
    ("有股塑料味，好危险", "yes"),
    ("钱包丢了，有没有人捡到", "unsure"),
    ("天花板掉下来一大块，还好没砸到人", "unsure"),
    ("食堂的菜吃了胃有点疼", "unsure"),
    ("热得中暑了一样", "unsure"),
])
def test_emergency_state(classifier, text, state):
    result = classifier.classify(text)
    assert result.emergency_state == state
    assert result.emergency == (state == "yes")
    assert (result.category == "突发事件") == (state == "yes")


@pytest.mark.parametrize("text", [
    "电梯困人了，4号楼，快！", "宿舍着火了", "整层楼停电了", "屋里水管爆了，到处是水",
    "我的电脑被偷了", "闻到很大的燃气味", "插座冒火花了", "有人触电了", "有人在食堂晕倒了",
    "我被锁在会议室里出不去了", "好几个学员吃了食堂的饭上吐下泻", "配电箱在冒烟",
    "电梯突然停了，我们三个人在里面出不来", "暖气管爆了，热水喷了一屋子", "有人在宿舍楼下打架",
    # wordings that once slipped through, kept so they stay caught
    "供电中断了，冰箱里的药要坏了", "宿舍跳闸了，整层都没有电", "2号楼的电梯停在4楼和5楼之间，人还在里面",
    "楼下有辆电动车自燃了", "闻到一股烧橡胶的味道，还有烟", "暴雨把一楼大厅灌满了水", "宿舍遭贼了，柜子都被翻了",
    "钱包在食堂被扒了", "一个阿姨在卫生间滑了一跤，起不来了", "吃了早餐的鸡蛋，一个班的人都在吐",
    "有陌生人拿着刀在校园里乱晃", "楼道里起了好大的烟，什么都看不见", "卫生间水管崩开了，水一直往外冒",
    "雨太大了，一楼的宿舍都被水泡了", "抽屉里的现金被人拿了", "好多人吃了食堂的午饭肚子不舒服",
    "电梯急停，门打不开，我们出不去", "楼道全是水，已经流进房间了", "食堂吃完好多人闹肚子",
    "开水器外壳带电，碰一下就麻", "我被反锁在厕所里了，门打不开", "D座电梯困了三个人，按警铃没人应",
    "插座都没电了，整层都黑了", "学员在路口被车撞倒了",
    # concepts added from the fresh rounds
    "天花板往下哗哗流水", "会议室的吊顶整块塌下来了", "8号楼电梯突然往下滑，停在两层楼中间了",
    "图书馆一楼进了好多水，书架底下都泡着", "操场上有个学员跑步的时候突然倒下了",
    "不知道谁家的燃气阀门没关，楼道里全是那个味", "楼顶上的广告牌被风吹下来了，砸在路上",
    "书包让人给拎走了", "车棚的锁被剪了，我的电动车没影了", "吃完晚饭半个班都在拉",
    "宿舍的电暖器把被子引燃了", "下暴雨，地下车库的水已经没过车轮了", "电梯门夹住了一个小孩的手",
])
def test_emergencies_from_the_plan(classifier, text):
    assert classifier.classify(text).emergency


@pytest.mark.parametrize("text", [
    "烟雾报警器老是误报", "冲我发火，态度太差", "今天食堂的火锅太咸了", "漏电保护器老是跳",
    "洗衣机不进水", "宿舍里蚊子太多，晚上被咬得睡不着", "垃圾乱丢，没人管", "饭卡丢了怎么补办",
    "充电桩没电了", "空调遥控器没电了", "十万火急，马桶堵了", "保洁老偷懒", "食堂的菜太辣了，吃了上火",
    "不是着火，是食堂在做烧烤冒的烟", "电梯一直在响，但是里面没人", "能不能提前通知一下停电时间",
    "一楼的下水道返臭味，还往上冒水", "食堂门口的台阶塌了一块",
    "热水器点火点不着", "我睡着了被装修声吵醒", "灯泡烧了，麻烦换一个", "我把钥匙锁在屋里了，进不去",
    "窗户的把手断了，关不上", "桌子腿断了一根", "楼道的窗户玻璃碎了一块，风往里灌", "水龙头关不紧一直哗哗流",
    "宿舍电费是怎么算的？为什么这么快就没电了", "停电前能不能提前一天发个通知", "有人偷偷在楼道抽烟",
    "放在门口的纸箱被保洁拿走了", "这话太伤人了", "手机话费没了", "饮水机喷水口坏了",
])
def test_emergency_words_in_harmless_phrases(classifier, text):
    assert not classifier.classify(text).emergency


@pytest.mark.parametrize("text", [
    "漏" * 20000,
    "停电了，来电了吗？" * 2222,
    "1号楼" * 6667,
    "食堂" * 10000,
    "123" * 6667,
    ("9号楼305卫生间顶上漏水，滴到床上了。上次电梯困人，到现在还没修好！" * 600)[:20000],
])
def test_a_very_long_message_still_classifies(classifier, text):
    """No timing here (machines differ): bench/classifier_accuracy.py reports the speed ratio."""
    assert len(text) >= 19_998
    result = classifier.classify(text)
    assert isinstance(result, Classification)
    assert result.category in CATEGORIES
    assert result.emergency_state in {"yes", "no", "unsure"}
    assert result.emergency == (result.emergency_state == "yes")


def test_negated_emergency_keeps_a_sensible_category(classifier):
    assert classifier.classify("已经不停电了，谢谢你们").category == "设备设施"
    assert classifier.classify("担心插座会漏电，能不能派人来看看").category == "设备设施"


# ---------------------------------------------------------------- location

@pytest.mark.parametrize("text, location", [
    ("三号楼２０１空调坏了", "3号楼201"),
    ("学员公寓Ｂ座４１２的灯不亮", "学员公寓B座412"),
    ("b座电梯坏了", "B座电梯"),
    ("十二号楼三楼卫生间漏水", "12号楼三楼卫生间"),
    ("三号楼二〇五的窗帘掉了", "3号楼205"),
    ("７号楼３１２房间门锁坏了", "7号楼312"),
    ("9号楼305卫生间顶上漏水", "9号楼305卫生间"),
    ("11号楼2单元电梯坏了", "11号楼2单元电梯"),
    ("食堂二楼的刷卡机坏了", "食堂二楼"),
    ("五楼的灯坏了", "五楼"),
    ("食堂门口的台阶塌了", "食堂门口"),
    ("学员楼附近没有停车的地方", "学员楼"),
    ("有人在宿舍楼下打架", "宿舍楼下"),
    ("6号楼地下室进水了", "6号楼地下室"),
    ("207的电视打不开", "207"),
    ("卫生间漏水", "卫生间"),
    ("等了120分钟还没人来", None),
    ("报修两天了还没人来", None),
])
def test_location(classifier, text, location):
    assert classifier.classify(text).location == location


@pytest.mark.parametrize("numeral, digits", [
    ("三", "3"), ("十", "10"), ("十二", "12"), ("二十", "20"), ("二十三", "23"),
    ("二〇五", "205"), ("三零一", "301"), ("305", "305"),
])
def test_chinese_numerals(numeral, digits):
    assert chinese_to_arabic(numeral) == digits


# ----------------------------------------------------------- other fields

def test_subcategory_only_for_service(classifier):
    service = classifier.classify("前台工作人员态度很差")
    assert (service.category, service.subcategory) == ("管理服务", "服务态度")
    assert classifier.classify("物业费收得太贵").subcategory is None


def test_unknown_message_falls_back_to_equipment(classifier):
    result = classifier.classify("嗯嗯")
    assert (result.category, result.subcategory, result.emergency) == ("设备设施", None, False)


@pytest.mark.parametrize("text, mood", [
    ("你们到底还管不管了？投诉多少次了！！", "angry"),
    ("麻烦帮忙看一下6号楼102的门锁，谢谢", "calm"),
    ("又停水了，烦死了，天天这样", "upset"),
])
def test_mood(classifier, text, mood):
    assert classifier.classify(text).mood == mood


@pytest.mark.parametrize("text, wants", [
    ("楼上漏水泡坏了我的书，要求赔偿损失", True),
    ("空调坏了一周，这个月的空调费应该退给我们", True),
    ("我不要什么赔偿，就希望赶紧把门修好", False),
    ("楼道灯一直不亮", False),
])
def test_compensation(classifier, text, wants):
    assert classifier.classify(text).wants_compensation is wants


# ------------------------------------------------------------ the contract

def test_as_json_has_exactly_the_shared_keys(classifier):
    result = classifier.classify("电梯困人了，4号楼，快！")
    data = result.as_json()
    assert set(data) == JSON_KEYS
    assert data["category"] in CATEGORIES
    assert isinstance(data["emergency"], bool) and isinstance(data["wants_compensation"], bool)
    assert data["mood"] in {"calm", "upset", "angry"}
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data
    assert isinstance(result, Classification) and result.emergency_state == "yes"


def test_classify_lines_writes_one_json_object_per_message(classifier):
    out = io.StringIO()
    classify_lines(classifier, ["宿舍着火了\n", "\n", "   \n", "物业费收得太贵\n"], out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert "突发事件" in lines[0]  # ensure_ascii=False keeps Chinese readable
    records = [json.loads(line) for line in lines]
    assert [set(r) for r in records] == [JSON_KEYS, JSON_KEYS]
    assert [r["category"] for r in records] == ["突发事件", "管理费用"]


def test_own_tokenizer_with_user_words(classifier):
    assert classifier.tokenizer is not jieba.dt
    assert classifier.tokenizer.initialized
    assert "学员公寓" in classifier.tokenizer.lcut("学员公寓漏水")


# -------------------------------------------------- the learned model

# (file, category accuracy with the model not learning that file), a little
# under what was measured (README); the keyword lists were tuned on each file.
LEFT_OUT = [("complaints_round4.tsv", 0.9), ("complaints_round5.tsv", 0.93), ("complaints_round6.tsv", 0.88),
            ("complaints_round7.tsv", 0.87), ("complaints_round8.tsv", 0.83), ("complaints_round9.tsv", 0.86),
            ("complaints_round10.tsv", 0.9)]


@pytest.mark.parametrize("name, accuracy", LEFT_OUT, ids=[name for name, _ in LEFT_OUT])
def test_the_model_holds_up_on_sentences_it_never_learned(name, accuracy):
    report = evaluate(Classifier.load(leave_out=name), read_examples(DATA / name))
    assert report.category.value >= accuracy, _misses(report, "category")


@pytest.mark.parametrize("text", ["这辣条辣得我嘴里要着火了，小卖部能不能多进点", "心里着火似的急，报修单三天没人接"])
def test_the_alarm_model_turns_a_figure_of_speech_into_a_question(classifier, text):
    without = Classifier.load()
    without.learn(())
    assert without.classify(text).emergency_state == "yes"
    assert classifier.classify(text).emergency_state == "unsure"  # asked, never silently dropped


@pytest.mark.parametrize("text", ["宿舍着火了", "有人晕倒了", "从昨天晚上开始一直停电", "电梯困人已经半小时，修好了吗"])
def test_the_alarm_model_leaves_real_alarms_alone(classifier, text):
    assert classifier.classify(text).emergency_state == "yes"


def test_the_second_opinion_only_ever_asks():
    alarm = EmergencyVerdict("yes", ("火灾",), ())
    assert second_opinion(alarm, 0.01).state == "unsure" and second_opinion(alarm, 0.5) == alarm
    quiet = EmergencyVerdict("no", (), ())
    assert second_opinion(quiet, 0.99) == quiet  # the model never raises an alarm or a doubt itself
    assert second_opinion(alarm, None) == alarm


def test_the_model_finds_a_category_no_keyword_names(classifier):
    """Grass as tall as a person is unkempt greenery (服务质量): no keyword says so, labelled sentences do."""
    without = Classifier.load()
    without.learn(())
    text = "宿舍楼下那片草长得比人还高"
    assert (classifier.classify(text).category, classifier.classify(text).subcategory) == ("管理服务", "服务质量")
    assert without.classify(text).category != "管理服务"


@pytest.mark.parametrize("text", ["你们客服可真行 问三句回一句", "真是高效啊 报修一周了都没人来"])
def test_the_anger_model_hears_sarcasm_the_word_list_misses(classifier, text):
    without = Classifier.load()
    without.learn(())
    assert classifier.classify(text).mood == "angry"
    assert without.classify(text).mood != "angry"


def test_plain_reports_stay_calm(classifier):
    assert {classifier.classify(t).mood for t in ("空调不制冷了，麻烦来看一下", "宿舍的灯坏了")} == {"calm"}


def test_numbers_are_no_evidence_for_the_model(classifier):
    """A phone number or a room says nothing about the category."""
    def feats(text):
        folded = fold(text)
        return features(folded, classifier.tokens(folded))
    assert feats("3号楼201漏水，电话13812345678") == feats("5号楼417漏水，电话13900001111")


def test_naive_bayes_prefers_the_label_whose_sentences_share_the_words():
    model = NaiveBayes([({"空调", "不冷"}, ["设备设施"]), ({"空调", "滴水"}, ["设备设施"]),
                        ({"收费", "太贵"}, ["管理费用"]), ({"保洁", "不扫"}, ["管理服务/服务质量", "物业配套"])])
    odds = model.posterior({"空调", "没见过的词"})
    assert max(odds, key=odds.get) == "设备设施" and abs(sum(odds.values()) - 1) < 1e-9
    assert set(odds) == {"设备设施", "管理费用", "管理服务/服务质量", "物业配套"}
    assert NaiveBayes([]).posterior({"空调"}) == {}


# -------------------------------------------------- administrator additions

def test_labelled_sentences_in_the_extra_dir_are_learned(tmp_path):
    (tmp_path / "labelled").mkdir()
    rows = ["text\tcategories\temergency\tlocation\tmood\tcompensation"]
    rows += [f"{text}\t管理费用\t0\t-\t-\t0" for text in
             ("晾衣绳绳子咋还单算", "晾衣绳又另算一份", "晾衣绳凭啥算两回", "晾衣绳绳子算得不对")]
    (tmp_path / "labelled" / "ours.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    text = "晾衣绳绳子又算了"
    assert Classifier.load().classify(text).category != "管理费用"
    assert Classifier.load(tmp_path).classify(text).category == "管理费用"


def test_extra_dir_adds_words_and_keeps_the_packaged_ones(tmp_path):
    (tmp_path / "categories.yaml").write_text(
        "关键词:\n  管理服务/服务项目:\n    无人机表演: 5\n", encoding="utf-8")
    (tmp_path / "emergency.yaml").write_text(
        "紧急类型:\n  地震:\n    词: [地震了]\n", encoding="utf-8")
    (tmp_path / "places.yaml").write_text("场所: [游泳池]\n", encoding="utf-8")
    base, extended = Classifier.load(), Classifier.load(tmp_path)

    assert base.classify("无人机表演").category == "设备设施"  # no word known: the default
    show = extended.classify("无人机表演")
    assert (show.category, show.subcategory) == ("管理服务", "服务项目")
    assert extended.classify("地震了，楼在晃").emergency
    assert extended.classify("游泳池的水很脏").location == "游泳池"
    assert extended.classify("整层楼停电了").emergency  # packaged words still there
    assert extended.classify("物业费收得太贵").category == "管理费用"


def test_a_word_written_twice_is_refused_with_file_and_line(tmp_path):
    (tmp_path / "categories.yaml").write_text(
        "关键词:\n  设备设施:\n    灯泡: 3\n    插座: 2\n    灯泡: 4\n", encoding="utf-8")
    with pytest.raises(DuplicateKey, match=r"categories.yaml.*第 5 行.*灯泡"):
        Classifier.load(tmp_path)


def test_extra_dir_without_files_changes_nothing(tmp_path):
    assert Classifier.load(tmp_path).classify("宿舍着火了").emergency


def test_merge_rules():
    base = {"a": {"x": 1, "y": 2}, "words": ["甲", "乙"], "n": 1}
    extra = {"a": {"y": 5, "z": 3}, "words": ["乙", "丙"], "n": 2, "new": True}
    assert merge(base, extra) == {"a": {"x": 1, "y": 5, "z": 3}, "words": ["甲", "乙", "丙"],
                                  "n": 2, "new": True}
