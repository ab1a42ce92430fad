"""calendar: campaign launch/reminder settings, events, job runs, heartbeats, reminder choices

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 11:50:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("invite_at_open", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("reminder_threshold", sa.Float(), nullable=False, server_default="1.0")
        )
        batch_op.add_column(sa.Column("purge_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("file_schedule", sa.JSON(), nullable=False, server_default="{}")
        )

    op.create_table(
        "campaign_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("happened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("campaign_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_campaign_events_campaign_id"), ["campaign_id"], unique=False
        )

    op.create_table(
        "job_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("job", sa.String(length=20), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("campaign_id", "job", "due_at"),
    )
    with op.batch_alter_table("job_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_job_runs_campaign_id"), ["campaign_id"], unique=False)

    op.create_table(
        "scheduler_heartbeats",
        sa.Column("identity", sa.String(length=120), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("identity"),
    )
    with op.batch_alter_table("scheduler_heartbeats", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_scheduler_heartbeats_seen_at"), ["seen_at"], unique=False
        )

    op.create_table(
        "reminder_choices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("key_figure_id", sa.Integer(), nullable=False),
        sa.Column("include", sa.Boolean(), nullable=False),
        sa.Column("chosen_by", sa.String(length=320), nullable=False),
        sa.Column("chosen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["key_figure_id"], ["key_figures.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("campaign_id", "key_figure_id"),
    )
    with op.batch_alter_table("reminder_choices", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_reminder_choices_campaign_id"), ["campaign_id"], unique=False
        )


def downgrade():
    op.drop_table("reminder_choices")
    op.drop_table("scheduler_heartbeats")
    op.drop_table("job_runs")
    op.drop_table("campaign_events")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("file_schedule")
        batch_op.drop_column("purge_at")
        batch_op.drop_column("reminder_threshold")
        batch_op.drop_column("invite_at_open")
