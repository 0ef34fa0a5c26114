"""The web console over real HTTP: settings with the local administrator
password, a small browser-like client (requests.Session) that logs in with
the password or through the WeCom OAuth flow, readers for the pages, and a
module-scoped "world": one live app with complaints of every kind for the
tests that only read.

Import ``settings`` into a test module: it replaces conftest's settings, so
``services``, ``live``, ``wecom`` and ``worker`` run on the console's
directory (that of tests.workflow_fixtures) with the password ``pw``."""
from __future__ import annotations

import contextlib
import html
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
import redis as redis_lib
import requests
from sqlalchemy import select, update

from bot.models import Complaint, Deadline, Survey, utcnow
from bot.services import Services, build_services
from bot.wecom.callback_sender import CallbackSender
from bot.wecom.fake_server import FakeWeCom
from bot.worker import Worker
from tests.conftest import (AES_KEY, REDIS_URL, TEST_DATABASE_URL, TOKEN, LiveServer, _postgres_schema,
                            make_settings)
from tests.workflow_fixtures import (DIRECTORY, INVALID_REASONS, LEAK, LI, NEIGHBOUR, OCCUPANT, ROUTING,
                                     SUPERVISOR, attachments_of, complaint_of, deliver, file_directly, register,
                                     say)

PASSWORD = "pw"
TZ = ZoneInfo("Asia/Shanghai")
CONSOLE = {"console.admin_password": PASSWORD, "console.secure_cookies": False, "console.page_size": 5}
PHOTO = b"\xff\xd8\xff\xe0photo"  # what workflow_fixtures.register sends as a photo
XSS = "<script>alert(1)</script><b>x</b>"
XSS_PLACE = "<i>8号楼</i>"
FORMULA = '=HYPERLINK("http://evil.example","点我")'


def console_settings(fake: FakeWeCom, database_url: str, key_prefix: str, data_dir, **overrides):
    return make_settings(fake, database_url, key_prefix, data_dir, directory=DIRECTORY, routing=ROUTING,
                         invalid_reasons=INVALID_REASONS, **{**CONSOLE, **overrides})


@pytest.fixture
def settings(fake_wecom, database_url, key_prefix, tmp_path):
    return console_settings(fake_wecom, database_url, key_prefix, tmp_path / "data")


