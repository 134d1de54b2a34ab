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
"""

from __future__ import annotations

import random
import threading
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from cmctl import clock as clock_mod
from cmctl.errors import CmctlError, UsageError
from cmctl.ledger import owner as owner_mod
from cmctl.ledger.store import Ledger, Row
from cmctl.networks import registry
from cmctl.networks.base import (
    Ambiguous,
    AuthExpired,
    Network,
    Outgoing,
    Permanent,
    SendError,
    Sent,
    Transient,
)

if TYPE_CHECKING:
    from cmctl.compile import Job
    from cmctl.config import Account, Config
    from cmctl.project import Project

LEASE = timedelta(minutes=10)  # a claim older than this is presumed dead
MIN_WINDOW = timedelta(minutes=1)  # even catch_up: 0 tolerates cron's own lateness
RETRY_GRACE = timedelta(hours=2)  # retries stop this long after the catch-up window
MAX_ATTEMPTS = 8
BACKOFF_BASE = 5.0  # seconds; doubles each attempt: 5, 10, 20... (8 attempts: ~21 min)
BACKOFF_CAP = 30 * 60.0
INLINE_WAIT = 15.0  # a retry due within this many seconds is waited for in this run
MAX_WORKERS = 32


@dataclass(slots=True)
class Outcome:
    key: str
    account: str
    network: str
    post_id: str
    part: int
    state: str  # published | retry | failed | unknown | missed | held | would-send | busy
    scheduled_at: datetime
    url: str | None = None
    message: str | None = None
    next_attempt_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key, "account": self.account, "network": self.network,
            "post": self.post_id, "part": self.part, "state": self.state,
            "scheduled_at": self.scheduled_at.isoformat(), "url": self.url,
            "message": self.message,
            "next_attempt_at": self.next_attempt_at.isoformat() if self.next_attempt_at
            else None,
        }


@dataclass(slots=True)
class PublishResult:
    outcomes: list[Outcome] = field(default_factory=list)
    held: list[str] = field(default_factory=list)  # calendar files with errors
    problems: list[str] = field(default_factory=list)  # accounts that could not be used
    sync: dict[str, int] = field(default_factory=dict)
    fast: bool = False  # nothing changed and nothing was due: the calendars were not read

    @property
    def final(self) -> dict[str, Outcome]:
        """The last outcome of each job (a retry that then went out is published)."""
        return {o.key: o for o in self.outcomes}

    @property
    def ok(self) -> bool:
        bad = {"failed", "unknown", "missed", "retry"}
        return not self.held and not self.problems and not any(
            o.state in bad for o in self.final.values())

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1


Listener = Callable[[Outcome], None]


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
        return retry_after * rng.uniform(1.0, 1.1) + rng.uniform(0.0, 0.5)
    delay = min(BACKOFF_BASE * 2 ** max(attempt - 1, 0), BACKOFF_CAP)
    return delay * rng.uniform(0.8, 1.2)


class Publisher:
    def __init__(self, project: Project, ledger: Ledger | None, *, clock: Any = clock_mod,
                 listener: Listener | None = None, transport: Any = None,
                 should_stop: Callable[[], bool] | None = None) -> None:
        self.project = project
        self.config: Config = project.config
        self.ledger = ledger
        self.clock = clock
        self.listener = listener
        self.transport = transport  # an httpx transport, for tests and benchmarks
        self.should_stop = should_stop or (lambda: False)  # the daemon's SIGTERM
        self.owner = owner_mod.current()
        self.rng = random.Random()
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self._on_purpose = False  # --post: send whatever its time

    # ------------------------------------------------------------------ the run
    def run(self, *, only: str | None = None, dry_run: bool = False) -> PublishResult:
        result = PublishResult()
        now = self.clock.now()
        held_files = sorted({d.path for d in self.project.report.items
                             if d.severity == "error"})
        result.held = held_files
        held = {c.name for c in self.project.calendars if c.display in held_files}
        jobs = [j for j in self.project.jobs if j.calendar not in held]
        self._jobs = {j.key: j for j in jobs}
        if dry_run:
            return self._dry_run(jobs, now, only, result)
        result.sync = self.ledger.sync(jobs, now, removals=not held_files)
        self.recover(now, result)
        self.expire(now, result)
        rows = self.select(now, only, result)
        start = getattr(self.listener, "start", None)
        if start is not None:
            start(len(rows))
        by_account: dict[str, list[Row]] = defaultdict(list)
        for row in rows:
            by_account[row.account].append(row)
        if not by_account:
            return result
        self._send_accounts(by_account, result)
        return result

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
        with self.ledger.group_commit(), ThreadPoolExecutor(
                workers, thread_name_prefix="cmctl-send") as pool:
            futures = [pool.submit(self._account, account, account_rows, result)
                       for account, account_rows in by_account.items()]
            for future in futures:
                future.result()

    def _dry_run(self, jobs: list[Job], now: datetime, only: str | None,
                 result: PublishResult) -> PublishResult:
        """What a run would do now, from the plan and the ledger, writing nothing."""
        rows = {r.key: r for r in self.ledger.rows()} if self.ledger is not None else {}
        for job in jobs:
            row = rows.get(job.key)
            state = row.state if row is not None else (
                "skipped" if job.status == "draft" else "pending")
            if only is not None:
                wanted = only in (job.post_id, f"{job.calendar}:{job.post_id}",
                                  job.post_key, job.key)
                if wanted and state in ("pending", "missed"):
                    self._emit(result, self._job_outcome(job, "would-send"))
                continue
            if state != "pending" or job.at > now:
                continue
            retry_at = row.next_attempt_at if row is not None else None
            if retry_at is not None and retry_at > now:
                continue
            fresh = row is None or (row.attempts == 0 and retry_at is None)
            if job.part == 0 and fresh and job.at + window(job) < now:
                self._emit(result, self._job_outcome(job, "missed",
                                                     message="beyond its catch-up window"))
            else:
                self._emit(result, self._job_outcome(job, "would-send"))
        return result

    def _job_outcome(self, job: Job, state: str, **extra: Any) -> Outcome:
        return Outcome(job.key, job.account, job.network, job.post_id, job.part, state,
                       job.at, **extra)

    def _emit(self, result: PublishResult, outcome: Outcome) -> None:
        with self._lock:
            result.outcomes.append(outcome)
        if self.listener is not None:
            self.listener(outcome)

    def _outcome(self, row: Row, state: str, **extra: Any) -> Outcome:
        return Outcome(row.key, row.account, row.network, row.post_id, row.part, state,
                       row.scheduled_at, **extra)

    # ------------------------------------------------------------------ housekeeping
    def recover(self, now: datetime, result: PublishResult) -> None:
        """Claims whose owner died: resend where that is harmless, else `unknown`."""
        for row in self.ledger.rows(states=("sending",)):
            # A claim of this very process is stuck: runs of one process never overlap
            # (the daemon's ticks are serial), so nothing of ours is in flight now.
            mine = row.claim_owner == self.owner
            alive = owner_mod.alive(row.claim_owner or "")
            expired = row.claim_expires_at is None or row.claim_expires_at <= now
            if not mine and (alive is True or (alive is None and not expired)):
                continue
            network = registry.get(row.network)
            reached = min(t for t in (row.maybe_sent_at, row.claimed_at, now) if t)
            if _resend_is_safe(network, reached, now):
                self.ledger.set_state(row.key, now, "pending", expect=("sending",),
                                      event="recovered: resending is safe",
                                      detail=row.claim_owner, claim_owner=None,
                                      claimed_at=None, claim_expires_at=None,
                                      next_attempt_at=None, maybe_sent_at=_iso(reached))
            else:
                reason = (f"cmctl stopped while sending to {network.title}; it may or may "
                          "not have been published")
                if self.ledger.set_state(row.key, now, "unknown", expect=("sending",),
                                         event="unknown: sender died", detail=row.claim_owner,
                                         reason=reason, claim_owner=None, claimed_at=None,
                                         claim_expires_at=None):
                    self._emit(result, self._outcome(row, "unknown", message=reason))

    def expire(self, now: datetime, result: PublishResult) -> None:
        """Too late to go out: `missed` (never sent late); retries past budget: `failed`."""
        rows = self.ledger.rows(states=("pending",))
        missed_posts: set[str] = set()
        for row in rows:
            explicit = row.next_attempt_at is not None  # a retry, or asked for by hand
            if (row.part == 0 and row.attempts == 0 and not explicit
                    and row.scheduled_at + window(row) < now):
                late = now - row.scheduled_at
                reason = (f"not sent: it was due {_ago(late)} ago, beyond its catch-up "
                          f"window ({_ago(window(row))}); `cmctl publish --post "
                          f"{row.calendar}:{row.post_id}` sends it anyway")
                if self.ledger.set_state(row.key, now, "missed", expect=("pending",),
                                         event="missed", reason=reason):
                    missed_posts.add(row.post_key)
                    self._emit(result, self._outcome(row, "missed", message=reason))
            elif (row.attempts > 0 or explicit) and now > deadline(row):
                # Still not out long after its time (retries, a crash, a machine off):
                # give up loudly rather than post it arbitrarily late.
                late = _ago(now - row.scheduled_at)
                if row.maybe_sent_at is not None:
                    state, reason = "unknown", (
                        f"gave up {late} after its time; an earlier attempt may have been "
                        f"published ({row.reason or 'no answer'})")
                else:
                    state, reason = "failed", (
                        f"gave up {late} after its time, after {row.attempts} attempt(s): "
                        f"{row.reason or 'not sent'}")
                if self.ledger.set_state(row.key, now, state, expect=("pending",),
                                         event=state, reason=reason):
                    self._emit(result, self._outcome(row, state, message=reason))
        stopped = {r.post_key: r.state for r in self.ledger.rows(states=("failed", "missed"))
                   if r.part == 0}
        for row in rows:  # a thread whose start will not go out: its parts neither
            start = "missed" if row.post_key in missed_posts else stopped.get(row.post_key)
            if row.part > 0 and start is not None:
                self.ledger.set_state(row.key, now, start, expect=("pending",), event=start,
                                      reason=f"the start of its thread is {start}")

    def select(self, now: datetime, only: str | None, result: PublishResult) -> list[Row]:
        """Due rows, in time order; with ``only``, that post's unsent rows, whatever time."""
        self._on_purpose = only is not None
        if only is not None:
            rows = [r for r in self.ledger.rows(states=("pending", "missed"))
                    if _matches(r, only) and r.key in self._jobs]
            done = [r for r in self.ledger.rows(states=("published",)) if _matches(r, only)]
            for row in done:  # never twice: say so, and succeed
                self._emit(result, self._outcome(row, "already", url=row.url,
                                                 message="already published; never sent twice"))
            if not rows and done:
                return []
            if not rows:
                raise UsageError(f"no unsent post matches '{only}'",
                                 hint="see `cmctl plan` or `cmctl status` for post ids")
            for row in rows:
                if row.state == "missed":
                    self.ledger.set_state(row.key, now, "pending", expect=("missed",),
                                          event="sent on purpose (--post)", reason=None,
                                          attempts=0, next_attempt_at=_iso(now),
                                          deadline=_iso(now + RETRY_GRACE))
            return self.ledger.rows(keys=[r.key for r in rows])
        due = []
        for row in self.ledger.rows(states=("pending",)):
            if row.key not in self._jobs:
                continue  # its calendar is held back by errors
            if row.scheduled_at <= now and (row.next_attempt_at is None
                                            or row.next_attempt_at <= now):
                due.append(row)
        return due

    # ------------------------------------------------------------------ sending
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
        try:
            posts: dict[str, list[Row]] = defaultdict(list)
            for row in rows:
                posts[row.post_key].append(row)
            for post_rows in posts.values():
                for row in sorted(post_rows, key=lambda r: r.part):
                    if not self._send(adapter, row, result):
                        break  # a part that did not go out holds back the rest
        finally:
            adapter.close()

    def _adapter(self, account: Account) -> Network:
        from cmctl.networks.http import Http

        network = registry.get(account.network)
        if not network.publishes:
            raise CmctlError(f"cmctl cannot publish to {network.title} yet")
        options = {name: self.config.resolve(account, name) for name in account.options}
        if account.network == "feed" and isinstance(options.get("path"), str):
            options["path"] = str((self.config.root / options["path"]).resolve())
        secrets = [str(options[f.name]) for f in network.account_fields
                   if f.secret and options.get(f.name)]
        http = Http(secrets=secrets, transport=self.transport)
        return network(account, options, http, self.config.state_dir)

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
                before = self.ledger.get(_key(row, row.part - 1))
                if before is None or before.state != "published":
                    return False
            now = self.clock.now()
            if waited and row.next_attempt_at is not None:
                now = max(now, row.next_attempt_at)  # we waited for it on purpose
            if row.maybe_sent_at and not _resend_is_safe(type(adapter), row.maybe_sent_at, now):
                reason = (f"an earlier attempt may have been published and {adapter.title} "
                          "no longer remembers its idempotency key")
                if self.ledger.set_state(row.key, now, "unknown", expect=("pending",),
                                         event="unknown", reason=reason):
                    self._emit(result, self._outcome(row, "unknown", message=reason))
                return False
            claimed = self.ledger.claim(row.key, self.owner, now, LEASE,
                                        content_hash=job.content_hash,
                                        due_by=None if self._on_purpose else now)
            if claimed is None:
                self._emit(result, self._outcome(row, "busy",
                                                 message="another cmctl is sending it"))
                return False
            state, wait = self._attempt(adapter, claimed, job, result)
            if state == "published":
                return True
            if state != "retry" or wait is None or wait > INLINE_WAIT:
                return False
            self.clock.sleep(wait)
            waited = True
            fresh = self.ledger.get(row.key)
            if fresh is None or fresh.state != "pending":
                return False
            row = fresh

    def _attempt(self, adapter: Network, row: Row, job: Job,
                 result: PublishResult) -> tuple[str, float | None]:
        """One attempt at a job ``row`` this process has just claimed."""
        fresh = row
        out = Outgoing(
            key=row.key, idempotency_key=row.idempotency_key, calendar=row.calendar,
            post_id=row.post_id, part=row.part, text=job.text, media=job.media,
            lang=job.lang, scheduled_at=job.at,
            reply_to=self._sent(_key(row, row.part - 1)) if row.part else None,
            root=self._sent(_key(row, 0)) if row.part else None,
        )
        try:
            try:
                sent = adapter.publish(out)
            except AuthExpired:
                if not adapter.refresh():
                    raise Permanent("the session expired and could not be renewed") from None
                sent = adapter.publish(out)
        except Transient as exc:
            return self._retry(row, fresh.attempts, exc.message, exc.retry_after, result)
        except Ambiguous as exc:
            reached = fresh.maybe_sent_at or fresh.claimed_at or self.clock.now()
            if _resend_is_safe(type(adapter), reached, self.clock.now()):
                return self._retry(row, fresh.attempts, exc.message, None, result,
                                   maybe_sent_at=reached)
            return self._finish(row, "unknown", exc.message, result), None
        except SendError as exc:  # Permanent, or AuthExpired twice
            return self._finish(row, "failed", exc.message, result), None
        except Exception as exc:  # a bug in an adapter: we cannot know what happened
            message = f"internal error while sending: {type(exc).__name__}: {exc}"
            message = adapter.http.redact(message)
            reached = fresh.maybe_sent_at or fresh.claimed_at or self.clock.now()
            if _resend_is_safe(type(adapter), reached, self.clock.now()):
                return self._retry(row, fresh.attempts, message, None, result,
                                   maybe_sent_at=reached)
            return self._finish(row, "unknown", message, result), None
        now = self.clock.now()
        done = self.ledger.finish(
            row.key, self.owner, now, "published", event="published", detail=sent.url,
            remote_id=sent.remote_id, url=sent.url, remote_ref=_json(sent.ref),
            sent_hash=job.content_hash, published_at=_iso(now), reason=None,
            next_attempt_at=None)
        if done:
            self._emit(result, self._outcome(row, "published", url=sent.url))
        return ("published" if done else "lost"), None

    def _retry(self, row: Row, attempts: int, message: str, retry_after: float | None,
               result: PublishResult, *,
               maybe_sent_at: datetime | None = None) -> tuple[str, float | None]:
        now = self.clock.now()
        delay = backoff(attempts, retry_after, self.rng)
        next_at = now + timedelta(seconds=delay)
        if attempts >= MAX_ATTEMPTS or next_at > deadline(row):
            reason = f"gave up after {attempts} attempt(s): {message}"
            maybe = maybe_sent_at or row.maybe_sent_at
            if maybe is not None:  # it may be online: a human must look, not repost
                reason += "; an earlier attempt may have been published"
                return self._finish(row, "unknown", reason, result), None
            return self._finish(row, "failed", reason, result), None
        extra = {"maybe_sent_at": _iso(maybe_sent_at)} if maybe_sent_at else {}
        self.ledger.finish(row.key, self.owner, now, "pending", event="retry",
                           detail=message, reason=message, next_attempt_at=_iso(next_at),
                           **extra)
        self._emit(result, self._outcome(row, "retry", message=message,
                                         next_attempt_at=next_at))
        return "retry", delay

    def _finish(self, row: Row, state: str, message: str, result: PublishResult) -> str:
        now = self.clock.now()
        if self.ledger.finish(row.key, self.owner, now, state, event=state, detail=message,
                              reason=message, next_attempt_at=None):
            self._emit(result, self._outcome(row, state, message=message))
        return state

    def _sent(self, key: str) -> Sent | None:
        row = self.ledger.get(key)
        if row is None or row.state != "published" or row.remote_id is None:
            return None
        return Sent(row.remote_id, row.url, row.remote_ref or {})


