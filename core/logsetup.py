"""Where failures go: a log file (``LOG_FILE``, default ``data/paidy_ops.log``), never the
screen or the CLI's stdout/stderr. An unexpected failure is logged with a short reference
(``E-3f9a1c2b``); the operator sees one line with that reference and can quote it."""

from __future__ import annotations

import logging
import threading
import uuid
from logging.handlers import RotatingFileHandler
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s"
_lock = threading.Lock()
_configured: set[str] = set()


def configure(log_file: str | None, level: int = logging.INFO) -> None:
    """Send this process's log to ``log_file`` (rotating, 10 MB x 5); idempotent. Nothing
    is written to stderr: a traceback or a SQL statement never reaches a terminal."""
    root = logging.getLogger()
    with _lock:
        if not _configured:
            for handler in list(root.handlers):
                if isinstance(handler, logging.StreamHandler) and not isinstance(
                    handler, logging.FileHandler
                ):
                    root.removeHandler(handler)
            root.setLevel(level)
            logging.getLogger("sqlalchemy").setLevel(logging.WARNING)
            logging.getLogger("urllib3").setLevel(logging.WARNING)
        if not log_file or log_file in _configured:
            return
        path = Path(log_file)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handler = RotatingFileHandler(
                path, maxBytes=10_000_000, backupCount=5, encoding="utf-8"
            )
        except OSError:
            return  # an unwritable log location must not stop the app or the CLI
        handler.setFormatter(logging.Formatter(FORMAT))
        root.addHandler(handler)
        _configured.add(log_file)


def new_reference() -> str:
    return f"E-{uuid.uuid4().hex[:8]}"


def log_exception(logger: logging.Logger, message: str, *args: object) -> str:
    """Log the exception being handled with a fresh reference; returns the reference."""
    ref = new_reference()
    logger.error(f"[{ref}] {message}", *args, exc_info=True)
    return ref
