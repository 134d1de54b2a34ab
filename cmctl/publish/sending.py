"""Sending: one sender per account (accounts in parallel), each attempt and its outcome."""

from __future__ import annotations

from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from cmctl.errors import CmctlError
from cmctl.ledger.store import Row, iso
from cmctl.networks import registry
from cmctl.networks.base import (
    Ambiguous,
    AuthExpired,
    Duplicate,
    Idempotency,
    Network,
    NotReady,
    Outgoing,
    Permanent,
    SendError,
    Sent,
    Transient,
    attachments,
)
from cmctl.publish.context import Context
from cmctl.publish.policy import (
    INLINE_WAIT,
    LEASE,
    LOOKUP_MARGIN,
    MAX_ATTEMPTS,
    MAX_WORKERS,
    backoff,
    deadline,
    looks_up,
    part_key,
    reads_forever,
    ref_json,
    resend_is_safe,
)
from cmctl.publish.result import PublishResult

if TYPE_CHECKING:
    from cmctl.compile import Job
    from cmctl.config import Account


class Sending(Context):
    def _send_accounts(self, by_account: dict[str, list[Row]], result: PublishResult) -> None:
        """Each account's jobs in order, the accounts in parallel threads."""
        workers = min(len(by_account), MAX_WORKERS)
        if workers == 1:
            for account, account_rows in by_account.items():
                self._account(account, account_rows, result)
            return
        # Import in this thread what the senders need, not in 20 threads at once.
        from cmctl.networks import http

        http.ssl_context()
        for account in by_account:
            if account in self.config.accounts:
                registry.get(self.config.accounts[account].network)
        assert self.ledger is not None
        with (
            self.ledger.group_commit(),
            ThreadPoolExecutor(workers, thread_name_prefix="cmctl-send") as pool,
        ):
            futures = [
                pool.submit(self._account, account, account_rows, result)
                for account, account_rows in by_account.items()
            ]
            for future in futures:
                future.result()

    def _account(self, account_name: str, rows: list[Row], result: PublishResult) -> None:
        account = self.config.accounts.get(account_name)
        if account is None:
            return
        try:
            adapter = self._adapter(account)
        except CmctlError as exc:
            message = f"account '{account_name}': {exc.message}"
            with self._lock:
                result.problems.append(message + (f" ({exc.hint})" if exc.hint else ""))
            return
        except Exception as exc:  # a bug: this account only; its text may hold secrets
            with self._lock:
                result.problems.append(
                    f"account '{account_name}': internal error while "
                    f"preparing it ({type(exc).__name__}); its posts "
                    "wait; run with CMCTL_DEBUG=1 and report it"
                )
            return
        try:
            posts: dict[str, list[Row]] = defaultdict(list)
            for row in rows:
                posts[row.post_key].append(row)
            for post_rows in posts.values():
                for row in sorted(post_rows, key=lambda r: r.part):
                    try:
                        sent = self._send(adapter, row, result)
                    except CmctlError:
                        raise  # the ledger itself failed: nothing more can be recorded
                    except Exception as exc:  # one job's bug never stops the others
                        message = adapter.http.redact(
                            f"internal error around {row.key}: {type(exc).__name__}: {exc}"
                        )
                        with self._lock:
                            result.problems.append(message)
                        break
                    if not sent:
                        break  # a part that did not go out holds back the rest
        finally:
            adapter.close()

    def _adapter(self, account: Account) -> Network:
        from cmctl.binding import bind

        network = registry.get(account.network)
        if not network.publishes:
            raise CmctlError(f"cmctl cannot publish to {network.title} yet")
        return bind(self.config, account, transport=self.transport)

    def _send(self, adapter: Network, row: Row, result: PublishResult) -> bool:
        """Send one job (waiting for short retries). True when it is published."""
        job = self._jobs.get(row.key)
        if job is None:
            return False
        waited = False
        while True:
            if self.should_stop():
                return False  # stopping: what is not claimed yet waits for the next run
            if row.part > 0:
                before = self.ledger.get(part_key(row, row.part - 1))
                if before is None or before.state != "published":
                    return False
                if before.remote_id is None:  # settled by hand without a reference
                    reason = (
                        f"part #{before.part} was resolved by hand without a "
                        f"reference cmctl can reply to on {adapter.title}"
                    )
                    if self.ledger.set_state(
                        row.key,
                        self.clock.now(),
                        "failed",
                        expect=("pending",),
                        event="failed",
                        reason=reason,
                    ):
                        self._emit(result, self._outcome(row, "failed", message=reason))
                    return False
            now = self.clock.now()
            if waited and row.next_attempt_at is not None:
                now = max(now, row.next_attempt_at)  # we waited for it on purpose
            if self._over_quota(adapter, row, now, result):
                return False
            if (
                row.maybe_sent_at
                and not looks_up(type(adapter))
                and not resend_is_safe(type(adapter), row.maybe_sent_at, now)
            ):
                reason = (
                    f"an earlier attempt may have been published and {adapter.title} "
                    "no longer remembers its idempotency key"
                )
                if self.ledger.set_state(
                    row.key, now, "unknown", expect=("pending",), event="unknown", reason=reason
                ):
                    self._emit(result, self._outcome(row, "unknown", message=reason))
                return False
            if self._braked(row, result):  # the emergency brake, pulled during this run
                return False
            claimed = self.ledger.claim(
                row.key,
                self.owner,
                now,
                LEASE,
                content_hash=job.content_hash,
                due_by=None if self._on_purpose else now,
            )
            if claimed is None and self._braked(row, result):  # pulled a moment ago
                return False
            if claimed is None:
                self._emit(
                    result, self._outcome(row, "busy", message="another cmctl is sending it")
                )
                return False
            state, wait = self._attempt(adapter, claimed, job, result)
            if state == "published":
                self._history(claimed.account).append((self.clock.now(), claimed.part))
                return True
            if state != "retry" or wait is None or wait > INLINE_WAIT:
                return False
            self.clock.sleep(wait)
            waited = True
            fresh = self.ledger.get(row.key)
            if fresh is None or fresh.state != "pending":
                return False
            row = fresh

    def _braked(self, row: Row, result: PublishResult) -> bool:
        """Is this job's account paused now (cmctl/brake.py)? Then it is held, said so."""
        from cmctl import brake
        from cmctl.publish.selection import held_message

        pause = brake.holding(brake.active(self.ledger), row.account)
        if pause is None:
            return False
        self._emit(result, self._outcome(row, "held", message=held_message(pause)))
        return True

    def _outgoing(self, row: Row, job: Job) -> Outgoing:
        """Job ``row`` as its adapter sees it: the compiled content, its identity, the
        parts it replies to, and its checkpoint (saved in the ledger, under its claim)."""
        return Outgoing(
            key=row.key,
            idempotency_key=row.idempotency_key,
            calendar=row.calendar,
            post_id=row.post_id,
            part=row.part,
            text=job.sent_text,
            media=attachments(job.media),
            lang=job.lang,
            scheduled_at=job.at,
            reply_to=self._sent(part_key(row, row.part - 1)) if row.part else None,
            root=self._sent(part_key(row, 0)) if row.part else None,
            checkpoint=row.checkpoint,
            save_checkpoint=lambda checkpoint: self._save_checkpoint(row.key, checkpoint),
            title=job.title,
            link=job.link,
            tags=job.tags,
        )

    def _attempt(
        self, adapter: Network, row: Row, job: Job, result: PublishResult
    ) -> tuple[str, float | None]:
        """One attempt at a job ``row`` this process has just claimed."""
        fresh = row
        network = type(adapter)
        out = self._outgoing(row, job)
        # an earlier attempt of this job may have reached the network: since when (a
        # look-up searches from there; no attempt predates the job's row)
        earlier = fresh.maybe_sent_at or (fresh.created_at if fresh.attempts > 1 else None)
        try:
            if self.dry_run:  # the decision is taken; the send is what a dry run skips
                sent = Sent(f"dry-run:{row.key}", None, {})
            else:
                found = None
                if fresh.maybe_sent_at is not None and looks_up(network):
                    # look before sending again: it may be online already
                    found = adapter.find(out, since=fresh.maybe_sent_at - LOOKUP_MARGIN)
                    if found is None and not (
                        network.idempotency is Idempotency.LOOKUP
                        or resend_is_safe(network, fresh.maybe_sent_at, self.clock.now())
                    ):
                        message = (
                            f"an earlier attempt may have been published; {adapter.title} "
                            "does not show it (yet), and a resend could duplicate it"
                        )
                        return self._finish(row, "unknown", message, result), None
                if found is None and network.media_by_url and out.media:
                    self._check_served(adapter, job)  # the network fetches them by URL
                sent = found or self._publish(adapter, out)
        except NotReady as exc:
            return self._not_ready(row, fresh, exc, result)
        except Duplicate as exc:
            return self._duplicate(adapter, out, fresh, earlier, exc, result)
        except Transient as exc:
            return self._retry(row, fresh.attempts, exc.message, exc.retry_after, result)
        except Ambiguous as exc:
            reached = fresh.maybe_sent_at or fresh.claimed_at or self.clock.now()
            if looks_up(network) or resend_is_safe(network, reached, self.clock.now()):
                # the next attempt looks it up first, or resends under the same identity
                return self._retry(
                    row,
                    fresh.attempts,
                    exc.message,
                    None,
                    result,
                    maybe_sent_at=reached,
                    until_deadline=reads_forever(network),
                )
            return self._finish(row, "unknown", exc.message, result), None
        except SendError as exc:  # Permanent, or AuthExpired twice
            return self._finish(row, "failed", exc.message, result), None
        except Exception as exc:  # a bug in an adapter: we cannot know what happened
            message = f"internal error while sending: {type(exc).__name__}: {exc}"
            message = adapter.http.redact(message)
            reached = fresh.maybe_sent_at or fresh.claimed_at or self.clock.now()
            if resend_is_safe(network, reached, self.clock.now()):
                return self._retry(
                    row, fresh.attempts, message, None, result, maybe_sent_at=reached
                )
            return self._finish(row, "unknown", message, result), None
        return self._record(row, sent, result)

    def _record(self, row: Row, sent: Sent, result: PublishResult) -> tuple[str, float | None]:
        """The post is online (sent now, or found by a look-up): record and report it.
        ``row.content_hash`` is what was sent: the claim checked it is the plan's."""
        now = self.clock.now()
        done = self.ledger.finish(
            row.key,
            self.owner,
            now,
            "published",
            event="published",
            detail=sent.url,
            remote_id=sent.remote_id,
            url=sent.url,
            remote_ref=ref_json(sent.ref),
            sent_hash=row.content_hash,
            published_at=iso(now),
            reason=None,
            next_attempt_at=None,
            checkpoint=None,
        )
        if not done:
            # Our claim was taken over while we sent (a lease expired, a recovery judged
            # us dead): the post is out all the same. Record it whatever the row's state
            # became, and never let a post that went out go unreported.
            done = self.ledger.record_late_publication(
                row.key,
                now,
                remote_id=sent.remote_id,
                url=sent.url,
                remote_ref=ref_json(sent.ref),
                sent_hash=row.content_hash,
            )
            message = (
                "published; its claim had been taken over meanwhile"
                if done
                else "published (another cmctl recorded it first)"
            )
            self._emit(result, self._outcome(row, "published", url=sent.url, message=message))
            return "published", None
        said = "; ".join(sent.warnings) or None  # published, with a reservation
        self._emit(result, self._outcome(row, "published", url=sent.url, message=said))
        return "published", None

    @staticmethod
    def _publish(adapter: Network, out: Outgoing) -> Sent:
        try:
            return adapter.publish(out)
        except AuthExpired as exc:
            if not adapter.refresh():  # keep the network's own words: they say what to do
                raise Permanent(
                    f"{exc.message} (the session expired and could not be renewed)"
                ) from None
            return adapter.publish(out)

    def _history(self, account: str) -> list[tuple[datetime, int]]:
        """What ``account`` published within its longest quota window (read once per
        run, then kept up to date by this run's own sends)."""
        with self._lock:
            found = self._sent_by_account.get(account)
            if found is None:
                network = registry.get(self.config.accounts[account].network)
                longest = max((q.per for q in network.quotas), default=timedelta(0))
                found = self.ledger.published_since(account, self.clock.now() - longest)
                self._sent_by_account[account] = found
            return found

    def _over_quota(self, adapter: Network, row: Row, now: datetime, result: PublishResult) -> bool:
        """The network's declared quota is spent: wait for its window, and say so,
        rather than burn 429s; past the job's deadline, fail loudly now."""
        from cmctl.quota import quota_wait

        quotas = type(adapter).quotas
        if not quotas:
            return False
        wait = quota_wait(quotas, self._history(row.account), now, row.part)
        if wait is None:
            return False
        next_at = now + timedelta(seconds=wait)
        spent = "; ".join(q.describe(adapter.title) for q in quotas if q.applies_to(row.part))
        if next_at > deadline(row):
            reason = f"quota spent ({spent}): the next free slot is after this post's deadline"
            if self.ledger.set_state(
                row.key, now, "failed", expect=("pending",), event="failed", reason=reason
            ):
                self._emit(result, self._outcome(row, "failed", message=reason))
            return True
        reason = f"waiting for the quota ({spent}): next slot {next_at:%Y-%m-%d %H:%M:%SZ}"
        self.ledger.set_state(
            row.key,
            now,
            "pending",
            expect=("pending",),
            event="waiting for the quota",
            reason=reason,
            next_attempt_at=iso(next_at),
        )
        self._emit(result, self._outcome(row, "retry", message=reason, next_attempt_at=next_at))
        return True

    def _check_served(self, adapter: Network, job: Job) -> None:
        """Before a network fetches the media by URL: each file must be served at its
        URL (`media_url` + its path), same size. Otherwise a retry later, saying which
        file is missing where (never a post with a broken image)."""
        from cmctl.media import facts
        from cmctl.media_url import check_served, media_url_for

        for item in job.media:
            url = media_url_for(self.config, adapter.account, item)
            try:
                size = facts(item.path, item.root).size
            except OSError as exc:
                raise Permanent(f"media {item.path.name}: {exc}") from None
            problem = check_served(url, size, adapter.http.client)
            if problem is not None:
                raise Transient(f"media {item.path.name} is not ready at its URL: {problem}")

    def _save_checkpoint(self, key: str, checkpoint: dict[str, Any]) -> None:
        if not self.ledger.save_checkpoint(key, self.owner, self.clock.now(), checkpoint):
            # our claim was taken over: stop before the next risky step
            raise Transient("the claim on this job was taken over; its next attempt goes on")

    def _not_ready(
        self, row: Row, fresh: Row, exc: NotReady, result: PublishResult
    ) -> tuple[str, float | None]:
        """The network is still working: come back later. Not a failed attempt (the
        attempt count is given back), but never past the job's deadline."""
        now = self.clock.now()
        next_at = now + timedelta(seconds=max(exc.retry_in, 0.0))
        if next_at > deadline(row):
            state = "unknown" if fresh.maybe_sent_at else "failed"
            message = f"still not ready at its deadline: {exc.message}"
            return self._finish(row, state, message, result), None
        self.ledger.finish(
            row.key,
            self.owner,
            now,
            "pending",
            event="not ready yet",
            detail=exc.message,
            reason=exc.message,
            next_attempt_at=iso(next_at),
            attempts=max(fresh.attempts - 1, 0),
        )
        self._emit(
            result,
            self._outcome(
                row, "retry", message=f"not ready yet: {exc.message}", next_attempt_at=next_at
            ),
        )
        return "retry", exc.retry_in

    def _duplicate(
        self,
        adapter: Network,
        out: Outgoing,
        fresh: Row,
        earlier: datetime | None,
        exc: Duplicate,
        result: PublishResult,
    ) -> tuple[str, float | None]:
        """A duplicate refusal is not proof. On a first attempt it is the network's
        no (the same text is online already, not from this job): failed. After an
        earlier attempt of this job: published only when the lookup finds this job's
        post, unknown otherwise, never failed."""
        if earlier is None:
            return self._finish(fresh, "failed", exc.message, result), None
        found = None
        if looks_up(type(adapter)):
            try:
                found = adapter.find(out, since=earlier - LOOKUP_MARGIN)
            except SendError as lookup_error:
                message = f"{exc.message}; the look-up failed: {lookup_error.message}"
                return self._finish(fresh, "unknown", message, result), None
        if found is None:
            message = (
                f"{exc.message}; an earlier attempt of this job may be that post: check the "
                "account, then `cmctl resolve`"
            )
            return self._finish(fresh, "unknown", message, result), None
        return self._record(fresh, found, result)

    def _retry(
        self,
        row: Row,
        attempts: int,
        message: str,
        retry_after: float | None,
        result: PublishResult,
        *,
        maybe_sent_at: datetime | None = None,
        until_deadline: bool = False,
    ) -> tuple[str, float | None]:
        """Plan the next attempt, or give up. ``until_deadline``: each attempt is only a
        harmless look-up (the network remembers the key for ever), so keep asking until
        the job's deadline rather than stop after MAX_ATTEMPTS."""
        now = self.clock.now()
        delay = backoff(attempts, retry_after, self.rng)
        next_at = now + timedelta(seconds=delay)
        if (attempts >= MAX_ATTEMPTS and not until_deadline) or next_at > deadline(row):
            reason = f"gave up after {attempts} attempt(s): {message}"
            maybe = maybe_sent_at or row.maybe_sent_at
            if maybe is not None:  # it may be online: a human must look, not repost
                reason += "; an earlier attempt may have been published"
                return self._finish(row, "unknown", reason, result), None
            return self._finish(row, "failed", reason, result), None
        extra = {"maybe_sent_at": iso(maybe_sent_at)} if maybe_sent_at else {}
        self.ledger.finish(
            row.key,
            self.owner,
            now,
            "pending",
            event="retry",
            detail=message,
            reason=message,
            next_attempt_at=iso(next_at),
            **extra,
        )
        self._emit(result, self._outcome(row, "retry", message=message, next_attempt_at=next_at))
        return "retry", delay

    def _finish(self, row: Row, state: str, message: str, result: PublishResult) -> str:
        now = self.clock.now()
        if self.ledger.finish(
            row.key,
            self.owner,
            now,
            state,
            event=state,
            detail=message,
            reason=message,
            next_attempt_at=None,
        ):
            self._emit(result, self._outcome(row, state, message=message))
        return state

    def _sent(self, key: str) -> Sent | None:
        row = self.ledger.get(key)
        if row is None or row.state != "published" or row.remote_id is None:
            return None
        return Sent(row.remote_id, row.url, row.remote_ref or {})
