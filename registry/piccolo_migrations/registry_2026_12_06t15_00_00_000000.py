"""Hand-written: county_case_activity, a per-county counter of the case writes that can change
coverage's points_active (engine-specific trigger SQL).

Coverage keys its cached ``points_active`` by each county's case writes. Until now that sum was
read from ``case_activity`` (one row per agency point) joined to ``site`` and grouped by county
on every request: a cost that grows with the points (~12 ms on PostgreSQL at province scale,
~70 ms for the nation's 620,000 points). This counter is kept per county by triggers on
``service_case`` beside ``case_activity``'s (same events: a case inserted or deleted, its site
or received_at changed), so the versions read costs what the counties cost. The county is the
case's site's (read by the site's primary key), as ``case_activity`` counts per site.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-06T15:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "county_case_activity counter and its triggers (per-county case version)"

TABLE = (
    "CREATE TABLE IF NOT EXISTS county_case_activity "
    "(county_code VARCHAR(12) PRIMARY KEY, writes BIGINT NOT NULL DEFAULT 0)"
)
_BUMP = (
    "INSERT INTO county_case_activity (county_code, writes) "
    "SELECT county_code, 1 FROM site WHERE id = {row}.site "
    "ON CONFLICT (county_code) DO UPDATE SET writes = county_case_activity.writes + 1;"
)
SQLITE = [
    TABLE,
    "CREATE TRIGGER IF NOT EXISTS service_case_county_insert AFTER INSERT ON service_case "
    f"BEGIN {_BUMP.format(row='NEW')} END",
    "CREATE TRIGGER IF NOT EXISTS service_case_county_delete AFTER DELETE ON service_case "
    f"BEGIN {_BUMP.format(row='OLD')} END",
    "CREATE TRIGGER IF NOT EXISTS service_case_county_update "
    "AFTER UPDATE OF site, received_at ON service_case "
    f"BEGIN {_BUMP.format(row='NEW')} {_BUMP.format(row='OLD')} END",
]
# Statement-level with transition tables: a bulk insert bumps each county once, in code order
# (concurrent writers lock the counter rows in the same order: no deadlock).
_PG_BUMP = (
    "INSERT INTO county_case_activity (county_code, writes) "
    "SELECT s.county_code, COUNT(*) FROM {rows} JOIN site s ON s.id = r.site "
    "GROUP BY s.county_code ORDER BY s.county_code "
    "ON CONFLICT (county_code) DO UPDATE "
    "SET writes = county_case_activity.writes + EXCLUDED.writes"
)
_CHANGED = (
    "(SELECT n.site FROM new_rows n JOIN old_rows o ON o.id = n.id "
    "WHERE n.site <> o.site OR n.received_at <> o.received_at "
    "UNION ALL SELECT o.site FROM new_rows n JOIN old_rows o ON o.id = n.id "
    "WHERE n.site <> o.site OR n.received_at <> o.received_at) r"
)
POSTGRES = [
    TABLE,
    "CREATE OR REPLACE FUNCTION county_case_inserted() RETURNS trigger AS $$ BEGIN "
    + _PG_BUMP.format(rows="new_rows r")
    + "; RETURN NULL; END; $$ LANGUAGE plpgsql",
    "CREATE OR REPLACE FUNCTION county_case_deleted() RETURNS trigger AS $$ BEGIN "
    + _PG_BUMP.format(rows="old_rows r")
    + "; RETURN NULL; END; $$ LANGUAGE plpgsql",
    "CREATE OR REPLACE FUNCTION county_case_updated() RETURNS trigger AS $$ BEGIN "
    + _PG_BUMP.format(rows=_CHANGED)
    + "; RETURN NULL; END; $$ LANGUAGE plpgsql",
    "DROP TRIGGER IF EXISTS service_case_county_insert ON service_case",
    "CREATE TRIGGER service_case_county_insert AFTER INSERT ON service_case "
    "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION county_case_inserted()",
    "DROP TRIGGER IF EXISTS service_case_county_delete ON service_case",
    "CREATE TRIGGER service_case_county_delete AFTER DELETE ON service_case "
    "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION county_case_deleted()",
    "DROP TRIGGER IF EXISTS service_case_county_update ON service_case",
    "CREATE TRIGGER service_case_county_update AFTER UPDATE ON service_case "
    "REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION county_case_updated()",
]
# Counts for the cases already there (a database migrated with cases in it).
BACKFILL = (
    "INSERT INTO county_case_activity (county_code, writes) "
    "SELECT s.county_code, COUNT(*) FROM service_case c JOIN site s ON s.id = c.site "
    "WHERE true GROUP BY s.county_code "
    "ON CONFLICT (county_code) DO NOTHING"
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="registry", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        statements = SQLITE if engine.engine_type == "sqlite" else POSTGRES
        for statement in [*statements, BACKFILL]:
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
