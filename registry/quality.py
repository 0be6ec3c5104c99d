"""Data-quality rules: mapped rows in, flags out (one `Flag` is one `QualityFlag` row).

Pure functions over the column dicts that `harvester.mapping` produces, so the same rules can be
re-run later over stored rows. The server re-checks every rule the form enforces (a submission
can arrive without them: edited on the server, sent by API, from an older form version) and what
only the server can see. A `blokir` flag stops approval until the data is corrected on Kobo or a
dinsos/admin user overrides it (registry.review); a `peringatan` is shown only. `CODES` is the
one list of codes, with their severity and their Indonesian and English labels.

Field paths are the form's data paths; inside the member repeat the 1-based position is added
after the repeat (`keluarga/anggota[2]/nik`), and the message names the member by position and
name ("Anggota ke-2 (Veronika): ...").
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from registry import kategori, nik, wilayah
from registry.severity import Severity
from surveys import paths as f

BLOKIR, PERINGATAN = Severity.BLOKIR, Severity.PERINGATAN
MAX_AGE_YEARS = 120  # DOMAIN.md §4: "not in the future, age <= 120"
ADULT_AGE = 18  # UU 35/2014: a child is under 18
# Under this age a member cannot be married, head of household, spouse or working: the PPKS form
# refuses it (xlsforms/rules.py builds its constraints from this constant), so must the server.
UMUR_ANAK_DIBATASI = 15
# The PPKS form's own bounds (constraints of jumlah_anggota and luas_lantai in ppks.xlsx).
ANGGOTA_MAKS = 30
LUAS_LANTAI_MAKS_M2 = 2000.0
# Kabupaten Bengkayang lies within about 0°33'-1°30' N and 108°39'-110°10' E; the box is widened by
# about 5 km so that a house on the border with a weak fix is not flagged.
BENGKAYANG_LAT = (0.50, 1.55)
BENGKAYANG_LON = (108.60, 110.22)
KEPALA_KELUARGA = "kepala_keluarga"  # choice of the `hubungan` list
PASANGAN = frozenset({"kepala_keluarga", "suami", "istri"})  # refused under UMUR_ANAK_DIBATASI
BELUM_KAWIN = "belum_kawin"  # choice of `status_perkawinan`
TIDAK_BEKERJA = frozenset({"belum_tidak_bekerja", "pelajar_mahasiswa"})  # choices of `pekerjaan`
DOKUMEN_ADA = "ada"  # choice of the `status_dokumen` list (has a NIK / No KK)
_DATE = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})(?:T.*)?")


@dataclass(frozen=True)
class Flag:
    field: str  # data path, with [n] after a repeat
    code: str
    message: str  # Bahasa Indonesia, for reviewers; never a NIK
    severity: Severity = BLOKIR
    position: int | None = None  # the member's 1-based place in the household, if about one
    message_en: str | None = None  # the same for the English UI (see `localised`)


_B, _P = BLOKIR, PERINGATAN
# code -> (severity, Indonesian label, English label): the filter's choices, the English message.
CODES: dict[str, tuple[Severity, str, str]] = {
    # consent and wilayah
    "persetujuan_kosong": (_B, "Persetujuan tidak tercatat", "Consent not recorded"),
    "persetujuan_ditolak": (_B, "Responden menolak", "Respondent did not consent"),
    "kecamatan_kosong": (_B, "Kecamatan kosong", "Kecamatan missing"),
    "kecamatan_tidak_dikenal": (_B, "Kecamatan tidak dikenal", "Unknown kecamatan"),
    "desa_kosong": (_B, "Desa kosong", "Desa missing"),
    "desa_tidak_dikenal": (_B, "Desa tidak dikenal", "Unknown desa"),
    "desa_luar_kecamatan": (_B, "Desa di luar kecamatan", "Desa outside its kecamatan"),
    "lokasi_kosong": (_P, "Lokasi GPS kosong", "GPS location missing"),
    "lokasi_tidak_valid": (_P, "Lokasi GPS tidak terbaca", "GPS location unreadable"),
    "lokasi_luar_bengkayang": (_P, "Lokasi GPS di luar Bengkayang", "GPS outside Bengkayang"),
    # NIK and No KK
    "nik_kosong": (_B, "NIK kosong", "NIK missing"),
    "nik_format": (_B, "NIK bukan 16 angka", "NIK is not 16 digits"),
    "nik_palsu": (_B, "NIK berulang/berurutan", "NIK is a repeated or sequential number"),
    "nik_provinsi": (_B, "Kode provinsi NIK salah", "Unknown province code in NIK"),
    "nik_wilayah": (_B, "Kode wilayah NIK 00", "NIK regency/district code is 00"),
    "nik_hari": (_B, "Tanggal NIK tidak sah", "Invalid day in NIK"),
    "nik_bulan": (_B, "Bulan NIK tidak sah", "Invalid month in NIK"),
    "nik_tanggal": (_B, "Tanggal NIK tidak ada", "NIK date does not exist"),
    "nik_seri": (_B, "Nomor urut NIK 0000", "NIK serial is 0000"),
    "nik_jenis_kelamin": (_P, "NIK: jenis kelamin berbeda", "NIK disagrees with the sex given"),
    "nik_tanggal_lahir": (_P, "NIK: tanggal lahir berbeda", "NIK disagrees with the birth date"),
    "nik_luar_bengkayang": (_P, "NIK dari luar Bengkayang", "NIK registered outside Bengkayang"),
    "nik_luar_kecamatan": (
        _P,
        "NIK dari kecamatan lain",
        "NIK registered in another kecamatan than the household's",
    ),
    "nik_ganda": (_B, "NIK sama dalam satu keluarga", "Same NIK twice in the household"),
    "nik_sama": (_B, "NIK sama di keluarga lain", "Same NIK in another household"),
    "nik_tindak_lanjut": (_P, "Belum punya NIK", "No NIK yet: follow up with Dukcapil"),
    "kk_kosong": (_B, "No KK kosong", "No KK missing"),
    "kk_format": (_B, "No KK bukan 16 angka", "No KK is not 16 digits"),
    "kk_palsu": (_B, "No KK berulang/berurutan", "No KK is a repeated or sequential number"),
    "kk_provinsi": (_B, "Kode provinsi No KK salah", "Unknown province code in No KK"),
    "kk_wilayah": (_B, "Kode wilayah No KK 00", "No KK regency/district code is 00"),
    "kk_hari": (_B, "Tanggal No KK tidak sah", "Invalid day in No KK"),
    "kk_bulan": (_B, "Bulan No KK tidak sah", "Invalid month in No KK"),
    "kk_tanggal": (_B, "Tanggal No KK tidak ada", "No KK date does not exist"),
    "kk_seri": (_B, "Nomor urut No KK 0000", "No KK serial is 0000"),
    "kk_sama_nik": (_B, "No KK sama dengan NIK", "No KK equals a member's NIK"),
    "kk_luar_bengkayang": (_P, "No KK dari luar Bengkayang", "No KK issued outside Bengkayang"),
    "kk_luar_kecamatan": (
        _P,
        "No KK dari kecamatan lain",
        "No KK issued in another kecamatan than the household's",
    ),
    "kk_tindak_lanjut": (_P, "Belum punya No KK", "No family card yet: follow up with Dukcapil"),
    # members
    "anggota_kosong": (_B, "Tanpa anggota", "No household members"),
    "anggota_bukan_daftar": (_P, "Anggota bukan daftar", "Members sent as one object"),
    "anggota_tidak_valid": (_B, "Anggota tidak terbaca", "Members unreadable"),
    "jumlah_anggota_tidak_sesuai": (
        _P,
        "Jumlah anggota tidak sesuai",
        "Number of members differs from the members recorded",
    ),
    "jumlah_anggota_tidak_wajar": (
        _B,
        "Jumlah anggota tidak wajar",
        "Number of members out of bounds",
    ),
    "kepala_keluarga": (_B, "Bukan tepat satu kepala", "Not exactly one head of household"),
    "nama_kosong": (_B, "Nama kosong", "Name missing"),
    "jenis_kelamin_kosong": (_P, "Jenis kelamin kosong", "Sex missing"),
    "jenis_kelamin_tidak_valid": (_B, "Jenis kelamin bukan L/P", "Sex is not L or P"),
    "tanggal_lahir_kosong": (_P, "Tanggal lahir kosong", "Birth date missing"),
    "tanggal_lahir_perkiraan": (_P, "Tanggal lahir perkiraan", "Birth date unknown (estimate)"),
    "tanggal_lahir_tidak_valid": (_B, "Tanggal lahir bukan tanggal", "Birth date is not a date"),
    "tanggal_lahir_masa_depan": (_B, "Tanggal lahir di masa depan", "Birth date in the future"),
    "tanggal_lahir_tidak_wajar": (_B, "Umur lebih dari 120 tahun", "Age over 120 years"),
    "umur_hubungan": (
        _B,
        "Anak sebagai kepala/suami/istri",
        "A child recorded as head of household or spouse",
    ),
    "umur_perkawinan": (_B, "Anak berstatus kawin", "A child recorded as married"),
    "umur_pekerjaan": (_B, "Anak bekerja", "A child recorded with an occupation"),
    "kategori_tidak_dikenal": (_B, "Kategori PPKS tidak dikenal", "Unknown PPKS category"),
    "kategori_usia": (_B, "Umur di luar kategori", "Age outside the category's range"),
    "kategori_usia_batas": (_P, "Umur di batas kategori", "Age at the category's boundary"),
    "kategori_usia_tidak_diketahui": (
        _P,
        "Umur tidak diketahui untuk kategori",
        "Age unknown for the category's age rule",
    ),
    "kategori_jenis_kelamin": (_B, "Jenis kelamin di luar kategori", "Sex outside the category"),
    # house
    "luas_lantai_tidak_wajar": (_B, "Luas lantai tidak wajar", "Floor area out of bounds"),
    # PSKS
    "kategori_psks_kosong": (_B, "Kategori PSKS kosong", "PSKS category missing"),
    "kategori_psks_tidak_dikenal": (_B, "Kategori PSKS tidak dikenal", "Unknown PSKS category"),
    "jenis_subjek_tidak_sesuai": (
        _P,
        "Jenis subjek tidak sesuai",
        "Subject type does not match the category",
    ),
    "nama_lembaga_kosong": (_B, "Nama lembaga kosong", "Organisation name missing"),
    # what the harvester sees in the payload itself
    "bukan_teks": (_P, "Isian bukan teks", "Answer was not text"),
    "karakter_tidak_sah": (_P, "Karakter tidak sah", "Characters that cannot be stored"),
    "teks_panjang": (_P, "Isian sangat panjang", "Very long answer"),
    "sistem_tidak_valid": (_B, "Nilai sistem Kobo tidak terbaca", "Unreadable Kobo system value"),
    "waktu_kirim_tidak_valid": (_P, "Waktu kirim tidak terbaca", "Unreadable submission time"),
    "form_tidak_dikenal": (_B, "Formulir tidak dikenal", "Unknown form"),
    "kiriman_tidak_valid": (_B, "Kiriman tidak terbaca", "Unreadable submission"),
    "pemetaan_gagal": (_B, "Kiriman gagal dibaca", "Submission could not be mapped"),
}


def member_label(position: int, nama: Any, *, en: bool = False) -> str:
    """ "Anggota ke-2 (Veronika)" / "Member 2 (Veronika)": how a message names a member."""
    name = short(nama, 40) if not _blank(nama) else ("no name" if en else "tanpa nama")
    return f"Member {position} ({name})" if en else f"Anggota ke-{position} ({name})"


def in_member(flags: Iterable[Flag], position: int, nama: Any) -> list[Flag]:
    """Member flags with the member's position, and messages that name the member."""
    who, who_en = member_label(position, nama), member_label(position, nama, en=True)
    return [
        replace(
            x,
            position=position,
            message=f"{who}: {x.message}",
            message_en=f"{who_en}: {english(x.code)}",
        )
        for x in flags
    ]


