"""Orders page: server-side rerun time of the orders screen (受注管理) and one order's screen
(受注編集) with Streamlit's AppTest, on the demo data (1,000,000 orders at full size).

The app runs exactly as in tests/app: streamlit_app.py with DATABASE_URL pointing at the
dataset, PAIDY_API_BASE at a sandbox holding the dataset's payments, AUTH_MODE=none, pages
reached through st.navigation. Each case: the page is opened (not timed), one warm-up
rerun, then ``page_runs`` timed ``at.run()`` reruns (what a widget change costs the server,
without the browser).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

from bench.common import ROOT, Context, goal, print_table, repeat, summary_ms, write_result
from bench.datasets import Dataset, SandboxProcess, pg_dataset, sqlite_dataset
from core.search import OrderQuery, search_orders
from core.storage.db import dispose_database, get_database

APP = str(ROOT / "streamlit_app.py")
GOAL_MS = 300
GOAL_P95_MS = 400
ENV = ("DATABASE_URL", "PAIDY_API_BASE", "AUTH_MODE", "PAIDY_SECRET_KEY")
QUIET = (  # "missing ScriptRunContext" / "No runtime found": expected outside a server
    "streamlit.runtime.scriptrunner_utils.script_run_context",
    "streamlit.runtime.caching.cache_data_api",
    "streamlit.runtime.caching.cache_resource_api",
)


@contextmanager
def app_environment(url: str, sandbox_url: str) -> Iterator[None]:
    """Settings pointed at the dataset and sandbox; Streamlit caches cleared before and after
    (clearing cache_resource stops the runtime's batch workers)."""
    import streamlit as st
    from streamlit.runtime.pages_manager import PagesManager

    from core.settings import reload_settings

    saved = {k: os.environ.get(k) for k in ENV}
    original_init = PagesManager.__init__

    def init(self, *args, **kwargs):  # as tests/app/conftest.py: pages run via st.navigation
        original_init(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    os.environ.update(DATABASE_URL=url, PAIDY_API_BASE=sandbox_url, AUTH_MODE="none")
    os.environ.pop("PAIDY_SECRET_KEY", None)
    PagesManager.__init__ = init
    for name in QUIET:
        logging.getLogger(name).disabled = True
    reload_settings()
    st.cache_resource.clear()
    st.cache_data.clear()
    try:
        yield
    finally:
        st.cache_resource.clear()
        st.cache_data.clear()
        PagesManager.__init__ = original_init
        for name in QUIET:
            logging.getLogger(name).disabled = False
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        reload_settings()
        dispose_database(url)


def open_app(page: str, *, query: dict | None = None, state: dict | None = None):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=600)
    for key, value in (state or {}).items():
        at.session_state[key] = value
    at.run()
    for key, value in (query or {}).items():
        at.query_params[key] = str(value)
    at.switch_page(page).run()
    check(at)
    return at


def check(at) -> None:
    if at.exception:
        raise RuntimeError(f"the page raised: {[e.value for e in at.exception]}")


def found_text(at) -> str:
    """The orders screen's result line (e.g. 1,000,000件が該当しました。), or the order page's
    title: proof that the screen showed what was asked."""
    for md in at.markdown:
        if "件が該当" in str(md.value):
            return str(md.value).split("**")[1] if "**" in str(md.value) else str(md.value)
    return str(at.title[0].value) if len(at.title) else ""


def time_reruns(at, runs: int) -> list[float]:
    def rerun():
        at.run()
        check(at)

    times, _ = repeat(rerun, runs, warmup=1)
    return times


def cases(ds: Dataset) -> list[tuple[str, str, dict]]:
    """(name, page, options) of the screens timed."""
    db = get_database(ds.url)
    found = search_orders(
        db, OrderQuery(paidy_state=["partially_refunded"]), now=ds.now, page_size=1
    )
    order_no = int(found.frame["order_no"].iloc[0])
    return [
        ("orders: no filter, 50 rows", "pages/orders.py", {}),
        ("orders: no filter, 200 rows", "pages/orders.py", {"state": {"orders_page_size": 200}}),
        (
            "orders: name ヤマダ, 50 rows",
            "pages/orders.py",
            {"state": {"orders_query_values": {"name": "ヤマダ"}}},
        ),
        (
            "orders: expiring within 7 days",
            "pages/orders.py",
            {"state": {"orders_query_values": {"expires_within_days": "7"}}},
        ),
        (
            f"order {order_no} (partially refunded)",
            "pages/order.py",
            {"query": {"order": order_no}},
        ),
    ]


def run(ctx: Context) -> dict:
    sizes = ctx.sizes
    lite = sqlite_dataset(ctx, sizes.orders)
    datasets = [lite] + ([pg_dataset(ctx, sizes.orders)] if ctx.pg_url else [])
    rows: list[dict] = []
    with SandboxProcess(db=str(lite.sandbox_db)) as sandbox:
        for ds in datasets:
            ctx.log(f"pages: {ds.dialect} at {ds.orders:,} orders")
            for name, page, options in cases(ds):
                with app_environment(ds.url, sandbox.url):
                    at = open_app(page, **options)
                    times = time_reruns(at, sizes.page_runs)
                    shown = found_text(at)
                rows.append(
                    {
                        "screen": name,
                        "dialect": ds.dialect,
                        "shown": shown,
                        "rerun": summary_ms(times),
                    }
                )
    judged = sizes.orders >= 1_000_000
    goals = []
    for dialect in ctx.dialects:
        mine = [r for r in rows if r["dialect"] == dialect]
        worst = max(mine, key=lambda r: r["rerun"]["p95_ms"])
        slowest = max(mine, key=lambda r: r["rerun"]["median_ms"])
        goals.append(
            goal(
                f"rerun < {GOAL_MS} ms (median) and < {GOAL_P95_MS} ms (p95) on {dialect} at "
                "1,000,000 orders",
                (slowest["rerun"]["median_ms"] < GOAL_MS and worst["rerun"]["p95_ms"] < GOAL_P95_MS)
                if judged
                else None,
                f"slowest median {slowest['rerun']['median_ms']:.0f} ms '{slowest['screen']}', "
                f"worst p95 {worst['rerun']['p95_ms']:.0f} ms '{worst['screen']}'",
            )
        )
    headers, out = table_rows(rows)
    print_table(ctx, f"pages (AppTest rerun, ms) at {sizes.orders:,} orders", headers, out)
    payload = {
        "config": {"orders": sizes.orders, "runs": sizes.page_runs},
        "results": rows,
        "goals": goals,
    }
    write_result(ctx, "pages", payload)
    return payload


def table_rows(rows: list[dict]) -> tuple[list[str], list[list]]:
    headers = ["screen", "db", "shows", "p50", "p95", "min"]
    return headers, [
        [
            r["screen"],
            r["dialect"],
            r["shown"],
            r["rerun"]["median_ms"],
            r["rerun"]["p95_ms"],
            r["rerun"]["min_ms"],
        ]
        for r in rows
    ]
