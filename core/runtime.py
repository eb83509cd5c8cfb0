"""Wire the app or a CLI process together: settings -> database (migrated) -> Paidy client
(the embedded sandbox in demo mode, seeded once) -> service context -> batch workers."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Protocol

from core import logsetup
from core.operations.batch import WorkerPool
from core.operations.context import Ops
from core.operations.locks import lock_ttl_for
from core.operations.slots import slots_for
from core.paidy.client import PaidyClient
from core.settings import Mode, Settings, check_startup, get_settings
from core.storage.db import Database, get_database, upgrade

if TYPE_CHECKING:
    from core.mail.service import MailService

log = logging.getLogger(__name__)
DEMO_KEY = "sk_test_demo_sandbox_key"


class Stoppable(Protocol):
    """Something this runtime started and stops with it (the embedded sandbox)."""

    def stop(self) -> None: ...


@dataclass
class Runtime:
    settings: Settings
    db: Database
    ops: Ops
    sandbox: Stoppable | None = None  # RunningSandbox when embedded
    workers: WorkerPool | None = None
    notes: list[str] = field(default_factory=list)
    _mail: MailService | None = field(default=None, repr=False)  # メール通知: built on first use

    @property
    def api_base(self) -> str:
        return self.ops.client.api_base

    @property
    def mail(self) -> MailService:
        """The mail service of this runtime."""
        with _mail_lock:
            if self._mail is None:
                from core.mail.service import from_settings

                self._mail = from_settings(self.settings, self.db, self.ops.clock)
            return self._mail

    def stop(self) -> None:
        if self._mail is not None:
            self._mail.stop()
        if self.workers:
            self.workers.stop()
        if self.sandbox is not None:
            self.sandbox.stop()


_lock = threading.Lock()
_mail_lock = threading.Lock()


def settle_delay_for(settings: Settings) -> timedelta:
    """PAIDY_SETTLE_DELAY_S, default the request timeout + 30 s."""
    from core.operations.context import default_settle_delay

    if settings.paidy_settle_delay_s is not None:
        return timedelta(seconds=settings.paidy_settle_delay_s)
    return default_settle_delay(settings.paidy_timeout_s)


def build_runtime(
    settings: Settings | None = None,
    *,
    start_workers: bool = False,
    seed_demo: bool = True,
    demo_orders: int = 200,
) -> Runtime:
    settings = settings or get_settings()
    check_startup(settings)
    logsetup.configure(settings.log_file)
    db = get_database(settings.database_url)
    with _lock:
        upgrade(db)
    sandbox = None
    if settings.mode is Mode.DEMO:
        api_base, sandbox = _demo_paidy(settings)
        client = PaidyClient(
            api_base,
            DEMO_KEY,
            api_version=settings.paidy_api_version,
            timeout_s=settings.paidy_timeout_s,
        )
        if seed_demo:
            _seed_once(db, api_base, sandbox, demo_orders)
    else:
        client = PaidyClient.from_settings(settings)
    # one process's bound, or on PostgreSQL one bound shared by every process (slots.py)
    client.use_slots(
        slots_for(
            db,
            settings.paidy_concurrency,
            settings.paidy_cluster_concurrency,
            settings.paidy_timeout_s,
        )
    )
    ops = Ops(
        db,
        client,
        concurrency=settings.paidy_concurrency,
        cluster_cap=settings.paidy_cluster_concurrency,
        lock_ttl=lock_ttl_for(settings.paidy_timeout_s),
        settle_delay=settle_delay_for(settings),
    )
    rt = Runtime(settings, db, ops, sandbox)
    if start_workers:
        rt.workers = WorkerPool(ops).start()
    return rt


def _demo_paidy(settings: Settings):
    """An external sandbox when PAIDY_API_BASE is set, else an embedded one (state in a file)."""
    if settings.paidy_api_base:
        return settings.api_base, None
    from pathlib import Path

    from core.paidy.sandbox import start_sandbox

    Path(settings.sandbox_db).parent.mkdir(parents=True, exist_ok=True)
    sb = start_sandbox(db_path=settings.sandbox_db)
    return sb.url, sb


def _seed_once(db: Database, api_base: str, sandbox, orders: int) -> None:
    """Seed demo orders on a fresh database. An embedded sandbox keeps its state in a file;
    when our database starts empty that state belongs to nobody, so it starts empty too."""
    from sqlalchemy import select

    from core.storage.demo import seed_demo_if_empty
    from core.storage.models import Order

    with db.session() as s:
        empty = s.scalar(select(Order.id).limit(1)) is None
    if not empty:
        return
    if sandbox is not None:
        sandbox.reset()
    seed_demo_if_empty(db, api_base, orders=orders)
