"""The intake dialog: from what an occupant says to a registered complaint.

Each message arrives already understood (an Utterance: what the person is
doing and which details it holds). The dialog is a table: for its state, the
acts it handles itself; every other act has one meaning in every state
(ACTS_EVERYWHERE) — an emergency is raised, a question answered, a
correction applied, details filled — so nothing depends on which question
was asked last. Only what + where are asked for; the rest is offered in the
summary, which one "确认" turns into a numbered complaint.
"""
from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from bot import complaints, deadlines, outbox, registration
from bot.occupant_phone import known_phone
from bot.registration import Intake
from dialogs import draft, questions
from dialogs.emergency import safety_advice
from dialogs.recent import Recent, RecentStore
from dialogs.state import DialogState, DialogStore
from dialogs.understanding import Utterance
from dialogs.understanding import utterance as u
from dialogs.understanding.phrases import plain
from dialogs.understanding.places import completed_place, merged_place, same_site

if TYPE_CHECKING:  # the handlers import this module: no import cycle at run time
    from handlers.context import Context

ANONYMOUS_WORDS = {"匿名", "匿名提交", "匿名确认", "确认匿名"}
EDIT_WORDS = {"修改", "改", "更改", "编辑", "改一下"}
CONTINUE_WORDS = {"继续", "接着", "继续填写", "继续登记"}
RESTART_WORDS = {"重来", "重新开始", "重新登记"}
HELP_WORDS = {"帮助", "help", "怎么用", "使用说明"}
# There are no steps to go back through: any detail can be changed by saying so.
BACK_WORDS = {"上一步", "返回", "返回上一步", "退回"}
# How much of the description the summary repeats (a reply holds 2048 bytes).
SUMMARY_CHARS = 200


