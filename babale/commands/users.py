"""`babale users ...`: accounts of the review app from the command line."""

from __future__ import annotations

import os
import sys

import click

from registry.roles import Role


def _read_password() -> str:
    """From a prompt on a terminal (asked twice), else the first line of stdin."""
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        raise click.ClickException("no password on stdin (send it as the first line)")
    return line


def _database_url() -> str:
    from registry.db import upgrade
    from registry.settings import Settings, SettingsError

    try:
        url = Settings.from_env().database_url
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    upgrade(url)
    return url


@click.group()
def users() -> None:
    """Manage the accounts of the review app."""


@users.command("create")
@click.argument("username")
@click.option(
    "--role",
    required=True,
    type=click.Choice([role.value for role in Role]),
    help="admin, dinsos, kecamatan (needs --wilayah KEC), desa (needs --wilayah DESA), pimpinan",
)
@click.option(
    "--wilayah", "kode", default=None, help="Kemendagri code, e.g. 61.07.01 or 61.07.01.2001"
)
@click.option("--nama", default=None, help="Full name shown in the app.")
def create(username: str, role: str, kode: str | None, nama: str | None) -> None:
    """Create an account; the password comes from a prompt or from stdin."""
    from registry import users as accounts
    from registry.db import session_scope

    url = _database_url()
    # Check the role and wilayah before asking for a password.
    try:
        accounts.validate_role_wilayah(role, kode)
        password = _read_password()
        with session_scope(url) as session:
            user = accounts.create_user(
                session,
                username,
                password,
                role,
                kode,
                nama_lengkap=nama,
                actor=accounts.cli_actor(),
            )
            where = f", {user.wilayah}" if user.wilayah else ""
            line = f"created {user.username} ({user.role}{where})"
    except accounts.UserError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(line)


@users.command("list")
def list_() -> None:
    """List the accounts."""
    from registry import users as accounts
    from registry.db import session_scope

    with session_scope(_database_url()) as session:
        rows = [
            (u.username, u.role, u.wilayah or "-", "aktif" if u.is_active else "nonaktif",
             "token" if u.api_token_hash else "")
            for u in accounts.list_users(session)
        ]  # fmt: skip
    if not rows:
        click.echo("no accounts yet: babale users create USERNAME --role admin")
        return
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for row in rows:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=False)) + "  " + row[4])


@users.command("disable")
@click.argument("username")
def disable(username: str) -> None:
    """Disable an account (it can no longer log in; its API token stops working)."""
    from registry import users as accounts
    from registry.db import session_scope

    try:
        with session_scope(_database_url()) as session:
            accounts.set_active(
                session, accounts.require_user(session, username), False, actor=accounts.cli_actor()
            )
    except accounts.UserError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"disabled {username}")


@users.command("token")
@click.argument("username")
def token(username: str) -> None:
    """Print a new API token for USERNAME (shown once; only its hash is stored)."""
    from registry import users as accounts
    from registry.db import session_scope

    try:
        with session_scope(_database_url()) as session:
            value = accounts.issue_token(
                session, accounts.require_user(session, username), actor=accounts.cli_actor()
            )
    except accounts.UserError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(value)
    if os.isatty(2):
        click.echo(
            "Keep it secret: it is not shown again. Use: Authorization: Bearer <token>", err=True
        )
