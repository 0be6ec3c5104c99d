"""`babale serve`: the review app under waitress (a production WSGI server)."""

from __future__ import annotations

import click


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 64))
def serve(host: str, port: int, threads: int) -> None:
    """Serve the review app (BABALE_SECRET_KEY is required outside development)."""
    from waitress import serve as waitress_serve

    from registry.db import upgrade
    from registry.settings import SettingsError
    from webapp import create_app

    try:
        app = create_app()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    upgrade(app.config["DATABASE_URL"])
    click.echo(f"Babale: http://{host}:{port}/ (Ctrl+C to stop)")
    waitress_serve(app, host=host, port=port, threads=threads, ident="babale")
