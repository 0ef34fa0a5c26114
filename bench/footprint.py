"""Memory per process and start-up time of a multi-process deployment:
`complaint-bot serve --no-worker`, `complaint-bot worker` and
`complaint-bot scheduler`, started as real subprocesses.

    .venv/bin/python bench/footprint.py [--repeat 3] [--callbacks 200] [--json out.json]
        [--database-url postgresql://postgres@127.0.0.1:5432/test] [--redis-url redis://127.0.0.1:6379/0]

What it does
- Starts the project's fake WeCom API (bot.wecom.fake_server.FakeWeCom) in
  this process, creates a uniquely named PostgreSQL database and migrates it
  (as `complaint-bot db upgrade` would), writes a complete config.yaml to a
  temporary directory and passes it as COMPLAINT_BOT_CONFIG, with
  DATABASE_URL and REDIS_URL in the environment (Redis keys under a unique
  prefix).
- Start-up: spawn → /readyz answers 200 (serve), spawn → the "started" log
  line (worker, scheduler). --repeat processes of each kind are started one
  after another and stay up; the median is reported.
- Memory from /proc: RSS (VmRSS), PSS and USS (private pages, what the
  process alone costs) from smaps_rollup, after start-up and again after
  warming: --callbacks real encrypted callbacks per web process
  (bot.wecom.callback_sender.CallbackSender, complaint dialogs built from
  bot/classify/data/labelled/complaints.tsv), the worker delivering what they queued to the
  fake WeCom and the scheduler ticking every 2 s.
- Explains where it goes: separate short-lived probes time and measure
  importing the web stack, importing the bot's modules, jieba with its
  dictionary alone, and the bot's classifier (its own jieba tokenizer plus
  the user words), each against a bare interpreter.

Baseline (same run, same machine): a bare web process of the same kind —
Flask on waitress with wechatpy decrypting the same callbacks and answering a
fixed text (no storage, no dialog, no classifier). Start-up and memory are
reported as ratios to it, so the figures mean the same on any machine.
Everything started is stopped on exit (processes by their pid, the
database dropped, the Redis keys deleted, the temporary directory removed).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench_common import (AES_KEY, CORP_ID, ROOT, TOKEN, add_server_options,  # noqa: E402
                           TempDatabases, bench_config, delete_redis_keys, environment_note, exit_cleanly_on_sigterm,
                           print_table, ratio, unique_name, write_json)

import yaml  # noqa: E402

from bot.classify.evaluate import read_examples  # noqa: E402
from bot.db import Database  # noqa: E402
from bot.wecom.callback_sender import CallbackSender  # noqa: E402
from bot.wecom.fake_server import FakeWeCom  # noqa: E402

PYTHON = str(ROOT / ".venv" / "bin" / "python")
BOT = ROOT / ".venv" / "bin" / "complaint-bot"
READY_TIMEOUT = 60.0
STARTED_LINES = {"worker": "后台发送进程已启动", "scheduler": "定时任务进程已启动"}
DIALOG = ("3号楼201", "今天早上开始的", "没有照片", "确认")  # answers after the first message

# The baseline: a WeCom callback endpoint with nothing behind it.
BASELINE_APP = r"""
import os, sys
from flask import Flask, request
from waitress import serve
from wechatpy.enterprise import parse_message
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.enterprise.replies import TextReply

app = Flask(__name__)
crypto = WeChatCrypto(os.environ["WECOM_TOKEN"], os.environ["WECOM_ENCODING_AES_KEY"], os.environ["WECOM_CORP_ID"])

@app.get("/readyz")
def ready():
    return "ok"

@app.post("/wecom/callback")
def callback():
    a = request.args
    xml = crypto.decrypt_message(request.get_data(), a["msg_signature"], a["timestamp"], a["nonce"])
    reply = TextReply(content="收到，我来帮您登记。", message=parse_message(xml)).render()
    return crypto.encrypt_message(reply, a["nonce"], a["timestamp"])

