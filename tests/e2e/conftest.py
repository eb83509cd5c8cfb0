"""A real Streamlit server (subprocess) on a temp SQLite database with 40 demo orders whose
payments live in a sandbox started in this process, and a headless Debian Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def _skip_reason() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"Chromium not found at {CHROMIUM} (set CHROMIUM_PATH)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed"
    return None


def pytest_collection_modifyitems(config, items):
    reason = _skip_reason()
    for item in items:
        if "tests/e2e" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.e2e)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class Server:
    base: str
    db_url: str
    sandbox_url: str = ""  # the sandbox the server's payments live in (to add payments)
    mail_dir: str = ""  # the embedded demo SMTP server's Maildir (メール通知)


@pytest.fixture(scope="session")
def app_server(tmp_path_factory) -> Iterator[Server]:
    with run_server(tmp_path_factory.mktemp("e2e")) as server:
        yield server


@contextmanager
def run_server(tmp: Path, *, log_name: str = "e2e-server.log", **env_extra: str):
    """``streamlit run`` on a fresh SQLite database with 40 demo orders (sandbox in this
    process); ``env_extra`` overrides the environment (``AUTH_MODE="password"``)."""
    from core.paidy.sandbox import start_sandbox
    from core.storage.db import dispose_database, get_database, upgrade
    from core.storage.demo import seed_demo

    url = f"sqlite:///{tmp / 'e2e.db'}"
    with start_sandbox() as sandbox:
        db = get_database(url)
        upgrade(db)
        seed_demo(db, sandbox_url=sandbox.url, orders=40, seed=1)
        dispose_database(url)
        port = _free_port()
        env = {k: v for k, v in os.environ.items() if k != "PAIDY_SECRET_KEY"}
        env.update(
            DATABASE_URL=url,
            PAIDY_API_BASE=sandbox.url,
            AUTH_MODE="none",
            STREAMLIT_BROWSER_GATHER_USAGE_STATS="false",
            DEMO_MAIL_DIR=str(tmp / "demo_mail"),
        )
        env.update(env_extra)
        log = open(tmp / "server.log", "w")
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "streamlit_app.py",
                "--server.port",
                str(port),
                "--server.headless",
                "true",
                "--server.address",
                "127.0.0.1",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
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
                    log.flush()
                    pytest.fail(
                        "streamlit did not start:\n" + (tmp / "server.log").read_text()[-3000:]
                    )
                time.sleep(0.2)  # ok-sleep: poll until the server listens (deadline above)
            yield Server(base, url, sandbox.url, str(tmp / "demo_mail"))
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
            log.close()
            (ROOT / "artifacts").mkdir(exist_ok=True)
            shutil.copyfile(tmp / "server.log", ROOT / "artifacts" / log_name)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield b
        b.close()


@pytest.fixture
def page(browser, app_server):
    context = browser.new_context(
        viewport={"width": 1600, "height": 1100}, locale="ja-JP", accept_downloads=True
    )
    p = context.new_page()
    p.set_default_timeout(30_000)
    yield p
    context.close()
