"""XPath the build writes into the forms, generated from the reference data (one source of truth).

A form designer places a marker such as ``{{aturan_kategori_ppks}}`` in a survey cell; the build
replaces it with the expression below. The markers keep the rules of ppks_kategori.csv,
psks_kategori.csv and DOMAIN.md §4 in code, not copied by hand into 26 rows of a spreadsheet.
"""

from __future__ import annotations

from collections.abc import Callable

from registry import kategori
from registry.nik import PROVINCE_RANGES  # Kemendagri province codes (DOMAIN.md §4.1)
from registry.quality import UMUR_ANAK_DIBATASI

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


def _category_conditions(k: kategori.PpksKategori) -> list[str]:
    """What a member with category `k` must meet: its age and sex, and the head for a family."""
    conds = _age_sex_conditions(k)
    if k.unit_subjek == "keluarga":
        conds.append("${hubungan} = 'kepala_keluarga'")
    return conds


def aturan_kategori_ppks() -> str:
    """Constraint on `kategori_ppks`: each chosen code meets its age/sex rule; family-unit codes
    sit on the head of household only (so a household is counted once)."""
    clauses = []
    for k in kategori.ppks().values():
        conds = _category_conditions(k)
        if conds:
            clauses.append(f"(not(selected(., {_literal(k.kode)})) or ({' and '.join(conds)}))")
    return " and ".join(clauses) if clauses else "true()"


def _rule_text(k: kategori.PpksKategori, en: bool) -> str:
    """What one category's rule asks for, short: 'PRSE: only women 18-59 years.'"""
    lo, hi = k.usia_min, k.usia_maks_eksklusif
    yrs = "years" if en else "tahun"
    if lo is not None and hi is not None:
        age = f"{lo}-{hi - 1} {yrs}"
    elif lo is not None:
        age = f"{lo} {yrs} or older" if en else f"{lo} tahun ke atas"
    elif hi is not None:
        age = f"under {hi} {yrs}" if en else f"di bawah {hi} tahun"
    else:
        age = ""
    sex = ""
    if k.jenis_kelamin:
        sex = {"P": "women" if en else "perempuan", "L": "men" if en else "laki-laki"}[
            k.jenis_kelamin
        ]
    who = " ".join(part for part in (sex, age) if part)
    family = k.unit_subjek == "keluarga"
    if en:
        parts = [f"only {who}" if who else "", "on the head of household" if family else ""]
    else:
        parts = [f"hanya {who}" if who else "", "dicatat pada kepala keluarga" if family else ""]
    return f"{k.singkatan}: {', '.join(p for p in parts if p)}."


def _first_failing(branches: list[tuple[str, str]]) -> str:
    """if(fails1, msg1, if(fails2, msg2, ... '')): the message of the first rule broken, or ''."""
    expr = "''"
    for fails, message in reversed(branches):
        expr = f"if({fails}, {_literal(message)}, {expr})"
    return expr


def pesan_kategori_ppks(en: bool) -> str:
    """Calculate behind the category constraint message: the rule of the first code that fails."""
    branches = []
    for k in kategori.ppks().values():
        conds = _category_conditions(k)
        if conds:
            chosen = f"selected(${{kategori_ppks}}, {_literal(k.kode)})"
            fails = f"{chosen} and not({' and '.join(conds)})"
            branches.append((fails, _rule_text(k, en)))
    return _first_failing(branches)


NIK_FORMAT = {
    False: "NIK 16 angka: kode wilayah (6), tanggal lahir HHBBTT (6; perempuan: tanggal + 40), "
    "nomor urut (4).",
    True: "NIK is 16 digits: area code (6), birth date DDMMYY (6; women: day + 40), serial (4).",
}
NIK_IS_KK = {
    False: "NIK tidak boleh sama dengan No. KK.",
    True: "The NIK cannot be the No. KK.",
}
NIK_TWICE = {
    False: "NIK ini sudah dicatat untuk anggota lain dalam keluarga ini.",
    True: "This NIK is already recorded for another member of this household.",
}


# A member's NIK also recorded for another member (position-based: JavaRosa has no bare current()).
NIK_ELSEWHERE = (
    "selected(join(' ', ../../anggota[position() != position(current()/..)]/nik), {nik})"
)


def nik_unik() -> str:
    """Constraint part on a member's NIK: no other member of the household has it."""
    return f"not({NIK_ELSEWHERE.format(nik='.')})"


def pesan_nik(en: bool, *, household: bool) -> str:
    """Calculate behind the NIK constraint message: the constraint checks format, not the No KK
    and (PPKS) not twice in the household; this names the rule broken."""
    branches = [
        (f"not(regex(${{nik}}, {_literal(regex_nik())}))", NIK_FORMAT[en]),
        ("${nik} = ${no_kk}", NIK_IS_KK[en]),
    ]
    if household:
        branches.append((NIK_ELSEWHERE.format(nik="${nik}"), NIK_TWICE[en]))
    return _first_failing(branches)


# Under UMUR_ANAK_DIBATASI a member cannot be married, head of household, spouse or working (the
# form refuses it, and the registry re-checks it); from there to 18 the form only warns, since the
# family card may say so.


def pesan_hubungan(en: bool) -> str:
    """Calculate behind the relationship constraint message."""
    young = (
        f"${{umur}} < {UMUR_ANAK_DIBATASI} and (${{hubungan}} = 'kepala_keluarga' or "
        "${hubungan} = 'suami' or ${hubungan} = 'istri')"
    )
    if en:
        messages = (
            f"Under {UMUR_ANAK_DIBATASI} years a member cannot be head of household or spouse; "
            "check the date of birth.",
            "The first member is the head of household.",
            "There is only one head of household: the first member.",
        )
    else:
        messages = (
            f"Umur di bawah {UMUR_ANAK_DIBATASI} tahun tidak dapat menjadi kepala keluarga, suami "
            "atau istri; periksa tanggal lahir.",
            "Anggota pertama adalah kepala keluarga.",
            "Kepala keluarga hanya satu, yaitu anggota pertama.",
        )
    return _first_failing(
        [
            (young, messages[0]),
            ("position(..) = 1 and ${hubungan} != 'kepala_keluarga'", messages[1]),
            ("position(..) > 1 and ${hubungan} = 'kepala_keluarga'", messages[2]),
        ]
    )


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
    "pesan_kategori_ppks": lambda: pesan_kategori_ppks(en=False),
    "pesan_kategori_ppks_en": lambda: pesan_kategori_ppks(en=True),
    "pesan_nik_ppks": lambda: pesan_nik(en=False, household=True),
    "pesan_nik_ppks_en": lambda: pesan_nik(en=True, household=True),
    "pesan_nik_psks": lambda: pesan_nik(en=False, household=False),
    "pesan_nik_psks_en": lambda: pesan_nik(en=True, household=False),
    "pesan_hubungan": lambda: pesan_hubungan(en=False),
    "pesan_hubungan_en": lambda: pesan_hubungan(en=True),
    "umur_anak_dibatasi": lambda: str(UMUR_ANAK_DIBATASI),
    "peringatan_usia_kategori_ppks": peringatan_usia_kategori_ppks,
    "jenis_subjek_psks": jenis_subjek_psks,
    "nik_unik": nik_unik,
}
