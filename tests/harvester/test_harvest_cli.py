"""`babale harvest --once` as a user runs it: a real process, real HTTP, a real database."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import func, select

from registry import db
from registry.models import HarvestState, Person, Submission
from surveys import paths as f

pytestmark = pytest.mark.slow  # every test runs `babale harvest` as a child process

BABALE = [sys.executable, "-c", "from babale.cli import main; main()"]


def env_for(kobo, database_url, tmp_path, **assets):
    env = {k: v for k, v in os.environ.items() if not k.startswith("BABALE_")}
    env.update(
        BABALE_DATABASE_URL=database_url,
        BABALE_MEDIA_DIR=str(tmp_path / "media"),
        BABALE_KOBO_URL=kobo.base_url,
        BABALE_KOBO_TOKEN=kobo.token,
    )
    for form, uid in assets.items():
        env[f"BABALE_KOBO_ASSET_{form.upper()}"] = uid
    return env


def harvest(env, *args, timeout=120):
    return subprocess.run(
        [*BABALE, "harvest", "--once", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def stored(url):
    with db.session_scope(url) as s:
        ids = s.scalars(select(Submission.kobo_id)).all()
        persons = s.scalar(select(func.count()).select_from(Person))
    return ids, persons


def expected_persons(kobo, uid):
    return sum(len(kobo.get(uid, i).get(f.ANGGOTA) or []) for i in kobo.ids(uid))


def data_pages(kobo):
    return sum(1 for r in kobo.requests if r.method == "GET" and r.path.endswith("/data/"))


def test_once_prints_one_json_line_per_form(kobo, database_url, tmp_path):
    ppks, psks = kobo.add_asset("ppks"), kobo.add_asset("psks")
    kobo.generate(ppks, 30)
    kobo.generate(psks, 7)
    env = env_for(kobo, database_url, tmp_path, ppks=ppks, psks=psks)
    done = harvest(env)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(x["form"], x["new"], x["fetched"]) for x in lines] == [
        ("ppks", 30, 30),
        ("psks", 7, 7),
    ]
    assert set(lines[0]) == {"form", "fetched", "new", "updated", "unchanged", "deleted", "errors"}
    assert kobo.token not in done.stdout + done.stderr

    again = harvest(env, "--form", "ppks")
    assert again.returncode == 0
    assert json.loads(again.stdout)["fetched"] == 0


def test_failed_run_exits_non_zero_with_its_error_in_the_line(kobo, database_url, tmp_path):
    uid = kobo.add_asset("ppks")
    kobo.generate(uid, 10)
    env = env_for(kobo, database_url, tmp_path, ppks=uid)
    env["BABALE_KOBO_TOKEN"] = "wrong-token"
    done = harvest(env)
    assert done.returncode == 1
    line = json.loads(done.stdout)
    assert line["new"] == 0 and "BABALE_KOBO_TOKEN" in line["errors"][0]
    assert "wrong-token" not in done.stdout + done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"BABALE_KOBO_URL": None}, "BABALE_KOBO_URL"),
        ({"BABALE_KOBO_URL": "kobo.example"}, "BABALE_KOBO_URL"),
        ({"BABALE_KOBO_TOKEN": None}, "BABALE_KOBO_TOKEN"),
        ({"BABALE_KOBO_ASSET_PPKS": None}, "BABALE_KOBO_ASSET"),
        ({"BABALE_HARVEST_INTERVAL": "sering"}, "BABALE_HARVEST_INTERVAL"),
        (
            {"BABALE_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"},
            "BABALE_DATABASE_URL",
        ),
    ],
)
def test_a_missing_or_wrong_setting_is_named_in_one_line(kobo, sqlite_url, tmp_path, change, named):
    uid = kobo.add_asset("ppks")
    env = env_for(kobo, sqlite_url, tmp_path, ppks=uid)
    for key, value in change.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    done = harvest(env)
    assert done.returncode == 1
    assert named in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_a_run_killed_mid_harvest_is_resumed_without_loss_or_duplicates(
    kobo, database_url, tmp_path
):
    uid = kobo.add_asset("ppks")
    kobo.generate(uid, 2500)
    # The third page hangs, so the process is killed with two pages committed and one in flight.
    kobo.faults.slow(60.0, path="/data/$", skip=2, times=1)
    env = env_for(kobo, database_url, tmp_path, ppks=uid)
    proc = subprocess.Popen(
        [*BABALE, "harvest", "--once"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 60
        while data_pages(kobo) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert data_pages(kobo) == 3
        # The third page is asked for while the second is being written: wait for its commit.
        while len(stored(database_url)[0]) < 2000 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    ids, _ = stored(database_url)
    assert len(ids) == 2000

    kobo.faults.clear()
    done = harvest(env)  # the dead run's lease is taken over at once
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["new"] == 500
    ids, persons = stored(database_url)
    assert sorted(ids) == kobo.ids(uid)
    assert persons == expected_persons(kobo, uid)
    with db.session_scope(database_url) as s:
        assert s.get(HarvestState, uid).last_kobo_id == max(kobo.ids(uid))


def test_a_second_process_says_a_harvest_is_already_running(kobo, database_url, tmp_path):
    uid = kobo.add_asset("ppks")
    kobo.generate(uid, 1500)
    kobo.faults.slow(4.0, path="/data/$", skip=1, times=1)
    env = env_for(kobo, database_url, tmp_path, ppks=uid)
    first = subprocess.Popen(
        [*BABALE, "harvest", "--once"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while data_pages(kobo) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        second = harvest(env)
    finally:
        out, err = first.communicate(timeout=120)
    assert second.returncode == 3
    assert "already running" in second.stderr
    assert first.returncode == 0, err
    assert json.loads(out)["new"] == 1500
    ids, persons = stored(database_url)
    assert sorted(ids) == kobo.ids(uid)
    assert persons == expected_persons(kobo, uid)
