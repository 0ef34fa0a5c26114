"""Who counts as staff when WeCom's whole company is synced, and how long a
local administrator's console session lasts."""
from __future__ import annotations

from bot.directory import Directory
from bot.directory_sync import staff_departments, sync_directory
from tests.console_fixtures import CONSOLE, PASSWORD, Console, is_login_redirect
from tests.live_app import app_factory  # noqa: F401 (fixture)
from tests.test_directory import CLEANING, fill_contacts
from tests.workflow_fixtures import DIRECTORY, ENGINEERING


def test_a_sync_only_makes_staff_of_the_departments_the_routing_knows(services, fake_wecom):
    fill_contacts(fake_wecom)  # WeCom also lists 保洁绿化部, which neither config nor routing names
    wanted = staff_departments(services.settings)
    assert ENGINEERING in wanted and CLEANING not in wanted
    snapshot = sync_directory(services.wecom, services.redis, services.settings.redis_prefix, wanted)
    assert [d["name"] for d in snapshot["departments"]] == [ENGINEERING]
    assert "qian.ayi" not in snapshot["names"]  # only in 保洁绿化部: an occupant like everyone else
    settings = services.settings.directory.model_copy(update={"sync": services.settings.directory.sync.model_copy(
        update={"enabled": True})})
    assert not Directory.load(settings, services.redis, services.settings.redis_prefix).is_staff("qian.ayi")


def test_the_sync_list_can_name_the_departments(services):
    listed = services.settings.directory.sync.model_copy(update={"departments": [CLEANING]})
    settings = services.settings.model_copy(update={"directory": services.settings.directory.model_copy(
        update={"sync": listed})})
    assert staff_departments(settings) == {CLEANING}


def test_changing_the_admin_password_ends_the_sessions_it_opened(app_factory):
    console_options = {**CONSOLE, "console.secret_key": "shared-secret", "directory": DIRECTORY}
    first = app_factory(**console_options)
    console = Console(first.live.url)
    console.login_admin(PASSWORD)
    assert console.get("/console/").status_code == 200
    # The administrator changes the password and restarts; the old session no longer opens anything.
    second = app_factory(**{**console_options, "console.admin_password": "a-new-password"})
    stale = Console(second.live.url)
    stale.http.cookies.update(console.http.cookies)
    assert is_login_redirect(stale.get("/console/"))
    assert Console(second.live.url).login_admin("a-new-password").status_code == 302
