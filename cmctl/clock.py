"""The one place cmctl asks what time it is, or waits (tests replace both)."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)


def sleep(seconds: float) -> None:
    """Wait; tests monkeypatch this to move a frozen clock instead of sleeping."""
    if seconds > 0:
        time.sleep(seconds)
