"""The tests hash passwords cheaply (tests/conftest.py); production keeps werkzeug's scrypt."""

from __future__ import annotations

import subprocess
import sys

import pytest
from werkzeug.security import generate_password_hash

from registry import users


@pytest.mark.slow
def test_production_hashes_passwords_with_a_strong_scrypt():
    # A fresh interpreter: this process runs with the test suite's cheap method.
    method = subprocess.run(
        [sys.executable, "-c", "from registry import users; print(users.PASSWORD_HASH_METHOD)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    params = generate_password_hash("rahasia-sekali", method=method).split("$")[0]
    scheme, n, r, p = params.split(":")
    assert scheme == "scrypt"
    assert (int(n), int(r), int(p)) >= (2**15, 8, 1)


def test_the_suite_hashes_cheaply_and_still_checks_passwords(sqlite_url):
    from registry.db import session_scope

    with session_scope(sqlite_url) as s:
        user = users.create_user(s, "petugas", "rahasia-sekali-123", "dinsos")
        assert user.password_hash.startswith("pbkdf2:sha256:1$")
        assert users.authenticate(s, "petugas", "rahasia-sekali-123") is user
        assert users.authenticate(s, "petugas", "salah-sekali-123") is None
        assert users.authenticate(s, "orang-lain", "rahasia-sekali-123") is None
