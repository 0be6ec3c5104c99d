"""A decision taken in the app reaches Kobo in the background; a slow or absent Kobo never
holds up the request nor loses the decision."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from registry.models import OutboxItem, Submission
from registry.settings import Settings
from tests.webapp import factories as fx
from tests.webapp.conftest import make_app
from webapp import background

simulator = pytest.importorskip("kobo_simulator", reason="the Kobo simulator is not built yet")


@pytest.fixture
def sim() -> Iterator[simulator.KoboSimulator]:
    with simulator.KoboSimulator(seed=7) as server:
        yield server


@pytest.fixture
def kobo_app(database_url, tmp_path, sim):
    settings = Settings(
        database_url=database_url, media_dir=tmp_path, kobo_url=sim.base_url, kobo_token=sim.token
    )
    app = make_app(database_url, tmp_path, BABALE_SETTINGS=settings, WRITEBACK_ENABLED=True)
    yield app
    background.sender(app).wait_idle(30)


def _wait_for(predicate, what: str, limit: float = 20.0) -> None:
    """Poll until `predicate()` holds (a deadline against hangs, not a timing assertion)."""
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.05)


def test_approval_is_sent_in_the_background_without_waiting_for_kobo(kobo_app, sim, db):
    asset = sim.add_asset("ppks")
    [kobo_id] = sim.generate(asset, 1)
    fx.make_user(db, "dinsos", username="rev")
    sub = fx.make_submission(db, asset_uid=asset, kobo_id=kobo_id)
    db.commit()
    client = kobo_app.test_client()
    client.post("/masuk", data={"username": "rev", "password": fx.PASSWORD})

    sim.faults.slow(3.0, path="validation_status")  # Kobo takes its time to answer
    response = client.post(f"/pengajuan/{sub.id}/keputusan", data={"status": "disetujui"})
    assert response.status_code == 303
    db.expire_all()
    assert db.get(Submission, sub.id).status == "disetujui"  # committed before Kobo answered

    def patch_in_flight() -> bool:
        return any(r.method == "PATCH" and r.status is None for r in sim.requests)

    _wait_for(patch_in_flight, "the PATCH to reach Kobo")
    item = db.scalars(select(OutboxItem).where(OutboxItem.submission_id == sub.id)).one()
    assert item.sent_at is None  # Kobo has not answered yet, and the request is long done

    assert background.sender(kobo_app).wait_idle(30)
    db.expire_all()
    assert db.get(OutboxItem, item.id).sent_at is not None
    assert sim.get(asset, kobo_id)["_validation_status"]["uid"] == "validation_status_approved"
    page = client.get(f"/pengajuan/{sub.id}").get_data(as_text=True)
    assert "Sudah diterima Kobo" in page


def test_a_kobo_outage_keeps_the_decision_queued(kobo_app, sim, db, caplog):
    caplog.set_level(logging.INFO)
    asset = sim.add_asset("ppks")
    [kobo_id] = sim.generate(asset, 1)
    fx.make_user(db, "dinsos", username="rev")
    sub = fx.make_submission(db, asset_uid=asset, kobo_id=kobo_id)
    db.commit()
    client = kobo_app.test_client()
    client.post("/masuk", data={"username": "rev", "password": fx.PASSWORD})

    sim.faults.error(503, times=None)
    response = client.post(
        f"/pengajuan/{sub.id}/keputusan", data={"status": "ditolak", "catatan": "x",
                                                 "alasan": "data_ganda"},
    )  # fmt: skip
    assert response.status_code == 303
    assert background.sender(kobo_app).wait_idle(60)
    db.expire_all()
    assert db.get(Submission, sub.id).status == "ditolak"
    item = db.scalars(select(OutboxItem).where(OutboxItem.submission_id == sub.id)).one()
    assert item.sent_at is None and item.attempts >= 1
    page = client.get(f"/pengajuan/{sub.id}").get_data(as_text=True)
    assert "Menunggu dikirim ke Kobo" in page
    assert sim.get(asset, kobo_id)["_validation_status"] == {}
    # The server log tells the administrator, without the token.
    warned = [r for r in caplog.records if r.name == "webapp.background"]
    assert [r.levelno for r in warned] == [logging.WARNING]
    assert "failed" in warned[0].getMessage()
    assert not [r for r in caplog.records if sim.token in r.getMessage()]


def test_a_decision_not_yet_sent_is_dropped_when_the_form_is_edited(sim, database_url, db):
    # Approved while Kobo was down; then the desa corrected the form on Kobo. Nobody has
    # reviewed the new version, so Kobo must not be told it is approved.
    from formserver.kobo import KoboClient
    from harvester import writeback
    from registry import review

    asset = sim.add_asset("ppks")
    [kobo_id] = sim.generate(asset, 1)
    reviewer = fx.make_user(db, "dinsos")
    sub = fx.make_submission(db, asset_uid=asset, kobo_id=kobo_id)
    review.decide(db, sub, reviewer, "disetujui")
    db.commit()
    with KoboClient(sim.base_url, sim.token, retries=0, backoff=0.01) as client:
        sim.faults.error(503, times=None)
        assert writeback.flush(database_url, client)["sent"] == 0
        review.mark_changed_after_review(db, sub)  # what the harvest does on an edit
        db.commit()
        sim.faults.clear()
        assert writeback.flush(database_url, client)["sent"] == 0
    assert sim.get(asset, kobo_id)["_validation_status"] == {}
    assert db.get(Submission, sub.id).status == "baru"
    waiting = db.scalars(select(OutboxItem).where(OutboxItem.submission_id == sub.id)).all()
    assert waiting == []  # nothing left to send later either
