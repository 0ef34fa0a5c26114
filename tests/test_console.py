"""The web console on the live server, over real HTTP with a cookie-keeping
client: logins (local password, WeCom OAuth), who sees which complaints in
the list, the pages and the Excel export, filters and pages, the complaint
page (timeline, photos, visit, the actions this viewer may take), actions by
form POST doing exactly what the chat commands do, CSRF, escaping, cookies
and security headers — and the WeCom callback still working beside it."""
from __future__ import annotations

import io
import re
import uuid
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from bot import complaints as c
from bot.models import OutboxMessage
from tests.console_fixtures import (ALL_LABELS, ENGINEERING_LABELS, FORMULA, PHOTO, SERVICE_LABELS, XSS, XSS_PLACE,
                                    Console, action_buttons, chart_data, csrf_token, error_message, flashes,
                                    is_login_redirect, listed_numbers, logged_in, page_of,
                                    settings, status_shown, total_of, world)
from tests.live_app import app_factory
from tests.workflow_fixtures import (ADMIN, ENGINEERING, HE, KEFU, LEAK, LI, NAMES, OCCUPANT, SERVICE,
                                     SUPERVISOR, WANG, ZHANG, complaint_of, deliver, events_of, file_directly,
                                     say, texts)

assert settings and world and app_factory  # imported fixtures

CSRF_REFUSED = "页面已过期或来源不明，请返回刷新后再试。"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SEES = {  # who -> the complaints of the world they may see
    "admin": ALL_LABELS, SUPERVISOR: ALL_LABELS, ADMIN: ALL_LABELS,
    LI: ENGINEERING_LABELS, ZHANG: ENGINEERING_LABELS, WANG: ENGINEERING_LABELS,
    KEFU: tuple(label for label in SERVICE_LABELS if label != "attitude"),  # it is about his own department
    HE: SERVICE_LABELS,  # the leader of the department it is about
}


def location(response) -> str:
    """Where a redirect leads: a path (with its query, decoded) on this server, never another site."""
    target = urlsplit(response.headers["Location"])
    assert target.netloc in ("", urlsplit(response.url).netloc), response.headers["Location"]
    return unquote(target.path + (f"?{target.query}" if target.query else ""))


def export_rows(console: Console, **filters) -> list[tuple]:
    response = console.get("/console/complaints/export.xlsx", params=filters)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith(XLSX)
    sheet = load_workbook(io.BytesIO(response.content)).active
    header, *rows = sheet.iter_rows(values_only=True)
    assert header == ("编号", "登记时间", "状态", "类别", "子类", "地点", "负责部门", "紧急", "问题")
    return [tuple("" if value is None else value for value in row) for row in rows]


# -- nothing without a login -------------------------------------------------------------------------------
def test_no_page_is_reachable_without_a_login(world):
    anonymous = world.console()
    leak = world.n["leak"]
    for path in ("/console/", "/console/complaints", "/console/complaints?category=房屋质量",
                 "/console/complaints/export.xlsx", f"/console/complaints/{leak}",
                 f"/console/attachments/{world.photo}", "/console/attachments/999999",
                 "/console/complaints/TS20000101-999"):
        response = anonymous.get(path)
        assert is_login_redirect(response), (path, response.status_code)
        body = response.text  # only the redirect's own note, with the link back to what was asked for
        assert LEAK not in body and "3号楼201" not in body and "<table" not in body and PHOTO not in response.content
        assert parse_qs(urlsplit(response.headers["Location"]).query)["next"][0].startswith(path.split("?")[0])
    assert is_login_redirect(anonymous.get("/", allow_redirects=True).history[-1])

    # Acting: without a token the CSRF check refuses; with the anonymous page's token the login is missing.
    refused = anonymous.post(f"/console/complaints/{leak}/act", {"action": "accept"})
    assert refused.status_code == 400 and error_message(refused.text) == CSRF_REFUSED
    response = anonymous.post(f"/console/complaints/{leak}/act", {"action": "accept", "csrf_token": anonymous.token()})
    assert is_login_redirect(response)
    assert complaint_of(world.services, leak).status == c.PENDING


