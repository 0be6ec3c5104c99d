"""Write-back of review decisions to Kobo, against the project's Kobo simulator over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from formserver.kobo import KoboClient
from harvester import writeback
from harvester.lock import HarvestLease
from registry import review
from registry.db import session_factory
from registry.models import OutboxItem, Submission, User
from tests.webapp import factories as fx

simulator = pytest.importorskip("kobo_simulator", reason="the Kobo simulator is not built yet")

BULK = "/data/validation_statuses/"
SINGLE = "/validation_status/"


@pytest.fixture
def sim() -> Iterator[simulator.KoboSimulator]:
    with simulator.KoboSimulator(seed=4) as server:
        yield server


@pytest.fixture
def client(sim) -> Iterator[KoboClient]:
    # Few, fast retries: an outage must show as an outage within the test.
    with KoboClient(sim.base_url, sim.token, retries=1, backoff=0.01) as c:
        yield c


@pytest.fixture
def sessions(database_url) -> sessionmaker[Session]:
    return session_factory(database_url)


@pytest.fixture
def scene(sim, sessions):
    """A PPKS asset on Kobo with six submissions, mirrored in our database, and a reviewer."""
    asset = sim.add_asset("ppks")
    kobo_ids = sim.generate(asset, 6)
    with sessions() as db:
        reviewer = fx.make_user(db, "dinsos")
        subs = [fx.make_submission(db, asset_uid=asset, kobo_id=k) for k in kobo_ids]
        db.commit()
        return asset, [s.id for s in subs], reviewer.id


def decide(sessions, sub_id: int, user_id: int, status: str, **kw: str) -> None:
    with sessions() as db:
        review.decide(db, db.get(Submission, sub_id), db.get(User, user_id), status, **kw)
        db.commit()


def kobo_status(sim, asset: str, sessions, sub_id: int) -> str | None:
    with sessions() as db:
        kobo_id = db.get(Submission, sub_id).kobo_id
    return sim.get(asset, kobo_id)["_validation_status"].get("uid")


def accepted_patches(sim, path: str = BULK) -> int:
    return sum(
        1 for r in sim.requests if r.method == "PATCH" and path in r.path and r.status == 200
    )


def outbox(sessions) -> list[OutboxItem]:
    with sessions() as db:
        return list(db.scalars(select(OutboxItem).order_by(OutboxItem.id)))


def test_decisions_reach_kobo_after_an_outage_exactly_once(sim, client, sessions, scene):
    asset, subs, reviewer = scene
    for sub in subs[:3]:
        decide(sessions, sub, reviewer, "disetujui")
    decide(sessions, subs[3], reviewer, "ditolak", catatan="ganda", alasan="data_ganda")
    decide(sessions, subs[4], reviewer, "dikembalikan", catatan="foto buram")
    decide(sessions, subs[5], reviewer, "terverifikasi")  # stays in the district

    outage = sim.faults.error(503, path="validation_status", times=None)
    counts = writeback.flush(sessions, client)
    assert counts["sent"] == 0 and counts["failed"] >= 1
    assert all(kobo_status(sim, asset, sessions, s) is None for s in subs)
    items = outbox(sessions)
    assert len(items) == 5 and all(i.sent_at is None for i in items)
    assert any("503" in (i.last_error or "") for i in items)

    sim.faults.remove(outage)
    assert writeback.flush(sessions, client) == {"sent": 5, "failed": 0, "refused": 0}
    expected = ["validation_status_approved"] * 3 + [
        "validation_status_not_approved",
        "validation_status_on_hold",
        None,
    ]
    assert [kobo_status(sim, asset, sessions, s) for s in subs] == expected
    assert all(i.sent_at is not None and i.last_error is None for i in outbox(sessions))
    # One accepted bulk request per target status, and nothing more on later runs.
    assert accepted_patches(sim) == 3
    assert writeback.flush(sessions, client)["sent"] == 0
    assert accepted_patches(sim) == 3
    assert accepted_patches(sim, SINGLE) == 0


def test_a_submission_deleted_on_kobo_does_not_hold_up_the_others(sim, client, sessions, scene):
    asset, subs, reviewer = scene
    for sub in subs[:3]:
        decide(sessions, sub, reviewer, "disetujui")
    with sessions() as db:
        gone = db.get(Submission, subs[1]).kobo_id
    sim.delete(asset, gone)

    counts = writeback.flush(sessions, client)
    assert (counts["sent"], counts["failed"]) == (2, 1)
    assert kobo_status(sim, asset, sessions, subs[0]) == "validation_status_approved"
    assert kobo_status(sim, asset, sessions, subs[2]) == "validation_status_approved"
    assert accepted_patches(sim, SINGLE) == 2
    failed = next(i for i in outbox(sessions) if i.submission_id == subs[1])
    assert failed.sent_at is None and "404" in failed.last_error


def test_an_unknown_uid_is_never_sent(sim, client, sessions, scene):
    asset, subs, reviewer = scene
    decide(sessions, subs[0], reviewer, "disetujui")
    writeback.flush(sessions, client)
    with sessions() as db:
        # A damaged row: Kobo's bulk endpoint would answer 200 and clear the status.
        item = db.scalars(select(OutboxItem)).one()
        item.sent_at = None
        item.validation_uid = "validation_status_aproved"
        db.commit()
    sim.clear_requests()
    counts = writeback.flush(sessions, client)
    assert counts == {"sent": 0, "failed": 0, "refused": 1}
    assert sim.request_count(method="PATCH") == 0
    assert kobo_status(sim, asset, sessions, subs[0]) == "validation_status_approved"
    assert "not a Kobo validation status" in outbox(sessions)[0].last_error


def test_only_the_latest_decision_is_sent(sim, client, sessions, scene):
    asset, subs, reviewer = scene
    decide(sessions, subs[0], reviewer, "dikembalikan", catatan="foto buram")
    with sessions() as db:
        review.mark_changed_after_review(db, db.get(Submission, subs[0]))
        db.commit()
    decide(sessions, subs[0], reviewer, "disetujui")
    assert writeback.flush(sessions, client)["sent"] == 1
    assert accepted_patches(sim) == 1
    assert kobo_status(sim, asset, sessions, subs[0]) == "validation_status_approved"


def test_nothing_is_sent_for_submissions_deleted_on_the_server(sim, client, sessions, scene):
    _asset, subs, reviewer = scene
    decide(sessions, subs[0], reviewer, "disetujui")
    with sessions() as db:
        db.get(Submission, subs[0]).is_deleted_on_server = True
        db.commit()
    assert writeback.flush(sessions, client)["sent"] == 0
    assert sim.request_count(method="PATCH") == 0


def test_two_senders_never_overlap(sim, client, sessions, scene):
    _asset, subs, reviewer = scene
    decide(sessions, subs[0], reviewer, "disetujui")
    with HarvestLease(sessions, name=writeback.LEASE_NAME):
        assert writeback.flush(sessions, client)["busy"] == 1
        assert sim.request_count(method="PATCH") == 0
    assert writeback.flush(sessions, client)["sent"] == 1
