"""Piccolo configuration, for Piccolo's own tooling (``piccolo migrations new registry --auto``).

The engine is made from ``REGISTRY_DATABASE_URL``. The app and the CLI bind their own engine
(:func:`registry.db.binding.bind`); only :func:`registry.db.binding.migrate` points ``DB`` at
the engine it migrates, for the run (Piccolo's migration manager finds its engine here).
"""

from piccolo.conf.apps import AppRegistry

from registry.core.settings import settings_from_env
from registry.db.engines import make_engine

DB = make_engine(settings_from_env().database_url)

APP_REGISTRY = AppRegistry(apps=["registry.piccolo_app"])
