"""channels, partner organisations, coordinator roles and invitations, account events

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 14:40:00

"""

import json

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "channels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("partner", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_channels_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channels")),
        sa.UniqueConstraint("campaign_id", "name", name=op.f("uq_channels_campaign_id")),
    )
    with op.batch_alter_table("channels", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_channels_campaign_id"), ["campaign_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_channels_partner"), ["partner"], unique=False)

    with op.batch_alter_table("links", schema=None) as batch_op:
        batch_op.add_column(sa.Column("channel_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_links_channel_id"), ["channel_id"], unique=False)
        batch_op.create_foreign_key(
            "fk_links_channel_id_channels", "channels", ["channel_id"], ["id"], ondelete="SET NULL"
        )

    with op.batch_alter_table("key_figures", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("partner", sa.String(length=200), nullable=False, server_default="")
        )
        batch_op.create_index(batch_op.f("ix_key_figures_partner"), ["partner"], unique=False)
    _backfill_partners()

    with op.batch_alter_table("coordinators", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("role", sa.String(length=20), nullable=False, server_default="admin")
        )
        batch_op.add_column(sa.Column("partner", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("deactivated_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("token_nonce", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("token_issued_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("invited_by", sa.String(length=320), nullable=False, server_default="")
        )

    # Account events (an invitation, a deactivation) belong to no campaign.
    with op.batch_alter_table("campaign_events", schema=None) as batch_op:
        batch_op.alter_column("campaign_id", existing_type=sa.Integer(), nullable=True)
        batch_op.create_index("ix_campaign_events_happened_at", ["happened_at"], unique=False)


def _backfill_partners():
    """Existing key figures belong to their campaign's first organiser (the only one, in the
    campaigns of before partners)."""
    bind = op.get_bind()
    for campaign_id, organisers in bind.execute(sa.text("SELECT id, organisers FROM campaigns")):
        names = json.loads(organisers) if isinstance(organisers, str) else (organisers or [])
        if names:
            bind.execute(
                sa.text("UPDATE key_figures SET partner = :partner WHERE campaign_id = :id"),
                {"partner": str(names[0]), "id": campaign_id},
            )


def downgrade():
    with op.batch_alter_table("campaign_events", schema=None) as batch_op:
        batch_op.drop_index("ix_campaign_events_happened_at")
    op.execute("DELETE FROM campaign_events WHERE campaign_id IS NULL")
    with op.batch_alter_table("campaign_events", schema=None) as batch_op:
        batch_op.alter_column("campaign_id", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("coordinators", schema=None) as batch_op:
        for column in ("invited_by", "token_issued_at", "token_nonce", "deactivated_at"):
            batch_op.drop_column(column)
        batch_op.drop_column("partner")
        batch_op.drop_column("role")
    with op.batch_alter_table("key_figures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_key_figures_partner"))
        batch_op.drop_column("partner")
    with op.batch_alter_table("links", schema=None) as batch_op:
        batch_op.drop_constraint("fk_links_channel_id_channels", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_links_channel_id"))
        batch_op.drop_column("channel_id")
    with op.batch_alter_table("channels", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_channels_partner"))
        batch_op.drop_index(batch_op.f("ix_channels_campaign_id"))
    op.drop_table("channels")
