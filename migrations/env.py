"""Alembic environment: runs on the connection the caller hands in (see app/migrate.py)."""

from __future__ import annotations

from alembic import context

from app.models import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "run migrations with `switchboard db upgrade` (app.migrate), which supplies the connection"
    )

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
