"""Fault configuration and the per-request fault decision.

A payment API request first waits latency + jitter, then gets at most one fault: the first
matching entry of the `next` queue, else a random kind from `mix` with chance `fault_rate`.
"""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass, field

# kind -> is the change applied before the response goes wrong? ("apply_late" is applied
# *after* the client gave up: see LATE; "stale_read"/"wrong_payment" matter for reads too)
KINDS: dict[str, bool] = {
    "error_500": False,  # JSON 500 service.exception
    "html_502": False,  # an HTML "502 Bad Gateway" page from the proxy
    "timeout": False,  # hold the connection, then close it without a response
    "rate_limited": False,  # JSON 429
    "applied_timeout": True,  # apply, then hold and close without a response
    "applied_500": True,  # apply, then answer JSON 500
    "applied_drop": True,  # apply, then close the socket at once
    "truncated": True,  # apply, then answer with half of the JSON body
    "apply_late": False,  # hold, drop; the write is applied apply_late_s after the drop
    "stale_read": False,  # a GET answers the payment as it was before its last write
    "wrong_payment": True,  # apply, then answer with another payment's record
    "redirect": False,  # answer 307 to redirect_location (default: the same URL again)
    "negative_amount": True,  # apply, then answer with an amount of -100,000 yen
    "huge_body": True,  # apply, then answer a valid payment padded to huge_body_bytes
}
#: kinds that change nothing now but schedule the write for later
LATE = frozenset({"apply_late"})
#: kinds only in effect on writes / only on reads (a random pick skips the others; the
#: classic applied_* kinds act on a read as their not-applied twins, as they always did)
WRITE_ONLY = frozenset({"apply_late"})
READ_ONLY = frozenset({"stale_read"})


#: kinds only queued on purpose (``next``), never drawn at random: ``api_error`` answers with
#: Paidy's error envelope carrying the entry's ``status``, ``code``, ``title``, ``description``
#: and ``reference`` (e.g. to see how the dashboard shows Paidy's words), nothing applied.
QUEUED_KINDS: dict[str, bool] = {"api_error": False}
API_ERROR_FIELDS = ("code", "title", "description", "reference")


def is_applied(kind: str | None) -> bool:
    """True when a request with this fault (or none) still changes the payment now."""
    return kind is None or {**KINDS, **QUEUED_KINDS}[kind]


#: the random mix by default: the classic kinds only (benchmarks and the demo's fault rate
#: keep their meaning); the answer-tampering kinds are queued on purpose by tests
CLASSIC = (
    "error_500",
    "html_502",
    "timeout",
    "rate_limited",
    "applied_timeout",
    "applied_500",
    "applied_drop",
    "truncated",
)


def default_mix() -> dict[str, float]:
    return dict.fromkeys(CLASSIC, 1.0)


@dataclass
class FaultConfig:
    latency_ms: float = 0
    jitter_ms: float = 0
    fault_rate: float = 0.0
    timeout_hold_s: float = 5.0
    apply_late_s: float = 0.0  # apply_late: seconds after the drop (see /_sandbox/late)
    redirect_location: str = ""  # redirect: where to; "" = the same URL on this server
    huge_body_bytes: int = 2_000_000  # huge_body: the answer's size
    mix: dict[str, float] = field(default_factory=default_mix)
    next: list[dict] = field(default_factory=list)


