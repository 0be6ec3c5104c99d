"""The list, the detail page, decisions from the pages, bulk, photos."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select

from registry import kategori, wilayah
from registry.models import AuditLog, ReviewEvent, Submission
from surveys import paths as F
from tests.webapp import factories as fx
from tests.webapp.conftest import linked_ids
from webapp.labels import DEFAULT_DIR
from webapp.present import mask_nik


def test_nik_masked_in_the_list_and_full_on_the_detail(client, auth, world):
    auth.login("desa")
    listing = client.get("/pengajuan/").get_data(as_text=True)
    assert "6107010101800001" not in listing
    assert mask_nik("6107010101800001") == "6107********0001"
    assert "6107********0001" in listing
    detail = client.get(f"/pengajuan/{world.own}").get_data(as_text=True)
    assert "6107010101800001" in detail


def test_a_script_in_a_name_is_shown_as_text(client, auth, db):
    evil = "<script>alert(1)</script>"
    sub = fx.make_submission(db, nama=evil, members=[{"nama": evil, "nik": "6107010101800003"}])
    db.commit()
    auth.login("dinsos")
    for url in ("/pengajuan/", f"/pengajuan/{sub.id}", f"/pengajuan/?q={evil}"):
        page = client.get(url).get_data(as_text=True)
        assert evil not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def _xlsform_label(form: str, name: str) -> str:
    """The label as the form designer wrote it, read independently of the app."""
    survey = pd.read_excel(DEFAULT_DIR / f"{form}.xlsx", sheet_name="survey")
    column = next(c for c in survey.columns if str(c).startswith("label") and "(id)" in str(c))
    return str(survey.loc[survey["name"] == name, column].iloc[0])


@pytest.mark.skipif(not (DEFAULT_DIR / "ppks.xlsx").exists(), reason="xlsforms/ppks.xlsx missing")
def test_detail_shows_question_labels_members_and_names(client, auth, db):
    member = {"nama": "Siti Aminah", "nik": "6107010101850004", "kategori": "lansia_telantar"}
    sub = fx.make_submission(db, members=[member])
    db.commit()
    auth.login("kecamatan")
    page = client.get(f"/pengajuan/{sub.id}").get_data(as_text=True)
    assert _xlsform_label("ppks", "no_kk") in page
    assert _xlsform_label("ppks", "nama") in page  # a column of the members table
    assert ">keluarga/no_kk<" not in page
    assert "Siti Aminah" in page and "6107010101850004" in page
    assert wilayah.desa()[fx.DESA_A].nama in page
    assert kategori.ppks()["lansia_telantar"].nama in page  # the category's name, not its code


@pytest.mark.skipif(not (DEFAULT_DIR / "ppks.xlsx").exists(), reason="xlsforms/ppks.xlsx missing")
def test_calculated_answers_have_words_not_field_names(client, auth, db):
    # umur, jumlah_anggota and jenis_subjek are `calculate` rows: the forms give them no label.
    ppks = fx.make_submission(db)
    payload = dict(ppks.payload)
    payload[F.ANGGOTA] = [{**payload[F.ANGGOTA][0], F.UMUR: "41"}]
    payload[F.JUMLAH_ANGGOTA] = "1"
    ppks.payload = payload
    psks = fx.make_submission(db, form="psks", kategori="lembaga_kesejahteraan_sosial")
    psks.payload = {**psks.payload, F.JENIS_SUBJEK: "lembaga"}
    db.commit()
    auth.login("dinsos")
    pages = {}
    for lang in ("en", "id"):
        client.get(f"/bahasa/{lang}")
        pages[lang] = [
            client.get(f"/pengajuan/{s.id}").get_data(as_text=True) for s in (ppks, psks)
        ]
        for raw in (">umur<", ">jumlah_anggota<", ">jenis_subjek<", ">lembaga<"):
            assert not [p for p in pages[lang] if raw in p], (lang, raw)
    ppks_page, psks_page = pages["id"]
    assert ">Umur (tahun)<" in ppks_page and ">41<" in ppks_page
    assert ">Jumlah anggota keluarga<" in ppks_page
    assert ">Jenis subjek<" in psks_page and ">Lembaga<" in psks_page


def test_detail_falls_back_to_field_names_without_the_form(database_url, tmp_path, db):
    from tests.webapp.conftest import make_app

    app = make_app(database_url, tmp_path, XLSFORMS_DIR=str(tmp_path / "tidak-ada"))
    fx.make_user(db, "dinsos", username="rev")
    sub = fx.make_submission(db)
    db.commit()
    client = app.test_client()
    client.post("/masuk", data={"username": "rev", "password": fx.PASSWORD})
    page = client.get(f"/pengajuan/{sub.id}").get_data(as_text=True)
    assert ">no_kk<" in page


def test_opening_a_detail_is_recorded_in_the_audit_log(client, auth, db, world):
    auth.login("dinsos")
    client.get(f"/pengajuan/{world.own}")
    entry = db.scalars(select(AuditLog).where(AuditLog.action == "view")).one()
    assert (entry.actor, entry.detail["submission_id"]) == ("u_dinsos", world.own)


def test_photo_goes_through_the_authorised_route(client, auth, db, world):
    auth.login("desa")
    ok = client.get(f"/pengajuan/{world.own}/lampiran/{world.own_attachment}")
    assert ok.status_code == 200
    assert ok.data.startswith(b"\xff\xd8")
    assert "no-store" in ok.headers["Cache-Control"]
    # Another submission's photo under our own submission's URL is not found either.
    assert (
        client.get(f"/pengajuan/{world.own}/lampiran/{world.foreign_attachment}").status_code == 404
    )
    sub = db.get(Submission, world.own)
    missing = fx.make_attachment(db, sub, None)
    db.commit()
    assert client.get(f"/pengajuan/{world.own}/lampiran/{missing.id}").status_code == 404


def test_photo_path_cannot_leave_the_media_folder(client, auth, db, world, tmp_path):
    (tmp_path / "rahasia.txt").write_text("rahasia")
    sub = db.get(Submission, world.own)
    escape = fx.make_attachment(db, sub, "../rahasia.txt")
    db.commit()
    auth.login("dinsos")
    assert client.get(f"/pengajuan/{world.own}/lampiran/{escape.id}").status_code == 404


@pytest.mark.parametrize(
    ("mimetype", "filename"),
    [("text/html", "foto.html"), ("image/svg+xml", "foto.svg"), ("TEXT/HTML; charset=utf-8", "x")],
)
def test_an_attachment_that_is_not_a_plain_image_never_runs_as_a_page(
    client, auth, db, world, app, mimetype, filename
):
    # Whoever submits the form chooses the file and its type: a page with a script, served
    # inline from this site, would run with the reviewer's session.
    media = Path(app.config["MEDIA_DIR"])
    (media / "a" / "jahat.bin").write_text("<script>alert(1)</script>")
    sub = db.get(Submission, world.own)
    att = fx.make_attachment(db, sub, "a/jahat.bin", filename=filename)
    att.mimetype = mimetype
    db.commit()
    auth.login("dinsos")
    response = client.get(f"/pengajuan/{world.own}/lampiran/{att.id}")
    assert response.status_code == 200
    assert response.mimetype == "application/octet-stream"
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    page = client.get(f"/pengajuan/{world.own}").get_data(as_text=True)
    link = f"/pengajuan/{world.own}/lampiran/{att.id}"
    assert f'src="{link}"' not in page  # not shown as a photo
    assert f'href="{link}" download' in page


def test_a_photo_is_still_shown_inline(client, auth, world):
    auth.login("dinsos")
    response = client.get(f"/pengajuan/{world.own}/lampiran/{world.own_attachment}")
    assert response.mimetype == "image/jpeg"
    assert not response.headers.get("Content-Disposition", "").startswith("attachment")


def test_decision_buttons_follow_the_role(client, auth, world):
    buttons = {
        "desa": [],
        "kecamatan": ["terverifikasi"],
        "dinsos": ["terverifikasi", "disetujui", "dikembalikan", "ditolak"],
    }
    for role, expected in buttons.items():
        auth.login(role)
        page = client.get(f"/pengajuan/{world.own}").get_data(as_text=True)
        shown = [s for s in [*expected, "disetujui"] if f'name="status" value="{s}"' in page]
        assert sorted(set(shown)) == sorted(expected), role
        auth.logout()


def test_returning_without_a_note_keeps_the_status_and_explains(client, auth, db, world):
    auth.login("dinsos")
    response = client.post(f"/pengajuan/{world.own}/keputusan", data={"status": "dikembalikan"})
    assert response.status_code == 422
    assert "Catatan wajib diisi" in response.get_data(as_text=True)
    refused = client.post(
        f"/pengajuan/{world.own}/keputusan", data={"status": "ditolak", "catatan": "ganda"}
    )
    assert refused.status_code == 422
    assert "alasan penolakan" in refused.get_data(as_text=True)
    db.expire_all()
    assert db.get(Submission, world.own).status == "baru"

    ok = client.post(
        f"/pengajuan/{world.own}/keputusan",
        data={"status": "ditolak", "catatan": "sudah terdaftar", "alasan": "data_ganda"},
    )
    assert ok.status_code == 303
    page = client.get(ok.headers["Location"]).get_data(as_text=True)
    assert "sudah terdaftar" in page and "Data ganda" in page
    assert "Menunggu dikirim ke Kobo" in page
    again = client.post(f"/pengajuan/{world.own}/keputusan", data={"status": "disetujui"})
    assert again.status_code == 409


def test_desa_sees_status_and_notes_but_no_buttons(client, auth, db, world):
    auth.login("dinsos")
    client.post(
        f"/pengajuan/{world.own}/keputusan",
        data={"status": "dikembalikan", "catatan": "foto rumah buram, ulangi"},
    )
    auth.logout()
    auth.login("desa")
    page = client.get(f"/pengajuan/{world.own}").get_data(as_text=True)
    assert "foto rumah buram, ulangi" in page
    assert "Dikembalikan" in page
    assert 'name="status"' not in page


@pytest.fixture
def many(db):
    """Seven submissions that differ in one thing each, for filters and paging."""
    day = dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.UTC)
    subs = {
        "a": fx.make_submission(db, fx.DESA_A, nama="Ani", submitted_at=day),
        "a2": fx.make_submission(db, fx.DESA_A2, nama="Beni", kategori="lansia_telantar",
                                 submitted_at=day + dt.timedelta(days=1)),
        "b": fx.make_submission(db, fx.DESA_B, nama="Citra", petugas="Yohanes",
                                submitted_at=day + dt.timedelta(days=2)),
        "psks": fx.make_submission(db, fx.DESA_A, form="psks", nama="Dedi", nik="6107050505900005",
                                   kategori="pekerja_sosial_masyarakat",
                                   submitted_at=day + dt.timedelta(days=3)),
        "ok": fx.make_submission(db, fx.DESA_A, nama="Eko", status="disetujui",
                                 submitted_at=day + dt.timedelta(days=4)),
        "late": fx.make_submission(db, fx.DESA_A, nama="Fitri",
                                   submitted_at=dt.datetime(2026, 3, 9, 18, 30, tzinfo=dt.UTC)),
        "x": fx.make_submission(db, fx.DESA_B, nama="Gita 100%_", submitted_at=day),
    }  # fmt: skip
    db.commit()
    return {k: s.id for k, s in subs.items()}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"form": "psks"}, {"psks"}),
        ({"status": "disetujui"}, {"ok"}),
        ({"kecamatan": fx.KEC_B}, {"b", "x"}),
        ({"desa": fx.DESA_A2}, {"a2"}),
        ({"kategori": "lansia_telantar"}, {"a2"}),
        ({"kategori": "pekerja_sosial_masyarakat"}, {"psks"}),
        ({"petugas": "yohan"}, {"b"}),
        ({"q": "citra"}, {"b"}),
        ({"q": "6107050505"}, {"psks"}),
        ({"q": "100%_"}, {"x"}),  # LIKE wildcards are taken literally
        ({"dari": "2026-03-03", "sampai": "2026-03-04"}, {"b", "psks"}),
        # 18:30 UTC on 9 March is 10 March in Bengkayang (WIB).
        ({"dari": "2026-03-10", "sampai": "2026-03-10"}, {"late"}),
        ({"kecamatan": fx.KEC_A, "status": "baru", "form": "ppks"}, {"a", "a2", "late"}),
    ],
)
def test_list_filters(client, auth, many, query, expected):
    auth.login("dinsos")
    page = client.get("/pengajuan/", query_string=query).get_data(as_text=True)
    assert set(linked_ids(page)) == {many[k] for k in expected}


def test_list_counts_paging_and_sorting(client, auth, many):
    auth.login("dinsos")
    first = client.get("/pengajuan/", query_string={"per_page": 3, "sort": "submitted_at"})
    html = first.get_data(as_text=True)
    assert "7 data ditemukan" in html and "halaman 1 dari 3" in html
    order = linked_ids(html)
    assert order[0] in (many["a"], many["x"]) and len(order) == 3
    last = client.get(
        "/pengajuan/", query_string={"per_page": 3, "page": 3, "sort": "submitted_at"}
    )
    assert linked_ids(last.get_data(as_text=True)) == [many["late"]]
    # The counts per status ignore the status filter and follow the others.
    counts = client.get("/pengajuan/", query_string={"status": "disetujui", "kecamatan": fx.KEC_A})
    text = counts.get_data(as_text=True)
    assert "Baru <b>4</b>" in text and "Disetujui <b>1</b>" in text


def test_bad_filter_values_are_named_not_fatal(client, auth, many):
    auth.login("dinsos")
    response = client.get("/pengajuan/", query_string={"dari": "kemarin", "status": "x"})
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "dari harus tanggal" in text and "nilai status tidak dikenal" in text
    assert len(linked_ids(text)) == 7


def test_bulk_verify_selected_checks_each_one(client, auth, db, many):
    auth.login("kecamatan")  # KEC_A
    ids = [many["a"], many["a2"], many["ok"], many["b"]]
    response = client.post(
        "/pengajuan/keputusan-massal", data={"keputusan": "terverifikasi", "ids": ids}
    )
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "2 data diubah menjadi Terverifikasi" in page
    assert "2 data dilewati" in page
    db.expire_all()
    status = {k: db.get(Submission, v).status for k, v in many.items()}
    assert status["a"] == status["a2"] == "terverifikasi"
    assert status["ok"] == "disetujui" and status["b"] == "baru"
    assert db.scalar(select(ReviewEvent).where(ReviewEvent.submission_id == many["b"])) is None


def test_bulk_approve_all_matching_the_filter(client, auth, db, many):
    auth.login("dinsos")
    response = client.post(
        "/pengajuan/keputusan-massal",
        data={"keputusan": "disetujui", "semua": "1", "kecamatan": fx.KEC_B, "status": "baru"},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == f"/pengajuan/?status=baru&kecamatan={fx.KEC_B}"
    db.expire_all()
    approved = set(db.scalars(select(Submission.id).where(Submission.status == "disetujui")))
    assert approved == {many["b"], many["x"], many["ok"]}
    events = db.scalars(select(ReviewEvent).where(ReviewEvent.to_status == "disetujui")).all()
    assert sorted(e.submission_id for e in events) == sorted([many["b"], many["x"]])


def test_bulk_all_leaves_what_arrived_after_the_list_was_opened(client, auth, db, many):
    auth.login("dinsos")
    listing = client.get("/pengajuan/", query_string={"kecamatan": fx.KEC_B}).get_data(as_text=True)
    batas = re.search(r'name="batas" value="(\d+)"', listing).group(1)
    late = fx.make_submission(db, fx.DESA_B, nama="Baru Datang")  # harvested meanwhile
    db.commit()
    response = client.post(
        "/pengajuan/keputusan-massal",
        data={"keputusan": "disetujui", "semua": "1", "kecamatan": fx.KEC_B, "batas": batas},
        follow_redirects=True,
    )
    text = response.get_data(as_text=True)
    assert "2 data diubah menjadi Disetujui" in text
    assert "1 data masuk setelah daftar dibuka" in text
    db.expire_all()
    assert db.get(Submission, late.id).status == "baru"
    assert (
        db.get(Submission, many["b"]).status == db.get(Submission, many["x"]).status == "disetujui"
    )


def test_bulk_refuses_final_decisions_other_than_approval(client, auth, many):
    auth.login("dinsos")
    response = client.post(
        "/pengajuan/keputusan-massal", data={"keputusan": "ditolak", "ids": [many["a"]]}
    )
    assert response.status_code == 303
    assert "hanya untuk verifikasi atau persetujuan" in client.get(
        response.headers["Location"]
    ).get_data(as_text=True)


def test_pages_hold_no_external_assets(client, auth, world):
    auth.login("dinsos")
    for url in ("/", "/pengajuan/", f"/pengajuan/{world.own}"):
        page = client.get(url).get_data(as_text=True)
        assert "https://" not in page.replace('data-tiles=""', ""), (
            url
        )  # no CDN; map tiles come from settings
        assert len(page.encode()) < 60_000, url


@pytest.mark.parametrize("big", [2**31, 10**25])
def test_ids_beyond_the_database_integer_are_not_found(client, auth, db, world, big):
    # 2**31 is past PostgreSQL's INTEGER, 10**25 past SQLite's: still "not found", never a 500.
    auth.login("admin")
    for url in (
        f"/pengajuan/{big}",
        f"/pengajuan/{big}/lampiran/{world.own_attachment}",
        f"/pengajuan/{world.own}/lampiran/{big}",
    ):
        assert client.get(url).status_code == 404, url
    assert (
        client.post(f"/pengajuan/{big}/keputusan", data={"status": "disetujui"}).status_code == 404
    )
    assert client.post(f"/pengguna/{big}/aktif", data={"aktif": "0"}).status_code == 404
    assert client.post(f"/pengguna/{big}/token").status_code == 404
    bulk = client.post(
        "/pengajuan/keputusan-massal",
        data={"keputusan": "terverifikasi", "ids": [str(big), str(world.own)]},
    )
    assert bulk.status_code == 303
    db.expire_all()
    assert db.get(Submission, world.own).status == "terverifikasi"
    headers = auth.token("admin")
    assert client.get(f"/api/v1/submissions/{big}", headers=headers).status_code == 404
    decision = client.post(
        f"/api/v1/submissions/{big}/decision", json={"status": "disetujui"}, headers=headers
    )
    assert decision.status_code == 404


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"dari": "0001-01-01"}, "dari di luar rentang tanggal"),
        ({"sampai": "9999-12-31"}, "sampai di luar rentang tanggal"),
    ],
)
def test_dates_at_the_ends_of_the_calendar_are_named_not_fatal(client, auth, many, query, message):
    auth.login("dinsos")
    response = client.get("/pengajuan/", query_string=query)
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert message in text
    assert len(linked_ids(text)) == len(many)  # the unusable filter is dropped, as others are
    api = client.get("/api/v1/submissions", query_string=query, headers=auth.token("dinsos"))
    assert api.status_code == 422 and message in api.get_json()["error"]


def test_detail_names_the_decision_kobo_holds_and_when_it_is_outdated(client, auth, db, world):
    from registry import review
    from registry.models import OutboxItem, User, utcnow

    reviewer = db.scalars(select(User).where(User.username == auth.user("dinsos"))).one()
    sub = db.get(Submission, world.own)
    review.decide(db, sub, reviewer, "disetujui")
    db.commit()
    auth.login("dinsos")
    page = client.get(f"/pengajuan/{world.own}").get_data(as_text=True)
    assert "Menunggu dikirim ke Kobo</span>: Disetujui" in page
    db.scalars(select(OutboxItem)).one().sent_at = utcnow()  # Kobo took it
    review.mark_changed_after_review(db, sub)  # then the desa edited the form on Kobo
    db.commit()
    page = client.get(f"/pengajuan/{world.own}").get_data(as_text=True)
    assert "Sudah diterima Kobo</span>: Disetujui" in page
    assert "versi sebelum diubah di Kobo" in page
