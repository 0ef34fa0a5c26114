"""Real faults for the fault tests (tests/test_faults.py): a throwaway
redis-server that can be shut down, paused and started again on the same
port; a TCP proxy in front of PostgreSQL that can cut every connection and
refuse new ones; `complaint-bot` commands run as real processes that can be
killed with SIGKILL; and small readers for the invariants checked after each
scenario.

Nothing here replaces a client or patches the product: faults are produced by
stopping, pausing, killing or blocking the real thing."""
from __future__ import annotations

import itertools
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pytest
import redis as redis_lib
import requests
import yaml
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from bot.config import Settings
from bot.models import InboundMessage, OutboxMessage
from bot.wecom.callback_sender import CallbackSender
from bot.worker import Worker
from dialogs.state import DialogStore
from tests.conftest import AES_KEY, TOKEN
from tests.dialog_support import complaints_of, detached, events_of  # complaints_of: re-exported for the fault tests
from tests.helpers import NUMBER, answer_for

VENV_BIN = Path(sys.executable).parent
COMPLAINT_BOT = str(VENV_BIN / "complaint-bot")
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
STARTUP_TIMEOUT = 60.0  # generous: a 2-core CI machine starting several processes at once


# -- small tools -------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition, timeout: float = 30.0, what: str = "condition", interval: float = 0.01):
    """Poll until condition() is truthy and return its value (bounded, never a duration assertion)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def sender_for(url: str, fake_wecom, *, fresh_connections: bool = False) -> CallbackSender:
    """A WeCom callback sender to an app at `url`. With fresh_connections every
    request opens a new connection (a killed server leaves none half-open)."""
    session = requests.Session()
    if fresh_connections:
        session.headers["Connection"] = "close"
    return CallbackSender(f"{url}/wecom/callback", TOKEN, AES_KEY, fake_wecom.corp_id,
                          agent_id=fake_wecom.agent_id, session=session)


def retry_like_wecom(send, attempts: int = 12, pause: float = 1.0):
    """WeCom re-sends a callback that did not get a 200. `send()` re-sends the
    same callback (same MsgId); a refused connection counts as a failed try."""
    reply = None
    for _ in range(attempts):
        try:
            reply = send()
        except requests.ConnectionError:
            reply = None
        if reply is not None and reply.status_code == 200:
            return reply
        time.sleep(pause)
    raise AssertionError(f"the callback was never acknowledged; last answer: {reply!r}")


# -- a throwaway Redis ---------------------------------------------------------------------------------------
class RedisServer:
    """redis-server on a free port in a temp dir, keeping nothing on disk."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis_lib.Redis:
        return redis_lib.Redis(host="127.0.0.1", port=self.port, decode_responses=True, socket_timeout=10)

    def start(self) -> "RedisServer":
        self.directory.mkdir(parents=True, exist_ok=True)
        log = open(self.directory / "redis.log", "ab")
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.directory),
             "--save", "", "--appendonly", "no", "--daemonize", "no"],
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        wait_until(self._answers, timeout=STARTUP_TIMEOUT, what=f"redis-server on port {self.port}")
        return self

    def _answers(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"redis-server exited: {(self.directory / 'redis.log').read_text()[-2000:]}")
        try:
            with redis_lib.Redis(host="127.0.0.1", port=self.port, socket_timeout=1,
                                 socket_connect_timeout=1) as probe:
                return probe.ping()
        except redis_lib.RedisError:
            return False

    def shutdown(self) -> None:
        """Stop it the way an operator's restart does: SHUTDOWN NOSAVE (all data gone)."""
        if self.process is None or self.process.poll() is not None:
            return
        try:
            with self.client() as admin:
                admin.shutdown(nosave=True)
        except redis_lib.RedisError:
            pass  # the connection drops as the server exits
        self._reap()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self._reap()

    def _reap(self) -> None:
        if self.process is not None:
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)

    # Real Redis features that stall clients (CLIENT PAUSE): WRITE holds every
    # write command, ALL holds every command, until the time runs out or UNPAUSE.
    def pause(self, mode: str, milliseconds: int = 60_000) -> None:
        with self.client() as admin:
            admin.execute_command("CLIENT", "PAUSE", milliseconds, mode)

    def unpause(self) -> None:
        with self.client() as admin:
            admin.execute_command("CLIENT", "UNPAUSE")


