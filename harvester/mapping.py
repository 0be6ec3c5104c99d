"""Raw Kobo JSON -> registry rows: pure functions, no database, no HTTP, and nothing raises.

A submission from an older form version, with fields missing or extra, maps what it can. A value
of the wrong kind (a number, list or dict where text was expected, 10 kB of text, a repeat that
is a dict, a garbage geopoint) is stored whole, as text where the column is text, and flagged;
the raw payload, kept beside the rows, holds everything else. Column names are exactly those of
`registry.models` (through `registry.columns`, so the page preparer needs no SQLAlchemy); data
paths come from `surveys.paths`, and each member answer's column and path from
`surveys.spec.PPKS.member_answers`.

One submission gives one `Mapped`: its rows by table, its quality flags, one payload hash (what
change detection compares), its Kobo validation status (read once, into the submission's system
columns) and its attachments. `harvester.store` writes it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from registry import jsonio, names, nik, quality, wilayah
from registry.columns import (
    HOUSEHOLD_COLUMNS,
    KATEGORI_KODE_MAX,
    PERSON_COLUMNS,
    PSKS_COLUMNS,
    SUBMISSION_LENGTHS,
)
from registry.quality import PERINGATAN, Flag, repeat_path
from surveys import paths as f
from surveys.spec import PPKS

__all__ = [
    "HOUSEHOLD_COLUMNS",
    "PERSON_COLUMNS",
    "PSKS_COLUMNS",
    "Flag",
    "Mapped",
    "map_submission",
    "payload_hash",
    "system_fields",
]

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
BIGINT_MAX = 2**63 - 1
LONG_TEXT = 2000  # characters; longer answers are kept whole but pointed out to reviewers
# Kobo keys left out of the payload hash: `_validation_status` changes when a reviewer's decision
# is written back, which is not an edit of the answers.
VOLATILE_KEYS = frozenset({"_validation_status"})
VALIDATION_COLUMNS = ("kobo_validation_uid", "kobo_validation_by", "kobo_validation_timestamp")


@dataclass
class Mapped:
    """One submission mapped: its rows by table (dicts keyed by column name), its quality flags
    (they become `QualityFlag` rows), its hash and its attachments."""

    submission: dict[str, Any]  # kode_kecamatan, kode_desa, nama_petugas
    household: dict[str, Any] | None = None  # Household columns (PPKS)
    persons: list[dict[str, Any]] = field(default_factory=list)  # Person columns + "kategori"
    psks_entry: dict[str, Any] | None = None  # PsksEntry columns (PSKS)
    flags: list[Flag] = field(default_factory=list)
    system: dict[str, Any] = field(default_factory=dict)  # what system_fields() returns
    kobo_id: int | None = None  # Kobo's `_id` (also in `system`)
    payload_hash: str = ""  # payload_hash() of the payload: equal hashes, same answers
    payload_json: str = "{}"  # the payload as the JSON text stored verbatim
    attachments: list[dict[str, Any]] = field(default_factory=list)  # Attachment columns

    @property
    def niks(self) -> set[str]:
        """The valid NIKs it names (`nik_sah`, worked out in the page preparer), for the person
        registry."""
        rows = self.persons if self.psks_entry is None else [self.psks_entry]
        return {n for row in rows if (n := row.get("nik_sah"))}

    @property
    def validation(self) -> dict[str, Any]:
        """Kobo's validation status as its three Submission columns."""
        return {name: self.system.get(name) for name in VALIDATION_COLUMNS}


# --- values -------------------------------------------------------------------------------------


_LEAF_CACHE: dict[tuple[Any, ...], dict[str, list[str]]] = {}


def _leaf_index(keys: tuple[Any, ...]) -> dict[str, list[str]]:
    """Question name -> the keys that end in it. Submissions of one form share a handful of key
    sets, so the index is cached per key set (bounded)."""
    index = _LEAF_CACHE.get(keys)
    if index is None:
        index = {}
        for k in keys:
            if type(k) is str and k[:1] != "_":
                index.setdefault(k.rpartition("/")[2], []).append(k)
        if len(_LEAF_CACHE) >= 2048:
            _LEAF_CACHE.clear()
        _LEAF_CACHE[keys] = index
    return index