class IntakeDialog:
    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.services = ctx.services
        settings = ctx.services.settings.dialog
        self.store = DialogStore(ctx.kv, ctx.services.settings.redis_prefix, settings.keep_hours * 3600)
        self.recent = RecentStore(ctx.kv, ctx.services.settings.redis_prefix)
        self.idle_seconds = settings.idle_minutes * 60
        self.max_failures = settings.max_failures

    def t(self, key: str, **values) -> str:
        return self.ctx.text(key, **values)

    # -- entry ------------------------------------------------------------------
    def is_active(self) -> bool:
        return self.store.load(self.ctx.user) is not None

    def on_text(self, utterance: Utterance) -> str:
        state = self.store.load(self.ctx.user)
        if utterance.act == u.EMERGENCY:  # before anything else, in every state
            return self._emergency(state, utterance)
        if state is None:
            return self._no_draft(utterance)
        if state.step not in STEPS:  # saved by the older, form-like dialog
            state.step = "confirm" if draft.missing(state.slots) is None else "collect"
        word = plain(utterance.text)
        if word in RESTART_WORDS:
            return self._restart()
        if word in HELP_WORDS:
            return self._join(self.t("dialog_help"), self._prompt(state))
        if word in BACK_WORDS:
            return self._join(self.t("ask_what_to_change"), self._prompt(state))
        if state.step != "resume" and state.is_idle(self.idle_seconds):
            return self._pause(state, utterance)
        own = STATE_ACTS.get(state.step, {}).get(utterance.act) or STATE_WORDS.get(state.step, {}).get(word)
        handler = own or ACTS_EVERYWHERE.get(utterance.act, IntakeDialog._details)
        return handler(self, state, utterance)

    def on_photo(self, media_id: str) -> str:
        state = self.store.load(self.ctx.user)
        if state is None:
            recent = self.recent_complaint()
            if recent is not None:
                complaints.attach_media(self.ctx.session, recent, kind="image", media_id=media_id, actor=self.ctx.user)
                return self.t("supplement_added", number=recent.number)
            state = DialogState(step="collect", slots=draft.new_slots())
            state.slots["photos"].append(media_id)
            self.store.save(self.ctx.user, state)
            return self.t("photo_first")
        if state.complaint_id:  # an emergency already registered: photos go straight to it
            complaint = self.ctx.session.get(complaints.Complaint, state.complaint_id)
            complaints.attach_media(self.ctx.session, complaint, kind="image", media_id=media_id, actor=self.ctx.user)
            state.slots["photos_sent"] = state.slots.get("photos_sent", 0) + 1
            self.store.save(self.ctx.user, state)
            return self._join(self.t("photo_received", count=state.slots["photos_sent"]), self._prompt(state))
        state.slots.setdefault("photos", []).append(media_id)
        return self._next(state, self.t("photo_received", count=len(state.slots["photos"])))

    def on_location(self, label: str, place: str | None) -> str:
        """WeCom's 位置 message: its label answers "where"."""
        reply = self.on_text(Utterance(text=label, act=u.INFORM, place=place or label[:draft.SINCE_CHARS]))
        return self._join(self.t("location_noted", label=label), reply)

    # -- no draft open ------------------------------------------------------------
    def _no_draft(self, utterance: Utterance) -> str:
        act = utterance.act
        recent = self.recent_complaint()
        if recent is not None and recent.emergency and act in (u.SMALLTALK, u.UNCLEAR) \
                and len(plain(utterance.text)) > SHORT_THANKS:  # "现在人出来了，谢谢": the responders need it
            return self._supplement(recent, utterance)
        if act in OUTSIDE_A_DRAFT:
            return OUTSIDE_A_DRAFT[act](self, None, utterance)
        if recent is not None and act == u.CORRECT and utterance.correction in RECENT_FIELDS:
            return self._correct_recent(recent, utterance)
        if recent is not None and act in (u.INFORM, u.REPORT, u.CORRECT, u.UNCLEAR) and self._is_about(recent, utterance):
            return self._supplement(recent, utterance)
        if act == u.YES and utterance.pictures_only and recent is None:  # 👍 with nothing before it
            return self._emoji(None, utterance)
        if act in (u.YES, u.NO, u.SKIP, u.UNCLEAR):  # an answer, but nothing asked
            thanked = act == u.YES and (utterance.thanks or recent is not None)
            return self.t("you_are_welcome" if thanked else "no_dialog_open")
        return self._start(utterance)

    def _start(self, utterance: Utterance) -> str:
        elsewhere = questions.out_of_scope(self.ctx, utterance.text) if not utterance.place else None
        if elsewhere:  # another office's topic, unless it names a campus place ("考试周宿舍太吵")
            return elsewhere
        slots = draft.new_slots(utterance)
        slots["danger_unsure"] = utterance.emergency_state == "unsure"
        self._remember_phone(slots)
        state = DialogState(step="collect", slots=slots)
        if len(utterance.problems) > 1:
            return self._offer_two(state, utterance)
        return self._next(state, self._empathy(state, first=True))

    def _is_about(self, recent: complaints.Complaint, utterance: Utterance) -> bool:
        """Words after a registration belong to it only when they are about it:
        its place or none, and no other kind of problem."""
        if utterance.new_matter or not same_site(utterance.place, recent.location):
            return False
        if utterance.act == u.INFORM or not utterance.problem or not utterance.topical:
            return True
        found = utterance.classification
        if found is not None and found.category != recent.category and not recent.emergency:
            return False
        if not utterance.place and not utterance.time and not recent.emergency:
            # "空调坏了" just after "水龙头坏了" is another thing: it must share a word with it.
            return self._shares_a_word(recent.description, utterance.text)
        return True

    def _shares_a_word(self, said_before: str, said_now: str) -> bool:
        words = self.services.classifier.words_of
        return bool(words(said_before) & words(said_now) - COMMON_WORDS)

    def supplement_recent(self, text: str) -> str | None:
        """"补充一下，…" with no number: the complaint just registered, if there is one."""
        recent = self.recent_complaint()
        if recent is None:
            return None
        return self._supplement(recent, self.services.reader.read(text, self.services.local_now()))

    def _supplement(self, complaint: complaints.Complaint, utterance: Utterance) -> str:
        session = self.ctx.session
        complaints.record_event(session, complaint, self.ctx.user, "supplement", comment=utterance.text)
        if utterance.place and not complaint.location:
            complaint.location = utterance.place
        if utterance.phone and not complaint.contact_phone:
            complaint.contact_phone = utterance.phone
        if utterance.time and not complaint.since:
            complaint.since = draft.clipped_since(utterance.time.label())
        if complaint.emergency:  # responders on their way need every detail at once
            registration.alert_emergency(session, self.services, complaint, update=utterance.text[:200])
            return self.t("emergency_update_sent", number=complaint.number)
        return self.t("supplement_added", number=complaint.number)

    def _correct_recent(self, complaint: complaints.Complaint, utterance: Utterance) -> str:
        """"地点说错了，是6号楼503" just after registering: the complaint itself is corrected."""
        slot = utterance.correction
        value = utterance.contained().get(slot)
        if value is None:  # "地点说错了" alone: the new value comes next, as a detail of it
            return self.t(f"ask_new_{slot}")
        if slot == "location":
            value = completed_place(complaint.location, value)
        setattr(complaint, RECENT_FIELDS[slot], draft.clipped_since(value) if slot == "since" else value)
        complaints.record_event(self.ctx.session, complaint, self.ctx.user, "supplement",
                                comment=f"更正{SLOT_LABELS[slot]}：{value}（{utterance.text[:100]}）")
        if complaint.emergency:
            registration.alert_emergency(self.ctx.session, self.services, complaint,
                                         update=f"更正{SLOT_LABELS[slot]}：{value}")
        return self.t("recent_corrected", number=complaint.number, what=SLOT_LABELS[slot], value=value)

    def recent_complaint(self) -> complaints.Complaint | None:
        recent = self.recent.load(self.ctx.user)
        complaint = complaints.find_by_number(self.ctx.session, recent.number) if recent else None
        if complaint is None or complaint.occupant_id != self.ctx.user or complaint.status not in complaints.OPEN_STATUSES:
            return None
        return complaint

    # -- acts with one meaning in every state ------------------------------------
    def _details(self, state: DialogState, utterance: Utterance) -> str:
        """A report or details: fill every slot the message holds."""
        if utterance.act == u.REPORT and self._another_matter(state, utterance):
            return self._offer_two(state, utterance, first=state.slots.get("description"))
        if utterance.emergency_state == "unsure":
            state.slots["danger_unsure"] = True
        if self._whole_building(state, utterance):  # "整栋楼" answers "which room?"
            draft.fill(state.slots, utterance)
        elif utterance.act == u.UNCLEAR or not draft.fill(state.slots, utterance):
            return self._reask(state)
        return self._next(state, self._empathy(state))

    def _whole_building(self, state: DialogState, utterance: Utterance) -> bool:
        """"整栋楼都这样" answers "which room?"."""
        if draft.needs_room(state.slots) and draft.says_whole_building(utterance.text):
            state.slots["whole_building"] = True
            return True
        return False

    def _another_matter(self, state: DialogState, utterance: Utterance) -> bool:
        """A new, different problem while one is being put together."""
        slots, found = state.slots, utterance.classification
        if not slots.get("description") or not utterance.problem or found is None:
            return False
        other_place = bool(utterance.place and slots.get("location")) and not same_site(utterance.place, slots["location"])
        return bool(other_place or len(utterance.problems) > 1) and found.category != slots.get("category") \
            or bool(other_place and found.category == slots.get("category") and slots.get("location"))

    def _correct(self, state: DialogState, utterance: Utterance) -> str:
        slot = draft.correct(state.slots, utterance)
        if slot is None:
            state.slots["correcting"] = utterance.correction
            state.step = "await_correction"
            self.store.save(self.ctx.user, state)
            return self.t(f"ask_new_{utterance.correction}")
        state.slots.pop("correcting", None)
        return self._next(state, self.t("corrected", what=SLOT_LABELS[slot], value=state.slots[slot]))

    def _correction_given(self, state: DialogState, utterance: Utterance) -> str:
        """The new value, after "改一下地点" asked for it."""
        slot = state.slots.get("correcting", "location")
        if slot not in utterance.contained():
            return self._reask(state)
        return self._correct(state, replace(utterance, correction=slot))

    def _skip(self, state: DialogState, utterance: Utterance) -> str:
        for slot in utterance.skips:
            state.slots[f"{slot}_declined"] = True
        if state.step == "confirm":
            return self._join(self.t("noted"), self.t("confirm_prompt"))
        return self._next(state, self.t("noted"))

    def _cancel(self, state: DialogState | None, utterance: Utterance) -> str:
        if state is None:
            return self.t("nothing_to_cancel")
        self._restore_or_clear(state)
        return self.t("cancelled_after_emergency" if state.complaint_id else "cancelled")

    def _human(self, state: DialogState | None, utterance: Utterance) -> str:
        summary = self._brief(state) if state else utterance.text[:60]
        note = self.t("human_alert", user=self.services.directory().name_of(self.ctx.user), summary=summary)
        for person in self.services.settings.directory.customer_service:
            outbox.push_text(self.ctx.session, person, note)
        reply = self.t("human_requested", phone=self.services.settings.service.phone)
        return self._join(reply, self._prompt(state)) if state else reply

    def _progress(self, state: DialogState | None, utterance: Utterance) -> str:
        listed = questions.list_own(self.ctx)
        return self._join(listed, self.t("draft_still_open"), self._prompt(state)) if state else listed

    def _question(self, state: DialogState | None, utterance: Utterance) -> str:
        answer = questions.answer(self.ctx, utterance.text)
        return self._join(answer, self._prompt(state)) if state else answer

    def _smalltalk(self, state: DialogState | None, utterance: Utterance) -> str:
        if state is not None:
            return self._prompt(state)
        if utterance.thanks or self.recent_complaint() is not None:
            return self.t("you_are_welcome")
        service = self.services.settings.service
        return self.t("welcome", service_name=service.name, duty_phone=service.duty_phone)

    def _unasked_answer(self, state: DialogState, utterance: Utterance) -> str:
        """"对，是3号楼的" where nothing yes / no was asked: its details count, the question stands."""
        return self._details(state, utterance) if utterance.contained() else self._prompt(state)

    def _emoji(self, state: DialogState | None, utterance: Utterance) -> str:
        return self._prompt(state) if state else self.t("ask_what_happened")

    # -- acts of one state ----------------------------------------------------------
    def _confirmed(self, state: DialogState, utterance: Utterance) -> str:
        """"确认" registers; "对，是从上周一开始的" adds the detail and shows the summary again."""
        if utterance.contained() and draft.fill(state.slots, utterance):
            return self._next(state, self.t("noted"))
        return self._next(state) if draft.missing(state.slots) else self._register(state)

    def _anonymous(self, state: DialogState, utterance: Utterance) -> str:
        state.slots["anonymous"] = True
        return self._register(state)

    def _not_confirmed(self, state: DialogState, utterance: Utterance) -> str:
        return self.t("ask_what_to_change")

    def _split_agreed(self, state: DialogState, utterance: Utterance) -> str:
        parts = state.slots.pop("parts")
        shared_place = state.slots.get("location")
        acks, unfinished = [], None
        for text in parts:
            slots = draft.new_slots(self.services.reader.read(text, self.services.local_now()))
            own = slots.get("location")
            if shared_place and draft.place_is_vague(own):  # "5号楼312空调…，还有卫生间的灯…": in 5号楼312 too
                slots["location"] = shared_place if not own or own in shared_place else shared_place + own
            slots["phone"] = state.slots.get("phone")
            if draft.missing(slots) is None:
                complaint = registration.register(self.ctx.session, self.services, self._intake(slots))
                acks.append(self.t("ack_short", number=complaint.number, department=complaint.department))
                self._remember(complaint)
            elif unfinished is None:
                unfinished = slots
        if unfinished is None:
            self._restore_or_clear(state)
            return self._join(*acks)
        return self._next(DialogState(step="collect", slots=unfinished), self._join(*acks))

    def _split_refused(self, state: DialogState, utterance: Utterance) -> str:
        parts = state.slots.pop("parts")
        state.slots["description"] = "；".join(parts)
        return self._next(state)

    def _repeat_same(self, state: DialogState, utterance: Utterance) -> str:
        existing = complaints.find_by_number(self.ctx.session, state.slots["repeat_of"])
        registration.add_to_existing(self.ctx.session, existing, self._intake(state.slots))
        self._restore_or_clear(state)
        return self.t("repeat_merged", number=existing.number)

    def _repeat_new(self, state: DialogState, utterance: Utterance) -> str:
        state.slots["repeat_checked"] = True
        return self._register(state)

    def _repeat_answer_with_words(self, state: DialogState, utterance: Utterance) -> str:
        """"不是，是空调" to "同一件事吗？" says no; "地点改成5号楼102" is a correction."""
        if utterance.correction == "description" and utterance.polarity == u.NO:
            return self._repeat_new(state, utterance)
        return self._correct(state, utterance)

    def _danger_confirmed(self, state: DialogState, utterance: Utterance) -> str:
        return self._emergency(None, utterance, slots=state.slots)

    def _danger_denied(self, state: DialogState, utterance: Utterance) -> str:
        state.slots["emergency_checked"] = True
        return self._next(state, self.t("emergency_check_no"))

    def _emergency_detail(self, state: DialogState, utterance: Utterance) -> str:
        """After an emergency without a usable place: every word goes to the responders at once."""
        complaint = self.ctx.session.get(complaints.Complaint, state.complaint_id)
        place = utterance.place if utterance.place and not draft.place_is_vague(utterance.place) else None
        if place:
            complaint.location = merged_place(complaint.location, place)
            complaints.record_event(self.ctx.session, complaint, self.ctx.user, "location_added",
                                    comment=complaint.location)
            said = "" if plain(utterance.text) == plain(place) else f"（{utterance.text[:100]}）"
            registration.alert_emergency(self.ctx.session, self.services, complaint,
                                         update=f"位置：{complaint.location}{said}")
            self._remember(complaint)
            lead = self.t("emergency_location_sent", location=complaint.location)
            return self._join(lead, self._restore_or_clear(state) or self.t("emergency_photos"))
        complaints.record_event(self.ctx.session, complaint, self.ctx.user, "supplement", comment=utterance.text)
        registration.alert_emergency(self.ctx.session, self.services, complaint, update=utterance.text[:200])
        self.store.save(self.ctx.user, state)
        return self._join(self.t("emergency_detail_sent"), self.t("ask_emergency_location"))

    def _resume_yes(self, state: DialogState, utterance: Utterance) -> str:
        state.step, state.paused_step = state.paused_step or "collect", None
        state.slots.pop("pending_text", None)
        self.store.save(self.ctx.user, state)
        return self._join(self.t("resumed"), self._prompt(state))

    def _resume_no(self, state: DialogState, utterance: Utterance) -> str:
        """Not the old draft: what was typed when it was found idle, or this message, starts afresh."""
        pending = state.slots.pop("pending_text", None)
        self.store.clear(self.ctx.user)
        fresh = utterance if utterance.act not in (u.NO, u.SKIP) else \
            self.services.reader.read(pending, self.services.local_now()) if pending else None
        if fresh is None or fresh.act in (u.NO, u.YES, u.SKIP, u.UNCLEAR):
            return self.t("restarted")
        return self._no_draft(fresh)

    # -- the emergency ----------------------------------------------------------------
    def _emergency(self, state: DialogState | None, utterance: Utterance, slots: dict | None = None) -> str:
        """Action first: register now, alert people now, advise now; only then
        ask for what is still missing. A draft about something else waits."""
        update = self._same_emergency(utterance) if slots is None else None
        if update is not None and state is not None and state.complaint_id == update.id:
            return self._emergency_detail(state, utterance)  # still waiting for where it is
        if update is not None:
            return self._supplement(update, utterance)
        parked = None
        if slots is None:
            slots = draft.new_slots(utterance)
            self._remember_phone(slots, ask_directory=False)  # the alarm must not wait on WeCom
            if state is not None and state.complaint_id is None:
                if self._same_place(state.slots, utterance):
                    slots = self._merged(state.slots, utterance)
                else:
                    parked = state.slots
            elif state is not None:
                parked = state.parked
        slots["emergency"] = True
        if not draft.usable_emergency_place(slots.get("location")):
            slots["location"] = self._lift_just_reported(utterance) or slots.get("location")
        complaint = registration.register(self.ctx.session, self.services, self._intake(slots))
        self._remember(complaint, kinds=utterance.emergency_kinds)
        service = self.services.settings.service
        advice = self._join(safety_advice(self.ctx.text, complaint.description),
                            self.t("emergency_registered", number=complaint.number, duty_phone=service.duty_phone))
        after = DialogState(step="emergency_place", slots=slots, complaint_id=complaint.id, parked=parked)
        if draft.usable_emergency_place(complaint.location):
            return self._join(advice, self._restore_or_clear(after) or self.t("emergency_photos"))
        self.store.save(self.ctx.user, after)
        return self._join(advice, self.t("ask_emergency_location"))

    def _lift_just_reported(self, utterance: Utterance) -> str | None:
        """"有人被困在里面了" right after "7号楼电梯又坏了": that lift."""
        recent = self.recent_complaint()
        if recent is None or "电梯困人" not in utterance.emergency_kinds or "电梯" not in (recent.location or ""):
            return None
        return recent.location

    def _same_emergency(self, utterance: Utterance) -> complaints.Complaint | None:
        """"人还困在里面" after a lift alarm is news about it, not a second alarm."""
        recent = self.recent.load(self.ctx.user)
        complaint = self.recent_complaint() if recent and recent.emergency else None
        if complaint is None or not set(utterance.emergency_kinds) & set(recent.kinds):
            return None
        if utterance.place and complaint.location and utterance.place not in complaint.location \
                and complaint.location not in utterance.place:
            return None
        return complaint

    @staticmethod
    def _same_place(slots: dict, utterance: Utterance) -> bool:
        """Stricter than same_site: an emergency joins the draft only where one place holds the other."""
        place = slots.get("location")
        return not utterance.place or not place or utterance.place in place or place in utterance.place

    @staticmethod
    def _merged(slots: dict, utterance: Utterance) -> dict:
        merged = dict(slots)
        merged.pop("description", None)
        draft.fill(merged, utterance)
        if slots.get("description"):
            merged["description"] = f"{utterance.problem}；{slots['description']}"
        return merged

    def _restore_or_clear(self, state: DialogState) -> str | None:
        """Back to the complaint an emergency interrupted, if there was one."""
        if state.parked:
            restored = DialogState(step="collect", slots=state.parked)
            return self._next(restored, self.t("back_to_draft", summary=self._brief(restored)))
        self.store.clear(self.ctx.user)
        return None

    # -- moving on ---------------------------------------------------------------------
    def _ask_danger(self, state: DialogState) -> str:
        state.step = "emergency_check"
        self.store.save(self.ctx.user, state)
        return self.t("ask_emergency_check")

    def _next(self, state: DialogState, lead: str | None = None) -> str:
        if state.slots.pop("danger_unsure", False) and not state.slots.get("emergency_checked"):
            return self._join(lead, self._ask_danger(state))
        missing = draft.missing(state.slots)
        state.step = "collect" if missing else "confirm"
        state.failures = 0
        self.store.save(self.ctx.user, state)
        return self._join(lead, self._prompt(state))

    def _prompt(self, state: DialogState | None) -> str:
        if state is None:
            return ""
        if state.step == "confirm":
            return self._summary(state)
        asked = {"two_things": lambda: self.t("ask_two_again"),
                 "repeat_check": lambda: self.t("ask_repeat_again"),
                 "emergency_check": lambda: self.t("ask_emergency_check"),
                 "emergency_place": lambda: self.t("ask_emergency_location"),
                 "await_correction": lambda: self.t(f"ask_new_{state.slots.get('correcting', 'location')}"),
                 "resume": lambda: self.t("ask_resume", summary=self._brief(state))}.get(state.step)
        if asked:
            return asked()
        if draft.missing(state.slots) == "location":
            return self.t("ask_room" if draft.needs_room(state.slots) else "ask_location")
        return self.t("ask_description")

    def _reask(self, state: DialogState) -> str:
        state.failures += 1
        self.store.save(self.ctx.user, state)
        offer = self.t("offer_person", phone=self.services.settings.service.phone) \
            if state.failures >= self.max_failures else None
        return self._join(self.t("not_understood"), offer, self._prompt(state))

    def _empathy(self, state: DialogState, first: bool = False) -> str | None:
        """The person's feelings first: once per rise in mood."""
        mood, shown = state.slots.get("mood", "calm"), state.slots.get("mood_shown", "calm")
        if draft.MOOD_RANK[mood] > draft.MOOD_RANK[shown]:
            state.slots["mood_shown"] = mood
            return self.t({"angry": "empathy_angry", "upset": "empathy_upset"}[mood])
        return self.t("intake_thanks") if first and state.slots.get("description") else None

    def _offer_two(self, state: DialogState, utterance: Utterance, first: str | None = None) -> str:
        parts = [first, utterance.text] if first else list(utterance.problems)
        state.slots["parts"] = parts
        state.step = "two_things"
        self.store.save(self.ctx.user, state)
        listed = "\n".join(f"{i}. {part[:60]}" for i, part in enumerate(parts, 1))
        return self.t("ask_two_things", parts=listed)

    # -- the summary and registration ----------------------------------------------
    def _summary(self, state: DialogState) -> str:
        slots = state.slots
        description = slots.get("description", "")
        if len(description) > SUMMARY_CHARS:  # the whole text is stored; the summary only reminds
            description = description[:SUMMARY_CHARS] + "…"
        place = slots.get("location") or ("无需" if not draft.needs_place(slots) else "未说明")
        phone = slots.get("phone") or "未留"
        if slots.get("phone_remembered") and slots.get("phone"):
            phone += f"（{slots.get('phone_source') or '上次留的'}）"
        offers = [self.t(f"offer_{slot}") for slot in ("photos", "since", "phone")
                  if not slots.get(f"{slot}_declined") and not slots.get("any_declined")
                  and not (slots.get(slot) if slot != "photos" else slots.get("photos"))]
        return self.t("confirm_summary", description=description, location=place, since=slots.get("since") or "未说明",
                      photos=len(slots.get("photos", [])), phone=phone,
                      offers=self.t("offers", items="、".join(offers)) if offers else "")

    def _register(self, state: DialogState) -> str:
        intake = self._intake(state.slots)
        repeat = None if state.slots.get("repeat_checked") else registration.find_repeat(
            self.ctx.session, self.services, intake)
        if repeat is not None:
            state.step = "repeat_check"
            state.slots["repeat_of"] = repeat.number
            self.store.save(self.ctx.user, state)
            return self.t("ask_repeat", number=repeat.number, description=repeat.description[:40])
        complaint = registration.register(self.ctx.session, self.services, intake)
        self._remember(complaint)
        back = self._restore_or_clear(state)
        return self._join(self._acknowledge(complaint, intake), back)

    def _intake(self, slots: dict) -> Intake:
        return Intake(occupant_id=self.ctx.user, description=slots.get("description") or "（未描述）",
                      category=slots.get("category") or "管理服务", subcategory=slots.get("subcategory"),
                      location=slots.get("location"), since=slots.get("since"), phone=slots.get("phone"),
                      photos=tuple(slots.get("photos", [])), emergency=bool(slots.get("emergency")),
                      mood=slots.get("mood", "calm"), wants_compensation=bool(slots.get("wants_compensation")),
                      anonymous=bool(slots.get("anonymous")))

    def _acknowledge(self, complaint, intake: Intake) -> str:
        others = complaints.reporters_count(self.ctx.session, complaint) - 1
        return self._join(
            self.t("ack_sorry") if intake.mood == "angry" else None,
            self.t("ack", number=complaint.number, department=complaint.department,
                   due=deadlines.due_text(self.ctx.session, self.services, complaint, "complete")),
            self.t("ack_others", count=others) if others > 0 else None,
            self.t("ack_anonymous") if intake.anonymous else None,
            self.t("ack_compensation") if intake.wants_compensation else None)

    def _remember(self, complaint, kinds: tuple[str, ...] = ()) -> None:
        self.recent.save(self.ctx.user, Recent(number=complaint.number, emergency=bool(complaint.emergency),
                                               kinds=list(kinds)))

    def _remember_phone(self, slots: dict, ask_directory: bool = True) -> None:
        """The number a person gave last time, or the directory's, for this complaint."""
        if slots.get("phone"):
            return
        phone, source = known_phone(self.ctx, ask_directory)
        if phone:
            slots.update(phone=phone, phone_remembered=True, phone_source=source)

    # -- idle dialogs and restarts ----------------------------------------------------
    def _pause(self, state: DialogState, utterance: Utterance) -> str:
        state.paused_step, state.step = state.step, "resume"
        state.slots["pending_text"] = utterance.text
        self.store.save(self.ctx.user, state)
        return self.t("ask_resume", summary=self._brief(state))

    def _restart(self) -> str:
        self.store.clear(self.ctx.user)
        return self.t("restarted")

    def _brief(self, state: DialogState) -> str:
        place, description = state.slots.get("location"), (state.slots.get("description") or "")[:30]
        if place and place in description:  # "5号楼会议室的投影仪坏了" says where already
            place = None
        return "，".join(filter(None, [place, description])) or "尚未描述"

    @staticmethod
    def _join(*parts: str | None) -> str:
        return "\n".join(part for part in parts if part)


