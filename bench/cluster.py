"""Cluster: several app servers and ``python -m core worker`` processes share one PostgreSQL
and run one capture job of N items together; Paidy calls in flight must stay under one
cluster-wide cap (``PAIDY_CLUSTER_CONCURRENCY``, core/operations/slots.py).

Each run: a fresh PostgreSQL database (``bench_cluster``), a sandbox in its own process with
a fixed latency, N open payments; then ``apps`` app nodes (``python -m bench.cluster_node``:
the app server's runtime and worker pool, without its UI) and ``workers`` real ``python -m
core worker`` processes, every one with ``PAIDY_CONCURRENCY=local`` (more than the cap
together), all pointed at the database and the sandbox. The job is created and the
processes run it. Measured: the job's wall time (created -> finished, from the database)
against the ideal ``N x latency / cap``; the most requests the sandbox ever had in flight
at once (its ``max_in_flight`` gauge); and that every item ran once: one capture POST per
payment, captures applied == N, every item ok, one audit entry per payment.

SQLite is one machine (its per-process semaphore stays): this benchmark is PostgreSQL only.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func
from sqlalchemy import select as sql_select

from bench.batch import ACTOR, GOAL_PCT, ops_for, quiet_client_log
from bench.common import ROOT, Context, goal, print_table, write_result
from bench.datasets import BENCH_KEY, SandboxProcess, scratch_database, seed_open_payments
from core.operations.batch import create_job, progress
from core.storage.models import AuditLog, BatchItem, BatchJob

READY_S = 120  # a node that has not said it runs by then failed to start


@dataclass(frozen=True)
class ClusterPlan:
    items: int
    latency_ms: int
    cap: int
    local: int = 4  # PAIDY_CONCURRENCY of every process (batch threads: twice that)
    apps: int = 2
    workers: int = 3


def node_env(db_url: str, sandbox_url: str, plan: ClusterPlan) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAIDY_", "AUTH_"))}
    return env | {
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": db_url,
        "PAIDY_SECRET_KEY": BENCH_KEY,
        "PAIDY_API_BASE": sandbox_url,
        "PAIDY_CONCURRENCY": str(plan.local),
        "PAIDY_CLUSTER_CONCURRENCY": str(plan.cap),
        "PAIDY_TIMEOUT_S": "10",
        "AUTH_MODE": "password",
    }


@contextmanager
def cluster_nodes(db_url: str, sandbox_url: str, plan: ClusterPlan) -> Iterator[list]:
    """Start the app nodes and worker processes; wait until each says it runs; stop them
    (by pid: SIGINT, then kill) afterwards."""
    env = node_env(db_url, sandbox_url, plan)
    commands = [[sys.executable, "-m", "bench.cluster_node"]] * plan.apps + [
        [sys.executable, "-m", "core", "worker"]
    ] * plan.workers
    procs: list[subprocess.Popen] = []
    try:
        for argv in commands:
            procs.append(
                subprocess.Popen(
                    argv,
                    cwd=ROOT,
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        for proc in procs:
            _wait_ready(proc)
        yield procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            for stream in (proc.stdout, proc.stderr):
                if stream:
                    stream.close()


def _wait_ready(proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + READY_S
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 1.0)
        if ready:
            line = proc.stdout.readline()
            if "ready" in line or "running" in line:
                return
        if proc.poll() is not None:
            raise RuntimeError(f"a cluster node exited ({proc.returncode}): {proc.stderr.read()}")
    raise RuntimeError(f"a cluster node did not start within {READY_S} s")


def wait_done(ops, job_id: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not progress(ops, job_id).done:
        if time.monotonic() > deadline:
            raise RuntimeError(f"job {job_id} not done after {timeout_s:.0f} s")
        time.sleep(0.25)  # ok-sleep: the job runs in other processes; poll its rows


def cluster_run(ctx: Context, db, sandbox: SandboxProcess, plan: ClusterPlan) -> dict:
    """The job on an empty migrated PostgreSQL ``db`` against ``sandbox``; the figures."""
    order_nos = seed_open_payments(db, sandbox.url, plan.items)
    sandbox.control("POST", "/_sandbox/stats", {"reset_gauge": True})
    ops = ops_for(ctx, db, sandbox.url, plan.local)
    ideal = plan.items * plan.latency_ms / 1000 / plan.cap
    try:
        with cluster_nodes(db.url, sandbox.url, plan):
            job = create_job(ops, ACTOR, "capture", order_nos)
            wait_done(ops, job, timeout_s=ideal * 5 + 120)
        stats = sandbox.stats()
        counts = progress(ops, job).counts
        with db.session() as s:
            created = s.get(BatchJob, job).created_at
            # the last item's finish, not batch_jobs.finished_at: two workers finishing the
            # last two items at once each still see the other's running (READ COMMITTED),
            # and neither marks the job done (core/operations/batch.py _maybe_finish)
            last = s.scalar(
                sql_select(func.max(BatchItem.finished_at)).where(BatchItem.job_id == job)
            )
            job_status = s.get(BatchJob, job).status
            wall = (last - created).total_seconds()
            audit_rows = s.scalar(sql_select(func.count()).select_from(AuditLog))
            payments = s.scalar(sql_select(func.count(func.distinct(AuditLog.payment_id))))
    finally:
        ops.client.close_sessions()
    posts = stats["by_route"].get("POST /captures", 0)
    return {
        "dialect": "postgresql",
        "items": plan.items,
        "latency_ms": plan.latency_ms,
        "cap": plan.cap,
        "local": plan.local,
        "apps": plan.apps,
        "workers": plan.workers,
        "threads": (plan.apps + plan.workers) * plan.local * 2,
        "wall_s": round(wall, 2),
        "ideal_s": round(ideal, 2),
        "over_ideal_pct": round((wall / ideal - 1) * 100, 1),
        "max_in_flight": stats["max_in_flight"],
        "capture_posts": posts,
        # reads of a payment before its capture: a snapshot older than Ops.fresh_for (5 min)
        # is re-read first (payments.run_action), a Paidy call under the same cap
        "payment_reads": stats["by_route"].get("GET /payments", 0),
        "captures_applied": stats["captures_applied"],
        "statuses": counts,
        "job_status": job_status,
        "audit_rows": audit_rows,
        "audited_payments": payments,
        "once_each": posts == plan.items == stats["captures_applied"] == counts.get("ok", 0)
        and audit_rows == payments == plan.items,
    }


def plan_for(sizes) -> ClusterPlan:
    return ClusterPlan(sizes.cluster_items, sizes.cluster_latency_ms, sizes.cluster_cap)


def run(ctx: Context) -> dict:
    sizes = ctx.sizes
    rows = []
    plan = plan_for(sizes)
    if ctx.pg_url:
        ctx.log(
            f"cluster: {plan.items:,} captures, {plan.apps} app nodes + {plan.workers} workers, "
            f"cap {plan.cap}, latency {plan.latency_ms} ms"
        )
        with (
            tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp,
            SandboxProcess(latency_ms=plan.latency_ms) as sandbox,
            scratch_database(ctx, "postgresql", "cluster", Path(tmp)) as db,
            quiet_client_log(),
        ):
            rows.append(cluster_run(ctx, db, sandbox, plan))
    judged = sizes.cluster_items >= 10_000 and sizes.cluster_latency_ms >= 100
    goals = []
    for r in rows:
        goals += [
            goal(
                "Paidy calls in flight never above the cluster-wide cap",
                r["max_in_flight"] <= r["cap"],
                f"most at once {r['max_in_flight']} (cap {r['cap']}; the processes could "
                f"have sent {(r['apps'] + r['workers']) * r['local']})",
            ),
            goal(
                "every item exactly once (one capture POST, one audit entry, ok)",
                r["once_each"],
                f"{r['capture_posts']} POSTs, {r['captures_applied']} applied, "
                f"{r['audit_rows']} audit rows for {r['items']} items, statuses {r['statuses']}",
            ),
            goal(
                f"throughput within {GOAL_PCT} % of cap / latency",
                r["over_ideal_pct"] <= GOAL_PCT if judged else None,
                f"{r['wall_s']} s vs ideal {r['ideal_s']} s ({r['over_ideal_pct']:+.1f} %)",
            ),
        ]
    if not rows:
        goals.append(goal("cluster-wide cap (PostgreSQL only)", None, "no PostgreSQL"))
    headers, out = table_rows(rows)
    print_table(ctx, "cluster: one job, several processes, one cap", headers, out)
    payload = {"config": plan.__dict__, "results": rows, "goals": goals}
    write_result(ctx, "cluster", payload)
    return payload


def table_rows(rows: list[dict]) -> tuple[list[str], list[list]]:
    headers = ["db", "items", "processes", "cap", "latency ms", "wall s", "ideal s", "over %",
               "max in flight", "capture POSTs", "GETs", "ok"]  # fmt: skip
    return headers, [
        [
            r["dialect"],
            r["items"],
            f"{r['apps']} app + {r['workers']} worker",
            r["cap"],
            r["latency_ms"],
            r["wall_s"],
            r["ideal_s"],
            r["over_ideal_pct"],
            r["max_in_flight"],
            r["capture_posts"],
            r.get("payment_reads", "-"),
            r["statuses"].get("ok", 0),
        ]
        for r in rows
    ]
