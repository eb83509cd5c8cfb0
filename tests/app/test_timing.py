"""What a rerun of the two busiest screens costs, counted instead of timed: SQL statements
(a SQLAlchemy event counter on the app's engine) and Paidy requests (the sandbox's /stats
counters), with the demo's 200 orders. A count fails on a regression (an N+1 query, a
screen that calls Paidy on every rerun) and never on a slow machine; how fast a rerun is
stays a bench/ target (``python -m bench pages``). The wall times are still written to
artifacts/timings.txt for a person to read; nothing asserts on them."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests
from sqlalchemy import event

from core.storage.demo import seed_demo
from tests.app.conftest import ROOT, assert_clean

RUNS = 3
SCRIPT_THREAD = "ScriptRunner"  # the thread AppTest runs a page's script in
#: statements one rerun may run, a little above today's (6 and 23, see the report); a page
#: of 200 rows must cost the same as a page of 50 (no statement per row)
MAX_ORDERS_STATEMENTS = 8
MAX_ORDER_STATEMENTS = 30


@dataclass
class Cost:
    statements: list[int] = field(default_factory=list)
    paidy_calls: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    def line(self, name: str) -> str:
        return (
            f"{name}: {max(self.statements)} SQL statements, {max(self.paidy_calls)} Paidy "
            f"calls per rerun ({statistics.median(self.seconds) * 1000:.0f} ms, not asserted)"
        )


@contextmanager
def _statements(engine) -> Iterator[list[str]]:
    """The statements the screen's script runs (the batch workers share the engine: their
    polling is theirs, not the screen's)."""
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:
        if threading.current_thread().name.startswith(SCRIPT_THREAD):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _paidy_calls(sandbox_url: str) -> int:
    """Payment API requests the sandbox has answered so far (control endpoints not counted)."""
    return requests.get(f"{sandbox_url}/_sandbox/stats", timeout=10).json()["requests"]


def _rerun_cost(at, env) -> Cost:
    cost = Cost()
    for _ in range(RUNS):
        calls_before = _paidy_calls(env.sandbox_url)
        with _statements(env.db.engine) as seen:
            started = time.perf_counter()
            at.run()
            cost.seconds.append(time.perf_counter() - started)
        assert_clean(at)
        cost.statements.append(len(seen))
        cost.paidy_calls.append(_paidy_calls(env.sandbox_url) - calls_before)
    return cost


def test_rerun_cost_of_orders_and_order_pages(app_env):
    seed_demo(app_env.db, sandbox_url=app_env.sandbox_url, orders=160, seed=2)  # 200 in all
    orders = app_env.app("pages/orders.py")
    assert "200件が該当しました。" in "\n".join(m.value for m in orders.markdown)
    orders50 = _rerun_cost(orders, app_env)
    orders.selectbox(key="orders_page_size").set_value(200).run()
    orders200 = _rerun_cost(orders, app_env)
    no = app_env.order_in_state("partially_refunded")
    order = app_env.app("pages/order.py", query={"order": no})
    order_cost = _rerun_cost(order, app_env)
    report = "\n".join(
        [
            orders50.line("orders page (50 rows of 200)"),
            orders200.line("orders page (200 rows of 200)"),
            order_cost.line(f"order page (order {no}, partially refunded)"),
        ]
    )
    out = Path(ROOT, "artifacts")
    out.mkdir(exist_ok=True)
    (out / "timings.txt").write_text(report + "\n", encoding="utf-8")
    print("\n" + report)
    # a rerun only reads: no Paidy request (a snapshot is re-read on an action, not a view)
    assert orders50.paidy_calls == orders200.paidy_calls == order_cost.paidy_calls == [0] * RUNS
    # no statement per row: four times the rows, the same statements
    assert max(orders200.statements) == max(orders50.statements)
    assert max(orders200.statements) <= MAX_ORDERS_STATEMENTS, report
    assert max(order_cost.statements) <= MAX_ORDER_STATEMENTS, report
