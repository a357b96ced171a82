"""Hand-written: county_activity, a per-county counter of the writes that can change that
county's coverage counts (engine-specific trigger SQL).

Coverage caches each county's counts by its counter (services/coverage.py): after a status
change only that county is recounted, not the province. Triggers keep it, so no write path can
forget: a status event inserted, changed or deleted bumps its site's county; a site inserted
or deleted, or its division, kind or county changed, bumps its county (old and new); a division
written bumps its county ('' for divisions above the counties: every county's counts depend
on it). Only that a counter changes matters.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-05T15:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "county_activity counter and its triggers (per-county coverage cache version)"

TABLE = (
    "CREATE TABLE IF NOT EXISTS county_activity "
    "(county_code VARCHAR(12) PRIMARY KEY, writes BIGINT NOT NULL DEFAULT 0)"
)
_UPSERT = "ON CONFLICT (county_code) DO UPDATE SET writes = county_activity.writes + 1;"
_BY_SITE = (
    "INSERT INTO county_activity (county_code, writes) "
    "SELECT county_code, 1 FROM site WHERE id = {row}.site " + _UPSERT
)
_BY_CODE = "INSERT INTO county_activity (county_code, writes) VALUES ({code}, 1) " + _UPSERT


def _sqlite_trigger(name: str, event: str, table: str, body: str) -> str:
    return f"CREATE TRIGGER IF NOT EXISTS {name} AFTER {event} ON {table} BEGIN {body} END"


SQLITE = [
    TABLE,
    _sqlite_trigger(
        "status_event_county_insert", "INSERT", "status_event", _BY_SITE.format(row="NEW")
    ),
    _sqlite_trigger(
        "status_event_county_delete", "DELETE", "status_event", _BY_SITE.format(row="OLD")
    ),
    _sqlite_trigger(
        "status_event_county_update",
        "UPDATE",
        "status_event",
        _BY_SITE.format(row="NEW") + " " + _BY_SITE.format(row="OLD"),
    ),
    _sqlite_trigger(
        "site_county_insert", "INSERT", "site", _BY_CODE.format(code="NEW.county_code")
    ),
    _sqlite_trigger(
        "site_county_delete", "DELETE", "site", _BY_CODE.format(code="OLD.county_code")
    ),
    _sqlite_trigger(
        "site_county_update",
        "UPDATE OF division, kind, county_code",
        "site",
        _BY_CODE.format(code="NEW.county_code") + " " + _BY_CODE.format(code="OLD.county_code"),
    ),
    _sqlite_trigger(
        "division_county_insert",
        "INSERT",
        "division",
        _BY_CODE.format(code="COALESCE(NEW.county_code, '')"),
    ),
    _sqlite_trigger(
        "division_county_delete",
        "DELETE",
        "division",
        _BY_CODE.format(code="COALESCE(OLD.county_code, '')"),
    ),
    _sqlite_trigger(
        "division_county_update",
        "UPDATE",
        "division",
        _BY_CODE.format(code="COALESCE(NEW.county_code, '')")
        + " "
        + _BY_CODE.format(code="COALESCE(OLD.county_code, '')"),
    ),
]

# PostgreSQL: statement-level with transition tables (a bulk write bumps each county once, in
# county order: concurrent writers lock the counter rows in the same order, no deadlock). A
# column list cannot be combined with transition tables, so the site update trigger is a row
# trigger on the three columns that matter (they almost never change).
_PG_BUMP = (
    "INSERT INTO county_activity (county_code, writes) "
    "SELECT county_code, COUNT(*) FROM ({rows}) changed GROUP BY county_code "
    "ORDER BY county_code "
    "ON CONFLICT (county_code) DO UPDATE SET writes = county_activity.writes + EXCLUDED.writes"
)
_EVENTS = "SELECT s.county_code FROM {t} e JOIN site s ON s.id = e.site"
_SITES = "SELECT county_code FROM {t}"
_DIVISIONS = "SELECT COALESCE(county_code, '') AS county_code FROM {t}"


def _pg_function(name: str, rows: str) -> str:
    return (
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$ BEGIN "
        + _PG_BUMP.format(rows=rows)
        + "; RETURN NULL; END; $$ LANGUAGE plpgsql"
    )


def _pg_statement_trigger(name: str, event: str, table: str, function: str) -> list[str]:
    transition = {
        "INSERT": "NEW TABLE AS new_rows",
        "DELETE": "OLD TABLE AS old_rows",
        "UPDATE": "NEW TABLE AS new_rows OLD TABLE AS old_rows",
    }[event]
    return [
        f"DROP TRIGGER IF EXISTS {name} ON {table}",
        f"CREATE TRIGGER {name} AFTER {event} ON {table} REFERENCING {transition} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
    ]


POSTGRES = [
    TABLE,
    _pg_function("county_activity_events_new", _EVENTS.format(t="new_rows")),
    _pg_function("county_activity_events_old", _EVENTS.format(t="old_rows")),
    _pg_function(
        "county_activity_events_both",
        _EVENTS.format(t="new_rows") + " UNION ALL " + _EVENTS.format(t="old_rows"),
    ),
    _pg_function("county_activity_sites_new", _SITES.format(t="new_rows")),
    _pg_function("county_activity_sites_old", _SITES.format(t="old_rows")),
    _pg_function("county_activity_divisions_new", _DIVISIONS.format(t="new_rows")),
    _pg_function("county_activity_divisions_old", _DIVISIONS.format(t="old_rows")),
    _pg_function(
        "county_activity_divisions_both",
        _DIVISIONS.format(t="new_rows") + " UNION ALL " + _DIVISIONS.format(t="old_rows"),
    ),
    "CREATE OR REPLACE FUNCTION county_activity_site_row() RETURNS trigger AS $$ BEGIN "
    "INSERT INTO county_activity (county_code, writes) "
    "SELECT c, 1 FROM (SELECT NEW.county_code AS c UNION SELECT OLD.county_code) both_codes "
    "ORDER BY c ON CONFLICT (county_code) "
    "DO UPDATE SET writes = county_activity.writes + 1; RETURN NULL; END; $$ LANGUAGE plpgsql",
    *_pg_statement_trigger(
        "status_event_county_insert", "INSERT", "status_event", "county_activity_events_new"
    ),
    *_pg_statement_trigger(
        "status_event_county_delete", "DELETE", "status_event", "county_activity_events_old"
    ),
    *_pg_statement_trigger(
        "status_event_county_update", "UPDATE", "status_event", "county_activity_events_both"
    ),
    *_pg_statement_trigger("site_county_insert", "INSERT", "site", "county_activity_sites_new"),
    *_pg_statement_trigger("site_county_delete", "DELETE", "site", "county_activity_sites_old"),
    "DROP TRIGGER IF EXISTS site_county_update ON site",
    "CREATE TRIGGER site_county_update AFTER UPDATE OF division, kind, county_code ON site "
    "FOR EACH ROW EXECUTE FUNCTION county_activity_site_row()",
    *_pg_statement_trigger(
        "division_county_insert", "INSERT", "division", "county_activity_divisions_new"
    ),
    *_pg_statement_trigger(
        "division_county_delete", "DELETE", "division", "county_activity_divisions_old"
    ),
    *_pg_statement_trigger(
        "division_county_update", "UPDATE", "division", "county_activity_divisions_both"
    ),
]
# A row for every county already there (a database migrated with data in it).
BACKFILL = (
    "INSERT INTO county_activity (county_code, writes) "
    "SELECT county_code, 0 FROM ("
    " SELECT COALESCE(county_code, '') AS county_code FROM division"
    " UNION SELECT county_code FROM site"
    ") known WHERE true "
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
