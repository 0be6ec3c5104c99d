"""The person registry (registry/persons.py) as the harvest's store drives it, on real SQLite and
PostgreSQL: one Orang per valid NIK across households and forms, and `nik_sama` groups and
blokir flags that follow the live households through edits, deletions and decisions."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from harvester.mapping import map_submission
from harvester.store import store_page
from registry import adjudication, persons, review
from registry.db import session_factory
from registry.models import (
    DuplicateGroup,
    Orang,
    QualityFlag,
    Submission,
)
from surveys import paths as f
from tests.registry import factories as rf
from tests.webapp import factories as fx

HEADS = ["Agustinus Lusan", "Rudi Ramli", "Petrus Sidi", "Akhiong Tjhin", "Budi Jamal"]
SHARED = rf.make_nik("610701", dt.date(1990, 3, 4), "P", 77)  # Veronika's NIK


@pytest.fixture
def db(database_url):
    session = session_factory(database_url)()
    try:
        yield session
    finally:
        session.close()


def household(kobo_id: int, desa: str, nik: str | None = SHARED, **answers: Any) -> dict:
    kec = desa[:8].replace(".", "")
    members = [
        rf.member(
            HEADS[kobo_id % len(HEADS)],
            born=dt.date(1950 + kobo_id % 40, 1, 5),
            sex="L",
            kec=kec,
            serial=kobo_id,
            hubungan="kepala_keluarga",
        ),
        rf.member("Veronika Lusan", born=dt.date(1990, 3, 4), sex="P", kec=kec, serial=78),
    ]
    if nik is not None:
        members[1][f.NIK] = nik
    return rf.ppks_payload(kobo_id, kode_desa=desa, members=members, **answers)


def harvest(db: Session, form: str, *payloads: dict) -> list[Submission]:
    """Store payloads as one harvested page, committed, and return their submissions."""
    store_page(db, form, rf.ASSET[form], [map_submission(form, p) for p in payloads])
    db.commit()
    ids = [p["_id"] for p in payloads]
    subs = {s.kobo_id: s for s in db.scalars(select(Submission).where(Submission.kobo_id.in_(ids)))}
    return [subs[i] for i in ids]


def edited(payload: dict, **answers: Any) -> dict:
    """The payload as Kobo serves it after an edit: new answers, a new `_uuid`."""
    out = {**payload, **answers}
    out["_uuid"] = out["_uuid"][:-4] + "beef"
    out["meta/instanceID"] = "uuid:" + out["_uuid"]
    return out


def nik_sama(db: Session, sub: Submission) -> list[int]:
    """Positions of the submission's nik_sama flags (blokir)."""
    rows = db.execute(
        select(QualityFlag.position, QualityFlag.severity).where(
            QualityFlag.submission_id == sub.id, QualityFlag.code == "nik_sama"
        )
    ).all()
    assert all(severity == "blokir" for _, severity in rows)
    return sorted(p for p, _ in rows)


def open_groups(db: Session) -> list[list[tuple[int, int]]]:
    groups = db.scalars(select(DuplicateGroup).where(DuplicateGroup.status == "terbuka"))
    return [sorted((m.submission_id, m.position) for m in g.members) for g in groups]


def test_a_nik_in_two_households_is_one_person_and_blocks_both(db):
    a, b = harvest(db, "ppks", household(1, "61.07.01.2001"), household(2, "61.07.02.2001"))

    orang = db.scalar(select(Orang).where(Orang.nik == SHARED))
    assert persons.mentions_of(db, [orang.id]) == [(a.id, 2), (b.id, 2)]
    assert persons.ensure_orang(db, [(b.id, 2)]) == {(b.id, 2): orang.id}
    assert open_groups(db) == [[(a.id, 2), (b.id, 2)]]
    group = db.scalar(select(DuplicateGroup))
    assert group.reasons == ["nik_sama"] and group.score == 1.0
    assert nik_sama(db, a) == [2] and nik_sama(db, b) == [2]
    message = db.scalar(select(QualityFlag.message).where(QualityFlag.code == "nik_sama"))
    assert message.startswith("Anggota ke-2 (Veronika Lusan): NIK yang sama")
    assert SHARED not in message
    with pytest.raises(review.Blocked):
        review.decide(db, a, fx.make_user(db, "dinsos"), "disetujui", "ok")


def test_the_second_household_may_come_pages_later(db):
    (a,) = harvest(db, "ppks", household(1, "61.07.01.2001"))
    assert open_groups(db) == [] and nik_sama(db, a) == []
    (b,) = harvest(db, "ppks", household(2, "61.07.03.2001"))
    assert open_groups(db) == [[(a.id, 2), (b.id, 2)]]
    assert nik_sama(db, a) == [2] and nik_sama(db, b) == [2]


def test_every_person_with_a_valid_nik_is_one_orang_however_often_harvested(db):
    payload = household(1, "61.07.01.2001")
    (sub,) = harvest(db, "ppks", payload)
    first = persons.ensure_orang(db, [(sub.id, 1), (sub.id, 2)])
    db.commit()
    harvest(db, "ppks", payload)  # unchanged: nothing new
    harvest(db, "ppks", edited(payload, **{f.ALAMAT: "Jl. Baru 2"}))
    assert persons.ensure_orang(db, [(sub.id, 1), (sub.id, 2)]) == first
    assert db.scalar(select(func.count(Orang.id))) == 2
    assert persons.mentions_of(db, [first[(sub.id, 2)]]) == [(sub.id, 2)]


