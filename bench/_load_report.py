"""Figures of bench/load.py: per-phase statistics, the ours/baseline ratio,
whether the aims were met, and the Chinese console report."""
from __future__ import annotations

import math
import unicodedata
from dataclasses import asdict, dataclass, field

# The aims from the issue: at 50 concurrent users on 2 cores.
AIM_THROUGHPUT_SHARE = 1 / 3  # our throughput / the floor's
AIM_P99_MS = 250.0
WECOM_LIMIT_S = 5.0  # WeCom gives up on a callback after 5 s
NEAR_LIMIT_S = 4.0


@dataclass
class PhaseStats:
    name: str
    label: str
    requests: int  # counted: started after the warm-up
    all_requests: int  # including the warm-up
    seconds: float  # the counted window
    throughput: float  # callbacks per second
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    error_kinds: dict[str, int]
    over_4s: int
    dialogs: int
    stuck: int
    late: int
    unexpected: list[str]
    cpu: dict[str, float] = field(default_factory=dict)  # cores used on average, by who
    cpu_ms: dict[str, float] = field(default_factory=dict)  # CPU milliseconds per callback, by who
    extra: dict = field(default_factory=dict)


def percentile(sorted_values: list[float], share: float) -> float:
    """Nearest rank."""
    if not sorted_values:
        return 0.0
    return sorted_values[max(0, math.ceil(share * len(sorted_values)) - 1)]


CPU_ORDER = ("servers", "worker", "generator", "bench", "postgres", "redis", "other", "machine")


def phase_stats(name: str, label: str, requests, warmup: float, seconds: float, groups,
                cpu_seconds: dict[str, float], wall: float) -> PhaseStats:
    """cpu_seconds: CPU time by who over the whole phase (`wall` seconds, with
    the warm-up), as are the per-callback figures."""
    counted = [r for r in requests if warmup <= r[0] < seconds]
    latencies = sorted(r[1] * 1000 for r in counted)
    errors: dict[str, int] = {}
    for _, _, error in counted:
        if error:
            errors[error] = errors.get(error, 0) + 1
    window = max(seconds - warmup, 1e-9)
    cpu_seconds = dict(cpu_seconds)
    cpu_seconds["other"] = max(0.0, cpu_seconds["machine"] - sum(
        v for k, v in cpu_seconds.items() if k != "machine"))
    cpu_seconds = {k: cpu_seconds[k] for k in CPU_ORDER if k in cpu_seconds}
    return PhaseStats(
        name=name, label=label, requests=len(counted), all_requests=len(requests), seconds=window,
        throughput=len(counted) / window,
        p50_ms=percentile(latencies, 0.50), p95_ms=percentile(latencies, 0.95),
        p99_ms=percentile(latencies, 0.99), max_ms=latencies[-1] if latencies else 0.0,
        errors=sum(errors.values()), error_kinds=errors,
        over_4s=sum(1 for ms in latencies if ms > NEAR_LIMIT_S * 1000), dialogs=sum(g.dialogs for g in groups),
        stuck=sum(g.stuck for g in groups), late=sum(g.late for g in groups),
        unexpected=[text for g in groups for text in g.unexpected][:3],
        cpu={k: v / wall for k, v in cpu_seconds.items()},
        cpu_ms={k: 1000 * v / max(1, len(requests)) for k, v in cpu_seconds.items()})


@dataclass
class Comparison:
    throughput_ratio: float  # ours / baseline
    p99_ratio: float
    throughput_aim_met: bool
    p99_aim_met: bool


def compare(ours: PhaseStats, baseline: PhaseStats | None) -> Comparison | None:
    if baseline is None or not baseline.throughput or not baseline.p99_ms:
        return None
    return Comparison(throughput_ratio=ours.throughput / baseline.throughput, p99_ratio=ours.p99_ms / baseline.p99_ms,
                      throughput_aim_met=ours.throughput >= AIM_THROUGHPUT_SHARE * baseline.throughput,
                      p99_aim_met=ours.p99_ms <= AIM_P99_MS)


