"""the likely-duplicate block key of each member, and the person registry's lookups

- person.kunci_duplikat (registry.names.block_key: birth date and the first letter of the
  folded name), indexed: registry.duplicates compares each harvested member with the members
  of its block only; existing rows of live households are filled here;
- ix_duplicate_member_orang_id: registry.persons finds a NIK's open groups through its Orang.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 08:00:00
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

from registry.names import block_key

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

BATCH = 5000


def upgrade() -> None:
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kunci_duplikat", sa.String(length=16), nullable=True))
        # Every person column registry.duplicates reads, so that SQLite answers from the index.
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
    with op.batch_alter_table("duplicate_member", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_duplicate_member_orang_id"), ["orang_id"], unique=False
        )
    _fill_block_keys()


def _fill_block_keys() -> None:
    conn = op.get_bind()
    person = sa.table(
        "person",
        sa.column("id", sa.Integer),
        sa.column("submission_id", sa.Integer),
        sa.column("nama", sa.Text),
        sa.column("tanggal_lahir_date", sa.Date),
        sa.column("kunci_duplikat", sa.String),
    )
    submission = sa.table(
        "submission", sa.column("id", sa.Integer), sa.column("is_deleted_on_server", sa.Boolean)
    )
    last = 0
    while True:
        rows = conn.execute(
            sa.select(person.c.id, person.c.nama, person.c.tanggal_lahir_date)
            .join(submission, submission.c.id == person.c.submission_id)
            .where(
                person.c.id > last,
                person.c.tanggal_lahir_date.is_not(None),
                submission.c.is_deleted_on_server.is_(False),  # a deleted household is in no block
            )
            .order_by(person.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        conn.execute(
            person.update().where(person.c.id == sa.bindparam("pid")),
            [
                {"pid": pid, "kunci_duplikat": block_key(_date(born), nama)}
                for pid, nama, born in rows
            ],
        )
        last = rows[-1][0]


def _date(value: object) -> dt.date | None:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value  # type: ignore[return-value]


def downgrade() -> None:
    with op.batch_alter_table("duplicate_member", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_duplicate_member_orang_id"))
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_index("ix_person_kunci_duplikat")
        batch_op.drop_column("kunci_duplikat")
