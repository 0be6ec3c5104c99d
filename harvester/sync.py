"""Harvest one form: Kobo pages -> one transaction per page (rows + watermark + run counters).

A crash at any instant loses nothing and duplicates nothing: the watermark moves in the same
transaction as the rows it covers, and rows are upserted on (asset uid, Kobo `_id`).
"""

from __future__ import annotations

import json
import operator
import sys
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from formserver.kobo import KoboClient, KoboError
from formserver.paging import batches
from harvester.lock import HarvestLease
from harvester.mapping import PERSON_COLUMNS, system_fields, validation_of
from harvester.pipeline import (
    FLAG_COLUMNS,
    PARALLEL_MIN_ROWS,
    Prepared,
    prepare,
    prepared_pages,
)
from registry.columns import PERSON_DATES
from registry.models import (
    STATUS_BARU,
    Attachment,
    HarvestRun,
    HarvestState,
    Household,
    Person,
    PersonKategori,
    PsksEntry,
    QualityFlag,
    Submission,
    utcnow,
)
from registry.settings import Settings

DOWNLOAD_WORKERS = 4  # photos fetched at once: hides round-trip time without crowding Kobo
DOWNLOAD_BATCH = 200  # attachment rows updated per transaction
RECONCILE_FIELDS = ["_id", "_uuid", "_validation_status"]
# Tables written with the driver's executemany (see _executemany).
SUBMISSION = Submission.__table__
HOUSEHOLD = Household.__table__
PERSON = Person.__table__
PERSON_KATEGORI = PersonKategori.__table__
PSKS_ENTRY = PsksEntry.__table__
QUALITY_FLAG = QualityFlag.__table__
ATTACHMENT = Attachment.__table__
REFETCH_BATCH = 200  # ids per `$in` query when reconcile re-reads edited or missing rows


@dataclass
class FormResult:
    """What one run did to one form; `line()` is the JSON line `babale harvest --once` prints."""

    form: str
    fetched: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    attachments_failed: int = 0
    errors: list[str] = field(default_factory=list)
    harvest_run_id: int | None = None  # the HarvestRun row that photo failures are added to

    @property
    def ok(self) -> bool:
        return not self.errors

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


@dataclass
class PageCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0


