"""What the simulator knows about a form: question paths and types, choice lists, Kobo `content`.

Read from the project's own XLSForms (`xlsforms/ppks.xlsx`, `psks.xlsx`) when they exist, or from
any uploaded XLSForm (imports). The kecamatan, desa and category lists are filled from registry
data, as `babale forms build` does, so generated answers use exactly the codes the built form
offers. Without the xlsx (a fresh checkout mid-build) a minimal form made from
`surveys/paths.py` stands in, so the simulator still serves every contract path.
"""

from __future__ import annotations

import random
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from pyxform.xls2xform import get_xlsform

from kobo_simulator.ids import kuid
from registry import kategori, wilayah
from surveys import paths as F

GROUP_TYPES = ("begin group", "begin repeat", "begin loop")
END_TYPES = ("end group", "end repeat", "end loop")
# Row keys copied into Kobo content rows when present (besides type/name/label).
CONTENT_KEYS = (
    "required",
    "relevant",
    "constraint",
    "calculation",
    "appearance",
    "parameters",
    "repeat_count",
    "choice_filter",
    "default",
    "read_only",
)


@dataclass(frozen=True)
class Question:
    path: str
    name: str
    type: str  # base type: text, integer, select_one, select_multiple, geopoint, image, ...
    list_name: str | None = None
    repeat: str | None = None  # path of the enclosing repeat, if any


@dataclass
class FormSpec:
    """The parts of an XLSForm the simulator uses."""

    title: str
    questions: dict[str, Question] = field(default_factory=dict)
    choices: dict[str, list[str]] = field(default_factory=dict)
    content: dict[str, Any] = field(default_factory=dict)

    def choice_names(self, path: str) -> list[str] | None:
        """The choice names of a select question, or None when `path` is not a select."""
        q = self.questions.get(path)
        if q is None or q.list_name is None:
            return None
        return self.choices.get(q.list_name, [])

    @property
    def geopoints(self) -> list[str]:
        return [p for p, q in self.questions.items() if q.type == "geopoint"]

    @property
    def selects(self) -> dict[str, Question]:
        return {p: q for p, q in self.questions.items() if q.list_name is not None}


# --- registry lists, filled into the form as the build does ----------------------------------


def registry_choices() -> dict[str, list[tuple[str, str, dict[str, str]]]]:
    """(name, label, extra columns) per contract path that takes its list from registry data."""
    return {
        F.KECAMATAN: [(k.kode, k.nama, {}) for k in wilayah.kecamatan().values()],
        F.DESA: [
            (d.kode, d.nama, {"kecamatan": d.kode_kecamatan}) for d in wilayah.desa().values()
        ],
        F.KATEGORI_PPKS: [(k.kode, k.nama, {}) for k in kategori.ppks().values()],
        F.KATEGORI_PSKS: [(k.kode, k.nama, {}) for k in kategori.psks().values()],
    }


# --- building a spec from XLSForm sheets ----------------------------------------------------


def _norm_type(raw: str) -> str:
    return " ".join(raw.strip().lower().replace("_", " ").split())


def _split_type(raw: str) -> tuple[str, str | None]:
    """`select_one kec or_other` -> ("select_one", "kec"); `integer` -> ("integer", None)."""
    parts = raw.strip().split()
    if not parts:
        return "", None
    head = parts[0]
    if head in ("select_one", "select_multiple") and len(parts) > 1:
        return head, parts[1]
    if head in ("select_one_from_file", "select_multiple_from_file"):
        return head, None
    return head, None


def _label_columns(rows: Iterable[dict[str, str]]) -> list[str | None]:
    """Languages in column order: `label::Indonesia (id)` -> "Indonesia (id)"; `label` -> None."""
    langs: list[str | None] = []
    for row in rows:
        for key in row:
            if key == "label" and None not in langs:
                langs.append(None)
            elif key.startswith("label::"):
                lang = key.split("::", 1)[1].strip()
                if lang not in langs:
                    langs.append(lang)
    return langs or [None]


def _labels(row: dict[str, str], langs: Sequence[str | None]) -> list[str | None]:
    return [row.get("label" if lang is None else f"label::{lang}") for lang in langs]


