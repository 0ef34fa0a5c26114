"""The intake dialog: from a first message to a registered complaint.

Declared as a table: the slot steps (what each asks, when it is needed, how
an answer is read), the control states (confirmation, edit menu, repeat check,
emergency check, resumption) and the commands that work at every step.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from bot import complaints, deadlines, outbox, registration
from bot.registration import Intake
from dialogs.answers import (DIALOG_ANSWERS, DONE, GREETINGS, MAX_PLACE_CHARS, NO, SKIP, THANKS, YES, Invalid,
                             find_since, is_one_of, is_specific_place, meaningful_length, parse_location,
                             parse_phone, parse_since, plain)
from dialogs.emergency import safety_advice
from dialogs.state import DialogState, DialogStore

if TYPE_CHECKING:  # the handlers import this module: no import cycle at run time
    from handlers.context import Context

MOOD_RANK = {"calm": 0, "upset": 1, "angry": 2}
# "Don't tell the handling staff who I am": answered at the confirmation.
ANONYMOUS_WORDS = {"匿名", "匿名提交", "匿名确认", "确认匿名"}
# What a complaint is about shows in its first lines; classifying a message of
# many thousand characters would not fit the 5-second reply window.
CLASSIFY_CHARS = 1000
# How much of the description the confirmation repeats (a reply holds 2048 bytes).
SUMMARY_CHARS = 200


@dataclass(frozen=True)
class Turn:
    """One thing the user sent: words, or a photo."""
    text: str | None = None
    media_id: str | None = None


@dataclass(frozen=True)
class Step:
    name: str
    label: str  # as shown in the 修改 menu
    prompt: str  # text key
    needed: Callable[[dict], bool]
    accept: Callable[["IntakeDialog", DialogState, Turn], str | None]  # may raise Invalid


class IntakeDialog:
    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.services = ctx.services
        settings = ctx.services.settings.dialog
        self.store = DialogStore(ctx.kv, ctx.services.settings.redis_prefix, settings.keep_hours * 3600)
        self.idle_seconds = settings.idle_minutes * 60
        self.max_failures = settings.max_failures

    def t(self, key: str, **values) -> str:
        return self.ctx.text(key, **values)

    # -- entry ------------------------------------------------------------
    def is_active(self) -> bool:
        return self.store.load(self.ctx.user) is not None

    def handle(self, turn: Turn) -> str:
        state = self.store.load(self.ctx.user)
        if state is None:
            return self.start(turn)
        command = COMMANDS.get(plain(turn.text or ""))
        if command:  # 取消, 人工 … mean the same after a pause
            return command(self, state)
        if state.step != "resume" and state.is_idle(self.idle_seconds):
            return self._pause(state, turn)
        if turn.media_id and state.step != "photos":
            return self._photo_aside(state, turn.media_id)
        handler = CONTROL_STATES.get(state.step)
        if handler:
            return handler(self, state, turn)
        return self._answer(state, STEPS_BY_NAME[state.step], turn)

    def start(self, turn: Turn) -> str:
        if turn.media_id:
            state = DialogState(step="description", slots={"photos": [turn.media_id]})
            self.store.save(self.ctx.user, state)
            return self.t("photo_first")
        if is_one_of(turn.text or "", GREETINGS):
            service = self.services.settings.service
            return self.t("welcome", service_name=service.name, duty_phone=service.duty_phone)
        if is_one_of(turn.text or "", THANKS):
            return self.t("you_are_welcome")
        command = COMMANDS.get(plain(turn.text or ""))
        if command is None and is_one_of(turn.text or "", DIALOG_ANSWERS):
            return self.t("no_dialog_open")  # the answer to a question no longer asked
        if command is not None:  # 人工, 帮助 … with no dialog open are not a complaint's first words
            if command is IntakeDialog.cancel:
                return self.t("nothing_to_cancel")
            return command(self, DialogState(step="description", slots={"photos": []}))
        state = DialogState(step="description", slots={"photos": []})
        lead = self._absorb_description(state, turn.text or "")
        return self._on_emergency_verdict(state, lead) or self._advance(state, lead)

    def _on_emergency_verdict(self, state: DialogState, lead: str | None = None) -> str | None:
        """Act on what the classifier said about danger: register at once, or
        ask when unsure — an emergency word is never silently dropped."""
        verdict = state.slots.pop("emergency_state", "no")
        if verdict == "yes":
            return self._emergency(state)
        if verdict == "unsure":
            state.step = "emergency_check"
            self.store.save(self.ctx.user, state)
            return self._join(lead, self.t("ask_emergency_check"))
        return None

    # -- slot steps -------------------------------------------------------
    def _answer(self, state: DialogState, step: Step, turn: Turn) -> str:
        placed = self._place_given_early(state, step, turn)
        if placed:
            return placed
        try:
            extra = step.accept(self, state, turn)
        except Invalid as wrong:
            return self._reask(state, self.t(wrong.reason))
        state.failures = 0
        urgent = self._on_emergency_verdict(state)
        if urgent:
            return urgent
        if step.needed(state.slots):  # still collecting: more photos may come
            self.store.save(self.ctx.user, state)
            return extra or self._prompt(state, step)
        state.history.append(step.name)
        return self._advance(state, extra)

    def _place_given_early(self, state: DialogState, step: Step, turn: Turn) -> str | None:
        """The place, typed where another question was asked ("5号楼301" for
        "since when?") while the place is still unknown: take it as the place
        and ask the question again."""
        if step.name in ("location", "description") or not turn.text or is_specific_place(state.slots.get("location")):
            return None
        found = self.services.classifier.classify(turn.text[:CLASSIFY_CHARS]).location
        if not is_specific_place(found) or meaningful_length(plain(turn.text).replace(plain(found), "", 1)) >= 2:
            return None
        self._accept_location(state, turn)
        self.store.save(self.ctx.user, state)
        return self._join(self.t("place_noted", location=state.slots["location"]),
                          self._advance(state) if not step.needed(state.slots) else self._prompt(state, step))

    def _advance(self, state: DialogState, lead: str | None = None) -> str:
        if state.editing:
            state.editing = False
            return self._confirm(state, lead)
        step = next((s for s in STEPS if s.needed(state.slots)), None)
        if step is None:
            return self._confirm(state, lead)
        state.step = step.name
        self.store.save(self.ctx.user, state)
        return self._join(lead, self._prompt(state, step))

    def _prompt(self, state: DialogState, step: Step) -> str:
        if step.name == "photos" and state.slots.get("photos"):
            return self.t("ask_more_photos", count=len(state.slots["photos"]))
        return self.t(step.prompt)

    def _reask(self, state: DialogState, reason: str) -> str:
        state.failures += 1
        self.store.save(self.ctx.user, state)
        offer = self.t("offer_person", phone=self.services.settings.service.phone) \
            if state.failures >= self.max_failures else None
        return self._join(reason, offer, self._current_prompt(state))

    def _current_prompt(self, state: DialogState) -> str:
        if state.step in STEPS_BY_NAME:
            return self._prompt(state, STEPS_BY_NAME[state.step])
        return {"confirm": lambda: self._summary(state),
                "edit_choice": lambda: self.t("ask_edit_choice"),
                "repeat_check": lambda: self.t("ask_repeat_again"),
                "emergency_check": lambda: self.t("ask_emergency_check"),
                "emergency_location": lambda: self.t("ask_location"),
                "resume": lambda: self.t("ask_resume", summary=self._brief(state))}[state.step]()

    def _absorb_description(self, state: DialogState, text: str) -> str | None:
        """Read a description: classify it, keep what it tells, return the
        sentence that acknowledges the person's feelings first."""
        slots = state.slots
        combined = " ".join(filter(None, [slots.get("description"), text.strip()]))
        found = self.services.classifier.classify(combined[:CLASSIFY_CHARS])
        rest = plain(text).replace(plain(found.location or ""), "", 1)
        if meaningful_length(rest) >= 2 and not is_one_of(text, GREETINGS):
            slots["description"] = combined
        slots.update(category=found.category, subcategory=found.subcategory,
                     wants_compensation=slots.get("wants_compensation", False) or found.wants_compensation,
                     emergency_state=found.emergency_state)
        place = found.location if found.location and len(found.location) <= MAX_PLACE_CHARS else None
        slots["location"] = slots.get("location") or place
        slots["since"] = slots.get("since") or find_since(text)
        mood = max(slots.get("mood", "calm"), found.mood, key=MOOD_RANK.get)
        lead = None if mood == slots.get("mood") else {"angry": "empathy_angry", "upset": "empathy_upset"}.get(mood)
        slots["mood"] = mood
        return self.t(lead) if lead else (self.t("intake_thanks") if slots.get("description") else None)

    def _accept_description(self, state: DialogState, turn: Turn) -> str | None:
        text = (turn.text or "").strip()
        if meaningful_length(text) < 2 or is_one_of(text, GREETINGS):
            raise Invalid("description_too_thin")
        before = state.slots.get("description")
        lead = self._absorb_description(state, text)
        if state.slots.get("description") == before:
            raise Invalid("description_too_thin")
        return lead if lead != self.t("intake_thanks") else None

    def _accept_location(self, state: DialogState, turn: Turn) -> None:
        found = self.services.classifier.classify(turn.text or "").location
        place = parse_location(turn.text or "", found)
        known = state.slots.get("location")  # "宿舍" + "5号楼301" -> "5号楼301宿舍"
        state.slots["location"] = place if not known or known in place else f"{place}{known}"

    def _accept_since(self, state: DialogState, turn: Turn) -> None:
        state.slots["since"] = parse_since(turn.text or "")

    def _accept_photos(self, state: DialogState, turn: Turn) -> str | None:
        if turn.media_id:
            state.slots.setdefault("photos", []).append(turn.media_id)
            return self.t("photo_received", count=len(state.slots["photos"]))
        if is_one_of(turn.text or "", DONE | SKIP):
            state.slots["photos_done"] = True
            return None
        raise Invalid("photos_invalid")

    def _accept_phone(self, state: DialogState, turn: Turn) -> None:
        text = turn.text or ""
        state.slots["phone"] = None if is_one_of(text, SKIP) else parse_phone(text)

    # -- confirmation and registration ------------------------------------
    def _confirm(self, state: DialogState, lead: str | None = None) -> str:
        state.step = "confirm"
        self.store.save(self.ctx.user, state)
        return self._join(lead, self._summary(state))

    def _summary(self, state: DialogState) -> str:
        slots = state.slots
        description = slots.get("description", "")
        if len(description) > SUMMARY_CHARS:  # the whole text is stored; the summary only reminds
            description = description[:SUMMARY_CHARS] + "…"
        return self.t("confirm_summary", description=description,
                      location=slots.get("location") or "未说明", since=slots.get("since") or "未说明",
                      photos=len(slots.get("photos", [])), phone=slots.get("phone") or "未留")

    def _on_confirm(self, state: DialogState, turn: Turn) -> str:
        text = turn.text or ""
        if plain(text) in {"修改", "改", "更改", "编辑"}:
            state.step = "edit_choice"
            self.store.save(self.ctx.user, state)
            return self.t("ask_edit_choice")
        if plain(text) in ANONYMOUS_WORDS:
            state.slots["anonymous"] = True
            return self._register(state)
        if is_one_of(text, YES):
            return self._register(state)
        return self._reask(state, self.t("confirm_invalid"))

    def _on_edit_choice(self, state: DialogState, turn: Turn) -> str:
        choice = plain(turn.text or "")
        step = next((s for i, s in enumerate(STEPS, 1) if choice in {str(i), plain(s.label)}), None)
        if step is None:
            return self._reask(state, self.t("edit_choice_invalid"))
        for key in EDIT_CLEARS[step.name]:
            state.slots.pop(key, None)
        state.editing, state.step, state.failures = True, step.name, 0
        self.store.save(self.ctx.user, state)
        return self._prompt(state, step)

    def _register(self, state: DialogState) -> str:
        intake = self._intake(state)
        repeat = None if state.slots.get("repeat_checked") else registration.find_repeat(
            self.ctx.session, self.services, intake)
        if repeat is not None:
            state.step = "repeat_check"
            state.slots["repeat_of"] = repeat.number
            self.store.save(self.ctx.user, state)
            return self.t("ask_repeat", number=repeat.number, description=repeat.description[:40])
        complaint = registration.register(self.ctx.session, self.services, intake)
        self.store.clear(self.ctx.user)
        return self._acknowledge(complaint, intake)

    def _on_repeat_check(self, state: DialogState, turn: Turn) -> str:
        text = turn.text or ""
        if is_one_of(text, YES):
            existing = complaints.find_by_number(self.ctx.session, state.slots["repeat_of"])
            registration.add_to_existing(self.ctx.session, existing, self._intake(state))
            self.store.clear(self.ctx.user)
            return self.t("repeat_merged", number=existing.number)
        if is_one_of(text, NO):
            state.slots["repeat_checked"] = True
            return self._register(state)
        return self._reask(state, self.t("yes_no_invalid"))

    def _intake(self, state: DialogState) -> Intake:
        slots = state.slots
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

    # -- emergencies ------------------------------------------------------
    def _emergency(self, state: DialogState) -> str:
        """Action first: register now, alert people now, advise the user now;
        only then ask for anything still missing."""
        state.slots["emergency"] = True
        complaint = registration.register(self.ctx.session, self.services, self._intake(state))
        service = self.services.settings.service
        advice = self._join(safety_advice(self.ctx.text, complaint.description),
                            self.t("emergency_registered", number=complaint.number, duty_phone=service.duty_phone))
        if complaint.location:
            self._follow_up_goes_to(complaint)
            return self._join(advice, self.t("emergency_photos"))
        state.step, state.complaint_id = "emergency_location", complaint.id
        self.store.save(self.ctx.user, state)
        return self._join(advice, self.t("ask_emergency_location"))

    def _follow_up_goes_to(self, complaint) -> None:
        """Right after an emergency, what the person sends next (photos, more
        detail) belongs to it."""
        self.store.clear(self.ctx.user)
        self.store.set_supplement_target(self.ctx.user, complaint.number)

    def _on_emergency_check(self, state: DialogState, turn: Turn) -> str:
        text = turn.text or ""
        if is_one_of(text, YES):
            return self._emergency(state)
        if is_one_of(text, NO):
            return self._advance(state, self.t("emergency_check_no"))
        return self._reask(state, self.t("yes_no_invalid"))

    def _on_emergency_location(self, state: DialogState, turn: Turn) -> str:
        try:
            self._accept_location(state, turn)
        except Invalid as wrong:
            return self._reask(state, self.t(wrong.reason))
        complaint = self.ctx.session.get(complaints.Complaint, state.complaint_id)
        complaint.location = state.slots["location"]
        complaints.record_event(self.ctx.session, complaint, self.ctx.user, "location_added", comment=complaint.location)
        registration.alert_emergency(self.ctx.session, self.services, complaint, update=f"位置：{complaint.location}")
        self._follow_up_goes_to(complaint)
        return self._join(self.t("emergency_location_sent", location=complaint.location), self.t("emergency_photos"))

    # -- idle dialogs -----------------------------------------------------
    def _pause(self, state: DialogState, turn: Turn) -> str:
        state.paused_step, state.step = state.step, "resume"
        state.slots["pending_text"] = turn.text
        self.store.save(self.ctx.user, state)
        return self.t("ask_resume", summary=self._brief(state))

    def _on_resume(self, state: DialogState, turn: Turn) -> str:
        text = plain(turn.text or "")
        pending = state.slots.pop("pending_text", None)
        if text in {"继续", "接着", "继续填写"} or is_one_of(text, YES):
            state.step, state.paused_step = state.paused_step, None
            self.store.save(self.ctx.user, state)
            return self._join(self.t("resumed"), self._current_prompt(state))
        if text in {"不", "不用", "不用了", "新的", "重新登记"} or is_one_of(text, NO):
            self.store.clear(self.ctx.user)
            substantive = pending and meaningful_length(pending) >= 4
            return self.start(Turn(text=pending)) if substantive else self.t("restarted")
        state.slots["pending_text"] = pending
        return self._reask(state, self.t("resume_invalid"))

    def _brief(self, state: DialogState) -> str:
        slots = state.slots
        return "，".join(filter(None, [slots.get("location"), (slots.get("description") or "")[:30]])) or "尚未描述"

    # -- photos at any step -----------------------------------------------
    def _photo_aside(self, state: DialogState, media_id: str) -> str:
        if state.complaint_id:  # an emergency already registered: photos go straight to it
            complaint = self.ctx.session.get(complaints.Complaint, state.complaint_id)
            complaints.attach_media(self.ctx.session, complaint, kind="image", media_id=media_id, actor=self.ctx.user)
        else:
            state.slots.setdefault("photos", []).append(media_id)
        self.store.save(self.ctx.user, state)
        return self._join(self.t("photo_received_aside"), self._current_prompt(state))

    # -- commands at every step -------------------------------------------
    def cancel(self, state: DialogState) -> str:
        self.store.clear(self.ctx.user)
        return self.t("cancelled_after_emergency" if state.complaint_id else "cancelled")

    def restart(self, state: DialogState) -> str:
        self.store.save(self.ctx.user, DialogState(step="description", slots={"photos": []}))
        return self.t("restarted")

    def back(self, state: DialogState) -> str:
        previous = state.history.pop() if state.history else None
        if previous is None:
            return self._join(self.t("no_previous_step"), self._current_prompt(state))
        for key in EDIT_CLEARS[previous]:
            state.slots.pop(key, None)
        state.step, state.failures, state.editing = previous, 0, False
        self.store.save(self.ctx.user, state)
        return self._prompt(state, STEPS_BY_NAME[previous])

    def help(self, state: DialogState) -> str:
        return self._join(self.t("dialog_help"), self._current_prompt(state))

    def human(self, state: DialogState) -> str:
        service = self.services.settings.service
        note = self.t("human_alert", user=self.ctx.user, summary=self._brief(state))
        for person in self.services.settings.directory.customer_service:
            outbox.push_text(self.ctx.session, person, note)
        self.store.save(self.ctx.user, state)
        return self._join(self.t("human_requested", phone=service.phone), self._current_prompt(state))

    @staticmethod
    def _join(*parts: str | None) -> str:
        return "\n".join(part for part in parts if part)


