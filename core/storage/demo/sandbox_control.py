"""The sandbox's /_sandbox/ control endpoints the demo and bench/ need, and the error an
operator sees when the sandbox refuses or cannot be reached."""

from __future__ import annotations

import json
from typing import Any

import requests

from core.bilingual import BilingualError


class DemoError(BilingualError):
    """Seeding failed (the sandbox refused or could not be reached); ja/en messages."""


class SandboxControl:
    """The sandbox's /_sandbox/ control endpoints we need."""

    def __init__(self, base_url: str, timeout_s: float = 300) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = (10, timeout_s)
        self.http = requests.Session()

    def create_bulk(self, specs: list[dict[str, Any]]) -> list[str]:
        body = json.dumps({"payments": specs}, ensure_ascii=False, separators=(",", ":"))
        try:
            reply = self.http.post(
                f"{self.base_url}/_sandbox/payments/bulk",
                data=body.encode(),
                headers={"Content-Type": "application/json"},
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise DemoError(
                f"サンドボックス({self.base_url})に接続できませんでした: {exc}",
                f"Could not reach the sandbox at {self.base_url}: {exc}",
            ) from exc
        if reply.status_code != 200:
            raise DemoError(
                f"サンドボックスが決済の作成を拒否しました(HTTP {reply.status_code}): {reply.text[:300]}",
                f"The sandbox refused to create payments (HTTP {reply.status_code}): {reply.text[:300]}",
            )
        return reply.json().get("ids", [])

    def close(self) -> None:
        self.http.close()