# -- the console report --------------------------------------------------------------------
def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _cell(text: str, width: int, right: bool = True) -> str:
    gap = " " * max(0, width - _width(text))
    return gap + text if right else text + gap


COLUMNS = (("阶段", 20), ("请求数", 8), ("条/秒", 8), ("p50 ms", 8), ("p95 ms", 8), ("p99 ms", 8),
           ("最大 ms", 9), ("错误", 6), (">4 秒", 6))


def table(phases: list[PhaseStats]) -> str:
    lines = ["".join(_cell(title, width, right=(i > 0)) for i, (title, width) in enumerate(COLUMNS))]
    for p in phases:
        values = (p.label, str(p.requests), f"{p.throughput:.1f}", f"{p.p50_ms:.0f}", f"{p.p95_ms:.0f}",
                  f"{p.p99_ms:.0f}", f"{p.max_ms:.0f}", str(p.errors), str(p.over_4s))
        lines.append("".join(_cell(v, width, right=(i > 0)) for i, (v, (_, width)) in enumerate(zip(values, COLUMNS))))
    return "\n".join(lines)


CPU_NAMES = {"servers": "服务进程", "worker": "worker", "generator": "压测进程", "bench": "压测主进程",
             "postgres": "PostgreSQL", "redis": "Redis", "other": "其他", "machine": "整机"}


def cpu_table(phases: list[PhaseStats]) -> str:
    """Cores used on average, and CPU milliseconds per callback, by who."""
    keys = [k for k in CPU_ORDER if any(k in p.cpu for p in phases)]
    head = _cell("", 20, right=False) + "".join(_cell(CPU_NAMES[k], 12) for k in keys)
    lines = [head]
    for p in phases:
        cores = "".join(_cell(f"{p.cpu[k]:.2f}" if k in p.cpu else "", 12) for k in keys)
        per_call = "".join(_cell(f"{p.cpu_ms[k]:.2f}" if k in p.cpu_ms else "", 12) for k in keys)
        lines.append(_cell(f"{p.label} 核", 20, right=False) + cores)
        lines.append(_cell("  ms/条", 20, right=False) + per_call)
    return "\n".join(lines)


OUTBOX_STATUSES = {"pending": "待发", "sent": "已发", "failed": "失败", "superseded": "已取代"}


def outbox_counts(counts: dict[str, int]) -> str:
    shown = [f"{OUTBOX_STATUSES.get(status, status)} {counts.get(status, 0)}" for status in ("pending", "sent")]
    shown += [f"{OUTBOX_STATUSES.get(status, status)} {n}" for status, n in sorted(counts.items())
              if status not in ("pending", "sent")]
    return "、".join(shown)


def yes(flag: bool) -> str:
    return "达到" if flag else "未达到"


def render(run: dict, phases: list[PhaseStats], comparison: Comparison | None, slow: dict | None,
           ledger: dict | None) -> str:
    out = [table(phases), ""]
    out += [f"{p.label} 的错误：" + "，".join(f"{k} × {n}" for k, n in sorted(p.error_kinds.items()))
            for p in phases if p.error_kinds]
    out += aim_lines(run, phases, comparison) + [""] + cpu_lines(run, phases)
    out += push_lines(phases) + dialog_lines(phases)
    if slow:
        out += [""] + slow_lines(slow)
    if ledger:
        out += ["", ledger_line(ledger)]
    return "\n".join(out)


def aim_lines(run: dict, phases: list[PhaseStats], comparison: Comparison | None) -> list[str]:
    if not comparison:
        return []
    ours = next(p for p in phases if p.name == "ours")
    throughput = ("吞吐由用户的停顿决定，不比较" if run["think"] else
                  f"吞吐 {comparison.throughput_ratio:.2f} 倍（目标 ≥ {AIM_THROUGHPUT_SHARE:.2f}，"
                  f"{yes(comparison.throughput_aim_met)}）")
    lines = [f"本服务/基线：{throughput}；p99 {comparison.p99_ratio:.1f} 倍"
             f"（本服务 p99 {ours.p99_ms:.0f} ms，目标 ≤ {AIM_P99_MS:.0f} ms，{yes(comparison.p99_aim_met)}）"]
    if run["users"] != 50:
        lines.append(f"注意：目标按 50 个并发用户定义，本次是 {run['users']} 个。")
    return lines


