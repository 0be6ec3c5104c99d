"""BNBA export: one CSV row per person of the PPKS households a filter matches.

The rows are chosen by the same `registry.queries.SubmissionFilter` and `scope()` as the list and
the API, so a filter means the same thing in a file as on a screen; households deleted on Kobo
are never exported. The person columns are the form spec's member answers
(`surveys.spec.PPKS.member_answers`).

Rows are streamed from a server-side cursor and written as they come, so 350,000 persons never
become 350,000 objects. The file is written beside its target and moved into place only when it
is complete, in the same transaction as its `AuditLog` row (UU 27/2022 Pasal 31).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Select, func, literal, or_, select

from registry import quality, queries, wilayah
from registry.db import engine_for, session_scope
from registry.models import AuditLog, Household, Person, QualityFlag, Submission, User
from registry.queries import LIVE, SubmissionFilter
from registry.roles import STATUSES
from registry.users import cli_actor
from surveys.spec import PPKS

HOUSEHOLD_COLUMNS = (
    "kode_kecamatan",
    "kecamatan",
    "kode_desa",
    "desa",
    "dusun",
    "alamat",
    "rt",
    "rw",
    "no_kk",
)
# A member answer declared in the form spec (with its Person column) is exported with no change
# here.
PERSON_COLUMNS = PPKS.member_columns
BNBA_COLUMNS = (*HOUSEHOLD_COLUMNS, *PERSON_COLUMNS, "status", "tanda_mutu", "kobo_id")
STATUS_ALL = "all"
STATUS_CHOICES = (STATUS_ALL, *STATUSES)
BATCH = 2000  # rows fetched per round trip from the server-side cursor
# A spreadsheet runs a cell that starts with one of these as a formula (OWASP "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class ExportError(ValueError):
    """An export that cannot be made; the message says why in one line."""


def bnba_filter(status: str = STATUS_ALL) -> SubmissionFilter:
    """The filter of `babale export bnba --status`: every review status, or one."""
    if status not in STATUS_CHOICES:
        raise ExportError(f"unknown status {status!r}; use one of: {', '.join(STATUS_CHOICES)}")
    return SubmissionFilter(status=None if status == STATUS_ALL else status)


def _tanda_mutu() -> Any:
    """The person's flags and their household's, as `code (severity)` joined by "; "."""
    return (
        select(
            func.aggregate_strings(
                QualityFlag.code + literal(" (") + QualityFlag.severity + literal(")"), "; "
            )
        )
        .where(
            QualityFlag.submission_id == Submission.id,
            or_(QualityFlag.position.is_(None), QualityFlag.position == Person.position),
        )
        .correlate(Submission, Person)
        .scalar_subquery()
        .label("tanda_mutu")
    )


def bnba_select(user: User, f: SubmissionFilter | None = None) -> Select[*tuple[Any, ...]]:
    """Persons with their household and submission that `f` matches inside `user`'s scope, in
    wilayah order, deleted ones left out. The filter's paging and sort do not apply to a file."""
    return (
        select(
            Household.kode_kecamatan,
            Household.kode_desa,
            Household.dusun,
            Household.alamat,
            Household.rt,
            Household.rw,
            Household.no_kk,
            *(getattr(Person, column) for column in PERSON_COLUMNS),
            Submission.status,
            _tanda_mutu(),
            Submission.kobo_id,
        )
        .join(Household, Household.id == Person.household_id)
        .join(Submission, Submission.id == Household.submission_id)
        .where(*queries.conditions(user, f or SubmissionFilter()), LIVE, Submission.form == "ppks")
        .order_by(
            Household.kode_kecamatan,
            Household.kode_desa,
            Submission.kobo_id,
            Person.position,
        )
    )


def safe_cell(value: Any) -> Any:
    """A cell a spreadsheet shows as text: a leading = + - @ (or tab/CR) gets a quote in front."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _row(r: Any) -> list[Any]:
    kec = wilayah.kecamatan().get(r.kode_kecamatan or "")
    desa = wilayah.desa().get(r.kode_desa or "")
    cells = {
        **r._mapping,
        "kecamatan": kec.nama if kec else "",
        "desa": desa.nama if desa else "",
        "kategori_ppks": " ".join(quality.kategori_codes(r.kategori_ppks)),
        "tanda_mutu": r.tanda_mutu or "",
    }
    return [safe_cell(cells[c]) for c in BNBA_COLUMNS]


def bnba_rows(url: str, user: User, f: SubmissionFilter | None = None) -> Iterator[list[Any]]:
    """The export rows, streamed (a server-side cursor on PostgreSQL)."""
    stmt = bnba_select(user, f)
    with engine_for(url).connect() as conn:
        for r in conn.execution_options(yield_per=BATCH).execute(stmt):
            yield _row(r)


def write_csv(path: Path, header: Sequence[str], rows: Iterator[list[Any]], *, bom: bool) -> int:
    """Write `rows` under `header`; returns the number of data rows."""
    count = 0
    with path.open("w", newline="", encoding="utf-8-sig" if bom else "utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for row in rows:
            writer.writerow(row)
            count += 1
    return count


def export_bnba(
    url: str,
    out: Path,
    f: SubmissionFilter | None = None,
    *,
    user: User | None = None,
    fmt: str = "csv",
    bom: bool = False,
) -> int:
    """Write the BNBA file of what `f` matches in `user`'s scope and record the export; returns
    the number of persons. `user` is by default the person at the command line, who sees the
    whole kabupaten (`queries.operator`)."""
    if fmt != "csv":
        raise ExportError(f"unknown format {fmt!r}; only csv is available")
    out = Path(out)
    if not out.parent.is_dir():
        raise ExportError(f"folder {out.parent} does not exist")
    f = f or SubmissionFilter()
    user = user or queries.operator(cli_actor())
    # The audit log names every filter; the status as "all" when there is none, as it always has.
    filters = {"status": f.status or STATUS_ALL, **f.args(status=None, form=None)}
    tmp = out.with_name(f".{out.name}.{os.getpid()}.part")
    try:
        count = write_csv(tmp, BNBA_COLUMNS, bnba_rows(url, user, f), bom=bom)
        with session_scope(url) as session:
            session.add(
                AuditLog(
                    actor=user.username,
                    action="export",
                    detail={
                        "kind": "bnba",
                        "format": fmt,
                        "filters": filters,
                        "rows": count,
                        "file": str(out.resolve()),
                    },
                )
            )
            session.flush()
            os.replace(tmp, out)  # the file appears only with its audit row
    finally:
        tmp.unlink(missing_ok=True)
    return count
