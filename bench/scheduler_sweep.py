"""The scheduler's sweep (bot.scheduler.tick: DeadlineScan, SurveyRound, the
weekly-report check) on PostgreSQL with 100,000 open complaints.

    .venv/bin/python bench/scheduler_sweep.py [--open 100000] [--closed 100000] [--due-share 0.01]
        [--backlog-share 0.01] [--repeat 3] [--lock-guard N] [--json out.json]
        [--database-url postgresql://postgres@127.0.0.1:5432/test] [--redis-url redis://127.0.0.1:6379/0]

A run at 100k takes about five minutes on two cores, most of it seeding and
the two sweeps that look at every open deadline (the catch-up and (d)).

What it does
- Creates a uniquely named database on the server of --database-url,
  migrates it to head and seeds it with COPY: open complaints in every open
  status with their deadline rows, completed ones with a scheduled or sent
  follow-up visit, and a history of closed complaints. The database is
  dropped on exit and the Redis keys under the run's prefix deleted.
- deadlines.next_check_at is seeded as migration 0005 backfills it: the
  deadline's started_at for every open deadline that is not paused,
  NULL for the others. The scan itself then sets the realistic value: the
  catch-up sweep (below) looks at every open deadline once and moves its
  next_check_at to the next moment something is due, exactly as it does in
  production after the upgrade or after a long outage.
- The clock is the `now` handed to tick(): T0 = Wednesday 2026-11-25 10:00
  Beijing time (a working day, outside quiet hours), STEADY = T0 + 5 s,
  T1 = T0 + 60 s. Seeded times are wall-clock approximations of the
  configured limits; the clock column (working / continuous) is the
  product's, so progress notes follow the real working calendar. Per open
  complaint the earliest open limit is either in the future (most), already
  past at T0 (the backlog, --backlog-share; notified by the catch-up sweep),
  or crossed between T0 + 10 s and T1 (the due batch, --due-share): a
  warning, an escalation level, or a visit to send or remind. Progress
  notes fall due where the working calendar puts them, so a few may come
  due in any window.
- Sweeps, in order: the catch-up sweep at T0 (reported on its own: a one-off
  cost); (a) the steady state at STEADY, when nothing new is due (median of
  --repeat); (b) the sweep at T1 with the due batch, and how many outbox rows
  it queued, by kind; (c) the same sweep again right away: exactly-once means
  it queues nothing; (d) the upgrade case: next_check_at reset to started_at
  for every open deadline (what migration 0005 does on a live system) while
  the outbox already holds every notice sent so far, then one sweep at T1:
  it looks at every open deadline again, and each notice it derives anew is
  refused by its dedup key in a failed subtransaction.
- Each sweep is timed whole and step by step (thin wrappers around
  DeadlineScan.run and SurveyRound's three steps), with its SQL statements
  counted, the time spent waiting on the database, the deadline rows due
  before and still due after it (after a sweep none may be), the outbox
  inserts refused as duplicates, the peak of transaction-id locks held in
  its database (PostgreSQL keeps one per failed subtransaction, i.e. per
  refused duplicate, until the sweep's transaction ends; the lock table is
  shared by the whole server, about max_locks_per_transaction ×
  max_connections entries; --lock-guard ends a sweep before it fills it) and
  the growth of the outbox table on disk.
- After the catch-up sweep, ANALYZE deadlines (what autovacuum would do
  soon after the catch-up rewrote every open row; the EXPLAIN of the scan
  before it is reported too). EXPLAIN (ANALYZE, BUFFERS) of DeadlineScan's
  query at T1 before (b) and of every distinct SELECT the sweeps (a)-(c)
  sent, reporting the indexes used, sequential scans and scans that read
  far more rows than they return.

Baselines (same database, after the catch-up sweep, median of --repeat-baseline):
- "一次遍历" `SELECT count(*) FROM deadlines WHERE status = 'open'`: one pass
  over all open deadlines inside the database, no rows shipped to Python:
  what a sweep that looked at every open complaint would cost at least.
- "到期查询" the sweep's own due-row predicates (deadlines with
  next_check_at <= now, visits to send, remind or close) as raw SQL
  returning ids: the least work any sweep must do to *find* its due work;
  measured at STEADY (nothing due) for (a) and (c), and at T1 (the batch
  due) for (b).
Times are machine-dependent and noisy on a shared machine; compare ratios.
"""
from __future__ import annotations

import argparse
import functools
import logging
import random
import re
import resource
import sys
import threading
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench_common import (DIRECTORY, ROUTING, TempDatabases, add_server_options,  # noqa: E402
                           bench_config, delete_redis_keys, environment_note, exit_cleanly_on_sigterm,
                           median_seconds, print_table, ratio, timed, unique_name, write_json)

from sqlalchemy import bindparam, create_engine, event, text  # noqa: E402

from bot import complaints as c  # noqa: E402
from bot.config import Settings, TimeLimitSettings  # noqa: E402
from bot.db import Database  # noqa: E402
from bot.deadlines import DeadlineScan  # noqa: E402
from bot import scheduler as scheduler_module  # noqa: E402
from bot.scheduler import tick  # noqa: E402
from bot.services import Services, build_services  # noqa: E402
from bot.survey import SurveyRound  # noqa: E402

T0 = datetime(2026, 11, 25, 2, 0, tzinfo=timezone.utc)  # Wednesday 10:00 in Asia/Shanghai
STEADY = T0 + timedelta(seconds=5)  # the steady-state sweeps: nothing of the seeded batch is due yet
BATCH = (timedelta(seconds=10), timedelta(seconds=59))  # the due batch crosses its limit in T0 + (10 s, 59 s)
T1 = T0 + timedelta(seconds=60)
H = timedelta(hours=1)
REPUSH = timedelta(minutes=5)  # time_limits.emergency_repush_minutes (default)