# -- a browser-like client -------------------------------------------------------------
class Console:
    """One browser: its own cookies. Redirects are not followed unless asked."""

    def __init__(self, url: str):
        self.url = url
        self.http = requests.Session()

    def get(self, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("allow_redirects", False)
        return self.http.get(self.url + path, timeout=10, **kwargs)

    def post(self, path: str, data: dict | None = None, **kwargs) -> requests.Response:
        kwargs.setdefault("allow_redirects", False)
        return self.http.post(self.url + path, data=data, timeout=10, **kwargs)

    def page(self, path: str, **params) -> str:
        response = self.get(path, params=params)
        assert response.status_code == 200, (path, params, response.status_code, response.headers.get("Location"))
        return response.text

    def token(self, path: str = "/console/login") -> str:
        return csrf_token(self.page(path))

    def login_admin(self, password: str = PASSWORD, next: str = "") -> requests.Response:
        return self.post("/console/login", {"csrf_token": self.token(), "password": password, "next": next})

    def start_wecom(self, next: str | None = None) -> str:
        """The first leg of the OAuth flow; returns the state WeCom would carry back."""
        response = self.get("/console/login/wecom", params={"next": next} if next is not None else None)
        assert response.status_code == 302, response.status_code
        return oauth_state(response.headers["Location"])

    def oauth(self, code: str, state: str | None) -> requests.Response:
        params = {"code": code}
        if state is not None:
            params["state"] = state
        return self.get("/console/oauth", params=params)

    def login_wecom(self, fake: FakeWeCom, userid: str, next: str | None = None) -> requests.Response:
        state = self.start_wecom(next)
        code = f"code-{uuid.uuid4().hex[:10]}"
        fake.add_oauth_code(code, userid)
        return self.oauth(code, state)

    def act(self, number: str, action: str, text: str | None = None, department: str | None = None,
            token: str | None = None) -> requests.Response:
        """Press an action's button on the complaint page (with that page's CSRF token)."""
        data = {"csrf_token": token or self.token(f"/console/complaints/{number}"), "action": action}
        if text is not None:
            data["text"] = text
        if department is not None:
            data["department"] = department
        return self.post(f"/console/complaints/{number}/act", data)

    def listed(self, **filters) -> list[str]:
        """Every number the list shows for these filters, page after page."""
        numbers, page = [], 1
        while True:
            text = self.page("/console/complaints", **filters, page=page)
            numbers += listed_numbers(text)
            current, pages = page_of(text)
            if current >= pages:
                return numbers
            page += 1


def logged_in(url: str, who: str, fake: FakeWeCom | None = None) -> Console:
    """A console session: ``who`` is "admin" (the local password) or a WeCom userid."""
    console = Console(url)
    response = console.login_admin() if who == "admin" else console.login_wecom(fake, who)
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/console/", \
        (who, response.status_code, response.text[:300])
    return console


# -- reading pages ---------------------------------------------------------------------
ROW_NUMBER = re.compile(r'<td><a href="/console/complaints/(TS\d{8}-\d{3,})">')


def csrf_token(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "no CSRF token on the page"
    return found.group(1)


def oauth_state(location: str) -> str:
    return parse_qs(urlsplit(location).query)["state"][0]


def listed_numbers(page: str) -> list[str]:
    return ROW_NUMBER.findall(page)


def page_of(page: str) -> tuple[int, int]:
    found = re.search(r"第 (\d+) / (\d+) 页", page)
    return int(found.group(1)), int(found.group(2))


def total_of(page: str) -> int:
    return int(re.search(r"共 (\d+) 条", page).group(1))


def flashes(page: str) -> list[str]:
    return [html.unescape(m) for m in re.findall(r'<p class="flash">(.*?)</p>', page, re.S)]


def action_buttons(page: str) -> list[str]:
    return re.findall(r'<button type="submit" data-action="(\w+)">', page)


def status_shown(page: str) -> str:
    return re.search(r'<h1>\S+ <span class="status">(.*?)</span>', page).group(1)


def chart_data(page: str) -> dict:
    found = re.search(r'<script type="application/json" id="chart-data">(.*?)</script>', page, re.S)
    return json.loads(found.group(1))


def error_message(page: str) -> str:
    found = re.search(r'<section class="card narrow">\s*<h1>抱歉</h1>\s*<p>(.*?)</p>', page, re.S)
    return html.unescape(found.group(1)) if found else ""


def is_login_redirect(response: requests.Response) -> bool:
    return response.status_code == 302 and urlsplit(response.headers.get("Location", "")).path == "/console/login"


def backdate(services: Services, number: str, local_time: str) -> None:
    """Move a complaint's registration time (Beijing time 'YYYY-MM-DD HH:MM')."""
    when = datetime.fromisoformat(local_time).replace(tzinfo=TZ)
    with services.db.session() as session:
        session.execute(update(Complaint).where(Complaint.number == number).values(created_at=when))


def make_overdue(services: Services, number: str) -> None:
    """The complaint's open time limit ran out an hour ago."""
    with services.db.session() as session:
        complaint_id = session.execute(select(Complaint.id).where(Complaint.number == number)).scalar_one()
        rows = session.execute(select(Deadline).where(Deadline.complaint_id == complaint_id,
                                                      Deadline.status == "open")).scalars().all()
        assert rows, "no open time limit to run out"
        for row in rows:
            row.warn_at = row.due_at = row.next_check_at = utcnow() - timedelta(hours=1)


# -- the read-only world ---------------------------------------------------------------
@dataclass
class World:
    url: str
    services: Services
    fake: FakeWeCom
    sender: CallbackSender
    n: dict[str, str] = field(default_factory=dict)  # label -> complaint number
    photo: int = 0  # attachment ids
    html_file: int = 0

    def numbers(self, *labels: str) -> set[str]:
        return {self.n[label] for label in labels}

    def console(self, who: str | None = None) -> Console:
        return Console(self.url) if who is None else logged_in(self.url, who, self.fake)


ENGINEERING_LABELS = ("leak", "aircon", "plan", "old_a", "old_b", "late")
SERVICE_LABELS = ("desk", "attitude", "xss", "formula")
ALL_LABELS = ENGINEERING_LABELS + SERVICE_LABELS


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """One live app for a whole module, seeded through the real code paths:

    leak      房屋质量 工程维修部, by the intake dialog with a photo (and an HTML file sent afterwards)
    aircon    设备设施 工程维修部, handled by chat commands to the end, visited, answered 非常满意 (5 分), closed
    plan      设备设施 工程维修部, accepted, a plan waiting for approval
    old_a/b   房屋质量 工程维修部, registered 2025-03-09 23:30 and 2025-03-10 00:30 (Beijing)
    late      设备设施 工程维修部, its time limit ran out
    desk      管理服务 客户服务中心
    attitude  管理服务/服务态度 about the 客户服务中心's own staff
    xss/formula 物业配套 客户服务中心, text that must stay text (same place: a hot spot)
    """
    tmp = tmp_path_factory.mktemp("console-world")
    redis_client = redis_lib.Redis.from_url(REDIS_URL, decode_responses=True)
    redis_client.ping()
    prefix = f"test-{uuid.uuid4().hex[:12]}:"
    with contextlib.ExitStack() as stack:
        stack.callback(_forget_keys, redis_client, prefix)
        if TEST_DATABASE_URL:
            schema = _postgres_schema(TEST_DATABASE_URL)
            database_url = next(schema)
            stack.callback(next, schema, None)
        else:
            database_url = f"sqlite:///{tmp / 'console.db'}"
        fake = stack.enter_context(FakeWeCom(corp_id="ww_test_corp", secret="test-secret", agent_id=1000002))
        services = build_services(console_settings(fake, database_url, prefix, tmp / "data"), redis_client)
        stack.callback(services.close)
        services.db.upgrade()
        live = LiveServer(services).start()
        stack.callback(live.stop)
        sender = CallbackSender(f"{live.url}/wecom/callback", TOKEN, AES_KEY, fake.corp_id, agent_id=fake.agent_id)
        world = World(live.url, services, fake, sender)
        _seed(world, Worker(services))
        yield world


def _forget_keys(redis_client, prefix: str) -> None:
    for key in redis_client.scan_iter(match=f"{prefix}*"):
        redis_client.delete(key)
    redis_client.close()


def _seed(world: World, worker: Worker) -> None:
    services, fake, sender, n = world.services, world.fake, world.sender, world.n
    n["leak"], _ = register(sender, fake, OCCUPANT, LEAK, photos=("console-photo",))
    fake.add_media("console-html", b"<html><script>alert(1)</script></html>", filename="page.html",
                   content_type="text/html")
    assert n["leak"] in sender.file(OCCUPANT, "console-html", title="page.html").text
    n["aircon"] = file_directly(services, NEIGHBOUR, "5号楼302空调不制冷", category="设备设施", location="5号楼302")
    n["plan"] = file_directly(services, NEIGHBOUR, "6号楼走廊灯不亮", category="设备设施", location="6号楼走廊")
    n["old_a"] = file_directly(services, "guest.a", "2号楼107门锁坏了", location="2号楼107")
    n["old_b"] = file_directly(services, "guest.b", "2号楼108窗户漏风", location="2号楼108")
    n["late"] = file_directly(services, "guest.c", "4号楼电梯异响", category="设备设施", location="4号楼")
    n["desk"] = file_directly(services, "guest.d", "前台办理入住太慢", category="管理服务", location="1号楼大厅")
    n["attitude"] = file_directly(services, "guest.e", "前台客服态度很差，爱答不理", category="管理服务",
                                  subcategory="服务态度", location="1号楼大厅")
    n["xss"] = file_directly(services, "guest.f", XSS, category="物业配套", location=XSS_PLACE)
    n["formula"] = file_directly(services, "guest.g", FORMULA, category="物业配套", location=XSS_PLACE)

    aircon = n["aircon"]
    for person, command in ((LI, f"受理 {aircon}"), (LI, f"方案 {aircon} 更换压缩机"), (SUPERVISOR, f"同意 {aircon}"),
                            (LI, f"完成 {aircon} 已更换压缩机，试机制冷正常"), (LI, f"受理 {n['plan']}"),
                            (LI, f"方案 {n['plan']} 更换灯管")):
        assert "不能" not in say(sender, person, command), command
    with services.db.session() as session:  # the visit is due: as the scheduler would have sent it
        visit = session.execute(select(Survey).join(Complaint).where(Complaint.number == aircon)).scalar_one()
        visit.status, visit.sent_at = "sent", utcnow()
    answer = say(sender, NEIGHBOUR, "非常满意，师傅很负责")
    assert aircon in answer, answer
    backdate(services, n["old_a"], "2025-03-09 23:30")
    backdate(services, n["old_b"], "2025-03-10 00:30")
    make_overdue(services, n["late"])
    deliver(services, worker)  # sends what was queued and fetches the photo and the file

    assert complaint_of(services, aircon).status == "closed"
    assert complaint_of(services, n["plan"]).status == "solution_pending"
    assert complaint_of(services, n["attitude"]).about_department == "客户服务中心"
    photo, html_file = attachments_of(services, n["leak"])
    assert (photo.kind, photo.status, html_file.kind, html_file.status) == ("image", "stored", "file", "stored")
    world.photo, world.html_file = photo.id, html_file.id