serve(app, host="127.0.0.1", port=int(sys.argv[1]), threads=8, _quiet=True)
"""

# Where memory and start-up go: each probe runs one step in a fresh interpreter.
PROBE = r"""
import json, time
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
before = rss()
start = time.perf_counter()
{step}
print(json.dumps({{"seconds": time.perf_counter() - start, "rss_before": before, "rss_after": rss()}}))
"""
BOT_MODULES = "import bot.cli, bot.server, bot.worker, bot.scheduler"
CLASSIFIER = "from bot.classify import Classifier\nkept = Classifier.load()  # held, as the services hold it"
PROBES = (
    ("web", "Flask + waitress + wechatpy 导入", "import flask, waitress, wechatpy.enterprise.crypto"),
    ("bot_modules", "bot 全部模块导入（含 SQLAlchemy、Alembic 等；不含词典）", BOT_MODULES),
    ("jieba", "仅 jieba：导入 + 加载词典", "import jieba\nt = jieba.Tokenizer()\nt.initialize()"),
    ("classifier", "仅分类器：Classifier.load()（jieba 词典 + 用户词）", CLASSIFIER),
    ("bot_and_classifier", "bot 全部模块 + 分类器", f"{BOT_MODULES}\n{CLASSIFIER}"),
)


# -- processes ----------------------------------------------------------------------
@dataclass
class Started:
    kind: str
    process: subprocess.Popen
    port: int | None = None
    startup_seconds: float | None = None
    memory: dict = field(default_factory=dict)
    log: list = field(default_factory=list)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def command(kind: str, port: int | None) -> list[str]:
    if kind == "baseline":
        return [PYTHON, "-c", BASELINE_APP, str(port)]
    program = [str(BOT)] if BOT.exists() else [PYTHON, "-m", "bot.cli"]
    if kind == "serve":
        return [*program, "serve", "--no-worker", "--host", "127.0.0.1", "--port", str(port)]
    return [*program, kind]


def spawn(kind: str, env: dict, cwd: str, started_list: list) -> Started:
    """Start one process and wait until it is ready; the clock starts at spawn.
    It is put on `started_list` at once, so that cleanup finds it even if
    waiting is interrupted."""
    port = free_port() if kind in ("serve", "baseline") else None
    started = time.perf_counter()
    process = subprocess.Popen(command(kind, port), env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True, encoding="utf-8", errors="replace")
    item = Started(kind, process, port)
    started_list.append(item)
    ready_line = threading.Event()
    threading.Thread(target=drain, args=(item, STARTED_LINES.get(kind), ready_line), daemon=True).start()
    if port:
        wait_ready(item, lambda: http_ok(f"http://127.0.0.1:{port}/readyz"))
    else:
        wait_ready(item, ready_line.is_set)
    item.startup_seconds = time.perf_counter() - started
    return item


def drain(item: Started, marker: str | None, seen: threading.Event) -> None:
    """Read the process's log (so the pipe never fills); note the ready line."""
    for line in item.process.stderr:
        item.log = (item.log + [line.rstrip()])[-30:]
        if marker and marker in line:
            seen.set()


def wait_ready(item: Started, ready) -> None:
    deadline = time.perf_counter() + READY_TIMEOUT
    while not ready():
        if item.process.poll() is not None or time.perf_counter() > deadline:
            raise RuntimeError(f"{item.kind} 没有启动成功（退出码 {item.process.poll()}）：\n" + "\n".join(item.log))
        time.sleep(0.01)


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def stop(item: Started) -> None:
    """SIGTERM, then SIGKILL after 10 s; only this process, by its pid."""
    if item.process.poll() is None:
        item.process.terminate()
        try:
            item.process.wait(10)
        except subprocess.TimeoutExpired:
            item.process.kill()
            item.process.wait(5)


