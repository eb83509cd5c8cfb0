"""Sync: 状態確認 of N open payments (``sync(ops, actor, open_only=True)``: one refresh job,
one GET per payment) against the sandbox with a fixed latency, at the given concurrencies;
wall time (selecting the payments, creating the job and running it) against the ideal
``N x latency / concurrency``. Same fresh database + sandbox process per run as batch.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench.batch import ACTOR, GOAL_PCT, ops_for, quiet_client_log
from bench.common import Context, Stopwatch, goal, print_table, write_result
from bench.datasets import SandboxProcess, scratch_database, seed_open_payments
from core.operations.batch import progress
from core.operations.sync import sync


def sync_run(ctx: Context, dialect: str, concurrency: int) -> dict:
    sizes = ctx.sizes
    n, latency = sizes.sync_payments, sizes.latency_ms
    with (
        tempfile.TemporaryDirectory(prefix="bench-sync-") as tmp,
        SandboxProcess(latency_ms=latency) as sandbox,
        scratch_database(ctx, dialect, f"sync_c{concurrency}", Path(tmp)) as db,
        quiet_client_log(),
    ):
        with Stopwatch() as seeded:
            seed_open_payments(db, sandbox.url, n)
        ops = ops_for(ctx, db, sandbox.url, concurrency)
        try:
            with Stopwatch() as wall:
                job = sync(ops, ACTOR, open_only=True)
            counts = progress(ops, job).counts
            stats = sandbox.stats()
        finally:
            ops.client.close_sessions()
    ideal = n * latency / 1000 / concurrency
    return {
        "dialect": dialect,
        "payments": n,
        "concurrency": concurrency,
        "workers": concurrency * 2,
        "latency_ms": latency,
        "seed_s": round(seeded.seconds, 1),
        "wall_s": round(wall.seconds, 2),
        "ideal_s": round(ideal, 2),
        "over_ideal_pct": round((wall.seconds / ideal - 1) * 100, 1),
        "items": counts,
        "gets": stats["by_route"].get("GET /payments", 0),
        "money_calls": stats["captures_applied"] + stats["refunds_applied"],
    }


def run(ctx: Context) -> dict:
    sizes = ctx.sizes
    plan = [("sqlite", c) for c in sizes.sync_concurrencies]
    if ctx.pg_url:
        plan += [("postgresql", c) for c in sizes.pg_batch_concurrencies]
    rows = []
    for dialect, c in plan:
        ctx.log(f"sync: {sizes.sync_payments:,} open payments, {dialect}, concurrency {c}")
        rows.append(sync_run(ctx, dialect, c))
    goals = [
        goal(
            "one GET per payment, every row ok, nothing moved",
            all(
                r["gets"] == r["payments"]
                and r["items"].get("ok") == r["payments"]
                and r["money_calls"] == 0
                for r in rows
            ),
            ", ".join(f"{r['dialect']} c{r['concurrency']}: {r['gets']} GETs" for r in rows),
        )
    ]
    for r in rows:
        if r["concurrency"] == 8:
            goals.append(
                goal(
                    f"within {GOAL_PCT} % of the ideal at concurrency 8 ({r['dialect']})",
                    r["over_ideal_pct"] <= GOAL_PCT
                    if sizes.latency_ms >= 100 and sizes.sync_payments >= 10_000
                    else None,
                    f"{r['wall_s']} s vs ideal {r['ideal_s']} s ({r['over_ideal_pct']:+.1f} %)",
                )
            )
    headers, out = table_rows(rows)
    print_table(ctx, f"sync (refresh open payments), latency {sizes.latency_ms} ms", headers, out)
    payload = {
        "config": {"payments": sizes.sync_payments, "latency_ms": sizes.latency_ms},
        "results": rows,
        "goals": goals,
    }
    write_result(ctx, "sync", payload)
    return payload


def table_rows(rows: list[dict]) -> tuple[list[str], list[list]]:
    headers = ["db", "payments", "conc", "wall s", "ideal s", "over %", "GETs", "ok"]
    return headers, [
        [
            r["dialect"],
            r["payments"],
            r["concurrency"],
            r["wall_s"],
            r["ideal_s"],
            r["over_ideal_pct"],
            r["gets"],
            r["items"].get("ok", 0),
        ]
        for r in rows
    ]
