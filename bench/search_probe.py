"""Seed N demo orders into a SQLite (or any) database with a running sandbox, then time the
typical searches of the orders screen. Not a test: run it by hand.

    python -m bench.search_probe --orders 1000000 --db /tmp/probe.db
    python -m bench.search_probe --db /tmp/probe.db --reuse          # searches only
    python -m bench.search_probe --url postgresql+psycopg://postgres@127.0.0.1/probe

Prints seconds for seeding and, per search, the median milliseconds of the count, of the
first page (search_orders = count + page) over several runs, and the number of matches.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from core.search import OrderQuery, count_orders, iter_orders, search_orders
from core.storage.db import get_database, upgrade
from core.storage.demo import seed_demo
from core.storage.models import Order
from core.timeutil import jst_today, utcnow


def _ms(fn: Callable[[], object], runs: int) -> tuple[float, object]:
    fn()  # warm the cache once
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), result


def probes(db, now) -> dict[str, OrderQuery]:
    with db.engine.connect() as conn:
        top = conn.execute(select(func.max(Order.order_no))).scalar() or 1
    today = jst_today(now)
    return {
        "no filter (default sort)": OrderQuery(),
        "order number": OrderQuery(order_no=top // 2),
        "name fragment 3+ chars (ヤマダ)": OrderQuery(name="ヤマダ"),
        "name fragment 4 chars (山田花子)": OrderQuery(name="山田花子"),
        "name fragment 2 chars (山田)": OrderQuery(name="山田"),
        "name fragment 1 char (山)": OrderQuery(name="山"),
        "kana fragment 2 chars (やま)": OrderQuery(name="やま"),
        "kana fragment 1 char (ヤ)": OrderQuery(name="ヤ"),
        "email fragment (yamada12)": OrderQuery(email="yamada12"),
        "date range 7 days + status shipped": OrderQuery(
            ordered_from=today - timedelta(days=20),
            ordered_to=today - timedelta(days=14),
            status=["shipped"],
        ),
        "expiring within 7 days": OrderQuery(expires_within_days=7),
        "paidy state open": OrderQuery(paidy_state=["open"]),
        "discrepancy only": OrderQuery(discrepancy_only=True),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--db", help="SQLite file (default: a temporary file)")
    parser.add_argument("--url", help="any SQLAlchemy URL instead of --db")
    parser.add_argument("--reuse", action="store_true", help="skip seeding")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    url = args.url or f"sqlite:///{args.db or Path(tempfile.mkdtemp()) / 'probe.db'}"
    db = get_database(url)
    upgrade(db)
    now = utcnow()
    if not args.reuse:
        from core.paidy.sandbox import start_sandbox

        with start_sandbox() as sandbox:
            started = time.perf_counter()
            report = seed_demo(db, sandbox_url=sandbox.url, orders=args.orders, seed=1, now=now)
            seconds = time.perf_counter() - started
        print(f"seed_demo {report.orders:,} orders / {report.payments:,} payments: {seconds:.1f} s")
        print(f"  states: {report.states}")
        if db.dialect == "sqlite":
            with db.engine.connect() as conn:
                conn.exec_driver_sql("ANALYZE")
        else:
            with db.engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
    print(f"{'search':40} {'count ms':>9} {'page ms':>9} {'matches':>9}")
    for name, query in probes(db, now).items():
        count_ms, total = _ms(lambda q=query: count_orders(db, q, now=now), args.runs)
        page_ms, _ = _ms(lambda q=query: search_orders(db, q, now=now), args.runs)
        print(f"{name:40} {count_ms:9.1f} {page_ms:9.1f} {total:9,}")
    started = time.perf_counter()
    rows = sum(1 for _ in iter_orders(db, OrderQuery(), now=now, columns=["order_no", "total"]))
    print(f"iter_orders over all {rows:,} rows: {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
