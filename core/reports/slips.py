"""帳票 (納品書): one delivery slip per order, several orders in one A4 portrait PDF.

A slip shows the shop (name, address, phone: ``SHOP_NAME`` / ``SHOP_ADDRESS`` /
``SHOP_PHONE`` in settings), the customer (postcode, address, name 様), the order number,
order date and issue date (JST), the items (code, name, quantity, unit price, amount), then
小計, 送料, 消費税 and 合計 as stored on the order (the same figures the order screen shows).
A slip with many items continues on the next page (``納品書(続き)``) with the table header
repeated; its footer says ``注文番号 61  1 / 2``. Slips are the customer's document and are
always in Japanese.

Orders are read one at a time (memory is one order plus the PDF's bytes). Unknown numbers
are not an error of the whole: :func:`write_slips` draws the known ones and reports the
others; only when none is known does it refuse (:class:`SlipsError`) before writing.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

from reportlab.lib.colors import Color
from reportlab.lib.pagesizes import A4
from sqlalchemy import select

from core.bilingual import BilingualError
from core.domain.errors import OrderNotFound
from core.reports.canvas import Document
from core.reports.fonts import GOTHIC, MINCHO, clean, draw, fit, width, wrap
from core.search import get_order
from core.storage.db import Database
from core.storage.models import Order
from core.timeutil import JST, as_utc, utcnow

PAGE = A4
W, H = PAGE
MARGIN = 40.0
MAX_SLIPS = 1000  # per PDF: a larger run is split by the operator
BODY = 9.0
LINE = BODY * 1.5
GREY = Color(0.92, 0.92, 0.92)
RULE = Color(0.55, 0.55, 0.55)
BLACK = Color(0, 0, 0)
GREETING = "このたびはお買い上げいただき、誠にありがとうございます。下記の通り納品いたします。"

#: items table: (label, width in points or None = the rest, right-aligned)
ITEM_COLUMNS: tuple[tuple[str, float | None, bool], ...] = (
    ("No.", 26.0, True),
    ("商品コード", 82.0, False),
    ("商品名", None, False),
    ("数量", 42.0, True),
    ("単価", 72.0, True),
    ("金額", 80.0, True),
)


class SlipsError(BilingualError):
    """No slip can be made (no order chosen, too many orders)."""


class NoSuchOrders(SlipsError):
    """None of the chosen order numbers exists; ``missing`` lists them."""

    def __init__(self, missing: list[int]) -> None:
        self.missing = missing
        numbers = ", ".join(map(str, missing))
        super().__init__(
            f"注文番号 {numbers} の受注は見つかりません。", f"No such order: {numbers}."
        )


@dataclass(frozen=True)
class Shop:
    name: str
    address: str
    phone: str

    @classmethod
    def from_settings(cls, settings) -> Shop:
        return cls(settings.shop_name, settings.shop_address, settings.shop_phone)


@dataclass(frozen=True)
class SlipLine:
    code: str
    name: str
    quantity: int
    unit_price: int

    @property
    def amount(self) -> int:
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class Slip:
    order_no: int
    ordered_at: datetime
    customer_name: str
    postcode: str
    address: str
    lines: tuple[SlipLine, ...]
    subtotal: int
    shipping_fee: int
    tax: int
    total: int


@dataclass(frozen=True)
class SlipsReport:
    done: list[int]  # order numbers with a slip, in the PDF's order
    missing: list[int]  # order numbers that match no order
    pages: int


def slip_of(order: Order) -> Slip:
    """The slip's figures from a loaded order (items by position)."""
    address = " ".join(x for x in (order.prefecture, order.address1, order.address2) if x)
    return Slip(
        order_no=int(order.order_no),
        ordered_at=order.ordered_at,
        customer_name=order.customer_name or "",
        postcode=order.zip or "",
        address=address,
        lines=tuple(
            SlipLine(i.product_code or "", i.product_name or "", int(i.quantity), int(i.unit_price))
            for i in order.items
        ),
        subtotal=int(order.subtotal or 0),
        shipping_fee=int(order.shipping_fee or 0),
        tax=int(order.tax or 0),
        total=int(order.total or 0),
    )


def yen(amount: int) -> str:
    return f"￥{amount:,}" if amount >= 0 else f"-￥{-amount:,}"


def _date(dt: datetime) -> str:
    return as_utc(dt).astimezone(JST).strftime("%Y/%m/%d")


