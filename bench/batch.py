"""Batch: N captures (売上確定) as one batch job against the sandbox with a fixed latency, at
several concurrencies: wall time of ``run_job`` against the ideal ``N x latency /
concurrency``, and the money-moving calls the sandbox counted (must equal N). Then the same
with injected faults (``fault_rate``, every kind of the sandbox's mix): wall time, every row
definite (no pending/running), the ok/failed/unknown counts, and after a sync (faults off)
that the captures the sandbox applied equal the payments our database shows captured.

Each run gets a fresh database (a SQLite file, or a PostgreSQL ``bench_batch_*``) and a
fresh sandbox in its own process (``python -m core sandbox``), with N open payments created
through the sandbox's bulk endpoint. Ops as the app wires them: ``Ops(db, client,
concurrency=c)``, ``run_job`` with ``ops.workers`` (2 x c) threads.
"""

from __future__ import annotations

import logging
import statistics
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from bench.common import Context, Stopwatch, goal, percentile, print_table, write_result
from bench.datasets import BENCH_KEY, SandboxProcess, scratch_database, seed_open_payments
from core.operations.batch import create_job, progress, run_job
from core.operations.context import Ops
from core.operations.sync import sync
from core.paidy.client import PaidyClient
from core.roles import Actor, Role
from core.storage.models import PaidyPayment

ACTOR = Actor("bench", Role.OPERATOR)
GOAL_PCT = 10  # within 10 % of the ideal at concurrency 8
MONEY = ("captures_applied", "refunds_applied")


def ops_for(ctx: Context, db, url: str, concurrency: int, timeout_s: float | None = None) -> Ops:
    client = PaidyClient(url, BENCH_KEY, timeout_s=timeout_s or ctx.sizes.client_timeout_s)
    return Ops(db, client, concurrency=concurrency)


def past_deadlines(ops: Ops) -> None:
    """Let the final sync read as it would once every lost write's settle deadline has
    passed (an offset on our clock; the alternative is waiting the delay out in wall time):
    lost answers are judged by their tag, "not done" only past the deadline."""
    jump = ops.settle_delay + ops.send_bound + timedelta(seconds=1)
    base = ops.clock
    ops.clock = lambda: base() + jump


def captured_in_db(db) -> int:
    with db.engine.connect() as conn:
        return conn.execute(
            select(func.count()).select_from(PaidyPayment).where(PaidyPayment.captured_amount > 0)
        ).scalar_one()


@contextmanager
def quiet_client_log() -> Iterator[None]:
    """Injected faults make the client warn per lost answer; the figures say it all."""
    logger = logging.getLogger("core.paidy")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def issue_size(sizes) -> bool:
    """The goals are stated for 100 ms latency and 1,000 captures / 10,000 payments; at the
    smaller sizes the fixed cost per item weighs more, so they are shown but not judged."""
    return sizes.latency_ms >= 100 and sizes.captures >= 1000


def capture_run(ctx: Context, dialect: str, concurrency: int, fault_rate: float = 0.0) -> dict:
    sizes = ctx.sizes
    n, latency = sizes.captures, sizes.latency_ms
    name = f"batch_c{concurrency}" + ("_faults" if fault_rate else "")
    with (
        tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp,
        SandboxProcess(latency_ms=latency) as sandbox,
        scratch_database(ctx, dialect, name, Path(tmp)) as db,
        quiet_client_log(),
    ):
        order_nos = seed_open_payments(db, sandbox.url, n)
        if fault_rate:
            sandbox.faults(fault_rate=fault_rate, timeout_hold_s=sizes.timeout_hold_s)
        ops = ops_for(ctx, db, sandbox.url, concurrency)
        try:
            with Stopwatch() as created:
                job = create_job(ops, ACTOR, "capture", order_nos)
            with Stopwatch() as wall:
                run_job(ops, job)
            counts = progress(ops, job).counts
            stats = sandbox.stats()
            ideal = n * latency / 1000 / concurrency
            row = {
                "dialect": dialect,
                "captures": n,
                "concurrency": concurrency,
                "workers": ops.workers,
                "latency_ms": latency,
                "fault_rate": fault_rate,
                "create_job_s": round(created.seconds, 2),
                "wall_s": round(wall.seconds, 2),
                "ideal_s": round(ideal, 2),
                "over_ideal_pct": round((wall.seconds / ideal - 1) * 100, 1),
                "items": counts,
                "definite": not counts.get("pending") and not counts.get("running"),
                "money_calls": sum(stats[k] for k in MONEY),
                "captures_applied": stats["captures_applied"],
                "capture_posts": stats["by_route"].get("POST /captures", 0),
                "gets": stats["by_route"].get("GET /payments", 0),
                "faults_injected": sum(stats["faults_injected"].values()),
            }
            if fault_rate:
                sandbox.faults(fault_rate=0)
                past_deadlines(ops)
                with Stopwatch() as synced:
                    sync(ops, ACTOR, open_only=False)
                row["sync_after_s"] = round(synced.seconds, 2)
                row["captured_in_db"] = captured_in_db(db)
                row["applied_equals_db"] = row["captures_applied"] == row["captured_in_db"]
        finally:
            ops.client.close_sessions()
    return row


