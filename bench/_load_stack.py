"""What bench/load.py runs its load against, and how it cleans up after
itself: a throw-away PostgreSQL database and Redis key prefix, a temporary
config.yaml, the fake WeCom API, and `complaint-bot serve` / `worker`
(or the baseline app) as real subprocesses."""
from __future__ import annotations

import base64
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import redis as redis_lib
import requests
import yaml
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from bot.config import normalize_database_url
from bot.models import Complaint, InboundMessage, OutboxMessage
from bot.wecom.fake_server import FakeWeCom

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "bot.cli"]
BASELINE = [sys.executable, str(ROOT / "bench" / "baseline_app.py")]


@dataclass
class Secrets:
    token: str
    aes_key: str

    @classmethod
    def random(cls) -> "Secrets":
        return cls(secrets.token_hex(8), base64.b64encode(os.urandom(32)).decode().rstrip("="))


# -- PostgreSQL and Redis --------------------------------------------------------
def fresh_database(stack: ExitStack, server_url: str) -> str:
    """CREATE DATABASE with a unique name on the server of `server_url`;
    dropped (forcibly) when the stack closes. Returns its URL."""
    url = make_url(normalize_database_url(server_url))
    name = f"cb_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    stack.callback(drop)
    return url.set(database=name).render_as_string(hide_password=False)


def fresh_redis_prefix(stack: ExitStack, redis_url: str) -> str:
    """A key prefix of this run's own; its keys are deleted when the stack closes."""
    client = redis_lib.Redis.from_url(redis_url)
    client.ping()
    prefix = f"bench-{uuid.uuid4().hex[:10]}:"

    def delete_keys():
        for key in client.scan_iter(match=f"{prefix}*", count=1000):
            client.delete(key)
        client.close()

    stack.callback(delete_keys)
    return prefix


# -- configuration ---------------------------------------------------------------
def directory_for(users: int) -> tuple[dict, dict]:
    """One department per simulated user, with that user's staff member, and a
    routing rule sending building N's complaints to department N: every staff
    member only ever clicks their own cards, like a real person would."""
    departments, rules, people = [], [], {}
    for i in range(users):
        name, staff = f"维修{i + 1}组", staff_id(i)
        departments.append({"name": name, "members": [staff]})
        rules.append({"place": f"^{building_of(i)}号楼", "department": name})
        people[staff] = f"师傅{i + 1}"
    return ({"people": people, "departments": departments, "duty": [staff_id(0)]},
            {"rules": rules, "default": departments[0]["name"]})


def staff_id(i: int) -> str:
    return f"bench.staff{i + 1}"


def building_of(i: int) -> int:
    return i + 1


def write_config(workdir: Path, users: int, threads: int, prefix: str) -> Path:
    """The parts of the configuration that are no secret; the rest goes
    through the environment (see environment())."""
    directory, routing = directory_for(users)
    config = {
        "redis_prefix": prefix,
        "data_dir": str(workdir / "data"),
        "server": {"host": "127.0.0.1", "threads": threads},
        "service": {"name": "压测后勤中心", "phone": "010-11112222", "duty_phone": "010-99998888"},
        # Simulated people click and type far faster than real ones; WeCom's
        # per-member limits would only defer pushes, which is not measured here.
        "outbox": {"per_member_per_minute": 100000, "per_member_per_hour": 1000000},
        # Pushes wait for the morning in quiet hours; the bench may run at night.
        "time_limits": {"quiet_hours": None},
        "directory": directory,
        "routing": routing,
    }
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def environment(config: Path, keys: Secrets, fake: FakeWeCom, database_url: str, redis_url: str) -> dict:
    return {**os.environ, "COMPLAINT_BOT_CONFIG": str(config), "DATABASE_URL": database_url,
            "REDIS_URL": redis_url, "WECOM_CORP_ID": fake.corp_id, "WECOM_AGENT_ID": str(fake.agent_id),
            "WECOM_SECRET": fake.secret, "WECOM_TOKEN": keys.token, "WECOM_ENCODING_AES_KEY": keys.aes_key,
            "WECOM_API_BASE_URL": fake.base_url, "CONSOLE_SECRET_KEY": secrets.token_hex(16),
            "PYTHONUNBUFFERED": "1"}


