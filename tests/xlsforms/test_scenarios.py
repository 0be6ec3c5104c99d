"""The built forms filled by the real engines (JavaRosa, ODK Web Forms) as an enumerator would.

Each test runs one scenario (tests/xlsforms/scenarios.py) through each engine and checks what the
enumerator meets: answers accepted, the constraint message shown, questions not asked, choices
offered, what is still missing at the end, and the finished instance.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from registry import kategori, wilayah
from surveys import paths as F
from tests.xlsforms import scenarios as S
from tests.xlsforms.engines import Engine, Fill, instance_leaves
from xlsforms import rules

M = S.member_path


def fill(engine: Engine, form: Path, steps: list[S.Step]) -> Fill:
    result = engine.fill(form, steps)
    assert result.error is None, result.error
    return result


# --- a whole household ------------------------------------------------------------------------


def test_valid_household_of_three_finalizes_with_every_answer(engine: Engine, forms):
    steps = S.ppks_household()
    result = fill(engine, forms["ppks"], steps)
    assert {s.status for s in result.steps} == {"answered"}, [
        (s.path, s.status, s.message) for s in result.steps if s.status != "answered"
    ]
    assert result.complete, (result.required_missing, result.constraint_violations)
    values = result.leaves()
    for path, value in steps:
        assert values.get(path) == value, path
    assert values[M(F.UMUR, 1)] == "40" and values[M(F.UMUR, 3)] == "9"
    desa = wilayah.desa()[S.DESA].nama
    assert values["meta/instanceName"] == f"Ali - {desa} RT 001/002"


def test_member_count_asked_first_makes_exactly_that_many_members(engine: Engine, forms):
    steps = [*S.visit(), *S.address(), *S.household_head(2)]
    steps += S.FAMILY[0].steps(1)
    result = fill(engine, forms["ppks"], [*steps, (M(F.NAMA, 3), "Tidak ada")])
    assert result.statuses()[M(F.NAMA, 3)] in ("no_such_question", "not_relevant")
    # The second member is there, unanswered: the form cannot be finalized without them.
    assert M(F.NIK, 2) not in result.required_missing  # not asked before status_nik
    assert M(F.STATUS_NIK, 2) in result.required_missing and not result.complete


@pytest.mark.parametrize("count", ["0", "31"])
def test_member_count_has_bounds(engine: Engine, forms, count: str):
    result = fill(engine, forms["ppks"], [*S.visit(), (F.JUMLAH_ANGGOTA, count)])
    assert result.step(F.JUMLAH_ANGGOTA).status == "constraint"
    assert "1 dan 30" in (result.step(F.JUMLAH_ANGGOTA).message or "")


# --- NIK --------------------------------------------------------------------------------------

GOOD = S.nik_for(S.born(40), "L", 1)
FORMAT, IS_KK, TWICE = rules.NIK_FORMAT[False], rules.NIK_IS_KK[False], rules.NIK_TWICE[False]
NIK_CASES = {
    "15 digits": (GOOD[:-1], FORMAT),
    "17 digits": (GOOD + "1", FORMAT),
    "a letter": (GOOD[:-1] + "A", FORMAT),
    "wrong province": ("20" + GOOD[2:], FORMAT),
    "day 32": (GOOD[:6] + "32" + GOOD[8:], FORMAT),
    "serial 0000": (GOOD[:12] + "0000", FORMAT),
    "the No KK": (S.NO_KK, IS_KK),
}


@pytest.mark.parametrize("case", list(NIK_CASES))
def test_a_wrong_nik_is_refused_with_the_message_of_its_rule(engine: Engine, forms, case: str):
    bad, message = NIK_CASES[case]
    steps = S.ppks_household()
    result = fill(engine, forms["ppks"], [*steps, (M(F.NIK, 1), bad)])
    last = result.steps[-1]
    assert (last.status, last.message) == ("constraint", message)
    # The wrong NIK cannot be finalized: either it was never kept, or (Collect's field-list
    # screen keeps what is on it) finalizing names it again.
    kept = result.leaves()[M(F.NIK, 1)]
    violations = {v["path"]: v["message"] for v in result.constraint_violations}
    assert kept == dict(steps)[M(F.NIK, 1)] or (
        kept == bad and violations.get(M(F.NIK, 1)) == message and not result.complete
    )


@pytest.mark.parametrize(
    "bad", [S.NO_KK[:-1], S.NO_KK + "1", S.NO_KK[:-1] + "A", S.NO_KK[:6] + "43" + S.NO_KK[8:]]
)
def test_a_wrong_no_kk_is_refused(engine: Engine, forms, bad: str):
    """No +40 on a card's date: day 43 is a NIK's, never a No KK's."""
    result = fill(engine, forms["ppks"], [*S.ppks_household(), (F.NO_KK, bad)])
    last = result.steps[-1]
    assert last.status == "constraint" and last.message.startswith("No. KK 16 angka")


