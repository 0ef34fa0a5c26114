"""The directory: who is on duty when (including a shift across midnight),
and what a sync of WeCom's contacts adds — with config.yaml winning where
both speak of the same department or person."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import yaml
from click.testing import CliRunner

from bot.cli import main as cli
from bot.config import DirectorySettings
from bot.directory import SYNCED_KEY, Directory
from bot.directory_sync import sync_directory
from tests.conftest import make_settings
from tests.wecom_fixtures import make_client
from tests.workflow_fixtures import (DIRECTORY, ENGINEERING, INVALID_REASONS, LEAK, LI, NAMES, OCCUPANT, ROUTING,
                                     SERVICE, WANG, ZHANG, cards, complaint_of, deliver, file_directly, say)

TZ = ZoneInfo("Asia/Shanghai")
CLEANING = "保洁绿化部"
ROSTER = DirectorySettings(
    duty=["always.on", "day.one"],
    duty_roster=[
        {"days": [1, 2, 3, 4, 5], "hours": "08:00-18:00", "people": ["day.one", "day.two"]},
        {"days": [5], "hours": "18:00-08:00", "people": ["friday.night"]},  # Friday night into Saturday
        {"days": [7], "hours": "22:00-06:00", "people": ["sunday.night"]},  # Sunday night into Monday
        {"days": [6, 7], "hours": "00:00-24:00", "people": ["weekend"]},
    ])


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A local moment in the week of Monday 23 November 2026 (day 23 = Monday … 29 = Sunday, 30 = Monday)."""
    return datetime(2026, 11, day, hour, minute, tzinfo=TZ)


@pytest.mark.parametrize("moment,expected", [
    (at(23, 10), ["always.on", "day.one", "day.two"]),  # Monday, office hours; listed once each
    (at(23, 7, 59), ["always.on", "day.one"]),  # before the day shift (Sunday's night ended at 06:00)
    (at(27, 17, 59), ["always.on", "day.one", "day.two"]),  # Friday, last minute of the day shift
    (at(27, 18), ["always.on", "day.one", "friday.night"]),  # the day shift ends where the night begins
    (at(27, 7, 59), ["always.on", "day.one"]),  # Friday early morning: Thursday has no night shift
    (at(28, 0, 0), ["always.on", "day.one", "friday.night", "weekend"]),  # Friday's shift past midnight
    (at(28, 7, 59), ["always.on", "day.one", "friday.night", "weekend"]),
    (at(28, 8, 0), ["always.on", "day.one", "weekend"]),  # Saturday 08:00: Friday's night is over
    (at(28, 18, 30), ["always.on", "day.one", "weekend"]),  # Saturday evening is no Friday night
    (at(29, 23, 59), ["always.on", "day.one", "sunday.night", "weekend"]),
    (at(30, 5, 59), ["always.on", "day.one", "sunday.night"]),  # Monday morning, from Sunday (7 → 1)
    (at(30, 6, 0), ["always.on", "day.one"]),
    (at(30, 8, 0), ["always.on", "day.one", "day.two"]),
])
def test_on_duty_by_weekday_and_hour(moment, expected):
    assert Directory(ROSTER).on_duty(moment) == expected


def test_without_a_roster_the_fixed_duty_list_is_always_on_duty():
    directory = Directory(DirectorySettings(duty=["wu.baoan"]))
    assert all(directory.on_duty(at(day, hour)) == ["wu.baoan"] for day in (23, 28, 29) for hour in (0, 12, 23))


# -- the WeCom sync --------------------------------------------------------------------------------------
def fill_contacts(fake_wecom) -> None:
    """WeCom's contacts: they disagree with config.yaml about 工程维修部."""
    fake_wecom.add_department(2, ENGINEERING)
    fake_wecom.add_department(3, CLEANING)
    fake_wecom.add_user(LI, "李四", [2], is_leader_in_dept=[1])  # config says wang.zhuren leads
    fake_wecom.add_user("sun.new", "孙新", [2])
    fake_wecom.add_user("zhao.baojie", "赵保洁", [3, 2], is_leader_in_dept=[1, 0])  # leads the cleaners only
    fake_wecom.add_user("qian.ayi", "钱阿姨", [3])


