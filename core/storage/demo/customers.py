"""Demo customers (name, kana, contact, address) and their baskets."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from core.storage.demo.catalogue import (
    BUILDINGS,
    EMAIL_DOMAINS,
    FEMALE,
    MALE,
    OTHER,
    PLACES,
    PRODUCTS,
    REMOTE,
    SURNAMES,
)

Item = tuple[str, str, int, int]  # (code, name, unit price, quantity)


def shipping_fee(subtotal: int, prefecture: str) -> int:
    """Free from 5,000 yen; 880 to the remote prefectures, else 550."""
    return 0 if subtotal >= 5000 else (880 if prefecture in REMOTE else 550)


def random_customer(rng: random.Random) -> dict[str, Any]:
    sur, sur_kana, sur_ro = rng.choice(SURNAMES)
    r = rng.random()
    gender, names = (
        ("female", FEMALE) if r < 0.52 else ("male", MALE) if r < 0.96 else ("other", OTHER)
    )
    given, given_kana, given_ro = rng.choice(names)
    pref, city, zip_prefix, towns = rng.choice(PLACES)
    birth = (
        None
        if rng.random() < 0.05
        else date(1945, 1, 1) + timedelta(days=rng.randrange(0, 365 * 61))
    )
    return {
        "customer_name": f"{sur} {given}",
        "customer_kana": f"{sur_kana} {given_kana}",
        "email": f"{given_ro}.{sur_ro}{rng.randrange(1, 1000)}@{rng.choice(EMAIL_DOMAINS)}",
        "phone": f"0{rng.choice('789')}0-{rng.randrange(1000, 10000)}-{rng.randrange(1000, 10000)}",
        "birth_date": birth,
        "gender": None if birth is None and rng.random() < 0.5 else gender,
        "zip": f"{zip_prefix}{rng.randrange(1, 100):02d}",
        "prefecture": pref,
        "address1": f"{city}{rng.choice(towns)}{rng.randrange(1, 6)}-{rng.randrange(1, 30)}-{rng.randrange(1, 20)}",
        "address2": rng.choice(BUILDINGS),
    }


def random_basket(rng: random.Random) -> list[Item]:
    count = rng.choices((1, 2, 3, 4), weights=(50, 30, 15, 5))[0]
    chosen = rng.sample(PRODUCTS, count)
    return [
        (code, name, price, rng.choices((1, 2, 3), weights=(80, 15, 5))[0])
        for code, name, price in chosen
    ]
