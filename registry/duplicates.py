"""Likely duplicates: the same person recorded twice without a shared valid NIK (the NIK missing,
one or two digits off or transposed; the name spelled another way; the day and month of birth
swapped), found by blocking and scored with rapidfuzz.

Blocking: two PPKS members are compared only when their names start with the same letter, or
their last words with the same two (one-word names included; after folding old spellings:
Djoko = Joko = Yoko; "Bong Kim Fat" meets "Kim Fat": registry.names.block_keys), they were born
on the same date or on dates with day and month swapped, and they live in different households.
Scoring (0..1):
how alike the names are, written out in `name_similarity`, then evidence for and against:

- NIKs (`nik_relation`): two neighbouring digits swapped +0.07, one or two digits off +0.05
  (nothing when only in the serial: so are two people's born on one day in one kecamatan)
  (`nik_mirip`); further apart -0.10; missing or invalid on either side 0 (`nik_kosong`);
- the mother's name (`nama_ibu_kandung`, `mother_relation`), when both records give it: alike
  +0.05 (`ibu_sama`) unless both are of one No KK (siblings share her too), plainly another
  name -0.10; missing on either side 0;
- the same desa: +0.03; another kecamatan: -0.07;
- another sex (both given): never a duplicate; the same No KK and birth date, two valid NIKs
  apart or off in the serial only, and names that are not nearly identical: twins, never a
  duplicate.

A pair is proposed when the names reach `nama_min` and the score reaches `skor_min`
(BABALE_DUPLIKAT_NAMA_MIN, BABALE_DUPLIKAT_SKOR_MIN). Namesakes (same name and desa, another
birth date) never meet in a block. Each pair is a DuplicateGroup keyed by its two mentions: once
decided, never proposed again.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz
from sqlalchemy import ColumnElement, Connection, delete, insert, or_, select, update
from sqlalchemy.orm import Session

from registry import nik
from registry.bulk import one_of, select_in, table_of
from registry.models import (
    DuplicateGroup,
    DuplicateMember,
    Household,
    Person,
    utcnow,
)
from registry.names import normal_name
from registry.persons import Mention, ensure_orang, group_key
from registry.settings import DUPLIKAT_NAMA_MIN, DUPLIKAT_SKOR_MIN, Settings

KEY_PREFIX = "mirip:"
GROUP = table_of(DuplicateGroup)


@dataclass(frozen=True)
class Thresholds:
    nama_min: float = DUPLIKAT_NAMA_MIN  # names at least this alike (0..1)
    skor_min: float = DUPLIKAT_SKOR_MIN  # and the whole score at least this

    @classmethod
    def of(cls, settings: Settings) -> Thresholds:
        return cls(settings.duplikat_nama_min, settings.duplikat_skor_min)


DEFAULT = Thresholds()


@dataclass(eq=False)  # not frozen: a frozen __init__ costs a call per field, per member
class Member:
    """One PPKS member as the registry holds them, with what the comparison needs."""

    submission_id: int
    position: int
    nama: str  # normalised (registry.names.normal_name)
    nik_recorded: str | None  # as recorded
    keys: tuple[str, ...]  # its one or two blocks (registry.names.block_keys)
    born: dt.date
    jenis_kelamin: str | None  # as recorded
    no_kk_recorded: str | None  # the household's, as recorded
    kode_desa: str | None
    kode_kecamatan: str | None
    ibu_recorded: str | None  # the mother's name, as recorded

    @property
    def mention(self) -> Mention:
        return (self.submission_id, self.position)

    @functools.cached_property
    def nik(self) -> str | None:
        """The valid NIK, or None (worked out only for the pairs whose names are alike)."""
        return nik.valid_nik(self.nik_recorded)

    @functools.cached_property
    def ibu(self) -> str:
        """The mother's name, normalised (worked out only for the pairs whose names are alike)."""
        return normal_name(self.ibu_recorded)

    @property
    def sex(self) -> str:
        return (self.jenis_kelamin or "").strip().upper()

    @property
    def no_kk(self) -> str:
        return nik.normalise(self.no_kk_recorded)


@dataclass(frozen=True)
class Match:
    a: Member
    b: Member
    score: float
    reasons: tuple[str, ...]


