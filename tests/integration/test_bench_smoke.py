"""Keep bench/ from rotting: every benchmark runs at smoke size (500 orders, 20 captures at
5 ms latency ...) in this process, on SQLite, into temporary folders. Asserts only that the
figures exist and are sane (counts agree, money moved exactly once per capture), never
timings."""

from __future__ import annotations

import json

import pytest

from bench.__main__ import run_all
from bench.common import BENCHMARKS, END, SMOKE, START, Context, replace_section
from bench.report import section

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench-smoke")
    ctx = Context(SMOKE, results_dir=root / "results", data_dir=root / "data", log=lambda m: None)
    outcome = run_all(ctx, list(BENCHMARKS))
    failed = {name: repr(r) for name, r in outcome.items() if isinstance(r, Exception)}
    assert not failed, failed
    return ctx, outcome


def test_every_benchmark_writes_its_json_with_machine_info(smoke):
    ctx, _ = smoke
    for name in BENCHMARKS:
        doc = json.loads((ctx.results_dir / f"{name}.json").read_text("utf-8"))
        assert doc["benchmark"] == name and doc["mode"] == "smoke"
        assert doc["results"] or name == "cluster"  # cluster: PostgreSQL only (tested apart)
        assert {"cores", "ram_gb", "python", "sqlite", "postgresql"} <= set(doc["machine"])
        assert doc["date"] and doc["goals"]


def test_search_counts_agree_with_the_naive_way(smoke):
    rows = smoke[1]["search"]["results"]
    assert len(rows) == 13
    assert all(r["counts_match"] for r in rows), [(r["name"], r["matches"]) for r in rows]
    assert next(r for r in rows if r["name"].startswith("no filter"))["matches"] == 500
    assert all(r["page_rows"] == min(50, r["matches"]) for r in rows)
    assert all(0 < r["search"]["median_ms"] <= r["search"]["p95_ms"] for r in rows)


def test_pages_show_what_was_asked(smoke):
    rows = {r["screen"]: r for r in smoke[1]["pages"]["results"]}
    assert rows["orders: no filter, 50 rows"]["shown"] == "500件が該当しました。"
    assert any(s.startswith("order ") and "注文番号" in r["shown"] for s, r in rows.items())
    assert all(r["rerun"]["median_ms"] > 0 for r in rows.values())


def test_export_writes_every_row_in_both_encodings(smoke):
    rows = smoke[1]["export"]["results"]
    assert {(r["rows"], r["method"], r["encoding"]) for r in rows} == {
        (n, m, e)
        for n in SMOKE.export_rows
        for m in ("core", "pandas")
        for e in ("utf-8-sig", "cp932")
    }
    assert all(r["rows_per_s"] > 0 and r["peak_rss_mb"] > 0 for r in rows)


def test_batch_moves_money_once_per_capture_and_ends_definite(smoke):
    rows = smoke[1]["batch"]["results"]
    clean = [r for r in rows if not r["fault_rate"]]
    faulty = [r for r in rows if r["fault_rate"]]
    assert [r["concurrency"] for r in clean] == list(SMOKE.concurrencies)
    for r in clean:
        assert r["money_calls"] == r["captures"] == SMOKE.captures
        assert r["items"] == {"ok": SMOKE.captures}
        assert r["ideal_s"] > 0 and r["wall_s"] > 0
    assert faulty
    for r in faulty:
        assert r["definite"], r["items"]
        assert sum(r["items"].values()) == SMOKE.captures
        assert r["captures_applied"] == r["captured_in_db"] <= SMOKE.captures


def test_sync_reads_each_payment_once(smoke):
    for r in smoke[1]["sync"]["results"]:
        assert r["gets"] == r["payments"] == SMOKE.sync_payments
        assert r["items"] == {"ok": SMOKE.sync_payments} and r["money_calls"] == 0


def test_settle_makes_every_lost_answer_definite_without_resending(smoke):
    for r in smoke[1]["settle"]["results"]:
        assert r["settled"] == r["writes"] == SMOKE.settle_writes
        assert r["capture_posts"] == r["writes"]
        assert 0 < r["p50_s"] <= r["p95_s"]
        late = r["by_kind"]["error_500"]  # not applied: definite only past the delay
        assert late["p50_s"] >= SMOKE.settle_delay_s


def test_pdf_lists_every_row_and_makes_every_slip(smoke):
    rows = smoke[1]["pdf"]["results"]
    lists = [r for r in rows if r["kind"] == "list"]
    assert [r["rows"] for r in lists] == list(SMOKE.pdf_rows)
    assert all(r["pages"] >= 1 and r["mb"] > 0 and r["rows_per_s"] > 0 for r in rows)
    slips = next(r for r in rows if r["kind"] == "slips")
    assert slips["rows"] == SMOKE.pdf_slips and slips["pages"] >= SMOKE.pdf_slips


def test_readme_section_is_generated_between_markers(smoke):
    ctx, _ = smoke
    body = section(ctx.results_dir)
    for name in ("Search", "Orders page", "CSV export", "Batch capture", "Sync", "PDF", "Settle"):
        assert f"### {name}" in body
    once = replace_section("# Title\n\ntext\n", body)
    assert once.count(START) == once.count(END) == 1 and "## Benchmarks" in once
    assert replace_section(once, body) == once
    assert replace_section(once, "new").split(START)[0] == once.split(START)[0]
