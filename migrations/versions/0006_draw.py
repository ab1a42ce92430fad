"""the verifiable prize draw: the commitment on campaigns, the draw's frozen list and awards

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 14:45:00

"""

import hashlib
import secrets

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("draw_commitment", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("draw_settings", sa.JSON(), nullable=False, server_default="{}")
        )
    with op.batch_alter_table("draws", schema=None) as batch_op:
        batch_op.add_column(sa.Column("frozen_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("receipts", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("receipts_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("excluded", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("reserves", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("awards", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("rounds", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True))
    _seed_existing_campaigns()


def _seed_existing_campaigns():
    """A secret seed (and its published commitment) for every campaign that has none yet:
    campaigns loaded before this revision would otherwise show no commitment."""
    connection = op.get_bind()
    campaigns = sa.table("campaigns", sa.column("id"), sa.column("draw_commitment"))
    draws = sa.table(
        "draws",
        sa.column("campaign_id"),
        sa.column("commitment"),
        sa.column("seed"),
        sa.column("winners", sa.JSON()),
    )
    existing = dict(connection.execute(sa.select(draws.c.campaign_id, draws.c.commitment)).all())
    for (campaign_id,) in connection.execute(sa.select(campaigns.c.id)).all():
        commitment = existing.get(campaign_id)
        if commitment is None:
            seed = secrets.token_hex(32)
            commitment = hashlib.sha256(bytes.fromhex(seed)).hexdigest()
            connection.execute(
                draws.insert().values(
                    campaign_id=campaign_id, commitment=commitment, seed=seed, winners=[]
                )
            )
        connection.execute(
            campaigns.update()
            .where(campaigns.c.id == campaign_id)
            .values(draw_commitment=commitment)
        )


def downgrade():
    with op.batch_alter_table("draws", schema=None) as batch_op:
        for column in (
            "purged_at",
            "rounds",
            "awards",
            "reserves",
            "excluded",
            "receipts_hash",
            "receipts",
            "frozen_at",
        ):
            batch_op.drop_column(column)
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("draw_settings")
        batch_op.drop_column("draw_commitment")
