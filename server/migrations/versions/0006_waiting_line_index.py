"""a field's waiting line in one index (field, status, day, priority, booked slot, issue time):
counting who is ahead of a new ticket and a counter's next ticket read it alone

Revision ID: 0006
Revises: 0005
"""
from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_ticket_waiting', 'ticket',
                    ['field_id', 'status', 'service_day', 'priority_rank', 'booked_start', 'issued_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_ticket_waiting', table_name='ticket')
