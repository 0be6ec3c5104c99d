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


def test_every_cascading_foreign_key_is_indexed_on_the_child(database_url):
    """Deleting a parent row looks its children up by the foreign key; without an index that is
    a scan of the whole child table per deleted row (an edited household rebuilt at 100,000
    households)."""
    from sqlalchemy import inspect

    inspector = inspect(engine_for(database_url))
    missing = []
    for table in inspector.get_table_names():
        leading = {tuple(ix["column_names"][:1]) for ix in inspector.get_indexes(table)}
        leading |= {tuple(u["column_names"][:1]) for u in inspector.get_unique_constraints(table)}
        pk = inspector.get_pk_constraint(table)["constrained_columns"]
        leading.add(tuple(pk[:1]))
        for fk in inspector.get_foreign_keys(table):
            cascades = (fk.get("options") or {}).get("ondelete", "").upper() == "CASCADE"
            if cascades and tuple(fk["constrained_columns"][:1]) not in leading:
                missing.append(f"{table}.{fk['constrained_columns'][0]}")
    assert missing == []
