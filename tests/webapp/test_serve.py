"""`babale serve`: the app under waitress on 127.0.0.1, and a clear refusal without a key."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest
import requests

pytestmark = pytest.mark.slow  # `babale serve` runs as a child process

BABALE = [sys.executable, "-c", "from babale.cli import main; main()"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(tmp_path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BABALE_")}
    env.update(BABALE_INSTANCE_DIR=str(tmp_path), **extra)
    return env


def test_serve_refuses_to_start_without_a_secret_key(tmp_path):
    result = subprocess.run(
        [*BABALE, "serve", "--port", str(_free_port())],
        env=_env(tmp_path, BABALE_ENV="production"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]  # one line, no traceback
    assert "BABALE_SECRET_KEY is not set" in result.stderr


def test_serve_answers_over_http(tmp_path):
    port = _free_port()
    proc = subprocess.Popen(
        [*BABALE, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=_env(tmp_path, BABALE_SECRET_KEY="k" * 64),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                response = requests.get(f"http://127.0.0.1:{port}/masuk", timeout=5)
                break
            except requests.ConnectionError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(proc.stdout.read().decode()) from None
                time.sleep(0.2)
        assert response.status_code == 200
        assert "Masuk ke Babale" in response.text
        assert response.headers["Server"] == "babale"
        assert (tmp_path / "babale.db").exists()  # migrated on start
    finally:
        proc.terminate()
        proc.wait(timeout=10)
