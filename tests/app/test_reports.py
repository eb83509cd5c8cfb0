"""AppTest: the 受注管理 list's 「PDF」 and 「帳票の作成」 and the order page's 「帳票の作成」
exist and produce PDF downloads, read back with pdftotext."""

from __future__ import annotations

from core.search import get_order
from core.settings import reload_settings
from tests.app.conftest import assert_clean, grid, joined
from tests.app.conftest import tick as tick_rows
from tests.pdf_helpers import needs_poppler, pdf_text, render_first_page

pytestmark = needs_poppler


def tick(at, rows: list[int]) -> list[int]:
    """Tick grid rows (positions); returns their order numbers."""
    frame = grid(at, "orders_grid").value
    tick_rows(at, "orders_grid", rows)
    return [int(frame["order_no"].iloc[i]) for i in rows]


def test_list_pdf_of_all_matching_orders(app_env):
    at = app_env.app("pages/orders.py")
    assert_clean(at)
    at.button(key="orders_pdf_build").click().run()
    assert_clean(at)
    assert "40件のPDFを作成しました(2ページ)。" in joined(at)  # 32 rows a page
    assert at.download_button(key="orders_pdf_download").label == "PDFをダウンロード"
    data = at.session_state["orders_pdf"]["data"]
    text = pdf_text(data)
    render_first_page(data, "app_orders_list")
    assert "受注一覧" in text and "合計 40件" in text and "全 40件" in text
    first = grid(at, "orders_grid").value.iloc[0]
    assert str(first["customer"]) in text and f" {int(first['order_no'])} " in text


def test_list_pdf_of_the_ticked_orders(app_env):
    at = app_env.app("pages/orders.py")
    chosen = tick(at, [0, 2])
    at.radio(key="orders_pdf_scope").set_value("ticked").run()
    at.button(key="orders_pdf_build").click().run()
    assert_clean(at)
    text = pdf_text(at.session_state["orders_pdf"]["data"])
    assert "合計 2件" in text
    for n in chosen:
        assert get_order(app_env.db, n).customer_name in text


def test_slips_of_the_ticked_orders(app_env, monkeypatch):
    monkeypatch.setenv("SHOP_NAME", "アプリ商店")
    reload_settings()
    at = app_env.app("pages/orders.py")
    assert at.button(key="orders_slips_build").disabled  # nothing ticked yet
    chosen = tick(at, [1, 3, 4])
    assert not at.button(key="orders_slips_build").disabled
    at.button(key="orders_slips_build").click().run()
    assert_clean(at)
    assert "3件の納品書を作成しました" in joined(at)
    assert at.download_button(key="orders_slips_download")
    pages = pdf_text(at.session_state["orders_slips"]["data"]).split("\f")
    for page, n in zip(pages, chosen, strict=False):
        order = get_order(app_env.db, n)
        assert f"注文番号 {n}" in page and f"{order.customer_name} 様" in page
        assert "アプリ商店" in page and f"￥{order.total:,}" in page


def test_order_page_makes_its_delivery_slip(app_env):
    n = app_env.order_in_state("open")
    at = app_env.app("pages/order.py", query={"order": n})
    assert_clean(at)
    assert at.button(key=f"slip_build_{n}").label == "帳票の作成"
    at.button(key=f"slip_build_{n}").click().run()
    assert_clean(at)
    assert at.download_button(key=f"slip_download_{n}").label == "帳票(PDF)をダウンロード"
    data = at.session_state["order_slip"]["data"]
    render_first_page(data, "app_order_slip")
    text = pdf_text(data)
    order = get_order(app_env.db, n)
    assert f"注文番号 {n}" in text and f"{order.customer_name} 様" in text
    assert order.items[0].product_name in text and f"￥{order.total:,}" in text


def test_too_many_rows_for_a_pdf_is_a_clear_message(app_env, monkeypatch):
    from core.reports import list_pdf

    monkeypatch.setattr(list_pdf, "MAX_ROWS", 10)
    at = app_env.app("pages/orders.py")
    at.button(key="orders_pdf_build").click().run()
    assert_clean(at)
    assert any("PDFに出力できるのは10件までです(40件が該当)" in e.value for e in at.error)
    assert not [b for b in at.download_button if b.key == "orders_pdf_download"]  # no PDF
