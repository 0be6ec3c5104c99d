"""Data-quality rules over mapped rows: wilayah, consent, dates, categories, households, PSKS."""

from __future__ import annotations

import datetime as dt

import pytest

from registry import kategori, quality, wilayah
from surveys import paths as f
from tests.registry.factories import make_nik, make_no_kk

ON = dt.date(2025, 3, 10)


def by_code(flags: list[quality.Flag]) -> dict[str, quality.Flag]:
    return {x.code: x for x in flags}


def born_aged(years: int) -> dt.date:
    """A birth date that makes a person exactly `years` old on ON."""
    return ON.replace(year=ON.year - years) - dt.timedelta(days=1)


def person(
    position: int = 1,
    *,
    age: int = 40,
    sex: str = "L",
    kategori_ppks: str | None = None,
    **overrides,
) -> dict:
    born = born_aged(age)
    row = {
        "position": position,
        "nik": make_nik("610701", born, sex, position),
        "nama": "Anggota Uji",
        "jenis_kelamin": sex,
        "tempat_lahir": "Bengkayang",
        "tanggal_lahir": born.isoformat(),
        "tanggal_lahir_date": born,
        "kategori_ppks": kategori_ppks,
    }
    row.update(overrides)
    return row


def household(**overrides) -> dict:
    row = {"no_kk": make_no_kk(), "kode_kecamatan": "61.07.01", "kode_desa": "61.07.01.2001"}
    row.update(overrides)
    return row


def test_repeat_path_puts_the_position_after_the_repeat():
    assert quality.repeat_path(f.NIK, 2) == "keluarga/anggota[2]/nik"


def test_a_clean_household_has_no_flags():
    persons = [person(1, age=45), person(2, age=40, sex="P"), person(3, age=10)]
    assert quality.check_household(household(), persons, on=ON) == []


@pytest.mark.parametrize("kode_desa", sorted(wilayah.desa()))
def test_every_desa_is_accepted_inside_its_own_kecamatan(kode_desa):
    assert quality.check_wilayah(wilayah.desa()[kode_desa].kode_kecamatan, kode_desa) == []


def test_desa_outside_the_given_kecamatan_names_both():
    desa = next(iter(wilayah.desa().values()))
    other = next(k for k in wilayah.kecamatan().values() if k.kode != desa.kode_kecamatan)
    flags = by_code(quality.check_wilayah(other.kode, desa.kode))
    assert set(flags) == {"desa_luar_kecamatan"}
    assert desa.nama in flags["desa_luar_kecamatan"].message
    assert other.nama in flags["desa_luar_kecamatan"].message
    assert flags["desa_luar_kecamatan"].field == f.DESA


@pytest.mark.parametrize(
    ("kec", "desa", "expected"),
    [
        ("61.07.01", "61.07.01.9999", {"desa_tidak_dikenal"}),
        ("61.02.01", "61.07.01.2001", {"kecamatan_tidak_dikenal"}),  # BPS code, not Kemendagri
        (None, None, {"kecamatan_kosong", "desa_kosong"}),
        ("  ", "", {"kecamatan_kosong", "desa_kosong"}),
    ],
)
def test_unknown_or_missing_wilayah(kec, desa, expected):
    assert set(by_code(quality.check_wilayah(kec, desa))) == expected


@pytest.mark.parametrize(
    ("value", "code"), [(None, "persetujuan_kosong"), ("tidak", "persetujuan_ditolak")]
)
def test_missing_or_refused_consent_is_an_error(value, code):
    (flag,) = quality.check_consent(value)
    assert (flag.code, flag.severity, flag.field) == (code, "blokir", f.PERSETUJUAN)
    assert quality.check_consent("ya") == []


AGE_RULES = [k for k in kategori.ppks().values() if k.usia_min or k.usia_maks_eksklusif]


@pytest.mark.parametrize("k", AGE_RULES, ids=lambda k: k.kode)
def test_category_age_bounds_come_from_the_csv(k):
    sex = k.jenis_kelamin or "L"
    inside = k.usia_min if k.usia_min is not None else k.usia_maks_eksklusif - 1
    ok = person(age=inside, sex=sex, kategori_ppks=k.kode)
    assert "kategori_usia" not in by_code(quality.check_person(ok, on=ON))
    if k.usia_min:
        young = person(age=k.usia_min - 1, sex=sex, kategori_ppks=k.kode)
        assert "kategori_usia" in by_code(quality.check_person(young, on=ON))
    if k.usia_maks_eksklusif is not None:
        old = person(age=k.usia_maks_eksklusif, sex=sex, kategori_ppks=k.kode)
        flag = by_code(quality.check_person(old, on=ON))["kategori_usia"]
        assert flag.field == "keluarga/anggota[1]/kategori_ppks"
        assert k.nama in flag.message


