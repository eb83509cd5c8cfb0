"""Export: CSV of N matching orders (the default columns: the guide's order list) with
``core.export.export_csv`` in both encodings, beside pandas ``read_sql`` + ``to_csv`` of
the same SELECT. Every run is a fresh process (bench/export_case.py), so its peak RSS
(VmHWM: the child's own high-water mark; its ru_maxrss would include this process's RSS at
fork, see common.peak_rss_mb) belongs to that case alone; ``base`` is the child's peak before exporting
(interpreter, imports, one connection), ``grew`` = peak - base. RSS is also split into its
sampled heap part (RssAnon) and mapped file part (RssFile: on SQLite the database file read
through mmap, page cache the kernel may drop), see bench/export_case.py.

The N rows are the last N orders by number (``order_from``), or all of them.
"""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path

from bench.common import Context, goal, percentile, print_table, run_child, write_result
from bench.datasets import pg_dataset, sqlite_dataset

ENCODINGS = ("utf-8-sig", "cp932")
GOAL_S = 1.0
FLAT_MB = 25  # "flat": the peak grows by less than this from the smallest to the largest N


def run(ctx: Context) -> dict:
    sizes = ctx.sizes
    datasets = [sqlite_dataset(ctx, sizes.orders)]
    if ctx.pg_url:
        datasets.append(pg_dataset(ctx, sizes.orders))
    methods = ("core", "pandas") if sizes.export_pandas else ("core",)
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
        for ds in datasets:
            for n in sizes.export_rows:
                for method in methods:
                    for encoding in ENCODINGS:
                        ctx.log(f"export: {ds.dialect} {n:,} rows {method} {encoding}")
                        rows.append(case(ctx, ds, n, method, encoding, Path(tmp)))
    goals = judge(ctx, rows)
    headers, out = table_rows(rows)
    print_table(ctx, "export (CSV, default columns)", headers, out)
    payload = {
        "config": {"rows": list(sizes.export_rows), "runs": sizes.export_runs},
        "results": rows,
        "goals": goals,
    }
    write_result(ctx, "export", payload)
    return payload


def case(ctx: Context, ds, n: int, method: str, encoding: str, tmp: Path) -> dict:
    runs = ctx.sizes.export_runs
    args = {
        "url": ds.url,
        "method": method,
        "encoding": encoding,
        "order_from": None if n >= ds.orders else ds.orders - n + 1,
        "now": ds.now.isoformat(),
        "out": str(tmp / "out.csv"),
    }
    if ctx.sizes.export_in_process:
        from bench.export_case import main as one_case

        done = [one_case(args) for _ in range(runs)]
    else:
        done = [run_child("bench.export_case", args) for _ in range(runs)]
    seconds = [d["seconds"] for d in done]
    if any(d["rows"] != n for d in done):
        raise RuntimeError(f"export of {n} rows wrote {[d['rows'] for d in done]}")
    peak = max(d["peak_rss_mb"] for d in done)
    base = min(d["base_rss_mb"] for d in done)
    heap = max(d["peak_anon_mb"] for d in done)
    heap_base = min(d["base_anon_mb"] for d in done)
    return {
        "dialect": ds.dialect,
        "rows": n,
        "method": method,
        "encoding": encoding,
        "median_s": round(statistics.median(seconds), 3),
        "p95_s": round(percentile(seconds, 95), 3),
        "runs": runs,
        "rows_per_s": round(n / statistics.median(seconds)),
        "mb": round(done[0]["bytes"] / 2**20, 1),
        "peak_rss_mb": peak,
        "base_rss_mb": base,
        "grew_mb": round(peak - base, 1),
        "heap_peak_mb": heap,
        "heap_grew_mb": round(heap - heap_base, 1),
        "file_peak_mb": max(d["peak_file_mb"] for d in done),
    }


def judge(ctx: Context, rows: list[dict]) -> list[dict]:
    sizes = ctx.sizes
    goals = []
    core = [r for r in rows if r["method"] == "core"]
    at_100k = [r for r in core if r["rows"] == 100_000]
    if at_100k:
        worst = max(at_100k, key=lambda r: r["median_s"])
        goals.append(
            goal(
                f"100,000 rows in < {GOAL_S:.0f} s (median, both encodings, every database)",
                worst["median_s"] < GOAL_S,
                f"slowest median {worst['median_s']:.2f} s, p95 {worst['p95_s']:.2f} s "
                f"({worst['dialect']}, {worst['encoding']}); slowest p95 "
                f"{max(r['p95_s'] for r in at_100k):.2f} s",
            )
        )
    else:
        goals.append(goal(f"100,000 rows in < {GOAL_S:.0f} s", None, "not run at this size"))
    small, large = min(sizes.export_rows), max(sizes.export_rows)
    for key, what, why in (
        ("heap_peak_mb", "heap (RssAnon) peak", ""),
        (
            "peak_rss_mb",
            "peak RSS (VmHWM)",
            "; on SQLite RSS also counts the database file pages mapped in (PRAGMA mmap_size, "
            "up to 256 MB): see file_peak_mb",
        ),
    ):
        growth = []
        for r in core:
            if r["rows"] == large:
                twin = next(
                    x
                    for x in core
                    if x["rows"] == small
                    and (x["dialect"], x["encoding"]) == (r["dialect"], r["encoding"])
                )
                growth.append((r[key] - twin[key], r))
        worst, where = max(growth, key=lambda g: g[0])
        goals.append(
            goal(
                f"memory flat: {what} grows < {FLAT_MB} MB from {small:,} to {large:,} rows",
                worst < FLAT_MB,
                f"largest growth {worst:+.1f} MB ({where['dialect']}, {where['encoding']}){why}",
            )
        )
    return goals


def table_rows(rows: list[dict]) -> tuple[list[str], list[list]]:
    headers = ["db", "rows", "method", "encoding", "p50 s", "p95 s", "rows/s", "CSV MB", "peak RSS MB", "heap MB", "mapped file MB"]  # fmt: skip
    return headers, [
        [
            r["dialect"],
            r["rows"],
            r["method"],
            r["encoding"],
            r["median_s"],
            r["p95_s"],
            r["rows_per_s"],
            r["mb"],
            r["peak_rss_mb"],
            r["heap_peak_mb"],
            r["file_peak_mb"],
        ]
        for r in rows
    ]
