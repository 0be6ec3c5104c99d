"""The adjudication queue: listing duplicate groups, deciding one, and a person's history.

The persons registry (registry/persons.py) fills `duplicate_group`; this module is the only code
that decides one. A decision is final: `sama` merges the members' Orang under the lowest id
(nothing is deleted: each mention keeps its own Orang), `berbeda` keeps them apart and the
group's key is never proposed again. Either way each member submission gets a ReviewEvent of
kind `duplikat`, and the `nik_sama` flags the group stood for stop blocking approval.

Scope: a group is listed to a user when ANY member's submission is in `queries.scope(user)`, so
a reviewer never misses a person of their wilayah who also appears elsewhere (they see only their
own side of it). Deciding needs ALL members in scope: a merge changes the person registry for
every member, and nobody may decide about data they cannot see.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, delete, exists, func, or_, select, update
from sqlalchemy.orm import Session, selectinload

from registry import persons, queries, roles
from registry.models import (
    Attachment,
    DuplicateGroup,
    DuplicateMember,
    Household,
    Orang,
    QualityFlag,
    ReviewEvent,
    Submission,
    User,
    utcnow,
)
from registry.persons import NIK_SAMA
from registry.review import (
    InvalidTransition,
    MissingNote,
    NotAllowed,
    NotFound,
    UnknownStatus,
)
from surveys import paths as F
from surveys.spec import N_

EVENT_KIND = "duplikat"
MAX_GROUP_PAGE = 100


class GroupStatus(enum.StrEnum):
    TERBUKA = "terbuka"  # waiting for a decision
    SAMA = "sama"  # orang yang sama: merged
    BERBEDA = "berbeda"  # different persons: never proposed again

    @property
    def label(self) -> str:
        return GROUP_STATUS_LABEL[self]


GROUP_STATUSES = tuple(GroupStatus)
KEPUTUSAN = (GroupStatus.SAMA, GroupStatus.BERBEDA)
GROUP_STATUS_LABEL: dict[GroupStatus, str] = {
    GroupStatus.TERBUKA: N_("Terbuka"),
    GroupStatus.SAMA: N_("Orang yang sama"),
    GroupStatus.BERBEDA: N_("Berbeda"),
}
REASON_LABEL: dict[str, str] = {
    NIK_SAMA: N_("NIK sama di keluarga lain"),
    "nama_mirip": N_("Nama mirip"),
    "nik_mirip": N_("NIK hampir sama"),
    "nik_kosong": N_("NIK kosong atau tidak sah"),
    "tanggal_lahir": N_("Tanggal lahir sama"),
    "tanggal_tertukar": N_("Hari dan bulan lahir tertukar"),
}


def may_adjudicate(user: User) -> bool:
    caps = roles.capabilities(user.role)
    return user.is_active and caps is not None and caps.adjudicates


def _members_in_scope(user: User) -> ColumnElement[bool]:
    """Some member of the (outer) DuplicateGroup lies in the user's scope."""
    return (
        exists()
        .where(
            DuplicateMember.group_id == DuplicateGroup.id,
            Submission.id == DuplicateMember.submission_id,
            queries.scope(user),
        )
        .correlate(DuplicateGroup)
    )


# ---------------------------------------------------------------------------------------------
# What a reviewer sees of a member


@dataclass(frozen=True)
class MemberView:
    """One member of a group as its submission recorded them (only for members in scope)."""

    member_id: int
    orang_id: int
    submission: Submission
    position: int  # 1-based member place; 0 for a PSKS entry
    nama: str
    nik: str
    no_kk: str
    tanggal_lahir: str
    jenis_kelamin: str
    photo: Attachment | None

    @property
    def kode_desa(self) -> str | None:
        return self.submission.kode_desa

    @property
    def kode_kecamatan(self) -> str | None:
        return self.submission.kode_kecamatan


def _photo(sub: Submission) -> Attachment | None:
    """The house photo if downloaded, else any downloaded photo (plain images only: an SVG
    is never shown inline)."""
    images = [a for a in sub.attachments if a.is_downloaded and a.local_path and a.is_photo]
    house = [a for a in images if a.question_xpath == F.FOTO_RUMAH]
    found = house or images
    return found[0] if found else None