# -- subprocesses ----------------------------------------------------------------
class Process:
    """A subprocess in its own session (Ctrl+C reaches only the bench, which
    then stops it), its output in a log file."""

    def __init__(self, name: str, argv: list[str], env: dict, log_dir: Path):
        self.name = name
        self.url = ""  # a server's callback URL
        self.log = log_dir / f"{name}.log"
        with open(self.log, "wb") as out:
            self.popen = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                          start_new_session=True)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def stop(self) -> None:
        if self.popen.poll() is not None:
            return
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(10)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(5)

    def tail(self, lines: int = 15) -> str:
        return "\n".join(self.log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])

    def cpu_seconds(self) -> float:
        """user + system time of the process so far, from /proc (Linux)."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start(stack: ExitStack, name: str, argv: list[str], env: dict, log_dir: Path) -> Process:
    process = Process(name, argv, env, log_dir)
    stack.callback(process.stop)
    return process


def run_once(argv: list[str], env: dict, what: str) -> None:
    done = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"{what} 失败（退出码 {done.returncode}）：\n{done.stdout}{done.stderr}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_ready(process: Process, url: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            raise RuntimeError(f"{process.name} 启动失败（退出码 {process.popen.returncode}）：\n{process.tail()}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{process.name} 在 {timeout:.0f} 秒内没有就绪：\n{process.tail()}")


def start_servers(stack: ExitStack, kind: str, instances: int, threads: int, env: dict,
                  log_dir: Path) -> list[Process]:
    """`instances` HTTP processes: ours (`complaint-bot serve --no-worker`) or
    the baseline app, each on a port of its own; returns when all are ready."""
    servers = []
    for n in range(instances):
        port = free_port()
        argv = (CLI + ["serve", "--no-worker", "--host", "127.0.0.1", "--port", str(port)] if kind == "ours"
                else BASELINE + ["--port", str(port), "--threads", str(threads)])
        process = start(stack, f"{kind}-{n + 1}", argv, env, log_dir)
        process.url = f"http://127.0.0.1:{port}/wecom/callback"
        servers.append(process)
    for process in servers:
        wait_ready(process, process.url.replace("/wecom/callback", "/readyz"))
    return servers


# -- CPU of the machine and of the shared services --------------------------------------
SHARED_SERVICES = {"postgres": "postgres", "redis": "redis-server"}


def machine_cpu_seconds() -> dict[str, float]:
    """CPU seconds so far of the whole machine and of every PostgreSQL and
    Redis process on it (theirs include other users of the same servers).
    A process's time includes its reaped children's, so PostgreSQL's total
    does not drop when a backend exits (the postmaster inherits its time)."""
    tick = os.sysconf("SC_CLK_TCK")
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    totals = {"machine": (sum(values[:8]) - idle) / tick, **{name: 0.0 for name in SHARED_SERVICES}}
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            comm, rest = stat_file.read_text().split(" (", 1)[1].rsplit(")", 1)
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
        for name, prefix in SHARED_SERVICES.items():
            if comm.startswith(prefix):
                fields = rest.split()
                totals[name] += sum(int(v) for v in fields[11:15]) / tick  # utime stime cutime cstime
    return totals


# -- what the database holds afterwards ----------------------------------------------
class Ledger:
    """Counts in the run's database: the outbox, complaints, the message log."""

    def __init__(self, stack: ExitStack, database_url: str):
        self.engine = create_engine(database_url)
        stack.callback(self.engine.dispose)

    def _by_status(self, model, *where) -> dict[str, int]:
        query = select(model.status, func.count()).where(*where).group_by(model.status)
        with self.engine.connect() as connection:
            return dict(connection.execute(query).all())

    def outbox(self, since=None) -> dict[str, int]:
        """Pushes by status (only those queued since `since`, if given)."""
        return self._by_status(OutboxMessage, *([OutboxMessage.created_at >= since] if since else []))

    def complaints(self) -> dict[str, int]:
        return self._by_status(Complaint)

    def messages(self) -> dict[str, int]:
        return self._by_status(InboundMessage)

    def push_delays(self, since, until) -> dict[str, float]:
        """Queue-to-WeCom delay of the pushes queued in [since, until) and sent."""
        query = select(OutboxMessage.created_at, OutboxMessage.sent_at).where(
            OutboxMessage.status == "sent", OutboxMessage.created_at >= since, OutboxMessage.created_at < until)
        with self.engine.connect() as connection:
            delays = sorted((sent - created).total_seconds() for created, sent in connection.execute(query))
        if not delays:
            return {}
        return {"count": len(delays), "p50_s": delays[len(delays) // 2], "p99_s": delays[int(len(delays) * 0.99)],
                "max_s": delays[-1]}

    def wait_outbox_drained(self, since, timeout: float) -> tuple[dict[str, int], float]:
        """Poll until nothing created since `since` is pending, or timeout.
        Returns the last counts and the seconds waited."""
        started = time.monotonic()
        while True:
            counts = self.outbox(since)
            waited = time.monotonic() - started
            if not counts.get("pending") or waited >= timeout:
                return counts, waited
            time.sleep(0.5)