# -- memory -------------------------------------------------------------------------
def memory(pid: int) -> dict:
    """RSS and peak RSS from /proc/PID/status; PSS and USS (private pages)
    from /proc/PID/smaps_rollup. MB."""
    status = proc_fields(f"/proc/{pid}/status")
    rollup = proc_fields(f"/proc/{pid}/smaps_rollup")
    return {"rss_mb": status["VmRSS"] / 1024, "peak_rss_mb": status["VmHWM"] / 1024,
            "pss_mb": rollup["Pss"] / 1024,
            "uss_mb": (rollup["Private_Clean"] + rollup["Private_Dirty"]) / 1024}


def proc_fields(path: str) -> dict[str, int]:
    fields = {}
    with open(path, encoding="ascii") as handle:
        for line in handle:
            parts = line.split()
            if len(parts) >= 2 and parts[0].endswith(":") and parts[1].isdigit():
                fields[parts[0][:-1]] = int(parts[1])  # kB
    return fields


# -- warming ------------------------------------------------------------------------
def conversation(count: int) -> list[tuple[str, str]]:
    """(user, text): complaint dialogs, each opened by a sentence of the
    labelled set and answered like a cooperative occupant."""
    texts = [example.text for example in read_examples(ROOT / "bot" / "classify" / "data" / "labelled" / "complaints.tsv")]
    messages, user = [], 0
    while len(messages) < count:
        messages.append((f"bench.user{user}", texts[user % len(texts)]))
        messages += [(f"bench.user{user}", answer) for answer in DIALOG]
        user += 1
    return messages[:count]


def warm(item: Started, messages: list[tuple[str, str]], run_id: str) -> dict:
    sender = CallbackSender(f"http://127.0.0.1:{item.port}/wecom/callback", TOKEN, AES_KEY, CORP_ID)
    statuses, started = [], time.perf_counter()
    for user, text in messages:
        statuses.append(sender.text(f"{user}.{run_id}", text).status_code)
    return {"callbacks": len(statuses), "ok": statuses.count(200), "seconds": time.perf_counter() - started}


def wait_outbox_drained(url: str, timeout: float = 60.0) -> int:
    """Pending pushes left once the workers had time to deliver them."""
    database = Database(url)
    try:
        deadline = time.perf_counter() + timeout
        while True:
            with database.engine.connect() as connection:
                pending = connection.exec_driver_sql(
                    "SELECT count(*) FROM outbox WHERE status = 'pending'").scalar_one()
            if pending == 0 or time.perf_counter() > deadline:
                return pending
            time.sleep(0.5)
    finally:
        database.dispose()


# -- probes -------------------------------------------------------------------------
def probe(step: str, env: dict, repeat: int) -> dict:
    """Median of `repeat` fresh interpreters running one step; also the whole
    process's wall time from spawn to exit."""
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        output = subprocess.run([PYTHON, "-c", PROBE.format(step=step)], env=env, cwd=str(ROOT), check=True,
                                capture_output=True, text=True).stdout
        runs.append({**json.loads(output.strip().splitlines()[-1]), "wall": time.perf_counter() - started})
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def probes(env: dict, repeat: int) -> dict:
    print("  单项探测：Python 空解释器、各依赖导入、jieba 词典……", flush=True)
    result = {"python": probe("pass", env, repeat)}
    for key, _, step in PROBES:
        result[key] = probe(step, env, repeat)
    return result


# -- the run ------------------------------------------------------------------------
@dataclass
class Stack:
    """Everything this run started, stopped in reverse order."""
    databases: TempDatabases
    fake: FakeWeCom
    directory: str
    redis_url: str
    prefix: str
    processes: list = field(default_factory=list)

    def close(self) -> None:
        for item in reversed(self.processes):
            stop(item)
        self.fake.stop()
        self.databases.close()
        delete_redis_keys(self.redis_url, self.prefix)
        shutil.rmtree(self.directory, ignore_errors=True)