# Wall-clock approximations of the default profiles (working hours stretch over the day).
LIMITS = {
    "emergency": {"clock": "continuous", "accept": H / 6, "solution": 2 * H, "complete": 24 * H, "follow_up": 48 * H},
    "ordinary": {"clock": "working", "accept": 3 * H, "solution": 6 * H, "complete": 24 * H, "follow_up": 72 * H},
    "complex": {"clock": "working", "accept": 3 * H, "solution": 72 * H, "complete": 168 * H, "follow_up": 72 * H},
}
# Categories on the complex profile (progress notes every working day), as configured by default.
COMPLEX = {category for category, profile in TimeLimitSettings().categories.items() if profile == "complex"}
CATEGORIES = (("设备设施", 30), ("房屋质量", 25), ("物业配套", 15), ("管理服务", 18), ("管理费用", 10), ("突发事件", 2))
TEXTS = {"设备设施": "空调不制冷，开了一晚上还是热", "房屋质量": "卫生间顶上漏水，滴到床上了",
         "物业配套": "楼道灯坏了一个星期没人修", "管理服务": "维修师傅态度很差，约好的时间没来",
         "管理费用": "水费比上个月多了一倍，怀疑水表有问题", "突发事件": "电梯困人，里面有两个人"}
# Open statuses and their share; the open stages follow bot/deadlines.py on_action.
STATUSES = ((c.PENDING, 10), (c.ACCEPTED, 14), (c.CAUSE_FOUND, 8), (c.SOLUTION_PENDING, 5),
            (c.SOLUTION_REJECTED, 2), (c.IN_PROGRESS, 30), (c.WAITING, 5), (c.REOPENED, 3), (c.RESOLVED, 13),
            (c.FOLLOW_UP, 10))
OPEN_STAGES = {c.PENDING: ("accept", "solution", "complete"), c.REOPENED: ("accept", "solution", "complete"),
               c.ACCEPTED: ("solution", "complete"), c.CAUSE_FOUND: ("solution", "complete"),
               c.SOLUTION_PENDING: ("complete",), c.SOLUTION_REJECTED: ("complete",),
               c.IN_PROGRESS: ("complete",), c.WAITING: ("complete",)}
STAGES = ("accept", "solution", "complete")

COMPLAINT_COLUMNS = ("id", "number", "occupant_id", "description", "status", "category", "location", "emergency",
                     "wants_compensation", "department", "anonymous", "reporter_recent_count", "assignee",
                     "accepted_at", "resolved_at", "closed_at", "created_at", "updated_at")
DEADLINE_COLUMNS = ("id", "complaint_id", "stage", "clock", "started_at", "warn_at", "due_at", "status", "met_at",
                    "paused_at", "next_check_at")
SURVEY_COLUMNS = ("id", "complaint_id", "occupant_id", "status", "send_at", "sent_at", "reminded_at",
                  "answered_at", "closed_at", "solved", "score")
KINDS = ((r"^dl\d+:warn:", "时限提醒"), (r"^dl\d+:esc\d+:", "超时督办"), (r"^dl\d+:repush\d+:", "紧急重推"),
         (r"^progress:", "进度通知"), (r"^survey\d+:(ask|card)$", "回访"), (r"^survey\d+:remind$", "回访提醒"),
         (r"^weekly:", "周报"))


def batch_offset(rng: random.Random) -> timedelta:
    """When after T0 a complaint of the due batch crosses its limit."""
    low, high = (bound.total_seconds() for bound in BATCH)
    return timedelta(seconds=rng.uniform(low, high))


# -- seeding ----------------------------------------------------------------------
@dataclass
class Rows:
    complaints: list = field(default_factory=list)
    deadlines: list = field(default_factory=list)
    surveys: list = field(default_factory=list)
    classes: Counter = field(default_factory=Counter)

    def deadline(self, *values) -> None:
        self.deadlines.append((len(self.deadlines) + 1, *values))

    def survey(self, *values) -> None:
        self.surveys.append((len(self.surveys) + 1, *values))


def naive(moment: datetime) -> datetime:
    """Stored form of bot.models.UTCDateTime: naive UTC."""
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def weighted(rng: random.Random, pairs) -> str:
    return rng.choices([name for name, _ in pairs], [weight for _, weight in pairs])[0]


def complaint_row(rng: random.Random, cid: int, status: str, category: str, created: datetime, **times) -> tuple:
    department = ROUTING["by_category"].get(category, ROUTING["default"])
    members = next(d["members"] for d in DIRECTORY["departments"] if d["name"] == department)
    assignee = None if status in (c.PENDING, c.REOPENED) else rng.choice(members)
    local = created + timedelta(hours=8)
    return (cid, f"TS{local:%Y%m%d}-{cid:06d}", f"occ{rng.randrange(40_000)}", TEXTS[category], status, category,
            f"{rng.randrange(1, 40)}号楼{rng.randrange(1, 7)}{rng.randrange(1, 30):02d}", category == "突发事件",
            rng.random() < 0.03, department, rng.random() < 0.05, rng.randrange(3), assignee,
            naive(times["accepted"]) if times.get("accepted") else None,
            naive(times["resolved"]) if times.get("resolved") else None,
            naive(times["closed"]) if times.get("closed") else None, naive(created), naive(T0))


def limits_for(category: str) -> dict:
    return LIMITS["emergency" if category == "突发事件" else "complex" if category in COMPLEX else "ordinary"]


def elapsed_for(rng: random.Random, klass: str, first: timedelta, emergency_accept: bool) -> timedelta:
    """How long ago the clocks started, so that the earliest open limit
    (`first` long) is in the future, already past, or crossed in (T0, T1]."""
    if klass == "future":
        return first * rng.uniform(0.02, 0.7)
    if klass == "backlog":
        if emergency_accept:  # stay inside one re-push round between T0 and T1
            return first + REPUSH * rng.randrange(0, 12) + timedelta(seconds=rng.uniform(0, 200))
        return first * rng.uniform(0.85, 3.0)
    crossing = rng.choices((0.8 * first, first, first + 2 * H), (60, 30, 10))[0]  # warning, level 1, level 2
    return crossing - batch_offset(rng)


