"""CSV export on both databases: encodings, formulas neutralised, CP932 replacement counted,
round trip through pandas, column sets; and properties of the cell writer."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import export
from core.export import (
    DEFAULT_COLUMNS,
    EXPORT_COLUMNS,
    ExportError,
    delete_column_set,
    export_csv,
    export_filename,
    export_to_bytes,
    fit_cp932,
    get_column_set,
    list_column_sets,
    neutralise,
    save_column_set,
)
from core.search import OrderQuery, search_orders
from tests.integration.test_search import FIXTURE, _order, _pay, load

NOW = datetime(2025, 6, 1, 3, 0, tzinfo=UTC)

HOSTILE = {
    201: (_order(201, "=佐藤 健", "サトウ ケン", "-shop+demo@example.com", phone="+81 90-1234-5678",
                 total=1000), None),
    202: (_order(202, "𠮷田 太郎", "ヨシダ タロウ", "yoshida@example.com", total=1000), None),
    203: (_order(203, "山田 花子🌸", "ヤマダ ハナコ", "@hanako〜@example.com", total=1000),
          _pay("pay_203", "authorized", 1000)),
    204: (_order(204, "\t髙橋 一郎", "タカハシ イチロウ", "ichiro@example.com", total=1000), None),
}  # fmt: skip


@pytest.fixture
def data(db):
    load(db)
    load(db, HOSTILE)
    return db


def rows_of(data: bytes, encoding: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode(encoding), newline="")))


def test_default_columns_follow_the_guide():
    labels = [EXPORT_COLUMNS[k].ja for k in DEFAULT_COLUMNS]
    assert labels[:7] == [
        "受注日",
        "注文番号",
        "顧客名",
        "支払方法",
        "購入金額",
        "発送日",
        "対応状況",
    ]
    assert len(EXPORT_COLUMNS) == 22


def test_utf8_sig_with_labels_and_formatting(data):
    out = io.BytesIO()
    report = export_csv(data, OrderQuery(order_no=104), out, now=NOW,
                        columns=["ordered_at", "order_no", "customer_name", "payment_method", "total",
                                 "status", "paidy_state", "billed_amount", "birth_date", "test"])  # fmt: skip
    raw = out.getvalue()
    assert raw.startswith(b"\xef\xbb\xbf") and report.rows == 1 and report.replaced_cells == 0
    header, row = rows_of(raw, "utf-8-sig")
    assert header == ["受注日", "注文番号", "顧客名", "支払方法", "購入金額", "対応状況",
                      "Paidy状態", "Paidy請求済金額", "生年月日", "テスト注文"]  # fmt: skip
    assert row == ["2025/05/20 12:00", "104", "鈴木 一郎", "Paidy翌月払い(コンビニ/銀行)", "2000",
                   "発送済み", "一部払い戻し", "2000", "1980/01/01", "テスト"]  # fmt: skip
    assert raw.endswith(b"\r\n")


def test_english_labels_and_key_header(data):
    blob, _ = export_to_bytes(data, OrderQuery(order_no=110), now=NOW, lang="en", header="keys",
                              columns=["order_no", "status", "paidy_state", "test"])  # fmt: skip
    assert rows_of(blob, "utf-8-sig") == [["order_no", "status", "paidy_state", "test"],
                                          ["110", "New", "Open", "live"]]  # fmt: skip
    blob, _ = export_to_bytes(
        data, OrderQuery(order_no=110), now=NOW, lang="en", columns=["status"]
    )
    assert rows_of(blob, "utf-8-sig")[0] == ["Order status"]


def test_formulas_are_neutralised(data):
    blob, report = export_to_bytes(data, OrderQuery(order_from=201), now=NOW,
                                   columns=["order_no", "customer_name", "email", "phone"])  # fmt: skip
    rows = {r[0]: r for r in rows_of(blob, "utf-8-sig")[1:]}
    assert rows["201"][1:] == ["'=佐藤 健", "'-shop+demo@example.com", "'+81 90-1234-5678"]
    assert rows["203"][2] == "'@hanako〜@example.com"
    assert rows["204"][1] == "'\t髙橋 一郎"
    assert report.replaced_cells == 0  # UTF-8 holds everything


def test_cp932_replaces_visibly_and_counts(data):
    blob, report = export_to_bytes(data, OrderQuery(order_from=201), now=NOW, encoding="cp932",
                                   columns=["order_no", "customer_name", "email", "status"])  # fmt: skip
    rows = {r[0]: r for r in rows_of(blob, "cp932")}
    assert rows["注文番号"] == ["注文番号", "顧客名", "メールアドレス", "対応状況"]
    assert rows["202"][1] == "?田 太郎"  # 𠮷 is not in CP932
    assert rows["203"][1] == "山田 花子?"  # nor is the emoji
    assert rows["203"][2] == "'@hanako～@example.com"  # WAVE DASH mapped, not counted
    assert rows["204"][1] == "'\t髙橋 一郎"  # an NEC/IBM extension CP932 has
    assert report.replaced_cells == 2 and report.rows == 4


def test_round_trip_through_pandas_equals_the_query(data):
    q = OrderQuery(paidy_only=True)
    blob, report = export_to_bytes(data, q, now=NOW, header="keys", columns=list(EXPORT_COLUMNS))
    back = pd.read_csv(io.BytesIO(blob), encoding="utf-8-sig", dtype=str, keep_default_na=False)
    page = search_orders(data, q, now=NOW, page_size=1000).frame
    assert report.rows == len(page) == len(back)
    assert back["order_no"].tolist() == [str(n) for n in page["order_no"]]
    assert back["paidy_payment_id"].tolist() == page["paidy_payment_id"].tolist()
    assert back["total"].astype(int).tolist() == page["total"].tolist()
    expected_times = page["ordered_at"].dt.tz_convert("Asia/Tokyo").dt.strftime("%Y/%m/%d %H:%M")
    assert back["ordered_at"].tolist() == expected_times.tolist()
    assert [n.lstrip("'") for n in back["customer_name"]] == page["customer_name"].tolist()
    billed = [str(int(v)) for v in page["billed_amount"]]
    assert back["billed_amount"].tolist() == billed


def test_empty_result_writes_only_the_header(data):
    blob, report = export_to_bytes(data, OrderQuery(name="該当なし"), now=NOW, encoding="cp932")
    assert report.rows == 0 and len(rows_of(blob, "cp932")) == 1


def test_streams_in_chunks(data, monkeypatch):
    monkeypatch.setattr(export, "FLUSH_ROWS", 3)
    writes = []

    class Sink(io.BytesIO):
        def write(self, b):
            writes.append(len(b))
            return super().write(b)

    sink = Sink()
    report = export_csv(data, OrderQuery(), sink, now=NOW, columns=["order_no"])
    assert report.rows == len(FIXTURE) + len(HOSTILE)
    assert len(writes) >= report.rows // 3


@pytest.mark.parametrize(
    "options",
    [{"columns": ["order_no", "nope"]}, {"columns": []}, {"columns": ["total", "total"]},
     {"encoding": "latin-1"}, {"header": "both"}],
)  # fmt: skip
def test_bad_options_are_refused_before_writing(db, options):
    out = io.BytesIO()
    with pytest.raises(ExportError) as info:
        export_csv(db, OrderQuery(), out, now=NOW, **options)
    assert info.value.message("ja") and info.value.message("en")
    assert out.getvalue() == b""


def test_filename_is_jst():
    assert export_filename(NOW) == "orders_20250601_1200.csv"


def test_column_sets_crud(db):
    saved = save_column_set(db, " 経理用 ", ["order_no", "total"], created_by="sato")
    assert saved.name == "経理用" and saved.columns == ("order_no", "total")
    again = save_column_set(db, "経理用", ["total", "order_no", "paidy_state"])
    assert again.id == saved.id and again.columns == ("total", "order_no", "paidy_state")
    save_column_set(db, "配送", ["shipped_at"])
    assert [s.name for s in list_column_sets(db)] == ["経理用", "配送"]
    assert get_column_set(db, "配送").columns == ("shipped_at",)
    assert get_column_set(db, "none") is None
    assert delete_column_set(db, "配送") is True and delete_column_set(db, "配送") is False
    with pytest.raises(ExportError):
        save_column_set(db, "x", ["bogus"])
    with pytest.raises(ExportError):
        save_column_set(db, "  ", ["total"])


def test_saving_a_column_set_holds_when_another_writer_commits_mid_way(db_sqlite):
    """It reads (is the name taken?) and then writes. Another connection that commits in
    between must not make it fail with "database is locked" (a deferred transaction's
    snapshot would be stale: SQLITE_BUSY_SNAPSHOT, no busy wait); it waits for us instead."""
    import sqlite3

    from sqlalchemy import event

    other = sqlite3.connect(db_sqlite.engine.url.database, timeout=0.05, isolation_level=None)
    tried = []

    def interloper(conn, cursor, statement, params, context, executemany):
        if statement.startswith("INSERT INTO csv_column_sets") and not tried:
            try:
                other.execute(
                    "INSERT INTO app_flags (key, value, updated_at) "
                    "VALUES ('other', '{}', '2026-01-01 00:00:00')"
                )
                tried.append("committed")
            except sqlite3.OperationalError as exc:
                tried.append(str(exc))

    event.listen(db_sqlite.engine, "before_cursor_execute", interloper)
    try:
        saved = save_column_set(db_sqlite, "経理用", ["order_no", "total"])
    finally:
        event.remove(db_sqlite.engine, "before_cursor_execute", interloper)
        other.close()
    assert tried == ["database is locked"]  # it waited for our write lock
    assert get_column_set(db_sqlite, "経理用") == saved


EDGES = {
    301: (_order(301, " =cmd|' /C calc'!A0", "スペース", "x@example.com", total=-500), None),
    302: (_order(302, "＝HYPERLINK(\"http://evil.example\")", "ゼンカク", "\u3000+1@example.com",
                 phone="\u200b@SUM(1)", total=1000), None),
    303: (_order(303, "\t\t-2+3", "タブ", " \xa0＠x@example.com", phone="－1", total=1000), None),
    304: (_order(304, "−500", "マイナス", "a@example.com", phone=" 090", total=0), None),
}  # fmt: skip


@pytest.mark.parametrize("encoding", ["utf-8-sig", "cp932"])
def test_formulas_after_blanks_and_full_width_are_neutralised(db, encoding):
    load(db, EDGES)
    blob, _ = export_to_bytes(db, OrderQuery(order_from=301), now=NOW, encoding=encoding,
                              columns=["order_no", "customer_name", "email", "phone", "total"])  # fmt: skip
    rows = {r[0]: r[1:] for r in rows_of(blob, encoding)[1:]}
    assert rows["301"][:1] == ["' =cmd|' /C calc'!A0"]
    zwsp, nbsp = ("?", "?") if encoding == "cp932" else ("\u200b", "\xa0")  # not in CP932
    assert rows["302"][:3] == ["'＝HYPERLINK(\"http://evil.example\")", "'\u3000+1@example.com",
                               f"'{zwsp}@SUM(1)"]  # fmt: skip
    assert rows["303"][:3] == ["'\t\t-2+3", f"' {nbsp}＠x@example.com", "'－1"]
    minus = "－500" if encoding == "cp932" else "\u2212500"
    assert rows["304"][:3] == ["'" + minus, "a@example.com", " 090"]  # blanks alone: untouched
    # amounts are numbers: a negative total stays a plain, unquoted number
    assert [rows[n][3] for n in ("301", "302", "303", "304")] == ["-500", "1000", "1000", "0"]
    assert b"\r\n301,' =cmd" in blob and b",-500\r\n" in blob


def test_our_choice_labels_are_never_mistaken_for_formulas():
    """Choice cells skip neutralise() for known labels: that is only safe while this holds."""
    from core.domain.orders import labels

    for col in EXPORT_COLUMNS.values():
        if col.kind == "choice":
            for lang in ("ja", "en"):
                for label in labels(col.choices, lang).values():
                    assert label and neutralise(label) == label, label


# ------------------------------------------------------------------------ properties
#: characters a spreadsheet may skip before a formula: blanks, invisible and control characters
_BLANKS = st.sampled_from([" ", "\u3000", "\xa0", "\u200b", "\u2060", "\ufeff", "\x00", "\x07",
                           "\x1b", "\u202e", "\u2028", "\n", "\x0b", "\x0c"])  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(
    blanks=st.lists(_BLANKS, max_size=4).map("".join),
    start=st.sampled_from(export.FORMULA_START),
    rest=st.text(max_size=20),
)
def test_a_formula_start_behind_any_blanks_is_neutralised(blanks, start, rest):
    cell = blanks + start + rest
    assert neutralise(cell) == "'" + cell


def _formula_like(text: str) -> bool:
    """The rule, stated independently: skip spaces and non-printable characters, then look."""
    for char in text:
        if char in export.FORMULA_START:
            return True
        if char != " " and char.isprintable():
            return False
    return False


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(), st.builds(str.__add__, st.lists(_BLANKS, max_size=3).map("".join),
                                      st.text(min_size=1))))  # fmt: skip
def test_neutralise_prefixes_exactly_the_formula_like_cells(text):
    got = neutralise(text)
    assert got == ("'" + text if _formula_like(text) else text)


@settings(max_examples=300, deadline=None)
@given(
    cells=st.lists(st.text(), min_size=1, max_size=5),
    encoding=st.sampled_from(["utf-8-sig", "cp932"]),
)
def test_any_unicode_is_written_and_read_back(cells, encoding):
    out = io.BytesIO()
    writer = export._Writer(out, encoding)
    writer.row([neutralise(c) for c in cells])
    writer.flush()
    (back,) = list(csv.reader(io.StringIO(out.getvalue().decode(encoding), newline="")))
    assert len(back) == len(cells)
    for original, got in zip(cells, back, strict=True):
        assert not _formula_like(got)
        if encoding == "utf-8-sig":
            assert got == neutralise(original)
        else:
            expected, replaced = fit_cp932(neutralise(original))
            assert got == expected
            assert replaced == (expected != neutralise(original).translate(export.CP932_LOOKALIKES))
