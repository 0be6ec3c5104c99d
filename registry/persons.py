"""The person registry: every mention of a person (a household member, a PSKS entry) is one
Orang, and a valid NIK is one Orang across the whole kabupaten, any form, any time.

A mention is (submission id, position): the member's 1-based place, 0 for a PSKS entry. A
mention with a valid NIK (`Person.nik_sah`, `PsksEntry.nik_sah`, from the page preparer) is
its NIK's Orang; one without is an Orang only through a Sebutan, made when it joins a
duplicate group. Orang rows are made when first needed (`ensure_orang`): the harvest writes
none per person, and a page of 500 households costs one lookup of its NIKs, however many
persons the registry already holds.

A valid NIK held by members of two or more live PPKS households makes a `nik_sama` duplicate
group (registry.adjudication decides it) and a `blokir` flag on each of those members until the
group is decided. The group's key is its mentions: once decided, the same set of mentions is
never proposed again; a new household with that NIK makes a new group.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Collection, Iterable

from sqlalchemy import Select, delete, func, insert, literal, select, union_all, update
from sqlalchemy.orm import Session

from registry import quality
from registry.bulk import insert_rows, one_of, select_in, table_of
from registry.models import (
    DuplicateGroup,
    DuplicateMember,
    Orang,
    Person,
    PsksEntry,
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


def group_key(prefix: str, mentions: Iterable[Mention]) -> str:
    """A group's identity: its mentions, sorted (hashed when too long for the column)."""
    body = ",".join(f"{s}.{p}" for s, p in sorted(set(mentions)))
    key = prefix + body
    if len(key) > _KEY_MAX:
        key = prefix + "sha256:" + hashlib.sha256(body.encode()).hexdigest()
    return key


def _mentions() -> Select[tuple[int, int, str | None]]:
    """(submission id, position, valid NIK or None) of every mention: members and PSKS entries."""
    members = select(Person.submission_id, Person.position, Person.nik_sah)
    entries = select(PsksEntry.submission_id, literal(0), PsksEntry.nik_sah)
    both = union_all(members, entries).subquery()
    return select(*both.c)


def link(session: Session, niks: Collection[str], *, replaced: Collection[int] = ()) -> None:
    """Bring `nik_sama` groups and flags up to date after a page is written: `niks` are the
    valid NIKs its submissions name now, `replaced` the edited ones among them (written before,
    their rows rebuilt). A mention of a replaced submission that has a valid NIK now, or is
    gone, leaves its Sebutan (its NIK is its Orang now)."""
    touched = shared(session, niks)
    if replaced:
        ids = list(replaced)
        # The NIKs their groups were about (the members may not hold them any more).
        touched |= {
            n
            for n in session.scalars(
                select(Orang.nik)
                .join(DuplicateMember, DuplicateMember.orang_id == Orang.id)
                .where(DuplicateMember.submission_id.in_(ids))
            )
            if n
        }
        rows = _mentions().subquery()
        nikless = select(rows.c.submission_id, rows.c.position).where(
            rows.c.submission_id.in_(ids), rows.c.nik_sah.is_(None)
        )
        keep = {(s, p) for s, p in session.execute(nikless)}
        stale = [
            sid
            for sid, s, p in session.execute(
                select(Sebutan.id, Sebutan.submission_id, Sebutan.position).where(
                    Sebutan.submission_id.in_(ids)
                )
            )
            if (s, p) not in keep
        ]
        if stale:
            session.execute(delete(Sebutan).where(Sebutan.id.in_(stale)))
    refresh_nik_sama(session, touched)


def shared(session: Session, niks: Collection[str]) -> set[str]:
    """The NIKs among `niks` that members of two or more PPKS households hold (live or not:
    `refresh_nik_sama` tells). One statement: the NIKs travel in one bound parameter."""
    if not niks:
        return set()
    conn = session.connection()
    stmt = (
        select(Person.nik_sah)
        .where(one_of(conn, Person.nik_sah, niks))
        .group_by(Person.nik_sah)
        .having(func.count(func.distinct(Person.submission_id)) > 1)
    )
    return {n for (n,) in conn.execute(stmt) if n}


def _orang_by_nik(session: Session, niks: Collection[str]) -> dict[str, int]:
    """nik -> Orang id, making those missing."""
    if not niks:
        return {}
    conn = session.connection()
    found: dict[str, int] = dict(select_in(conn, ORANG, "nik", niks, "id"))  # type: ignore[arg-type]
    missing = set(niks) - found.keys()
    if missing:
        now = utcnow()
        insert_rows(conn, ORANG, [{"nik": n, "created_at": now} for n in missing])
        found.update(select_in(conn, ORANG, "nik", missing, "id"))  # type: ignore[arg-type]
    return found


