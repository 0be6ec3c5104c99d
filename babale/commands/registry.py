"""`babale db ...`, `babale stats`, `babale export ...` (users: babale/commands/users.py)"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from registry.roles import STATUSES


def _database_url() -> str:
    """BABALE_DATABASE_URL (or the default SQLite file), or one line naming what is wrong."""
    from registry.settings import Settings, SettingsError

    try:
        return Settings.from_env().database_url
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


def _open_error(url: str, exc: Exception) -> click.ClickException:
    """One line naming the setting and the database (password hidden), never a traceback."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        shown = make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        shown = "(not a database URL)"
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    detail = reason[0][:200] if reason else type(exc).__name__
    return click.ClickException(f"BABALE_DATABASE_URL: cannot open the database {shown}: {detail}")


def _ready(url: str) -> None:
    """Create or upgrade the schema, as every command that needs it does first."""
    from sqlalchemy.exc import SQLAlchemyError

    from registry import db as registry_db

    try:
        registry_db.upgrade(url)
    except (SQLAlchemyError, ImportError, OSError) as exc:
        raise _open_error(url, exc) from None


def _revisions(url: str) -> tuple[str | None, str | None]:
    """(current revision of the database, newest revision of the code)."""
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from registry import db as registry_db

    head = ScriptDirectory.from_config(registry_db.alembic_config(url)).get_current_head()
    with registry_db.engine_for(url).connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    return current, head


@click.group()
def db() -> None:
    """Create and upgrade the district database."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Create the schema or bring it to the newest revision, then print the revision."""
    url = _database_url()
    _ready(url)
    current, _head = _revisions(url)
    click.echo(current)


@db.command("current")
def db_current() -> None:
    """Print the schema revision of the database, and whether an upgrade is due."""
    from sqlalchemy.exc import SQLAlchemyError

    url = _database_url()
    try:
        current, head = _revisions(url)
    except (SQLAlchemyError, ImportError, OSError) as exc:
        raise _open_error(url, exc) from None
    if current is None:
        click.echo(f"none (empty database; run `babale db upgrade` to create revision {head})")
    elif current == head:
        click.echo(f"{current} (head)")
    else:
        click.echo(f"{current} (upgrade to {head} with `babale db upgrade`)")


def _stats_table(counts: dict[str, Any]) -> str:
    """A small table for people (Bahasa Indonesia labels)."""
    rows = [
        ("Kiriman PPKS", counts["submissions"]["ppks"]),
        ("Kiriman PSKS", counts["submissions"]["psks"]),
        ("Keluarga (PPKS)", counts["households"]),
        ("Anggota keluarga (PPKS)", counts["persons"]),
        ("Entri PSKS", counts["psks"]),
        ("Dihapus di Kobo", counts["deleted"]),
        *((f"Status {status}", n) for status, n in counts["by_status"].items()),
    ]
    width = max(len(label) for label, _ in rows)
    digits = max(len(str(n)) for _, n in rows)
    return "\n".join(f"{label:<{width}}  {n:>{digits}}" for label, n in rows)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of a table.")
def stats(as_json: bool) -> None:
    """Counts of what the database holds (deleted-on-Kobo submissions counted apart)."""
    from registry import db as registry_db
    from registry import queries
    from registry.users import cli_actor

    url = _database_url()
    _ready(url)
    with registry_db.session_scope(url) as session:
        everyone = queries.operator(cli_actor())
        totals = queries.stats(session, everyone)
        counts = {
            "submissions": totals["by_form"],
            **queries.row_counts(session, everyone),
            "deleted": totals["deleted"],
            "by_status": totals["by_status"],
        }
    if as_json:
        click.echo(json.dumps(counts))
    else:
        click.echo(_stats_table(counts))


@click.group()
def export() -> None:
    """Export the registry to files."""


@export.command("bnba")
@click.option("--format", "fmt", type=click.Choice(["csv"]), default="csv", show_default=True)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="The file to write.",
)
@click.option(
    "--status",
    type=click.Choice(["all", *(status.value for status in STATUSES)]),
    default="all",
    show_default=True,
    help="Only submissions with this review status.",
)
@click.option("--bom", is_flag=True, help="Start the file with a UTF-8 BOM (for Excel).")
def export_bnba(fmt: str, out: Path, status: str, bom: bool) -> None:
    """One row per person (by name, by address) of every PPKS household not deleted on Kobo."""
    from registry.export import ExportError, bnba_filter
    from registry.export import export_bnba as run_export

    url = _database_url()
    _ready(url)
    try:
        count = run_export(url, out, bnba_filter(status), fmt=fmt, bom=bom)
    except ExportError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"cannot write {out}: {exc.strerror or exc}") from None
    click.echo(f"{count} rows written to {out}")
