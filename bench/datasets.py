"""Benchmark data: cached demo datasets (1,000,000 orders take minutes to seed) and small
fresh sets of open payments for the batch and sync benchmarks.

- SQLite: ``bench/.data/orders-<n>-s<seed>-r<rev>.db`` plus the sandbox's own SQLite file
  ``sandbox-<n>-s<seed>-r<rev>.db`` (the payments seed_demo created), built under a
  temporary name and renamed when complete, so an interrupted build is never reused.
- PostgreSQL: a database ``bench_orders_<n>``, reused when it is at the migration head and
  holds ``n`` orders; its seed and clock are kept in the database's comment.
- The demo's clock (``now``) of a size/seed is fixed once in
  ``bench/.data/dataset-<n>-s<seed>.json`` so both databases hold the same rows and every
  search runs at the instant the data was made for.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.engine import make_url

from bench.common import ROOT, Context, Stopwatch
from core.storage.db import Database, current_revision, dispose_database, get_database, upgrade
from core.storage.demo import (
    DemoOrder,
    DemoPayment,
    SandboxControl,
    item_rows,
    payment_id,
    payment_rows,
    shipping_fee,
)
from core.storage.demo import generate_orders as demo_orders
from core.storage.models import Order, OrderItem, PaidyPayment
from core.timeutil import as_utc, utcnow

BENCH_KEY = "sk_test_bench"


def head_revision() -> str:
    """The migration head: a dataset built at another schema revision is rebuilt."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from core.storage.db import MIGRATIONS

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config).get_current_head() or "none"


@dataclass(frozen=True)
class Dataset:
    url: str
    dialect: str
    orders: int
    seed: int
    now: datetime
    sandbox_db: Path | None  # the sandbox's payments (SQLite datasets)
    build_seconds: float | None  # None when reused from the cache


# ------------------------------------------------------------------------- the clock
def dataset_now(ctx: Context, n: int, seed: int) -> datetime:
    """The demo clock of this size/seed (fixed at the first build)."""
    path = ctx.data_dir / f"dataset-{n}-s{seed}.json"
    if path.exists() and not ctx.rebuild:
        return datetime.fromisoformat(json.loads(path.read_text())["now"])
    now = utcnow().replace(microsecond=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"now": now.isoformat(), "orders": n, "seed": seed}))
    return now


def _seed(db: Database, n: int, seed: int, now: datetime, sandbox_db: str | None) -> None:
    from core.paidy.sandbox import start_sandbox
    from core.storage.demo import seed_demo

    with start_sandbox(db_path=sandbox_db, seed=seed) as sandbox:
        seed_demo(db, sandbox_url=sandbox.url, orders=n, seed=seed, now=now)
    with db.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")


# ------------------------------------------------------------------------------ SQLite
def sqlite_dataset(ctx: Context, n: int, seed: int = 1) -> Dataset:
    rev = head_revision()
    now = dataset_now(ctx, n, seed)
    path = ctx.data_dir / f"orders-{n}-s{seed}-r{rev}.db"
    sandbox_path = ctx.data_dir / f"sandbox-{n}-s{seed}-r{rev}.db"
    stamp = ctx.data_dir / f"orders-{n}-s{seed}-r{rev}.json"
    fresh = (
        not ctx.rebuild
        and path.exists()
        and sandbox_path.exists()
        and stamp.exists()
        and json.loads(stamp.read_text()).get("now") == now.isoformat()
    )
    if fresh:
        return Dataset(f"sqlite:///{path}", "sqlite", n, seed, now, sandbox_path, None)
    ctx.log(f"building SQLite dataset: {n:,} demo orders (cached in {path.name}) ...")
    tmp, tmp_sandbox = path.with_suffix(".building"), sandbox_path.with_suffix(".building")
    for p in (path, sandbox_path, tmp, tmp_sandbox, stamp):
        _remove_sqlite(p)
    url = f"sqlite:///{tmp}"
    with Stopwatch() as watch:
        db = get_database(url)
        upgrade(db)
        _seed(db, n, seed, now, str(tmp_sandbox))
        dispose_database(url)  # the last connection checkpoints the WAL into the file
    tmp.replace(path)
    tmp_sandbox.replace(sandbox_path)
    stamp.write_text(json.dumps({"now": now.isoformat(), "seconds": round(watch.seconds, 1)}))
    ctx.log(f"  built in {watch.seconds:.0f} s")
    return Dataset(f"sqlite:///{path}", "sqlite", n, seed, now, sandbox_path, watch.seconds)


