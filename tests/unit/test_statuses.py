"""The stored status words: each enum's values are exactly the strings already in the
database (no migration), and a member compares equal to its stored string both ways."""

from __future__ import annotations

from datetime import timedelta

from core.domain.statuses import (
    OPEN_ITEMS,
    UNSETTLED,
    AuditOutcome,
    ItemStatus,
    JobStatus,
    Outcome,
)
from core.operations.context import Ops
from core.operations.locks import DEFAULT_LOCK_TTL, lock_ttl_for, stale_intent_age
from core.storage.models import BatchItem, BatchJob


def test_values_are_the_stored_strings():
    assert [o.value for o in Outcome] == ["ok", "skipped", "failed", "unknown"]
    assert {o.value for o in AuditOutcome} == {
        "intent", "ok", "skipped", "failed", "unknown", "settled", "late"
    }  # fmt: skip
    assert [s.value for s in JobStatus] == ["queued", "running", "done"]
    assert [s.value for s in ItemStatus] == [
        "pending", "running", "ok", "skipped", "failed", "unknown"
    ]  # fmt: skip
    assert UNSETTLED == ("intent", "unknown") and OPEN_ITEMS == ("pending", "running")


def test_a_result_outcome_is_stored_as_the_same_audit_and_item_word():
    for outcome in Outcome:
        assert AuditOutcome(outcome.value) == outcome == ItemStatus(outcome.value)
        assert outcome == outcome.value and str(outcome) == outcome.value


def test_the_model_defaults_are_members():
    assert BatchJob.__table__.c.status.server_default.arg == JobStatus.QUEUED
    assert BatchItem.__table__.c.status.server_default.arg == ItemStatus.PENDING


def test_the_results_module_keeps_its_outcome():
    from core.operations import results

    assert results.Outcome is Outcome


def test_the_stale_intent_age_follows_the_marker_ttl():
    assert stale_intent_age() == DEFAULT_LOCK_TTL == timedelta(minutes=3)
    assert stale_intent_age(timedelta(minutes=7)) == timedelta(minutes=7)
    assert lock_ttl_for(10) == DEFAULT_LOCK_TTL  # a short request timeout: the floor
    assert lock_ttl_for(100) == timedelta(seconds=230)  # outlives any request it guards
    assert Ops.__dataclass_fields__["lock_ttl"].default == DEFAULT_LOCK_TTL
