"""Realistic answers for the PPKS (household) and PSKS forms of Kabupaten Bengkayang.

Deterministic for a given generator state. Every select value is a choice name of the form
(`Picker`); NIKs and KK numbers follow the Dukcapil structure and are unique across the server;
PPKS categories respect the age and sex rules of `registry.kategori.ppks()`.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from kobo_simulator import names as N
from kobo_simulator.forms import FormSpec
from registry import kategori, quality, wilayah
from surveys import paths as F

T = TypeVar("T")
WIB_PLUS_7 = dt.timezone(dt.timedelta(hours=7))  # Asia/Pontianak (WIB) has no DST
CENTRE = (0.80, 109.50)  # near Bengkayang town


class Weighted(Generic[T]):
    """A weighted choice with precomputed cumulative weights (rng.choices is slow in a loop)."""

    def __init__(self, items: Sequence[tuple[float, T]]) -> None:
        self.values = [v for _, v in items]
        self.cum = list(itertools.accumulate(w for w, _ in items))

    def __call__(self, rng: random.Random) -> T:
        return self.values[bisect.bisect_right(self.cum, rng.random() * self.cum[-1])]


class Picker:
    """Choose choice names that exist in the form, preferring the generator's own vocabulary."""

    def __init__(self, spec: FormSpec) -> None:
        self.spec = spec
        self._cache: dict[tuple[str, str], str | None] = {}

    def _resolve(self, path: str, want: str, choices: list[str]) -> str | None:
        """Exact name, else a name that starts with `want` (kawin -> kawin_tercatat, never
        belum_kawin), else one that contains it or is contained in it."""
        key = (path, want)
        if key not in self._cache:
            w = want.lower()
            lowered = [(c.lower(), c) for c in choices]
            found = next((c for low, c in lowered if low == w), None)
            if found is None:
                found = next((c for low, c in lowered if low.startswith(w)), None)
            if found is None:
                found = next((c for low, c in lowered if w in low or low in w), None)
            self._cache[key] = found
        return self._cache[key]

    def one(self, rng: random.Random, path: str, *wants: str) -> str:
        """The first of `wants` the form offers (exactly or by substring), else a random choice."""
        choices = self.spec.choice_names(path)
        if not choices:
            return wants[0]
        for want in wants:
            found = self._resolve(path, want, choices)
            if found is not None:
                return found
        return rng.choice(choices)

    def many(self, rng: random.Random, path: str, wants: Sequence[str]) -> str:
        picked: list[str] = []
        for want in wants:
            value = self.one(rng, path, want)
            if value not in picked:
                picked.append(value)
        return " ".join(picked)


@dataclass
class Generated:
    answers: dict[str, Any]
    photo: str | None  # basename of the house photo, when one was taken
    submitted_by: str | None


@dataclass
class Petugas:
    nama: str
    hp: str
    username: str


@dataclass
class IdentityBook:
    """NIKs and KK numbers issued so far on this server (as ints), so none repeats."""

    used: set[int] = field(default_factory=set)

    def issue(self, rng: random.Random, prefix12: str, lo: int = 1, hi: int = 2999) -> str:
        for _ in range(1000):
            number = f"{prefix12}{rng.randint(lo, hi):04d}"
            if int(number) not in self.used:
                self.used.add(int(number))
                return number
        for serial in range(1, 10000):  # a crowded day: take the first free serial
            number = f"{prefix12}{serial:04d}"
            if int(number) not in self.used:
                self.used.add(int(number))
                return number
        raise RuntimeError("no free serial left for this region and date")


def completed_years(born: dt.date, on: dt.date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _iso_local(moment: dt.datetime) -> str:
    """Device-local ISO time with milliseconds and offset, as ODK Collect writes it."""
    local = moment.astimezone(WIB_PLUS_7)
    return local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond // 1000:03d}+07:00"


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in text.lower()).strip("_")


# --- people -----------------------------------------------------------------------------------

ETHNIC = Weighted([(w, k) for w, k in N.ETHNIC_MIX])
TEMPAT = Weighted(N.TEMPAT_LAHIR)
SIZE = Weighted([(11, 1), (18, 2), (23, 3), (21, 4), (14, 5), (8, 6), (5, 7)])  # mean ~3.5

