"""Kemendagri wilayah of Kabupaten Bengkayang (61.07), loaded once from data/wilayah_bengkayang.csv.

Codes are text with dots (``61.07.01``, ``61.07.01.2001``); names are never keys, since two desa
share a name and eight share their kecamatan's.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from functools import cache
from importlib import resources

KODE_KABUPATEN = "61.07"
NAMA_KABUPATEN = "Kabupaten Bengkayang"
# Bengkayang's clock (Asia/Pontianak): UTC+7, no daylight saving. Days typed in filters and ages on
# a visit date are WIB days.
WIB = dt.timezone(dt.timedelta(hours=7), "WIB")
TIMEZONE = "Asia/Pontianak"  # the same clock by its tz database name, for those that want one


@dataclass(frozen=True)
class Kecamatan:
    kode: str
    nama: str


@dataclass(frozen=True)
class Desa:
    kode: str
    nama: str
    jenis: str  # "desa" or "kelurahan"
    kode_kecamatan: str


def _rows() -> list[dict[str, str]]:
    text = resources.files("registry.data").joinpath("wilayah_bengkayang.csv").read_text("utf-8")
    return list(csv.DictReader(text.splitlines()))


@cache
def kecamatan() -> dict[str, Kecamatan]:
    """All 17 kecamatan by code, in code order."""
    out: dict[str, Kecamatan] = {}
    for row in _rows():
        out.setdefault(
            row["kode_kecamatan"], Kecamatan(row["kode_kecamatan"], row["nama_kecamatan"])
        )
    return dict(sorted(out.items()))


@cache
def desa() -> dict[str, Desa]:
    """All 124 desa and kelurahan by code, in code order."""
    out = {
        row["kode_desa"]: Desa(
            row["kode_desa"], row["nama_desa"], row["jenis"], row["kode_kecamatan"]
        )
        for row in _rows()
    }
    return dict(sorted(out.items()))


def desa_in(kode_kecamatan: str) -> list[Desa]:
    return [d for d in desa().values() if d.kode_kecamatan == kode_kecamatan]


def kecamatan_of(kode_desa: str) -> Kecamatan | None:
    d = desa().get(kode_desa)
    return kecamatan().get(d.kode_kecamatan) if d else None


def is_kecamatan(kode: str) -> bool:
    return kode in kecamatan()


def is_desa(kode: str) -> bool:
    return kode in desa()


def contains(wilayah: str, kode_desa: str | None) -> bool:
    """True when desa `kode_desa` lies inside `wilayah` (a kabupaten, kecamatan or desa code)."""
    if not kode_desa:
        return False
    return kode_desa == wilayah or kode_desa.startswith(wilayah + ".")