def store_page(session: Session, form: str, asset_uid: str, page: list[Prepared]) -> PageCounts:
    """Upsert one page of prepared submissions and their mapped rows, inside the caller's
    transaction."""
    now = utcnow()
    counts = PageCounts()
    by_id: dict[int, Prepared] = {}
    for item in page:
        by_id[item.kobo_id] = item  # a repeated _id within a page: the later copy wins
    # Core rather than ORM execution for the hot selects: plain rows, without the ORM's loading.
    conn = session.connection()
    existing = {
        r.kobo_id: r
        for r in conn.execute(
            select(
                Submission.id,
                Submission.kobo_id,
                Submission.uuid,
                Submission.payload_hash,
                Submission.status,
                Submission.kobo_validation_uid,
                Submission.kobo_validation_timestamp,
            ).where(Submission.asset_uid == asset_uid, Submission.kobo_id.in_(list(by_id)))
        )
    }
    new_rows: list[dict[str, Any]] = []
    changed: list[tuple[int, dict[str, Any]]] = []  # (submission id, values)
    mapped_for: dict[int, Prepared] = {}  # kobo_id -> what is (re)written
    touched: list[dict[str, Any]] = []
    reviewed_then_edited: list[int] = []
    for kobo_id, item in by_id.items():
        digest = item.digest
        val_uid, val_by, val_ts = item.validation
        old = existing.get(kobo_id)
        if old is not None and old.payload_hash == digest:
            counts.unchanged += 1
            touched.append(
                {
                    "id": old.id,
                    "last_seen_at": now,
                    "kobo_validation_uid": val_uid,
                    "kobo_validation_by": val_by,
                    "kobo_validation_timestamp": val_ts,
                }
            )
            continue
        mapped = item.mapped
        mapped_for[kobo_id] = item
        values = {
            **(mapped.system or system_fields(item.payload_dict())),
            **mapped.submission,
            "form": form,
            "asset_uid": asset_uid,
            "payload": item.payload_text(),
            "payload_hash": digest,
            "last_seen_at": now,
            "kobo_validation_uid": val_uid,
            "kobo_validation_by": val_by,
            "kobo_validation_timestamp": val_ts,
        }
        values["kobo_id"] = kobo_id
        if old is None:
            counts.new += 1
            values["first_seen_at"] = now
            values["status"] = STATUS_BARU
            new_rows.append(values)
        else:
            counts.updated += 1
            changed.append((old.id, values))
            if old.status != STATUS_BARU and old.uuid != values["uuid"]:
                reviewed_then_edited.append(old.id)

    if touched:
        session.execute(update(Submission), touched)
    submission_ids: dict[int, int] = {}  # kobo_id -> submission.id
    if new_rows:
        # Plain executemany, then one SELECT for the new ids: RETURNING over executemany is
        # many times slower on SQLite, and these tables have only this one writer.
        _executemany(session, SUBMISSION, new_rows, bound=frozenset({"payload"}))
        submission_ids.update(
            conn.execute(
                select(Submission.kobo_id, Submission.id).where(
                    Submission.asset_uid == asset_uid,
                    Submission.kobo_id.in_([v["kobo_id"] for v in new_rows]),
                )
            ).all()
        )
    if changed:
        ids = [sid for sid, _ in changed]
        # Mapped rows are derived data: rebuild them from the new payload.
        session.execute(delete(Household).where(Household.submission_id.in_(ids)))
        session.execute(delete(PsksEntry).where(PsksEntry.submission_id.in_(ids)))
        session.execute(delete(QualityFlag).where(QualityFlag.submission_id.in_(ids)))
        session.execute(
            update(Submission),
            # The JSON column serialises the dict itself (the text is for the executemany path).
            [{"id": sid, **v, "payload": by_id[v["kobo_id"]].payload_dict()} for sid, v in changed],
        )
        submission_ids.update({v["kobo_id"]: sid for sid, v in changed})
    if mapped_for:
        _insert_mapped(session, {submission_ids[k]: m for k, m in mapped_for.items()})
        _upsert_attachments(
            session,
            {submission_ids[k]: by_id[k].attachments for k in mapped_for},
            replaced={sid for sid, _ in changed},
        )
    if reviewed_then_edited:
        from registry import review

        for sid in reviewed_then_edited:
            submission = session.get(Submission, sid)
            if submission is not None:
                review.mark_changed_after_review(session, submission)
    return counts


def _executemany(
    session: Session,
    table: Any,
    rows: list[dict[str, Any]],
    *,
    bound: frozenset[str] = frozenset(),
) -> None:
    """INSERT dict `rows` (all with the same keys) with the driver's own executemany."""
    columns = list(rows[0])
    params = list(map(operator.itemgetter(*columns), rows))
    if len(columns) == 1:
        params = [(p,) for p in params]
    _insert_rows(session, table, columns, params, bound=bound)


def _insert_rows(
    session: Session,
    table: Any,
    columns: list[str] | tuple[str, ...],
    params: list[tuple[Any, ...]],
    *,
    bound: frozenset[str] = frozenset(),
) -> None:
    """INSERT value tuples with the driver's own executemany, like the benchmark's floor.

    SQLAlchemy's per-row parameter handling costs more than the insert itself at 350,000
    members. Here each column's own bind processor (dates, timestamps, JSON, booleans) is looked
    up once and applied only where the type has one; `bound` columns arrive in the form the
    driver takes (a payload as the JSON text it was serialised to once, a date as ISO text).
    """
    conn = session.connection()
    dialect = conn.dialect
    quote = dialect.identifier_preparer.quote
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    # Identifiers come from our own table metadata; every value is a bound parameter.
    names = ", ".join(quote(c) for c in columns)
    marks = ", ".join([mark] * len(columns))
    sql = f"INSERT INTO {quote(table.name)} ({names}) VALUES ({marks})"  # noqa: S608
    processors = [
        (i, proc)
        for i, c in enumerate(columns)
        if c not in bound and (proc := table.c[c].type._cached_bind_processor(dialect))
    ]
    if processors and params:
        # Column by column: a handful of columns have a processor, and rows are many.
        columns_of = list(zip(*params, strict=True))
        for i, proc in processors:
            columns_of[i] = _processed(proc, columns_of[i])
        params = list(zip(*columns_of, strict=True))
    if dialect.name == "postgresql":
        # COPY: psycopg's executemany sends one INSERT per row, which cost about three times
        # as much at 7,000 rows a page (measured). Each value is read by its column's type.
        cursor = conn.connection.driver_connection.cursor()
        with cursor.copy(f"COPY {quote(table.name)} ({names}) FROM STDIN") as copy:
            for row in params:
                copy.write_row(row)
        return
    conn.exec_driver_sql(sql, params)


