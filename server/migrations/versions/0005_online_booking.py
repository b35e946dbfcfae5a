"""online number-taking and appointments: booking settings per field, slots with counted seats,
bookings, per-phone quotas, blackout days; booked tickets keep their slot's start

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa
import server.models


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('blackout_day',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('office_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['office_id'], ['office.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('office_id', 'day', name='uq_blackout_day')
    )
    op.create_table('booking_quota',
    sa.Column('office_id', sa.Integer(), nullable=False),
    sa.Column('phone', sa.String(length=16), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('held', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['office_id'], ['office.id'], ),
    sa.PrimaryKeyConstraint('office_id', 'phone', 'day')
    )
    op.create_table('booking_slot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('field_id', sa.Integer(), nullable=False),
    sa.Column('start', server.models.UTCDateTime(), nullable=False),
    sa.Column('seats', sa.Integer(), nullable=False),
    sa.Column('taken', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['field_id'], ['field.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('field_id', 'start', name='uq_booking_slot')
    )
    op.create_table('booking',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('office_id', sa.Integer(), nullable=False),
    sa.Column('field_id', sa.Integer(), nullable=False),
    sa.Column('slot_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=6), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('phone', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('start', server.models.UTCDateTime(), nullable=False),
    sa.Column('end', server.models.UTCDateTime(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('created_at', server.models.UTCDateTime(), nullable=False),
    sa.Column('checked_in_at', server.models.UTCDateTime(), nullable=True),
    sa.Column('cancelled_at', server.models.UTCDateTime(), nullable=True),
    sa.Column('cancel_reason', sa.String(length=300), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('idempotency_key', sa.String(length=64), nullable=True),
    sa.Column('booked_from', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['field_id'], ['field.id'], ),
    sa.ForeignKeyConstraint(['office_id'], ['office.id'], ),
    sa.ForeignKeyConstraint(['slot_id'], ['booking_slot.id'], ),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code'),
    sa.UniqueConstraint('idempotency_key'),
    sa.UniqueConstraint('token')
    )
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.create_index('ix_booking_office_start', ['office_id', 'start'], unique=False)
        batch_op.create_index('ix_booking_status_start', ['status', 'start'], unique=False)

    with op.batch_alter_table('field', schema=None) as batch_op:
        batch_op.add_column(sa.Column('booking', sa.JSON(), server_default=sa.text("'{}'"), nullable=False))

    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.add_column(sa.Column('booked_start', server.models.UTCDateTime(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.drop_column('booked_start')

    with op.batch_alter_table('field', schema=None) as batch_op:
        batch_op.drop_column('booking')

    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.drop_index('ix_booking_status_start')
        batch_op.drop_index('ix_booking_office_start')

    op.drop_table('booking')
    op.drop_table('booking_slot')
    op.drop_table('booking_quota')
    op.drop_table('blackout_day')
