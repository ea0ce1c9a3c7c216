"""The embedded PostgreSQL (``pgserver``) used when no ``DATABASE_URL`` is set."""

import importlib
import logging
from typing import Any

from app.config import Settings

log = logging.getLogger("touchbase.embedded")


def database_url(settings: Settings) -> str:
    """The configured database, else an embedded server under ``settings.data_dir``."""
    if settings.database_url:
        return settings.database_url
    # Imported here: only the embedded path needs it. It ships no type hints.
    pgserver: Any = importlib.import_module("pgserver")

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(settings.data_dir, cleanup_mode=None)
    log.info("using the embedded PostgreSQL in %s", settings.data_dir)
    return str(server.get_uri())