def _processed(proc: Any, values: tuple[Any, ...]) -> tuple[Any, ...]:
    """`proc` applied to each value; once when they are all the same object (a page's `now`)."""
    if len(set(map(id, values))) == 1:
        return (proc(values[0]),) * len(values)
    return tuple(map(proc, values))


PERSON_INSERT = ("household_id", "submission_id", *PERSON_COLUMNS)
DATES_AS_TEXT = frozenset(PERSON_DATES)  # bound as ISO text (see pipeline._dates_as_text)
FLAG_INSERT = ("submission_id", *FLAG_COLUMNS)
_POSITION = PERSON_COLUMNS.index("position")


def _insert_mapped(session: Session, prepared: dict[int, Prepared]) -> None:
    """Insert the mapped rows of submissions (submission id -> Prepared), one executemany per
    table."""
    households = [
        {**p.mapped.household, "submission_id": sid}
        for sid, p in prepared.items()
        if p.mapped.household is not None
    ]
    if households:
        _executemany(session, HOUSEHOLD, households)
        household_ids = dict(
            session.connection()
            .execute(
                select(Household.submission_id, Household.id).where(
                    Household.submission_id.in_([h["submission_id"] for h in households])
                )
            )
            .all()
        )
        persons: list[tuple[Any, ...]] = []
        kategori: dict[tuple[int, int], list[str]] = {}
        for sid, p in prepared.items():
            hid = household_ids.get(sid)
            if hid is None:
                continue
            for row, codes in zip(p.persons, p.kategori, strict=True):
                persons.append((hid, sid, *row))
                if codes:
                    kategori[(sid, row[_POSITION])] = codes
        if persons:
            _insert_rows(session, PERSON, PERSON_INSERT, persons, bound=DATES_AS_TEXT)
        if kategori:
            person_ids = session.connection().execute(
                select(Person.submission_id, Person.position, Person.id).where(
                    Person.submission_id.in_({sid for sid, _ in kategori})
                )
            )
            links = [
                (pid, kode)
                for sid, position, pid in person_ids
                for kode in kategori.get((sid, position), ())
            ]
            if links:
                _insert_rows(session, PERSON_KATEGORI, ("person_id", "kode"), links)
    entries = [
        {**p.mapped.psks_entry, "submission_id": sid}
        for sid, p in prepared.items()
        if p.mapped.psks_entry is not None
    ]
    if entries:
        _executemany(session, PSKS_ENTRY, entries)
    flags = [(sid, *flag) for sid, p in prepared.items() for flag in p.flags]
    if flags:
        _insert_rows(session, QUALITY_FLAG, FLAG_INSERT, flags)


def _upsert_attachments(
    session: Session, wanted: dict[int, list[dict[str, Any]]], replaced: set[int]
) -> None:
    """Add attachments not known yet; mark those an edit removed (the local file is kept)."""
    known: dict[tuple[int, str], int] = {}
    if replaced:
        known = {
            (a.submission_id, a.uid): a.id
            for a in session.execute(
                select(Attachment.id, Attachment.submission_id, Attachment.uid).where(
                    Attachment.submission_id.in_(replaced)
                )
            )
        }
    rows = []
    seen: set[tuple[int, str]] = set()
    for sid, items in wanted.items():
        for item in items:
            key = (sid, item["uid"])
            if key in seen:
                continue
            seen.add(key)
            if key not in known:
                rows.append({**item, "submission_id": sid})
    if rows:
        _executemany(session, ATTACHMENT, rows)
    gone = [aid for key, aid in known.items() if key not in seen]
    if gone:
        session.execute(
            update(Attachment).where(Attachment.id.in_(gone)).values(is_deleted_on_server=True)
        )


