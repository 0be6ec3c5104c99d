"""`babale harvest` without --once: the APScheduler jobs it runs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from harvester.scheduler import TIMEZONE, build_scheduler
from registry.settings import Settings


def test_harvest_every_interval_and_reconcile_nightly_at_one_in_pontianak(tmp_path: Path):
    settings = Settings.from_env(
        {"BABALE_INSTANCE_DIR": str(tmp_path), "BABALE_HARVEST_INTERVAL": "20"}
    )
    scheduler = build_scheduler(settings, ["ppks", "psks"])
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"harvest", "reconcile"}

    harvest, reconcile = jobs["harvest"], jobs["reconcile"]
    assert harvest.trigger.interval == dt.timedelta(minutes=20)
    assert harvest.args[1:] == (["ppks", "psks"], False)
    assert reconcile.args[1:] == (["ppks", "psks"], True)
    for job in jobs.values():
        assert (job.max_instances, job.coalesce) == (1, True)

    tz = ZoneInfo(TIMEZONE)
    evening = dt.datetime(2026, 11, 28, 18, 30, tzinfo=tz)
    fire = reconcile.trigger.get_next_fire_time(None, evening)
    assert fire == dt.datetime(2026, 11, 29, 1, 0, tzinfo=tz)
    assert fire.utcoffset() == dt.timedelta(hours=7)  # WIB
