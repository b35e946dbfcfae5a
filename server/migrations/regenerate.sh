#!/bin/sh
# Until the first release, the schema lives in one migration: regenerate it from the models.
# After a release, add a new revision instead (alembic revision --autogenerate) and never edit old ones.
set -e
cd "$(dirname "$0")/../.."
rm -f /tmp/motcua-regen.db server/migrations/versions/0001_initial_schema.py
python -c "
from alembic import command
from alembic.config import Config
cfg = Config(); cfg.set_main_option('script_location', 'server/migrations')
cfg.set_main_option('sqlalchemy.url', 'sqlite:////tmp/motcua-regen.db')
command.revision(cfg, message='initial schema', autogenerate=True, rev_id='0001')
"
echo "Now re-add the counter -> ticket foreign key at the end of upgrade() (see git history):"
echo "  op.batch_alter_table('counter').create_foreign_key('fk_counter_current_ticket', 'ticket', ...)"
