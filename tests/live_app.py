"""A factory fixture for tests that need the live app with non-default settings
(other limits, other keys, a broken database). Import ``app_factory`` into a
test module to use it; everything it starts is stopped after the test."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from bot.services import Services, build_services
from bot.wecom.callback_sender import CallbackSender
from tests.conftest import AES_KEY, TOKEN, LiveServer, make_settings


@dataclass
class App:
    services: Services
    live: LiveServer
    sender: CallbackSender

    @property
    def url(self) -> str:
        return self.live.url

    @property
    def callback_url(self) -> str:
        return f"{self.live.url}/wecom/callback"

    def new_sender(self) -> CallbackSender:
        """A sender of its own (requests sessions are not shared between threads)."""
        s = self.sender
        return CallbackSender(s.url, s.token, s.encoding_aes_key, s.corp_id, agent_id=s.agent_id)


@pytest.fixture
def app_factory(fake_wecom, database_url, key_prefix, tmp_path, redis_client):
    """``start(**overrides)`` builds services from make_settings(...) with the
    given dotted overrides, migrates (unless upgrade=False), serves them and
    returns an App whose sender speaks with the configured token/key/corp id."""
    started: list[App] = []

    def start(*, upgrade: bool = True, db_url: str | None = None, **overrides) -> App:
        settings = make_settings(fake_wecom, db_url or database_url, key_prefix,
                                 tmp_path / f"data{len(started)}", **overrides)
        services = build_services(settings, redis_client)
        if upgrade:
            services.db.upgrade()
        live = LiveServer(services).start()
        wecom = settings.wecom
        sender = CallbackSender(f"{live.url}/wecom/callback", wecom.token, wecom.encoding_aes_key,
                                wecom.corp_id, agent_id=wecom.agent_id)
        app = App(services, live, sender)
        started.append(app)
        return app

    yield start
    for app in reversed(started):
        app.live.stop()
        app.services.close()


__all__ = ["App", "app_factory", "AES_KEY", "TOKEN"]