def english(code: str) -> str:
    entry = CODES.get(code)
    return entry[2] if entry else code


_IN_REPEAT = re.compile(re.escape(f.ANGGOTA) + r"\[([0-9]+)\]/")


def localised(flags: Iterable[Flag], names: Mapping[int, Any] | None = None) -> list[Flag]:
    """Every flag with its English message (the code's English label where none was set), and
    a flag on a member's answer that no member rule made (a value the harvester could not read)
    with that member's position and name, from `names` (position -> nama)."""
    out = []
    for x in flags:
        match = _IN_REPEAT.match(x.field) if x.position is None else None
        if match:
            position = int(match.group(1))
            x = in_member([x], position, (names or {}).get(position))[0]
        out.append(x if x.message_en else replace(x, message_en=english(x.code)))
    return out


def repeat_path(path: str, position: int, repeat: str = f.ANGGOTA) -> str:
    """`keluarga/anggota/nik`, 2 -> `keluarga/anggota[2]/nik` (the field inside repeat item 2)."""
    leaf = path[len(repeat) + 1 :] if path.startswith(repeat + "/") else path.rsplit("/", 1)[-1]
    return f"{repeat}[{position}]/{leaf}"


def short(value: Any, limit: int = 40) -> str:
    """A value cut for display inside a message (the stored value is never cut)."""
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_date(value: Any) -> dt.date | None:
    """An ODK date (`YYYY-MM-DD`, or a datetime whose date part is that), else None."""
    if not isinstance(value, str):
        return None
    match = _DATE.fullmatch(value.strip())
    if not match:
        return None
    try:
        return dt.date.fromisoformat(match.group(1))
    except ValueError:
        return None


