"""What each CLI command does (parsing lives in core/cli.py)."""

from __future__ import annotations

import argparse
import sys
import threading

from core.cli import EXIT_FAILED, EXIT_OK, UsageError, default_operator, query_from_args


def run(args: argparse.Namespace) -> int:
    handler = {
        "demo": _demo,
        "link": _link,
        "sync": _sync,
        "capture": _batch_or_single,
        "close": _batch_or_single,
        "update": _update,
        "refund": _refund,
        "export": _export,
        "worker": _worker,
        "users": _users,
    }[args.command]
    return handler(args)


def describe_error(exc: BaseException) -> str:
    """One line for a failure: the operator-facing message, or only the type (no secrets)."""
    from core.bilingual import BilingualError
    from core.domain.errors import RuleViolation
    from core.paidy.errors import PaidyError

    if isinstance(exc, BilingualError | RuleViolation | PaidyError):
        return exc.message("en")
    return f"{type(exc).__name__} (see the log for details)"


def _runtime(**kw):
    from core.runtime import build_runtime

    return build_runtime(seed_demo=False, **kw)


def _actor(rt, args):
    """The proven acting user (core/auth/cli.py): before anything is done."""
    from core.auth.cli import Secrets, resolve_cli_actor

    secrets = Secrets(getattr(args, "password_stdin", False), sys.stdin)
    return resolve_cli_actor(rt.db, rt.settings, args.operator or default_operator(), secrets)


def _print_results(results) -> int:
    from core.operations.batch import is_done

    failed = False
    for r in results:
        print(r.cli_line())
        failed |= not is_done(r)
    return EXIT_FAILED if failed else EXIT_OK


def _demo(args) -> int:
    from core.runtime import build_runtime
    from core.settings import Mode, get_settings
    from core.storage.demo import seed_demo

    if args.orders < 1:
        raise UsageError("--orders must be at least 1")
    settings = get_settings()
    if settings.mode is Mode.LIVE:
        raise UsageError("demo data is never created with a live key (sk_live_)")
    if settings.mode is Mode.TEST and not settings.paidy_api_base:
        raise UsageError(
            "demo needs a sandbox: set PAIDY_API_BASE to `python -m core sandbox`'s URL"
        )
    rt = build_runtime(seed_demo=False)
    try:
        report = seed_demo(rt.db, sandbox_url=rt.api_base, orders=args.orders, seed=args.seed)
        print(report)
    finally:
        rt.stop()
    return EXIT_OK


def _batch_or_single(args) -> int:
    from core.operations import payments
    from core.operations.batch import BatchAction, create_job, run_job

    rt = _runtime()
    try:
        actor = _actor(rt, args)
        if len(args.order_nos) == 1:
            if args.command == "capture":
                r = payments.capture(
                    rt.ops, actor, args.order_nos[0], confirm_mismatch=args.confirm_mismatch
                )
            else:
                r = payments.close(rt.ops, actor, args.order_nos[0])
            return _print_results([r])
        if args.command == "capture" and args.confirm_mismatch:
            raise UsageError("--confirm-mismatch works on one order at a time")
        job = create_job(rt.ops, actor, BatchAction(args.command), args.order_nos)
        run_job(rt.ops, job)
        return _print_job(rt, job)
    finally:
        rt.stop()


def _print_job(rt, job_id: int) -> int:
    """One line per order in the job's order; exit 1 when any row is not done."""
    from core.domain.states import Action
    from core.operations.batch import ALREADY_DONE, items_frame, progress

    action = Action(progress(rt.ops, job_id).action)
    failed = False
    for row in items_frame(rt.ops, job_id, "en").itertuples():
        line = f"{row.order_no} {action.value} {row.status}"
        print(line if row.status == "ok" else f"{line}: {row.result_code}: {row.message}")
        already = row.status == "skipped" and row.result_code in ALREADY_DONE[action]
        failed |= row.status != "ok" and not already
    return EXIT_FAILED if failed else EXIT_OK


def _update(args) -> int:
    from core.operations import payments

    rt = _runtime()
    try:
        actor = _actor(rt, args)
        return _print_results([payments.update(rt.ops, actor, n) for n in args.order_nos])
    finally:
        rt.stop()


def _refund(args) -> int:
    from core.operations import payments

    rt = _runtime()
    try:
        actor = _actor(rt, args)
        return _print_results(
            [payments.refund(rt.ops, actor, args.order_no, args.amount, args.reason)]
        )
    finally:
        rt.stop()


def _link(args) -> int:
    from core.operations.link import link_payment
    from core.paidy.models import is_payment_id

    if not is_payment_id(args.payment_id):
        raise UsageError(f"not a Paidy payment id (pay_...): {args.payment_id!r}")
    rt = _runtime()
    try:
        r = link_payment(rt.ops, _actor(rt, args), args.payment_id, args.order)
        print(r.cli_line())
        return EXIT_OK
    finally:
        rt.stop()


def _sync(args) -> int:
    from core.operations.sync import sync

    rt = _runtime()
    try:
        job = sync(rt.ops, _actor(rt, args), open_only=args.open_only)
        if job is None:
            print("nothing to sync")
            return EXIT_OK
        return _print_job(rt, job)
    finally:
        rt.stop()


def _export(args) -> int:
    from core.export import DEFAULT_COLUMNS, ExportError, check_columns, export_csv, get_column_set

    query = query_from_args(args)
    rt = _runtime()
    try:
        if args.columns:
            columns = [c.strip() for c in args.columns.split(",") if c.strip()]
        elif args.column_set:
            saved = get_column_set(rt.db, args.column_set)
            if saved is None:
                raise UsageError(f"no saved column set named {args.column_set!r}")
            columns = list(saved.columns)
        else:
            columns = list(DEFAULT_COLUMNS)
        try:
            columns = check_columns(columns)
        except ExportError as exc:
            raise UsageError(exc.message("en")) from None
        with open(args.out, "wb") as out:
            report = export_csv(
                rt.db,
                query,
                out,
                columns=columns,
                encoding=args.encoding,
                lang=args.lang,
                header=args.header,
                now=rt.ops.now(),
            )
        replaced = (
            f" ({report.replaced_cells} cells had characters replaced for {args.encoding})"
            if report.replaced_cells
            else ""
        )
        print(f"exported {report.rows} rows to {args.out}{replaced}")
        return EXIT_OK
    finally:
        rt.stop()


def _worker(args) -> int:
    from core.operations.batch import WorkerPool, recover_stale, work

    rt = _runtime()
    try:
        if args.once:
            recover_stale(rt.ops)
            print(f"ran {work(rt.ops, 'cli-once')} items")
            return EXIT_OK
        pool = WorkerPool(rt.ops, name="worker").start()
        print(f"worker running with {rt.ops.concurrency} threads; Ctrl-C to stop", flush=True)
        try:
            threading.Event().wait()
        finally:
            pool.stop()
    finally:
        rt.stop()
    return EXIT_OK


def _users(args) -> int:
    from core.auth.cli import users_cli

    rt = _runtime()
    try:
        return users_cli(rt.db, rt.settings, args, stdin=sys.stdin)
    finally:
        rt.stop()
