"""Likely duplicates (registry/duplicates.py) as the harvest's store finds them, on real SQLite
and PostgreSQL: spelling variants, a NIK missing, off or transposed, day and month swapped are
proposed; twins, namesakes and another sex are not; a decision holds."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from harvester.mapping import map_submission
from harvester.store import store_page
from registry import adjudication, duplicates
from registry.db import session_factory
from registry.models import DuplicateGroup, Submission
from registry.settings import Settings, SettingsError
from surveys import paths as f
from tests.registry import factories as rf
from tests.webapp import factories as fx

BORN = dt.date(1988, 6, 9)


@pytest.fixture
def db(database_url):
    session = session_factory(database_url)()
    try:
        yield session
    finally:
        session.close()


def household(
    kobo_id: int,
    nama: str,
    *,
    desa: str = "61.07.01.2001",
    born: dt.date = BORN,
    sex: str = "P",
    nik: str | None = None,
    no_kk: str | None = None,
    ibu: str | None = None,
) -> dict[str, Any]:
    """A household of two: a head unique to it, and the member under test at position 2."""
    kec = desa[:8].replace(".", "")
    head = rf.member(
        f"Kepala {kobo_id}",
        born=dt.date(1940 + kobo_id % 30, 2, 1 + kobo_id % 27),
        sex="L",
        kec=kec,
        serial=1000 + kobo_id,
        hubungan="kepala_keluarga",
    )
    person = rf.member(nama, born=born, sex=sex, kec=kec, serial=kobo_id * 37 % 9000 + 1)
    if nik is not None:
        person[f.NIK] = nik
    if ibu is not None:
        person[f.NAMA_IBU_KANDUNG] = ibu
    return rf.ppks_payload(kobo_id, kode_desa=desa, members=[head, person], no_kk=no_kk)


def harvest(db: Session, *payloads: dict[str, Any]) -> list[Submission]:
    store_page(db, "ppks", rf.ASSET["ppks"], [map_submission("ppks", p) for p in payloads])
    db.commit()
    ids = [p["_id"] for p in payloads]
    subs = {s.kobo_id: s for s in db.scalars(select(Submission).where(Submission.kobo_id.in_(ids)))}
    return [subs[i] for i in ids]


def proposed(db: Session) -> list[tuple[list[tuple[int, int]], list[str]]]:
    groups = db.scalars(
        select(DuplicateGroup).where(
            DuplicateGroup.status == "terbuka", DuplicateGroup.key.startswith("mirip:")
        )
    )
    return [(sorted((m.submission_id, m.position) for m in g.members), g.reasons) for g in groups]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Yohanes Anyeng", "Johanes Anyeng"),
        ("Siti Nurhaliza", "Siti Nur Haliza"),
        ("Yohanes Anyeng", "Yohanes"),
        ("Veronik", "Veronika"),
        ("Soekarni", "Sukarni"),
    ],
)
def test_spellings_of_one_name_are_alike(a, b):
    assert (
        duplicates.name_similarity(duplicates.normal_name(a), duplicates.normal_name(b))
        >= duplicates.DEFAULT.nama_min
    )


@pytest.mark.parametrize(("a", "b"), [("Hasan", "Husin"), ("Maria Anyeng", "Maria Lusan")])
def test_other_names_are_not(a, b):
    assert (
        duplicates.name_similarity(duplicates.normal_name(a), duplicates.normal_name(b))
        < duplicates.DEFAULT.nama_min
    )


def test_a_name_spelled_two_ways_without_a_nik_is_proposed_once(db):
    a, b = harvest(
        db,
        household(1, "Veronika Sidi", nik=""),
        household(2, "Veronik Sidi", desa="61.07.01.2004"),
    )
    ((members, reasons),) = proposed(db)
    assert members == [(a.id, 2), (b.id, 2)]
    assert set(reasons) == {"nama_mirip", "tanggal_lahir", "nik_kosong"}
    score = db.scalar(select(DuplicateGroup.score))
    assert duplicates.DEFAULT.skor_min <= score <= 1.0
    harvest(db, household(1, "Veronika Sidi", nik=""))  # unchanged: nothing new
    assert len(proposed(db)) == 1


def test_a_nik_one_digit_off_or_transposed_is_proposed(db):
    nik = rf.make_nik("610701", BORN, "P", 4821)
    off = nik[:-1] + "9"
    swapped = nik[:12] + nik[13] + nik[12] + nik[14:]
    a, b, c = harvest(
        db,
        household(1, "Theresia Bujang", nik=nik),
        household(2, "Theresia Bujang", nik=off, desa="61.07.02.2001"),
        household(3, "Theresia Bujang", nik=swapped, desa="61.07.03.2001"),
    )
    found = proposed(db)
    # b and c are three digits apart: each is proposed with a, not with each other
    assert sorted(m for m, _ in found) == [[(a.id, 2), (b.id, 2)], [(a.id, 2), (c.id, 2)]]
    assert all("nik_mirip" in reasons for _, reasons in found)


def test_a_name_written_without_its_first_word_is_proposed(db):
    """Another first letter: the pair meets in the block of the last word's letter."""
    a, b, c, d = harvest(
        db,
        household(1, "Bong Kim Fat", nik=""),
        household(2, "Kim Fat", desa="61.07.01.2004", nik=""),
        household(3, "Muhammad Ramadhan", sex="L", nik=""),
        household(4, "Ramadhan", sex="L", desa="61.07.01.2004", nik=""),
    )
    assert sorted(m for m, _ in proposed(db)) == [[(a.id, 2), (b.id, 2)], [(c.id, 2), (d.id, 2)]]


