"""The JSON API v1: shapes, filters, decisions and their status codes, stats."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from sqlalchemy import select

from registry import review
from registry.models import OutboxItem, Submission
from surveys.spec import PPKS
from tests.registry.factories import member, ppks_payload, store
from tests.webapp import factories as fx


@pytest.fixture
def seeded(db):
    subs = [
        fx.make_submission(db, fx.DESA_A, nama="Ani", nik="6107010101800011"),
        fx.make_submission(db, fx.DESA_A2, nama="Beni", kategori="lansia_telantar"),
        fx.make_submission(db, fx.DESA_B, nama="Citra", status="disetujui"),
        fx.make_submission(db, fx.DESA_B, form="psks", nama="Dedi", nik="6107050505900005",
                           kategori="pekerja_sosial_masyarakat"),
    ]  # fmt: skip
    db.commit()
    return subs


def test_list_shape_and_masked_nik(client, auth, seeded):
    body = client.get("/api/v1/submissions", headers=auth.token("dinsos")).get_json()
    assert body["total"] == 4 and body["page"] == 1
    first = next(i for i in body["items"] if i["id"] == seeded[0].id)
    assert {"id", "kobo_id", "form", "status", "kode_desa", "submitted_at"} <= set(first)
    assert first["kobo_id"] == seeded[0].kobo_id
    assert first["kode_desa"] == fx.DESA_A
    assert first["submitted_at"].startswith("2026-05-04T03:00:00")
    assert first["nik"] == "6107********0011"


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ({"form": "psks"}, {"Dedi"}),
        ({"status": "disetujui"}, {"Citra"}),
        ({"kecamatan": fx.KEC_A}, {"Ani", "Beni"}),
        ({"desa": fx.DESA_A2}, {"Beni"}),
        ({"kategori": "lansia_telantar"}, {"Beni"}),
        ({"q": "6107010101800011"}, {"Ani"}),
        ({"q": "ded"}, {"Dedi"}),
    ],
)
def test_list_filters(client, auth, seeded, query, names):
    body = client.get("/api/v1/submissions", query_string=query, headers=auth.token("admin"))
    assert {i["nama"] for i in body.get_json()["items"]} == names


def test_list_paging(client, auth, seeded):
    headers = auth.token("dinsos")
    pages = [
        client.get("/api/v1/submissions", query_string={"per_page": 3, "page": p},
                   headers=headers).get_json()
        for p in (1, 2)
    ]  # fmt: skip
    assert [len(p["items"]) for p in pages] == [3, 1]
    assert all(p["total"] == 4 for p in pages)
    ids = [i["id"] for p in pages for i in p["items"]]
    assert sorted(ids) == sorted(s.id for s in seeded)


def test_bad_filter_is_422_with_a_clear_message(client, auth, seeded):
    response = client.get(
        "/api/v1/submissions", query_string={"status": "approved"}, headers=auth.token("dinsos")
    )
    assert response.status_code == 422
    assert response.get_json()["error"] == "nilai status tidak dikenal: approved"


def test_detail_has_household_persons_and_history(client, auth, seeded):
    sub = fx.make_submission(
        auth._db, members=[{"nama": "Siti", "nik": "6107010101850004", "kategori": ""}]
    )
    auth._db.commit()
    body = client.get(f"/api/v1/submissions/{sub.id}", headers=auth.token("desa")).get_json()
    assert body["nik"] == "6107010101800001"  # full on the detail
    persons = body["household"]["persons"]
    assert [(p["position"], p["nama"], p["nik"]) for p in persons] == [
        (1, "Budi Santoso", "6107010101800001"),
        (2, "Siti", "6107010101850004"),
    ]
    assert persons[0]["kategori_ppks"] == ["fakir_miskin"]
    assert body["psks"] is None and body["review_history"] == []
    assert body["kobo_writeback"] is None

    psks = client.get(f"/api/v1/submissions/{seeded[3].id}", headers=auth.token("admin"))
    assert psks.get_json()["psks"]["kategori_psks"] == "pekerja_sosial_masyarakat"


def test_decision_answers_the_new_state(client, auth, db, seeded):
    headers = auth.token("dinsos")
    url = f"/api/v1/submissions/{seeded[0].id}/decision"
    response = client.post(url, json={"status": "dikembalikan", "catatan": "foto buram"},
                           headers=headers)  # fmt: skip
    assert response.status_code == 200
    body = response.get_json()
    assert (body["status"], body["event"]["from"], body["event"]["to"]) == (
        "dikembalikan",
        "baru",
        "dikembalikan",
    )
    assert body["kobo_validation_uid"] == "validation_status_on_hold"
    [item] = db.scalars(select(OutboxItem).where(OutboxItem.submission_id == seeded[0].id))
    assert item.validation_uid == "validation_status_on_hold"
    detail = client.get(f"/api/v1/submissions/{seeded[0].id}", headers=headers).get_json()
    assert detail["review_history"][0]["by"] == "u_dinsos"
    assert detail["kobo_writeback"] == {
        "validation_uid": "validation_status_on_hold",
        "sent_at": None,
    }


@pytest.mark.parametrize(
    ("role", "body", "code", "message"),
    [
        ("dinsos", {"status": "dikembalikan"}, 422, "Catatan wajib diisi"),
        ("dinsos", {"status": "ditolak", "catatan": "x"}, 422, "alasan penolakan"),
        ("dinsos", {"status": "ditolak", "catatan": "x", "alasan": "??"}, 422, "alasan penolakan"),
        ("dinsos", {"status": "approved"}, 422, "Status tidak dikenal"),
        ("dinsos", {"status": "baru"}, 409, "tidak dapat diubah"),
        ("kecamatan", {"status": "disetujui"}, 403, "tidak berwenang"),
    ],
)
def test_refused_decisions(client, auth, db, seeded, role, body, code, message):
    response = client.post(
        f"/api/v1/submissions/{seeded[0].id}/decision", json=body, headers=auth.token(role)
    )
    assert response.status_code == code
    assert message in response.get_json()["error"]
    db.expire_all()
    assert db.get(Submission, seeded[0].id).status == "baru"


def test_a_refusal_without_a_known_reason_names_the_reasons(client, auth, seeded):
    url = f"/api/v1/submissions/{seeded[0].id}/decision"
    body = client.post(url, json={"status": "ditolak", "catatan": "x", "alasan": "ganda"},
                       headers=auth.token("dinsos")).get_json()  # fmt: skip
    assert body["alasan_pilihan"] == review.ALASAN_DITOLAK
    code = next(iter(body["alasan_pilihan"]))
    again = client.post(url, json={"status": "ditolak", "catatan": "x", "alasan": code},
                        headers=auth.token("dinsos"))  # fmt: skip
    assert again.status_code == 200 and again.get_json()["status"] == "ditolak"


def test_decision_on_a_decided_submission_is_409(client, auth, seeded):
    url = f"/api/v1/submissions/{seeded[2].id}/decision"  # already disetujui
    response = client.post(url, json={"status": "ditolak", "catatan": "x", "alasan": "lainnya"},
                           headers=auth.token("admin"))  # fmt: skip
    assert response.status_code == 409


def test_decision_without_json_is_422(client, auth, seeded):
    response = client.post(
        f"/api/v1/submissions/{seeded[0].id}/decision", data="status=disetujui",
        headers=auth.token("admin"),
    )  # fmt: skip
    assert response.status_code == 422


def test_stats_match_the_rows_in_scope(client, auth, db, seeded):
    everything = client.get("/api/v1/stats", headers=auth.token("pimpinan")).get_json()
    rows = db.scalars(select(Submission)).all()
    assert everything["total"] == len(rows)
    assert everything["by_form"] == {"ppks": 3, "psks": 1}
    assert everything["by_status"] == {
        s: Counter(r.status for r in rows)[s]
        for s in ("baru", "terverifikasi", "disetujui", "dikembalikan", "ditolak")
    }
    assert everything["by_kecamatan"] == dict(Counter(r.kode_kecamatan for r in rows))

    desa = client.get("/api/v1/stats", headers=auth.token("desa")).get_json()
    assert desa["total"] == 1 and desa["by_kecamatan"] == {fx.KEC_A: 1}


def test_a_replaced_token_stops_working(client, auth, seeded):
    old = auth.token("dinsos")
    new = auth.token("dinsos")
    assert client.get("/api/v1/stats", headers=old).status_code == 401
    assert client.get("/api/v1/stats", headers=new).status_code == 200


def test_stats_leave_out_submissions_deleted_on_kobo_and_count_them_apart(client, auth, db, seeded):
    gone = seeded[0]
    gone.is_deleted_on_server = True
    db.commit()
    stats = client.get("/api/v1/stats", headers=auth.token("pimpinan")).get_json()
    live = db.scalars(select(Submission).where(Submission.is_deleted_on_server.is_(False))).all()
    assert stats["total"] == len(live) == sum(stats["by_form"].values())
    assert sum(stats["by_kecamatan"].values()) == len(live) and stats["deleted"] == 1
    assert stats["by_status"][gone.status] == sum(1 for r in live if r.status == gone.status)


def test_every_member_answer_of_the_form_spec_is_served_on_the_detail(client, auth, db):
    """A member answer declared in surveys.spec (with its Person column) reaches the API."""
    answers = [a for a in PPKS.member_answers if a.column != "kategori_ppks"]
    sent = member(
        "Ani", born=dt.date(1990, 2, 3), sex="P", **{a.path: f"nilai {a.column}" for a in answers}
    )
    sub = store(db, "ppks", ppks_payload(9001, kode_desa=fx.DESA_A, members=[sent]))
    db.commit()
    body = client.get(f"/api/v1/submissions/{sub.id}", headers=auth.token("dinsos")).get_json()
    (person,) = body["household"]["persons"]
    assert set(person) == {"position", "flags", *(a.column for a in PPKS.member_answers)}
    assert {a.column: person[a.column] for a in answers} == {
        a.column: sent[a.path] for a in answers
    }
