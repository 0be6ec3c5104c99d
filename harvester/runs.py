"""Run bookkeeping: the `HarvestRun` row is the only counter of what a run did.

`start` opens a row, `count` adds to it (inside the transaction of the rows it counts, so the
figures survive a crash exactly as far as the data does), `finish` closes it. `FormResult`, the
JSON line `babale harvest --once` prints and the scheduler logs, is read back from those rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from registry.models import HarvestRun, utcnow

COUNTERS = ("fetched", "new", "updated", "unchanged", "deleted", "failed")


def start(sessions: sessionmaker[Session], form: str, kind: str) -> int:
    """A new running `HarvestRun` of `kind` ("harvest" | "reconcile"); its id."""
    with sessions.begin() as session:
        run = HarvestRun(form=form, kind=kind, started_at=utcnow())
        session.add(run)
        session.flush()
        return run.id


def count(session: Session, run_id: int, **added: int) -> None:
    """Add to the run's counters (`fetched`, `new`, `updated`, `unchanged`, `deleted`, `failed`)
    in the caller's transaction."""
    unknown = set(added) - set(COUNTERS)
    if unknown:
        raise ValueError(f"not a run counter: {', '.join(sorted(unknown))}")
    values = {name: getattr(HarvestRun, name) + n for name, n in added.items() if n}
    if values:
        session.execute(update(HarvestRun).where(HarvestRun.id == run_id).values(**values))


def finish(sessions: sessionmaker[Session], run_id: int, error: str | None) -> None:
    with sessions.begin() as session:
        session.execute(
            update(HarvestRun)
            .where(HarvestRun.id == run_id)
            .values(finished_at=utcnow(), status="failed" if error else "ok", error=error)
        )


@dataclass
class FormResult:
    """What one `Harvester.run` did to one form, read from its run rows (harvest, and reconcile
    when asked); `line()` is the JSON line `babale harvest --once` prints."""

    form: str
    fetched: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    attachments_failed: int = 0  # photo downloads that failed (the runs' `failed`)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @classmethod
    def read(cls, sessions: sessionmaker[Session], form: str, run_ids: list[int]) -> FormResult:
        result = cls(form=form)
        with sessions() as session:
            rows = session.scalars(
                select(HarvestRun).where(HarvestRun.id.in_(run_ids)).order_by(HarvestRun.id)
            ).all()
            for run in rows:
                result.fetched += run.fetched
                result.new += run.new
                result.updated += run.updated
                result.unchanged += run.unchanged
                result.deleted += run.deleted
                result.attachments_failed += run.failed
                if run.error:
                    result.errors.append(run.error)
        return result

    def line(self) -> dict[str, Any]:
        return {
            "form": self.form,
            "fetched": self.fetched,
            "new": self.new,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "deleted": self.deleted,
            "errors": self.errors,
        }
