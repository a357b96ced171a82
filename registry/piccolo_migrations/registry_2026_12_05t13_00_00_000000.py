"""Hand-written: case_activity, a per-point counter of the case writes that can change
coverage's points_active (engine-specific trigger SQL).

Coverage caches points_active by the sum of these counters (a table of one row per agency
point: reading it costs what the points cost, never what the cases cost). Triggers keep it,
so no write path can forget: a case inserted or deleted, or its site or received_at changed,
bumps its point's counter in the same transaction. Only that the sum changes matters.
Also an index on service_case (site, received_on) for the next case number of a point's day.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-05T13:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "case_activity counter and its triggers (coverage cache version); case serial index"

TABLE = (
    "CREATE TABLE IF NOT EXISTS case_activity "
    "(site INTEGER PRIMARY KEY, writes BIGINT NOT NULL DEFAULT 0)"
)
_BUMP = (
    "INSERT INTO case_activity (site, writes) VALUES ({row}.site, 1) "
    "ON CONFLICT (site) DO UPDATE SET writes = case_activity.writes + 1;"
)
SQLITE = [
    TABLE,
    "CREATE TRIGGER IF NOT EXISTS service_case_activity_insert AFTER INSERT ON service_case "
    f"BEGIN {_BUMP.format(row='NEW')} END",
    "CREATE TRIGGER IF NOT EXISTS service_case_activity_delete AFTER DELETE ON service_case "
    f"BEGIN {_BUMP.format(row='OLD')} END",
    "CREATE TRIGGER IF NOT EXISTS service_case_activity_update "
    "AFTER UPDATE OF site, received_at ON service_case "
    f"BEGIN {_BUMP.format(row='NEW')} {_BUMP.format(row='OLD')} END",
]
# Statement-level with transition tables: a bulk insert bumps each point once, in site order
# (concurrent writers lock the counter rows in the same order: no deadlock).
_PG_BUMP = (
    "INSERT INTO case_activity (site, writes) "
    "SELECT site, COUNT(*) FROM {rows} GROUP BY site ORDER BY site "
    "ON CONFLICT (site) DO UPDATE SET writes = case_activity.writes + EXCLUDED.writes"
)
POSTGRES = [
    TABLE,
    "CREATE OR REPLACE FUNCTION case_activity_inserted() RETURNS trigger AS $$ BEGIN "
    + _PG_BUMP.format(rows="new_rows")
    + "; RETURN NULL; END; $$ LANGUAGE plpgsql",
    "CREATE OR REPLACE FUNCTION case_activity_deleted() RETURNS trigger AS $$ BEGIN "
    + _PG_BUMP.format(rows="old_rows")
    + "; RETURN NULL; END; $$ LANGUAGE plpgsql",
    "CREATE OR REPLACE FUNCTION case_activity_updated() RETURNS trigger AS $$ BEGIN "
    + _PG_BUMP.format(
        rows="(SELECT n.site FROM new_rows n JOIN old_rows o ON o.id = n.id "
        "WHERE n.site <> o.site OR n.received_at <> o.received_at "
        "UNION ALL SELECT o.site FROM new_rows n JOIN old_rows o ON o.id = n.id "
        "WHERE n.site <> o.site OR n.received_at <> o.received_at) changed"
    )
    + "; RETURN NULL; END; $$ LANGUAGE plpgsql",
    "DROP TRIGGER IF EXISTS service_case_activity_insert ON service_case",
    "CREATE TRIGGER service_case_activity_insert AFTER INSERT ON service_case "
    "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION case_activity_inserted()",
    "DROP TRIGGER IF EXISTS service_case_activity_delete ON service_case",
    "CREATE TRIGGER service_case_activity_delete AFTER DELETE ON service_case "
    "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION case_activity_deleted()",
    "DROP TRIGGER IF EXISTS service_case_activity_update ON service_case",
    "CREATE TRIGGER service_case_activity_update AFTER UPDATE ON service_case "
    "REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION case_activity_updated()",
]
# The next case number of a point and day reads one index range (services/cases.py).
SERIAL_INDEX = (
    "CREATE INDEX IF NOT EXISTS service_case_site_received_on ON service_case (site, received_on)"
)
# Counts for the cases already there (a database migrated with cases in it).
BACKFILL = (
    "INSERT INTO case_activity (site, writes) "
    "SELECT site, COUNT(*) FROM service_case WHERE true GROUP BY site "
    "ON CONFLICT (site) DO NOTHING"
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="registry", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        statements = SQLITE if engine.engine_type == "sqlite" else POSTGRES
        for statement in [*statements, BACKFILL, SERIAL_INDEX]:
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