@pytest.mark.parametrize("case", ["15 digits", "wrong province"])
def test_a_wrong_psks_nik_is_refused(engine: Engine, forms, case: str):
    bad, message = NIK_CASES[case]
    result = fill(engine, forms["psks"], [*S.psks_person(), (F.PSKS_NIK, bad)])
    assert (result.steps[-1].status, result.steps[-1].message) == ("constraint", message)


@pytest.mark.parametrize(("first", "second"), [(1, 2), (2, 3)])
def test_the_same_nik_twice_in_a_household_is_refused(engine: Engine, forms, first, second):
    steps = S.ppks_household()
    nik = dict(steps)[M(F.NIK, first)]
    result = fill(engine, forms["ppks"], [*steps, (M(F.NIK, second), nik)])
    last = result.steps[-1]
    assert (last.status, last.message) == ("constraint", TWICE)


def test_empty_nik_on_the_first_member_does_not_block_the_others(engine: Engine, forms):
    steps = S.ppks_household()
    steps = [(p, "" if p == M(F.NIK, 1) else v) for p, v in steps]
    result = fill(engine, forms["ppks"], steps)
    assert result.step(M(F.NIK, 2)).status == "answered"
    assert result.step(M(F.NIK, 3)).status == "answered"
    assert result.required_missing == [M(F.NIK, 1)]


def test_without_documents_the_household_is_still_recorded(engine: Engine, forms):
    steps = [(p, v) for p, v in S.ppks_household() if p not in (F.NO_KK, M(F.NIK, 3))]
    steps = [(p, "belum_punya" if p == F.STATUS_KK else v) for p, v in steps]
    steps += [
        (F.ALASAN_TANPA_KK, "tidak_berdomisili_tetap"),
        (M(F.STATUS_NIK, 3), "tidak_tahu"),
        (M(F.ALASAN_TANPA_NIK, 3), "belum_direkam"),
        (M(F.TANGGAL_LAHIR_DIKETAHUI, 1), "tidak"),
        (M(F.UMUR_PERKIRAAN, 1), "62"),
        (M(F.KATEGORI_PPKS, 1), "lansia_telantar"),
    ]
    result = fill(engine, forms["ppks"], steps)
    assert result.complete, (result.required_missing, result.constraint_violations)
    values = result.leaves()
    assert values[M(F.UMUR, 1)] == "62" and values.get(M(F.TANGGAL_LAHIR, 1), "") == ""
    assert values.get(F.NO_KK, "") == "" and values.get(M(F.NIK, 3), "") == ""
    assert result.step(M(F.KATEGORI_PPKS, 1)).status == "answered"  # the estimate counts


@pytest.mark.parametrize("age", ["-1", "121"])
def test_estimated_age_has_bounds(engine: Engine, forms, age: str):
    steps = [*S.ppks_household(), (M(F.TANGGAL_LAHIR_DIKETAHUI, 2), "tidak")]
    result = fill(engine, forms["ppks"], [*steps, (M(F.UMUR_PERKIRAAN, 2), age)])
    assert result.steps[-1].status == "constraint"


# --- location and consent ---------------------------------------------------------------------


