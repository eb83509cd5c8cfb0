"""What each CLI command does (parsing lives in core/cli.py, shared pieces in core/cliargs.py;
this module never imports core.cli)."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
from pathlib import Path

from core.cliargs import EXIT_FAILED, EXIT_OK, UsageError, default_operator, query_from_args
from core.domain.statuses import ItemStatus


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
        "mail": _mail,
        "delete": _delete,
        "restore": _delete,
        "slips": _slips,
        "worker": _worker,
        "users": _users,
    }[args.command]
    return handler(args)


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
        return _print_job(rt, job, args.order_nos, run_job(rt.ops, job), args.command)
    finally:
        rt.stop()


def _print_job(rt, job_id: int, order_nos=None, run=None, asked: str | None = None) -> int:
    """One line per order in the job's order; exit 1 when any row is not done. Read from the
    database; if it is gone, from what this process saw (``run``), so the per-order summary
    still prints."""
    from sqlalchemy.exc import DBAPIError

    from core.domain.states import Action
    from core.operations.batch import ALREADY_DONE, items_frame, progress

    action = Action(asked) if asked else None
    try:
        action = Action(progress(rt.ops, job_id).action)
        frame = items_frame(rt.ops, job_id, "en")
    except DBAPIError:
        if run is None or order_nos is None:
            raise
        return _print_from_memory(run, order_nos, action)
    failed = False
    for row in frame.itertuples():
        line = f"{row.order_no} {action.value} {row.status}"
        print(line if row.status == ItemStatus.OK else f"{line}: {row.result_code}: {row.message}")
        already = row.status == ItemStatus.SKIPPED and row.result_code in ALREADY_DONE[action]
        failed |= row.status != ItemStatus.OK and not already
    return EXIT_FAILED if failed else EXIT_OK


def _print_from_memory(run, order_nos, action=None) -> int:
    import logging

    from core.logsetup import log_exception
    from core.operations.results import render

    try:
        raise RuntimeError("job summary read from memory: the database is unavailable")
    except RuntimeError:
        ref = run.error_ref or log_exception(logging.getLogger(__name__), "job summary")
    for no in dict.fromkeys(order_nos):
        result = run.results.get(no)
        if result is not None:
            print(result.cli_line())
        else:
            what = action.value if action is not None else "batch"
            print(f"{no} {what} not_run: {render('not_run', 'en', ref=ref)}")
    return EXIT_FAILED


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
    from core.operations.sync import sync_job

    rt = _runtime()
    try:
        job, order_nos, run = sync_job(rt.ops, _actor(rt, args), open_only=args.open_only)
        if job is None:
            print("nothing to sync")
            return EXIT_OK
        return _print_job(rt, job, order_nos, run, "refresh")
    finally:
        rt.stop()


def _delete(args) -> int:
    """``delete|restore ORDER_NO... [--yes]``: asks first (on stderr) unless --yes."""
    from core.operations.delete import delete_orders, restore_orders

    nos = list(dict.fromkeys(args.order_nos))
    if not args.yes:
        verb = "Delete" if args.command == "delete" else "Restore"
        shown = ", ".join(map(str, nos[:20])) + (" ..." if len(nos) > 20 else "")
        print(f"{verb} {len(nos)} order(s): {shown}? [y/N] ", end="", file=sys.stderr, flush=True)
        answer = (sys.stdin.readline() if sys.stdin else "").strip().lower()
        if answer not in ("y", "yes"):
            raise UsageError("not confirmed: nothing changed (answer y, or pass --yes)")
    rt = _runtime()
    try:
        actor = _actor(rt, args)
        run = delete_orders if args.command == "delete" else restore_orders
        results = run(rt.ops, actor, nos)
        for r in results:
            print(r.cli_line())
        return EXIT_OK if all(r.done for r in results) else EXIT_FAILED
    finally:
        rt.stop()


def _export(args) -> int:
    from core.export import DEFAULT_COLUMNS, ExportError, check_columns, export_csv, get_column_set

    query = query_from_args(args)
    _check_out(args.out, args.force)
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
        if args.format == "pdf":
            return _export_pdf(rt, args, query, columns)
        report = _write_file(
            args.out,
            args.force,
            lambda out: export_csv(
                rt.db,
                query,
                out,
                columns=columns,
                encoding=args.encoding,
                lang=args.lang,
                header=args.header,
                now=rt.ops.now(),
            ),
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


def _mail(args) -> int:
    """One line per order: ``61 mail order ok (to ...)``, ``--dry-run``: the preview."""
    from core.mail.service import send_mail

    rt = _runtime()
    try:
        actor = _actor(rt, args)
        failed = False
        for order_no in dict.fromkeys(args.order_nos):
            r = send_mail(rt.mail, actor, order_no, args.template, dry_run=args.dry_run)
            print(r.cli_line(), flush=True)
            failed |= not (r.done or r.outcome == "preview")
        return EXIT_FAILED if failed else EXIT_OK
    finally:
        rt.stop()


def _export_pdf(rt, args, query, columns: list[str]) -> int:
    from core.reports.list_pdf import TooManyRows, export_pdf

    try:
        report = _write_file(
            args.out,
            args.force,
            lambda out: export_pdf(
                rt.db, query, out, columns=columns, lang=args.lang, now=rt.ops.now()
            ),
        )
    except TooManyRows as exc:
        raise UsageError(exc.message("en")) from None
    print(f"exported {report.rows} rows to {args.out} ({report.pages} pages)")
    return EXIT_OK


def _slips(args) -> int:
    from core.reports.slips import MAX_SLIPS, NoSuchOrders, Shop, write_slips

    if len(set(args.order_nos)) > MAX_SLIPS:
        raise UsageError(f"at most {MAX_SLIPS} orders in one PDF")
    _check_out(args.out, args.force)
    rt = _runtime()
    try:
        try:
            report = _write_file(
                args.out,
                args.force,
                lambda out: write_slips(
                    rt.db,
                    args.order_nos,
                    out,
                    shop=Shop.from_settings(rt.settings),
                    now=rt.ops.now(),
                ),
            )
        except NoSuchOrders as exc:
            for n in exc.missing:
                print(f"{n} slip failed: not_found: order {n} does not exist")
            return EXIT_FAILED
        missing = set(report.missing)
        for n in dict.fromkeys(args.order_nos):
            if n in missing:
                print(f"{n} slip failed: not_found: order {n} does not exist")
            else:
                print(f"{n} slip ok")
        return EXIT_FAILED if missing else EXIT_OK
    finally:
        rt.stop()


def _check_out(path: str, force: bool) -> None:
    """--out must be a file we may write: new, or existing with --force (exit 2 otherwise)."""
    target = Path(path)
    if target.is_dir():
        raise UsageError(f"--out {path} is a directory")
    if not target.parent.is_dir():
        raise UsageError(f"--out {path}: the folder {target.parent} does not exist")
    if target.exists() and not force:
        raise UsageError(f"{path} already exists; add --force to overwrite it")


def _write_file(path: str, force: bool, write):
    """``write(binary stream)`` into a temporary file beside ``path``, then put it in place:
    an existing file is replaced only with ``force`` and only once the export has finished
    (a failed export leaves it as it was); without ``force`` a file created meanwhile is
    never overwritten (``os.link`` fails if the name exists)."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        umask = os.umask(0o022)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)  # as open() would create it, not mkstemp's 0600
        with os.fdopen(fd, "wb") as out:
            result = write(out)
        if force:
            os.replace(tmp, target)
        else:
            try:
                _link_new(tmp, target)
            except FileExistsError:
                raise UsageError(f"{path} already exists; add --force to overwrite it") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return result