def spec_from_sheets(
    survey: Sequence[dict[str, str]],
    choices: Sequence[dict[str, str]],
    settings: Sequence[dict[str, str]],
    *,
    title: str,
    rng: random.Random,
    fill_registry: bool,
) -> FormSpec:
    """Parse survey/choices rows (pyxform's dict form) into a FormSpec with Kobo `content`."""
    spec = FormSpec(title=(settings[0].get("form_title") if settings else None) or title)
    langs = _label_columns(list(survey) + list(choices))
    stack: list[tuple[str, str]] = []  # (name, kind) of open groups
    rows: list[dict[str, Any]] = []
    for raw in survey:
        type_raw = str(raw.get("type", "")).strip()
        if not type_raw:
            continue
        norm = _norm_type(type_raw)
        name = str(raw.get("name", "")).strip()
        if norm in END_TYPES:
            if stack:
                stack.pop()
            rows.append({"type": norm.replace(" ", "_"), "$kuid": kuid(rng)})
            continue
        path = "/".join([n for n, _ in stack] + [name])
        row: dict[str, Any] = {"name": name}
        if norm in GROUP_TYPES:
            kind = "repeat" if "repeat" in norm or "loop" in norm else "group"
            row["type"] = f"begin_{kind}"
            stack.append((name, kind))
        else:
            base, list_name = _split_type(type_raw)
            row["type"] = base
            if list_name:
                row["select_from_list_name"] = list_name
            repeat = next(
                (
                    "/".join(n for n, _ in stack[: i + 1])
                    for i in range(len(stack) - 1, -1, -1)
                    if stack[i][1] == "repeat"
                ),
                None,
            )
            spec.questions[path] = Question(path, name, base, list_name, repeat)
        row["$kuid"] = kuid(rng)
        if any(k == "label" or k.startswith("label::") for k in raw):
            row["label"] = _labels(raw, langs)
        row["$xpath"] = path
        for key in CONTENT_KEYS:
            if key in raw and str(raw[key]).strip():
                value = str(raw[key]).strip()
                row[key] = (
                    value.lower() in ("yes", "true", "true()") if key == "required" else value
                )
        row["$autoname"] = name
        rows.append(row)

    choice_rows: list[dict[str, Any]] = []
    for raw in choices:
        list_name = str(raw.get("list_name", "")).strip()
        name = str(raw.get("name", "")).strip()
        if not list_name or not name:
            continue
        spec.choices.setdefault(list_name, []).append(name)
        extra = {
            k: v
            for k, v in raw.items()
            if k not in ("list_name", "name", "label") and not k.startswith(("label::", "media::"))
        }
        choice_rows.append(
            {
                "name": name,
                "$kuid": kuid(rng),
                "label": _labels(raw, langs),
                "list_name": list_name,
                "$autovalue": name,
                **extra,
            }
        )

    if fill_registry:
        # As `babale forms build` does: the lists behind these questions come from registry data.
        for path, items in registry_choices().items():
            q = spec.questions.get(path)
            if q is None or q.list_name is None:
                continue
            choice_rows = [c for c in choice_rows if c["list_name"] != q.list_name]
            spec.choices[q.list_name] = [name for name, _, _ in items]
            for name, label, extra in items:
                choice_rows.append(
                    {
                        "name": name,
                        "$kuid": kuid(rng),
                        "label": [label] * len(langs),
                        "list_name": q.list_name,
                        "$autovalue": name,
                        **extra,
                    }
                )

    spec.content = {
        "schema": "1",
        "survey": rows,
        "choices": choice_rows,
        "settings": dict(settings[0]) if settings else {},
        "translated": ["hint", "label"],
        "translations": langs,
    }
    return spec


def spec_from_xlsx(data: bytes, *, title: str, rng: random.Random, fill_registry: bool) -> FormSpec:
    """Read an XLSForm (xlsx bytes) with pyxform's reader. Raises pyxform's errors as they come."""
    book = get_xlsform(data)
    return spec_from_sheets(
        book.survey or [],
        book.choices or [],
        book.settings or [],
        title=title,
        rng=rng,
        fill_registry=fill_registry,
    )


# --- the project's own forms ------------------------------------------------------------------

TITLES = {
    "ppks": "Pendataan PPKS Kabupaten Bengkayang",
    "psks": "Pendataan PSKS Kabupaten Bengkayang",
}


