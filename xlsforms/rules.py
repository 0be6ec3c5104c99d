"""XPath the build writes into the forms, generated from the reference data (one source of truth).

A form designer places a marker such as ``{{aturan_kategori_ppks}}`` in a survey cell; the build
replaces it with the expression below. The markers keep the rules of ppks_kategori.csv,
psks_kategori.csv and DOMAIN.md §4 in code, not copied by hand into 26 rows of a spreadsheet.
"""

from __future__ import annotations

from collections.abc import Callable

from registry import kategori

# Kemendagri province codes (DOMAIN.md §4.1): Permendagri 72/2019 plus the 2022 Papua provinces.
PROVINCE_RANGES = ((11, 19), (21, 21), (31, 36), (51, 53), (61, 65), (71, 76), (81, 82), (91, 96))
ADULT_AGE = 18  # UU 35/2014: a child is under 18

_NOT_00 = "(0[1-9]|[1-9][0-9])"
_MONTH = "(0[1-9]|1[0-2])"
_DAY = "(0[1-9]|[12][0-9]|3[01])"
_DAY_FEMALE = "(4[1-9]|[56][0-9]|7[01])"  # women: day of birth + 40
_SERIAL = "(000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})"  # never 0000


def _provinces() -> str:
    codes = [str(c) for lo, hi in PROVINCE_RANGES for c in range(lo, hi + 1)]
    return "(" + "|".join(codes) + ")"


def regex_nik() -> str:
    """NIK: PP KK CC DDMMYY SSSS, day 01-31 (men) or 41-71 (women)."""
    day = f"({_DAY}|{_DAY_FEMALE})"
    return f"^{_provinces()}{_NOT_00}{_NOT_00}{day}{_MONTH}[0-9]{{2}}{_SERIAL}$"


def regex_no_kk() -> str:
    """No KK: PP KK CC DDMMYY SSSS where DDMMYY is the date the card was recorded (no +40)."""
    return f"^{_provinces()}{_NOT_00}{_NOT_00}{_DAY}{_MONTH}[0-9]{{2}}{_SERIAL}$"


def _literal(text: str) -> str:
    if "'" in text:
        raise ValueError(f"cannot quote {text!r} as an XPath literal")
    return f"'{text}'"


def _age_sex_conditions(k: kategori.PpksKategori) -> list[str]:
    conds = []
    if k.usia_min is not None:
        conds.append(f"${{umur}} >= {k.usia_min}")
    if k.usia_maks_eksklusif is not None:
        conds.append(f"${{umur}} < {k.usia_maks_eksklusif}")
    if k.jenis_kelamin:
        conds.append(f"${{jenis_kelamin}} = {_literal(k.jenis_kelamin)}")
    return conds


def aturan_kategori_ppks() -> str:
    """Constraint on `kategori_ppks`: each chosen code meets its age/sex rule; family-unit codes
    sit on the head of household only (so a household is counted once)."""
    clauses = []
    for k in kategori.ppks().values():
        conds = _age_sex_conditions(k)
        if k.unit_subjek == "keluarga":
            conds.append("${hubungan} = 'kepala_keluarga'")
        if conds:
            clauses.append(f"(not(selected(., {_literal(k.kode)})) or ({' and '.join(conds)}))")
    return " and ".join(clauses) if clauses else "true()"


def _rule_text(k: kategori.PpksKategori, en: bool) -> str | None:
    lo, hi = k.usia_min, k.usia_maks_eksklusif
    yrs = "yrs" if en else "th"
    if lo is not None and hi is not None:
        age = f"{lo}-{hi - 1} {yrs}"
    elif lo is not None:
        age = f"{lo} {yrs} or older" if en else f"{lo} th ke atas"
    elif hi is not None:
        age = f"under {hi} {yrs}" if en else f"di bawah {hi} th"
    else:
        age = ""
    sex = ""
    if k.jenis_kelamin:
        sex = {"P": "women" if en else "perempuan", "L": "men" if en else "laki-laki"}[
            k.jenis_kelamin
        ]
    text = " ".join(part for part in (sex, age) if part)
    return f"{k.singkatan} {text}" if text else None


def _pesan(en: bool) -> str:
    rules = [t for k in kategori.ppks().values() if (t := _rule_text(k, en))]
    family = [k.singkatan for k in kategori.ppks().values() if k.unit_subjek == "keluarga"]
    if en:
        head = "Category does not fit the age or sex: " + "; ".join(rules) + "."
        tail = f" {' and '.join(family)} go on the head of household." if family else ""
    else:
        head = "Kategori tidak sesuai umur atau jenis kelamin: " + "; ".join(rules) + "."
        tail = f" {' dan '.join(family)} dicatat pada kepala keluarga." if family else ""
    return head + tail


def peringatan_usia_kategori_ppks() -> str:
    """Relevant of the age-18 warning: a child category whose range reaches past 17 (AT, AMPK)."""
    clauses = [
        f"(selected(${{kategori_ppks}}, {_literal(k.kode)}) and ${{umur}} >= {ADULT_AGE})"
        for k in kategori.ppks().values()
        if k.usia_maks_eksklusif is not None
        and k.usia_maks_eksklusif > ADULT_AGE
        and (k.usia_min or 0) < ADULT_AGE
    ]
    return " or ".join(clauses) if clauses else "false()"


def jenis_subjek_psks() -> str:
    """Calculate of `jenis_subjek`: the subject type of the chosen PSKS category."""
    by_type: dict[str, list[str]] = {}
    for k in kategori.psks().values():
        by_type.setdefault(k.jenis_subjek, []).append(k.kode)
    expr = "''"
    for jenis, codes in reversed(list(by_type.items())):
        member = f"selected({_literal(' '.join(codes))}, ${{kategori_psks}})"
        expr = f"if({member}, {_literal(jenis)}, {expr})"
    return expr


# Marker name -> the text that replaces {{marker}} in a survey or settings cell.
MARKERS: dict[str, Callable[[], str]] = {
    "regex_nik": lambda: _literal(regex_nik()),
    "regex_no_kk": lambda: _literal(regex_no_kk()),
    "aturan_kategori_ppks": aturan_kategori_ppks,
    "pesan_aturan_kategori_ppks": lambda: _pesan(en=False),
    "pesan_aturan_kategori_ppks_en": lambda: _pesan(en=True),
    "peringatan_usia_kategori_ppks": peringatan_usia_kategori_ppks,
    "jenis_subjek_psks": jenis_subjek_psks,
}
