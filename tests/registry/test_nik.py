"""NIK / No KK structure rules of DOMAIN.md §4."""

from __future__ import annotations

import datetime as dt

import pytest

from registry import nik
from tests.registry.factories import make_nik, make_no_kk

TODAY = dt.date(2025, 3, 10)


def codes(findings: list[nik.Finding]) -> set[str]:
    return {x.code for x in findings}


def errors(findings: list[nik.Finding]) -> set[str]:
    return {x.code for x in findings if x.severity == "blokir"}


def with_digits(value: str, start: int, digits: str) -> str:
    """`value` with the digits at 1-based position `start` replaced."""
    return value[: start - 1] + digits + value[start - 1 + len(digits) :]


GOOD_MAN = make_nik("610701", dt.date(1980, 5, 12), "L", 1)
GOOD_WOMAN = make_nik("610703", dt.date(1992, 11, 30), "P", 27)


def test_normalise_strips_what_people_type_between_digits():
    assert nik.normalise(" 6107.0112-0580 0001 ") == "6107011205800001"
    assert nik.normalise(None) == ""
    assert nik.normalise(6107011205800001) == "6107011205800001"


@pytest.mark.parametrize("value", [GOOD_MAN, GOOD_WOMAN])
def test_a_well_formed_bengkayang_nik_has_no_findings(value):
    assert nik.check_nik(value, today=TODAY) == []


def test_separators_do_not_make_a_good_nik_bad():
    spaced = f"{GOOD_MAN[:4]} {GOOD_MAN[4:8]}.{GOOD_MAN[8:12]}-{GOOD_MAN[12:]}"
    assert nik.check_nik(spaced, today=TODAY) == []


def test_decode_gives_birth_date_and_sex_with_plus_40_for_women():
    assert nik.decode_nik(GOOD_MAN, today=TODAY) == (dt.date(1980, 5, 12), "L")
    assert nik.decode_nik(GOOD_WOMAN, today=TODAY) == (dt.date(1992, 11, 30), "P")


def test_decode_century_follows_the_entered_date_else_not_in_the_future():
    born_2010 = make_nik(born=dt.date(2010, 1, 5))
    assert nik.decode_nik(born_2010, today=TODAY)[0] == dt.date(2010, 1, 5)
    # 05-01-10 with an entered 1910 birth date: a 115-year-old, not a 15-year-old.
    assert nik.decode_nik(born_2010, tanggal_lahir="1910-01-05", today=TODAY)[0].year == 1910
    born_30 = make_nik(born=dt.date(1930, 6, 1))  # 2030 would be in the future
    assert nik.decode_nik(born_30, today=TODAY)[0] == dt.date(1930, 6, 1)


def test_decode_returns_none_when_there_is_no_real_date():
    assert nik.decode_nik(with_digits(GOOD_MAN, 7, "3102"), today=TODAY) is None
    assert nik.decode_nik("12345", today=TODAY) is None


@pytest.mark.parametrize(
    "value",
    [GOOD_MAN[:15], GOOD_MAN + "1", "61070112058O0001", "６１０７０１１２０５８０００01", "٦" * 16],
    ids=["15 digits", "17 digits", "letter O", "full-width digits", "arabic-indic digits"],
)
def test_anything_but_16_ascii_digits_is_a_format_error(value):
    assert codes(nik.check_nik(value, today=TODAY)) == {"nik_format"}


def test_empty_nik_is_reported_as_missing():
    assert codes(nik.check_nik("", today=TODAY)) == {"nik_kosong"}
    assert codes(nik.check_nik(None, today=TODAY)) == {"nik_kosong"}


@pytest.mark.parametrize("province", ["00", "10", "20", "37", "60", "99"])
def test_unknown_province_code_is_an_error(province):
    assert "nik_provinsi" in errors(nik.check_nik(with_digits(GOOD_MAN, 1, province)))


@pytest.mark.parametrize("province", sorted(f"{p:02d}" for p in nik.PROVINCE_CODES))
def test_every_listed_province_code_is_accepted(province):
    value = with_digits(GOOD_MAN, 1, province)
    assert "nik_provinsi" not in codes(nik.check_nik(value, today=TODAY))


@pytest.mark.parametrize("start", [3, 5], ids=["kabupaten", "kecamatan"])
def test_kabupaten_or_kecamatan_00_is_an_error(start):
    assert "nik_wilayah" in errors(nik.check_nik(with_digits(GOOD_MAN, start, "00")))


@pytest.mark.parametrize("day", ["00", "32", "40", "72", "99"])
def test_day_outside_01_31_and_41_71_is_an_error(day):
    assert "nik_hari" in errors(nik.check_nik(with_digits(GOOD_MAN, 7, day), today=TODAY))


