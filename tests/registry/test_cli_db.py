"""`babale db upgrade|current`, and one clear line when BABALE_DATABASE_URL is wrong."""

from __future__ import annotations

import socket

import pytest
from alembic.script import ScriptDirectory
from click.testing import CliRunner
from sqlalchemy import inspect

from babale.commands.registry import db, export, stats
from registry import db as registry_db
from registry.models import Base

HEAD = ScriptDirectory.from_config(registry_db.alembic_config("sqlite://")).get_current_head()


def invoke(command, args, url):
    return CliRunner().invoke(command, args, env={"BABALE_DATABASE_URL": url})


def closed_port() -> int:
    """A local port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_upgrade_creates_the_schema_and_prints_the_revision(tmp_path):
    url = f"sqlite:///{tmp_path / 'baru' / 'babale.db'}"
    assert invoke(db, ["current"], url).stdout.startswith("none")
    result = invoke(db, ["upgrade"], url)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == HEAD
    tables = set(inspect(registry_db.engine_for(url)).get_table_names())
    assert set(Base.metadata.tables) <= tables
    current = invoke(db, ["current"], url)
    assert (current.exit_code, current.stdout.strip()) == (0, f"{HEAD} (head)")
    assert invoke(db, ["upgrade"], url).stdout.strip() == HEAD  # a second run changes nothing
    registry_db.engine_for(url).dispose()


def test_current_on_a_migrated_database(database_url):
    result = invoke(db, ["current"], database_url)
    assert (result.exit_code, result.stdout.strip()) == (0, f"{HEAD} (head)")


BAD_URLS = {
    "not a url": "babale.db",
    "unknown dialect": "oracle2000://u@h/db",
    "refused": "postgresql+psycopg://postgres:s3cr3t-pw@127.0.0.1:{port}/babale",
}


COMMANDS = {
    "db upgrade": (db, ["upgrade"]),
    "db current": (db, ["current"]),
    "stats": (stats, ["--json"]),
    "export bnba": (export, ["bnba", "--out", "{out}"]),
}


@pytest.mark.parametrize("name", list(COMMANDS))
@pytest.mark.parametrize("kind", list(BAD_URLS))
def test_a_wrong_database_url_is_one_line_naming_it(name, kind, tmp_path):
    url = BAD_URLS[kind].format(port=closed_port())
    group, args = COMMANDS[name]
    args = [a.format(out=tmp_path / "x.csv") for a in args]
    result = invoke(group, args, url)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert "BABALE_DATABASE_URL" in lines[0]
    assert "s3cr3t-pw" not in result.output
    assert not (tmp_path / "x.csv").exists()
