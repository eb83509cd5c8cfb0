"""The 受注編集 form as plain values, and re-applying an operator's edits on a newer order.

A form is loaded from one version of an order (its *base*). When someone else saves first,
the operator's values (*mine*) are not thrown away: :func:`changes` lists what they changed
against the base, and :func:`reapply` puts exactly those fields on top of the *fresh* order,
so the other person's edits to the fields the operator did not touch survive too.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

#: (product_code, product_name, unit_price, quantity) per row, in order
Item = tuple[str, str, int, int]

CUSTOMER_FIELDS: tuple[str, ...] = (
    "customer_name",
    "customer_kana",
    "email",
    "phone",
    "zip",
    "prefecture",
    "address1",
    "address2",
    "note",
)
#: every field of the form, in screen order; "items" is the whole item list as one value
FIELDS: tuple[str, ...] = (*CUSTOMER_FIELDS, "items", "shipping_fee", "tax", "status")


@dataclass(frozen=True)
class Change:
    field: str
    base: object  # the value the form was loaded with
    mine: object  # what the operator has in the form
    fresh: object  # the value saved meanwhile (== base when nobody else changed it)

    @property
    def conflict(self) -> bool:
        """Both changed this field, to different values: re-applying overwrites theirs."""
        return self.fresh != self.base and self.fresh != self.mine


def normalise(values: dict) -> dict:
    """A comparable copy: strings stripped, numbers int, items a tuple of Item tuples."""
    out: dict = {}
    for field in FIELDS:
        value = values.get(field)
        if field == "items":
            out[field] = tuple(_item(row) for row in value or ())
        elif field in ("shipping_fee", "tax"):
            out[field] = _int_or_none(value)
        else:
            out[field] = "" if value is None else str(value).strip()
    return out


def changes(base: dict, mine: dict, fresh: dict | None = None) -> list[Change]:
    """The fields where ``mine`` differs from ``base`` (what the operator changed)."""
    b, m = normalise(base), normalise(mine)
    f = b if fresh is None else normalise(fresh)
    return [Change(k, b[k], m[k], f[k]) for k in FIELDS if m[k] != b[k]]


def reapply(base: dict, mine: dict, fresh: dict) -> dict:
    """``fresh`` with the operator's changes (``mine`` vs ``base``) put on top."""
    result = normalise(fresh)
    for change in changes(base, mine):
        result[change.field] = change.mine
    return result


def _item(row: Mapping[str, object] | Iterable[object]) -> Item:
    """One item from a dict (the form's rows) or a 4-sequence (code, name, price, qty)."""
    if isinstance(row, Mapping):
        code, name, price, qty = (
            row.get("product_code"),
            row.get("product_name"),
            row.get("unit_price"),
            row.get("quantity"),
        )
    else:
        code, name, price, qty = row
    return (
        "" if code is None else str(code).strip(),
        "" if name is None else str(name).strip(),
        _int_or_none(price),
        _int_or_none(qty),
    )


def _int_or_none(value: object):
    """Numbers as int (numpy/pandas integers too); anything else as it is (core validates)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        if value != value:  # NaN
            return None
    except TypeError:  # pandas.NA
        return None
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if hasattr(value, "__index__"):
        return operator.index(value)
    return value