def open_stack(args) -> Stack:
    databases = TempDatabases(args.database_url)
    return Stack(databases, FakeWeCom(corp_id=CORP_ID, secret="bench-secret", agent_id=1000002).start(),
                 tempfile.mkdtemp(prefix="bench-footprint-"), args.redis_url, f"{unique_name('footprint')}:")


def prepare(stack: Stack) -> tuple[dict, str]:
    """A migrated database and the config file; returns (environment, database url)."""
    url = stack.databases.create(unique_name("footprint"))
    database = Database(url)
    try:
        database.upgrade()  # as `complaint-bot db upgrade` before a multi-process start
    finally:
        database.dispose()
    config = bench_config(stack.fake.base_url, url, stack.redis_url, stack.prefix, str(Path(stack.directory) / "data"))
    for key in ("database_url", "redis_url"):  # given in the environment, as in production
        del config[key]
    config.update(scheduler={"tick_seconds": 2}, outbox={"poll_seconds": 0.2})
    path = Path(stack.directory) / "config.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    env = {**os.environ, "COMPLAINT_BOT_CONFIG": str(path), "DATABASE_URL": url, "REDIS_URL": stack.redis_url,
           "WECOM_TOKEN": TOKEN, "WECOM_ENCODING_AES_KEY": AES_KEY, "WECOM_CORP_ID": CORP_ID,
           "PYTHONDONTWRITEBYTECODE": "1"}
    return env, url


def start_all(stack: Stack, env: dict, repeat: int) -> dict[str, list[Started]]:
    kinds: dict[str, list[Started]] = {}
    for kind in ("baseline", "serve", "worker", "scheduler"):
        kinds[kind] = []
        for number in range(repeat):
            item = spawn(kind, env, stack.directory, stack.processes)
            kinds[kind].append(item)
            time.sleep(0.5)  # let it settle before reading its memory
            item.memory["started"] = memory(item.process.pid)
            print(f"  启动 {kind} #{number + 1}：{item.startup_seconds:.2f} 秒，"
                  f"USS {item.memory['started']['uss_mb']:.0f} MB", flush=True)
    return kinds


def warm_all(kinds: dict, url: str, count: int) -> dict:
    messages = conversation(count)
    print(f"  预热：每个 Web 进程 {count} 条加密回调……", flush=True)
    results = {kind: [warm(item, messages, f"{kind}{n}") for n, item in enumerate(kinds[kind])]
               for kind in ("baseline", "serve")}
    pending = wait_outbox_drained(url)
    time.sleep(3)  # a scheduler tick or two more after the last push
    for items in kinds.values():
        for item in items:
            item.memory["warm"] = memory(item.process.pid)
    return {"callbacks": results, "outbox_pending_after": pending}


def summary(kinds: dict) -> dict:
    def median(items, stage, key):
        return statistics.median(item.memory[stage][key] for item in items)

    return {kind: {"startup_seconds": statistics.median(item.startup_seconds for item in items),
                   "startup_all": [item.startup_seconds for item in items],
                   **{f"{stage}_{key}": median(items, stage, key) for stage in ("started", "warm")
                      for key in ("rss_mb", "pss_mb", "uss_mb", "peak_rss_mb")}}
            for kind, items in kinds.items()}


# -- report -------------------------------------------------------------------------
NAMES = {"baseline": "基线：Flask+waitress+wechatpy", "serve": "serve --no-worker", "worker": "worker",
         "scheduler": "scheduler"}


