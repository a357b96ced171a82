"""Piccolo configuration: the engine is chosen from ``REGISTRY_DATABASE_URL``.

The app and the CLI rebind the engine with :func:`registry.db.engines.bind`; this module exists for
Piccolo's own tooling (``piccolo migrations new registry --auto``).
"""

from piccolo.conf.apps import AppRegistry

from registry.core.settings import get_settings
from registry.db.engines import make_engine

DB = make_engine(get_settings().database_url)

APP_REGISTRY = AppRegistry(apps=["registry.piccolo_app"])