def open_complaint(rows: Rows, rng: random.Random, cid: int, status: str, category: str, klass: str) -> None:
    profile = limits_for(category)
    stages = OPEN_STAGES[status]
    if status == c.WAITING:
        klass = "future"  # a paused clock is never due
    started = T0 - elapsed_for(rng, klass, profile[stages[0]], category == "突发事件" and stages[0] == "accept")
    created = started - (rng.uniform(24, 200) * H if status == c.REOPENED else timedelta())
    accepted = None if status in (c.PENDING, c.REOPENED) else started + (T0 - started) * rng.uniform(0, 0.3)
    rows.complaints.append(complaint_row(rng, cid, status, category, created, accepted=accepted))
    for stage in STAGES:
        limit = profile[stage]
        is_open = stage in stages
        met = None if is_open else started + (T0 - started) * rng.uniform(0, 0.5)
        paused = started + (T0 - started) * 0.5 if status == c.WAITING else None
        rows.deadline(cid, stage, profile["clock"], naive(started), naive(started + 0.8 * limit),
                      naive(started + limit), "open" if is_open else "met", naive(met) if met else None,
                      naive(paused) if paused else None, naive(started) if is_open and not paused else None)
    rows.classes[klass] += 1


def visit_ago(rng: random.Random, klass: str, status: str) -> timedelta:
    """Resolved: how far in the future the visit is sent (negative: past).
    Awaiting a visit: how long ago it was sent."""
    if status == c.RESOLVED:
        return {"future": lambda: rng.uniform(2, 119) * timedelta(minutes=1),
                "backlog": lambda: -rng.uniform(1, 60) * timedelta(minutes=1),
                "batch": lambda: batch_offset(rng)}[klass]()
    boundary = 24 * H if rng.random() < 0.8 else 72 * H  # reminder or closing crosses
    return {"future": lambda: rng.uniform(0.1, 23) * H, "backlog": lambda: rng.uniform(24.1, 96) * H,
            "batch": lambda: boundary - batch_offset(rng)}[klass]()


def handled_complaint(rows: Rows, rng: random.Random, cid: int, status: str, category: str, klass: str) -> None:
    """Completed: a visit scheduled (已处理) or sent and awaiting an answer (待回访)."""
    profile = limits_for(category)
    offset = visit_ago(rng, klass, status)
    sent = None if status == c.RESOLVED else T0 - offset
    resolved = (T0 + offset - 2 * H) if status == c.RESOLVED else sent - 2 * H
    created = resolved - rng.uniform(3, 120) * H
    rows.complaints.append(complaint_row(rng, cid, status, category, created, accepted=created + H,
                                         resolved=resolved))
    add_met_stages(rows, cid, profile, created, resolved)
    follow_up = profile["follow_up"]
    rows.deadline(cid, "follow_up", profile["clock"], naive(resolved), naive(resolved + 0.8 * follow_up),
                  naive(resolved + follow_up), "open" if sent is None else "met",
                  naive(sent) if sent else None, None, naive(resolved) if sent is None else None)
    occupant = rows.complaints[-1][2]
    if sent is None:
        rows.survey(cid, occupant, "scheduled", naive(resolved + 2 * H), None, None, None, None, None, None)
    else:
        reminded = naive(sent + 24 * H) if klass != "future" and offset > 48 * H else None
        rows.survey(cid, occupant, "sent", naive(sent), naive(sent), reminded, None, None, None, None)
    rows.classes[klass] += 1


def add_met_stages(rows: Rows, cid: int, profile: dict, started: datetime, finished: datetime) -> None:
    for stage in STAGES:
        rows.deadline(cid, stage, profile["clock"], naive(started), naive(started + 0.8 * profile[stage]),
                      naive(started + profile[stage]), "met", naive(finished), None, None)


def closed_complaint(rows: Rows, rng: random.Random, cid: int, category: str) -> None:
    """History: closed after a visit, every limit met."""
    profile = limits_for(category)
    created = T0 - rng.uniform(3, 365) * 24 * H
    resolved = created + rng.uniform(1, 100) * H
    closed = resolved + rng.uniform(3, 60) * H
    rows.complaints.append(complaint_row(rng, cid, c.CLOSED, category, created, accepted=created + H,
                                         resolved=resolved, closed=closed))
    add_met_stages(rows, cid, profile, created, resolved)
    rows.deadline(cid, "follow_up", profile["clock"], naive(resolved), naive(resolved + 0.8 * profile["follow_up"]),
                  naive(resolved + profile["follow_up"]), "met", naive(closed), None, None)
    rows.survey(cid, rows.complaints[-1][2], "answered", naive(resolved + 2 * H), naive(resolved + 2 * H), None,
                naive(closed), naive(closed), True, rng.choice((3, 4, 4, 5, 5)))


def generate(n_open: int, n_closed: int, due_share: float, backlog_share: float, seed: int) -> Rows:
    rng = random.Random(seed)
    rows = Rows()
    for cid in range(1, n_closed + 1):
        closed_complaint(rows, rng, cid, weighted(rng, CATEGORIES))
    for cid in range(n_closed + 1, n_closed + n_open + 1):
        category, status = weighted(rng, CATEGORIES), weighted(rng, STATUSES)
        draw = rng.random()
        klass = "batch" if draw < due_share else "backlog" if draw < due_share + backlog_share else "future"
        make = handled_complaint if status in (c.RESOLVED, c.FOLLOW_UP) else open_complaint
        make(rows, rng, cid, status, category, klass)
    return rows


