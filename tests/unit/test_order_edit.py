"""Re-applying an operator's edits on top of an order someone else saved meanwhile."""

from hypothesis import given
from hypothesis import strategies as st

from core.domain.order_edit import FIELDS, changes, normalise, reapply

BASE = {
    "customer_name": "山田 太郎",
    "customer_kana": "ヤマダ タロウ",
    "email": "t@example.jp",
    "phone": "090",
    "zip": "106",
    "prefecture": "東京都",
    "address1": "港区",
    "address2": "",
    "note": "",
    "items": [("SKU1", "スニーカー", 12000, 1), ("", "値引き", -500, 1)],
    "shipping_fee": 500,
    "tax": 0,
    "status": "new",
}


def test_only_my_fields_go_on_top_of_theirs():
    mine = {**BASE, "shipping_fee": 800, "note": "置き配"}
    fresh = {**BASE, "tax": 30, "status": "shipped", "note": "至急"}
    found = changes(BASE, mine, fresh)
    assert [(c.field, c.base, c.mine, c.fresh, c.conflict) for c in found] == [
        ("note", "", "置き配", "至急", True),  # both changed it: mine wins, shown as a conflict
        ("shipping_fee", 500, 800, 500, False),
    ]
    merged = reapply(BASE, mine, fresh)
    assert merged["shipping_fee"] == 800 and merged["note"] == "置き配"
    assert merged["tax"] == 30 and merged["status"] == "shipped"  # theirs kept


def test_values_from_widgets_compare_like_the_loaded_ones():
    """data_editor rows (dicts, floats, numpy ints, NaN for blanks) and padded text are the
    same values as the loaded order, so an untouched form has no changes."""
    import numpy as np

    widget = {
        **BASE,
        "customer_name": " 山田 太郎 ",
        "items": [
            {"product_code": "SKU1", "product_name": "スニーカー", "unit_price": np.int64(12000),
             "quantity": 1.0},
            {"product_code": None, "product_name": "値引き", "unit_price": -500.0, "quantity": 1},
        ],
        "shipping_fee": np.int64(500),
    }  # fmt: skip
    assert changes(BASE, widget) == []
    items = [*widget["items"], {"product_code": None, "product_name": "おまけ", "unit_price": 0,
                                "quantity": float("nan")}]  # fmt: skip
    (change,) = changes(BASE, {**widget, "items": items})
    assert change.field == "items" and change.mine[-1] == ("", "おまけ", 0, None)


_VALUES = st.fixed_dictionaries(
    {f: st.sampled_from([BASE[f], "x", 1]) for f in FIELDS if f != "items"}
    | {"items": st.sampled_from([BASE["items"], [("A", "B", 1, 1)]])}
)


@given(mine=_VALUES, fresh=_VALUES)
def test_reapply_keeps_every_change_of_both_sides(mine, fresh):
    merged = reapply(BASE, mine, fresh)
    b, m, f = normalise(BASE), normalise(mine), normalise(fresh)
    for field in FIELDS:
        expected = m[field] if m[field] != b[field] else f[field]
        assert merged[field] == expected
    assert reapply(BASE, BASE, fresh) == f  # nothing of mine: theirs as they are
    assert reapply(BASE, mine, BASE) == m  # nobody else saved: mine as they are
