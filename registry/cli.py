"""`babale db ...`, `babale stats`, `babale export ...`, `babale users ...`"""

from __future__ import annotations

import click


@click.group()
def db() -> None:
    """Create and upgrade the district database."""


@click.command()
def stats() -> None:
    """Counts of what the database holds."""
    raise click.ClickException("not built yet")


@click.group()
def export() -> None:
    """Export the registry to files."""


@click.group()
def users() -> None:
    """Manage the accounts of the review app."""
