"""What the adapter tests share: an Outgoing builder and a recording mock transport."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx

from cmctl.ledger.store import idempotency_key
from cmctl.networks.base import Outgoing

SCHEDULED = datetime(2026, 12, 1, 8, 30, tzinfo=UTC)


def make_outgoing(
    key: str, text: str, *, scheduled_at: datetime = SCHEDULED, **changes: Any
) -> Outgoing:
    """One job as the publisher hands it to an adapter; ``changes`` override fields."""
    fields: dict[str, Any] = {
        "key": key,
        "idempotency_key": idempotency_key(key),
        "calendar": "dec",
        "post_id": "launch",
        "part": 0,
        "text": text,
        "media": (),
        "lang": ("en",),
        "scheduled_at": scheduled_at,
    }
    fields.update(changes)
    return Outgoing(**fields)


class Recorder:
    """An httpx.MockTransport handler that keeps every request (body read)."""

    def __init__(self, handler: Callable[[httpx.Request], httpx.Response]) -> None:
        self.handler = handler
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        return self.handler(request)
