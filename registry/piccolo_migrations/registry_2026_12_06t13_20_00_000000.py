"""Hand-written: the holiday arrangements the municipal centre enters, one row per year.

The ``chinesecalendar`` package knows the State Council's arrangement up to the year of its
release (2026 for 1.11.0); a year entered here takes precedence over it, and due dates in a year
neither knows are provisional (``registry/cases/calendar.py``).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-06T13:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "calendar_year: official holidays and make-up working days entered per year"

TABLE = (
    "CREATE TABLE IF NOT EXISTS calendar_year (year INTEGER PRIMARY KEY, "
    "holidays JSON NOT NULL DEFAULT '[]', workdays JSON NOT NULL DEFAULT '[]', "
    "updated_at TIMESTAMPTZ NOT NULL, updated_by VARCHAR(64) NOT NULL DEFAULT '')"
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="registry", description=DESCRIPTION)

    async def run():
        await engine_finder().run_ddl(TABLE)

    manager.add_raw(run)
    return manager