def test_the_mothers_name_counts_for_and_against(db):
    """One letter apart, in another kecamatan, without a NIK: the same mother's name (in
    another spelling) tips the pair over the threshold; a plainly different one keeps a pair
    out that the names alone would propose."""
    other_kec = "61.07.05.2001"
    a, b, _, _, e, f_ = harvest(
        db,
        household(1, "Martinus Aton", sex="L", nik="", ibu="Maria Lusan"),
        household(2, "Martiuns Aton", sex="L", nik="", desa=other_kec, ibu="Maria Lusang"),
        household(3, "Veronika Sidi", nik="", ibu="Yuliana Anyeng"),
        household(4, "Veronik Sidi", nik="", desa=other_kec, ibu="Siti Rahmah"),
        household(5, "Veronik Ajin", nik=""),
        household(6, "Veronika Ajin", nik="", desa=other_kec, ibu="Siti Rahmah"),
    )
    found = dict((tuple(m), reasons) for m, reasons in proposed(db))
    assert set(found) == {((a.id, 2), (b.id, 2)), ((e.id, 2), (f_.id, 2))}
    assert "ibu_sama" in found[((a.id, 2), (b.id, 2))]
    assert "ibu_sama" not in found[((e.id, 2), (f_.id, 2))]  # one mother's name is unknown


def test_day_and_month_swapped_is_proposed(db):
    a, b = harvest(
        db,
        household(1, "Meiliana Tjhin", nik=""),
        household(2, "Meiliana Tjhin", born=dt.date(1988, 9, 6), nik=""),
    )
    ((members, reasons),) = proposed(db)
    assert members == [(a.id, 2), (b.id, 2)] and "tanggal_tertukar" in reasons


def test_twins_namesakes_and_another_sex_are_not_proposed(db):
    kk = rf.make_no_kk("610701", serial=555)
    harvest(
        db,
        # twins: same birth date and No KK, other names (recorded in two submissions)
        household(1, "Yohana Lusan", no_kk=kk),
        household(2, "Yohani Lusan", no_kk=kk),
        # namesakes: same name and desa, another birth date
        household(3, "Maria Jamal", nik=""),
        household(4, "Maria Jamal", born=dt.date(1979, 11, 23), nik=""),
        # another sex
        household(5, "Yuliana Ramli", nik=""),
        household(6, "Yuliana Ramli", sex="L", nik=""),
        # different valid NIKs, same name and date, another kecamatan
        household(7, "Lina Sulaiman"),
        household(8, "Lina Sulaiman", desa="61.07.05.2001"),
    )
    assert proposed(db) == []


def test_a_decided_pair_is_not_proposed_again(db):
    first = household(1, "Veronika Sidi", nik="")
    harvest(db, first, household(2, "Veronik Sidi", nik=""))
    group = db.scalar(select(DuplicateGroup))
    adjudication.decide_group(db, group, fx.make_user(db, "dinsos"), "berbeda", "Dua orang")
    db.commit()
    edited = {**first, f.ALAMAT: "Jl. Baru", "_uuid": first["_uuid"][:-4] + "beef"}
    harvest(db, edited)
    assert proposed(db) == []
    assert db.scalar(select(DuplicateGroup.status)) == "berbeda"


def test_an_edit_that_fixes_the_name_lifts_the_open_pair(db):
    first = household(1, "Veronika Sidi", nik="")
    harvest(db, first, household(2, "Veronik Sidi", nik=""))
    assert len(proposed(db)) == 1
    fixed = household(1, "Agnes Sidi", nik="")
    harvest(db, {**fixed, "_uuid": first["_uuid"][:-4] + "beef"})
    assert proposed(db) == []


