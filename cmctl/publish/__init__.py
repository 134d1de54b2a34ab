"""publish_due(now): the one code path that `cmctl publish` (cron) and the daemon share.

1. Sync the plan into the ledger (calendars with errors are held, never half-applied).
2. Recover claims whose owner died; mark what is past its catch-up window `missed`.
3. For each due job, per account in time order (accounts in parallel): claim it,
   send it with its idempotency key, record the outcome. Thread parts go in order,
   each a reply to the previous one; a part that did not go out holds back the rest.

Outcomes: published; retry later (transient: 5xx, 429, network down) with exponential
backoff and jitter honouring Retry-After, within a budget; failed (the network said
no); unknown (maybe published, no idempotency to make a resend safe: a human settles
it with `cmctl resolve`); missed (too late to go out, reported, never sent late).

The package, by collaborator:

- ``policy``: the pure decisions and their constants (windows, deadlines, backoff,
  when a resend is safe), shared by the real run and the dry run;
- ``result``: what a run reports (``Outcome``, ``PublishResult``);
- ``context``: what every collaborator shares (the project, the ledger, the clock);
- ``housekeeping``: dead claims, missed posts, retries past their deadline, thread parts
  that cannot follow;
- ``selection``: what is due now, or the one post ``--post`` names;
- ``sending``: one sender per account, each attempt and its outcome;
- ``publisher``: ``Publisher.run``, which chains them, and ``publish_due``;
- ``cron``: ``publish_now``, what `cmctl publish` runs (the fast path, the dry run).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cmctl.publish.policy import (
    DRY_NAMES,
    LEASE,
    MAX_ATTEMPTS,
    RETRY_GRACE,
    backoff,
    deadline,
    window,
)
from cmctl.publish.result import Outcome, PublishResult

if TYPE_CHECKING:
    from cmctl.publish.cron import publish_now
    from cmctl.publish.publisher import Publisher, publish_due

__all__ = [
    "DRY_NAMES",
    "LEASE",
    "MAX_ATTEMPTS",
    "RETRY_GRACE",
    "Outcome",
    "PublishResult",
    "Publisher",
    "backoff",
    "deadline",
    "publish_due",
    "publish_now",
    "window",
]


def __getattr__(name: str) -> Any:
    """The sending machinery is imported on first use: the cron tick with nothing to do
    (cmctl/publish/cron.py) never loads it."""
    if name == "publish_now":
        from cmctl.publish import cron

        return cron.publish_now
    if name in ("Publisher", "publish_due"):
        from cmctl.publish import publisher

        return getattr(publisher, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
