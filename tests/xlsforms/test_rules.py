"""The rules the built forms carry, evaluated from the XForm itself (never restated here)."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from registry import kategori, wilayah
from tests.xlsforms.xform import XForm
from tests.xlsforms.xpath_mini import Evaluator, evaluate
from xlsforms import fields

_REGEX_CALL = re.compile(r"regex\(\s*\.\s*,\s*'([^']*)'\s*\)")
TODAY = dt.date(2026, 6, 15)


def _regex(form: XForm, path: str) -> re.Pattern[str]:
    found = _REGEX_CALL.findall(form.binds[path]["constraint"])
    assert len(found) == 1, form.binds[path]["constraint"]
    return re.compile(found[0])


def _kecamatan_prefix() -> str:
    """Six digits of a real Bengkayang kecamatan (61.07.01 -> 610701)."""
    return next(iter(wilayah.kecamatan())).replace(".", "")


def _nik(day: int, month: int = 1, yy: int = 90, serial: str = "0001") -> str:
    return f"{_kecamatan_prefix()}{day:02d}{month:02d}{yy:02d}{serial}"


VALID_NIK = _nik(15)  # a man born 15-01-1990
VALID_NIK_P = _nik(15 + 40)  # a woman born the same day
VALID_KK = _nik(3, 2, 21, "0007")  # card recorded 03-02-2021


def _bad_variants(valid: str) -> dict[str, str]:
    return {
        "15 digits": valid[:-1],
        "17 digits": valid + "1",
        "a letter": valid[:-1] + "A",
        "spaces": valid[:8] + " " + valid[8:15],
        "empty": "",
    }


NIK_PATHS = [("ppks", fields.NIK), ("psks", fields.PSKS_NIK)]
KK_PATHS = [("ppks", fields.NO_KK), ("psks", fields.PSKS_NO_KK)]


@pytest.mark.parametrize(("form", "path"), NIK_PATHS)
def test_nik_regex_accepts_sixteen_digits_and_rejects_the_rest(
    xforms: dict[str, XForm], form: str, path: str
):
    rx = _regex(xforms[form], path)
    assert rx.search(VALID_NIK) and rx.search(VALID_NIK_P)
    for why, bad in _bad_variants(VALID_NIK).items():
        assert not rx.search(bad), why


@pytest.mark.parametrize(("form", "path"), NIK_PATHS)
def test_nik_regex_checks_the_structure_of_domain_4(xforms: dict[str, XForm], form: str, path: str):
    rx = _regex(xforms[form], path)
    p = _kecamatan_prefix()
    assert not rx.search("99" + VALID_NIK[2:]), "unknown province"
    assert not rx.search(p[:2] + "00" + VALID_NIK[4:]), "kabupaten 00"
    assert not rx.search(p[:4] + "00" + VALID_NIK[6:]), "kecamatan 00"
    assert not rx.search(_nik(32)), "day 32"
    assert not rx.search(_nik(40)) and not rx.search(_nik(72)), "day 40 / 72"
    assert not rx.search(_nik(15, month=13)), "month 13"
    assert not rx.search(_nik(15, serial="0000")), "serial 0000"


@pytest.mark.parametrize(("form", "path"), KK_PATHS)
def test_no_kk_regex_accepts_sixteen_digits_and_rejects_the_rest(
    xforms: dict[str, XForm], form: str, path: str
):
    rx = _regex(xforms[form], path)
    assert rx.search(VALID_KK)
    for why, bad in _bad_variants(VALID_KK).items():
        assert not rx.search(bad), why
    assert not rx.search(_nik(43, 2, 21, "0007")), "a No KK date has no +40"


def test_nik_must_differ_from_no_kk(xforms: dict[str, XForm]):
    constraint = xforms["ppks"].binds[fields.NIK]["constraint"]
    ok = {".": VALID_NIK, "no_kk": VALID_KK, "anggota": [VALID_NIK]}
    assert evaluate(constraint, ok) is True
    assert evaluate(constraint, {**ok, "no_kk": VALID_NIK}) is False


# --- age and sex rules from ppks_kategori.csv ------------------------------------------------


def _kategori_ok(form: XForm, codes: str, umur: int, jk: str, hubungan: str) -> bool:
    constraint = form.binds[fields.KATEGORI_PPKS]["constraint"]
    values = {".": codes, "umur": float(umur), "jenis_kelamin": jk, "hubungan": hubungan}
    return evaluate(constraint, values) is True


def test_lanjut_usia_telantar_is_refused_at_30(xforms: dict[str, XForm]):
    form = xforms["ppks"]
    assert not _kategori_ok(form, "lansia_telantar", 30, "L", "kepala_keluarga")
    assert _kategori_ok(form, "lansia_telantar", 60, "L", "kepala_keluarga")


def _ages_to_try(k: kategori.PpksKategori) -> set[int]:
    ages = {0, 30, 99}
    for bound in (k.usia_min, k.usia_maks_eksklusif):
        if bound is not None:
            ages |= {max(bound - 1, 0), bound}
    return ages


@pytest.mark.parametrize("kode", list(kategori.ppks()))
def test_every_category_follows_its_csv_age_and_sex_rule(xforms: dict[str, XForm], kode: str):
    k = kategori.ppks()[kode]
    for umur in sorted(_ages_to_try(k)):
        for jk in ("L", "P"):
            expected = k.age_ok(umur) and k.jenis_kelamin in (None, jk)
            got = _kategori_ok(xforms["ppks"], kode, umur, jk, "kepala_keluarga")
            assert got == expected, (kode, umur, jk)


def test_family_categories_sit_on_the_head_of_household(xforms: dict[str, XForm]):
    form = xforms["ppks"]
    for k in kategori.ppks().values():
        umur = 30 if k.usia_min is None else k.usia_min  # an age and sex its own rule allows
        jk = k.jenis_kelamin or "L"
        assert _kategori_ok(form, k.kode, umur, jk, "kepala_keluarga"), k.kode
        as_child = _kategori_ok(form, k.kode, umur, jk, "anak")
        assert as_child is (k.unit_subjek != "keluarga"), k.kode


def test_an_allowed_code_does_not_excuse_a_refused_one(xforms: dict[str, XForm]):
    assert not _kategori_ok(xforms["ppks"], "pemulung lansia_telantar", 30, "L", "kepala_keluarga")


def test_age_18_warning_for_child_categories_that_reach_18(xforms: dict[str, XForm]):
    form = xforms["ppks"]
    relevant = form.binds["keluarga/anggota/peringatan_usia_anak"]["relevant"]
    straddling = [
        k.kode
        for k in kategori.ppks().values()
        if k.usia_maks_eksklusif and k.usia_maks_eksklusif > 18 and k.age_ok(17)
    ]
    assert straddling, "the CSV no longer has a child category that allows 18"
    for kode in straddling:
        assert evaluate(relevant, {"kategori_ppks": kode, "umur": 18.0}) is True
        assert evaluate(relevant, {"kategori_ppks": kode, "umur": 17.0}) is False
    assert evaluate(relevant, {"kategori_ppks": "pemulung", "umur": 18.0}) is False


# --- dates and computed age ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("born", "today", "years"),
    [
        (dt.date(2000, 6, 15), dt.date(2026, 6, 14), 25),  # the day before the birthday
        (dt.date(2000, 6, 15), dt.date(2026, 6, 15), 26),
        (dt.date(2026, 1, 1), dt.date(2026, 6, 15), 0),
        (dt.date(1960, 12, 31), dt.date(2026, 1, 1), 65),
    ],
)
def test_umur_is_completed_years(xforms: dict[str, XForm], born, today, years):
    calc = xforms["ppks"].binds[fields.UMUR]["calculate"]
    assert evaluate(calc, {"tanggal_lahir": born}, today=today) == years


@pytest.mark.parametrize(
    ("form", "path"), [("ppks", fields.TANGGAL_LAHIR), ("psks", fields.PSKS_TANGGAL_LAHIR)]
)
def test_birth_date_cannot_be_in_the_future(xforms: dict[str, XForm], form: str, path: str):
    constraint = xforms[form].binds[path]["constraint"]
    assert evaluate(constraint, {".": TODAY}, today=TODAY) is True
    assert evaluate(constraint, {".": TODAY + dt.timedelta(days=1)}, today=TODAY) is False


def test_nik_warnings_compare_sex_and_birth_date(xforms: dict[str, XForm]):
    form = xforms["ppks"]
    sex = form.binds["keluarga/anggota/peringatan_nik_jenis_kelamin"]["relevant"]
    assert evaluate(sex, {"nik": VALID_NIK_P, "jenis_kelamin": "L"}) is True
    assert evaluate(sex, {"nik": VALID_NIK_P, "jenis_kelamin": "P"}) is False
    assert evaluate(sex, {"nik": VALID_NIK, "jenis_kelamin": "L"}) is False
    date = form.binds["keluarga/anggota/peringatan_nik_tanggal"]["relevant"]
    born = dt.date(1990, 1, 15)  # what VALID_NIK encodes
    assert evaluate(date, {"nik": VALID_NIK_P, "tanggal_lahir": born}) is False
    assert evaluate(date, {"nik": VALID_NIK, "tanggal_lahir": born.replace(day=16)}) is True
    assert evaluate(date, {"nik": VALID_NIK, "tanggal_lahir": born.replace(year=1991)}) is True


def test_first_member_is_the_only_head(xforms: dict[str, XForm]):
    constraint = xforms["ppks"].binds[fields.HUBUNGAN]["constraint"]
    assert evaluate(constraint, {".": "kepala_keluarga", "position()": 1}) is True
    assert evaluate(constraint, {".": "istri", "position()": 1}) is False
    assert evaluate(constraint, {".": "kepala_keluarga", "position()": 2}) is False
    assert evaluate(constraint, {".": "anak", "position()": 3}) is True


# --- consent gate and what is shown when ------------------------------------------------------


def _top_level_after_consent(form: XForm) -> list[str]:
    order = [p for p in form.order() if "/" not in p and p != "meta"]
    return order[order.index("kunjungan") + 1 :]


# Every category chosen and every optional block filled: consent alone must still close it all.
EVERYTHING = {"kategori_ppks": [" ".join(kategori.ppks())], "nomor_ba": "1/BA/2026"}


@pytest.mark.parametrize("name", ["ppks", "psks"])
def test_without_consent_nothing_after_it_is_asked(xforms: dict[str, XForm], name: str):
    form = xforms[name]
    after = _top_level_after_consent(form)
    assert "wilayah" in after and len(after) >= 3
    for jenis in {k.jenis_subjek for k in kategori.psks().values()}:
        values = {**EVERYTHING, "jenis_subjek": jenis}
        for path in after:
            relevant = form.binds.get(path, {}).get("relevant")
            assert relevant, f"{path} has no relevant: it would be asked without consent"
            assert evaluate(relevant, {**values, "persetujuan": "tidak"}) is False, path
            assert evaluate(relevant, {**values, "persetujuan": ""}) is False, path
    assert evaluate(form.binds["wilayah"]["relevant"], {"persetujuan": "ya"}) is True
    # Inside the consent group only notes follow the question.
    inside = [p for p in form.order() if p.startswith("kunjungan/")]
    later = inside[inside.index(fields.PERSETUJUAN) + 1 :]
    assert all(form.is_note(p) for p in later)
    assert form.binds[fields.PERSETUJUAN]["required"] == "true()"


@pytest.mark.parametrize(
    ("group", "needs"),
    [("rumah", {"fakir_miskin"}), ("bencana", {"korban_bencana_alam", "korban_bencana_sosial"})],
)
def test_household_blocks_follow_member_categories(xforms: dict[str, XForm], group, needs):
    relevant = xforms["ppks"].binds[group]["relevant"]
    for kode in kategori.ppks():
        members = ["anak_telantar", f"pemulung {kode}"]  # the code on the second member
        shown = evaluate(relevant, {"persetujuan": "ya", "kategori_ppks": members})
        assert shown is (kode in needs), kode


def test_disaster_types_follow_natural_or_social(xforms: dict[str, XForm]):
    form = xforms["ppks"]
    list_name, predicate = form.itemset(fields.BENCANA_JENIS)
    items = form.items(list_name)

    def offered(codes: str) -> set[str]:
        out = set()
        for item in items:

            def resolve(path: str, item: dict[str, str] = item) -> object:
                return [codes] if path.startswith("/") else item.get(path, "")

            if Evaluator(resolve)(predicate):
                out.add(item["kelompok"])
        return out

    assert offered("korban_bencana_alam") == {"alam"}
    assert offered("korban_bencana_sosial") == {"sosial"}
    assert offered("korban_bencana_alam korban_bencana_sosial") == {"alam", "sosial"}


def test_disability_type_only_for_disability_categories(xforms: dict[str, XForm]):
    relevant = xforms["ppks"].binds[fields.JENIS_DISABILITAS]["relevant"]
    for kode, k in kategori.ppks().items():
        shown = evaluate(relevant, {"kategori_ppks": kode})
        assert shown is ("disabilitas" in k.nama.lower() or "kedisabilitasan" in k.nama.lower())


# --- PSKS: the subject type chooses the block -----------------------------------------------

BLOCKS = {
    "perorangan": {"perorangan"},
    "keluarga": {"keluarga_psks", "perorangan"},  # No KK, then the head as a person
    "lembaga": {"lembaga"},
    "badan_usaha": {"lembaga"},
}


@pytest.mark.parametrize("kode", list(kategori.psks()))
def test_psks_subject_type_comes_from_the_csv_and_opens_its_block(
    xforms: dict[str, XForm], kode: str
):
    form = xforms["psks"]
    k = kategori.psks()[kode]
    jenis = evaluate(form.binds[fields.JENIS_SUBJEK]["calculate"], {"kategori_psks": kode})
    assert jenis == k.jenis_subjek
    values = {"persetujuan": "ya", "kategori_psks": kode, "jenis_subjek": jenis}
    shown = {
        group
        for group in ("perorangan", "keluarga_psks", "lembaga")
        if evaluate(form.binds[group]["relevant"], values) is True
    }
    assert shown == BLOCKS[k.jenis_subjek]
