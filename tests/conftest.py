"""Shared fixtures: a migrated database on SQLite and, when BABALE_TEST_DATABASE_URL is set, on
PostgreSQL too. Each PostgreSQL test session (each pytest-xdist worker) works in databases of its
own, so that two test runs on one server never see each other's rows.

The migrations run once per session into a template; each test gets a copy of it (a file copy on
SQLite, CREATE DATABASE ... TEMPLATE on PostgreSQL), which is several times cheaper than migrating.
tests/registry/test_migrations.py and test_cli_db.py still run the real migrations on empty
databases."""

from __future__ import annotations

import itertools
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from registry import db as registry_db
from registry import users

PG_ENV = "BABALE_TEST_DATABASE_URL"
# A password hash that costs microseconds: the suite makes and checks hundreds of them, and
# werkzeug's scrypt takes ~0.1 s each. tests/registry/test_password_hash.py keeps production's.
CHEAP_PASSWORD_HASH = "pbkdf2:sha256:1"
# Fixtures that start a child process: a form engine (JavaRosa's JVM, Node for ODK Web Forms), ODK
# Validate's JVM (the built forms), Chromium. Every test using one is marked slow here, so that
# `-m "not slow"` skips it without each test having to say so.
SLOW_FIXTURES = frozenset({"engine", "javarosa", "webforms", "built", "xforms", "forms", "browser"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SLOW_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hash() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(users, "PASSWORD_HASH_METHOD", CHEAP_PASSWORD_HASH)
        yield


def _session_tag() -> str:
    """Unique per test session and readable in pg_database: which xdist worker made it."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return f"babale_t_{uuid.uuid4().hex[:12]}_{worker}"


def _dispose(url: str) -> None:
    """Close the pooled connections to `url` (a template or a dropped copy must have none)."""
    registry_db.engine_for(url).dispose()
    registry_db.engine_for.cache_clear()


class _PgServer:
    """The session's databases on the PostgreSQL server at `base` (the admin connection)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.admin: Engine = create_engine(base, isolation_level="AUTOCOMMIT")
        self.tag = _session_tag()
        self._names: list[str] = []

    def url(self, name: str) -> str:
        return make_url(self.base).set(database=name).render_as_string(hide_password=False)

    def create(self, name: str, template: str | None = None) -> str:
        sql = f'CREATE DATABASE "{name}"'
        if template:
            sql += f' TEMPLATE "{template}"'
        with self.admin.connect() as conn:
            conn.execute(text(sql))
        self._names.append(name)
        return self.url(name)

    def drop(self, name: str) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self._names.remove(name)

    def close(self) -> None:
        for name in list(self._names):
            self.drop(name)
        self.admin.dispose()


@pytest.fixture(scope="session")
def _pg_server() -> Iterator[_PgServer | None]:
    base = os.environ.get(PG_ENV)
    if not base:
        yield None
        return
    server = _PgServer(base)
    try:
        yield server
    finally:
        registry_db.engine_for.cache_clear()
        server.close()


@pytest.fixture(scope="session")
def pg_server_url(_pg_server: _PgServer | None) -> str | None:
    """A fresh, empty PostgreSQL database for this test session, dropped at the end (None when
    BABALE_TEST_DATABASE_URL is not set)."""
    if _pg_server is None:
        return None
    return _pg_server.create(_pg_server.tag)


@pytest.fixture(scope="session")
def _pg_template(_pg_server: _PgServer | None) -> str | None:
    """The name of a migrated PostgreSQL database with no open connection: the tests' template."""
    if _pg_server is None:
        return None
    name = f"{_pg_server.tag}_tmpl"
    url = _pg_server.create(name)
    registry_db.upgrade(url)
    _dispose(url)
    return name


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied by each test that needs a database."""
    path = tmp_path_factory.mktemp("template") / "babale.db"
    url = f"sqlite:///{path}"
    registry_db.upgrade(url)
    _dispose(url)  # the last connection checkpoints the WAL into the file and removes it
    assert not path.with_name(path.name + "-wal").exists()
    return path


_copies = itertools.count()


def _sqlite_copy(template: Path, tmp_path: Path) -> str:
    path = tmp_path / "babale.db"
    shutil.copyfile(template, path)
    return f"sqlite:///{path}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    _sqlite_template: Path,
    _pg_server: _PgServer | None,
) -> Iterator[str]:
    """The URL of an empty database with the migrations applied (SQLite and PostgreSQL)."""
    if request.param == "sqlite":
        url = _sqlite_copy(_sqlite_template, tmp_path)
        yield url
        _dispose(url)
        return
    if _pg_server is None:
        pytest.skip(f"{PG_ENV} is not set: PostgreSQL tests skipped")
    template = request.getfixturevalue("_pg_template")
    name = f"{_pg_server.tag}_{next(_copies)}"
    url = _pg_server.create(name, template=template)
    yield url
    _dispose(url)
    _pg_server.drop(name)


@pytest.fixture
def sqlite_url(tmp_path: Path, _sqlite_template: Path) -> Iterator[str]:
    """A migrated SQLite database, for tests that need only one backend."""
    url = _sqlite_copy(_sqlite_template, tmp_path)
    yield url
    _dispose(url)