# ------------------------------------------------------------------------------ drawing
class _SlipWriter:
    def __init__(self, out: BinaryIO, shop: Shop, issued: datetime, title: str) -> None:
        self.doc = Document(out, PAGE, title)
        self.c = self.doc.canvas
        self.shop = Shop(clean(shop.name), clean(shop.address), clean(shop.phone))
        self.issued = _date(issued)
        room = W - 2 * MARGIN - sum(w for _, w, _ in ITEM_COLUMNS if w)
        self.widths = [w if w is not None else room for _, w, _ in ITEM_COLUMNS]
        self.xs = [MARGIN + sum(self.widths[:i]) for i in range(len(self.widths))]
        self.name_room = self.widths[2] - 8
        self.slips = 0
        self.counts: dict[str, int] = {}  # form name of each slip -> its page count

    # -- one slip
    def slip(self, slip: Slip) -> None:
        self.slips += 1
        self.form = f"slip{self.slips}"
        self.page_in_slip = 0
        y = self._first_page(slip)
        y = self._table_header(y)
        for n, line in enumerate(slip.lines, start=1):
            names = wrap(clean(line.name), GOTHIC, BODY, self.name_room)
            height = len(names) * LINE + 6
            if y - height < MARGIN + 30:
                y = self._table_header(self._next_page(slip))
            y = self._item(y, n, line, names, height)
        if y - 4 * (LINE + 6) - 10 < MARGIN + 30:
            y = self._next_page(slip)
        self._totals(y - 8, slip)
        self._end_page(slip)
        self.counts[self.form] = self.page_in_slip

    def _first_page(self, slip: Slip) -> float:
        c = self.c
        self.page_in_slip = 1
        draw(c, W / 2, H - MARGIN - 22, "納品書", 22, font=MINCHO, align="centre")
        c.setLineWidth(0.8)
        c.line(W / 2 - 70, H - MARGIN - 28, W / 2 + 70, H - MARGIN - 28)
        y = H - MARGIN - 52
        for text in (
            f"注文番号 {slip.order_no}",
            f"受注日 {_date(slip.ordered_at)}",
            f"発行日 {self.issued}",
        ):
            draw(c, W - MARGIN, y, text, BODY, align="right")
            y -= LINE
        # customer (left)
        left_room = W / 2 - MARGIN - 10
        y = H - MARGIN - 60
        if slip.postcode:
            draw(c, MARGIN, y, "〒" + clean(slip.postcode).lstrip("〒"), BODY)
            y -= LINE
        for text in wrap(clean(slip.address), GOTHIC, BODY, left_room, 3):
            if text:
                draw(c, MARGIN, y, text, BODY)
                y -= LINE
        y -= 10
        name, size = clean(slip.customer_name), 13.0
        while size > 8 and width(name, GOTHIC, size) > left_room - 30:  # shrink, then cut
            size -= 0.5
        name = fit(name, GOTHIC, size, left_room - 30)
        draw(c, MARGIN, y, name, size)
        draw(c, MARGIN + width(name, GOTHIC, size) + 8, y, "様", size)
        c.setLineWidth(0.6)
        c.line(MARGIN, y - 4, MARGIN + left_room, y - 4)
        left_end = y - 4
        # shop (right)
        x = W / 2 + 40
        shop_room = W - MARGIN - x
        y2 = H - MARGIN - 52 - 3 * LINE - 14
        draw(c, x, y2, fit(self.shop.name, GOTHIC, 11, shop_room), 11)
        y2 -= LINE + 2
        for text in wrap(self.shop.address, GOTHIC, BODY, shop_room, 3):
            draw(c, x, y2, text, BODY)
            y2 -= LINE
        if self.shop.phone:
            draw(c, x, y2, fit("TEL " + self.shop.phone, GOTHIC, BODY, shop_room), BODY)
            y2 -= LINE
        y = min(left_end, y2) - 22
        draw(c, MARGIN, y, GREETING, BODY)
        y -= 12
        # the amount, large
        c.setFillColor(GREY)
        c.rect(MARGIN, y - 26, 260, 22, stroke=0, fill=1)
        c.setFillColor(BLACK)
        draw(c, MARGIN + 8, y - 19, "合計金額(税込)", 10)
        draw(c, MARGIN + 252, y - 20, yen(slip.total), 14, align="right")
        return y - 40

    def _next_page(self, slip: Slip) -> float:
        self._end_page(slip)
        self.page_in_slip += 1
        c = self.c
        draw(c, MARGIN, H - MARGIN - 14, "納品書(続き)", 14, font=MINCHO)
        draw(c, W - MARGIN, H - MARGIN - 10, f"注文番号 {slip.order_no}", BODY, align="right")
        name = fit(clean(slip.customer_name), GOTHIC, BODY, W / 2 - MARGIN) + " 様"
        draw(c, W - MARGIN, H - MARGIN - 10 - LINE, name, BODY, align="right")
        return H - MARGIN - 44

    def _end_page(self, slip: Slip) -> None:
        c = self.c
        label = f"注文番号 {slip.order_no}   {self.page_in_slip} / "
        draw(c, W / 2 + 30, MARGIN - 10, label, 8, align="right")
        self.doc.later(self.form, W / 2 + 30, MARGIN - 10, 8)
        draw(c, W - MARGIN, MARGIN - 10, fit(self.shop.name, GOTHIC, 8, W / 3), 8, align="right")
        self.doc.end_page()

    def _table_header(self, y: float) -> float:
        c = self.c
        c.setFillColor(GREY)
        c.rect(MARGIN, y - LINE - 6, W - 2 * MARGIN, LINE + 6, stroke=0, fill=1)
        c.setFillColor(BLACK)
        for (label, _, right), x, w in zip(ITEM_COLUMNS, self.xs, self.widths, strict=True):
            if right:
                draw(c, x + w - 4, y - LINE + 1, label, BODY, align="right")
            else:
                draw(c, x + 4, y - LINE + 1, label, BODY)
        c.setStrokeColor(RULE)
        c.setLineWidth(0.4)
        y -= LINE + 6
        c.line(MARGIN, y, W - MARGIN, y)
        return y

    def _item(self, y: float, n: int, line: SlipLine, names: list[str], height: float) -> float:
        c, xs, ws = self.c, self.xs, self.widths
        base = y - LINE + 1
        draw(c, xs[0] + ws[0] - 4, base, str(n), BODY, align="right")
        draw(c, xs[1] + 4, base, fit(clean(line.code), GOTHIC, BODY, ws[1] - 8), BODY)
        for i, text in enumerate(names):
            draw(c, xs[2] + 4, base - i * LINE, text, BODY)
        for col, text in (
            (3, f"{line.quantity:,}"),
            (4, yen(line.unit_price)),
            (5, yen(line.amount)),
        ):
            draw(c, xs[col] + ws[col] - 4, base, text, BODY, align="right")
        y -= height
        c.line(MARGIN, y, W - MARGIN, y)
        return y

    def _totals(self, y: float, slip: Slip) -> None:
        c = self.c
        label_x = self.xs[4]
        rows = (
            ("小計", slip.subtotal),
            ("送料", slip.shipping_fee),
            ("消費税", slip.tax),
            ("合計", slip.total),
        )
        for i, (label, amount) in enumerate(rows):
            size = 11.0 if i == len(rows) - 1 else BODY
            draw(c, label_x, y - LINE, label, size)
            draw(c, W - MARGIN - 4, y - LINE, yen(amount), size, align="right")
            y -= LINE + 6
            c.setLineWidth(0.8 if i == len(rows) - 2 else 0.4)
            c.line(label_x - 4, y, W - MARGIN, y)

    def finish(self) -> int:
        self.doc.settle({name: str(n) for name, n in self.counts.items()})
        return self.doc.pages


