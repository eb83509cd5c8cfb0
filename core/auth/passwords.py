"""Password hashing with argon2id (argon2-cffi). The login throttle is core/auth/throttle.py."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()  # argon2id, library defaults (memory-hard)
# A real hash of a random password: verifying against it costs the same time as a real user,
# so "no such user" cannot be told apart from "wrong password" by timing.
_DUMMY = _hasher.hash("not-a-password-0f3a9c")

MIN_LENGTH = 10


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY, password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return _hasher.check_needs_rehash(stored)


def password_problem(password: str) -> tuple[str, str] | None:
    if len(password) < MIN_LENGTH:
        return (
            f"パスワードは{MIN_LENGTH}文字以上にしてください。",
            f"Use at least {MIN_LENGTH} characters.",
        )
    return None
