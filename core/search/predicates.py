"""The payment rules as SQL predicates: derived Paidy state, discrepancy, name keys.

The derived Paidy state and the discrepancy flag are computed in SQL with exactly the rules
of ``core.domain.states.derive_state`` and ``core.domain.money.discrepancy``: the per-state
predicates in :func:`state_condition` are the single SQL form of the rule table, and the
displayed ``paidy_state`` column is a CASE built from those same predicates.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    and_,
    case,
    func,
    literal,
    literal_column,
    or_,
    type_coerce,
)

from core.domain.states import PaymentState
from core.storage.models import Order, PaidyPayment, UtcDateTime

OT = Order.__table__  # orders
PT = PaidyPayment.__table__  # paidy_payments


def name_key(col: Any) -> ColumnElement[str]:
    """A name with half/full-width spaces removed; the same expression the trigram index
    (PostgreSQL) and the FTS triggers (SQLite) in migration 0001 use. Literals are inlined
    so PostgreSQL matches the expression index."""
    return func.replace(
        func.replace(col, literal_column("' '"), literal_column("''")),
        literal_column("'\u3000'"),
        literal_column("''"),
    )


def sql_time(now: datetime) -> ColumnElement[datetime]:
    return literal(now, UtcDateTime())


def state_condition(state: PaymentState, now: datetime) -> ColumnElement[bool]:
    """SQL for "the payment's derived state is ``state``" (derive_state, as a predicate).

    Assumes ``paidy_payments.status`` is stored stripped and lowercased (models.py).
    """
    s, exp = PT.c.status, PT.c.expires_at
    cap, ref = PT.c.captured_amount, PT.c.refunded_amount
    st = PaymentState
    known = ("authorized", "expired", "closed", "rejected")
    authorized = and_(s == "authorized", cap <= 0)  # authorized yet captured: contradictory
    return {
        st.OPEN: and_(authorized, or_(exp.is_(None), exp > sql_time(now))),
        st.EXPIRED: or_(and_(authorized, exp <= sql_time(now)), s == "expired"),
        st.CAPTURED: and_(s == "closed", cap > 0, ref <= 0),
        st.PARTIALLY_REFUNDED: and_(s == "closed", cap > 0, ref > 0, ref < cap),
        st.REFUNDED: and_(s == "closed", cap > 0, ref > 0, ref >= cap),
        st.CLOSED: and_(s == "closed", cap <= 0),
        st.REJECTED: s == "rejected",
        st.UNKNOWN: or_(
            and_(PT.c.id.is_not(None), s.not_in(known)), and_(s == "authorized", cap > 0)
        ),
    }[state]


def state_column(now: datetime) -> ColumnElement[str]:
    """The derived state as a CASE over the same predicates (NULL when no payment)."""
    return case(*[(state_condition(st, now), st.value) for st in PaymentState], else_=None)


def discrepancy_condition() -> ColumnElement[bool]:
    """money.discrepancy != NONE, in SQL: after capture order total vs 請求済金額, before
    capture (authorized) order total vs Paidy's amount; otherwise no warning.

    Uses ``paidy_payments.order_total`` (a trigger-kept copy of ``orders.total``) with
    inlined constants: the same expression as the partial index of migration 0001.
    """
    zero: ColumnElement[Any] = literal_column("0")
    cap, ref, total = PT.c.captured_amount, PT.c.refunded_amount, PT.c.order_total
    return or_(
        and_(cap > zero, total != cap - ref),
        and_(cap <= zero, PT.c.status == literal_column("'authorized'"), total != PT.c.amount),
    )


def discrepancy_column() -> ColumnElement[bool]:
    return type_coerce(case((discrepancy_condition(), True), else_=False), Boolean)
