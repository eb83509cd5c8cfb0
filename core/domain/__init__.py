"""Pure payment and order rules: no I/O, no clock of their own (``now`` is always passed in)."""

from core.domain.errors import RuleViolation
from core.domain.money import parse_yen
from core.domain.states import Action, PaymentSnapshot, PaymentState, allowed_actions, derive_state

__all__ = [
    "Action",
    "PaymentSnapshot",
    "PaymentState",
    "RuleViolation",
    "allowed_actions",
    "derive_state",
    "parse_yen",
]
