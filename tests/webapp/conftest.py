"""Fixtures as in Flask's tutorial: app, client, runner, and an auth helper; plus `world`, a
database with one account per role and submissions inside and outside their wilayah."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from registry import users as accounts
from registry.db import session_factory
from registry.settings import Settings
from tests.webapp import factories as fx
from webapp import create_app

ROLES = ("admin", "dinsos", "kecamatan", "desa", "pimpinan")


def reset_pg(url: str) -> None:
    """An empty public schema (for module-scoped databases on the session's PostgreSQL)."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def make_app(database_url: str, tmp_path: Path, **overrides: object) -> Flask:
    media = tmp_path / "media"
    media.mkdir(exist_ok=True)
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "DATABASE_URL": database_url,
        "MEDIA_DIR": str(media),
        "BABALE_SETTINGS": Settings(database_url=database_url, media_dir=media),
        "WTF_CSRF_ENABLED": False,
        "WRITEBACK_ENABLED": False,
        "TRANSLATIONS_CACHE": str(tmp_path / "translations"),
        "MAP_TILE_URL": "",
    }
    config.update(overrides)
    return create_app(config)


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Flask:
    return make_app(database_url, tmp_path)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def db(app: Flask) -> Iterator[Session]:
    session = session_factory(app.config["DATABASE_URL"])()
    try:
        yield session
    finally:
        session.close()


@dataclass
class World:
    """One PPKS submission in DESA_A ("own": inside the kecamatan and desa accounts' wilayah) and
    one in DESA_B of another kecamatan ("foreign"), each with a downloaded photo."""

    own: int
    foreign: int
    own_attachment: int
    foreign_attachment: int


@pytest.fixture
def world(app: Flask, db: Session) -> World:
    media = Path(app.config["MEDIA_DIR"])
    (media / "a").mkdir(parents=True, exist_ok=True)
    (media / "a" / "rumah.jpg").write_bytes(b"\xff\xd8\xff\xe0fake-jpeg")
    own = fx.make_submission(db, fx.DESA_A, nama="Warga Sendiri", nik="6107010101800001")
    foreign = fx.make_submission(db, fx.DESA_B, nama="Warga Lain", nik="6107020202800002")
    own_att = fx.make_attachment(db, own, "a/rumah.jpg")
    foreign_att = fx.make_attachment(db, foreign, "a/rumah.jpg")
    db.commit()
    return World(own.id, foreign.id, own_att.id, foreign_att.id)


class AuthActions:
    """Log in as a role; the account (kecamatan KEC_A, desa DESA_A) is made on first use."""

    def __init__(self, client: FlaskClient, db: Session) -> None:
        self._client = client
        self._db = db

    def user(self, role: str) -> str:
        username = f"u_{role}"
        if accounts.get_by_username(self._db, username) is None:
            fx.make_user(self._db, role, username=username)
            self._db.commit()
        return username

    def login(self, role_or_username: str, password: str = fx.PASSWORD):
        username = self.user(role_or_username) if role_or_username in ROLES else role_or_username
        return self._client.post("/masuk", data={"username": username, "password": password})

    def logout(self):
        return self._client.post("/keluar")

    def token(self, role: str) -> dict[str, str]:
        """An Authorization header with a fresh API token for the role's account."""
        user = accounts.require_user(self._db, self.user(role))
        token = accounts.issue_token(self._db, user)
        self._db.commit()
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def auth(client: FlaskClient, db: Session) -> AuthActions:
    return AuthActions(client, db)


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def linked_ids(html: str) -> list[int]:
    """Submission ids linked from a list page, in order."""
    return [int(m) for m in re.findall(r'href="/pengajuan/(\d+)"', html)]
