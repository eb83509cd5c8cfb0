"""Time rules: stored in UTC, shown in JST, date filters are whole JST calendar days."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import overload

JST = timezone(timedelta(hours=9), "JST")


def utcnow() -> datetime:
    return datetime.now(UTC)


@overload
def as_utc(dt: datetime) -> datetime: ...
@overload
def as_utc(dt: None) -> None: ...
@overload
def as_utc(dt: datetime | None) -> datetime | None: ...
def as_utc(dt: datetime | None) -> datetime | None:
    """Naive datetimes (as SQLite returns them) are UTC by our storage rule."""
    if dt is None:
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


@overload
def to_jst(dt: datetime) -> datetime: ...
@overload
def to_jst(dt: None) -> None: ...
@overload
def to_jst(dt: datetime | None) -> datetime | None: ...
def to_jst(dt: datetime | None) -> datetime | None:
    dt = as_utc(dt)
    return dt.astimezone(JST) if dt else None


def fmt_jst(dt: datetime | None, with_time: bool = True) -> str:
    """``2019/12/21 10:38`` (the guide's format), or ``2019/12/21``; empty for None."""
    j = to_jst(dt)
    if j is None:
        return ""
    return j.strftime("%Y/%m/%d %H:%M" if with_time else "%Y/%m/%d")


def fmt_jst_seconds(dt: datetime | None) -> str:
    """``2019/12/21 10:38:05``: a moment an operator waits for."""
    j = to_jst(dt)
    return "" if j is None else j.strftime("%Y/%m/%d %H:%M:%S")


def jst_day_start_utc(day: date) -> datetime:
    return datetime.combine(day, time.min, JST).astimezone(UTC)


def jst_day_range_utc(
    start: date | None, end: date | None
) -> tuple[datetime | None, datetime | None]:
    """Inclusive JST days -> half-open UTC range [from, to)."""
    lo = jst_day_start_utc(start) if start else None
    hi = jst_day_start_utc(end + timedelta(days=1)) if end else None
    return lo, hi


def jst_today(now: datetime | None = None) -> date:
    return to_jst(now or utcnow()).date()


def parse_iso(value: str | None) -> datetime | None:
    """Paidy's ``2018-02-05T12:58:10.381Z`` -> aware UTC datetime."""
    if not value:
        return None
    return as_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))


def iso_z(dt: datetime) -> str:
    """Aware datetime -> ``2018-02-05T12:58:10.381Z``."""
    utc = as_utc(dt)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


@overload
def days_left(expires_at: datetime, now: datetime) -> int: ...
@overload
def days_left(expires_at: None, now: datetime) -> None: ...
@overload
def days_left(expires_at: datetime | None, now: datetime) -> int | None: ...
def days_left(expires_at: datetime | None, now: datetime) -> int | None:
    """Whole days until expiry (negative once expired), counted in JST calendar days."""
    if expires_at is None:
        return None
    return (to_jst(expires_at).date() - to_jst(now).date()).days


@dataclass(frozen=True)
class TimeLeft:
    """How long until an expiry, as an operator reads it: JST calendar days (本日まで = 0,
    あと1日 = 1), or once expired, the days since; ``hours`` only when less than a day is
    left (rounded up, so "1 hour" is never "0 hours")."""

    days: int
    expired: bool
    hours: int | None = None


def time_left(expires_at: datetime | None, now: datetime) -> TimeLeft | None:
    if expires_at is None:
        return None
    remaining = (as_utc(expires_at) - as_utc(now)).total_seconds()
    days = days_left(expires_at, now)
    if remaining <= 0:
        return TimeLeft(abs(days), True)
    hours = math.ceil(remaining / 3600) if remaining < 86400 else None
    return TimeLeft(max(days, 0), False, hours)
