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


def test_0006_fills_the_second_block_key_of_the_members_stored_before(tmp_path):
    """A registry harvested before 0006 gets the last word's block for every member still in a
    block, so "Kim Fat" harvested later meets the "Bong Kim Fat" stored before."""
    import datetime as dt

    from alembic import command
    from sqlalchemy import select

    from harvester.mapping import map_submission
    from harvester.store import store_page
    from registry.db import alembic_config, session_factory, upgrade
    from registry.models import Person
    from tests.registry import factories as rf

    url = f"sqlite:///{tmp_path / 'registry.db'}"
    upgrade(url)
    born = dt.date(1988, 6, 9)
    members = [
        rf.member("Bong Kim Fat", born=born, sex="L", hubungan="kepala_keluarga"),
        rf.member("Maria", born=born, sex="P", serial=2),
    ]
    with session_factory(url).begin() as session:
        payload = rf.ppks_payload(1, kode_desa="61.07.01.2001", members=members)
        store_page(session, "ppks", rf.ASSET["ppks"], [map_submission("ppks", payload)])
    command.downgrade(alembic_config(url), "0005")  # the column goes
    upgrade(url)
    with session_factory(url)() as session:
        keys = session.execute(
            select(Person.nama, Person.kunci_duplikat, Person.kunci_duplikat_akhir)
        ).all()
    engine_for(url).dispose()
    assert sorted(tuple(row) for row in keys) == [
        ("Bong Kim Fat", "1988-06-09b", "1988-06-09/fa"),
        ("Maria", "1988-06-09m", "1988-06-09/ma"),
    ]
