"""Shared test setup. Fixture modules: tests/fixtures_db.py (the ``db`` fixture, SQLite and
PostgreSQL), tests/fixtures_sandbox.py (a real sandbox over a socket), tests/fixtures_ops.py
(the service layer wired to both)."""

import os
from importlib.util import find_spec

# No test may ever reach the real Paidy or read a developer's .env key.
os.environ.pop("PAIDY_SECRET_KEY", None)
os.environ.setdefault("PAIDY_API_BASE", "http://127.0.0.1:9")

pytest_plugins = [
    name
    for name in (
        "tests.fixtures_db",
        "tests.fixtures_sandbox",
        "tests.fixtures_ops",
        "tests.sqlite_write_guard",
    )
    if find_spec(name) is not None
]


def pytest_sessionfinish(session, exitstatus):
    """Fail the run if any file it produced holds a test secret key (logs, databases, CSVs,
    screenshots' page dumps ...): the key must never be written anywhere."""
    from pathlib import Path

    from tests.secrets import ALL

    roots = [Path("artifacts"), Path("data")]
    factory = getattr(session.config, "_tmp_path_factory", None)
    if factory is not None:
        try:
            roots.append(factory.getbasetemp())
        except Exception:
            pass
    needles = [k.encode() for k in ALL]
    hits = []
    for root in roots:
        if not root.exists():
            continue
        for path in root.rglob("*"):
            if path.is_file() and path.stat().st_size < 200_000_000:
                data = path.read_bytes()
                hits.extend(f"{path}" for n in needles if n in data)
    if hits:
        print("\nSECRET KEY FOUND IN:", *sorted(set(hits)), sep="\n  ")
        session.exitstatus = 1


# ------------------------------------------------------------------------------ watchdog
# The whole run takes ~8 minutes. A hang that pytest-timeout's signal cannot break (a C call,
# a wait in another thread) must not eat CI's budget: after WATCHDOG_S every thread's stack
# goes to artifacts/hang-traceback.txt (.ci/run prints it) and the run exits, red, with the
# why. A thread, not faulthandler.dump_traceback_later: pytest's faulthandler_timeout owns
# that single timer and resets it at every test.
WATCHDOG_S = float(os.environ.get("TEST_WATCHDOG_S", "1200"))
_watchdog: list = []


def _bite() -> None:
    import faulthandler
    from pathlib import Path

    Path("artifacts").mkdir(exist_ok=True)
    with open(Path("artifacts") / "hang-traceback.txt", "w") as dump:
        dump.write(f"the test run passed its watchdog ({WATCHDOG_S:.0f} s): every thread\n")
        dump.flush()
        faulthandler.dump_traceback(file=dump, all_threads=True)
    os._exit(3)


def pytest_configure(config):
    import threading

    if WATCHDOG_S <= 0:
        return
    timer = threading.Timer(WATCHDOG_S, _bite)
    timer.daemon = True
    timer.start()
    _watchdog.append(timer)


def pytest_unconfigure(config):
    for timer in _watchdog:
        timer.cancel()
    _watchdog.clear()
