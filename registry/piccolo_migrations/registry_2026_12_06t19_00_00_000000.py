"""Hand-written: plan_activity, one counter bumped by every write to a plan or its items that
changes what coverage's targets read (engine-specific trigger SQL).

Coverage keeps whole answers (the figures of every unit of an area on a date) keyed by the
county versions (``county_activity``, ``county_case_activity``) and by this counter: the
targets come from the approved plans, so any plan write, whichever path writes (the API, an
import, SQL of another process), must make the next answer be built again. Plan writes are
rare (a county's versions and reviews): one row is enough.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-06T19:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "plan_activity counter and its triggers (the plans' version)"

TABLE = (
    "CREATE TABLE IF NOT EXISTS plan_activity "
    "(id INTEGER PRIMARY KEY CHECK (id = 1), writes BIGINT NOT NULL DEFAULT 0)"
)
SEED = "INSERT INTO plan_activity (id, writes) VALUES (1, 0) ON CONFLICT (id) DO NOTHING"
_BUMP = (
    "INSERT INTO plan_activity (id, writes) VALUES (1, 1) "
    "ON CONFLICT (id) DO UPDATE SET writes = plan_activity.writes + 1;"
)
# What the targets read: a plan's county, campaign, state and version; its items' dates. An
# update that changes none of them (the workflow's lock, ``SET version = version + 0``, or a
# title) does not bump: an unchanged re-upload leaves the database unchanged.
WATCHED = {
    "plan": ("county_code", "campaign", "state", "version"),
    "plan_item": ("plan", "target_date"),
}


def _changed(table: str, distinct: str) -> str:
    return " OR ".join(f"OLD.{c} {distinct} NEW.{c}" for c in WATCHED[table])


SQLITE = [TABLE, SEED] + [
    statement
    for table in WATCHED
    for statement in (
        f"CREATE TRIGGER IF NOT EXISTS {table}_plan_activity_insert "
        f"AFTER INSERT ON {table} BEGIN {_BUMP} END",
        f"CREATE TRIGGER IF NOT EXISTS {table}_plan_activity_delete "
        f"AFTER DELETE ON {table} BEGIN {_BUMP} END",
        f"CREATE TRIGGER IF NOT EXISTS {table}_plan_activity_update AFTER UPDATE ON {table} "
        f"WHEN {_changed(table, 'IS NOT')} BEGIN {_BUMP} END",
    )
]
# Inserts and deletes once per statement (a plan's items come in bulk); updates per row, only
# when a watched column changed.
POSTGRES = [
    TABLE,
    SEED,
    "CREATE OR REPLACE FUNCTION plan_activity_bump() RETURNS trigger AS $$ BEGIN "
    + _BUMP
    + " RETURN NULL; END; $$ LANGUAGE plpgsql",
] + [
    statement
    for table in WATCHED
    for statement in (
        f"DROP TRIGGER IF EXISTS {table}_plan_activity ON {table}",
        f"CREATE TRIGGER {table}_plan_activity AFTER INSERT OR DELETE OR TRUNCATE "
        f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION plan_activity_bump()",
        f"DROP TRIGGER IF EXISTS {table}_plan_activity_update ON {table}",
        f"CREATE TRIGGER {table}_plan_activity_update AFTER UPDATE ON {table} FOR EACH ROW "
        f"WHEN ({_changed(table, 'IS DISTINCT FROM')}) EXECUTE FUNCTION plan_activity_bump()",
    )
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="registry", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        for statement in SQLITE if engine.engine_type == "sqlite" else POSTGRES:
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
