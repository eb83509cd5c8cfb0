"""The screens of money in time: a write being checked shows when it will be definite; a
late landing is on the dashboard until a person marks it reviewed; a write the rules cannot
decide is decided by a person beside Paidy's record."""

from __future__ import annotations

from sqlalchemy import select

from core.operations import flags, payments
from core.operations.results import Outcome
from core.storage.models import AuditLog
from tests.app.conftest import assert_clean, joined
from tests.fixtures_ops import OPERATOR, World, make_ops, past_deadline


def world_of(app_env, sandbox):
    ops = make_ops(app_env.db, app_env.sandbox_url)
    return ops, World(ops, sandbox)


def entry(app_env, audit_id: int) -> AuditLog:
    with app_env.db.session() as s:
        row = s.get(AuditLog, audit_id)
        s.expunge(row)
        return row


def test_a_lost_answer_says_when_it_will_be_definite(app_env, sandbox):
    ops, world = world_of(app_env, sandbox)
    order_no = world.order("captured", price=2000)
    world.fault("error_500", path_contains="/refunds", method="POST")
    r = payments.refund(ops, OPERATOR, order_no, 500)
    assert r.outcome is Outcome.UNKNOWN
    at = app_env.app("pages/dashboard.py")
    assert_clean(at)
    text = joined(at)
    assert "確認が必要な処理・確認中の処理" in text
    frame = at.dataframe[0].value  # the first table: writes to check / being checked
    row = frame[frame["order_no"] == order_no].iloc[0]
    assert row["definite"] and row["outcome_label"] == "未確定"
    at = app_env.app("pages/order.py", query={"order": order_no})
    assert_clean(at)
    assert "以降に確定します" in joined(at) and "再実行しないでください" in joined(at)


def test_a_late_landing_stays_on_the_dashboard_until_reviewed(app_env, sandbox):
    ops, world = world_of(app_env, sandbox)
    order_no = world.order("captured", price=3000)
    world.faults(apply_late_s=3600)
    world.fault("apply_late", path_contains="/refunds", method="POST")
    first = payments.refund(ops, OPERATOR, order_no, 500)
    past_deadline(ops)
    payments.refresh(ops, OPERATOR, order_no)  # concluded "not done"
    world.land_late_writes()
    payments.refresh(ops, OPERATOR, order_no)  # ...found after all: flagged
    assert entry(app_env, first.audit_id).needs_review
    at = app_env.app("pages/dashboard.py")
    assert_clean(at)
    listed = at.dataframe[0].value
    late = listed[listed["order_no"] == order_no]
    assert "遅延反映" in late["message"].iloc[0]  # the corrected entry, flagged
    assert at.selectbox(key="review_pick").value == first.audit_id
    entries = at.dataframe[1].value  # Paidy's record beside it
    assert list(entries["kind"]) == ["売上確定(Paidy)", "払い戻し(Paidy)"]
    at.text_input(key="review_note").input("お客様に差額を確認済み").run()
    at.button(key="review_ack").click().run()
    assert_clean(at)
    assert not entry(app_env, first.audit_id).needs_review
    with app_env.db.session() as s:
        review = s.scalar(select(AuditLog).where(AuditLog.action == "review"))
        assert review.actor == "demo-operator" and "お客様に差額を確認済み" in review.message


def test_an_undecidable_write_is_decided_by_a_person(app_env, sandbox):
    ops, world = world_of(app_env, sandbox)
    flags.mark_tags_unreliable(ops.db, ops.now(), at="test")
    order_no = world.order("captured", price=1000)
    world.fault("error_500", path_contains="/refunds", method="POST")
    r = payments.refund(ops, OPERATOR, order_no, 100)
    past_deadline(ops)
    payments.refresh(ops, OPERATOR, order_no)
    assert entry(app_env, r.audit_id).needs_review
    at = app_env.app("pages/dashboard.py")
    assert_clean(at)
    assert "Paidyが操作タグ(metadata)を返さないことを検出しました" in joined(at)
    at.button(key="review_not_done").click().run()  # without a note: refused, said why
    assert "判断の根拠" in joined(at)
    assert entry(app_env, r.audit_id).outcome == "unknown"
    at.text_input(key="review_note").input("Paidy管理画面で払い戻しなし").run()
    at.button(key="review_not_done").click().run()
    assert_clean(at)
    decided = entry(app_env, r.audit_id)
    assert decided.outcome == "settled" and decided.detail["settled_applied"] is False
    assert payments.refund(ops, OPERATOR, order_no, 100).ok  # money may move again
