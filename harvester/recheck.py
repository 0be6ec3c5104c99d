"""`babale quality recheck`: run every quality rule again over the stored payloads (after a rule
changed), then look for likely duplicates across the whole registry (after a threshold changed).

The flags of each batch of submissions are replaced in one transaction together with the run's
position (RecheckRun.last_submission_id), so a run that stops (Ctrl-C, a crash) resumes after
the last batch it finished. It holds the harvest's lease: a harvest rebuilding flags at the same
time would race it. `nik_sama` flags are the person registry's, not a rule's: they stay.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from harvester.lock import HarvestLease
from harvester.mapping import map_submission
from registry import duplicates
from registry.bulk import insert_rows, table_of
from registry.models import (
    DuplicateGroup,
    DuplicateMember,
    QualityFlag,
    RecheckRun,
    Submission,
    utcnow,
)
from registry.persons import NIK_SAMA

BATCH = 500
QUALITY_FLAG = table_of(QualityFlag)


@dataclass
class RecheckResult:
    run_id: int
    resumed: bool  # went on from a run that had stopped
    checked: int  # submissions checked by this call
    flags: int  # rule flags they hold now
    groups_opened: int  # likely-duplicate groups proposed
    groups_closed: int  # open likely-duplicate groups that no longer match


def recheck(
    sessions: sessionmaker[Session],
    *,
    limits: duplicates.Thresholds = duplicates.DEFAULT,
    progress: Callable[[int, int], None] | None = None,
    batch: int = BATCH,
) -> RecheckResult:
    """Recheck every submission (resuming a stopped run), then the likely duplicates.
    `progress(done, total)` is called after each batch."""
    with HarvestLease(sessions, name="harvest") as lease:
        run_id, resumed = _start(sessions)
        checked = flags = 0
        while True:
            with sessions.begin() as session:
                lease.heartbeat(session)
                run = session.get_one(RecheckRun, run_id)
                rows = session.execute(
                    select(Submission.id, Submission.form, Submission.payload)
                    .where(Submission.id > run.last_submission_id)
                    .order_by(Submission.id)
                    .limit(batch)
                ).all()
                if not rows:
                    break
                flags += _replace_flags(session, rows)
                checked += len(rows)
                run.last_submission_id = rows[-1].id
                run.done += len(rows)
                done, total = run.done, run.total
            if progress is not None:
                progress(done, total)
        with sessions.begin() as session:
            lease.heartbeat(session)
            opened, closed = refresh_duplicates(session, limits)
            run = session.get_one(RecheckRun, run_id)
            run.finished_at = utcnow()
    return RecheckResult(run_id, resumed, checked, flags, opened, closed)


def _start(sessions: sessionmaker[Session]) -> tuple[int, bool]:
    """The unfinished run to resume, else a new one counting what there is to check."""
    with sessions.begin() as session:
        stopped = session.scalar(
            select(RecheckRun).where(RecheckRun.finished_at.is_(None)).order_by(RecheckRun.id)
        )
        if stopped is not None:
            return stopped.id, True
        total = session.scalar(select(func.count(Submission.id))) or 0
        run = RecheckRun(total=total, done=0, last_submission_id=0)
        session.add(run)
        session.flush()
        return run.id, False


def _replace_flags(session: Session, rows: Sequence[Row[Any]]) -> int:
    """The rule flags of these submissions, made again from their payloads."""
    ids = [r.id for r in rows]
    session.execute(
        delete(QualityFlag).where(QualityFlag.submission_id.in_(ids), QualityFlag.code != NIK_SAMA)
    )
    new = []
    for r in rows:
        for flag in map_submission(r.form, r.payload).flags:
            new.append(
                {
                    "submission_id": r.id,
                    "field": flag.field,
                    "code": flag.code,
                    "message": flag.message,
                    "severity": flag.severity,
                    "position": flag.position,
                    "message_en": flag.message_en,
                }
            )
    insert_rows(session.connection(), QUALITY_FLAG, new)
    return len(new)


def refresh_duplicates(session: Session, limits: duplicates.Thresholds) -> tuple[int, int]:
    """Every likely-duplicate pair in the registry found again: new ones proposed, open ones
    that no longer match closed, decided ones kept. Returns (opened, closed)."""
    found = list(duplicates.find_all(duplicates.all_members(session), limits))
    wanted = {duplicates.key_of(m) for m in found}
    stale = [
        gid
        for gid, key in session.execute(
            select(DuplicateGroup.id, DuplicateGroup.key).where(
                DuplicateGroup.status == "terbuka",
                DuplicateGroup.key.startswith(duplicates.KEY_PREFIX),
            )
        )
        if key not in wanted
    ]
    if stale:
        session.execute(delete(DuplicateMember).where(DuplicateMember.group_id.in_(stale)))
        session.execute(delete(DuplicateGroup).where(DuplicateGroup.id.in_(stale)))
    return duplicates.propose(session, found), len(stale)
