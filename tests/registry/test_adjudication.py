"""Deciding a duplicate group (registry/adjudication.py) on real SQLite and PostgreSQL: who may,
what `sama` and `berbeda` change, what stays (every mention, nothing deleted), the audit trail,
the nik_sama flags, and the queue's queries."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from registry import adjudication as adj
from registry.db import session_factory
from registry.models import DuplicateGroup, Orang, QualityFlag, ReviewEvent, Sebutan, Submission
from registry.review import InvalidTransition, MissingNote, NotAllowed, UnknownStatus
from tests.registry.adjudication_factories import make_group, orang_for
from tests.webapp import factories as fx

NIK = "6107015205800003"


@pytest.fixture
def db(database_url):
    session = session_factory(database_url)()
    try:
        yield session
    finally:
        session.close()


def household(db: Session, desa: str = fx.DESA_A, **kw) -> Submission:
    return fx.make_submission(
        db, desa, members=[{"nama": "Veronika", "nik": NIK, "kategori": ""}], **kw
    )


def nik_sama_flags(db: Session, sub: Submission) -> list[int]:
    return sorted(
        p or 0
        for p in db.scalars(
            select(QualityFlag.position).where(
                QualityFlag.submission_id == sub.id, QualityFlag.code == "nik_sama"
            )
        )
    )


def test_sama_merges_under_the_lowest_id_and_keeps_both_histories(db):
    a, b = household(db), household(db, fx.DESA_B, status="disetujui")
    group = make_group(db, [(a, 2), (b, 2)])
    dinsos = fx.make_user(db, "dinsos")
    ids = sorted(m.orang_id for m in group.members)
    sebutan_before = db.scalar(select(func.count(Sebutan.id)))
    db.commit()

    decision = adj.decide_group(db, group, dinsos, "sama", "  Sama: KTP dicek di Dukcapil ")
    db.commit()

    assert decision.survivor_id == ids[0]
    assert db.get(Orang, ids[0]).merged_into_id is None
    assert db.get(Orang, ids[1]).merged_into_id == ids[0]
    assert db.scalar(select(func.count(Orang.id))) == 2  # nothing deleted
    assert db.scalar(select(func.count(Sebutan.id))) == sebutan_before
    g = db.get(DuplicateGroup, group.id)
    assert (g.status, g.decided_by_id, g.catatan) == (
        "sama",
        dinsos.id,
        "Sama: KTP dicek di Dukcapil",
    )
    assert g.decided_at is not None

    # The person's history, asked from either former Orang, holds both submissions.
    for orang_id in ids:
        history = adj.adjudication_history(db, dinsos, orang_id)
        assert history is not None and history.orang.id == ids[0]
        assert sorted(e.submission.id for e in history.entries) == sorted([a.id, b.id])
        assert {e.nama for e in history.entries} == {"Veronika"}
        assert [grp.id for grp in history.groups] == [group.id]


def test_decisions_are_review_events_on_each_member_submission(db):
    a, b = household(db), household(db, fx.DESA_B, status="disetujui")
    group = make_group(db, [(a, 2), (b, 2), (a, 1)], reasons=("nama_mirip",), score=0.9)
    admin = fx.make_user(db, "admin")
    db.commit()
    adj.decide_group(db, group, admin, "berbeda", "Dua orang berbeda: ibu dan anak")
    db.commit()
    events = list(db.scalars(select(ReviewEvent).order_by(ReviewEvent.submission_id)))
    assert [(e.submission_id, e.kind, e.alasan) for e in events] == [
        (a.id, "duplikat", "berbeda"),
        (b.id, "duplikat", "berbeda"),
    ]
    for e, sub in zip(events, (a, b), strict=True):
        assert e.from_status == e.to_status == sub.status  # the review status is untouched
        assert e.user_id == admin.id and e.catatan == "Dua orang berbeda: ibu dan anak"
        assert e.payload_hash == sub.payload_hash
    assert db.get(Submission, b.id).status == "disetujui"


def test_berbeda_keeps_the_persons_apart(db):
    a, b = household(db), household(db, fx.DESA_B)
    group = make_group(db, [(a, 2), (b, 2)])
    db.commit()
    adj.decide_group(db, group, fx.make_user(db, "dinsos"), "berbeda", "Kembar")
    db.commit()
    assert db.get(DuplicateGroup, group.id).status == "berbeda"
    assert db.scalar(select(func.count(Orang.id)).where(Orang.merged_into_id.is_not(None))) == 0
    assert nik_sama_flags(db, a) == [] and nik_sama_flags(db, b) == []


@pytest.mark.parametrize("first", ["sama", "berbeda"])
def test_a_decided_group_is_refused_with_409_and_unchanged(db, first):
    a, b = household(db), household(db, fx.DESA_B)
    group = make_group(db, [(a, 2), (b, 2)])
    one, two = fx.make_user(db, "dinsos"), fx.make_user(db, "admin")
    db.commit()
    adj.decide_group(db, group, one, first, "pertama")
    db.commit()
    with pytest.raises(InvalidTransition) as exc:
        adj.decide_group(db, group, two, "berbeda" if first == "sama" else "sama", "kedua")
    assert exc.value.http_status == 409
    db.rollback()
    g = db.get(DuplicateGroup, group.id)
    assert (g.status, g.decided_by_id, g.catatan) == (first, one.id, "pertama")
    assert db.scalar(select(func.count(ReviewEvent.id))) == 2


def test_two_reviewers_at_once_only_one_decides(db, database_url):
    """Both load the open group; the compare-and-set lets the first commit win."""
    a, b = household(db), household(db, fx.DESA_B)
    group_id = make_group(db, [(a, 2), (b, 2)]).id
    one, two = fx.make_user(db, "dinsos"), fx.make_user(db, "admin")
    db.commit()
    other = session_factory(database_url)()
    try:
        stale = other.get(DuplicateGroup, group_id)
        assert stale is not None and stale.status == "terbuka"
        adj.decide_group(db, db.get(DuplicateGroup, group_id), one, "sama", "pertama")
        db.commit()
        with pytest.raises(InvalidTransition):
            adj.decide_group(other, stale, other.get(type(two), two.id), "berbeda", "kedua")
        other.rollback()
    finally:
        other.close()
    db.expire_all()
    assert db.get(DuplicateGroup, group_id).status == "sama"


@pytest.mark.parametrize("role", ["kecamatan", "desa", "pimpinan"])
def test_only_adjudicating_roles_decide(db, role):
    a, b = household(db), household(db)  # both inside the kecamatan and desa accounts' wilayah
    group = make_group(db, [(a, 2), (b, 2)])
    user = fx.make_user(db, role)
    db.commit()
    with pytest.raises(NotAllowed) as exc:
        adj.decide_group(db, group, user, "sama", "catatan")
    assert exc.value.http_status == 403
    db.rollback()
    assert db.get(DuplicateGroup, group.id).status == "terbuka"


def test_an_inactive_account_decides_nothing(db):
    a, b = household(db), household(db, fx.DESA_B)
    group = make_group(db, [(a, 2), (b, 2)])
    user = fx.make_user(db, "dinsos")
    user.is_active = False
    db.commit()
    with pytest.raises(NotAllowed):
        adj.decide_group(db, group, user, "sama", "catatan")


def test_bad_input_is_refused_before_anything_changes(db):
    a, b = household(db), household(db, fx.DESA_B)
    group = make_group(db, [(a, 2), (b, 2)])
    user = fx.make_user(db, "dinsos")
    db.commit()
    with pytest.raises(MissingNote) as missing:
        adj.decide_group(db, group, user, "sama", "  \x00 ")
    with pytest.raises(UnknownStatus) as unknown:
        adj.decide_group(db, group, user, "mungkin", "catatan")
    assert missing.value.http_status == unknown.value.http_status == 422
    db.rollback()
    assert db.get(DuplicateGroup, group.id).status == "terbuka"
    assert nik_sama_flags(db, a) == [2]


def test_nik_sama_flags_go_only_where_no_other_open_nik_sama_group_holds_the_member(db):
    a, b, c = household(db), household(db, fx.DESA_B), household(db, fx.DESA_A2)
    first = make_group(db, [(a, 2), (b, 2)])
    # b's member is also in another open nik_sama group (with c); a likely-duplicate group on
    # a does not hold a nik_sama flag.
    make_group(db, [(b, 2), (c, 2)])
    make_group(db, [(a, 2), (c, 1)], reasons=("nama_mirip",), score=0.8)
    other_flag = QualityFlag(
        submission_id=a.id, field="keluarga/anggota[2]/tanggal_lahir", code="tanggal_lahir",
        severity="blokir", position=2, message="Anggota ke-2 (Veronika): tanggal lahir.",
    )  # fmt: skip
    db.add(other_flag)
    db.commit()
    assert nik_sama_flags(db, a) == [2] and nik_sama_flags(db, b) == [2]

    decision = adj.decide_group(db, first, fx.make_user(db, "dinsos"), "berbeda", "berbeda")
    db.commit()
    assert decision.flags_removed == 1
    assert nik_sama_flags(db, a) == []
    assert nik_sama_flags(db, b) == [2]  # still held by the open group with c
    assert nik_sama_flags(db, c) == [2]
    assert db.get(QualityFlag, other_flag.id) is not None  # other codes untouched


def test_psks_entries_are_position_0_and_their_flag_goes_too(db):
    a = household(db)
    p = fx.make_submission(db, fx.DESA_B, form="psks", nama="Veronika", nik=NIK,
                           kategori="pekerja_sosial_masyarakat")  # fmt: skip
    group = make_group(db, [(a, 2), (p, 0)])
    db.commit()
    assert nik_sama_flags(db, p) == [0]
    adj.decide_group(db, group, fx.make_user(db, "admin"), "sama", "Orang yang sama")
    db.commit()
    assert nik_sama_flags(db, p) == [] and nik_sama_flags(db, a) == []
    view = adj.group_detail(db, fx.make_user(db, "dinsos"), group.id)
    assert [(m.position, m.nama, m.nik) for m in view.members] == [
        (2, "Veronika", NIK),
        (0, "Veronika", NIK),
    ]


def test_a_merge_follows_earlier_merges(db):
    a, b, c = household(db), household(db, fx.DESA_B), household(db, fx.DESA_A2)
    user = fx.make_user(db, "dinsos")
    first = make_group(db, [(b, 2), (c, 2)], reasons=("nama_mirip",), score=0.9)
    db.commit()
    adj.decide_group(db, first, user, "sama", "satu")
    later = make_group(db, [(a, 2), (c, 2)], reasons=("nama_mirip",), score=0.9)
    db.commit()
    ids = {s: orang_for(db, s, 2).id for s in (a, b, c)}
    adj.decide_group(db, later, user, "sama", "dua")
    db.commit()
    lowest = min(ids.values())
    merged = {o.id: o.merged_into_id for o in db.scalars(select(Orang))}
    assert all(merged[i] in (None, lowest) for i in ids.values())
    assert merged[lowest] is None
    history = adj.adjudication_history(db, user, ids[b])
    assert sorted(e.submission.id for e in history.entries) == sorted([a.id, b.id, c.id])


def test_scope_any_member_to_list_all_members_to_decide(db):
    own, foreign = household(db), household(db, fx.DESA_B)
    mixed = make_group(db, [(own, 2), (foreign, 2)])
    elsewhere = make_group(
        db, [(foreign, 1), (household(db, fx.DESA_B), 1)], reasons=("nama_mirip",), score=0.7
    )
    kecamatan = fx.make_user(db, "kecamatan")  # sees KEC_A only
    db.commit()

    listed = adj.page_groups(db, kecamatan, "terbuka")
    assert [g.group.id for g in listed.items] == [mixed.id] and listed.total == 1
    view = adj.group_detail(db, kecamatan, mixed.id)
    assert [m.submission.id for m in view.members] == [own.id] and view.hidden == 1
    assert not view.may_decide
    assert adj.group_detail(db, kecamatan, elsewhere.id) is None
    assert adj.adjudication_history(db, kecamatan, elsewhere.members[0].orang_id) is None
    assert adj.open_count(db, kecamatan) == 1

    # The kecamatan account lists the group but may not decide it (role), as a desa one.
    with pytest.raises(NotAllowed):
        adj.decide_group(db, mixed, kecamatan, "sama", "x")


def test_page_groups_orders_by_score_then_id_and_pages(db):
    subs = [household(db) for _ in range(7)]
    scores = [0.8, 1.0, 0.8, 0.95, 0.7, 1.0, 0.8]
    groups = [
        make_group(db, [(s, 1), (s, 2)], reasons=("nama_mirip",), score=sc)
        for s, sc in zip(subs, scores, strict=True)
    ]
    make_group(db, [(household(db), 1), (household(db), 1)], status="berbeda", score=1.0)
    user = fx.make_user(db, "dinsos")
    db.commit()
    expected = [g.id for g in sorted(groups, key=lambda g: (-g.score, g.id))]
    pages = [adj.page_groups(db, user, "terbuka", page=n, per_page=3) for n in (1, 2, 3)]
    assert [g.group.id for p in pages for g in p.items] == expected
    assert [len(p.items) for p in pages] == [3, 3, 1]
    assert {p.total for p in pages} == {7} and pages[0].pages == 3
    assert adj.page_groups(db, user, "berbeda").total == 1
    assert adj.page_groups(db, user, "sama").total == 0
    assert adj.status_counts(db, user) == {"terbuka": 7, "sama": 0, "berbeda": 1}
