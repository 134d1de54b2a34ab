"""`schedule: network`: posts handed over early, kept in step, and confirmed.

An account whose network can hold a post for its time (``Network.schedules``) and that
says ``schedule: network`` hands each post over as soon as it is synced (at least the
network's ``schedule_lead`` and at most its ``schedule_horizon`` ahead): the network
then publishes it itself, even when cmctl is off at that moment. Each run then:

1. confirms the held posts whose time has passed (``confirm``): ``published`` with the
   public URL, or, still held long after its time (the network "missed" it),
   ``unknown`` with the reason;
2. keeps the others in step with the calendar: moved or edited → ``reschedule``;
   moved to less than the lead ahead, or the account's ``schedule`` set back to
   ``cmctl`` → ``unschedule`` and ``pending`` (cmctl sends it at its time as usual);
   removed, drafted or cancelled → ``unschedule`` and ``skipped``;
3. hands over the pending posts that are far enough ahead (``schedule``).

Only part 0 of a post is handed over: the later parts go out by cmctl as replies once
it is confirmed, as they do today. A job that is due (or within the lead) is simply
sent by cmctl at its time. Every step claims the job first (``scheduled`` →
``sending``), so two runs never act on the same post, and a dead run's claim is
recovered like any other (the next hand-over looks the post up: ``find`` sees held
posts). The dry run takes the same decisions and names them ``would-schedule`` etc.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from cmctl.errors import CmctlError
from cmctl.ledger.store import Row, iso, parse_iso
from cmctl.networks import registry
from cmctl.networks.base import (
    Ambiguous,
    Duplicate,
    Network,
    NotReady,
    Permanent,
    SendError,
    Sent,
    Transient,
)
from cmctl.publish.policy import LEASE, LOOKUP_MARGIN, ago, deadline, ref_json
from cmctl.publish.result import PublishResult
from cmctl.publish.sending import Sending

if TYPE_CHECKING:
    from cmctl.compile import Job

CONFIRM_EVERY = timedelta(minutes=5)  # a held post not published yet: ask again then
NETWORK = "network"  # the value of the account option `schedule` that hands posts over


def _fmt(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


class Handover(Sending):
    """The hand-over, keep-in-step and confirm steps (a collaborator of Publisher)."""

    def on_network(
        self,
        now: datetime,
        result: PublishResult,
        *,
        present: set[str],
        held: set[str],
    ) -> None:
        """One pass over what the networks hold and what they should hold."""
        scheduling = self._scheduling_accounts()
        held_rows = self.ledger.rows(states=("scheduled",))
        if not held_rows and not scheduling:
            return  # the common case: one indexed query
        adapters: dict[str, Network | None] = {}
        try:
            for row in held_rows:
                if self.should_stop():
                    return
                self._keep(row, now, result, present, held, scheduling, adapters)
            for row in self._to_hand_over(now, scheduling):
                if self.should_stop():
                    return
                self._hand_over(row, result, adapters)
        finally:
            for adapter in adapters.values():
                if adapter is not None:
                    adapter.close()

    # ------------------------------------------------------------------ which
    def _scheduling_accounts(self) -> set[str]:
        names = set()
        for name, account in self.config.accounts.items():
            if account.options.get("schedule") != NETWORK:
                continue
            try:
                network = registry.get(account.network)
            except CmctlError:
                continue
            if network.schedules and network.publishes:
                names.add(name)
        return names

    def _window_ok(self, network: type[Network], at: datetime, now: datetime) -> bool:
        ahead = at - now
        horizon = network.schedule_horizon
        return ahead >= network.schedule_lead and (horizon is None or ahead <= horizon)

    def _to_hand_over(self, now: datetime, scheduling: set[str]) -> list[Row]:
        if not scheduling:
            return []
        marks = ",".join("?" * len(scheduling))
        keys = [
            r[0]
            for r in self.ledger.db.execute(
                f"SELECT key FROM jobs WHERE state = 'pending' AND part = 0 AND account IN "
                f"({marks}) AND scheduled_at > ?",
                (*sorted(scheduling), iso(now)),
            )
        ]
        rows = []
        for row in self.ledger.rows(keys=keys) if keys else []:
            job = self._jobs.get(row.key)
            if job is None or job.status == "draft" or row.post_key in self._held_posts:
                continue
            if row.next_attempt_at is not None and row.next_attempt_at > now:
                continue  # a retry of an earlier hand-over: at its time
            network = registry.get(row.network)
            if self._window_ok(network, job.at, now):
                rows.append(row)
        return rows

    def _network_at(self, key: str) -> datetime | None:
        found = self.ledger.db.execute(
            "SELECT network_at FROM jobs WHERE key = ?", (key,)
        ).fetchone()
        return parse_iso(found[0]) if found and found[0] else None

    def _adapter_for(
        self, account_name: str, result: PublishResult, adapters: dict[str, Network | None]
    ) -> Network | None:
        if account_name in adapters:
            return adapters[account_name]
        adapter = None
        account = self.config.accounts.get(account_name)
        if account is not None:
            from cmctl.binding import bind

            try:
                adapter = bind(self.config, account, transport=self.transport)
            except CmctlError as exc:
                with self._lock:
                    result.problems.append(f"account '{account_name}': {exc.message}")
        adapters[account_name] = adapter
        return adapter

    # ------------------------------------------------------------------ 1. hand over
    def _hand_over(
        self, row: Row, result: PublishResult, adapters: dict[str, Network | None]
    ) -> None:
        job = self._jobs[row.key]
        adapter = self._adapter_for(row.account, result, adapters)
        if adapter is None:
            return
        now = self.clock.now()
        problem = adapter.schedule_problem(self._outgoing(row, job), now)
        if problem is not None:
            return  # the network would not hold it now: cmctl sends it at its time
        claimed = self.ledger.claim(
            row.key, self.owner, now, LEASE, content_hash=job.content_hash, due_by=None
        )
        if claimed is None:
            return  # another cmctl has it, or it changed meanwhile
        out = replace(
            self._outgoing(claimed, job),
            save_checkpoint=lambda checkpoint: self._save_checkpoint(claimed.key, checkpoint),
        )
        try:
            if self.dry_run:
                sent = Sent(f"dry-run:{row.key}", None, {})
            else:
                found = None
                if claimed.maybe_sent_at is not None:
                    # an earlier hand-over may have reached it: the look-up sees held posts
                    found = adapter.find(out, since=claimed.maybe_sent_at - LOOKUP_MARGIN)
                sent = found or adapter.schedule(out)
        except (Ambiguous, Duplicate) as exc:
            reached = claimed.maybe_sent_at or claimed.claimed_at or self.clock.now()
            self._retry(claimed, claimed.attempts, exc.message, None, result, maybe_sent_at=reached)
            return
        except NotReady as exc:
            self._retry(claimed, claimed.attempts, exc.message, exc.retry_in, result)
            return
        except Transient as exc:
            self._retry(claimed, claimed.attempts, exc.message, exc.retry_after, result)
            return
        except SendError as exc:
            self._finish(claimed, "failed", exc.message, result)
            return
        except Exception as exc:  # a bug in an adapter: the post may be held already
            message = adapter.http.redact(
                f"internal error while handing it over: {type(exc).__name__}: {exc}"
            )
            self._finish(claimed, "unknown", message, result)
            return
        at = sent.ref.get("at") if isinstance(sent.ref.get("at"), str) else None
        message = f"handed over to {adapter.title} for {_fmt(job.at)}"
        if self.ledger.finish(
            claimed.key,
            self.owner,
            self.clock.now(),
            "scheduled",
            event="scheduled",
            detail=f"{sent.remote_id} for {iso(job.at)}",
            remote_id=sent.remote_id,
            url=sent.url,
            remote_ref=ref_json(sent.ref),
            sent_hash=claimed.content_hash,
            network_at=at or iso(job.at),
            reason=None,
            next_attempt_at=None,
            maybe_sent_at=None,
            checkpoint=None,
        ):
            self._emit(result, self._outcome(claimed, "scheduled", url=sent.url, message=message))

    # ------------------------------------------------------------------ 2-3. held posts
    def _keep(
        self,
        row: Row,
        now: datetime,
        result: PublishResult,
        present: set[str],
        held: set[str],
        scheduling: set[str],
        adapters: dict[str, Network | None],
    ) -> None:
        network_at = self._network_at(row.key) or row.scheduled_at
        if now >= network_at:  # its time has passed: published?
            if row.next_attempt_at is None or row.next_attempt_at <= now:
                self._confirm(row, network_at, result, adapters)
            return
        if row.calendar not in present or row.calendar in held or row.post_key in self._held_posts:
            return  # a calendar with errors or gone: nothing is decided from it
        job = self._jobs.get(row.key)
        network = registry.get(row.network)
        cancelled = row.decided_by == "human"
        if job is None or job.status == "draft" or cancelled:
            why = (
                "cancelled by hand"
                if cancelled
                else "removed from the calendar"
                if job is None
                else "turned into a draft"
            )
            self._take_back(row, "skipped", why, result, adapters)
        elif row.account not in scheduling:
            self._take_back(
                row, "pending", "the account's `schedule` is no longer `network`", result, adapters
            )
        elif job.at - now < network.schedule_lead:
            self._take_back(
                row,
                "pending",
                f"moved to less than {ago(network.schedule_lead)} ahead: cmctl sends it at "
                "its time",
                result,
                adapters,
            )
        elif job.at != network_at or row.content_hash != row.sent_hash:
            self._reschedule(row, job, result, adapters)

    def _claim_held(self, row: Row) -> Row | None:
        now = self.clock.now()
        if not self.ledger.set_state(
            row.key,
            now,
            "sending",
            expect=("scheduled",),
            event="claimed",
            detail=self.owner,
            claim_owner=self.owner,
            claimed_at=iso(now),
            claim_expires_at=iso(now + LEASE),
        ):
            return None
        return self.ledger.get(row.key)

    def _release(self, row: Row, event: str, message: str | None = None, **values: object) -> None:
        """Back to ``scheduled`` as it was (a passing failure: the next run tries again)."""
        self.ledger.finish(
            row.key,
            self.owner,
            self.clock.now(),
            "scheduled",
            event=event,
            detail=message,
            **values,
        )

    def _lost(self, row: Row, message: str, result: PublishResult) -> None:
        """The network holds (or held) it and cmctl cannot tell what it will do: a human looks."""
        self._finish(row, "unknown", message, result)

    @staticmethod
    def _held_sent(row: Row) -> Sent:
        return Sent(row.remote_id or "", row.url, row.remote_ref or {})

    def _confirm(
        self,
        row: Row,
        network_at: datetime,
        result: PublishResult,
        adapters: dict[str, Network | None],
    ) -> None:
        job = self._jobs.get(row.key)
        adapter = self._adapter_for(row.account, result, adapters)
        if adapter is None:
            return
        if self.dry_run:
            self._emit(
                result,
                self._outcome(row, "would-confirm", url=row.url, message="its time has passed"),
            )
            return
        claimed = self._claim_held(row)
        if claimed is None:
            return
        out = self._outgoing(claimed, job) if job is not None else None
        try:
            published = adapter.confirm(self._held_sent(claimed), out)
        except Transient as exc:
            self._release(claimed, "confirm: try again", exc.message)
            return
        except SendError as exc:
            self._lost(claimed, f"cannot confirm it on {adapter.title}: {exc.message}", result)
            return
        now = self.clock.now()
        if published is not None:
            if self.ledger.finish(
                claimed.key,
                self.owner,
                now,
                "published",
                event="published",
                detail=published.url,
                remote_id=published.remote_id,
                url=published.url,
                remote_ref=ref_json(published.ref),
                published_at=iso(now),
                reason=None,
                next_attempt_at=None,
            ):
                message = f"published by {adapter.title} at its time"
                self._emit(
                    result, self._outcome(claimed, "published", url=published.url, message=message)
                )
            return
        if now > deadline(claimed):
            why = f" ({adapter.schedule_missed_hint})" if adapter.schedule_missed_hint else ""
            reason = (
                f"{adapter.title} still holds it {ago(now - network_at)} after its time and has "
                f"not published it{why}; publish it on the network by hand, then `cmctl "
                f"resolve {claimed.key} --published URL`"
            )
            self._lost(claimed, reason, result)
            return
        self._release(
            claimed,
            "not published yet",
            f"{adapter.title} still holds it",
            next_attempt_at=iso(now + CONFIRM_EVERY),
        )

    def _reschedule(
        self, row: Row, job: Job, result: PublishResult, adapters: dict[str, Network | None]
    ) -> None:
        adapter = self._adapter_for(row.account, result, adapters)
        if adapter is None:
            return
        claimed = self._claim_held(row)
        if claimed is None:
            return
        out = self._outgoing(claimed, job)
        try:
            sent = (
                self._held_sent(claimed)
                if self.dry_run
                else adapter.reschedule(self._held_sent(claimed), out)
            )
        except Transient as exc:
            self._release(claimed, "reschedule: try again", exc.message)
            return
        except SendError as exc:
            self._lost(claimed, f"cannot keep it in step on {adapter.title}: {exc.message}", result)
            return
        at = sent.ref.get("at") if isinstance(sent.ref.get("at"), str) else None
        message = f"kept in step on {adapter.title}: {_fmt(job.at)}"
        self._release(
            claimed,
            "rescheduled",
            f"{iso(job.at)}",
            remote_id=sent.remote_id,
            url=sent.url,
            remote_ref=ref_json(sent.ref),
            sent_hash=claimed.content_hash,
            network_at=at or iso(job.at),
            next_attempt_at=None,
        )
        self._emit(result, self._outcome(claimed, "rescheduled", url=sent.url, message=message))

    def _take_back(
        self,
        row: Row,
        state: str,
        why: str,
        result: PublishResult,
        adapters: dict[str, Network | None],
    ) -> None:
        adapter = self._adapter_for(row.account, result, adapters)
        if adapter is None:
            return
        claimed = self._claim_held(row)
        if claimed is None:
            return
        try:
            if not self.dry_run:
                adapter.unschedule(self._held_sent(claimed))
        except Transient as exc:
            self._release(claimed, "take back: try again", exc.message)
            return
        except (SendError, Permanent) as exc:
            self._lost(
                claimed,
                f"{why}, but taking it back from {adapter.title} failed ({exc.message}): it may "
                "still go out; check the network",
                result,
            )
            return
        message = f"{why}: taken back from {adapter.title}"
        values: dict[str, object] = {
            "remote_id": None,
            "url": None,
            "remote_ref": None,
            "sent_hash": None,
            "network_at": None,
            "next_attempt_at": None,
            "maybe_sent_at": None,
            "checkpoint": None,
        }
        if state == "pending":
            values.update(reason=None, attempts=0, deadline=None)
        else:
            values.update(reason=why)  # (a human's cancel keeps its decided_by)
        if self.ledger.finish(
            claimed.key,
            self.owner,
            self.clock.now(),
            state,
            event="taken back",
            detail=why,
            **values,
        ):
            self._emit(result, self._outcome(claimed, "taken-back", message=message))
