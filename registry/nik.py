"""NIK and No KK structure checks (DOMAIN.md §4): pure functions, no database.

Both numbers are 16 digits `PP KK CC DDMMYY SSSS`. For a NIK the date is the birth date (women: day
+ 40); for a No KK it is the date the card was recorded. `blokir` findings mean the number cannot
be right; `peringatan` ones mean it disagrees with other answers (Dukcapil never corrects a NIK, so
a wrong embedded date is real life). Messages are for reviewers and never contain the number itself.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from registry.severity import Severity

BLOKIR, PERINGATAN = Severity.BLOKIR, Severity.PERINGATAN

# Kemendagri province codes (Permendagri 72/2019 plus the 2022 Papua provinces); the forms' NIK and
# No KK constraints are built from the same ranges (xlsforms/rules.py).
PROVINCE_RANGES = ((11, 19), (21, 21), (31, 36), (51, 53), (61, 65), (71, 76), (81, 82), (91, 96))
PROVINCE_CODES = frozenset(code for lo, hi in PROVINCE_RANGES for code in range(lo, hi + 1))
PREFIX_BENGKAYANG = "6107"
FEMALE_DAY_OFFSET = 40

_SEPARATORS = re.compile(r"[\s.\-]")
_SIXTEEN_DIGITS = re.compile(r"[0-9]{16}")  # explicit ASCII class: str.isdigit() accepts '٣'
_SEQUENCES = "01234567890123456789"
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_LABEL = {"nik": "NIK", "kk": "No KK"}


@dataclass(frozen=True)
class Finding:
    code: str
    message: str  # Bahasa Indonesia, for reviewers; never contains the number
    severity: Severity = BLOKIR


def normalise(value: Any) -> str:
    """The number without the spaces, dots and dashes people type into it."""
    if type(value) is str:
        if value.isascii() and value.isdigit():
            return value  # the common case: nothing to take out
        return _SEPARATORS.sub("", value)
    if value is None:
        return ""
    return _SEPARATORS.sub("", str(value))


def _is_obvious_fake(digits: str) -> bool:
    if digits == digits[0] * len(digits):  # one digit repeated
        return True
    return digits in _SEQUENCES or digits in _SEQUENCES[::-1]


@functools.cache  # at most 31 x 12 x 100 keys; every NIK and No KK asks
def _candidate_dates(day: int, month: int, yy: int) -> tuple[dt.date, ...]:
    """The real calendar dates DD-MM-(19|20)YY can be, newest first (29-02 depends on century)."""
    out = []
    for century in (2000, 1900):
        try:
            out.append(dt.date(century + yy, month, day))
        except ValueError:
            continue
    return tuple(out)


def _pick_century(
    candidates: tuple[dt.date, ...], today: dt.date, hint: dt.date | None
) -> dt.date | None:
    """Resolve YY: the century of the entered date if it matches, else not in the future."""
    if not candidates:
        return None
    if hint is not None:
        for c in candidates:
            if c.year == hint.year:
                return c
    for c in candidates:  # newest first
        if c <= today:
            return c
    return candidates[-1]


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value.strip()):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def _structure(digits: str, label: str, *, birth: bool) -> list[Finding]:
    """The hard errors shared by NIK and No KK, for a string of 16 ASCII digits."""
    found: list[Finding] = []
    if int(digits[0:2]) not in PROVINCE_CODES:
        found.append(
            Finding(f"{label}_provinsi", f"Kode provinsi pada {_LABEL[label]} tidak dikenal.")
        )
    if digits[2:4] == "00" or digits[4:6] == "00":
        found.append(
            Finding(
                f"{label}_wilayah",
                f"Kode kabupaten/kecamatan pada {_LABEL[label]} tidak boleh 00.",
            )
        )
    day, month, yy = int(digits[6:8]), int(digits[8:10]), int(digits[10:12])
    day_ok = 1 <= day <= 31 or (birth and 41 <= day <= 71)
    if not day_ok:
        found.append(
            Finding(f"{label}_hari", f"Angka tanggal (digit 7-8) pada {_LABEL[label]} tidak sah.")
        )
    if not 1 <= month <= 12:
        found.append(
            Finding(f"{label}_bulan", f"Angka bulan (digit 9-10) pada {_LABEL[label]} tidak sah.")
        )
    if day_ok and 1 <= month <= 12:
        real_day = day - FEMALE_DAY_OFFSET if day > FEMALE_DAY_OFFSET else day
        if not _candidate_dates(real_day, month, yy):
            found.append(
                Finding(
                    f"{label}_tanggal",
                    f"Tanggal (digit 7-12) pada {_LABEL[label]} bukan tanggal yang ada.",
                )
            )
    if digits[12:16] == "0000":
        found.append(
            Finding(
                f"{label}_seri", f"Nomor urut (4 digit terakhir) {_LABEL[label]} tidak boleh 0000."
            )
        )
    return found


def _shape(value: Any, label: str) -> tuple[str | None, list[Finding]]:
    """Normalised digits, or None with the one finding that says why it is not a number at all."""
    digits = normalise(value)
    name = _LABEL[label]
    if not digits:
        return None, [Finding(f"{label}_kosong", f"{name} tidak diisi.")]
    if not _SIXTEEN_DIGITS.fullmatch(digits):
        return None, [
            Finding(f"{label}_format", f"{name} harus 16 angka (tercatat {len(digits)} karakter).")
        ]
    if _is_obvious_fake(digits):
        return None, [
            Finding(
                f"{label}_palsu", f"{name} berupa angka berulang atau berurutan; bukan {name} asli."
            )
        ]
    return digits, []


def valid_nik(value: Any) -> str | None:
    """The NIK's 16 digits when its structure holds (what may identify one person across the
    registry), else None: a missing, malformed or impossible NIK identifies nobody."""
    digits, _ = _shape(value, "nik")
    if digits is None or _structure(digits, "nik", birth=True):
        return None
    return digits


def decode_nik(
    value: Any, *, tanggal_lahir: Any = None, today: dt.date | None = None
) -> tuple[dt.date, str] | None:
    """(birth date, "L"|"P") encoded in a NIK, or None when it holds no real date.

    The two-digit year takes the century of `tanggal_lahir` when that matches, otherwise the
    newest century that is not in the future.
    """
    digits = normalise(value)
    if not _SIXTEEN_DIGITS.fullmatch(digits):
        return None
    return _decode(digits, _as_date(tanggal_lahir), today)


def _decode(
    digits: str, entered: dt.date | None, today: dt.date | None
) -> tuple[dt.date, str] | None:
    """decode_nik() of 16 ASCII digits, with the entered birth date already read."""
    day, month, yy = int(digits[6:8]), int(digits[8:10]), int(digits[10:12])
    sex = "P" if day > FEMALE_DAY_OFFSET else "L"
    if day > FEMALE_DAY_OFFSET:
        day -= FEMALE_DAY_OFFSET
    candidates = _candidate_dates(day, month, yy) if 1 <= month <= 12 and day >= 1 else ()
    born = _pick_century(candidates, today or dt.date.today(), entered)
    return (born, sex) if born else None


def check_nik(
    value: Any,
    *,
    jenis_kelamin: Any = None,
    tanggal_lahir: Any = None,
    today: dt.date | None = None,
) -> list[Finding]:
    """Findings on one NIK; empty when it looks right. Warnings compare it with other answers."""
    digits, found = _shape(value, "nik")
    if digits is None:
        return found
    found = _structure(digits, "nik", birth=True)
    if any(f.severity == BLOKIR for f in found):
        return found
    entered = _as_date(tanggal_lahir)
    decoded = _decode(digits, entered, today)
    if decoded is not None:
        born, sex = decoded
        jk = str(jenis_kelamin).strip().upper() if jenis_kelamin is not None else ""
        if jk in ("L", "P") and jk != sex:
            found.append(
                Finding(
                    "nik_jenis_kelamin",
                    "Jenis kelamin pada NIK (tanggal +40 untuk perempuan) berbeda dengan "
                    "jenis kelamin yang diisi.",
                    PERINGATAN,
                )
            )
        if entered is not None and entered != born:
            found.append(
                Finding(
                    "nik_tanggal_lahir",
                    "Tanggal lahir pada NIK berbeda dengan tanggal lahir yang diisi.",
                    PERINGATAN,
                )
            )
    if not digits.startswith(PREFIX_BENGKAYANG):
        found.append(
            Finding(
                "nik_luar_bengkayang",
                "NIK tidak diawali 6107 (Bengkayang); periksa apakah penduduk pindahan.",
                PERINGATAN,
            )
        )
    return found


def region_of(digits: str) -> str:
    """The Kemendagri kecamatan code (`61.07.01`) of a NIK's or No KK's first six digits."""
    return f"{digits[0:2]}.{digits[2:4]}.{digits[4:6]}"


def check_no_kk(value: Any, *, niks: Iterable[Any] = ()) -> list[Finding]:
    """Findings on one No KK; `niks` are the members' NIKs (a No KK is never one of them).

    The recording date has no +40 and a two-digit year, so "not in the future" always holds for
    one of the two centuries: only a date that exists in neither is an error.
    """
    digits, found = _shape(value, "kk")
    if digits is None:
        return found
    found = _structure(digits, "kk", birth=False)
    if digits in {normalise(n) for n in niks}:
        found.append(Finding("kk_sama_nik", "No KK sama dengan NIK anggota keluarga."))
    if not digits.startswith(PREFIX_BENGKAYANG):
        found.append(
            Finding(
                "kk_luar_bengkayang",
                "No KK tidak diawali 6107 (Bengkayang); periksa apakah KK diterbitkan di luar "
                "Bengkayang.",
                PERINGATAN,
            )
        )
    return found
