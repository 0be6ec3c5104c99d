"""The review state machine: the only code that changes `Submission.status`.

baru -> terverifikasi (kecamatan, optional) -> disetujui | dikembalikan | ditolak (dinsos, admin).
Every decision appends a ReviewEvent (who, when, from, to, note, reason, payload hash) and, for
the three final states, queues an OutboxItem that `harvester.writeback` sends to Kobo.

A submission with a `blokir` flag is not approved (registry.flags): the data is corrected on
Kobo and harvested again, or a dinsos/admin user overrides that flag with a note
(`override_flag`, itself a review event).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from registry import flags, queries, roles
from registry.models import (
    FlagOverride,
    OutboxItem,
    QualityFlag,
    ReviewEvent,
    Submission,
    User,
)
from registry.roles import STATUSES, Status

# Kobo validation status for each decision that leaves the district (see kobo/API.md §4).
KOBO_VALIDATION_UID: dict[str, str] = {
    Status.DISETUJUI: "validation_status_approved",
    Status.DITOLAK: "validation_status_not_approved",
    Status.DIKEMBALIKAN: "validation_status_on_hold",
}
# Who may decide which state is in registry.roles; this is which state may follow which.
TRANSITIONS: dict[str, frozenset[Status]] = {
    Status.BARU: frozenset(
        {Status.TERVERIFIKASI, Status.DISETUJUI, Status.DIKEMBALIKAN, Status.DITOLAK}
    ),
    Status.TERVERIFIKASI: frozenset({Status.DISETUJUI, Status.DIKEMBALIKAN, Status.DITOLAK}),
}
# The short list of reasons for a refusal (kept small so reports can count them).
ALASAN_DITOLAK = {
    "data_ganda": "Data ganda (sudah terdaftar)",
    "tidak_memenuhi_kriteria": "Tidak memenuhi kriteria PPKS/PSKS",
    "identitas_tidak_valid": "NIK atau No KK tidak valid",
    "di_luar_wilayah": "Berdomisili di luar Kabupaten Bengkayang",
    "meninggal_atau_pindah": "Meninggal dunia atau pindah",
    "tanpa_persetujuan": "Tidak ada persetujuan subjek data",
    "lainnya": "Lainnya (lihat catatan)",
}
NOTE_CHANGED_AFTER_REVIEW = "diubah setelah ditinjau"


def _label(status: str) -> str:
    return Status(status).label if status in STATUSES else status


class ReviewError(Exception):
    """A refused decision. `http_status` tells the web layer how to answer."""

    http_status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotAllowed(ReviewError):
    http_status = 403


class NotFound(ReviewError):
    http_status = 404


class InvalidTransition(ReviewError):
    http_status = 409


class MissingNote(ReviewError):
    http_status = 422


class MissingReason(ReviewError):
    http_status = 422


class UnknownStatus(ReviewError):
    http_status = 422


class Blocked(ReviewError):
    """Approval refused while a `blokir` flag stands."""

    http_status = 409


def may_decide(user: User, to_status: str) -> bool:
    """Whether the role may ever move a submission to `to_status` (ignores the current state)."""
    return user.is_active and roles.may_decide(user.role, to_status)


def allowed_decisions(user: User, submission: Submission) -> list[str]:
    """The target states this user may choose now: the buttons a page shows."""
    if submission.is_deleted_on_server:
        return []
    targets = TRANSITIONS.get(submission.status, frozenset())
    return [s for s in STATUSES if s in targets and may_decide(user, s)]


def _check(
    session: Session,
    submission: Submission,
    user: User,
    to_status: str,
    catatan: str | None,
    alasan: str | None,
) -> None:
    if to_status not in STATUSES:
        raise UnknownStatus(f"Status tidak dikenal: {to_status}.")
    if not queries.in_scope(session, user, submission):
        raise NotFound("Data tidak ditemukan.")
    if to_status not in roles.DECISIONS:  # `baru` is reached only through an edit on Kobo
        raise InvalidTransition(
            f"Status tidak dapat diubah dari {_label(submission.status)} "
            f"menjadi {_label(to_status)}."
        )
    if not may_decide(user, to_status):
        raise NotAllowed(f"Peran {user.role} tidak berwenang memberi status {_label(to_status)}.")
    if submission.is_deleted_on_server:
        raise InvalidTransition("Data ini sudah dihapus di Kobo dan tidak dapat diputuskan.")
    if to_status not in TRANSITIONS.get(submission.status, frozenset()):
        raise InvalidTransition(
            f"Status tidak dapat diubah dari {_label(submission.status)} "
            f"menjadi {_label(to_status)}."
        )
    if to_status == Status.DITOLAK and alasan not in ALASAN_DITOLAK:
        raise MissingReason("Pilih alasan penolakan dari daftar.")
    if to_status in (Status.DIKEMBALIKAN, Status.DITOLAK) and not catatan:
        raise MissingNote(
            f"Catatan wajib diisi untuk status {_label(to_status)}: "
            "jelaskan apa yang harus diperbaiki atau mengapa."
        )
    if to_status == Status.DISETUJUI:
        standing = flags.blocking_flags(session, submission)
        if standing:
            listed = "; ".join(f.message for f in standing[:5])
            more = f" (dan {len(standing) - 5} lainnya)" if len(standing) > 5 else ""
            raise Blocked(
                f"Belum dapat disetujui: {len(standing)} tanda blokir: {listed}{more}. "
                "Perbaiki data di Kobo lalu panen ulang, atau Dinas Sosial/admin mengabaikan "
                "tanda itu dengan catatan."
            )


def decide(
    session: Session,
    submission: Submission,
    user: User,
    to_status: str,
    catatan: str | None = None,
    alasan: str | None = None,
) -> ReviewEvent:
    """Move `submission` to `to_status` for `user`, or raise a ReviewError and change nothing."""
    # NUL is dropped: PostgreSQL refuses it in text, and no person types one.
    catatan = (catatan or "").replace("\x00", "").strip() or None
    alasan = (alasan or "").replace("\x00", "").strip() or None
    _check(session, submission, user, to_status, catatan, alasan)
    from_status = submission.status
    # Compare-and-set: if another reviewer decided in the meantime, nothing is overwritten.
    result = session.execute(
        update(Submission)
        .where(Submission.id == submission.id, Submission.status == from_status)
        .values(status=to_status, is_changed_after_review=False)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.refresh(submission)
        raise InvalidTransition(
            f"Data ini baru saja diubah oleh peninjau lain (status kini "
            f"{_label(submission.status)}). Muat ulang halaman."
        )
    submission.status = to_status
    submission.is_changed_after_review = False
    event = ReviewEvent(
        submission_id=submission.id,
        user_id=user.id,
        from_status=from_status,
        to_status=to_status,
        catatan=catatan,
        alasan=alasan if to_status == Status.DITOLAK else None,
        payload_hash=submission.payload_hash,
    )
    session.add(event)
    session.flush()
    uid = KOBO_VALIDATION_UID.get(to_status)
    if uid is not None:
        # Only the newest decision needs to reach Kobo: an older one still waiting is superseded.
        session.execute(
            delete(OutboxItem).where(
                OutboxItem.submission_id == submission.id, OutboxItem.sent_at.is_(None)
            )
        )
        session.add(
            OutboxItem(submission_id=submission.id, review_event_id=event.id, validation_uid=uid)
        )
        session.flush()
    return event


@dataclass
class BulkResult:
    done: list[int] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)  # (submission id, message)


def decide_many(
    session: Session,
    submissions: Iterable[Submission],
    user: User,
    to_status: str,
    catatan: str | None = None,
    alasan: str | None = None,
) -> BulkResult:
    """Decide each submission on its own: each is checked and recorded individually."""
    result = BulkResult()
    for submission in submissions:
        try:
            decide(session, submission, user, to_status, catatan, alasan)
        except ReviewError as exc:
            result.refused.append((submission.id, exc.message))
        else:
            result.done.append(submission.id)
    return result


def mark_changed_after_review(session: Session, submission: Submission) -> ReviewEvent | None:
    """An edit arrived from Kobo after a decision: back to `baru`, flagged, with a system event.

    Returns the event, or None when the submission had no decision to undo. A decision still
    waiting in the outbox is dropped.
    """
    if submission.status == Status.BARU:
        return None
    event = ReviewEvent(
        submission_id=submission.id,
        user_id=None,
        from_status=submission.status,
        to_status=Status.BARU,
        catatan=NOTE_CHANGED_AFTER_REVIEW,
        payload_hash=submission.payload_hash,
    )
    submission.status = Status.BARU
    submission.is_changed_after_review = True
    session.add(event)
    # A decision Kobo has not received yet was about the old version: nobody has reviewed the
    # new one, so it must not reach Kobo as if they had.
    session.execute(
        delete(OutboxItem).where(
            OutboxItem.submission_id == submission.id, OutboxItem.sent_at.is_(None)
        )
    )
    session.flush()
    return event


def override_flag(
    session: Session, submission: Submission, user: User, flag_id: int, catatan: str | None
) -> ReviewEvent:
    """Let approval go past one `blokir` flag of `submission`, for its current data: a review
    event (kind `override`, reason the flag's code) and a FlagOverride. Only adjudicating roles
    (dinsos, admin), in scope, with a note."""
    catatan = (catatan or "").replace("\x00", "").strip() or None
    if not queries.in_scope(session, user, submission):
        raise NotFound("Data tidak ditemukan.")
    caps = roles.capabilities(user.role)
    if not (user.is_active and caps is not None and caps.adjudicates):
        raise NotAllowed(f"Peran {user.role} tidak berwenang mengabaikan tanda blokir.")
    flag = session.get(QualityFlag, flag_id)
    if flag is None or flag.submission_id != submission.id:
        raise NotFound("Tanda mutu tidak ditemukan.")
    if flag.severity != flags.Severity.BLOKIR:
        raise InvalidTransition(
            "Hanya tanda blokir yang dapat diabaikan; peringatan tidak menahan."
        )
    if (flag.code, flag.field) in flags.overrides(session, submission):
        raise InvalidTransition("Tanda ini sudah diabaikan untuk data ini.")
    if not catatan:
        raise MissingNote("Catatan wajib diisi: jelaskan mengapa tanda ini dapat diabaikan.")
    event = ReviewEvent(
        submission_id=submission.id,
        user_id=user.id,
        from_status=submission.status,
        to_status=submission.status,
        catatan=catatan,
        alasan=flag.code,
        payload_hash=submission.payload_hash,
        kind="override",
    )
    session.add(event)
    session.flush()
    session.add(
        FlagOverride(
            submission_id=submission.id,
            code=flag.code,
            field=flag.field,
            payload_hash=submission.payload_hash,
            review_event_id=event.id,
        )
    )
    session.flush()
    return event