def name_similarity(a: str, b: str) -> float:
    """0..1 for two normalised names: the best of the whole names compared letter by letter
    without spaces ("Nur Haliza" = "Nurhaliza"), word order ignored, and one name being the
    other with a family name dropped (0.92: alike, but less sure)."""
    if not a or not b:
        return 0.0
    best = max(fuzz.ratio(a.replace(" ", ""), b.replace(" ", "")), fuzz.token_sort_ratio(a, b))
    short, long = sorted((set(a.split()), set(b.split())), key=len)
    if short < long and any(len(w) >= 3 for w in short):
        best = max(best, 92.0)
    return best / 100


def nik_relation(a: str | None, b: str | None, kec_a: str | None, kec_b: str | None) -> str:
    """How two NIKs compare: `kosong` (either missing or invalid), `sama`, `tertukar` (two
    neighbouring digits swapped), `mirip_seri` (1-2 digits off, in the serial only: twins'
    NIKs look like that too), `mirip` (1-2 digits off elsewhere), or `beda`. Two NIKs that
    differ only in the region digits, each that of its own household's kecamatan, or in a
    region digit and a serial digit, are two people's real NIKs (`beda`), not a typo: Dukcapil
    counts serials per region and date, so people born on one day in two kecamatan get NIKs
    that far apart."""
    if not a or not b:
        return "kosong"
    if a == b:
        return "sama"
    diff = [i for i in range(16) if a[i] != b[i]]
    if len(diff) > 2:
        return "beda"
    i, j = diff[0], diff[-1]  # the first and the last digit that differ
    if j == i + 1 and a[i] == b[j] and a[j] == b[i]:
        return "tertukar"
    if i >= 12:
        return "mirip_seri"
    if i < 6 and j >= 12:
        return "beda"  # another region and another serial: two NIKs, issued in two places
    if j < 6 and kec_a != kec_b and nik.region_of(a) == kec_a and nik.region_of(b) == kec_b:
        return "beda"
    return "mirip"


# Off in the serial only weighs nothing: two people born on one day in one kecamatan have NIKs
# that close (serials count up per region and date). At +0.03 it proposed about 600 more pairs
# at 300,000 persons (benchmarks/quality.py) and no more true ones.
_NIK_BONUS = {"tertukar": 0.07, "mirip": 0.05, "mirip_seri": 0.0, "kosong": 0.0, "beda": -0.10}

IBU_SAMA = 0.85  # mothers' names at least this alike are one name written twice
IBU_BEDA = 0.70  # below this, two mothers


def mother_relation(a: str, b: str) -> str:
    """How two normalised mothers' names compare: `kosong` (either not given), `sama` (one name,
    perhaps misspelt or without the family name) or `beda`; in between says nothing (`kosong`)."""
    if not a or not b:
        return "kosong"
    similar = name_similarity(a, b)
    return "sama" if similar >= IBU_SAMA else "beda" if similar < IBU_BEDA else "kosong"


_IBU_BONUS = {"sama": 0.05, "kosong": 0.0, "beda": -0.10}


def compare(a: Member, b: Member, limits: Thresholds) -> Match | None:
    """The pair as a likely duplicate, or None."""
    if a.submission_id == b.submission_id:
        return None
    if a.jenis_kelamin != b.jenis_kelamin and a.sex and b.sex and a.sex != b.sex:
        return None
    similar = name_similarity(a.nama, b.nama)
    if similar < limits.nama_min:
        return None
    relation = nik_relation(a.nik, b.nik, a.kode_kecamatan, b.kode_kecamatan)
    if relation == "sama":
        return None  # one person already: registry.persons' nik_sama
    if (
        relation in ("beda", "mirip_seri")
        and a.born == b.born
        and similar < 0.95
        and a.no_kk == b.no_kk
    ):
        return None  # twins: one No KK and birth date, each their own NIK, other names
    reasons = ["nama_mirip"] if a.nama != b.nama else []
    reasons.append("tanggal_lahir" if a.born == b.born else "tanggal_tertukar")
    if relation == "kosong":
        reasons.append("nik_kosong")
    elif relation != "beda":
        reasons.append("nik_mirip")
    mother = mother_relation(a.ibu, b.ibu)
    if mother == "sama" and a.no_kk and a.no_kk == b.no_kk:
        mother = "kosong"  # one family: its children share a mother, which tells nothing
    if mother == "sama":
        reasons.append("ibu_sama")
    score = similar + _NIK_BONUS[relation] + _IBU_BONUS[mother]
    if a.kode_desa and a.kode_desa == b.kode_desa:
        score += 0.03
    elif a.kode_kecamatan != b.kode_kecamatan:
        score -= 0.07
    score = round(min(1.0, max(0.0, score)), 3)
    if score < limits.skor_min:
        return None
    x, y = sorted((a, b), key=lambda m: m.mention)
    return Match(x, y, score, tuple(reasons))


