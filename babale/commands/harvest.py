"""`babale harvest`: once (`--once`) or on a schedule."""

from __future__ import annotations

import json
import sys

import click

from surveys.spec import FORMS


def _forms(settings: object, form: str | None) -> list[str]:
    """The forms to harvest: the one asked for, else every form whose asset uid is set."""
    from registry.settings import SettingsError

    if form:
        settings.asset_uid(form)  # type: ignore[attr-defined]
        return [form]
    chosen = [f for f in FORMS if getattr(settings, f"asset_{f}")]
    if not chosen:
        raise SettingsError(
            "neither BABALE_KOBO_ASSET_PPKS nor BABALE_KOBO_ASSET_PSKS is set (the Kobo asset uids)"
        )
    return chosen


@click.command()
@click.option(
    "--once", is_flag=True, help="Run one harvest now and exit (default: run the scheduler)."
)
@click.option(
    "--form", type=click.Choice(FORMS), help="Only this form (default: every configured form)."
)
@click.option("--reconcile", is_flag=True, help="Also look for edits and deletions made on Kobo.")
@click.option(
    "--preparer",
    type=click.Choice(["on", "off"]),
    default="on",
    hidden=True,  # for benchmarks/harvest.py: map long runs' pages in a second process or not
)
def harvest(once: bool, form: str | None, reconcile: bool, preparer: str) -> None:
    """Pull submissions from Kobo into the district database.

    With --once, prints one JSON line per form and exits 0 only when every form succeeded.
    Without it, runs the scheduler: a harvest every BABALE_HARVEST_INTERVAL minutes and a
    reconcile every night at 01:00 Asia/Pontianak.
    """
    from harvester.lock import AlreadyRunning
    from harvester.pipeline import tune_gc
    from harvester.runner import open_harvester
    from registry.settings import Settings, SettingsError

    tune_gc()  # this process is the database writer of long runs

    try:
        settings = Settings.from_env()
        forms = _forms(settings, form)
        settings.require_kobo()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None

    if not once:
        from harvester.scheduler import run_scheduler

        run_scheduler(settings, forms)
        return

    try:
        with open_harvester(settings, preparer=preparer == "on") as harvester:
            results = harvester.run(forms, reconcile=reconcile)
    except AlreadyRunning as exc:
        click.echo(f"babale harvest: {exc}; try again when it has finished", err=True)
        sys.exit(3)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    for result in results:
        click.echo(json.dumps(result.line(), ensure_ascii=False))
    if not all(r.ok for r in results):
        sys.exit(1)
