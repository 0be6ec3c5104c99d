"""A new member field is a change in the form spec plus the schema, and nothing else.

On a copy of the repository, one `Answer` is added to surveys/spec.py, one column to
registry/models.py and one Alembic migration; then, in a child process on that copy, a household
whose members answer the new question is harvested from the Kobo simulator over HTTP, read back
through the API and exported. The value must arrive at every step."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

SPEC_LINE = '    Answer("kategori_ppks", p.KATEGORI_PPKS, "Kategori PPKS"),\n'
NEW_ANSWER = '    Answer("no_hp_anggota", p.ANGGOTA + "/no_hp_anggota", "No HP anggota"),\n'
MODEL_LINE = "    kategori_ppks: Mapped[str | None] = mapped_column(Text)"
NEW_COLUMN = "    no_hp_anggota: Mapped[str | None] = mapped_column(Text)\n"

MIGRATION = '''"""person.no_hp_anggota (the member-field test's own migration)"""

import sqlalchemy as sa
from alembic import op

revision = "9999_no_hp_anggota"
down_revision = {head!r}
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("person", sa.Column("no_hp_anggota", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("person", "no_hp_anggota")
'''

SCENE = r"""
import csv, json, os, sys
from pathlib import Path

work = Path(sys.argv[1])
from kobo_simulator import KoboSimulator

sim = KoboSimulator(seed=3)
sim.start()
uid = sim.add_asset("ppks")
generated = sim.get(uid, sim.generate(uid, 1)[0])
answers = {k: v for k, v in generated.items() if not k.startswith(("_", "meta/"))}
members = answers["keluarga/anggota"]
for i, member in enumerate(members):
    member["keluarga/anggota/no_hp_anggota"] = f"08120000{i:04d}"
kobo_id = sim.add_submission(uid, answers)

os.environ.update(
    BABALE_DATABASE_URL=f"sqlite:///{work / 'babale.db'}",
    BABALE_MEDIA_DIR=str(work / "media"),
    BABALE_KOBO_URL=sim.base_url,
    BABALE_KOBO_TOKEN=sim.token,
    BABALE_KOBO_ASSET_PPKS=uid,
    BABALE_ENV="development",
)
from harvester.runner import open_harvester
from registry.settings import Settings

settings = Settings.from_env()
with open_harvester(settings, progress=False) as harvester:
    harvester.run(["ppks"])
sim.stop()

from sqlalchemy import select
from registry import users as accounts
from registry.db import session_scope
from registry.models import Person, Submission

with session_scope(settings.database_url) as s:
    sub = s.scalars(select(Submission).where(Submission.kobo_id == kobo_id)).one()
    stored = [p.no_hp_anggota for p in s.scalars(
        select(Person).where(Person.submission_id == sub.id).order_by(Person.position))]
    user = accounts.create_user(s, "dinsos1", "kata-sandi-panjang-1", "dinsos")
    token = accounts.issue_token(s, user)
    sub_id = sub.id

from webapp import create_app
app = create_app({"TESTING": True, "SECRET_KEY": "x"})
body = app.test_client().get(
    f"/api/v1/submissions/{sub_id}", headers={"Authorization": f"Bearer {token}"}).get_json()
api = [p.get("no_hp_anggota") for p in body["household"]["persons"]]

from registry.export import bnba_filter, export_bnba
out = work / "bnba.csv"
export_bnba(settings.database_url, out, bnba_filter("all"), fmt="csv", bom=False)
with out.open(encoding="utf-8") as fh:
    exported = [r.get("no_hp_anggota") for r in csv.DictReader(fh) if r["kobo_id"] == str(kobo_id)]

print(json.dumps({"members": len(members), "stored": stored, "api": api, "export": exported}))
"""


def _head_revision() -> str:
    revisions = {}
    for path in (ROOT / "registry/migrations/versions").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        rev = re.search(r'^revision\s*=\s*"([^"]+)"', text, re.M)
        down = re.search(r"^down_revision\s*=\s*(.+)$", text, re.M)
        if rev and down:
            revisions[rev.group(1)] = down.group(1)
    downs = "".join(revisions.values())
    (head,) = [r for r in revisions if f'"{r}"' not in downs]
    return head


@pytest.mark.slow
def test_a_member_field_in_the_spec_and_the_schema_reaches_mapping_api_and_export(
    tmp_path: Path,
) -> None:
    copy = tmp_path / "repo"
    skip = shutil.ignore_patterns(
        ".git", ".venv", "node_modules", "build", "instance", "*.egg-info"
    )
    shutil.copytree(ROOT, copy, ignore=skip)

    spec = copy / "surveys/spec.py"
    text = spec.read_text(encoding="utf-8")
    assert SPEC_LINE in text
    spec.write_text(text.replace(SPEC_LINE, SPEC_LINE + NEW_ANSWER), encoding="utf-8")
    models = copy / "registry/models.py"
    text = models.read_text(encoding="utf-8")
    assert text.count(MODEL_LINE) == 1
    line_end = text.index("\n", text.index(MODEL_LINE)) + 1
    models.write_text(text[:line_end] + NEW_COLUMN + text[line_end:], encoding="utf-8")
    migration = MIGRATION.format(head=_head_revision())
    (copy / "registry/migrations/versions/9999_no_hp_anggota.py").write_text(migration)

    work = tmp_path / "work"
    work.mkdir()
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(copy), "HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", SCENE, str(work)],
        cwd=copy, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    expected = [f"08120000{i:04d}" for i in range(seen["members"])]
    assert seen["members"] >= 1
    assert seen["stored"] == expected
    assert seen["api"] == expected
    assert seen["export"] == expected
