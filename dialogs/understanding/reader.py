"""Reading one message whole, before any dialog looks at it.

The reader knows nothing of what the bot last asked: it says what the person
is doing (the act) and which details the message holds. The rules, in order:

* an emergency the classifier judges live always wins;
* cancelling, asking for a person, asking about progress, correcting a detail,
  refusing an optional detail, plain yes / no, questions and small talk are
  recognised by the phrase lists in data/acts.yaml;
* a message that names a problem is a report, one that only gives a place,
  a time or a phone number is "inform";
* a detail is taken only from words that contain it: "一直" is no time, a
  room number no phone, "不是3号楼" is not the place.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import datetime

from bot.classify import Classifier
from dialogs.understanding import utterance as u
from dialogs.understanding.phones import find_phone, phone_spans
from dialogs.understanding.phrases import Fillers, Phrases, load_acts, plain
from bot.classify.location import LINK
from dialogs.understanding.places import completed_place
from dialogs.understanding.times import find_time
from dialogs.understanding.utterance import Utterance

# What a complaint is about shows in its first lines; reading thousands of
# characters would not fit the 5-second reply window.
READ_CHARS = 1000
MAX_PLACE_CHARS = 40
LONG_REST = 12  # characters left after the details and "我想反映": a description
_WORDS = re.compile(r"[\w\u4e00-\u9fff]")
_CLAUSES = re.compile(r"[,，。;；!！?？\n]")
# "不是3号楼" names the wrong value, not the new one.
_DENIED = re.compile(r"(不是|而不是|并非|不在)")
# A correction inside a report: "…，哦不对，是11号楼", "电话…，啊说错了，是…".
_SELF_CORRECTION = re.compile(r"(不对|说错了|说错|打错了|写错了|搞错了|口误|更正一下|应该是|其实是|改成|改为)")
MATTERS_WITHIN = 60  # characters: two matters are said briefly, one at length
_GOES_ON = re.compile(r"^(结果|然后|但是|可是|连|而且越来越|所以|因为|报了|报过|报修|反映了|反映过|说了|说过|找了|找过|打了电话|打过电话|催了|催过|换了|试了|试过|重启|修了|修过|关了|开了|拔了|插了)")
_POINTING = re.compile(r"^(就是|就在|是在|是|在|就)")
_CLAUSE_SPLIT = re.compile(r"[\s,，。.!！?？~～、…;；]+")
_SENTENCES = re.compile(r"(?<=[。；;！!？?\n])")
# Saying one wants to complain is not yet saying what about.
_VAGUE = Phrases(["我要投诉", "我想投诉", "投诉一下", "要投诉", "我要报修", "我想报修", "报修一下", "想反映", "反映个",
                  "反映一下", "反映下", "有个事", "有件事", "有个问题", "有点事", "出了点问题", "有问题", "我要举报",
                  "要反映", "情况", "管不管事", "管不管", "有没有人管", "投诉", "报修", "反映"])


def _as_written(place: str) -> re.Pattern[str]:
    """The normalised place, with the small words people put inside it (的, 那个) allowed back."""
    return re.compile(f"(?:{LINK.pattern})?".join(map(re.escape, place)))


def _without(text: str, parts: list[str]) -> str:
    for part in parts:
        text = text.replace(part, " ")
    return text


class Reader:
    def __init__(self, classifier: Classifier, acts: dict):
        self.classifier = classifier
        self.fillers = Fillers(acts.get("语气词"))
        self.yes = _YesNo(u.YES, acts.get("是") or {}, self.fillers)
        self.no = _YesNo(u.NO, acts.get("不是") or {}, self.fillers)
        skip = acts.get("跳过") or {}
        self.skip_verbs, self.skip_whole = Phrases(skip.get("动作")), Phrases(skip.get("整句"))
        self.skip_objects = {slot: Phrases(words) for slot, words in (skip.get("对象") or {}).items()}
        cancel = acts.get("取消") or {}
        self.cancel_whole, self.cancel_any = Phrases(cancel.get("整句")), Phrases(cancel.get("包含"))
        human = acts.get("人工") or {}
        self.human, self.human_plainly = Phrases(human.get("包含")), Phrases(human.get("明确"))
        progress = acts.get("进度") or {}
        self.progress, self.progress_asks = Phrases(progress.get("包含")), Phrases(progress.get("问"))
        question = acts.get("问题") or {}
        self.asks, self.not_asks = Phrases(question.get("疑问")), Phrases(question.get("不算问"))
        self.asks_plainly = Phrases(question.get("明确"))
        self.asks_for_help = Phrases(question.get("求助"))
        talk = acts.get("闲聊") or {}
        self.smalltalk, self.thanks = Phrases(talk.get("整句")), Phrases(talk.get("谢谢"))
        correct = acts.get("更正") or {}
        self.correct_marks = Phrases(correct.get("标记"))
        self.correct_objects = {slot: Phrases(words) for slot, words in (correct.get("对象") or {}).items()}
        self.problem_cues = Phrases(acts.get("问题线索"))
        self.another_matter = Phrases(acts.get("另一件事"))
        self.new_matter = Phrases(acts.get("新的事"))
        # First match wins: "不用了谢谢" cancels, "好的谢谢" is small talk, "好的" agrees.
        self.whole_phrases = ((u.CANCEL, self.cancel_whole), (u.SKIP, self.skip_whole), (u.NO, self.no.whole),
                              (u.SMALLTALK, self.smalltalk), (u.YES, self.yes.whole))

    @classmethod
    def load(cls, classifier: Classifier, extra_dir=None) -> "Reader":
        return cls(classifier, load_acts(extra_dir))

    # -- the whole message ----------------------------------------------------
    def read(self, text: str, now: datetime) -> Utterance:
        text = (text or "").strip()  # kept as typed: it becomes the description
        head = unicodedata.normalize("NFKC", text[:READ_CHARS])
        if not _WORDS.search(head):  # 👍 agrees; other pictures say nothing yet
            return Utterance(text, u.YES if self.yes.whole.is_whole(plain(head)) else u.EMOJI)
        found = self.classifier.classify(head)
        unphoned = _without(head, phone_spans(head))
        place = self.classifier.places.find(unphoned) if unphoned != head else found.location
        details = dict(place=self._place(unphoned, place), time=find_time(unphoned, now), phone=find_phone(head))
        flat = plain(head)
        rest = _VAGUE.remove(self._without_details(flat, head, details))
        # "我想反映…" and a long account names a problem even in words no list knows.
        problem = self._names_problem(rest, found) or (_VAGUE.occurs(flat) and len(rest) >= LONG_REST)
        act, extra = self._act(head, flat, rest, problem, found, details, now)
        corrected = extra.pop("values", {})
        if act == u.CORRECT and corrected.get("place") and details["place"]:  # "12号楼的电梯…说错了，是11号楼"
            corrected["place"] = completed_place(details["place"], corrected["place"])
        details.update(corrected)
        if act in (u.REPORT, u.INFORM, u.EMERGENCY):  # "3号楼305，哦不对是503": the later value wins
            details.update(self._self_corrected(head, now, details))
        problems = self._matters(head) if act == u.REPORT else ()
        return Utterance(text, act, problem=text if problem and act in (u.REPORT, u.EMERGENCY, u.CORRECT) else None,
                         problems=problems, classification=found, thanks=self.thanks.occurs(flat),
                         new_matter=self._opens_new_matter(flat),
                         topical=self.classifier.topic_score(rest) > 0, **details,
                         **extra)

    def _opens_new_matter(self, flat: str) -> bool:
        opening = self.fillers.strip_edges(flat)
        return any(opening.startswith(word) for word in self.new_matter.words if word)

    def _act(self, text, flat, rest, problem, found, details, now) -> tuple[str, dict]:
        """The act, and what it adds (which slot is corrected or skipped, a yes / no)."""
        if found.emergency_state == "yes":
            return u.EMERGENCY, {}
        whole = self._whole_act(text)
        if whole:
            return whole, {"polarity": whole} if whole in (u.YES, u.NO) else \
                {"skips": frozenset({"any"}), "polarity": u.NO} if whole == u.SKIP else {}
        skips = set() if self.problem_cues.occurs(rest) else self._skips(flat)
        if self.cancel_any.occurs(flat) and not skips:
            return u.CANCEL, {}
        if self.human_plainly.occurs(flat) or (self.human.occurs(flat) and not problem):
            return u.HUMAN, {}
        if self._asks_progress(flat, self.problem_cues.occurs(rest)):
            return u.PROGRESS, {}
        corrected, values = self._correction(text, flat, problem, now)
        if corrected:
            return u.CORRECT, {"correction": corrected, "polarity": u.NO, "values": values}
        if skips:
            return u.SKIP, {"skips": frozenset(skips), "polarity": u.NO}
        polarity = self.yes.polarity(text) or self.no.polarity(text)
        if polarity and not problem:
            return polarity, {"polarity": polarity}
        asking_help = problem and found.emergency_state == "no" and self.asks_for_help.occurs(flat)
        if not asking_help and (self.asks_plainly.occurs(flat) or
                                (self._asks(flat) and not (problem and self.problem_cues.occurs(rest)))):
            return u.QUESTION, {}
        if self.thanks.occurs(flat) and not self.problem_cues.occurs(rest):
            return u.SMALLTALK, {}
        if problem or _VAGUE.occurs(flat):
            return u.REPORT, {}
        if any(details.values()):
            return u.INFORM, {}
        return (u.REPORT if len(self.fillers.strip_edges(rest)) >= 6 else u.UNCLEAR), {}

    def _whole_act(self, text: str) -> str | None:
        """The act when every clause of the message is one of its phrases
        ("好的，谢谢", "不是不是", "没错没错 就是这个"); None otherwise."""
        clauses = [c for c in map(plain, _CLAUSE_SPLIT.split(text.lower())) if c and _WORDS.search(c)]
        if not clauses:
            return None
        clauses = [c for c in clauses if not self.fillers.only(c)] or clauses  # "嗯，不是" says 不是
        def says(clause: str, phrases: Phrases) -> bool:
            return _covered(clause, phrases) or _covered(self.fillers.strip_edges(clause), phrases)
        for act, phrases in self.whole_phrases:
            if all(says(c, phrases) or says(c, self.smalltalk) for c in clauses) and any(says(c, phrases) for c in clauses):
                return act
        return None

    # -- details --------------------------------------------------------------
    @staticmethod
    def _place(text: str, found: str | None) -> str | None:
        if not found or len(found) > MAX_PLACE_CHARS:
            return None
        # "不是3号楼" is not where: only a place that is not denied counts.
        start = text.find(found)
        return None if start > 0 and _DENIED.search(text[max(0, start - 3):start]) else found

    @staticmethod
    def _without_details(flat: str, text: str, details: dict) -> str:
        rest = flat
        if details["place"]:  # the place as written: "3号楼东边那个楼梯口" is read as 3号楼东边楼梯口
            rest = _as_written(plain(details["place"])).sub("", rest, count=1)
        for value in (details["time"].text if details["time"] else None, *phone_spans(text)):
            if value:
                rest = rest.replace(plain(value), "", 1)
        return rest

    def _names_problem(self, rest: str, found) -> bool:
        if found.emergency_state != "no":
            return True
        if _POINTING.match(rest) and len(rest) <= 8 and not self.problem_cues.occurs(rest):
            return False  # "是3号楼东边那个楼梯口": where, not what
        if self.problem_cues.occurs(rest) and len(rest) >= 2:
            return True
        # "热水器不出热水，咋整" still names its problem; "停车证咋办" only asks.
        helped = self.asks_for_help.occurs(rest) and len(self.asks_for_help.remove(rest)) >= 6
        return self.classifier.topic_score(rest) > 0 and not (self._asks(rest) and not helped) and len(rest) >= 2

    def _skips(self, flat: str) -> set[str]:
        if self.skip_whole.is_whole(self.fillers.strip_edges(flat)) or self.skip_whole.is_whole(flat):
            return {"any"}
        verbs = self.skip_verbs.find(flat)
        if not verbs:
            return set()
        return {slot for slot, words in self.skip_objects.items() if words.occurs(flat)}

    def _cancels(self, flat: str) -> bool:
        return self.cancel_whole.is_whole(self.fillers.strip_edges(flat)) or self.cancel_any.occurs(flat)

    def _asks(self, flat: str) -> bool:
        return self.asks.occurs(flat) and not self.not_asks.occurs(flat)

    def _asks_progress(self, flat: str, problem: bool) -> bool:
        hits = self.progress.find(flat)
        if not hits:
            return False
        own = any(w.startswith(("我", "上次", "上回", "之前", "早上", "昨天", "前天")) or w in ("进度", "进展", "工单", "单号")
                  for _, w in hits)
        return own or self.progress_asks.occurs(flat) or not problem

    def _correction(self, text: str, flat: str, problem: bool, now: datetime) -> tuple[str | None, dict]:
        """Which slot a correction changes, and the new values it gives."""
        marks = self.correct_marks.find(flat)
        if not marks:
            return None, {}
        weak_only = all(w in ("不对", "不是", "错了") for _, w in marks)
        named = next((slot for slot, words in self.correct_objects.items() if words.occurs(flat)), None)
        said_of = named and any(words.occurs(flat[max(0, at - 4):at]) for at, _ in marks
                                for words in [self.correct_objects[named]])
        if weak_only and not (marks[0][0] <= 1 or said_of or re.search(r"不是.{1,12}[,，]?\s*是|是.{1,12}不是", text)):
            return None, {}  # "热水不是很热": a complaint, not a correction
        values = self._affirmed_details(text, now)
        for slot, key in ((u.PHONE, "phone"), (u.SINCE, "time"), (u.LOCATION, "place")):
            if key in values and named in (None, slot):
                return slot, values
        if named:
            return named, values
        return (u.DESCRIPTION, values) if problem else (None, {})

    def _affirmed_details(self, text: str, now: datetime) -> dict:
        """The details of a correction: the last ones not denied ("不是3号楼，是5号楼" -> 5号楼)."""
        values = {}
        for clause in reversed(self._affirmed_parts(text)):
            if "place" not in values and (place := self._place(clause, self.classifier.classify(clause).location)):
                values["place"] = place
            if "phone" not in values and (phone := find_phone(clause)):
                values["phone"] = phone
            if "time" not in values and (time := find_time(clause, now)):
                values["time"] = time
        return values

    def _self_corrected(self, text: str, now: datetime, details: dict) -> dict:
        marks = [(m.start(), m.end()) for m in _SELF_CORRECTION.finditer(text)]
        if not marks:
            return {}
        later = self._affirmed_details(text[marks[-1][1]:], now)
        if "place" in later and details.get("place"):
            later["place"] = completed_place(details["place"], later["place"])
        return later

    @staticmethod
    def _affirmed_parts(text: str) -> list[str]:
        """The clauses of ``text`` minus those that say what something is not."""
        parts, keep = [], True
        for piece in re.split(r"(不是|而不是|并非|不在|[,，。;；!！?？\s])", text):
            if not piece:
                continue
            if _DENIED.fullmatch(piece):
                keep = False
            elif _CLAUSES.fullmatch(piece) or piece.isspace():
                keep = True
            elif keep:
                parts.append(piece)
            else:
                # "不是3号楼是5号楼": the words after a second 是 are affirmed again
                head, sep, tail = piece.partition("是")
                if sep and tail:
                    parts.append(tail)
                keep = bool(sep and tail)
        return parts

    def _matters(self, text: str) -> tuple[str, ...]:
        """Two or more separate problems in one message, each as written; () for one.
        A long story ("…结果到现在也没人来") is one matter told at length."""
        if len(text) > MATTERS_WITHIN:
            return ()
        parts = [p.strip(" ,，。;；") for p in self._split_matters(text)]
        parts = [p for p in parts if p and self._is_matter(p) and not _GOES_ON.match(p)]
        if len(parts) < 2:
            return ()
        joined_by_word = bool(self.another_matter.find(plain(text)) or self.another_matter.find(text))
        labels = {self._label(p) for p in parts}
        return tuple(parts) if joined_by_word or len(labels) == len(parts) else ()

    def _split_matters(self, text: str) -> list[str]:
        words = sorted({w for w in self.another_matter.words if w}, key=len, reverse=True)
        pattern = "|".join([*map(re.escape, words), *(p.pattern for p in self.another_matter.patterns)])
        pieces = re.split(pattern, text) if pattern else [text]
        if len(pieces) > 1:
            return pieces
        return [s for s in _SENTENCES.split(text) if s.strip()]

    def _is_matter(self, part: str) -> bool:
        flat = plain(part)
        return len(flat) >= 4 and (self.problem_cues.occurs(flat) or self.classifier.topic_score(flat) > 0)

    def _label(self, part: str) -> str:
        found = self.classifier.classify(part)
        return f"{found.category}/{found.subcategory or ''}"


def _covered(clause: str, phrases: Phrases) -> bool:
    """The clause is one of the phrases, maybe said twice or more ("对对对", "没错没错")."""
    if phrases.is_whole(clause):
        return True
    return any(len(clause) % len(w) == 0 and clause == w * (len(clause) // len(w))
               for w in phrases.words if w and len(w) < len(clause))


class _YesNo:
    """Agreeing or denying: the whole message, or its first words before a detail ("对，在3号楼")."""

    def __init__(self, kind: str, table: dict, fillers: Fillers):
        self.kind, self.fillers = kind, fillers
        self.whole, self.starts = Phrases(table.get("整句")), Phrases(table.get("开头"))

    def is_whole(self, flat: str) -> bool:
        return self.whole.is_whole(flat) or self.whole.is_whole(self.fillers.strip_edges(flat))

    def polarity(self, text: str) -> str | None:
        """Also "对，在3号楼": a leading word set apart by punctuation."""
        if self.is_whole(plain(text)):
            return self.kind
        head = re.split(r"[,，。!！、~～\s]", text.strip().lower(), maxsplit=1)
        return self.kind if len(head) == 2 and self.fillers.strip_edges(plain(head[0])) in self.starts.words else None
