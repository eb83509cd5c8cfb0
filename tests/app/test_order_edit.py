"""受注編集 when someone else saves first: the save is refused with who and when, this
operator's values stay in the form, and 「自分の変更を再適用」 puts them on the fresh order."""

from __future__ import annotations

from core.operations.orders import form_values, save_order
from core.roles import Actor, Role
from core.search import get_order
from tests.app.conftest import assert_clean, joined

B = Actor("op-b", Role.OPERATOR)


def _ops():
    from pages import _ui

    return _ui.runtime().ops


def suffix(at) -> str:
    """The form's current widget-key suffix (``{order_no}_{n}``)."""
    return next(k for k in (n.key for n in at.number_input) if k and k.startswith("shipping_"))[9:]


def b_saves(no: int, **changes) -> None:
    """Operator B saves the order through core (B's own screen would do exactly this)."""
    order = get_order(_ops().db, no)
    values = {**form_values(order), **changes}
    save_order(
        _ops(),
        B,
        no,
        items=[
            dict(product_code=c, product_name=n, unit_price=p, quantity=q)
            for c, n, p, q in values["items"]
        ],
        shipping_fee=values["shipping_fee"],
        tax=values["tax"],
        status=values["status"],
        expected_version=int(order.version),
    )


def test_stale_save_is_refused_mine_stay_and_reapply_keeps_both(app_env):
    no = app_env.order_in_state("open")
    before = get_order(app_env.db, no)
    at = app_env.app("pages/order.py", query={"order": no})
    assert_clean(at)
    key = suffix(at)
    mine = int(before.shipping_fee) + 500
    at.number_input(key=f"shipping_{key}").set_value(mine).run()  # A changes 送料 ...
    at.text_input(key=f"address2_{key}").input("受付 2F").run()
    b_saves(no, tax=int(before.tax) + 30, status="in_progress")  # ... B saves first

    at.button(key=f"save_{key}").click().run()  # A saves: refused
    assert_clean(at)
    assert "保存できませんでした(この受注は先に保存されています)。" in [e.value for e in at.error]
    fresh = get_order(app_env.db, no)
    saved_at = f"{fresh.updated_at:%S}"  # to the second (JST and UTC share the seconds)
    assert any(x.value.startswith("op-bさんが ") and f":{saved_at} に保存しました" in x.value
               for x in at.text)  # fmt: skip
    # nothing of A's was written, and A's values are still in the form (not reset to B's)
    assert int(fresh.shipping_fee) == int(before.shipping_fee) and fresh.address2 == before.address2
    assert suffix(at) == key
    assert at.number_input(key=f"shipping_{key}").value == mine
    assert at.number_input(key=f"tax_{key}").value == int(before.tax)
    assert at.text_input(key=f"address2_{key}").value == "受付 2F"
    diff = next(df.value for df in at.dataframe if "mine" in df.value.columns)
    assert diff["field"].tolist() == ["住所2", "送料"]
    assert diff["mine"].tolist() == ["受付 2F", f"{mine:,}円"]

    next(b for b in at.button if b.label == "自分の変更を再適用").click().run()
    assert_clean(at)
    key2 = suffix(at)
    assert key2 != key
    assert at.number_input(key=f"shipping_{key2}").value == mine  # mine
    assert at.number_input(key=f"tax_{key2}").value == int(before.tax) + 30  # B's
    assert at.selectbox(key=f"status_{key2}").value == "in_progress"  # B's
    assert at.text_input(key=f"address2_{key2}").value == "受付 2F"
    assert "あなたの変更を最新の内容に重ねました" in joined(at)
    assert "自分の変更を再適用" not in [b.label for b in at.button]  # no longer stale

    at.button(key=f"save_{key2}").click().run()
    assert_clean(at)
    after = get_order(app_env.db, no)
    assert (int(after.shipping_fee), int(after.tax), after.status, after.address2) == (
        mine,
        int(before.tax) + 30,
        "in_progress",
        "受付 2F",
    )
    assert after.version == fresh.version + 1 and after.updated_by == "demo-operator"
    assert f"受注を登録しました(お支払い合計 {after.total:,}円)。" in joined(at)


def test_discarding_mine_loads_the_latest(app_env):
    no = app_env.order_in_state("open")
    before = get_order(app_env.db, no)
    at = app_env.app("pages/order.py", query={"order": no})
    key = suffix(at)
    at.number_input(key=f"shipping_{key}").set_value(int(before.shipping_fee) + 1).run()
    b_saves(no, tax=int(before.tax) + 7)
    at.run()
    assert "このフォームを開いた後に、この受注が保存されています。" in [w.value for w in at.warning]
    next(b for b in at.button if b.label.startswith("最新の内容を読み込む")).click().run()
    key2 = suffix(at)
    assert at.number_input(key=f"shipping_{key2}").value == int(before.shipping_fee)
    assert at.number_input(key=f"tax_{key2}").value == int(before.tax) + 7
    assert get_order(app_env.db, no).shipping_fee == before.shipping_fee


def test_an_untouched_form_simply_follows_the_latest(app_env):
    no = app_env.order_in_state("open")
    before = get_order(app_env.db, no)
    at = app_env.app("pages/order.py", query={"order": no})
    b_saves(no, tax=int(before.tax) + 9)
    at.run()
    assert_clean(at)
    assert at.number_input(key=f"tax_{suffix(at)}").value == int(before.tax) + 9
    assert not at.warning or all("保存されています" not in w.value for w in at.warning)
