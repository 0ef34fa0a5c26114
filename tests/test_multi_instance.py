"""Several real `complaint-bot` processes sharing Redis and the database
(fault scenarios 5 and 6): two `serve` processes taking turns on one user's
dialog, and the same user's callbacks hitting both at once; two `scheduler`
processes running at the same time over due reminders and escalations.
Machinery in tests/fault_support.py; the invariants as in tests/test_faults.py."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot import registration
from bot.models import Complaint, Deadline, utcnow
from bot.registration import Intake
from bot.user_queue import UserQueue
from tests.fault_support import (REGISTERED, Talk, assert_invariants, complaints_of, deliver_all, deployment,
                                 message_log, outbox_rows, processes, send_in_background, sender_for, sent_counter,
                                 wait_until)
from tests.helpers import NUMBER, answer_for

assert deployment and processes  # fixtures


# == 5. Two serve processes ===================================================================================
def test_two_serve_processes_share_one_users_dialog_and_keep_it_in_order(deployment, processes, fake_wecom,
                                                                         redis_client, key_prefix):
    """One user's dialog alternates between two `serve` processes message by
    message and completes with one complaint, every message logged in order.
    Then another user's whole dialog arrives at once, callbacks alternating
    between the two processes while an earlier message is still being handled:
    each waits its turn in the per-user queue in Redis and the dialog is
    answered exactly as if sent one by one."""
    services = deployment(**{"callback.user_lock_wait_seconds": 30})
    first, second = processes.serve("serve-a"), processes.serve("serve-b")
    first.wait_ready()
    second.wait_ready()
    talk = Talk()

    # One message to one process, the next to the other.
    web = [sender_for(first.url, fake_wecom), sender_for(second.url, fake_wecom)]
    user, turn = "zhang.san", 0
    reply = talk.ok(web[0], user, "7号楼101门锁坏了")
    sent = ["7号楼101门锁坏了"]
    while REGISTERED not in reply:
        answer = "确认" if "请您核对" in reply else answer_for(reply)
        assert answer and turn < 10, f"unexpected prompt: {reply!r}"
        turn += 1
        reply = talk.ok(web[turn % 2], user, answer)
        sent.append(answer)
    [complaint] = complaints_of(services, user)
    assert complaint.number == NUMBER.search(reply).group()
    assert complaint.description == "7号楼101门锁坏了" and complaint.location == "7号楼101"
    logged = message_log(services, user)
    assert [row.content for row in logged] == sent and all(row.status == "handled" for row in logged)

    # A whole dialog at once, alternating between the processes, queued behind an earlier message.
    user = "li.si"
    turns = ["宿舍的灯坏了", "3号楼201", "昨天开始", "没有照片", "电话13812345678", "确认"]
    cues = ["什么地方", "请您核对", "开始时间：昨天", "好的", "13812345678", REGISTERED]
    queue = UserQueue(redis_client, key_prefix, wait_seconds=30, hold_seconds=30)
    key = f"{key_prefix}userq:{user}"
    flights, ids = [], [talk.new_id() for _ in turns]
    with queue.turn(user):  # an earlier message of this user is still being handled
        for index, content in enumerate(turns):
            sender = sender_for((first, second)[index % 2].url, fake_wecom)
            flights.append(send_in_background(
                lambda sender=sender, content=content, msg_id=ids[index]: sender.text(user, content, msg_id=msg_id)))
            wait_until(lambda: redis_client.llen(key) == index + 2, what=f"callback {index} to join the queue")
    replies = []
    for flight, msg_id, content in zip(flights, ids, turns):
        reply, error = flight.join()
        assert error is None and reply.status_code == 200, (content, reply, error)
        talk.acknowledged[msg_id] = content
        replies.append(reply.text)
    for reply, cue in zip(replies, cues):
        assert cue in reply, (cue, replies)
    logged = message_log(services, user)
    assert [row.content for row in logged] == turns
    assert [row.reply for row in logged] == replies
    assert [row.handled_at for row in logged] == sorted(row.handled_at for row in logged)
    [complaint] = complaints_of(services, user)
    assert complaint.number in replies[-1] and complaint.location.startswith("3号楼201")
    assert_invariants(services, talk, fake_wecom)


# == 6. Two scheduler processes =================================================================================
def register(services, occupant: str, description: str, category: str, location: str, emergency: bool = False):
    with services.db.session() as session:
        intake = Intake(occupant_id=occupant, description=description, category=category, location=location,
                        emergency=emergency)
        return registration.register(session, services, intake).number


def ticks(process) -> int:
    return process.log().count("executed successfully")


def test_two_scheduler_processes_queue_each_reminder_and_escalation_once(deployment, processes, fake_wecom):
    """Two `complaint-bot scheduler` processes tick every 0.3 s over the same
    database while an ordinary complaint's accept deadline is 2.5 h overdue
    (escalated to the department leader and then the supervisors) with its
    solution deadline near (a reminder to the department), and an emergency
    is past its accept deadline (escalation and a re-push to the person on
    duty). Each notice is queued once and delivered once."""
    services = deployment(**{"scheduler.tick_seconds": 0.3, "time_limits.quiet_hours": None})
    ordinary = register(services, "zhang.san", "3号楼201的空调不制冷", "设备设施", "3号楼201")
    emergency = register(services, "li.si", "3号楼电梯困人", "突发事件", "3号楼", emergency=True)
    deliver_all(services)  # the registration's own notices
    before = sent_counter(fake_wecom)

    schedulers = [processes.scheduler("scheduler-1"), processes.scheduler("scheduler-2")]
    for scheduler in schedulers:
        scheduler.wait_log("executed successfully")

    # Both are running: now the deadlines fall due.
    now = utcnow()
    with services.db.session() as session:
        rows = session.execute(select(Deadline, Complaint.number).join(Complaint)).all()
        for deadline, number in rows:
            if (number, deadline.stage) == (ordinary, "accept"):
                deadline.warn_at, deadline.due_at = now - timedelta(hours=3), now - timedelta(minutes=150)
            elif (number, deadline.stage) == (ordinary, "solution"):
                deadline.warn_at, deadline.due_at = now - timedelta(minutes=1), now + timedelta(hours=1)
            elif (number, deadline.stage) == (emergency, "accept"):
                deadline.warn_at, deadline.due_at = now - timedelta(minutes=2), now - timedelta(minutes=1)
            deadline.next_check_at = now  # moved by hand: the scan must look again
    seen = [ticks(scheduler) for scheduler in schedulers]
    for scheduler, count in zip(schedulers, seen):
        scheduler.wait_log("executed successfully", count=count + 4)
    for scheduler in schedulers:
        scheduler.stop()

    deliver_all(services)
    notices = {key: n for key, n in (sent_counter(fake_wecom) - before).items()
               if key[1] == "text" and key[2].startswith("【")}
    assert notices and all(n == 1 for n in notices.values()), notices
    expected = {("wang.zhuren", ordinary, "【超时·第 1 级】"), ("lin.lingdao", ordinary, "【超时·第 2 级】"),
                ("li.shifu", ordinary, "【时限提醒】"), ("zheng.kezhang", emergency, "【超时·第 1 级】"),
                ("wu.baoan", emergency, "【紧急·仍无人受理】")}
    got = {(recipient, number, content.split("】")[0] + "】")
           for recipient, _, content in notices for number in (ordinary, emergency) if number in content}
    assert got == expected
    keyed = [row.dedup_key for row in outbox_rows(services) if row.dedup_key and row.dedup_key.startswith("dl")]
    assert len(keyed) == len(set(keyed)) == len(notices)
    for scheduler in schedulers:
        assert "Traceback" not in scheduler.log(), scheduler.tail()
