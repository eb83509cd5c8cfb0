"""Search: latency of the orders screen's typical searches (count + first page of 50, as
``search_orders`` does) on the demo data, on SQLite and PostgreSQL, beside the naive way
(the orders and payments read into one pandas DataFrame, then filtered, counted, sorted and
cut to 50 rows in pandas). The query set is bench/search_probe.py's.

Naive figures: ``naive_load_s`` is reading the tables into pandas once (what an app that
caches the frame pays at start and after every change); ``naive`` per search is the
filter on the already loaded frame (its best case). ``x_naive`` = naive median / SQL median.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime, timedelta

import pandas as pd

from bench.common import (
    Context,
    Stopwatch,
    goal,
    print_table,
    repeat,
    summary_ms,
    write_result,
)
from bench.datasets import Dataset, pg_dataset, sqlite_dataset
from bench.search_probe import probes
from core.search import OrderQuery, count_orders, search_orders
from core.storage.db import Database, get_database
from core.timeutil import jst_day_range_utc

GOAL_MS = 50
NAIVE_SQL = """
SELECT o.id, o.order_no, o.ordered_at, o.updated_at, o.customer_name, o.customer_kana, o.email,
       o.phone, o.birth_date, o.gender, o.payment_method, o.total, o.status, o.payment_status,
       o.shipped_at, p.payment_id, p.status AS paidy_status, p.amount AS paidy_amount,
       p.captured_amount, p.refunded_amount, p.expires_at, p.test
