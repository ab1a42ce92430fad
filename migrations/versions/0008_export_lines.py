"""export_lines: each completed response's CSV row, made once when it completes

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 14:45:00

"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "export_lines",
        sa.Column("response_id", sa.String(length=32), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("response_updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("semicolon", sa.Text(), nullable=False),
        sa.Column("comma", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["response_id"], ["responses.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("response_id"),
    )
    op.create_index("ix_export_lines_campaign", "export_lines", ["campaign_id", "fingerprint"])
    # No backfill: a response without a current line is exported from its answers as
    # before; `flask results recount SLUG` makes the lines of the responses there are.


def downgrade():
    op.drop_index("ix_export_lines_campaign", table_name="export_lines")
    op.drop_table("export_lines")
