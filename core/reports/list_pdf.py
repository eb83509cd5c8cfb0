"""List PDF: the matching (or the ticked) orders as an A4 landscape table.

- Columns are the CSV export's (:data:`core.export.EXPORT_COLUMNS`, the same keys, labels,
  checks and saved column sets); only how a cell looks is decided here: amounts with
  thousands separators and right-aligned, choices as their labels, text as it is (drawn,
  never interpreted, cut with ``…`` when too wide), no spreadsheet-formula quote.
- Every page repeats the title, the time it was made (JST), the row count and the column
  headers; the footer says ``ページ 3 / 12``. The last row is followed by the total line:
  ``合計 N件`` and the sum of every amount column shown (and of 購入金額 when it is not).
- Streaming: rows come from :func:`core.search.iter_orders` (the CSV export's row
  source) and are drawn straight onto the current page; a page is closed when full. The
  page count and the row count are known only at the end: they are PDF forms written last
  (:class:`core.reports.canvas.Document`). Memory is the PDF's bytes, never the rows.
- Ticked orders (``order_nos``): read in chunks of :data:`CHUNK` numbers and drawn in the
  order given (the grid's order); numbers that match no order are left out.
- At most :data:`MAX_ROWS` rows (counted before drawing): beyond that the CSV is the tool.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO

from reportlab.lib.colors import Color
from reportlab.lib.pagesizes import A4, landscape

from core.bilingual import BilingualError
from core.domain.orders import labels
from core.export import DEFAULT_COLUMNS, EXPORT_COLUMNS, ExportColumn, check_columns
from core.i18n import DEFAULT_LANG, LANGS, t
from core.reports.canvas import Document
from core.reports.fonts import GOTHIC, clean, draw, draw_cells, fit, wrap
from core.search import OrderQuery, build_select, count_orders, iter_orders
from core.storage.db import Database
from core.storage.models import Order
from core.timeutil import JST, as_utc, utcnow

PAGE = landscape(A4)
MARGIN = 28.0  # ~10 mm
BASE_SIZE = 8.0  # body font size when the columns fit
MIN_SIZE = 5.0
CHUNK = 500  # ticked order numbers per SELECT
#: A PDF is for reading and printing: past this many rows (~630 pages) the CSV is the tool.
#: It also bounds what one request may cost the server (about 2 KB of memory and 0.6 ms a
#: row: reportlab keeps the finished pages until the file is written).
MAX_ROWS = 20_000
GREY = Color(0.92, 0.92, 0.92)
RULE = Color(0.6, 0.6, 0.6)

#: column width in ems (of the body font) by kind; a few keys need more or less. Digits are
#: 0.6 em wide in these fonts: "2025/05/31 23:59" is 9.7 em.
_EMS_BY_KIND = {"int": 6.0, "datetime": 9.7, "date": 6.5, "bool": 3.4, "choice": 7.0}
_EMS_BY_KEY = {
    "order_no": 4.5,
    "customer_name": 9.0,
    "customer_kana": 9.0,
    "email": 13.0,
    "phone": 8.2,
    "payment_method": 11.5,
    "paidy_payment_id": 12.4,
}
_KEEP_WIDTH = frozenset({"phone", "paidy_payment_id"})  # never cut to make room
_PAD_EM = 0.6


class ListPdfError(BilingualError):
    """The list PDF cannot be made with these options."""


class TooManyRows(ListPdfError):
    def __init__(self, matches: int) -> None:
        self.matches = matches
        super().__init__(
            f"PDFに出力できるのは{MAX_ROWS:,}件までです({matches:,}件が該当)。"
            "条件を絞り込むか、CSV出力をご利用ください。",
            f"A PDF holds at most {MAX_ROWS:,} orders ({matches:,} match). "
            "Narrow the search or use the CSV export.",
        )


@dataclass(frozen=True)
class ListPdfReport:
    rows: int
    pages: int
    totals: dict[str, int]  # column key -> sum over the rows (amount columns, and "total")


def is_amount(col: ExportColumn) -> bool:
    return col.kind == "int" and col.key != "order_no"


def _cell_formatter(col: ExportColumn, lang: str):
    if col.kind == "int":
        if col.key == "order_no":
            return lambda v: "" if v is None else str(int(v))
        return lambda v: "" if v is None else f"{int(v):,}"
    if col.kind == "bool":
        yes, no = t("export.test", lang), t("export.live", lang)
        return lambda v: "" if v is None else (yes if v else no)
    if col.kind == "choice" and col.choices is not None:
        names = labels(col.choices, lang)
        return lambda v: "" if v is None else clean(names.get(v, v))
    return clean  # text, and dates/times already JST text from the database


# ------------------------------------------------------------------------------ layout
@dataclass(frozen=True)
class _Layout:
    size: float  # body font size
    xs: list[float]  # left edge of each column
    widths: list[float]
    right: list[bool]  # right-aligned (numbers)
    row_h: float
    header_h: float
    top: float  # y of the top of the table's header row
    bottom: float  # lowest y a row may reach
    pad: float

    @property
    def rows_per_page(self) -> int:
        return max(1, int((self.top - self.header_h - self.bottom) // self.row_h))


def layout(cols: Sequence[ExportColumn]) -> _Layout:
    """Column widths from their kinds, scaled to the page; the font shrinks (down to
    :data:`MIN_SIZE`) when many columns are chosen, then cells are cut to fit."""
    room = PAGE[0] - 2 * MARGIN
    ems = [_EMS_BY_KEY.get(c.key, _EMS_BY_KIND.get(c.kind, 9.0)) + _PAD_EM for c in cols]
    size = max(MIN_SIZE, min(BASE_SIZE, room / sum(ems)))
    over = sum(ems) * size - room
    if over > 0:  # still too wide at the smallest size: text columns give way first
        flexible = [
            i
            for i, c in enumerate(cols)
            if c.kind in ("text", "choice") and c.key not in _KEEP_WIDTH
        ]
        spare = sum(max(0.0, ems[i] - 4.0) for i in flexible) * size
        cut = min(1.0, over / spare) if spare else 0.0
        for i in flexible:
            ems[i] -= max(0.0, ems[i] - 4.0) * cut
    scale = room / (sum(ems) * size)  # stretch (or, past every give, squeeze) to the width
    widths = [e * size * scale for e in ems]
    xs, x = [], MARGIN
    for w in widths:
        xs.append(x)
        x += w
    row_h = round(size * 1.75, 2)
    return _Layout(
        size=size,
        xs=xs,
        widths=widths,
        right=[c.kind == "int" for c in cols],
        row_h=row_h,
        header_h=row_h * 2,  # two lines: long labels wrap
        top=PAGE[1] - MARGIN - 34,
        bottom=MARGIN + 22,
        pad=_PAD_EM * size / 2,
    )


# ------------------------------------------------------------------------------ writer
class _ListWriter:
    """Draws rows onto the current page; starts a new page when it is full."""

    def __init__(
        self, out: BinaryIO, cols: list[ExportColumn], lang: str, now: datetime, title: str
    ) -> None:
        self.cols, self.lang = cols, lang
        self.title = title
        self.made = t("pdf.made", lang, when=as_utc(now).astimezone(JST).strftime("%Y/%m/%d %H:%M"))
        self.doc = Document(out, PAGE, title)
        self.c = self.doc.canvas
        self.lay = layout(cols)
        self.headers = [
            wrap(clean(col.label(lang)), GOTHIC, self.lay.size, w - 2 * self.lay.pad, 2)
            for col, w in zip(cols, self.lay.widths, strict=True)
        ]
        self.formats = [_cell_formatter(c, lang) for c in cols]
        self.y = 0.0
        self.on_page = 0
        self.open = False

    # -- page frame
    def _start_page(self) -> None:
        c, lay, page_no = self.c, self.lay, self.doc.pages + 1
        draw(c, MARGIN, PAGE[1] - MARGIN - 12, self.title, 13)
        draw(c, PAGE[0] - MARGIN, PAGE[1] - MARGIN - 4, self.made, 8, align="right")
        self.doc.later("row_count", PAGE[0] - MARGIN, PAGE[1] - MARGIN - 16, 8, "right")
        draw(c, PAGE[0] / 2, MARGIN, t("pdf.page", self.lang, page=page_no), 8, align="right")
        self.doc.later("page_count", PAGE[0] / 2, MARGIN, 8)
        # header row
        top = lay.top
        c.setFillColor(GREY)
        c.rect(MARGIN, top - lay.header_h, PAGE[0] - 2 * MARGIN, lay.header_h, stroke=0, fill=1)
        c.setFillColor(Color(0, 0, 0))
        gap = lay.size * 1.25
        for lines, x, w, right in zip(self.headers, lay.xs, lay.widths, lay.right, strict=True):
            first = top - lay.header_h / 2 + len(lines) * gap / 2 - gap + lay.size * 0.3
            for i, text in enumerate(lines):
                if right:
                    draw(c, x + w - lay.pad, first - i * gap, text, lay.size, align="right")
                else:
                    draw(c, x + lay.pad, first - i * gap, text, lay.size)
        c.setStrokeColor(RULE)
        c.setLineWidth(0.4)
        c.line(MARGIN, top - lay.header_h, PAGE[0] - MARGIN, top - lay.header_h)
        self.y = top - lay.header_h
        self.on_page = 0
        self.open = True

    def _end_page(self) -> None:
        self.doc.end_page()
        self.open = False

    def _room_for(self, rows: int) -> bool:
        return self.open and self.y - rows * self.lay.row_h >= self.lay.bottom

    # -- rows
    def row(self, cells: Sequence[str], *, rule: bool = True) -> None:
        if not self._room_for(1):
            if self.open:
                self._end_page()
            self._start_page()
        c, lay = self.c, self.lay
        base = self.y - lay.row_h + (lay.row_h - lay.size) / 2 + lay.size * 0.12
        size, pad = lay.size, lay.pad
        draw_cells(
            c,
            (
                (x + w - pad, base, fit(text, GOTHIC, size, w - 2 * pad), "right")
                if right
                else (x + pad, base, fit(text, GOTHIC, size, w - 2 * pad), "left")
                for text, x, w, right in zip(cells, lay.xs, lay.widths, lay.right, strict=True)
                if text
            ),
            size,
        )
        self.y -= lay.row_h
        if rule:
            c.line(MARGIN, self.y, PAGE[0] - MARGIN, self.y)
        self.on_page += 1

    def data_row(self, values: Sequence[Any]) -> None:
        self.row([f(v) for f, v in zip(self.formats, values, strict=False)])

    def total_row(self, count: int, totals: dict[str, int]) -> None:
        """``合計 N件`` in the first non-amount column (or a line of its own), the sums under
        their columns; 購入金額's sum in the label when that column is not shown."""
        label = t("pdf.total", self.lang, count=count)
        if "total" not in [c.key for c in self.cols]:
            label += "  " + t("pdf.order_total", self.lang, amount=totals["total"])
        cells = [f"{totals[c.key]:,}" if is_amount(c) else "" for c in self.cols]
        slot = next((i for i, c in enumerate(self.cols) if not is_amount(c)), None)
        if not self._room_for(1 if slot is not None else 2):
            if self.open:
                self._end_page()
            self._start_page()
        c, lay = self.c, self.lay
        c.setStrokeColor(Color(0, 0, 0))
        c.setLineWidth(0.8)
        c.line(MARGIN, self.y, PAGE[0] - MARGIN, self.y)
        c.setLineWidth(0.4)
        c.setStrokeColor(RULE)
        if slot is None:
            self._label_line(label)
        else:
            # the label may run over the empty columns after its own
            end = next((i for i in range(slot + 1, len(cells)) if cells[i]), len(cells))
            room = sum(lay.widths[slot:end]) - 2 * lay.pad
            base = self.y - lay.row_h + (lay.row_h - lay.size) / 2 + lay.size * 0.12
            draw(c, lay.xs[slot] + lay.pad, base, fit(label, GOTHIC, lay.size, room), lay.size)
            cells[slot] = ""
        self.row(cells, rule=False)

    def _label_line(self, label: str) -> None:
        lay = self.lay
        base = self.y - lay.row_h + (lay.row_h - lay.size) / 2 + lay.size * 0.12
        draw(self.c, MARGIN + lay.pad, base, label, lay.size)
        self.y -= lay.row_h

    def finish(self, count: int) -> int:
        if self.open:
            self._end_page()
        self.doc.settle(
            {
                "page_count": f"{self.doc.pages:,}",
                "row_count": t("pdf.count", self.lang, count=count),
            }
        )
        return self.doc.pages