def run(ctx: Context) -> dict:
    sizes = ctx.sizes
    rows = []
    plan = [("sqlite", c) for c in sizes.concurrencies]
    if ctx.pg_url:
        plan += [("postgresql", c) for c in sizes.pg_batch_concurrencies]
    for dialect, c in plan:
        repeats = 1 if c == 1 else sizes.batch_repeats  # c=1 is long and steady
        ctx.log(f"batch: {sizes.captures:,} captures, {dialect}, concurrency {c}, x{repeats}")
        rows.append(repeated([capture_run(ctx, dialect, c) for _ in range(repeats)]))
    for dialect in ctx.dialects:
        c = sizes.fault_concurrency
        ctx.log(f"batch: {sizes.captures:,} captures, {dialect}, concurrency {c}, faults")
        rows.append(repeated([capture_run(ctx, dialect, c, sizes.fault_rate)]))
    goals = judge(ctx, rows)
    headers, out = table_rows(rows)
    print_table(ctx, f"batch capture, latency {sizes.latency_ms} ms", headers, out)
    payload = {
        "config": {
            "captures": sizes.captures,
            "latency_ms": sizes.latency_ms,
            "fault_rate": sizes.fault_rate,
            "timeout_hold_s": sizes.timeout_hold_s,
            "client_timeout_s": sizes.client_timeout_s,
        },
        "results": rows,
        "goals": goals,
    }
    write_result(ctx, "batch", payload)
    return payload


def repeated(runs: list[dict]) -> dict:
    """One row for repeated runs of a case: the median run's figures, plus every run's wall
    time and money calls (each must be right, not just the median one)."""
    walls = [r["wall_s"] for r in runs]
    row = dict(sorted(runs, key=lambda r: r["wall_s"])[(len(runs) - 1) // 2])
    row.update(
        runs=len(runs),
        wall_s=round(statistics.median(walls), 2),
        wall_p95_s=round(percentile(walls, 95), 2),
        walls_s=walls,
        money_calls_each=[r["money_calls"] for r in runs],
        definite=all(r["definite"] for r in runs),
    )
    row["over_ideal_pct"] = round((row["wall_s"] / row["ideal_s"] - 1) * 100, 1)
    return row


def judge(ctx: Context, rows: list[dict]) -> list[dict]:
    clean = [r for r in rows if not r["fault_rate"]]
    faulty = [r for r in rows if r["fault_rate"]]
    goals = [
        goal(
            "money-moving calls == captures, every clean run",
            all(m == r["captures"] for r in clean for m in r["money_calls_each"]),
            ", ".join(f"{r['dialect']} c{r['concurrency']}: {r['money_calls']}" for r in clean),
        )
    ]
    for r in clean:
        if r["concurrency"] == 8:
            goals.append(
                goal(
                    f"within {GOAL_PCT} % of the ideal at concurrency 8 ({r['dialect']})",
                    r["over_ideal_pct"] <= GOAL_PCT if issue_size(ctx.sizes) else None,
                    f"{r['wall_s']} s vs ideal {r['ideal_s']} s ({r['over_ideal_pct']:+.1f} %)",
                )
            )
    for r in faulty:
        goals.append(
            goal(
                f"with {r['fault_rate']:.0%} faults every row definite and captures applied == "
                f"captured in our database after a sync ({r['dialect']})",
                r["definite"] and r["applied_equals_db"],
                f"items {r['items']}, applied {r['captures_applied']}, "
                f"captured in db {r['captured_in_db']}",
            )
        )
    return goals


def table_rows(rows: list[dict]) -> tuple[list[str], list[list]]:
    headers = ["db", "conc", "faults", "runs", "wall p50 s", "wall p95 s", "ideal s", "over %", "money calls", "ok", "failed", "unknown", "skipped"]  # fmt: skip
    return headers, [
        [
            r["dialect"],
            r["concurrency"],
            f"{r['fault_rate']:.0%}",
            r.get("runs", 1),
            r["wall_s"],
            r.get("wall_p95_s", r["wall_s"]),
            r["ideal_s"],
            r["over_ideal_pct"],
            r["money_calls"],
            r["items"].get("ok", 0),
            r["items"].get("failed", 0),
            r["items"].get("unknown", 0),
            r["items"].get("skipped", 0),
        ]
        for r in rows
    ]