# "谢谢" or "辛苦了" after an alarm is just thanks; anything longer may be news for the responders.
SHORT_THANKS = 4
# Words too common to tie two messages to one problem.
COMMON_WORDS = {"坏了", "一直", "现在", "还是", "已经", "没有", "不能", "一点", "什么", "怎么", "这个", "那个", "我们",
                "你们", "师傅", "老师", "麻烦", "问题", "好像", "不行", "不了", "能不能", "赶紧", "尽快"}
SLOT_LABELS = {"location": "地点", "since": "开始时间", "phone": "联系电话", "description": "问题"}
# What a correction may change on a complaint just registered (the description stays as it was told).
RECENT_FIELDS = {"location": "location", "since": "since", "phone": "contact_phone"}

# What an act means wherever the dialog is (an emergency is handled before this table).
ACTS_EVERYWHERE = {
    u.CORRECT: IntakeDialog._correct,
    u.SKIP: IntakeDialog._skip,
    u.CANCEL: IntakeDialog._cancel,
    u.HUMAN: IntakeDialog._human,
    u.PROGRESS: IntakeDialog._progress,
    u.QUESTION: IntakeDialog._question,
    u.SMALLTALK: IntakeDialog._smalltalk,
    u.EMOJI: IntakeDialog._emoji,
    u.YES: IntakeDialog._unasked_answer,
    u.NO: IntakeDialog._unasked_answer,
}
# With no draft open, these get an answer and start nothing.
OUTSIDE_A_DRAFT = {act: ACTS_EVERYWHERE[act] for act in (u.CANCEL, u.HUMAN, u.PROGRESS, u.QUESTION, u.SMALLTALK,
                                                         u.EMOJI)}

