"""Typed SQLAlchemy 2 models of the district database.

Raw Kobo payloads are kept verbatim in `Submission`; `Household`, `Person` and `PsksEntry` are the
mapped rows. Values from the field are stored as they came (text), with parsed copies beside them
where a parse can fail, so that a bad value is flagged, never dropped.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from registry.roles import Status

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC timestamps on both SQLite (which drops the offset) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dt.datetime: UTCDateTime(),
        dict[str, Any]: JSON,
    }


class Submission(Base):
    """One Kobo submission, kept verbatim; never deleted locally."""

    __tablename__ = "submission"
    __table_args__ = (
        UniqueConstraint("asset_uid", "kobo_id"),
        Index("ix_submission_form_status", "form", "status"),
        Index("ix_submission_kode_desa", "kode_desa"),
        Index("ix_submission_kode_kecamatan", "kode_kecamatan"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    form: Mapped[str] = mapped_column(String(8))  # ppks | psks
    asset_uid: Mapped[str] = mapped_column(String(64))
    kobo_id: Mapped[int] = mapped_column(BigInteger)  # Kobo `_id`, stable across edits
    uuid: Mapped[str] = mapped_column(String(64))  # Kobo `_uuid`, changes on every edit
    root_uuid: Mapped[str | None] = mapped_column(String(80))  # `meta/rootUuid`, never changes
    submitted_at: Mapped[dt.datetime | None]  # `_submission_time` (UTC)
    submitted_by: Mapped[str | None] = mapped_column(String(150))  # `_submitted_by`
    form_version: Mapped[str | None] = mapped_column(String(64))  # `__version__`
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)  # verbatim Kobo JSON
    payload_hash: Mapped[str] = mapped_column(String(64))  # sha256 of canonical JSON
    first_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    is_deleted_on_server: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    deleted_on_server_at: Mapped[dt.datetime | None]
    # Kobo `_validation_status`: uid (validation_status_approved|..._not_approved|..._on_hold).
    kobo_validation_uid: Mapped[str | None] = mapped_column(String(64))
    kobo_validation_by: Mapped[str | None] = mapped_column(String(150))
    kobo_validation_timestamp: Mapped[int | None] = mapped_column(BigInteger)
    # Review.
    status: Mapped[str] = mapped_column(  # a registry.roles.Status value
        String(16), default=Status.BARU.value, server_default=Status.BARU.value
    )
    is_changed_after_review: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    # Denormalised from the payload for scoping and filters (never trusted as a key to people).
    kode_kecamatan: Mapped[str | None] = mapped_column(String(16))
    kode_desa: Mapped[str | None] = mapped_column(String(20))
    nama_petugas: Mapped[str | None] = mapped_column(Text)

    household: Mapped[Household | None] = relationship(
        back_populates="submission", cascade="all, delete-orphan", uselist=False
    )
    psks_entry: Mapped[PsksEntry | None] = relationship(
        back_populates="submission", cascade="all, delete-orphan", uselist=False
    )
    flags: Mapped[list[QualityFlag]] = relationship(
        back_populates="submission", cascade="all, delete-orphan"
    )
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="submission", cascade="all, delete-orphan"
    )
    review_events: Mapped[list[ReviewEvent]] = relationship(
        back_populates="submission", order_by="ReviewEvent.id"
    )


class Household(Base):
    """The household of a PPKS submission (one per submission)."""

    __tablename__ = "household"
    __table_args__ = (Index("ix_household_no_kk", "no_kk"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(
        ForeignKey("submission.id", ondelete="CASCADE"), unique=True
    )
    no_kk: Mapped[str | None] = mapped_column(Text)
    kode_kecamatan: Mapped[str | None] = mapped_column(Text)
    kode_desa: Mapped[str | None] = mapped_column(Text)
    dusun: Mapped[str | None] = mapped_column(Text)
    rt: Mapped[str | None] = mapped_column(Text)
    rw: Mapped[str | None] = mapped_column(Text)
    alamat: Mapped[str | None] = mapped_column(Text)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    gps_accuracy: Mapped[float | None] = mapped_column(Float)
    foto_rumah: Mapped[str | None] = mapped_column(Text)  # attachment file name

    submission: Mapped[Submission] = relationship(back_populates="household")
    persons: Mapped[list[Person]] = relationship(
        back_populates="household", cascade="all, delete-orphan", order_by="Person.position"
    )


class Person(Base):
    """A member of a PPKS household, with the PPKS categories recorded for them."""

    __tablename__ = "person"
    __table_args__ = (
        Index("ix_person_nik", "nik"),
        Index("ix_person_nik_sah", "nik_sah"),
        # registry.duplicates looks up each harvested member's block (registry.names), leaving
        # out the page's own households by submission_id before it reads a person row.
        Index("ix_person_kunci_duplikat", "kunci_duplikat", "submission_id"),
        Index("ix_person_kunci_duplikat_akhir", "kunci_duplikat_akhir", "submission_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Indexed: rebuilding an edited household deletes it, and its cascade looks members up here.
    household_id: Mapped[int] = mapped_column(
        ForeignKey("household.id", ondelete="CASCADE"), index=True
    )
    submission_id: Mapped[int] = mapped_column(
        ForeignKey("submission.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)  # 1-based index in the repeat
    nik: Mapped[str | None] = mapped_column(Text)
    # The NIK when valid (registry.nik.valid_nik): the person registry's key (registry.persons).
    nik_sah: Mapped[str | None] = mapped_column(String(16))
    nama: Mapped[str | None] = mapped_column(Text)
    jenis_kelamin: Mapped[str | None] = mapped_column(Text)
    tempat_lahir: Mapped[str | None] = mapped_column(Text)
    tanggal_lahir: Mapped[str | None] = mapped_column(Text)  # as it came
    tanggal_lahir_date: Mapped[dt.date | None] = mapped_column(Date)  # parsed, None if bad
    kunci_duplikat: Mapped[str | None] = mapped_column(String(16))  # names.block_keys()
    kunci_duplikat_akhir: Mapped[str | None] = mapped_column(String(16))  # its last word
    hubungan: Mapped[str | None] = mapped_column(Text)
    status_perkawinan: Mapped[str | None] = mapped_column(Text)
    pendidikan: Mapped[str | None] = mapped_column(Text)
    pekerjaan: Mapped[str | None] = mapped_column(Text)
    nama_ibu_kandung: Mapped[str | None] = mapped_column(Text)
    jenis_disabilitas: Mapped[str | None] = mapped_column(Text)
    kategori_ppks: Mapped[str | None] = mapped_column(Text)  # space-separated codes as they came

    household: Mapped[Household] = relationship(back_populates="persons")
    kategori: Mapped[list[PersonKategori]] = relationship(
        back_populates="person", cascade="all, delete-orphan"
    )


class PersonKategori(Base):
    """One PPKS category code of a person (for filters); unknown codes are kept and flagged."""

    __tablename__ = "person_kategori"

    person_id: Mapped[int] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), primary_key=True
    )
    kode: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)

    person: Mapped[Person] = relationship(back_populates="kategori")


class PsksEntry(Base):
    """A PSKS: a person, a family or an organisation (one per PSKS submission)."""

    __tablename__ = "psks_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(
        ForeignKey("submission.id", ondelete="CASCADE"), unique=True
    )
    kategori_psks: Mapped[str | None] = mapped_column(Text, index=True)
    jenis_subjek: Mapped[str | None] = mapped_column(Text)
    kode_kecamatan: Mapped[str | None] = mapped_column(Text)
    kode_desa: Mapped[str | None] = mapped_column(Text)
    alamat: Mapped[str | None] = mapped_column(Text)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    nik: Mapped[str | None] = mapped_column(Text)
    nik_sah: Mapped[str | None] = mapped_column(String(16), index=True)  # as Person.nik_sah
    nama: Mapped[str | None] = mapped_column(Text)
    jenis_kelamin: Mapped[str | None] = mapped_column(Text)
    tanggal_lahir: Mapped[str | None] = mapped_column(Text)
    no_hp: Mapped[str | None] = mapped_column(Text)
    pelatihan: Mapped[str | None] = mapped_column(Text)
    no_kk: Mapped[str | None] = mapped_column(Text)
    nama_lembaga: Mapped[str | None] = mapped_column(Text)
    no_registrasi: Mapped[str | None] = mapped_column(Text)
    nama_ketua: Mapped[str | None] = mapped_column(Text)
    jumlah_anggota: Mapped[str | None] = mapped_column(Text)
    bidang_layanan: Mapped[str | None] = mapped_column(Text)

    submission: Mapped[Submission] = relationship(back_populates="psks_entry")


class QualityFlag(Base):
    """A data-quality finding on a submission (bad NIK, unknown desa, date not a date, ...)."""

    __tablename__ = "quality_flag"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(
        ForeignKey("submission.id", ondelete="CASCADE"), index=True
    )
    field: Mapped[str] = mapped_column(Text)  # data path, with [n] inside repeats
    code: Mapped[str] = mapped_column(String(64), index=True)  # e.g. nik_format, desa_unknown
    message: Mapped[str] = mapped_column(Text)  # Bahasa Indonesia, for reviewers; never a NIK
    message_en: Mapped[str | None] = mapped_column(Text)  # the same in English (English UI)
    # blokir: approval is refused until corrected or overridden; peringatan: shown only.
    severity: Mapped[str] = mapped_column(String(16), default="blokir")
    position: Mapped[int | None] = mapped_column(Integer)  # the member's 1-based place, if any

    submission: Mapped[Submission] = relationship(back_populates="flags")


class FlagOverride(Base):
    """A dinsos/admin decision that a `blokir` flag does not stop approval (with its review event).

    It holds for the submission's data as it was (`payload_hash`): an edit on Kobo that changes
    the data makes the rules run again and the override no longer applies."""

    __tablename__ = "flag_override"
    __table_args__ = (UniqueConstraint("submission_id", "code", "field", "payload_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(64))
    field: Mapped[str] = mapped_column(Text)
    payload_hash: Mapped[str] = mapped_column(String(64))
    review_event_id: Mapped[int] = mapped_column(ForeignKey("review_event.id"), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Orang(Base):
    """One person of the kabupaten's person registry. Every mention of the same valid NIK (any
    desa, PPKS or PSKS, any time: `Person.nik_sah`, `PsksEntry.nik_sah`) is one `Orang`; a
    person without a valid NIK is an `Orang` of their own (through a `Sebutan`) until a reviewer
    merges them ("orang yang sama"). Made when first needed (registry.persons), never deleted: a
    merged one points at the one it was merged into."""

    __tablename__ = "orang"

    id: Mapped[int] = mapped_column(primary_key=True)
    nik: Mapped[str | None] = mapped_column(String(16), unique=True)  # a valid NIK only
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("orang.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Sebutan(Base):
    """The `Orang` of a mention without a valid NIK (a mention with one is its NIK's Orang).
    PPKS members are keyed by (submission, position), which survive a household being rebuilt
    after an edit on Kobo; a PSKS entry is position 0."""

    __tablename__ = "sebutan"
    __table_args__ = (UniqueConstraint("submission_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    orang_id: Mapped[int] = mapped_column(ForeignKey("orang.id"), index=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)  # 1-based member place; 0 for a PSKS entry
    first_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class DuplicateGroup(Base):
    """A group for the adjudication queue: persons who share a valid NIK across households
    (reason `nik_sama`) or are likely the same person without one. Decided once: `sama` merges
    them, `berbeda` is never proposed again (the same `key` is not reopened)."""

    __tablename__ = "duplicate_group"
    __table_args__ = (Index("ix_duplicate_group_status", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)  # the members' mentions, sorted
    status: Mapped[str] = mapped_column(String(16), default="terbuka")  # terbuka | sama | berbeda
    score: Mapped[float] = mapped_column(Float)  # 0..1; 1.0 for a shared valid NIK
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)  # nik_sama, nama_mirip, ...
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[dt.datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    catatan: Mapped[str | None] = mapped_column(Text)

    members: Mapped[list[DuplicateMember]] = relationship(
        back_populates="group", cascade="all, delete-orphan", order_by="DuplicateMember.id"
    )


class DuplicateMember(Base):
    """One mention in a duplicate group (the person as that submission recorded them)."""

    __tablename__ = "duplicate_member"
    __table_args__ = (UniqueConstraint("group_id", "submission_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("duplicate_group.id", ondelete="CASCADE"))
    submission_id: Mapped[int] = mapped_column(
        ForeignKey("submission.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)  # as in Sebutan
    orang_id: Mapped[int] = mapped_column(ForeignKey("orang.id"), index=True)

    group: Mapped[DuplicateGroup] = relationship(back_populates="members")


class Attachment(Base):
    """A file attached to a submission; downloaded idempotently, failures retried later."""

    __tablename__ = "attachment"
    # The unique (submission_id, uid) also serves lookups by submission.
    __table_args__ = (UniqueConstraint("submission_id", "uid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id", ondelete="CASCADE"))
    uid: Mapped[str] = mapped_column(String(64))  # att...
    filename: Mapped[str] = mapped_column(Text)  # media_file_basename
    mimetype: Mapped[str | None] = mapped_column(String(128))
    question_xpath: Mapped[str | None] = mapped_column(Text)
    download_url: Mapped[str] = mapped_column(Text)
    local_path: Mapped[str | None] = mapped_column(Text)  # relative to BABALE_MEDIA_DIR
    is_downloaded: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    is_deleted_on_server: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    downloaded_at: Mapped[dt.datetime | None]

    submission: Mapped[Submission] = relationship(back_populates="attachments")

    @property
    def media_type(self) -> str:
        """The type as sent, without parameters ("image/jpeg; q=1" -> "image/jpeg")."""
        return (self.mimetype or "").split(";")[0].strip().lower()

    @property
    def is_photo(self) -> bool:
        """A plain image, safe to show inline. The type comes from whoever submitted the form:
        SVG or HTML could run a script on the site, so they are only ever downloads."""
        return self.media_type in INLINE_IMAGE_TYPES


INLINE_IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})


class HarvestState(Base):
    """The keyset watermark of one form's asset: the highest Kobo `_id` stored."""

    __tablename__ = "harvest_state"

    asset_uid: Mapped[str] = mapped_column(String(64), primary_key=True)
    form: Mapped[str] = mapped_column(String(8))
    last_kobo_id: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_reconciled_at: Mapped[dt.datetime | None]


class HarvestRun(Base):
    """One harvest or reconcile run of one form."""

    __tablename__ = "harvest_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    form: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(16))  # harvest | reconcile
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]
    status: Mapped[str] = mapped_column(String(16), default="running")  # running|ok|failed
    fetched: Mapped[int] = mapped_column(Integer, default=0)
    new: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    deleted: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)


