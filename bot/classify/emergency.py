"""Is something dangerous happening right now?

The rule (a missed emergency is the worst error this product can make, yet at
most about one message in twenty may raise a false alarm):

* Emergency words (停电, 着火, 被偷 … see data/emergency.yaml) are found
  generously — `re:火` catches any fire — and excluded only by a phrase that
  wholly contains them (打不着火, 漏电保护器, 火锅). Weak words (在里面, 吐)
  count only when the message also names their subject (电梯, 吃).
  Doubtful words (塑料味, 钱包丢了: often harmless, sometimes not) are
  judged like the others but reach at most `unsure`, unless the message
  sounds urgent (救命, 快来人).
* Each word found is judged in its own clause:
  - hypothetical, worried or planned (万一着火, 担心会漏电, 会不会停电,
    火灾隐患, 停电通知)                                               -> unsure
  - directly negated (没有停电, 没发生火灾, 幸好没砸到人)             -> no
  - followed later by its own "it's over" phrase, itself neither negated
    nor asked (已经来电了; not 还没来电, 修好了吗)                     -> no
  - about the past or a habit (上次被困, 去年被盗过, 停了好几次电,
    and for lasting states such as 停电 or 着火 also 昨天停电了)       -> unsure,
    unless the sentence says it is still going on (到现在还没来电)    -> yes
  - the message hints at a harmless reading for this kind (钱包丢了 …
    有没有人捡到)                                                      -> unsure
  - anything else                                                     -> yes
* The message is `yes` if any word is yes, else `unsure` if any word is
  unsure, else `no`. Only `yes` makes emergency=True and the category
  突发事件. `unsure` is reported as no emergency (a worry is not an incident,
  and counting it would break the false-alarm budget) but the state is kept
  so the dialog asks the user instead of dropping the word silently. `no`
  is reserved for words the user plainly denied or declared over.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Sequence

from .matching import AdjacentCue, Breaks, Hit, Matcher, Spans, Token, drop_contained, normalize_key

YES, NO, UNSURE = "yes", "no", "unsure"
_SENTENCE_BREAKS = ".!?;。\n"
_PAST_SUFFIX = re.compile(r"过(?![来去])")  # 被盗过 is past, 漫过来 is not


@dataclass(frozen=True)
class EmergencyVerdict:
    state: str
    live_kinds: tuple[str, ...]  # kinds judged `yes`, e.g. ("停电",)
    fallback_labels: tuple[str, ...]  # category hints from words judged not `yes`


# The rules' alarm gets a second opinion from the alarm model learned from
# labelled sentences (learned.py): an alarm the model finds very unlikely
# ("热得跟着火似的") becomes a question to the person. Measured with the rules
# as they were before three new sets were written, each set left out of the
# model: 14 of 27 false alarms became questions and no real alarm did. The bar
# is strict so that the rules' careful reading of time wins ("从昨天晚上开始一直
# 停电" scores 0.1: many labelled outages are over by "昨晚…现在好了"). The model
# is not trusted the other way, to raise doubts the rules did not: a bare place
# ("教工宿舍2单元301") already scores 0.8.
DOUBT_ALARM_BELOW = 0.05


def second_opinion(verdict: EmergencyVerdict, alarm_probability: float | None) -> EmergencyVerdict:
    """Never silences an alarm: at most it turns yes into "ask first"."""
    if verdict.state == YES and alarm_probability is not None and alarm_probability < DOUBT_ALARM_BELOW:
        return replace(verdict, state=UNSURE, live_kinds=())
    return verdict


class _Message:
    """One message with what every keyword's judgement reads from it, worked
    out once: clause and sentence breaks, and where each kind of cue sits.
    Judging a keyword is then a few binary searches, so a long message with
    thousands of keywords costs about as much as its length, not its square."""

    def __init__(self, text: str, tokens: Sequence[Token]):
        self.text, self.tokens = text, tokens
        self.clauses = Breaks(text)
        self.sentences = Breaks(text, _SENTENCE_BREAKS)
        self._spans: dict[int, Spans] = {}
        self._contains: dict[str, bool] = {}
        self.last_resolution: dict[str, int] = {}  # by kind, see EmergencyDetector._last_resolution

    def spans(self, cues: Matcher) -> Spans:
        if id(cues) not in self._spans:
            self._spans[id(cues)] = Spans(cues.find(self.text, self.tokens))
        return self._spans[id(cues)]

    def mentions(self, cues: Matcher) -> bool:
        """Is one of `cues` anywhere in the message?"""
        return self.spans(cues).any_within(0, len(self.text))

    def contains(self, word: str) -> bool:
        if word not in self._contains:
            self._contains[word] = word in self.text
        return self._contains[word]


class EmergencyDetector:
    def __init__(self, emergency: dict, cues: dict):
        kinds = emergency.get("紧急类型") or {}
        self.kind_of = {normalize_key(w): str(kind) for kind, spec in kinds.items() for w in spec.get("词") or []}
        # Weak words (在里面, 吐) mean an emergency only when the message also
        # names what they are about (电梯, 吃): then they add recall, not noise.
        self.weak: dict[str, list[tuple[str, list[str]]]] = {}
        for kind, spec in kinds.items():
            needs = [normalize_key(n) for n in spec.get("弱词前提") or []]
            for word in spec.get("弱词") or []:
                self.weak.setdefault(normalize_key(word), []).append((str(kind), needs))
        # Doubtful words: an emergency only in an urgent-sounding message, otherwise the bot asks.
        self.doubtful = {normalize_key(w): str(kind) for kind, spec in kinds.items() for w in spec.get("存疑词") or []}
        self.doubt_hints = {str(kind): Matcher(spec.get("存疑提示") or []) for kind, spec in kinds.items()}
        self.lasting = {str(kind) for kind, spec in kinds.items() if spec.get("持续状态")}
        self.fallback = {str(kind): spec.get("不紧急时归入") for kind, spec in kinds.items()}
        self.words = Matcher(list(self.kind_of) + list(self.doubtful) + list(self.weak))
        self.excluded = Matcher(emergency.get("排除短语") or [])
        self.exclamations = {normalize_key(w) for w in emergency.get("口头语") or []}
        self.resolved_by_kind = {str(kind): Matcher((spec.get("已解决") or []) + (cues.get("已解决") or []))
                                 for kind, spec in kinds.items()}
        self.negation = AdjacentCue(cues.get("否定") or [], cues.get("否定后可跟") or [])
        self.hypothetical = Matcher(cues.get("假设") or [])
        self.hypothetical_adjacent = AdjacentCue(cues.get("假设单字") or [], cues.get("假设后可跟") or [])
        self.hypothetical_after = AdjacentCue(cues.get("假设后置") or [])
        self.past = Matcher(cues.get("过去") or [])
        self.recent_past = Matcher(cues.get("近期过去") or [])
        self.past_sentence = Matcher(cues.get("整句过去") or [])
        self.urgent = Matcher(cues.get("紧急语气") or [])
        self.mild = Matcher(cues.get("轻微") or [])
        self.ongoing = Matcher(cues.get("持续") or [])
        self.resolved_negation = AdjacentCue(cues.get("已解决前的否定") or [])
        self.resolved_question = AdjacentCue(cues.get("已解决后的疑问") or [])

    def words_to_learn(self) -> list[str]:
        return list(self.kind_of) + list(self.doubtful) + list(self.weak)

    def assess(self, text: str, tokens: Sequence[Token], topical: bool = False) -> EmergencyVerdict:
        """`topical`: the message plainly names an ordinary problem (the category
        lists score it high); then an exclamation alone ("救命 这网太卡了") is
        only a figure of speech to ask about, not an alarm."""
        message = _Message(text, tokens)
        judged = [(hit, kind, self._judge(message, hit, kind)) for hit, kind in self._hits(message)]
        if topical and all(hit.key in self.exclamations for hit, _, state in judged if state == YES):
            judged = [(hit, kind, UNSURE if state == YES else state) for hit, kind, state in judged]
        live = tuple(dict.fromkeys(kind for _, kind, state in judged if state == YES))
        states = {state for _, _, state in judged}
        state = YES if YES in states else UNSURE if UNSURE in states else NO
        # one clue per kind: 被锁在 and 锁在…里 are the same hint, not two
        fallback = tuple(label for kind in dict.fromkeys(kind for _, kind, s in judged if s != YES)
                         if (label := self.fallback.get(kind)))
        return EmergencyVerdict(state, live, fallback)

    def _hits(self, message: _Message) -> list[tuple[Hit, str]]:
        """Emergency words with their kind, minus excluded phrases and unsupported weak words."""
        excluded = message.spans(self.excluded)
        found = []
        for hit in drop_contained(self.words.find(message.text, message.tokens)):
            # Only a phrase that wholly contains the word excludes it: 打不着火
            # excludes 着火, but 困了 (sleepy) must not exclude 被困 in 被困了.
            if excluded.any_around(hit.start, hit.end):
                continue
            if (kind := self._kind(message, hit.key)) is not None:
                found.append((hit, kind))
        return found

    def _kind(self, message: _Message, key: str) -> str | None:
        if key in self.kind_of:
            return self.kind_of[key]
        if key in self.doubtful:
            return self.doubtful[key]
        return next((kind for kind, needs in self.weak.get(key, ()) if any(map(message.contains, needs))), None)

    def _judge(self, message: _Message, hit: Hit, kind: str) -> str:
        left, right = message.clauses.around(hit.start, hit.end)
        if self._is_hypothetical(message, left, right, hit):
            return UNSURE
        if self.negation.ends_at(message.text, hit.head, left):
            return NO
        if self._resolved_later(message, hit, kind):
            return NO
        if self._is_past(message, left, right, hit, kind) and not self._still_going(message, hit):
            return UNSURE
        if self.doubtful.get(hit.key) == kind and hit.key not in self.kind_of and not message.mentions(self.urgent):
            return UNSURE
        if hit.key in self.weak and hit.key not in self.kind_of and message.spans(self.mild).any_within(left, hit.end):
            return UNSURE  # 胃有点疼: a mild weak word is worth asking about, not an alarm
        if message.mentions(self.doubt_hints[kind]):
            return UNSURE
        return YES

    def _is_hypothetical(self, message: _Message, left: int, right: int, hit: Hit) -> bool:
        return (message.spans(self.hypothetical).any_within(left, hit.head)
                or self.hypothetical_adjacent.ends_at(message.text, hit.head, left)
                or self.hypothetical_after.starts_at(message.text, hit.end, right))

    def _is_past(self, message: _Message, left: int, right: int, hit: Hit, kind: str) -> bool:
        sentence_start, _ = message.sentences.around(hit.start, hit.end)
        return (message.spans(self.past).any_within(left, hit.head)
                or message.spans(self.past_sentence).any_within(sentence_start, hit.head)
                or (kind in self.lasting and message.spans(self.recent_past).any_within(left, hit.head))
                or bool(_PAST_SUFFIX.match(message.text, hit.end, right)))

    def _still_going(self, message: _Message, hit: Hit) -> bool:
        return message.spans(self.ongoing).any_within(*message.sentences.around(hit.start, hit.end))

    def _resolved_later(self, message: _Message, hit: Hit, kind: str) -> bool:
        return self._last_resolution(message, kind) >= hit.end

    def _last_resolution(self, message: _Message, kind: str) -> int:
        """Where the last "it's over" phrase for `kind` starts, counting only
        those neither negated (还没来电) nor asked (修好了吗); -1 if none."""
        if kind not in message.last_resolution:
            text = message.text
            message.last_resolution[kind] = max(
                (cue.start for cue in self.resolved_by_kind[kind].find(text, message.tokens)
                 if not self.resolved_negation.ends_at(text, cue.start)
                 and not self.resolved_question.starts_at(text, cue.end)), default=-1)
        return message.last_resolution[kind]
