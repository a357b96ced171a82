"""Hand-written: the case table's index on the resident's ID hash is dropped.

No query of the registry looks cases up by ``resident_id_hash``: the column is kept (with the
resident's data hash, it is what a report of repeat services would group by, which reads the
whole table anyway), its index only cost every new case a B-tree entry at a random place, with
a 64-character key. Of the case table's indexes it was the dearest to write: raw inserts into
a PostgreSQL case table of 5,000,000 rows ran at 20-22 k rows/s with it and 33-34 k without it
(no other index made a difference of more than ~10 %; docs/scaling-runs.md, stop 31).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-07T19:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "drop the index service_case (resident_id_hash): no query reads by it"

STATEMENTS = ["DROP INDEX IF EXISTS service_case_resident_id_hash"]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="registry", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
