"""select() builders shared by the pages, the API, photos, the dashboard, stats and exports.

`scope(user)` is THE place where a user's wilayah limits what they may see: every query that
returns submissions goes through it, so a filter means the same thing everywhere and a row outside
a user's wilayah is simply not found.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, false, func, or_, select, true
from sqlalchemy.orm import Session, selectinload

from registry import flags, kategori, quality, roles, wilayah
from registry.models import (
    Household,
    OutboxItem,
    Person,
    PersonKategori,
    PsksEntry,
    QualityFlag,
    Submission,
    User,
)
from registry.roles import STATUSES
from registry.severity import Severity
from surveys.spec import FORMS

SORTS: dict[str, tuple[Any, ...]] = {
    "-submitted_at": (Submission.submitted_at.desc(), Submission.id.desc()),
    "submitted_at": (Submission.submitted_at.asc(), Submission.id.asc()),
    "status": (Submission.status.asc(), Submission.id.desc()),
    "kode_desa": (Submission.kode_desa.asc(), Submission.id.desc()),
    "-id": (Submission.id.desc(),),
    "id": (Submission.id.asc(),),
}
MAX_PER_PAGE = 200
TERTAHAN = "tertahan"  # the list's "approval blocked" choice: a blokir flag not overridden
TANDA = (Severity.BLOKIR.value, Severity.PERINGATAN.value, TERTAHAN)
# Row ids are INTEGER columns: PostgreSQL's int4 is the smaller of the two databases' limits.
# A larger number in a URL or form is simply no row, never a database error.
MAX_ID = 2**31 - 1


# Submissions that still exist on Kobo: the deleted ones are kept and marked, never counted.
LIVE = Submission.is_deleted_on_server.is_(False)


def is_row_id(value: int) -> bool:
    return 0 < value <= MAX_ID


def row_id(text: str) -> int | None:
    """A row id typed into a URL or form, or None when it names no possible row. ASCII digits
    only: str.isdigit() also takes '²', which int() refuses."""
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(MAX_ID)):
        return None
    value = int(text)
    return value if is_row_id(value) else None


MIN_DATE = dt.date(1900, 1, 1)
MAX_DATE = dt.date(9999, 12, 30)


def scope(user: User) -> ColumnElement[bool]:
    """The rows of `submission` that `user` may see at all: kabupaten, kecamatan or desa."""
    if not user.is_active:
        return false()
    reach = roles.reach(user.role)
    if reach == "kabupaten":
        return true()
    if reach == "kecamatan" and user.wilayah:
        return Submission.kode_kecamatan == user.wilayah
    if reach == "desa" and user.wilayah:
        return Submission.kode_desa == user.wilayah
    return false()


def in_scope(session: Session, user: User, submission: Submission) -> bool:
    """Whether `submission` lies inside `user`'s scope, asked through the same `scope()`."""
    found = session.scalar(select(Submission.id).where(Submission.id == submission.id, scope(user)))
    return found is not None


def may_see_personal_data(user: User) -> bool:
    caps = roles.capabilities(user.role)
    return user.is_active and caps is not None and caps.sees_personal_data


def operator(name: str) -> User:
    """Whoever runs a command (`babale stats`, `babale export`): they hold the database URL, so
    they see what an administrator sees. Never stored; `name` is for the audit log."""
    return User(username=name, role=roles.Role.ADMIN, wilayah=None, is_active=True)