def age_on(born: dt.date, on: dt.date) -> int:
    """Age in whole years on date `on`."""
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _findings(field: str, findings: Iterable[nik.Finding]) -> list[Flag]:
    return [Flag(field, x.code, x.message, x.severity) for x in findings]


# --- shared -------------------------------------------------------------------------------------


def check_consent(persetujuan: Any) -> list[Flag]:
    """The respondent's consent (UU 27/2022): must be recorded as "ya"."""
    if _blank(persetujuan):
        return [Flag(f.PERSETUJUAN, "persetujuan_kosong", "Persetujuan responden tidak tercatat.")]
    if str(persetujuan).strip().lower() != "ya":
        return [
            Flag(
                f.PERSETUJUAN,
                "persetujuan_ditolak",
                "Responden tidak memberi persetujuan; data pribadi tidak boleh diproses.",
            )
        ]
    return []


def check_wilayah(kode_kecamatan: Any, kode_desa: Any) -> list[Flag]:
    """Kecamatan and desa are Kemendagri codes of Bengkayang, and the desa lies in the kecamatan."""
    flags: list[Flag] = []
    kec = kode_kecamatan.strip() if isinstance(kode_kecamatan, str) else None
    des = kode_desa.strip() if isinstance(kode_desa, str) else None
    if _blank(kode_kecamatan):
        flags.append(Flag(f.KECAMATAN, "kecamatan_kosong", "Kecamatan tidak diisi."))
    elif kec is None or not wilayah.is_kecamatan(kec):
        flags.append(
            Flag(
                f.KECAMATAN,
                "kecamatan_tidak_dikenal",
                f"Kode kecamatan {short(kode_kecamatan)!r} tidak ada di Kabupaten Bengkayang.",
            )
        )
    if _blank(kode_desa):
        flags.append(Flag(f.DESA, "desa_kosong", "Desa/kelurahan tidak diisi."))
    elif des is None or not wilayah.is_desa(des):
        flags.append(
            Flag(
                f.DESA,
                "desa_tidak_dikenal",
                f"Kode desa {short(kode_desa)!r} tidak ada di Kabupaten Bengkayang.",
            )
        )
    elif kec is not None and wilayah.is_kecamatan(kec) and not wilayah.contains(kec, des):
        actual = wilayah.kecamatan_of(des)
        flags.append(
            Flag(
                f.DESA,
                "desa_luar_kecamatan",
                f"Desa {wilayah.desa()[des].nama} berada di Kecamatan "
                f"{actual.nama if actual else '?'}, bukan di Kecamatan "
                f"{wilayah.kecamatan()[kec].nama}.",
            )
        )
    return flags