# What each state does with the acts that answer it.
STATE_ACTS = {
    "confirm": {u.YES: IntakeDialog._confirmed, u.NO: IntakeDialog._not_confirmed},
    "two_things": {u.YES: IntakeDialog._split_agreed, u.NO: IntakeDialog._split_refused},
    "repeat_check": {u.YES: IntakeDialog._repeat_same, u.NO: IntakeDialog._repeat_new,
                     u.CORRECT: IntakeDialog._repeat_answer_with_words},
    "emergency_check": {u.YES: IntakeDialog._danger_confirmed, u.NO: IntakeDialog._danger_denied},
    "emergency_place": {act: IntakeDialog._emergency_detail for act in (u.INFORM, u.REPORT, u.UNCLEAR, u.CORRECT)},
    "await_correction": {act: IntakeDialog._correction_given for act in (u.INFORM, u.REPORT, u.YES, u.NO)},
    "resume": {u.YES: IntakeDialog._resume_yes, **{act: IntakeDialog._resume_no for act in (u.NO, u.SKIP, u.REPORT)}},
}
# Words that are commands only in one state.
STATE_WORDS = {
    "confirm": {**{w: IntakeDialog._anonymous for w in ANONYMOUS_WORDS},
                **{w: IntakeDialog._not_confirmed for w in EDIT_WORDS}},
    "resume": {w: IntakeDialog._resume_yes for w in CONTINUE_WORDS},
}
STEPS = {"collect", "confirm", *STATE_ACTS}
