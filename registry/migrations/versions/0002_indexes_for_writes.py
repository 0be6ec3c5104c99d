"""indexes that serve a query, not ones that only cost writes

- drop ix_submission_root_uuid: no query reads it, and its random keys dirtied about a thousand
  index pages per harvested page of a large registry;
- drop ix_attachment_submission_id: uq_attachment_submission_id_uid already starts with it;
- add ix_person_household_id: deleting a household (an edited submission is rebuilt) cascades
  to its members, and without it each delete scanned the whole person table.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 15:20:00
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.drop_index("ix_submission_root_uuid")
    with op.batch_alter_table("attachment", schema=None) as batch_op:
        batch_op.drop_index("ix_attachment_submission_id")
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.create_index("ix_person_household_id", ["household_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_index("ix_person_household_id")
    with op.batch_alter_table("attachment", schema=None) as batch_op:
        batch_op.create_index("ix_attachment_submission_id", ["submission_id"], unique=False)
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.create_index("ix_submission_root_uuid", ["root_uuid"], unique=False)