@dataclass(frozen=True)
class SubmissionFilter:
    form: str | None = None
    status: str | None = None
    kecamatan: str | None = None
    desa: str | None = None
    kategori: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    petugas: str | None = None
    q: str | None = None
    flag: str | None = None  # a quality flag code (registry.quality.CODES)
    tanda: str | None = None  # blokir | peringatan: has a flag of it; tertahan: approval blocked
    sort: str = "-submitted_at"
    page: int = 1
    per_page: int = 25
    errors: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> SubmissionFilter:
        """Parse query-string arguments; unusable values are dropped and named in `errors`."""
        errors: list[str] = []

        def text(name: str) -> str | None:
            # PostgreSQL refuses NUL in any text parameter; no stored value can hold one.
            value = (args.get(name) or "").replace("\x00", "").strip()
            return value or None

        def choice(name: str, allowed: Sequence[str] | Mapping[str, Any]) -> str | None:
            value = text(name)
            if value is not None and value not in allowed:
                errors.append(f"nilai {name} tidak dikenal: {value}")
                return None
            return value

        def date(name: str) -> dt.date | None:
            value = text(name)
            if value is None:
                return None
            try:
                day = dt.date.fromisoformat(value)
            except ValueError:
                errors.append(f"{name} harus tanggal TTTT-BB-HH, bukan {value}")
                return None
            if not MIN_DATE <= day <= MAX_DATE:  # WIB -> UTC and "the day after" must exist
                errors.append(f"{name} di luar rentang tanggal yang dapat dipakai: {value}")
                return None
            return day

        def number(name: str, default: int, upper: int) -> int:
            value = text(name)
            if value is None:
                return default
            if not (value.isascii() and value.isdigit()) or not value.strip("0"):
                errors.append(f"{name} harus bilangan bulat positif, bukan {value}")
                return default
            return upper if len(value) > len(str(upper)) else min(int(value), upper)

        kategori_codes = {**kategori.ppks(), **kategori.psks()}
        sort = text("sort") or "-submitted_at"
        if sort not in SORTS:
            errors.append(f"urutan tidak dikenal: {sort}")
            sort = "-submitted_at"
        return cls(
            form=choice("form", FORMS),
            status=choice("status", STATUSES),
            kecamatan=choice("kecamatan", wilayah.kecamatan()),
            desa=choice("desa", wilayah.desa()),
            kategori=choice("kategori", kategori_codes),
            date_from=date("dari"),
            date_to=date("sampai"),
            petugas=text("petugas"),
            q=text("q"),
            flag=choice("flag", quality.CODES),
            tanda=choice("tanda", TANDA),
            sort=sort,
            page=number("page", 1, 10**6),
            per_page=number("per_page", 25, MAX_PER_PAGE),
            errors=tuple(errors),
        )

    def args(self, **overrides: Any) -> dict[str, Any]:
        """Query-string arguments that reproduce this filter (for links and bulk forms)."""
        f = replace(self, **overrides) if overrides else self
        out: dict[str, Any] = {
            "form": f.form,
            "status": f.status,
            "kecamatan": f.kecamatan,
            "desa": f.desa,
            "kategori": f.kategori,
            "dari": f.date_from.isoformat() if f.date_from else None,
            "sampai": f.date_to.isoformat() if f.date_to else None,
            "petugas": f.petugas,
            "q": f.q,
            "flag": f.flag,
            "tanda": f.tanda,
            "sort": f.sort if f.sort != "-submitted_at" else None,
            "page": f.page if f.page != 1 else None,
            "per_page": f.per_page if f.per_page != 25 else None,
        }
        return {k: v for k, v in out.items() if v is not None}


def _wib_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), wilayah.WIB).astimezone(dt.UTC)


def _has(row: Any, *where: ColumnElement[bool]) -> ColumnElement[bool]:
    """A row of `row`'s table about this submission meets `where`. Correlated on Submission only,
    so it also works in a query that already selects that table (the export's persons)."""
    return exists().where(row.submission_id == Submission.id, *where).correlate(Submission)


def _search(q: str) -> ColumnElement[bool]:
    """NIK / No KK when the text is digits, otherwise a name (person, PSKS or lembaga)."""
    if q.isdigit():
        return or_(
            _has(Person, Person.nik.startswith(q)),
            _has(PsksEntry, PsksEntry.nik.startswith(q)),
            _has(Household, Household.no_kk.startswith(q)),
        )
    return or_(
        _has(Person, Person.nama.icontains(q, autoescape=True)),
        _has(
            PsksEntry,
            or_(
                PsksEntry.nama.icontains(q, autoescape=True),
                PsksEntry.nama_lembaga.icontains(q, autoescape=True),
            ),
        ),
    )


def _kategori(kode: str) -> ColumnElement[bool]:
    return or_(
        _has(Person, PersonKategori.person_id == Person.id, PersonKategori.kode == kode),
        _has(PsksEntry, PsksEntry.kategori_psks == kode),
    )


