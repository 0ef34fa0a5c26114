"""Redis: dialog state, locks and the token cache. Without REDIS_URL the
service runs single-process on an embedded Redis-compatible store."""
from __future__ import annotations

import logging

import redis

log = logging.getLogger(__name__)


def connect(url: str | None) -> redis.Redis:
    if url:
        return redis.Redis.from_url(url, decode_responses=True, socket_timeout=5,
                                    socket_connect_timeout=3, health_check_interval=30)
    import fakeredis

    log.warning("未设置 REDIS_URL：使用进程内嵌的 Redis 兼容存储，仅支持单进程运行"
                "（生产环境请设置 REDIS_URL）")
    return fakeredis.FakeRedis(server=fakeredis.FakeServer(), decode_responses=True)


def is_embedded(client: redis.Redis) -> bool:
    return type(client).__module__.startswith("fakeredis")