@pytest.mark.parametrize("day", ["01", "31", "41", "71"])
def test_day_bounds_for_men_and_women_are_accepted(day):
    value = with_digits(with_digits(GOOD_MAN, 7, day), 9, "01")  # January has 31 days
    assert errors(nik.check_nik(value, today=TODAY)) == set()


@pytest.mark.parametrize("month", ["00", "13"])
def test_month_outside_01_12_is_an_error(month):
    assert "nik_bulan" in errors(nik.check_nik(with_digits(GOOD_MAN, 9, month), today=TODAY))


def test_a_date_that_does_not_exist_is_an_error():
    assert "nik_tanggal" in errors(nik.check_nik(with_digits(GOOD_MAN, 7, "310485")))  # 31 April
    assert "nik_tanggal" in errors(nik.check_nik(with_digits(GOOD_MAN, 7, "690201")))  # 29-02-01
    # 29 February of YY=00 exists in 2000 (a leap year), though not in 1900.
    assert errors(nik.check_nik(with_digits(GOOD_MAN, 7, "290200"), today=TODAY)) == set()


def test_serial_0000_is_an_error():
    assert "nik_seri" in errors(nik.check_nik(with_digits(GOOD_MAN, 13, "0000")))


@pytest.mark.parametrize(
    "value", ["1111111111111111", "6666666666666666", "1234567890123456", "6543210987654321"]
)
def test_obvious_fakes_are_errors(value):
    assert codes(nik.check_nik(value, today=TODAY)) == {"nik_palsu"}


def test_sex_that_disagrees_with_the_nik_is_a_warning():
    found = nik.check_nik(GOOD_MAN, jenis_kelamin="P", today=TODAY)
    assert [(x.code, x.severity) for x in found] == [("nik_jenis_kelamin", "peringatan")]
    assert nik.check_nik(GOOD_WOMAN, jenis_kelamin="P", today=TODAY) == []


def test_birth_date_that_disagrees_with_the_nik_is_a_warning():
    found = nik.check_nik(GOOD_MAN, tanggal_lahir="1980-05-13", today=TODAY)
    assert [(x.code, x.severity) for x in found] == [("nik_tanggal_lahir", "peringatan")]
    assert nik.check_nik(GOOD_MAN, tanggal_lahir=dt.date(1980, 5, 12), today=TODAY) == []


def test_a_nik_from_outside_bengkayang_is_only_a_warning():
    pontianak = make_nik("617101", dt.date(1980, 5, 12), "L", 1)
    found = nik.check_nik(pontianak, today=TODAY)
    assert [(x.code, x.severity) for x in found] == [("nik_luar_bengkayang", "peringatan")]


BAD_NIKS = [
    GOOD_MAN[:15],
    with_digits(GOOD_MAN, 1, "99"),
    with_digits(GOOD_MAN, 7, "99"),
    with_digits(GOOD_MAN, 13, "0000"),
    "1111111111111111",
    make_nik("617101", dt.date(1980, 5, 12), "L", 1),
]


@pytest.mark.parametrize("value", BAD_NIKS)
def test_messages_never_contain_the_number(value):
    found = nik.check_nik(value, jenis_kelamin="P", tanggal_lahir="1970-01-01", today=TODAY)
    found += nik.check_no_kk(value, niks=[value])
    assert found
    for x in found:
        assert value not in x.message
        assert value[:12] not in x.message


def test_a_well_formed_no_kk_has_no_findings():
    assert nik.check_no_kk(make_no_kk(), niks=[GOOD_MAN, GOOD_WOMAN]) == []


def test_no_kk_date_has_no_plus_40():
    kk = with_digits(make_no_kk(), 7, "45")
    assert "kk_hari" in errors(nik.check_no_kk(kk))


def test_no_kk_equal_to_a_members_nik_is_an_error():
    spaced = f"{GOOD_MAN[:8]} {GOOD_MAN[8:]}"
    assert "kk_sama_nik" in errors(nik.check_no_kk(GOOD_MAN, niks=[GOOD_WOMAN, spaced]))


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (make_no_kk()[:15], "kk_format"),
        ("", "kk_kosong"),
        (with_digits(make_no_kk(), 1, "20"), "kk_provinsi"),
        (with_digits(make_no_kk(), 5, "00"), "kk_wilayah"),
        (with_digits(make_no_kk(), 9, "13"), "kk_bulan"),
        (with_digits(make_no_kk(), 7, "300215"), "kk_tanggal"),
        (with_digits(make_no_kk(), 13, "0000"), "kk_seri"),
        ("0000000000000000", "kk_palsu"),
    ],
)
def test_no_kk_structure_errors(value, code):
    assert code in errors(nik.check_no_kk(value))
