"""Shared fixtures: a migrated database on SQLite and, when BABALE_TEST_DATABASE_URL is set, on
PostgreSQL too. Each PostgreSQL test session works in a database of its own, so that two test runs
on one server never see each other's rows."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from registry import db as registry_db

PG_ENV = "BABALE_TEST_DATABASE_URL"


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str | None]:
    """A fresh PostgreSQL database for this test session, dropped at the end."""
    base = os.environ.get(PG_ENV)
    if not base:
        yield None
        return
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    name = f"babale_t_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        registry_db.engine_for.cache_clear()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _reset_pg(url: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def _dispose(url: str) -> None:
    registry_db.engine_for(url).dispose()
    registry_db.engine_for.cache_clear()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path, pg_server_url) -> Iterator[str]:
    """The URL of an empty database with the migrations applied (SQLite and PostgreSQL)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'babale.db'}"
    else:
        if pg_server_url is None:
            pytest.skip(f"{PG_ENV} is not set: PostgreSQL tests skipped")
        url = pg_server_url
        _reset_pg(url)
    registry_db.upgrade(url)
    yield url
    _dispose(url)


@pytest.fixture
def sqlite_url(tmp_path) -> Iterator[str]:
    """A migrated SQLite database, for tests that need only one backend."""
    url = f"sqlite:///{tmp_path / 'babale.db'}"
    registry_db.upgrade(url)
    yield url
    _dispose(url)
