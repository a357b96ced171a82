"""Hand-written: plan invariants as unique indexes (partial indexes work on both engines)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-26T14:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "plan lineage, pending-version, in-force and item uniqueness indexes"

STATEMENTS = [
    # One plan lineage per county and campaign: a single first version (amends IS NULL).
    "CREATE UNIQUE INDEX IF NOT EXISTS plan_lineage_root ON plan (county_code, campaign) "
    "WHERE amends IS NULL",
    "CREATE UNIQUE INDEX IF NOT EXISTS plan_lineage_version ON plan "
    "(county_code, campaign, version)",
    # At most one version being worked on or reviewed at a time.
    "CREATE UNIQUE INDEX IF NOT EXISTS plan_one_pending ON plan (county_code, campaign) "
    "WHERE state IN ('draft', 'submitted', 'returned')",
    # At most one approved (in force) version: the one it replaces becomes 'superseded'.
    "CREATE UNIQUE INDEX IF NOT EXISTS plan_one_approved ON plan (county_code, campaign) "
    "WHERE state = 'approved'",
    "CREATE UNIQUE INDEX IF NOT EXISTS plan_item_plan_division ON plan_item (plan, division)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="registry", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
