"""Piccolo configuration: the engine is chosen from ``REGISTRY_DATABASE_URL``.

The app and the CLI rebind the engine with :func:`registry.db.bind`; this module exists for
Piccolo's own tooling (``piccolo migrations new registry --auto``).
"""

from piccolo.conf.apps import AppRegistry

from registry.db import make_engine
from registry.settings import get_settings

DB = make_engine(get_settings().database_url)

APP_REGISTRY = AppRegistry(apps=["registry.piccolo_app"])