def copy_rows(engine, table: str, columns: tuple, rows: list) -> None:
    """COPY … FROM STDIN: PostgreSQL's bulk load, one round trip per batch."""
    raw = engine.raw_connection()
    try:
        with raw.driver_connection.cursor() as cursor:
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        raw.commit()
    finally:
        raw.close()


def seed_database(url: str, args) -> dict:
    """Migrate the database to head and fill it; returns timings."""
    database = Database(url)
    try:
        migrate_seconds, _ = timed(database.upgrade, "head")
        generate_seconds, rows = timed(generate, args.open, args.closed, args.due_share, args.backlog_share, args.seed)
        copy_seconds = sum(timed(copy_rows, database.engine, table, columns, data)[0] for table, columns, data in (
            ("complaints", COMPLAINT_COLUMNS, rows.complaints), ("deadlines", DEADLINE_COLUMNS, rows.deadlines),
            ("surveys", SURVEY_COLUMNS, rows.surveys)))
        vacuum_seconds, _ = timed(vacuum_analyze, database.engine)
    finally:
        database.dispose()
    open_deadlines = sum(1 for row in rows.deadlines if row[7] == "open")
    return {"complaints": len(rows.complaints), "deadlines": len(rows.deadlines), "open_deadlines": open_deadlines,
            "surveys": len(rows.surveys), "open_classes": dict(rows.classes), "migrate_seconds": migrate_seconds,
            "generate_seconds": generate_seconds, "copy_seconds": copy_seconds,
            "vacuum_analyze_seconds": vacuum_seconds}


def vacuum_analyze(engine) -> None:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for table in ("complaints", "deadlines", "surveys"):
            connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                    f"(SELECT coalesce(max(id), 1) FROM {table}))"))
        connection.execute(text("VACUUM ANALYZE"))


# -- measuring ----------------------------------------------------------------------
PARTS = (("due", "DeadlineScan.run 时限扫描"), ("survey_send", "SurveyRound._send_due 发回访"),
         ("survey_remind", "SurveyRound._remind 回访提醒"), ("survey_close", "SurveyRound._close_unanswered 关闭未回复"),
         ("weekly", "push_weekly_report 周报检查"), ("rest", "其余（提交事务、开关会话）"))
STEPS = ((DeadlineScan, "run", "due"), (SurveyRound, "_send_due", "survey_send"),
         (SurveyRound, "_remind", "survey_remind"), (SurveyRound, "_close_unanswered", "survey_close"),
         (scheduler_module, "push_weekly_report", "weekly"))


class SqlLog:
    """Every statement the product's engine sends during a sweep: how often,
    its first parameters (for EXPLAIN), and the time spent waiting for the
    database (network + server), per part of the sweep."""

    def __init__(self, engine):
        self.reset()
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)
        event.listen(engine, "handle_error", self._failed)

    def reset(self) -> None:
        self.counts: Counter = Counter()
        self.params: dict = {}
        self.part = "rest"
        self.statements: Counter = Counter()
        self.db_seconds: Counter = Counter()

    def _before(self, conn, _cursor, statement, parameters, _context, executemany):
        self.counts[statement] += 1
        self.statements[self.part] += 1
        if not executemany:
            self.params.setdefault(statement, parameters)
        conn.info["bench_started"] = (self.part, time.perf_counter())

    def _after(self, conn, *_args):
        self._stop(conn.info.pop("bench_started", None))

    def _failed(self, context):
        if context.connection is not None:
            self._stop(context.connection.info.pop("bench_started", None))

    def _stop(self, started) -> None:
        if started:
            part, moment = started
            self.db_seconds[part] += time.perf_counter() - moment


@contextmanager
def timed_parts(log: SqlLog):
    """Wrap the steps of tick() so that one sweep is also timed step by step.
    The wrappers only read the clock and name the current step for SqlLog;
    the originals are put back afterwards."""
    seconds: Counter = Counter()
    originals = [(owner, name, getattr(owner, name)) for owner, name, _ in STEPS]
    for owner, name, part in STEPS:
        setattr(owner, name, step_timer(getattr(owner, name), part, seconds, log))
    try:
        yield seconds
    finally:
        for owner, name, original in originals:
            setattr(owner, name, original)


def step_timer(func, part: str, seconds: Counter, log: SqlLog):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        outer, log.part = log.part, part
        started = time.perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            seconds[part] += time.perf_counter() - started
            log.part = outer
    return wrapper


def breakdown(seconds: Counter, log: SqlLog, total: float) -> dict:
    own = {part: seconds.get(part, 0.0) for part, _ in PARTS}
    own["rest"] = total - sum(seconds.values())
    return {part: {"seconds": own[part], "statements": log.statements[part], "db_seconds": log.db_seconds[part]}
            for part, _ in PARTS}


def label(sql: str) -> str:
    """A readable one-line form of a statement (select list elided)."""
    flat = " ".join(sql.split())
    flat = re.sub(r"^SELECT .*? FROM ", "SELECT … FROM ", flat)
    flat = re.sub(r"^INSERT INTO (\w+) \(.*", r"INSERT INTO \1 (…)", flat)
    return flat if len(flat) <= 120 else flat[:117] + "…"


def outbox_mark(probe) -> tuple[int, int]:
    """(highest outbox id, bytes of the outbox table with its indexes)."""
    with probe.connect() as connection:
        return tuple(connection.execute(text(
            "SELECT coalesce(max(id), 0), pg_total_relation_size('outbox') FROM outbox")).one())


def queued_since(probe, high_water: int) -> Counter:
    with probe.connect() as connection:
        keys = connection.execute(text("SELECT dedup_key FROM outbox WHERE id > :id"), {"id": high_water}).scalars()
        return Counter(kind_of(key) for key in keys)


def kind_of(key: str | None) -> str:
    if key is None:
        return "长消息续段"
    return next((name for pattern, name in KINDS if re.search(pattern, key)), "其他")


