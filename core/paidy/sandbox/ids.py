"""Ids as Paidy makes them (pay_, cap_, req_, ...): reproducible with a seed."""

from __future__ import annotations

import base64
import random
import threading


class IdMaker:
    """`prefix_` + 16 chars of [A-Za-z0-9_-] (96 random bits, URL-safe base64).

    One stream per prefix, so with a seed the pay_ ids do not depend on how many
    requests (req_ ids) came in between.
    """

    def __init__(self, seed: int | None, salt: int = 0) -> None:
        self._seed = seed
        self._salt = salt
        self._lock = threading.Lock()
        self._streams: dict[str, random.Random] = {}

    def make(self, prefix: str) -> str:
        with self._lock:
            stream = self._streams.get(prefix)
            if stream is None:
                seed = None if self._seed is None else f"{self._seed}:{self._salt}:{prefix}"
                stream = self._streams[prefix] = random.Random(seed)
            bits = stream.getrandbits(96).to_bytes(12, "big")
        return f"{prefix}_{base64.urlsafe_b64encode(bits).decode('ascii')}"
