"""One export case in a fresh process (run by bench/export.py through common.run_child):
``python -m bench.export_case '{"url": ..., "method": "core"|"pandas", "encoding": ...,
"order_from": N|null, "now": ISO, "out": PATH}'``. Prints one JSON line: seconds, rows,
bytes, and memory: the peak RSS (VmHWM, see bench.common.peak_rss_mb) before the export
(interpreter, imports, a warm connection) and at the end, plus the peaks of the two parts of RSS sampled every 10 ms from
/proc/self/status: ``RssAnon`` (the heap: Python objects, buffers, SQLite's page cache) and
``RssFile`` (file pages mapped in, e.g. SQLite's ``mmap_size`` window over the database
file: shared page cache the kernel can drop, not memory the export holds)."""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

from bench.common import peak_rss_mb, ru_maxrss_mb
from core.export import DEFAULT_COLUMNS, export_csv
from core.search import OrderQuery, build_select
from core.storage.db import get_database


class RssSampler:
    """Peak RssAnon / RssFile (MiB) of this process, sampled on a daemon thread."""

    def __init__(self, every_s: float = 0.01) -> None:
        self.peak = {"RssAnon": 0, "RssFile": 0}
        self.every_s = every_s
        self._stop = threading.Event()
        self.sample()
        threading.Thread(target=self._loop, daemon=True).start()

    def sample(self) -> None:
        try:
            status = Path("/proc/self/status").read_text()
        except OSError:
            return
        for key in self.peak:
            found = re.search(rf"^{key}:\s+(\d+) kB", status, re.M)
            if found:
                self.peak[key] = max(self.peak[key], int(found[1]))

    def _loop(self) -> None:
        while not self._stop.wait(self.every_s):
            self.sample()

    def stop(self) -> dict[str, float]:
        self._stop.set()
        self.sample()
        return {k: round(v / 1024, 1) for k, v in self.peak.items()}


def main(args: dict) -> dict:
    import pandas as pd

    db = get_database(args["url"])
    now = datetime.fromisoformat(args["now"])
    query = OrderQuery(order_from=args["order_from"]) if args.get("order_from") else OrderQuery()
    out = Path(args["out"])
    with db.engine.connect() as conn:  # connect and load the dialect before the baseline
        conn.exec_driver_sql("SELECT 1")
    base = peak_rss_mb()
    sampler = RssSampler()
    before = sampler.stop()
    sampler = RssSampler()
    started = time.perf_counter()
    if args["method"] == "core":
        with out.open("wb") as f:
            rows = export_csv(
                db, query, f, columns=DEFAULT_COLUMNS, encoding=args["encoding"], now=now
            ).rows
    else:  # the naive way: everything into a DataFrame, then to_csv
        stmt = build_select(db, query, now=now, columns=list(DEFAULT_COLUMNS))
        with db.engine.connect() as conn:
            frame = pd.read_sql(stmt, conn)
        frame.to_csv(out, index=False, encoding=args["encoding"], errors="replace")
        rows = len(frame)
    seconds = time.perf_counter() - started
    peaks = sampler.stop()
    size = out.stat().st_size
    out.unlink()
    return {
        "seconds": round(seconds, 3),
        "rows": rows,
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
