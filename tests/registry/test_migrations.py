"""The Alembic migrations build exactly the schema the models describe, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from registry.db import engine_for
from registry.models import Base


def test_migrations_match_models(database_url):
    with engine_for(database_url).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_schema_head_constant_is_alembics_head(tmp_path):
    from alembic.script import ScriptDirectory

    from registry.db import SCHEMA_HEAD, alembic_config, ensure_schema

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head == SCHEMA_HEAD
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    ensure_schema(url)  # creates the schema on an empty database
    with engine_for(url).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
