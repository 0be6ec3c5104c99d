"""Build a ready Harvester from Settings: schema upgraded, one KoboClient, one session factory."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from formserver.kobo import KoboClient
from harvester.sync import Harvester
from registry import db
from registry.settings import Settings, SettingsError


@contextmanager
def open_harvester(
    settings: Settings, *, progress: bool | None = None, preparer: bool = True
) -> Iterator[Harvester]:
    url, token = settings.require_kobo()
    try:
        db.ensure_schema(settings.database_url)
    except Exception as exc:
        raise SettingsError(
            f"BABALE_DATABASE_URL: cannot open the database ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0][:160]})"
        ) from None
    with KoboClient(url, token) as client:
        yield Harvester(
            settings,
            client,
            db.session_factory(settings.database_url),
            progress=progress,
            preparer=preparer,
        )
