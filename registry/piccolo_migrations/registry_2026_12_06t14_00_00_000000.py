"""Hand-written: ``plan.returned_content``, the content of a version as it was returned.

A returned version is corrected in place (same version number), so without a copy of what the
reviewer returned, the reviewer of the resubmission cannot see what changed, and a planner
whose corrected upload failed could resubmit the returned content unchanged without noticing.
The copy is written by the return and read by ``GET /api/plans/{id}/changes`` and the submit
check ``plan_unchanged``. Additive: a nullable column on both engines.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-06T14:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "plan.returned_content: the content of a version as the reviewer returned it"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="registry", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        await engine.run_ddl("ALTER TABLE plan ADD COLUMN returned_content JSON")

    manager.add_raw(run)
    return manager
