"""A WeCom API client pointed at the fake WeCom server (redis_client,
key_prefix and fake_wecom come from conftest)."""
from __future__ import annotations

import pytest

from bot.wecom.client import WeComClient
from bot.wecom.fake_server import FakeWeCom


def make_client(fake: FakeWeCom, redis_client, key_prefix: str, **overrides) -> WeComClient:
    options = dict(base_url=fake.base_url, corp_id=fake.corp_id, secret=fake.secret, agent_id=fake.agent_id,
                   redis=redis_client, key_prefix=key_prefix, timeout=(1.0, 2.0))
    options.update(overrides)
    return WeComClient(**options)


@pytest.fixture
def wecom_client(fake_wecom, redis_client, key_prefix):
    return make_client(fake_wecom, redis_client, key_prefix)
