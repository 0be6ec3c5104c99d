"""The simulator's state, as kpi keeps it in its database: assets and their submissions, import
tasks and API tokens. Lean enough for 100,000 households.

A submission is a small immutable `Record`: the fields the API filters and sorts on, plus its
answers as zlib-compressed JSON (a shared dictionary of the forms' paths makes each about a third
of its size). The Kobo JSON of a record is assembled at serve time from those parts, so a page of
1000 costs one decompress and one small `json.dumps` per row. Changing a record replaces it.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import json
import mimetypes
import threading
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from kobo_simulator.forms import FormSpec
from kobo_simulator.generate import DataGenerator, IdentityBook
from kobo_simulator.ids import hex32, make_rng, short_uid, uuid4
from kobo_simulator.jpeg import tiny_jpeg
from kobo_simulator.query import MISSING
from surveys import paths as F

VALIDATION_LABELS = {
    "validation_status_approved": "Approved",
    "validation_status_not_approved": "Not Approved",
    "validation_status_on_hold": "On Hold",
}
FILE_TYPES = ("image", "audio", "video", "file", "background-audio")
# Keys the server writes; raw answers may override the first three (bad-value tests).
OVERRIDABLE = ("__version__", "_submitted_by", "_submission_time")
SYSTEM_KEYS = frozenset(
    {
        "formhub/uuid", "meta/instanceID", "meta/rootUuid", "meta/deprecatedID",
        "_xform_id_string", "_uuid", "_id", "_attachments", "_status", "_geolocation",
        "_validation_status", *OVERRIDABLE,
    }
)  # fmt: skip
_UNSET: dict[str, Any] = {}
EPOCH = dt.datetime(2025, 1, 6, 1, 0, 0, tzinfo=dt.UTC)  # first simulated upload

_ZDICT = (
    "".join(sorted(f'"{p}":"' for p in vars(F).values() if isinstance(p, str) and "/" in p))
    + '"start":"+07:00","end":"today":"6107ya61.07.kepala_keluargakawin_tercatatbelum_kawin'
).encode()


def _pack(answers: dict[str, Any]) -> bytes:
    text = json.dumps(answers, ensure_ascii=False, separators=(",", ":")).encode()
    packer = zlib.compressobj(6, zdict=_ZDICT)
    return packer.compress(text) + packer.flush()


def _unpack(blob: bytes) -> bytes:
    unpacker = zlib.decompressobj(zdict=_ZDICT)
    return unpacker.decompress(blob) + unpacker.flush()


@dataclass(frozen=True, slots=True)
class Attachment:
    uid: str
    basename: str
    mimetype: str
    question_xpath: str
    is_deleted: bool = False
    generated: bool = False  # bytes made on demand (a tiny JPEG), not stored


@dataclass(frozen=True, slots=True)
class Record:
    id: int
    uuid: str  # the current instanceID, without "uuid:"
    root: str | None  # the original instanceID when it differs from `uuid` (after an edit)
    deprecated: str | None  # the previous instanceID, after an edit
    submission_time: Any  # "YYYY-MM-DDTHH:MM:SS" UTC; anything a bad-value test puts there
    submitted_by: Any
    version: Any
    blob: bytes  # the answers: compressed JSON object
    geolocation: tuple[float | None, float | None]
    attachments: tuple[Attachment, ...] = ()
    # Never mutated in place (a status change replaces the record), so one empty dict serves all.
    validation: dict[str, Any] = field(default_factory=lambda: _UNSET)

    @property
    def root_uuid(self) -> str:
        return "uuid:" + (self.root or self.uuid)

    def answers(self) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(_unpack(self.blob))
        return result


@dataclass
class Asset:
    uid: str
    name: str
    owner: str
    form: str | None  # "ppks", "psks", or None for a form the generator does not know
    spec: FormSpec
    asset_type: str
    formhub_uuid: str
    version_id: str
    created_at: dt.datetime
    modified_at: dt.datetime
    deployed_at: dt.datetime | None = None
    deployed_version_id: str | None = None
    deployed_versions: list[tuple[str, dt.datetime]] = field(default_factory=list)
    active: bool = False
    content_hash: str = ""
    version_count: int = 1
    records: dict[int, Record] = field(default_factory=dict)
    ids: list[int] = field(default_factory=list)  # sorted `_id`s
    by_uuid: dict[str, int] = field(default_factory=dict)  # root and current uuid -> _id
    generator: DataGenerator | None = None
    # The workbook of an imported asset, which pyxform meets at deployment (None: our own form).
    xlsx: bytes | None = None

    @property
    def has_deployment(self) -> bool:
        return self.deployed_version_id is not None

    @property
    def deployment_status(self) -> str:
        if not self.has_deployment:
            return "draft"
        return "deployed" if self.active else "archived"


@dataclass
class ImportTask:
    """One POST /api/v2/imports/: `data` holds what kpi's view keeps of the upload (library,
    filename from `name`, destination), `messages` what the import reported."""

    uid: str
    created_at: dt.datetime
    owner: str  # the user whose token made the request
    data: dict[str, Any] = field(default_factory=dict)
    status: str = "processing"
    messages: dict[str, Any] = field(default_factory=dict)
    polls: int = 0  # GETs answered so far


class NotFound(LookupError):
    pass


class Store:
    """Assets and submissions of one simulated server. Every method is thread-safe."""

    def __init__(self, seed: int | str) -> None:
        self.lock = threading.RLock()
        self.seed = seed
        self.rng = make_rng(f"{seed}:server")
        self.assets: dict[str, Asset] = {}
        self.files: dict[str, bytes] = {}  # attachment uid -> bytes (added, not generated)
        self.book = IdentityBook()
        self.next_id = 1
        self.clock = EPOCH
        self.asset_clock = EPOCH - dt.timedelta(days=30)
        self.tokens: dict[str, str] = {}  # API token -> username
        self.imports: dict[str, ImportTask] = {}
        self.import_polls = 0  # GETs of an import that still answer "processing"
        self.import_error: str | None = None  # when set, every import fails with this message

    # --- assets ---------------------------------------------------------------------------------

    def tick_asset_clock(self) -> dt.datetime:
        self.asset_clock += dt.timedelta(minutes=self.rng.randint(3, 90))
        return self.asset_clock

    def add_asset(
        self,
        spec: FormSpec,
        form: str | None,
        *,
        uid: str | None,
        owner: str,
        name: str | None,
        asset_type: str = "survey",
        deployed: bool,
        xlsx: bytes | None = None,
    ) -> Asset:
        with self.lock:
            uid = uid or short_uid(self.rng, "a")
            if uid in self.assets:
                raise ValueError(f"asset {uid} exists already")
            now = self.tick_asset_clock()
            asset = Asset(
                uid=uid,
                name=name or spec.title,
                owner=owner,
                form=form,
                spec=spec,
                asset_type=asset_type,
                formhub_uuid=hex32(self.rng),
                version_id=short_uid(self.rng, "v"),
                created_at=now,
                modified_at=now,
                content_hash=f"{self.rng.getrandbits(160):040x}",
                xlsx=xlsx,
            )
            if form in ("ppks", "psks"):
                asset.generator = DataGenerator(spec, form, self.book, hash_seed(self.seed, uid))
            self.assets[uid] = asset
            if deployed:
                self.deploy(asset, active=True)
            return asset

    def asset(self, uid: str) -> Asset:
        with self.lock:
            try:
                return self.assets[uid]
            except KeyError:
                raise NotFound(uid) from None

    def deploy(self, asset: Asset, *, active: bool) -> None:
        """Deploy the asset's current version (first deployment or redeployment)."""
        with self.lock:
            now = self.tick_asset_clock()
            asset.deployed_version_id = asset.version_id
            if not any(v == asset.version_id for v, _ in asset.deployed_versions):
                asset.deployed_versions.insert(0, (asset.version_id, now))
            asset.deployed_at = now
            asset.modified_at = now
            asset.active = active

    def new_version(
        self, asset: Asset, spec: FormSpec | None = None, xlsx: bytes | None = None
    ) -> str:
        """Replace the content (an import with `destination`): a new, undeployed version."""
        with self.lock:
            if spec is not None:
                asset.spec = spec
                asset.xlsx = xlsx
                if asset.generator is not None and asset.form is not None:
                    asset.generator = DataGenerator(
                        spec, asset.form, self.book, hash_seed(self.seed, asset.uid)
                    )
            asset.version_id = short_uid(self.rng, "v")
            asset.version_count += 1
            asset.content_hash = f"{self.rng.getrandbits(160):040x}"
            asset.modified_at = self.tick_asset_clock()
            return asset.version_id

    # --- submissions ----------------------------------------------------------------------------

    def _tick(self, rng: Any) -> dt.datetime:
        self.clock += dt.timedelta(seconds=rng.randint(5, 235))
        return self.clock

    def _insert(self, asset: Asset, record: Record) -> None:
        asset.records[record.id] = record
        if not asset.ids or record.id > asset.ids[-1]:
            asset.ids.append(record.id)
        else:
            bisect.insort(asset.ids, record.id)
        asset.by_uuid[record.uuid] = record.id

    def generate(self, asset_uid: str, n: int, seed: int | str | None) -> list[int]:
        with self.lock:
            asset = self.asset(asset_uid)
            if asset.generator is None:
                raise ValueError(
                    f"asset {asset_uid} is not a PPKS or PSKS form: nothing to generate"
                )
            rng = self.rng if seed is None else make_rng(f"{seed}:{asset_uid}:{self.next_id}")
            version = asset.deployed_version_id or asset.version_id
            geo = asset.spec.geopoints
            out = []
            for _ in range(n):
                moment = self._tick(rng)
                made = asset.generator.submission(rng, moment)
                record = Record(
                    id=self.next_id,
                    uuid=uuid4(rng),
                    root=None,
                    deprecated=None,
                    submission_time=moment.strftime("%Y-%m-%dT%H:%M:%S"),
                    submitted_by=made.submitted_by,
                    version=version,
                    blob=_pack(made.answers),
                    geolocation=geolocation(made.answers, geo),
                    attachments=(
                        (
                            Attachment(
                                short_uid(rng, "att"), made.photo, "image/jpeg",
                                F.FOTO_RUMAH, generated=True,
                            ),
                        )
                        if made.photo
                        else ()
                    ),
                )  # fmt: skip
                self._insert(asset, record)
                out.append(self.next_id)
                self.next_id += 1
            return out

    def add(
        self,
        asset_uid: str,
        answers: dict[str, Any],
        files: dict[str, bytes] | None,
        overrides: dict[str, Any],
    ) -> int:
        with self.lock:
            asset = self.asset(asset_uid)
            answers = dict(answers)
            for key in list(answers):
                if key in SYSTEM_KEYS:
                    value = answers.pop(key)
                    if key in OVERRIDABLE:
                        overrides.setdefault(key, value)
            blob = _pack(answers)  # raises TypeError for values JSON cannot carry
            moment = self._tick(self.rng)
            record = Record(
                id=self.next_id,
                uuid=uuid4(self.rng),
                root=None,
                deprecated=None,
                submission_time=overrides.get(
                    "_submission_time", moment.strftime("%Y-%m-%dT%H:%M:%S")
                ),
                submitted_by=overrides.get("_submitted_by"),
                version=overrides.get("__version__", asset.deployed_version_id or asset.version_id),
                blob=blob,
                geolocation=geolocation(answers, asset.spec.geopoints),
                attachments=self._attachments(asset, answers, files or {}, ()),
            )
            self._insert(asset, record)
            self.next_id += 1
            return record.id

    def _attachments(
        self,
        asset: Asset,
        answers: dict[str, Any],
        files: dict[str, bytes],
        current: Iterable[Attachment],
    ) -> tuple[Attachment, ...]:
        """Keep attachments still named in the answers, add the new files (an edit's rules)."""
        where = file_xpaths(answers)
        kept = [a for a in current if a.basename in where and a.basename not in files]
        for name, data in files.items():
            uid = short_uid(self.rng, "att")
            self.files[uid] = bytes(data)
            mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
            kept.append(Attachment(uid, name, mime, where.get(name, "")))
        return tuple(kept)

    def find(self, asset: Asset, ident: str | int) -> Record:
        """A submission by `_id`, or by rootUuid (with or without `uuid:`) / current `_uuid`."""
        with self.lock:
            key = str(ident)
            if key.isdigit():
                record = asset.records.get(int(key))
            else:
                found = asset.by_uuid.get(key.removeprefix("uuid:"))
                record = asset.records.get(found) if found is not None else None
            if record is None:
                raise NotFound(key)
            return record

    def last_submission_time(self, asset: Asset) -> Any:
        with self.lock:
            return asset.records[asset.ids[-1]].submission_time if asset.ids else None

    def edit(
        self,
        asset_uid: str,
        ident: int | str,
        changes: dict[str, Any],
        files: dict[str, bytes] | None,
    ) -> Record:
        """Same `_id` and rootUuid and `_submission_time`; new `_uuid`; deprecatedID = previous."""
        with self.lock:
            asset = self.asset(asset_uid)
            old = self.find(asset, ident)
            answers = old.answers()
            for key, value in changes.items():
                if value is None:
                    answers.pop(key, None)
                else:
                    answers[key] = value
            new = dataclasses.replace(
                old,
                uuid=uuid4(self.rng),
                root=old.root or old.uuid,
                deprecated="uuid:" + old.uuid,
                blob=_pack(answers),
                geolocation=geolocation(answers, asset.spec.geopoints),
                attachments=self._attachments(asset, answers, files or {}, old.attachments),
            )
            if old.root is not None:
                asset.by_uuid.pop(old.uuid, None)
            asset.records[new.id] = new
            asset.by_uuid[new.uuid] = new.id
            return new

    def delete(self, asset: Asset, record_id: int) -> bool:
        with self.lock:
            record = asset.records.pop(record_id, None)
            if record is None:
                return False
            index = bisect.bisect_left(asset.ids, record_id)
            if index < len(asset.ids) and asset.ids[index] == record_id:
                del asset.ids[index]
            asset.by_uuid.pop(record.uuid, None)
            if record.root:
                asset.by_uuid.pop(record.root, None)
            for att in record.attachments:
                self.files.pop(att.uid, None)
            return True

    def set_validation(
        self, asset: Asset, record_id: int, uid: str | None, by_whom: str
    ) -> dict[str, Any]:
        """Kobo's status dict; an unknown uid gives `{}` (the bulk endpoint writes that)."""
        status: dict[str, Any] = {}
        if uid in VALIDATION_LABELS:
            status = {
                "timestamp": int(time.time()),
                "uid": uid,
                "by_whom": by_whom,
                "label": VALIDATION_LABELS[uid],
            }
        with self.lock:
            record = asset.records[record_id]
            asset.records[record_id] = dataclasses.replace(record, validation=status)
        return status

    def file_bytes(self, asset: Asset, record: Record, att: Attachment) -> bytes:
        if att.generated:
            return tiny_jpeg(f"{asset.uid}/{record.id}/{att.basename}")
        return self.files.get(att.uid, b"")


