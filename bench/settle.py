"""Settle: how long an operator waits for a definite answer after Paidy's reply is lost.

N captures are sent against the sandbox (its own process) with one injected fault each,
and an app-style worker pool (its housekeeping timer settles lost writes past their
deadline) runs beside them, as in the app server. Per capture: the time from sending it to
the moment its audit entry is definite (settled done / not done), polled every 0.1 s.

Kinds (a third each): ``applied_drop`` (Paidy applied it, the answer was lost: our tag is
found on the immediate re-read), ``error_500`` (not applied: "not done" may only be
concluded by a read that begins after the settle deadline), ``apply_late`` (the request
reaches Paidy after the client gave up: found by its tag once it lands, at the latest by
the read past the deadline). The settle delay is the default one, PAIDY_TIMEOUT_S + 30 s,
at the full and quick sizes (the client's timeout is the bench's ``client_timeout_s``).
"""

from __future__ import annotations

import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from bench.batch import ACTOR, ops_for, quiet_client_log
from bench.common import Context, goal, percentile, print_table, write_result
from bench.datasets import SandboxProcess, scratch_database, seed_open_payments
from core.operations import payments
from core.operations.batch import WorkerPool
from core.storage.models import AuditLog

KINDS = ("applied_drop", "error_500", "apply_late")


def _definite_at(db, deadline_s: float, expected: int) -> dict[int, float]:
    """Poll until ``expected`` capture entries are settled: {audit id: monotonic time}."""
    seen: dict[int, float] = {}
    stop = time.monotonic() + deadline_s
    tick = threading.Event()
    while time.monotonic() < stop:
        with db.session() as s:
            rows = s.execute(
                select(AuditLog.id, AuditLog.outcome).where(AuditLog.action == "capture")
            ).all()
        now = time.monotonic()
        for audit_id, outcome in rows:
            if outcome not in ("intent", "unknown") and audit_id not in seen:
                seen[audit_id] = now
        if len(seen) >= expected:
            return seen
        tick.wait(0.1)  # a polling interval of the measurement
    return seen


def settle_run(ctx: Context, dialect: str) -> dict:
    sizes = ctx.sizes
    n = sizes.settle_writes
    with (
        tempfile.TemporaryDirectory(prefix="bench-settle-") as tmp,
        SandboxProcess(latency_ms=5) as sandbox,
        scratch_database(ctx, dialect, "settle", Path(tmp)) as db,
        quiet_client_log(),
    ):
        order_nos = seed_open_payments(db, sandbox.url, n)
        ops = ops_for(ctx, db, sandbox.url, 4, timeout_s=sizes.settle_timeout_s)
        if sizes.settle_delay_s is not None:
            ops.settle_delay = timedelta(seconds=sizes.settle_delay_s)
        plan = [(no, KINDS[i % len(KINDS)]) for i, no in enumerate(order_nos)]
        sandbox.faults(
            timeout_hold_s=min(1.0, sizes.settle_timeout_s),
            apply_late_s=min(5.0, sizes.settle_timeout_s),
            next=[{"kind": k, "method": "POST", "path_contains": "/captures"} for _, k in plan],
        )
        pool = WorkerPool(ops, name="bench", maintenance_s=sizes.settle_tick_s).start()
        sent: dict[int, tuple[str, float]] = {}
        lock = threading.Lock()

        def one(order_no: int, kind: str) -> None:
            t0 = time.monotonic()
            r = payments.capture(ops, ACTOR, order_no)
            with lock:
                sent[r.audit_id] = (kind, t0, r.outcome.value)

        limit = ops.settle_delay.total_seconds() + sizes.settle_timeout_s * 2 + 60
        try:
            with ThreadPoolExecutor(5) as workers:
                watch = workers.submit(_definite_at, db, limit, n)  # from before the first send
                for no, kind in plan:  # one request per fault, in plan order
                    workers.submit(one, no, kind).result()
                settled = watch.result()
        finally:
            pool.stop(timeout=5)
            ops.client.close_sessions()
        stats = sandbox.stats()
    waits: dict[str, list[float]] = {k: [] for k in KINDS}
    first_answer: dict[str, list[str]] = {k: [] for k in KINDS}
    for audit_id, (kind, t0, outcome) in sent.items():
        if audit_id in settled:
            waits[kind].append(settled[audit_id] - t0)
        first_answer[kind].append(outcome)
    every = [w for ws in waits.values() for w in ws]
    return {
        "dialect": dialect,
        "writes": n,
        "settle_delay_s": ops.settle_delay.total_seconds(),
        "client_timeout_s": sizes.settle_timeout_s,
        "tick_s": sizes.settle_tick_s,
        "settled": len(every),
        "by_kind": {
            k: {
                "n": len(v),
                "p50_s": round(percentile(v, 50), 2) if v else None,
                "p95_s": round(percentile(v, 95), 2) if v else None,
                "first_answers": {o: first_answer[k].count(o) for o in set(first_answer[k])},
            }
            for k, v in waits.items()
        },
        "p50_s": round(percentile(every, 50), 2) if every else None,
        "p95_s": round(percentile(every, 95), 2) if every else None,
        "captures_applied": stats["captures_applied"],
        "capture_posts": stats["by_route"].get("POST /captures", 0),
    }


def run(ctx: Context) -> dict:
    rows = []
    for dialect in ctx.dialects:
        ctx.log(f"settle: {ctx.sizes.settle_writes} lost answers, {dialect}")
        rows.append(settle_run(ctx, dialect))
    goals = []
    for r in rows:
        bound = r["settle_delay_s"] + r["client_timeout_s"] + 2 * r["tick_s"] + 5
        goals.append(
            goal(
                f"every lost answer definite within the settle delay + timeout + 2 ticks "
                f"({r['dialect']})",
                r["settled"] == r["writes"] and (r["p95_s"] or 0) <= bound,
                f"{r['settled']}/{r['writes']} settled, p95 {r['p95_s']} s (bound {bound:.0f} s)",
            )
        )
        goals.append(
            goal(
                f"one request per capture, never resent ({r['dialect']})",
                r["capture_posts"] == r["writes"],
                f"{r['capture_posts']} POSTs for {r['writes']} captures",
            )
        )
    headers, out = table_rows(rows)
    delay = rows[0]["settle_delay_s"] if rows else 0
    print_table(ctx, f"settle (time to a definite answer), delay {delay:.0f} s", headers, out)
    payload = {
        "config": {
            "writes": ctx.sizes.settle_writes,
            "settle_delay_s": delay,
            "client_timeout_s": ctx.sizes.settle_timeout_s,
            "tick_s": ctx.sizes.settle_tick_s,
        },
        "results": rows,
        "goals": goals,
    }
    write_result(ctx, "settle", payload)
    return payload


def table_rows(rows: list[dict]) -> tuple[list[str], list[list]]:
    headers = ["db", "kind", "n", "p50 s", "p95 s", "first answer"]
    out = []
    for r in rows:
        for kind, k in r["by_kind"].items():
            first = ", ".join(f"{o} {c}" for o, c in sorted(k["first_answers"].items()))
            out.append([r["dialect"], kind, k["n"], k["p50_s"], k["p95_s"], first])
        out.append([r["dialect"], "all", r["settled"], r["p50_s"], r["p95_s"], ""])
    return headers, out
