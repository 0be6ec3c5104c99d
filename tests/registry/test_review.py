"""The review state machine: roles, transitions, notes and reasons, events, outbox, bulk."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from registry import review
from registry.db import session_factory
from registry.models import OutboxItem, ReviewEvent, Submission
from tests.webapp.factories import DESA_A, DESA_A2, DESA_B, make_submission, make_user


@pytest.fixture
def session(database_url: str) -> Iterator[Session]:
    s = session_factory(database_url)()
    try:
        yield s
    finally:
        s.rollback()
        s.close()


def events(session: Session, sub: Submission) -> list[ReviewEvent]:
    return list(session.scalars(select(ReviewEvent).where(ReviewEvent.submission_id == sub.id)))


def outbox(session: Session, sub: Submission) -> list[OutboxItem]:
    return list(session.scalars(select(OutboxItem).where(OutboxItem.submission_id == sub.id)))


def test_kecamatan_verifies_then_dinsos_approves(session):
    kec, dinsos = make_user(session, "kecamatan"), make_user(session, "dinsos")
    sub = make_submission(session, DESA_A)
    review.decide(session, sub, kec, "terverifikasi")
    assert sub.status == "terverifikasi"
    assert outbox(session, sub) == []  # verification stays in the district
    review.decide(session, sub, dinsos, "disetujui", catatan="lengkap")
    session.commit()

    session.expire_all()
    assert session.get(Submission, sub.id).status == "disetujui"
    history = events(session, sub)
    assert [(e.from_status, e.to_status, e.user_id) for e in history] == [
        ("baru", "terverifikasi", kec.id),
        ("terverifikasi", "disetujui", dinsos.id),
    ]
    assert all(e.payload_hash == sub.payload_hash for e in history)
    assert history[1].catatan == "lengkap"
    [item] = outbox(session, sub)
    assert item.validation_uid == "validation_status_approved"
    assert item.review_event_id == history[1].id
    assert item.sent_at is None


@pytest.mark.parametrize(
    ("to_status", "uid"),
    [
        ("disetujui", "validation_status_approved"),
        ("ditolak", "validation_status_not_approved"),
        ("dikembalikan", "validation_status_on_hold"),
    ],
)
def test_final_decisions_queue_their_kobo_status(session, to_status, uid):
    admin = make_user(session, "admin")
    sub = make_submission(session)
    review.decide(session, sub, admin, to_status, catatan="catatan", alasan="data_ganda")
    assert [i.validation_uid for i in outbox(session, sub)] == [uid]


@pytest.mark.parametrize(
    ("role", "to_status"),
    [
        ("desa", "terverifikasi"),
        ("desa", "disetujui"),
        ("pimpinan", "terverifikasi"),
        ("pimpinan", "disetujui"),
        ("kecamatan", "disetujui"),
        ("kecamatan", "dikembalikan"),
        ("kecamatan", "ditolak"),
    ],
)
def test_roles_without_the_right_are_refused(session, role, to_status):
    user = make_user(session, role)
    sub = make_submission(session, DESA_A)
    with pytest.raises(review.NotAllowed) as exc:
        review.decide(session, sub, user, to_status, catatan="x", alasan="lainnya")
    assert exc.value.http_status == 403
    assert sub.status == "baru"
    assert events(session, sub) == []


def test_outside_the_wilayah_is_not_found(session):
    kec = make_user(session, "kecamatan")  # KEC_A
    sub = make_submission(session, DESA_B)
    with pytest.raises(review.NotFound):
        review.decide(session, sub, kec, "terverifikasi")
    assert events(session, sub) == []
    # Another desa of the same kecamatan is inside.
    own = make_submission(session, DESA_A2)
    review.decide(session, own, kec, "terverifikasi")
    assert own.status == "terverifikasi"


@pytest.mark.parametrize(
    ("start", "to_status"),
    [
        ("terverifikasi", "terverifikasi"),
        ("disetujui", "ditolak"),
        ("disetujui", "terverifikasi"),
        ("ditolak", "disetujui"),
        ("dikembalikan", "disetujui"),
        ("baru", "baru"),
    ],
)
def test_invalid_transitions_are_409(session, start, to_status):
    admin = make_user(session, "admin")
    sub = make_submission(session, status=start)
    with pytest.raises(review.InvalidTransition) as exc:
        review.decide(session, sub, admin, to_status, catatan="x", alasan="lainnya")
    assert exc.value.http_status == 409
    assert "tidak dapat diubah" in exc.value.message
    assert sub.status == start


def test_returned_needs_a_note_and_refused_needs_reason_and_note(session):
    dinsos = make_user(session, "dinsos")
    sub = make_submission(session)
    with pytest.raises(review.MissingNote):
        review.decide(session, sub, dinsos, "dikembalikan", catatan="   ")
    with pytest.raises(review.MissingReason):
        review.decide(session, sub, dinsos, "ditolak", catatan="ganda")
    with pytest.raises(review.MissingReason):
        review.decide(session, sub, dinsos, "ditolak", catatan="ganda", alasan="bukan-kode")
    with pytest.raises(review.MissingNote) as exc:
        review.decide(session, sub, dinsos, "ditolak", alasan="data_ganda")
    assert exc.value.http_status == 422
    assert sub.status == "baru" and events(session, sub) == []

    event = review.decide(session, sub, dinsos, "ditolak", catatan="ganda", alasan="data_ganda")
    assert (event.alasan, event.catatan) == ("data_ganda", "ganda")


def test_unknown_status_is_422(session):
    sub = make_submission(session)
    with pytest.raises(review.UnknownStatus) as exc:
        review.decide(session, sub, make_user(session, "admin"), "approved")
    assert exc.value.http_status == 422


def test_allowed_decisions_follow_role_and_state(session):
    kec, dinsos, desa = (make_user(session, r) for r in ("kecamatan", "dinsos", "desa"))
    sub = make_submission(session)
    assert review.allowed_decisions(kec, sub) == ["terverifikasi"]
    assert review.allowed_decisions(desa, sub) == []
    assert review.allowed_decisions(dinsos, sub) == [
        "terverifikasi",
        "disetujui",
        "dikembalikan",
        "ditolak",
    ]
    review.decide(session, sub, kec, "terverifikasi")
    assert review.allowed_decisions(kec, sub) == []
    assert review.allowed_decisions(dinsos, sub) == ["disetujui", "dikembalikan", "ditolak"]


def test_a_newer_decision_supersedes_an_unsent_one(session):
    dinsos = make_user(session, "dinsos")
    sub = make_submission(session)
    review.decide(session, sub, dinsos, "dikembalikan", catatan="foto buram")
    review.mark_changed_after_review(session, sub)
    review.decide(session, sub, dinsos, "disetujui")
    items = outbox(session, sub)
    assert [i.validation_uid for i in items] == ["validation_status_approved"]
    assert len(events(session, sub)) == 3  # the history keeps all three


def test_edit_after_review_returns_to_baru_with_a_system_event(session):
    dinsos = make_user(session, "dinsos")
    sub = make_submission(session)
    assert review.mark_changed_after_review(session, sub) is None  # nothing decided yet
    review.decide(session, sub, dinsos, "disetujui")
    sub.payload_hash = "f" * 64  # the edited version
    event = review.mark_changed_after_review(session, sub)
    session.commit()
    session.expire_all()
    fresh = session.get(Submission, sub.id)
    assert fresh.status == "baru"
    assert fresh.is_changed_after_review is True
    assert event is not None
    assert (event.user_id, event.from_status, event.to_status, event.catatan) == (
        None,
        "disetujui",
        "baru",
        "diubah setelah ditinjau",
    )
    assert event.payload_hash == "f" * 64
    # A new decision clears the mark.
    review.decide(session, fresh, dinsos, "disetujui")
    assert fresh.is_changed_after_review is False


def test_decision_lost_to_a_concurrent_reviewer_is_409(session, database_url):
    dinsos, admin = make_user(session, "dinsos"), make_user(session, "admin")
    sub = make_submission(session)
    session.commit()
    other = session_factory(database_url)()
    try:
        review.decide(other, other.get(Submission, sub.id), admin, "disetujui")
        other.commit()
    finally:
        other.close()
    # `sub` in this session still says "baru".
    with pytest.raises(review.InvalidTransition):
        review.decide(session, sub, dinsos, "ditolak", catatan="x", alasan="lainnya")
    session.rollback()
    session.expire_all()
    assert session.get(Submission, sub.id).status == "disetujui"


def test_bulk_checks_and_records_each_one(session):
    kec = make_user(session, "kecamatan")
    fresh = [make_submission(session) for _ in range(3)]
    done_before = make_submission(session, status="terverifikasi")
    foreign = make_submission(session, DESA_B)
    result = review.decide_many(session, [*fresh, done_before, foreign], kec, "terverifikasi")
    assert result.done == [s.id for s in fresh]
    refused = dict(result.refused)
    assert set(refused) == {done_before.id, foreign.id}
    assert "tidak dapat diubah" in refused[done_before.id]
    assert refused[foreign.id] == "Data tidak ditemukan."
    assert all(len(events(session, s)) == 1 for s in fresh)
    assert events(session, done_before) == [] and events(session, foreign) == []


def test_deleted_on_kobo_cannot_be_decided(session):
    sub = make_submission(session)
    sub.is_deleted_on_server = True
    dinsos = make_user(session, "dinsos")
    assert review.allowed_decisions(dinsos, sub) == []
    with pytest.raises(review.InvalidTransition):
        review.decide(session, sub, dinsos, "disetujui")
