"""The service tier: core.operations against an in-memory Paidy (fake_paidy.FakePaidy,
behind core.paidy.port.PaidyPort) and a migrated SQLite file. No sockets, no threads, no
sandbox process: the whole tier runs in a few seconds (``pytest tests/service``)."""

from __future__ import annotations

import pytest

from core.operations.context import Ops
from core.operations.link import link_payment
from core.storage.db import Database
from tests.fixtures_ops import ADMIN, TestClock
from tests.service.fake_paidy import FakePaidy


@pytest.fixture
def db(db_sqlite: Database) -> Database:
    """SQLite only (a copy of the session's migrated template file): this tier tests the
    service logic; the integration tier runs the same paths on PostgreSQL too."""
    return db_sqlite


@pytest.fixture
def paidy() -> FakePaidy:
    return FakePaidy()


@pytest.fixture
def ops(db: Database, paidy: FakePaidy) -> Ops:
    return Ops(db, paidy, clock=TestClock())


@pytest.fixture
def order(ops: Ops, paidy: FakePaidy):
    """order(state, **spec) -> 注文番号 of an order linked to a new fake payment."""

    def make(state: str = "authorized", **spec) -> int:
        return link_payment(ops, ADMIN, paidy.add(state, **spec)).order_no

    return make