class RecheckRun(Base):
    """A `babale quality recheck` over stored submissions, resumable: it goes in id order and
    `last_submission_id` is committed with every batch, so a stopped run goes on from there."""

    __tablename__ = "recheck_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]
    last_submission_id: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)  # submissions to check at the start
    done: Mapped[int] = mapped_column(Integer, default=0)


class HarvestLock(Base):
    """A lease so that two harvests never run at once (works on SQLite and PostgreSQL)."""

    __tablename__ = "harvest_lock"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(128))
    acquired_at: Mapped[dt.datetime | None]
    heartbeat_at: Mapped[dt.datetime | None]


class User(Base):
    """An account of the review app. Role and wilayah decide what it may see and do."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))  # a registry.roles.Role value
    wilayah: Mapped[str | None] = mapped_column(String(20))  # kecamatan or desa code
    nama_lengkap: Mapped[str | None] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    api_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[dt.datetime | None]


class ReviewEvent(Base):
    """An append-only record of a review decision (or of an automatic return to `baru`).

    `kind` says what was decided: a status (`status`), an override of a blokir flag
    (`override`, from and to the current status, `alasan` the flag's code) or a duplicate
    group (`duplikat`, `alasan` sama | berbeda)."""

    __tablename__ = "review_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))  # None = system
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    from_status: Mapped[str] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    catatan: Mapped[str | None] = mapped_column(Text)
    alasan: Mapped[str | None] = mapped_column(String(64))
    payload_hash: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16), default="status", server_default="status")

    submission: Mapped[Submission] = relationship(back_populates="review_events")
    user: Mapped[User | None] = relationship()


class OutboxItem(Base):
    """A review decision waiting to be sent to Kobo as a validation status."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"), index=True)
    review_event_id: Mapped[int] = mapped_column(ForeignKey("review_event.id"), unique=True)
    validation_uid: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class AuditLog(Base):
    """Who did what with personal data (UU 27/2022 Pasal 31): exports, logins, user changes."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64))  # username, or "cli:<os user>"
    action: Mapped[str] = mapped_column(String(32))  # export, login, user_create, ...
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