# -- the local administrator ---------------------------------------------------------------------------------
def test_the_local_administrator_password(world):
    console = world.console()
    assert console.post("/console/login", {"password": "pw"}).status_code == 400  # no CSRF token
    assert is_login_redirect(console.get("/console/"))
    refused = console.login_admin("wrong")
    assert is_login_redirect(refused)
    assert "密码不正确。" in flashes(console.page(location(refused)))
    assert is_login_redirect(console.get("/console/"))

    admitted = console.login_admin()
    assert admitted.status_code == 302 and location(admitted) == "/console/"
    dashboard = console.page("/console/")
    assert "本地管理员" in dashboard and "最近 30 天" in dashboard


@pytest.mark.parametrize("next_page, lands_on", [
    ("/console/complaints?category=设备设施", "/console/complaints?category=设备设施"),
    ("", "/console/"),
    ("https://evil.example/console/", "/console/"),
    ("//evil.example/console/", "/console/"),
    ("/wecom/callback", "/console/"),
])
def test_after_a_login_next_leads_only_to_a_console_page(world, next_page, lands_on):
    by_password = world.console().login_admin(next=next_page)
    assert by_password.status_code == 302
    by_wecom = world.console().login_wecom(world.fake, LI, next=next_page)
    assert by_wecom.status_code == 302
    for response in (by_password, by_wecom):
        assert location(response) == lands_on


def test_the_login_page_carries_next_from_the_page_asked_for(world):
    console = world.console()
    asked = console.get("/console/complaints", params={"category": "设备设施"})
    login_page = console.page(location(asked))
    next_page = re.search(r'name="next" value="([^"]*)"', login_page).group(1)
    response = console.post("/console/login", {"csrf_token": csrf_token(login_page), "password": "pw",
                                               "next": next_page})
    listed = console.page(location(response))
    assert "设备设施" in next_page and set(listed_numbers(listed)) == world.numbers("aircon", "plan", "late")


# -- WeCom OAuth -----------------------------------------------------------------------------------------------
def test_a_staff_member_logs_in_through_wecom(world):
    console = world.console()
    response = console.get("/console/login/wecom")
    target = urlsplit(response.headers["Location"])
    query = parse_qs(target.query)
    assert (target.scheme, target.netloc, target.path) == ("https", "open.weixin.qq.com", "/connect/oauth2/authorize")
    assert query["appid"] == [world.fake.corp_id] and query["agentid"] == [str(world.fake.agent_id)]
    assert query["redirect_uri"][0].endswith("/console/oauth") and query["scope"] == ["snsapi_base"]
    world.fake.add_oauth_code("code-li", LI)
    landed = console.oauth("code-li", query["state"][0])
    assert landed.status_code == 302 and location(landed) == "/console/"
    assert NAMES[LI] in console.page("/console/")


def test_the_oauth_state_is_required_bound_to_the_browser_and_single_use(world):
    console, other = world.console(), world.console()
    state, other_state = console.start_wecom(), other.start_wecom()
    codes = [f"state-{uuid.uuid4().hex[:8]}" for _ in range(4)]
    for code in codes:
        world.fake.add_oauth_code(code, LI)

    def refused(response) -> bool:
        return response.status_code == 400 and error_message(response.text) == "登录请求已失效，请重新登录。"

    assert refused(console.oauth(codes[0], None)) and refused(console.oauth(codes[0], ""))
    assert refused(world.console().oauth(codes[0], state))  # a browser that never started this login
    assert is_login_redirect(console.get("/console/"))
    assert location(console.oauth(codes[0], state)) == "/console/"
    assert console.get("/console/").status_code == 200
    assert refused(console.oauth(codes[1], state))  # used once already

    third = world.console()
    third_state = third.start_wecom()
    assert refused(third.oauth(codes[1], other_state))  # another browser's state…
    assert refused(third.oauth(codes[1], third_state))  # …and a failed attempt uses up the browser's own
    assert is_login_redirect(third.get("/console/"))
    assert location(other.oauth(codes[2], other_state)) == "/console/"  # unaffected by all this