def project_xlsx(form: str) -> tuple[bytes, bool] | None:
    """Our `xlsforms/<form>.xlsx` as Kobo would receive it, and whether the build filled it.

    The build's own filler (`xlsforms.workbook.fill`: registry lists, rule markers) is used when
    it works; otherwise the source as it is. None while the xlsx does not exist yet.
    """
    source = resources.files("xlsforms").joinpath(f"{form}.xlsx")
    if not source.is_file():
        return None
    path = Path(str(source))
    return _filled(path, path.stat().st_mtime_ns)


@lru_cache(maxsize=8)
def _filled(path: Path, mtime_ns: int) -> tuple[bytes, bool]:
    try:
        from xlsforms.workbook import fill

        with tempfile.TemporaryDirectory() as tmp:
            dest = Path(tmp) / path.name
            if not fill(path, dest) and dest.is_file():
                return dest.read_bytes(), True
    except Exception:  # noqa: S110 - the build is another part's work in progress; fall back
        pass
    return path.read_bytes(), False


@lru_cache(maxsize=8)
def _sheets(data: bytes) -> tuple[list[dict[str, str]], list[dict[str, str]], list[dict[str, str]]]:
    book = get_xlsform(data)
    return list(book.survey or []), list(book.choices or []), list(book.settings or [])


def project_spec(form: str, rng: random.Random) -> FormSpec:
    """The spec of our own PPKS or PSKS form (registry lists filled in)."""
    if form not in TITLES:
        raise ValueError(f"unknown form {form!r}: expected 'ppks' or 'psks'")
    found = project_xlsx(form)
    if found is not None:
        data, filled = found
        survey, choices, settings = _sheets(data)
        return spec_from_sheets(
            survey, choices, settings, title=TITLES[form], rng=rng, fill_registry=not filled
        )
    survey, choices = fallback_sheets(form)
    return spec_from_sheets(
        survey,
        choices,
        [{"form_title": TITLES[form], "form_id": form}],
        title=TITLES[form],
        rng=rng,
        fill_registry=True,
    )


# Choice lists of the stand-in form; also the vocabulary the generator prefers when the real form
# offers a matching name.
FALLBACK_LISTS: dict[str, list[str]] = {
    "ya_tidak": ["ya", "tidak"],
    "jenis_kelamin": ["L", "P"],
    "hubungan": [
        "kepala_keluarga",
        "istri",
        "suami",
        "anak",
        "menantu",
        "cucu",
        "orang_tua",
        "mertua",
        "famili_lain",
        "lainnya",
    ],
    "status_perkawinan": ["belum_kawin", "kawin", "cerai_hidup", "cerai_mati"],
    "pendidikan": ["tidak_sekolah", "belum_sekolah", "sd", "smp", "sma", "diploma", "s1", "s2_s3"],
    "pekerjaan": [
        "belum_tidak_bekerja",
        "pelajar",
        "mengurus_rumah_tangga",
        "petani",
        "nelayan",
        "buruh",
        "pedagang",
        "wiraswasta",
        "pns",
        "tni_polri",
        "karyawan_swasta",
        "pensiunan",
        "lainnya",
    ],
    "jenis_disabilitas": ["fisik", "netra", "rungu_wicara", "mental", "intelektual", "ganda"],
    "lantai": ["tanah", "bambu", "kayu", "semen", "keramik"],
    "dinding": ["bambu", "kayu", "tembok"],
    "atap": ["daun", "seng", "asbes", "genteng"],
    "sumber_air": ["sungai", "mata_air", "sumur", "air_hujan", "pdam", "air_kemasan"],
    "penerangan": ["listrik_pln", "listrik_non_pln", "pelita", "tidak_ada"],
    "jenis_bencana": [
        "banjir",
        "tanah_longsor",
        "kebakaran",
        "angin_puting_beliung",
        "kekeringan",
        "konflik_sosial",
    ],
    "bidang_layanan": [
        "anak",
        "lansia",
        "disabilitas",
        "kemiskinan",
        "bencana",
        "rehabilitasi_sosial",
        "pemberdayaan",
    ],
    "jenis_subjek": ["perorangan", "keluarga", "lembaga", "badan_usaha"],
    "kecamatan": [],
    "desa": [],
    "kategori_ppks": [],
    "kategori_psks": [],
}

