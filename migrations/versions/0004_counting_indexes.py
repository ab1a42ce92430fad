"""indexes for the dashboard's counts (per sector, per link, per day; opens per key figure)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 13:20:00

"""

from alembic import op


# revision identifiers, used by Alembic.
revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.create_index(
            "ix_responses_campaign_sector", ["campaign_id", "sector_id", "completed_at"]
        )
        batch_op.create_index("ix_responses_campaign_link", ["campaign_id", "link_id", "completed_at"])
        batch_op.create_index(
            "ix_responses_campaign_completed",
            ["campaign_id", "completed_at", "started_at", "last_page"],
        )
    with op.batch_alter_table("links", schema=None) as batch_op:
        batch_op.create_index("ix_links_campaign_opens", ["campaign_id", "key_figure_id", "open_count"])


def downgrade():
    with op.batch_alter_table("links", schema=None) as batch_op:
        batch_op.drop_index("ix_links_campaign_opens")
    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.drop_index("ix_responses_campaign_completed")
        batch_op.drop_index("ix_responses_campaign_link")
        batch_op.drop_index("ix_responses_campaign_sector")
