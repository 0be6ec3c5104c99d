"""The harvester against the project's Kobo simulator over real HTTP, into real SQLite/PostgreSQL.

Every expected count is derived from what the simulator holds, never hard-coded.
"""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from formserver.kobo import KoboClient
from harvester.lock import AlreadyRunning, HarvestLease
from harvester.sync import Harvester
from registry import db
from registry.models import (
    Attachment,
    HarvestRun,
    HarvestState,
    Household,
    Person,
    QualityFlag,
    Submission,
)
from registry.settings import Settings
from surveys import paths as f

DATA = "/data/$"  # the data list endpoint, not a single submission


def make_settings(kobo, database_url: str, tmp_path: Path, **assets: str) -> Settings:
    return Settings(
        database_url=database_url,
        media_dir=tmp_path / "media",
        kobo_url=kobo.base_url,
        kobo_token=kobo.token,
        asset_ppks=assets.get("ppks"),
        asset_psks=assets.get("psks"),
    )


def run_once(
    settings: Settings,
    forms=("ppks",),
    *,
    reconcile=False,
    parallel=None,
    preparer=True,
    **client_kw,
):
    """One harvest run; `parallel=N` prepares pages in a second process from N rows on, unless
    `preparer=False`."""
    client_kw.setdefault("backoff", 0.01)
    options: dict = {"preparer": preparer}
    if parallel is not None:
        options["parallel_min_rows"] = parallel
    with KoboClient(settings.kobo_url, settings.kobo_token, **client_kw) as client:
        harvester = Harvester(
            settings, client, db.session_factory(settings.database_url), **options
        )
        return harvester.run(list(forms), reconcile=reconcile)


def data_pages(kobo) -> int:
    """Requests for pages of the data list (not single submissions or attachments)."""
    return sum(1 for r in kobo.requests if r.method == "GET" and r.path.endswith("/data/"))


def members(payload: dict) -> list[dict]:
    value = payload.get(f.ANGGOTA)
    return value if isinstance(value, list) else []


def db_counts(url: str, asset_uid: str) -> dict[str, int]:
    with db.session_scope(url) as s:
        ids = s.scalars(select(Submission.kobo_id).where(Submission.asset_uid == asset_uid)).all()
        return {
            "submissions": len(ids),
            "distinct": len(set(ids)),
            "households": s.scalar(select(func.count()).select_from(Household)) or 0,
            "persons": s.scalar(select(func.count()).select_from(Person)) or 0,
        }


def expected(kobo, uid: str) -> dict[str, int]:
    ids = kobo.ids(uid)
    persons = sum(len(members(kobo.get(uid, i))) for i in ids)
    return {
        "submissions": len(ids),
        "distinct": len(ids),
        "households": len(ids),
        "persons": persons,
    }


@pytest.fixture
def scene(kobo, database_url, tmp_path):
    uid = kobo.add_asset("ppks")
    return kobo, uid, make_settings(kobo, database_url, tmp_path, ppks=uid)


def test_many_pages_then_a_second_run_fetches_nothing(scene):
    kobo, uid, settings = scene
    kobo.generate(uid, 1150)
    [result] = run_once(settings, page_limit=100)
    assert (result.fetched, result.new, result.updated, result.errors) == (1150, 1150, 0, [])
    assert data_pages(kobo) == 12  # ceil(1150 / 100) pages
    assert db_counts(settings.database_url, uid) == expected(kobo, uid)
    with db.session_scope(settings.database_url) as s:
        assert s.get(HarvestState, uid).last_kobo_id == max(kobo.ids(uid))
        one = s.scalars(select(Submission).order_by(Submission.kobo_id).limit(1)).one()
        payload = kobo.get(uid, one.kobo_id)
        assert one.kode_desa == payload[f.DESA]
        assert one.root_uuid == payload["meta/rootUuid"]
        names = [p.nama for p in one.household.persons]
        assert names == [m[f.NAMA] for m in members(payload)]

    kobo.clear_requests()
    [again] = run_once(settings, page_limit=100)
    assert (again.fetched, again.new, again.updated) == (0, 0, 0)
    assert data_pages(kobo) == 1
    assert db_counts(settings.database_url, uid) == expected(kobo, uid)


def test_new_submissions_after_a_run_are_picked_up_once(scene):
    kobo, uid, settings = scene
    kobo.generate(uid, 40)
    run_once(settings)
    kobo.generate(uid, 25)
    [result] = run_once(settings)
    assert (result.fetched, result.new) == (25, 25)
    assert db_counts(settings.database_url, uid) == expected(kobo, uid)