def _view(member: DuplicateMember, sub: Submission) -> MemberView:
    nama, nik, no_kk, lahir, jk = _recorded(sub, member.position)
    return MemberView(
        member_id=member.id,
        orang_id=member.orang_id,
        submission=sub,
        position=member.position,
        nama=nama,
        nik=nik,
        no_kk=no_kk,
        tanggal_lahir=lahir,
        jenis_kelamin=jk,
        photo=_photo(sub),
    )


def _recorded(sub: Submission, position: int) -> tuple[str, str, str, str, str]:
    """(nama, NIK, No KK, tanggal lahir, jenis kelamin) as the submission recorded the person
    at `position` (0: the PSKS entry); empty strings for a place the household no longer has."""
    nama = nik = no_kk = lahir = jk = ""
    if position == 0 and sub.psks_entry is not None:
        e = sub.psks_entry
        nama, nik, no_kk = e.nama or e.nama_lembaga or "", e.nik or "", e.no_kk or ""
        lahir, jk = e.tanggal_lahir or "", e.jenis_kelamin or ""
    elif sub.household is not None:
        no_kk = sub.household.no_kk or ""
        person = next((p for p in sub.household.persons if p.position == position), None)
        if person is not None:
            nama, nik = person.nama or "", person.nik or ""
            lahir, jk = person.tanggal_lahir or "", person.jenis_kelamin or ""
    return nama, nik, no_kk, lahir, jk


def _submissions(session: Session, user: User, ids: Iterable[int]) -> dict[int, Submission]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    stmt = (
        select(Submission)
        .where(Submission.id.in_(wanted), queries.scope(user))
        .options(
            selectinload(Submission.household).selectinload(Household.persons),
            selectinload(Submission.psks_entry),
            selectinload(Submission.attachments),
        )
    )
    return {s.id: s for s in session.scalars(stmt)}


@dataclass(frozen=True)
class GroupView:
    group: DuplicateGroup
    members: list[MemberView]  # the members in the user's scope, in the group's order
    hidden: int  # members outside the user's scope (counted, never shown)
    decided_by: User | None = None

    @property
    def may_decide(self) -> bool:
        return self.group.status == GroupStatus.TERBUKA and self.hidden == 0


def _views(session: Session, user: User, groups: Sequence[DuplicateGroup]) -> list[GroupView]:
    subs = _submissions(session, user, (m.submission_id for g in groups for m in g.members))
    deciders = {
        u.id: u
        for u in session.scalars(
            select(User).where(User.id.in_({g.decided_by_id for g in groups if g.decided_by_id}))
        )
    }
    out = []
    for g in groups:
        shown = [_view(m, subs[m.submission_id]) for m in g.members if m.submission_id in subs]
        out.append(
            GroupView(g, shown, len(g.members) - len(shown), deciders.get(g.decided_by_id or 0))
        )
    return out


# ---------------------------------------------------------------------------------------------
# Queries


@dataclass(frozen=True)
class GroupPage:
    items: list[GroupView]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))


