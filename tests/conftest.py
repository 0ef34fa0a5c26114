"""Fixtures for the integration tests: the real Flask app on a real WSGI
server, real Redis, a real database (SQLite, or PostgreSQL when
TEST_DATABASE_URL is set), and the project's fake WeCom API."""
from __future__ import annotations

import base64
import os
import threading
import uuid

import pytest
import redis as redis_lib
from sqlalchemy import create_engine, text

from bot.config import Settings, normalize_database_url
from bot.server import make_server, shutdown
from bot.services import build_services
from bot.wecom.callback_sender import CallbackSender
from bot.wecom.fake_server import FakeWeCom
from bot.worker import Worker

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")

TOKEN = "testtoken123"
TEST_DIRECTORY = {
    "departments": [
        {"name": "工程维修部", "members": ["li.shifu"], "leader": "wang.zhuren"},
        {"name": "安全保卫部", "members": ["wu.baoan"], "leader": "zheng.kezhang"},
        {"name": "客户服务中心", "members": ["kefu.liu"], "leader": "he.zhuren"},
    ],
    "supervisors": ["lin.lingdao"],
    "customer_service": ["kefu.liu"],
    "duty": ["wu.baoan"],
}
AES_KEY = base64.b64encode(b"0123456789abcdef0123456789abcdef").decode().rstrip("=")


@pytest.fixture
def redis_client():
    client = redis_lib.Redis.from_url(REDIS_URL, decode_responses=True)
    client.ping()  # no Redis is a failure, not a skip: these tests need the real server
    yield client
    client.close()


@pytest.fixture
def key_prefix(redis_client):
    prefix = f"test-{uuid.uuid4().hex[:12]}:"
    yield prefix
    for key in redis_client.scan_iter(match=f"{prefix}*"):
        redis_client.delete(key)


@pytest.fixture
def database_url(tmp_path):
    if not TEST_DATABASE_URL:
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    yield from _postgres_schema(TEST_DATABASE_URL)


def _postgres_schema(url: str):
    """A schema of its own per test, dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(normalize_database_url(url))
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in url else "?"
    yield f"{url}{separator}options=-csearch_path%3D{schema}"
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def fake_wecom():
    with FakeWeCom(corp_id="ww_test_corp", secret="test-secret", agent_id=1000002) as fake:
        yield fake


def make_settings(fake: FakeWeCom, database_url: str, key_prefix: str, data_dir, **overrides) -> Settings:
    raw = {
        "wecom": {"corp_id": fake.corp_id, "agent_id": fake.agent_id, "secret": fake.secret,
                  "token": TOKEN, "encoding_aes_key": AES_KEY, "api_base_url": fake.base_url},
        "database_url": database_url,
        "redis_url": REDIS_URL,
        "redis_prefix": key_prefix,
        "data_dir": str(data_dir),
        "outbox": {"backoff_base_seconds": 0.05, "backoff_max_seconds": 0.2, "poll_seconds": 0.05},
        "service": {"name": "测试后勤中心", "phone": "010-11112222", "duty_phone": "010-99998888"},
        "directory": TEST_DIRECTORY,
        "routing": {"by_category": {"房屋质量": "工程维修部", "设备设施": "工程维修部", "突发事件": "安全保卫部"},
                    "default": "客户服务中心"},
        "out_of_scope": [{"name": "教学安排", "keywords": ["课程安排", "考试", "成绩"], "office": "教务处",
                          "phone": "010-12340000"}],
        "faq": [{"name": "食堂开放时间", "keywords": [["食堂", "餐厅"], ["几点", "开门", "营业", "时间"]],
                 "answer": "食堂开放时间：早餐 6:30-8:30，午餐 11:30-13:00，晚餐 17:30-19:00。"},
                {"name": "洗衣房开放时间", "keywords": [["洗衣房"], ["几点", "开门", "开放", "时间", "周末"]],
                 "answer": "洗衣房每天 7:00-22:00 开放。"}],
    }
    for dotted, value in overrides.items():
        node = raw
        *parents, last = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return Settings.model_validate(raw)


@pytest.fixture
def settings(fake_wecom, database_url, key_prefix, tmp_path):
    return make_settings(fake_wecom, database_url, key_prefix, tmp_path / "data")


@pytest.fixture
def services(settings, redis_client):
    services = build_services(settings, redis_client)
    services.db.upgrade()
    yield services
    services.close()


class LiveServer:
    """The real app on waitress in a background thread."""

    def __init__(self, services):
        self.services = services
        self.server = make_server(services, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.server.effective_port}"
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> "LiveServer":
        self.thread.start()
        return self

    def stop(self) -> None:
        shutdown(self.server)
        self.thread.join(5)
        assert not self.thread.is_alive(), "the server did not stop"



@pytest.fixture
def live(services):
    server = LiveServer(services).start()
    yield server
    server.stop()


@pytest.fixture
def wecom(live, fake_wecom):
    """Sends encrypted callbacks to the live app exactly as WeCom does."""
    return CallbackSender(f"{live.url}/wecom/callback", TOKEN, AES_KEY, fake_wecom.corp_id,
                          agent_id=fake_wecom.agent_id)


@pytest.fixture
def worker(services):
    return Worker(services)
