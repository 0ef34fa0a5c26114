"""The console in a real browser: headless Chromium driven by Playwright
against the live server — log in with the local password, the dashboard's
charts drawn from real data, the list filtered by category, a complaint
opened and accepted with its button; a screenshot for people to look at.

Skipped only on a developer machine without /usr/bin/chromium; in CI (the
CI variable set) a missing browser is a failure."""
from __future__ import annotations

import os
import shutil

import pytest

from bot import complaints as c
from tests.console_fixtures import PASSWORD, settings
from tests.workflow_fixtures import complaint_of, events_of, file_directly

assert settings  # the console's settings (imported fixture)

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOT = "/tmp/console-dashboard.png"

if not os.path.exists(CHROMIUM) and not os.environ.get("CI"):
    pytest.skip(f"{CHROMIUM} 不存在（本机未安装 Chromium；CI 中此测试必须运行）", allow_module_level=True)

from playwright.sync_api import expect, sync_playwright  # noqa: E402  (only where a browser can run)


@pytest.fixture
def page():
    assert os.path.exists(CHROMIUM), f"CI 中必须有 {CHROMIUM}：.ci/run 应已安装 chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        finally:
            browser.close()


def test_log_in_read_the_dashboard_filter_open_and_accept(live, services, page, tmp_path):
    file_directly(services, "xue.yuan", "3号楼201卫生间水管漏水")
    file_directly(services, "lin.ju", "3号楼201洗手池堵了")  # the same place and kind: a hot spot
    lift = file_directly(services, "fang.ke", "4号楼电梯异响", category="设备设施", location="4号楼")
    aircon = file_directly(services, "xue.yuan", "5号楼302空调不制冷", category="设备设施", location="5号楼302")
    file_directly(services, "lin.ju", "前台办理入住太慢", category="管理服务", location="1号楼大厅")
    problems: list[str] = []  # script errors, console errors (a CSP violation is one), refused requests
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda message: problems.append(f"{message.text} @ {message.location.get('url')}")
            if message.type == "error" else None)
    page.on("response", lambda response: problems.append(f"{response.status} {response.url}")
            if response.status >= 400 else None)

    page.goto(f"{live.url}/console/")
    expect(page).to_have_url(f"{live.url}/console/login?next=/console/?")
    page.fill("input[name=password]", PASSWORD)
    page.click("form button:has-text('登录')")
    expect(page).to_have_url(f"{live.url}/console/")
    expect(page.locator("#fig-total")).to_have_text("5")

    page.wait_for_selector("#chart-category[data-rendered]")
    rendered = page.eval_on_selector_all(
        "canvas[data-key]", "cs => Object.fromEntries(cs.map(c => [c.dataset.key, Number(c.dataset.rendered)]))")
    assert rendered["category"] == 5 and rendered["trend"] == 5 and rendered["hotspots"] == 2, rendered
    drawn = [key for key, value in rendered.items() if value > 0]
    assert page.evaluate("window.consoleCharts.length") == len(drawn)
    for key in drawn:  # something was painted on each canvas that has data
        assert page.eval_on_selector(f"canvas[data-key={key}]", """c => c.width > 0 && c.height > 0 &&
            c.getContext('2d').getImageData(0, 0, c.width, c.height).data.some(v => v !== 0)"""), key
    page.screenshot(path=str(tmp_path / "console-dashboard.png"), full_page=True)
    shutil.copyfile(tmp_path / "console-dashboard.png", SCREENSHOT)

    page.click("nav >> text=投诉列表")
    page.select_option("select[name=category]", "设备设施")
    page.click("form.filters button:has-text('筛选')")
    expect(page.locator("h1 small")).to_have_text("共 2 条")
    rows = page.locator("table.list tbody tr")
    assert sorted(rows.locator("td:nth-child(1)").all_inner_texts()) == sorted([lift, aircon])
    assert rows.locator("td:nth-child(4)").all_inner_texts() == ["设备设施", "设备设施"]

    page.click(f"text={lift}")
    expect(page.locator("h1 .status")).to_have_text("待受理")
    page.click("button[data-action=accept]")
    expect(page.locator("h1 .status")).to_have_text("已受理")
    expect(page.locator("p.flash")).to_have_text(f"已受理：{lift}（现在：已受理）")
    expect(page.locator("button[data-action=accept]")).to_have_count(0)
    assert complaint_of(services, lift).status == c.ACCEPTED
    assert [e.actor for e in events_of(services, lift, "accept")] == ["本地管理员"]
    assert [p for p in problems if "favicon.ico" not in p] == []  # the browser asks for /favicon.ico itself
