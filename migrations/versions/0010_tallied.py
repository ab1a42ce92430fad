"""responses.tallied: whether a completed response is in the results' counts

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 15:50:00

The counts are no longer added to in the completion's transaction (the respondent's
hot path); ``campaign.results.tally.catch_up`` adds the completed responses not yet
counted before the results read them. Until now every completed, counted response was
added at completion (or by a rebuild), so those are marked counted here.
"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("tallied", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.create_index("ix_responses_untallied", ["campaign_id", "tallied"])
    responses = sa.table(
        "responses",
        sa.column("tallied", sa.Boolean()),
        sa.column("completed_at", sa.DateTime()),
        sa.column("is_test", sa.Boolean()),
    )
    op.execute(
        responses.update()
        .where(responses.c.completed_at.is_not(None), responses.c.is_test.is_(False))
        .values(tallied=True)
    )


def downgrade():
    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.drop_index("ix_responses_untallied")
        batch_op.drop_column("tallied")
