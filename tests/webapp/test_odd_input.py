"""Typed-in text PostgreSQL would refuse (NUL) is a normal answer, never a 500 (SQLite too)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from registry.models import AuditLog, ReviewEvent, Submission, User
from tests.webapp.conftest import linked_ids


@pytest.mark.parametrize("field", ["q", "petugas"])
def test_a_nul_in_a_list_filter_is_ignored(client, auth, world, field):
    auth.login("admin")
    page = client.get("/pengajuan/", query_string={field: "\x00"})
    assert page.status_code == 200
    assert set(linked_ids(page.get_data(as_text=True))) == {world.own, world.foreign}
    found = client.get("/pengajuan/", query_string={"q": "Warga Sen\x00diri"})
    assert linked_ids(found.get_data(as_text=True)) == [world.own]
    api = client.get(
        "/api/v1/submissions", query_string={field: "a\x00"}, headers=auth.token("admin")
    )
    assert api.status_code == 200


def test_a_nul_in_the_login_form_is_a_wrong_login(client, auth, db):
    auth.user("dinsos")
    response = client.post("/masuk", data={"username": "u_dinsos\x00", "password": "x\x00"})
    assert response.status_code == 401
    assert "Nama pengguna atau kata sandi salah" in response.get_data(as_text=True)
    failed = db.scalars(select(AuditLog).where(AuditLog.action == "login")).one()
    assert failed.detail == {"ok": False} and failed.actor == "u_dinsos"


def test_a_nul_in_a_note_is_dropped_and_the_decision_kept(client, auth, db, world):
    response = client.post(
        f"/api/v1/submissions/{world.own}/decision",
        json={"status": "dikembalikan", "catatan": "foto\x00 buram"},
        headers=auth.token("dinsos"),
    )
    assert response.status_code == 200
    auth.login("dinsos")
    page = client.post(
        f"/pengajuan/{world.foreign}/keputusan",
        data={"status": "dikembalikan", "catatan": "\x00"},
    )
    assert page.status_code == 422  # a note of only NUL is no note
    db.expire_all()
    event = db.scalars(select(ReviewEvent)).one()
    assert (event.submission_id, event.catatan) == (world.own, "foto buram")
    assert db.get(Submission, world.foreign).status == "baru"


def test_a_nul_in_a_new_account_name_is_dropped(client, auth, db):
    auth.login("admin")
    response = client.post(
        "/pengguna/",
        data={"username": "baru1", "nama_lengkap": "Siti\x00 Aminah", "role": "dinsos",
              "password": "password123"},
    )  # fmt: skip
    assert response.status_code == 303
    user = db.scalars(select(User).where(User.username == "baru1")).one()
    assert user.nama_lengkap == "Siti Aminah"


@pytest.mark.parametrize(
    ("number", "refused"), [("²", True), ("٣", True), ("0", True), ("9" * 5000, False)]
)
def test_a_number_that_is_no_number_is_a_normal_answer(client, auth, world, number, refused):
    auth.login("kecamatan")
    listed = client.get("/pengajuan/", query_string={"page": number, "per_page": number})
    assert listed.status_code == 200
    # a huge page number is the last page, like any number past it
    assert ("harus bilangan bulat positif" in listed.get_data(as_text=True)) is refused
    api = client.get(
        "/api/v1/submissions", query_string={"page": number}, headers=auth.token("kecamatan")
    )
    assert api.status_code == (422 if refused else 200)  # the API names a bad filter
    for data in ({"ids": number}, {"semua": "1", "batas": number}):
        bulk = client.post(
            "/pengajuan/keputusan-massal", data={"keputusan": "terverifikasi", **data}
        )
        assert bulk.status_code == 303
