"""Scenarios: what an enumerator types, as (path, value) steps in the order they are answered.

A scenario is a plain list of steps; the engines (tests/xlsforms/engines) fill the built form with
it and report what each step did. The builders below give a valid visit that a test then changes:
`ppks_household()` is a consenting household of three, `psks_person()` / `psks_lembaga()` the two
PSKS paths. Repeat members carry a 1-based index: ``keluarga/anggota[2]/nik``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from registry import wilayah
from surveys import paths as F

Step = tuple[str, str]

KECAMATAN = "61.07.01"
DESA = next(d.kode for d in wilayah.desa().values() if d.kode_kecamatan == KECAMATAN)
NO_KK = "6107010302210007"  # card recorded 03-02-2021 in 61.07.01


def member_path(path: str, position: int) -> str:
    """keluarga/anggota/nik, 2 -> keluarga/anggota[2]/nik"""
    return path.replace(F.ANGGOTA + "/", f"{F.ANGGOTA}[{position}]/", 1)


def born(age: int, *, today: dt.date | None = None, days: int = 0) -> str:
    """A birth date for someone who is `age` completed years old today (`days` later: younger)."""
    today = today or dt.date.today()
    try:
        day = today.replace(year=today.year - age)
    except ValueError:  # 29 February
        day = today.replace(year=today.year - age, day=28)
    return (day + dt.timedelta(days=days)).isoformat()


def nik_for(birth: str, sex: str, serial: int) -> str:
    """A well-formed Bengkayang NIK for that birth date and sex (women: day + 40)."""
    y, m, d = birth.split("-")
    day = int(d) + (40 if sex == "P" else 0)
    return f"610701{day:02d}{m}{y[2:]}{serial:04d}"


@dataclass
class Member:
    nama: str
    sex: str
    age: int
    hubungan: str
    kawin: str = "belum_kawin"
    pekerjaan: str = "belum_tidak_bekerja"
    pendidikan: str = "sd"
    kategori: str = ""
    extra: list[Step] = field(default_factory=list)

    def steps(self, position: int) -> list[Step]:
        birth = born(self.age)
        answers: list[Step] = [
            (F.STATUS_NIK, "ada"),
            (F.NIK, nik_for(birth, self.sex, position)),
            (F.NAMA, self.nama),
            (F.JENIS_KELAMIN, self.sex),
            (F.TEMPAT_LAHIR, "Bengkayang"),
            (F.TANGGAL_LAHIR_DIKETAHUI, "ya"),
            (F.TANGGAL_LAHIR, birth),
            (F.HUBUNGAN, self.hubungan),
            (F.STATUS_PERKAWINAN, self.kawin),
            (F.PENDIDIKAN, self.pendidikan),
            (F.PEKERJAAN, self.pekerjaan),
            (F.NAMA_IBU_KANDUNG, "Siti"),
        ]
        if self.kategori:
            answers.append((F.KATEGORI_PPKS, self.kategori))
        answers += self.extra
        return [(member_path(p, position), v) for p, v in answers]


FAMILY = (
    Member("Ali", "L", 40, "kepala_keluarga", "kawin_tercatat", "petani_pekebun"),
    Member("Aminah", "P", 36, "istri", "kawin_tercatat", "mengurus_rumah_tangga"),
    Member("Budi", "L", 9, "anak", pekerjaan="pelajar_mahasiswa"),
)


def location(kecamatan: str = KECAMATAN, desa: str = DESA) -> list[Step]:
    return [
        (F.KECAMATAN, kecamatan),
        (F.DESA, desa),
        (F.DUSUN, "Dusun I"),
        (F.RT, "001"),
        (F.RW, "002"),
    ]


def visit(consent: str = "ya") -> list[Step]:
    return [
        *location(),
        (F.NAMA_PETUGAS, "Yohanes"),
        (F.HP_PETUGAS, "081234567890"),
        (F.PERSETUJUAN, consent),
    ]


def address() -> list[Step]:
    return [(F.ALAMAT, "Jl. Raya 12"), (F.LOKASI, "0.8203 109.4783 40.0 5.0")]


def household_head(count: int) -> list[Step]:
    return [(F.STATUS_KK, "ada"), (F.NO_KK, NO_KK), (F.JUMLAH_ANGGOTA, str(count))]


def ppks_household(members: tuple[Member, ...] = FAMILY) -> list[Step]:
    """A consenting household; members in order, the head first."""
    steps = [*visit(), *address(), *household_head(len(members))]
    for position, m in enumerate(members, start=1):
        steps += m.steps(position)
    return steps


def psks_person(kategori: str = "pekerja_sosial_masyarakat") -> list[Step]:
    birth = born(45)
    return [
        *visit(),
        (F.KATEGORI_PSKS, kategori),
        *address(),
        (F.PSKS_NIK, nik_for(birth, "P", 7)),
        (F.PSKS_NAMA, "Maria"),
        (F.PSKS_JENIS_KELAMIN, "P"),
        (F.PSKS_TANGGAL_LAHIR, birth),
        (F.PSKS_HP, "081298765432"),
        (F.PSKS_PELATIHAN, "diklat_psm bimtek_kesos"),
    ]


def psks_lembaga(kategori: str = "karang_taruna") -> list[Step]:
    return [
        *visit(),
        (F.KATEGORI_PSKS, kategori),
        *address(),
        (F.LEMBAGA_NAMA, "Karang Taruna Tunas Muda"),
        (F.LEMBAGA_STATUS_HUKUM, "terdaftar"),
        (F.LEMBAGA_NO_REGISTRASI, "460/12/DSP3A/2024"),
        (F.LEMBAGA_KETUA, "Yakobus"),
        (F.LEMBAGA_HP_KONTAK, "081311112222"),
        (F.LEMBAGA_JUMLAH_ANGGOTA, "35"),
        (F.LEMBAGA_BIDANG, "kepemudaan anak"),
    ]