def test_an_unknown_oauth_code_is_refused_in_chinese(world):
    console = world.console()
    response = console.oauth("no-such-code", console.start_wecom())
    assert response.status_code == 403 and error_message(response.text) == "企业微信登录失败，请重新登录。"
    assert is_login_redirect(console.get("/console/"))


def test_someone_not_in_the_staff_directory_is_refused(world):
    console = world.console()
    response = console.login_wecom(world.fake, OCCUPANT)
    assert response.status_code == 403 and error_message(response.text) == "您不在后勤工作人员名单中，无法使用管理后台。"
    assert is_login_redirect(console.get("/console/"))


def test_logging_out(world):
    console = world.console(LI)
    assert console.post("/console/logout").status_code == 400  # no CSRF token
    assert console.get("/console/").status_code == 200
    assert is_login_redirect(console.post("/console/logout", {"csrf_token": console.token("/console/")}))
    assert is_login_redirect(console.get("/console/"))


# -- who sees what ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("who", list(SEES))
def test_each_viewer_sees_exactly_the_complaints_of_their_scope_everywhere(world, who):
    console = world.console(who)
    visible = world.numbers(*SEES[who])
    hidden = set(world.n.values()) - visible

    listed = console.listed()
    assert sorted(listed) == sorted(visible) and len(listed) == len(set(listed))
    assert {row[0] for row in export_rows(console)} == visible
    for number in visible:
        assert number in console.page(f"/console/complaints/{number}")
    for number in hidden:
        response = console.get(f"/console/complaints/{number}")
        assert response.status_code == 404 and error_message(response.text) == "没有找到这个页面，或您没有查看它的权限。"
        assert number not in response.text
        assert export_rows(console, q=number) == []
    photo = console.get(f"/console/attachments/{world.photo}")  # the leak's photo
    assert photo.status_code == (200 if "leak" in SEES[who] else 404)
    recent = visible - world.numbers("old_a", "old_b")  # the dashboard covers 30 days
    dashboard = console.page("/console/")
    assert re.search(r'id="fig-total">(\d+)<', dashboard).group(1) == str(len(recent))
    assert sum(chart_data(dashboard)["category"]["values"]) == len(recent)


def test_a_service_attitude_complaint_is_hidden_from_the_staff_it_is_about(world):
    attitude = world.n["attitude"]
    member, leader = world.console(KEFU), world.console(HE)
    for filters in ({}, {"q": "态度"}, {"category": "管理服务"}, {"department": SERVICE}):
        assert attitude not in member.listed(**filters), filters
        assert attitude in leader.listed(**filters), filters
        assert attitude not in [row[0] for row in export_rows(member, **filters)]
    assert member.get(f"/console/complaints/{attitude}").status_code == 404
    assert member.act(attitude, "accept", token=member.token("/console/")).status_code == 404
    assert "前台客服态度很差" in leader.page(f"/console/complaints/{attitude}")
    assert complaint_of(world.services, attitude).status == c.PENDING


def test_filters_never_widen_what_a_staff_member_may_see(world):
    li, kefu = world.console(LI), world.console(KEFU)
    assert li.listed(department=SERVICE) == [] and export_rows(li, department=SERVICE) == []
    assert kefu.listed(q="空调") == [] and kefu.listed(category="设备设施") == []


