"""Start-up shared by the commands: logging, settings, services, schema."""
from __future__ import annotations

import logging
import sys
from contextlib import contextmanager
from typing import TextIO

import click
import yaml
from sqlalchemy.exc import SQLAlchemyError

from bot import log_redaction
from bot.config import ConfigError, Settings, load_settings
from bot.services import Services, build_services

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(level: str | int = "INFO", stream: TextIO | None = None) -> None:
    """Log to standard error (or ``stream``) unless logging is configured
    already, and mask phone numbers, ID numbers, names and secrets on every
    handler of the root logger — ours, or those that were there before."""
    logging.basicConfig(level=level, format=LOG_FORMAT, stream=stream or sys.stderr)
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, log_redaction.RedactingFilter) for f in handler.filters):
            handler.addFilter(log_redaction.RedactingFilter())
    logging.getLogger("jieba").setLevel(logging.WARNING)


def settings_or_exit(config_path: str | None) -> Settings:
    """The settings, their secrets registered for masking in the logs; on a
    configuration error the explanation (which never quotes a value) and exit 2."""
    try:
        settings = load_settings(config_path)
    except ConfigError as error:
        click.echo(f"配置错误：\n{error}", err=True)
        raise SystemExit(2) from None
    log_redaction.register_settings(settings)
    return settings


def classifier_or_exit(settings: Settings):
    """The classifier with the administrator's word lists and labelled sentences
    (`classifier_dir`); on an error in them the explanation, naming the file, and exit 2."""
    from bot.classify.labelled import BadLabels
    from bot.classify.lexicon import DuplicateKey
    from bot.services import load_classifier

    try:
        return load_classifier(settings.classifier_dir)
    except (DuplicateKey, BadLabels, yaml.YAMLError) as error:
        click.echo(f"分类词表有误：\n{error}", err=True)
        raise SystemExit(2) from None


def ready_services(settings: Settings, migrate: bool | None = None) -> Services:
    """Services with a schema at the latest revision. SQLite (one process)
    migrates itself; a shared database is migrated by `complaint-bot db upgrade`
    so that several workers never race to do it."""
    services = build_services(settings)
    if migrate is None:
        migrate = services.db.engine.dialect.name == "sqlite"
    with database_errors_explained(settings):
        if migrate:
            services.db.upgrade()
        elif not services.db.is_up_to_date():
            click.echo("数据库结构不是最新版本：请先运行 complaint-bot db upgrade", err=True)
            raise SystemExit(2)
    return services


@contextmanager
def database_errors_explained(settings: Settings):
    """At start-up an unreachable database ends the command with one line that
    names the setting, not a traceback (the driver's words carry no password)."""
    try:
        yield
    except SQLAlchemyError as error:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        click.echo(f"无法使用数据库：{reason}\n请检查 {settings.source} 中的 database_url"
                   "（或环境变量 DATABASE_URL），以及数据库是否已启动。", err=True)
        raise SystemExit(2) from None