_COMMON: list[tuple[str, str]] = [
    (F.START, "start"),
    (F.END, "end"),
    (F.TODAY, "today"),
    (F.NAMA_PETUGAS, "text"),
    (F.HP_PETUGAS, "text"),
    (F.PERSETUJUAN, "select_one ya_tidak"),
    (F.KECAMATAN, "select_one kecamatan"),
    (F.DESA, "select_one desa"),
    (F.DUSUN, "text"),
    (F.RT, "text"),
    (F.RW, "text"),
    (F.ALAMAT, "text"),
    (F.LOKASI, "geopoint"),
    (F.FOTO_RUMAH, "image"),
]
_PPKS: list[tuple[str, str]] = [
    (F.NO_KK, "text"),
    (F.NIK, "text"),
    (F.NAMA, "text"),
    (F.JENIS_KELAMIN, "select_one jenis_kelamin"),
    (F.TEMPAT_LAHIR, "text"),
    (F.TANGGAL_LAHIR, "date"),
    (F.UMUR, "calculate"),
    (F.HUBUNGAN, "select_one hubungan"),
    (F.STATUS_PERKAWINAN, "select_one status_perkawinan"),
    (F.PENDIDIKAN, "select_one pendidikan"),
    (F.PEKERJAAN, "select_one pekerjaan"),
    (F.NAMA_IBU_KANDUNG, "text"),
    (F.KATEGORI_PPKS, "select_multiple kategori_ppks"),
    (F.JENIS_DISABILITAS, "select_multiple jenis_disabilitas"),
    (F.RUMAH_LANTAI, "select_one lantai"),
    (F.RUMAH_DINDING, "select_one dinding"),
    (F.RUMAH_ATAP, "select_one atap"),
    (F.RUMAH_AIR, "select_one sumber_air"),
    (F.RUMAH_PENERANGAN, "select_one penerangan"),
    (F.BENCANA_JENIS, "select_one jenis_bencana"),
    (F.BENCANA_TANGGAL, "date"),
    (F.MUSDES_NOMOR, "text"),
    (F.MUSDES_TANGGAL, "date"),
]
_PSKS: list[tuple[str, str]] = [
    (F.KATEGORI_PSKS, "select_one kategori_psks"),
    (F.JENIS_SUBJEK, "calculate"),
    (F.PSKS_NIK, "text"),
    (F.PSKS_NAMA, "text"),
    (F.PSKS_JENIS_KELAMIN, "select_one jenis_kelamin"),
    (F.PSKS_TANGGAL_LAHIR, "date"),
    (F.PSKS_HP, "text"),
    (F.PSKS_PELATIHAN, "select_one ya_tidak"),
    (F.PSKS_NO_KK, "text"),
    (F.LEMBAGA_NAMA, "text"),
    (F.LEMBAGA_NO_REGISTRASI, "text"),
    (F.LEMBAGA_KETUA, "text"),
    (F.LEMBAGA_JUMLAH_ANGGOTA, "integer"),
    (F.LEMBAGA_BIDANG, "select_multiple bidang_layanan"),
]


def fallback_sheets(form: str) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """Survey and choices rows of the stand-in form, with groups opened as the paths require."""
    items = _COMMON + (_PPKS if form == "ppks" else _PSKS)
    survey: list[dict[str, str]] = []
    open_groups: list[str] = []
    for path, qtype in items:
        *groups, name = path.split("/")
        while open_groups and open_groups != groups[: len(open_groups)]:
            kind = "end_repeat" if "/".join(open_groups) == F.ANGGOTA else "end_group"
            survey.append({"type": kind})
            open_groups.pop()
        for g in groups[len(open_groups) :]:
            open_groups.append(g)
            kind = "begin_repeat" if "/".join(open_groups) == F.ANGGOTA else "begin_group"
            survey.append({"type": kind, "name": g, "label": g.replace("_", " ").title()})
        survey.append({"type": qtype, "name": name, "label": name.replace("_", " ").title()})
    while open_groups:
        kind = "end_repeat" if "/".join(open_groups) == F.ANGGOTA else "end_group"
        survey.append({"type": kind})
        open_groups.pop()
    choices = [
        {"list_name": ln, "name": n, "label": n.replace("_", " ")}
        for ln, names in FALLBACK_LISTS.items()
        for n in names
    ]
    return survey, choices