def _tanpa_dokumen(status: Any, alasan: Any) -> str | None:
    """The reason text when the form recorded "belum punya" / "tidak tahu" for a NIK or No KK."""
    if _blank(status) or status == DOKUMEN_ADA:
        return None
    return f"{short(status)}, alasan: {short(alasan) if not _blank(alasan) else '-'}"


def _follow_up_nik(field: str, why: str) -> Flag:
    return Flag(
        field,
        "nik_tindak_lanjut",
        f"Belum ada NIK ({why}); rujuk ke Dukcapil untuk perekaman.",
        PERINGATAN,
    )


def _follow_up_kk(why: str) -> Flag:
    return Flag(
        f.NO_KK,
        "kk_tindak_lanjut",
        f"Belum ada No KK ({why}); rujuk ke Dukcapil untuk penerbitan KK.",
        PERINGATAN,
    )


def _follow_up_tanggal_lahir(field: str, umur: Any) -> Flag:
    return Flag(
        field,
        "tanggal_lahir_perkiraan",
        f"Tanggal lahir tidak diketahui; umur perkiraan {short(umur) if umur else '-'} tahun. "
        "Lengkapi dari dokumen kependudukan.",
        PERINGATAN,
    )


def check_tanggal_lahir(field: str, raw: Any, born: dt.date | None, on: dt.date) -> list[Flag]:
    """A birth date that is a date, not after the visit, and not more than 120 years before it."""
    if _blank(raw):
        return [Flag(field, "tanggal_lahir_kosong", "Tanggal lahir tidak diisi.", PERINGATAN)]
    if born is None:
        return [
            Flag(
                field,
                "tanggal_lahir_tidak_valid",
                "Tanggal lahir bukan tanggal (format TTTT-BB-HH).",
            )
        ]
    if born > on:
        return [
            Flag(
                field,
                "tanggal_lahir_masa_depan",
                f"Tanggal lahir {born.isoformat()} sesudah tanggal kunjungan {on.isoformat()}.",
            )
        ]
    if age_on(born, on) > MAX_AGE_YEARS:
        return [
            Flag(
                field,
                "tanggal_lahir_tidak_wajar",
                f"Umur lebih dari {MAX_AGE_YEARS} tahun; periksa tanggal lahir.",
            )
        ]
    return []


