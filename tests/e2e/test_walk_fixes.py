"""Chromium: what the browser walk found, fixed. One click refunds after typing an amount
(the reason goes to Paidy, the field empties, no error beside the success); the language
stays across page switches, 「選択した受注を編集」, deep links and reloads; /dashboard is the
dashboard; the CSV downloads in one click; on 1366x768 the search form folds away after a
search and the Paidy panel's header is in the first view; and in AUTH_MODE=password a
reload of a deep link keeps the operator logged in (a signed HttpOnly cookie), a forged or
expired cookie is refused and 「ログアウト」 clears it."""

from __future__ import annotations

import io
import time

import pandas as pd
import pytest
from playwright.sync_api import expect

from core.search import get_order
from core.storage.db import get_database
from tests.e2e.conftest import run_server
from tests.e2e.helpers import (
    SCREENSHOTS,
    button,
    click_button,
    dataframe,
    expect_input_value,
    expect_text,
    goto,
    screenshot,
    select_grid_rows,
    set_checkbox,
    through_route,
    wait_for_app_loaded,
    wait_for_app_run,
)
from tests.e2e.test_operator import orders_in_state

pytestmark = pytest.mark.e2e


def title(page) -> str:
    return page.locator("h1").first.inner_text()


# ------------------------------------------------------------------------------ the refund
def test_one_click_refunds_after_typing_and_the_reason_goes_to_paidy(page, app_server):
    no = orders_in_state(app_server, "captured")[-1]
    goto(page, app_server.base, f"/order?order={no}")
    set_checkbox(page, "全額", False)
    amount = page.get_by_label("払い戻し額(円)", exact=True)
    expect(amount).to_be_editable()
    amount.fill("300")  # typed, focus still in the field: no Enter, no blur
    page.get_by_label("払い戻し理由(任意)", exact=True).fill("配送遅延のお詫び")
    page.get_by_role("button", name="払い戻し(リファンド)", exact=True).click()  # one click
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("300円 を払い戻し(リファンド)します")).to_be_visible()
    expect(dialog.get_by_text("払い戻し理由: 配送遅延のお詫び")).to_be_visible()
    dialog.get_by_role("button", name="実行する").click()
    expect_text(page, "払い戻し処理が成功しました")
    wait_for_app_run(page)
    expect_input_value(page, "払い戻し額(円)", "")
    expect_input_value(page, "払い戻し理由(任意)", "")
    expect(page.locator("[data-testid='stAlertContentError']")).to_have_count(0)
    screenshot(page, "lang_refund_done")
    refunds = get_order(get_database(app_server.db_url), no).payment.raw_json["refunds"]
    assert (refunds[-1]["amount"], refunds[-1]["reason"]) == (300, "配送遅延のお詫び")


# ------------------------------------------------------------------------------ language
def test_the_language_stays(page, app_server):
    base = app_server.base
    goto(page, base, "/orders?lang=en")  # a deep link in English
    assert title(page) == "Orders"
    page.get_by_test_id("stSidebarNav").get_by_text("Audit log", exact=True).click()
    wait_for_app_run(page)
    expect(page.locator("h1").first).to_have_text("Audit log")
    expect(page).to_have_url(f"{base}/audit?lang=en")
    page.reload()
    wait_for_app_loaded(page)
    expect(page.locator("h1").first).to_have_text("Audit log")
    # 「選択した受注を編集」 from the list keeps it too
    page.get_by_test_id("stSidebarNav").get_by_text("Orders", exact=True).click()
    wait_for_app_run(page)
    select_grid_rows(page, dataframe(page, 0), [0])
    click_button(page, "Edit the selected order")
    expect(page.locator("h1").first).to_contain_text("Edit order")
    assert "lang=en" in page.url and "order=" in page.url
    page.reload()
    wait_for_app_loaded(page)
    expect(page.locator("h1").first).to_contain_text("Edit order")
    # and back in Japanese: the URL loses it, a reload stays Japanese
    page.get_by_test_id("stSidebar").get_by_text("日本語", exact=True).click()
    wait_for_app_run(page)
    expect(page.locator("h1").first).to_contain_text("受注編集")
    expect(page).not_to_have_url(f"{base}/order?order=.*lang=en.*")
    page.reload()
    wait_for_app_loaded(page)
    expect(page.locator("h1").first).to_contain_text("受注編集")


def test_slash_dashboard_is_the_dashboard(page, app_server):
    for path in ("/dashboard", "/dashboard?lang=en", "/"):
        goto(page, app_server.base, path)
        expect(page.locator("h1").first).to_have_text(
            "Dashboard" if "lang=en" in path else "ダッシュボード"
        )
        expect(page.get_by_text("Page not found")).to_have_count(0)
        assert page.url.split("?")[0].endswith("/dashboard")


# ------------------------------------------------------------------------------ CSV
def test_the_csv_downloads_in_one_click(page, app_server):
    goto(page, app_server.base, "/orders")
    page.get_by_text("CSV出力", exact=True).click()
    expect_text(page, "該当する")
    with page.expect_download() as info:
        button(page, "CSVをダウンロード").click()  # the only click
    data = open(info.value.path(), "rb").read()
    assert data.startswith(b"\xef\xbb\xbf")
    frame = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig")
    assert "注文番号" in frame.columns and len(frame) >= 30
    goto(page, app_server.base, "/audit")
    with page.expect_download() as info:
        button(page, "CSVをダウンロード").click()
    audit = pd.read_csv(io.BytesIO(open(info.value.path(), "rb").read()), encoding="utf-8-sig")
    assert "メッセージ" in audit.columns


