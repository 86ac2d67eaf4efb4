"""The schema comes only from migrations, and they agree with the models on both databases."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from app import migrate
from app.db import create_engine
from app.models import metadata
from tests.conftest import make_settings


def _diff(connection: Any) -> list[Any]:
    return list(
        compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), metadata)
    )


async def test_migrated_schema_matches_the_models(database_url: str) -> None:
    engine = create_engine(make_settings(database_url))
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
        assert await migrate.current_revision(engine) == migrate.head_revision()
    finally:
        await engine.dispose()


async def test_upgrade_is_idempotent(database_url: str) -> None:
    engine = create_engine(make_settings(database_url))
    try:
        await migrate.upgrade(engine)
        await migrate.upgrade(engine)
        assert await migrate.current_revision(engine) == migrate.head_revision()
    finally:
        await engine.dispose()