def _remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


# -------------------------------------------------------------------------- PostgreSQL
def pg_url_for(admin_url: str, name: str) -> str:
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def _admin(admin_url: str):
    return create_engine(admin_url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)


def pg_comment(admin_url: str, name: str) -> dict | None:
    engine = _admin(admin_url)
    try:
        with engine.connect() as conn:
            row = conn.execute(
                text(
                    "SELECT shobj_description(oid, 'pg_database') FROM pg_database "
                    "WHERE datname = :n"
                ),
                {"n": name},
            ).first()
    finally:
        engine.dispose()
    if row is None:
        return None
    try:
        return json.loads(row[0] or "{}")
    except ValueError:
        return {}


def create_pg(admin_url: str, name: str) -> str:
    drop_pg(admin_url, name)
    engine = _admin(admin_url)
    try:
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return pg_url_for(admin_url, name)


def drop_pg(admin_url: str, name: str) -> None:
    dispose_database(pg_url_for(admin_url, name))
    engine = _admin(admin_url)
    try:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()


def pg_dataset_name(n: int, rev: str) -> str:
    """``bench_orders_<n>_r<rev>``: worktrees at different migration heads sharing one
    server each keep their own dataset instead of dropping each other's."""
    return f"bench_orders_{n}_r{re.sub(r'[^0-9A-Za-z_]', '_', rev)}"


def pg_dataset(ctx: Context, n: int, seed: int = 1) -> Dataset:
    assert ctx.pg_url
    rev = head_revision()
    now = dataset_now(ctx, n, seed)
    name = pg_dataset_name(n, rev)
    url = pg_url_for(ctx.pg_url, name)
    meta = None if ctx.rebuild else pg_comment(ctx.pg_url, name)
    if meta and meta.get("now") == now.isoformat() and meta.get("seed") == seed:
        db = get_database(url)
        if current_revision(db) == rev:
            with db.engine.connect() as conn:
                count = conn.execute(select(func.count()).select_from(Order)).scalar_one()
            if count == n:
                return Dataset(url, "postgresql", n, seed, now, None, None)
    ctx.log(f"building PostgreSQL dataset: {n:,} demo orders (database {name}) ...")
    with Stopwatch() as watch:
        create_pg(ctx.pg_url, name)
        db = get_database(url)
        upgrade(db)
        _seed(db, n, seed, now, None)
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
        dispose_database(url)
    engine = _admin(ctx.pg_url)
    try:
        comment = json.dumps({"now": now.isoformat(), "seed": seed, "rev": rev})
        with engine.connect() as conn:
            conn.execute(text(f"COMMENT ON DATABASE \"{name}\" IS '{comment}'"))
    finally:
        engine.dispose()
    ctx.log(f"  built in {watch.seconds:.0f} s")
    return Dataset(url, "postgresql", n, seed, now, None, watch.seconds)


def forget(ctx: Context, n: int, seed: int = 1) -> None:
    """Drop the cached datasets of this size (files, clock, PostgreSQL database)."""
    for path in ctx.data_dir.glob(f"*-{n}-s{seed}*"):
        _remove_sqlite(path)
    if ctx.pg_url:
        drop_pg(ctx.pg_url, pg_dataset_name(n, head_revision()))


def pg_available(url: str | None) -> bool:
    if not url:
        return False
    engine = create_engine(url, pool_pre_ping=True)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False
    finally:
        engine.dispose()


