"""Paidy webhooks in core, on SQLite and PostgreSQL against the real sandbox: a hint only,
one deduplicated 状態確認 per payment, unknown payments listed for a one-click link.
(The HTTP route itself is tested against a running ``streamlit run``: test_web_server.py.)"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core.operations import batch, unlinked
from core.operations.webhook import (
    CLOCK_SKEW,
    InvalidWebhook,
    Received,
    handle_webhook,
    parse_hint,
    receive,
)
from core.storage.models import (
    AuditLog,
    BatchItem,
    BatchJob,
    Order,
    PaidyPayment,
    UnlinkedPayment,
)
from core.timeutil import iso_z
from tests.fixtures_ops import OPERATOR


def payment_of(ops, order_no: int) -> str:
    with ops.db.session() as s:
        return s.scalar(
            select(PaidyPayment.payment_id)
            .join(Order, Order.id == PaidyPayment.order_id)
            .where(Order.order_no == order_no)
        )


def open_items(ops, pid: str) -> list[str]:
    with ops.db.session() as s:
        return list(
            s.scalars(
                select(BatchItem.status).where(
                    BatchItem.payment_id == pid, BatchItem.status.in_(("pending", "running"))
                )
            )
        )


def jobs(ops) -> int:
    with ops.db.session() as s:
        return s.scalar(select(func.count()).select_from(BatchJob))


def gets(world) -> int:
    return world.stats()["by_route"].get("GET /payments", 0)


def test_the_payload_is_only_a_hint(ops, world):
    no = world.order("authorized")
    pid = payment_of(ops, no)
    job = handle_webhook(
        ops, {"payment_id": pid, "status": "capture_success", "event_type": "payment"}
    )
    assert job is not None
    with ops.db.session() as s:
        assert s.scalar(select(PaidyPayment.status)) == "authorized", "the payload is not trusted"
        assert s.get(BatchJob, job).created_by == "webhook"
    batch.run_job(ops, job)
    assert batch.progress(ops, job).counts == {"ok": 1}
    assert handle_webhook(ops, b"not json") is None
    assert handle_webhook(ops, {"payment_id": "pay_../../x"}) is None


def test_repeats_while_a_refresh_is_queued_add_nothing(ops, world):
    no = world.order("authorized")
    pid = payment_of(ops, no)
    first = receive(ops, {"payment_id": pid})
    assert first.received is Received.SCHEDULED and first.job_id
    for _ in range(5):
        assert receive(ops, {"payment_id": pid}).received is Received.DEDUPLICATED
    assert open_items(ops, pid) == ["pending"] and jobs(ops) == 1
    before = gets(world)
    batch.run_job(ops, first.job_id)
    assert gets(world) == before + 1
    # done: a replay of an event older than that read is covered by it ...
    replay = {"payment_id": pid, "timestamp": iso_z(ops.now() - timedelta(minutes=5))}
    assert receive(ops, replay).received is Received.DEDUPLICATED
    # ... news from now is not (a hint without a timestamp is news at its arrival)
    assert receive(ops, {"payment_id": pid}).received is Received.SCHEDULED


def test_a_running_refresh_covers_news_older_than_its_read(ops, world):
    no = world.order("authorized")
    pid = payment_of(ops, no)
    receive(ops, {"payment_id": pid})
    item = batch.claim_next(ops, "test-worker")  # the read is about to begin
    assert item is not None and item.payment_id == pid
    claimed = item.claimed_at
    old_news = {"payment_id": pid, "timestamp": iso_z(claimed - CLOCK_SKEW - timedelta(seconds=1))}
    assert receive(ops, old_news).received is Received.DEDUPLICATED
    # news from (about) now may be newer than the running read: one follow-up, never two
    fresh = {"payment_id": pid, "timestamp": iso_z(claimed)}
    assert receive(ops, fresh).received is Received.SCHEDULED
    assert receive(ops, fresh).received is Received.DEDUPLICATED
    assert receive(ops, {"payment_id": pid}).received is Received.DEDUPLICATED  # no timestamp
    assert sorted(open_items(ops, pid)) == ["pending", "running"]
    batch.run_item(ops, item)
    assert open_items(ops, pid) == ["pending"]


def test_concurrent_hints_for_one_payment_queue_one_refresh(ops, world):
    no = world.order("authorized")
    pid = payment_of(ops, no)
    outcomes: list[Received] = []
    start = threading.Barrier(12)

    def hit() -> None:
        start.wait()
        for _ in range(3):
            outcomes.append(receive(ops, {"payment_id": pid}).received)

    threads = [threading.Thread(target=hit) for _ in range(12)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert outcomes.count(Received.SCHEDULED) == 1
    assert open_items(ops, pid) == ["pending"] and jobs(ops) == 1


def test_an_unknown_payment_is_listed_and_one_click_links_it(ops, world):
    pid = world.payment("authorized", price=2480)  # at Paidy, not in our records
    other = world.payment("authorized")
    before = gets(world)
    for status in ("authorize_success", "authorize_success", "update_success"):
        hint = {"payment_id": pid, "status": status, "order_ref": "<b>77</b>"}
        assert receive(ops, hint).received is Received.UNLINKED
    receive(ops, {"payment_id": other})
    assert gets(world) == before, "an unknown id never makes us call Paidy"
    assert jobs(ops) == 0
    listed = unlinked.unlinked_payments(ops)
    assert set(listed["payment_id"]) == {pid, other}
    row = listed.set_index("payment_id").loc[pid]
    assert (row["hints"], row["last_status"], row["order_ref"]) == (
        3,
        "update_success",
        "<b>77</b>",
    )
    assert unlinked.unlinked_count(ops) == 2
    with ops.db.session() as s:  # audited once, when first seen
        events = s.scalars(select(AuditLog.payment_id).where(AuditLog.action == "webhook")).all()
    assert sorted(events) == sorted([pid, other])

    linked = unlinked.link(ops, OPERATOR, pid)
    assert linked.created_order and not linked.already_linked
    assert gets(world) == before + 1
    assert list(unlinked.unlinked_payments(ops)["payment_id"]) == [other]
    with ops.db.session() as s:
        assert s.get(UnlinkedPayment, pid) is None
    # from now on its hints refresh the new order
    assert receive(ops, {"payment_id": pid}).received is Received.SCHEDULED


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[1, 2]",
        b'"pay_abc"',
        b"{}",
        b'{"payment_id": 12}',
        b'{"payment_id": "pay_../../etc"}',
        b'{"payment_id": "pay_' + b"a" * 80 + b'"}',
        b'{"payment_id": "cap_123"}',
        b'{"payment_id": "pay_ok", "timestamp": "yesterday"}',
        b"{" * 5000 + b"}" * 5000,
        b'{"payment_id": "pay_ok", "pad": "' + b"x" * 70_000 + b'"}',
    ],
)
def test_unusable_bodies_are_refused_and_change_nothing(ops, body):
    with pytest.raises(InvalidWebhook):
        receive(ops, body)
    with ops.db.session() as s:
        assert s.scalar(select(func.count()).select_from(UnlinkedPayment)) == 0
        assert s.scalar(select(func.count()).select_from(AuditLog)) == 0
    assert jobs(ops) == 0


def test_parse_hint_reads_paidys_payload():
    hint = parse_hint(
        b'{"payment_id": "pay_XdXi-T0AAFQA3JEn", "capture_id": "cap_1", "event_type": "payment",'
        b' "status": "capture_success", "order_ref": "61", "timestamp": "2018-02-05T12:58:10.381Z"}'
    )
    assert hint.payment_id == "pay_XdXi-T0AAFQA3JEn" and hint.status == "capture_success"
    assert hint.timestamp is not None and hint.timestamp.year == 2018
