"""The command line's shared pieces: exit codes, :class:`UsageError`, the argument types, the
search filters (README "Command line") and the acting OS user. ``core.cli`` (the parser and ``main``),
``core.commands`` (what each command does) and ``core.auth.cli`` (who acts) all import
this module and none of them imports another's, so there is no import cycle between them.
"""

from __future__ import annotations

import argparse
import getpass
from datetime import date
from typing import NoReturn

from core.errors import OperatorError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(OperatorError):
    """Bad arguments: one line on stderr, exit 2, nothing changed. The command line speaks
    English, so the message is the same in either language."""

    code = "usage"


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def date_arg(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def order_no_arg(text: str) -> int:
    from core.domain.errors import RuleViolation
    from core.domain.orders import parse_order_no

    try:  # ASCII or full-width digits only (never ٣ as 3), 1 to 2,147,483,647
        return parse_order_no(text)
    except RuleViolation as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: {exc.message('en')}") from None


def days_arg(text: str) -> int:
    from core.domain.money import parse_digits

    days = parse_digits(text)
    if days is None:
        raise argparse.ArgumentTypeError(f"not a number of days: {text!r}")
    return days


def yen_arg(text: str) -> int:
    from core.domain.errors import InvalidYen
    from core.domain.money import parse_yen

    try:
        return parse_yen(text)
    except InvalidYen as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: {exc.message('en')}") from None


def add_search_filters(p: argparse.ArgumentParser) -> None:
    """The search filters (README "Command line"), shared by every command that selects orders."""
    g = p.add_argument_group("search filters")
    g.add_argument("--order-no", type=order_no_arg)
    g.add_argument("--order-from", type=order_no_arg)
    g.add_argument("--order-to", type=order_no_arg)
    g.add_argument("--name")
    g.add_argument("--email")
    g.add_argument("--birth-from", type=date_arg)
    g.add_argument("--birth-to", type=date_arg)
    g.add_argument("--gender")
    g.add_argument("--payment-method")
    g.add_argument("--ordered-from", type=date_arg)
    g.add_argument("--ordered-to", type=date_arg)
    g.add_argument("--updated-from", type=date_arg)
    g.add_argument("--updated-to", type=date_arg)
    g.add_argument("--amount-min", type=yen_arg)
    g.add_argument("--amount-max", type=yen_arg)
    g.add_argument("--status", action="append", help="対応状況 (key or label), repeatable")
    g.add_argument("--paidy-state", action="append", help="open|expired|captured|..., repeatable")
    g.add_argument("--expires-within", type=days_arg, metavar="DAYS")
    g.add_argument("--discrepancy", action="store_true")
    t = g.add_mutually_exclusive_group()
    t.add_argument("--test", dest="test", action="store_const", const=True)
    t.add_argument("--live", dest="test", action="store_const", const=False)


def query_from_args(args: argparse.Namespace):
    from core.domain.orders import parse_choice
    from core.domain.states import PaymentState
    from core.search import InvalidQuery, OrderQuery

    def choice(enum, value):
        if value is None:
            return None
        try:
            return parse_choice(enum, value)
        except ValueError:
            raise UsageError(f"unknown value {value!r} for {enum.__name__}") from None

    states = None
    if args.paidy_state:
        try:
            states = [PaymentState(s) for s in args.paidy_state]
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    try:
        return _query(OrderQuery, args, choice, states)
    except InvalidQuery as exc:
        raise UsageError(exc.message("en")) from None


def _query(OrderQuery, args, choice, states):
    from core.domain.orders import Gender, OrderStatus, PaymentMethod

    return OrderQuery(
        order_no=args.order_no,
        order_from=args.order_from,
        order_to=args.order_to,
        name=args.name,
        email=args.email,
        birth_from=args.birth_from,
        birth_to=args.birth_to,
        gender=choice(Gender, args.gender),
        payment_method=choice(PaymentMethod, args.payment_method),
        ordered_from=args.ordered_from,
        ordered_to=args.ordered_to,
        updated_from=args.updated_from,
        updated_to=args.updated_to,
        amount_min=args.amount_min,
        amount_max=args.amount_max,
        status=[choice(OrderStatus, s) for s in args.status] if args.status else None,
        paidy_state=states,
        expires_within_days=args.expires_within,
        discrepancy_only=args.discrepancy or None,
        test=args.test,
    )


def add_operator(p: argparse.ArgumentParser) -> None:
    """``--operator NAME`` and its proof (AUTH_MODE password/oidc): the password from a
    prompt, or the first line of stdin with ``--password-stdin``."""
    p.add_argument("--operator", help="the acting user (default: the OS user name)")
    p.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the operator's password from the first line of stdin",
    )


def default_operator() -> str:
    """The OS user name: who acts when ``--operator`` is not given."""
    try:
        return getpass.getuser()
    except Exception:
        return "cli"
