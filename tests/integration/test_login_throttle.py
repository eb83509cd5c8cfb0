"""The login throttle under load and against strangers, on SQLite and PostgreSQL.

Every attempt is counted in one atomic statement (no lost updates, no "database is
locked"); unknown names and wrong passwords get the same answers at the same points; the
per-client lock stops a guesser while the per-name lock stays short, so a stranger cannot
keep a real user out."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from threading import Barrier

import pytest

from core.auth import passwords, throttle, users
from core.timeutil import utcnow

PW = "correct horse battery staple"
N = 50


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch):
    """Real argon2id with small parameters: these tests count attempts, not hash strength
    (64 MB x 3 passes per check would make them slow on a shared machine)."""
    from argon2 import PasswordHasher

    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(passwords, "_hasher", cheap)
    monkeypatch.setattr(passwords, "_DUMMY", cheap.hash("not-a-password-0f3a9c"))


def _parallel(fn, n: int = N) -> list:
    """``fn(i)`` in ``n`` threads released together (a barrier, not a sleep)."""
    start = Barrier(n)

    def run(i):
        start.wait(timeout=60)
        return fn(i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


def test_fifty_parallel_attempts_on_one_name_are_all_counted(db):
    users.add_user(db, "yamada", "operator", PW)
    now = utcnow()
    answers = _parallel(lambda i: users.login(db, "yamada", "wrong", now, client=f"ip:10.0.0.{i}"))
    assert all(a.actor is None for a in answers)  # no OperationalError: every call answered
    failed = sum(a.message == users.LOGIN_FAILED for a in answers)
    waited = sum(a.message == users.LOGIN_WAIT for a in answers)
    assert failed + waited == N
    attempts, failures = throttle.counters(db, throttle.name_key("yamada"))
    assert attempts == N  # not one lost
    assert failures == failed  # each password checked was counted first
    # the lock held: only the free attempts and the one that set it were checked
    assert failed == throttle.NAME.free + 1
    for i in range(N):
        assert throttle.counters(db, throttle.client_key(f"ip:10.0.0.{i}"))[0] == 1


def test_fifty_parallel_attempts_from_one_client_are_all_counted(db):
    now = utcnow()
    answers = _parallel(lambda i: users.login(db, f"guess{i}", "wrong", now, client="ip:6.6.6.6"))
    assert all(a.actor is None for a in answers)
    attempts, failures = throttle.counters(db, throttle.client_key("ip:6.6.6.6"))
    assert attempts == N
    assert failures == sum(a.message == users.LOGIN_FAILED for a in answers)
    assert failures == throttle.CLIENT.free + 1


def test_parallel_logins_of_one_user_with_the_right_password_all_get_in(db):
    users.add_user(db, "yamada", "operator", PW)
    answers = _parallel(lambda i: users.login(db, "yamada", PW, client=f"ip:{i}"), n=4)
    assert all(a.actor is not None for a in answers)


def test_an_unknown_name_gets_the_same_answers_and_work_as_a_wrong_password(db, monkeypatch):
    users.add_user(db, "yamada", "operator", PW)
    checked: list[str | None] = []
    real = passwords.verify_password

    def counting(stored, password):
        checked.append(stored)
        return real(stored, password)

    monkeypatch.setattr(users, "verify_password", counting)
    now = utcnow()
    known = [users.login(db, "yamada", "wrong", now, client="ip:1").message for _ in range(8)]
    n_known = len(checked)
    unknown = [users.login(db, "nobody", "wrong", now, client="ip:2").message for _ in range(8)]
    assert known == unknown  # same answers, and the wait starts at the same attempt
    assert users.LOGIN_WAIT in known and users.LOGIN_FAILED in known
    assert len(checked) - n_known == n_known  # a hash was checked as often for nobody
    assert None in checked[n_known:]  # (the dummy hash: verify_password(None, ...))


def test_a_stranger_cannot_keep_a_user_out_for_long(db):
    users.add_user(db, "yamada", "operator", PW)
    start = utcnow()
    # one stranger guessing from one address every 10 seconds for 30 minutes: the address's
    # wait doubles with each failure, so only a handful of guesses are ever checked
    checked, t = 0, start
    for _ in range(180):
        checked += users.login(db, "yamada", "guess", t, client="ip:6.6.6.6").message == (
            users.LOGIN_FAILED
        )
        t += timedelta(seconds=10)
    assert checked <= throttle.CLIENT.free + 11  # 4 free, then 1, 2, 4 ... 900 s waits
    # the real user, from their own address, waits at most the name's cap (30 s)
    later = t + throttle.NAME.cap
    assert users.login(db, "yamada", PW, later, client="ip:192.168.1.5").actor is not None
    # many addresses guessing at once lock the name, but only for a short while
    for i in range(40):
        for _ in range(5):
            users.login(db, "yamada", "guess", later, client=f"ip:7.7.7.{i}")
    assert users.login(db, "yamada", PW, later, client="ip:192.168.1.5").actor is None
    after = later + throttle.NAME.cap + timedelta(seconds=1)
    assert users.login(db, "yamada", PW, after, client="ip:192.168.1.5").actor is not None
    # while the stranger's own address still waits
    assert users.login(db, "yamada", "guess", after, client="ip:6.6.6.6").message == (
        users.LOGIN_WAIT
    )


def test_a_success_clears_the_name_and_a_failure_window_expires(db):
    users.add_user(db, "yamada", "operator", PW)
    now = utcnow()
    for _ in range(3):
        users.login(db, "yamada", "wrong", now, client="ip:1")
    assert users.login(db, "yamada", PW, now, client="ip:1").actor is not None
    assert throttle.counters(db, throttle.name_key("yamada"))[1] == 0
    for _ in range(4):
        users.login(db, "yamada", "wrong", now, client="ip:3")
    much_later = now + throttle.NAME.window + timedelta(minutes=1)
    users.login(db, "yamada", "wrong", much_later, client="ip:4")
    assert throttle.counters(db, throttle.name_key("yamada"))[1] == 1  # a fresh count


@pytest.mark.parametrize(
    ("failures", "name_wait", "client_wait"), [(4, None, None), (5, 2, 1), (7, 6, 4), (30, 30, 900)]
)
def test_the_waits(failures, name_wait, client_wait):
    as_s = lambda w: None if w is None else int(w.total_seconds())  # noqa: E731
    assert as_s(throttle.NAME.wait(failures, linear=True)) == name_wait
    assert as_s(throttle.CLIENT.wait(failures, linear=False)) == client_wait
