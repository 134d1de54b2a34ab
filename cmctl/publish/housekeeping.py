"""Housekeeping before sending: dead claims, what is too late, parts that cannot follow."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from cmctl import brake
from cmctl.ledger import owner as owner_mod
from cmctl.ledger.store import iso
from cmctl.networks import registry
from cmctl.publish.context import Context
from cmctl.publish.policy import ago, deadline, looks_up, resend_is_safe, window
from cmctl.publish.result import PublishResult

if TYPE_CHECKING:
    from cmctl.ledger.store import Row


class Housekeeping(Context):
    def recover(
        self, now: datetime, result: PublishResult, targets: set[str] | None = None
    ) -> None:
        """Claims whose owner died: resend where that is harmless, else `unknown`."""
        for row in self.ledger.rows(states=("sending",)):
            if targets is not None and row.key not in targets:
                continue
            # A claim of this very process is stuck: runs of one process never overlap
            # (the daemon's ticks are serial), so nothing of ours is in flight now.
            mine = row.claim_owner == self.owner
            alive = owner_mod.alive(row.claim_owner or "")
            expired = row.claim_expires_at is None or row.claim_expires_at <= now
            if not mine and (alive is True or (alive is None and not expired)):
                continue
            network = registry.get(row.network)
            reached = min(t for t in (row.maybe_sent_at, row.claimed_at, now) if t)
            # a network that can look its posts up is asked by the next attempt
            # The claim is released either way; maybe_sent_at stays: whatever happens
            # to this job later (an edit, a draft, a removal), cmctl remembers that it
            # may be online.
            released = {
                "detail": row.claim_owner,
                "claim_owner": None,
                "claimed_at": None,
                "claim_expires_at": None,
                "maybe_sent_at": iso(reached),
            }
            # a network that can look its posts up is asked by the next attempt
            if resend_is_safe(network, reached, now) or looks_up(network):
                self.ledger.set_state(
                    row.key,
                    now,
                    "pending",
                    expect=("sending",),
                    event="recovered: resending is safe",
                    next_attempt_at=None,
                    **released,
                )
                continue
            reason = (
                f"cmctl stopped while sending to {network.title}; it may or may "
                "not have been published"
            )
            if self.ledger.set_state(
                row.key,
                now,
                "unknown",
                expect=("sending",),
                event="unknown: sender died",
                reason=reason,
                **released,
            ):
                self._emit(result, self._outcome(row, "unknown", message=reason))

    def expire(self, now: datetime, result: PublishResult) -> None:
        """Too late to go out: `missed` (never sent late); retries past budget: `failed`;
        a thread part after one that will not go out: stopped too, saying why. The jobs
        of a paused account are left alone: judged once the pause is lifted."""
        pauses = brake.active(self.ledger)
        for row in self.ledger.rows(states=("pending",), due_by=now):
            if pauses and brake.holding(pauses, row.account) is not None:
                continue
            try:
                self._expire_one(row, now, result)
            except (OverflowError, ValueError) as exc:  # one job never stops the others
                with self._lock:
                    result.problems.append(f"{row.key}: cannot be judged ({exc})")
        self._stop_orphaned_parts(now, result)

    def _expire_one(self, row: Row, now: datetime, result: PublishResult) -> None:
        explicit = row.next_attempt_at is not None  # a retry, or asked for by hand
        if (
            row.part == 0
            and row.attempts == 0
            and not explicit
            and row.scheduled_at + window(row) < now
        ):
            late = now - row.scheduled_at
            reason = (
                f"not sent: it was due {ago(late)} ago, beyond its catch-up "
                f"window ({ago(window(row))}); `cmctl publish --post "
                f"{row.calendar}:{row.post_id}` sends it anyway"
            )
            if self.ledger.set_state(
                row.key, now, "missed", expect=("pending",), event="missed", reason=reason
            ):
                self._emit(result, self._outcome(row, "missed", message=reason))
        elif (row.attempts > 0 or explicit) and now > deadline(row):
            # Still not out long after its time (retries, a crash, a machine off):
            # give up loudly rather than post it arbitrarily late.
            overdue = ago(now - row.scheduled_at)
            if row.maybe_sent_at is not None:
                state, reason = (
                    "unknown",
                    (
                        f"gave up {overdue} after its time; an earlier attempt may have been "
                        f"published ({row.reason or 'no answer'})"
                    ),
                )
            else:
                state, reason = (
                    "failed",
                    (
                        f"gave up {overdue} after its time, after {row.attempts} attempt(s): "
                        f"{row.reason or 'not sent'}"
                    ),
                )
            if self.ledger.set_state(
                row.key, now, state, expect=("pending",), event=state, reason=reason
            ):
                self._emit(result, self._outcome(row, state, message=reason))

    def _stop_orphaned_parts(self, now: datetime, result: PublishResult) -> None:
        """A part can only go out as a reply to the part before it: when an earlier
        part is failed, missed, unknown or skipped, the later ones stop too (never left
        pending for ever, never sent out of order), and say which part to settle."""
        for row, stop in self.ledger.orphaned_parts():
            state = "missed" if stop.state == "missed" else "failed"
            reason = (
                f"part #{stop.part} of its thread is {stop.state}, and a part can "
                "only go out as a reply to the one before it"
            )
            if stop.state == "unknown":
                reason += (
                    f"; settle part #{stop.part} with `cmctl resolve {stop.key}`, "
                    f"then `cmctl retry {row.key}`"
                )
            elif stop.state in ("failed", "missed"):
                reason += f"; `cmctl retry {stop.key}` queues the thread again"
            if self.ledger.set_state(
                row.key, now, state, expect=("pending",), event=state, reason=reason
            ):
                self._emit(result, self._outcome(row, state, message=reason))
