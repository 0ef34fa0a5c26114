"""The migrations build exactly the tables the models describe, on SQLite
and PostgreSQL alike: a model change without its migration fails here."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bot.models import Base


def test_the_migrated_schema_matches_the_models(services):
    with services.db.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_upgrade_is_idempotent_and_reports_the_head(services):
    services.db.upgrade()
    assert services.db.is_up_to_date()
    assert services.db.current_revision() == services.db.head_revision()
