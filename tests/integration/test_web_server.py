"""The webhook and health routes over real HTTP, against a running ``streamlit run`` (the
routes are served by the same server as the screens: AppTest cannot reach them).

One server per module: a temporary SQLite database with 10 orders linked to payments in a
sandbox running in this process, WEBHOOK_TOKEN set, the server's own batch workers running
the refresh jobs. Paidy reads are counted by the sandbox (``/_sandbox/stats``).
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from core.operations import unlinked
from core.operations.context import Ops
from core.operations.link import link_payment
from core.paidy.sandbox import RunningSandbox
from core.storage.db import dispose_database, get_database, upgrade
from core.storage.models import BatchItem, BatchJob, UnlinkedPayment
from core.timeutil import iso_z, utcnow
from tests.fixtures_ops import ADMIN, make_ops

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "whk_" + secrets.token_urlsafe(24)


@dataclass
class Server:
    base: str
    ops: Ops
    sandbox: RunningSandbox
    payments: list[tuple[str, str]]  # (payment id, its authorization time)
    unknown: str  # at Paidy, not linked here

    def hook(self, body, token: str = TOKEN, **kw) -> requests.Response:
        kw.setdefault("timeout", 30)
        if isinstance(body, bytes):
            return requests.post(f"{self.base}/webhooks/paidy/{token}", data=body, **kw)
        return requests.post(f"{self.base}/webhooks/paidy/{token}", json=body, **kw)

    def gets(self) -> int:
        stats = requests.get(f"{self.sandbox.url}/_sandbox/stats", timeout=5).json()
        return stats["by_route"].get("GET /payments", 0)

    def jobs(self) -> int:
        with self.ops.db.session() as s:
            return s.scalar(select(func.count()).select_from(BatchJob))

    def unfinished(self) -> int:
        with self.ops.db.session() as s:
            return s.scalar(
                select(func.count())
                .select_from(BatchItem)
                .where(BatchItem.status.in_(("pending", "running")))
            )

    def wait_until(self, condition, what: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(0.1)  # ok-sleep: poll interval of a wait-for-condition loop with a deadline


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _sandbox_payments(sandbox: RunningSandbox, n: int) -> list[tuple[str, str]]:
    now = utcnow()
    specs = [
        {
            "buyer": {"name1": f"通知 太郎{i}", "email": f"w{i}@example.jp"},
            "order": {
                "items": [{"id": "W", "title": "靴", "unit_price": 1000 + i, "quantity": 1}],
                "tax": 0,
                "shipping": 0,
            },
            "test": True,
            "created_at": iso_z(now - timedelta(hours=1)),  # authorized an hour ago
            "expires_at": iso_z(now + timedelta(days=29)),
        }
        for i in range(n)
    ]
    r = requests.post(f"{sandbox.url}/_sandbox/payments/bulk", json={"payments": specs}, timeout=10)
    r.raise_for_status()
    ids = r.json()["ids"]
    auth = "Bearer sk_test_web_server"
    created = [
        requests.get(
            f"{sandbox.url}/payments/{pid}", headers={"Authorization": auth}, timeout=5
        ).json()["created_at"]
        for pid in ids
    ]
    return list(zip(ids, created, strict=True))


@pytest.fixture(scope="module")
def server(sandbox_server: RunningSandbox, tmp_path_factory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("web")
    url = f"sqlite:///{tmp / 'web.db'}"
    db = get_database(url)
    upgrade(db)
    sandbox_server.reset()
    ops = make_ops(db, sandbox_server.url)
    payments = _sandbox_payments(sandbox_server, 11)
    for pid, _ in payments[:10]:
        link_payment(ops, ADMIN, pid)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("PAIDY_SECRET_KEY",)}
    env.update(
        DATABASE_URL=url,
        PAIDY_API_BASE=sandbox_server.url,
        AUTH_MODE="none",
        WEBHOOK_TOKEN=TOKEN,
        STREAMLIT_BROWSER_GATHER_USAGE_STATS="false",
    )
    log_path = tmp / "server.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "streamlit_app.py",
             "--server.port", str(port), "--server.headless", "true",
             "--server.address", "127.0.0.1"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if requests.get(f"{base}/_stcore/health", timeout=1).ok:
                        break
                except requests.RequestException:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("streamlit did not start:\n" + log_path.read_text()[-3000:])
                time.sleep(0.2)  # ok-sleep: poll until the server listens (deadline above)
            yield Server(base, ops, sandbox_server, payments[:10], payments[10][0])
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
            dispose_database(url)
    log_text = log_path.read_text()
    assert "Traceback" not in log_text, log_text[-3000:]
    assert TOKEN not in log_text


def test_healthz_is_json_and_holds_no_secret(server):
    r = requests.get(f"{server.base}/healthz", timeout=60)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"status", "database", "workers", "queue", "mode", "webhooks"}
    assert body["status"] == "ok" and body["mode"] == "demo" and body["webhooks"] is True
    assert body["database"]["reachable"] is True and body["database"]["ms"] >= 0
    assert body["workers"]["alive"] == body["workers"]["expected"] > 0
    for secret in (TOKEN, "web.db", "sqlite", "sk_test", server.sandbox.url):
        assert secret not in r.text


def test_a_wrong_token_is_404_and_nothing_happens(server):
    pid = server.payments[0][0]
    jobs, hinted = server.jobs(), unlinked.unlinked_count(server.ops)
    for token in ("wrong", TOKEN[:-1], TOKEN + "x", TOKEN.upper(), "x" * len(TOKEN)):
        r = server.hook({"payment_id": pid}, token=token)
        assert r.status_code == 404, token
        r = server.hook({"payment_id": server.unknown}, token=token)
        assert r.status_code == 404, token
    assert server.jobs() == jobs and unlinked.unlinked_count(server.ops) == hinted


def test_bodies_that_are_not_hints_are_refused_quietly(server):
    jobs = server.jobs()
    assert server.hook(b"not json").status_code == 400
    assert server.hook(b'{"payment_id": "pay_../x"}').status_code == 400
    assert server.hook([server.payments[0][0]]).status_code == 400
    big = b'{"payment_id": "%s", "pad": "%s"}' % (server.payments[0][0].encode(), b"x" * 70_000)
    assert server.hook(big).status_code == 413
    assert server.jobs() == jobs


def test_a_known_payment_gets_one_refresh_which_the_app_worker_runs(server):
    pid, _ = server.payments[0]
    before = server.gets()
    r = server.hook({"payment_id": pid, "status": "capture_success", "event_type": "payment"})
    assert r.status_code == 200 and r.json() == {"received": "scheduled"}
    with server.ops.db.session() as s:
        job_id = s.scalar(
            select(BatchItem.job_id)
            .where(BatchItem.payment_id == pid)
            .order_by(BatchItem.id.desc())
        )

    def done() -> bool:
        with server.ops.db.session() as s:
            return s.get(BatchJob, job_id).status == "done"

    server.wait_until(done, "the refresh job to be run by the server's worker")
    with server.ops.db.session() as s:
        item = s.scalar(select(BatchItem).where(BatchItem.job_id == job_id))
        assert item.status == "ok" and item.worker.startswith("app-")
    assert server.gets() == before + 1


def test_a_flood_of_1000_hints_for_10_payments_reads_each_payment_once(server):
    server.wait_until(lambda: server.unfinished() == 0, "earlier jobs to finish")
    before = server.gets()
    # Paidy re-sends an event until it is acknowledged: replays carry the event's own time
    hints = [
        {"payment_id": pid, "status": "authorize_success", "timestamp": created}
        for _ in range(100)
        for pid, created in server.payments
    ]

    def post_many(chunk: list[dict]) -> list[int]:
        with requests.Session() as http:
            url = f"{server.base}/webhooks/paidy/{TOKEN}"
            return [http.post(url, json=h, timeout=60).status_code for h in chunk]

    with ThreadPoolExecutor(8) as pool:
        codes = [c for part in pool.map(post_many, [hints[i::8] for i in range(8)]) for c in part]
    assert codes == [200] * 1000
    server.wait_until(lambda: server.unfinished() == 0, "the refresh jobs to finish", 120)
    reads = server.gets() - before
    assert reads <= 10, f"{reads} reads of Paidy for 1,000 hints about 10 payments"
    with server.ops.db.session() as s:  # and every payment was read since its event
        read = set(
            s.scalars(
                select(BatchItem.payment_id).where(
                    BatchItem.status == "ok", BatchItem.claimed_at > utcnow() - timedelta(hours=1)
                )
            )
        )
    assert read == {pid for pid, _ in server.payments}


def test_an_unknown_payment_is_listed_for_linking(server):
    r = server.hook({"payment_id": server.unknown, "status": "authorize_success"})
    assert r.status_code == 200 and r.json() == {"received": "unlinked"}
    assert server.hook({"payment_id": server.unknown}).json() == {"received": "unlinked"}
    listed = unlinked.unlinked_payments(server.ops).set_index("payment_id")
    assert int(listed.loc[server.unknown, "hints"]) == 2
    linked = unlinked.link(server.ops, ADMIN, server.unknown)
    assert linked.created_order
    with server.ops.db.session() as s:
        assert s.get(UnlinkedPayment, server.unknown) is None
    r = server.hook({"payment_id": server.unknown})
    assert r.json() == {"received": "scheduled"}


def test_without_a_token_there_is_no_webhook_route():
    from core.settings import Settings
    from core.web import HEALTH_PATH, WEBHOOK_PATH, routes
    from core.web_session import LOGOUT_PATH, SESSION_PATH

    always = [HEALTH_PATH, SESSION_PATH, LOGOUT_PATH]
    assert [r.path for r in routes(lambda: None, Settings(webhook_token=None))] == always
    assert [r.path for r in routes(lambda: None, Settings(webhook_token="  "))] == always
    with_token = routes(lambda: None, Settings(webhook_token=TOKEN))
    assert [r.path for r in with_token] == [*always, WEBHOOK_PATH]


def test_healthz_says_error_when_the_runtime_cannot_start():
    from core.settings import Settings
    from core.web import Handlers

    def broken():
        raise RuntimeError(f"cannot open postgresql://ops:{TOKEN}@db/x")

    found = Handlers(broken, Settings(webhook_token=TOKEN))._health()
    assert not found.ok
    body = found.as_json()
    assert body["status"] == "error" and body["database"]["reachable"] is False
    assert body["workers"] == {"alive": 0, "expected": 0} and body["webhooks"] is True
    assert TOKEN not in str(body) and "postgresql" not in str(body)


# --------------------------------------------------------------- the login cookie's routes
def test_a_login_ticket_becomes_an_httponly_session_cookie_once(server):
    from core import web_session as ws
    from core.auth.users import add_user

    add_user(server.ops.db, "suzuki", "operator", "a long enough password 1")
    ticket = ws.issue(server.ops.db, "suzuki", "ticket", ws.TICKET_TTL)
    start = f"{server.base}{ws.SESSION_PATH}"
    r = requests.get(
        start, params={"ticket": ticket, "next": "/order?order=3&lang=en"},
        allow_redirects=False, timeout=30,
    )  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == "/order?order=3&lang=en"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{ws.COOKIE}=") and "HttpOnly" in cookie
    assert "SameSite=lax" in cookie and "Path=/" in cookie and "Max-Age=" in cookie
    assert ws.verify(server.ops.db, r.cookies[ws.COOKIE], "session").name == "suzuki"
    # the same ticket again, a forged one, or none: no cookie, and never off this app
    for params in ({"ticket": ticket}, {"ticket": ticket[:-2] + "xx"}, {},
                   {"ticket": ticket, "next": "//evil.example/"}):  # fmt: skip
        again = requests.get(start, params=params, allow_redirects=False, timeout=30)
        assert again.status_code == 303 and "set-cookie" not in again.headers, params
        assert again.headers["location"].startswith("/") and "evil" not in again.headers["location"]


def test_logging_out_clears_the_cookie(server):
    from core import web_session as ws

    r = requests.get(f"{server.base}{ws.LOGOUT_PATH}", params={"next": "/orders"},
                     allow_redirects=False, timeout=30)  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == "/orders"
    cleared = r.headers["set-cookie"]
    assert cleared.startswith(f'{ws.COOKIE}="";') or cleared.startswith(f"{ws.COOKIE}=;")
    assert "Max-Age=0" in cleared or "expires=Thu, 01 Jan 1970" in cleared
