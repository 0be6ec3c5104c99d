"""What the district database holds: the counts `babale stats` prints.

`persons` counts the member rows of PPKS households; `deleted` the submissions deleted on Kobo;
every other count leaves the deleted ones out (they are marked, never removed).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from registry.models import STATUSES, Household, Person, PsksEntry, Submission
from registry.queries import LIVE
from surveys.spec import FORMS


def collect(session: Session) -> dict[str, Any]:
    """{"submissions": {"ppks": n, "psks": n}, "households", "persons", "psks", "deleted",
    "by_status": {status: n}} for what is not deleted on Kobo (except `deleted` itself)."""
    by_form = dict.fromkeys(FORMS, 0)
    rows = session.execute(
        select(Submission.form, func.count()).where(LIVE).group_by(Submission.form)
    )
    by_form.update({form: n for form, n in rows})
    by_status = dict.fromkeys(STATUSES, 0)
    rows = session.execute(
        select(Submission.status, func.count()).where(LIVE).group_by(Submission.status)
    )
    by_status.update({status: n for status, n in rows})
    households = session.scalar(
        select(func.count())
        .select_from(Household)
        .join(Submission, Submission.id == Household.submission_id)
        .where(LIVE, Submission.form == "ppks")
    )
    persons = session.scalar(
        select(func.count())
        .select_from(Person)
        .join(Household, Household.id == Person.household_id)
        .join(Submission, Submission.id == Household.submission_id)
        .where(LIVE, Submission.form == "ppks")
    )
    psks = session.scalar(
        select(func.count())
        .select_from(PsksEntry)
        .join(Submission, Submission.id == PsksEntry.submission_id)
        .where(LIVE, Submission.form == "psks")
    )
    deleted = session.scalar(
        select(func.count()).select_from(Submission).where(Submission.is_deleted_on_server)
    )
    return {
        "submissions": by_form,
        "households": households or 0,
        "persons": persons or 0,
        "psks": psks or 0,
        "deleted": deleted or 0,
        "by_status": by_status,
    }


def table(stats: dict[str, Any]) -> str:
    """A small table for people (Bahasa Indonesia labels)."""
    rows = [
        ("Kiriman PPKS", stats["submissions"]["ppks"]),
        ("Kiriman PSKS", stats["submissions"]["psks"]),
        ("Keluarga (PPKS)", stats["households"]),
        ("Anggota keluarga (PPKS)", stats["persons"]),
        ("Entri PSKS", stats["psks"]),
        ("Dihapus di Kobo", stats["deleted"]),
        *((f"Status {status}", n) for status, n in stats["by_status"].items()),
    ]
    width = max(len(label) for label, _ in rows)
    digits = max(len(str(n)) for _, n in rows)
    return "\n".join(f"{label:<{width}}  {n:>{digits}}" for label, n in rows)
