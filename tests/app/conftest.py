"""AppTest fixtures: a fresh SQLite database seeded with 40 deterministic demo orders whose
payments live in a real sandbox, the app's settings pointed at both, Streamlit caches
cleared (so each test gets its own runtime and batch workers)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from core.search import OrderQuery, search_orders
from core.settings import reload_settings
from core.storage.db import Database, dispose_database, get_database
from core.storage.demo import seed_demo
from core.timeutil import utcnow

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "streamlit_app.py")
INTERNAL_ERROR = ("画面の表示中にエラーが発生しました", "Something went wrong while showing")


@dataclass
class AppEnv:
    db: Database
    url: str
    sandbox_url: str

    def app(
        self,
        page: str | None = None,
        *,
        query: dict | None = None,
        lang: str | None = None,
        state: dict | None = None,
    ) -> AppTest:
        """Run the entry script once, then switch to ``page`` (e.g. "pages/orders.py")."""
        at = AppTest.from_file(APP, default_timeout=30)
        for k, v in (state or {}).items():
            at.session_state[k] = v
        if lang:
            at.session_state["ui_lang"] = lang
        at.run()
        if page:
            for k, v in (query or {}).items():
                at.query_params[k] = str(v)
            at.switch_page(page).run()
        return at

    def order_in_state(self, state: str, **extra) -> int:
        """An order number whose payment is in the derived Paidy ``state`` (and ``extra``)."""
        found = search_orders(
            self.db,
            OrderQuery(paidy_state=[state], **extra),
            now=utcnow(),
            sort="order_no",
            descending=False,
            page_size=100,
        )
        assert found.total, f"demo data has no {state} payment"
        return int(found.frame["order_no"].iloc[0])

    def orders_in_state(self, state: str) -> list[int]:
        found = search_orders(
            self.db,
            OrderQuery(paidy_state=[state]),
            now=utcnow(),
            sort="order_no",
            descending=False,
            page_size=100,
        )
        return [int(n) for n in found.frame["order_no"]]


@pytest.fixture(autouse=True)
def navigation_mode(monkeypatch, request):
    """Run pages through the entry script's st.navigation, as a server does once any session
    has called st.navigation (``PagesManager.uses_pages_directory`` is process-wide there;
    AppTest resets it to "pages/ folder" mode before every run, which would run a page file
    without the entry script). Tests marked ``pages_dir_mode`` keep AppTest's behaviour, to
    check that a page run directly still passes the login gate."""
    if request.node.get_closest_marker("pages_dir_mode"):
        return
    from streamlit.runtime.pages_manager import PagesManager

    original = PagesManager.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init)


def pytest_configure(config):
    config.addinivalue_line("markers", "pages_dir_mode: run pages the way AppTest does by default")


@pytest.fixture
def app_env(sandbox, sqlite_template, tmp_path, monkeypatch) -> Iterator[AppEnv]:
    path = tmp_path / "app.db"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite:///{path}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("PAIDY_API_BASE", sandbox.url)
    monkeypatch.setenv("AUTH_MODE", "none")
    monkeypatch.delenv("PAIDY_SECRET_KEY", raising=False)
    reload_settings()
    db = get_database(url)
    seed_demo(db, sandbox_url=sandbox.url, orders=40, seed=1)
    st.cache_resource.clear()
    st.cache_data.clear()
    yield AppEnv(db, url, sandbox.url)
    st.cache_resource.clear()  # stops this test's batch workers (on_release)
    monkeypatch.undo()
    reload_settings()
    dispose_database(url)


def texts(at: AppTest) -> list[str]:
    """Every visible text-ish value of the last run (markdown, text, alerts, captions, titles)."""
    out: list[str] = []
    for kind in (
        "title",
        "header",
        "subheader",
        "markdown",
        "text",
        "caption",
        "success",
        "info",
        "warning",
        "error",
    ):
        out.extend(str(e.value) for e in getattr(at, kind))
    return out


def joined(at: AppTest) -> str:
    return "\n".join(texts(at))


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    errors = [str(e.value) for e in at.error]
    assert not any(msg in e for e in errors for msg in INTERNAL_ERROR), errors


def button_labels(at: AppTest) -> list[str]:
    return [b.label for b in at.button]


def frame_with(at: AppTest, *columns: str):
    """The value of the first table having all ``columns`` (read-only tables have no key)."""
    for df in at.dataframe:
        if set(columns) <= set(df.value.columns):
            return df.value
    raise AssertionError(f"no table with columns {columns}")


def run_until(at: AppTest, predicate, timeout: float = 20.0) -> AppTest:
    """Rerun until ``predicate(at)`` holds (batch jobs run on the runtime's worker threads)."""
    deadline = time.monotonic() + timeout
    while True:
        at.run()
        if predicate(at):
            return at
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached:\n" + joined(at))
        time.sleep(0.2)  # ok-sleep: poll interval of a wait-for-condition loop with a deadline


def grid(at: AppTest, base: str):
    """The ticking grid ``base`` ("orders_grid", "batch_grid"): its widget key carries the
    selection's generation (pages/_selection.py), so it is found by prefix."""
    found = [e for e in at.dataframe if str(getattr(e, "key", "")).startswith(f"{base}__g")]
    assert len(found) == 1, [getattr(e, "key", None) for e in at.dataframe]
    return found[0]


def tick(at: AppTest, base: str, rows: list[int]) -> AppTest:
    """Tick ``rows`` (positions) of grid ``base`` as the browser would, and rerun."""
    at.session_state[grid(at, base).key] = {"selection": {"rows": list(rows), "columns": []}}
    return at.run()


def chosen(at: AppTest, base: str) -> list[int]:
    """The order numbers the page holds as chosen for grid ``base`` (in list order)."""
    sel = at.session_state[f"{base}_selection"]
    shown = [int(n) for n in grid(at, base).value["order_no"]]
    return [n for n in shown if n in sel.chosen]