def test_lansia_telantar_refused_at_30():
    p = person(age=30, kategori_ppks="lansia_telantar")
    assert by_code(quality.check_person(p, on=ON))["kategori_usia"].severity == "blokir"


@pytest.mark.parametrize(
    "k", [k for k in kategori.ppks().values() if k.jenis_kelamin], ids=lambda k: k.kode
)
def test_category_sex_rule_comes_from_the_csv(k):
    other = "L" if k.jenis_kelamin == "P" else "P"
    age = k.usia_min or 30
    assert "kategori_jenis_kelamin" in by_code(
        quality.check_person(person(age=age, sex=other, kategori_ppks=k.kode), on=ON)
    )
    assert "kategori_jenis_kelamin" not in by_code(
        quality.check_person(person(age=age, sex=k.jenis_kelamin, kategori_ppks=k.kode), on=ON)
    )


def test_a_child_category_at_exactly_18_is_accepted_with_a_warning():
    accepting_18 = [
        k for k in kategori.ppks().values() if k.kode.startswith("anak_") and k.age_ok(18)
    ]
    assert accepting_18
    for k in accepting_18:
        flags = by_code(quality.check_person(person(age=18, kategori_ppks=k.kode), on=ON))
        assert flags["kategori_usia_batas"].severity == "peringatan"
        assert "kategori_usia" not in flags


def test_age_falls_back_to_the_forms_umur_when_the_date_is_bad():
    p = person(tanggal_lahir="kemarin", tanggal_lahir_date=None, kategori_ppks="lansia_telantar")
    assert "kategori_usia" in by_code(quality.check_person(p, on=ON, umur="30"))
    assert "kategori_usia" not in by_code(quality.check_person(p, on=ON, umur="70"))
    unknown = by_code(quality.check_person(p, on=ON, umur=None))
    assert unknown["kategori_usia_tidak_diketahui"].severity == "peringatan"


def test_unknown_category_code_is_flagged_and_named():
    flags = by_code(quality.check_person(person(kategori_ppks="fakir_miskin bukan_kode"), on=ON))
    assert "bukan_kode" in flags["kategori_tidak_dikenal"].message


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"tanggal_lahir": "31/12/1980", "tanggal_lahir_date": None}, "tanggal_lahir_tidak_valid"),
        (
            {"tanggal_lahir": "2025-03-11", "tanggal_lahir_date": dt.date(2025, 3, 11)},
            "tanggal_lahir_masa_depan",
        ),
        (
            {"tanggal_lahir": "1890-01-01", "tanggal_lahir_date": dt.date(1890, 1, 1)},
            "tanggal_lahir_tidak_wajar",
        ),
        ({"jenis_kelamin": "laki"}, "jenis_kelamin_tidak_valid"),
        ({"nama": None}, "nama_kosong"),
    ],
)
def test_person_field_rules(overrides, code):
    p = person(**overrides)
    assert code in by_code(quality.check_person(p, on=ON))


def test_nik_findings_land_on_the_members_nik_field():
    p = person(2, nik="610701120580001")
    flag = by_code(quality.check_person(p, on=ON))["nik_format"]
    assert flag.field == "keluarga/anggota[2]/nik"


def test_duplicate_nik_in_a_household_points_at_the_first_member():
    first = person(1, age=45)
    second = person(2, age=20, nik=first["nik"])
    flags = by_code(quality.check_household(household(), [first, second], on=ON))
    assert flags["nik_ganda"].field == "keluarga/anggota[2]/nik"
    assert "ke-1" in flags["nik_ganda"].message


def test_no_kk_equal_to_a_members_nik_and_an_empty_household():
    p = person(1)
    flags = by_code(quality.check_household(household(no_kk=p["nik"]), [p], on=ON))
    assert flags["kk_sama_nik"].field == f.NO_KK
    assert "anggota_kosong" in by_code(quality.check_household(household(), [], on=ON))


