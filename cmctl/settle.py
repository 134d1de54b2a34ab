"""Human decisions on jobs: resolve (published / not published / skip) and retry."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from cmctl.errors import UsageError
from cmctl.ledger.store import Ledger, Row, iso
from cmctl.publish import RETRY_GRACE

SETTLEABLE = ("unknown", "failed", "missed")


def find(ledger: Ledger, spec: str, states: Iterable[str]) -> list[Row]:
    """Rows matching a job key, calendar:post@account, calendar:post or a post id."""
    states = tuple(states)
    rows = [r for r in ledger.rows(states=states)
            if spec in (r.key, r.post_key, f"{r.calendar}:{r.post_id}", r.post_id)]
    if not rows:
        known = [r.key for r in ledger.rows(states=states)][:10]
        raise UsageError(f"no {' / '.join(states)} job matches '{spec}'",
                         hint=("candidates: " + ", ".join(known)) if known
                         else "see `cmctl status`")
    return rows


def resolve(ledger: Ledger, spec: str, now: datetime, *, url: str | None,
            not_published: bool, skip: bool) -> str:
    rows = find(ledger, spec, SETTLEABLE)
    if len(rows) > 1:
        raise UsageError(f"'{spec}' names {len(rows)} jobs; give one job key",
                         hint=", ".join(r.key for r in rows))
    row = rows[0]
    if url is not None:
        ledger.set_state(row.key, now, "published", expect=SETTLEABLE,
                         event="resolved: published", detail=url, url=url, reason=None,
                         sent_hash=row.content_hash, published_at=iso(now),
                         remote_id=row.remote_id or url)
        return f"{row.key}: recorded as published ({url}); it will never be sent again"
    if skip:
        ledger.set_state(row.key, now, "skipped", expect=SETTLEABLE, event="resolved: skip",
                         reason="skipped by hand")
        return f"{row.key}: skipped; it will never be sent"
    assert not_published
    # next_attempt_at set: an explicit attempt, which the catch-up window does not cancel
    ledger.set_state(row.key, now, "pending", expect=SETTLEABLE,
                     event="resolved: not published", reason=None, attempts=0,
                     next_attempt_at=iso(now), maybe_sent_at=None,
                     deadline=iso(now + RETRY_GRACE))
    return f"{row.key}: not published; the next `cmctl publish` sends it"


def retry(ledger: Ledger, specs: Iterable[str], now: datetime, *,
          all_failed: bool) -> list[str]:
    rows: dict[str, Row] = {}
    if all_failed:
        rows.update((r.key, r) for r in ledger.rows(states=("failed",)))
    for spec in specs:
        unknown = [r for r in ledger.rows(states=("unknown",))
                   if spec in (r.key, r.post_key, f"{r.calendar}:{r.post_id}", r.post_id)]
        if unknown:
            raise UsageError(f"{unknown[0].key} is unknown: it may already be online",
                             hint="check the account, then `cmctl resolve "
                             f"{unknown[0].key} --published URL` or `--not-published`")
        rows.update((r.key, r) for r in find(ledger, spec, ("failed", "missed")))
    lines = []
    for row in rows.values():
        ledger.set_state(row.key, now, "pending", expect=("failed", "missed"),
                         event="retry by hand", reason=None, attempts=0,
                         next_attempt_at=iso(now), deadline=iso(now + RETRY_GRACE))
        lines.append(f"{row.key}: queued again")
    return lines or ["nothing to retry"]
