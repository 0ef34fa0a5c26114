"""Load benchmark of the WeCom callback: how many callbacks per second our
deployment answers, and how fast, against the floor cost of any WeCom bot
in Python measured in the same run.

    .venv/bin/python bench/load.py                      # 50 users, 30 s per phase
    .venv/bin/python bench/load.py --users 50 --seconds 60 --json result.json
    .venv/bin/python bench/load.py --smoke              # a few seconds, for CI

What runs:
- Generator: N simulated occupants (threads spread over a few processes), each
  running whole intake dialogs with real encrypted callbacks (CallbackSender):
  complaint → place → since → no photos → no phone → confirm; then the staff
  member of that department clicks 受理 on the card (template_card_event), and
  the occupant asks 进度. Every request goes to the next server instance.
  Users send their next message as soon as the reply is in (a closed loop:
  the throughput is the most the deployment answers; --think adds pauses).
- Ours: `complaint-bot serve --no-worker` × --instances on waitress with
  --threads threads each, plus one `complaint-bot worker`, on real Redis (a
  prefix of the run's own) and real PostgreSQL (a database created for the
  run, `complaint-bot db upgrade`d, dropped afterwards); WeCom's API is the
  project's FakeWeCom. Configured by a temporary config.yaml plus environment.
- Baseline (bench/baseline_app.py): verify, decrypt, parse, encrypt a fixed
  reply with wechatpy — same number of waitress processes and threads, same load.
- Slow WeCom: the fake answers every API call after --slow-latency seconds
  while the same load runs: no callback may come near WeCom's 5-second limit,
  and the pushes queued meanwhile must go out once WeCom is fast again.

Reported per phase: callbacks/s, p50/p95/p99/max latency, errors (non-200 or
a reply that does not verify and decrypt), callbacks over 4 s, CPU by process
(cores, and milliseconds per callback, which other load on the machine
disturbs far less than throughput), and how long pushes took to go out;
and ours/baseline for throughput and p99 with the aims (≥ 1/3 of the floor's
throughput, p99 ≤ 250 ms at 50 users on 2 cores). Exit code 1 when a callback
failed, a dialog got stuck, a slow-phase callback took over 4 s or pushes
stayed undelivered; missing the aims does not fail the run (figures are noisy).
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import shutil
import signal
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

import _load_report as report  # noqa: E402
import _load_stack as stack_  # noqa: E402
from _load_users import Job, UserPlan, init_generator, run_group  # noqa: E402

from bot.models import utcnow  # noqa: E402
from bot.wecom.fake_server import FakeWeCom  # noqa: E402

DEFAULT_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="企业微信回调压测：本服务对比 wechatpy 基线，以及企业微信变慢时的表现。")
    parser.add_argument("--users", type=int, default=50, help="并发的模拟用户数（默认 50）")
    parser.add_argument("--seconds", type=float, default=30, help="每个阶段压多少秒（默认 30）")
    parser.add_argument("--think", type=float, default=0,
                        help="用户两条消息之间平均停顿的秒数（默认 0：尽快发，测吞吐；大于 0 时吞吐比值没有意义）")
    parser.add_argument("--warmup", type=float, default=3, help="每个阶段开头不计入结果的秒数（默认 3）")
    parser.add_argument("--instances", type=int, default=2, help="serve 进程数（基线同样多，默认 2）")
    parser.add_argument("--threads", type=int, default=8, help="每个进程的 waitress 线程数（默认 8）")
    parser.add_argument("--generators", type=int, default=2, help="压测进程数（默认 2）")
    parser.add_argument("--skip-baseline", action="store_true", help="不测基线")
    parser.add_argument("--skip-slow", action="store_true", help="不测企业微信变慢")
    parser.add_argument("--slow-seconds", type=float, default=20, help="企业微信变慢阶段的秒数（默认 20）")
    parser.add_argument("--slow-latency", type=float, default=10, help="变慢时每次接口调用的秒数（默认 10）")
    parser.add_argument("--drain-timeout", type=float, default=120, help="最多等推送发完多少秒（默认 120）")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE,
                        help="PostgreSQL 服务器（在其上新建一个库，用完删除）")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS, help="Redis（用唯一前缀，用完删除这些键）")
    parser.add_argument("--json", dest="json_path", help="把结果另存为 JSON 文件")
    parser.add_argument("--keep-logs", action="store_true", help="保留各进程的日志目录")
    parser.add_argument("--smoke", action="store_true", help="冒烟测试：3 个用户、3 秒、1 个进程、企业微信慢 2 秒")
    options = parser.parse_args(argv)
    if options.smoke:
        options.users, options.seconds, options.warmup, options.instances = 3, 3, 0.5, 1
        options.generators, options.slow_seconds, options.slow_latency, options.drain_timeout = 1, 3, 2, 30
    options.generators = max(1, min(options.generators, options.users))
    return options


def say(text: str) -> None:
    print(text, flush=True)


def _interrupt(*_):
    raise KeyboardInterrupt


# -- one phase of load -----------------------------------------------------------------
class Bench:
    def __init__(self, options, stack: ExitStack, workdir: Path):
        self.options, self.stack, self.workdir = options, stack, workdir
        self.fake = stack.enter_context(FakeWeCom(corp_id="ww_bench_corp", secret="bench-secret"))
        self.keys = stack_.Secrets.random()
        context = multiprocessing.get_context("spawn")
        self.pool = context.Pool(options.generators, initializer=init_generator)
        stack.callback(self.pool.terminate)

    def plans(self, phase: str, clicks: bool) -> list[UserPlan]:
        # Room for a click every quarter second per user: far more than a dialog allows.
        codes = int(self.options.seconds * 4) + 20 if clicks else 0
        return [UserPlan(index=i, occupant=f"bench.{phase}.occ{i + 1}", staff=stack_.staff_id(i),
                         building=stack_.building_of(i),
                         response_codes=[self.fake.new_response_code() for _ in range(codes)])
                for i in range(self.options.users)]

    def measure(self, name: str, label: str, servers, seconds: float, adaptive: bool,
                watched: dict) -> report.PhaseStats:
        say(f"· {label}：{self.options.users} 个用户压 {seconds:g} 秒……")
        plans = self.plans(name, clicks=adaptive)
        start_at = time.time() + 1.0
        jobs = [Job([s.url for s in servers], self.keys.token, self.keys.aes_key, self.fake.corp_id,
                    self.fake.agent_id, plans[g::self.options.generators], start_at, start_at + seconds, adaptive,
                    think=self.options.think)
                for g in range(self.options.generators)]
        pending = self.pool.map_async(run_group, jobs)
        time.sleep(max(0.0, start_at - time.time()))
        before = self._cpu(watched)
        groups = pending.get()
        wall = time.time() - start_at
        after = self._cpu(watched)
        cpu = {who: after[who] - before[who] for who in before}
        cpu["generator"] = sum(g.cpu_seconds for g in groups)
        requests = [r for g in groups for r in g.requests]
        return report.phase_stats(name, label, requests, self.options.warmup, seconds, groups, cpu, wall)

    @staticmethod
    def _cpu(watched: dict) -> dict[str, float]:
        seconds = {who: sum(p.cpu_seconds() for p in processes) for who, processes in watched.items()}
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return seconds | {"bench": usage.ru_utime + usage.ru_stime} | stack_.machine_cpu_seconds()

    def measure_ours(self, name: str, label: str, servers, seconds: float, ledger: stack_.Ledger, watched: dict,
                     before_drain=lambda: None) -> report.PhaseStats:
        """A phase against our service; then wait (bounded) until the pushes it
        queued went out, and note how long they took."""
        since = utcnow()
        stats = self.measure(name, label, servers, seconds, adaptive=True, watched=watched)
        until = utcnow()
        stats.extra["outbox_at_end"] = ledger.outbox(since)
        before_drain()
        say(f"  等待这期间入队的推送发出（最多 {self.options.drain_timeout:g} 秒）……")
        outbox, waited = ledger.wait_outbox_drained(since, self.options.drain_timeout)
        stats.extra.update(outbox=outbox, drain_s=round(waited, 1), push_delay=ledger.push_delays(since, until))
        return stats

    # -- the phases ----------------------------------------------------------------------
    def baseline(self) -> report.PhaseStats:
        env = {**os.environ, "WECOM_TOKEN": self.keys.token, "WECOM_ENCODING_AES_KEY": self.keys.aes_key,
               "WECOM_CORP_ID": self.fake.corp_id}
        with ExitStack() as phase:  # the baseline stops before our service starts
            servers = stack_.start_servers(phase, "baseline", self.options.instances, self.options.threads, env,
                                           self.workdir)
            return self.measure("baseline", "基线（wechatpy）", servers, self.options.seconds, adaptive=False,
                                watched={"servers": servers})

    def start_ours(self) -> tuple[list, stack_.Process, stack_.Ledger]:
        """A fresh database and Redis prefix, migrated; the serve instances and one worker."""
        o = self.options
        database_url = stack_.fresh_database(self.stack, o.database_url)
        prefix = stack_.fresh_redis_prefix(self.stack, o.redis_url)
        config = stack_.write_config(self.workdir, o.users, o.threads, prefix)
        env = stack_.environment(config, self.keys, self.fake, database_url, o.redis_url)
        say(f"  PostgreSQL 库 {database_url.rsplit('/', 1)[1]}、Redis 前缀 {prefix}（用完删除）；"
            "complaint-bot db upgrade……")
        stack_.run_once(stack_.CLI + ["db", "upgrade"], env, "complaint-bot db upgrade")
        servers = stack_.start_servers(self.stack, "ours", o.instances, o.threads, env, self.workdir)
        worker = stack_.start(self.stack, "worker", stack_.CLI + ["worker"], env, self.workdir)
        return servers, worker, stack_.Ledger(self.stack, database_url)

    def ours(self) -> tuple[list[report.PhaseStats], dict | None, dict]:
        servers, worker, ledger = self.start_ours()
        watched = {"servers": servers, "worker": [worker]}
        phases = [self.measure_ours("ours", "本服务", servers, self.options.seconds, ledger, watched)]
        slow = None
        if not self.options.skip_slow:
            phases.append(self.slow_wecom(servers, ledger, watched))
            slow = slow_summary(phases[-1], self.options.slow_latency, normal=phases[0])
        if worker.popen.poll() is not None:
            raise RuntimeError(f"worker 意外退出：\n{worker.tail()}")
        return phases, slow, {"complaints": ledger.complaints(), "messages": ledger.messages(),
                              "outbox": ledger.outbox()}

    def slow_wecom(self, servers, ledger: stack_.Ledger, watched: dict) -> report.PhaseStats:
        """The same load while every WeCom API call takes --slow-latency seconds;
        WeCom is fast again before the wait for the queued pushes."""
        self.fake.set_latency(self.options.slow_latency)
        try:
            return self.measure_ours("slow", "本服务·企业微信慢", servers, self.options.slow_seconds, ledger, watched,
                                     before_drain=lambda: self.fake.set_latency(0))
        finally:
            self.fake.set_latency(0)


def slow_summary(stats: report.PhaseStats, latency: float, normal: report.PhaseStats) -> dict:
    return {"latency": latency, "max_ms": stats.max_ms, "normal_max_ms": normal.max_ms, "over_4s": stats.over_4s,
            "errors": stats.errors,
            "outbox_at_end": stats.extra["outbox_at_end"], "outbox_after": stats.extra["outbox"],
            "waited": stats.extra["drain_s"]}


def run(options) -> int:
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started in the background
    workdir = Path(tempfile.mkdtemp(prefix="complaint-bot-load-"))
    keep = options.keep_logs
    try:
        with ExitStack() as stack:
            bench = Bench(options, stack, workdir)
            say(headline(options))
            phases = [] if options.skip_baseline else [bench.baseline()]
            ours, slow, ledger = bench.ours()
            phases += ours
            say("· 停止进程、删除数据库和 Redis 键……")
        publish(options, phases, slow, ledger)
        fine = healthy(phases, slow)
        keep = keep or not fine
        return 0 if fine else 1
    except KeyboardInterrupt:
        say("\n已中断，进程、数据库和 Redis 键都已清理。")
        return 130
    except Exception:
        keep = True
        raise
    finally:
        if keep:
            say(f"各进程的日志：{workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def headline(options) -> str:
    think = f"，每条消息前平均停顿 {options.think:g} 秒" if options.think else "，不停顿"
    return (f"后勤投诉助手 · 回调压测：{options.users} 个并发用户{think}，每阶段 {options.seconds:g} 秒"
            f"（前 {options.warmup:g} 秒预热不计），{options.instances} 个服务进程 × {options.threads} 线程，"
            f"{options.generators} 个压测进程，本机 {os.cpu_count()} 核")


def publish(options, phases: list[report.PhaseStats], slow: dict | None, ledger: dict) -> None:
    """The console report, and the JSON file when asked for."""
    baseline = next((p for p in phases if p.name == "baseline"), None)
    ours = next(p for p in phases if p.name == "ours")
    comparison = report.compare(ours, baseline)
    run_info = {key: getattr(options, key) for key in
                ("users", "seconds", "think", "warmup", "instances", "threads", "generators", "slow_seconds",
                 "slow_latency", "smoke")} | {"cores": os.cpu_count()}
    say("")
    say(report.render(run_info, phases, comparison, slow, ledger))
    if options.json_path:
        with open(options.json_path, "w", encoding="utf-8") as out:
            json.dump(report.as_json(run_info, phases, comparison, slow, ledger), out, ensure_ascii=False, indent=2)
        say(f"\n结果已写入 {options.json_path}")


def healthy(phases: list[report.PhaseStats], slow: dict | None) -> bool:
    fine = all(p.errors == 0 and p.stuck == 0 for p in phases)
    if slow:
        fine = fine and slow["over_4s"] == 0 and not slow["outbox_after"].get("pending") \
            and not slow["outbox_after"].get("failed")
    return fine


if __name__ == "__main__":
    raise SystemExit(run(parse_args()))