# -- filters, pages, export --------------------------------------------------------------------------------------
@pytest.mark.parametrize("filters, labels", [
    ({"status": c.PENDING}, ("leak", "old_a", "old_b", "late", "desk", "attitude", "xss", "formula")),
    ({"status": c.SOLUTION_PENDING}, ("plan",)),
    ({"status": c.CLOSED}, ("aircon",)),
    ({"category": "设备设施"}, ("aircon", "plan", "late")),
    ({"category": "物业配套"}, ("xss", "formula")),
    ({"department": SERVICE}, SERVICE_LABELS),
    ({"department": ENGINEERING, "category": "房屋质量"}, ("leak", "old_a", "old_b")),
    ({"from": "2025-03-10", "to": "2025-03-10"}, ("old_b",)),  # 00:30 Beijing is still 09 March in UTC
    ({"from": "2025-03-09", "to": "2025-03-09"}, ("old_a",)),
    ({"to": "2025-03-31"}, ("old_a", "old_b")),
    ({"from": "2025-03-10"}, tuple(label for label in ALL_LABELS if label != "old_a")),
    ({"from": "not-a-date"}, ALL_LABELS),
    ({"overdue": "1"}, ("late",)),
    ({"q": "空调"}, ("aircon",)),
    ({"q": "1号楼大厅"}, ("desk", "attitude")),
    ({"q": "script"}, ("xss",)),
    ({"q": "2号楼", "status": c.PENDING, "category": "房屋质量", "to": "2025-03-09"}, ("old_a",)),
    ({"q": "没有这样的投诉"}, ()),
], ids=lambda value: "-".join(f"{k}={v}" for k, v in value.items()) if isinstance(value, dict) else None)
def test_the_list_filters(world, filters, labels):
    admin = world.console("admin")
    expected = world.numbers(*labels)
    numbers = admin.listed(**filters)
    assert sorted(numbers) == sorted(expected)
    assert total_of(admin.page("/console/complaints", **filters)) == len(expected)
    if not expected:
        assert "没有符合条件的投诉。" in admin.page("/console/complaints", **filters)


def test_a_search_by_number_finds_that_complaint(world):
    admin = world.console("admin")
    assert admin.listed(q=world.n["desk"]) == [world.n["desk"]]
    assert admin.listed(q=world.n["desk"].lower()) == [world.n["desk"]]


def test_the_list_is_paged_newest_first_and_the_pages_keep_the_filters(world):
    admin = world.console("admin")  # page_size is 5; the world has 10 complaints
    first = admin.page("/console/complaints")
    second = admin.page("/console/complaints", page=2)
    assert page_of(first) == (1, 2) and page_of(second) == (2, 2)
    assert len(listed_numbers(first)) == 5 and len(listed_numbers(second)) == 5
    everything = listed_numbers(first) + listed_numbers(second)
    assert sorted(everything) == sorted(world.n.values()) and everything == sorted(everything, reverse=True)
    assert '>下一页</a>' in first and '>上一页</a>' not in first
    assert '>上一页</a>' in second and '>下一页</a>' not in second

    engineering = admin.page("/console/complaints", department=ENGINEERING)  # 6 complaints: 5 + 1
    link = re.search(r'href="([^"]+)">下一页</a>', engineering).group(1)
    assert parse_qs(urlsplit(link.replace("&amp;", "&")).query) == {"department": [ENGINEERING], "page": ["2"]}
    assert len(listed_numbers(admin.page(link.replace("&amp;", "&")))) == 1

    assert listed_numbers(admin.page("/console/complaints", page="x")) == listed_numbers(first)
    beyond = admin.page("/console/complaints", page=9)  # past the end: the last page
    assert listed_numbers(beyond) == listed_numbers(admin.page("/console/complaints", page=2)) != []
    assert total_of(beyond) == 10


def test_the_export_holds_exactly_the_filtered_rows_on_every_page(world):
    admin = world.console("admin")
    filters = {"department": ENGINEERING, "category": "房屋质量"}
    rows = export_rows(admin, **filters, page=2)  # the page does not limit the export
    assert [row[0] for row in rows] == admin.listed(**filters)
    assert {row[0] for row in rows} == world.numbers("leak", "old_a", "old_b")
    by_number = {row[0]: row for row in rows}
    assert by_number[world.n["old_a"]][1:] == ("2025-03-09 23:30", "待受理", "房屋质量", "", "2号楼107",
                                               ENGINEERING, "", "2号楼107门锁坏了")
    response = admin.get("/console/complaints/export.xlsx", params=filters)
    assert "attachment" in response.headers["Content-Disposition"]

    for filters, labels in (({"status": c.CLOSED}, ("aircon",)), ({"overdue": "1"}, ("late",)),
                            ({"from": "2025-03-10", "to": "2025-03-10"}, ("old_b",))):
        assert {row[0] for row in export_rows(admin, **filters)} == world.numbers(*labels), filters


