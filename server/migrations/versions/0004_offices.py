"""many offices in one deployment: everything of a hall belongs to an office

Revision ID: 0004
Revises: 0003

The one office an install had becomes the default office (slug `default`, or
DEFAULT_OFFICE when set), and every row of it is marked as its own: nothing is lost,
bare paths and paired devices keep working. Field codes and prefixes, and counter
numbers, become unique within an office instead of everywhere.
"""
import os

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

OWNED = ("field", "counter", "device", "ticket", "rating", "announcement")  # NOT NULL office_id
OPTIONAL = ("user_account", "event")  # province users and province-wide events have none
INDEXED = ("field", "counter", "device", "rating", "announcement")
NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _drop_single_column_unique(table: str, column: str) -> None:
    """0001 made these unique constraints without names: find them whatever the database called them."""
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        with op.batch_alter_table(table, naming_convention=NAMING) as batch:
            batch.drop_constraint(f"uq_{table}_{column}", type_="unique")
        return
    for constraint in sa.inspect(bind).get_unique_constraints(table):
        if constraint["column_names"] == [column]:
            op.drop_constraint(constraint["name"], table, type_="unique")


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("office") as batch:
        batch.add_column(sa.Column("slug", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("active", sa.Boolean(), server_default="1", nullable=False))

    offices = bind.execute(sa.text("SELECT id FROM office ORDER BY id")).scalars().all()
    if not offices and bind.execute(sa.text("SELECT COUNT(*) FROM field")).scalar():
        bind.execute(sa.text("INSERT INTO office (name, unit, rating_scale, settings, active) "
                             "VALUES ('', '', 3, '{}', :yes)"), {"yes": True})
        offices = bind.execute(sa.text("SELECT id FROM office ORDER BY id")).scalars().all()
    default_slug = (os.environ.get("DEFAULT_OFFICE") or "default").strip().lower() or "default"
    for position, office_id in enumerate(offices):
        slug = default_slug if position == 0 else f"office-{office_id}"
        bind.execute(sa.text("UPDATE office SET slug = :slug WHERE id = :id"), {"slug": slug, "id": office_id})

    with op.batch_alter_table("office") as batch:
        batch.alter_column("slug", existing_type=sa.String(length=64), nullable=False)
        batch.create_unique_constraint("uq_office_slug", ["slug"])

    for table in OWNED + OPTIONAL:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("office_id", sa.Integer(), nullable=True))
    if offices:
        for table in OWNED + ("event",):
            bind.execute(sa.text(f"UPDATE {table} SET office_id = :id"), {"id": offices[0]})
        bind.execute(sa.text("UPDATE user_account SET office_id = :id WHERE role IN ('admin', 'clerk')"),
                     {"id": offices[0]})

    for column, table in (("code", "field"), ("prefix", "field"), ("number", "counter")):
        _drop_single_column_unique(table, column)

    for table in OWNED + OPTIONAL:
        with op.batch_alter_table(table) as batch:
            if table in OWNED:
                batch.alter_column("office_id", existing_type=sa.Integer(), nullable=False)
            batch.create_foreign_key(f"fk_{table}_office", "office", ["office_id"], ["id"])
            if table in INDEXED:
                batch.create_index(f"ix_{table}_office_id", ["office_id"], unique=False)
            if table == "field":
                batch.create_unique_constraint("uq_field_code", ["office_id", "code"])
                batch.create_unique_constraint("uq_field_prefix", ["office_id", "prefix"])
            elif table == "counter":
                batch.create_unique_constraint("uq_counter_number", ["office_id", "number"])
            elif table == "ticket":
                batch.create_index("ix_ticket_office_day", ["office_id", "service_day", "code"], unique=False)
            elif table == "event":
                batch.create_index("ix_event_office_at", ["office_id", "at"], unique=False)


def downgrade() -> None:
    raise NotImplementedError("offices cannot be merged back into one: restore the backup taken before upgrading")
