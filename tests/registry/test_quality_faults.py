"""Every fault planted once in a clean household gets its code and severity; clean households
raise no `blokir`. The faults are what a device, an API client or an older form version can send
(Kobo stores whatever arrives: a form constraint is not a server check)."""

from __future__ import annotations

import datetime as dt
import random
import re
from collections.abc import Callable
from typing import Any

import pytest

from harvester.mapping import map_submission
from registry.quality import CODES
from surveys import paths as f
from tests.registry.factories import (
    make_nik,
    make_no_kk,
    ppks_payload,
    psks_payload,
    random_household,
)

Payload = dict[str, Any]


def members(payload: Payload) -> list[dict[str, Any]]:
    return payload[f.ANGGOTA]


def on_member(position: int, **answers: Any) -> Callable[[Payload], None]:
    def plant(payload: Payload) -> None:
        members(payload)[position - 1].update(answers)

    return plant


def answer(**by_name: Any) -> Callable[[Payload], None]:
    paths = {
        "luas": f.RUMAH_LUAS_LANTAI,
        "jumlah": f.JUMLAH_ANGGOTA,
        "lokasi": f.LOKASI,
        "desa": f.DESA,
        "kecamatan": f.KECAMATAN,
        "persetujuan": f.PERSETUJUAN,
        "no_kk": f.NO_KK,
    }

    def plant(payload: Payload) -> None:
        for name, value in by_name.items():
            if value is None:
                payload.pop(paths[name], None)
            else:
                payload[paths[name]] = value

    return plant


def child_aged(years: int, **answers: Any) -> Callable[[Payload], None]:
    """Member 3 (Petrus) made `years` old at the visit, with a NIK that matches."""
    born = dt.date(2025 - years, 1, 5)
    return on_member(
        3,
        **{
            f.TANGGAL_LAHIR: born.isoformat(),
            f.NIK: make_nik("610701", born, "L", 3),
            f.KATEGORI_PPKS: "",
            **answers,
        },
    )


def second_head(payload: Payload) -> None:
    members(payload)[1][f.HUBUNGAN] = "kepala_keluarga"


def nik_of_member_1(payload: Payload) -> None:
    members(payload)[1][f.NIK] = members(payload)[0][f.NIK]


def no_members(payload: Payload) -> None:
    payload[f.ANGGOTA] = []


# (code, severity, where it is planted, a member position or None)
FAULTS: list[tuple[str, str, Callable[[Payload], None], int | None]] = [
    ("persetujuan_kosong", "blokir", answer(persetujuan=None), None),
    ("persetujuan_ditolak", "blokir", answer(persetujuan="tidak"), None),
    ("desa_tidak_dikenal", "blokir", answer(desa="61.07.99.9999"), None),
    ("desa_luar_kecamatan", "blokir", answer(desa="61.07.02.2001"), None),
    ("kecamatan_tidak_dikenal", "blokir", answer(kecamatan="61.07.99"), None),
    ("lokasi_kosong", "peringatan", answer(lokasi=None), None),
    ("lokasi_tidak_valid", "peringatan", answer(lokasi="di depan gereja"), None),
    ("lokasi_luar_bengkayang", "peringatan", answer(lokasi="-0.0263 109.3425 40 5"), None),
    ("kk_format", "blokir", answer(no_kk="61070102"), None),
    ("kk_provinsi", "blokir", answer(no_kk="0007010203150001"), None),
    ("kk_luar_kecamatan", "peringatan", answer(no_kk=make_no_kk("610705")), None),
    ("kk_luar_bengkayang", "peringatan", answer(no_kk=make_no_kk("610205")), None),
    ("nik_format", "blokir", on_member(2, **{f.NIK: "6107014307"}), 2),
    ("nik_palsu", "blokir", on_member(2, **{f.NIK: "1111111111111111"}), 2),
    ("nik_bulan", "blokir", on_member(2, **{f.NIK: "6107014313620002"}), 2),
    ("nik_jenis_kelamin", "peringatan", on_member(2, **{f.JENIS_KELAMIN: "L"}), 2),
    ("nik_tanggal_lahir", "peringatan", on_member(2, **{f.TANGGAL_LAHIR: "1962-07-04"}), 2),
    (
        "nik_luar_kecamatan",
        "peringatan",
        on_member(2, **{f.NIK: make_nik("610705", dt.date(1962, 7, 3), "P", 2)}),
        2,
    ),
    (
        "nik_luar_bengkayang",
        "peringatan",
        on_member(2, **{f.NIK: make_nik("610205", dt.date(1962, 7, 3), "P", 2)}),
        2,
    ),
    ("nik_ganda", "blokir", nik_of_member_1, 2),
    (
        "nik_tindak_lanjut",
        "peringatan",
        on_member(2, **{f.NIK: "", f.STATUS_NIK: "belum_punya", f.ALASAN_TANPA_NIK: "belum_rekam"}),
        2,
    ),
    ("kepala_keluarga", "blokir", second_head, None),
    ("anggota_kosong", "blokir", no_members, None),
    ("jumlah_anggota_tidak_sesuai", "peringatan", answer(jumlah="5"), None),
    ("jumlah_anggota_tidak_wajar", "blokir", answer(jumlah="45"), None),
    ("luas_lantai_tidak_wajar", "blokir", answer(luas="1700000"), None),
    ("nama_kosong", "blokir", on_member(2, **{f.NAMA: ""}), 2),
    ("jenis_kelamin_tidak_valid", "blokir", on_member(2, **{f.JENIS_KELAMIN: "X"}), 2),
    ("tanggal_lahir_tidak_valid", "blokir", on_member(2, **{f.TANGGAL_LAHIR: "3 Juli"}), 2),
    ("tanggal_lahir_masa_depan", "blokir", on_member(2, **{f.TANGGAL_LAHIR: "2031-07-03"}), 2),
    ("tanggal_lahir_tidak_wajar", "blokir", on_member(2, **{f.TANGGAL_LAHIR: "1890-07-03"}), 2),
    ("umur_hubungan", "blokir", child_aged(5, **{f.HUBUNGAN: "suami"}), 3),
    ("umur_perkawinan", "blokir", child_aged(5, **{f.STATUS_PERKAWINAN: "cerai_hidup"}), 3),
    ("umur_pekerjaan", "blokir", child_aged(5, **{f.PEKERJAAN: "petani_pekebun"}), 3),
    ("kategori_tidak_dikenal", "blokir", on_member(2, **{f.KATEGORI_PPKS: "miskin"}), 2),
    ("kategori_usia", "blokir", on_member(2, **{f.KATEGORI_PPKS: "anak_balita_telantar"}), 2),
    (
        "kategori_usia_batas",
        "peringatan",
        child_aged(18, **{f.KATEGORI_PPKS: "anak_telantar"}),
        3,
    ),
    (
        "kategori_jenis_kelamin",
        "blokir",
        on_member(1, **{f.KATEGORI_PPKS: "perempuan_rawan_sosial_ekonomi"}),
        1,
    ),
]


