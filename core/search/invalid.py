"""Refused search input: :class:`InvalidQuery` and the condition names its messages use."""

from __future__ import annotations

from core.bilingual import BilingualError

FIELD_NAMES: dict[str, tuple[str, str]] = {
    "order_no": ("注文番号", "order number"),
    "order_from": ("注文番号(開始)", "order number from"),
    "order_to": ("注文番号(終了)", "order number to"),
    "name": ("顧客名", "customer name"),
    "email": ("メールアドレス", "email"),
    "birth_from": ("生年月日(開始)", "birth date from"),
    "birth_to": ("生年月日(終了)", "birth date to"),
    "gender": ("性別", "gender"),
    "payment_method": ("支払方法", "payment method"),
    "ordered_from": ("受注日(開始)", "order date from"),
    "ordered_to": ("受注日(終了)", "order date to"),
    "updated_from": ("更新日(開始)", "update date from"),
    "updated_to": ("更新日(終了)", "update date to"),
    "amount_min": ("購入金額(下限)", "minimum amount"),
    "amount_max": ("購入金額(上限)", "maximum amount"),
    "status": ("対応状況", "order status"),
    "paidy_state": ("Paidy状態", "Paidy state"),
    "expires_within_days": ("有効期限までの日数", "days until expiry"),
    "discrepancy_only": ("差額ありのみ", "discrepancy only"),
    "test": ("テスト注文", "test payments"),
    "paidy_only": ("Paidy決済のみ", "Paidy orders only"),
    "sort": ("並び順", "sort"),
    "page": ("ページ", "page"),
    "page_size": ("表示件数", "page size"),
    "columns": ("出力項目", "columns"),
}


class InvalidQuery(BilingualError):
    """A search condition that cannot be used; ``field`` names it, ja/en say why."""

    def __init__(self, field: str, ja: str, en: str) -> None:
        super().__init__(ja, en)
        self.field = field


def field_names(field: str) -> tuple[str, str]:
    return FIELD_NAMES.get(field, (field, field))
