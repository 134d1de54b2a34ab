"""The publisher's pure decisions: windows, deadlines, backoff, when a resend is safe.

No I/O here: the real run and the dry run take the same decisions because they call
the same functions (the dry run only leaves the sends out).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from cmctl.calendar.model import split_id

if TYPE_CHECKING:
    from cmctl.compile import Job
    from cmctl.ledger.store import Row
    from cmctl.networks.base import Network

LEASE = timedelta(minutes=10)  # a claim older than this is presumed dead
MIN_WINDOW = timedelta(minutes=1)  # even catch_up: 0 tolerates cron's own lateness
RETRY_GRACE = timedelta(hours=2)  # retries stop this long after the catch-up window
MAX_ATTEMPTS = 8
BACKOFF_BASE = 5.0  # seconds; doubles each attempt: 5, 10, 20... (8 attempts: ~21 min)
BACKOFF_CAP = 30 * 60.0
INLINE_WAIT = 15.0  # a retry due within this many seconds is waited for in this run
MAX_WORKERS = 32
LOOKUP_MARGIN = timedelta(minutes=5)  # clocks differ: look a little before the attempt


# A dry run takes the same decisions as the real run; it names them so.
DRY_NAMES = {
    "published": "would-send",
    "missed": "would-miss",
    "failed": "would-fail",
    "unknown": "would-unknown",
    "retry": "would-retry",
    "skipped": "would-skip",
    # schedule: network (cmctl/publish/handover.py)
    "scheduled": "would-schedule",
    "rescheduled": "would-reschedule",
    "taken-back": "would-take-back",
}


def window(row: Row | Job) -> timedelta:
    return max(row.catch_up, MIN_WINDOW)


def deadline(row: Row) -> datetime:
    """The last moment a job may still be tried: its catch-up window plus the retry
    grace, or, for a job sent on purpose (--post, retry, resolve), that moment plus
    the grace."""
    return row.deadline or row.scheduled_at + window(row) + RETRY_GRACE


def backoff(attempt: int, retry_after: float | None, rng: random.Random) -> float:
    """Seconds before the next attempt.

    When the network says when (Retry-After, a rate-limit reset), that, plus up to 10%
    jitter so that many clients do not return at the same instant; never earlier.
    Otherwise exponential from BACKOFF_BASE with ±20% jitter, capped.
    """
    if retry_after is not None:
        return float(retry_after * rng.uniform(1.0, 1.1) + rng.uniform(0.0, 0.5))
    delay = min(BACKOFF_BASE * 2 ** max(attempt - 1, 0), BACKOFF_CAP)
    return float(delay * rng.uniform(0.8, 1.2))


def resend_is_safe(network: type[Network], reached: datetime, now: datetime) -> bool:
    """Can a job whose earlier attempt may have reached the network be sent again, as
    the network declares its idempotency (cmctl/networks/base.py ``Idempotency``)?"""
    from cmctl.networks.base import Idempotency

    if network.idempotency is Idempotency.CHOSEN_ID:
        return True  # the resend finds (or overwrites) the same post
    if network.idempotency is Idempotency.KEY:
        window_ = network.idempotency_window or timedelta(0)
        return window_ > timedelta(0) and now - reached <= window_
    return False  # LOOKUP looks first (see ``looks_up``); NONE: a human settles it


def looks_up(network: type[Network]) -> bool:
    """After an ambiguous answer, is the adapter asked what is online before anything
    else is decided?"""
    return network.finds


def reads_forever(network: type[Network]) -> bool:
    """Is every attempt after the first only a harmless look-up, for ever (so retries
    go on until the job's deadline rather than stop after MAX_ATTEMPTS)?"""
    from cmctl.networks.base import Idempotency

    return network.idempotency is Idempotency.CHOSEN_ID


def part_key(row: Row, part: int) -> str:
    base = row.post_key
    return f"{base}#{part}" if part else base


def matches(row: Row | Job, only: str) -> bool:
    """`--post` takes `post`, `calendar:post`, `calendar:post@account`, or a job key."""
    series = split_id(row.post_id)[0]  # a recurring post: each of its occurrences
    return only in (
        row.post_id,
        f"{row.calendar}:{row.post_id}",
        row.post_key,
        row.key,
        series,
        f"{row.calendar}:{series}",
    )


def ref_json(value: dict[str, Any]) -> str | None:
    import json

    return json.dumps(value, sort_keys=True) if value else None


def ago(delta: timedelta) -> str:
    from cmctl.timeutil import format_duration

    return format_duration(timedelta(seconds=int(delta.total_seconds())))
