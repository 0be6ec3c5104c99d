"""indexes for the person registry's lookups on harvest

- ix_person_tanggal_lahir_date: registry.duplicates compares each harvested member with those
  born on the same (or the day-and-month-swapped) date;
- ix_duplicate_member_orang_id: registry.persons finds a NIK's open groups through its Orang.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 08:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.create_index("ix_person_tanggal_lahir_date", ["tanggal_lahir_date"], unique=False)
    with op.batch_alter_table("duplicate_member", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_duplicate_member_orang_id"), ["orang_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("duplicate_member", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_duplicate_member_orang_id"))
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_index("ix_person_tanggal_lahir_date")