FAULTS = {
    "http_500": lambda faults: faults.error(500, path=DATA, skip=1, times=2),
    "http_502": lambda faults: faults.error(502, path=DATA, skip=1, times=2),
    "http_503": lambda faults: faults.error(503, path=DATA, skip=1, times=2),
    "http_504": lambda faults: faults.error(504, path=DATA, skip=1, times=2),
    "http_429_retry_after": lambda faults: faults.rate_limit(retry_after=1, path=DATA, skip=1),
    "slow_reply": lambda faults: faults.slow(3.0, path=DATA, skip=1, times=1),
    "cut_body": lambda faults: faults.cut(0.5, path=DATA, skip=1, times=2),
    "connection_reset": lambda faults: faults.reset(path=DATA, skip=1, times=2),
}


@pytest.mark.parametrize("kind", FAULTS)
def test_every_fault_kind_is_survived_with_exact_counts(scene, kind):
    kobo, uid, settings = scene
    kobo.generate(uid, 450)
    fault = FAULTS[kind](kobo.faults)
    [result] = run_once(settings, page_limit=100, timeout=(5.0, 1.0))
    assert fault.hits >= 1, "the fault never fired: the test proves nothing"
    assert result.errors == []
    assert (result.fetched, result.new) == (450, 450)
    assert db_counts(settings.database_url, uid) == expected(kobo, uid)


def test_when_retries_run_out_the_run_stops_keeps_pages_and_the_next_run_resumes(scene):
    kobo, uid, settings = scene
    kobo.generate(uid, 500)
    kobo.faults.error(503, path=DATA, skip=2, times=None)
    [failed] = run_once(settings, page_limit=100, retries=2)
    assert failed.new == 200
    assert len(failed.errors) == 1 and "503" in failed.errors[0]
    assert db_counts(settings.database_url, uid)["submissions"] == 200
    with db.session_scope(settings.database_url) as s:
        run = s.scalars(select(HarvestRun).order_by(HarvestRun.id.desc())).first()
        assert (run.status, run.new) == ("failed", 200)
        assert "503" in run.error

    kobo.faults.clear()
    [resumed] = run_once(settings, page_limit=100)
    assert (resumed.new, resumed.errors) == (300, [])
    assert db_counts(settings.database_url, uid) == expected(kobo, uid)


@pytest.mark.parametrize("fault", ["reset", "cut"])
def test_a_request_is_tried_retries_plus_one_times_not_more(scene, fault):
    kobo, uid, settings = scene
    kobo.generate(uid, 5)
    getattr(kobo.faults, fault)(path=DATA, times=None)
    [failed] = run_once(settings, retries=2)
    assert failed.new == 0 and len(failed.errors) == 1
    assert data_pages(kobo) == 3  # one try and two retries, whichever layer retries


def test_a_second_harvest_while_one_runs_is_refused(scene):
    kobo, uid, settings = scene
    kobo.generate(uid, 300)
    kobo.faults.slow(2.0, path=DATA, skip=1, times=1)
    outcome: dict[str, object] = {}

    def first() -> None:
        outcome["first"] = run_once(settings, page_limit=100)

    thread = threading.Thread(target=first)
    thread.start()
    try:
        while data_pages(kobo) < 2:
            threading.Event().wait(0.02)
        with pytest.raises(AlreadyRunning, match="already running"):
            run_once(settings, page_limit=100)
    finally:
        thread.join()
    [result] = outcome["first"]
    assert result.new == 300
    assert db_counts(settings.database_url, uid) == expected(kobo, uid)


def test_a_lease_left_by_a_dead_process_is_taken_over(scene):
    _kobo, _uid, settings = scene
    sessions = db.session_factory(settings.database_url)
    lease = HarvestLease(sessions)
    lease.holder = f"{lease.holder.split(':')[0]}:999999999:dead"  # no such pid on this host
    lease.acquire()
    lease.held = False  # abandoned without release, as a SIGKILL would leave it
    with HarvestLease(sessions) as taken:
        assert taken.held


