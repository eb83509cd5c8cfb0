"""Chromium: the operator opens 受注管理, makes the list PDF and downloads it; the file is
read back with pdftotext."""

from __future__ import annotations

import re

from core.search import OrderQuery, search_orders
from core.storage.db import get_database
from core.timeutil import utcnow
from tests.e2e.helpers import button, click_button, expect_text, goto, screenshot
from tests.pdf_helpers import needs_poppler, pdf_text, render_first_page

pytestmark = needs_poppler


def test_list_pdf_download(page, app_server):
    goto(page, app_server.base, "/orders")
    page.get_by_text("CSV出力", exact=True).click()
    click_button(page, "PDFを作成")
    expect_text(page, re.compile(r"40件のPDFを作成しました"))
    screenshot(page, "11_orders_pdf")
    with page.expect_download() as info:
        button(page, "PDFをダウンロード").click()
    download = info.value
    assert re.fullmatch(r"orders_\d{8}_\d{4}\.pdf", download.suggested_filename)
    data = open(download.path(), "rb").read()
    render_first_page(data, "e2e_orders_list")
    text = pdf_text(data)
    pages = text.split("\f")
    assert "受注一覧" in pages[0] and "全 40件" in pages[0] and "ページ 1 / 2" in pages[0]
    assert "合計 40件" in pages[1] and "ページ 2 / 2" in pages[1]
    newest = search_orders(
        get_database(app_server.db_url), OrderQuery(), now=utcnow(), page_size=3
    ).frame
    for name, no in zip(newest["customer_name"], newest["order_no"], strict=True):
        assert name in text and f" {int(no)} " in text