def conditions(user: User, f: SubmissionFilter, *, with_status: bool = True) -> list[Any]:
    """The WHERE clauses of `f` inside `user`'s scope."""
    where: list[Any] = [scope(user)]
    if f.form:
        where.append(Submission.form == f.form)
    if f.status and with_status:
        where.append(Submission.status == f.status)
    if f.kecamatan:
        where.append(Submission.kode_kecamatan == f.kecamatan)
    if f.desa:
        where.append(Submission.kode_desa == f.desa)
    if f.kategori:
        where.append(_kategori(f.kategori))
    if f.date_from:
        where.append(Submission.submitted_at >= _wib_start(f.date_from))
    if f.date_to:
        where.append(Submission.submitted_at < _wib_start(f.date_to + dt.timedelta(days=1)))
    if f.petugas:
        where.append(Submission.nama_petugas.icontains(f.petugas, autoescape=True))
    if f.q:
        where.append(_search(f.q))
    if f.flag:
        where.append(_has(QualityFlag, QualityFlag.code == f.flag))
    if f.tanda == TERTAHAN:
        where.append(flags.has_blocking_flag())
    elif f.tanda:
        where.append(_has(QualityFlag, QualityFlag.severity == f.tanda))
    return where


def flag_counts(
    session: Session, user: User, f: SubmissionFilter | None = None
) -> dict[str, dict[str, Any]]:
    """code -> {"severity", "count", "blocking"} of the flags of live submissions in `user`'s
    scope (and `f`)."""
    return flags.flag_counts(session, [*conditions(user, f or SubmissionFilter()), LIVE])


def flag_summary(session: Session, ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """submission id -> {"blokir", "peringatan", "tertahan"} counts, for the rows of a list."""
    if not ids:
        return {}
    rows = session.execute(
        select(
            QualityFlag.submission_id,
            func.count().filter(QualityFlag.severity == Severity.BLOKIR),
            func.count().filter(QualityFlag.severity == Severity.PERINGATAN),
            func.count().filter(flags.is_blocking()),
        )
        .join(Submission, Submission.id == QualityFlag.submission_id)
        .where(QualityFlag.submission_id.in_(list(ids)))
        .group_by(QualityFlag.submission_id)
    )
    return {sid: {"blokir": b, "peringatan": p, "tertahan": t} for sid, b, p, t in rows}


def submissions(user: User, f: SubmissionFilter) -> Select[Submission]:
    """Submissions matching `f` in `user`'s scope, sorted, with no paging."""
    return select(Submission).where(*conditions(user, f)).order_by(*SORTS[f.sort])


@dataclass(frozen=True)
class Page:
    items: list[Submission]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))


def page_submissions(session: Session, user: User, f: SubmissionFilter) -> Page:
    total = session.scalar(select(func.count(Submission.id)).where(*conditions(user, f))) or 0
    stmt = (
        submissions(user, f)
        .options(
            selectinload(Submission.household).selectinload(Household.persons),
            selectinload(Submission.psks_entry),
        )
        .limit(f.per_page)
        .offset((f.page - 1) * f.per_page)
    )
    return Page(list(session.scalars(stmt)), total, f.page, f.per_page)


def matching_ids(
    session: Session, user: User, f: SubmissionFilter, up_to: int | None = None
) -> list[int]:
    """Ids of every submission matching `f` (for "all that match the filter" bulk actions),
    only up to id `up_to` when given: what had arrived when the reviewer saw the list."""
    where = conditions(user, f)
    if up_to is not None:
        where.append(Submission.id <= up_to)
    stmt = select(Submission.id).where(*where).order_by(Submission.id)
    return list(session.scalars(stmt))


def newest_id(session: Session, user: User, f: SubmissionFilter) -> int | None:
    """The highest id matching `f`: new arrivals get higher ids than anything shown so far."""
    return session.scalar(select(func.max(Submission.id)).where(*conditions(user, f)))


def status_counts(session: Session, user: User, f: SubmissionFilter) -> dict[str, int]:
    """Counts per review status for `f`, ignoring its own status filter."""
    stmt = (
        select(Submission.status, func.count(Submission.id))
        .where(*conditions(user, f, with_status=False))
        .group_by(Submission.status)
    )
    counts: dict[str, int] = dict.fromkeys(STATUSES, 0)
    counts.update({status: n for status, n in session.execute(stmt)})
    return counts