# ---------------------------------------------------------- a sandbox in its own process
class SandboxProcess:
    """``python -m core sandbox`` in a child process: like the real Paidy, its work does not
    share this process's interpreter lock. Stopped by its pid (SIGINT, then kill)."""

    def __init__(self, latency_ms: int = 0, seed: int = 1, db: str | None = None) -> None:
        args = [sys.executable, "-m", "core", "sandbox", "--port", "0", "--seed", str(seed)]
        args += ["--latency-ms", str(latency_ms)]
        if db:
            args += ["--db", db]
        self.proc = subprocess.Popen(
            args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        line = self.proc.stdout.readline()
        match = re.search(r"(http://\S+)", line)
        if not match:
            self.stop()
            raise RuntimeError(f"sandbox did not start: {line!r} {self.proc.stderr.read()}")
        self.url = match[1]

    def control(self, method: str, path: str, body: dict | None = None) -> dict:
        import requests

        reply = requests.request(method, f"{self.url}{path}", json=body, timeout=30)
        reply.raise_for_status()
        return reply.json()

    def stats(self) -> dict:
        return self.control("GET", "/_sandbox/stats")

    def faults(self, **config: object) -> dict:
        return self.control("POST", "/_sandbox/faults", config)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()

    def __enter__(self) -> SandboxProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# ------------------------------------------------------------- open payments, in bulk
def open_orders(n: int, seed: int, now: datetime) -> Iterator[DemoOrder]:
    """``n`` demo customers and baskets, each paid with Paidy and still authorized (open,
    expiring in 28 days), order total equal to Paidy's amount: capturable as they are."""
    now = as_utc(now)
    created = now - timedelta(days=2)
    salt = f"bench:{seed}:{now.isoformat()}"
    for d in demo_orders(n, seed, now):
        items = d.payment.items if d.payment else d.items
        sub = sum(p * q for _, _, p, q in items)
        shipping = shipping_fee(sub, d.order["prefecture"])
        tax = sub * 10 // 100
        total = sub + tax + shipping
        pay = DemoPayment(
            payment_id=payment_id(salt, d.index),
            state="open",
            created_at=created,
            expires_at=created + timedelta(days=30),
            amount=total,
            captured=0,
            refunded=0,
            items=tuple(items),
            tax=tax,
            shipping=shipping,
        )
        order = {
            **d.order,
            "ordered_at": created + timedelta(seconds=20),
            "updated_at": created + timedelta(seconds=20),
            "created_at": created + timedelta(seconds=20),
            "payment_method": "paidy",
            "status": "new",
            "payment_status": "unpaid",
            "shipped_at": None,
            "subtotal": sub,
            "shipping_fee": shipping,
            "tax": tax,
            "total": total,
            "note": "",
        }
        yield DemoOrder(index=d.index, order=order, items=tuple(items), payment=pay)


def seed_open_payments(
    db: Database, sandbox_url: str, n: int, *, seed: int = 1, now: datetime | None = None
) -> list[int]:
    """Insert ``n`` orders with open Paidy payments (sandbox bulk endpoint + Core inserts,
    ids = order numbers 1..n on an empty database); returns the order numbers."""
    now = as_utc(now or utcnow())
    control = SandboxControl(sandbox_url)
    batch = list(open_orders(n, seed, now))
    try:
        for start in range(0, n, 5000):
            part = batch[start : start + 5000]
            ids = [start + k + 1 for k in range(len(part))]  # id = order number
            specs, snapshots = payment_rows(zip(ids, part, ids, strict=True), now)
            control.create_bulk(specs)
            _insert(db, part, ids, snapshots)
    finally:
        control.close()
    if db.dialect == "postgresql":
        with db.engine.begin() as conn:
            for table in ("orders", "order_items", "paidy_payments"):
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
                    )
                )
            conn.exec_driver_sql("ANALYZE")
    return list(range(1, n + 1))


def _insert(db: Database, part: list[DemoOrder], ids: list[int], snapshots: list[dict]) -> None:
    with db.connect() as conn:
        conn.execute(
            insert(Order),
            [{**d.order, "id": i, "order_no": i} for i, d in zip(ids, part, strict=True)],
        )
        conn.execute(insert(OrderItem), item_rows(ids, part))
        conn.execute(insert(PaidyPayment), snapshots)


@contextmanager
def scratch_database(ctx: Context, dialect: str, name: str, tmp_dir: Path) -> Iterator[Database]:
    """A fresh migrated database for one run (a SQLite file in ``tmp_dir`` or a PostgreSQL
    database ``bench_<name>``), removed afterwards."""
    if dialect == "sqlite":
        path = tmp_dir / f"{name}.db"
        _remove_sqlite(path)
        url = f"sqlite:///{path}"
    else:
        assert ctx.pg_url
        url = create_pg(ctx.pg_url, f"bench_{name}")
    db = get_database(url)
    try:
        upgrade(db)
        yield db
    finally:
        dispose_database(url)
        if dialect == "sqlite":
            _remove_sqlite(path)
        else:
            drop_pg(ctx.pg_url, f"bench_{name}")