def ensure_orang(session: Session, mentions: Iterable[Mention]) -> dict[Mention, int]:
    """The Orang of each mention, made when missing: its NIK's when it has a valid NIK, else
    its own (with the Sebutan that keeps it)."""
    wanted = sorted(set(mentions))
    if not wanted:
        return {}
    subs = sorted({s for s, _ in wanted})
    rows = _mentions().subquery()
    niks = {
        (s, p): n
        for s, p, n in session.execute(select(*rows.c).where(rows.c.submission_id.in_(subs)))
    }
    by_nik = _orang_by_nik(session, {n for m in wanted if (n := niks.get(m))})
    have = {
        (s, p): oid
        for s, p, oid in session.execute(
            select(Sebutan.submission_id, Sebutan.position, Sebutan.orang_id).where(
                Sebutan.submission_id.in_(subs)
            )
        )
    }
    out: dict[Mention, int] = {}
    for mention in wanted:
        valid = niks.get(mention)
        if valid:
            out[mention] = by_nik[valid]
        elif mention in have:
            out[mention] = have[mention]
        else:
            orang = Orang(nik=None)
            session.add(orang)
            session.flush()
            session.add(Sebutan(orang_id=orang.id, submission_id=mention[0], position=mention[1]))
            out[mention] = orang.id
    session.flush()
    return out


def known(session: Session, mentions: Collection[Mention]) -> set[Mention]:
    """Those of `mentions` the registry has a person for: a valid NIK, or a Sebutan."""
    if not mentions:
        return set()
    subs = sorted({s for s, _ in mentions})
    rows = _mentions().subquery()
    found = {
        (s, p)
        for s, p in session.execute(
            select(rows.c.submission_id, rows.c.position).where(
                rows.c.submission_id.in_(subs), rows.c.nik_sah.is_not(None)
            )
        )
    }
    found |= {
        (s, p)
        for s, p in session.execute(
            select(Sebutan.submission_id, Sebutan.position).where(Sebutan.submission_id.in_(subs))
        )
    }
    return found & set(mentions)


def mentions_of(session: Session, orang_ids: Collection[int]) -> list[Mention]:
    """Every mention of these Orang: those of their NIKs and those kept by a Sebutan."""
    if not orang_ids:
        return []
    ids = list(orang_ids)
    niks = [n for n in session.scalars(select(Orang.nik).where(Orang.id.in_(ids))) if n]
    found: set[Mention] = set()
    if niks:
        rows = _mentions().subquery()
        found |= {
            (s, p)
            for s, p in session.execute(
                select(rows.c.submission_id, rows.c.position).where(rows.c.nik_sah.in_(niks))
            )
        }
    found |= {
        (s, p)
        for s, p in session.execute(
            select(Sebutan.submission_id, Sebutan.position).where(Sebutan.orang_id.in_(ids))
        )
    }
    return sorted(found)


def forget(session: Session, submission_ids: Collection[int]) -> None:
    """Submissions gone from the form server: their NIKs' groups and flags, recomputed without
    them (their rows and the decisions about them stay, as the submissions do)."""
    if not submission_ids:
        return
    niks = session.scalars(
        select(Person.nik_sah).where(
            Person.submission_id.in_(list(submission_ids)), Person.nik_sah.is_not(None)
        )
    )
    refresh_nik_sama(session, {n for n in niks if n})


def refresh_nik_sama(session: Session, niks: Collection[str]) -> None:
    """Make the `nik_sama` groups and flags of these NIKs what their live mentions say."""
    if not niks:
        return
    live: dict[str, set[Mention]] = defaultdict(set)
    every: set[Mention] = set()  # live or not: where stale flags may sit
    stmt = (
        select(
            Person.nik_sah,
            Person.submission_id,
            Person.position,
            Submission.is_deleted_on_server,
        )
        .join(Submission, Submission.id == Person.submission_id)
        .where(Person.nik_sah.in_(list(niks)))
    )
    for held, sub_id, position, deleted in session.execute(stmt):
        every.add((sub_id, position))
        if held and not deleted:
            live[held].add((sub_id, position))
    orang_of = _orang_by_nik(session, {n for n, ms in live.items() if len({s for s, _ in ms}) > 1})

    groups: dict[str | None, list[tuple[int, str, str]]] = defaultdict(list)  # (id, key, status)
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
