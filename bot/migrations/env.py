"""Alembic environment: uses the engine handed over by bot.db.Database."""
from alembic import context
from sqlalchemy import create_engine

from bot.models import Base

config = context.config


def run_migrations() -> None:
    engine = config.attributes.get("engine") or create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.begin() as connection:
        context.configure(connection=connection, target_metadata=Base.metadata,
                          render_as_batch=connection.dialect.name == "sqlite")
        context.run_migrations()


run_migrations()
