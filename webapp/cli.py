"""`babale serve`"""

from __future__ import annotations

import click


@click.command()
def serve() -> None:
    """Serve the review app."""
    raise click.ClickException("not built yet")