def test_desa_offered_are_exactly_those_of_the_chosen_kecamatan(engine: Engine, forms):
    steps: list[S.Step] = []
    expected: dict[str, list[str]] = {}
    for kec in wilayah.kecamatan():
        desa = sorted(d.kode for d in wilayah.desa().values() if d.kode_kecamatan == kec)
        expected[kec] = desa
        steps += [(F.KECAMATAN, kec), (F.DESA, desa[0])]
    result = fill(engine, forms["ppks"], steps)
    asked = [s for s in result.steps if s.path == F.DESA]
    assert len(asked) == 17
    for kec, step in zip(expected, asked, strict=True):
        assert step.status == "answered"
        assert sorted(step.choices or []) == expected[kec], kec


def test_changing_the_kecamatan_clears_the_desa(engine: Engine, forms):
    other = next(k for k in wilayah.kecamatan() if k != S.KECAMATAN)
    steps = [*S.ppks_household(), (F.KECAMATAN, other)]
    result = fill(engine, forms["ppks"], steps)
    assert F.DESA in result.required_missing
    assert result.leaves()[F.DESA] == ""


def test_a_desa_of_another_kecamatan_is_not_offered(engine: Engine, forms):
    other = next(d.kode for d in wilayah.desa().values() if d.kode_kecamatan != S.KECAMATAN)
    result = fill(engine, forms["ppks"], [(F.KECAMATAN, S.KECAMATAN), (F.DESA, other)])
    assert result.step(F.DESA).status == "choice_not_offered"


@pytest.mark.parametrize("form", ["ppks", "psks"])
def test_refusal_ends_the_form_but_keeps_the_desa(engine: Engine, forms, form: str):
    later = [(F.ALAMAT, "x"), (F.NO_KK if form == "ppks" else F.KATEGORI_PSKS, S.NO_KK)]
    result = fill(engine, forms[form], [*S.visit("tidak"), *later])
    assert [s.status for s in result.steps[-2:]] == ["not_relevant", "not_relevant"]
    assert result.complete
    values = result.leaves()
    assert values[F.DESA] == S.DESA and values[F.PERSETUJUAN] == "tidak"
    assert values["meta/instanceName"].startswith("MENOLAK - ")


# --- members: relationships and plausibility --------------------------------------------------


def _member_answer(engine, forms, position: int, path: str, value: str, **change) -> S.Step:
    members = list(S.FAMILY)
    if change:
        m = members[position - 1]
        members[position - 1] = S.Member(**{**m.__dict__, **change})
    steps = S.ppks_household(tuple(members))
    result = fill(engine, forms["ppks"], [*steps, (M(path, position), value)])
    return result.steps[-1]


def test_the_first_member_is_the_head_and_only_once(engine: Engine, forms):
    first = _member_answer(engine, forms, 1, F.HUBUNGAN, "anak")
    assert first.status == "constraint"
    assert first.message == "Anggota pertama adalah kepala keluarga."
    again = _member_answer(engine, forms, 2, F.HUBUNGAN, "kepala_keluarga")
    assert again.status == "constraint" and again.message.startswith("Kepala keluarga hanya satu")


@pytest.mark.parametrize("hubungan", ["istri", "suami"])
def test_a_young_child_cannot_be_a_spouse(engine: Engine, forms, hubungan: str):
    step = _member_answer(engine, forms, 3, F.HUBUNGAN, hubungan)
    assert step.status == "constraint" and "di bawah 15 tahun" in step.message


def test_a_young_child_cannot_be_married_or_working(engine: Engine, forms):
    assert _member_answer(engine, forms, 3, F.STATUS_PERKAWINAN, "kawin_tercatat").status == (
        "constraint"
    )
    assert _member_answer(engine, forms, 3, F.PEKERJAAN, "buruh_harian_lepas").status == (
        "constraint"
    )


def test_a_sixteen_year_old_on_the_card_as_married_is_accepted(engine: Engine, forms):
    step = _member_answer(engine, forms, 3, F.STATUS_PERKAWINAN, "kawin_tercatat", age=16)
    assert step.status == "answered"  # the form warns, the card decides


