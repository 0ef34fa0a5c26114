"""How many messages a person needs to get a complaint number, and how many
of the stored details are right, by how complete the first message was.

    .venv/bin/python bench/dialog_turns.py [--file tests/data/conversations.yaml] [--list]

Runs the labelled conversations (their occupant's messages, as written)
against the real service (Flask app, dialog, storage; a local fake WeCom):
  complete  what and where in the first message (covers two_turns,
            phone_in_first_message, long_message, fee_no_place, attitude_no_place)
  partial   what or where missing (covers partial)
  vague     neither clear (covers vague, emoji)
Turns: messages sent up to the one answered with the number (photos and
location messages count). Slots: each detail the conversation labels
(place, start time, phone, category, description) checked on the stored
complaint.
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from sqlalchemy import select  # noqa: E402

from bot.complaints import NUMBER_PATTERN  # noqa: E402
from bot.demo import DemoStack  # noqa: E402
from bot.models import Complaint  # noqa: E402

DEFAULT_FILE = ROOT / "tests" / "data" / "conversations.yaml"
GROUPS = {
    "complete": {"two_turns", "phone_in_first_message", "long_message", "fee_no_place", "attitude_no_place"},
    "partial": {"partial"},
    "vague": {"vague", "emoji"},
}
GROUP_NAMES = {"complete": "一句说全", "partial": "缺一项", "vague": "说得含糊"}


def group_of(conversation: dict) -> str | None:
    return next((name for name, covers in GROUPS.items() if conversation.get("covers") in covers), None)


def play(stack: DemoStack, user: str, turns: list) -> tuple[int | None, list[Complaint]]:
    """Send the occupant's side; the turn that got the last new number, and the complaints."""
    sent, got_number, registered = 0, None, 0
    for turn in turns:
        if isinstance(turn, str):
            reply = stack.wecom.text(user, turn)
        elif isinstance(turn, dict) and "image" in turn:
            stack.fake.add_media(turn["image"], b"\xff\xd8bench", filename=f"{turn['image']}.jpg")
            reply = stack.wecom.image(user, turn["image"])
        elif isinstance(turn, dict) and "location" in turn:
            reply = stack.wecom.location(user, 39.9, 116.3, turn["location"])
        else:
            continue  # checks and waits are the test suite's business
        sent += 1
        now = len(complaints_of(stack, user))
        if now > registered and NUMBER_PATTERN.search(reply.text or ""):
            got_number, registered = sent, now
    return got_number, complaints_of(stack, user)


def complaints_of(stack: DemoStack, user: str) -> list[Complaint]:
    with stack.services.db.session() as session:
        rows = list(session.execute(select(Complaint).where(Complaint.occupant_id == user)
                                    .order_by(Complaint.id)).scalars())
        session.expunge_all()
        return rows


def slot_checks(complaint: Complaint, want: dict) -> list[tuple[str, bool]]:
    checks = [("place", all(p in (complaint.location or "") for p in want.get("location_has", [])))
              if "location_has" in want else None,
              ("since", all(p in (complaint.since or "") for p in want["since_has"])) if "since_has" in want else None,
              ("phone", complaint.contact_phone == (str(want["phone"]) if want["phone"] else None))
              if "phone" in want else None,
              ("category", complaint.category == want["category"]) if "category" in want else None,
              ("description", all(p in complaint.description for p in want["description_has"]))
              if "description_has" in want else None]
    return [c for c in checks if c]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--list", action="store_true", help="show every conversation's turns and wrong slots")
    args = parser.parse_args()
    conversations = [c for c in yaml.safe_load(args.file.read_text(encoding="utf-8"))
                     if group_of(c) and (c.get("outcome") or {}).get("complaints", 1) > 0]  # some want none
    workdir = Path(tempfile.mkdtemp(prefix="bench-dialog-turns-"))
    stack = DemoStack(workdir)
    results = {name: {"turns": [], "unregistered": 0, "slots": [], "count": 0} for name in GROUPS}
    try:
        for index, conversation in enumerate(conversations):
            group = results[group_of(conversation)]
            group["count"] += 1
            turns, complaints = play(stack, f"bench.turns.{index}", conversation["turns"])
            want = (conversation.get("outcome") or {}).get("complaint") or {}
            checks = slot_checks(complaints[0], want) if complaints else [(slot, False) for slot in want]
            group["turns"].append(turns) if turns else None
            group["unregistered"] += turns is None
            group["slots"] += [ok for _, ok in checks]
            if args.list:
                wrong = [slot for slot, ok in checks if not ok]
                print(f"  [{group_of(conversation)}] {conversation['name']}：{turns or '未登记'} 条"
                      + (f"，错：{'、'.join(wrong)}" if wrong else ""))
    finally:
        stack.close()
        shutil.rmtree(workdir, ignore_errors=True)
    report(args.file.name, results)
    return 0


def report(name: str, results: dict) -> None:
    print(f"{name}：到拿到投诉编号为止的消息数，以及登记内容的正确率")
    print(f"{'首条消息':<8}{'对话数':>6}{'平均条数':>9}{'最多':>6}{'未登记':>7}{'内容正确':>10}")
    for key, group in results.items():
        turns, slots = group["turns"], group["slots"]
        mean = f"{statistics.mean(turns):.2f}" if turns else "—"
        most = max(turns) if turns else "—"
        right = f"{sum(slots) / len(slots):.1%}（{sum(slots)}/{len(slots)}）" if slots else "—"
        print(f"{GROUP_NAMES[key]:<8}{group['count']:>6}{mean:>9}{most!s:>6}{group['unregistered']:>7}  {right}")


if __name__ == "__main__":
    raise SystemExit(main())
