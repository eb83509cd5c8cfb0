"""メール通知 in a real browser: open an order from the list row's mail link (a deep link),
choose a template, read the preview, send; the mail is in the embedded demo SMTP server's
Maildir (parsed with the ``email`` package) and in the order page's demo inbox."""

from __future__ import annotations

import mailbox
import re
from email import policy
from email.parser import BytesParser

import pytest
from playwright.sync_api import expect

from core.search import OrderQuery, get_order, search_orders
from core.storage.db import get_database
from core.timeutil import utcnow
from tests.e2e.helpers import (
    button,
    click_button,
    expect_text,
    goto,
    screenshot,
    select_option,
    wait_for_app_run,
)

pytestmark = pytest.mark.e2e


def test_send_a_mail_from_the_order_page_and_find_it_in_the_inbox(page, app_server):
    db = get_database(app_server.db_url)
    found = search_orders(db, OrderQuery(paidy_state=["expired"]), now=utcnow(), page_size=5)
    no = int(found.frame["order_no"].iloc[0])
    order = get_order(db, no)
    goto(page, app_server.base, f"/order?order={no}&mail=1")
    preview = page.locator("[data-testid='stCode']").first
    expect(preview).to_contain_text("以下の内容でご注文を承りました")
    select_option(page, "テンプレート", "キャンセル")
    subject = f"【デモショップ】ご注文キャンセルのお知らせ(注文番号: {no})"
    expect(preview).to_contain_text("キャンセルの手続きを承りました")
    expect(preview).to_contain_text(f"{order.customer_name} 様")
    click_button(page, "このメールを送信する")
    expect_text(page, "メール「キャンセル」を送信しました。")
    expect(button(page, "このメールを送信する")).to_have_count(0)  # sent: only「もう一度送信する」
    # the order page's demo inbox shows the kept mail (its picker holds the subject)
    picker = page.locator("[data-testid='stSelectbox']").filter(
        has=page.get_by_text("表示するメール", exact=True)
    )
    expect(picker.locator("input")).to_have_value(re.compile(re.escape(subject)))
    wait_for_app_run(page)
    screenshot(page, "order-mail-sent")

    box = mailbox.Maildir(app_server.mail_dir, create=False)
    kept = [BytesParser(policy=policy.default).parsebytes(box.get_bytes(k)) for k in box.keys()]
    mine = [m for m in kept if m["Subject"] == subject]
    assert len(mine) == 1
    msg = mine[0]
    assert msg["To"].addresses[0].addr_spec == order.email
    assert msg["To"].addresses[0].display_name == order.customer_name
    assert msg["From"].addresses[0].display_name == "デモショップ"
    assert f"注文番号: {no}" in msg.get_body(("plain",)).get_content()
