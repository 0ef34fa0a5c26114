"""Start-up shared by the commands: logging, settings, services, schema."""
from __future__ import annotations

import logging
import sys

import click

from bot.config import ConfigError, Settings, load_settings
from bot.services import Services, build_services

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(level: str = "INFO") -> None:
    logging.basicConfig(level=level, format=LOG_FORMAT, stream=sys.stderr)
    logging.getLogger("jieba").setLevel(logging.WARNING)


def settings_or_exit(config_path: str | None) -> Settings:
    try:
        return load_settings(config_path)
    except ConfigError as error:
        click.echo(f"配置错误：\n{error}", err=True)
        raise SystemExit(2) from None


def ready_services(settings: Settings, migrate: bool | None = None) -> Services:
    """Services with a schema at the latest revision. SQLite (one process)
    migrates itself; a shared database is migrated by `complaint-bot db upgrade`
    so that several workers never race to do it."""
    services = build_services(settings)
    if migrate is None:
        migrate = services.db.engine.dialect.name == "sqlite"
    if migrate:
        services.db.upgrade()
    elif not services.db.is_up_to_date():
        click.echo("数据库结构不是最新版本：请先运行 complaint-bot db upgrade", err=True)
        raise SystemExit(2)
    return services
