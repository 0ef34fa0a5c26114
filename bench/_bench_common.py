"""Helpers shared by bench/scheduler_sweep.py and bench/footprint.py: a
throwaway PostgreSQL database, a complete configuration, timing, tables
printed in Chinese and the --json report. Not a benchmark itself."""
from __future__ import annotations

import base64
import json
import os
import signal
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run from a checkout without installing

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
TOKEN = "benchtoken123"
AES_KEY = base64.b64encode(b"0123456789abcdef0123456789abcdef").decode().rstrip("=")
CORP_ID, SECRET, AGENT_ID = "ww_bench_corp", "bench-secret", 1000002

DIRECTORY = {
    "departments": [
        {"name": "工程维修部", "members": ["li.shifu", "zhang.shifu", "zhao.shifu"], "leader": "wang.zhuren"},
        {"name": "物业管理部", "members": ["sun.guanjia", "zhou.guanjia"], "leader": "qian.jingli"},
        {"name": "安全保卫部", "members": ["wu.baoan"], "leader": "zheng.kezhang"},
        {"name": "餐饮服务部", "members": ["feng.chushi"], "leader": "chen.jingli"},
        {"name": "客户服务中心", "members": ["kefu.liu", "kefu.ma"], "leader": "he.zhuren"},
    ],
    "supervisors": ["lin.lingdao"],
    "admins": ["admin.xu"],
    "customer_service": ["kefu.liu"],
    "duty": ["wu.baoan"],
}
ROUTING = {
    "by_category": {"房屋质量": "工程维修部", "设备设施": "工程维修部", "物业配套": "物业管理部",
                    "突发事件": "安全保卫部", "管理费用": "客户服务中心", "管理服务": "客户服务中心"},
    "default": "客户服务中心",
}


def add_server_options(parser) -> None:
    """The options every benchmark on the machine's servers takes."""
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL,
                        help="PostgreSQL server to use (a temporary database is created on it)")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL)
    parser.add_argument("--json", metavar="PATH", help="write the figures as JSON")


def unique_name(kind: str) -> str:
    return f"bench_{kind}_{uuid.uuid4().hex[:10]}"


def bench_config(api_base_url: str, database_url: str, redis_url: str, prefix: str, data_dir: str) -> dict:
    """A complete configuration (as in tests/conftest.py make_settings)."""
    return {
        "wecom": {"corp_id": CORP_ID, "agent_id": AGENT_ID, "secret": SECRET, "token": TOKEN,
                  "encoding_aes_key": AES_KEY, "api_base_url": api_base_url},
        "database_url": database_url,
        "redis_url": redis_url,
        "redis_prefix": prefix,
        "data_dir": data_dir,
        "service": {"name": "基准测试后勤中心", "phone": "010-11112222", "duty_phone": "010-99998888"},
        "directory": DIRECTORY,
        "routing": ROUTING,
        "console": {"secret_key": "bench-secret-key", "secure_cookies": False},
    }


# -- PostgreSQL -------------------------------------------------------------------
class TempDatabases:
    """Databases created on the server of `admin_url` for this run; all of
    them are dropped by close(), even when the run fails half way."""

    def __init__(self, admin_url: str):
        from sqlalchemy import create_engine
        from sqlalchemy.engine import make_url

        from bot.config import normalize_database_url

        self.admin_url = make_url(normalize_database_url(admin_url))
        if self.admin_url.get_backend_name() != "postgresql":
            raise SystemExit("只支持 PostgreSQL 地址（postgresql://用户@主机/库）")
        self._admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        self.names: list[str] = []

    def url(self, name: str) -> str:
        return self.admin_url.set(database=name).render_as_string(hide_password=False)

    def create(self, name: str, template: str | None = None) -> str:
        suffix = f' TEMPLATE "{template}"' if template else ""
        self._execute(f'CREATE DATABASE "{name}"{suffix}')
        self.names.append(name)
        return self.url(name)

    def drop(self, name: str) -> None:
        self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if name in self.names:
            self.names.remove(name)

    def close(self) -> None:
        for name in list(reversed(self.names)):
            try:
                self.drop(name)
            except Exception as error:  # keep dropping the others
                print(f"警告：删除临时数据库 {name} 失败：{error}", file=sys.stderr)
        self._admin.dispose()

    def _execute(self, sql: str) -> None:
        from sqlalchemy import text

        with self._admin.connect() as connection:
            connection.execute(text(sql))


def delete_redis_keys(redis_url: str, prefix: str) -> int:
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
        return len(keys)
    finally:
        client.close()


# -- timing -----------------------------------------------------------------------
def timed(func: Callable, *args, **kwargs):
    """(seconds, result) of one call."""
    start = time.perf_counter()
    result = func(*args, **kwargs)
    return time.perf_counter() - start, result


def median_seconds(func: Callable, repeat: int) -> float:
    """The median of `repeat` calls: robust against a noisy neighbour."""
    return statistics.median(timed(func)[0] for _ in range(repeat))


def ratio(value: float | None, baseline: float | None) -> float | None:
    if value is None or not baseline:
        return None
    return value / baseline


# -- output -----------------------------------------------------------------------
def _width(text: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def print_table(headers: list[str], rows: list[list]) -> None:
    """A plain table that lines up Chinese (double-width) characters."""
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [max(_width(str(h)), *(_width(row[i]) for row in cells)) for i, h in enumerate(headers)]

    def line(values):
        return "  ".join(value + " " * (widths[i] - _width(value)) if i == 0 else
                         " " * (widths[i] - _width(value)) + value for i, value in enumerate(values))

    print(line([str(h) for h in headers]))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print(line(row))


def _cell(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        if 0 < abs(value) < 0.01:
            return f"{value:.2g}"
        return f"{value:.3f}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def write_json(path: str | None, data: dict) -> None:
    if path:
        Path(path).write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
        print(f"\n结果已写入 {path}")


def exit_cleanly_on_sigterm() -> None:
    """SIGTERM (and SIGHUP) unwind like Ctrl-C, so every `finally` cleans up."""
    def _raise(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _raise)


def environment_note() -> str:
    return f"Python {sys.version.split()[0]}，CPU {os.cpu_count()} 核"
