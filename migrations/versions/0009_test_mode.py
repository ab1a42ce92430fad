"""test mode: a campaign's preview link and test responses (never counted)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 14:50:00

The counting indexes gain ``is_test`` after ``campaign_id``: every count now says
``is_test = false`` and must still be answered from the index alone.
"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

COUNTING = {
    "ix_responses_campaign_sector": ["sector_id", "completed_at"],
    "ix_responses_campaign_link": ["link_id", "completed_at"],
    "ix_responses_campaign_completed": ["completed_at", "started_at", "last_page"],
}


def upgrade():
    with op.batch_alter_table("links", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("preview", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("is_test", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        for name, columns in COUNTING.items():
            batch_op.drop_index(name)
            batch_op.create_index(name, ["campaign_id", "is_test", *columns])


def downgrade():
    with op.batch_alter_table("responses", schema=None) as batch_op:
        for name, columns in COUNTING.items():
            batch_op.drop_index(name)
            batch_op.create_index(name, ["campaign_id", *columns])
        batch_op.drop_column("is_test")
    with op.batch_alter_table("links", schema=None) as batch_op:
        batch_op.drop_column("preview")
