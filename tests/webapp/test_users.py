"""Accounts: the admin page and `babale users ...`."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from babale.cli import main
from registry import users as accounts
from registry.models import AuditLog, User
from tests.webapp import factories as fx


def test_admin_creates_a_kecamatan_account_with_a_valid_code(client, auth, db):
    auth.login("admin")
    bad = client.post(
        "/pengguna/",
        data={"username": "tksk1", "role": "kecamatan", "wilayah": "61.07.99",
              "password": "sandi-awal-1"},
    )  # fmt: skip
    assert bad.status_code == 422
    assert "kode kecamatan Bengkayang yang sah" in bad.get_data(as_text=True)
    ok = client.post(
        "/pengguna/",
        data={"username": "tksk1", "role": "kecamatan", "wilayah": fx.KEC_A,
              "password": "sandi-awal-1", "nama_lengkap": "Tk Satu"},
    )  # fmt: skip
    assert ok.status_code == 303
    user = accounts.require_user(db, "tksk1")
    assert (user.role, user.wilayah, user.nama_lengkap) == ("kecamatan", fx.KEC_A, "Tk Satu")
    assert user.password_hash != "sandi-awal-1"
    audit = db.scalars(select(AuditLog).where(AuditLog.actor == "u_admin")).all()
    assert [(a.action, a.detail["username"]) for a in audit if a.action != "login"] == [
        ("user_create", "tksk1")
    ]


def test_admin_disables_and_issues_a_token_once(client, auth, db):
    auth.login("admin")
    target_name = auth.user("desa")
    target = accounts.require_user(db, target_name)
    issued = client.post(f"/pengguna/{target.id}/token")
    assert issued.headers["Cache-Control"] == "no-store"
    page = issued.get_data(as_text=True)
    token = re.search(r'class="token-value">([^<]+)<', page).group(1)
    assert (
        client.get("/api/v1/stats", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    )
    assert token not in client.get("/pengguna/").get_data(as_text=True)  # shown once
    db.expire_all()
    assert db.get(User, target.id).api_token_hash not in (None, token)

    assert client.post(f"/pengguna/{target.id}/aktif", data={"aktif": "0"}).status_code == 303
    assert (
        client.get("/api/v1/stats", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    )
    db.expire_all()
    assert db.get(User, target.id).is_active is False


def test_admin_cannot_disable_itself(client, auth, db):
    auth.login("admin")
    me = accounts.require_user(db, "u_admin")
    client.post(f"/pengguna/{me.id}/aktif", data={"aktif": "0"})
    db.expire_all()
    assert db.get(User, me.id).is_active is True


@pytest.fixture
def cli(database_url, monkeypatch):
    monkeypatch.setenv("BABALE_DATABASE_URL", database_url)
    runner = CliRunner()

    def run(*args: str, input: str | None = None):
        return runner.invoke(main, ["users", *args], input=input)

    return run


def test_cli_create_list_token_disable(cli, db):
    created = cli("create", "operator1", "--role", "desa", "--wilayah", fx.DESA_A,
                  input="sandi-operator-1\n")  # fmt: skip
    assert created.exit_code == 0, created.output
    assert "created operator1 (desa, 61.07.01.2001)" in created.output
    assert "sandi-operator-1" not in created.output
    user = accounts.authenticate(db, "operator1", "sandi-operator-1")
    assert user is not None and user.wilayah == fx.DESA_A

    listing = cli("list")
    assert "operator1" in listing.output and "desa" in listing.output

    issued = cli("token", "operator1")
    token = issued.output.strip().splitlines()[-1]
    db.expire_all()
    assert accounts.user_for_token(db, token).username == "operator1"
    stored = db.scalar(select(User.api_token_hash).where(User.username == "operator1"))
    assert stored != token and len(stored) == 64

    assert cli("disable", "operator1").exit_code == 0
    db.expire_all()
    assert accounts.user_for_token(db, token) is None
    assert accounts.authenticate(db, "operator1", "sandi-operator-1") is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["create", "a1", "--role", "kecamatan"], "peran kecamatan memerlukan kode kecamatan"),
        (
            ["create", "a1", "--role", "desa", "--wilayah", fx.KEC_A],
            "peran desa memerlukan kode desa",
        ),
        (["create", "a1", "--role", "dinsos", "--wilayah", fx.KEC_A], "jangan isi wilayah"),
        (["create", "a1", "--role", "raja"], "Invalid value for '--role'"),
        (["disable", "tidak-ada"], "pengguna 'tidak-ada' tidak ada"),
        (["token", "tidak-ada"], "pengguna 'tidak-ada' tidak ada"),
    ],
)
def test_cli_errors_are_one_clear_line(cli, args, message):
    result = cli(*args, input="sandi-panjang-1\n")
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


def test_cli_refuses_a_short_password(cli, db):
    result = cli("create", "a2", "--role", "admin", input="pendek\n")
    assert result.exit_code == 1
    assert "kata sandi minimal 8 karakter" in result.output
    assert accounts.get_by_username(db, "a2") is None