def test_a_sync_adds_departments_people_and_leaders_and_config_wins_on_conflicts(
        fake_wecom, redis_client, key_prefix):
    fill_contacts(fake_wecom)
    snapshot = sync_directory(make_client(fake_wecom, redis_client, key_prefix), redis_client, key_prefix)
    synced = {d["name"]: d for d in snapshot["departments"]}
    assert synced[CLEANING] == {"name": CLEANING, "members": ["zhao.baojie", "qian.ayi"], "leader": "zhao.baojie"}
    assert synced[ENGINEERING]["leader"] == LI and "sun.new" in synced[ENGINEERING]["members"]
    assert redis_client.get(key_prefix + SYNCED_KEY)

    settings = DirectorySettings(**{**DIRECTORY, "sync": {"enabled": True}})
    directory = Directory.load(settings, redis_client, key_prefix)
    assert directory.members_of(CLEANING) == ["zhao.baojie", "qian.ayi"]
    assert directory.leader_of(CLEANING) == "zhao.baojie"
    assert directory.members_of(ENGINEERING) == [LI, ZHANG] and directory.leader_of(ENGINEERING) == WANG
    assert directory.department(ENGINEERING).staff_words == ["维修工", "师傅"]
    assert directory.name_of(LI) == NAMES[LI] and directory.name_of("sun.new") == "孙新"
    assert directory.is_staff("qian.ayi") and directory.may_handle("qian.ayi", CLEANING)
    assert not directory.may_handle("qian.ayi", ENGINEERING)
    assert not directory.is_staff("sun.new")  # config's 工程维修部 does not list them
    assert directory.leader_of(ENGINEERING) == WANG

    # With the sync switched off, what it stored is not used.
    plain = Directory.load(DirectorySettings(**DIRECTORY), redis_client, key_prefix)
    assert plain.department(CLEANING) is None and not plain.is_staff("qian.ayi")
    assert plain.name_of("sun.new") == "sun.new"


@pytest.fixture
def settings(fake_wecom, database_url, key_prefix, tmp_path):
    """The workflow directory with the WeCom sync switched on."""
    return make_settings(fake_wecom, database_url, key_prefix, tmp_path / "data",
                         directory={**DIRECTORY, "sync": {"enabled": True}}, routing=ROUTING,
                         invalid_reasons=INVALID_REASONS)


def test_the_running_app_works_with_a_synced_department(wecom, services, worker, fake_wecom):
    fill_contacts(fake_wecom)
    number = file_directly(services, OCCUPANT, LEAK)
    assert "工作人员可用的命令" not in say(wecom, "qian.ayi", "帮助")  # not staff before the sync

    sync_directory(services.wecom, services.redis, services.settings.redis_prefix)
    assert say(wecom, "qian.ayi", "帮助").startswith("工作人员可用的命令")
    reply = say(wecom, LI, f"转派 {number} 保洁 卫生间地面积水属于保洁")
    assert reply == services.texts("staff_done_transfer", number=number, department=CLEANING)
    deliver(services, worker)
    assert len(cards(fake_wecom, "qian.ayi", number)) == 1 and len(cards(fake_wecom, "zhao.baojie", number)) == 1
    assert cards(fake_wecom, "sun.new", number) == []
    assert "已受理" in say(wecom, "qian.ayi", f"受理 {number}")
    complaint = complaint_of(services, number)
    assert (complaint.department, complaint.assignee) == (CLEANING, "qian.ayi")


def test_the_sync_command_stores_what_wecom_lists(services, settings, fake_wecom, redis_client, tmp_path):
    fill_contacts(fake_wecom)
    config = tmp_path / "config.yaml"
    data = settings.model_dump(mode="json")
    data["directory"]["sync"]["departments"] = [ENGINEERING, CLEANING]  # not the company's root department
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result = CliRunner().invoke(cli, ["directory", "sync", "--config", str(config)],
                                env={"DATABASE_URL": "", "REDIS_URL": "", "WECOM_API_BASE_URL": ""})
    assert result.exit_code == 0, result.output
    assert "已同步 2 个部门" in result.output  # 工程维修部, 保洁绿化部; the root's members stay occupants
    directory = services.directory()
    assert directory.members_of(CLEANING) == ["zhao.baojie", "qian.ayi"] and directory.name_of("qian.ayi") == "钱阿姨"
    assert directory.members_of(SERVICE) == DIRECTORY["departments"][1]["members"]
