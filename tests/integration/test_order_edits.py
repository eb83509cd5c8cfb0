"""受注編集 saves on both databases: a save from an out-of-date form is refused with who saved
first and when, nothing is lost, and two saves racing from one version make exactly one."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from core.domain import order_edit
from core.operations.orders import (
    CustomerNameRequired,
    InvalidCustomer,
    OrderChanged,
    change_status,
    form_values,
    save_order,
)
from core.roles import Actor, Role
from core.search import get_order
from core.storage.models import AuditLog, Order
from core.timeutil import JST, as_utc

A = Actor("op-a", Role.OPERATOR)
B = Actor("op-b", Role.OPERATOR)


def _form(ops, order_no: int) -> tuple[dict, int]:
    order = get_order(ops.db, order_no)
    return form_values(order), int(order.version)


def _save(ops, actor, order_no, values: dict, version: int | None):
    return save_order(
        ops,
        actor,
        order_no,
        items=[
            dict(product_code=c, product_name=n, unit_price=p, quantity=q)
            for c, n, p, q in values["items"]
        ],
        shipping_fee=values["shipping_fee"],
        tax=values["tax"],
        status=values["status"],
        customer={f: values[f] for f in order_edit.CUSTOMER_FIELDS},
        expected_version=version,
    )


def test_second_save_from_the_same_version_is_refused_and_nothing_is_lost(ops, world):
    no = world.order()
    base, version = _form(ops, no)
    mine_a = {**base, "shipping_fee": base["shipping_fee"] + 500}  # A changes 送料
    mine_b = {**base, "tax": base["tax"] + 30, "customer_name": "山田 次郎"}  # B: 税額 and name

    saved = _save(ops, B, no, mine_b, version)  # B saves first
    assert saved.version == version + 1
    with pytest.raises(OrderChanged) as info:
        _save(ops, A, no, mine_a, version)  # A saves from the same, now old, version
    exc = info.value
    order = get_order(ops.db, no)
    assert exc.params["saved_by"] == "op-b" and exc.params["version"] == version + 1
    assert "op-bさんが" in exc.message("ja") and "op-b saved this order first" in exc.message("en")
    assert exc.params["saved_at"] in exc.message("ja")
    saved_at = as_utc(order.updated_at).astimezone(JST).strftime("%Y/%m/%d %H:%M:%S")
    assert exc.params["saved_at"] == saved_at  # when B saved, to the second, JST
    # B's save is intact; A's refused save wrote nothing
    assert order.version == version + 1 and order.updated_by == "op-b"
    assert order.tax == base["tax"] + 30 and order.customer_name == "山田 次郎"
    assert order.shipping_fee == base["shipping_fee"]
    # A's values are not lost either: re-applied on the fresh order, then saved
    fresh, fresh_version = _form(ops, no)
    merged = order_edit.reapply(base, mine_a, fresh)
    assert [c.field for c in order_edit.changes(base, mine_a, fresh)] == ["shipping_fee"]
    _save(ops, A, no, merged, fresh_version)
    order = get_order(ops.db, no)
    assert (order.shipping_fee, order.tax, order.customer_name) == (
        base["shipping_fee"] + 500,
        base["tax"] + 30,
        "山田 次郎",
    )
    assert (
        order.total == sum(p * q for _, _, p, q in base["items"]) + order.shipping_fee + order.tax
    )
    assert order.version == version + 2 and order.updated_by == "op-a"
    with ops.db.session() as s:
        saves = s.execute(
            select(AuditLog.actor, AuditLog.outcome)
            .where(AuditLog.order_no == no, AuditLog.action == "order_save")
            .order_by(AuditLog.id)
        ).all()
    assert [tuple(r) for r in saves] == [("op-b", "ok"), ("op-a", "skipped"), ("op-a", "ok")]


def test_two_saves_racing_from_one_version_make_exactly_one(ops, world):
    no = world.order()
    base, version = _form(ops, no)
    start = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def run(actor: Actor, shipping: int) -> None:
        start.wait()
        try:
            outcomes[actor.name] = _save(
                ops, actor, no, {**base, "shipping_fee": shipping}, version
            )
        except OrderChanged as exc:
            outcomes[actor.name] = exc

    threads = [
        threading.Thread(target=run, args=(A, 111)),
        threading.Thread(target=run, args=(B, 222)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    refused = [n for n, r in outcomes.items() if isinstance(r, OrderChanged)]
    saved = [n for n, r in outcomes.items() if not isinstance(r, OrderChanged)]
    assert len(refused) == 1 and len(saved) == 1, outcomes
    order = get_order(ops.db, no)
    assert order.version == version + 1 and order.updated_by == saved[0]
    assert order.shipping_fee == {"op-a": 111, "op-b": 222}[saved[0]]
    assert outcomes[refused[0]].params["saved_by"] == saved[0]


def test_a_status_change_from_the_list_makes_an_open_form_stale(ops, world):
    no = world.order()
    base, version = _form(ops, no)
    assert change_status(ops, B, [no], "shipped") == 1
    with pytest.raises(OrderChanged) as info:
        _save(ops, A, no, {**base, "tax": 10}, version)
    assert info.value.params["saved_by"] == "op-b"
    order = get_order(ops.db, no)
    assert order.status == "shipped" and order.tax == base["tax"]


def test_a_legacy_caller_without_a_version_still_saves(ops, world):
    no = world.order()
    base, _ = _form(ops, no)
    saved = _save(ops, A, no, {**base, "tax": 7}, None)
    assert get_order(ops.db, no).tax == 7 and saved.version >= 1


def test_customer_fields_are_validated_and_saved(ops, world):
    no = world.order()
    base, version = _form(ops, no)
    with pytest.raises(CustomerNameRequired):
        _save(ops, A, no, {**base, "customer_name": "  "}, version)
    with pytest.raises(InvalidCustomer) as info:
        _save(ops, A, no, {**base, "phone": "0" * 41}, version)
    assert "40" in info.value.message("ja")
    _save(ops, A, no, {**base, "note": " 置き配希望 ", "address2": "2F"}, version)
    with ops.db.session() as s:
        order = s.scalar(select(Order).where(Order.order_no == no))
        assert (order.note, order.address2, order.version) == ("置き配希望", "2F", version + 1)