def cpu_lines(run: dict, phases: list[PhaseStats]) -> list[str]:
    cores = run["cores"]
    lines = [f"CPU：平均占用的核数（本机共 {cores} 核）与每条回调的 CPU 毫秒数。PostgreSQL、Redis 含同机"
             "其他使用者，“其他”是本机其余进程（别人的测试等）；压测主进程含模拟企业微信：", cpu_table(phases)]
    for p in phases:
        if p.cpu.get("generator", 0) >= p.cpu.get("servers", 0):
            lines.append(f"提示：{p.label}阶段压测进程用的 CPU 不少于服务进程，吞吐受压测进程限制。")
        if p.cpu.get("machine", 0) > 0.9 * cores and p.cpu.get("other", 0) > 0.25 * cores:
            lines.append(f"提示：{p.label}阶段整机 CPU 已满，其中 {p.cpu['other']:.2f} 核被本次压测以外的进程占用，"
                         "吞吐偏低、延迟偏高；每条回调的 CPU 毫秒数受此影响较小。")
    return lines


def push_lines(phases: list[PhaseStats]) -> list[str]:
    return [f"{p.label}：推送从入队到送达 p50 {d['p50_s']:.1f} 秒、p99 {d['p99_s']:.1f} 秒、"
            f"最长 {d['max_s']:.1f} 秒（{d['count']} 条）" for p in phases if (d := p.extra.get("push_delay"))]


def dialog_lines(phases: list[PhaseStats]) -> list[str]:
    lines = []
    for p in phases:
        if p.late:
            lines.append(f"{p.label}：{p.late} 次回复超出被动回复的时间预算（4 秒），改为主动推送"
                         "（被动回复为空），这次对话就此放弃。")
        if p.stuck:
            lines.append(f"{p.label}：{p.stuck} 次对话没能按预期走完（助手问了没有预设答案的问题），例如："
                         + " ｜ ".join(text.replace("\n", " ") for text in p.unexpected))
    return lines


def slow_lines(slow: dict) -> list[str]:
    at_end, after = slow["outbox_at_end"], slow["outbox_after"]
    delivered = not after.get("pending") and not after.get("failed")
    return [
        f"企业微信变慢（每次接口调用 {slow['latency']:g} 秒才回答）期间：最长回调 {slow['max_ms']:.0f} ms"
        f"（企业微信正常时 {slow['normal_max_ms']:.0f} ms），超过 {NEAR_LIMIT_S:g} 秒的回调 {slow['over_4s']} 条"
        + ("：回调不等企业微信接口。" if not slow["over_4s"]
           else f"——有回调接近或超过企业微信的 {WECOM_LIMIT_S:g} 秒时限！"),
        f"这期间入队的推送 {sum(at_end.values())} 条：阶段结束时 {outbox_counts(at_end)}；"
        f"企业微信恢复后等了 {slow['waited']:.0f} 秒：{outbox_counts(after)}" + ("，全部送达。" if delivered else "。"),
        "（“已取代”是还没发出就被人处理掉的卡片，按设计不再发送。）"]


def ledger_line(ledger: dict) -> str:
    complaints, messages = ledger["complaints"], ledger["messages"]
    return (f"数据库里：投诉 {sum(complaints.values())} 条（" + "，".join(f"{k} {v}" for k, v in sorted(complaints.items()))
            + "）；消息日志 " + "，".join(f"{k} {v}" for k, v in sorted(messages.items()))
            + "；outbox " + outbox_counts(ledger["outbox"]))


def as_json(run: dict, phases: list[PhaseStats], comparison: Comparison | None, slow: dict | None,
            ledger: dict | None) -> dict:
    return {"run": run, "phases": [asdict(p) for p in phases],
            "comparison": asdict(comparison) if comparison else None,
            "aims": {"throughput_share": AIM_THROUGHPUT_SHARE, "p99_ms": AIM_P99_MS},
            "slow_wecom": slow, "database": ledger}
