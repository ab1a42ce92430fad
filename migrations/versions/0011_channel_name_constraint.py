"""channels: the unique (campaign_id, name) constraint under the naming convention's name

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 16:00:00

0005 named it ``uq_channels_campaign_id``; the models' naming convention makes it
``uq_channels_campaign_id_name``, and ``flask db check`` compares the two.
"""

from alembic import op


# revision identifiers, used by Alembic.
revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("channels", schema=None) as batch_op:
        batch_op.drop_constraint("uq_channels_campaign_id", type_="unique")
        batch_op.create_unique_constraint("uq_channels_campaign_id_name", ["campaign_id", "name"])


def downgrade():
    with op.batch_alter_table("channels", schema=None) as batch_op:
        batch_op.drop_constraint("uq_channels_campaign_id_name", type_="unique")
        batch_op.create_unique_constraint("uq_channels_campaign_id", ["campaign_id", "name"])