def hash_seed(seed: int | str, uid: str) -> int:
    return zlib.crc32(f"{seed}:{uid}".encode())


def geolocation(answers: dict[str, Any], geopoints: list[str]) -> tuple[float | None, float | None]:
    """`_geolocation`: [lat, lng] of the first geopoint answered, else [null, null]."""
    for path in geopoints:
        value = answers.get(path)
        if isinstance(value, str):
            parts = value.split()
            try:
                return float(parts[0]), float(parts[1])
            except (IndexError, ValueError):
                return None, None
    return None, None


def file_xpaths(answers: dict[str, Any]) -> dict[str, str]:
    """File name -> the question xpath that names it (1-based index inside a repeat)."""
    out: dict[str, str] = {}
    for key, value in answers.items():
        if isinstance(value, str):
            out.setdefault(value, key)
        elif isinstance(value, list):
            for i, row in enumerate(value, start=1):
                if isinstance(row, dict):
                    for k, v in row.items():
                        if isinstance(v, str):
                            out.setdefault(v, f"{key}[{i}]/{k.removeprefix(key + '/')}")
    return out


# --- rendering --------------------------------------------------------------------------------

_DUMPS = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def attachment_json(base: str, asset: Asset, record: Record) -> list[dict[str, Any]]:
    """`_attachments` as kpi returns them, keys in the documented order."""
    out = []
    for att in record.attachments:
        url = f"{base}/api/v2/assets/{asset.uid}/data/{record.id}/attachments/{att.uid}/"
        item: dict[str, Any] = {
            "download_url": url,
            "mimetype": att.mimetype,
            "filename": (
                f"{asset.owner}/attachments/{asset.formhub_uuid}/"
                f"{record.root_uuid.removeprefix('uuid:')}/{att.basename}"
            ),
            "media_file_basename": att.basename,
            "uid": att.uid,
            "is_deleted": att.is_deleted,
        }
        if att.mimetype.startswith("image/"):
            item["download_large_url"] = url + "large/"
            item["download_medium_url"] = url + "medium/"
            item["download_small_url"] = url + "small/"
        item["question_xpath"] = att.question_xpath
        out.append(item)
    return out


