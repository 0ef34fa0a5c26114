"""Everything the app needs, built once from the settings and handed to the
Flask app, the worker and the CLI — nothing global that a test can't replace."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import redis

from bot import kv
from bot.classify import Classifier
from bot.config import Settings
from bot.db import Database
from bot.directory import Directory
from bot.inbound import CallbackCodec
from bot.kv_journal import KvJournal
from bot.texts import Texts
from bot.user_queue import UserQueue
from bot.workcalendar import WorkCalendar
from bot.wecom.client import WeComClient
from dialogs.understanding import Reader


@dataclass
class Services:
    settings: Settings
    db: Database
    redis: redis.Redis
    wecom: WeComClient
    codec: CallbackCodec
    user_queue: UserQueue
    texts: Texts
    tz: ZoneInfo
    calendar: WorkCalendar

    @property
    def classifier(self) -> Classifier:
        """Loaded on first use: only the processes that read messages pay for
        jieba's dictionary (about a second and 85 MB), not worker or scheduler."""
        return load_classifier(self.settings.classifier_dir)

    @property
    def reader(self) -> Reader:
        """Reads each occupant message whole before a dialog decides (same lazy load as the classifier)."""
        return load_reader(self.settings.classifier_dir)

    def directory(self) -> Directory:
        """Read per use: a sync from WeCom's contacts may have changed it."""
        return Directory.load(self.settings.directory, self.redis, self.settings.redis_prefix)

    @property
    def kv_journal(self) -> KvJournal:
        """Dialog keys live keep_hours; every other journaled key less."""
        return KvJournal(self.redis, self.settings.redis_prefix, self.settings.dialog.keep_hours * 3600)

    def local_now(self) -> datetime:
        return datetime.now(self.tz)

    @property
    def embedded_redis(self) -> bool:
        return kv.is_embedded(self.redis)

    def close(self) -> None:
        self.db.dispose()


@lru_cache(maxsize=4)
def load_classifier(extra_dir: str | None) -> Classifier:
    """Loaded once per process (jieba's dictionary takes about a second)."""
    return Classifier.load(extra_dir)


@lru_cache(maxsize=4)
def load_reader(extra_dir: str | None) -> Reader:
    return Reader.load(load_classifier(extra_dir), extra_dir)


def build_services(settings: Settings, redis_client: redis.Redis | None = None) -> Services:
    client = redis_client if redis_client is not None else kv.connect(settings.redis_url)
    wecom = settings.wecom
    return Services(
        settings=settings,
        db=Database(settings.database_url),
        redis=client,
        wecom=WeComClient(wecom.api_base_url, wecom.corp_id, wecom.secret, wecom.agent_id, client,
                          key_prefix=settings.redis_prefix),
        codec=CallbackCodec(wecom.token, wecom.encoding_aes_key, wecom.corp_id,
                            settings.callback.replay_window_seconds),
        user_queue=UserQueue(client, settings.redis_prefix, settings.callback.user_lock_wait_seconds,
                             settings.callback.user_lock_hold_seconds),
        texts=Texts.load(settings.texts_file),
        tz=ZoneInfo(settings.timezone),
        calendar=WorkCalendar.from_settings(settings),
    )