def test_the_export_keeps_text_that_looks_like_a_formula_as_text(world):
    response = world.console("admin").get("/console/complaints/export.xlsx", params={"q": "HYPERLINK"})
    sheet = load_workbook(io.BytesIO(response.content)).active
    cell = sheet.cell(row=2, column=9)
    assert cell.value == FORMULA and cell.data_type == "s"


# -- the dashboard -----------------------------------------------------------------------------------------------
def test_the_dashboard_counts_the_last_30_days(world):
    admin = world.console("admin").page("/console/")
    charts = chart_data(admin)
    by_category = dict(zip(charts["category"]["labels"], charts["category"]["values"]))
    assert {k: v for k, v in by_category.items() if v} == {"房屋质量": 1, "设备设施": 3, "管理服务": 2, "物业配套": 2}
    assert sum(charts["trend"]["values"]) == 8 and len(charts["trend"]["values"]) == 30
    assert charts["satisfaction"]["values"] == [0, 0, 0, 0, 1]
    assert charts["hotspots"] == {"labels": ["1号楼大厅·管理服务", f"{XSS_PLACE}·物业配套"], "values": [2, 2]}
    assert re.search(r'<b>(\d+)</b><span><a href="/console/complaints\?overdue=1">超时', admin).group(1) == "1"

    kefu = chart_data(world.console(KEFU).page("/console/"))
    assert {k: v for k, v in zip(kefu["category"]["labels"], kefu["category"]["values"]) if v} == \
        {"管理服务": 1, "物业配套": 2}


# -- the complaint page ------------------------------------------------------------------------------------------
def timeline(page: str) -> list[tuple[str, str]]:
    return [(who, what.strip()) for who, what in
            re.findall(r"<li><time>[^<]+</time>\s*<b>([^<]*)</b>\s*([^<：]+)", page)]


def test_the_complaint_page_shows_the_timeline_and_the_visit(world):
    page = world.console(LI).page(f"/console/complaints/{world.n['aircon']}")
    assert status_shown(page) == "已关闭"
    steps = [step for step in timeline(page) if step[1] != "恢复计时"]
    assert steps[:5] == [("投诉人", "登记投诉"), (NAMES[LI], "受理"), (NAMES[LI], "提出处理方案"),
                         (NAMES[SUPERVISOR], "领导批准方案"), (NAMES[LI], "处理完成")]
    assert [what for _, what in steps[5:]] == ["回访答复", "结案"]
    assert "已更换压缩机，试机制冷正常" in page and "更换压缩机" in page
    visit = re.search(r"<h2>回访</h2>(.*?)</section>", page, re.S).group(1)
    assert "已答复" in visit and "评分 5 分" in visit and "已解决" in visit and "非常满意，师傅很负责" in visit
    assert action_buttons(page) == [] and "您现在可以" not in page


def test_the_complaint_page_shows_the_photo(world):
    page = world.console(WANG).page(f"/console/complaints/{world.n['leak']}")
    assert f'<img src="/console/attachments/{world.photo}"' in page
    assert f'<a class="file" href="/console/attachments/{world.html_file}">' in page  # a link, not an image
    assert f'<img src="/console/attachments/{world.html_file}"' not in page
    assert [what for _, what in timeline(page)][:2] == ["登记投诉", "补充附件"]
    assert LEAK in page and "3号楼201" in page


