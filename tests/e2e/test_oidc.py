"""AUTH_MODE=oidc against a real local OpenID provider (``oidc-provider-mock``: discovery,
authorization form, tokens, userinfo, end session on localhost) through Streamlit's
``st.login`` in Chromium: the role comes from the e-mail (AUTH_ADMIN_EMAILS, a known user,
anyone else a viewer), logout works, and a disabled user is refused after a successful
login at the provider and loses an open session at the next click."""

from __future__ import annotations

import os
import secrets
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
from playwright.sync_api import Page, expect

from core.auth import users
from core.storage.db import dispose_database, get_database, upgrade
from tests.e2e.helpers import TIMEOUT_MS, button, wait_for_app_loaded, wait_for_app_run

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
LOGIN = "シングルサインオンでログイン"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class OidcServer:
    base: str
    db_url: str


@contextmanager
def _streamlit(tmp: Path, env: dict[str, str], port: int, secrets_file: Path) -> Iterator[str]:
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
            "--secrets.files",
            str(secrets_file),
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
                pytest.fail("streamlit did not start:\n" + (tmp / "server.log").read_text()[-3000:])
            time.sleep(0.2)  # ok-sleep: poll until the server listens (deadline above)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def oidc_server(tmp_path_factory) -> Iterator[OidcServer]:
    from oidc_provider_mock import run_server_in_thread

    from core.paidy.sandbox import start_sandbox
    from core.storage.demo import seed_demo

    tmp = tmp_path_factory.mktemp("oidc")
    url = f"sqlite:///{tmp / 'oidc.db'}"
    with run_server_in_thread() as idp, start_sandbox() as sandbox:
        db = get_database(url)
        upgrade(db)
        seed_demo(db, sandbox_url=sandbox.url, orders=10, seed=2)
        users.add_user(db, "tanaka", "operator", email="tanaka@shop.jp")
        users.add_user(db, "sato", "operator", email="sato@shop.jp")
        users.disable(db, "sato")
        dispose_database(url)
        port = _free_port()
        secrets_file = tmp / "secrets.toml"
        secrets_file.write_text(
            "[auth]\n"
            f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
            f'cookie_secret = "{secrets.token_hex(32)}"\n'
            'client_id = "paidy-ops"\n'
            f'client_secret = "{secrets.token_hex(16)}"\n'
            "server_metadata_url = "
            f'"http://localhost:{idp.server_port}/.well-known/openid-configuration"\n'
        )
        env = {k: v for k, v in os.environ.items() if k != "PAIDY_SECRET_KEY"}
        env.update(
            DATABASE_URL=url,
            PAIDY_API_BASE=sandbox.url,
            AUTH_MODE="oidc",
            AUTH_ADMIN_EMAILS="boss@shop.jp",
            AUTH_OPERATOR_EMAILS="ops@shop.jp",
            STREAMLIT_BROWSER_GATHER_USAGE_STATS="false",
        )
        with _streamlit(tmp, env, port, secrets_file) as base:
            yield OidcServer(base, url)


@pytest.fixture
def fresh(browser):
    """A browser context of its own per login (no shared identity cookie)."""
    contexts = []

    def new() -> Page:
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="ja-JP")
        contexts.append(ctx)
        p = ctx.new_page()
        p.set_default_timeout(TIMEOUT_MS)
        return p

    yield new
    for ctx in contexts:
        ctx.close()


def login_at_provider(page: Page, server: OidcServer, email: str) -> None:
    page.goto(server.base)
    wait_for_app_loaded(page)
    button(page, LOGIN).click()
    sub = page.locator("input[name='sub']")  # the provider's own authorization form
    expect(sub).to_be_visible(timeout=TIMEOUT_MS)
    sub.fill(email)
    page.get_by_role("button", name="Authorize", exact=True).click()
    page.wait_for_url(f"{server.base}/**", timeout=TIMEOUT_MS)
    wait_for_app_loaded(page)


def user_line(page: Page):
    return page.get_by_test_id("stSidebar").get_by_text("ユーザー:")


def test_admin_by_email_logs_in_and_out(fresh, oidc_server):
    page = fresh()
    login_at_provider(page, oidc_server, "Boss@Shop.jp")
    expect(user_line(page)).to_have_text("ユーザー: boss@shop.jp(管理者)", timeout=TIMEOUT_MS)
    expect(page.get_by_role("heading", name="ダッシュボード")).to_be_visible()
    button(page, "ログアウト").click()
    end = page.get_by_role("button", name="End session", exact=True)  # provider's logout
    expect(end).to_be_visible(timeout=TIMEOUT_MS)
    end.click()
    page.wait_for_url(f"{oidc_server.base}/**", timeout=TIMEOUT_MS)
    wait_for_app_loaded(page)
    expect(button(page, LOGIN)).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.get_by_role("heading", name="ダッシュボード")).to_have_count(0)


def test_known_user_and_stranger_get_their_roles(fresh, oidc_server):
    page = fresh()
    login_at_provider(page, oidc_server, "tanaka@shop.jp")
    expect(user_line(page)).to_have_text("ユーザー: tanaka(オペレーター)", timeout=TIMEOUT_MS)
    page = fresh()
    login_at_provider(page, oidc_server, "someone@else.jp")
    expect(user_line(page)).to_have_text("ユーザー: someone@else.jp(閲覧者)", timeout=TIMEOUT_MS)


def test_a_disabled_user_is_refused_after_a_successful_provider_login(fresh, oidc_server):
    page = fresh()
    login_at_provider(page, oidc_server, "sato@shop.jp")
    expect(page.get_by_text("このアカウント(sato@shop.jp)は利用できません")).to_be_visible(
        timeout=TIMEOUT_MS
    )
    expect(page.get_by_role("heading", name="ダッシュボード")).to_have_count(0)
    expect(page.get_by_test_id("stSidebarNav")).to_have_count(0)


def test_disabling_ends_an_open_session_at_the_next_click(fresh, oidc_server):
    db = get_database(oidc_server.db_url)
    users.add_user(db, "kimura", "operator", email="kimura@shop.jp")
    page = fresh()
    login_at_provider(page, oidc_server, "kimura@shop.jp")
    expect(user_line(page)).to_have_text("ユーザー: kimura(オペレーター)", timeout=TIMEOUT_MS)
    users.disable(db, "kimura")
    page.get_by_test_id("stSidebarNav").get_by_text("受注管理").click()
    expect(page.get_by_text("このアカウント(kimura@shop.jp)は利用できません")).to_be_visible(
        timeout=TIMEOUT_MS
    )
    expect(page.get_by_role("heading", name="受注管理")).to_have_count(0)
    # the refusal offers only its own logout; the sidebar's (the open session's) is gone
    # once the run ends (until then Streamlit still shows the previous run's elements)
    wait_for_app_run(page)
    sidebar = page.get_by_test_id("stSidebarUserContent")
    expect(sidebar.get_by_role("button", name="ログアウト", exact=True)).to_have_count(0)
    button(page, "ログアウト").click()  # and out at the provider too
    expect(page.get_by_role("button", name="End session", exact=True)).to_be_visible(
        timeout=TIMEOUT_MS
    )
