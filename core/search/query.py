"""The order search's conditions (受注管理の検索条件) as one validated model.

:class:`OrderQuery` holds the guide's conditions (注文番号, 顧客名, メールアドレス, 生年月日, 性別,
支払方法, 受注日, 更新日, 購入金額) plus 対応状況, Paidy状態, "expiring within N days",
"discrepancy only" and test/live. Field names follow the CLI's flags (``--ordered-from`` ->
``ordered_from``; ``--expires-within`` and ``--discrepancy`` are accepted as aliases of
``expires_within_days`` and ``discrepancy_only``). Bad input raises :class:`InvalidQuery`
(field, Japanese and English message), never anything else.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from core.domain.orders import Gender, OrderStatus, PaymentMethod
from core.domain.states import PaymentState
from core.search.invalid import InvalidQuery, field_names
from core.search.parsing import (
    clean_text,
    from_validation_error,
    parse_bool,
    parse_choices,
    parse_date,
    parse_int,
)

MAX_DAYS = 3650


def _field(info: ValidationInfo) -> str:
    return str(info.field_name)


class OrderQuery(BaseModel):
    """Search conditions; every field optional. Dates are inclusive JST calendar days."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    order_no: int | None = None
    order_from: int | None = None
    order_to: int | None = None
    name: str | None = None  # customer name or kana, partial, spaces ignored
    email: str | None = None  # partial
    birth_from: date | None = None
    birth_to: date | None = None
    gender: tuple[Gender, ...] | None = None
    payment_method: tuple[PaymentMethod, ...] | None = None
    ordered_from: date | None = None
    ordered_to: date | None = None
    updated_from: date | None = None
    updated_to: date | None = None
    amount_min: int | None = None  # 購入金額 = orders.total
    amount_max: int | None = None
    status: tuple[OrderStatus, ...] | None = None
    paidy_state: tuple[PaymentState, ...] | None = None
    expires_within_days: int | None = Field(
        None, validation_alias=AliasChoices("expires_within_days", "expires_within")
    )
    discrepancy_only: bool = Field(
        False, validation_alias=AliasChoices("discrepancy_only", "discrepancy")
    )
    test: bool | None = None  # True: test payments only, False: live only, None: all
    paidy_only: bool = False  # only orders with a Paidy payment record

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise from_validation_error(exc) from None

    @classmethod
    def model_validate(cls, obj: Any, **kw: Any) -> OrderQuery:
        try:
            return super().model_validate(obj, **kw)
        except ValidationError as exc:
            raise from_validation_error(exc) from None

    @field_validator("name", "email", mode="before")
    @classmethod
    def _text(cls, v: object, info: ValidationInfo) -> str | None:
        return clean_text(_field(info), v)

    @field_validator(
        "birth_from",
        "birth_to",
        "ordered_from",
        "ordered_to",
        "updated_from",
        "updated_to",
        mode="before",
    )
    @classmethod
    def _date(cls, v: object, info: ValidationInfo) -> date | None:
        return parse_date(_field(info), v)

    @field_validator("order_no", "order_from", "order_to", mode="before")
    @classmethod
    def _order_number(cls, v: object, info: ValidationInfo) -> int | None:
        return parse_int(_field(info), v, 1)

    @field_validator("amount_min", "amount_max", mode="before")
    @classmethod
    def _yen(cls, v: object, info: ValidationInfo) -> int | None:
        return parse_int(_field(info), v, 0, yen=True)

    @field_validator("expires_within_days", mode="before")
    @classmethod
    def _days(cls, v: object, info: ValidationInfo) -> int | None:
        days = parse_int("expires_within_days", v, 0)
        if days is not None and days > MAX_DAYS:
            ja, en = field_names("expires_within_days")
            raise InvalidQuery(
                "expires_within_days",
                f"{ja}は{MAX_DAYS}日以内で指定してください。",
                f"The {en} must be at most {MAX_DAYS}.",
            )
        return days

    @field_validator("gender", "payment_method", "status", "paidy_state", mode="before")
    @classmethod
    def _choices(cls, v: object, info: ValidationInfo) -> tuple | None:
        enum_type = {
            "gender": Gender,
            "payment_method": PaymentMethod,
            "status": OrderStatus,
            "paidy_state": PaymentState,
        }[_field(info)]
        return parse_choices(_field(info), enum_type, v)

    @field_validator("test", mode="before")
    @classmethod
    def _test(cls, v: object) -> bool | None:
        return parse_bool("test", v, optional=True)

    @field_validator("discrepancy_only", "paidy_only", mode="before")
    @classmethod
    def _flag(cls, v: object, info: ValidationInfo) -> bool:
        return bool(parse_bool(_field(info), v, optional=False))

    @model_validator(mode="after")
    def _ranges(self) -> OrderQuery:
        for lo, hi in (
            ("order_from", "order_to"),
            ("birth_from", "birth_to"),
            ("ordered_from", "ordered_to"),
            ("updated_from", "updated_to"),
            ("amount_min", "amount_max"),
        ):
            a, b = getattr(self, lo), getattr(self, hi)
            if a is not None and b is not None and b < a:
                lo_ja, lo_en = field_names(lo)
                hi_ja, hi_en = field_names(hi)
                if isinstance(a, int):  # numbers are smaller, dates are earlier
                    raise InvalidQuery(
                        hi,
                        f"{hi_ja}が{lo_ja}より小さくなっています。範囲を確認してください。",
                        f"The {hi_en} ({b:,}) is less than the {lo_en} ({a:,}); check the range.",
                    )
                raise InvalidQuery(
                    hi,
                    f"{hi_ja}が{lo_ja}より前になっています。範囲を確認してください。",
                    f"The {hi_en} ({b}) is before the {lo_en} ({a}); check the range.",
                )
        return self

    def is_empty(self) -> bool:
        return self == OrderQuery()

    def needs_payment(self) -> bool:
        """Whether any condition is about the Paidy payment (an inner join suffices)."""
        return bool(
            self.paidy_state
            or self.expires_within_days is not None
            or self.discrepancy_only
            or self.test is not None
            or self.paidy_only
        )
