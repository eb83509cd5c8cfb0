"""The UI catalogue: every key in both languages, the same placeholders, guide wording."""

from __future__ import annotations

import string
from pathlib import Path

import pytest

from core.i18n import CATALOG, LANGS, t

ROOT = Path(__file__).resolve().parents[2]


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("key", sorted(CATALOG))
def test_every_key_has_both_languages_and_the_same_placeholders(key):
    ja, en = CATALOG[key]
    assert ja.strip() and en.strip(), key
    assert fields(ja) == fields(en), key


def test_languages():
    assert LANGS == ("ja", "en")


def test_guide_wording_and_formatting():
    assert t("orders.found", "ja", count=11) == "11件が該当しました。"
    assert t("paidy.title") == "▼Paidy 決済情報"
    assert t("paidy.test_badge") == "※このオーダーはテスト注文です"
    assert t("paidy.billed_value_refund", billed=380, captured=1380, refunded=1000) == (
        "380円 (売上確定: 1,380円 払い戻し: 1,000円)"
    )
    assert "更新(アップデート)を行うと、Paidy注文代金を修正できます。" in t("paidy.warn_before")
    assert "手動で対応する必要があります。" in t("paidy.warn_after")
    assert t("batch.note") == "※ Paidyと通信を行うため処理に時間がかかる場合があります。"
    assert t("orders.found", "en", count=1380) == "1,380 orders found."


def test_unknown_key_is_shown_not_raised():
    assert t("no.such.key") == "no.such.key"
    assert t("orders.found", "ja") == "{count}件が該当しました。"  # missing params: raw text


def test_keys_built_at_run_time_exist():
    from core.domain.states import Action
    from core.operations.results import Outcome
    from core.views import AUDIT_COLUMNS

    keys = [f"action.{a.value}" for a in Action] + [f"paidy.btn.{a.value}" for a in Action]
    keys += [f"paidy.desc.{a.value}" for a in Action]
    keys += [f"outcome.{o.value}" for o in Outcome] + ["outcome.intent", "outcome.settled"]
    keys += ["outcome.pending", "outcome.running"] + [f"col.{c}" for c in AUDIT_COLUMNS]
    keys += ["kind.authorized", "kind.capture", "kind.refund"]
    assert not [k for k in keys if k not in CATALOG]
