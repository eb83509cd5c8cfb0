"""Storage: SQLAlchemy models, the engine/session factory, migrations, and the order search."""

from core.storage.db import Database, DatabaseError, dispose_all, get_database, upgrade

__all__ = ["Database", "DatabaseError", "dispose_all", "get_database", "upgrade"]