@pytest.mark.parametrize("who", ["admin", LI, WANG, SUPERVISOR])
def test_a_photo_is_served_to_those_who_may_see_its_complaint(world, who):
    response = world.console(who).get(f"/console/attachments/{world.photo}")
    assert response.status_code == 200 and response.content == PHOTO
    assert response.headers["Content-Type"] == "image/jpeg"


@pytest.mark.parametrize("who", [KEFU, HE])
def test_a_photo_is_not_served_to_anyone_else(world, who):
    console = world.console(who)
    for attachment in (world.photo, world.html_file, 999999):
        response = console.get(f"/console/attachments/{attachment}")
        assert response.status_code == 404 and PHOTO not in response.content, attachment


def test_a_file_that_is_not_an_image_is_only_offered_as_a_download(world):
    response = world.console(LI).get(f"/console/attachments/{world.html_file}")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert not response.headers["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("label, offered", [
    ("leak", {"admin": ["accept", "invalid", "transfer"], LI: ["accept", "invalid", "transfer"],
              WANG: ["accept", "invalid", "transfer"], SUPERVISOR: ["accept", "invalid", "transfer"],
              ADMIN: ["accept", "invalid", "transfer"]}),
    ("plan", {"admin": ["approve", "reject"], LI: [], WANG: [], SUPERVISOR: ["approve", "reject"],
              ADMIN: ["approve", "reject"]}),
    ("attitude", {HE: ["accept", "invalid", "transfer"], SUPERVISOR: ["accept", "invalid", "transfer"]}),
    ("aircon", {"admin": [], LI: [], SUPERVISOR: []}),
])
def test_the_page_offers_only_the_actions_this_viewer_may_take_now(world, label, offered):
    for who, actions in offered.items():
        page = world.console(who).page(f"/console/complaints/{world.n[label]}")
        assert action_buttons(page) == actions, who
        assert ('name="department"' in page) == ("transfer" in actions), who


# -- escaping and headers ----------------------------------------------------------------------------------------
def test_what_people_wrote_is_shown_as_text(world):
    admin = world.console("admin")
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;&lt;b&gt;x&lt;/b&gt;"
    for page in (admin.page(f"/console/complaints/{world.n['xss']}"), admin.page("/console/complaints"),
                 admin.page("/console/complaints", q="script")):
        assert XSS not in page and "<script>alert" not in page and "<b>x</b>" not in page and "<i>8号楼" not in page
        assert escaped in page and "&lt;i&gt;8号楼&lt;/i&gt;" in page
    dashboard = admin.page("/console/")
    assert "<i>8号楼" not in dashboard and f"{XSS_PLACE}·物业配套" in chart_data(dashboard)["hotspots"]["labels"]


