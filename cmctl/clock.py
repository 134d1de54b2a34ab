"""The one place cmctl asks what time it is, or waits (tests replace each).

Two clocks: ``now()`` is the wall clock, for "what time is it for the calendar" (it may
step: NTP, a VM restore, a human); ``monotonic()`` never steps, and measures every
interval (a watch period, a heartbeat, a timer).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)


def monotonic() -> float:
    """Seconds on a clock that never steps back or jumps (only differences mean anything)."""
    return time.monotonic()


def sleep(seconds: float) -> None:
    """Wait; tests monkeypatch this to move a frozen clock instead of sleeping."""
    if seconds > 0:
        time.sleep(seconds)
