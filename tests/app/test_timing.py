"""Server-side rerun time of the two busiest screens with the demo's 200 orders (AppTest's
at.run() wall time, median of a few reruns). Written to artifacts/timings.txt."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from core.storage.demo import seed_demo
from tests.app.conftest import ROOT, assert_clean

RUNS = 5


def _median_run(at) -> float:
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - started)
        assert_clean(at)
    return statistics.median(times)


def test_rerun_time_of_orders_and_order_pages(app_env):
    seed_demo(app_env.db, sandbox_url=app_env.sandbox_url, orders=160, seed=2)  # 200 in all
    orders = app_env.app("pages/orders.py")
    assert "200件が該当しました。" in "\n".join(m.value for m in orders.markdown)
    orders_s = _median_run(orders)
    orders.selectbox(key="orders_page_size").set_value(200).run()
    orders200_s = _median_run(orders)
    no = app_env.order_in_state("partially_refunded")
    order = app_env.app("pages/order.py", query={"order": no})
    order_s = _median_run(order)
    report = (
        f"orders page (50 rows of 200): {orders_s * 1000:.0f} ms\n"
        f"orders page (200 rows of 200): {orders200_s * 1000:.0f} ms\n"
        f"order page (order {no}, partially refunded): {order_s * 1000:.0f} ms\n"
    )
    out = Path(ROOT, "artifacts")
    out.mkdir(exist_ok=True)
    (out / "timings.txt").write_text(report, encoding="utf-8")
    print("\n" + report)
    assert orders_s < 5 and order_s < 5