class Harvester:
    """Runs harvests and reconciles for the forms configured in Settings."""

    def __init__(
        self,
        settings: Settings,
        client: KoboClient,
        sessions: sessionmaker[Session],
        *,
        progress: bool | None = None,
        parallel_min_rows: int = PARALLEL_MIN_ROWS,
    ) -> None:
        self.settings = settings
        self.parallel_min_rows = parallel_min_rows
        self.client = client
        self.sessions = sessions
        self.progress = sys.stderr.isatty() if progress is None else progress

    # --- runs -----------------------------------------------------------------------------

    def run(self, forms: Iterable[str], *, reconcile: bool = False) -> list[FormResult]:
        """Harvest (and optionally reconcile) each form under one database lease."""
        results = []
        with HarvestLease(self.sessions) as lease:
            self._flush_outbox()
            for form in forms:
                result = self.harvest(form, lease)
                if reconcile and result.ok:
                    self.reconcile(form, lease, into=result)
                self.download_attachments(form, result)
                self._record_photo_failures(result)
                results.append(result)
        return results

    def _flush_outbox(self) -> None:
        """Send review decisions still waiting for Kobo (write-back is retried by every run).
        Kobo errors stay on the outbox items; they never stop the data harvest."""
        from harvester import writeback

        writeback.flush(self.sessions, self.client, self.settings)

    def _start_run(self, form: str, kind: str) -> int:
        with self.sessions.begin() as session:
            run = HarvestRun(form=form, kind=kind, started_at=utcnow())
            session.add(run)
            session.flush()
            return run.id

    def _finish_run(self, run_id: int, error: str | None) -> None:
        with self.sessions.begin() as session:
            session.execute(
                update(HarvestRun)
                .where(HarvestRun.id == run_id)
                .values(
                    finished_at=utcnow(),
                    status="failed" if error else "ok",
                    error=error,
                )
            )

    def _record_photo_failures(self, result: FormResult) -> None:
        """Photos are fetched after the data harvest's run row was closed: add their failures."""
        if result.harvest_run_id is None or not result.attachments_failed:
            return
        with self.sessions.begin() as session:
            session.execute(
                update(HarvestRun)
                .where(HarvestRun.id == result.harvest_run_id)
                .values(failed=HarvestRun.failed + result.attachments_failed)
            )

    def harvest(self, form: str, lease: HarvestLease) -> FormResult:
        """Fetch everything above the watermark, one committed transaction per page."""
        result = FormResult(form=form)
        asset_uid = self.settings.asset_uid(form)
        run_id = self._start_run(form, "harvest")
        result.harvest_run_id = run_id
        error = None
        with self.sessions() as session:
            state = session.get(HarvestState, asset_uid)
            watermark = state.last_kobo_id if state else 0
        bar = self._bar(form)
        try:
            pages = prepared_pages(
                self.client,
                form,
                asset_uid,
                watermark,
                parallel_min_rows=self.parallel_min_rows,
            )
            for rows in pages:
                with self.sessions.begin() as session:
                    lease.heartbeat(session)
                    counts = store_page(session, form, asset_uid, rows)
                    top = max(r.kobo_id for r in rows)
                    self._advance_watermark(session, asset_uid, form, top)
                    self._count(session, run_id, len(rows), counts)
                result.fetched += len(rows)
                result.new += counts.new
                result.updated += counts.updated
                result.unchanged += counts.unchanged
                if bar is not None:
                    bar.update(len(rows))
                del rows  # one page in memory: this one is released before the next arrives
        except KoboError as exc:
            error = str(exc)
            result.errors.append(error)
        finally:
            if bar is not None:
                bar.close()
            self._finish_run(run_id, error)
        return result

    def reconcile(
        self, form: str, lease: HarvestLease, into: FormResult | None = None
    ) -> FormResult:
        """Find edits, deletions and validation changes made on Kobo since rows were stored.

        Kobo's light index (`_id`, `_uuid`, `_validation_status`) comes in `_id` order, page by
        page; each page is compared with the local rows in the same `_id` range, so memory stays
        one page however many submissions there are.
        """
        result = into if into is not None else FormResult(form=form)
        asset_uid = self.settings.asset_uid(form)
        run_id = self._start_run(form, "reconcile")
        error = None
        try:
            low, seen = 0, 0
            for rows in self.client.iter_pages(asset_uid, fields=RECONCILE_FIELDS):
                remote = {int(r["_id"]): (str(r.get("_uuid")), validation_of(r)) for r in rows}
                high = max(remote)
                self._reconcile_range(asset_uid, form, lease, run_id, result, remote, low, high)
                low, seen = high, seen + len(remote)
            if seen == 0 and self._stored(asset_uid) > 0:
                # An empty answer for a form we hold rows of is more likely a permission or
                # server problem than every submission deleted at once: mark nothing.
                raise KoboError(
                    f"Kobo listed no submissions for {asset_uid}; nothing was marked deleted"
                )
            self._reconcile_range(asset_uid, form, lease, run_id, result, {}, low, None)
            with self.sessions.begin() as session:
                state = session.get(HarvestState, asset_uid)
                if state is not None:
                    state.last_reconciled_at = utcnow()
        except KoboError as exc:
            error = str(exc)
            result.errors.append(error)
        finally:
            self._finish_run(run_id, error)
        return result

    def _stored(self, asset_uid: str) -> int:
        with self.sessions() as session:
            return (
                session.scalar(
                    select(func.count())
                    .select_from(Submission)
                    .where(
                        Submission.asset_uid == asset_uid,
                        Submission.is_deleted_on_server.is_(False),
                    )
                )
                or 0
            )

    def _reconcile_range(
        self,
        asset_uid: str,
        form: str,
        lease: HarvestLease,
        run_id: int,
        result: FormResult,
        remote: dict[int, tuple[str, tuple[str | None, str | None, int | None]]],
        low: int,
        high: int | None,
    ) -> None:
        """Compare Kobo's ids in (low, high] with ours: refetch edits and missing rows, record
        validation changes, mark the vanished as deleted on the server."""
        where = [Submission.asset_uid == asset_uid, Submission.kobo_id > low]
        if high is not None:
            where.append(Submission.kobo_id <= high)
        with self.sessions() as session:
            local = {
                r.kobo_id: r
                for r in session.execute(
                    select(
                        Submission.id,
                        Submission.kobo_id,
                        Submission.uuid,
                        Submission.is_deleted_on_server,
                        Submission.kobo_validation_uid,
                        Submission.kobo_validation_by,
                        Submission.kobo_validation_timestamp,
                    ).where(*where)
                )
            }
        refetch = sorted(
            kid for kid, (uuid, _) in remote.items() if kid not in local or local[kid].uuid != uuid
        )
        status_only = [
            {
                "id": local[kid].id,
                "kobo_validation_uid": val[0],
                "kobo_validation_by": val[1],
                "kobo_validation_timestamp": val[2],
            }
            for kid, (uuid, val) in remote.items()
            if kid in local
            and local[kid].uuid == uuid
            and (
                local[kid].kobo_validation_uid,
                local[kid].kobo_validation_by,
                local[kid].kobo_validation_timestamp,
            )
            != val
        ]
        vanished = [
            r.id for kid, r in local.items() if kid not in remote and not r.is_deleted_on_server
        ]
        for batch in batches(refetch, REFETCH_BATCH):
            rows = [prepare(form, r) for r in self._fetch_ids(asset_uid, batch)]
            with self.sessions.begin() as session:
                lease.heartbeat(session)
                counts = store_page(session, form, asset_uid, rows)
                self._count(session, run_id, len(rows), counts)
            result.fetched += len(rows)
            result.new += counts.new
            result.updated += counts.updated
        if status_only or vanished:
            with self.sessions.begin() as session:
                lease.heartbeat(session)
                if status_only:
                    session.execute(update(Submission), status_only)
                if vanished:
                    session.execute(
                        update(Submission)
                        .where(Submission.id.in_(vanished))
                        .values(is_deleted_on_server=True, deleted_on_server_at=utcnow())
                    )
                session.execute(
                    update(HarvestRun)
                    .where(HarvestRun.id == run_id)
                    .values(
                        deleted=HarvestRun.deleted + len(vanished),
                        updated=HarvestRun.updated + len(status_only),
                    )
                )
            result.updated += len(status_only)
            result.deleted += len(vanished)

    def _fetch_ids(self, asset_uid: str, ids: list[int]) -> list[dict[str, Any]]:
        page = self.client.get_json(
            self.client.url("data", uid=asset_uid),
            params={
                "format": "json",
                "query": json.dumps({"_id": {"$in": ids}}),
                "sort": json.dumps({"_id": 1}),
                "limit": str(len(ids)),
            },
        )
        rows = page.get("results") if isinstance(page, dict) else None
        if not isinstance(rows, list):
            raise KoboError(f"Kobo data page for {asset_uid} is malformed")
        return rows

    # --- attachments ----------------------------------------------------------------------

    def download_attachments(self, form: str, result: FormResult) -> None:
        """Fetch photos not downloaded yet, a few at a time; a failure is recorded on the
        attachment and retried by the next run, and never holds up the data."""
        media: Path = self.settings.media_dir
        local = threading.local()
        clients: list[KoboClient] = []

        def fetch(att: Any) -> dict[str, Any]:
            client = getattr(local, "client", None)
            if client is None:
                client = local.client = self.client.clone()
                clients.append(client)
            relative = Path(att.asset_uid) / str(att.kobo_id) / f"{att.uid}_{_safe(att.filename)}"
            try:
                client.download(att.download_url, media / relative)
            except (KoboError, OSError) as exc:
                return {"id": att.id, "last_error": str(exc)[:500]}
            return {
                "id": att.id,
                "is_downloaded": True,
                "local_path": relative.as_posix(),
                "downloaded_at": utcnow(),
                "last_error": None,
            }

        after = 0  # keyset over attachment ids: memory stays one batch, however many photos
        try:
            with ThreadPoolExecutor(DOWNLOAD_WORKERS, thread_name_prefix="media") as pool:
                while True:
                    with self.sessions() as session:
                        batch = session.execute(
                            select(
                                Attachment.id,
                                Attachment.uid,
                                Attachment.filename,
                                Attachment.download_url,
                                Submission.kobo_id,
                                Submission.asset_uid,
                            )
                            .join(Submission, Submission.id == Attachment.submission_id)
                            .where(
                                Submission.form == form,
                                Attachment.id > after,
                                Attachment.is_downloaded.is_(False),
                                Attachment.is_deleted_on_server.is_(False),
                            )
                            .order_by(Attachment.id)
                            .limit(DOWNLOAD_BATCH)
                        ).all()
                    if not batch:
                        return
                    after = batch[-1].id
                    outcomes = list(pool.map(fetch, batch))
                    ok = [r for r in outcomes if "is_downloaded" in r]
                    failed = [r for r in outcomes if "is_downloaded" not in r]
                    result.attachments_failed += len(failed)
                    with self.sessions.begin() as session:
                        for rows in (ok, failed):
                            if rows:
                                session.execute(
                                    update(Attachment).values(attempts=Attachment.attempts + 1),
                                    rows,
                                )
        finally:
            for client in clients:
                client.close()

    # --- helpers --------------------------------------------------------------------------

    @staticmethod
    def _advance_watermark(session: Session, asset_uid: str, form: str, top: int) -> None:
        state = session.get(HarvestState, asset_uid)
        if state is None:
            session.add(HarvestState(asset_uid=asset_uid, form=form, last_kobo_id=top))
        elif top > state.last_kobo_id:
            state.last_kobo_id = top
            state.updated_at = utcnow()

    @staticmethod
    def _count(session: Session, run_id: int, fetched: int, counts: PageCounts) -> None:
        session.execute(
            update(HarvestRun)
            .where(HarvestRun.id == run_id)
            .values(
                fetched=HarvestRun.fetched + fetched,
                new=HarvestRun.new + counts.new,
                updated=HarvestRun.updated + counts.updated,
                unchanged=HarvestRun.unchanged + counts.unchanged,
            )
        )

    def _bar(self, form: str) -> Any:
        if not self.progress:
            return None
        from tqdm import tqdm

        return tqdm(desc=f"harvest {form}", unit=" subm", file=sys.stderr, leave=False)


def _safe(name: str) -> str:
    """A file name that cannot climb out of the media directory."""
    cleaned = "".join(c if c.isalnum() or c in "._-" else "_" for c in Path(name).name)
    return cleaned.lstrip(".") or "file"