def test_reconcile_finds_edits_deletions_and_validation_changes(scene):
    kobo, uid, settings = scene
    ids = kobo.generate(uid, 60)
    run_once(settings)
    edited, deleted, validated = ids[3:5], ids[10:13], ids[20]
    for kid in edited:
        payload = kobo.get(uid, kid)
        rows = members(payload)
        rows[0] = {**rows[0], f.NAMA: "Nama Diperbaiki"}
        kobo.edit(uid, kid, {f.ANGGOTA: rows})
    for kid in deleted:
        kobo.delete(uid, kid)
    kobo.set_validation(uid, validated, "validation_status_on_hold")

    [plain] = run_once(settings)
    assert (plain.fetched, plain.updated, plain.deleted) == (
        0,
        0,
        0,
    )  # keyset alone cannot see them

    [result] = run_once(settings, reconcile=True)
    assert result.errors == []
    assert (result.updated, result.deleted) == (3, 3)
    with db.session_scope(settings.database_url) as s:
        for kid in edited:
            row = s.scalars(select(Submission).where(Submission.kobo_id == kid)).one()
            assert row.uuid == kobo.get(uid, kid)["_uuid"]
            assert row.household.persons[0].nama == "Nama Diperbaiki"
        gone = s.scalars(select(Submission).where(Submission.kobo_id.in_(deleted))).all()
        assert len(gone) == 3 and all(r.is_deleted_on_server for r in gone)
        on_hold = s.scalars(select(Submission).where(Submission.kobo_id == validated)).one()
        assert on_hold.kobo_validation_uid == "validation_status_on_hold"
    assert db_counts(settings.database_url, uid)["submissions"] == 60  # nothing deleted locally


def test_bad_values_are_stored_as_they_came_and_flagged(scene):
    kobo, uid, settings = scene
    long_text = "jalan " * 1700  # ~10 kB
    kid = kobo.add_submission(
        uid,
        {
            f.PERSETUJUAN: "ya",
            f.KECAMATAN: "61.07.01",
            f.DESA: "61.07.99.9999",
            f.ALAMAT: long_text,
            f.NO_KK: "6107012345",
            f.ANGGOTA: [
                {f.NIK: "610701010190000", f.NAMA: 12345, f.TANGGAL_LAHIR: "31-02-1990"},
                {
                    f.NIK: "6107014101900002",
                    f.NAMA: "Siti\t'Aisyah'\\N \"Ibu\"\nBaris dua",  # COPY's escapes
                    f.TANGGAL_LAHIR: "bukan tanggal",
                },
            ],
        },
    )
    kobo.generate(uid, 5)
    [result] = run_once(settings)
    assert (result.new, result.errors) == (6, [])
    with db.session_scope(settings.database_url) as s:
        row = s.scalars(select(Submission).where(Submission.kobo_id == kid)).one()
        assert row.household.alamat == long_text
        first, second = row.household.persons
        assert (first.nik, first.nama, first.tanggal_lahir) == (
            "610701010190000",
            "12345",
            "31-02-1990",
        )
        assert first.tanggal_lahir_date is None
        assert second.tanggal_lahir == "bukan tanggal"
        assert second.nama == "Siti\t'Aisyah'\\N \"Ibu\"\nBaris dua"
        good = s.scalars(select(Submission).where(Submission.kobo_id != kid).limit(1)).one()
        for person in good.household.persons:  # stored as dates, read back as dates
            assert person.tanggal_lahir_date == dt.date.fromisoformat(person.tanggal_lahir)
        assert good.submitted_at.tzinfo is not None
        flagged = {
            (fl.field, fl.code)
            for fl in s.scalars(select(QualityFlag).where(QualityFlag.submission_id == row.id))
        }
    fields_flagged = {field for field, _ in flagged}
    assert f.DESA in fields_flagged
    assert "keluarga/anggota[1]/nik" in fields_flagged
    assert "keluarga/anggota[1]/tanggal_lahir" in fields_flagged
    assert "keluarga/anggota[2]/tanggal_lahir" in fields_flagged


def test_failed_attachment_downloads_are_recorded_and_retried(scene):
    kobo, uid, settings = scene
    kobo.generate(uid, 80)
    with_photo = [i for i in kobo.ids(uid) if kobo.get(uid, i)["_attachments"]]
    assert with_photo, "the simulator made no photos: the test proves nothing"
    kobo.faults.error(503, path="/attachments/", times=None)
    [first] = run_once(settings, retries=1)
    assert first.errors == [] and first.new == 80  # the data never waits for photos
    assert first.attachments_failed == len(with_photo)
    with db.session_scope(settings.database_url) as s:
        atts = s.scalars(select(Attachment)).all()
        assert len(atts) == len(with_photo)
        assert all(not a.is_downloaded and a.attempts == 1 and a.last_error for a in atts)
        run = s.scalars(
            select(HarvestRun).where(HarvestRun.kind == "harvest").order_by(HarvestRun.id)
        ).first()
        assert (run.status, run.failed) == ("ok", len(with_photo))  # recorded on the run

    kobo.faults.clear()
    [second] = run_once(settings)
    assert second.attachments_failed == 0
    with db.session_scope(settings.database_url) as s:
        for att in s.scalars(select(Attachment)).all():
            assert att.is_downloaded and att.local_path
            on_disk = (settings.media_dir / att.local_path).read_bytes()
            assert on_disk[:2] == b"\xff\xd8"  # a JPEG
            assert on_disk == kobo_bytes(kobo, att.download_url)

    kobo.clear_requests()
    run_once(settings)
    assert kobo.request_count(path="/attachments/") == 0  # idempotent: nothing fetched twice


