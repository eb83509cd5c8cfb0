"""One PDF case in a fresh process (run by bench/pdf.py through common.run_child):
``python -m bench.pdf_case '{"url": ..., "kind": "list"|"slips", "rows": N, "orders": M,
"now": ISO, "out": PATH}'``. The list is the last N orders by number (``order_from``, default
columns); slips are N delivery slips of the last N orders. Prints one JSON line: seconds,
CPU seconds of this process (a figure a busy machine inflates less than the wall
time), rows, pages, bytes and memory as bench/export_case.py measures it (VmHWM before and after,
RssAnon / RssFile peaks sampled every 10 ms)."""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime
from pathlib import Path

from bench.common import peak_rss_mb, ru_maxrss_mb
from bench.export_case import RssSampler
from core.reports.list_pdf import export_pdf
from core.reports.slips import Shop, write_slips
from core.search import OrderQuery
from core.storage.db import get_database

SHOP = Shop("ベンチ商店", "〒100-0001 東京都千代田区千代田1-1", "03-0000-0000")


def main(args: dict) -> dict:
    db = get_database(args["url"])
    now = datetime.fromisoformat(args["now"])
    n, total = args["rows"], args["orders"]
    out = Path(args["out"])
    with db.engine.connect() as conn:  # connect and load the dialect before the baseline
        conn.exec_driver_sql("SELECT 1")
    base = peak_rss_mb()
    sampler = RssSampler()
    before = sampler.stop()
    sampler = RssSampler()
    started, cpu = time.perf_counter(), time.process_time()
    with out.open("wb") as f:
        if args["kind"] == "list":
            query = OrderQuery(order_from=total - n + 1) if n < total else OrderQuery()
            report = export_pdf(db, query, f, now=now)
            rows, pages = report.rows, report.pages
        else:
            numbers = list(range(total, total - n, -1))
            report = write_slips(db, numbers, f, shop=SHOP, now=now)
            rows, pages = len(report.done), report.pages
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    peaks = sampler.stop()
    size = out.stat().st_size
    out.unlink()
    return {
        "seconds": round(seconds, 3),
        "cpu_s": round(cpu, 3),
        "rows": rows,
        "pages": pages,
        "bytes": size,
        "base_rss_mb": base,
        "peak_rss_mb": peak_rss_mb(),
        "ru_maxrss_mb": ru_maxrss_mb(),
        "base_anon_mb": before["RssAnon"],
        "peak_anon_mb": peaks["RssAnon"],
        "base_file_mb": before["RssFile"],
        "peak_file_mb": peaks["RssFile"],
    }


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))))
