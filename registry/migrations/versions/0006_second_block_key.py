"""the likely-duplicate search's second block: the first letters of a name's last word

- person.kunci_duplikat_akhir (the second of registry.names.block_keys: the birth date and the
  first two letters of the folded name's last word, "1988-06-09/fa"),
  indexed with the submission like ix_person_kunci_duplikat: a name written without its first
  word ("Bong Kim Fat" / "Kim Fat") meets it there; existing rows still in a block are filled.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 20:45:00
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

from registry.names import block_keys

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

BATCH = 5000


def upgrade() -> None:
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kunci_duplikat_akhir", sa.String(length=16), nullable=True))
        batch_op.create_index(
            "ix_person_kunci_duplikat_akhir",
            ["kunci_duplikat_akhir", "submission_id"],
            unique=False,
        )
    _fill_second_keys()


def _fill_second_keys() -> None:
    conn = op.get_bind()
    person = sa.table(
        "person",
        sa.column("id", sa.Integer),
        sa.column("nama", sa.Text),
        sa.column("tanggal_lahir_date", sa.Date),
        sa.column("kunci_duplikat", sa.String),
        sa.column("kunci_duplikat_akhir", sa.String),
    )
    last = 0
    while True:
        rows = conn.execute(
            sa.select(person.c.id, person.c.nama, person.c.tanggal_lahir_date)
            .where(person.c.id > last, person.c.kunci_duplikat.is_not(None))  # still in a block
            .order_by(person.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        second = [(pid, block_keys(_date(born), nama)[1]) for pid, nama, born in rows]
        filled = [{"pid": pid, "kunci_duplikat_akhir": key} for pid, key in second if key]
        if filled:
            conn.execute(person.update().where(person.c.id == sa.bindparam("pid")), filled)
        last = rows[-1][0]


def _date(value: object) -> dt.date | None:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value  # type: ignore[return-value]


def downgrade() -> None:
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_index("ix_person_kunci_duplikat_akhir")
        batch_op.drop_column("kunci_duplikat_akhir")