# Relative frequency of each category among members who have one (age/sex rules apply after).
KATEGORI_WEIGHT: dict[str, float] = {
    "lansia_telantar": 10,
    "penyandang_disabilitas": 8,
    "anak_disabilitas": 4,
    "perempuan_rawan_sosial_ekonomi": 6,
    "anak_telantar": 4,
    "anak_balita_telantar": 2,
    "korban_bencana_alam": 6,
    "korban_bencana_sosial": 1,
    "korban_tindak_kekerasan": 1,
    "anak_korban_kekerasan": 1,
    "anak_perlindungan_khusus": 1,
    "anak_berhadapan_hukum": 0.5,
    "anak_jalanan": 0.3,
    "gelandangan": 0.3,
    "pengemis": 0.3,
    "pemulung": 0.8,
    "pekerja_migran_bermasalah": 1.5,
    "korban_napza": 0.5,
    "korban_trafficking": 0.5,
    "odha": 0.3,
    "bekas_warga_binaan_lapas": 0.5,
    "tuna_susila": 0.2,
    "kelompok_minoritas": 0.1,
    "keluarga_bermasalah_sosial_psikologis": 0.5,
    "komunitas_adat_terpencil": 0.3,
}  # fakir_miskin is drawn per household (see ppks_submission), on the head
PSKS_WEIGHT: dict[str, float] = {
    "pekerja_sosial_masyarakat": 25,
    "taruna_siaga_bencana": 12,
    "tksk": 5,
    "karang_taruna": 12,
    "lembaga_kesejahteraan_sosial": 8,
    "lembaga_konsultasi_kesejahteraan_keluarga": 2,
    "keluarga_pioner": 10,
    "wahana_kesos_berbasis_masyarakat": 6,
    "wanita_pemimpin_kesos": 8,
    "penyuluh_sosial": 4,
    "pekerja_sosial_profesional": 5,
    "dunia_usaha": 3,
}


@dataclass
class Member:
    jk: str  # "L" / "P"
    born: dt.date
    umur: int
    role: str  # head, spouse, child, grandchild, parent
    married: bool = False
    nama: str = ""
    nik: str = ""
    ibu: str = ""
    kategori: list[str] = field(default_factory=list)


