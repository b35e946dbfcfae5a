"""ratings record where the citizen rated (tablet or phone)

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rating") as batch:
        batch.add_column(sa.Column("source", sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("rating") as batch:
        batch.drop_column("source")