def get_submission(session: Session, user: User, submission_id: int) -> Submission | None:
    """One submission with its rows, or None when it does not exist or lies outside the scope."""
    if not is_row_id(submission_id):
        return None
    stmt = (
        select(Submission)
        .where(Submission.id == submission_id, scope(user))
        .options(
            selectinload(Submission.household)
            .selectinload(Household.persons)
            .selectinload(Person.kategori),
            selectinload(Submission.psks_entry),
            selectinload(Submission.attachments),
            selectinload(Submission.flags),
        )
    )
    return session.scalar(stmt)


def latest_outbox(session: Session, submission_id: int) -> OutboxItem | None:
    """The newest write-back item of a submission: tells whether Kobo has the decision yet."""
    stmt = (
        select(OutboxItem)
        .where(OutboxItem.submission_id == submission_id)
        .order_by(OutboxItem.id.desc())
        .limit(1)
    )
    return session.scalar(stmt)


def pending_writeback(session: Session) -> int:
    """Decisions Kobo has not accepted yet (the write-back retries them)."""
    return (
        session.scalar(select(func.count(OutboxItem.id)).where(OutboxItem.sent_at.is_(None))) or 0
    )


def stats(session: Session, user: User, f: SubmissionFilter | None = None) -> dict[str, Any]:
    """Totals by form, status and kecamatan of what `f` matches inside `user`'s scope (no
    personal data), from one grouped query: the dashboard, `/api/v1/stats` and `babale stats`.
    Submissions deleted on Kobo are left out and counted apart in `deleted`."""
    where = conditions(user, f or SubmissionFilter())
    by_form = dict.fromkeys(FORMS, 0)
    by_status: dict[str, int] = dict.fromkeys(STATUSES, 0)
    by_kecamatan: dict[str, int] = {}
    by_kec_status: dict[str, dict[str, int]] = {}
    stmt = (
        select(
            Submission.form, Submission.kode_kecamatan, Submission.status, func.count(Submission.id)
        )
        .where(*where, LIVE)
        .group_by(Submission.form, Submission.kode_kecamatan, Submission.status)
    )
    for form, kode, status, n in session.execute(stmt):
        kode = kode or ""
        by_form[form] = by_form.get(form, 0) + n
        by_status[status] = by_status.get(status, 0) + n
        by_kecamatan[kode] = by_kecamatan.get(kode, 0) + n
        row = by_kec_status.setdefault(kode, {s: 0 for s in STATUSES})
        row[status] = row.get(status, 0) + n
    deleted = session.scalar(
        select(func.count(Submission.id)).where(*where, Submission.is_deleted_on_server)
    )
    return {
        "total": sum(by_status.values()),
        "by_form": by_form,
        "by_status": by_status,
        "by_kecamatan": dict(sorted(by_kecamatan.items())),
        "by_kecamatan_status": dict(sorted(by_kec_status.items())),
        "deleted": deleted or 0,
    }


def row_counts(session: Session, user: User, f: SubmissionFilter | None = None) -> dict[str, int]:
    """The registry rows behind `stats()`: PPKS households, their members, PSKS entries (none of
    them deleted on Kobo)."""
    where = [*conditions(user, f or SubmissionFilter()), LIVE]

    def count(row: Any, form: str) -> int:
        stmt = (
            select(func.count())
            .select_from(row)
            .join(Submission, Submission.id == row.submission_id)
            .where(*where, Submission.form == form)
        )
        return session.scalar(stmt) or 0

    return {
        "households": count(Household, "ppks"),
        "persons": count(Person, "ppks"),
        "psks": count(PsksEntry, "psks"),
    }


def kategori_counts(session: Session, user: User) -> dict[str, int]:
    """Persons per PPKS category and PSKS per category inside the scope (totals only)."""
    ppks = (
        select(PersonKategori.kode, func.count(PersonKategori.person_id))
        .join(Person, Person.id == PersonKategori.person_id)
        .join(Submission, Submission.id == Person.submission_id)
        .where(scope(user), LIVE)
        .group_by(PersonKategori.kode)
    )
    psks = (
        select(PsksEntry.kategori_psks, func.count(PsksEntry.id))
        .join(Submission, Submission.id == PsksEntry.submission_id)
        .where(scope(user), LIVE)
        .group_by(PsksEntry.kategori_psks)
    )
    out: dict[str, int] = {}
    for kode, n in [*session.execute(ppks), *session.execute(psks)]:
        if kode:
            out[kode] = out.get(kode, 0) + n
    return out