DUE_DEADLINES = "FROM deadlines WHERE status = 'open' AND paused_at IS NULL AND next_check_at <= :now"


def due_deadlines(probe, now: datetime) -> int:
    """Deadline rows DeadlineScan selects at `now`."""
    with probe.connect() as connection:
        return connection.execute(text(f"SELECT count(*) {DUE_DEADLINES}"), {"now": naive(now)}).scalar_one()


def analyze(probe) -> None:
    with probe.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("ANALYZE deadlines"))


def next_checks(probe) -> dict:
    """Where the open deadlines' next_check_at stands (after the catch-up sweep)."""
    sql = text("""SELECT CASE WHEN paused_at IS NOT NULL THEN 'paused'
                              WHEN next_check_at IS NULL THEN 'never'
                              WHEN next_check_at <= :t0 THEN 'due'
                              WHEN next_check_at <= :t1 THEN 'by_t1'
                              WHEN next_check_at <= :hour THEN 'hour'
                              WHEN next_check_at <= :day THEN 'day' ELSE 'later' END, count(*)
                  FROM deadlines WHERE status = 'open' GROUP BY 1""")
    with probe.connect() as connection:
        return dict(connection.execute(sql, {"t0": naive(T0), "t1": naive(T1), "hour": naive(T0 + H),
                                             "day": naive(T0 + 24 * H)}).all())


@dataclass
class Harness:
    """What the run measures with: the product's services, a separate engine
    for the benchmark's own queries, the statement log, and the lock guard."""
    services: Services
    probe: object
    log: SqlLog
    lock_table: int  # entries in the server's shared lock table
    guard: int  # end a sweep holding more transaction-id locks than this (0: never)


def lock_table_size(probe) -> int:
    """max_locks_per_transaction × (MaxBackends + max_prepared_transactions)."""
    names = ("max_locks_per_transaction", "max_connections", "max_prepared_transactions",
             "autovacuum_max_workers", "max_worker_processes", "max_wal_senders")
    with probe.connect() as connection:
        settings = dict(connection.execute(text("SELECT name, setting::int FROM pg_settings WHERE name IN :names")
                                           .bindparams(bindparam("names", expanding=True)), {"names": names}).all())
    backends = settings["max_connections"] + settings["autovacuum_max_workers"] + 1 + \
        settings["max_worker_processes"] + settings["max_wal_senders"]
    return settings["max_locks_per_transaction"] * (backends + settings["max_prepared_transactions"])


class LockWatcher:
    """Samples the transaction-id locks held in the sweep's database while a
    sweep runs (one per subtransaction, i.e. per outbox row with a dedup
    key, until the sweep's transaction ends; PostgreSQL's lock table is
    shared by every database on the server). Past `guard` locks the sweep's
    connection is terminated, before the table is full for everyone."""

    def __init__(self, probe, guard: int):
        self.probe, self.guard = probe, guard
        self.peak = 0
        self.tripped = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> "LockWatcher":
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        sql = text("SELECT l.pid, count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
                   "WHERE a.datname = current_database() AND l.locktype = 'transactionid' "
                   "AND l.pid <> pg_backend_pid() GROUP BY l.pid")
        while not self._stop.is_set():
            with self.probe.connect() as connection:
                held = dict(connection.execute(sql).all())
                self.peak = max(self.peak, sum(held.values()))
                for pid, count in held.items():
                    if self.guard and count > self.guard and not self.tripped:
                        self.tripped = count
                        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            self._stop.wait(0.2)


def run_tick(services: Services, now: datetime) -> str | None:
    """The product's tick; its failure is a result to report, not a crash."""
    try:
        tick(services, now)
    except Exception as error:  # noqa: BLE001 — reported with its message
        return f"{type(error).__name__}: {str(error).strip().splitlines()[0]}"
    return None


def sweep(bench: Harness, now: datetime, what: str) -> tuple[dict, tuple]:
    """One bot.scheduler.tick at `now`: seconds (whole and per step), what it
    queued, the SQL it sent, locks held and how much the outbox grew on disk."""
    print(f"  {what}……", end="", flush=True)
    services, probe, log = bench.services, bench.probe, bench.log
    high_water, size = outbox_mark(probe)
    due_before = due_deadlines(probe, now)
    log.reset()
    with timed_parts(log) as seconds, LockWatcher(probe, bench.guard) as locks:
        total, error = timed(run_tick, services, now)
    if locks.tripped:
        error = (f"事务锁已达 {locks.tripped:,} 个（服务器锁表共约 {bench.lock_table:,} 个，全服务器共享），"
                 f"本基准中止了这次扫描；不中止的话它会以 out of shared memory 失败，同一服务器上的其他会话也会受牵连")
    sql = (dict(log.counts), dict(log.params))
    queued = queued_since(probe, high_water)
    inserts = sum(n for sql, n in log.counts.items() if sql.lstrip().startswith("INSERT INTO outbox"))
    due_after = due_deadlines(probe, now)
    print(f" {total:.2f} 秒，到期时限 {due_before:,} 行，入队 {sum(queued.values()):,} 条，事务锁峰值 {locks.peak:,}"
          + (f"；失败：{error}" if error else ""), flush=True)
    return {"now": now, "seconds": total, "error": error, "due_deadlines": due_before, "still_due_after": due_after,
            "queued": sum(queued.values()), "by_kind": dict(queued),
            "duplicates": inserts - sum(queued.values()) if not error else None,
            "statements": sum(log.counts.values()), "db_seconds": sum(log.db_seconds.values()),
            "parts": breakdown(seconds, log, total), "outbox_growth_bytes": outbox_mark(probe)[1] - size,
            "peak_xid_locks": locks.peak, "top_statements": [(label(s), n) for s, n in log.counts.most_common(4)],
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}, sql


