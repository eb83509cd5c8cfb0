"""Pure rules for customer text that goes into a mail: names become one clean line (no
CR/LF, no control or bidi characters: no header injection, no spoofed lines), addresses
must be a plain ASCII ``local@domain`` or the mail is refused with a ja/en message."""

from __future__ import annotations

import re
import unicodedata

from core.domain.errors import RuleViolation

MAX_ADDRESS = 254
MAX_LOCAL = 64
_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_BIDI = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F)}


class NoAddress(RuleViolation):
    code = "no_address"
    ja = "お客様のメールアドレスが登録されていないため、メールは送信していません。受注編集でメールアドレスを確認してください。"
    en = "The customer has no email address, so no mail was sent. Check the address on the order."


class BadAddress(RuleViolation):
    code = "bad_address"
    ja = "お客様のメールアドレス「{address}」は送信できる形式ではないため、メールは送信していません(半角英数字の user@example.jp 形式のみ)。"
    en = "The customer's email address '{address}' is not a valid address, so no mail was sent (only plain ASCII user@example.jp addresses)."


def _unsafe(ch: str) -> bool:
    """A control, line-separator or bidi-override character."""
    return unicodedata.category(ch) in ("Cc", "Zl", "Zp") or ch in _BIDI


def has_unsafe(text: object) -> bool:
    return any(_unsafe(ch) for ch in str(text or ""))


def one_line(text: object, limit: int = 200) -> str:
    """``text`` as one line: control, line-separator and bidi characters become spaces,
    runs of whitespace one space, trimmed and cut at ``limit`` characters."""
    out = "".join(" " if _unsafe(ch) else ch for ch in str(text or ""))
    return " ".join(out.split())[:limit]


def check_address(text: object) -> str:
    """The address, stripped of surrounding spaces; refused when missing or not a plain
    ASCII ``local@domain`` (a CR/LF or any space inside is refused, never cleaned up)."""
    raw = str(text or "")
    address = raw.strip(" \t\u3000")
    if not address:
        raise NoAddress()
    if not _valid(address):
        raise BadAddress(address=one_line(address, 80))
    return address


def _valid(address: str) -> bool:
    if len(address) > MAX_ADDRESS or not address.isascii() or address.count("@") != 1:
        return False
    local, domain = address.split("@")
    if not local or len(local) > MAX_LOCAL or not _LOCAL.match(local):
        return False
    labels = domain.split(".")
    return len(labels) >= 2 and all(_LABEL.match(label) for label in labels)