# What a comparison needs of a member: the person row (found through ix_person_kunci_duplikat,
# which also leaves out the caller's own submissions), then the household row. Reading the
# submission rows (with their payloads) instead cost most of a harvested page's check at 100,000
# households: a household deleted on the form server leaves its blocks (`forget`) rather than
# being filtered out here.
_MEMBERS = (
    select(
        Person.submission_id,
        Person.position,
        Person.nama,
        Person.nik,
        Person.kunci_duplikat,
        Person.kunci_duplikat_akhir,
        Person.jenis_kelamin,
        Household.no_kk,
        Household.kode_desa,
        Household.kode_kecamatan,
        Person.nama_ibu_kandung,
    )
    .join(Household, Household.id == Person.household_id)
    .where(Person.kunci_duplikat.is_not(None))
)

# What the harvest's check reads first of the members in a page's blocks: the person row alone,
# through the block indexes. The rest (`_MEMBERS`, with the household) is read only for the few
# whose names are alike: at 100,000 households a page's blocks hold about 1,700 members, and
# reading all of each and making a Member of it was most of the check.
_CANDIDATES = select(
    Person.id, Person.nama, Person.kunci_duplikat, Person.kunci_duplikat_akhir
).where(Person.kunci_duplikat.is_not(None))


def _member(row: tuple[Any, ...]) -> Member:
    sub_id, position, nama, raw_nik, key, second, jk, no_kk, desa, kec, ibu = row
    born = dt.date.fromisoformat(key[:10])  # the block key starts with the birth date
    if desa and len(desa) > 8:
        kec = desa[:8]  # a desa code holds its kecamatan's ("61.07.01.2001" -> "61.07.01")
    keys = (key, second) if second else (key,)
    return Member(
        sub_id, position, normal_name(nama), raw_nik, keys, born, jk, no_kk, desa, kec, ibu
    )


def all_members(session: Session) -> list[Member]:
    """Every member the comparison may consider (live households, birth date known)."""
    return [_member(tuple(r)) for r in session.connection().execute(_MEMBERS)]


def in_blocks(
    session: Session, keys: Collection[str], *, besides: Collection[int] = ()
) -> list[Member]:
    """The members of these blocks (registry.names.block_keys), but for those of the submissions
    `besides` (the caller holds them already)."""
    conn = session.connection()  # Core rows: the ORM's result machinery cost more than SQLite
    stmt = _MEMBERS.where(_block_filter(conn, keys))
    if besides:
        stmt = stmt.where(~one_of(conn, Person.submission_id, list(besides)))
    return [_member(tuple(r)) for r in conn.execute(stmt)]


def _block_filter(conn: Connection, keys: Collection[str]) -> ColumnElement[bool]:
    """Members in any of these blocks: a key with "/" is a last word's (kunci_duplikat_akhir)."""
    last_words = [key for key in keys if "/" in key]  # the blocks of kunci_duplikat_akhir
    return or_(
        one_of(conn, Person.kunci_duplikat, [key for key in keys if "/" not in key]),
        one_of(conn, Person.kunci_duplikat_akhir, last_words),
    )


def _mapped_row(
    submission_id: int, person: Mapping[str, Any], household: Mapping[str, Any]
) -> tuple[Any, ...]:
    """A just-mapped member (harvester.mapping's rows) as `_MEMBERS` reads it back."""
    return (
        submission_id,
        person["position"],
        person["nama"],
        person["nik"],
        person["kunci_duplikat"],
        person["kunci_duplikat_akhir"],
        person["jenis_kelamin"],
        household["no_kk"],
        household["kode_desa"],
        household["kode_kecamatan"],
        person["nama_ibu_kandung"],
    )


def blocks_of(members: Iterable[Member]) -> set[str]:
    """The blocks these members are compared in: their own and the day-and-month-swapped one."""
    out = set()
    for m in members:
        for key in m.keys:
            out.add(key)
            if other := swapped_block(key):
                out.add(other)
    return out


def swapped_block(key: str) -> str | None:
    """The block (registry.names.block_key, "1988-06-09v") of the same name letter and the
    birth date with day and month swapped, when that is another date (`swapped`)."""
    month, day = key[5:7], key[8:10]
    if day > "12" or day == month:
        return None
    return f"{key[:5]}{day}-{month}{key[10:]}"