def steady_state(bench: Harness, repeat: int) -> tuple[dict, tuple]:
    runs = []
    for number in range(repeat):
        runs.append(sweep(bench, STEADY, f"(a) 稳态扫描 {number + 1}/{repeat}"))
        if runs[-1][0]["error"]:
            return runs[-1]
    middle, sql = sorted(runs, key=lambda run: run[0]["seconds"])[len(runs) // 2]
    return {**middle, "all_seconds": [run["seconds"] for run, _ in runs],
            "queued": sum(run["queued"] for run, _ in runs)}, sql


def baselines(probe, repeat: int) -> dict:
    def due_queries(now: datetime) -> tuple[list[str], dict]:
        return ([f"SELECT id {DUE_DEADLINES}",
                 "SELECT id FROM surveys WHERE status = 'scheduled' AND send_at <= :now",
                 "SELECT id FROM surveys WHERE status = 'sent' AND reminded_at IS NULL AND sent_at <= :remind",
                 "SELECT id FROM surveys WHERE status = 'sent' AND sent_at <= :close"],
                {"now": naive(now), "remind": naive(now - 24 * H), "close": naive(now - 72 * H)})

    queries = {"count_open": (["SELECT count(*) FROM deadlines WHERE status = 'open'"], {}),
               "due_steady": due_queries(STEADY), "due_t1": due_queries(T1)}

    def run(statements, params):
        with probe.connect() as connection:
            return sum(len(connection.execute(text(sql), params).all()) for sql in statements)

    rows = {name: run(*query) for name, query in queries.items()}  # also warms the cache and the connection
    seconds = {name: median_seconds(lambda q=query: run(*q), repeat) for name, query in queries.items()}
    return {**seconds, "rows": rows}


# -- EXPLAIN ------------------------------------------------------------------------
SCAN = re.compile(r"(Seq Scan on \w+|Index Only Scan using \w+|Index Scan using \w+|Bitmap Index Scan on \w+)")
BIG_TABLES = ("deadlines", "complaints", "surveys", "outbox", "complaint_events")
SCAN_QUERY = "deadlines.next_check_at <="  # DeadlineScan.run's SELECT


def explain(connection, sql: str, params, count: int = 1) -> dict:
    plan = [row[0] for row in connection.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)]
    text_plan = "\n".join(plan)
    return {"statement": label(sql), "sql": " ".join(sql.split()), "times_per_sweep": count,
            "scans": sorted(set(SCAN.findall(text_plan))), "execution_ms": execution_ms(plan),
            "rows": top_rows(plan), "rows_removed_by_filter": removed(text_plan), "plan": plan}


def explain_all(probe, statements: dict) -> list[dict]:
    """EXPLAIN (ANALYZE, BUFFERS) of each distinct SELECT the sweeps sent."""
    with probe.connect() as connection:
        found = [explain(connection, sql, params, count) for sql, (count, params) in statements.items()
                 if sql.lstrip().upper().startswith("SELECT")]
    return sorted(found, key=lambda item: -item["execution_ms"] * item["times_per_sweep"])


def explain_scan_at(probe, statements: dict, now: datetime) -> dict | None:
    """DeadlineScan's own SELECT (as the product sent it) at another `now`."""
    sql = next((sql for sql in statements if SCAN_QUERY in sql), None)
    if sql is None:
        return None
    params = statements[sql][1]
    moved = {key: naive(now) if isinstance(value, datetime) else value for key, value in params.items()}
    with probe.connect() as connection:
        return explain(connection, sql, moved)


def execution_ms(plan: list[str]) -> float:
    line = next((line for line in plan if line.startswith("Execution Time")), "0 ms")
    return float(re.search(r"([\d.]+) ms", line).group(1))


def top_rows(plan: list[str]) -> int:
    match = re.search(r"actual time=[\d.]+\.\.[\d.]+ rows=(\d+)", plan[0])
    return int(match.group(1)) if match else 0


def removed(text_plan: str) -> int:
    """Rows removed by filters, all loops (EXPLAIN shows a per-loop average,
    e.g. per parallel worker, under the node that says loops=N)."""
    total, loops = 0, 1
    for line in text_plan.splitlines():
        node = re.search(r"actual time=\S+ rows=\d+ loops=(\d+)", line)
        if node:
            loops = int(node.group(1))
        found = re.search(r"Rows Removed by Filter: (\d+)", line)
        if found:
            total += int(found.group(1)) * loops
    return total


def statements_seen(*logs: tuple) -> dict:
    merged: dict = {}
    for counts, params in logs:
        for sql, count in counts.items():
            if sql in params:
                merged.setdefault(sql, (count, params[sql]))
    return merged


RUNS = (("catch_up", "首轮补扫（升级或长时间停机后一次）T0"), ("steady", "(a) 稳态：无新到期 T0+5秒"),
        ("due_batch", "(b) 一批到期 T1"), ("repeat", "(c) 紧接着再扫一次 T1"),
        ("upgrade", "(d) 升级情形补扫：通知都已发过 T1"))
BASELINE_FOR = {"steady": "due_steady", "due_batch": "due_t1", "repeat": "due_steady"}


def upgrade_case(bench: Harness) -> tuple[dict, tuple]:
    """Migration 0005 on a live system: every open deadline is due once more
    (next_check_at = started_at), while the outbox already holds what was
    sent for it before (here: by the sweeps above). Every notice the scan
    derives again is refused by its dedup key, in a subtransaction of its own."""
    with bench.probe.begin() as connection:
        connection.execute(text("UPDATE deadlines SET next_check_at = started_at "
                                "WHERE status = 'open' AND paused_at IS NULL"))
    return sweep(bench, T1, "(d) 升级情形补扫（next_check_at 重置为 started_at，outbox 里已有这些通知）")


