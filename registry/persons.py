"""The person registry: every mention of a person (a household member, a PSKS entry) is linked
to one Orang, and a valid NIK is one Orang across the whole kabupaten, any form, any time.

A mention is (submission id, position): the member's 1-based place, 0 for a PSKS entry. Person
rows are rebuilt whenever a submission is edited, so the registry links mentions, not rows.

The harvester calls `link` for every page it writes and `forget` for submissions gone from the
form server, inside the same transaction, with set-based statements: a page of 500 households
costs a handful of queries, however many persons the registry already holds.

A valid NIK held by persons in two or more live PPKS households makes a `nik_sama` duplicate
group (registry.adjudication decides it) and a `blokir` flag on each of those members until the
group is decided. The group's key is its mentions: once decided, the same set of mentions is
never proposed again; a new household with that NIK makes a new group.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from registry import quality
from registry.bulk import insert_rows, select_in, table_of
from registry.models import (
    DuplicateGroup,
    DuplicateMember,
    Orang,
    Person,
    QualityFlag,
    Sebutan,
    Submission,
    utcnow,
)
from registry.severity import Severity
from surveys import paths as F

Mention = tuple[int, int]  # (submission id, position; 0 for a PSKS entry)
NIK_SAMA = "nik_sama"
_KEY_PREFIX = f"{NIK_SAMA}:"
_KEY_MAX = 255  # DuplicateGroup.key's length
ORANG = table_of(Orang)
SEBUTAN = table_of(Sebutan)


def group_key(prefix: str, mentions: Iterable[Mention]) -> str:
    """A group's identity: its mentions, sorted (hashed when too long for the column)."""
    body = ",".join(f"{s}.{p}" for s, p in sorted(set(mentions)))
    key = prefix + body
    if len(key) > _KEY_MAX:
        key = prefix + "sha256:" + hashlib.sha256(body.encode()).hexdigest()
    return key


def link(
    session: Session,
    mentions: Mapping[int, Iterable[tuple[int, str | None]]],
    *,
    replaced: Collection[int] = (),
) -> None:
    """Link the mentions of just-written submissions (submission id -> [(position, valid NIK
    or None)]) to their Orang, and bring `nik_sama` groups and flags up to date for every NIK
    they held before (`replaced`: the edited ones among them) or hold now.

    A mention without a valid NIK gets its Orang only when it joins a duplicate group
    (`ensure_orang`); one that had an Orang without a NIK keeps it (and what a decision merged
    it into)."""
    old: dict[Mention, tuple[int, int, str | None]] = {}  # mention -> (sebutan id, orang, nik)
    if replaced:
        stmt = (
            select(Sebutan.submission_id, Sebutan.position, Sebutan.id, Orang.id, Orang.nik)
            .join(Orang, Orang.id == Sebutan.orang_id)
            .where(Sebutan.submission_id.in_(list(replaced)))
        )
        old = {(s, p): (sid, oid, n) for s, p, sid, oid, n in session.execute(stmt)}
    wanted = {
        (sub_id, int(position)): valid
        for sub_id, items in mentions.items()
        for position, valid in items
    }
    niks = {n for n in wanted.values() if n}
    orang, fresh = _orang_by_nik(session, niks)
    target: dict[Mention, int] = {}
    for mention, valid in wanted.items():
        if valid:
            target[mention] = orang[valid]
        elif mention in old and old[mention][2] is None:
            target[mention] = old[mention][1]
    stale = [seb for m, (seb, oid, _) in old.items() if target.get(m) != oid]
    if stale:
        session.execute(delete(Sebutan).where(Sebutan.id.in_(stale)))
    now = utcnow()
    insert_rows(
        session.connection(),
        SEBUTAN,
        [
            {"orang_id": oid, "submission_id": s, "position": p, "first_seen_at": now}
            for (s, p), oid in target.items()
            if (s, p) not in old or old[(s, p)][1] != oid
        ],
    )
    # Only a NIK seen before, or twice in this page, can now be shared by two households.
    subs_per_nik: dict[str, set[int]] = defaultdict(set)
    for (sub_id, _), valid in wanted.items():
        if valid:
            subs_per_nik[valid].add(sub_id)
    touched = {n for n in niks if n not in fresh or len(subs_per_nik[n]) > 1}
    touched |= {n for _, _, n in old.values() if n}
    refresh_nik_sama(session, touched)