def forget(session: Session, submission_ids: Collection[int]) -> None:
    """Submissions gone from the form server: out of every block, and their open groups gone."""
    if not submission_ids:
        return
    session.execute(
        update(Person)
        .where(Person.submission_id.in_(list(submission_ids)))
        .values(kunci_duplikat=None, kunci_duplikat_akhir=None)
    )
    drop_open_groups(session, submission_ids)


def _by_block(members: Iterable[Member]) -> dict[str, list[Member]]:
    index: dict[str, list[Member]] = defaultdict(list)
    for m in members:
        for key in m.keys:
            index[key].append(m)
    return index


def matches_for(news: list[Member], registry: list[Member], limits: Thresholds) -> list[Match]:
    """Every likely duplicate of the new members among the registry's (which may hold them)."""
    index = _by_block(registry)
    found: dict[tuple[Mention, Mention], Match] = {}
    for m in news:
        for key in blocks_of((m,)):
            for other in index.get(key, ()):
                if other.submission_id == m.submission_id:
                    continue  # their own household: several members, never one person twice
                match = compare(m, other, limits)
                if match is not None:
                    found.setdefault((match.a.mention, match.b.mention), match)
    return list(found.values())


def find_all(members: list[Member], limits: Thresholds) -> Iterator[Match]:
    """Every likely duplicate pair among `members` (the batch run, over the whole registry):
    the pairs `matches_for` finds, each once (two members may share both their blocks)."""
    index = _by_block(members)
    seen: set[tuple[Mention, Mention]] = set()
    for key, block in sorted(index.items()):
        pairs: Iterable[tuple[Member, Member]] = itertools.combinations(block, 2)
        other_key = swapped_block(key)
        if other_key is not None and other_key > key:  # each swapped pair of blocks once
            pairs = itertools.chain(pairs, itertools.product(block, index.get(other_key, ())))
        for m, other in pairs:
            match = compare(m, other, limits)
            if match is not None and (match.a.mention, match.b.mention) not in seen:
                seen.add((match.a.mention, match.b.mention))
                yield match


def check_submissions(
    session: Session, submission_ids: Collection[int], limits: Thresholds = DEFAULT
) -> int:
    """Refresh the likely-duplicate groups of stored submissions (their members read back from
    the registry): their open groups go, and the pairs found now among the registry are
    proposed unless decided before. Returns how many groups were opened."""
    if not submission_ids:
        return 0
    ids = set(submission_ids)
    drop_open_groups(session, ids)
    keys = session.execute(
        select(Person.kunci_duplikat, Person.kunci_duplikat_akhir).where(
            Person.submission_id.in_(list(ids)), Person.kunci_duplikat.is_not(None)
        )
    )
    news = [
        m
        for m in in_blocks(session, {k for pair in keys for k in pair if k})
        if m.submission_id in ids
    ]
    if not news:
        return 0
    others = in_blocks(session, blocks_of(news), besides=ids)
    return propose(session, matches_for(news, others + news, limits))


def check_mapped(
    session: Session,
    mapped: Iterable[tuple[int, Mapping[str, Any], Mapping[str, Any]]],
    limits: Thresholds = DEFAULT,
    *,
    replaced: Collection[int] = (),
) -> int:
    """`check_submissions` for the harvest: the members of a just-written page as mapped
    (submission id, person row, household row); `replaced` are its submissions written before.
    The members of the page's blocks are read by name first (`_CANDIDATES`), and in full only
    where the names are alike enough (`name_similarity`)."""
    if replaced:
        drop_open_groups(session, replaced)
    rows = [_mapped_row(*item) for item in mapped if item[1].get("kunci_duplikat")]
    if not rows:
        return 0
    conn = session.connection()
    compared_in: dict[str, list[int]] = defaultdict(list)  # block -> the page's rows compared there
    page_in: dict[str, list[int]] = defaultdict(list)  # block -> the page's rows in it
    for i, row in enumerate(rows):
        for key in row[4:6]:
            if key:
                page_in[key].append(i)
                compared_in[key].append(i)
                if other := swapped_block(key):
                    compared_in[other].append(i)
    stored_in, name_of = _stored_names(conn, compared_in, {row[0] for row in rows})
    names = [normal_name(row[2]) for row in rows]
    stored_pairs: set[tuple[int, int]] = set()  # (page row, person id)
    page_pairs: set[tuple[int, int]] = set()  # (page row, page row)
    for key, here in compared_in.items():
        if stored := stored_in.get(key):
            stored_pairs.update(itertools.product(here, stored))
        mates = page_in.get(key, ())
        if mates and (len(here) > 1 or len(mates) > 1 or mates[0] != here[0]):  # not just itself
            page_pairs.update((i, j) for i in here for j in mates if rows[i][0] != rows[j][0])
    low = limits.nama_min  # pairs whose names are less alike never become a Match
    stored_hits = [(i, p) for i, p in stored_pairs if name_similarity(names[i], name_of[p]) >= low]
    page_hits = [(i, j) for i, j in page_pairs if name_similarity(names[i], names[j]) >= low]
    full = _stored_members(conn, {p for _, p in stored_hits})
    news: dict[int, Member] = {}  # page row -> its member, made when first needed

    def new(i: int) -> Member:
        if i not in news:
            news[i] = _member(rows[i])
        return news[i]

    pairs = [(new(i), full[p]) for i, p in stored_hits if p in full]
    pairs += [(new(i), new(j)) for i, j in page_hits]
    found: dict[tuple[Mention, Mention], Match] = {}
    for a, b in pairs:
        match = compare(a, b, limits)
        if match is not None:
            found.setdefault((match.a.mention, match.b.mention), match)
    return propose(session, list(found.values()))