def measure(bench: Harness, args) -> dict:
    runs, statements = {}, []
    runs["catch_up"], catch_up_sql = sweep(bench, T0, "首轮补扫（所有开放时限各看一次、补发积压、周报）")
    checks = next_checks(bench.probe)
    # The catch-up rewrote next_check_at of every open deadline; until ANALYZE the planner still
    # believes they are all due. Autovacuum would analyze soon (the server may have it off): do it now.
    scan_plan_stale = explain_scan_at(bench.probe, statements_seen(catch_up_sql), STEADY)
    analyze_seconds, _ = timed(analyze, bench.probe)
    base = baselines(bench.probe, args.repeat_baseline)
    scan_plan_t1 = None
    steps = {"steady": lambda: steady_state(bench, args.repeat),
             "due_batch": lambda: sweep(bench, T1, "(b) 一批到期"),
             "repeat": lambda: sweep(bench, T1, "(c) 紧接着再扫一次"),
             "upgrade": lambda: upgrade_case(bench)}
    for key, step in steps.items():
        if any(run and run["error"] for run in runs.values()):
            print(f"  {dict(RUNS)[key]}：跳过（上一次扫描已失败）", flush=True)
            runs[key] = None
            continue
        if key == "due_batch" and statements:
            scan_plan_t1 = explain_scan_at(bench.probe, statements_seen(*statements), T1)
        if key == "upgrade":  # changes the data: the plans of (a)-(c) first
            plans = explain_all(bench.probe, statements_seen(*statements))
        runs[key], sql = step()
        statements.append(sql)
    if runs["upgrade"] is None:
        plans = explain_all(bench.probe, statements_seen(*statements))
    return {"baselines": base, "next_check_after_catch_up": checks, "analyze_seconds": analyze_seconds,
            "explain_scan_stale": scan_plan_stale, "lock_table": bench.lock_table, "lock_guard": bench.guard,
            **runs,
            "ratios": {key: {"vs_count_open": ratio(run["seconds"], base["count_open"]),
                             "vs_due_rows": ratio(run["seconds"], base.get(BASELINE_FOR.get(key)))}
                       for key, run in runs.items() if run and not run["error"]},
            "explain_scan_t1": scan_plan_t1, "explain": plans}


# -- report -----------------------------------------------------------------------
def report_seed(seed: dict, args) -> None:
    print(f"\n== 造数 ==  开放投诉 {args.open:,} 件、已结案历史 {args.closed:,} 件；"
          f"时限 {seed['deadlines']:,} 行（开放 {seed['open_deadlines']:,} 行，next_check_at = started_at）、"
          f"回访 {seed['surveys']:,} 行")
    classes = seed["open_classes"]
    print(f"开放投诉按最早时限分：未到期 {classes.get('future', 0):,}，积压（T0 前已到期）{classes.get('backlog', 0):,}，"
          f"T0+10秒→T1 之间到期 {classes.get('batch', 0):,}")
    print(f"耗时：迁移到 head {seed['migrate_seconds']:.1f} 秒，生成 {seed['generate_seconds']:.1f} 秒，"
          f"COPY 写入 {seed['copy_seconds']:.1f} 秒，VACUUM ANALYZE {seed['vacuum_analyze_seconds']:.1f} 秒")


def report(result: dict) -> None:
    base = result["baselines"]
    print(f"\n== 结果 ==\n基线：一次遍历 count(*) 开放时限 {base['count_open'] * 1000:.1f} 毫秒"
          f"（{base['rows']['count_open']} 行结果）；到期查询（只取 id）稳态 {base['due_steady'] * 1000:.1f} 毫秒"
          f"（{base['rows']['due_steady']:,} 行）、T1 {base['due_t1'] * 1000:.1f} 毫秒（{base['rows']['due_t1']:,} 行）。"
          f"服务器锁表约 {result['lock_table']:,} 个，保护阈值 {result['lock_guard']:,}")
    checks = result["next_check_after_catch_up"]
    print("首轮补扫后开放时限的 next_check_at：" + "，".join(
        f"{name} {checks.get(key, 0):,}" for key, name in (
            ("due", "仍 ≤T0"), ("by_t1", "T0→T1"), ("hour", "1 小时内"), ("day", "1 天内"), ("later", "更晚"),
            ("never", "NULL（不再有事）"), ("paused", "暂停中（不扫）"))))
    print_table(["扫描", "秒", "÷一次遍历", "÷到期查询", "到期时限行", "扫后仍到期", "新入队", "重复键被拒", "SQL 条数",
                 "等数据库秒", "事务锁峰值", "outbox 增长 KB"], [run_row(result, key, name) for key, name in RUNS])
    for key, name in RUNS:
        if result[key] and result[key]["error"]:
            print(f"{name} 失败：{result[key]['error']}")
    catch_up, steady, batch, again, upgrade = (result[key] for key, _ in RUNS)
    if catch_up and catch_up["by_kind"]:
        print("首轮补扫入队明细：" + "，".join(f"{kind} {n:,}" for kind, n in sorted(catch_up["by_kind"].items())))
    if steady and len(steady.get("all_seconds", [])) > 1:
        print(f"(a) 各次：{'、'.join(f'{s:.3f}' for s in steady['all_seconds'])} 秒（取中位数），共入队 {steady['queued']} 条")
    if batch and not batch["error"]:
        print("(b) 入队明细：" + "，".join(f"{kind} {n:,}" for kind, n in sorted(batch["by_kind"].items())))
    if again and not again["error"]:
        verdict = "正确：没有重复入队" if again["queued"] == 0 else "错误：重复入队！"
        print(f"(c) 再扫一次入队 {again['queued']} 条 —— {verdict}")
    if upgrade:
        print(f"(d) 升级情形：{upgrade['due_deadlines']:,} 行时限各看一次，事务锁峰值 {upgrade['peak_xid_locks']:,}"
              f"（每条被唯一键拒绝的通知一个，到事务结束才释放；锁表约 {result['lock_table']:,} 个，全服务器共享）"
              + (f"，失败：{upgrade['error']}" if upgrade["error"] else "，完成"))
    for key, name in RUNS:
        if result[key]:
            report_parts(result[key], name)
    report_explain(result["explain_scan_stale"], result["analyze_seconds"], result["explain_scan_t1"],
                   result["explain"])


