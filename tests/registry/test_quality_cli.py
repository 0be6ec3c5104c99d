"""`babale quality recheck` and `babale quality report`, on real SQLite and PostgreSQL databases
filled through the harvest's store: a recheck restores what the rules say (and keeps the person
registry's nik_sama flags), resumes a stopped run, waits for a harvest; the report counts what
the database holds and prints no personal data."""

from __future__ import annotations

import datetime as dt
import json
import random

from click.testing import CliRunner
from sqlalchemy import delete, func, select

from babale.commands.quality import quality
from harvester.lock import HarvestLease
from harvester.mapping import map_submission
from harvester.store import store_page
from registry.db import session_factory
from registry.models import DuplicateGroup, QualityFlag, RecheckRun, Submission
from surveys import paths as f
from tests.registry import factories as rf

SHARED = rf.make_nik("610701", dt.date(1990, 3, 4), "P", 77)


def payloads() -> list[dict]:
    """Households with faults the rules flag, a NIK shared by two of them, and a likely
    duplicate (same name and birth date, no NIK)."""
    kid = rf.member("Petrus", born=dt.date(2019, 5, 1), sex="L", serial=3, hubungan="suami")
    shared = rf.member("Veronika Lusan", born=dt.date(1990, 3, 4), sex="P", serial=77)
    shared[f.NIK] = SHARED
    head = rf.member("Rudi Ramli", born=dt.date(1961, 1, 9), sex="L", hubungan="kepala_keluarga")
    no_nik = rf.member("Meiliana Tjhin", born=dt.date(1977, 8, 2), sex="P", serial=9)
    no_nik[f.NIK] = ""
    no_nik_again = {**no_nik, f.NAMA: "Meliana Tjhin"}
    return [
        rf.ppks_payload(1, members=[head, kid, shared]),
        rf.ppks_payload(2, kode_desa="61.07.02.2001", members=[shared, no_nik]),
        rf.ppks_payload(3, kode_desa="61.07.01.2004", members=[no_nik_again]),
        *(rf.random_household(random.Random(n), 10 + n) for n in range(5)),
    ]


def fill(url: str) -> None:
    with session_factory(url).begin() as session:
        store_page(
            session, "ppks", rf.ASSET["ppks"], [map_submission("ppks", p) for p in payloads()]
        )


def flags(url: str) -> list[tuple[int, str, str, int | None]]:
    with session_factory(url)() as session:
        return sorted(
            session.execute(
                select(
                    QualityFlag.submission_id,
                    QualityFlag.code,
                    QualityFlag.field,
                    QualityFlag.position,
                )
            )
        )


def invoke(args, url, **env):
    return CliRunner().invoke(quality, args, env={"BABALE_DATABASE_URL": url, **env})


def test_recheck_restores_the_rules_flags_and_keeps_nik_sama(database_url):
    fill(database_url)
    harvested = flags(database_url)
    assert any(code == "nik_sama" for _, code, _, _ in harvested)
    assert any(code == "umur_hubungan" for _, code, _, _ in harvested)
    with session_factory(database_url).begin() as session:  # as if stored before the rules
        session.execute(delete(QualityFlag).where(QualityFlag.code != "nik_sama"))

    result = invoke(["recheck", "--no-progress"], database_url)

    assert result.exit_code == 0, result.output
    line = json.loads(result.output.strip().splitlines()[-1])
    assert line["checked"] == 8 and line["resumed"] is False
    assert line["flags"] == sum(1 for _, code, _, _ in harvested if code != "nik_sama")
    assert flags(database_url) == harvested


def test_recheck_resumes_a_stopped_run(database_url):
    fill(database_url)
    sessions = session_factory(database_url)
    with sessions.begin() as session:
        first = session.scalar(select(func.min(Submission.id)))
        session.add(RecheckRun(total=8, done=1, last_submission_id=first))
        session.execute(delete(QualityFlag).where(QualityFlag.submission_id != first))

    result = invoke(["recheck", "--no-progress"], database_url)

    line = json.loads(result.output.strip().splitlines()[-1])
    assert line["resumed"] is True and line["checked"] == 7
    with sessions() as session:
        run = session.scalar(select(RecheckRun))
        assert run.finished_at is not None and run.done == 8
    again = json.loads(invoke(["recheck", "--no-progress"], database_url).output.splitlines()[-1])
    assert again["resumed"] is False and again["checked"] == 8


def test_recheck_waits_for_a_running_harvest(database_url):
    fill(database_url)
    lease = HarvestLease(session_factory(database_url))
    lease.acquire()
    try:
        result = invoke(["recheck", "--no-progress"], database_url)
    finally:
        lease.release()
    assert result.exit_code == 3
    assert "try again when it has finished" in result.output


def test_recheck_with_a_stricter_threshold_closes_open_likely_duplicates(database_url):
    fill(database_url)
    with session_factory(database_url)() as session:
        assert (
            session.scalar(select(func.count()).where(DuplicateGroup.key.startswith("mirip:"))) == 1
        )
    result = invoke(["recheck", "--no-progress"], database_url, BABALE_DUPLIKAT_NAMA_MIN="0.99")
    line = json.loads(result.output.strip().splitlines()[-1])
    assert line["duplicate_groups_closed"] == 1 and line["duplicate_groups_opened"] == 0
    result = invoke(["recheck", "--no-progress"], database_url)
    line = json.loads(result.output.strip().splitlines()[-1])
    assert line["duplicate_groups_opened"] == 1


def test_report_counts_what_the_database_holds_without_personal_data(database_url):
    fill(database_url)
    result = invoke(["report", "--json"], database_url)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    with session_factory(database_url)() as session:
        counted = select(QualityFlag.code, func.count()).group_by(QualityFlag.code)
        expected = {code: n for code, n in session.execute(counted)}
    assert {row["code"]: row["count"] for row in data["flags"]} == expected
    nik_sama = next(row for row in data["flags"] if row["code"] == "nik_sama")
    assert nik_sama["severity"] == "blokir" and nik_sama["blocking"] == 2
    assert data["duplicates"]["open"] == 2
    assert data["duplicates"]["by_reason"]["nik_sama"] == 1
    assert {len(g["members"]) for g in data["duplicates"]["groups"]} == {2}

    table = invoke(["report"], database_url).output
    assert "nik_sama" in table and "kelompok data ganda terbuka: 2" in table
    for text in (result.output, table):
        assert SHARED not in text and "Veronika" not in text and "Meiliana" not in text