# ------------------------------------------------------------------------------ 1366x768
@pytest.fixture
def laptop(browser, app_server):
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="ja-JP")
    p = context.new_page()
    p.set_default_timeout(30_000)
    yield p
    context.close()


def test_on_a_1366x768_screen_the_results_and_the_paidy_panel_are_in_view(laptop, app_server):
    goto(laptop, app_server.base, "/orders")
    click_button(laptop, "この条件で検索する")
    expect(button(laptop, "この条件で検索する")).to_be_hidden()  # the form folded away
    laptop.screenshot(path=str(SCREENSHOTS / "lang_orders_1366x768.png"))
    found = laptop.get_by_text("件が該当しました。").first
    expect(found).to_be_in_viewport()
    no = orders_in_state(app_server, "captured")[0]
    goto(laptop, app_server.base, f"/order?order={no}")
    head = laptop.get_by_text("▼Paidy 決済情報", exact=True)
    expect(head).to_be_visible()
    box = head.bounding_box()
    assert box is not None and box["y"] + box["height"] <= 768, box
    expect(laptop.get_by_text("▼顧客情報", exact=True)).not_to_be_in_viewport()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    laptop.screenshot(path=str(SCREENSHOTS / "lang_order_1366x768.png"))  # the first view


# ------------------------------------------------------------------------------ the cookie
PASSWORD = "a long enough password 1"


@pytest.fixture(scope="module")
def password_server(tmp_path_factory):
    with run_server(
        tmp_path_factory.mktemp("e2e-password"),
        log_name="e2e-password-server.log",
        AUTH_MODE="password",
        SESSION_TIMEOUT_MIN="60",
    ) as server:
        from core.auth.users import add_user

        add_user(get_database(server.db_url), "tanaka", "operator", PASSWORD)
        yield server


@pytest.fixture
def fresh(browser, password_server):
    context = browser.new_context(viewport={"width": 1600, "height": 1100}, locale="ja-JP")
    p = context.new_page()
    p.set_default_timeout(30_000)
    yield p, context
    context.close()


def log_in(page, base: str, path: str) -> None:
    goto(page, base, path)
    expect_text(page, "ログイン")
    page.get_by_label("ユーザー名", exact=True).fill("tanaka")
    page.get_by_label("パスワード", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="ログイン", exact=True).click()


def test_a_reload_keeps_the_login_and_logout_ends_it(fresh, password_server):
    from core import web_session as ws

    page, context = fresh
    base = password_server.base
    no = orders_in_state(password_server, "open")[0]
    with through_route(page, ws.SESSION_PATH):  # the cookie is set there
        log_in(page, base, f"/order?order={no}")
    wait_for_app_loaded(page)
    expect(page.locator("h1").first).to_have_text(f"受注編集 注文番号 {no}")
    expect(page).to_have_url(f"{base}/order?order={no}")  # back where the login was
    cookie = next(c for c in context.cookies() if c["name"] == ws.COOKIE)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    page.reload()  # a new session: still logged in
    wait_for_app_loaded(page)
    expect(page.locator("h1").first).to_have_text(f"受注編集 注文番号 {no}")
    goto(page, base, "/audit?lang=en")  # another deep link, in English
    expect(page.locator("h1").first).to_have_text("Audit log")
    expect(page.get_by_text("User: tanaka (Operator)")).to_be_visible()
    with through_route(page, ws.LOGOUT_PATH):  # and cleared there
        click_button(page, "Log out")
    wait_for_app_loaded(page)
    expect(page.get_by_role("button", name="Log in", exact=True)).to_be_visible()
    assert not [c for c in context.cookies() if c["name"] == ws.COOKIE]
    page.reload()
    wait_for_app_loaded(page)
    expect(page.get_by_role("button", name="Log in", exact=True)).to_be_visible()


def test_a_forged_or_expired_cookie_is_refused(fresh, password_server):
    from core import web_session as ws

    page, context = fresh
    db = get_database(password_server.db_url)
    host = password_server.base.split("//")[1].split(":")[0]
    good = ws.issue(db, "tanaka", "session", 3600)
    body, mac = good.split(".")
    forged = ws._b64(b'{"exp":9999999999,"f":"x","k":"session","n":"n","u":"tanaka"}')
    expired = ws.issue(db, "tanaka", "session", 60, now=time.time() - 120)
    ticket = ws.issue(db, "tanaka", "ticket", 60)
    for value in (f"{forged}.{mac}", f"{body}.{mac[:-2]}xx", expired, ticket):
        context.clear_cookies()
        context.add_cookies([{"name": ws.COOKIE, "value": value, "domain": host, "path": "/"}])
        goto(page, password_server.base, "/orders")
        expect(page.get_by_role("button", name="ログイン", exact=True)).to_be_visible()
        expect(page.locator("h1").first).not_to_have_text("受注管理")
    context.clear_cookies()
    context.add_cookies([{"name": ws.COOKIE, "value": good, "domain": host, "path": "/"}])
    goto(page, password_server.base, "/orders")
    expect(page.locator("h1").first).to_have_text("受注管理")