def run_row(result: dict, key: str, name: str) -> list:
    run = result[key]
    if run is None:
        return [name, "跳过", *[None] * 10]
    ratios = result["ratios"].get(key, {})
    seconds = f"{run['seconds']:.1f} 失败" if run["error"] else run["seconds"]
    return [name, seconds, ratios.get("vs_count_open"), ratios.get("vs_due_rows"), run["due_deadlines"],
            run["still_due_after"], run["queued"], run["duplicates"], run["statements"], run["db_seconds"],
            run["peak_xid_locks"], run["outbox_growth_bytes"] // 1024]


def report_parts(run: dict, name: str) -> None:
    print(f"\n{name} 分步{'（失败前）' if run['error'] else ''}：")
    print_table(["步骤", "秒", "SQL 条数", "等数据库秒"],
                [[title, run["parts"][part]["seconds"], run["parts"][part]["statements"],
                  run["parts"][part]["db_seconds"]] for part, title in PARTS])
    for sql, n in run["top_statements"]:
        print(f"  {n:>8,} 次  {sql}")


def report_explain(stale: dict | None, analyze_seconds: float, scan_t1: dict | None, plans: list[dict]) -> None:
    if stale:
        print(f"\nEXPLAIN (ANALYZE)：DeadlineScan 的查询在稳态，首轮补扫后、ANALYZE 之前（统计信息过时）："
              f"{'，'.join(stale['scans'])}，{stale['execution_ms']:.1f} 毫秒，返回 {stale['rows']:,} 行，"
              f"过滤掉 {stale['rows_removed_by_filter']:,} 行；之后 ANALYZE deadlines 用了 {analyze_seconds:.1f} 秒"
              f"（相当于 autovacuum 的自动分析），以下各次扫描都在它之后")
    if scan_t1:
        print(f"\nEXPLAIN (ANALYZE)：DeadlineScan 的查询在 T1（(b) 之前）：{'，'.join(scan_t1['scans'])}，"
              f"{scan_t1['execution_ms']:.1f} 毫秒，返回 {scan_t1['rows']:,} 行，过滤掉 {scan_t1['rows_removed_by_filter']:,} 行")
        for line in scan_t1["plan"]:
            print(f"    {line}")
    if not plans:
        return
    print("\nEXPLAIN (ANALYZE)：(a)–(c) 发出的每条不同 SELECT（按 执行毫秒×次数 排序）")
    print_table(["语句", "次/扫", "毫秒", "返回行", "过滤掉行", "访问方式"],
                [[p["statement"][:90], p["times_per_sweep"], p["execution_ms"], p["rows"],
                  p["rows_removed_by_filter"], "，".join(p["scans"])] for p in plans])
    for plan in plans:
        for table in (scan.split()[-1] for scan in plan["scans"] if scan.startswith("Seq Scan")):
            if table in BIG_TABLES:
                print(f"  顺序扫描 {table} 表：{plan['statement']}")
        if plan["rows_removed_by_filter"] > 10 * max(plan["rows"], 1) and plan["rows_removed_by_filter"] > 1000:
            print(f"  读了 {plan['rows'] + plan['rows_removed_by_filter']:,} 行只用 {plan['rows']:,} 行："
                  f"{plan['statement']}")


# -- main -------------------------------------------------------------------------
def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_server_options(parser)
    parser.add_argument("--open", type=int, default=100_000, help="open complaints")
    parser.add_argument("--closed", type=int, default=100_000, help="closed complaints (history)")
    parser.add_argument("--due-share", type=float, default=0.01,
                        help="share of open complaints due in (T0 + 10 s, T1]")
    parser.add_argument("--backlog-share", type=float, default=0.01, help="share already overdue at T0")
    parser.add_argument("--repeat", type=int, default=3, help="steady-state sweeps (median)")
    parser.add_argument("--repeat-baseline", type=int, default=7)
    parser.add_argument("--lock-guard", type=int, metavar="N",
                        help="end a sweep holding more than N transaction-id locks (default: half the server's "
                             "lock table; 0: never, let PostgreSQL fail it)")
    parser.add_argument("--seed", type=int, default=1)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    exit_cleanly_on_sigterm()
    logging.getLogger("jieba").setLevel(logging.WARNING)
    prefix = f"{unique_name('sweep')}:"
    databases = TempDatabases(args.database_url)
    print(f"调度扫描基准：{args.open:,} 件开放投诉；{environment_note()}")
    services = probe = None
    try:
        name = unique_name("sweep")
        url = databases.create(name)
        print(f"数据库 {name}", flush=True)
        seed = seed_database(url, args)
        report_seed(seed, args)
        config = bench_config("http://127.0.0.1:9", url, args.redis_url, prefix, "/nonexistent/bench-data")
        services = build_services(Settings.model_validate(config))
        probe = create_engine(services.settings.database_url)
        table = lock_table_size(probe)
        guard = table // 2 if args.lock_guard is None else args.lock_guard
        print("\n== 扫描 ==", flush=True)
        result = measure(Harness(services, probe, SqlLog(services.db.engine), table, guard), args)
        report(result)
        write_json(args.json, {"benchmark": "scheduler_sweep", "args": vars(args), "t0": T0, "steady": STEADY,
                               "t1": T1, "seed": seed, "result": result})
    except KeyboardInterrupt:
        print("\n已中断，正在清理……", file=sys.stderr)
        return 130
    finally:
        if probe is not None:
            probe.dispose()
        if services is not None:
            services.close()
        databases.close()
        delete_redis_keys(args.redis_url, prefix)
    return 0


if __name__ == "__main__":
    sys.exit(main())