class _Reader:
    """Reads answers from one dict (the submission, or one repeat item), collecting flags."""

    def __init__(self, data: dict[str, Any], flags: list[Flag], at: Callable[[str], str]):
        self.data = data
        self.flags = flags
        self.at = at  # data path -> flag field (adds the repeat position inside a repeat)
        self._leaves: dict[str, list[str]] | None = None  # question name -> keys, on first miss

    def raw(self, path: str) -> Any:
        """The answer at `path`; an older form version may have had the question in another
        group, so fall back to the one key with the same question name."""
        value = self.data.get(path)
        if value is not None or path in self.data:
            return value
        if self._leaves is None:
            self._leaves = _leaf_index(tuple(self.data))
        matches = self._leaves.get(path.rpartition("/")[2], ())
        return self.data[matches[0]] if len(matches) == 1 else None

    def text(self, path: str) -> str | None:
        """The answer as text, whole: Kobo sends strings; anything else is serialised and
        flagged, never dropped or cut."""
        value = self.raw(path)
        if value is None:
            return None
        if _plain(value):
            return value  # the common case, without building the flag's field path
        return as_text(value, self.at(path), self.flags)


def as_text(value: Any, where: str, flags: list[Flag]) -> str | None:
    """`value` as text for a Text column: whole, never cut; anything odd is flagged."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
        kind = (
            "daftar" if isinstance(value, list) else "objek" if isinstance(value, dict) else "angka"
        )
        flags.append(
            Flag(
                where,
                "bukan_teks",
                f"Isian berupa {kind}, bukan teks; disimpan sebagai teks.",
                PERINGATAN,
            )
        )
    if _UNSTORABLE.search(text):
        # NUL and lone surrogates cannot be stored as text (PostgreSQL, UTF-8); XML from ODK
        # never carries them, so this is damage, shown to the reviewer rather than a crash.
        text = _UNSTORABLE.sub("\ufffd", text)
        flags.append(
            Flag(
                where,
                "karakter_tidak_sah",
                "Isian memuat karakter yang tidak dapat disimpan; diganti dengan tanda "
                "pengganti (U+FFFD).",
                PERINGATAN,
            )
        )
    if len(text) > LONG_TEXT:
        flags.append(
            Flag(
                where,
                "teks_panjang",
                f"Isian sangat panjang ({len(text)} karakter); disimpan utuh, periksa isinya.",
                PERINGATAN,
            )
        )
    return text


def parse_geopoint(
    value: str | None, where: str, flags: list[Flag]
) -> tuple[float | None, float | None, float | None]:
    """ODK geopoint "lat lon alt acc" -> (latitude, longitude, accuracy); garbage is flagged."""
    if value is None:
        return None, None, None
    parts = value.split()
    try:
        numbers = [float(p) for p in parts[:4]]
    except ValueError:
        numbers = []
    ok = len(numbers) >= 2 and all(math.isfinite(n) for n in numbers)
    if ok and -90 <= numbers[0] <= 90 and -180 <= numbers[1] <= 180:
        accuracy = numbers[3] if len(numbers) >= 4 and numbers[3] >= 0 else None
        return numbers[0], numbers[1], accuracy
    flags.append(
        Flag(
            where,
            "lokasi_tidak_valid",
            f"Lokasi {quality.short(value)!r} bukan titik GPS (lintang bujur ketinggian akurasi).",
            PERINGATAN,
        )
    )
    return None, None, None


def _fits(column: str, value: str | None) -> str | None:
    """`value` if it fits the String(n) Submission column, else None: the column is a filter or
    a key, not storage, and the full value is kept in the mapped rows and the raw payload."""
    if value is None:
        return None
    return value if len(value) <= SUBMISSION_LENGTHS[column] else None


# --- system fields ------------------------------------------------------------------------------


def payload_hash(payload: Any) -> str:
    """sha256 hex of the canonical JSON (sorted keys, compact, UTF-8) of the answers: the
    payload without VOLATILE_KEYS, so a written-back review decision is not taken for an edit."""
    if isinstance(payload, dict) and not VOLATILE_KEYS.isdisjoint(payload):
        payload = {k: v for k, v in payload.items() if k not in VOLATILE_KEYS}
    return hashlib.sha256(jsonio.canonical(payload)).hexdigest()


def attachment_rows(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The Attachment columns of each usable item of Kobo's `_attachments`."""
    items = payload.get("_attachments")
    if not isinstance(items, list):
        return []
    rows = []
    for item in items:
        if not isinstance(item, dict) or not item.get("uid") or not item.get("download_url"):
            continue
        rows.append(
            {
                "uid": str(item["uid"]),
                "filename": str(item.get("media_file_basename") or item["uid"]),
                "mimetype": item.get("mimetype"),
                "question_xpath": item.get("question_xpath"),
                "download_url": str(item["download_url"]),
                "is_deleted_on_server": bool(item.get("is_deleted")),
            }
        )
    return rows


