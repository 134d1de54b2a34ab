"""Cancelling on purpose: `cmctl cancel SPEC` (a human decision, final).

The way to say "yes, these posts must not go out" when a calendar was deleted or
renamed on purpose (cmctl keeps the jobs of a calendar that vanished, and says so,
rather than cancel them silently), or to drop one post without editing its file.
"""

from __future__ import annotations

from datetime import datetime

from cmctl.calendar.model import split_id
from cmctl.errors import UsageError
from cmctl.ledger.store import Ledger, Row

CANCELLABLE = ("pending", "missed", "failed")


def matches(row: Row, spec: str) -> bool:
    """SPEC: a calendar name, calendar:post, calendar:post@account or a job key."""
    series = split_id(row.post_id)[0]  # a recurring post: each of its occurrences
    return spec in (
        row.calendar,
        f"{row.calendar}:{row.post_id}",
        row.post_key,
        row.key,
        f"{row.calendar}:{series}",
    )


def cancel(ledger: Ledger, spec: str, now: datetime) -> list[str]:
    rows = [r for r in ledger.rows() if matches(r, spec)]
    if not rows:
        raise UsageError(
            f"no job matches '{spec}'",
            hint="name a calendar, calendar:post or a job key (see `cmctl plan`)",
        )
    lines = []
    for row in rows:
        if row.state == "unknown":
            lines.append(
                f"{row.key}: unknown (it may be online): settle it with "
                f"`cmctl resolve {row.key} --skip` after checking the account"
            )
            continue
        if row.state == "scheduled":  # the network holds it: the publisher takes it back
            if ledger.set_state(
                row.key,
                now,
                "scheduled",
                expect=("scheduled",),
                event="cancelled by hand (to be taken back from the network)",
                reason="cancelled by hand",
                decided_by="human",
            ):
                lines.append(
                    f"{row.key}: cancelled; the next `cmctl publish` takes it back from the network"
                )
            continue
        if row.state not in CANCELLABLE:
            continue
        if ledger.set_state(
            row.key,
            now,
            "skipped",
            expect=CANCELLABLE,
            event="cancelled by hand",
            reason="cancelled by hand",
            decided_by="human",
            next_attempt_at=None,
        ):
            lines.append(f"{row.key}: cancelled; it will never be sent (`cmctl retry` reopens it)")
    return lines or [f"nothing to cancel for '{spec}' (its jobs are published or settled)"]
