"""Retry policy for Paidy calls: reads retry, writes never do.

There is no idempotency key in Paidy's API, so a POST/PUT is sent exactly once; a read is
retried on connection errors, 429 and 5xx with exponential back-off and jitter
(urllib3 ``Retry``, honouring ``Retry-After``).
"""

from __future__ import annotations

from urllib3.util.retry import Retry

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
READ_METHODS = frozenset({"GET"})


def read_retry(total: int = 3, backoff_factor: float = 0.3, backoff_max: float = 5.0) -> Retry:
    """The policy mounted on the read session."""
    return Retry(
        total=total,
        connect=total,
        read=total,
        status=total,
        other=0,
        allowed_methods=READ_METHODS,
        status_forcelist=RETRY_STATUSES,
        backoff_factor=backoff_factor,
        backoff_max=backoff_max,
        backoff_jitter=backoff_factor,
        respect_retry_after_header=True,
        raise_on_status=False,  # hand the last answer to the caller, who parses the envelope
        redirect=0,  # never followed (the client also sends allow_redirects=False)
    )


def no_retry() -> Retry:
    """The policy mounted on the write session: one attempt, whatever happens."""
    return Retry(total=0, connect=0, read=0, status=0, other=0, redirect=0, raise_on_status=False)