def test_every_planted_code_is_a_known_code_with_that_severity():
    for code, severity, _plant, _position in FAULTS:
        assert CODES[code][0] == severity, code


def test_the_clean_household_raises_nothing():
    assert map_submission("ppks", clean()).flags == []


def clean() -> Payload:
    payload = ppks_payload(4101, **{f.JUMLAH_ANGGOTA: "3", f.RUMAH_LUAS_LANTAI: "48.5"})
    for item in members(payload):
        item[f.STATUS_PERKAWINAN] = "belum_kawin"
        item[f.PEKERJAAN] = "belum_tidak_bekerja"
    for item in members(payload)[:2]:
        item[f.STATUS_PERKAWINAN] = "kawin_tercatat"
        item[f.PEKERJAAN] = "petani_pekebun"
    return payload


@pytest.mark.parametrize(("code", "severity", "plant", "position"), FAULTS, ids=lambda v: v)
def test_a_planted_fault_gets_its_code_and_severity(code, severity, plant, position):
    payload = clean()
    plant(payload)
    flags = [x for x in map_submission("ppks", payload).flags if x.code == code]
    assert flags, f"{code} not raised"
    flag = flags[0]
    assert flag.severity == severity
    assert flag.position == position
    niks = [m.get(f.NIK) or "" for m in members(payload)] + [payload.get(f.NO_KK) or ""]
    for text in (flag.message, flag.message_en):
        assert text
        assert not any(n and len(n) >= 8 and n in text for n in niks)  # never a NIK or No KK
        assert not re.search(r"[0-9]{16}", text)
    if position is not None:
        nama = members(payload)[position - 1][f.NAMA] or "tanpa nama"
        assert flag.message.startswith(f"Anggota ke-{position} ({nama}): ")
        assert flag.message_en.startswith(f"Member {position} (")
        assert f.ANGGOTA not in flag.message  # named, not a data path


def test_a_psks_entry_without_gps_or_outside_bengkayang_is_a_warning():
    gone = map_submission("psks", psks_payload(5, **{f.LOKASI: None}))
    assert [(x.code, x.severity) for x in gone.flags] == [("lokasi_kosong", "peringatan")]
    away = map_submission("psks", psks_payload(6, **{f.LOKASI: "1.1 112.5 0 5"}))
    assert [x.code for x in away.flags] == ["lokasi_luar_bengkayang"]


def test_clean_control_households_raise_no_blokir():
    rng = random.Random(2026)
    blocked = []
    for kobo_id in range(1, 401):
        payload = random_household(rng, kobo_id)
        for item in members(payload):
            age = int(item[f.UMUR])
            item[f.STATUS_PERKAWINAN] = "belum_kawin" if age < 15 else "kawin_tercatat"
            item[f.PEKERJAAN] = "pelajar_mahasiswa" if age < 15 else "petani_pekebun"
            if age < 15 and item[f.HUBUNGAN] == "kepala_keluarga":
                item[f.HUBUNGAN] = "anak"
        if int(members(payload)[0][f.UMUR]) < 15:
            continue  # no adult to head this random family: not a clean household
        blocked += [x for x in map_submission("ppks", payload).flags if x.severity == "blokir"]
    assert blocked == []


def test_the_servers_bounds_are_the_forms():
    """The registry re-checks the PPKS form's own bounds, so both must say the same."""
    from pathlib import Path

    import openpyxl

    from registry.quality import ANGGOTA_MAKS, LUAS_LANTAI_MAKS_M2

    sheet = openpyxl.load_workbook(Path("xlsforms/ppks.xlsx"), read_only=True)["survey"]
    rows = sheet.iter_rows(values_only=True)
    header = list(next(rows))
    constraint = {r[1]: r[header.index("constraint")] for r in rows if r[1]}
    assert constraint["jumlah_anggota"] == f". >= 1 and . <= {ANGGOTA_MAKS}"
    assert constraint["luas_lantai"] == f". > 0 and . <= {LUAS_LANTAI_MAKS_M2:.0f}"