def check_jenis_kelamin(field: str, value: Any) -> list[Flag]:
    if _blank(value):
        return [Flag(field, "jenis_kelamin_kosong", "Jenis kelamin tidak diisi.", PERINGATAN)]
    if str(value).strip().upper() not in ("L", "P"):
        return [
            Flag(
                field,
                "jenis_kelamin_tidak_valid",
                "Jenis kelamin bukan L atau P.",
            )
        ]
    return []


# --- PPKS ---------------------------------------------------------------------------------------


def kategori_codes(value: Any) -> list[str]:
    """The codes of a select_multiple answer, in order, without repeats."""
    if not isinstance(value, str):
        return []
    return list(dict.fromkeys(value.split()))


def _umur(value: Any) -> int | None:
    text = value.strip() if isinstance(value, str) else None
    return int(text) if text and text.isascii() and text.isdigit() else None


def check_kategori(
    field: str, codes: list[str], *, age: int | None, jenis_kelamin: Any
) -> list[Flag]:
    """Each PPKS code exists, and fits the person's age and sex (rules of ppks_kategori.csv)."""
    flags: list[Flag] = []
    known = kategori.ppks()
    jk = str(jenis_kelamin).strip().upper() if isinstance(jenis_kelamin, str) else None
    for code in codes:
        k = known.get(code)
        if k is None:
            flags.append(
                Flag(
                    field,
                    "kategori_tidak_dikenal",
                    f"Kategori PPKS {short(code)!r} tidak dikenal; disimpan apa adanya.",
                )
            )
            continue
        has_age_rule = k.usia_min is not None or k.usia_maks_eksklusif is not None
        if has_age_rule and age is None:
            flags.append(
                Flag(
                    field,
                    "kategori_usia_tidak_diketahui",
                    f"Umur tidak diketahui, syarat umur {k.nama} tidak dapat diperiksa.",
                    PERINGATAN,
                )
            )
        elif has_age_rule and age is not None and not k.age_ok(age):
            flags.append(
                Flag(
                    field,
                    "kategori_usia",
                    f"{k.nama} untuk umur {_age_range(k)}; umur anggota {age} tahun.",
                )
            )
        elif age == ADULT_AGE and code.startswith("anak_") and k.age_ok(age):
            flags.append(
                Flag(
                    field,
                    "kategori_usia_batas",
                    f"{k.nama}: umur tepat {ADULT_AGE} tahun (anak = belum {ADULT_AGE} tahun, "
                    "UU 35/2014); periksa kembali.",
                    PERINGATAN,
                )
            )
        if k.jenis_kelamin and jk in ("L", "P") and jk != k.jenis_kelamin:
            sex = "perempuan" if k.jenis_kelamin == "P" else "laki-laki"
            flags.append(Flag(field, "kategori_jenis_kelamin", f"{k.nama} hanya untuk {sex}."))
    return flags


def _age_range(k: kategori.PpksKategori) -> str:
    if k.usia_min is not None and k.usia_maks_eksklusif is not None:
        return f"{k.usia_min}-{k.usia_maks_eksklusif - 1} tahun"
    if k.usia_min is not None:
        return f"{k.usia_min} tahun ke atas"
    return f"di bawah {k.usia_maks_eksklusif} tahun"


def _member_fields(position: int) -> dict[str, str]:
    """Flag fields of the member questions of repeat item `position` (see `repeat_path`)."""
    prefix = f"{f.ANGGOTA}[{position}]/"
    return {path: prefix + leaf for path, leaf in _MEMBER_LEAVES}


_MEMBER_LEAVES = [
    (path, repeat_path(path, 0).rpartition("/")[2])
    for path in (f.NAMA, f.NIK, f.JENIS_KELAMIN, f.TANGGAL_LAHIR, f.KATEGORI_PPKS)
]


