"""`babale forms ...`"""

from __future__ import annotations

import click


@click.group()
def forms() -> None:
    """Build and deploy the PPKS and PSKS XLSForms."""
