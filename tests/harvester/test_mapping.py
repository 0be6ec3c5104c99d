"""Kobo payload -> registry rows: exact columns, bad values kept and flagged, nothing raises."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import random
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from harvester.mapping import (
    HOUSEHOLD_COLUMNS,
    PERSON_COLUMNS,
    PSKS_COLUMNS,
    map_submission,
    payload_hash,
    system_fields,
)
from registry import kategori, wilayah
from registry.db import session_scope
from registry.models import Household, Person, PsksEntry, Submission
from surveys import paths as f
from tests.registry.factories import (
    VISIT,
    make_nik,
    member,
    ppks_payload,
    psks_payload,
    store,
)

# A copy of ../shared/kobo/fixtures/data_page_household_welfare.json (a real-format data page).
FIXTURE = Path(__file__).with_name("fixtures") / "data_page_household_welfare.json"
FIXTURE_ROWS = json.loads(FIXTURE.read_text("utf-8"))["results"]

PERSON_PATHS = {
    "nik": f.NIK,
    "nama": f.NAMA,
    "jenis_kelamin": f.JENIS_KELAMIN,
    "tempat_lahir": f.TEMPAT_LAHIR,
    "tanggal_lahir": f.TANGGAL_LAHIR,
    "hubungan": f.HUBUNGAN,
    "status_perkawinan": f.STATUS_PERKAWINAN,
    "pendidikan": f.PENDIDIKAN,
    "pekerjaan": f.PEKERJAAN,
    "nama_ibu_kandung": f.NAMA_IBU_KANDUNG,
    "jenis_disabilitas": f.JENIS_DISABILITAS,
    "kategori_ppks": f.KATEGORI_PPKS,
}


def codes(mapped) -> dict[str, list[str]]:
    """flag code -> the fields it was raised on."""
    out: dict[str, list[str]] = {}
    for x in mapped.flags:
        out.setdefault(x.code, []).append(x.field)
    return out


def model_columns(model, *skip: str) -> set[str]:
    return {c.name for c in model.__table__.columns} - {"id", *skip}


# --- the shape of what comes out -----------------------------------------------------------------


def test_column_names_are_exactly_the_models():
    assert set(HOUSEHOLD_COLUMNS) == model_columns(Household, "submission_id")
    assert set(PERSON_COLUMNS) == model_columns(Person, "household_id", "submission_id")
    assert set(PSKS_COLUMNS) == model_columns(PsksEntry, "submission_id")


def test_a_clean_ppks_submission_maps_every_answer_without_flags():
    payload = ppks_payload(101)
    mapped = map_submission("ppks", payload)
    assert mapped.flags == []
    assert mapped.submission == {
        "kode_kecamatan": payload[f.KECAMATAN],
        "kode_desa": payload[f.DESA],
        "nama_petugas": payload[f.NAMA_PETUGAS],
    }
    h = mapped.household
    assert set(h) == set(HOUSEHOLD_COLUMNS)
    assert (h["no_kk"], h["kode_desa"], h["dusun"], h["rt"], h["rw"], h["alamat"]) == (
        payload[f.NO_KK],
        payload[f.DESA],
        payload[f.DUSUN],
        payload[f.RT],
        payload[f.RW],
        payload[f.ALAMAT],
    )
    lat, lon, _alt, acc = (float(x) for x in payload[f.LOKASI].split())
    assert (h["latitude"], h["longitude"], h["gps_accuracy"]) == (lat, lon, acc)
    members = payload[f.ANGGOTA]
    assert [p["position"] for p in mapped.persons] == list(range(1, len(members) + 1))
    for row, item in zip(mapped.persons, members, strict=True):
        assert set(row) == {*PERSON_COLUMNS, "kategori"}
        for column, path in PERSON_PATHS.items():
            assert row[column] == item.get(path)
        assert row["tanggal_lahir_date"] == dt.date.fromisoformat(item[f.TANGGAL_LAHIR])
        assert row["kategori"] == item.get(f.KATEGORI_PPKS, "").split()
    assert mapped.psks_entry is None


def test_a_clean_psks_submission_maps_to_one_entry():
    payload = psks_payload(7, kategori="tksk")
    mapped = map_submission("psks", payload)
    assert mapped.flags == []
    assert mapped.household is None and mapped.persons == []
    e = mapped.psks_entry
    assert set(e) == set(PSKS_COLUMNS)
    assert (e["kategori_psks"], e["nik"], e["nama"], e["tanggal_lahir"], e["kode_desa"]) == (
        "tksk",
        payload[f.PSKS_NIK],
        payload[f.PSKS_NAMA],
        payload[f.PSKS_TANGGAL_LAHIR],
        payload[f.DESA],
    )


@pytest.mark.parametrize("row", FIXTURE_ROWS, ids=lambda r: str(r["_id"]))
def test_system_fields_read_the_kobo_fixture(row):
    values = system_fields(row)
    validation = row["_validation_status"]
    assert values == {
        "kobo_id": row["_id"],
        "uuid": row["_uuid"],
        "root_uuid": row["meta/rootUuid"],
        "submitted_at": dt.datetime.fromisoformat(row["_submission_time"]).replace(tzinfo=dt.UTC),
        "submitted_by": row["_submitted_by"],
        "form_version": row["__version__"],
        "kobo_validation_uid": validation.get("uid"),
        "kobo_validation_by": validation.get("by_whom"),
        "kobo_validation_timestamp": validation.get("timestamp"),
    }
    assert values["submitted_at"].utcoffset() == dt.timedelta(0)


def test_a_foreign_form_maps_what_it_can_and_says_what_is_missing():
    mapped = map_submission("ppks", FIXTURE_ROWS[0])
    assert mapped.persons == []
    assert {"kk_kosong", "desa_kosong", "anggota_kosong", "persetujuan_kosong"} <= set(
        codes(mapped)
    )


def test_unparsable_submission_time_is_none_and_flagged():
    payload = ppks_payload(5, _submission_time="kemarin sore")
    assert system_fields(payload)["submitted_at"] is None
    assert codes(map_submission("ppks", payload))["waktu_kirim_tidak_valid"] == ["_submission_time"]


def test_missing_uuid_and_root_uuid_fall_back_sensibly():
    payload = ppks_payload(5)
    del payload["_uuid"], payload["meta/rootUuid"]
    values = system_fields(payload)
    assert values["uuid"] == payload["meta/instanceID"].removeprefix("uuid:")
    assert values["root_uuid"] == payload["meta/instanceID"]
    del payload["meta/instanceID"]
    assert system_fields(payload)["uuid"] == payload_hash(payload)


def test_payload_hash_is_canonical_json():
    a = {"b": 1, "a": ["x", {"d": "Ü", "c": None}]}
    b = json.loads(json.dumps(a, indent=4)[::-1][::-1])  # same content, rebuilt
    b = dict(reversed(list(b.items())))
    assert payload_hash(a) == payload_hash(b)
    canonical = '{"a":["x",{"c":null,"d":"Ü"}],"b":1}'
    assert payload_hash(a) == hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    assert payload_hash(a) != payload_hash({**a, "b": 2})


# --- bad values: stored as they came, flagged ----------------------------------------------------


def first_member(payload: dict[str, Any]) -> dict[str, Any]:
    return payload[f.ANGGOTA][0]


def test_a_15_digit_nik_is_stored_and_flagged():
    payload = ppks_payload(1)
    first_member(payload)[f.NIK] = first_member(payload)[f.NIK][:15]
    mapped = map_submission("ppks", payload)
    assert mapped.persons[0]["nik"] == first_member(payload)[f.NIK]
    assert codes(mapped)["nik_format"] == ["keluarga/anggota[1]/nik"]


def test_a_date_that_is_not_a_date_is_stored_and_flagged():
    payload = ppks_payload(1)
    first_member(payload)[f.TANGGAL_LAHIR] = "31-02-1958"
    mapped = map_submission("ppks", payload)
    assert mapped.persons[0]["tanggal_lahir"] == "31-02-1958"
    assert mapped.persons[0]["tanggal_lahir_date"] is None
    assert codes(mapped)["tanggal_lahir_tidak_valid"] == ["keluarga/anggota[1]/tanggal_lahir"]


def test_unknown_desa_and_desa_outside_kecamatan():
    mapped = map_submission(
        "ppks", ppks_payload(1, kode_desa="61.07.01.2001", **{f.DESA: "61.07.99.2001"})
    )
    assert mapped.household["kode_desa"] == "61.07.99.2001"
    assert mapped.submission["kode_desa"] == "61.07.99.2001"
    assert "desa_tidak_dikenal" in codes(mapped)

    desa = wilayah.desa()["61.07.01.2001"]
    other = next(k for k in wilayah.kecamatan() if k != desa.kode_kecamatan)
    mapped = map_submission("ppks", ppks_payload(1, kode_desa=desa.kode, **{f.KECAMATAN: other}))
    assert (mapped.household["kode_kecamatan"], mapped.household["kode_desa"]) == (other, desa.kode)
    assert codes(mapped)["desa_luar_kecamatan"] == [f.DESA]


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        (12345, "12345"),
        (3.5, "3.5"),
        (["Jl.", "Raya"], '["Jl.", "Raya"]'),
        ({"jalan": "Raya"}, '{"jalan": "Raya"}'),
        (True, "true"),
    ],
)
def test_a_non_text_answer_is_stored_as_text_and_flagged(value, stored):
    mapped = map_submission("ppks", ppks_payload(1, **{f.ALAMAT: value}))
    assert mapped.household["alamat"] == stored
    assert codes(mapped)["bukan_teks"] == [f.ALAMAT]


def test_10_kb_of_text_is_kept_whole_and_flagged():
    long = "Jalan panjang sekali " * 500
    payload = ppks_payload(1)
    first_member(payload)[f.NAMA] = long
    mapped = map_submission("ppks", payload)
    assert mapped.persons[0]["nama"] == long
    assert codes(mapped)["teks_panjang"] == ["keluarga/anggota[1]/nama"]


def test_a_10_kb_desa_code_fits_no_filter_column_but_is_kept_in_the_household():
    mapped = map_submission("ppks", ppks_payload(1, **{f.DESA: "6" * 10_000}))
    assert mapped.household["kode_desa"] == "6" * 10_000
    assert mapped.submission["kode_desa"] is None
    assert "desa_tidak_dikenal" in codes(mapped)


def test_a_repeat_that_is_a_dict_is_read_as_one_member():
    payload = ppks_payload(1)
    payload[f.ANGGOTA] = first_member(payload)
    mapped = map_submission("ppks", payload)
    assert [p["nama"] for p in mapped.persons] == [payload[f.ANGGOTA][f.NAMA]]
    assert codes(mapped)["anggota_bukan_daftar"] == [f.ANGGOTA]


def test_repeat_items_that_are_not_objects_are_flagged_and_positions_kept():
    payload = ppks_payload(1)
    members = payload[f.ANGGOTA]
    payload[f.ANGGOTA] = [members[0], "rusak", members[1]]
    mapped = map_submission("ppks", payload)
    assert [(p["position"], p["nama"]) for p in mapped.persons] == [
        (1, members[0][f.NAMA]),
        (3, members[1][f.NAMA]),
    ]
    assert codes(mapped)["anggota_tidak_valid"] == ["keluarga/anggota[2]"]


@pytest.mark.parametrize("lokasi", ["abc def", "0.8", "95.0 109.5 0 5", "nan 109.5 0 5", ""])
def test_a_garbage_geopoint_keeps_no_coordinates_and_is_flagged(lokasi):
    mapped = map_submission("ppks", ppks_payload(1, **{f.LOKASI: lokasi}))
    h = mapped.household
    assert (h["latitude"], h["longitude"], h["gps_accuracy"]) == (None, None, None)
    assert codes(mapped)["lokasi_tidak_valid"] == [f.LOKASI]


def test_an_unknown_ppks_code_is_kept_and_flagged():
    payload = ppks_payload(1)
    first_member(payload)[f.KATEGORI_PPKS] = "lansia_telantar kode_baru_2027"
    mapped = map_submission("ppks", payload)
    assert mapped.persons[0]["kategori"] == ["lansia_telantar", "kode_baru_2027"]
    assert codes(mapped)["kategori_tidak_dikenal"] == ["keluarga/anggota[1]/kategori_ppks"]


def test_a_broken_age_rule_counts_age_on_the_visit_date():
    k = kategori.ppks()["lansia_telantar"]
    # Turns 60 the day after the visit: refused on the visit date, whatever today is.
    born = VISIT.replace(year=VISIT.year - k.usia_min) + dt.timedelta(days=1)
    payload = ppks_payload(1, members=[member("Tua", born=born, sex="L", kategori=k.kode)])
    assert codes(map_submission("ppks", payload))["kategori_usia"] == [
        "keluarga/anggota[1]/kategori_ppks"
    ]
    payload[f.TODAY] = (VISIT + dt.timedelta(days=1)).isoformat()
    assert "kategori_usia" not in codes(map_submission("ppks", payload))
    # Without the `today` answer, the submission date in Bengkayang (UTC+7) counts.
    del payload[f.TODAY]
    payload["_submission_time"] = f"{VISIT.isoformat()}T16:59:00"  # 23:59 WIB
    assert "kategori_usia" in codes(map_submission("ppks", payload))
    payload["_submission_time"] = f"{VISIT.isoformat()}T17:00:00"  # 00:00 WIB the next day
    assert "kategori_usia" not in codes(map_submission("ppks", payload))


def test_an_older_form_version_with_other_groups_maps_what_it_can():
    """Version 1 of the form had no groups and called the repeat `anggota`."""
    new = ppks_payload(1)
    old = {k: v for k, v in new.items() if k.startswith(("_", "meta/", "__"))}
    old.update(
        {
            "kecamatan": new[f.KECAMATAN],
            "desa": new[f.DESA],
            "no_kk": new[f.NO_KK],
            "persetujuan": "ya",
            "jumlah_ternak": "4",  # a question that no longer exists
            "anggota": [
                {f"anggota/{k.rsplit('/', 1)[-1]}": v for k, v in item.items()}
                for item in new[f.ANGGOTA]
            ],
        }
    )
    mapped = map_submission("ppks", old)
    assert mapped.household["no_kk"] == new[f.NO_KK]
    assert mapped.household["kode_desa"] == new[f.DESA]
    assert mapped.household["alamat"] is None  # not asked in that version
    assert [p["nik"] for p in mapped.persons] == [m[f.NIK] for m in new[f.ANGGOTA]]
    assert mapped.flags == []


def test_missing_consent_is_flagged():
    payload = ppks_payload(1)
    del payload[f.PERSETUJUAN]
    assert codes(map_submission("ppks", payload))["persetujuan_kosong"] == [f.PERSETUJUAN]


@pytest.mark.parametrize(("form", "payload"), [("ppks", ["not", "a", "dict"]), ("odk", {})])
def test_unknown_form_or_non_object_payload_is_flagged_not_raised(form, payload):
    mapped = map_submission(form, payload)
    assert mapped.flags and mapped.household is None and mapped.persons == []


# --- property: random corruption never raises and never loses a person's values -----------------

SYSTEM_PREFIXES = ("_", "meta/", "__version__", "formhub/")


def garbage(rng: random.Random) -> Any:
    choices = [
        lambda: rng.randint(-(10**20), 10**20),
        lambda: rng.random() * 10 ** rng.randint(-3, 30),
        lambda: float("nan"),
        lambda: rng.choice([True, False, None]),
        lambda: [rng.choice(["a", 1, None, {"x": []}]) for _ in range(rng.randint(0, 3))],
        lambda: {"nested": {"deeper": [1, "2"]}},
        lambda: "x" * rng.randint(0, 12_000),
        lambda: rng.choice(["", " ", "\t\n", "٣٣٣", '=HYPERLINK("x")', "\x00nul", "\ud800"]),
        lambda: "".join(chr(rng.randint(32, 0x2FFF)) for _ in range(rng.randint(1, 40))),
        lambda: make_nik()[: rng.randint(0, 17)],
        lambda: "2025-02-30",
        lambda: "61.07.01.2001",
    ]
    return rng.choice(choices)()


def corrupt(payload: dict[str, Any], rng: random.Random, *, system: bool) -> dict[str, Any]:
    p = copy.deepcopy(payload)
    for _ in range(rng.randint(1, 10)):
        keys = [k for k in p if system or not k.startswith(SYSTEM_PREFIXES)]
        members = p.get(f.ANGGOTA)
        action = rng.randrange(9)
        if action == 0 and keys:
            p[rng.choice(keys)] = garbage(rng)
        elif action == 1 and keys:
            del p[rng.choice(keys)]
        elif action == 2:
            p[f"ekstra/pertanyaan_{rng.randint(0, 99)}"] = garbage(rng)
        elif action in (3, 4) and isinstance(members, list) and members:
            item = rng.choice(members)
            if isinstance(item, dict) and item:
                key = rng.choice(list(item))
                if action == 3:
                    item[key] = garbage(rng)
                else:
                    del item[key]
        elif action == 5 and isinstance(members, list):
            members.insert(rng.randint(0, len(members)), garbage(rng))
        elif action == 6 and isinstance(members, list) and members:
            p[f.ANGGOTA] = members[0] if rng.random() < 0.5 else garbage(rng)
        elif action == 7 and isinstance(members, list):
            members.extend(copy.deepcopy(members[: rng.randint(0, 3)]))  # duplicate NIKs
        elif action == 8 and keys:
            key = rng.choice(keys)  # an older form version put the question elsewhere
            p["lama/" + key.rsplit("/", 1)[-1]] = p.pop(key)
    return p


def expected_text(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return "".join("\ufffd" if c == "\x00" or 0xD800 <= ord(c) <= 0xDFFF else c for c in value)


def expected_members(payload: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    members = payload.get(f.ANGGOTA)
    if members is None:
        old = [k for k in payload if k.rsplit("/", 1)[-1] == "anggota" and not k.startswith("_")]
        members = payload[old[0]] if len(old) == 1 else None
    if isinstance(members, dict):
        return [(1, members)]
    if not isinstance(members, list):
        return []
    return [(i, m) for i, m in enumerate(members, start=1) if isinstance(m, dict)]


def assert_persons_keep_their_values(payload: dict[str, Any], persons: list[dict]) -> None:
    wanted = expected_members(payload)
    assert [p["position"] for p in persons] == [pos for pos, _ in wanted]
    for row, (_pos, item) in zip(persons, wanted, strict=True):
        for column, path in PERSON_PATHS.items():
            assert row[column] == expected_text(item.get(path)), (column, item.get(path))


SEEDS = range(400)


@pytest.mark.parametrize("seed", SEEDS[:: len(SEEDS) // 8], ids=lambda s: f"seeds{s}+")
def test_random_corruption_never_raises_and_keeps_every_person_value(seed):
    for s in range(seed, seed + len(SEEDS) // 8):
        rng = random.Random(s)
        form = rng.choice(["ppks", "ppks", "psks"])
        base = ppks_payload(s + 1) if form == "ppks" else psks_payload(s + 1)
        payload = corrupt(base, rng, system=True)
        mapped = map_submission(form, payload)
        assert "pemetaan_gagal" not in codes(mapped), s
        assert all(x.severity in ("blokir", "peringatan") for x in mapped.flags)
        assert all(isinstance(x.field, str) and x.message for x in mapped.flags)
        if form == "ppks":
            assert set(mapped.household) == set(HOUSEHOLD_COLUMNS)
            assert_persons_keep_their_values(payload, mapped.persons)
            niks = [p["nik"] for p in mapped.persons if p["nik"] and len(p["nik"]) == 16]
            assert not any(n in x.message for n in niks for x in mapped.flags)
        else:
            assert set(mapped.psks_entry) == set(PSKS_COLUMNS)
        assert set(system_fields(payload)) == set(system_fields(base))


def test_corrupted_submissions_are_stored_and_read_back_whole(database_url):
    """What the mapping produces fits the real columns on SQLite and PostgreSQL."""
    stored: dict[int, dict[str, Any]] = {}
    with session_scope(database_url) as session:
        for s in range(60):
            rng = random.Random(10_000 + s)
            payload = corrupt(ppks_payload(s + 1), rng, system=False)
            # As it would arrive over HTTP: JSON has no NaN (PostgreSQL's json type refuses it).
            payload = json.loads(json.dumps(payload), parse_constant=lambda _name: None)
            stored[s + 1] = payload
            store(session, "ppks", payload)
    with session_scope(database_url) as session:
        for kobo_id, payload in stored.items():
            sub = session.scalars(select(Submission).where(Submission.kobo_id == kobo_id)).one()
            persons = [{c: getattr(p, c) for c in PERSON_COLUMNS} for p in sub.household.persons]
            assert_persons_keep_their_values(payload, persons)
            mapped = map_submission("ppks", payload)
            assert sorted((x.field, x.code) for x in sub.flags) == sorted(
                (x.field, x.code) for x in mapped.flags
            )


def test_a_known_desa_decides_the_kecamatan_used_for_scoping():
    """A household in desa 61.07.01.2001 (Sungai Raya) whose kecamatan was answered wrongly is
    still scoped to Sungai Raya's verifier, and the mismatch is flagged."""
    from harvester.mapping import map_submission
    from surveys import paths as ff

    payload = {
        "_id": 1,
        "_uuid": "u1",
        ff.KECAMATAN: "61.07.02",
        ff.DESA: "61.07.01.2001",
        ff.ANGGOTA: [],
    }
    mapped = map_submission("ppks", payload)
    assert mapped.submission["kode_kecamatan"] == "61.07.01"
    assert mapped.household["kode_kecamatan"] == "61.07.02"  # as it came
    assert any(fl.code == "desa_luar_kecamatan" for fl in mapped.flags)
