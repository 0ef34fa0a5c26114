"""The WeCom side of bench/load.py: simulated occupants, one thread each,
running whole intake dialogs with real encrypted callbacks, and the staff
member who accepts each registered complaint by clicking its card.

A generator process runs a group of users (run_group); bench/load.py starts
a few such processes so that the generator's own CPU does not serialise on
one GIL. Every request goes to the next server instance (round robin, no
stickiness), as a load balancer in front of several `serve` processes would.
"""
from __future__ import annotations

import http.client
import itertools
import random
import resource
import signal
import threading
import time
import urllib.parse
from dataclasses import dataclass, field

from bot.complaints import NUMBER_PATTERN
from bot.wecom.callback_sender import CallbackSender

# No place in them (the dialog asks for it, and the place decides the
# department) and nothing that might be an emergency (no extra question).
COMPLAINTS = (
    "水龙头坏了，关不上",
    "空调坏了，一点都不制冷",
    "房间里的灯不亮了，换了灯泡也不行",
    "暖气片一直不热，屋里很冷",
    "门锁坏了，钥匙拧不动",
    "洗手池堵了，水排不下去",
)
# How an occupant answers the bot's questions: what and where are asked for,
# the rest is offered in the summary, which one "确认" registers.
ANSWERS = (
    ("请您核对", "确认"),
    ("确认无误请回复", "确认"),
    ("是同一件事吗", "不是"),
    ("是不是正在发生", "不是"),
    ("还没提交的投诉", "重新开始"),
)
REGISTERED = ("已为您登记", "已立即通知")
MAX_TURNS = 10


@dataclass
class UserPlan:
    """One simulated occupant and the staff member of their department."""
    index: int
    occupant: str
    staff: str
    building: int
    response_codes: list[str]


@dataclass
class Job:
    """What one generator process runs: the same for every phase but `adaptive`.
    adaptive: follow the bot's questions (our app); otherwise send the same
    messages blindly (the baseline answers every message with one text)."""
    urls: list[str]
    token: str
    aes_key: str
    corp_id: str
    agent_id: int
    users: list[UserPlan]
    start_at: float  # time.time() when every user starts
    stop_at: float  # no request starts after this
    adaptive: bool
    think: float = 0.0  # seconds a user waits between messages, on average (0: none)
    timeout: float = 30.0


@dataclass
class GroupResult:
    # (started, seconds, error): started relative to start_at; error None when fine
    requests: list[tuple[float, float, str | None]] = field(default_factory=list)
    dialogs: int = 0  # registered (our app) or completed (baseline)
    stuck: int = 0  # the bot asked something no cue answers
    late: int = 0  # an empty reply mid-dialog: the answer came too late and went out as a push
    unexpected: list[str] = field(default_factory=list)  # a few of the stuck dialogs' last replies
    cpu_seconds: float = 0.0  # this generator process's own CPU time


class Stop(Exception):
    """The phase is over."""


