"""Which quality flags stop approval: `blokir` ones that no dinsos/admin override covers.

An override (FlagOverride) holds for the data as it was overridden (`payload_hash`): an edit on
Kobo that changes the data brings the flag back into force until someone looks again.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from registry.models import FlagOverride, QualityFlag, Submission
from registry.severity import Severity

__all__ = ["Severity", "blocking_flags", "flag_counts", "has_blocking_flag", "is_blocking"]


def _overridden() -> ColumnElement[bool]:
    """The QualityFlag row in the query has an override for its submission's current data."""
    return exists().where(
        FlagOverride.submission_id == QualityFlag.submission_id,
        FlagOverride.code == QualityFlag.code,
        FlagOverride.field == QualityFlag.field,
        FlagOverride.payload_hash == Submission.payload_hash,
    )


def is_blocking() -> ColumnElement[bool]:
    """A condition on QualityFlag joined to its Submission: the flag stops approval."""
    return and_(QualityFlag.severity == Severity.BLOKIR, ~_overridden())


def has_blocking_flag() -> ColumnElement[bool]:
    """A condition on Submission: at least one of its flags stops approval."""
    return exists().where(QualityFlag.submission_id == Submission.id, is_blocking())


def blocking_flags(session: Session, submission: Submission) -> list[QualityFlag]:
    """The flags that stop `submission` from being approved, in the order they were raised."""
    return list(
        session.scalars(
            select(QualityFlag)
            .join(Submission, Submission.id == QualityFlag.submission_id)
            .where(QualityFlag.submission_id == submission.id, is_blocking())
            .order_by(QualityFlag.id)
        )
    )


def overrides(session: Session, submission: Submission) -> dict[tuple[str, str], FlagOverride]:
    """(code, field) -> the override in force for the submission's current data."""
    rows = session.scalars(
        select(FlagOverride).where(
            FlagOverride.submission_id == submission.id,
            FlagOverride.payload_hash == submission.payload_hash,
        )
    )
    return {(o.code, o.field): o for o in rows}


def flag_counts(session: Session, where: list[ColumnElement[bool]]) -> dict[str, dict[str, Any]]:
    """code -> {"severity", "count", "blocking"} over the submissions matching `where` (the
    caller's scoped conditions), most frequent first."""
    rows = session.execute(
        select(
            QualityFlag.code,
            QualityFlag.severity,
            func.count(),
            func.count().filter(is_blocking()),
        )
        .join(Submission, Submission.id == QualityFlag.submission_id)
        .where(*where)
        .group_by(QualityFlag.code, QualityFlag.severity)
        .order_by(func.count().desc(), QualityFlag.code)
    )
    out: dict[str, dict[str, Any]] = {}
    for code, severity, count, blocking in rows:
        entry = out.setdefault(code, {"severity": severity, "count": 0, "blocking": 0})
        entry["count"] += count
        entry["blocking"] += blocking
    return out
