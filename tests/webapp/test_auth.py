"""Login, logout, password change, rate limit, CSRF, cookies and the secret key."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from registry import users as accounts
from registry.models import AuditLog, Submission
from registry.settings import SettingsError
from tests.webapp import factories as fx
from tests.webapp.conftest import csrf_token, make_app


def test_login_then_logout(client, auth):
    assert client.get("/").status_code == 302
    response = auth.login("dinsos")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert "U_Dinsos" in page  # the full name in the header
    assert auth.logout().status_code == 302
    assert client.get("/").headers["Location"].startswith("/masuk")


def test_wrong_password_is_refused_with_one_clear_line(client, auth, db):
    auth.user("dinsos")
    response = auth.login("u_dinsos", "salah-sandi")
    assert response.status_code == 401
    assert "Nama pengguna atau kata sandi salah" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302
    entries = db.scalars(select(AuditLog).where(AuditLog.action == "login")).all()
    assert [e.detail["ok"] for e in entries] == [False]


def test_disabled_account_cannot_log_in_and_loses_its_session(client, auth, db):
    assert auth.login("desa").status_code == 302
    assert client.get("/").status_code == 200
    user = accounts.require_user(db, "u_desa")
    accounts.set_active(db, user, False)
    db.commit()
    assert client.get("/").status_code == 302  # the open session ends too
    assert auth.login("u_desa").status_code == 401


def test_login_never_redirects_to_another_site(client, auth):
    auth.user("admin")
    for target, expected in [
        ("https://jahat.example/", "/"),
        ("//jahat.example/", "/"),
        ("/pengajuan/?status=baru", "/pengajuan/?status=baru"),
    ]:
        response = client.post(
            "/masuk", query_string={"next": target},
            data={"username": "u_admin", "password": fx.PASSWORD},
        )  # fmt: skip
        assert response.headers["Location"] == expected
        auth.logout()


def test_login_is_rate_limited(database_url, tmp_path):
    app = make_app(database_url, tmp_path, LOGIN_RATE_LIMIT="3 per minute")
    client = app.test_client()
    codes = [
        client.post("/masuk", data={"username": "x", "password": "y"}).status_code for _ in range(4)
    ]
    assert codes == [401, 401, 401, 429]
    assert "Terlalu banyak percobaan" in client.post("/masuk", data={}).get_data(as_text=True)


def test_only_failed_logins_count_towards_the_limit(database_url, tmp_path, db):
    # A Dinas office shares one public address: its colleagues logging in one after another
    # must not lock each other out.
    app = make_app(database_url, tmp_path, LOGIN_RATE_LIMIT="3 per minute")
    names = [fx.make_user(db, "dinsos").username for _ in range(4)]
    db.commit()
    client = app.test_client()
    for name in names:
        ok = client.post("/masuk", data={"username": name, "password": fx.PASSWORD})
        assert ok.status_code == 302, name
        client.post("/keluar")
    wrong = [
        client.post("/masuk", data={"username": names[0], "password": "salah"}).status_code
        for _ in range(4)
    ]
    assert wrong == [401, 401, 401, 429]


def test_change_password_ends_other_sessions(app, client, auth, db):
    auth.login("kecamatan")
    other = app.test_client()
    other.post("/masuk", data={"username": "u_kecamatan", "password": fx.PASSWORD})
    assert other.get("/").status_code == 200

    wrong = client.post(
        "/akun/kata-sandi",
        data={"current": "bukan-ini", "new": "sandi-baru-123", "confirm": "sandi-baru-123"},
    )
    assert wrong.status_code == 422
    assert "Kata sandi lama salah" in wrong.get_data(as_text=True)
    mismatch = client.post(
        "/akun/kata-sandi",
        data={"current": fx.PASSWORD, "new": "sandi-baru-123", "confirm": "sandi-lain-123"},
    )
    assert mismatch.status_code == 422

    ok = client.post(
        "/akun/kata-sandi",
        data={"current": fx.PASSWORD, "new": "sandi-baru-123", "confirm": "sandi-baru-123"},
    )
    assert ok.status_code == 302
    assert client.get("/").status_code == 200  # this session goes on
    assert other.get("/").status_code == 302  # the other one is over
    auth.logout()
    assert auth.login("u_kecamatan").status_code == 401
    assert auth.login("u_kecamatan", "sandi-baru-123").status_code == 302


@pytest.fixture
def csrf_app(database_url, tmp_path):
    return make_app(database_url, tmp_path, WTF_CSRF_ENABLED=True)


def test_csrf_refuses_forms_without_a_token(csrf_app, db):
    fx.make_user(db, "dinsos", username="reviewer")
    sub = fx.make_submission(db)
    db.commit()
    client = csrf_app.test_client()
    login = {"username": "reviewer", "password": fx.PASSWORD}
    refused = client.post("/masuk", data=login)
    assert refused.status_code == 400
    assert "kedaluwarsa" in refused.get_data(as_text=True)

    token = csrf_token(client.get("/masuk").get_data(as_text=True))
    assert client.post("/masuk", data={**login, "csrf_token": token}).status_code == 302

    decision = {"status": "disetujui"}
    assert client.post(f"/pengajuan/{sub.id}/keputusan", data=decision).status_code == 400
    assert (
        client.post(
            "/pengajuan/keputusan-massal", data={"keputusan": "disetujui", "ids": sub.id}
        ).status_code
        == 400
    )
    assert client.post("/keluar").status_code == 400
    db.expire_all()
    assert db.get(Submission, sub.id).status == "baru"

    page = client.get(f"/pengajuan/{sub.id}").get_data(as_text=True)
    ok = client.post(
        f"/pengajuan/{sub.id}/keputusan", data={**decision, "csrf_token": csrf_token(page)}
    )
    assert ok.status_code == 303
    db.expire_all()
    assert db.get(Submission, sub.id).status == "disetujui"


def test_csrf_does_not_apply_to_the_token_api(csrf_app, db):
    user = fx.make_user(db, "dinsos")
    sub = fx.make_submission(db)
    token = accounts.issue_token(db, user)
    db.commit()
    response = csrf_app.test_client().post(
        f"/api/v1/submissions/{sub.id}/decision",
        json={"status": "disetujui"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200


def _session_cookie(response) -> str:
    return next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))


def test_session_cookie_is_httponly_and_samesite(client, auth):
    cookie = _session_cookie(auth.login("admin"))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie


def test_session_cookie_is_secure_over_https(database_url, tmp_path, db):
    fx.make_user(db, "admin", username="adm")
    db.commit()
    app = make_app(database_url, tmp_path, PREFERRED_URL_SCHEME="https")
    response = app.test_client().post(
        "/masuk", data={"username": "adm", "password": fx.PASSWORD}, base_url="https://localhost"
    )
    assert "Secure" in _session_cookie(response)


def test_no_page_can_be_framed_by_another_site(client, auth, world):
    # Clickjacking: a decision page inside a hidden frame of another site.
    pages = [client.get("/masuk")]
    auth.login("dinsos")
    pages += [client.get(u) for u in ("/", "/pengajuan/", f"/pengajuan/{world.own}", "/tidak-ada")]
    pages.append(client.get("/api/v1/stats", headers=auth.token("dinsos")))
    for response in pages:
        assert response.headers["X-Frame-Options"] == "DENY", response.request.path
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    photo = client.get(f"/pengajuan/{world.own}/lampiran/{world.own_attachment}")
    assert "sandbox" in photo.headers["Content-Security-Policy"]  # its own, stricter policy


def test_secret_key_is_required_outside_development(database_url, tmp_path, monkeypatch):
    monkeypatch.delenv("BABALE_SECRET_KEY", raising=False)
    with pytest.raises(SettingsError) as exc:
        make_app(database_url, tmp_path, SECRET_KEY=None, BABALE_ENV="production")
    message = str(exc.value)
    assert "BABALE_SECRET_KEY" in message and "\n" not in message
    dev = make_app(database_url, tmp_path, SECRET_KEY=None, BABALE_ENV="development")
    assert len(dev.config["SECRET_KEY"]) >= 32


def test_friendly_404_page(client, auth):
    auth.login("dinsos")
    response = client.get("/tidak-ada")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "Tidak ditemukan" in page and "Traceback" not in page


def test_friendly_403_page(client, auth):
    auth.login("pimpinan")
    response = client.get("/pengajuan/")
    assert response.status_code == 403
    assert "Anda tidak berwenang membuka halaman ini" in response.get_data(as_text=True)


def test_friendly_500_page_without_details(database_url, tmp_path, caplog):
    app = make_app(database_url, tmp_path)
    nik = "".join(["6107", "0101", "0180", "0001"])  # not in any source line of a frame

    @app.get("/rusak")
    def broken() -> str:
        raise RuntimeError(f"isi rahasia {nik}")

    with caplog.at_level("ERROR"):
        response = app.test_client().get("/rusak")
    assert response.status_code == 500
    assert "RuntimeError" in caplog.text and "broken" in caplog.text  # enough to find it
    assert nik not in caplog.text  # but no personal data in the log
    page = response.get_data(as_text=True)
    assert "Kesalahan server" in page
    assert "rahasia" not in page and "Traceback" not in page
    api = app.test_client().get("/api/v1/tidak-ada")
    assert api.status_code == 404 and api.get_json() == {
        "error": "Halaman atau data yang dicari tidak ditemukan."
    }


def test_the_app_takes_its_settings_from_the_environment(database_url, tmp_path, monkeypatch, db):
    """create_app reads the BABALE_* settings through registry.settings.Settings only."""
    fx.make_user(db, "admin", username="adm")
    db.commit()
    monkeypatch.setenv("BABALE_PREFERRED_URL_SCHEME", "https")
    monkeypatch.setenv("BABALE_LOGIN_RATE_LIMIT", "2 per minute")
    monkeypatch.setenv("BABALE_XLSFORMS_DIR", str(tmp_path))
    app = make_app(database_url, tmp_path)
    assert app.config["XLSFORMS_DIR"] == str(tmp_path.resolve())
    client = app.test_client()
    for _ in range(2):
        wrong = client.post("/masuk", data={"username": "adm", "password": "salah-salah"})
        assert wrong.status_code == 401
    assert client.post("/masuk", data={"username": "adm", "password": "x"}).status_code == 429
    other = app.test_client()
    response = other.post(
        "/masuk",
        data={"username": "adm", "password": fx.PASSWORD},
        base_url="https://localhost",
        environ_overrides={"REMOTE_ADDR": "10.0.0.9"},
    )
    assert "Secure" in _session_cookie(response)


def test_a_wrong_setting_stops_the_app_with_one_line(database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("BABALE_BEHIND_PROXY", "ya")
    with pytest.raises(SettingsError) as exc:
        make_app(database_url, tmp_path)
    assert "BABALE_BEHIND_PROXY" in str(exc.value) and "\n" not in str(exc.value)