# ------------------------------------------------------------------------------ service
def _unique(order_nos: Iterable[int]) -> list[int]:
    return list(dict.fromkeys(int(x) for x in order_nos))  # first occurrence, in order


def existing(db: Database, order_nos: Sequence[int]) -> set[int]:
    """Which of these order numbers exist (one SELECT per 500)."""
    found: set[int] = set()
    with db.session() as session:
        for start in range(0, len(order_nos), 500):
            part = list(order_nos[start : start + 500])
            found.update(
                session.scalars(select(Order.order_no).where(Order.order_no.in_(part))).all()
            )
    return found


def write_slips(
    db: Database,
    order_nos: Sequence[int],
    out: BinaryIO,
    *,
    shop: Shop,
    now: datetime | None = None,
) -> SlipsReport:
    """One 納品書 per known order in ``order_nos`` (in that order, each once) to ``out``."""
    wanted = _unique(order_nos)
    if not wanted:
        raise SlipsError("帳票を作成する注文を選んでください。", "Choose the orders first.")
    if len(wanted) > MAX_SLIPS:
        raise SlipsError(
            f"一度に作成できる帳票は{MAX_SLIPS:,}件までです({len(wanted):,}件が選ばれています)。",
            f"At most {MAX_SLIPS:,} slips at a time ({len(wanted):,} chosen).",
        )
    known = existing(db, wanted)
    missing = [n for n in wanted if n not in known]
    if not known:
        raise NoSuchOrders(missing)
    numbers = "".join(f" {n}" for n in wanted[:5]) + (" …" if len(wanted) > 5 else "")
    writer = _SlipWriter(out, shop, now or utcnow(), f"納品書{numbers}")
    done: list[int] = []
    for n in wanted:
        if n not in known:
            continue
        try:
            order = get_order(db, n)
        except OrderNotFound:  # deleted since the check
            missing.append(n)
            continue
        writer.slip(slip_of(order))
        done.append(n)
    if not done:  # every one vanished between the check and the drawing
        raise NoSuchOrders([n for n in wanted if n in set(missing)])
    pages = writer.finish()
    return SlipsReport(done=done, missing=[n for n in wanted if n in set(missing)], pages=pages)


def slips_to_bytes(
    db: Database, order_nos: Sequence[int], *, shop: Shop, now: datetime | None = None
) -> tuple[bytes, SlipsReport]:
    """:func:`write_slips` into memory, for ``st.download_button``: (data, report)."""
    buffer = io.BytesIO()
    report = write_slips(db, order_nos, buffer, shop=shop, now=now)
    return buffer.getvalue(), report


def slips_filename(now: datetime, order_nos: Sequence[int]) -> str:
    """``slip_61_20250601_1030.pdf`` for one order, ``slips_3_20250601_1030.pdf`` for three."""
    stamp = as_utc(now).astimezone(JST).strftime("%Y%m%d_%H%M")
    if len(order_nos) == 1:
        return f"slip_{int(order_nos[0])}_{stamp}.pdf"
    return f"slips_{len(order_nos)}_{stamp}.pdf"
