"""APScheduler wiring only: a harvest every N minutes, a reconcile nightly at 01:00.

Asia/Pontianak is UTC+7 (WIB). One instance of each job at a time (max_instances=1, coalesce);
across processes the database lease in harvester.lock keeps two runs apart.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import traceback
from zoneinfo import ZoneInfo

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from harvester.lock import AlreadyRunning
from harvester.runner import open_harvester
from registry import wilayah
from registry.settings import Settings

log = logging.getLogger("babale.harvest")
TIMEZONE = wilayah.TIMEZONE


def _job(settings: Settings, forms: list[str], reconcile: bool) -> None:
    kind = "reconcile" if reconcile else "harvest"
    try:
        with open_harvester(settings, progress=False) as harvester:
            results = harvester.run(forms, reconcile=reconcile)
    except AlreadyRunning as exc:
        log.warning("%s skipped: %s", kind, exc)
        return
    except Exception as exc:
        # The type and frames, not the message: a database error's message can carry row
        # values, and a NIK must never reach a log.
        frames = "".join(traceback.format_tb(exc.__traceback__))
        log.error("%s failed: %s\n%s", kind, type(exc).__name__, frames)
        return
    for result in results:
        level = logging.INFO if result.ok else logging.ERROR
        log.log(level, "%s %s", kind, json.dumps(result.line(), ensure_ascii=False))


def build_scheduler(settings: Settings, forms: list[str]) -> BlockingScheduler:
    scheduler = BlockingScheduler(timezone=TIMEZONE)
    defaults = {"max_instances": 1, "coalesce": True, "misfire_grace_time": 600}
    scheduler.add_job(
        _job,
        IntervalTrigger(minutes=settings.harvest_interval_minutes, timezone=TIMEZONE),
        args=(settings, forms, False),
        id="harvest",
        name="harvest",
        # Start with a harvest right away rather than waiting a whole interval.
        next_run_time=dt.datetime.now(ZoneInfo(TIMEZONE)),
        **defaults,
    )
    scheduler.add_job(
        _job,
        CronTrigger(hour=1, minute=0, timezone=TIMEZONE),
        args=(settings, forms, True),
        id="reconcile",
        name="nightly reconcile",
        **defaults,
    )
    return scheduler


def run_scheduler(settings: Settings, forms: list[str]) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    scheduler = build_scheduler(settings, forms)
    log.info(
        "scheduler started: harvest every %d min, reconcile daily 01:00 %s; forms %s",
        settings.harvest_interval_minutes,
        TIMEZONE,
        ",".join(forms),
    )
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        log.info("scheduler stopped")
