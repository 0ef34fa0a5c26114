"""The commands a new user tries first: classify, chat and demo."""
from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from bot.cli import main as cli

KEYS = {"category", "subcategory", "emergency", "location", "mood", "wants_compensation"}


def test_classify_reads_lines_and_writes_one_json_object_each():
    lines = "三号楼２０１卫生间漏水\n\n电梯里有人被困住了，快来人！\n前台工作人员态度很差\n"
    result = CliRunner().invoke(cli, ["classify"], input=lines)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    assert len(rows) == 3 and all(set(row) == KEYS for row in rows)
    assert rows[0]["location"] == "3号楼201卫生间" and rows[0]["emergency"] is False
    assert rows[1]["emergency"] is True and rows[1]["category"] == "突发事件"
    assert (rows[2]["category"], rows[2]["subcategory"]) == ("管理服务", "服务态度")


def test_chat_runs_the_real_dialog_in_the_terminal():
    script = "宿舍的空调坏了\n5号楼301\n/图片\n确认\n进度\n/退出\n"
    result = CliRunner().invoke(cli, ["chat", "--user", "term.user"], input=script)
    assert result.exit_code == 0, result.output
    assert "请问具体在什么地方" in result.output and "照片收到了（共 1 张）" in result.output
    assert "已为您登记，编号 TS" in result.output and "推送给" in result.output  # the department's card
    assert "您最近的投诉" in result.output


def test_chat_runs_on_the_configured_bot_not_on_the_demo_directory(tmp_path):
    base = (Path(__file__).parents[1] / "config.yaml").read_text(encoding="utf-8")
    config = tmp_path / "config.yaml"
    faq = ("faq:\n  - name: 游泳馆\n    keywords: [[游泳馆], [几点, 开门]]\n"
           "    answer: 游泳馆每天 14:00-21:00 开放（测试配置）。\n")
    config.write_text(base.replace("faq:\n", faq, 1) if "\nfaq:\n" in base else base + "\n" + faq, encoding="utf-8")
    script = "游泳馆几点开门？\n空调坏了\n5号楼301\n确认\n/退出\n"
    real_db = tmp_path / "real.db"
    result = CliRunner().invoke(cli, ["chat", "--config", str(config)], input=script,
                                env={"REDIS_URL": "", "DATABASE_URL": f"sqlite:///{real_db}"})
    assert result.exit_code == 0, result.output
    assert "游泳馆每天 14:00-21:00 开放（测试配置）" in result.output  # the configured FAQ
    assert "已为您登记，编号 TS" in result.output
    assert not real_db.exists()  # the configured database is not touched


def test_chat_names_the_config_error_and_exits_2(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("service:\n  phone: [not, a, phone]\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["chat", "--config", str(config)], input="/退出\n")
    assert result.exit_code == 2 and "service.phone" in result.output and "Traceback" not in result.output


def test_demo_tells_the_whole_story_and_exits_0():
    result = CliRunner().invoke(cli, ["demo"])
    assert result.exit_code == 0, result.output
    for shown in ("原样返回解密后的 echostr", "回复与第一次相同", "[点击卡片按钮“受理”]", "现在不能受理",
                  "驳回", "已同意", "处理完毕", "【时限提醒】", "【超时·第 1 级】", "【超时·第 2 级】", "回访",
                  "已重新打开", "【紧急】", "已撤销", "HTTP 403", "受理及时率", "管理后台：http://127.0.0.1:",
                  "已改好，地点：一食堂二楼", "食堂开放时间：早餐", "我们接着来"):
        assert shown in result.output, shown


def test_standalone_worker_and_scheduler_need_a_shared_redis(tmp_path):
    config = tmp_path / "config.yaml"
    database = f"sqlite:///{tmp_path / 'bot.db'}"
    config.write_text((Path(__file__).parents[1] / "config.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    env = {"DATABASE_URL": database, "REDIS_URL": ""}
    assert CliRunner().invoke(cli, ["db", "upgrade", "--config", str(config)], env=env).exit_code == 0
    for command, what in (("worker", "独立 worker"), ("scheduler", "独立的定时任务进程")):
        result = CliRunner().invoke(cli, [command, "--config", str(config)], env=env)
        assert result.exit_code != 0 and f"{what}需要共享的 Redis" in result.output


def test_an_unreachable_database_at_start_up_is_one_clear_line_not_a_traceback(tmp_path):
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = tmp_path / "config.yaml"
    config.write_text((Path(__file__).parents[1] / "config.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    env = {"DATABASE_URL": f"postgresql://postgres:hunter2@127.0.0.1:{port}/complaints", "REDIS_URL": ""}
    for command in (["db", "upgrade"], ["serve"]):
        result = CliRunner().invoke(cli, [*command, "--config", str(config)], env=env)
        assert result.exit_code == 2, result.output
        assert "无法使用数据库" in result.output and f"{config} 中的 database_url" in result.output
        assert "Traceback" not in result.output and "hunter2" not in result.output
