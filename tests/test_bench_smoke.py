"""The load benchmark keeps working: `bench/load.py --smoke` runs the whole
thing small (real serve and worker processes, the wechatpy baseline, a slow
WeCom phase) and exits 0 only when every callback was answered correctly,
none took 4 s, and every push went out. Figures are not judged here."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REDIS_URL, TEST_DATABASE_URL

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="the benchmark runs on PostgreSQL: once, in the PostgreSQL pass")
def test_the_load_benchmark_runs_clean_in_smoke_mode(tmp_path):
    result_path = tmp_path / "load.json"
    # Strip the test schema's search_path: the benchmark creates a database of its own on the same server.
    server_url = TEST_DATABASE_URL.split("?")[0]
    completed = subprocess.run(
        [sys.executable, "bench/load.py", "--smoke", "--database-url", server_url, "--redis-url", REDIS_URL,
         "--json", str(result_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    figures = json.loads(result_path.read_text(encoding="utf-8"))
    assert {phase["name"] for phase in figures["phases"]} >= {"baseline", "ours"}
    for phase in figures["phases"]:
        assert phase["requests"] > 0 and phase["errors"] == 0 and phase["stuck"] == 0, phase["name"]
    assert figures["slow_wecom"]["over_4s"] == 0 and "pending" not in figures["slow_wecom"]["outbox_after"]


def test_the_dialog_turns_benchmark_reports_every_group(tmp_path):
    conversations = tmp_path / "few.yaml"
    conversations.write_text("""
- {name: 一句说全, covers: two_turns, turns: ["3号楼201空调坏了", "确认"],
   outcome: {complaint: {location_has: ["3号楼201"]}}}
- {name: 缺地点, covers: partial, turns: ["空调坏了", "3号楼201", "确认"], outcome: {complaint: {category: 设备设施}}}
- {name: 含糊, covers: vague, turns: ["在吗", "空调坏了", "3号楼201", "确认"], outcome: {}}
""", encoding="utf-8")
    completed = subprocess.run([sys.executable, "bench/dialog_turns.py", "--file", str(conversations)], cwd=ROOT,
                               capture_output=True, text=True, timeout=120, env={**os.environ, "REDIS_URL": ""})
    assert completed.returncode == 0, completed.stderr[-3000:]
    lines = completed.stdout.splitlines()
    assert any(line.startswith("一句说全") and "2.00" in line and "100.0%（1/1）" in line for line in lines), lines
    assert any(line.startswith("缺一项") and "3.00" in line for line in lines), lines
    assert any(line.startswith("说得含糊") and "4.00" in line for line in lines), lines