def _link_new(tmp: str, target: Path) -> None:
    """Give ``tmp`` the name ``target`` unless that name exists (FileExistsError)."""
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise
    except OSError:  # a filesystem without hard links: exclusive create, then copy
        with open(target, "xb") as dst, open(tmp, "rb") as src:
            shutil.copyfileobj(src, dst, 1 << 20)


def _worker(args) -> int:
    """Run batch items until SIGTERM/SIGINT; then finish the items in hand and exit 0."""
    import signal

    from core.operations.batch import WorkerPool, recover_stale, work

    rt = _runtime()
    try:
        if args.once:
            recover_stale(rt.ops)
            print(f"ran {work(rt.ops, 'cli-once')} items")
            return EXIT_OK
        stop = threading.Event()
        previous = {
            sig: signal.signal(sig, lambda *_: stop.set())
            for sig in (signal.SIGTERM, signal.SIGINT)
        }
        pool = WorkerPool(rt.ops, name=f"worker-{_hostname()}", on_error=_worker_failed).start()
        print(
            f"worker running with {rt.ops.workers} threads; SIGTERM or Ctrl-C to stop", flush=True
        )
        try:
            stop.wait()
            print("worker stopping: finishing the items in hand", flush=True)
        finally:
            finished = pool.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        print("worker stopped" if finished else "worker stopped (an item was still running)")
    finally:
        rt.stop()
    return EXIT_OK


def _worker_failed(thread: str, ref: str) -> None:
    """One line for a worker round that failed (logged with ``ref``); the worker goes on."""
    from core.settings import log_file_location

    print(f"{thread} error (ref {ref}; details in {log_file_location()})", flush=True)


def _hostname() -> str:
    import os
    import socket

    return f"{socket.gethostname()}-{os.getpid()}"


def _users(args) -> int:
    from core.auth.cli import users_cli

    rt = _runtime()
    try:
        return users_cli(rt.db, rt.settings, args, stdin=sys.stdin)
    finally:
        rt.stop()