def parse_submission_time(value: Any) -> dt.datetime | None:
    """Kobo `_submission_time` ("YYYY-MM-DDTHH:MM:SS", UTC without offset) as aware UTC."""
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=dt.UTC)
        return parsed.astimezone(dt.UTC)
    except (ValueError, OverflowError):
        return None


def bigint(value: Any) -> int | None:
    """`value` as a BIGINT column value, or None when it is not a whole number that fits."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        return None
    number = int(value)
    return number if -BIGINT_MAX - 1 <= number <= BIGINT_MAX else None


def _system_text(value: Any, column: str) -> str | None:
    """A system value as text that fits its String(n) column, else None."""
    if value is None or isinstance(value, dict | list):
        return None
    text = _fits(column, str(value))
    return None if text is None or _UNSTORABLE.search(text) else text


def validation_of(row: dict[str, Any]) -> tuple[str | None, str | None, int | None]:
    """Kobo's `_validation_status` of a submission (or of a reconcile row) as the (uid, by_whom,
    timestamp) columns; a value that cannot be stored in its column is None."""
    status = row.get("_validation_status")
    if not isinstance(status, dict):
        return None, None, None
    return (
        _system_text(status.get("uid"), "kobo_validation_uid"),
        _system_text(status.get("by_whom"), "kobo_validation_by"),
        bigint(status.get("timestamp")),  # 1e30 or inf must not stop the run
    )


def _system(
    payload: dict[str, Any], digest: str | None = None
) -> tuple[dict[str, Any], list[Flag]]:
    flags: list[Flag] = []

    def text(key: str, column: str) -> str | None:
        value = payload.get(key)
        out = _system_text(value, column)
        if out is None and value is not None:
            flags.append(Flag(key, "sistem_tidak_valid", f"Nilai sistem {key} tidak dapat dibaca."))
        return out

    raw_id = payload.get("_id")
    if isinstance(raw_id, str) and raw_id.strip().isascii() and raw_id.strip().isdigit():
        raw_id = int(raw_id.strip())
    kobo_id = bigint(raw_id)
    if kobo_id is None:
        flags.append(
            Flag("_id", "sistem_tidak_valid", "Nomor _id Kobo tidak ada atau bukan angka.")
        )

    uuid = text("_uuid", "uuid")
    if uuid is None:
        instance_id = payload.get("meta/instanceID")
        if isinstance(instance_id, str):
            uuid = _system_text(instance_id.strip().removeprefix("uuid:") or None, "uuid")
    if uuid is None:
        # The column is required and `_uuid` changes on every edit: a content hash does both.
        uuid = digest or payload_hash(payload)
        flags.append(
            Flag("_uuid", "sistem_tidak_valid", "_uuid tidak ada; diganti sidik isi kiriman.")
        )
    root_uuid = text("meta/rootUuid", "root_uuid")
    if root_uuid is None and "meta/deprecatedID" not in payload:
        root_uuid = f"uuid:{uuid}"  # older servers: an unedited submission is its own root

    raw_time = payload.get("_submission_time")
    submitted_at = parse_submission_time(raw_time)
    if submitted_at is None:
        flags.append(
            Flag(
                "_submission_time",
                "waktu_kirim_tidak_valid",
                f"Waktu kirim {quality.short(raw_time)!r} tidak dapat dibaca.",
            )
        )

    values = {
        "kobo_id": kobo_id,
        "uuid": uuid,
        "root_uuid": root_uuid,
        "submitted_at": submitted_at,
        "submitted_by": text("_submitted_by", "submitted_by"),
        "form_version": text("__version__", "form_version"),
        **dict(zip(VALIDATION_COLUMNS, validation_of(payload), strict=True)),
    }
    return values, flags


def system_fields(payload: dict[str, Any]) -> dict[str, Any]:
    """The Submission columns read from Kobo's system keys (`_id`, `_uuid`, `meta/rootUuid`, ...).
    Always the same keys; a value that cannot be read is None (`uuid` falls back to a hash)."""
    if not isinstance(payload, dict):
        payload = {}
    return _system(payload)[0]


# --- forms --------------------------------------------------------------------------------------


def _reference_date(
    payload: dict[str, Any], submitted_at: dt.datetime | None, today: dt.date
) -> dt.date:
    """The day ages are counted on: the visit (`today` question), else the submission date
    in Bengkayang (WIB)."""
    visit = quality.parse_date(payload.get(f.TODAY))
    if visit is not None:
        return visit
    return submitted_at.astimezone(wilayah.WIB).date() if submitted_at is not None else today


def _wilayah(r: _Reader) -> tuple[str | None, str | None]:
    return r.text(f.KECAMATAN), r.text(f.DESA)


def _members(value: Any, flags: list[Flag]) -> list[tuple[int, dict[str, Any]]]:
    """(position, item) of the member repeat. Kobo sends a list of dicts; a lone dict is read as
    one member; anything else is flagged and left in the raw payload."""
    if value is None:
        return []
    if isinstance(value, dict):
        flags.append(
            Flag(
                f.ANGGOTA,
                "anggota_bukan_daftar",
                "Daftar anggota dikirim sebagai satu objek, bukan daftar; dibaca sebagai "
                "1 anggota.",
                PERINGATAN,
            )
        )
        return [(1, value)]
    if not isinstance(value, list):
        flags.append(
            Flag(
                f.ANGGOTA,
                "anggota_tidak_valid",
                "Daftar anggota tidak dapat dibaca; lihat data asli kiriman.",
            )
        )
        return []
    out = []
    for position, item in enumerate(value, start=1):
        if isinstance(item, dict):
            out.append((position, item))
        else:
            flags.append(
                Flag(
                    f"{f.ANGGOTA}[{position}]",
                    "anggota_tidak_valid",
                    f"Anggota ke-{position} tidak dapat dibaca; lihat data asli kiriman.",
                )
            )
    return out


# (column, path) of each member answer, from the survey definition.
_PERSON_FIELDS = tuple((a.column, a.path) for a in PPKS.member_answers)


def _plain(value: Any) -> bool:
    """A string to store as it is: not too long, no NUL, no lone surrogate (ASCII has none)."""
    return (
        type(value) is str
        and len(value) <= LONG_TEXT
        and ("\x00" not in value if value.isascii() else not _UNSTORABLE.search(value))
    )


def _person(position: int, item: dict[str, Any], flags: list[Flag]) -> tuple[dict[str, Any], Any]:
    row: dict[str, Any] = {"position": position}
    get = item.get
    reader = None
    for column, path in _PERSON_FIELDS:
        value = get(path)
        # Inlined common case (a plain string at its path): members are most of the work.
        if _plain(value):
            row[column] = value
        else:
            if reader is None:
                reader = _Reader(item, flags, lambda path: repeat_path(path, position))
            row[column] = reader.text(path)
    row["nik_sah"] = nik.valid_nik(row["nik"])
    row["tanggal_lahir_date"] = quality.parse_date(row["tanggal_lahir"])
    row["kunci_duplikat"], row["kunci_duplikat_akhir"] = names.block_keys(
        row["tanggal_lahir_date"], row["nama"]
    )
    # PersonKategori rows are for filters: unknown codes are kept (and flagged by the rules) as
    # long as they fit the column; the full answer stays in kategori_ppks.
    codes = row["kategori_ppks"]
    row["kategori"] = (
        [code for code in quality.kategori_codes(codes) if len(code) <= KATEGORI_KODE_MAX]
        if codes
        else []
    )
    umur = get(f.UMUR)
    if umur is None:
        if reader is None:
            reader = _Reader(item, flags, lambda path: repeat_path(path, position))
        umur = reader.raw(f.UMUR)
    return row, umur


def _map_ppks(payload: dict[str, Any], flags: list[Flag], on: dt.date) -> Mapped:
    r = _Reader(payload, flags, lambda path: path)
    kecamatan, desa = _wilayah(r)
    lokasi = r.text(f.LOKASI)
    lat, lon, acc = parse_geopoint(lokasi, f.LOKASI, flags)
    household: dict[str, Any] = dict.fromkeys(HOUSEHOLD_COLUMNS)
    household.update(
        no_kk=r.text(f.NO_KK),
        kode_kecamatan=kecamatan,
        kode_desa=desa,
        dusun=r.text(f.DUSUN),
        rt=r.text(f.RT),
        rw=r.text(f.RW),
        alamat=r.text(f.ALAMAT),
        latitude=lat,
        longitude=lon,
        gps_accuracy=acc,
        foto_rumah=r.text(f.FOTO_RUMAH),
    )
    persons: list[dict[str, Any]] = []
    umur: dict[int, Any] = {}
    for position, item in _members(r.raw(f.ANGGOTA), flags):
        row, age = _person(position, item, flags)
        persons.append(row)
        umur[position] = age
    flags += quality.check_consent(r.raw(f.PERSETUJUAN))
    flags += quality.check_household(household, persons, on=on, umur=umur, answers=payload)
    return Mapped(
        submission=_submission_columns(r, kecamatan, desa),
        household=household,
        persons=persons,
    )


def _map_psks(payload: dict[str, Any], flags: list[Flag], on: dt.date) -> Mapped:
    r = _Reader(payload, flags, lambda path: path)
    kecamatan, desa = _wilayah(r)
    lat, lon, _acc = parse_geopoint(r.text(f.LOKASI), f.LOKASI, flags)
    entry: dict[str, Any] = dict.fromkeys(PSKS_COLUMNS)
    entry.update(
        kategori_psks=r.text(f.KATEGORI_PSKS),
        jenis_subjek=r.text(f.JENIS_SUBJEK),
        kode_kecamatan=kecamatan,
        kode_desa=desa,
        alamat=r.text(f.ALAMAT),
        latitude=lat,
        longitude=lon,
        nik=r.text(f.PSKS_NIK),
        nama=r.text(f.PSKS_NAMA),
        jenis_kelamin=r.text(f.PSKS_JENIS_KELAMIN),
        tanggal_lahir=r.text(f.PSKS_TANGGAL_LAHIR),
        no_hp=r.text(f.PSKS_HP),
        pelatihan=r.text(f.PSKS_PELATIHAN),
        no_kk=r.text(f.PSKS_NO_KK),
        nama_lembaga=r.text(f.LEMBAGA_NAMA),
        no_registrasi=r.text(f.LEMBAGA_NO_REGISTRASI),
        nama_ketua=r.text(f.LEMBAGA_KETUA),
        jumlah_anggota=r.text(f.LEMBAGA_JUMLAH_ANGGOTA),
        bidang_layanan=r.text(f.LEMBAGA_BIDANG),
    )
    entry["nik_sah"] = nik.valid_nik(entry["nik"])
    persetujuan = r.raw(f.PERSETUJUAN)
    flags += quality.check_consent(persetujuan)
    consented = str(persetujuan or "").strip().lower() == "ya"
    flags += quality.check_psks(entry, on=on, consented=consented, lokasi=r.raw(f.LOKASI))
    return Mapped(
        submission=_submission_columns(r, kecamatan, desa),
        psks_entry=entry,
    )


def _submission_columns(r: _Reader, kecamatan: str | None, desa: str | None) -> dict[str, Any]:
    """The columns the review app scopes and filters on. A known desa decides the kecamatan, so
    a kecamatan answered wrongly (flagged) cannot hide a household from its own verifier."""
    owner = wilayah.kecamatan_of(desa) if desa else None
    if owner is not None:
        kecamatan = owner.kode
    return {
        "kode_kecamatan": _fits("kode_kecamatan", kecamatan),
        "kode_desa": _fits("kode_desa", desa),
        "nama_petugas": r.text(f.NAMA_PETUGAS),
    }


_MAPPERS = {"ppks": _map_ppks, "psks": _map_psks}


def map_submission(form: str, payload: dict[str, Any], *, today: dt.date | None = None) -> Mapped:
    """The registry rows, quality flags, hash and attachments of one Kobo submission of `form`
    ("ppks"|"psks").

    Ages for the category rules are counted on the visit date (`today` question), else the
    submission date, else `today` (default: the current date).
    """
    flags: list[Flag] = []
    empty = {"kode_kecamatan": None, "kode_desa": None, "nama_petugas": None}
    if not isinstance(payload, dict):
        flags.append(Flag("", "kiriman_tidak_valid", "Kiriman bukan objek JSON; tidak dipetakan."))
        return Mapped(
            submission=empty, flags=quality.localised(flags), payload_hash=payload_hash(payload)
        )
    digest = payload_hash(payload)
    system, system_flags = _system(payload, digest)
    result = Mapped(
        submission=empty,
        flags=flags,
        system=system,
        kobo_id=system["kobo_id"],
        payload_hash=digest,
        payload_json=jsonio.dumps(payload),
        attachments=attachment_rows(payload),
    )
    mapper = _MAPPERS.get(form)
    if mapper is None:
        flags.append(
            Flag("", "form_tidak_dikenal", f"Formulir {quality.short(form)!r} tidak dikenal.")
        )
        result.flags = quality.localised(flags)
        return result
    flags += system_flags
    on = _reference_date(payload, system["submitted_at"], today or dt.date.today())
    try:
        rows = mapper(payload, flags, on)
    except Exception as exc:  # a bug here must not drop a submission from the field
        flags.append(
            Flag(
                "",
                "pemetaan_gagal",
                f"Kiriman tidak dapat dipetakan ({type(exc).__name__}); data asli tetap tersimpan.",
            )
        )
        result.flags = quality.localised(flags)
        return result
    result.submission = rows.submission
    result.household = rows.household
    result.persons = rows.persons
    result.psks_entry = rows.psks_entry
    result.flags = quality.localised(flags, {p["position"]: p["nama"] for p in rows.persons})
    return result
