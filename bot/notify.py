"""Who is told what, after a complaint is registered and after each action:
the department gets its task card, the leader the solution to approve, the
occupant what matters to them — all through the outbox."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from bot import cards, complaints, deadlines, outbox
from bot.directory import Directory
from bot.models import Complaint
from bot.services import Services


@dataclass
class Notice:
    """Everything `after` needs about one action."""
    session: Session
    services: Services
    directory: Directory
    complaint: Complaint
    actor: str
    text: str | None = None
    clicker: str | None = None
    click_code: str | None = None

    def t(self, key: str, **values) -> str:
        return self.services.texts(key, **values)

    @property
    def actor_name(self) -> str:
        return self.directory.name_of(self.actor)

    def tell_occupant(self, key: str, **values) -> None:
        outbox.push_text(self.session, self.complaint.occupant_id,
                         self.t(key, number=self.complaint.number, **values))

    def tell_department(self, key: str, **values) -> None:
        """The assignee and the department leader (not the actor: they know)."""
        complaint = self.complaint
        people = [complaint.assignee, self.directory.leader_of(complaint.department)]
        for person in dict.fromkeys(p for p in people if p and p != self.actor):
            outbox.push_text(self.session, person, self.t(key, number=complaint.number, **values))


def announce(session: Session, services: Services, complaint: Complaint) -> None:
    """A new (or transferred) complaint reaches its department as a task card."""
    directory = services.directory()
    reporter = "匿名" if complaint.anonymous else directory.name_of(complaint.occupant_id)
    limit = (f"{deadlines.due_text(session, services, complaint, 'accept')} 前受理，"
             f"{deadlines.due_text(session, services, complaint, 'complete')} 前完成")
    card = cards.new_complaint_card(complaint, reporter, complaints.reporters_count(session, complaint), limit,
                                    photos=len(complaint.attachments))
    on_duty = directory.on_duty(services.local_now())
    cards.send(session, cards.card_recipients(directory, complaint, on_duty), card)


def withdrawn(session: Session, services: Services, complaint: Complaint) -> None:
    """The occupant withdrew it: the cards close, whoever took it on is told."""
    cards.settle(session, complaint, "new", "投诉人已撤销")
    directory = services.directory()
    notice = Notice(session, services, directory, complaint, actor=complaint.occupant_id)
    notice.tell_department("staff_withdrawn")


def after(notice: Notice, action: str) -> None:
    AFTER[action](notice)


def _accepted(n: Notice) -> None:
    cards.settle(n.session, n.complaint, "new", f"已由 {n.actor_name} 受理", n.clicker, n.click_code)
    n.tell_occupant("occupant_accepted", department=n.complaint.department)


def _invalid(n: Notice) -> None:
    cards.settle(n.session, n.complaint, "new", f"{n.actor_name} 判定不成立", n.clicker, n.click_code)
    n.tell_occupant("occupant_invalid", reason=n.text, phone=n.services.settings.service.phone)


def _transferred(n: Notice) -> None:
    cards.settle(n.session, n.complaint, "new", f"已由 {n.actor_name} 转派至{n.complaint.department}",
                 n.clicker, n.click_code)
    announce(n.session, n.services, n.complaint)
    n.tell_occupant("occupant_transferred", department=n.complaint.department)


def _solution_proposed(n: Notice) -> None:
    card = cards.approval_card(n.complaint, n.actor_name)
    cards.send(n.session, n.directory.approvers_for(n.complaint.department), card)


def _approved(n: Notice) -> None:
    cards.settle(n.session, n.complaint, "plan", f"已由 {n.actor_name} 同意", n.clicker, n.click_code)
    n.tell_department("staff_plan_approved", by=n.actor_name, comment=n.text or "无")
    n.tell_occupant("occupant_plan", solution=n.complaint.solution,
                    due=deadlines.due_text(n.session, n.services, n.complaint, "complete"))


def _rejected(n: Notice) -> None:
    cards.settle(n.session, n.complaint, "plan", f"已由 {n.actor_name} 驳回", n.clicker, n.click_code)
    n.tell_department("staff_plan_rejected", by=n.actor_name, comment=n.text)


def _waiting(n: Notice) -> None:
    n.tell_occupant("occupant_waiting", reason=n.text)


def _completed(n: Notice) -> None:
    n.tell_occupant("occupant_done", resolution=n.text)


def _nothing(n: Notice) -> None:
    """Internal steps (the cause) concern the staff only."""


AFTER = {
    "accept": _accepted,
    "invalid": _invalid,
    "transfer": _transferred,
    "cause": _nothing,
    "solution": _solution_proposed,
    "approve": _approved,
    "reject": _rejected,
    "wait": _waiting,
    "resume": _nothing,
    "complete": _completed,
}
