"""The order vocabulary: every member labelled in both languages, keys and labels parse."""

from __future__ import annotations

import pytest

from core.domain.orders import (
    LABELS,
    Gender,
    InvalidChoice,
    OrderStatus,
    PaymentMethod,
    PaymentStatus,
    label,
    label_of,
    labels,
    parse_choice,
)
from core.domain.states import PaymentState

ENUMS = [OrderStatus, PaymentStatus, PaymentMethod, Gender, PaymentState]


@pytest.mark.parametrize("enum_type", ENUMS, ids=lambda e: e.__name__)
def test_every_member_has_both_labels_and_parses_back(enum_type):
    assert set(LABELS[enum_type]) == set(enum_type)
    for member in enum_type:
        ja, en = label(member, "ja"), label(member, "en")
        assert ja and en
        assert parse_choice(enum_type, member.value) is member
        assert parse_choice(enum_type, ja) is member
        assert parse_choice(enum_type, en) is member
        assert parse_choice(enum_type, member) is member


@pytest.mark.parametrize("enum_type", ENUMS, ids=lambda e: e.__name__)
def test_labels_are_unique_within_an_enum(enum_type):
    for lang in ("ja", "en"):
        names = [label(m, lang) for m in enum_type]
        assert len(set(names)) == len(names)


def test_the_guides_words():
    assert label(OrderStatus.NEW) == "新規受付"
    assert label(OrderStatus.CANCELLED) == "キャンセル"
    assert label(PaymentMethod.PAIDY) == "Paidy翌月払い(コンビニ/銀行)"
    assert label(PaymentState.OPEN) == "オープン"
    assert label(PaymentState.REJECTED) == "与信NG"
    assert label(PaymentStatus.UNPAID) == "未入金"
    assert labels(Gender, "en") == {"male": "Male", "female": "Female", "other": "Other"}


def test_parse_is_lenient_about_width_case_and_spaces():
    assert parse_choice(PaymentMethod, "Paidy翌月払い（コンビニ／銀行）") is PaymentMethod.PAIDY
    assert parse_choice(OrderStatus, "  SHIPPED ") is OrderStatus.SHIPPED
    assert parse_choice(OrderStatus, "awaiting payment") is OrderStatus.AWAITING_PAYMENT
    assert parse_choice(PaymentState, "partially_refunded") is PaymentState.PARTIALLY_REFUNDED


@pytest.mark.parametrize("bad", ["", "x", "発送", None, 3, ["new"]])
def test_unknown_choices_say_what_is_allowed(bad):
    with pytest.raises(InvalidChoice) as info:
        parse_choice(OrderStatus, bad)
    assert "新規受付" in info.value.message("ja")
    assert "new" in info.value.message("en")


def test_label_of_stored_keys_keeps_unknown_values_visible():
    assert label_of(OrderStatus, "shipped", "ja") == "発送済み"
    assert label_of(OrderStatus, "legacy_status", "ja") == "legacy_status"
    assert label_of(OrderStatus, None) == ""
    assert label(None) == ""
