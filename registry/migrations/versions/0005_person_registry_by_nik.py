"""the person registry keyed by the valid NIK on each mention

- person.nik_sah and psks_entry.nik_sah (registry.nik.valid_nik of the recorded NIK), indexed:
  a mention with a valid NIK is its NIK's Orang, found through these columns, so the harvest
  no longer writes an Orang and a Sebutan row per person (registry.persons);
- Sebutan rows that only repeated that (the mention's valid NIK is its Orang's) go; those of
  mentions without a valid NIK stay;
- ix_person_kunci_duplikat holds the block key and the submission only: the lookup leaves the
  harvested page's own households out in the index and reads the few other rows from the
  table, which costs less than keeping seven columns in the index on every insert (measured).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from registry.nik import valid_nik

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BATCH = 5000


def upgrade() -> None:
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.add_column(sa.Column("nik_sah", sa.String(length=16), nullable=True))
        batch_op.create_index("ix_person_nik_sah", ["nik_sah"], unique=False)
        batch_op.drop_index("ix_person_kunci_duplikat")
        batch_op.create_index(
            "ix_person_kunci_duplikat", ["kunci_duplikat", "submission_id"], unique=False
        )
    with op.batch_alter_table("psks_entry", schema=None) as batch_op:
        batch_op.add_column(sa.Column("nik_sah", sa.String(length=16), nullable=True))
        batch_op.create_index(batch_op.f("ix_psks_entry_nik_sah"), ["nik_sah"], unique=False)
    for table in ("person", "psks_entry"):
        _fill(table)
    _drop_derivable_sebutan()


def _fill(name: str) -> None:
    conn = op.get_bind()
    table = sa.table(name, sa.column("id", sa.Integer), sa.column("nik", sa.Text))
    sah = sa.table(name, sa.column("id", sa.Integer), sa.column("nik_sah", sa.String))
    last = 0
    while True:
        rows = conn.execute(
            sa.select(table.c.id, table.c.nik)
            .where(table.c.id > last, table.c.nik.is_not(None))
            .order_by(table.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        valid = [{"rid": rid, "nik_sah": v} for rid, raw in rows if (v := valid_nik(raw))]
        if valid:
            conn.execute(sah.update().where(sah.c.id == sa.bindparam("rid")), valid)
        last = rows[-1][0]


def _drop_derivable_sebutan() -> None:
    conn = op.get_bind()
    for mentions, position in (("person", "m.position"), ("psks_entry", "0")):
        conn.execute(
            sa.text(
                "DELETE FROM sebutan WHERE id IN ("  # noqa: S608 (fixed table names)
                "SELECT s.id FROM sebutan s JOIN orang o ON o.id = s.orang_id "
                f"JOIN {mentions} m ON m.submission_id = s.submission_id "
                f"AND {position} = s.position AND m.nik_sah = o.nik)"
            )
        )


def downgrade() -> None:
    # The Sebutan rows dropped above are not made again (they only repeated the NIK).
    with op.batch_alter_table("psks_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_psks_entry_nik_sah"))
        batch_op.drop_column("nik_sah")
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_index("ix_person_kunci_duplikat")
        batch_op.create_index(
            "ix_person_kunci_duplikat",
            [
                "kunci_duplikat",
                "submission_id",
                "position",
                "household_id",
                "jenis_kelamin",
                "nama",
                "nik",
            ],
            unique=False,
        )
        batch_op.drop_index("ix_person_nik_sah")
        batch_op.drop_column("nik_sah")
