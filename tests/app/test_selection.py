"""Act only on what the operator chose: ticks are order numbers (pages/_selection.py), cleared
after a run and whenever the list under them changes; 全て選択/全て解除; 実行 with nothing
chosen; the confirmation names exactly what runs (count, numbers, yen) and the job keeps it."""

from __future__ import annotations

from sqlalchemy import select

from core.search import get_order
from core.storage.models import AuditLog, BatchItem, BatchJob
from tests.app.conftest import assert_clean, chosen, frame_with, grid, joined, run_until, tick

BATCH, ORDERS = "batch_grid", "orders_grid"


def shown(at, base: str) -> list[int]:
    return [int(n) for n in grid(at, base).value["order_no"]]


def job_done(at) -> bool:
    return "一括処理が完了しました" in joined(at)


def captured_orders(app_env) -> set[int]:
    with app_env.db.session() as s:
        return set(
            s.scalars(
                select(AuditLog.order_no).where(
                    AuditLog.action == "capture", AuditLog.outcome == "ok"
                )
            )
        )


def open_batch_list(app_env):
    at = app_env.app("pages/batch.py")
    at.multiselect(key="batch_states").set_value(["open"]).run()
    assert_clean(at)
    return at


def capturable(app_env, numbers: list[int]) -> list[int]:
    return [
        n
        for n in numbers
        if get_order(app_env.db, n).total == get_order(app_env.db, n).payment.amount
    ]


def test_after_a_run_the_shrunk_list_has_nothing_ticked_and_nothing_unchosen_runs(app_env):
    at = open_batch_list(app_env)
    before = shown(at, BATCH)
    assert len(before) >= 5
    tick(at, BATCH, [0, 1, 2])
    picked = before[:3]
    assert chosen(at, BATCH) == picked and "3件選択中" in joined(at)
    at.selectbox(key="batch_action").set_value("capture")
    at.button(key="batch_run").click().run()
    at.button(key="batch_confirm").click().run()
    assert_clean(at)
    run_until(at, job_done)
    after = shown(at, BATCH)
    assert len(after) < len(before)  # the list shrank under the old positions
    assert chosen(at, BATCH) == [] and "0件選択中" in joined(at)
    assert at.selectbox(key="batch_action").value is None  # the pull-down starts over
    assert captured_orders(app_env) == set(capturable(app_env, picked))
    # a second 実行 explains and runs nothing
    at.selectbox(key="batch_action").set_value("capture")
    at.button(key="batch_run").click().run()
    assert_clean(at)
    assert any("受注が選択されていません" in w.value for w in at.warning)
    assert not any("will_run" in df.value.columns for df in at.dataframe)
    with app_env.db.session() as s:
        assert s.scalar(select(BatchJob.id).order_by(BatchJob.id.desc())) == 1  # one job only
    assert captured_orders(app_env) == set(capturable(app_env, picked))


def test_a_filter_change_clears_the_selection(app_env):
    at = open_batch_list(app_env)
    tick(at, BATCH, [0, 1])
    assert len(chosen(at, BATCH)) == 2
    key = grid(at, BATCH).key
    at.multiselect(key="batch_states").set_value(["open", "expired"]).run()
    assert_clean(at)
    assert chosen(at, BATCH) == [] and "0件選択中" in joined(at)
    assert grid(at, BATCH).key != key  # a fresh grid: the browser drops its old ticks
    assert "一覧の内容が変わったため、選択を解除しました。" in joined(at)


def test_a_page_change_clears_the_selection(app_env):
    at = app_env.app("pages/orders.py")
    at.selectbox(key="orders_page_size").set_value(25).run()
    tick(at, ORDERS, [0, 1])
    assert len(chosen(at, ORDERS)) == 2
    at.number_input(key="orders_page").set_value(2).run()
    assert_clean(at)
    assert chosen(at, ORDERS) == [] and "0件選択中" in joined(at)
    # and the sort too
    tick(at, ORDERS, [0])
    at.selectbox(key="orders_sort").set_value("order_no").run()
    assert chosen(at, ORDERS) == []


