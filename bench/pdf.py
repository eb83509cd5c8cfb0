"""PDF: the List PDF (``core.reports.list_pdf.export_pdf``, default columns, A4 landscape) of
the last N demo orders, and N delivery slips (``core.reports.slips.write_slips``), each run
in a fresh process (bench/pdf_case.py) so its memory figures are its own: peak RSS (VmHWM),
the heap (RssAnon) and mapped files (RssFile, the SQLite database through mmap) as for the
CSV export. The list streams rows onto pages; reportlab keeps each finished page's content
until the file is written, so memory grows with the PDF's size, never with row objects: the
goal bounds that growth from the smallest to the largest N."""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path

from bench.common import Context, goal, percentile, print_table, run_child, write_result
from bench.datasets import pg_dataset, sqlite_dataset

LIST_GOAL_S = 10.0  # 10,000 rows
GROWTH_MB = 50  # heap growth from the smallest to the largest list


def run(ctx: Context) -> dict:
    sizes = ctx.sizes
    datasets = [sqlite_dataset(ctx, sizes.orders)]
    if ctx.pg_url:
        datasets.append(pg_dataset(ctx, sizes.orders))
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="bench-pdf-") as tmp:
        for ds in datasets:
            for n in sizes.pdf_rows:
                ctx.log(f"pdf: {ds.dialect} list of {n:,} rows")
                rows.append(case(ctx, ds, "list", n, Path(tmp)))
            ctx.log(f"pdf: {ds.dialect} {sizes.pdf_slips:,} slips")
            rows.append(case(ctx, ds, "slips", sizes.pdf_slips, Path(tmp)))
    goals = judge(ctx, rows)
    headers, out = table_rows(rows)
    print_table(ctx, "pdf (List PDF, default columns; 帳票)", headers, out)
    payload = {
        "config": {
            "rows": list(sizes.pdf_rows),
            "slips": sizes.pdf_slips,
            "runs": sizes.pdf_runs,
            "orders": sizes.orders,
        },
        "results": rows,
        "goals": goals,
    }
    write_result(ctx, "pdf", payload)
    return payload


def case(ctx: Context, ds, kind: str, n: int, tmp: Path) -> dict:
    runs = ctx.sizes.pdf_runs
    args = {
        "url": ds.url,
        "kind": kind,
        "rows": n,
        "orders": ds.orders,
        "now": ds.now.isoformat(),
        "out": str(tmp / "out.pdf"),
    }
    if ctx.sizes.export_in_process:
        from bench.pdf_case import main as one_case

        done = [one_case(args) for _ in range(runs)]
    else:
        done = [run_child("bench.pdf_case", args) for _ in range(runs)]
    if any(d["rows"] != n for d in done):
        raise RuntimeError(f"pdf {kind} of {n} wrote {[d['rows'] for d in done]}")
    seconds = [d["seconds"] for d in done]
    heap = max(d["peak_anon_mb"] for d in done)
    heap_base = min(d["base_anon_mb"] for d in done)
    return {
        "dialect": ds.dialect,
        "kind": kind,
        "rows": n,
        "pages": done[0]["pages"],
        "median_s": round(statistics.median(seconds), 3),
        "p95_s": round(percentile(seconds, 95), 3),
        "runs": runs,
        "cpu_s": round(statistics.median(d["cpu_s"] for d in done), 3),
        "rows_per_s": round(n / statistics.median(seconds)),
        "mb": round(done[0]["bytes"] / 2**20, 2),
        "peak_rss_mb": max(d["peak_rss_mb"] for d in done),
        "base_rss_mb": min(d["base_rss_mb"] for d in done),
        "heap_peak_mb": heap,
        "heap_grew_mb": round(heap - heap_base, 1),
        "file_peak_mb": max(d["peak_file_mb"] for d in done),
    }


def judge(ctx: Context, rows: list[dict]) -> list[dict]:
    lists = [r for r in rows if r["kind"] == "list"]
    small, large = min(ctx.sizes.pdf_rows), max(ctx.sizes.pdf_rows)
    goals = []
    at_10k = [r for r in lists if r["rows"] == 10_000]
    if at_10k:
        worst = max(at_10k, key=lambda r: r["median_s"])
        goals.append(
            goal(
                f"List PDF of 10,000 rows in < {LIST_GOAL_S:.0f} s (median, every database)",
                worst["median_s"] < LIST_GOAL_S,
                f"slowest median {worst['median_s']:.2f} s, CPU {worst['cpu_s']:.2f} s "
                f"({worst['dialect']}, {worst['pages']} pages, {worst['mb']} MB)",
            )
        )
    else:
        goals.append(goal("List PDF of 10,000 rows", None, "not run at this size"))
    growth = []
    for r in lists:
        if r["rows"] == large:
            twin = next(x for x in lists if x["rows"] == small and x["dialect"] == r["dialect"])
            growth.append((r["heap_peak_mb"] - twin["heap_peak_mb"], r))
    worst_growth, where = max(growth, key=lambda g: g[0])
    judged = large >= 10_000
    goals.append(
        goal(
            f"memory bounded: heap (RssAnon) peak grows < {GROWTH_MB} MB from {small:,} to "
            f"{large:,} rows",
            (worst_growth < GROWTH_MB) if judged else None,
            f"largest growth {worst_growth:+.1f} MB ({where['dialect']}; the PDF is "
            f"{where['mb']} MB)",
        )
    )
    return goals


def table_rows(rows: list[dict]) -> tuple[list[str], list[list]]:
    headers = ["db", "what", "rows", "pages", "p50 s", "p95 s", "CPU s", "rows/s", "PDF MB", "peak RSS MB", "heap MB", "heap grew MB", "mapped file MB"]  # fmt: skip
    return headers, [
        [
            r["dialect"],
            "List PDF" if r["kind"] == "list" else "slips",
            r["rows"],
            r["pages"],
            r["median_s"],
            r["p95_s"],
            r.get("cpu_s", ""),
            r["rows_per_s"],
            r["mb"],
            r["peak_rss_mb"],
            r["heap_peak_mb"],
            r["heap_grew_mb"],
            r["file_peak_mb"],
        ]
        for r in rows
    ]
