"""Data-quality rules: mapped rows in, flags out (one `Flag` is one `QualityFlag` row).

Pure functions over the column dicts that `harvester.mapping` produces, so the same rules can be
re-run later over stored rows. A flag never blocks anything: it tells a reviewer where to look.
Field paths are the form's data paths; inside the member repeat the 1-based position is added
after the repeat (`keluarga/anggota[2]/nik`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from registry import kategori, nik, wilayah
from registry.nik import Severity
from surveys import paths as f

MAX_AGE_YEARS = 120  # DOMAIN.md §4: "not in the future, age <= 120"
ADULT_AGE = 18  # UU 35/2014: a child is under 18
KEPALA_KELUARGA = "kepala_keluarga"  # choice of the `hubungan` list
DOKUMEN_ADA = "ada"  # choice of the `status_dokumen` list (has a NIK / No KK)
_DATE = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})(?:T.*)?")


@dataclass(frozen=True)
class Flag:
    field: str  # data path, with [n] after a repeat
    code: str
    message: str  # Bahasa Indonesia, for reviewers; never a NIK
    severity: Severity = "error"


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
        "warning",
    )


def _follow_up_kk(why: str) -> Flag:
    return Flag(
        f.NO_KK,
        "kk_tindak_lanjut",
        f"Belum ada No KK ({why}); rujuk ke Dukcapil untuk penerbitan KK.",
        "warning",
    )


def _follow_up_tanggal_lahir(field: str, umur: Any) -> Flag:
    return Flag(
        field,
        "tanggal_lahir_perkiraan",
        f"Tanggal lahir tidak diketahui; umur perkiraan {short(umur) if umur else '-'} tahun. "
        "Lengkapi dari dokumen kependudukan.",
        "warning",
    )


def check_tanggal_lahir(field: str, raw: Any, born: dt.date | None, on: dt.date) -> list[Flag]:
    """A birth date that is a date, not after the visit, and not more than 120 years before it."""
    if _blank(raw):
        return [Flag(field, "tanggal_lahir_kosong", "Tanggal lahir tidak diisi.", "warning")]
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
                "warning",
            )
        ]
    return []


def check_jenis_kelamin(field: str, value: Any) -> list[Flag]:
    if _blank(value):
        return [Flag(field, "jenis_kelamin_kosong", "Jenis kelamin tidak diisi.", "warning")]
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
                    "warning",
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
                    "warning",
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
                "warning",
            )
        )
    seen: dict[str, int] = {}
    for person in persons:
        pos = int(person.get("position") or 0)
        key = nik.normalise(person.get("nik"))
        if key and key in seen:
            flags.append(
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
        flags += check_person(person, on=on, umur=(umur or {}).get(pos), answers=item)
    return flags


# --- PSKS ---------------------------------------------------------------------------------------


def check_psks(entry: Mapping[str, Any], *, on: dt.date) -> list[Flag]:
    """Rules on a PSKS entry: category, wilayah, and the fields of its subject type."""
    flags = check_wilayah(entry.get("kode_kecamatan"), entry.get("kode_desa"))
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
                "warning",
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