def kobo_bytes(kobo, url: str) -> bytes:
    import requests

    response = requests.get(url, headers={"Authorization": f"Token {kobo.token}"}, timeout=10)
    response.raise_for_status()
    return response.content


def test_an_edit_after_a_review_decision_sends_the_submission_back_to_baru(scene):
    from registry import review, users
    from registry.models import ReviewEvent

    kobo, uid, settings = scene
    ids = kobo.generate(uid, 5)
    run_once(settings)
    with db.session_scope(settings.database_url) as s:
        reviewer = users.create_user(s, "reviewer", "rahasia-sekali-123", "dinsos")
        sub = s.scalars(select(Submission).where(Submission.kobo_id == ids[0])).one()
        review.decide(s, sub, reviewer, "disetujui")
        approved_hash = sub.payload_hash

    payload = kobo.get(uid, ids[0])
    kobo.edit(uid, ids[0], {f.ALAMAT: (payload.get(f.ALAMAT) or "") + " (diperbaiki)"})
    [result] = run_once(settings, reconcile=True)
    assert result.updated == 1
    with db.session_scope(settings.database_url) as s:
        sub = s.scalars(select(Submission).where(Submission.kobo_id == ids[0])).one()
        assert (sub.status, sub.is_changed_after_review) == ("baru", True)
        events = s.scalars(
            select(ReviewEvent).where(ReviewEvent.submission_id == sub.id).order_by(ReviewEvent.id)
        ).all()
        assert [(e.from_status, e.to_status) for e in events] == [
            ("baru", "disetujui"),
            ("disetujui", "baru"),
        ]
        assert events[0].payload_hash == approved_hash != sub.payload_hash
        assert "diubah setelah ditinjau" in events[1].catatan
        others = s.scalars(select(Submission.status).where(Submission.kobo_id != ids[0])).all()
        assert set(others) == {"baru"}


def test_our_own_write_back_of_a_decision_is_not_taken_for_an_edit(scene):
    from registry import review, users

    kobo, uid, settings = scene
    ids = kobo.generate(uid, 3)
    run_once(settings)
    with db.session_scope(settings.database_url) as s:
        reviewer = users.create_user(s, "reviewer", "rahasia-sekali-123", "dinsos")
        sub = s.scalars(select(Submission).where(Submission.kobo_id == ids[1])).one()
        review.decide(s, sub, reviewer, "disetujui")
    [result] = run_once(settings, reconcile=True)  # flushes the outbox, then reconciles
    assert kobo.get(uid, ids[1])["_validation_status"]["uid"] == "validation_status_approved"
    assert result.updated == 1  # the validation status, seen by reconcile
    with db.session_scope(settings.database_url) as s:
        sub = s.scalars(select(Submission).where(Submission.kobo_id == ids[1])).one()
        assert (sub.status, sub.is_changed_after_review) == ("disetujui", False)
        assert sub.kobo_validation_uid == "validation_status_approved"


def test_reconcile_over_many_pages_finds_deletions_in_every_range(scene):
    kobo, uid, settings = scene
    ids = kobo.generate(uid, 95)
    run_once(settings)
    gone = [ids[0], ids[9], ids[10], ids[47], ids[-2], ids[-1]]  # page edges and past the end
    for kid in gone:
        kobo.delete(uid, kid)
    [result] = run_once(settings, reconcile=True, page_limit=10)
    assert (result.errors, result.deleted, result.updated) == ([], len(gone), 0)
    with db.session_scope(settings.database_url) as s:
        marked = s.scalars(
            select(Submission.kobo_id).where(Submission.is_deleted_on_server.is_(True))
        ).all()
    assert sorted(marked) == sorted(gone)


