"""The state columns accept only their states: a CHECK constraint on each.

Claim, pending-release and signing-event states and project roles were free
text; the code writes them from ``endorse.states`` now, and the database
refuses any other value. SQLite cannot add a constraint to a table, so on
SQLite each table is copied (Alembic's batch mode), rows and all.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

#: table -> (column, the values it may hold), as ``endorse.states`` spells them.
CHECKS = {
    "project_members": ("role", ("owner", "maintainer")),
    "project_claims": ("state", ("pending", "recently-claimed", "claimed")),
    "pending_releases": ("state", ("pending", "accepted")),
    "signing_events": ("state", ("open", "ready", "published")),
}


def upgrade() -> None:
    """Add the four constraints."""
    for table, (column, values) in CHECKS.items():
        allowed = ", ".join(f"'{v}'" for v in values)
        with op.batch_alter_table(table) as batch:
            batch.create_check_constraint(op.f(f"ck_{table}_{column}"), f"{column} IN ({allowed})")


def downgrade() -> None:
    """Drop them again."""
    for table, (column, _values) in CHECKS.items():
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(op.f(f"ck_{table}_{column}"), type_="check")