def system_part(base: str, asset: Asset, record: Record) -> dict[str, Any]:
    sys: dict[str, Any] = {
        "__version__": record.version,
        "meta/instanceID": "uuid:" + record.uuid,
    }
    if record.deprecated:
        sys["meta/rootUuid"] = record.root_uuid
        sys["meta/deprecatedID"] = record.deprecated
    sys["_xform_id_string"] = asset.uid
    sys["_uuid"] = record.uuid
    if not record.deprecated:
        sys["meta/rootUuid"] = record.root_uuid
    sys["_id"] = record.id
    sys["_attachments"] = attachment_json(base, asset, record)
    sys["_status"] = "submitted_via_web"
    sys["_geolocation"] = list(record.geolocation)
    sys["_submission_time"] = record.submission_time
    sys["_validation_status"] = record.validation
    sys["_submitted_by"] = record.submitted_by
    return sys


def render(base: str, asset: Asset, record: Record) -> bytes:
    """The submission's JSON exactly as the data endpoint sends it (compact, UTF-8)."""
    answers = _unpack(record.blob)
    head = b'{"formhub/uuid":' + _DUMPS(asset.formhub_uuid).encode()
    if answers != b"{}":
        head += b"," + answers[1:-1]
    return head + b"," + _DUMPS(system_part(base, asset, record)).encode()[1:]


# Fields the store answers without decoding the answers (filters, sorts, light projections).
_FAST: dict[str, Callable[[Asset, Record], Any]] = {
    "_id": lambda asset, record: record.id,
    "_uuid": lambda asset, record: record.uuid,
    "meta/rootUuid": lambda asset, record: record.root_uuid,
    "_submission_time": lambda asset, record: record.submission_time,
    "_validation_status": lambda asset, record: record.validation,
    "_submitted_by": lambda asset, record: record.submitted_by,
    "__version__": lambda asset, record: record.version,
    "meta/instanceID": lambda asset, record: "uuid:" + record.uuid,
    "meta/deprecatedID": lambda asset, record: record.deprecated or MISSING,
    "_xform_id_string": lambda asset, record: asset.uid,
    "formhub/uuid": lambda asset, record: asset.formhub_uuid,
    "_status": lambda asset, record: "submitted_via_web",
    "_geolocation": lambda asset, record: list(record.geolocation),
}
FAST_FIELDS = frozenset(_FAST)


def fast_field(asset: Asset, record: Record, key: str) -> Any:
    """The value of a FAST_FIELDS key (None for any other key)."""
    get = _FAST.get(key)
    return get(asset, record) if get is not None else None
