"""Hand-written: the case table's index on the point alone is dropped.

Two indexes of ``service_case`` already begin with the point: (site, received_at) and
(site, received_on, length(case_number), case_number). Every query by point (a point's cases,
the foreign key's check when a point is deleted) is served by them, so the index on ``site``
alone only cost every new case one more B-tree page to write: with 20,000,000 cases on SQLite
a case written dirtied a page in each of the table's 13 indexes (docs/scaling.md).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-07T12:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "drop the index service_case (site): two composite indexes begin with it"

STATEMENTS = ["DROP INDEX IF EXISTS service_case_site"]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="registry", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
