"""BNBA export: one CSV row per person of every PPKS household not deleted on Kobo.

Rows are streamed from a server-side cursor and written as they come, so 350,000 persons never
become 350,000 objects. The file is written beside its target and moved into place only when it
is complete, in the same transaction as its `AuditLog` row (UU 27/2022 Pasal 31).
"""

from __future__ import annotations

import csv
import getpass
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Select, select

from registry import quality, wilayah
from registry.db import engine_for, session_scope
from registry.models import STATUSES, AuditLog, Household, Person, Submission
from registry.queries import LIVE

BNBA_COLUMNS = (
    "kode_kecamatan",
    "kecamatan",
    "kode_desa",
    "desa",
    "dusun",
    "alamat",
    "rt",
    "rw",
    "no_kk",
    "nik",
    "nama",
    "jenis_kelamin",
    "tempat_lahir",
    "tanggal_lahir",
    "hubungan",
    "kategori_ppks",
    "status",
    "kobo_id",
)
STATUS_ALL = "all"
STATUS_CHOICES = (STATUS_ALL, *STATUSES)
BATCH = 2000  # rows fetched per round trip from the server-side cursor
# A spreadsheet runs a cell that starts with one of these as a formula (OWASP "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class ExportError(ValueError):
    """An export that cannot be made; the message says why in one line."""


def bnba_select(status: str = STATUS_ALL) -> Select[*tuple[Any, ...]]:
    """Persons with their household and submission, in wilayah order, deleted ones left out."""
    if status not in STATUS_CHOICES:
        raise ExportError(f"unknown status {status!r}; use one of: {', '.join(STATUS_CHOICES)}")
    stmt: Select[*tuple[Any, ...]] = (
        select(
            Household.kode_kecamatan,
            Household.kode_desa,
            Household.dusun,
            Household.alamat,
            Household.rt,
            Household.rw,
            Household.no_kk,
            Person.nik,
            Person.nama,
            Person.jenis_kelamin,
            Person.tempat_lahir,
            Person.tanggal_lahir,
            Person.hubungan,
            Person.kategori_ppks,
            Submission.status,
            Submission.kobo_id,
        )
        .join(Household, Household.id == Person.household_id)
        .join(Submission, Submission.id == Household.submission_id)
        .where(LIVE, Submission.form == "ppks")
        .order_by(
            Household.kode_kecamatan,
            Household.kode_desa,
            Submission.kobo_id,
            Person.position,
        )
    )
    if status != STATUS_ALL:
        stmt = stmt.where(Submission.status == status)
    return stmt


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
    }
    return [safe_cell(cells[c]) for c in BNBA_COLUMNS]


def bnba_rows(url: str, status: str = STATUS_ALL) -> Iterator[list[Any]]:
    """The export rows, streamed (a server-side cursor on PostgreSQL). A bad `status` raises
    here, before anything is read or written."""
    return _stream(url, bnba_select(status))


def _stream(url: str, stmt: Select[*tuple[Any, ...]]) -> Iterator[list[Any]]:
    with engine_for(url).connect() as conn:
        for r in conn.execution_options(yield_per=BATCH).execute(stmt):
            yield _row(r)


def cli_actor() -> str:
    """`cli:<os user>` for the audit log."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        user = f"uid{os.getuid()}" if hasattr(os, "getuid") else "unknown"
    return f"cli:{user}"[: getattr(AuditLog.__table__.c.actor.type, "length", 64)]


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
    *,
    status: str = STATUS_ALL,
    fmt: str = "csv",
    bom: bool = False,
    actor: str | None = None,
) -> int:
    """Write the BNBA file to `out` and record the export; returns the number of persons."""
    if fmt != "csv":
        raise ExportError(f"unknown format {fmt!r}; only csv is available")
    out = Path(out)
    if not out.parent.is_dir():
        raise ExportError(f"folder {out.parent} does not exist")
    rows = bnba_rows(url, status)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.part")
    try:
        count = write_csv(tmp, BNBA_COLUMNS, rows, bom=bom)
        with session_scope(url) as session:
            session.add(
                AuditLog(
                    actor=actor or cli_actor(),
                    action="export",
                    detail={
                        "kind": "bnba",
                        "format": fmt,
                        "filters": {"status": status},
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