def publish_now(config: Config, *, only: str | None = None, dry_run: bool = False,
                listener: Listener | None = None, clock: Any = clock_mod) -> PublishResult:
    """What `cmctl publish` runs: the fast path when nothing changed, else a full run.

    When the calendars, cmctl.yaml and .env are exactly as at the end of the last
    clean run (cmctl/stamp.py), the ledger already holds the plan: if it has nothing
    due, there is nothing to read or do. Otherwise: load, sync, publish.
    """
    from cmctl import stamp
    from cmctl.project import open_project

    # Ledger.existing: None when this state folder was never used; a damaged or missing
    # ledger in a folder that was is an error (exit 2), on the fast path as on the others.
    if only is None and not dry_run and stamp.unchanged(config):
        fast = Ledger.existing(config.state_dir)
        if fast is not None:
            try:
                if not fast.has_work(clock.now()):
                    return PublishResult(fast=True)
            finally:
                fast.close()
    inputs = stamp.compute(config)  # before reading: an edit during the run is seen next time
    project = open_project(config, now=clock.now())
    ledger = Ledger.existing(config.state_dir) if dry_run else Ledger.open(config.state_dir)
    try:
        result = Publisher(project, ledger, clock=clock, listener=listener).run(
            only=only, dry_run=dry_run)
    finally:
        if ledger is not None:
            ledger.close()
    if not dry_run:
        if result.held or result.problems:
            stamp.forget(config)  # come back to them on every run
        else:
            stamp.save(config, inputs)
    return result


