"""Blokir flags stop approval until corrected or overridden with a note; flags show in the list,
the dashboard, the detail page, the API and the export."""

from __future__ import annotations

import csv

import pytest
from sqlalchemy import select

from registry import review
from registry.models import FlagOverride, ReviewEvent, Submission
from registry.queries import operator
from surveys import paths as f
from tests.registry.factories import ppks_payload, store
from tests.webapp import factories as fx


def faulty(kobo_id: int, **answers):
    """A household whose second member has a fake NIK (blokir) and no GPS point (peringatan)."""
    payload = ppks_payload(kobo_id, kode_desa=fx.DESA_A, **answers)
    payload[f.ANGGOTA][1][f.NIK] = "1111111111111111"
    payload.pop(f.LOKASI)
    return payload


@pytest.fixture
def blocked(db):
    sub = store(db, "ppks", faulty(7001))
    clean = store(db, "ppks", ppks_payload(7002, kode_desa=fx.DESA_A))
    db.commit()
    return sub, clean


def codes(sub):
    return {(x.code, x.severity, x.position) for x in sub.flags}


def test_a_blokir_flag_stops_approval_until_overridden_and_again_after_an_edit(db, blocked):
    sub, clean = blocked
    assert ("nik_palsu", "blokir", 2) in codes(sub) and (
        "lokasi_kosong",
        "peringatan",
        None,
    ) in codes(sub)
    dinsos = fx.make_user(db, "dinsos", username="dinsos_flags")
    db.commit()
    with pytest.raises(review.Blocked) as refused:
        review.decide(db, sub, dinsos, "disetujui")
    assert refused.value.http_status == 409
    assert (
        "Anggota ke-2 (Maria Anyeng)" in refused.value.message
        and "1 tanda blokir" in refused.value.message
    )
    review.decide(db, sub, dinsos, "dikembalikan", catatan="periksa NIK")  # not blocked
    flag = next(x for x in sub.flags if x.code == "nik_palsu")
    with pytest.raises(review.MissingNote):
        review.override_flag(db, sub, dinsos, flag.id, "  ")
    warning = next(x for x in sub.flags if x.severity == "peringatan")
    with pytest.raises(review.InvalidTransition):
        review.override_flag(db, sub, dinsos, warning.id, "tidak perlu")
    with pytest.raises(review.NotFound):
        review.override_flag(
            db, sub, dinsos, next(iter(clean.flags), flag).id if clean.flags else 10**6, "x"
        )
    event = review.override_flag(db, sub, dinsos, flag.id, "KTP asli sudah dilihat di desa")
    assert (event.kind, event.alasan, event.from_status, event.to_status) == (
        "override",
        "nik_palsu",
        sub.status,
        sub.status,
    )
    with pytest.raises(review.InvalidTransition):
        review.override_flag(db, sub, dinsos, flag.id, "lagi")
    db.commit()
    # approval is now possible from baru/terverifikasi; put it back through an edit on Kobo
    sub.payload_hash = "0" * 64  # the data changed: the override was for the old data
    db.commit()
    sub.status = "baru"
    db.commit()
    with pytest.raises(review.Blocked):
        review.decide(db, sub, dinsos, "disetujui")
    db.rollback()


def test_after_an_override_the_submission_can_be_approved(db, blocked):
    sub, _clean = blocked
    dinsos = fx.make_user(db, "dinsos", username="dinsos_ok")
    db.commit()
    flag = next(x for x in sub.flags if x.code == "nik_palsu")
    review.override_flag(db, sub, dinsos, flag.id, "dicek langsung")
    review.decide(db, sub, dinsos, "disetujui")
    db.commit()
    assert db.get(Submission, sub.id).status == "disetujui"
    kinds = [
        e.kind for e in db.scalars(select(ReviewEvent).where(ReviewEvent.submission_id == sub.id))
    ]
    assert kinds == ["override", "status"]
    assert db.scalar(select(FlagOverride.code)) == "nik_palsu"


