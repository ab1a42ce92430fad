"""coordinators.session_token: a random value in every session and remember cookie

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 17:40:00

Flask-Login's "alternative tokens": an account's sessions carry its id and this
token, and the user loader refuses a cookie whose token is no longer the
account's. Logout, a password change or reset, deactivation and a role change
replace it, so a copied session or remember cookie stops working. Each existing
account gets a random token of its own here; sessions made before the upgrade
carry the bare id and end (their coordinators log in once more).
"""

import secrets

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("coordinators", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_token", sa.String(length=64), nullable=True))
    coordinators = sa.table(
        "coordinators", sa.column("id", sa.Integer()), sa.column("session_token", sa.String())
    )
    bind = op.get_bind()
    for (account_id,) in bind.execute(sa.select(coordinators.c.id)).all():
        bind.execute(
            coordinators.update()
            .where(coordinators.c.id == account_id)
            .values(session_token=secrets.token_urlsafe(24))
        )
    with op.batch_alter_table("coordinators", schema=None) as batch_op:
        batch_op.alter_column("session_token", existing_type=sa.String(length=64), nullable=False)


def downgrade():
    with op.batch_alter_table("coordinators", schema=None) as batch_op:
        batch_op.drop_column("session_token")