class DataGenerator:
    """Answers for one form; one instance per asset, sharing the server's IdentityBook."""

    def __init__(self, spec: FormSpec, form: str, book: IdentityBook, seed: int) -> None:
        self.spec = spec
        self.form = form
        self.book = book
        self.pick = Picker(spec)
        self.desa = list(wilayah.desa().values())
        self.kec_index = {k: i for i, k in enumerate(wilayah.kecamatan())}
        self.kec_codes = list(self.kec_index)
        self._petugas: dict[str, list[Petugas]] = {}
        self._seed = seed
        self.ppks = kategori.ppks()
        self.psks = kategori.psks()
        self._pools: dict[tuple[int, str, bool], Weighted[str] | None] = {}
        self.psks_choice = Weighted([(w, k) for k, w in PSKS_WEIGHT.items() if k in self.psks])

    # --- small helpers ------------------------------------------------------------------------

    def _keep(self, answers: dict[str, Any]) -> dict[str, Any]:
        """Only paths the form has: the data stays true to the form a device would have used."""
        qs = self.spec.questions
        out: dict[str, Any] = {}
        for key, value in answers.items():
            if isinstance(value, list):
                rows = [{k: v for k, v in row.items() if k in qs} for row in value]
                if rows:
                    out[key] = rows
            elif key in qs and value not in (None, ""):
                out[key] = value
        return out

    def _name(self, rng: random.Random, ethnic: str, jk: str, surname: str | None = None) -> str:
        if ethnic == "dayak":
            first = rng.choice(N.DAYAK_M if jk == "L" else N.DAYAK_F)
            return f"{first} {rng.choice(N.DAYAK_SECOND)}"
        if ethnic == "melayu":
            first = rng.choice(N.MELAYU_M if jk == "L" else N.MELAYU_F)
            return f"{first} {rng.choice(N.MELAYU_SECOND)}"
        if ethnic == "tionghoa":
            given = rng.choice(N.TIONGHOA_M if jk == "L" else N.TIONGHOA_F)
            return f"{surname or rng.choice(N.TIONGHOA_SURNAME)} {given}"
        return rng.choice(N.JAWA_M if jk == "L" else N.JAWA_F)

    def _born(self, rng: random.Random, age: int, today: dt.date) -> dt.date:
        born = today - dt.timedelta(days=int(age * 365.25) + rng.randint(0, 364))
        return min(born, today)

    def _nik(self, rng: random.Random, m: Member, kode_kec: str) -> str:
        # Kecamatan of first registration: usually where the family lives now.
        kec = kode_kec if rng.random() < 0.85 else rng.choice(self.kec_codes)
        day = m.born.day + (40 if m.jk == "P" else 0)
        prefix = f"6107{kec[-2:]}{day:02d}{m.born.month:02d}{m.born.year % 100:02d}"
        return self.book.issue(rng, prefix)

    def _no_kk(self, rng: random.Random, kode_kec: str, today: dt.date, head: Member) -> str:
        earliest = max(dt.date(2005, 1, 1), head.born + dt.timedelta(days=17 * 366))
        latest = today - dt.timedelta(days=30)
        if earliest >= latest:
            earliest = latest - dt.timedelta(days=365)
        issued = earliest + dt.timedelta(days=rng.randint(0, (latest - earliest).days))
        prefix = f"6107{kode_kec[-2:]}{issued:%d%m%y}"
        return self.book.issue(rng, prefix, 1, 9999)

    def _hp(self, rng: random.Random) -> str:
        return rng.choice(N.HP_PREFIX) + "".join(
            str(rng.randint(0, 9)) for _ in range(rng.choice((7, 8)))
        )

    def _petugas_for(self, kode_kec: str) -> list[Petugas]:
        if kode_kec not in self._petugas:
            # Per-kecamatan pool drawn from its own generator: the same team on every run.
            rng = random.Random(f"{self._seed}:{kode_kec}")
            nama_kec = wilayah.kecamatan()[kode_kec].nama
            team = []
            for i in range(3):
                jk = "L" if rng.random() < 0.6 else "P"
                team.append(
                    Petugas(
                        self._name(rng, ETHNIC(rng), jk),
                        self._hp(rng),
                        f"enum_{_slug(nama_kec)}_{i + 1:02d}",
                    )
                )
            self._petugas[kode_kec] = team
        return self._petugas[kode_kec]

    def _visit(
        self, rng: random.Random, submitted_at: dt.datetime
    ) -> tuple[dict[str, Any], dt.datetime]:
        """start / end / today: the device's clock, some time before the upload."""
        r = rng.random()
        if r < 0.7:
            lag = dt.timedelta(minutes=rng.randint(1, 30))
        elif r < 0.95:
            lag = dt.timedelta(hours=rng.randint(1, 12), minutes=rng.randint(0, 59))
        else:
            lag = dt.timedelta(days=rng.randint(1, 3), hours=rng.randint(0, 23))
        end = submitted_at - lag - dt.timedelta(milliseconds=rng.randint(0, 999))
        start = end - dt.timedelta(minutes=rng.randint(8, 40), seconds=rng.randint(0, 59))
        answers = {
            F.START: _iso_local(start),
            F.END: _iso_local(end),
            F.TODAY: start.astimezone(WIB_PLUS_7).date().isoformat(),
        }
        return answers, start

    def _wilayah(self, rng: random.Random) -> tuple[dict[str, Any], wilayah.Desa]:
        desa = rng.choice(self.desa)
        kec = self.kec_index[desa.kode_kecamatan]
        # Each kecamatan gets its own patch of the map around Bengkayang; houses scatter in it.
        lat0 = CENTRE[0] + ((kec * 37) % 17 - 8) * 0.045
        lon0 = CENTRE[1] + ((kec * 53) % 17 - 8) * 0.045
        lat = lat0 + rng.uniform(-0.03, 0.03)
        lon = lon0 + rng.uniform(-0.03, 0.03)
        rt, rw = rng.randint(1, 12), rng.randint(1, 5)
        num = "{:03d}"
        answers = {
            F.KECAMATAN: desa.kode_kecamatan,
            F.DESA: desa.kode,
            F.DUSUN: rng.choice(N.DUSUN),
            F.RT: str(rt) if self._is_number(F.RT) else num.format(rt),
            F.RW: str(rw) if self._is_number(F.RW) else num.format(rw),
            F.ALAMAT: (
                f"{rng.choice(N.JALAN)} No. {rng.randint(1, 120)}"
                if rng.random() < 0.6
                else f"{rng.choice(N.JALAN)} Km {rng.randint(1, 30)}"
            ),
            F.LOKASI: (f"{lat:.6f} {lon:.6f} {rng.uniform(20, 350):.1f} {rng.uniform(3, 20):.1f}"),
        }
        return answers, desa

    def _is_number(self, path: str) -> bool:
        q = self.spec.questions.get(path)
        return q is not None and q.type in ("integer", "decimal")

    def _kunjungan(self, rng: random.Random, kode_kec: str) -> tuple[dict[str, Any], str | None]:
        p = rng.choice(self._petugas_for(kode_kec))
        answers = {
            F.NAMA_PETUGAS: p.nama,
            F.HP_PETUGAS: p.hp,
            F.PERSETUJUAN: self.pick.one(rng, F.PERSETUJUAN, "ya"),
        }
        # Data collectors submit without an account now and then: _submitted_by is null.
        return answers, (p.username if rng.random() < 0.85 else None)

    def _photo(self, rng: random.Random, start: dt.datetime, share: float) -> str | None:
        if rng.random() >= share or F.FOTO_RUMAH not in self.spec.questions:
            return None
        return f"{int(start.timestamp() * 1000) + rng.randint(60_000, 900_000)}.jpg"

    # --- PPKS -----------------------------------------------------------------------------------

    def _household(self, rng: random.Random, today: dt.date) -> tuple[list[Member], str]:
        ethnic = ETHNIC(rng)
        size = SIZE(rng)
        head_age = min(88, max(21, int(rng.gauss(47, 13))))
        married = size >= 2 and rng.random() < 0.85
        head_jk = (
            "L"
            if (married and rng.random() < 0.93) or (not married and rng.random() < 0.5)
            else "P"
        )
        members = [Member(head_jk, self._born(rng, head_age, today), head_age, "head", married)]
        if married:
            jk = "P" if head_jk == "L" else "L"
            gap = int(rng.gauss(4, 3))
            age = max(18, head_age - gap if jk == "P" else head_age + gap)
            members.append(Member(jk, self._born(rng, age, today), age, "spouse", True))
        mother = next((m for m in members if m.jk == "P"), None)
        room = size - len(members)
        if room >= 2 and rng.random() < 0.25 and head_age < 65:
            age = min(95, head_age + rng.randint(22, 32))
            members.append(Member(rng.choice("LP"), self._born(rng, age, today), age, "parent"))
            room -= 1
        if room > 0 and head_age >= 58 and rng.random() < 0.5:
            age = max(18, head_age - rng.randint(22, 32))
            members.append(Member(rng.choice("LP"), self._born(rng, age, today), age, "child"))
            room -= 1
            for _ in range(room):
                age = rng.randint(0, 12)
                members.append(
                    Member(rng.choice("LP"), self._born(rng, age, today), age, "grandchild")
                )
            room = 0
        eldest = max(0, min(35, (mother.umur if mother else head_age) - 18))
        for _ in range(room):
            age = rng.randint(0, eldest)
            members.append(Member(rng.choice("LP"), self._born(rng, age, today), age, "child"))
        for m in members:  # ages from the drawn birth dates, exact to the day
            m.umur = completed_years(m.born, today)
        surname = rng.choice(N.TIONGHOA_SURNAME) if ethnic == "tionghoa" else None
        for m in members:
            m.nama = self._name(
                rng, ethnic, m.jk, surname if m.role in ("head", "child", "grandchild") else None
            )
        mother_name = mother.nama if mother else self._name(rng, ethnic, "P")
        for m in members:
            m.ibu = mother_name if m.role == "child" else self._name(rng, ethnic, "P")
        return members, ethnic

    def _pool(self, umur: int, jk: str, head: bool) -> Weighted[str] | None:
        """Categories a member may have: the age/sex rules of ppks_kategori.csv (cached)."""
        key = (umur, jk, head)
        if key not in self._pools:
            allowed = [
                (w, code)
                for code, w in KATEGORI_WEIGHT.items()
                if code in self.ppks
                and self.ppks[code].age_ok(umur)
                and self.ppks[code].jenis_kelamin in (None, jk)
                # family- and group-level categories are recorded on the head of the family
                and (head or self.ppks[code].unit_subjek not in ("keluarga", "kelompok"))
            ]
            self._pools[key] = Weighted(allowed) if allowed else None
        return self._pools[key]

    def _kategori(self, rng: random.Random, m: Member, poor: bool) -> list[str]:
        r = rng.random()
        count = 0 if r < 0.78 else (1 if r < 0.96 else 2)  # most none, some one, few two
        chosen: list[str] = ["fakir_miskin"] if poor and m.role == "head" else []
        pool = self._pool(m.umur, m.jk, m.role == "head") if count > len(chosen) else None
        if pool is not None:
            for _ in range(20):
                if len(chosen) >= count:
                    break
                code = pool(rng)
                if code not in chosen:
                    chosen.append(code)
        return chosen

    def ppks_submission(self, rng: random.Random, submitted_at: dt.datetime) -> Generated:
        visit, start = self._visit(rng, submitted_at)
        today = dt.date.fromisoformat(visit[F.TODAY])
        lokasi, desa = self._wilayah(rng)
        kunjungan, submitted_by = self._kunjungan(rng, desa.kode_kecamatan)
        members, _ = self._household(rng, today)
        poor = rng.random() < 0.3
        for m in members:
            m.kategori = self._kategori(rng, m, poor)
            m.nik = self._nik(rng, m, desa.kode_kecamatan)
        no_kk = self._no_kk(rng, desa.kode_kecamatan, today, members[0])
        answers: dict[str, Any] = {**visit, **kunjungan, **lokasi}
        photo = self._photo(rng, start, 0.6)
        if photo:
            answers[F.FOTO_RUMAH] = photo
        answers[F.STATUS_KK] = quality.DOKUMEN_ADA
        answers[F.NO_KK] = no_kk
        answers[F.ANGGOTA] = [self._member_answers(rng, m, desa) for m in members]
        answers[JUMLAH_ANGGOTA] = str(len(members))  # asked first: the repeat_count
        codes = {c for m in members for c in m.kategori}
        if "fakir_miskin" in codes:
            answers.update(self._rumah(rng, len(members)))
        if codes & {"korban_bencana_alam", "korban_bencana_sosial"}:
            answers.update(self._bencana(rng, today, "korban_bencana_alam" not in codes))
        if rng.random() < 0.7:
            held = today - dt.timedelta(days=rng.randint(5, 200))
            answers[F.MUSDES_NOMOR] = (
                f"{rng.randint(1, 240):03d}/{desa.kode[-4:]}/BA-MUSDES/{held.year}"
            )
            answers[F.MUSDES_TANGGAL] = held.isoformat()
        return Generated(
            self._keep(answers), photo if F.FOTO_RUMAH in answers else None, submitted_by
        )

    def _member_answers(self, rng: random.Random, m: Member, desa: wilayah.Desa) -> dict[str, Any]:
        one = self.pick.one
        tempat = TEMPAT(rng)
        if tempat == "*kecamatan*":
            tempat = wilayah.kecamatan()[desa.kode_kecamatan].nama
        if m.umur < 15 and rng.random() < 0.8:
            tempat = "Bengkayang"
        role_wants = {
            "head": ("kepala_keluarga", "kepala"),
            "spouse": ("istri",) if m.jk == "P" else ("suami",),
            "child": ("anak",),
            "grandchild": ("cucu", "famili_lain", "lainnya"),
            "parent": ("orang_tua", "mertua", "famili_lain", "lainnya"),
        }[m.role]
        row: dict[str, Any] = {
            F.STATUS_NIK: quality.DOKUMEN_ADA,
            F.NIK: m.nik,
            F.NAMA: m.nama,
            F.JENIS_KELAMIN: one(rng, F.JENIS_KELAMIN, m.jk),
            F.TEMPAT_LAHIR: tempat,
            F.TANGGAL_LAHIR_DIKETAHUI: "ya",
            F.TANGGAL_LAHIR: m.born.isoformat(),
            F.UMUR: str(m.umur),
            F.HUBUNGAN: one(rng, F.HUBUNGAN, *role_wants),
            F.STATUS_PERKAWINAN: one(rng, F.STATUS_PERKAWINAN, *self._kawin(rng, m)),
            F.PENDIDIKAN: one(rng, F.PENDIDIKAN, *self._pendidikan(rng, m)),
            F.PEKERJAAN: one(rng, F.PEKERJAAN, *self._pekerjaan(rng, m)),
            F.NAMA_IBU_KANDUNG: m.ibu,
        }
        if m.kategori:
            row[F.KATEGORI_PPKS] = self.pick.many(rng, F.KATEGORI_PPKS, m.kategori)
        if {"penyandang_disabilitas", "anak_disabilitas"} & set(m.kategori):
            kinds = ["fisik", "netra", "rungu", "wicara", "mental", "intelektual"]
            wants = rng.sample(kinds, 2 if rng.random() < 0.1 else 1)
            row[F.JENIS_DISABILITAS] = self.pick.many(rng, F.JENIS_DISABILITAS, wants)
        if "anak_perlindungan_khusus" in m.kategori:
            choices = self.spec.choice_names(PERLINDUNGAN_KHUSUS)
            if choices:
                row[PERLINDUNGAN_KHUSUS] = rng.choice(choices)
        return row

    @staticmethod
    def _kawin(rng: random.Random, m: Member) -> tuple[str, ...]:
        if m.married:
            # Many village marriages are religious or adat only, not yet in the civil register.
            if rng.random() < 0.8:
                return ("kawin_tercatat", "kawin")
            return ("kawin_belum_tercatat", "kawin")
        if m.role in ("head", "parent") and m.umur >= 45:
            return ("cerai_mati", "cerai") if rng.random() < 0.7 else ("cerai_hidup", "cerai")
        if m.umur >= 25 and rng.random() < 0.15:
            return ("cerai_hidup", "cerai")
        return ("belum_kawin", "belum")

    @staticmethod
    def _pendidikan(rng: random.Random, m: Member) -> tuple[str, ...]:
        a = m.umur
        if a < 7:
            return ("belum_sekolah", "tidak_belum_sekolah", "tidak_sekolah")
        if a <= 12:
            return ("sd", "belum_tamat_sd")
        if a <= 15:
            return ("smp", "sltp")
        if a <= 18:
            return ("sma", "slta", "smk")
        # Rural Bengkayang: most adults finished SD or SMP; few went beyond SMA.
        r = rng.random()
        cuts = (0.15, 0.65, 0.85, 0.96, 0.98) if a >= 55 else (0.05, 0.35, 0.58, 0.90, 0.94)
        if r < cuts[0]:
            return ("tidak_sekolah", "tidak_belum_sekolah")
        if r < cuts[1]:
            return ("sd",)
        if r < cuts[2]:
            return ("smp", "sltp")
        if r < cuts[3]:
            return ("sma", "slta", "smk")
        if r < cuts[4]:
            return ("diploma_3", "diploma", "d3")
        return ("diploma_4_s1", "s1", "sarjana")

    @staticmethod
    def _pekerjaan(rng: random.Random, m: Member) -> tuple[str, ...]:
        a = m.umur
        if a < 6:
            return ("belum_tidak_bekerja", "belum_bekerja", "tidak_bekerja")
        if a < 19:
            return ("pelajar", "pelajar_mahasiswa", "sekolah")
        if a >= 65:
            return ("belum_tidak_bekerja", "tidak_bekerja") if rng.random() < 0.6 else ("petani",)
        if m.jk == "P" and rng.random() < 0.45:
            return ("mengurus_rumah_tangga", "ibu_rumah_tangga", "irt")
        return JOBS(rng)

    def _rumah(self, rng: random.Random, size: int) -> dict[str, Any]:
        one = self.pick.one
        # Floor area: poor houses are often under the 8 m2 per person of the old criteria.
        luas = max(9.0, size * rng.uniform(4.0, 14.0))
        return {
            LUAS_LANTAI: f"{luas:.1f}".removesuffix(".0"),
            F.RUMAH_LANTAI: one(rng, F.RUMAH_LANTAI, *LANTAI(rng)),
            F.RUMAH_DINDING: one(rng, F.RUMAH_DINDING, *DINDING(rng)),
            F.RUMAH_ATAP: one(rng, F.RUMAH_ATAP, *ATAP(rng)),
            F.RUMAH_AIR: one(rng, F.RUMAH_AIR, *AIR(rng)),
            F.RUMAH_PENERANGAN: one(rng, F.RUMAH_PENERANGAN, *PENERANGAN(rng)),
        }

    def _bencana(self, rng: random.Random, today: dt.date, sosial: bool) -> dict[str, Any]:
        wants = BENCANA_SOSIAL(rng) if sosial else BENCANA(rng)
        return {
            F.BENCANA_JENIS: self.pick.one(rng, F.BENCANA_JENIS, *wants),
            F.BENCANA_TANGGAL: (today - dt.timedelta(days=rng.randint(10, 700))).isoformat(),
        }

    # --- PSKS -----------------------------------------------------------------------------------

    def psks_submission(self, rng: random.Random, submitted_at: dt.datetime) -> Generated:
        visit, start = self._visit(rng, submitted_at)
        today = dt.date.fromisoformat(visit[F.TODAY])
        lokasi, desa = self._wilayah(rng)
        kunjungan, submitted_by = self._kunjungan(rng, desa.kode_kecamatan)
        code = self.psks_choice(rng)
        subjek = self.psks[code].jenis_subjek
        answers: dict[str, Any] = {**visit, **kunjungan, **lokasi}
        photo = self._photo(rng, start, 0.4)
        if photo:
            answers[F.FOTO_RUMAH] = photo
        answers[F.KATEGORI_PSKS] = self.pick.one(rng, F.KATEGORI_PSKS, code)
        answers[F.JENIS_SUBJEK] = subjek
        ethnic = ETHNIC(rng)
        if subjek in ("perorangan", "keluarga"):
            # A family (keluarga pioner) is recorded by its head, in the same person group.
            jk = "P" if code == "wanita_pemimpin_kesos" else ("L" if rng.random() < 0.6 else "P")
            age = rng.randint(20, 59)
            m = Member(jk, self._born(rng, age, today), age, "head")
            m.umur = completed_years(m.born, today)
            m.nama = self._name(rng, ethnic, jk)
            m.nik = self._nik(rng, m, desa.kode_kecamatan)
            answers[F.PSKS_NIK] = m.nik
            answers[F.PSKS_NAMA] = m.nama
            answers[F.PSKS_JENIS_KELAMIN] = self.pick.one(rng, F.PSKS_JENIS_KELAMIN, m.jk)
            answers[F.PSKS_TANGGAL_LAHIR] = m.born.isoformat()
            if rng.random() < 0.8:
                answers[F.PSKS_HP] = self._hp(rng)
            if subjek == "perorangan":
                answers[F.PSKS_PELATIHAN] = self.pick.many(
                    rng,
                    F.PSKS_PELATIHAN,
                    PELATIHAN.get(code, ["bimtek_kesos"])
                    if rng.random() < 0.75
                    else ["belum_pernah"],
                )
            else:
                answers[F.PSKS_NO_KK] = self._no_kk(rng, desa.kode_kecamatan, today, m)
                answers[JUMLAH_ANGGOTA_KELUARGA] = str(rng.randint(2, 7))
        else:
            templates = N.LEMBAGA.get(code, ["Lembaga Sosial {desa}"])
            answers[F.LEMBAGA_NAMA] = rng.choice(templates).format(desa=desa.nama)
            status = ("berbadan_hukum",) if subjek == "badan_usaha" else STATUS_HUKUM(rng)
            answers[STATUS_HUKUM_PATH] = self.pick.one(rng, STATUS_HUKUM_PATH, *status)
            if "belum" not in answers[STATUS_HUKUM_PATH]:  # no number before registration
                year = rng.randint(2008, today.year)
                answers[F.LEMBAGA_NO_REGISTRASI] = (
                    f"460/{rng.randint(10, 999)}/DINSOS-P3A/{year}"
                    if subjek == "lembaga"
                    else f"AHU-{rng.randint(1, 99999):07d}.AH.01.{rng.randint(1, 30):02d}."
                    f"TAHUN {year}"
                )
            answers[F.LEMBAGA_KETUA] = self._name(rng, ethnic, "L" if rng.random() < 0.7 else "P")
            answers[HP_KONTAK] = self._hp(rng)
            answers[F.LEMBAGA_JUMLAH_ANGGOTA] = str(rng.randint(5, 60))
            wants = BIDANG.get(code) or rng.sample(BIDANG_UMUM, rng.randint(1, 3))
            answers[F.LEMBAGA_BIDANG] = self.pick.many(rng, F.LEMBAGA_BIDANG, wants)
        return Generated(
            self._keep(answers), photo if F.FOTO_RUMAH in answers else None, submitted_by
        )

    def submission(self, rng: random.Random, submitted_at: dt.datetime) -> Generated:
        if self.form == "psks":
            return self.psks_submission(rng, submitted_at)
        return self.ppks_submission(rng, submitted_at)


