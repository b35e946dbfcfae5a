"""an office's events in id order (office, id): the `version` of the `state` every board gets when
it connects is the office's last event, read from this index instead of scanning the office's
whole history (25 ms with 200,000 events, and it grows every day)

Revision ID: 0007
Revises: 0006
"""
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_event_office_id', 'event', ['office_id', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_event_office_id', table_name='event')