STEPS = (
    Step("description", "问题描述", "ask_description", lambda s: not s.get("description"),
         IntakeDialog._accept_description),
    Step("location", "地点", "ask_location", lambda s: not is_specific_place(s.get("location")),
         IntakeDialog._accept_location),
    Step("since", "开始时间", "ask_since", lambda s: not s.get("since"), IntakeDialog._accept_since),
    Step("photos", "照片", "ask_photos", lambda s: not s.get("photos_done"), IntakeDialog._accept_photos),
    Step("phone", "联系电话", "ask_phone", lambda s: "phone" not in s, IntakeDialog._accept_phone),
)
STEPS_BY_NAME = {step.name: step for step in STEPS}
# What answering a step again (上一步, 修改) clears first.
EDIT_CLEARS = {"description": ["description"], "location": ["location"], "since": ["since"],
               "photos": ["photos", "photos_done"], "phone": ["phone"]}

CONTROL_STATES = {
    "confirm": IntakeDialog._on_confirm,
    "edit_choice": IntakeDialog._on_edit_choice,
    "repeat_check": IntakeDialog._on_repeat_check,
    "emergency_check": IntakeDialog._on_emergency_check,
    "emergency_location": IntakeDialog._on_emergency_location,
    "resume": IntakeDialog._on_resume,
}

COMMANDS = {
    "取消": IntakeDialog.cancel, "不投诉了": IntakeDialog.cancel,
    "重来": IntakeDialog.restart, "重新开始": IntakeDialog.restart,
    "上一步": IntakeDialog.back, "返回": IntakeDialog.back,
    "帮助": IntakeDialog.help, "help": IntakeDialog.help,
    "人工": IntakeDialog.human, "转人工": IntakeDialog.human, "人工客服": IntakeDialog.human,
}
