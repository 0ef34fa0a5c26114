"""Fixtures for the WeCom tests: a real Redis with a per-test key prefix, the
fake WeCom server, and a client pointed at it. Import the ones you use."""
from __future__ import annotations

import os
import uuid

import pytest
import redis as redis_lib

from bot.wecom.client import WeComClient
from bot.wecom.fake_server import FakeWeCom

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def redis_client():
    client = redis_lib.Redis.from_url(REDIS_URL, decode_responses=True)
    client.ping()  # no Redis is a failure, not a skip: the token cache must be tested for real
    yield client
    client.close()


@pytest.fixture
def key_prefix(redis_client):
    """A random prefix so tests never see each other's keys; cleaned up after
    (only our own keys: the database is shared, so no FLUSHDB)."""
    prefix = f"test-{uuid.uuid4().hex[:12]}:"
    yield prefix
    for key in redis_client.scan_iter(match=f"{prefix}*"):
        redis_client.delete(key)


@pytest.fixture
def fake_wecom():
    with FakeWeCom() as fake:
        yield fake


def make_client(fake: FakeWeCom, redis_client, key_prefix: str, **overrides) -> WeComClient:
    options = dict(base_url=fake.base_url, corp_id=fake.corp_id, secret=fake.secret, agent_id=fake.agent_id,
                   redis=redis_client, key_prefix=key_prefix, timeout=(1.0, 2.0))
    options.update(overrides)
    return WeComClient(**options)


@pytest.fixture
def wecom_client(fake_wecom, redis_client, key_prefix):
    return make_client(fake_wecom, redis_client, key_prefix)