def test_thresholds_come_from_the_settings():
    env = {"BABALE_DUPLIKAT_NAMA_MIN": "0.9", "BABALE_DUPLIKAT_SKOR_MIN": "0.95"}
    limits = duplicates.Thresholds.of(Settings.from_env(env))
    assert (limits.nama_min, limits.skor_min) == (0.9, 0.95)
    with pytest.raises(SettingsError, match="BABALE_DUPLIKAT_SKOR_MIN"):
        Settings.from_env({"BABALE_DUPLIKAT_SKOR_MIN": "85"})


def test_a_stricter_threshold_proposes_less(db):
    a, b = harvest(db, household(1, "Veronika Sidi", nik=""), household(2, "Veronik Sidi", nik=""))
    duplicates.drop_open_groups(db, [a.id, b.id])
    strict = duplicates.Thresholds(nama_min=0.97, skor_min=0.97)
    assert duplicates.check_submissions(db, [a.id], strict) == 0
    assert duplicates.check_submissions(db, [a.id]) == 1


def test_how_two_niks_compare():
    nik = rf.make_nik("610701", BORN, "P", 4821)
    rel = duplicates.nik_relation
    assert rel(nik, None, "61.07.01", "61.07.01") == "kosong"
    assert rel(nik, nik[:12] + nik[13] + nik[12] + nik[14:], "61.07.01", "61.07.01") == "tertukar"
    assert rel(nik, nik[:-1] + "2", "61.07.01", "61.07.01") == "mirip_seri"
    assert rel(nik, nik[:9] + "7" + nik[10:], "61.07.01", "61.07.01") == "mirip"
    # 610701... and 610702...: each the NIK of its own kecamatan, two people
    other = "610702" + nik[6:]
    assert rel(nik, other, "61.07.01", "61.07.02") == "beda"
    assert rel(nik, other, "61.07.01", "61.07.01") == "mirip"
    # born the same day in two kecamatan: another region and another serial, two people
    assert rel(nik, "610702" + nik[6:-1] + "7", "61.07.01", "61.07.01") == "beda"


def test_a_household_recorded_again_is_not_taken_for_twins(db):
    kk = rf.make_no_kk("610701", serial=556)
    nik = rf.make_nik("610701", BORN, "P", 4821)
    a, b = harvest(
        db,
        household(1, "Theresia Bujang", nik=nik, no_kk=kk),
        household(2, "Teresia Bujang", nik=nik[:12] + nik[13] + nik[12] + nik[14:], no_kk=kk),
    )
    ((members, reasons),) = proposed(db)
    assert members == [(a.id, 2), (b.id, 2)] and "nik_mirip" in reasons


def test_a_household_deleted_on_kobo_leaves_its_blocks_and_its_open_pairs(db):
    a, b = harvest(db, household(1, "Veronika Sidi", nik=""), household(2, "Veronik Sidi", nik=""))
    assert len(proposed(db)) == 1
    b.is_deleted_on_server = True
    duplicates.forget(db, [b.id])
    db.commit()
    assert proposed(db) == []
    (c,) = harvest(db, household(3, "Veronica Sidi", nik=""))
    assert proposed(db) == [([(a.id, 2), (c.id, 2)], ["nama_mirip", "tanggal_lahir", "nik_kosong"])]


def test_the_harvest_page_by_page_proposes_what_the_batch_run_finds(db):
    """Whatever page a household comes in, and whether its look-alike came before, in the same
    page or later (also with day and month swapped), the harvest proposes the pairs that
    `babale quality recheck`'s run over the whole registry finds, no more and no fewer."""
    names = ["Yohanes Anyeng", "Johanes Anyeng", "Siti Nurhaliza", "Siti Nur Haliza", "Veronik"]
    names += ["Bong Mei Ling", "Mei Ling"]  # met through the last word's block
    dates = [dt.date(1988, 6, 9), dt.date(1988, 9, 6), dt.date(1990, 3, 4), dt.date(1975, 12, 25)]
    desas = ["61.07.01.2001", "61.07.01.2004", "61.07.05.2001"]
    payloads = [
        household(
            i,
            names[i % len(names)] if i % 7 else "Veronika",
            born=dates[i * 3 % len(dates)],
            desa=desas[i % len(desas)],
            nik="",
        )
        for i in range(1, 41)
    ]
    start = 0
    for size in (7, 1, 13, 19):
        harvest(db, *payloads[start : start + size])
        start += size
    batch = {
        duplicates.key_of(m)
        for m in duplicates.find_all(duplicates.all_members(db), duplicates.DEFAULT)
    }
    groups = db.scalars(
        select(DuplicateGroup.key).where(
            DuplicateGroup.status == "terbuka", DuplicateGroup.key.startswith("mirip:")
        )
    )
    assert len(batch) > 30
    assert set(groups) == batch