def _orang_by_nik(session: Session, niks: set[str]) -> tuple[dict[str, int], set[str]]:
    """(nik -> Orang id, the NIKs whose Orang were made just now), making those missing."""
    if not niks:
        return {}, set()
    conn = session.connection()
    found: dict[str, int] = dict(select_in(conn, ORANG, "nik", niks, "id"))  # type: ignore[arg-type]
    missing = niks - found.keys()
    if missing:
        now = utcnow()
        insert_rows(conn, ORANG, [{"nik": n, "created_at": now} for n in missing])
        found.update(select_in(conn, ORANG, "nik", missing, "id"))  # type: ignore[arg-type]
    return found, missing


def ensure_orang(session: Session, mentions: Iterable[Mention]) -> dict[Mention, int]:
    """The Orang of each mention, made (with its Sebutan) for those without one yet."""
    wanted = sorted(set(mentions))
    if not wanted:
        return {}
    subs = sorted({s for s, _ in wanted})
    have = {
        (s, p): oid
        for s, p, oid in session.execute(
            select(Sebutan.submission_id, Sebutan.position, Sebutan.orang_id).where(
                Sebutan.submission_id.in_(subs)
            )
        )
    }
    for mention in wanted:
        if mention not in have:
            orang = Orang(nik=None)
            session.add(orang)
            session.flush()
            session.add(Sebutan(orang_id=orang.id, submission_id=mention[0], position=mention[1]))
            have[mention] = orang.id
    session.flush()
    return {m: have[m] for m in wanted}


def forget(session: Session, submission_ids: Collection[int]) -> None:
    """Submissions gone from the form server: their NIKs' groups and flags, recomputed without
    them (their mentions and the decisions about them stay, as the submissions do)."""
    if not submission_ids:
        return
    niks = set(
        session.scalars(
            select(Orang.nik)
            .join(Sebutan, Sebutan.orang_id == Orang.id)
            .where(Sebutan.submission_id.in_(list(submission_ids)), Orang.nik.is_not(None))
        )
    )
    refresh_nik_sama(session, {n for n in niks if n})


