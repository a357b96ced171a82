"""Hand-written: append-only audit triggers and composite indexes (engine-specific SQL)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-26T14:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "audit append-only triggers, status-event and case indexes"

SQLITE = [
    "CREATE TRIGGER IF NOT EXISTS audit_entry_no_update BEFORE UPDATE ON audit_entry "
    "BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS audit_entry_no_delete BEFORE DELETE ON audit_entry "
    "BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END",
]
POSTGRES = [
    "CREATE OR REPLACE FUNCTION audit_entry_append_only() RETURNS trigger AS $$ "
    "BEGIN RAISE EXCEPTION 'audit entries are append-only'; END; $$ LANGUAGE plpgsql",
    "CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_entry "
    "FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only()",
    # TRUNCATE bypasses row triggers on PostgreSQL: refuse it too.
    "CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON audit_entry "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_append_only()",
]
COMMON = [
    "CREATE INDEX IF NOT EXISTS status_event_site_date ON status_event (site, effective_date, id)",
    "CREATE INDEX IF NOT EXISTS service_case_site_received ON service_case (site, received_at)",
    "CREATE INDEX IF NOT EXISTS division_parent_level ON division (parent, level)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="registry", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        statements = SQLITE if engine.engine_type == "sqlite" else POSTGRES
        for statement in [*statements, *COMMON]:
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
