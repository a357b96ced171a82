"""Hand-written: the real register — a division's official title, code aliases, successions.

- ``division.official_name``: the title the official list gives (仰溪铺村村委会) when the
  division's name is the place (仰溪铺村);
- ``division_alias``: every official code that names a division resolves to it (the
  statistical township codes beside the civil-affairs ones: 431202101 → 431202102000);
- ``division_succession``: predecessor → successor when a newer list moves or merges
  divisions (合村并组), with the date of the list;
- ``division.outline_code``: for a county-level unit without an outline of its own (怀化市洪江
  管理区), the county whose outline its sites are checked against (洪江市).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-06T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "division official_name and outline_code, division_alias, division_succession"

_FK = "VARCHAR(12) NOT NULL REFERENCES division (code) ON DELETE RESTRICT"
# A code is an alias within its code system: a statistical township code may be another
# township's civil-affairs code (统计 431221111 is 袁家镇, 民政 431221111000 is 中方镇).
ALIAS = (
    "CREATE TABLE IF NOT EXISTS division_alias (id {serial}, system VARCHAR(10) NOT NULL, "
    f"code VARCHAR(12) NOT NULL, division {_FK}, rule VARCHAR(20) NOT NULL DEFAULT '', "
    "note TEXT NOT NULL DEFAULT '', UNIQUE (system, code))"
)
SUCCESSION = (
    "CREATE TABLE IF NOT EXISTS division_succession (id {serial}, predecessor "
    f"{_FK}, successor {_FK}, effective_on DATE NOT NULL, change VARCHAR(10) NOT NULL, "
    "UNIQUE (predecessor, successor))"
)
COLUMNS = (
    "ALTER TABLE division ADD COLUMN official_name VARCHAR(200) NULL DEFAULT NULL",
    "ALTER TABLE division ADD COLUMN outline_code VARCHAR(12) NULL DEFAULT NULL",
)
ALIAS_INDEX = "CREATE INDEX IF NOT EXISTS division_alias_division ON division_alias (division)"
SUCCESSION_INDEX = (
    "CREATE INDEX IF NOT EXISTS division_succession_successor ON division_succession (successor)"
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="registry", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        serial = "INTEGER PRIMARY KEY" if engine.engine_type == "sqlite" else "SERIAL PRIMARY KEY"
        for statement in (
            *COLUMNS,
            ALIAS.format(serial=serial),
            ALIAS_INDEX,
            SUCCESSION.format(serial=serial),
            SUCCESSION_INDEX,
        ):
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
