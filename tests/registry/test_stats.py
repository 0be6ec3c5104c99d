"""`babale stats`: counts of what is stored, deleted-on-Kobo submissions counted apart."""

from __future__ import annotations

import json
import random

import pytest
from click.testing import CliRunner

from babale.commands.registry import stats
from registry.db import session_scope
from registry.roles import STATUSES
from surveys import paths as f
from tests.registry.factories import ppks_payload, psks_payload, random_household, store


@pytest.fixture
def stored(database_url):
    """Households and PSKS entries in several states; returns what `stats` should count."""
    rng = random.Random(3)
    ppks = [random_household(rng, kobo_id) for kobo_id in range(1, 8)]
    statuses = [STATUSES[i % len(STATUSES)] for i in range(len(ppks))]
    deleted_ppks = ppks_payload(100)
    psks = [psks_payload(200 + i) for i in range(3)]
    with session_scope(database_url) as session:
        for payload, status in zip(ppks, statuses, strict=True):
            store(session, "ppks", payload, status=status)
        store(session, "ppks", deleted_ppks, is_deleted_on_server=True)
        for payload in psks:
            store(session, "psks", payload, status="disetujui")
        store(session, "psks", psks_payload(300), is_deleted_on_server=True)
    by_status = dict.fromkeys(STATUSES, 0)
    for status in [*statuses, *["disetujui"] * len(psks)]:
        by_status[status] += 1
    return {
        "submissions": {"ppks": len(ppks), "psks": len(psks)},
        "households": len(ppks),
        "persons": sum(len(p[f.ANGGOTA]) for p in ppks),
        "psks": len(psks),
        "deleted": 2,
        "by_status": by_status,
    }


def test_stats_json_counts_exactly_what_is_stored(database_url, stored):
    result = CliRunner().invoke(stats, ["--json"], env={"BABALE_DATABASE_URL": database_url})
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == stored


def test_stats_table_is_readable(database_url, stored):
    result = CliRunner().invoke(stats, [], env={"BABALE_DATABASE_URL": database_url})
    assert result.exit_code == 0, result.output
    lines = dict(line.rsplit(None, 1) for line in result.stdout.strip().splitlines())
    assert int(lines["Anggota keluarga (PPKS)"]) == stored["persons"]
    assert int(lines["Dihapus di Kobo"]) == stored["deleted"]
    assert int(lines["Status disetujui"]) == stored["by_status"]["disetujui"]


def test_stats_on_an_empty_database_are_zero(database_url):
    result = CliRunner().invoke(stats, ["--json"], env={"BABALE_DATABASE_URL": database_url})
    counts = json.loads(result.stdout)
    assert counts["submissions"] == {"ppks": 0, "psks": 0}
    assert counts["by_status"] == dict.fromkeys(STATUSES, 0)
    assert counts["persons"] == counts["deleted"] == 0


def test_stats_creates_the_schema_of_a_new_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'nieuw' / 'babale.db'}"
    result = CliRunner().invoke(stats, ["--json"], env={"BABALE_DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["households"] == 0
