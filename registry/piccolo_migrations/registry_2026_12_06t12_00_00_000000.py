"""Hand-written: the installation record — one row naming this deployment.

Tokens carry the installation id as their issuer and audience (``registry/accounts/tokens.py``):
two databases started from one checkout share the secret key, and a token of one was taken by
the other for whichever account had the same numeric id. Each database gets its own random id
here, once; a copy of the database (a backup restored) is the same deployment and keeps it.
"""

import secrets
from datetime import UTC, datetime

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-06T12:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "installation: the deployment's id, issuer and audience of its tokens"

TABLE = (
    "CREATE TABLE IF NOT EXISTS installation (id INTEGER PRIMARY KEY CHECK (id = 1), "
    "installation_id VARCHAR(64) NOT NULL, created_at TIMESTAMPTZ NOT NULL)"
)
# A hex id and an ISO instant: literals that need no quoting beyond the two single quotes.
ROW = (
    "INSERT INTO installation (id, installation_id, created_at) "
    "VALUES (1, '{id}', '{at}') ON CONFLICT (id) DO NOTHING"
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="registry", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        await engine.run_ddl(TABLE)
        await engine.run_ddl(ROW.format(id=secrets.token_hex(16), at=datetime.now(UTC).isoformat()))

    manager.add_raw(run)
    return manager
