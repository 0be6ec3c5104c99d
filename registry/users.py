"""Accounts of the review app: create, authenticate, disable, change password, API tokens.

Passwords are werkzeug hashes; API tokens are random and stored only as their sha256, so a copy
of the database never holds a usable token. Every change is written to the audit log.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import re
import secrets
from collections.abc import Sequence
from functools import cache

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from registry import roles, wilayah
from registry.models import AuditLog, User, utcnow
from registry.roles import ROLES

MIN_PASSWORD_LENGTH = 8
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
# werkzeug's default, scrypt (n=2**15): slow on purpose. The test suite swaps in a cheap method
# (tests/conftest.py); tests/registry/test_password_hash.py checks that this stays the default.
PASSWORD_HASH_METHOD = "scrypt"  # noqa: S105 (a method, not a password)


def _hash_password(password: str) -> str:
    return generate_password_hash(password, method=PASSWORD_HASH_METHOD)


@cache
def _dummy_hash(method: str) -> str:
    """A hash that no password matches, used to spend the same time on unknown usernames."""
    return generate_password_hash("babale-unknown-user", method=method)


class UserError(ValueError):
    """A wrong account request; the message is one line a person can act on."""


def validate_role_wilayah(role: str, kode: str | None) -> str | None:
    """The wilayah code the role needs (kecamatan or desa), or None for kabupaten-wide roles."""
    if role not in ROLES:
        raise UserError(f"peran tidak dikenal: {role!r} (pilih salah satu: {', '.join(ROLES)})")
    kode = (kode or "").strip() or None
    reach = roles.reach(role)
    if reach == "kecamatan":
        if not kode or not wilayah.is_kecamatan(kode):
            raise UserError(
                "peran kecamatan memerlukan kode kecamatan Bengkayang yang sah, mis. 61.07.01"
            )
        return kode
    if reach == "desa":
        if not kode or not wilayah.is_desa(kode):
            raise UserError(
                "peran desa memerlukan kode desa Bengkayang yang sah, mis. 61.07.01.2001"
            )
        return kode
    if kode:
        raise UserError(f"peran {role} berlaku untuk seluruh kabupaten: jangan isi wilayah")
    return None


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"kata sandi minimal {MIN_PASSWORD_LENGTH} karakter")


def _no_nul(value: str) -> str:
    """PostgreSQL refuses NUL in text and JSON; it only ever arrives from a typed-in form."""
    return value.replace("\x00", "")


def audit(session: Session, actor: str, action: str, **detail: object) -> None:
    clean = {k: _no_nul(v) if isinstance(v, str) else v for k, v in detail.items()}
    session.add(AuditLog(actor=_no_nul(actor), action=action, detail=clean))


def cli_actor() -> str:
    """`cli:<os user>`: who ran a command, for the audit log."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        user = f"uid{os.getuid()}" if hasattr(os, "getuid") else "unknown"
    return f"cli:{user}"[: getattr(AuditLog.__table__.c.actor.type, "length", 64)]


def get_by_username(session: Session, username: str) -> User | None:
    if "\x00" in username:  # no username holds one (USERNAME_RE)
        return None
    return session.scalar(select(User).where(User.username == username.strip().lower()))


def require_user(session: Session, username: str) -> User:
    user = get_by_username(session, username)
    if user is None:
        raise UserError(f"pengguna {username!r} tidak ada")
    return user


def create_user(
    session: Session,
    username: str,
    password: str,
    role: str,
    kode_wilayah: str | None = None,
    *,
    nama_lengkap: str | None = None,
    actor: str = "system",
) -> User:
    username = username.strip().lower()
    if not USERNAME_RE.match(username):
        raise UserError(
            "nama pengguna 2-64 karakter: huruf kecil, angka, titik, garis bawah atau tanda minus"
        )
    kode = validate_role_wilayah(role, kode_wilayah)
    check_password_rules(password)
    if get_by_username(session, username) is not None:
        raise UserError(f"nama pengguna {username!r} sudah dipakai")
    user = User(
        username=username,
        password_hash=_hash_password(password),
        role=role,
        wilayah=kode,
        nama_lengkap=_no_nul(nama_lengkap or "").strip() or None,
        is_active=True,
    )
    session.add(user)
    session.flush()
    audit(session, actor, "user_create", username=username, role=role, wilayah=kode)
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with this username and password, or None (the same for every failure)."""
    user = get_by_username(session, username)
    if user is None:
        check_password_hash(_dummy_hash(PASSWORD_HASH_METHOD), password)
        return None
    if not check_password_hash(user.password_hash, password) or not user.is_active:
        return None
    user.last_login_at = utcnow()
    return user


def change_password(session: Session, user: User, current: str, new: str) -> None:
    if not check_password_hash(user.password_hash, current):
        raise UserError("kata sandi lama salah")
    check_password_rules(new)
    user.password_hash = _hash_password(new)
    audit(session, user.username, "password_change", username=user.username)


def set_active(session: Session, user: User, active: bool, *, actor: str = "system") -> None:
    user.is_active = active
    if not active:
        user.api_token_hash = None  # a disabled account keeps no working token
    audit(session, actor, "user_enable" if active else "user_disable", username=user.username)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, user: User, *, actor: str = "system") -> str:
    """A new API token for `user` (the old one stops working). Shown once; only its hash is kept."""
    if not user.is_active:
        raise UserError(f"pengguna {user.username!r} nonaktif: aktifkan dulu")
    token = secrets.token_urlsafe(32)
    user.api_token_hash = _token_hash(token)
    audit(session, actor, "token_issue", username=user.username)
    return token


def user_for_token(session: Session, token: str) -> User | None:
    if not token:
        return None
    user = session.scalar(select(User).where(User.api_token_hash == _token_hash(token)))
    return user if user is not None and user.is_active else None


def list_users(session: Session) -> Sequence[User]:
    return session.scalars(select(User).order_by(User.role, User.username)).all()