# --- the category rules of ppks_kategori.csv, at and around their bounds ----------------------


def _probes(k: kategori.PpksKategori) -> list[tuple[int, str, int, bool]]:
    """(age, sex, position, allowed) to try for category `k`, from its row in the CSV."""
    sex = k.jenis_kelamin or "L"
    position = 1 if k.unit_subjek == "keluarga" else 2
    probes: list[tuple[int, str, int, bool]] = []
    lo, hi = k.usia_min, k.usia_maks_eksklusif
    if lo is not None:
        if lo > 0:
            probes.append((lo - 1, sex, position, False))
        probes.append((lo, sex, position, True))
    if hi is not None:
        probes += [(hi - 1, sex, position, True), (hi, sex, position, False)]
    mid = (lo or 0) + 1 if hi is None else ((lo or 0) + hi - 1) // 2
    if lo is None and hi is None:
        mid = 30
    if k.jenis_kelamin:
        probes.append((mid, "L" if k.jenis_kelamin == "P" else "P", position, False))
    if k.unit_subjek == "keluarga":
        probes.append((mid, sex, 2, False))
    probes.append((mid, sex, position, True))
    return probes


@pytest.mark.parametrize("code", list(kategori.ppks()))
def test_each_category_follows_its_age_and_sex_rule(engine: Engine, forms, code: str):
    k = kategori.ppks()[code]
    steps = S.ppks_household()
    expected = []
    for age, sex, position, allowed in _probes(k):
        birth = S.born(age)
        steps += [
            (M(F.JENIS_KELAMIN, position), sex),
            (M(F.TANGGAL_LAHIR, position), birth),
            (M(F.KATEGORI_PPKS, position), code),
            (M(F.KATEGORI_PPKS, position), ""),  # back to none for the next probe
        ]
        expected.append((age, sex, position, allowed))
    result = fill(engine, forms["ppks"], steps)
    tries = [s for s in result.steps if s.path.endswith("/kategori_ppks") and s.value == code]
    assert len(tries) == len(expected)
    for (age, sex, position, allowed), step in zip(expected, tries, strict=True):
        assert (step.status == "answered") is allowed, (age, sex, position, step)
        if not allowed:
            assert step.message and step.message.startswith(k.singkatan + ":"), step.message


# --- PSKS ---------------------------------------------------------------------------------------


def test_psks_person_finalizes_with_a_house_photo_asked(engine: Engine, forms):
    steps = [*S.psks_person(), (F.FOTO_RUMAH, "rumah.jpg")]
    result = fill(engine, forms["psks"], steps)
    assert {s.status for s in result.steps} == {"answered"}, result.steps
    assert result.complete, result.required_missing
    values = result.leaves()
    assert values[F.JENIS_SUBJEK] == "perorangan" and values[F.PSKS_NIK] == dict(steps)[F.PSKS_NIK]
    assert values["meta/instanceName"].startswith("Maria - ")


def test_psks_organisation_is_not_asked_for_a_person_or_a_house_photo(engine: Engine, forms):
    steps = [*S.psks_lembaga(), (F.FOTO_RUMAH, "rumah.jpg"), (F.PSKS_NIK, GOOD)]
    result = fill(engine, forms["psks"], steps)
    assert result.statuses()[F.FOTO_RUMAH] == "not_relevant"
    assert result.statuses()[F.PSKS_NIK] == "not_relevant"
    assert result.complete, result.required_missing
    assert result.leaves()["meta/instanceName"].startswith("Karang Taruna Tunas Muda")


