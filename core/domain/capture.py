"""The capture-mismatch rule: a capture takes Paidy's amount (the authorization); when the
order's お支払い合計 says something else, it runs only after a person confirmed the
difference. The order page asks for that confirmation, the service refuses without it, and
the batch preview (which has no way to confirm) skips such an order."""

from __future__ import annotations

from core.domain.errors import TotalMismatch


def capture_mismatch(
    order_total: int, paidy_amount: int, *, confirmed: bool = False
) -> TotalMismatch | None:
    """The refusal of a capture whose order total differs from Paidy's amount, unless the
    difference was confirmed; None when the capture may run."""
    if int(order_total) == int(paidy_amount) or confirmed:
        return None
    return TotalMismatch(order_total=int(order_total), paidy_amount=int(paidy_amount))