@pytest.fixture
def throwaway_redis(tmp_path):
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.kill()


# -- a TCP proxy that can cut the database off ------------------------------------------------------------
class TcpProxy:
    """Forwards 127.0.0.1:port to an upstream address. cut() closes every
    connection and refuses new ones (the port is closed); resume() listens
    again on the same port."""

    def __init__(self, upstream_host: str, upstream_port: int):
        self.upstream = (upstream_host, upstream_port)
        self.port = free_port()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener: socket.socket | None = None

    def start(self) -> "TcpProxy":
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), name="tcp-proxy", daemon=True).start()
        return self

    resume = start  # listen again on the same port

    def cut(self) -> None:
        """Close the listener and every open connection: in-flight queries
        fail, new connections are refused."""
        with self._lock:
            listener, self._listener = self._listener, None
            victims = list(self._sockets)
            self._sockets.clear()
        if listener is not None:
            _close(listener)
        for sock in victims:
            _close(sock)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed by cut()
            try:
                upstream = socket.create_connection(self.upstream, timeout=10)
                upstream.settimeout(None)
            except OSError:
                _close(client)
                continue
            with self._lock:
                if self._listener is not listener:  # cut meanwhile
                    _close(client)
                    _close(upstream)
                    return
                self._sockets.update((client, upstream))
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                target.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._sockets.discard(source)
                self._sockets.discard(target)
            _close(source)
            _close(target)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


class BlackHole:
    """A port that accepts connections and never says a word: a database
    server that hangs (or a stuck pooler in front of it)."""

    def __init__(self):
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        self._held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            self._held.append(connection)

    def close(self) -> None:
        """Close everything: whoever was waiting gets an end of stream."""
        _close(self._listener)
        for connection in self._held:
            _close(connection)


def via_proxy(database_url: str, proxy: TcpProxy) -> str:
    """The same database URL (user, database, search_path option) through the proxy."""
    url = make_url(database_url).set(host="127.0.0.1", port=proxy.port)
    return url.render_as_string(hide_password=False)


def upstream_of(database_url: str) -> tuple[str, int]:
    url = make_url(database_url)
    return url.host or "127.0.0.1", url.port or 5432