def check_person(
    person: Mapping[str, Any],
    *,
    on: dt.date,
    umur: Any = None,
    answers: Mapping[str, Any] | None = None,
) -> list[Flag]:
    """Rules on one member row; `umur` (the form's computed age) is used when the date is bad.

    `answers` is the member's item as the form sent it: a NIK recorded as "belum punya" / "tidak
    tahu", or a birth date marked unknown, is flagged for follow-up instead of as missing."""
    answers = answers or {}
    no_nik = _tanpa_dokumen(answers.get(f.STATUS_NIK), answers.get(f.ALASAN_TANPA_NIK))
    no_date = answers.get(f.TANGGAL_LAHIR_DIKETAHUI) == "tidak"
    at = _member_fields(int(person.get("position") or 0))
    flags: list[Flag] = []
    if _blank(person.get("nama")):
        flags.append(Flag(at[f.NAMA], "nama_kosong", "Nama anggota tidak diisi."))
    born = person.get("tanggal_lahir_date")
    jenis_kelamin = person.get("jenis_kelamin")
    findings = nik.check_nik(
        person.get("nik"), jenis_kelamin=jenis_kelamin, tanggal_lahir=born, today=on
    )
    if no_nik is not None and _blank(person.get("nik")):
        flags.append(_follow_up_nik(at[f.NIK], no_nik))
    elif findings:
        flags += _findings(at[f.NIK], findings)
    flags += check_jenis_kelamin(at[f.JENIS_KELAMIN], jenis_kelamin)
    if no_date and _blank(person.get("tanggal_lahir")):
        flags.append(_follow_up_tanggal_lahir(at[f.TANGGAL_LAHIR], umur))
    else:
        flags += check_tanggal_lahir(at[f.TANGGAL_LAHIR], person.get("tanggal_lahir"), born, on)
    codes = kategori_codes(person.get("kategori_ppks"))
    if codes:
        age = age_on(born, on) if born is not None and born <= on else _umur(umur)
        flags += check_kategori(at[f.KATEGORI_PPKS], codes, age=age, jenis_kelamin=jenis_kelamin)
    return flags


def check_household(
    household: Mapping[str, Any],
    persons: Sequence[Mapping[str, Any]],
    *,
    on: dt.date,
    umur: Mapping[int, Any] | None = None,
    answers: Mapping[str, Any] | None = None,
) -> list[Flag]:
    """Rules on a PPKS household and its members: No KK, members, duplicate NIKs, each person.

    `answers` is the submission as the form sent it (see `check_person`)."""
    answers = answers or {}
    niks = [p.get("nik") for p in persons]
    no_kk = _tanpa_dokumen(answers.get(f.STATUS_KK), answers.get(f.ALASAN_TANPA_KK))
    if no_kk is not None and _blank(household.get("no_kk")):
        flags = [_follow_up_kk(no_kk)]
    else:
        flags = _findings(f.NO_KK, nik.check_no_kk(household.get("no_kk"), niks=niks))
    items = answers.get(f.ANGGOTA)
    items = items if isinstance(items, list) else []
    flags += check_wilayah(household.get("kode_kecamatan"), household.get("kode_desa"))
    if not persons:
        flags.append(Flag(f.ANGGOTA, "anggota_kosong", "Tidak ada anggota keluarga yang tercatat."))
    heads = sum(1 for p in persons if p.get("hubungan") == KEPALA_KELUARGA)
    if heads != 1 and any(not _blank(p.get("hubungan")) for p in persons):
        flags.append(
            Flag(
                f.ANGGOTA,
                "kepala_keluarga",
                f"Keluarga harus punya tepat satu kepala keluarga; tercatat {heads}.",
            )
        )
    kecamatan = household.get("kode_kecamatan")
    if not (isinstance(kecamatan, str) and wilayah.is_kecamatan(kecamatan)):
        kecamatan = None
    flags += _region(f.NO_KK, "kk", household.get("no_kk"), kecamatan)
    flags += check_jumlah_anggota(answers.get(f.JUMLAH_ANGGOTA), len(persons))
    flags += check_luas_lantai(answers.get(f.RUMAH_LUAS_LANTAI))
    if str(answers.get(f.PERSETUJUAN) or "").strip().lower() == "ya":
        flags += check_lokasi(
            answers.get(f.LOKASI), household.get("latitude"), household.get("longitude")
        )
    seen: dict[str, int] = {}
    for person in persons:
        pos = int(person.get("position") or 0)
        key = nik.normalise(person.get("nik"))
        mine: list[Flag] = []
        if key and key in seen:
            mine.append(
                Flag(
                    repeat_path(f.NIK, pos),
                    "nik_ganda",
                    f"NIK sama dengan NIK anggota ke-{seen[key]} dalam keluarga ini.",
                )
            )
        elif key:
            seen[key] = pos
        item = items[pos - 1] if 0 < pos <= len(items) else None
        item = item if isinstance(item, dict) else None
        age = (umur or {}).get(pos)
        mine += check_person(person, on=on, umur=age, answers=item)
        mine += _region(repeat_path(f.NIK, pos), "nik", person.get("nik"), kecamatan)
        mine += check_plausible(person, on=on, umur=age)
        flags += in_member(mine, pos, person.get("nama"))
    return flags


