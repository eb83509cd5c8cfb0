"""The one family of errors an operator can meet.

Every exception whose text is meant for a person derives from :class:`OperatorError`: a
refusal of the payment rules (``core.domain.errors.RuleViolation``), one of Paidy's failures
(``core.paidy.errors.PaidyError``), a bilingual failure of an adapter
(``core.bilingual.BilingualError``) and a bad command line (``core.cliargs.UsageError``).
The screens and the CLI catch this base and show ``exc.message(lang)``; anything else is a
bug, logged with a reference (``core.logsetup``) and shown as one line quoting it.

``code`` is a stable key for logs, tests, results and the audit log. A class that does not
name its own code gets its name in snake case (``UserError`` -> ``user_error``); refusals
always name theirs, since stored messages are rebuilt from it (``core.messages``).
"""

from __future__ import annotations

import re


class OperatorError(Exception):
    """An error shown to an operator: ``message(lang)`` in Japanese (``ja``) or English."""

    code: str = "operator_error"

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if "code" not in cls.__dict__:
            cls.code = snake_case(cls.__name__)

    def message(self, lang: str = "ja") -> str:
        return str(self)


def snake_case(name: str) -> str:
    """``PaidyAPIError`` -> ``paidy_api_error``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()
