"""PEP 792 project status markers: ``projects.status`` and ``projects.status_reason``.

Every existing project is ``active``, the status PEP 792 gives a project that
has none. On SQLite the table is copied (Alembic's batch mode) to add the
CHECK constraint, rows and all.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

STATUSES = ("active", "archived", "quarantined", "deprecated")


def upgrade() -> None:
    """Add the two columns, every project active."""
    allowed = ", ".join(f"'{s}'" for s in STATUSES)
    with op.batch_alter_table("projects") as batch:
        batch.add_column(
            sa.Column("status", sa.String(length=20), nullable=False, server_default="active")
        )
        batch.add_column(
            sa.Column("status_reason", sa.String(length=500), nullable=False, server_default="")
        )
        batch.create_check_constraint(op.f("ck_projects_status"), f"status IN ({allowed})")


def downgrade() -> None:
    """Drop them again."""
    with op.batch_alter_table("projects") as batch:
        batch.drop_constraint(op.f("ck_projects_status"), type_="check")
        batch.drop_column("status_reason")
        batch.drop_column("status")