# ------------------------------------------------------------------------------ rows
def _selected_rows(
    db: Database, order_nos: Sequence[int], fetch: list[str], now: datetime
) -> Iterator[Any]:
    """Rows of the ticked orders, :data:`CHUNK` numbers per SELECT, in the given order."""
    wanted = list(dict.fromkeys(int(x) for x in order_nos))  # first occurrence, in order
    at = fetch.index("order_no")
    for start in range(0, len(wanted), CHUNK):
        part = wanted[start : start + CHUNK]
        stmt = build_select(db, OrderQuery(), now=now, columns=fetch, times_as_text=True)
        stmt = stmt.where(Order.__table__.c.order_no.in_(part))
        with db.engine.connect() as conn:
            found = {int(r[at]): r for r in conn.execute(stmt)}
        for n in part:
            if n in found:
                yield found[n]


# ------------------------------------------------------------------------------ service
def export_pdf(
    db: Database,
    query: OrderQuery | None,
    out: BinaryIO,
    *,
    columns: Sequence[str] = DEFAULT_COLUMNS,
    lang: str = "ja",
    now: datetime | None = None,
    sort: str = "ordered_at",
    descending: bool = True,
    order_nos: Sequence[int] | None = None,
    title: str | None = None,
) -> ListPdfReport:
    """Write the orders matching ``query`` (or exactly ``order_nos``, in that order) as an
    A4 landscape PDF to ``out`` (a binary stream)."""
    chosen = check_columns(columns)
    lang = lang if lang in LANGS else DEFAULT_LANG
    now = now or utcnow()
    matches = (
        len(set(order_nos))
        if order_nos is not None
        else count_orders(db, query or OrderQuery(), now=now)
    )
    if matches > MAX_ROWS:
        raise TooManyRows(matches)
    cols = [EXPORT_COLUMNS[k] for k in chosen]
    fetch = chosen + [k for k in ("order_no", "total") if k not in chosen]
    if order_nos is not None:
        rows: Iterator[Any] = _selected_rows(db, order_nos, fetch, now)
    else:
        rows = iter_orders(
            db,
            query or OrderQuery(),
            now=now,
            columns=fetch,
            sort=sort,
            descending=descending,
            times_as_text=True,
        )
    sums = {k: 0 for k in fetch if EXPORT_COLUMNS[k].kind == "int" and k != "order_no"}
    sum_at = [(k, fetch.index(k)) for k in sums]
    writer = _ListWriter(out, cols, lang, now, title or t("pdf.list_title", lang))
    count = 0
    for row in rows:
        writer.data_row(row)
        for key, i in sum_at:
            if row[i] is not None:
                sums[key] += int(row[i])
        count += 1
    writer.total_row(count, sums)
    pages = writer.finish(count)
    return ListPdfReport(rows=count, pages=pages, totals=sums)


def export_pdf_to_bytes(
    db: Database, query: OrderQuery | None, **options: Any
) -> tuple[bytes, ListPdfReport]:
    """:func:`export_pdf` into memory, for ``st.download_button``: (data, report)."""
    buffer = io.BytesIO()
    report = export_pdf(db, query, buffer, **options)
    return buffer.getvalue(), report


def pdf_filename(now: datetime, prefix: str = "orders") -> str:
    """``orders_20250601_1030.pdf`` (JST)."""
    return f"{prefix}_{as_utc(now).astimezone(JST).strftime('%Y%m%d_%H%M')}.pdf"
