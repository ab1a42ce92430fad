"""credit_counts: the dashboard's counts of completed responses per sector, key figure, channel and hour

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 17:00:00

The dashboard and ``flask campaign stats`` grouped every response (and every
link, one per completion) on each request. They now read these kept rows plus
the responses not ``tallied`` yet (those in progress and completed ones the
results' catch-up has not added), so a request costs the same at 1,000 and
at 100,000 answers. The backfill counts the responses already ``tallied``
(0010), by the same function a rebuild calls.

The indexes follow what is read: the openings of links opened at least once
(most forwarded links never are), and the responses not tallied with the
columns they are grouped by.
"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "credit_counts",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("dimension", sa.String(length=16), nullable=False),
        sa.Column("key", sa.Integer(), nullable=False),
        sa.Column("completed", sa.Integer(), nullable=False),
        sa.Column("last_completed", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_credit_counts_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("campaign_id", "dimension", "key", name=op.f("pk_credit_counts")),
    )
    op.drop_index("ix_links_campaign_opens", table_name="links")
    op.create_index(
        "ix_links_opened",
        "links",
        ["campaign_id", "key_figure_id", "channel_id", "open_count"],
        sqlite_where=sa.text("open_count > 0"),
        postgresql_where=sa.text("open_count > 0"),
    )
    op.drop_index("ix_responses_untallied", table_name="responses")
    op.create_index(
        "ix_responses_live",
        "responses",
        ["campaign_id", "tallied", "is_test", "completed_at", "link_id", "sector_id"],
    )
    from sqlalchemy.orm import Session

    from campaign import attribution

    session = Session(bind=op.get_bind())
    attribution.rebuild_all_credits(session)
    session.flush()


def downgrade():
    op.drop_index("ix_responses_live", table_name="responses")
    op.create_index("ix_responses_untallied", "responses", ["campaign_id", "tallied"])
    op.drop_index("ix_links_opened", table_name="links")
    op.create_index(
        "ix_links_campaign_opens", "links", ["campaign_id", "key_figure_id", "open_count"]
    )
    op.drop_table("credit_counts")