def test_a_status_change_acts_on_the_chosen_orders_only_and_clears(app_env):
    at = app_env.app("pages/orders.py")
    at.selectbox(key="orders_sort").set_value("updated_at").run()  # changed rows move up
    before = shown(at, ORDERS)
    rows = [i for i, n in enumerate(before) if get_order(app_env.db, n).status != "in_progress"]
    rows = rows[3:5]  # not the top rows: they move once changed
    tick(at, ORDERS, rows)
    picked = [before[i] for i in rows]
    untouched = {n: get_order(app_env.db, n).status for n in before if n not in picked}
    at.selectbox(key="orders_new_status").set_value("in_progress")
    at.button(key="orders_status_apply").click().run()
    assert_clean(at)
    assert "2件の対応状況を「対応中」に変更しました。" in joined(at)
    assert shown(at, ORDERS) != before  # the list re-sorted under the old positions
    assert chosen(at, ORDERS) == [] and "0件選択中" in joined(at)
    assert {get_order(app_env.db, n).status for n in picked} == {"in_progress"}
    assert {n: get_order(app_env.db, n).status for n in untouched} == untouched
    # applying again with nothing chosen changes nothing
    at.button(key="orders_status_apply").click().run()
    assert any("受注を選択してください" in w.value for w in at.warning)


def test_select_all_and_clear_all_with_counts(app_env):
    at = open_batch_list(app_env)
    numbers = shown(at, BATCH)
    at.button(key="batch_grid_select_all").click().run()
    assert_clean(at)
    assert chosen(at, BATCH) == numbers
    assert f"{len(numbers)}件選択中(表示中 {len(numbers)}件)" in joined(at)
    assert at.button(key="batch_grid_select_all").disabled  # nothing more to select
    at.button(key="batch_grid_select_none").click().run()
    assert chosen(at, BATCH) == [] and f"0件選択中(表示中 {len(numbers)}件)" in joined(at)
    assert at.button(key="batch_grid_select_none").disabled
    # the orders list has them too
    at = app_env.app("pages/orders.py")
    at.button(key="orders_grid_select_all").click().run()
    assert len(chosen(at, ORDERS)) == len(shown(at, ORDERS)) == 40


def test_run_with_nothing_chosen_explains_and_does_nothing(app_env):
    at = open_batch_list(app_env)
    at.selectbox(key="batch_action").set_value("capture")
    at.button(key="batch_run").click().run()
    assert_clean(at)
    assert any("受注が選択されていません" in w.value for w in at.warning)
    assert "実行内容の確認" not in joined(at)
    with app_env.db.session() as s:
        assert s.scalar(select(BatchJob.id)) is None


def test_the_confirmation_names_numbers_and_yen_and_the_job_keeps_them(app_env):
    at = open_batch_list(app_env)
    numbers = shown(at, BATCH)
    tick(at, BATCH, [0, 1, 2, 3])
    at.selectbox(key="batch_action").set_value("capture")
    at.button(key="batch_run").click().run()
    assert_clean(at)
    preview = frame_with(at, "will_run", "reason")
    assert list(preview["order_no"]) == numbers[:4]
    will = [
        int(n) for n, w in zip(preview["order_no"], preview["will_run"], strict=True) if w == "○"
    ]
    assert will == capturable(app_env, numbers[:4]) and will
    total = sum(get_order(app_env.db, n).payment.amount for n in will)
    summary = f"{len(will)}件を実行します(合計 {total:,}円)。注文番号: {', '.join(map(str, will))}"
    assert summary in joined(at)
    # the preview is for that selection only: ticking another row withdraws it
    tick(at, BATCH, [0, 1, 2])
    assert "実行内容の確認を取り消しました" in joined(at)
    assert not any(b.key == "batch_confirm" for b in at.button)
    tick(at, BATCH, [0, 1, 2, 3])
    at.button(key="batch_run").click().run()
    at.button(key="batch_confirm").click().run()
    assert_clean(at)
    with app_env.db.session() as s:
        job = s.scalars(select(BatchJob)).one()
        items = s.execute(
            select(BatchItem.order_no, BatchItem.confirmed_amount)
            .where(BatchItem.job_id == job.id)
            .order_by(BatchItem.position)
        ).all()
        assert job.confirmed_amount == total and job.total == len(will)
    assert [n for n, _ in items] == will
    assert sum(a for _, a in items) == total
    run_until(at, job_done)
    assert f"確認済みの内容: {len(will)}件(合計 {total:,}円)" in joined(at)


def test_orders_sent_from_another_screen_are_chosen_then_cleared_by_the_run(app_env):
    at = app_env.app("pages/orders.py")
    at.multiselect(key="of_paidy_state").set_value(["open"])
    next(b for b in at.button if b.label == "この条件で検索する").click().run()
    tick(at, ORDERS, [0, 1])
    sent = chosen(at, ORDERS)
    at.button(key="orders_to_batch").click().run()
    assert_clean(at)
    assert chosen(at, BATCH) == sent
    at.switch_page("pages/batch.py")  # AppTest reruns the page it was told, not st.switch_page's
    at.selectbox(key="batch_action").set_value("refresh")
    at.button(key="batch_run").click().run()
    at.button(key="batch_confirm").click().run()
    run_until(at, job_done)
    assert chosen(at, BATCH) == []