class SimulatedUser:
    def __init__(self, job: Job, plan: UserPlan, result: GroupResult, lock: threading.Lock):
        self.job, self.plan = job, plan
        self.sender = CallbackSender(job.urls[0], job.token, job.aes_key, job.corp_id, job.agent_id,
                                     session=KeepAliveSession(), timeout=job.timeout)
        self.turn = itertools.count(plan.index)  # round robin, each user starting elsewhere
        self.codes = iter(plan.response_codes)
        self.requests: list[tuple[float, float, str | None]] = []
        self.failed = False  # the last request failed (counted as an error)
        self.dialogs = self.stuck = self.late = 0
        self.unexpected: list[str] = []
        self._result, self._lock = result, lock

    # -- one request ------------------------------------------------------
    def send(self, call) -> str | None:
        """Time one callback; returns the decrypted reply text (None if empty)."""
        if self.job.think:
            time.sleep(random.uniform(0.5, 1.5) * self.job.think)
        if time.time() >= self.job.stop_at:
            raise Stop
        self.sender.url = self.job.urls[next(self.turn) % len(self.job.urls)]
        started = time.perf_counter()
        error, text = None, None
        try:
            reply = call()
            elapsed = time.perf_counter() - started
            if reply.status_code != 200:
                error = f"HTTP {reply.status_code}"
            else:
                text = reply.text  # checks the signature and decrypts
        except Exception as exc:  # a timeout, a refused connection, a reply we cannot decrypt
            elapsed = time.perf_counter() - started
            error = type(exc).__name__
        self.requests.append((time.time() - elapsed - self.job.start_at, elapsed, error))
        self.failed = error is not None
        return text

    def say(self, text: str) -> str:
        return self.send(lambda: self.sender.text(self.plan.occupant, text)) or ""

    def click_accept(self, number: str) -> None:
        """受理 on the new complaint's card, at once: a card the worker has not
        sent yet is then superseded (never sent), which a real person, who
        clicks only a card they received, would not cause."""
        code = next(self.codes, "rc-bench-exhausted")
        self.send(lambda: self.sender.event(
            self.plan.staff, "template_card_event", EventKey=f"accept:{number}", TaskId=f"{number}-new-bench",
            CardType="button_interaction", ResponseCode=code))

    # -- whole dialogs ----------------------------------------------------
    def run(self) -> None:
        time.sleep(max(0.0, self.job.start_at - time.time()))
        try:
            for round_no in itertools.count():
                complaint = COMPLAINTS[(self.plan.index + round_no) % len(COMPLAINTS)]
                place = f"{self.plan.building}号楼{101 + round_no % 800}"
                dialog = self.adaptive_dialog if self.job.adaptive else self.scripted_dialog
                number = dialog(complaint, place)
                if number:
                    self.click_accept(number)
                    self.say(f"进度 {number}")
                    self.dialogs += 1
        except Stop:
            pass
        with self._lock:
            self._result.requests.extend(self.requests)
            self._result.dialogs += self.dialogs
            self._result.stuck += self.stuck
            self._result.late += self.late
            self._result.unexpected.extend(self.unexpected[:3 - len(self._result.unexpected)])

    def adaptive_dialog(self, complaint: str, place: str) -> str | None:
        """Answer whatever the bot asks until the complaint is registered."""
        reply = self.say(complaint)
        for _ in range(MAX_TURNS):
            found = NUMBER_PATTERN.search(reply)
            if found and any(mark in reply for mark in REGISTERED):
                return found.group()
            if not reply:  # failed, or answered after the reply budget (then pushed): cannot follow
                self.late += 0 if self.failed else 1
                break
            answer = place if "具体在什么地方" in reply else next(
                (answer for cue, answer in ANSWERS if cue in reply), None)
            if answer is None:
                self.stuck += 1
                self.unexpected.append(reply[:200])
                break
            reply = self.say(answer)
        else:
            self.stuck += 1
        self.say("取消")  # start the next dialog afresh
        return None

    def scripted_dialog(self, complaint: str, place: str) -> str:
        """The same messages our app's dialog takes, sent whatever the answer."""
        for text in (complaint, place, "确认"):
            self.say(text)
        return "TS20000101-001"


def init_generator() -> None:
    """A generator process ignores Ctrl+C: bench/load.py stops it and cleans up."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def run_group(job: Job) -> GroupResult:
    """Entry point of a generator process: all its users, until stop_at."""
    result, lock = GroupResult(), threading.Lock()
    cpu_before = _cpu_seconds()
    users = [SimulatedUser(job, plan, result, lock) for plan in job.users]
    threads = [threading.Thread(target=user.run, name=plan.occupant, daemon=True)
               for user, plan in zip(users, job.users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.cpu_seconds = _cpu_seconds() - cpu_before
    return result


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class _Response:
    def __init__(self, status_code: int, body: bytes):
        self.status_code = status_code
        self.text = body.decode("utf-8", errors="replace")


class KeepAliveSession:
    """The little of requests.Session that CallbackSender uses (post), on
    http.client with one kept-alive connection per server: about a quarter
    of the generator's CPU per callback, so the generator steals less of the
    machine from the servers it measures."""

    def __init__(self):
        self._connections: dict[str, http.client.HTTPConnection] = {}

    def post(self, url: str, params: dict, data: bytes, headers: dict, timeout: float) -> _Response:
        parts = urllib.parse.urlsplit(url)
        target = f"{parts.path}?{urllib.parse.urlencode(params)}"
        for attempt in (1, 2):
            connection = self._connections.get(parts.netloc)
            if connection is None:
                connection = self._connections[parts.netloc] = http.client.HTTPConnection(parts.netloc, timeout=timeout)
            try:
                connection.request("POST", target, body=data, headers=headers)
                response = connection.getresponse()
                return _Response(response.status, response.read())
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                connection.close()  # the server closed a kept-alive connection: once more on a new one
                del self._connections[parts.netloc]
                if attempt == 2:
                    raise
            except Exception:
                connection.close()
                del self._connections[parts.netloc]
                raise