def test_security_headers(world):
    admin = world.console("admin")
    for response in (admin.get("/console/login"), admin.get("/console/"), admin.get("/console/complaints"),
                     admin.get("/console/complaints/TS20000101-999"), world.console().get("/console/")):
        assert response.headers["X-Frame-Options"] == "DENY", response.url
        assert response.headers["X-Content-Type-Options"] == "nosniff", response.url
        policy = response.headers["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "script-src 'self'" in policy and "unsafe-inline" not in policy
        assert "frame-ancestors 'none'" in policy
    health = world.console().get("/healthz")
    assert health.headers["X-Frame-Options"] == "DENY" and health.headers["X-Content-Type-Options"] == "nosniff"


def test_session_cookies_without_the_secure_flag_when_it_is_turned_off(world):
    cookie = world.console().get("/console/login").headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_session_cookies_are_secure_httponly_and_samesite_lax(app_factory):
    app = app_factory(**{"console.admin_password": "pw", "console.secure_cookies": True})
    response = Console(app.url).get("/console/login")
    cookie = response.headers["Set-Cookie"]
    flags = {part.strip().split("=")[0].lower(): part.strip() for part in cookie.split(";")}
    assert cookie.startswith("session=")
    assert "secure" in flags and "httponly" in flags and flags["samesite"] == "SameSite=Lax"


def test_the_wecom_callback_works_beside_the_csrf_protection(world):
    reply = world.sender.text(LI, "帮助")
    assert reply.status_code == 200 and reply.text.startswith("工作人员可用的命令")
    assert world.sender.verify_url("console-echo").text == "console-echo"


# -- actions (each test on a fresh app) --------------------------------------------------------------------------
ACTIONS = {  # action -> (the console form's fields, the chat command after the number)
    "accept": ({}, ""),
    "invalid": ({"text": "经现场核实，设施运行正常"}, "经现场核实，设施运行正常"),
    "transfer": ({"text": "属于客服中心的设施", "department": SERVICE}, f"{SERVICE} 属于客服中心的设施"),
}
WORDS = {"accept": "受理", "invalid": "不成立", "transfer": "转派"}
STATUS_AFTER = {"accept": c.ACCEPTED, "invalid": c.INVALID, "transfer": c.PENDING}


def outbox_after(services, after_id: int, number: str) -> list[tuple[str, str]]:
    with services.db.session() as session:
        rows = session.execute(select(OutboxMessage).where(OutboxMessage.id > after_id)
                               .order_by(OutboxMessage.id)).scalars().all()
        return sorted((row.kind, row.recipient or "") for row in rows
                      if number in repr(row.payload) or number in (row.task_id or ""))


def last_outbox_id(services) -> int:
    with services.db.session() as session:
        return session.execute(select(OutboxMessage.id).order_by(OutboxMessage.id.desc()).limit(1)).scalar() or 0


def recorded(services, number: str, kind: str) -> list[tuple]:
    return [(e.actor, e.from_status, e.to_status, e.comment, e.data) for e in events_of(services, number, kind)]


@pytest.mark.parametrize("action", list(ACTIONS))
def test_an_action_from_the_console_does_exactly_what_the_chat_command_does(live, wecom, services, worker,
                                                                           fake_wecom, action):
    by_form = file_directly(services, OCCUPANT, LEAK)
    by_chat = file_directly(services, OCCUPANT, "5号楼302的门锁坏了", location="5号楼302")
    deliver(services, worker)
    li = logged_in(live.url, LI, fake_wecom)
    form, rest = ACTIONS[action]

    mark = last_outbox_id(services)
    response = li.act(by_form, action, **form)
    # After a transfer the complaint is another department's: back to the list.
    assert location(response) == ("/console/complaints" if action == "transfer" else f"/console/complaints/{by_form}")
    form_outbox = outbox_after(services, mark, by_form)
    mark = last_outbox_id(services)
    say(wecom, LI, f"{WORDS[action]} {by_chat} {rest}".strip())
    chat_outbox = outbox_after(services, mark, by_chat)

    after_form, after_chat = complaint_of(services, by_form), complaint_of(services, by_chat)
    assert after_form.status == after_chat.status == STATUS_AFTER[action]
    assert (after_form.department, after_form.assignee) == (after_chat.department, after_chat.assignee)
    assert recorded(services, by_form, action) == recorded(services, by_chat, action) != []
    assert form_outbox == chat_outbox and any(recipient == OCCUPANT for _, recipient in form_outbox)
    deliver(services, worker)
    told = [t.replace(by_form, "N") for t in texts(fake_wecom, OCCUPANT, by_form)]
    assert told and told == [t.replace(by_chat, "N") for t in texts(fake_wecom, OCCUPANT, by_chat)]
    page = li.page(location(response))
    assert flashes(page) == [f"已{WORDS[action]}：{by_form}（现在：{c.status_label(STATUS_AFTER[action])}）"]
    if action == "transfer":
        assert after_form.department == SERVICE and by_form not in listed_numbers(page)
        assert li.get(f"/console/complaints/{by_form}").status_code == 404
        assert by_form in logged_in(live.url, KEFU, fake_wecom).listed()
    else:
        assert status_shown(page) == c.status_label(STATUS_AFTER[action])


def test_a_whole_run_through_the_console(live, services, worker, fake_wecom):
    number = file_directly(services, OCCUPANT, LEAK)
    li, supervisor, admin = (logged_in(live.url, who, fake_wecom) for who in (LI, SUPERVISOR, "admin"))
    for console, action, text, status in (
            (li, "accept", None, c.ACCEPTED), (li, "cause", "接口老化松动", c.CAUSE_FOUND),
            (li, "solution", "更换接口", c.SOLUTION_PENDING), (supervisor, "reject", "请同时检查楼下", c.SOLUTION_REJECTED),
            (li, "solution", "更换接口并检查楼下", c.SOLUTION_PENDING), (admin, "approve", None, c.IN_PROGRESS),
            (li, "wait", "等厂家配件", c.WAITING), (li, "resume", None, c.IN_PROGRESS),
            (li, "complete", "已更换接口，试水无渗漏", c.RESOLVED)):
        page = console.page(location(console.act(number, action, text)))
        assert status_shown(page) == c.status_label(status), action
        assert complaint_of(services, number).status == status, action
    assert [e.kind for e in events_of(services, number) if e.kind != "clock_resumed"] == [
        "created", "accept", "cause", "solution", "reject", "solution", "approve", "wait", "resume", "complete"]
    assert [e.actor for e in events_of(services, number, "approve")] == ["本地管理员"]
    deliver(services, worker)
    told = texts(fake_wecom, OCCUPANT, number)
    assert any("更换接口并检查楼下" in t for t in told) and any("已更换接口，试水无渗漏" in t for t in told)


def test_a_refused_action_shows_the_reason_in_chinese_and_changes_nothing(live, services, fake_wecom):
    number = file_directly(services, OCCUPANT, LEAK)
    li, wang, kefu, admin = (logged_in(live.url, who, fake_wecom) for who in (LI, WANG, KEFU, "admin"))
    before_events, before_outbox = len(events_of(services, number)), last_outbox_id(services)

    page = admin.page(location(admin.act(number, "approve")))
    assert flashes(page) == [services.texts("wrong_state", number=number, action="同意", status="待受理",
                                            who="其他同事")]
    page = li.page(location(li.act(number, "invalid", "  ")))
    assert flashes(page) == [services.texts("needs_text", action="不成立", number=number)]
    page = li.page(location(li.act(number, "transfer", "转给客服")))
    assert flashes(page) == [services.texts("needs_department", known=f"{ENGINEERING}、{SERVICE}")]
    assert kefu.act(number, "accept", token=kefu.token("/console/")).status_code == 404
    assert li.act(number, "fly").status_code == 400
    assert complaint_of(services, number).status == c.PENDING
    assert len(events_of(services, number)) == before_events and last_outbox_id(services) == before_outbox

    li.act(number, "accept")
    li.act(number, "solution", "更换接口")
    page = wang.page(location(wang.act(number, "approve", token=wang.token(f"/console/complaints/{number}"))))
    assert flashes(page) == [services.texts("not_approver", number=number)]
    page = li.page(location(li.act(number, "accept", token=li.token("/console/"))))  # a stale page's button
    assert flashes(page) == [services.texts("wrong_state", number=number, action="受理", status="方案待批",
                                            who=NAMES[LI])]
    assert complaint_of(services, number).status == c.SOLUTION_PENDING


def test_a_post_without_a_valid_csrf_token_is_refused(live, services, fake_wecom):
    number = file_directly(services, OCCUPANT, LEAK)
    li = logged_in(live.url, LI, fake_wecom)
    other = logged_in(live.url, ZHANG, fake_wecom)
    for token in (None, "", "forged", other.token("/console/")):  # another session's token is not this one's
        data = {"action": "accept"} if token is None else {"action": "accept", "csrf_token": token}
        response = li.post(f"/console/complaints/{number}/act", data)
        assert response.status_code == 400 and error_message(response.text) == CSRF_REFUSED, token
    assert complaint_of(services, number).status == c.PENDING
    assert [e.kind for e in events_of(services, number)] == ["created"]