def _number(value: object, key: str, upper: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{key} must be a number >= 0")
    if upper is not None and value > upper:
        raise ValueError(f"{key} must be <= {upper}")
    return value


def _text(value: object, key: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{key} must be a string")
    return value


def _mix(value: object) -> dict[str, float]:
    if not isinstance(value, dict) or set(value) - set(KINDS):
        raise ValueError(f"mix must map fault kinds ({', '.join(KINDS)}) to weights")
    return {kind: _number(weight, f"mix.{kind}") for kind, weight in value.items()}


def _next_entry(entry: object) -> dict:
    kinds = {**KINDS, **QUEUED_KINDS}
    if not isinstance(entry, dict) or entry.get("kind") not in kinds:
        raise ValueError(f"each next entry needs a kind among {', '.join(kinds)}")
    keys: tuple[str, ...] = ("method", "path_contains")
    if entry["kind"] == "api_error":
        keys += API_ERROR_FIELDS
        status = entry.get("status", 400)
        if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
            raise ValueError("next.status must be an HTTP error status (400-599)")
    for key in keys:
        if not isinstance(entry.get(key, ""), str):
            raise ValueError(f"next.{key} must be a string")
    out = {key: entry[key] for key in ("kind", *keys) if key in entry}
    if entry["kind"] == "api_error":
        out["status"] = entry.get("status", 400)
    return out


def _next(value: object) -> list[dict]:
    if not isinstance(value, list):
        raise ValueError("next must be a list")
    return [_next_entry(entry) for entry in value]


PARSERS = {
    "latency_ms": lambda v: _number(v, "latency_ms"),
    "jitter_ms": lambda v: _number(v, "jitter_ms"),
    "fault_rate": lambda v: _number(v, "fault_rate", 1.0),
    "timeout_hold_s": lambda v: _number(v, "timeout_hold_s"),
    "apply_late_s": lambda v: _number(v, "apply_late_s"),
    "redirect_location": lambda v: _text(v, "redirect_location"),
    "huge_body_bytes": lambda v: int(_number(v, "huge_body_bytes", 500_000_000)),
    "mix": _mix,
    "next": _next,
}


def parse_changes(changes: dict) -> dict:
    """Validated config keys from a request body; ValueError on bad input."""
    unknown = set(changes) - set(PARSERS)
    if unknown:
        raise ValueError(f"unknown fault settings: {', '.join(sorted(unknown))}")
    return {key: PARSERS[key](value) for key, value in changes.items()}


def matches(entry: dict, method: str, path: str) -> bool:
    return (
        entry.get("method", method).upper() == method.upper()
        and entry.get("path_contains", "") in path
    )


def applies_to(kind: str, method: str) -> bool:
    """Whether a fault kind means anything for this method (a read is never 'applied')."""
    read = method.upper() == "GET"
    return not (read and kind in WRITE_ONLY) and not (not read and kind in READ_ONLY)


def pick_random(rng: random.Random, config: FaultConfig, method: str = "POST") -> str | None:
    """A kind from the mix with chance fault_rate, else None."""
    if config.fault_rate <= 0 or rng.random() >= config.fault_rate:
        return None
    kinds = [k for k, weight in config.mix.items() if weight > 0 and applies_to(k, method)]
    if not kinds:
        return None
    return rng.choices(kinds, weights=[config.mix[kind] for kind in kinds])[0]


class Faults:
    """The live fault configuration plus its seeded RNG. Thread-safe."""

    def __init__(self, baseline: FaultConfig, seed: int | None = None) -> None:
        self._baseline = baseline
        self._seed = seed
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Back to the start-up configuration with an empty queue and a re-seeded RNG."""
        with self._lock:
            self._config = FaultConfig(**asdict(self._baseline))
            self._config.next = []
            self._rng = random.Random(None if self._seed is None else f"{self._seed}:faults")

    def snapshot(self) -> dict:
        with self._lock:
            return asdict(self._config)

    def update(self, changes: dict) -> dict:
        """Replace the given keys (validated first: all or nothing)."""
        parsed = parse_changes(changes)
        with self._lock:
            for key, value in parsed.items():
                setattr(self._config, key, value)
            return asdict(self._config)

    @property
    def timeout_hold_s(self) -> float:
        return self._config.timeout_hold_s

    def setting(self, key: str):
        with self._lock:
            return getattr(self._config, key)

    def delay_s(self) -> float:
        """This request's latency: latency_ms plus up to jitter_ms, in seconds."""
        with self._lock:
            config = self._config
            jitter = self._rng.uniform(0, config.jitter_ms) if config.jitter_ms else 0.0
            return (config.latency_ms + jitter) / 1000

    def decide(self, method: str, path: str) -> str | None:
        """The fault kind for this request (see :meth:`decide_entry`)."""
        entry = self.decide_entry(method, path)
        return None if entry is None else entry["kind"]

    def decide_entry(self, method: str, path: str) -> dict | None:
        """The fault for this request: the first matching queued entry, else maybe a random
        kind ({"kind": ...})."""
        with self._lock:
            for index, entry in enumerate(self._config.next):
                if matches(entry, method, path):
                    return self._config.next.pop(index)
            kind = pick_random(self._rng, self._config, method)
            return None if kind is None else {"kind": kind}
