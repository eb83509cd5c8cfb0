"""The verdict on a lost write: by our tag alone, never "not done" before the deadline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from core.domain.states import Action
from core.operations.verdict import Pending, Verdict, judge
from core.paidy.models import INTENT_KEY, Payment

T0 = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
DEADLINE = T0 + timedelta(seconds=60)
TAG = "oi_ours"


def payment(status="closed", captures=(), refunds=(), amount=1000) -> Payment:
    return Payment.model_validate(
        {
            "id": "pay_x",
            "amount": amount,
            "status": status,
            "captures": [
                {"id": f"cap_{i}", "amount": a, "metadata": {INTENT_KEY: tag} if tag else {}}
                for i, (a, tag) in enumerate(captures)
            ],
            "refunds": [
                {
                    "id": f"ref_{i}",
                    "capture_id": "cap_0",
                    "amount": a,
                    "metadata": {INTENT_KEY: tag} if tag else {},
                }
                for i, (a, tag) in enumerate(refunds)
            ],
        }
    )


def pending(action=Action.REFUND, tag=TAG, new_amount=None) -> Pending:
    return Pending(action, tag, T0, DEADLINE, new_amount)


def test_our_tag_is_done_whenever_it_is_read():
    p = payment(captures=[(1000, None)], refunds=[(300, "someone"), (500, TAG)])
    for began in (T0 - timedelta(seconds=1), T0, DEADLINE + timedelta(hours=1)):
        f = judge(pending(), p, began)
        assert (f.verdict, f.entries, f.amount) == (Verdict.DONE, ("ref_1",), 500)


def test_someone_elses_refund_is_never_ours():
    p = payment(captures=[(1000, None)], refunds=[(500, None), (500, "oi_other")])
    assert judge(pending(), p, T0 + timedelta(seconds=1)).verdict is Verdict.WAIT
    assert judge(pending(), p, DEADLINE).verdict is Verdict.NOT_DONE


def test_a_read_that_began_before_the_intent_never_settles_it():
    p = payment(status="authorized")
    for action in (Action.REFUND, Action.CAPTURE, Action.CLOSE, Action.UPDATE):
        f = judge(pending(action, new_amount=900), p, T0 - timedelta(microseconds=1))
        assert f.verdict is Verdict.WAIT and f.reason == "read_before_intent"


def test_capture_without_our_tag_proves_ours_never_lands():
    p = payment(captures=[(1000, None)])
    assert judge(pending(Action.CAPTURE), p, T0 + timedelta(seconds=1)).verdict is Verdict.NOT_DONE


def test_close_and_update_are_judged_by_state():
    closed, open_ = payment(status="closed"), payment(status="authorized", amount=1000)
    early, late = T0 + timedelta(seconds=1), DEADLINE
    assert judge(pending(Action.CLOSE), closed, early).verdict is Verdict.DONE
    assert judge(pending(Action.CLOSE), open_, early).verdict is Verdict.WAIT
    assert judge(pending(Action.CLOSE), open_, late).verdict is Verdict.NOT_DONE
    upd = pending(Action.UPDATE, new_amount=1000)
    assert judge(upd, open_, early).verdict is Verdict.DONE
    upd = pending(Action.UPDATE, new_amount=1100)
    assert judge(upd, open_, early).verdict is Verdict.WAIT
    assert judge(upd, open_, late).verdict is Verdict.NOT_DONE


def test_untagged_or_unreliable_tags_wait_for_a_person():
    p = payment(captures=[(1000, None)])
    assert judge(pending(tag=None), p, DEADLINE).verdict is Verdict.PERSON
    assert judge(pending(), p, DEADLINE, tags_reliable=False).verdict is Verdict.PERSON
    assert judge(pending(), p, T0, tags_reliable=False).verdict is Verdict.WAIT


tags = st.sampled_from([None, TAG, "oi_other"])
entries = st.lists(st.tuples(st.integers(0, 5000), tags), max_size=4)


@given(
    action=st.sampled_from([Action.CAPTURE, Action.REFUND]),
    captures=entries,
    refunds=entries,
    offset=st.integers(-120, 120),
    reliable=st.booleans(),
)
def test_money_verdict_rules_hold_for_any_record(action, captures, refunds, offset, reliable):
    p = payment(captures=captures, refunds=refunds)
    began = T0 + timedelta(seconds=offset)
    f = judge(pending(action), p, began, tags_reliable=reliable)
    ours = [t for _, t in (captures if action is Action.CAPTURE else refunds) if t == TAG]
    assert (f.verdict is Verdict.DONE) == bool(ours)
    if f.verdict is Verdict.NOT_DONE:
        # only from a late enough read, or the one-capture rule, and only with reliable tags
        assert reliable
        assert began >= DEADLINE or (action is Action.CAPTURE and captures and began >= T0)
