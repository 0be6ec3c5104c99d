"""Store a page of mapped submissions in one transaction, with the watermark and the run's counts.

A crash at any instant loses nothing and duplicates nothing: the watermark moves in the same
transaction as the rows it covers, and submissions are upserted on (asset uid, Kobo `_id`). An
unchanged payload (same `payload_hash`) only refreshes `last_seen_at` and the validation status;
a new or changed one is (re)written with all its mapped rows, through `registry.bulk`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from harvester import runs
from harvester.lock import HarvestLease
from harvester.mapping import Mapped
from registry import duplicates, jsonio, persons
from registry.bulk import insert_rows, table_of
from registry.models import (
    Attachment,
    HarvestState,
    Household,
    Person,
    PersonKategori,
    PsksEntry,
    QualityFlag,
    Submission,
    utcnow,
)
from registry.roles import Status

SUBMISSION = table_of(Submission)
HOUSEHOLD = table_of(Household)
PERSON = table_of(Person)
PERSON_KATEGORI = table_of(PersonKategori)
PSKS_ENTRY = table_of(PsksEntry)
QUALITY_FLAG = table_of(QualityFlag)
ATTACHMENT = table_of(Attachment)


@dataclass
class PageCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0


def commit_page(
    sessions: sessionmaker[Session],
    lease: HarvestLease,
    form: str,
    asset_uid: str,
    page: list[Mapped],
    run_id: int,
    *,
    watermark: bool,
    thresholds: duplicates.Thresholds = duplicates.DEFAULT,
) -> PageCounts:
    """Store `page` in one committed transaction, with the lease's heartbeat, the run's counts
    and, when `watermark`, the form's watermark moved to the page's highest `_id`."""
    with sessions.begin() as session:
        lease.heartbeat(session)
        counts = store_page(session, form, asset_uid, page, thresholds)
        if watermark:
            advance_watermark(session, asset_uid, form, max(_kobo_id(m) for m in page))
        runs.count(
            session,
            run_id,
            fetched=len(page),
            new=counts.new,
            updated=counts.updated,
            unchanged=counts.unchanged,
        )
    return counts


def advance_watermark(session: Session, asset_uid: str, form: str, top: int) -> None:
    state = session.get(HarvestState, asset_uid)
    if state is None:
        session.add(HarvestState(asset_uid=asset_uid, form=form, last_kobo_id=top))
    elif top > state.last_kobo_id:
        state.last_kobo_id = top
        state.updated_at = utcnow()


def _kobo_id(mapped: Mapped) -> int:
    if mapped.kobo_id is None:  # the pager only hands on rows with a numeric `_id`
        raise ValueError("a Kobo submission without a numeric _id reached the store")
    return mapped.kobo_id


def store_page(
    session: Session,
    form: str,
    asset_uid: str,
    page: list[Mapped],
    thresholds: duplicates.Thresholds = duplicates.DEFAULT,
) -> PageCounts:
    """Upsert one page of mapped submissions and their rows, inside the caller's transaction,
    with the person registry and the likely-duplicate groups brought up to date."""
    now = utcnow()
    counts = PageCounts()
    by_id: dict[int, Mapped] = {}
    for item in page:
        by_id[_kobo_id(item)] = item  # a repeated _id within a page: the later copy wins
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
            ).where(Submission.asset_uid == asset_uid, Submission.kobo_id.in_(list(by_id)))
        )
    }
    new_rows: list[dict[str, Any]] = []
    changed: list[tuple[int, dict[str, Any]]] = []  # (submission id, values)
    written: dict[int, Mapped] = {}  # kobo_id -> what is (re)written
    touched: list[dict[str, Any]] = []
    reviewed_then_edited: list[int] = []
    for kobo_id, item in by_id.items():
        old = existing.get(kobo_id)
        if old is not None and old.payload_hash == item.payload_hash:
            counts.unchanged += 1
            touched.append({"id": old.id, "last_seen_at": now, **item.validation})
            continue
        written[kobo_id] = item
        values = {
            **item.system,
            **item.submission,
            "form": form,
            "asset_uid": asset_uid,
            "payload": item.payload_json,  # text: bound as it is (see registry.bulk)
            "payload_hash": item.payload_hash,
            "last_seen_at": now,
        }
        if old is None:
            counts.new += 1
            values["first_seen_at"] = now
            values["status"] = Status.BARU
            new_rows.append(values)
        else:
            counts.updated += 1
            changed.append((old.id, values))
            if old.status != Status.BARU and old.uuid != values["uuid"]:
                reviewed_then_edited.append(old.id)

    if touched:
        session.execute(update(Submission), touched)
    submission_ids: dict[int, int] = {}  # kobo_id -> submission.id
    if new_rows:
        # Plain executemany, then one SELECT for the new ids: RETURNING over executemany is
        # many times slower on SQLite, and these tables have only this one writer.
        insert_rows(conn, SUBMISSION, new_rows)
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
            # The ORM's JSON column serialises the payload itself: it gets the parsed value.
            [{"id": sid, **v, "payload": jsonio.loads(v["payload"])} for sid, v in changed],
        )
        submission_ids.update({v["kobo_id"]: sid for sid, v in changed})
    if written:
        _insert_mapped(conn, {submission_ids[k]: m for k, m in written.items()})
        _upsert_attachments(
            session,
            {submission_ids[k]: m.attachments for k, m in written.items()},
            replaced={sid for sid, _ in changed},
        )
        persons.link(
            session,
            {n for m in written.values() for n in m.niks},
            replaced=[sid for sid, _ in changed],
        )
        if form == "ppks":
            duplicates.check_mapped(
                session,
                (
                    (submission_ids[k], p, m.household)
                    for k, m in written.items()
                    if m.household is not None
                    for p in m.persons
                ),
                thresholds,
                replaced=[sid for sid, _ in changed],
            )
    if reviewed_then_edited:
        from registry import review

        for sid in reviewed_then_edited:
            submission = session.get(Submission, sid)
            if submission is not None:
                review.mark_changed_after_review(session, submission)
    return counts


def _insert_mapped(conn: Connection, mapped: dict[int, Mapped]) -> None:
    """Insert the mapped rows of submissions (submission id -> Mapped), one insert per table."""
    households = [
        {**m.household, "submission_id": sid}
        for sid, m in mapped.items()
        if m.household is not None
    ]
    if households:
        insert_rows(conn, HOUSEHOLD, households)
        household_ids = dict(
            conn.execute(
                select(Household.submission_id, Household.id).where(
                    Household.submission_id.in_([h["submission_id"] for h in households])
                )
            ).all()
        )
        persons: list[dict[str, Any]] = []
        kategori: dict[tuple[int, int], list[str]] = {}
        for sid, m in mapped.items():
            hid = household_ids.get(sid)
            if hid is None:
                continue
            for person in m.persons:
                row = dict(person, household_id=hid, submission_id=sid)
                codes = row.pop("kategori", None)  # PersonKategori rows, below
                persons.append(row)
                if codes:
                    kategori[(sid, row["position"])] = codes
        insert_rows(conn, PERSON, persons)
        if kategori:
            person_ids = conn.execute(
                select(Person.submission_id, Person.position, Person.id).where(
                    Person.submission_id.in_({sid for sid, _ in kategori})
                )
            )
            links = [
                {"person_id": pid, "kode": kode}
                for sid, position, pid in person_ids
                for kode in kategori.get((sid, position), ())
            ]
            insert_rows(conn, PERSON_KATEGORI, links)
    entries = [
        {**m.psks_entry, "submission_id": sid}
        for sid, m in mapped.items()
        if m.psks_entry is not None
    ]
    insert_rows(conn, PSKS_ENTRY, entries)
    flags = [
        {
            "submission_id": sid,
            "field": flag.field,
            "code": flag.code,
            "message": flag.message,
            "severity": flag.severity,
            "position": flag.position,
            "message_en": flag.message_en,
        }
        for sid, m in mapped.items()
        for flag in m.flags
    ]
    insert_rows(conn, QUALITY_FLAG, flags)


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
    insert_rows(session.connection(), ATTACHMENT, rows)
    gone = [aid for key, aid in known.items() if key not in seen]
    if gone:
        session.execute(
            update(Attachment).where(Attachment.id.in_(gone)).values(is_deleted_on_server=True)
        )