def test_reconcile_marks_nothing_when_kobo_lists_no_submissions_at_all(scene):
    kobo, uid, settings = scene
    ids = kobo.generate(uid, 12)
    run_once(settings)
    for kid in ids:
        kobo.delete(uid, kid)
    [result] = run_once(settings, reconcile=True)
    assert result.deleted == 0
    assert "nothing was marked deleted" in result.errors[0]
    with db.session_scope(settings.database_url) as s:
        assert not s.scalars(select(Submission).where(Submission.is_deleted_on_server)).all()


@pytest.mark.slow
def test_pages_prepared_in_a_second_process_give_the_same_registry(scene):
    kobo, uid, settings = scene
    kobo.generate(uid, 640)
    kobo.faults.error(503, path=DATA, skip=3, times=2)  # the second process retries too
    [result] = run_once(settings, page_limit=100, parallel=0)
    assert (result.fetched, result.new, result.errors) == (640, 640, [])
    assert db_counts(settings.database_url, uid) == expected(kobo, uid)
    with db.session_scope(settings.database_url) as s:
        last = s.scalars(select(Submission).order_by(Submission.kobo_id.desc()).limit(1)).one()
        payload = kobo.get(uid, last.kobo_id)
        assert last.payload == payload  # the payload crossed the process boundary unchanged
        assert [p.nik for p in last.household.persons] == [m[f.NIK] for m in members(payload)]
        assert s.get(HarvestState, uid).last_kobo_id == max(kobo.ids(uid))


def test_without_the_preparer_the_same_pages_give_the_same_registry(scene):
    kobo, uid, settings = scene
    kobo.generate(uid, 640)
    kobo.faults.error(503, path=DATA, skip=3, times=2)
    [result] = run_once(settings, page_limit=100, parallel=0, preparer=False)
    assert (result.fetched, result.new, result.errors) == (640, 640, [])
    assert db_counts(settings.database_url, uid) == expected(kobo, uid)
    with db.session_scope(settings.database_url) as s:
        last = s.scalars(select(Submission).order_by(Submission.kobo_id.desc()).limit(1)).one()
        payload = kobo.get(uid, last.kobo_id)
        assert last.payload == payload
        assert [p.nik for p in last.household.persons] == [m[f.NIK] for m in members(payload)]
        assert s.get(HarvestState, uid).last_kobo_id == max(kobo.ids(uid))


@pytest.mark.slow
def test_a_failure_in_the_second_process_stops_the_run_and_the_next_run_resumes(scene):
    kobo, uid, settings = scene
    kobo.generate(uid, 500)
    kobo.faults.error(503, path=DATA, skip=2, times=None)
    [failed] = run_once(settings, page_limit=100, retries=1, parallel=0)
    assert failed.new == 200 and "503" in failed.errors[0]
    kobo.faults.clear()
    [resumed] = run_once(settings, page_limit=100, parallel=0)
    assert (resumed.new, resumed.errors) == (300, [])
    assert db_counts(settings.database_url, uid) == expected(kobo, uid)


def _spawned_children_of(pid: int) -> list[int]:
    """Our processes started by multiprocessing's spawn (not its resource tracker)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) != pid:
                continue
            if b"spawn_main" in (stat.parent / "cmdline").read_bytes():
                found.append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
@pytest.mark.slow
def test_a_page_preparer_killed_mid_run_fails_the_run_and_the_next_run_resumes(scene):
    import os
    import signal
    import time

    kobo, uid, settings = scene
    kobo.generate(uid, 600)
    kobo.faults.slow(0.3, path=DATA, skip=3, times=None)  # pages 4 onwards are slow to come

    def kill_the_preparer() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with db.session_scope(settings.database_url) as s:
                stored = s.scalar(select(func.count()).select_from(Submission)) or 0
            # the data requests of pages 1-3 answered fast; the preparer is waiting on page 4
            preparers = _spawned_children_of(os.getpid())
            if stored >= 200 and preparers:
                for pid in preparers:
                    os.kill(pid, signal.SIGKILL)
                return
            time.sleep(0.05)

    killer = threading.Thread(target=kill_the_preparer)
    killer.start()
    [failed] = run_once(settings, page_limit=100, parallel=0)
    killer.join()
    assert "stopped unexpectedly" in failed.errors[0]
    assert 200 <= failed.new < 600
    kobo.faults.clear()
    [resumed] = run_once(settings, page_limit=100, parallel=0)
    assert (failed.new + resumed.new, resumed.errors) == (600, [])
    assert db_counts(settings.database_url, uid) == expected(kobo, uid)
