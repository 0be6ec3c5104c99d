"""Person-registry rows for the adjudication tests: each mention's Orang as registry/persons.py
makes it, a DuplicateGroup with its members, and a `nik_sama` blokir flag per member when the
group's reasons include `nik_sama`."""

from __future__ import annotations

import itertools

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry import persons
from registry.models import (
    DuplicateGroup,
    DuplicateMember,
    Orang,
    QualityFlag,
    Submission,
)
from surveys import paths as F

_keys = itertools.count(1)


def orang_for(session: Session, sub: Submission, position: int) -> Orang:
    """The Orang of the person at (submission, position), as registry.persons makes it."""
    found = session.get(
        Orang, persons.ensure_orang(session, [(sub.id, position)])[(sub.id, position)]
    )
    assert found is not None
    return found


def nik_field(sub: Submission, position: int) -> str:
    if sub.form == "psks":
        return F.PSKS_NIK
    return f"{F.ANGGOTA}[{position}]/nik"


def make_group(
    session: Session,
    mentions: list[tuple[Submission, int]],
    *,
    reasons: tuple[str, ...] = ("nik_sama",),
    score: float = 1.0,
    status: str = "terbuka",
) -> DuplicateGroup:
    group = DuplicateGroup(
        key=f"test-{next(_keys)}", status=status, score=score, reasons=list(reasons)
    )
    session.add(group)
    session.flush()
    for sub, position in mentions:
        orang = orang_for(session, sub, position)
        session.add(
            DuplicateMember(
                group_id=group.id, submission_id=sub.id, position=position, orang_id=orang.id
            )
        )
        if "nik_sama" in reasons and not session.scalar(
            select(QualityFlag.id).where(
                QualityFlag.submission_id == sub.id,
                QualityFlag.code == "nik_sama",
                QualityFlag.field == nik_field(sub, position),
            )
        ):
            session.add(
                QualityFlag(
                    submission_id=sub.id,
                    field=nik_field(sub, position),
                    code="nik_sama",
                    severity="blokir",
                    position=position or None,
                    message=f"Anggota ke-{position}: NIK yang sama tercatat di keluarga lain.",
                    message_en=f"Member {position}: the same NIK is recorded in another household.",
                )
            )
    session.flush()
    session.refresh(group)
    return group
