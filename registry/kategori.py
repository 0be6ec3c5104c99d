"""The 26 PPKS and 12 PSKS categories, loaded once from data/*.csv (kept as data, not enums)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class PpksKategori:
    kode: str
    no_urut: int
    singkatan: str
    nama: str
    nama_en: str  # data/kategori_nama_en.csv (the form's English labels)
    unit_subjek: str  # perorangan, keluarga, kelompok, perorangan_atau_keluarga
    usia_min: int | None
    usia_maks_eksklusif: int | None
    jenis_kelamin: str | None  # "L", "P" or None for both
    catatan_validasi: str
    verifikasi: str

    def age_ok(self, umur: int) -> bool:
        if self.usia_min is not None and umur < self.usia_min:
            return False
        return not (self.usia_maks_eksklusif is not None and umur >= self.usia_maks_eksklusif)


@dataclass(frozen=True)
class PsksKategori:
    kode: str
    no_urut: int
    singkatan: str
    nama: str
    nama_en: str  # data/kategori_nama_en.csv (the form's English labels)
    jenis_subjek: str  # perorangan, keluarga, lembaga, badan_usaha
    verifikasi: str


def _read(name: str) -> list[dict[str, str]]:
    text = resources.files("registry.data").joinpath(name).read_text("utf-8")
    return list(csv.DictReader(text.splitlines()))


@cache
def _names_en() -> dict[str, str]:
    return {r["kode"]: r["nama_en"] for r in _read("kategori_nama_en.csv")}


def _int(value: str) -> int | None:
    return int(value) if value.strip() else None


@cache
def ppks() -> dict[str, PpksKategori]:
    rows = _read("ppks_kategori.csv")
    return {
        r["kode"]: PpksKategori(
            kode=r["kode"],
            no_urut=int(r["no_urut"]),
            singkatan=r["singkatan"],
            nama=r["nama_resmi"],
            nama_en=_names_en()[r["kode"]],
            unit_subjek=r["unit_subjek"],
            usia_min=_int(r["usia_min"]),
            usia_maks_eksklusif=_int(r["usia_maks_eksklusif"]),
            jenis_kelamin=r["jenis_kelamin"] or None,
            catatan_validasi=r["catatan_validasi"],
            verifikasi=r["verifikasi"],
        )
        for r in sorted(rows, key=lambda r: int(r["no_urut"]))
    }


@cache
def psks() -> dict[str, PsksKategori]:
    rows = _read("psks_kategori.csv")
    return {
        r["kode"]: PsksKategori(
            kode=r["kode"],
            no_urut=int(r["no_urut"]),
            singkatan=r["singkatan"],
            nama=r["nama_resmi"],
            nama_en=_names_en()[r["kode"]],
            jenis_subjek=r["jenis_subjek"],
            verifikasi=r["verifikasi"],
        )
        for r in sorted(rows, key=lambda r: int(r["no_urut"]))
    }