# -- complaint-bot as real processes ------------------------------------------------------------------------
def write_config(settings: Settings, path: Path) -> Path:
    raw = settings.model_dump(mode="json")
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@dataclass
class BotProcess:
    """One `complaint-bot …` process with its log file."""
    name: str
    args: list[str]
    env: dict
    log_path: Path
    port: int | None = None
    process: subprocess.Popen | None = None

    def start(self) -> "BotProcess":
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen([COMPLAINT_BOT, *self.args], env=self.env, stdout=log,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def tail(self, chars: int = 3000) -> str:
        return f"--- {self.name} log ---\n{self.log()[-chars:]}"

    def wait_ready(self, timeout: float = STARTUP_TIMEOUT) -> "BotProcess":
        def ready() -> bool:
            if not self.alive():
                raise AssertionError(f"{self.name} exited with {self.process.returncode}\n{self.tail()}")
            try:
                return requests.get(f"{self.url}/readyz", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        wait_until(ready, timeout=timeout, what=f"{self.name} /readyz", interval=0.05)
        return self

    def wait_log(self, needle: str, count: int = 1, timeout: float = STARTUP_TIMEOUT) -> None:
        def seen() -> bool:
            if not self.alive():
                raise AssertionError(f"{self.name} exited with {self.process.returncode}\n{self.tail()}")
            return self.log().count(needle) >= count

        wait_until(seen, timeout=timeout, what=f"{count}× {needle!r} in {self.name}'s log", interval=0.05)

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind runs in the process."""
        if self.process is None:
            return
        if self.alive():
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        """Finalizer: SIGTERM, then SIGKILL if it does not end."""
        if not self.alive():
            return
        try:
            self.process.terminate()
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()


class Processes:
    """Starts complaint-bot processes on one configuration file; the fixture kills them all."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.started: list[BotProcess] = []
        self.config: Path | None = None
        self.settings: Settings | None = None

    def configure(self, settings: Settings) -> Path:
        self.settings = settings
        self.config = write_config(settings, self.directory / f"config-{len(self.started)}.yaml")
        return self.config

    def _env(self) -> dict:
        env = {key: value for key, value in os.environ.items()
               if key not in ("DATABASE_URL", "REDIS_URL", "COMPLAINT_BOT_CONFIG") and not key.startswith("WECOM_")}
        env.update(COMPLAINT_BOT_CONFIG=str(self.config), DATABASE_URL=self.settings.database_url,
                   REDIS_URL=self.settings.redis_url or "", PYTHONUNBUFFERED="1")
        return env

    def _spawn(self, name: str, args: list[str], port: int | None = None) -> BotProcess:
        assert self.config is not None, "configure() first"
        process = BotProcess(name, args, self._env(), self.directory / f"{name}-{len(self.started)}.log", port)
        self.started.append(process)
        return process.start()

    def serve(self, name: str = "serve", worker: bool = False) -> BotProcess:
        port = free_port()
        return self._spawn(name, ["serve", "--host", "127.0.0.1", "--port", str(port),
                                  "--worker" if worker else "--no-worker"], port)

    def worker(self, name: str = "worker") -> BotProcess:
        return self._spawn(name, ["worker"])

    def scheduler(self, name: str = "scheduler") -> BotProcess:
        return self._spawn(name, ["scheduler"])

    def logs(self) -> str:
        return "\n".join(process.tail() for process in self.started)

    def stop_all(self) -> None:
        for process in reversed(self.started):
            try:
                process.stop()
            except Exception:  # noqa: BLE001 — one stuck process must not keep the others running
                process.kill()


@pytest.fixture
def processes(tmp_path, request):
    """Processes(tmp_path): every process it started is stopped (SIGKILL if
    need be) after the test; their logs are printed when the test failed."""
    group = Processes(tmp_path)
    failures_before = request.session.testsfailed
    yield group
    group.stop_all()
    if request.session.testsfailed > failures_before:
        print(group.logs())


# -- freezing one request at a chosen point ------------------------------------------------------------------
@contextmanager
def database_writes_held(database_url: str) -> Iterator[None]:
    """The test holds the database's write lock (SQLite) or a lock on the
    message log (PostgreSQL): a callback's first write — storing the message —
    waits until the block ends."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        connection = sqlite3.connect(url.database, timeout=30, isolation_level=None)
        try:
            connection.execute("BEGIN IMMEDIATE")
            yield
        finally:
            connection.rollback()
            connection.close()
        return
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            connection.execute(text("LOCK TABLE message_log IN EXCLUSIVE MODE"))
            try:
                yield
            finally:
                connection.rollback()
    finally:
        engine.dispose()


@dataclass
class InFlight:
    """A callback sent from a thread of its own; its outcome once it ends."""
    thread: threading.Thread
    outcome: dict = field(default_factory=dict)

    def join(self, timeout: float = 60.0):
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the frozen request never ended"
        return self.outcome.get("reply"), self.outcome.get("error")


def send_in_background(send) -> InFlight:
    flight = InFlight(threading.Thread(target=lambda: None))

    def run() -> None:
        try:
            flight.outcome["reply"] = send()
        except Exception as error:  # noqa: BLE001 — a reset connection is a possible outcome
            flight.outcome["error"] = error

    flight.thread = threading.Thread(target=run, daemon=True)
    flight.thread.start()
    return flight


def freeze_request(redis_server: "RedisServer", database_url: str, services, msg_id: int, send,
                   after: str, pause_ms: int | None = None) -> InFlight:
    """Send a callback and stop its handling at a chosen point, deterministically:

    * after="store": the message is in the message log (status "received"),
      its handling waits on its first Redis read (CLIENT PAUSE ALL). Nothing
      can lift such a pause early (even CLIENT UNPAUSE waits): it ends after
      pause_ms (default 5 s), or with the Redis server;
    * after="commit": the handling's database work is committed (status
      "handled"), the Redis writes that follow it wait (CLIENT PAUSE WRITE,
      default 60 s; RedisServer.unpause() lifts it).

    The database write lock keeps the request just before storing until the
    pause is in force; the request has passed the per-user queue once Redis
    shows its connection's last command was the SET of the journal's flag."""
    assert after in ("store", "commit")
    with redis_server.client() as admin:
        with database_writes_held(database_url):
            flight = send_in_background(send)
            # After its turn the request's first round trip reads bot.kv_journal's marker and sets its flag.
            wait_until(lambda: any(client.get("cmd") == "set" for client in admin.client_list()),
                       what="the callback to take its turn in the per-user queue")
            if after == "store":
                redis_server.pause("ALL", pause_ms or 5_000)
            else:
                redis_server.pause("WRITE", pause_ms or 60_000)
    status = "received" if after == "store" else "handled"

    def reached() -> bool:
        row = logged_row(services, msg_id)
        return row is not None and row.status == status

    wait_until(reached, what=f"message {msg_id} to be {status}")
    return flight


# -- a deployment's configuration, shared by processes and the test's own reader -------------------------------
@pytest.fixture
def deployment(processes, fake_wecom, database_url, key_prefix, tmp_path):
    """deployment(redis_url=…, **dotted overrides): writes the configuration the
    processes started by ``processes`` use, migrates the database (as
    `complaint-bot db upgrade` would) and returns the test's own Services on
    the same database and Redis, for reading what the processes did."""
    from bot.services import build_services
    from tests.conftest import REDIS_URL, make_settings

    built = []

    def make(*, redis_url: str = REDIS_URL, **overrides):
        settings = make_settings(fake_wecom, database_url, key_prefix, tmp_path / "data", redis_url=redis_url,
                                 **overrides)
        services = build_services(settings)
        services.db.upgrade()
        processes.configure(settings)
        built.append(services)
        return services

    yield make
    for services in built:
        services.close()


def injected_failures_left(fake_wecom, path: str) -> int:
    """How many of the failures queued with fake_wecom.fail_next(path, …) are still to come
    (the fake takes one as a request arrives, before its delay)."""
    with fake_wecom._lock:
        return sum(failure.remaining for failure in fake_wecom._state.failures.get(path, []))


REGISTERED = "已为您登记"


# -- driving dialogs, as WeCom does ------------------------------------------------------------------------
class Talk:
    """Text callbacks with known MsgIds; remembers which ones were acknowledged (HTTP 200)."""

    def __init__(self):
        self.acknowledged: dict[int, str] = {}
        self._ids = itertools.count(10**15 + secrets.randbelow(10**14) * 100)

    def new_id(self) -> int:
        return next(self._ids)

    def say(self, sender, user: str, content: str, msg_id: int | None = None):
        msg_id = self.new_id() if msg_id is None else msg_id
        reply = sender.text(user, content, msg_id=msg_id)
        if reply.status_code == 200:
            self.acknowledged[msg_id] = content
        return reply

    def ok(self, sender, user: str, content: str) -> str:
        reply = self.say(sender, user, content)
        assert reply.status_code == 200, (user, content, reply)
        assert reply.text, (user, content)
        return reply.text

    def to_confirmation(self, sender, user: str, first: str) -> str:
        return self.answer_until_confirmation(sender, user, self.ok(sender, user, first))

    def answer_until_confirmation(self, sender, user: str, reply: str) -> str:
        for _ in range(8):
            if "请您核对" in reply or "确认无误请回复" in reply:  # the summary, or a short reminder of it
                return reply
            answer = answer_for(reply)
            assert answer, f"unexpected prompt: {reply!r}"
            reply = self.ok(sender, user, answer)
        raise AssertionError(f"never reached the confirmation: {reply!r}")

    def complain(self, sender, user: str, first: str) -> str:
        """A whole intake dialog; returns the complaint's number."""
        return self.finish(sender, user, self.to_confirmation(sender, user, first))

    def finish(self, sender, user: str, reply: str) -> str:
        """Answer an open dialog from its last reply on, and confirm; returns the number."""
        self.answer_until_confirmation(sender, user, reply)
        reply = self.ok(sender, user, "确认")
        assert REGISTERED in reply, reply
        return NUMBER.search(reply).group()


def retry(talk: Talk, sender, user: str, content: str, msg_id: int, **kwargs):
    """WeCom re-sends the same callback (same MsgId) until it is acknowledged."""
    reply = retry_like_wecom(lambda: sender.text(user, content, msg_id=msg_id), **kwargs)
    talk.acknowledged[msg_id] = content
    return reply


def dialog_of(services, user: str):
    return DialogStore(services.redis, services.settings.redis_prefix, 3600).load(user)


def deliver_all(services, rounds: int = 50) -> None:
    worker = Worker(services)
    for _ in range(rounds):
        worker.run_once()
        if all(row.status != "pending" for row in outbox_rows(services)):
            return
    raise AssertionError("the outbox did not drain")


def assert_invariants(services, talk: Talk, fake_wecom) -> None:
    assert_acknowledged_are_logged(services, talk.acknowledged)
    assert_complaints_intact(services)
    deliver_all(services)
    assert_outbox_delivered_once(services, fake_wecom)
    doubled = {key: n for key, n in sent_counter(fake_wecom).items() if n > 1}
    assert not doubled, f"pushed more than once: {doubled}"


# -- reading the invariants -----------------------------------------------------------------------------------
def message_log(services, user: str | None = None) -> list[InboundMessage]:
    query = select(InboundMessage).order_by(InboundMessage.id)
    if user is not None:
        query = query.where(InboundMessage.from_user == user)
    return detached(services, query)


def logged_row(services, msg_id: int) -> InboundMessage | None:
    rows = detached(services, select(InboundMessage).where(InboundMessage.dedup_key == f"msg:{msg_id}"))
    return rows[0] if rows else None


def outbox_rows(services) -> list[OutboxMessage]:
    return detached(services, select(OutboxMessage).order_by(OutboxMessage.id))


def assert_refused_for_retry(reply) -> None:
    """A 503 with no passive reply and no trace: WeCom will try again."""
    assert reply.status_code == 503, reply
    body = reply.response.text
    assert "Traceback" not in body and not body.lstrip().startswith("<xml"), body


def assert_acknowledged_are_logged(services, acknowledged: dict[int, str]) -> None:
    """Every message answered with 200 is in the message log exactly once, handled."""
    rows = message_log(services)
    keys = Counter(row.dedup_key for row in rows)
    for msg_id, content in acknowledged.items():
        times = keys[f"msg:{msg_id}"]
        assert times == 1, f"acknowledged message {msg_id} ({content!r}) logged {times}×"
        row = next(row for row in rows if row.dedup_key == f"msg:{msg_id}")
        assert row.content == content and row.status == "handled", (row.content, row.status, row.error)


def assert_complaints_intact(services) -> None:
    """Each complaint's history starts with its registration (once), every
    status change starts from the status the previous one left, and the
    complaint's status is where the history ends."""
    for complaint in complaints_of(services):
        events = events_of(services, complaint.number)
        kinds = [event.kind for event in events]
        assert kinds and kinds[0] == "created" and kinds.count("created") == 1, (complaint.number, kinds)
        moves = [event for event in events if event.to_status]
        for previous, following in zip(moves, moves[1:]):
            if following.from_status is not None:
                assert following.from_status == previous.to_status, (complaint.number, kinds)
        assert moves[-1].to_status == complaint.status, (complaint.number, complaint.status, kinds)


def assert_outbox_delivered_once(services, fake_wecom) -> None:
    """Every queued message push was delivered, and exactly once (by WeCom's msgid record)."""
    sent_bodies = fake_wecom.sent()
    for row in outbox_rows(services):
        if row.kind != "message":
            continue
        assert row.status == "sent", (row.id, row.status, row.last_error)
        matching = [body for body in sent_bodies if _same_push(body, row.payload)]
        assert len(matching) >= 1, f"push #{row.id} never reached WeCom"


def _same_push(body: dict, payload: dict) -> bool:
    return all(body.get(key) == value for key, value in payload.items() if key != "agentid")


def sent_counter(fake_wecom) -> Counter:
    """(recipient, msgtype, content) of everything WeCom accepted, counted."""
    counter: Counter = Counter()
    for body in fake_wecom.sent():
        msgtype = body.get("msgtype")
        content = body.get(msgtype, {})
        key = content.get("content") if isinstance(content, dict) and "content" in content else repr(content)
        counter[(body.get("touser"), msgtype, key)] += 1
    return counter
