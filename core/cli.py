"""The command line: the same service layer as the screens.

Each command prints one line per order (``61 capture ok`` / ``62 capture skipped: ...``) and
exits 0 when every order succeeded or was already in the asked state, 1 when any failed, 2 for
bad arguments (one line, nothing changed). No traceback and no secret reach the output: an
operator-facing error (``core.errors.OperatorError``) is its message; anything else is logged
with a reference (``LOG_FILE``) and the terminal gets one line quoting it.

The parser and ``main`` live here, what each command does in ``core.commands``, and the
pieces both need in ``core.cliargs``.
"""

from __future__ import annotations

import argparse
import logging
import sys

from core.cliargs import (
    EXIT_FAILED,
    EXIT_USAGE,
    Parser,
    UsageError,
    add_operator,
    add_search_filters,
    order_no_arg,
    yen_arg,
)
from core.errors import OperatorError

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="python -m core", description="Paidy operations dashboard: command line")
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)

    sub.add_parser("sandbox", help="run the Paidy sandbox server", add_help=False)

    d = sub.add_parser("demo", help="create demo orders and their sandbox payments")
    d.add_argument("--orders", type=int, default=200)
    d.add_argument("--seed", type=int, default=1)

    ln = sub.add_parser("link", help="fetch a payment and create or link its order")
    ln.add_argument("payment_id")
    ln.add_argument("--order", type=order_no_arg)
    add_operator(ln)

    sy = sub.add_parser("sync", help="状態確認 for many payments")
    sy.add_argument("--open-only", action="store_true")
    add_operator(sy)

    for name in ("capture", "close", "update"):
        c = sub.add_parser(name, help=f"{name} the Paidy payment of each order")
        c.add_argument("order_nos", nargs="+", type=order_no_arg, metavar="ORDER_NO")
        add_operator(c)
        if name == "capture":
            c.add_argument(
                "--confirm-mismatch",
                action="store_true",
                help="capture even when the order total differs from Paidy's amount",
            )

    r = sub.add_parser("refund", help="refund an order (all that is left, or --amount)")
    r.add_argument("order_no", type=order_no_arg)
    r.add_argument("--amount", type=yen_arg)
    r.add_argument("--reason")
    add_operator(r)

    for name, what in (("delete", "delete orders (guarded soft delete)"),
                       ("restore", "restore deleted orders (admin)")):  # fmt: skip
        dl = sub.add_parser(name, help=what)
        dl.add_argument("order_nos", nargs="+", type=order_no_arg, metavar="ORDER_NO")
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
    m.add_argument("order_nos", nargs="+", type=order_no_arg, metavar="ORDER_NO")
    m.add_argument(
        "--template", required=True, choices=["order", "shipped", "cancelled", "refunded"]
    )
    m.add_argument("--dry-run", action="store_true", help="check and preview; send nothing")
    m.add_argument("--operator")

    sl = sub.add_parser("slips", help="帳票: one delivery slip (納品書) per order, one PDF")
    sl.add_argument("order_nos", nargs="+", type=order_no_arg, metavar="ORDER_NO")
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
    usub = u.add_subparsers(dest="users_command", required=True, parser_class=Parser)
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
    except OperatorError as exc:
        print(f"error: {exc.message('en')}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # never a traceback, never a secret: a reference into the log
        print(f"error: {unexpected(exc, argv[:1])}", file=sys.stderr)
        return EXIT_FAILED


def unexpected(exc: Exception, command: list[str]) -> str:
    """Log the failure being handled with a reference; the one line the operator sees."""
    from sqlalchemy.exc import DBAPIError

    from core.logsetup import log_exception
    from core.settings import log_file_location

    ref = log_exception(log, "command %s failed", " ".join(command) or "-")
    what = "the database could not be reached" if isinstance(exc, DBAPIError) else "internal error"
    return f"{what} (ref {ref}; details in {log_file_location()})"