def refresh_nik_sama(session: Session, niks: Collection[str]) -> None:
    """Make the `nik_sama` groups and flags of these NIKs what their live mentions say."""
    if not niks:
        return
    live: dict[str | None, set[Mention]] = defaultdict(set)
    every: set[Mention] = set()  # live or not: where stale flags may sit
    stmt = (
        select(
            Orang.nik,
            Sebutan.submission_id,
            Sebutan.position,
            Submission.form,
            Submission.is_deleted_on_server,
        )
        .join(Sebutan, Sebutan.orang_id == Orang.id)
        .join(Submission, Submission.id == Sebutan.submission_id)
        .where(Orang.nik.in_(list(niks)))
    )
    orang_of: dict[str | None, int] = {}
    for held, sub_id, position, form, deleted in session.execute(stmt):
        every.add((sub_id, position))
        if form == "ppks" and not deleted:
            live[held].add((sub_id, position))
    by_nik = select(Orang.nik, Orang.id).where(Orang.nik.in_(list(niks)))
    orang_of.update({n: oid for n, oid in session.execute(by_nik)})

    groups: dict[str | None, list[tuple[int, str, str]]] = defaultdict(
        list
    )  # nik -> (id, key, status)
    gstmt = (
        select(DuplicateGroup.id, DuplicateGroup.key, DuplicateGroup.status, Orang.nik)
        .join(DuplicateMember, DuplicateMember.group_id == DuplicateGroup.id)
        .join(Orang, Orang.id == DuplicateMember.orang_id)
        .where(Orang.nik.in_(list(niks)), DuplicateGroup.key.startswith(_KEY_PREFIX))
        .distinct()
    )
    for gid, gkey, status, held in session.execute(gstmt):
        groups[held].append((gid, gkey, status))

    flagged: set[Mention] = set()  # mentions of an open group: a blokir flag each
    doomed: list[int] = []  # open groups no longer true
    for n in niks:
        mentions = live.get(n, set())
        shared = len({s for s, _ in mentions}) > 1
        key = group_key(_KEY_PREFIX, mentions) if shared else None
        opens = [(gid, k) for gid, k, status in groups.get(n, []) if status == "terbuka"]
        decided = {k for _, k, status in groups.get(n, []) if status != "terbuka"}
        if key is None or key in decided:
            doomed += [gid for gid, _ in opens]
            continue
        keep = next((gid for gid, k in opens if k == key), None)
        if keep is None and opens:
            keep = opens[0][0]  # the same NIK, other households now: the group follows
            session.execute(update(DuplicateGroup).where(DuplicateGroup.id == keep).values(key=key))
            session.execute(delete(DuplicateMember).where(DuplicateMember.group_id == keep))
            _add_members(session, keep, mentions, orang_of[n])
        elif keep is None:
            keep = session.scalars(
                insert(DuplicateGroup).returning(DuplicateGroup.id),
                [
                    {
                        "key": key,
                        "status": "terbuka",
                        "score": 1.0,
                        "reasons": [NIK_SAMA],
                        "created_at": utcnow(),
                    }
                ],
            ).one()
            _add_members(session, keep, mentions, orang_of[n])
        doomed += [gid for gid, _ in opens if gid != keep]
        flagged |= mentions
    if doomed:
        session.execute(delete(DuplicateMember).where(DuplicateMember.group_id.in_(doomed)))
        session.execute(delete(DuplicateGroup).where(DuplicateGroup.id.in_(doomed)))
    _sync_flags(session, flagged, every)


def _add_members(session: Session, group_id: int, mentions: Iterable[Mention], oid: int) -> None:
    session.execute(
        insert(DuplicateMember),
        [
            {"group_id": group_id, "submission_id": s, "position": p, "orang_id": oid}
            for s, p in sorted(mentions)
        ],
    )


def _sync_flags(session: Session, flagged: set[Mention], scope: set[Mention]) -> None:
    """`nik_sama` flags on exactly the `flagged` mentions among `scope`."""
    if not scope:
        return
    sub_ids = sorted({s for s, _ in scope})
    have: dict[Mention, list[int]] = defaultdict(list)
    for fid, s, p in session.execute(
        select(QualityFlag.id, QualityFlag.submission_id, QualityFlag.position).where(
            QualityFlag.submission_id.in_(sub_ids), QualityFlag.code == NIK_SAMA
        )
    ):
        have[(s, p or 0)].append(fid)
    gone = [fid for m, ids in have.items() if m in scope and m not in flagged for fid in ids]
    if gone:
        session.execute(delete(QualityFlag).where(QualityFlag.id.in_(gone)))
    missing = sorted(m for m in flagged if m not in have)
    if not missing:
        return
    names = {
        (s, p): nama
        for s, p, nama in session.execute(
            select(Person.submission_id, Person.position, Person.nama).where(
                Person.submission_id.in_(sorted({s for s, _ in missing}))
            )
        )
    }
    session.execute(insert(QualityFlag), [_flag_row(m, names.get(m)) for m in missing])


def _flag_row(mention: Mention, nama: object) -> dict[str, object]:
    sub_id, position = mention
    code = NIK_SAMA
    return {
        "submission_id": sub_id,
        "field": quality.repeat_path(F.NIK, position),
        "code": code,
        "severity": Severity.BLOKIR,
        "position": position,
        "message": f"{quality.member_label(position, nama)}: NIK yang sama tercatat juga di "
        "keluarga lain; putuskan di antrean data ganda.",
        "message_en": f"{quality.member_label(position, nama, en=True)}: the same NIK is "
        "recorded in another household; decide in the duplicates queue.",
    }
