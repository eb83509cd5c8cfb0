"""The CLI's PDFs: ``export --format pdf`` (same filters and columns as the CSV; csv stays
the default) and ``slips ORDER... --out FILE`` (one line per order, exit 0/1/2, no file when
nothing could be made). Read back with pdftotext."""

from __future__ import annotations

import re

import pytest

from core.cli import main
from core.settings import reload_settings
from tests.integration.test_reports import add_order, jst
from tests.pdf_helpers import needs_poppler, pdf_text
from tests.secrets import CLI_KEY as SECRET

pytestmark = needs_poppler


@pytest.fixture
def cli_env(monkeypatch, db, sandbox):
    env = {
        "DATABASE_URL": db.url,
        "PAIDY_API_BASE": sandbox.url,
        "PAIDY_SECRET_KEY": SECRET,
        "AUTH_MODE": "none",
        "PAIDY_TIMEOUT_S": "2",
        "SHOP_NAME": "CLI商店",
        "SHOP_ADDRESS": "〒060-0001 北海道札幌市中央区北一条西1-1",
        "SHOP_PHONE": "011-000-1111",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    reload_settings()
    add_order(db, 501, "山田 花子", ordered_at=jst(2025, 5, 3))
    add_order(db, 502, "鈴木 一郎", items=(("X-1", "手ぬぐい", 900, 3),), shipping=0,
              ordered_at=jst(2025, 5, 4))  # fmt: skip
    add_order(db, 503, "山本 太郎", ordered_at=jst(2025, 5, 5), status="shipped")
    yield db
    monkeypatch.undo()
    reload_settings()


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert SECRET not in out + err and "Traceback" not in out + err
    return code, out, err


def test_export_pdf_with_filters_and_columns(cli_env, capsys, tmp_path):
    target = tmp_path / "yamada.pdf"
    code, out, err = run(capsys, "export", "--format", "pdf", "--name", "山", "--columns",
                         "order_no,customer_name,total", "--out", str(target))  # fmt: skip
    assert code == 0 and err == ""
    assert out.strip() == f"exported 2 rows to {target} (1 pages)"
    text = pdf_text(target.read_bytes())
    assert "山田 花子" in text and "山本 太郎" in text and "鈴木" not in text
    assert "注文番号" in text and "購入金額" in text and "受注日" not in text
    assert re.search(r"合計 2件\s+6,380", text)  # 3,190 x 2
    assert "ページ 1 / 1" in text
    assert not (tmp_path / "yamada.pdf.part").exists()


def test_export_stays_csv_by_default(cli_env, capsys, tmp_path):
    target = tmp_path / "orders.csv"
    code, out, _ = run(capsys, "export", "--out", str(target))
    assert code == 0 and "exported 3 rows" in out
    assert target.read_bytes().startswith(b"\xef\xbb\xbf")  # the CSV, not a PDF


def test_slips_one_line_per_order_and_exit_1_for_an_unknown_one(cli_env, capsys, tmp_path):
    target = tmp_path / "slips.pdf"
    code, out, err = run(capsys, "slips", "502", "999", "501", "--out", str(target))
    assert code == 1 and err == ""
    assert out.splitlines() == [
        "502 slip ok",
        "999 slip failed: not_found: order 999 does not exist",
        "501 slip ok",
    ]
    pages = pdf_text(target.read_bytes()).split("\f")
    assert "鈴木 一郎 様" in pages[0] and "手ぬぐい" in pages[0] and "￥2,970" in pages[0]
    assert "山田 花子 様" in pages[1]
    assert "CLI商店" in pages[0] and "北海道札幌市中央区北一条西1-1" in pages[0]
    assert "TEL 011-000-1111" in pages[0]
    before = target.read_bytes()
    code, out, err = run(capsys, "slips", "501", "--out", str(target))
    assert code == 2 and "--force" in err and target.read_bytes() == before  # never overwritten
    code, out, _ = run(capsys, "slips", "501", "--out", str(target), "--force")
    assert code == 0 and out == "501 slip ok\n"


def pdfs(folder):
    return sorted(p.name for p in folder.iterdir() if ".pdf" in p.name)


def test_slips_of_no_known_order_write_nothing(cli_env, capsys, tmp_path):
    target = tmp_path / "none.pdf"
    code, out, err = run(capsys, "slips", "998", "999", "--out", str(target))
    assert code == 1 and err == ""
    assert out.splitlines() == [
        "998 slip failed: not_found: order 998 does not exist",
        "999 slip failed: not_found: order 999 does not exist",
    ]
    assert pdfs(tmp_path) == []


@pytest.mark.parametrize(
    "argv",
    [
        ["slips", "--out", "x.pdf"],
        ["slips", "abc", "--out", "x.pdf"],
        ["slips", "501"],
        ["export", "--format", "xlsx", "--out", "x.pdf"],
        ["export", "--format", "pdf", "--columns", "order_no,nope", "--out", "x.pdf"],
    ],
)
def test_bad_arguments_exit_2_with_one_line(cli_env, capsys, tmp_path, monkeypatch, argv):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("error:")
    assert pdfs(tmp_path) == []


def test_export_pdf_of_too_many_rows_exits_2_and_writes_nothing(cli_env, capsys, tmp_path,
                                                                 monkeypatch):  # fmt: skip
    from core.reports import list_pdf

    monkeypatch.setattr(list_pdf, "MAX_ROWS", 2)
    code, out, err = run(capsys, "export", "--format", "pdf", "--out", str(tmp_path / "a.pdf"))
    assert code == 2 and out == ""
    assert err.strip() == (
        "error: A PDF holds at most 2 orders (3 match). Narrow the search or use the CSV export."
    )
    assert pdfs(tmp_path) == []
