"""The command line: the same service layer as the screens.

Each command prints one line per order (``61 capture ok`` / ``62 capture skipped: ...``) and
exits 0 when every order succeeded or was already in the asked state, 1 when any failed, 2 for
bad arguments (one line, nothing changed). No traceback and no secret reach the output.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import date
from typing import NoReturn

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad arguments: one line on stderr, exit 2, nothing changed."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _order_no(text: str) -> int:
    from core.domain.errors import RuleViolation
    from core.domain.orders import parse_order_no

    try:  # ASCII or full-width digits only (never ٣ as 3), 1 to 2,147,483,647
        return parse_order_no(text)
    except RuleViolation as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: {exc.message('en')}") from None


def _days(text: str) -> int:
    from core.domain.money import parse_digits

    days = parse_digits(text)
    if days is None:
        raise argparse.ArgumentTypeError(f"not a number of days: {text!r}")
    return days


def _yen(text: str) -> int:
    from core.domain.errors import InvalidYen
    from core.domain.money import parse_yen

    try:
        return parse_yen(text)
    except InvalidYen as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: {exc.message('en')}") from None


def add_search_filters(p: argparse.ArgumentParser) -> None:
    """DESIGN.md's search filters, shared by every command that selects orders."""
    g = p.add_argument_group("search filters")
    g.add_argument("--order-no", type=_order_no)
    g.add_argument("--order-from", type=_order_no)
    g.add_argument("--order-to", type=_order_no)
    g.add_argument("--name")
    g.add_argument("--email")
    g.add_argument("--birth-from", type=_date)
    g.add_argument("--birth-to", type=_date)
    g.add_argument("--gender")
    g.add_argument("--payment-method")
    g.add_argument("--ordered-from", type=_date)
    g.add_argument("--ordered-to", type=_date)
    g.add_argument("--updated-from", type=_date)
    g.add_argument("--updated-to", type=_date)
    g.add_argument("--amount-min", type=_yen)
    g.add_argument("--amount-max", type=_yen)
    g.add_argument("--status", action="append", help="対応状況 (key or label), repeatable")
    g.add_argument("--paidy-state", action="append", help="open|expired|captured|..., repeatable")
    g.add_argument("--expires-within", type=_days, metavar="DAYS")
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


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m core", description="Paidy operations dashboard: command line")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    sub.add_parser("sandbox", help="run the Paidy sandbox server", add_help=False)

    d = sub.add_parser("demo", help="create demo orders and their sandbox payments")
    d.add_argument("--orders", type=int, default=200)
    d.add_argument("--seed", type=int, default=1)

    ln = sub.add_parser("link", help="fetch a payment and create or link its order")
    ln.add_argument("payment_id")
    ln.add_argument("--order", type=_order_no)
    add_operator(ln)

    sy = sub.add_parser("sync", help="状態確認 for many payments")
    sy.add_argument("--open-only", action="store_true")
    add_operator(sy)

    for name in ("capture", "close", "update"):
        c = sub.add_parser(name, help=f"{name} the Paidy payment of each order")
        c.add_argument("order_nos", nargs="+", type=_order_no, metavar="ORDER_NO")
        add_operator(c)
        if name == "capture":
            c.add_argument(
                "--confirm-mismatch",
                action="store_true",
                help="capture even when the order total differs from Paidy's amount",
            )

    r = sub.add_parser("refund", help="refund an order (all that is left, or --amount)")
    r.add_argument("order_no", type=_order_no)
    r.add_argument("--amount", type=_yen)
    r.add_argument("--reason")
    add_operator(r)

    for name, what in (("delete", "delete orders (guarded soft delete)"),
                       ("restore", "restore deleted orders (admin)")):  # fmt: skip
        dl = sub.add_parser(name, help=what)
        dl.add_argument("order_nos", nargs="+", type=_order_no, metavar="ORDER_NO")
        dl.add_argument("--operator")
        dl.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    e = sub.add_parser("export", help="write the orders matching the filters as CSV or PDF")
    add_search_filters(e)
    e.add_argument(
        "--format",
        choices=["csv", "pdf"],
        default="csv",
        help="csv (default) or pdf: an A4 landscape list with the same columns",
    )
    e.add_argument("--columns", help="comma-separated column keys")
    e.add_argument("--column-set", help="a saved column set's name")
    e.add_argument("--encoding", choices=["utf-8-sig", "cp932"], default="utf-8-sig")
    e.add_argument("--header", choices=["labels", "keys"], default="labels")
    e.add_argument("--lang", choices=["ja", "en"], default="ja")
    e.add_argument("--out", required=True)
    e.add_argument("--force", action="store_true", help="overwrite --out if it exists")

    m = sub.add_parser("mail", help="mail each order's customer from a template (メール通知)")
    m.add_argument("order_nos", nargs="+", type=_order_no, metavar="ORDER_NO")
    m.add_argument(
        "--template", required=True, choices=["order", "shipped", "cancelled", "refunded"]
    )
    m.add_argument("--dry-run", action="store_true", help="check and preview; send nothing")
    m.add_argument("--operator")

    sl = sub.add_parser("slips", help="帳票: one delivery slip (納品書) per order, one PDF")
    sl.add_argument("order_nos", nargs="+", type=_order_no, metavar="ORDER_NO")
    sl.add_argument("--out", required=True)
    sl.add_argument("--force", action="store_true", help="overwrite an existing --out file")

    w = sub.add_parser("worker", help="run batch jobs (scaled deployments)")
    w.add_argument("--once", action="store_true", help="exit when the queue is empty")

    u = sub.add_parser(
        "users",
        help="manage users",
        description="With AUTH_MODE password/oidc: --operator ADMIN, proven by its password "
        "(prompt, or --password-stdin: first line; a new password is the next line). Without "
        "an active admin yet (bootstrap) the OS user acts.",
    )
    usub = u.add_subparsers(dest="users_command", required=True, parser_class=_Parser)
    roles = ["viewer", "operator", "admin"]
    ua = usub.add_parser("add")
    ua.add_argument("name")
    ua.add_argument("--role", choices=roles, required=True)
    ua.add_argument("--email")
    us = usub.add_parser("set-password")
    us.add_argument("name")
    ud = usub.add_parser("disable")
    ud.add_argument("name")
    ue = usub.add_parser("enable")
    ue.add_argument("name")
    ur = usub.add_parser("set-role")
    ur.add_argument("name")
    ur.add_argument("--role", choices=roles, required=True)
    for sp in (ua, us, ud, ue, ur):
        add_operator(sp)
    usub.add_parser("list")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    from core.logsetup import configure
    from core.settings import log_file_location

    configure(log_file_location() if not log_file_location().startswith("(") else None)
    if argv[:1] == ["sandbox"]:
        from core.paidy.sandbox.cli import main as sandbox_main

        return sandbox_main(argv[1:])
    from core.settings import ConfigurationError

    try:
        args = build_parser().parse_args(argv)
        from core import commands

        return commands.run(args)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ConfigurationError as exc:  # a bad or unsafe variable: nothing was started
        print(f"error: {exc.message('en')}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # never a traceback, never a secret
        from core.commands import describe_error

        print(f"error: {describe_error(exc)}", file=sys.stderr)
        return EXIT_FAILED


def default_operator() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "cli"
