"""One cap on Paidy calls in flight for every process sharing a PostgreSQL database
(core/operations/slots.py): advisory-lock slots, held for one call each, freed when their
process dies; SQLite keeps the per-process semaphore."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from core.operations.slots import ClusterSlots, LocalSlots, SlotUnavailable, slots_for
from core.storage.db import dispose_database, get_database, upgrade

ROOT = Path(__file__).resolve().parents[2]


def _hold_many(slots_list, threads_each: int, rounds: int, hold_s: float):
    """Threads on every slots object take a slot ``rounds`` times and hold it ``hold_s``;
    returns the most held at once (counted here) and how many holds happened."""
    lock = threading.Lock()
    state = {"now": 0, "max": 0, "done": 0}

    def worker(slots):
        for _ in range(rounds):
            with slots:
                with lock:
                    state["now"] += 1
                    state["max"] = max(state["max"], state["now"])
                time.sleep(hold_s)  # ok-sleep: stands for the HTTP call a slot is held for
                with lock:
                    state["now"] -= 1
                    state["done"] += 1

    threads = [
        threading.Thread(target=worker, args=(s,)) for s in slots_list for _ in range(threads_each)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return state["max"], state["done"]


def test_sqlite_keeps_the_per_process_semaphore(db_sqlite):
    slots = slots_for(db_sqlite, 3)
    assert isinstance(slots, LocalSlots) and slots.capacity == 3
    most, done = _hold_many([slots], threads_each=6, rounds=3, hold_s=0.02)
    assert most <= 3 and done == 18


def test_one_cap_across_separate_pools(pg_url):
    """Two ClusterSlots with their own connections (as two processes would have): never
    more than the cap held at once, each below its own local bound, and none left held."""
    a = ClusterSlots(pg_url, cap=3, local=4)
    b = ClusterSlots(pg_url, cap=3, local=4)
    try:
        most, done = _hold_many([a, b], threads_each=5, rounds=4, hold_s=0.03)
        assert done == 40
        assert most == 3  # the cap, reached (8 local slots wanted more) and never passed
        assert a.in_use() == 0
    finally:
        a.close()
        b.close()


HOLDER = """
import sys, time
from core.operations.slots import ClusterSlots
slots = ClusterSlots(sys.argv[1], cap=1, local=1)
slots.__enter__()
print("held", flush=True)
time.sleep(600)
"""


def test_a_dead_process_frees_its_slot_at_once(pg_url):
    """No lease to wait out: the process holding the only slot is killed (no cleanup runs)
    and the slot is free as soon as PostgreSQL sees its connection gone."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, pg_url], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    mine = ClusterSlots(pg_url, cap=1, local=1)
    try:
        assert proc.stdout.readline().strip() == "held"
        assert mine.in_use() == 1
        got = threading.Event()

        def take():
            with mine:
                got.set()

        waiter = threading.Thread(target=take, daemon=True)
        waiter.start()
        assert not got.wait(0.5)  # the slot is taken: we wait
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        assert got.wait(20)
        waiter.join(5)
        assert mine.in_use() == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        mine.close()


def test_no_database_no_slot_and_nothing_sent(sandbox):
    """An unreachable database: the call is refused before any request (a definite
    'not sent', in both languages), never sent without a slot."""
    from core.paidy.client import PaidyClient

    slots = ClusterSlots("postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=2", 2, 2)
    client = PaidyClient(sandbox.url, "sk_test_x", timeout_s=2)
    client.use_slots(slots)
    try:
        with pytest.raises(SlotUnavailable) as info:
            client.get_payment("pay_" + "a" * 16)
        assert "送信していません" in info.value.message("ja")
        assert "Nothing was sent" in info.value.message("en")
        assert client.max_in_flight == 2
        stats = requests.get(f"{sandbox.url}/_sandbox/stats", timeout=5).json()
        assert stats["requests"] == 0
    finally:
        client.close_sessions()
        slots.close()


@pytest.fixture
def cluster_db(pg_url):
    """A database of its own for the processes of one cluster run (migrated, dropped after)."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(pg_url).set(database=name).render_as_string(hide_password=False)
    db = get_database(url)
    try:
        upgrade(db)
        yield db
    finally:
        dispose_database(url)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_three_processes_share_one_cap_and_run_every_item_once(cluster_db):
    """An app node and two ``python -m core worker`` processes (each allowed 4 calls, 12
    together) run one 200-item capture job against a 50 ms sandbox with
    PAIDY_CLUSTER_CONCURRENCY=4: the sandbox never has more than 4 requests in flight, and
    every item is captured exactly once."""
    from bench.cluster import ClusterPlan, cluster_run
    from bench.common import PROFILES, Context
    from bench.datasets import SandboxProcess

    plan = ClusterPlan(items=200, latency_ms=50, cap=4, local=4, apps=1, workers=2)
    with SandboxProcess(latency_ms=plan.latency_ms) as sandbox:
        row = cluster_run(Context(PROFILES["smoke"]), cluster_db, sandbox, plan)
    assert row["max_in_flight"] <= 4, row
    assert row["max_in_flight"] >= 2, row  # the processes did run calls side by side
    assert row["statuses"] == {"ok": 200}, row
    assert row["capture_posts"] == row["captures_applied"] == 200, row
    assert row["audit_rows"] == row["audited_payments"] == 200, row


def test_a_slot_connection_cut_by_the_server_is_replaced(pg_url):
    """A pooled slot connection the server dropped (restart, idle timeout) is replaced on
    the next call instead of failing it."""
    slots = ClusterSlots(pg_url, cap=2, local=1)
    probe = ClusterSlots(pg_url, cap=2, local=1)  # counts the locks on its own connection
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    try:
        with slots:
            pass  # one connection now sits in the slots' pool
        with admin.connect() as conn:
            cut = conn.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = 'paidy-ops slots' AND datname = current_database() "
                    "AND state = 'idle'"
                )
            ).scalar_one()
        assert cut >= 1
        with slots:
            assert probe.in_use() == 1
        assert probe.in_use() == 0
    finally:
        admin.dispose()
        slots.close()
        probe.close()
