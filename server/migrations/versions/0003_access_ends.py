"""session generations (logout ends every session) and where a ticket was issued from

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("user_account") as batch:
        batch.add_column(sa.Column("auth_generation", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("ticket") as batch:
        batch.add_column(sa.Column("issued_from", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ticket") as batch:
        batch.drop_column("issued_from")
    with op.batch_alter_table("user_account") as batch:
        batch.drop_column("auth_generation")
