"""flags that block approval, the person registry and the duplicate queue

- quality_flag: severities become blokir | peringatan (error -> blokir, warning -> peringatan),
  with the member's position, an English message and an index on code for the filters;
- flag_override: a dinsos/admin override of a blokir flag, for the data as it was;
- orang and sebutan: one person per valid NIK across the kabupaten, with every mention;
- duplicate_group and duplicate_member: the adjudication queue;
- review_event.kind: status | override | duplikat;
- recheck_run: the progress of `babale quality recheck`, so a stopped run resumes.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 20:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("quality_flag", schema=None) as batch_op:
        batch_op.add_column(sa.Column("message_en", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("position", sa.Integer(), nullable=True))
        batch_op.create_index("ix_quality_flag_code", ["code"], unique=False)
    op.execute("UPDATE quality_flag SET severity = 'blokir' WHERE severity = 'error'")
    op.execute("UPDATE quality_flag SET severity = 'peringatan' WHERE severity = 'warning'")
    with op.batch_alter_table("review_event", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=16), server_default="status", nullable=False)
        )
    op.create_table(
        "flag_override",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("field", sa.Text(), nullable=False),
        sa.Column("payload_hash", sa.String(length=64), nullable=False),
        sa.Column("review_event_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["review_event_id"],
            ["review_event.id"],
            name=op.f("fk_flag_override_review_event_id_review_event"),
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submission.id"],
            name=op.f("fk_flag_override_submission_id_submission"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flag_override")),
        sa.UniqueConstraint("review_event_id", name=op.f("uq_flag_override_review_event_id")),
        sa.UniqueConstraint(
            "submission_id",
            "code",
            "field",
            "payload_hash",
            name=op.f("uq_flag_override_submission_id_code_field_payload_hash"),
        ),
    )
    op.create_table(
        "orang",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("nik", sa.String(length=16), nullable=True),
        sa.Column("merged_into_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["merged_into_id"], ["orang.id"], name=op.f("fk_orang_merged_into_id_orang")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orang")),
        sa.UniqueConstraint("nik", name=op.f("uq_orang_nik")),
    )
    with op.batch_alter_table("orang", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_orang_merged_into_id"), ["merged_into_id"])
    op.create_table(
        "sebutan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("orang_id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["orang_id"], ["orang.id"], name=op.f("fk_sebutan_orang_id_orang")),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submission.id"],
            name=op.f("fk_sebutan_submission_id_submission"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sebutan")),
        sa.UniqueConstraint(
            "submission_id", "position", name=op.f("uq_sebutan_submission_id_position")
        ),
    )
    with op.batch_alter_table("sebutan", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sebutan_orang_id"), ["orang_id"])
    op.create_table(
        "duplicate_group",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("catatan", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["user_account.id"],
            name=op.f("fk_duplicate_group_decided_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_duplicate_group")),
        sa.UniqueConstraint("key", name=op.f("uq_duplicate_group_key")),
    )
    with op.batch_alter_table("duplicate_group", schema=None) as batch_op:
        batch_op.create_index("ix_duplicate_group_status", ["status"])
    op.create_table(
        "duplicate_member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("orang_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["duplicate_group.id"],
            name=op.f("fk_duplicate_member_group_id_duplicate_group"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["orang_id"], ["orang.id"], name=op.f("fk_duplicate_member_orang_id_orang")
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submission.id"],
            name=op.f("fk_duplicate_member_submission_id_submission"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_duplicate_member")),
        sa.UniqueConstraint(
            "group_id",
            "submission_id",
            "position",
            name=op.f("uq_duplicate_member_group_id_submission_id_position"),
        ),
    )
    with op.batch_alter_table("duplicate_member", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_duplicate_member_submission_id"), ["submission_id"])
    op.create_table(
        "recheck_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_submission_id", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recheck_run")),
    )


def downgrade() -> None:
    op.drop_table("recheck_run")
    op.drop_table("duplicate_member")
    op.drop_table("duplicate_group")
    op.drop_table("sebutan")
    op.drop_table("orang")
    op.drop_table("flag_override")
    with op.batch_alter_table("review_event", schema=None) as batch_op:
        batch_op.drop_column("kind")
    op.execute("UPDATE quality_flag SET severity = 'error' WHERE severity = 'blokir'")
    op.execute("UPDATE quality_flag SET severity = 'warning' WHERE severity = 'peringatan'")
    with op.batch_alter_table("quality_flag", schema=None) as batch_op:
        batch_op.drop_index("ix_quality_flag_code")
        batch_op.drop_column("position")
        batch_op.drop_column("message_en")
