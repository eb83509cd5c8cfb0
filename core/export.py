"""CSV export of orders (CSV出力項目設定): chosen columns, chosen encoding, all matching rows.

- Columns come from :data:`EXPORT_COLUMNS` (key -> Japanese/English label); the header row
  shows the labels in the UI language, or the keys (``header="keys"``, for scripts).
- Times are JST ``YYYY/MM/DD HH:MM``, dates ``YYYY/MM/DD``, amounts plain integers, choices
  their labels, テスト注文 ``テスト``/``本番`` (``test``/``live``).
- Text cells starting with ``= + - @``, tab or CR (or ``＝ ＋ － ＠``, or any of these after
  leading blanks or invisible characters) get a leading ``'`` so a spreadsheet never runs
  them as formulas (:func:`neutralise`). Numbers (``-500`` in an amount column stays a
  number), dates and times are ours and left alone.
- ``cp932`` (Excel's Shift_JIS): the usual Unicode/CP932 look-alikes are mapped (〜 -> ～,
  − -> －, ¥ -> ￥ ...); anything CP932 cannot hold becomes ``?`` and the number of cells
  where that happened is reported. ``utf-8-sig`` (UTF-8 with BOM) loses nothing.
- Streaming: rows come from :func:`core.search.iter_orders` and are encoded and
  written every :data:`FLUSH_ROWS` rows, so memory stays flat for any row count.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, BinaryIO

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from core.bilingual import BilingualError
from core.domain.orders import Gender, OrderStatus, PaymentMethod, PaymentStatus, labels
from core.domain.states import PaymentState
from core.i18n import t
from core.search import OrderQuery, iter_orders
from core.storage.db import Database, rows_affected
from core.storage.models import CsvColumnSet
from core.timeutil import JST, as_utc, utcnow

ENCODINGS = ("utf-8-sig", "cp932")
FLUSH_ROWS = 1000
#: what a spreadsheet may take as the start of a formula; U+2212 (MINUS SIGN) because the CP932
#: export turns it into "－"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠", "\u2212")
_FORMULA_FIRST = frozenset("".join(FORMULA_START))
CP932_LOOKALIKES = str.maketrans(
    {
        "\u301c": "\uff5e",  # 〜 WAVE DASH -> ～
        "\u2212": "\uff0d",  # − MINUS SIGN -> －
        "\u2016": "\u2225",  # ‖ -> ∥
        "\u2014": "\u2015",  # — EM DASH -> ―
        "\u00a2": "\uffe0",  # ¢
        "\u00a3": "\uffe1",  # £
        "\u00ac": "\uffe2",  # ¬
        "\u00a5": "\uffe5",  # ¥ -> ￥
    }
)


_LOOKALIKE_PAIRS = tuple((chr(k), v) for k, v in CP932_LOOKALIKES.items())


@dataclass(frozen=True)
class ExportColumn:
    key: str
    ja: str
    en: str
    kind: str  # text | int | datetime | date | bool | choice
    choices: type[StrEnum] | None = None

    def label(self, lang: str = "ja") -> str:
        return self.ja if lang == "ja" else self.en


def _col(key: str, ja: str, en: str, kind: str = "text", choices: type | None = None):
    return key, ExportColumn(key, ja, en, kind, choices)


EXPORT_COLUMNS: dict[str, ExportColumn] = dict(
    [
        _col("order_no", "注文番号", "Order no.", "int"),
        _col("ordered_at", "受注日", "Order date", "datetime"),
        _col("updated_at", "更新日", "Updated", "datetime"),
        _col("customer_name", "顧客名", "Customer name"),
        _col("customer_kana", "顧客名(カナ)", "Customer name (kana)"),
        _col("email", "メールアドレス", "Email"),
        _col("phone", "電話番号", "Phone"),
        _col("birth_date", "生年月日", "Birth date", "date"),
        _col("gender", "性別", "Gender", "choice", Gender),
        _col("payment_method", "支払方法", "Payment method", "choice", PaymentMethod),
        _col("total", "購入金額", "Amount", "int"),
        _col("status", "対応状況", "Order status", "choice", OrderStatus),
        _col("payment_status", "入金状況", "Payment status", "choice", PaymentStatus),
        _col("shipped_at", "発送日", "Shipped", "datetime"),
        _col("paidy_payment_id", "Paidy決済ID", "Paidy payment ID"),
        _col("paidy_state", "Paidy状態", "Paidy state", "choice", PaymentState),
        _col("paidy_amount", "Paidy注文代金の総額", "Paidy amount", "int"),
        _col("captured_amount", "売上確定金額", "Captured", "int"),
        _col("refunded_amount", "払い戻し金額", "Refunded", "int"),
        _col("billed_amount", "Paidy請求済金額", "Billed", "int"),
        _col("expires_at", "売上確定有効期限", "Capture deadline", "datetime"),
        _col("test", "テスト注文", "Test payment", "bool"),
    ]
)
#: The guide's order list: 受注日, 注文番号, 顧客名, 支払方法, 購入金額, 発送日, 対応状況, then
#: the Paidy columns of Paidy決済状況管理.
DEFAULT_COLUMNS: tuple[str, ...] = (
    "ordered_at",
    "order_no",
    "customer_name",
    "payment_method",
    "total",
    "shipped_at",
    "status",
    "payment_status",
    "paidy_state",
    "expires_at",
)


class ExportError(BilingualError):
    """Export options that cannot be used; ja/en messages."""


@dataclass(frozen=True)
class ExportReport:
    rows: int
    replaced_cells: int = 0  # cp932 cells where a character became "?"


# ------------------------------------------------------------------------- cell rules
def neutralise(text: str) -> str:
    """Prefix ``'`` to a cell a spreadsheet could read as a formula: one starting with
    ``= + - @``, tab or CR, or their full-width forms ``＝ ＋ － ＠`` (Japanese Excel takes
    ``＝`` as ``=``), also after leading blanks or invisible characters (spaces, NBSP, the
    ideographic space, zero-width and control characters), which spreadsheets may skip."""
    if not text:
        return text
    first = text[0]
    if first in _FORMULA_FIRST:
        return "'" + text
    if first == " " or not first.isprintable():  # the rare case: look past the blanks
        return _neutralise_after_blanks(text)
    return text


def _neutralise_after_blanks(text: str) -> str:
    for char in text:
        if char in _FORMULA_FIRST:
            return "'" + text
        if char != " " and char.isprintable():
            break
    return text


def fit_cp932(text: str) -> tuple[str, bool]:
    """(text CP932 can encode, whether a character had to become ``?``)."""
    if text.isascii():
        return text, False
    text = text.translate(CP932_LOOKALIKES)
    try:
        text.encode("cp932")
    except UnicodeEncodeError:
        return text.encode("cp932", errors="replace").decode("cp932"), True
    return text, False


def _text_or_blank(value: str | None) -> str:
    return value or ""


def _formatter(col: ExportColumn, lang: str) -> Callable[[Any], str]:
    if col.kind == "int":
        return lambda v: "" if v is None else str(int(v))
    if col.kind in ("datetime", "date"):  # JST text made by the database (times_as_text)
        return _text_or_blank
    if col.kind == "bool":
        yes, no = t("export.test", lang), t("export.live", lang)
        return lambda v: "" if v is None else (yes if v else no)
    if col.kind == "choice" and col.choices is not None:
        # our labels need no neutralising (a unit test checks them all)
        names = labels(col.choices, lang)
        return lambda v: "" if v is None else names.get(v) or neutralise(str(v))
    return lambda v: "" if v is None else neutralise(str(v))


# ---------------------------------------------------------------------------- checks
def check_columns(columns: Sequence[str]) -> list[str]:
    chosen = list(columns)
    unknown = [c for c in chosen if c not in EXPORT_COLUMNS]
    if unknown:
        raise ExportError(
            f"出力項目にない項目があります: {', '.join(unknown)}",
            f"Unknown columns: {', '.join(unknown)}",
        )
    if not chosen:
        raise ExportError("出力項目を1つ以上選んでください。", "Choose at least one column.")
    if len(set(chosen)) != len(chosen):
        raise ExportError("同じ出力項目が重複しています。", "A column is listed twice.")
    return chosen


def check_encoding(encoding: str) -> str:
    normal = (encoding or "").strip().lower().replace("_", "-")
    normal = {"utf8": "utf-8-sig", "utf-8": "utf-8-sig", "shift-jis": "cp932", "sjis": "cp932"}.get(
        normal, normal
    )
    if normal not in ENCODINGS:
        raise ExportError(
            f"文字コード「{encoding}」は使えません(utf-8-sig または cp932)。",
            f"Unsupported encoding {encoding!r}; use utf-8-sig or cp932.",
        )
    return normal


# ---------------------------------------------------------------------------- export
class _Writer:
    """csv rows -> encoded bytes on ``out``, a chunk of FLUSH_ROWS rows at a time.

    CP932: a chunk is translated (lookalikes, never a formula character) and encoded whole;
    only a chunk holding a character CP932 lacks is redone cell by cell, to replace and count.
    """

    def __init__(self, out: BinaryIO, encoding: str) -> None:
        self.out = out
        self.cp932 = encoding == "cp932"
        self.rows: list[list[str]] = []
        self.replaced = 0
        if encoding == "utf-8-sig":
            out.write(codecs.BOM_UTF8)

    def row(self, cells: list[str]) -> None:
        self.rows.append(cells)
        if len(self.rows) >= FLUSH_ROWS:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        if self.cp932:
            self.out.write(self._cp932(self.rows))
        else:
            self.out.write(_csv_text(self.rows).encode("utf-8"))
        self.rows = []

    def _cp932(self, rows: list[list[str]]) -> bytes:
        """Encode whole; a part holding a character CP932 lacks is halved until the row is
        found, and only that row is fitted cell by cell (replaced and counted)."""
        try:
            return _lookalikes(_csv_text(rows)).encode("cp932")
        except UnicodeEncodeError:
            if len(rows) > 1:
                mid = len(rows) // 2
                return self._cp932(rows[:mid]) + self._cp932(rows[mid:])
        fitted = [fit_cp932(c) for c in rows[0]]
        self.replaced += sum(hit for _, hit in fitted)
        return _csv_text([[c for c, _ in fitted]]).encode("cp932")


def _lookalikes(text: str) -> str:
    """``str.translate`` with a dict walks every character in Python-level lookups; eight
    fast scans and the rare replace are ~10x quicker on a chunk of CSV text."""
    for char, repl in _LOOKALIKE_PAIRS:
        if char in text:
            text = text.replace(char, repl)
    return text


def _csv_text(rows: list[list[str]]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    return buf.getvalue()


def export_csv(
    db: Database,
    query: OrderQuery,
    out: BinaryIO,
    *,
    columns: Sequence[str] = DEFAULT_COLUMNS,
    encoding: str = "utf-8-sig",
    lang: str = "ja",
    header: str = "labels",
    now: datetime | None = None,
    sort: str = "ordered_at",
    descending: bool = True,
) -> ExportReport:
    """Write every order matching ``query`` as CSV to ``out`` (a binary stream)."""
    chosen = check_columns(columns)
    encoding = check_encoding(encoding)
    if header not in ("labels", "keys"):
        raise ExportError("ヘッダーは labels か keys です。", "header must be labels or keys.")
    cols = [EXPORT_COLUMNS[k] for k in chosen]
    rows = iter_orders(
        db,
        query,
        now=now or utcnow(),
        columns=chosen,
        sort=sort,
        descending=descending,
        times_as_text=True,
    )
    formatters = [_formatter(c, lang) for c in cols]
    writer = _Writer(out, encoding)
    writer.row([c.key if header == "keys" else c.label(lang) for c in cols])
    writer.flush()
    writer.replaced = 0  # the header is ours; only data cells are counted
    count = 0
    for row in rows:
        writer.row([f(v) for f, v in zip(formatters, row, strict=True)])
        count += 1
    writer.flush()
    return ExportReport(rows=count, replaced_cells=writer.replaced)


def export_to_bytes(db: Database, query: OrderQuery, **options: Any) -> tuple[bytes, ExportReport]:
    """:func:`export_csv` into memory, for ``st.download_button``: (data, report)."""
    buffer = io.BytesIO()
    report = export_csv(db, query, buffer, **options)
    return buffer.getvalue(), report


def export_filename(now: datetime, prefix: str = "orders") -> str:
    """``orders_20250601_1030.csv`` (JST)."""
    return f"{prefix}_{as_utc(now).astimezone(JST).strftime('%Y%m%d_%H%M')}.csv"


# ------------------------------------------------------------------------ column sets
@dataclass(frozen=True)
class ColumnSet:
    id: int
    name: str
    columns: tuple[str, ...]
    created_by: str
    created_at: datetime


def _to_set(row: CsvColumnSet) -> ColumnSet:
    return ColumnSet(row.id, row.name, tuple(row.columns), row.created_by, row.created_at)


def _clean_name(name: str) -> str:
    cleaned = (name or "").strip()
    if not cleaned or len(cleaned) > 100:
        raise ExportError(
            "設定名は1〜100文字で入力してください。", "The name must be 1 to 100 characters."
        )
    return cleaned


def save_column_set(
    db: Database, name: str, columns: Sequence[str], *, created_by: str = ""
) -> ColumnSet:
    """Create the named column set, or replace its columns if the name exists."""
    name, chosen = _clean_name(name), check_columns(columns)
    for _attempt in range(2):
        try:
            # immediate: it reads, then writes (a deferred SQLite transaction that another
            # writer overtook between the two fails at once with "database is locked")
            with db.session(immediate=True) as session:
                row = session.scalars(
                    select(CsvColumnSet).where(CsvColumnSet.name == name)
                ).one_or_none()
                if row is None:
                    row = CsvColumnSet(name=name, columns=chosen, created_by=created_by)
                    session.add(row)
                else:
                    row.columns = chosen
                session.flush()
                return _to_set(row)
        except IntegrityError:  # created concurrently: replace it on the second try
            continue
    raise ExportError("設定を保存できませんでした。", "Could not save the column set.")


def list_column_sets(db: Database) -> list[ColumnSet]:
    with db.session() as session:
        rows = session.scalars(select(CsvColumnSet).order_by(CsvColumnSet.name)).all()
        return [_to_set(r) for r in rows]


def get_column_set(db: Database, name: str) -> ColumnSet | None:
    with db.session() as session:
        row = session.scalars(
            select(CsvColumnSet).where(CsvColumnSet.name == name.strip())
        ).one_or_none()
        return None if row is None else _to_set(row)


def delete_column_set(db: Database, name: str) -> bool:
    """Delete by name; False when there was none."""
    with db.session() as session:
        result = session.execute(delete(CsvColumnSet).where(CsvColumnSet.name == name.strip()))
        return bool(rows_affected(result))
