"""`babale harvest ...`"""

from __future__ import annotations

import click


@click.command()
def harvest() -> None:
    """Pull submissions from Kobo into the district database."""
    raise click.ClickException("not built yet")
