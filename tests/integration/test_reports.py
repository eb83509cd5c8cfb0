"""List PDF and 帳票 (納品書) on both databases, read back with pdftotext: Japanese names,
order numbers, totals, page numbers, the total line; page 1 of each kind rendered to
artifacts/pdf/ with pdftoppm."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert

from core.export import (
    DEFAULT_COLUMNS,
    EXPORT_COLUMNS,
    ExportError,
    export_to_bytes,
    get_column_set,
    save_column_set,
)
from core.reports.list_pdf import export_pdf, export_pdf_to_bytes
from core.reports.slips import (
    MAX_SLIPS,
    NoSuchOrders,
    Shop,
    SlipsError,
    slips_to_bytes,
    write_slips,
)
from core.search import OrderQuery
from core.storage.models import Order, OrderItem, PaidyPayment
from core.timeutil import JST
from tests.pdf_helpers import needs_poppler, pages_of, pdf_text, render_first_page

pytestmark = needs_poppler

NOW = datetime(2025, 6, 1, 3, 0, tzinfo=UTC)  # 12:00 JST
SHOP = Shop("テスト商店 渋谷本店", "〒150-0041 東京都渋谷区神南1-2-3 テストビル4F", "03-9876-5432")


def squash(text: str) -> str:
    """Runs of spaces as one (pdftotext -layout pads by position)."""
    return re.sub(r"[ \t]+", " ", text)


def jst(y, m, d, hh=12, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=JST).astimezone(UTC)


def add_order(db, no, name, *, items=(("SKU-1", "今治タオル", 1200, 2),), shipping=550,
              ordered_at=None, payment=None, **kw) -> None:  # fmt: skip
    subtotal = sum(price * qty for _, _, price, qty in items)
    tax = subtotal * 10 // 100
    row = dict(
        order_no=no,
        ordered_at=ordered_at or jst(2025, 5, 20),
        updated_at=jst(2025, 5, 21),
        customer_name=name,
        customer_kana="テスト",
        email=f"c{no}@example.com",
        zip="530-0001",
        prefecture="大阪府",
        address1="大阪市北区梅田1-1-1",
        address2="梅田ハイツ202",
        payment_method="paidy",
        subtotal=subtotal,
        shipping_fee=shipping,
        tax=tax,
        total=subtotal + shipping + tax,
        created_at=jst(2025, 5, 20),
    )
    row.update(kw)
    with db.engine.begin() as conn:
        oid = conn.execute(insert(Order).returning(Order.id), row).scalar_one()
        conn.execute(
            insert(OrderItem),
            [
                dict(order_id=oid, position=i, product_code=code, product_name=pname,
                     unit_price=price, quantity=qty)
                for i, (code, pname, price, qty) in enumerate(items, start=1)
            ],
        )  # fmt: skip
        if payment:
            conn.execute(insert(PaidyPayment), {**payment, "order_id": oid})


def captured(pid, amount, captured_amount):
    return dict(
        payment_id=pid,
        status="closed",
        amount=amount,
        authorized_amount=amount,
        captured_amount=captured_amount,
        refunded_amount=0,
        expires_at=NOW + timedelta(days=20),
        test=True,
    )


@pytest.fixture
def shop_data(db):
    # totals: 1200*2 + 550 + 240 = 3,190 / 4,500 + 0 + 450 = 4,950 / 800 + 550 + 80 = 1,430
    add_order(db, 101, "山田 花子", ordered_at=jst(2025, 5, 3, 9),
              payment=captured("pay_101", 3190, 3190))  # fmt: skip
    add_order(db, 102, "髙橋 一郎", items=(("BAG-9", "帆布トートバッグ", 4500, 1),), shipping=0,
              ordered_at=jst(2025, 5, 7))  # fmt: skip
    add_order(db, 103, "佐藤 健", items=(("CUP-2", "波佐見焼 マグカップ", 400, 2),),
              ordered_at=jst(2025, 5, 8))  # fmt: skip
    return db


# ------------------------------------------------------------------------------ List PDF
def test_list_pdf_has_the_csv_columns_rows_total_line_and_page_numbers(shop_data):
    data, report = export_pdf_to_bytes(shop_data, OrderQuery(), now=NOW)
    text = pdf_text(data)
    render_first_page(data, "list_default")
    for key in DEFAULT_COLUMNS:  # the CSV's default columns, by their labels
        assert EXPORT_COLUMNS[key].ja in text, key
    for name, no in (("山田 花子", 101), ("髙橋 一郎", 102), ("佐藤 健", 103)):
        line = next(x for x in text.splitlines() if name in x)
        assert f" {no} " in line
    assert report.rows == 3 and report.pages == 1
    assert report.totals["total"] == 3190 + 4950 + 1430
    total_line = next(x for x in text.splitlines() if "合計 3件" in x)
    assert "9,570" in total_line
    assert "ページ 1 / 1" in text and "全 3件" in text and "受注一覧" in text
    assert "作成日時 2025/06/01 12:00" in text
    # the same rows as the CSV export of the same query
    csv_data, csv_report = export_to_bytes(shop_data, OrderQuery(), now=NOW)
    rows = list(csv.reader(io.StringIO(csv_data.decode("utf-8-sig"))))[1:]
    assert csv_report.rows == report.rows
    assert sum(int(r[DEFAULT_COLUMNS.index("total")]) for r in rows) == report.totals["total"]
    # sorted as asked: newest first by default
    assert text.index("佐藤 健") < text.index("髙橋 一郎") < text.index("山田 花子")


def test_many_rows_make_numbered_pages_with_the_header_on_each(db):
    with db.engine.begin() as conn:
        conn.execute(
            insert(Order),
            [
                dict(order_no=1000 + i, ordered_at=jst(2025, 5, 1) + timedelta(minutes=i),
                     customer_name=f"顧客{i:03d} 様子見", payment_method="paidy", total=1000 + i)
                for i in range(130)
            ],
        )  # fmt: skip
    data, report = export_pdf_to_bytes(db, OrderQuery(), now=NOW, sort="order_no", descending=False)
    pages = pages_of(data)
    assert report.rows == 130 and len(pages) == report.pages >= 3
    for k, page in enumerate(pages, start=1):
        assert f"ページ {k} / {report.pages}" in page
        assert "注文番号" in page and "受注日" in page and "全 130件" in page
    assert all("合計 130件" not in p for p in pages[:-1]) and "合計 130件" in pages[-1]
    text = "".join(pages)
    for i in range(130):  # every row once, in order
        assert text.count(f"顧客{i:03d}") == 1
    assert text.index("顧客000") < text.index("顧客064") < text.index("顧客129")
    assert f"{sum(1000 + i for i in range(130)):,}" in pages[-1]


def test_ticked_orders_in_the_given_order_unknown_numbers_left_out(shop_data):
    data, report = export_pdf_to_bytes(shop_data, None, order_nos=[103, 999, 101, 103], now=NOW)
    text = pdf_text(data)
    assert report.rows == 2
    assert text.index("佐藤 健") < text.index("山田 花子") and "髙橋" not in text
    assert "合計 2件" in text and "4,620" in text  # 1,430 + 3,190


def test_customer_text_is_drawn_as_text_never_markup(db):
    add_order(db, 201, "<b>太字</b> & <font color=red>赤</font>")
    add_order(db, 202, "𠮷田 太郎\t\x07")
    data, _ = export_pdf_to_bytes(db, OrderQuery(), now=NOW)
    text = pdf_text(data)
    assert "<b>太字</b>" in text  # the list cuts the long name to its column, with …
    assert "〓田 太郎" in text  # outside the BMP: the usual missing-character mark
    slips, _ = slips_to_bytes(db, [201, 202], shop=SHOP, now=NOW)
    text = pdf_text(slips)
    assert "<b>太字</b> & <font color=red>赤</font> 様" in text and "〓田 太郎" in text


def test_saved_column_set_and_english_labels(shop_data):
    save_column_set(shop_data, "経理", ["order_no", "customer_name", "captured_amount"])
    columns = get_column_set(shop_data, "経理").columns
    data, report = export_pdf_to_bytes(shop_data, OrderQuery(), columns=columns, lang="en",
                                       now=NOW)  # fmt: skip
    text = pdf_text(data)
    render_first_page(data, "list_column_set_en")
    assert "Order no." in text and "Captured" in text and "Customer name" in text
    assert "Amount" not in text.split("Total")[0]  # only the chosen columns
    total_line = next(x for x in text.splitlines() if "Total 3 orders" in x)
    assert "3,190" in total_line  # captured sum
    assert "amount total 9,570" in total_line  # 購入金額 not shown: its sum in the label
    assert "Page 1 / 1" in text and report.totals["captured_amount"] == 3190


def test_columns_are_checked_like_the_csv(shop_data):
    with pytest.raises(ExportError):
        export_pdf(shop_data, OrderQuery(), io.BytesIO(), columns=["order_no", "nope"])
    with pytest.raises(ExportError):
        export_pdf(shop_data, OrderQuery(), io.BytesIO(), columns=[])


def test_every_column_at_once_still_fits_the_page(shop_data):
    data, report = export_pdf_to_bytes(shop_data, OrderQuery(), columns=list(EXPORT_COLUMNS),
                                       now=NOW)  # fmt: skip
    text = pdf_text(data)
    render_first_page(data, "list_all_columns")
    assert report.pages == 1 and "pay_101" in text and "2025/05/03 09:00" in text


# ------------------------------------------------------------------------------ 帳票
def test_one_slip_per_order_with_shop_customer_items_and_totals(shop_data):
    data, report = slips_to_bytes(shop_data, [102, 101], shop=SHOP, now=NOW)
    render_first_page(data, "slip")
    assert report.done == [102, 101] and report.missing == [] and report.pages == 2
    first, second = pages_of(data)
    for page in (first, second):
        assert "納品書" in page
        assert "テスト商店 渋谷本店" in page
        assert "東京都渋谷区神南1-2-3 テストビル4F" in page and "TEL 03-9876-5432" in page
        assert "〒530-0001" in page and "大阪府 大阪市北区梅田1-1-1 梅田ハイツ202" in page
        assert "発行日 2025/06/01" in page
    assert "髙橋 一郎 様" in first and "注文番号 102" in first and "受注日 2025/05/07" in first
    assert "帆布トートバッグ" in first and "BAG-9" in first and "￥4,500" in first
    assert "注文番号 102 1 / 1" in squash(first)
    lines = {x.split()[0]: x.split()[-1] for x in first.splitlines() if x.split()[:1]
             and x.split()[0] in ("小計", "送料", "消費税", "合計")}  # fmt: skip
    assert lines == {"小計": "￥4,500", "送料": "￥0", "消費税": "￥450", "合計": "￥4,950"}
    assert "山田 花子 様" in second and "今治タオル" in second
    item = next(x for x in second.splitlines() if "今治タオル" in x).split()
    assert item[-3:] == ["2", "￥1,200", "￥2,400"]
    assert "￥3,190" in second and "受注日 2025/05/03" in second


def test_a_long_slip_continues_on_numbered_pages(db):
    items = tuple((f"SKU-{i:03d}", f"商品その{i:03d}", 100 + i, 1) for i in range(60))
    add_order(db, 301, "長井 多恵", items=items)
    add_order(db, 302, "短田 一")
    data, report = slips_to_bytes(db, [301, 302], shop=SHOP, now=NOW)
    pages = pages_of(data)
    assert report.pages == len(pages) >= 3
    slip_301 = [p for p in pages if "注文番号 301" in p]
    n = len(slip_301)
    assert n >= 2
    for k, page in enumerate(slip_301, start=1):
        assert f"注文番号 301 {k} / {n}" in squash(page)
    assert all("納品書(続き)" in p for p in slip_301[1:])
    assert all("小計" not in p for p in slip_301[:-1]) and "小計" in slip_301[-1]
    text = "".join(slip_301)
    assert all(text.count(f"商品その{i:03d}") == 1 for i in range(60))
    assert "注文番号 302 1 / 1" in squash(pages[-1])


def test_unknown_orders_are_reported_and_none_known_writes_nothing(shop_data):
    out = io.BytesIO()
    report = write_slips(shop_data, [101, 999, 101], out, shop=SHOP, now=NOW)
    assert report.done == [101] and report.missing == [999]
    assert squash(pdf_text(out.getvalue())).count("注文番号 101 1 / 1") == 1
    empty = io.BytesIO()
    with pytest.raises(NoSuchOrders) as caught:
        write_slips(shop_data, [998, 999], empty, shop=SHOP, now=NOW)
    assert caught.value.missing == [998, 999] and empty.getvalue() == b""
    assert "998" in caught.value.message("ja") and "見つかりません" in caught.value.message("ja")
    with pytest.raises(SlipsError):
        write_slips(shop_data, list(range(1, MAX_SLIPS + 2)), io.BytesIO(), shop=SHOP)
    with pytest.raises(SlipsError):
        write_slips(shop_data, [], io.BytesIO(), shop=SHOP)


def test_more_rows_than_a_pdf_holds_are_refused_before_drawing(shop_data, monkeypatch):
    from core.reports import list_pdf

    monkeypatch.setattr(list_pdf, "MAX_ROWS", 2)
    out = io.BytesIO()
    with pytest.raises(list_pdf.TooManyRows) as caught:
        export_pdf(shop_data, OrderQuery(), out, now=NOW)
    assert caught.value.matches == 3 and out.getvalue() == b""
    assert "CSV出力" in caught.value.message("ja") and "3件が該当" in caught.value.message("ja")
    with pytest.raises(list_pdf.TooManyRows):
        export_pdf(shop_data, None, out, order_nos=[101, 102, 103], now=NOW)
    assert export_pdf(shop_data, OrderQuery(name="山田"), out, now=NOW).rows == 1