@pytest.mark.parametrize("role", ["kecamatan", "desa", "pimpinan"])
def test_only_dinsos_and_admin_override(db, blocked, role):
    sub, _clean = blocked
    user = fx.make_user(db, role, username=f"{role}_flags")
    flag = next(x for x in sub.flags if x.code == "nik_palsu")
    with pytest.raises((review.NotAllowed, review.NotFound)):
        review.override_flag(db, sub, user, flag.id, "boleh?")


def test_the_pages_refuse_approval_then_override_then_approve(client, auth, db, blocked):
    sub, _clean = blocked
    auth.login("dinsos")
    page = client.post(f"/pengajuan/{sub.id}/keputusan", data={"status": "disetujui"})
    assert page.status_code == 409 and "Belum dapat disetujui" in page.get_data(as_text=True)
    flag = next(x for x in sub.flags if x.code == "nik_palsu")
    detail = client.get(f"/pengajuan/{sub.id}").get_data(as_text=True)
    assert "Anggota ke-2: Maria Anyeng" in detail and "Abaikan tanda blokir" in detail
    done = client.post(f"/pengajuan/{sub.id}/tanda/{flag.id}/abaikan", data={"catatan": "dicek"})
    assert done.status_code == 303
    detail = client.get(f"/pengajuan/{sub.id}").get_data(as_text=True)
    assert "Diabaikan oleh" in detail and "dicek" in detail
    ok = client.post(f"/pengajuan/{sub.id}/keputusan", data={"status": "disetujui"})
    assert ok.status_code == 303


def test_the_list_marks_and_filters_flags_and_the_dashboard_counts_them(client, auth, db, blocked):
    sub, clean = blocked
    auth.login("dinsos")
    blocked_list = client.get("/pengajuan/?tanda=tertahan").get_data(as_text=True)
    assert f'/pengajuan/{sub.id}"' in blocked_list and f'/pengajuan/{clean.id}"' not in blocked_list
    assert "1 blokir" in blocked_list
    by_code = client.get("/pengajuan/?flag=lokasi_kosong").get_data(as_text=True)
    assert f'/pengajuan/{sub.id}"' in by_code and f'/pengajuan/{clean.id}"' not in by_code
    dashboard = client.get("/").get_data(as_text=True)
    assert "/pengajuan/?flag=nik_palsu" in dashboard


def test_the_api_carries_flags_on_the_submission_and_each_person(client, auth, blocked):
    sub, _clean = blocked
    body = client.get(f"/api/v1/submissions/{sub.id}", headers=auth.token("dinsos")).get_json()
    assert {x["code"] for x in body["flags"]} >= {"lokasi_kosong"}
    persons = body["household"]["persons"]
    assert persons[0]["flags"] == []
    (nik_flag,) = [x for x in persons[1]["flags"] if x["code"] == "nik_palsu"]
    assert nik_flag["severity"] == "blokir" and nik_flag["field"] == "keluarga/anggota[2]/nik"
    assert nik_flag["message"].startswith("Anggota ke-2 (Maria Anyeng): ")
    listed = client.get("/api/v1/submissions?tanda=tertahan", headers=auth.token("dinsos"))
    assert [i["id"] for i in listed.get_json()["items"]] == [sub.id]


def test_the_export_has_a_flags_column(db, database_url, tmp_path, blocked):
    from registry.export import export_bnba

    sub, _clean = blocked
    out = tmp_path / "bnba.csv"
    export_bnba(database_url, out, user=operator("uji"), fmt="csv", bom=False)
    rows = [
        r for r in csv.DictReader(out.open(encoding="utf-8")) if r["kobo_id"] == str(sub.kobo_id)
    ]
    marks = [r["tanda_mutu"] for r in rows]
    assert "nik_palsu (blokir)" in marks[1] and "lokasi_kosong (peringatan)" in marks[1]
    assert "nik_palsu" not in marks[0] and "lokasi_kosong (peringatan)" in marks[0]