def test_psks_rules_follow_the_subject_type_of_the_category():
    lembaga = next(k for k in kategori.psks().values() if k.jenis_subjek == "lembaga")
    entry = {
        "kategori_psks": lembaga.kode,
        "jenis_subjek": "lembaga",
        "kode_kecamatan": "61.07.01",
        "kode_desa": "61.07.01.2001",
    }
    assert set(by_code(quality.check_psks(entry, on=ON))) == {"nama_lembaga_kosong"}
    entry["nama_lembaga"] = "LKS Harapan"
    assert quality.check_psks(entry, on=ON) == []

    perorangan = next(k for k in kategori.psks().values() if k.jenis_subjek == "perorangan")
    entry = {
        "kategori_psks": perorangan.kode,
        "jenis_subjek": "lembaga",
        "kode_kecamatan": "61.07.01",
        "kode_desa": "61.07.01.2001",
        "nama": "Sri",
        "nik": "123",
        "jenis_kelamin": "P",
        "tanggal_lahir": "1990-01-01",
    }
    flags = by_code(quality.check_psks(entry, on=ON))
    assert flags["jenis_subjek_tidak_sesuai"].severity == "peringatan"
    assert flags["nik_format"].field == f.PSKS_NIK
    assert "kategori_psks_tidak_dikenal" in by_code(
        quality.check_psks({**entry, "kategori_psks": "ormas"}, on=ON)
    )


def test_a_household_needs_exactly_one_head():
    head = person(1, age=45, hubungan="kepala_keluarga")
    child = person(2, age=10, hubungan="anak")
    assert quality.check_household(household(), [head, child], on=ON) == []
    for members in ([child], [head, {**head, "position": 2, "nik": child["nik"]}]):
        flag = by_code(quality.check_household(household(), members, on=ON))["kepala_keluarga"]
        assert flag.severity == "blokir"  # the form refuses it: so does the server
    # An older form version without the question: nothing to check.
    assert quality.check_household(household(), [person(1)], on=ON) == []


def test_no_nik_recorded_as_such_is_a_follow_up_not_an_error():
    p = person(2, nik=None)
    assert by_code(quality.check_person(p, on=ON))["nik_kosong"].severity == "blokir"
    answers = {f.STATUS_NIK: "belum_punya", f.ALASAN_TANPA_NIK: "bayi_baru_lahir"}
    flags = by_code(quality.check_person(p, on=ON, answers=answers))
    assert set(flags) == {"nik_tindak_lanjut"}
    assert flags["nik_tindak_lanjut"].severity == "peringatan"
    assert flags["nik_tindak_lanjut"].field == "keluarga/anggota[2]/nik"
    assert "bayi_baru_lahir" in flags["nik_tindak_lanjut"].message


def test_a_nik_typed_despite_no_nik_status_is_still_checked():
    p = person(1, nik="123")
    answers = {f.STATUS_NIK: "tidak_tahu"}
    assert "nik_format" in by_code(quality.check_person(p, on=ON, answers=answers))


def test_unknown_birth_date_with_an_estimate_is_a_follow_up():
    p = person(1, tanggal_lahir=None, tanggal_lahir_date=None, kategori_ppks="lansia_telantar")
    answers = {f.TANGGAL_LAHIR_DIKETAHUI: "tidak"}
    flags = by_code(quality.check_person(p, on=ON, umur="70", answers=answers))
    assert "tanggal_lahir_kosong" not in flags
    assert flags["tanggal_lahir_perkiraan"].severity == "peringatan"
    assert "70" in flags["tanggal_lahir_perkiraan"].message
    assert "kategori_usia" not in flags  # the estimated age meets the 60+ rule


def test_a_household_without_a_card_is_flagged_for_follow_up():
    payload = {
        f.STATUS_KK: "belum_punya",
        f.ALASAN_TANPA_KK: "tidak_berdomisili_tetap",
        f.ANGGOTA: [{f.STATUS_NIK: "ada"}],
    }
    flags = by_code(
        quality.check_household(household(no_kk=None), [person(1)], on=ON, answers=payload)
    )
    assert set(flags) == {"kk_tindak_lanjut"} and flags["kk_tindak_lanjut"].severity == "peringatan"
    assert "kk_kosong" in by_code(quality.check_household(household(no_kk=None), [], on=ON))
