"""answer_counts: the results' counts per question and value, kept as responses complete

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 14:50:00

"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "answer_counts",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.String(length=255), nullable=False),
        sa.Column("item", sa.String(length=255), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("cell", sa.String(length=1000), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("campaign_id", "question_id", "item", "value", "cell"),
    )
    op.create_table(
        "answer_count_states",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("campaign_id"),
    )
    # Backfill: the counts of every campaign's completed responses, by the same function
    # the command `flask results recount` calls, with the counting rule of this revision
    # (every response of the campaign: test responses come with 0009).
    from sqlalchemy.orm import Session

    from campaign.models import Response
    from campaign.results import tally

    session = Session(bind=op.get_bind())
    # (``mark_tallied=False``: responses.tallied comes with 0010, which marks these as counted.)
    tally.rebuild_all(
        session,
        counted=lambda campaign_id: [Response.campaign_id == campaign_id],
        mark_tallied=False,
    )
    session.flush()


def downgrade():
    op.drop_table("answer_count_states")
    op.drop_table("answer_counts")
