"""Who may act is read at the moment of acting: a disabled user is refused at the next
action (logged), a demoted or promoted one acts with the new role at once, a batch item
re-checks its creator when it runs; demo actors (not users) keep working."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.auth import admin, users
from core.auth.current import authorize, current_actor
from core.operations import column_sets, payments
from core.operations.batch import BatchAction, create_job, items_frame, run_job
from core.operations.link import link_payment
from core.operations.orders import change_status
from core.roles import Actor, Permission, PermissionDenied, Role, UserDisabled
from core.search import get_order
from core.storage.models import AuditLog, PaidyPayment
from tests.fixtures_ops import ADMIN as DEMO_ADMIN
from tests.fixtures_ops import OPERATOR as DEMO_OPERATOR

PW = "operator-password-1"
BOSS = Actor("boss", Role.ADMIN, account=True)


@pytest.fixture
def logged_in(db):
    """An operator and an admin as the login screen hands them out (user accounts)."""
    users.add_user(db, "boss", "admin")
    users.add_user(db, "op1", "operator", PW)
    actor = users.login(db, "op1", PW).actor
    assert actor == Actor("op1", Role.OPERATOR, account=True)
    return actor


def _captured(ops, order_no: int) -> int:
    return get_order(ops.db, order_no).payment.captured_amount


def _audit(db, actor: str) -> list[AuditLog]:
    with db.session() as s:
        return list(
            s.scalars(select(AuditLog).where(AuditLog.actor == actor).order_by(AuditLog.id))
        )


def test_a_disabled_user_is_refused_at_the_next_action_and_it_is_logged(ops, world, logged_in):
    no = world.order()
    admin.disable(ops.db, BOSS, "op1")
    calls = world.money_calls()
    result = payments.capture(ops, logged_in, no)
    assert result.code == "user_disabled" and not result.ok
    assert world.money_calls() == calls and _captured(ops, no) == 0
    entry = _audit(ops.db, "op1")[-1]
    assert entry.action == "capture" and entry.outcome == "skipped"
    assert (entry.detail or {}).get("code") == "user_disabled"
    # every other kind of act too
    assert payments.refresh(ops, logged_in, no).code == "user_disabled"
    with pytest.raises(UserDisabled):
        change_status(ops, logged_in, [no], "cancelled")
    with pytest.raises(UserDisabled):
        link_payment(ops, logged_in, world.payment())
    with pytest.raises(UserDisabled):
        create_job(ops, logged_in, BatchAction.CAPTURE, [no])
    with pytest.raises(UserDisabled):
        column_sets.save(ops.db, logged_in, "mine", ["order_no"])
    actions = [(e.action, e.outcome) for e in _audit(ops.db, "op1")]
    assert ("status_change", "skipped") in actions and ("link", "skipped") in actions
    # re-enabled: acts again
    admin.enable(ops.db, BOSS, "op1")
    assert payments.capture(ops, logged_in, no).ok


def test_a_demoted_user_acts_with_the_new_role_at_once(ops, world, logged_in):
    no = world.order()
    admin.set_role(ops.db, BOSS, "op1", "viewer")
    assert current_actor(ops.db, logged_in).role is Role.VIEWER
    result = payments.capture(ops, logged_in, no)
    assert result.code == "permission_denied" and _captured(ops, no) == 0
    # and a promotion too: a viewer's session acts as operator after set-role operator
    admin.set_role(ops.db, BOSS, "op1", "operator")
    viewer_session = Actor("op1", Role.VIEWER, account=True)
    assert payments.capture(ops, viewer_session, no).ok


def test_a_batch_item_rechecks_its_creator_when_it_runs(ops, world, logged_in):
    nos = [world.order() for _ in range(3)]
    job = create_job(ops, logged_in, BatchAction.CAPTURE, nos)
    admin.disable(ops.db, BOSS, "op1")  # after the job was queued, before it runs
    calls = world.money_calls()
    run_job(ops, job)
    frame = items_frame(ops, job, "en")
    assert set(frame["result_code"]) == {"user_disabled"}
    assert world.money_calls() == calls
    with ops.db.session() as s:
        assert not any(p.captured_amount for p in s.scalars(select(PaidyPayment)))


def test_demo_actors_are_not_users_and_keep_working(ops, world):
    no = world.order()
    assert current_actor(ops.db, DEMO_OPERATOR) is DEMO_OPERATOR
    assert payments.capture(ops, DEMO_OPERATOR, no).ok
    assert authorize(ops.db, DEMO_ADMIN, Permission.ADMIN) is DEMO_ADMIN


def test_a_removed_user_counts_as_disabled(db):
    with pytest.raises(UserDisabled):
        current_actor(db, Actor("ghost", Role.ADMIN, account=True))


def test_admin_writes_need_a_current_admin_and_are_audited(db):
    users.add_user(db, "boss", "admin", "boss-password-12")
    users.add_user(db, "op1", "operator", PW)
    op = Actor("op1", Role.OPERATOR, account=True)
    with pytest.raises(PermissionDenied):
        admin.set_role(db, op, "op1", "admin", via="screen")  # no self-promotion
    admin.add_user(db, BOSS, "kato", "viewer", "kato-password-1", "Kato@Shop.jp")
    admin.set_role(db, BOSS, "kato", "operator")
    admin.set_password(db, BOSS, "kato", "another-password-2", via="cli")
    admin.disable(db, BOSS, "kato")
    with pytest.raises(users.UserError):
        admin.disable(db, BOSS, "boss")  # never yourself
    with pytest.raises(users.UserError):
        admin.set_role(db, BOSS, "boss", "viewer")
    entries = _audit(db, "boss")
    assert [e.action for e in entries] == [
        "user_add",
        "user_role",
        "user_password",
        "user_disable",
    ]
    role = entries[1]
    assert role.detail["user"] == "kato" and role.detail["role_before"] == "viewer"
    assert role.detail["role"] == "operator" and role.detail["via"] == "screen"
    assert entries[2].detail["via"] == "cli"
    text = repr([(e.message, e.detail) for e in _audit(db, "boss")])
    assert "kato-password-1" not in text and "another-password-2" not in text
    refused = _audit(db, "op1")
    assert [(e.action, e.outcome) for e in refused] == [("user_role", "skipped")]
    assert users.find(db, "kato").role == "operator" and users.find(db, "kato").disabled
    # a demoted admin cannot administer any more, from the very next call
    admin.add_user(db, BOSS, "boss2", "admin")
    admin.set_role(db, Actor("boss2", Role.ADMIN, account=True), "boss", "viewer")
    with pytest.raises(PermissionDenied):
        admin.enable(db, BOSS, "kato")


def test_column_sets_are_owned_and_audited(db):
    mine = Actor("op1", Role.OPERATOR)
    other = Actor("op2", Role.OPERATOR)
    column_sets.save(db, mine, "経理用", ["order_no", "customer_name"])
    column_sets.save(db, mine, "経理用", ["order_no"])  # own: replaced
    with pytest.raises(PermissionDenied):
        column_sets.save(db, other, "経理用", ["order_no", "email"])
    with pytest.raises(PermissionDenied):
        column_sets.delete(db, other, "経理用")
    assert column_sets.delete(db, Actor("a", Role.ADMIN), "経理用")
    with db.session() as s:
        rows = [
            (e.actor, e.action, e.outcome)
            for e in s.scalars(select(AuditLog).order_by(AuditLog.id))
        ]
    assert rows == [
        ("op1", "column_set_save", "ok"),
        ("op1", "column_set_save", "ok"),
        ("op2", "column_set_save", "skipped"),
        ("op2", "column_set_delete", "skipped"),
        ("a", "column_set_delete", "ok"),
    ]