JOBS = Weighted(
    [
        (45, ("petani", "petani_pekebun", "pekebun")),
        (15, ("buruh", "buruh_harian_lepas", "buruh_tani")),
        (8, ("wiraswasta",)),
        (6, ("pedagang",)),
        (3, ("nelayan",)),
        (4, ("pns", "aparatur_sipil_negara", "asn")),
        (6, ("karyawan_swasta", "karyawan")),
        (1, ("tni_polri", "tni", "polri")),
        (7, ("belum_tidak_bekerja", "tidak_bekerja")),
        (5, ("lainnya",)),
    ]
)
LANTAI = Weighted(
    [
        (25, ("tanah",)),
        (40, ("kayu", "papan")),
        (10, ("bambu",)),
        (20, ("semen",)),
        (5, ("keramik",)),
    ]
)
DINDING = Weighted([(60, ("kayu", "papan")), (20, ("bambu",)), (20, ("tembok",))])
ATAP = Weighted(
    [(60, ("seng",)), (25, ("daun", "rumbia", "ijuk")), (10, ("asbes",)), (5, ("genteng",))]
)
AIR = Weighted(
    [
        (35, ("sumur",)),
        (20, ("sungai",)),
        (15, ("mata_air",)),
        (20, ("air_hujan", "hujan")),
        (10, ("leding", "pdam", "ledeng")),
    ]
)
PENERANGAN = Weighted(
    [
        (70, ("listrik_pln", "pln")),
        (15, ("listrik_non_pln", "non_pln")),
        (10, ("pelita", "lampu_minyak")),
        (5, ("tidak_ada",)),
    ]
)
BENCANA = Weighted(
    [
        (45, ("banjir",)),
        (15, ("tanah_longsor", "longsor")),
        (20, ("kebakaran_hutan_lahan", "kebakaran")),
        (15, ("angin_puting_beliung", "angin")),
        (5, ("kekeringan",)),
    ]
)
BENCANA_SOSIAL = Weighted(
    [
        (60, ("konflik_sosial", "konflik")),
        (25, ("kebakaran_permukiman",)),
        (15, ("bencana_sosial_lain",)),
    ]
)
STATUS_HUKUM = Weighted(
    [(60, ("terdaftar",)), (25, ("berbadan_hukum",)), (15, ("belum_terdaftar",))]
)
PELATIHAN: dict[str, list[str]] = {
    "pekerja_sosial_masyarakat": ["diklat_psm"],
    "taruna_siaga_bencana": ["diklat_tagana"],
    "tksk": ["diklat_tksk", "bimtek_kesos"],
    "pekerja_sosial_profesional": ["pendidikan_pekerjaan_sosial", "sertifikasi_pekerja_sosial"],
    "penyuluh_sosial": ["bimtek_kesos"],
    "wanita_pemimpin_kesos": ["bimtek_kesos"],
}
BIDANG: dict[str, list[str]] = {
    "karang_taruna": ["kepemudaan"],
    "lembaga_konsultasi_kesejahteraan_keluarga": ["keluarga"],
    "dunia_usaha": ["csr"],
}
BIDANG_UMUM = [
    "anak",
    "lanjut_usia",
    "disabilitas",
    "fakir_miskin",
    "rehabilitasi_sosial",
    "pemberdayaan_perempuan",
    "korban_bencana",
]

# Paths of the forms beyond the contract in surveys/paths.py (answered only if the form has them).
JUMLAH_ANGGOTA = "keluarga/jumlah_anggota"
PERLINDUNGAN_KHUSUS = F.A + "jenis_perlindungan_khusus"
LUAS_LANTAI = "rumah/luas_lantai"
JUMLAH_ANGGOTA_KELUARGA = "keluarga_psks/jumlah_anggota_keluarga"
STATUS_HUKUM_PATH = "lembaga/status_hukum"
HP_KONTAK = "lembaga/hp_kontak"