def test_ppks_and_psks_mentions_are_one_person_without_a_duplicate_group(db):
    (a,) = harvest(db, "ppks", household(1, "61.07.01.2001"))
    (p,) = harvest(db, "psks", rf.psks_payload(2, **{f.PSKS_NIK: SHARED}))
    orang = persons.ensure_orang(db, [(a.id, 2), (p.id, 0)])
    assert orang[(a.id, 2)] == orang[(p.id, 0)]
    assert db.get(Orang, orang[(p.id, 0)]).nik == SHARED
    assert persons.mentions_of(db, [orang[(a.id, 2)]]) == sorted([(a.id, 2), (p.id, 0)])
    assert open_groups(db) == [] and nik_sama(db, a) == []


def test_an_invalid_or_missing_nik_links_nobody(db):
    a, b = harvest(
        db,
        "ppks",
        household(1, "61.07.01.2001", nik="0000000000000000"),
        household(2, "61.07.02.2001", nik="0000000000000000"),
    )
    assert db.scalar(select(func.count(Orang.id)).where(Orang.nik == "0000000000000000")) == 0
    assert nik_sama(db, a) == nik_sama(db, b) == []
    # the same name and birth date without a NIK: a likely duplicate, not a nik_sama group
    (group,) = db.scalars(select(DuplicateGroup))
    assert group.key.startswith("mirip:") and "nik_kosong" in group.reasons
    assert sorted((m.submission_id, m.position) for m in group.members) == [(a.id, 2), (b.id, 2)]


def test_correcting_the_nik_on_kobo_lifts_the_group_and_both_flags(db):
    first = household(1, "61.07.01.2001")
    a, b = harvest(db, "ppks", first, household(2, "61.07.02.2001"))
    fixed = rf.make_nik("610701", dt.date(1990, 3, 4), "P", 5381)
    harvest(
        db, "ppks", edited(first, **{f.ANGGOTA: household(1, "61.07.01.2001", fixed)[f.ANGGOTA]})
    )
    assert open_groups(db) == []
    assert nik_sama(db, a) == [] and nik_sama(db, b) == []
    assert db.scalar(select(func.count(DuplicateGroup.id))) == 0
    moved = persons.ensure_orang(db, [(a.id, 2)])[(a.id, 2)]
    assert db.get(Orang, moved).nik == fixed


def test_an_edit_elsewhere_in_the_household_keeps_its_flag(db):
    first = household(1, "61.07.01.2001")
    a, b = harvest(db, "ppks", first, household(2, "61.07.02.2001"))
    harvest(db, "ppks", edited(first, **{f.ALAMAT: "Jl. Baru 2"}))
    assert nik_sama(db, a) == [2] and nik_sama(db, b) == [2]
    assert len(open_groups(db)) == 1


def test_a_third_household_joins_the_open_group(db):
    a, b = harvest(db, "ppks", household(1, "61.07.01.2001"), household(2, "61.07.02.2001"))
    group_id = db.scalar(select(DuplicateGroup.id))
    (c,) = harvest(db, "ppks", household(3, "61.07.03.2001"))
    assert open_groups(db) == [[(a.id, 2), (b.id, 2), (c.id, 2)]]
    assert db.scalar(select(DuplicateGroup.id)) == group_id
    assert nik_sama(db, c) == [2]


def test_a_decided_group_is_not_proposed_again_but_a_new_household_is(db):
    first = household(1, "61.07.01.2001")
    a, b = harvest(db, "ppks", first, household(2, "61.07.02.2001"))
    group = db.scalar(select(DuplicateGroup))
    adjudication.decide_group(db, group, fx.make_user(db, "dinsos"), "berbeda", "Dua orang")
    db.commit()
    assert nik_sama(db, a) == [] and nik_sama(db, b) == []
    harvest(db, "ppks", edited(first, **{f.ALAMAT: "Jl. Baru 2"}))  # flags rebuilt
    assert open_groups(db) == [] and nik_sama(db, a) == []
    (c,) = harvest(db, "ppks", household(3, "61.07.03.2001"))
    assert open_groups(db) == [[(a.id, 2), (b.id, 2), (c.id, 2)]]
    assert nik_sama(db, a) == [2] and nik_sama(db, c) == [2]


def test_a_household_deleted_on_kobo_leaves_no_group_behind(db):
    a, b = harvest(db, "ppks", household(1, "61.07.01.2001"), household(2, "61.07.02.2001"))
    b.is_deleted_on_server = True
    persons.forget(db, [b.id])
    db.commit()
    assert open_groups(db) == []
    assert nik_sama(db, a) == [] and nik_sama(db, b) == []
    # its mention stays in the person's history
    orang = db.scalar(select(Orang.id).where(Orang.nik == SHARED))
    assert persons.mentions_of(db, [orang]) == [(a.id, 2), (b.id, 2)]


def test_a_long_group_key_is_hashed_to_fit(db):
    key = persons.group_key("nik_sama:", [(i, 1) for i in range(1, 200)])
    assert len(key) <= 255 and key.startswith("nik_sama:sha256:")
    assert key == persons.group_key("nik_sama:", [(i, 1) for i in reversed(range(1, 200))])