def report(figures: dict, probe_figures: dict, warm_info: dict) -> None:
    base = figures["baseline"]
    print("\n== 启动时间与内存（各类进程取中位数）==")
    print_table(["进程", "启动 秒", "÷基线", "RSS 启动后", "USS 启动后", "RSS 预热后", "USS 预热后", "PSS 预热后",
                 "USS÷基线", "峰值 RSS"],
                [[NAMES[kind], f["startup_seconds"], ratio(f["startup_seconds"], base["startup_seconds"]),
                  f["started_rss_mb"], f["started_uss_mb"], f["warm_rss_mb"], f["warm_uss_mb"], f["warm_pss_mb"],
                  ratio(f["warm_uss_mb"], base["warm_uss_mb"]), f["warm_peak_rss_mb"]]
                 for kind, f in figures.items()])
    print("（内存单位 MB；USS = 进程独占的页，即多开一个进程实际多用的内存）")
    for kind in ("baseline", "serve"):
        done = warm_info["callbacks"][kind]
        ok = sum(r["ok"] for r in done)
        total = sum(r["callbacks"] for r in done)
        print(f"预热 {NAMES[kind]}：{ok}/{total} 条回调返回 200，平均 "
              f"{1000 * sum(r['seconds'] for r in done) / max(total, 1):.0f} 毫秒/条")
    print(f"预热后 outbox 尚未发出：{warm_info['outbox_pending_after']} 条")
    deployment = 2 * figures["serve"]["warm_uss_mb"] + figures["worker"]["warm_uss_mb"] + \
        figures["scheduler"]["warm_uss_mb"]
    print(f"典型部署（2 个 serve + 1 个 worker + 1 个 scheduler）独占内存合计约 {deployment:.0f} MB")
    report_probes(probe_figures, figures)


def report_probes(found: dict, figures: dict) -> None:
    serve = figures["serve"]
    print("\n== 时间和内存花在哪里：单项探测（每项一个新解释器，中位数）==")
    rows = [["空解释器", None, found["python"]["rss_after"], None, found["python"]["wall"], None]]
    for key, name, _ in PROBES:
        item = found[key]
        rows.append([name, item["seconds"], item["rss_after"], item["rss_after"] - item["rss_before"], item["wall"],
                     ratio(item["rss_after"], serve["started_rss_mb"])])
    print_table(["步骤", "耗时 秒", "RSS MB", "比空解释器多 MB", "进程总耗时 秒", "RSS÷serve 启动后"], rows)
    dictionary = found["classifier"]
    grown = dictionary["rss_after"] - dictionary["rss_before"]
    print(f"分类器（jieba 词典）：加载 {dictionary['seconds']:.2f} 秒、约 {grown:.0f} MB，"
          f"约占 serve 启动时间的 {ratio(dictionary['seconds'], serve['startup_seconds']):.0%}、"
          f"启动后 RSS 的 {ratio(grown, serve['started_rss_mb']):.0%}。")
    print("只有 serve 加载分类器（worker 和 scheduler 从不分类，Services.classifier 用到时才加载）："
          f"worker、scheduler 的 RSS 分别是 serve 的 {ratio(figures['worker']['started_rss_mb'], serve['started_rss_mb']):.0%}、"
          f"{ratio(figures['scheduler']['started_rss_mb'], serve['started_rss_mb']):.0%}。")


# -- main ---------------------------------------------------------------------------
def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_server_options(parser)
    parser.add_argument("--repeat", type=int, default=3, help="processes of each kind (and probe runs)")
    parser.add_argument("--callbacks", type=int, default=200, help="callbacks sent to each web process")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    exit_cleanly_on_sigterm()
    print(f"内存与启动基准：每类进程 {args.repeat} 个；{environment_note()}；"
          f"jieba 缓存 {'存在' if Path(tempfile.gettempdir(), 'jieba.cache').exists() else '不存在（首次加载更慢）'}")
    stack = None
    try:
        stack = open_stack(args)
        env, url = prepare(stack)
        probe_figures = probes(env, args.repeat)
        kinds = start_all(stack, env, args.repeat)
        warm_info = warm_all(kinds, url, args.callbacks)
        figures = summary(kinds)
        report(figures, probe_figures, warm_info)
        write_json(args.json, {"benchmark": "footprint", "args": vars(args), "processes": figures,
                               "probes": probe_figures, "warm": warm_info})
    except KeyboardInterrupt:
        print("\n已中断，正在清理……", file=sys.stderr)
        return 130
    finally:
        if stack:
            stack.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