def _stored_names(
    conn: Connection, keys: Collection[str], besides: Collection[int]
) -> tuple[dict[str, list[int]], dict[int, str]]:
    """The stored members of these blocks, but for those of the submissions `besides`: block ->
    their person ids, and person id -> normalised name."""
    stored_in: dict[str, list[int]] = defaultdict(list)
    name_of: dict[int, str] = {}
    elsewhere = ~one_of(conn, Person.submission_id, besides)
    stmt = _CANDIDATES.where(_block_filter(conn, keys), elsewhere)
    for person_id, nama, *blocks in conn.execute(stmt):
        name_of[person_id] = normal_name(nama)
        for key in blocks:
            if key:
                stored_in[key].append(person_id)
    return stored_in, name_of


def _stored_members(conn: Connection, person_ids: Collection[int]) -> dict[int, Member]:
    """Person id -> the stored member, read in full."""
    if not person_ids:
        return {}
    stmt = _MEMBERS.add_columns(Person.id).where(one_of(conn, Person.id, person_ids))
    return {int(r[-1]): _member(tuple(r)[:-1]) for r in conn.execute(stmt)}


def drop_open_groups(session: Session, submission_ids: Collection[int]) -> None:
    """Open likely-duplicate groups holding any of these submissions (they are compared again)."""
    doomed = select(DuplicateMember.group_id).where(
        DuplicateMember.submission_id.in_(list(submission_ids))
    )
    ids = list(
        session.scalars(
            select(DuplicateGroup.id).where(
                DuplicateGroup.id.in_(doomed),
                DuplicateGroup.status == "terbuka",
                DuplicateGroup.key.startswith(KEY_PREFIX),
            )
        )
    )
    if ids:
        session.execute(delete(DuplicateMember).where(DuplicateMember.group_id.in_(ids)))
        session.execute(delete(DuplicateGroup).where(DuplicateGroup.id.in_(ids)))


def key_of(match: Match) -> str:
    return group_key(KEY_PREFIX, (match.a.mention, match.b.mention))


def propose(session: Session, matches: list[Match]) -> int:
    """Open a group for each match whose key is not known yet (open or decided)."""
    if not matches:
        return 0
    keyed = {key_of(m): m for m in matches}
    known = {k for (k,) in select_in(session.connection(), GROUP, "key", list(keyed))}
    fresh = {k: m for k, m in keyed.items() if k not in known}
    if not fresh:
        return 0
    orang = ensure_orang(session, (x.mention for m in fresh.values() for x in (m.a, m.b)))
    now = utcnow()
    for key, m in fresh.items():
        group_id = session.scalars(
            insert(DuplicateGroup).returning(DuplicateGroup.id),
            [
                {
                    "key": key,
                    "status": "terbuka",
                    "score": m.score,
                    "reasons": list(m.reasons),
                    "created_at": now,
                }
            ],
        ).one()
        session.execute(
            insert(DuplicateMember),
            [
                {
                    "group_id": group_id,
                    "submission_id": x.submission_id,
                    "position": x.position,
                    "orang_id": orang[x.mention],
                }
                for x in (m.a, m.b)
            ],
        )
    return len(fresh)