def page_groups(
    session: Session, user: User, status: str, page: int = 1, per_page: int = 25
) -> GroupPage:
    """Groups with `status` that the user may see, highest score first (then oldest)."""
    page = max(1, page)
    per_page = min(max(1, per_page), MAX_GROUP_PAGE)
    where = [DuplicateGroup.status == status, _members_in_scope(user)]
    total = session.scalar(select(func.count(DuplicateGroup.id)).where(*where)) or 0
    stmt = (
        select(DuplicateGroup)
        .where(*where)
        .order_by(DuplicateGroup.score.desc(), DuplicateGroup.id.asc())
        .options(selectinload(DuplicateGroup.members))
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    groups = list(session.scalars(stmt))
    return GroupPage(_views(session, user, groups), total, page, per_page)


def status_counts(session: Session, user: User) -> dict[str, int]:
    """Groups per status the user may see (the queue's tabs; `terbuka` is the nav count)."""
    stmt = (
        select(DuplicateGroup.status, func.count(DuplicateGroup.id))
        .where(_members_in_scope(user))
        .group_by(DuplicateGroup.status)
    )
    counts: dict[str, int] = {str(s): 0 for s in GROUP_STATUSES}
    counts.update({s: n for s, n in session.execute(stmt)})
    return counts


def open_reason_counts(session: Session, user: User) -> dict[str, int]:
    """Open groups the user may see, per reason (a group counts once for each of its reasons)."""
    where = [DuplicateGroup.status == GroupStatus.TERBUKA, _members_in_scope(user)]
    counts: dict[str, int] = {}
    for reasons in session.scalars(select(DuplicateGroup.reasons).where(*where)):
        for reason in reasons or []:
            counts[reason] = counts.get(reason, 0) + 1
    return counts


def open_count(session: Session, user: User) -> int:
    where = [DuplicateGroup.status == GroupStatus.TERBUKA, _members_in_scope(user)]
    return session.scalar(select(func.count(DuplicateGroup.id)).where(*where)) or 0


def _get_group(session: Session, user: User, group_id: int) -> DuplicateGroup | None:
    if not queries.is_row_id(group_id):
        return None
    stmt = (
        select(DuplicateGroup)
        .where(DuplicateGroup.id == group_id, _members_in_scope(user))
        .options(selectinload(DuplicateGroup.members))
    )
    return session.scalar(stmt)


def group_detail(session: Session, user: User, group_id: int) -> GroupView | None:
    """One group with its members in scope, or None when unknown or wholly out of scope."""
    group = _get_group(session, user, group_id)
    return None if group is None else _views(session, user, [group])[0]


# ---------------------------------------------------------------------------------------------
# The decision


def _root(session: Session, orang_id: int) -> int:
    """The Orang an id was (perhaps step by step) merged into."""
    seen = {orang_id}
    current = orang_id
    while True:
        parent = session.scalar(select(Orang.merged_into_id).where(Orang.id == current))
        if parent is None or parent in seen:
            return current
        seen.add(parent)
        current = parent


def _merge(session: Session, orang_ids: Iterable[int]) -> int:
    """Merge the Orang under the lowest id; returns it. Whatever was merged into one of the
    others follows, so every chain stays one step long."""
    tops = sorted({_root(session, i) for i in orang_ids})
    survivor, others = tops[0], tops[1:]
    if others:
        session.execute(
            update(Orang)
            .where(or_(Orang.id.in_(others), Orang.merged_into_id.in_(others)))
            .values(merged_into_id=survivor)
            .execution_options(synchronize_session=False)
        )
    return survivor


def _clear_nik_sama(session: Session, group: DuplicateGroup) -> int:
    """Delete the group's members' `nik_sama` flags, except for a member that another open
    `nik_sama` group still holds. Returns how many flags went."""
    mentions = {(m.submission_id, m.position) for m in group.members}
    sub_ids = {s for s, _ in mentions}
    still_open = session.execute(
        select(DuplicateMember.submission_id, DuplicateMember.position, DuplicateGroup.reasons)
        .join(DuplicateGroup, DuplicateGroup.id == DuplicateMember.group_id)
        .where(
            DuplicateGroup.id != group.id,
            DuplicateGroup.status == GroupStatus.TERBUKA,
            DuplicateMember.submission_id.in_(sub_ids),
        )
    )
    held = {(s, p) for s, p, reasons in still_open if NIK_SAMA in (reasons or [])}
    removed = 0
    for sub_id, position in sorted(mentions - held):
        # A PSKS entry is member position 0 and its flags carry no position (NULL).
        at = (
            or_(QualityFlag.position.is_(None), QualityFlag.position == 0)
            if position == 0
            else QualityFlag.position == position
        )
        result = session.execute(
            delete(QualityFlag)
            .where(QualityFlag.submission_id == sub_id, QualityFlag.code == NIK_SAMA, at)
            .execution_options(synchronize_session=False)
        )
        removed += result.rowcount or 0  # type: ignore[attr-defined]
    return removed


@dataclass
class Decision:
    group: DuplicateGroup
    events: list[ReviewEvent] = field(default_factory=list)
    survivor_id: int | None = None  # the Orang the members now are, for `sama`
    flags_removed: int = 0


def decide_group(
    session: Session, group: DuplicateGroup, user: User, keputusan: str, catatan: str | None
) -> Decision:
    """Decide `group` as `sama` or `berbeda` for `user`, or raise a ReviewError and change
    nothing (the caller rolls back)."""
    catatan = (catatan or "").replace("\x00", "").strip() or None
    keputusan = (keputusan or "").replace("\x00", "").strip()
    if not may_adjudicate(user):
        raise NotAllowed(f"Peran {user.role} tidak berwenang memutuskan data ganda.")
    if _get_group(session, user, group.id) is None:
        raise NotFound("Kelompok data ganda tidak ditemukan.")
    subs = _submissions(session, user, (m.submission_id for m in group.members))
    if any(m.submission_id not in subs for m in group.members):
        raise NotAllowed(
            "Kelompok ini memuat data di luar wilayah Anda: hanya peninjau yang melihat "
            "semuanya dapat memutuskannya."
        )
    if keputusan not in KEPUTUSAN:
        raise UnknownStatus("Keputusan harus 'sama' (orang yang sama) atau 'berbeda'.")
    if group.status != GroupStatus.TERBUKA:
        raise InvalidTransition(
            f"Kelompok ini sudah diputuskan ({GroupStatus(group.status).label})."
            if group.status in GROUP_STATUSES
            else "Kelompok ini sudah diputuskan."
        )
    if not catatan:
        raise MissingNote("Catatan wajib diisi: jelaskan dasar keputusan ini.")
    now = utcnow()
    # Compare-and-set, as review.decide: of two reviewers deciding at once, one wins.
    result = session.execute(
        update(DuplicateGroup)
        .where(DuplicateGroup.id == group.id, DuplicateGroup.status == GroupStatus.TERBUKA)
        .values(status=keputusan, decided_at=now, decided_by_id=user.id, catatan=catatan)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.refresh(group)
        raise InvalidTransition(
            "Kelompok ini baru saja diputuskan oleh peninjau lain. Muat ulang halaman."
        )
    session.refresh(group)
    decision = Decision(group)
    if keputusan == GroupStatus.SAMA:
        decision.survivor_id = _merge(session, (m.orang_id for m in group.members))
    for sub_id in sorted(subs):
        sub = subs[sub_id]
        event = ReviewEvent(
            submission_id=sub.id,
            user_id=user.id,
            from_status=sub.status,
            to_status=sub.status,
            catatan=catatan,
            alasan=keputusan,
            payload_hash=sub.payload_hash,
            kind=EVENT_KIND,
        )
        session.add(event)
        decision.events.append(event)
    decision.flags_removed = _clear_nik_sama(session, group)
    session.flush()
    return decision


# ---------------------------------------------------------------------------------------------
# A person's history


@dataclass(frozen=True)
class HistoryEntry:
    submission: Submission
    nama: str
    position: int


@dataclass(frozen=True)
class PersonHistory:
    orang: Orang  # the one the others were merged into (the person as the registry knows them)
    orang_ids: list[int]  # it and every Orang merged into it
    entries: list[HistoryEntry]  # in the user's scope, oldest first
    hidden: int  # mentions outside the user's scope (counted, never shown)
    groups: list[DuplicateGroup]  # the duplicate groups any of them is in


def _family(session: Session, orang_id: int) -> list[int]:
    """The root of `orang_id` and everything merged into it, at any depth."""
    root = _root(session, orang_id)
    family, frontier = {root}, {root}
    while frontier:
        children = set(session.scalars(select(Orang.id).where(Orang.merged_into_id.in_(frontier))))
        frontier = children - family
        family |= frontier
    return sorted(family)


def adjudication_history(session: Session, user: User, orang_id: int) -> PersonHistory | None:
    """Every mention of a person: the Orang, each Orang merged into it and the one it was merged
    into, scoped; None when unknown or when no mention is in the user's scope."""
    if not queries.is_row_id(orang_id) or session.get(Orang, orang_id) is None:
        return None
    ids = _family(session, orang_id)
    mentions = persons.mentions_of(session, ids)
    subs = _submissions(session, user, (s for s, _ in mentions))
    entries = [
        HistoryEntry(subs[s], _recorded(subs[s], position)[0], position)
        for s, position in mentions
        if s in subs
    ]
    entries.sort(
        key=lambda e: (e.submission.submitted_at or e.submission.first_seen_at, e.position)
    )
    if not entries:
        return None
    groups = list(
        session.scalars(
            select(DuplicateGroup)
            .where(
                DuplicateGroup.id.in_(
                    select(DuplicateMember.group_id).where(DuplicateMember.orang_id.in_(ids))
                ),
                _members_in_scope(user),
            )
            .order_by(DuplicateGroup.id)
        )
    )
    root = session.get(Orang, _root(session, orang_id))
    if root is None:  # pragma: no cover - _root only follows ids that exist
        return None
    return PersonHistory(root, ids, entries, len(mentions) - len(entries), groups)
