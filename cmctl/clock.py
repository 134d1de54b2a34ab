"""The one place cmctl asks what time it is (tests move it with time-machine)."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)