def _region(field: str, label: str, value: Any, kecamatan: str | None) -> list[Flag]:
    """A Bengkayang NIK or No KK whose region digits name another kecamatan than the household's
    (a NIK keeps the kecamatan where it was first registered, so this only warns)."""
    digits = nik.normalise(value)
    if kecamatan is None or len(digits) != 16 or not digits.isdigit():
        return []
    if not digits.startswith(nik.PREFIX_BENGKAYANG) or nik.region_of(digits) == kecamatan:
        return []  # outside Bengkayang has its own flag (nik_luar_bengkayang, kk_luar_bengkayang)
    region = wilayah.kecamatan().get(nik.region_of(digits))
    name = "NIK" if label == "nik" else "No KK"
    where = f"Kecamatan {region.nama}" if region else "kecamatan yang tidak dikenal"
    return [
        Flag(
            field,
            f"{label}_luar_kecamatan",
            f"{name} terdaftar di {where}, bukan di kecamatan tempat keluarga ini didata.",
            PERINGATAN,
        )
    ]


def _age(person: Mapping[str, Any], on: dt.date, umur: Any) -> int | None:
    born = person.get("tanggal_lahir_date")
    if isinstance(born, str):
        born = parse_date(born)
    if isinstance(born, dt.date) and born <= on:
        return age_on(born, on)
    return _umur(umur)


def check_plausible(person: Mapping[str, Any], *, on: dt.date, umur: Any = None) -> list[Flag]:
    """What the form refuses under UMUR_ANAK_DIBATASI years: head of household or spouse,
    married, an occupation (a 5-year-old "suami", divorced, working)."""
    age = _age(person, on, umur)
    if age is None or age >= UMUR_ANAK_DIBATASI:
        return []
    pos = int(person.get("position") or 0)
    under = f"umur {age} tahun (di bawah {UMUR_ANAK_DIBATASI})"
    flags = []
    hubungan = person.get("hubungan")
    if hubungan in PASANGAN:
        flags.append(
            Flag(
                repeat_path(f.HUBUNGAN, pos),
                "umur_hubungan",
                f"Tercatat sebagai {hubungan.replace('_', ' ')} pada {under}.",
            )
        )
    kawin = person.get("status_perkawinan")
    if not _blank(kawin) and kawin != BELUM_KAWIN:
        flags.append(
            Flag(
                repeat_path(f.STATUS_PERKAWINAN, pos),
                "umur_perkawinan",
                f"Status perkawinan {short(kawin).replace('_', ' ')} pada {under}.",
            )
        )
    kerja = person.get("pekerjaan")
    if not _blank(kerja) and kerja not in TIDAK_BEKERJA:
        flags.append(
            Flag(
                repeat_path(f.PEKERJAAN, pos),
                "umur_pekerjaan",
                f"Pekerjaan {short(kerja).replace('_', ' ')} pada {under}.",
            )
        )
    return flags


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def check_jumlah_anggota(value: Any, recorded: int) -> list[Flag]:
    """The form's member count: within 1..ANGGOTA_MAKS, and the number of members recorded."""
    if _blank(value):
        return []
    count = _number(value)
    if count is None or count != int(count) or not 1 <= count <= ANGGOTA_MAKS:
        return [
            Flag(
                f.JUMLAH_ANGGOTA,
                "jumlah_anggota_tidak_wajar",
                f"Jumlah anggota {short(value)!r} di luar 1-{ANGGOTA_MAKS} orang.",
            )
        ]
    if int(count) != recorded:
        return [
            Flag(
                f.JUMLAH_ANGGOTA,
                "jumlah_anggota_tidak_sesuai",
                f"Jumlah anggota tercatat {int(count)}, tetapi data anggota ada {recorded}.",
                PERINGATAN,
            )
        ]
    return []