def publish_due(project: Project, ledger: Ledger, **options: Any) -> PublishResult:
    """Publish what is due now. Options: clock, listener, transport, only, dry_run."""
    run_options = {k: options.pop(k) for k in ("only", "dry_run") if k in options}
    return Publisher(project, ledger, **options).run(**run_options)


def _resend_is_safe(network: type[Network], reached: datetime, now: datetime) -> bool:
    """Can a job whose earlier attempt may have reached the network be sent again?"""
    window_ = network.idempotency_window
    return window_ is None or (window_ > timedelta(0) and now - reached <= window_)


def _key(row: Row, part: int) -> str:
    base = row.post_key
    return f"{base}#{part}" if part else base


def _matches(row: Row, only: str) -> bool:
    """`--post` takes `post`, `calendar:post`, or a job key."""
    return only in (row.post_id, f"{row.calendar}:{row.post_id}", row.post_key, row.key)


def _json(value: dict[str, Any]) -> str | None:
    import json

    return json.dumps(value, sort_keys=True) if value else None


def _iso(moment: datetime) -> str:
    from cmctl.ledger.store import iso

    return iso(moment)


def _ago(delta: timedelta) -> str:
    from cmctl.timeutil import format_duration

    return format_duration(timedelta(seconds=int(delta.total_seconds())))