def test_psks_family_asks_the_card_and_its_head(engine: Engine, forms):
    birth = S.born(50)
    steps = [
        *S.visit(),
        (F.KATEGORI_PSKS, "keluarga_pioner"),
        *S.address(),
        (F.PSKS_NO_KK, S.NO_KK),
        (F.PSKS_JUMLAH_ANGGOTA_KELUARGA, "4"),
        (F.PSKS_NIK, S.NO_KK),
        (F.PSKS_NIK, S.nik_for(birth, "L", 3)),
        (F.PSKS_NAMA, "Yusuf"),
        (F.PSKS_JENIS_KELAMIN, "L"),
        (F.PSKS_TANGGAL_LAHIR, birth),
        (F.PSKS_PELATIHAN, "belum_pernah"),
    ]
    result = fill(engine, forms["psks"], steps)
    nik_steps = [s for s in result.steps if s.path == F.PSKS_NIK]
    assert (nik_steps[0].status, nik_steps[0].message) == ("constraint", IS_KK)
    assert nik_steps[1].status == "answered"
    assert result.statuses()[F.PSKS_PELATIHAN] == "not_relevant"  # persons only
    assert result.complete, result.required_missing


# --- what Collect sends, through the harvester ------------------------------------------------


def kobo_json(xml: str) -> dict[str, object]:
    """The instance as Kobo's API returns it: full-path keys, the repeat a list of dicts."""
    values = instance_leaves(xml)
    out: dict[str, object] = {}
    members: dict[int, dict[str, str]] = {}
    for path, value in values.items():
        if path.startswith("meta/") or value == "":
            continue
        if path.startswith(F.ANGGOTA + "["):
            index = int(path[len(F.ANGGOTA) + 1 : path.index("]")])
            members.setdefault(index, {})[F.ANGGOTA + path[path.index("]") + 1 :]] = value
        else:
            out[path] = value
    if members:
        out[F.ANGGOTA] = [members[i] for i in sorted(members)]
    # What the server adds on receipt (API.md: _id, _uuid from meta/instanceID, _submission_time).
    out["_id"] = 1
    out["_uuid"] = values["meta/instanceID"].removeprefix("uuid:")
    out["_submission_time"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return out


def test_a_household_filled_in_collect_lands_in_the_registry(javarosa: Engine, forms):
    from harvester.mapping import map_submission

    steps = [(p, v) for p, v in S.ppks_household() if p not in (M(F.NIK, 3), M(F.STATUS_NIK, 3))]
    steps += [(M(F.STATUS_NIK, 3), "belum_punya"), (M(F.ALASAN_TANPA_NIK, 3), "bayi_baru_lahir")]
    result = fill(javarosa, forms["ppks"], steps)
    assert result.complete, result.required_missing
    mapped = map_submission("ppks", kobo_json(result.xml), today=dt.date.today())
    answers = dict(steps)
    assert mapped.household["no_kk"] == S.NO_KK
    assert mapped.household["kode_desa"] == S.DESA and mapped.household["rt"] == "001"
    assert mapped.household["alamat"] == "Jl. Raya 12" and mapped.household["latitude"] == 0.8203
    assert [p["nama"] for p in mapped.persons] == ["Ali", "Aminah", "Budi"]
    assert [p["nik"] for p in mapped.persons] == [answers[M(F.NIK, 1)], answers[M(F.NIK, 2)], None]
    assert mapped.persons[0]["hubungan"] == "kepala_keluarga"
    codes = {(fl.field, fl.code) for fl in mapped.flags}
    assert (M(F.NIK, 3), "nik_tindak_lanjut") in codes
    assert not [fl for fl in mapped.flags if fl.severity == "blokir"], mapped.flags


def test_housing_is_asked_of_a_poor_household_and_its_floor_area_has_bounds(engine: Engine, forms):
    head = S.Member(**{**S.FAMILY[0].__dict__, "kategori": "fakir_miskin"})
    steps = S.ppks_household((head, *S.FAMILY[1:]))
    probes = [(F.RUMAH_LUAS_LANTAI, v) for v in ("0", "2001", "36.5")]
    result = fill(engine, forms["ppks"], [*steps, *probes])
    assert [s.status for s in result.steps[-3:]] == ["constraint", "constraint", "answered"]
    assert F.RUMAH_LANTAI in result.required_missing  # the housing block is now asked
    plain = fill(engine, forms["ppks"], [*S.ppks_household(), (F.RUMAH_LUAS_LANTAI, "36.5")])
    assert plain.steps[-1].status == "not_relevant"
