"""Engine and session factory: SQLite (WAL, foreign keys on) by default, PostgreSQL in production.

`upgrade(url)` runs the Alembic migrations; every command that needs the schema calls it first.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from registry import jsonio

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# The newest migration; tests/registry/test_migrations.py checks it against Alembic's own head.
SCHEMA_HEAD = "0006"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # 8 MB of page cache per connection: a harvest ran no faster with 32 MB (measured), and the
    # review app opens a connection per thread.
    cursor.execute("PRAGMA cache_size=-8000")
    cursor.execute("PRAGMA temp_store=MEMORY")
    # Checkpoint the WAL every ~40 MB rather than 4 MB: a harvest page writes megabytes.
    cursor.execute("PRAGMA wal_autocheckpoint=10000")
    cursor.close()


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """A new engine for `url`; creates the directory of a SQLite file if needed."""
    kwargs.setdefault("json_serializer", jsonio.dumps)
    kwargs.setdefault("json_deserializer", jsonio.loads)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


@cache
def engine_for(url: str) -> Engine:
    """One shared engine per URL for the life of the process."""
    return make_engine(url)


def session_factory(url: str) -> sessionmaker[Session]:
    return sessionmaker(engine_for(url), expire_on_commit=False)


@contextmanager
def session_scope(url: str) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    session = session_factory(url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(url: str) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Create or upgrade the schema to `revision` with the Alembic migrations."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def ensure_schema(url: str) -> None:
    """Upgrade unless the database is already at SCHEMA_HEAD (a cheap check first: commands that
    run every few minutes should not load Alembic each time)."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    try:
        with engine_for(url).connect() as conn:
            current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except DBAPIError:
        current = None  # no schema yet, or no table: let Alembic create it
    if current != SCHEMA_HEAD:
        upgrade(url)