FROM orders o LEFT JOIN paidy_payments p ON p.order_id = o.id
"""


# ------------------------------------------------------------------------- the naive way
def naive_load(db: Database) -> pd.DataFrame:
    with db.engine.connect() as conn:
        df = pd.read_sql(NAIVE_SQL, conn)
    for col in ("ordered_at", "updated_at", "shipped_at", "expires_at"):
        df[col] = pd.to_datetime(df[col], utc=True, format="ISO8601")
    return df


def _strip(s: pd.Series) -> pd.Series:
    return s.str.replace(" ", "", regex=False).str.replace("\u3000", "", regex=False)


def _kata(text: str) -> str:
    return "".join(chr(ord(c) + 0x60) if "\u3041" <= c <= "\u3096" else c for c in text)


def naive_mask(df: pd.DataFrame, q: OrderQuery, now: datetime) -> pd.Series:
    """The conditions the probe set uses, in pandas (same rules as core.search)."""
    mask = pd.Series(True, index=df.index)
    if q.order_no is not None:
        mask &= df["order_no"] == q.order_no
    if q.name:
        normal = unicodedata.normalize("NFKC", q.name)
        terms = {t.replace(" ", "").replace("\u3000", "") for t in (q.name, normal, _kata(normal))}
        hit = pd.Series(False, index=df.index)
        for col in ("customer_name", "customer_kana"):
            key = _strip(df[col])
            for term in terms:
                hit |= key.str.contains(term, case=False, regex=False)
        mask &= hit
    if q.email:
        mask &= df["email"].str.contains(q.email, case=False, regex=False)
    lo, hi = jst_day_range_utc(q.ordered_from, q.ordered_to)
    if lo is not None:
        mask &= df["ordered_at"] >= lo
    if hi is not None:
        mask &= df["ordered_at"] < hi
    if q.status:
        mask &= df["status"].isin([s.value for s in q.status])
    authorized = (df["paidy_status"] == "authorized") & (df["captured_amount"] <= 0)
    if q.paidy_state:
        assert [s.value for s in q.paidy_state] == ["open"], "naive: only 'open' is mapped"
        mask &= authorized & (df["expires_at"].isna() | (df["expires_at"] > now))
    if q.expires_within_days is not None:
        soon = now + timedelta(days=q.expires_within_days)
        mask &= authorized & (df["expires_at"] > now) & (df["expires_at"] < soon)
    if q.discrepancy_only:
        cap, ref = df["captured_amount"], df["refunded_amount"]
        mask &= ((cap > 0) & (df["total"] != cap - ref)) | (
            (cap <= 0) & (df["paidy_status"] == "authorized") & (df["total"] != df["paidy_amount"])
        )
    return mask.fillna(False)


def naive_search(df: pd.DataFrame, q: OrderQuery, now: datetime) -> tuple[int, pd.DataFrame]:
    found = df[naive_mask(df, q, now)]
    page = found.sort_values(["ordered_at", "order_no"], ascending=False).head(50)
    return len(found), page


# ---------------------------------------------------------------------------- the run
def _time_sql(db: Database, q: OrderQuery, now: datetime, runs: int) -> dict:
    count_t, total = repeat(lambda: count_orders(db, q, now=now), runs)
    page_t, page = repeat(lambda: search_orders(db, q, now=now), runs)
    return {
        "matches": total,
        "page_rows": len(page.frame),
        "count": summary_ms(count_t),
        "search": summary_ms(page_t),
    }


def run(ctx: Context) -> dict:
    sizes = ctx.sizes
    datasets: list[Dataset] = [sqlite_dataset(ctx, sizes.orders)]
    if ctx.pg_url:
        datasets.append(pg_dataset(ctx, sizes.orders))
    rows: list[dict] = []
    naive: dict[str, dict] = {}
    naive_info: dict = {}
    for ds in datasets:
        db = get_database(ds.url)
        queries = probes(db, ds.now)
        ctx.log(f"search: {ds.dialect} at {ds.orders:,} orders, {len(queries)} searches")
        for name, q in queries.items():
            fig = _time_sql(db, q, ds.now, sizes.search_runs)
            rows.append({"name": name, "dialect": ds.dialect, **fig})
        if ds.dialect == "sqlite":
            with Stopwatch() as load:
                frame = naive_load(db)
            naive_info = {
                "naive_load_s": round(load.seconds, 2),
                "naive_frame_mb": round(frame.memory_usage(deep=True).sum() / 2**20, 1),
            }
            naive_runs = max(3, sizes.search_runs // 5)
            for name, q in queries.items():
                times, (count, _) = repeat(
                    lambda f=frame, q=q, now=ds.now: naive_search(f, q, now), naive_runs
                )
                naive[name] = {"matches": count, "search": summary_ms(times)}
            del frame
    for row in rows:
        n = naive.get(row["name"])
        if n:
            row["naive"] = n["search"]
            row["naive_matches"] = n["matches"]
            row["counts_match"] = n["matches"] == row["matches"]
            sql_ms = max(row["search"]["median_ms"], 0.01)
            row["x_naive"] = round(n["search"]["median_ms"] / sql_ms, 1)
    sqlite_rows = [r for r in rows if r["dialect"] == "sqlite"]
    goals = []
    for dialect in ctx.dialects:
        mine = [r for r in rows if r["dialect"] == dialect]
        worst = max(mine, key=lambda r: r["search"]["p95_ms"])
        goals.append(
            goal(
                f"p95 < {GOAL_MS} ms for every search on {dialect} at 1,000,000 orders",
                (worst["search"]["p95_ms"] < GOAL_MS) if sizes.orders >= 1_000_000 else None,
                f"worst p95 {worst['search']['p95_ms']:.1f} ms, '{worst['name']}', "
                f"at {sizes.orders:,} orders",
            )
        )
    if pg_rows := [r for r in rows if r["dialect"] == "postgresql"]:
        same = all(p["matches"] == s["matches"] for p, s in zip(pg_rows, sqlite_rows, strict=True))
        goals.append(goal("same counts on SQLite and PostgreSQL", same))
    if naive:
        goals.append(
            goal(
                "the naive pandas filter finds the same counts",
                all(r.get("counts_match", True) for r in rows),
            )
        )
    table(ctx, rows, naive_info)
    payload = {
        "config": {"orders": sizes.orders, "runs": sizes.search_runs, "page_size": 50},
        "datasets": [
            {"dialect": d.dialect, "orders": d.orders, "now": d.now, "build_s": d.build_seconds}
            for d in datasets
        ],
        "naive": naive_info,
        "results": rows,
        "goals": goals,
    }
    write_result(ctx, "search", payload)
    return payload


def table_rows(rows: list[dict]) -> tuple[list[str], list[list]]:
    headers = ["search", "db", "matches", "count p50", "p50", "p95", "naive p50", "x naive"]
    out = [
        [
            r["name"],
            r["dialect"],
            r["matches"],
            r["count"]["median_ms"],
            r["search"]["median_ms"],
            r["search"]["p95_ms"],
            r.get("naive", {}).get("median_ms"),
            r.get("x_naive"),
        ]
        for r in rows
    ]
    return headers, out


def table(ctx: Context, rows: list[dict], naive_info: dict) -> None:
    headers, out = table_rows(rows)
    print_table(ctx, "search (ms; count + first page of 50)", headers, out)
    if naive_info:
        ctx.log(
            f"naive: reading orders+payments into pandas took {naive_info['naive_load_s']} s "
            f"({naive_info['naive_frame_mb']} MB frame); 'naive' above filters that frame"
        )