def check_luas_lantai(value: Any) -> list[Flag]:
    """Floor area in m²: above 0 and at most LUAS_LANTAI_MAKS_M2 (the form's bound)."""
    if _blank(value):
        return []
    area = _number(value)
    if area is None or not 0 < area <= LUAS_LANTAI_MAKS_M2:
        return [
            Flag(
                f.RUMAH_LUAS_LANTAI,
                "luas_lantai_tidak_wajar",
                f"Luas lantai {short(value)!r} m² di luar batas wajar "
                f"(lebih dari 0, paling besar {LUAS_LANTAI_MAKS_M2:,.0f} m²).",
            )
        ]
    return []


def check_lokasi(raw: Any, latitude: Any, longitude: Any) -> list[Flag]:
    """GPS recorded (with consent) and inside Kabupaten Bengkayang; an unreadable point is
    flagged by the mapping (lokasi_tidak_valid)."""
    if _blank(raw):
        return [Flag(f.LOKASI, "lokasi_kosong", "Titik lokasi GPS tidak direkam.", PERINGATAN)]
    if not isinstance(latitude, float) or not isinstance(longitude, float):
        return []
    inside = (
        BENGKAYANG_LAT[0] <= latitude <= BENGKAYANG_LAT[1]
        and BENGKAYANG_LON[0] <= longitude <= BENGKAYANG_LON[1]
    )
    if inside:
        return []
    return [
        Flag(
            f.LOKASI,
            "lokasi_luar_bengkayang",
            f"Titik GPS ({latitude:.4f}, {longitude:.4f}) di luar Kabupaten Bengkayang.",
            PERINGATAN,
        )
    ]


# --- PSKS ---------------------------------------------------------------------------------------


def check_psks(
    entry: Mapping[str, Any], *, on: dt.date, consented: bool = False, lokasi: Any = None
) -> list[Flag]:
    """Rules on a PSKS entry: category, wilayah, and the fields of its subject type; with the
    respondent's consent, also `lokasi` (the GPS answer)."""
    flags = check_wilayah(entry.get("kode_kecamatan"), entry.get("kode_desa"))
    if consented:
        flags += check_lokasi(lokasi, entry.get("latitude"), entry.get("longitude"))
    code = entry.get("kategori_psks")
    k = kategori.psks().get(code) if isinstance(code, str) else None
    if _blank(code):
        flags.append(Flag(f.KATEGORI_PSKS, "kategori_psks_kosong", "Kategori PSKS tidak diisi."))
    elif k is None:
        flags.append(
            Flag(
                f.KATEGORI_PSKS,
                "kategori_psks_tidak_dikenal",
                f"Kategori PSKS {short(code)!r} tidak dikenal; disimpan apa adanya.",
            )
        )
    jenis = entry.get("jenis_subjek")
    if k is not None and not _blank(jenis) and jenis != k.jenis_subjek:
        flags.append(
            Flag(
                f.JENIS_SUBJEK,
                "jenis_subjek_tidak_sesuai",
                f"Jenis subjek {short(jenis)!r} tidak sesuai dengan {k.nama} ({k.jenis_subjek}).",
                PERINGATAN,
            )
        )
    subjek = k.jenis_subjek if k is not None else jenis
    if subjek in ("perorangan", "keluarga") or not _blank(entry.get("nik")):
        flags += _psks_person(entry, on=on)
    if subjek == "keluarga" or not _blank(entry.get("no_kk")):
        flags += _findings(
            f.PSKS_NO_KK, nik.check_no_kk(entry.get("no_kk"), niks=[entry.get("nik")])
        )
    if subjek in ("lembaga", "badan_usaha") and _blank(entry.get("nama_lembaga")):
        flags.append(
            Flag(f.LEMBAGA_NAMA, "nama_lembaga_kosong", "Nama lembaga/badan usaha tidak diisi.")
        )
    return flags


def _psks_person(entry: Mapping[str, Any], *, on: dt.date) -> list[Flag]:
    born = parse_date(entry.get("tanggal_lahir"))
    flags: list[Flag] = []
    if _blank(entry.get("nama")):
        flags.append(Flag(f.PSKS_NAMA, "nama_kosong", "Nama tidak diisi."))
    flags += _findings(
        f.PSKS_NIK,
        nik.check_nik(
            entry.get("nik"),
            jenis_kelamin=entry.get("jenis_kelamin"),
            tanggal_lahir=born,
            today=on,
        ),
    )
    flags += check_jenis_kelamin(f.PSKS_JENIS_KELAMIN, entry.get("jenis_kelamin"))
    flags += check_tanggal_lahir(f.PSKS_TANGGAL_LAHIR, entry.get("tanggal_lahir"), born, on)
    return flags
