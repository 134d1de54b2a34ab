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
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cmctl import clock as clock_mod
from cmctl.config import display
from cmctl.errors import CmctlError, UsageError
from cmctl.ledger import owner as owner_mod
from cmctl.ledger.reconcile import Planned
from cmctl.ledger.store import Ledger, Row, planned_job
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
from cmctl.redact import scrub

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
    state: str  # published | retry | failed | unknown | missed | already | busy, or
    # in a dry run the same decision named would-send, would-miss, would-fail...
    scheduled_at: datetime
    url: str | None = None
    message: str | None = None
    next_attempt_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "account": self.account,
            "network": self.network,
            "post": self.post_id,
            "part": self.part,
            "state": self.state,
            "scheduled_at": self.scheduled_at.isoformat(),
            "url": self.url,
            "message": self.message,
            "next_attempt_at": self.next_attempt_at.isoformat() if self.next_attempt_at else None,
        }


@dataclass(slots=True)
class PublishResult:
    outcomes: list[Outcome] = field(default_factory=list)
    held: list[str] = field(default_factory=list)  # calendar files with errors
    problems: list[str] = field(default_factory=list)  # accounts that could not be used
    sync: dict[str, int] = field(default_factory=dict)
    fast: bool = False  # nothing changed and nothing was due: the calendars were not read
    held_posts: dict[str, str] = field(default_factory=dict)  # post key -> why not sent
    vanished: dict[str, int] = field(default_factory=dict)  # calendar -> jobs kept, unsent

    @property
    def final(self) -> dict[str, Outcome]:
        """The last outcome of each job (a retry that then went out is published)."""
        return {o.key: o for o in self.outcomes}

    @property
    def ok(self) -> bool:
        bad = {"failed", "unknown", "missed", "retry"}
        bad |= {DRY_NAMES[state] for state in bad}
        return not self.attention() and not any(o.state in bad for o in self.final.values())

    def attention(self) -> list[str]:
        """What stops posts from going out that is not a job's own state: said loudly
        by `publish`, kept in the ledger for `cmctl status`."""
        lines = [
            f"{path}: has errors; none of its posts is sent or cancelled until it "
            "is fixed (`cmctl validate`)"
            for path in self.held
        ]
        lines += [f"{key}: held: {why}" for key, why in sorted(self.held_posts.items())]
        lines += [
            f"calendar '{name}' is no longer in the project; its {count} scheduled "
            f"job(s) are kept and not sent: restore the file (or fix `calendars:` "
            f"in cmctl.yaml), or cancel them with `cmctl cancel {name}`"
            for name, count in sorted(self.vanished.items())
        ]
        return lines + self.problems

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1


Listener = Callable[[Outcome], None]

# A dry run takes the same decisions as the real run; it names them so.
DRY_NAMES = {
    "published": "would-send",
    "missed": "would-miss",
    "failed": "would-fail",
    "unknown": "would-unknown",
    "retry": "would-retry",
    "skipped": "would-skip",
}
ATTENTION_META = "attention"  # ledger meta: what the last run could not do, for status


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
    def __init__(
        self,
        project: Project,
        ledger: Ledger | None,
        *,
        clock: Any = clock_mod,
        listener: Listener | None = None,
        transport: Any = None,
        should_stop: Callable[[], bool] | None = None,
        dry_run: bool = False,
    ) -> None:
        self.project = project
        self.dry_run = dry_run  # decide as for real, on a scratch ledger; send nothing
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
        self._held_posts: dict[str, str] = {}
        self._on_purpose = False  # --post: send whatever its time

    # ------------------------------------------------------------------ the run
    def run(self, *, only: str | None = None) -> PublishResult:
        """Sync, recover, expire, select, send. One procedure for cron, the daemon and
        the dry run (which runs it on a scratch copy of the ledger and sends nothing)."""
        result = PublishResult()
        now = self.clock.now()
        config = self.config
        held_files = sorted({d.path for d in self.project.report.items if d.severity == "error"})
        result.held = held_files
        held = {c.name for c in self.project.calendars if c.display in held_files}
        held |= {
            config.calendar_name(path) for path in self.project.files if display(path) in held_files
        }  # files too broken to name themselves
        present = {c.name for c in self.project.calendars} | held
        jobs: list[Job] = []
        planned: list[Planned] = []
        for job in self.project.jobs:
            if job.calendar in held:
                continue
            try:
                planned.append(planned_job(job))
            except (OverflowError, ValueError) as exc:  # one bad job never stops the rest
                held.add(job.calendar)
                result.problems.append(
                    f"{job.key}: cannot be scheduled ({exc}); its calendar is held"
                )
                continue
            jobs.append(job)
        planned = [p for p in planned if p.calendar not in held]
        jobs = [j for j in jobs if j.calendar not in held]
        sync = self.ledger.sync(planned, now, present=present, held=held)
        result.sync = sync.stats
        result.held_posts = sync.held_posts
        result.vanished = sync.vanished
        self._jobs = {j.key: j for j in jobs if j.post_key not in sync.held_posts}
        self._held_posts = sync.held_posts
        targets = self._targets(only) if only is not None else None
        self.recover(now, result, targets)
        if targets is None:
            self.expire(now, result)
        rows = self.select(now, only, targets, result)
        start = getattr(self.listener, "start", None)
        if start is not None:
            start(len(rows))
        by_account: dict[str, list[Row]] = defaultdict(list)
        for row in rows:
            by_account[row.account].append(row)
        if by_account:
            self._send_accounts(by_account, result)
            # a part that failed just now: the parts after it stop now, not next run
            self._stop_orphaned_parts(self.clock.now(), result)
        if not self.dry_run and only is None:
            self._remember_attention(now, result)
        return result

    def _remember_attention(self, now: datetime, result: PublishResult) -> None:
        """Keep what needs a human (held calendars and posts, vanished calendars,
        unusable accounts) in the ledger, where `cmctl status` reads it."""
        import json

        lines = result.attention()
        raw = self.ledger.meta(ATTENTION_META)
        if (json.loads(raw)["lines"] if raw else []) != lines:
            self.ledger.set_meta(
                ATTENTION_META, json.dumps({"at": _iso(now), "lines": lines}, ensure_ascii=False)
            )

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

    def _job_outcome(self, job: Job, state: str, **extra: Any) -> Outcome:
        return Outcome(
            job.key, job.account, job.network, job.post_id, job.part, state, job.at, **extra
        )

    def _emit(self, result: PublishResult, outcome: Outcome) -> None:
        if self.dry_run:
            outcome.state = DRY_NAMES.get(outcome.state, outcome.state)
        outcome.message = scrub(outcome.message)  # whatever an adapter forgot to redact
        outcome.url = scrub(outcome.url)
        with self._lock:
            result.outcomes.append(outcome)
        if self.listener is not None:
            self.listener(outcome)

    def _outcome(self, row: Row, state: str, **extra: Any) -> Outcome:
        return Outcome(
            row.key,
            row.account,
            row.network,
            row.post_id,
            row.part,
            state,
            row.scheduled_at,
            **extra,
        )

    # ------------------------------------------------------------------ housekeeping
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
            if _resend_is_safe(network, reached, now):
                self.ledger.set_state(
                    row.key,
                    now,
                    "pending",
                    expect=("sending",),
                    event="recovered: resending is safe",
                    detail=row.claim_owner,
                    claim_owner=None,
                    claimed_at=None,
                    claim_expires_at=None,
                    next_attempt_at=None,
                    maybe_sent_at=_iso(reached),
                )
            else:
                reason = (
                    f"cmctl stopped while sending to {network.title}; it may or may "
                    "not have been published"
                )
                # maybe_sent_at stays: whatever happens to this job later (an edit, a
                # draft, a removal), cmctl remembers that it may be online.
                if self.ledger.set_state(
                    row.key,
                    now,
                    "unknown",
                    expect=("sending",),
                    event="unknown: sender died",
                    detail=row.claim_owner,
                    reason=reason,
                    claim_owner=None,
                    claimed_at=None,
                    claim_expires_at=None,
                    maybe_sent_at=_iso(reached),
                ):
                    self._emit(result, self._outcome(row, "unknown", message=reason))

    def expire(self, now: datetime, result: PublishResult) -> None:
        """Too late to go out: `missed` (never sent late); retries past budget: `failed`;
        a thread part after one that will not go out: stopped too, saying why."""
        for row in self.ledger.rows(states=("pending",)):
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
                f"not sent: it was due {_ago(late)} ago, beyond its catch-up "
                f"window ({_ago(window(row))}); `cmctl publish --post "
                f"{row.calendar}:{row.post_id}` sends it anyway"
            )
            if self.ledger.set_state(
                row.key, now, "missed", expect=("pending",), event="missed", reason=reason
            ):
                self._emit(result, self._outcome(row, "missed", message=reason))
        elif (row.attempts > 0 or explicit) and now > deadline(row):
            # Still not out long after its time (retries, a crash, a machine off):
            # give up loudly rather than post it arbitrarily late.
            late = _ago(now - row.scheduled_at)
            if row.maybe_sent_at is not None:
                state, reason = (
                    "unknown",
                    (
                        f"gave up {late} after its time; an earlier attempt may have been "
                        f"published ({row.reason or 'no answer'})"
                    ),
                )
            else:
                state, reason = (
                    "failed",
                    (
                        f"gave up {late} after its time, after {row.attempts} attempt(s): "
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

    def _targets(self, only: str) -> set[str]:
        """The job keys `--post SPEC` names: one post, on one or every account.

        SPEC is a post id, `calendar:post`, `calendar:post@account` or a job key. A
        post id used in several calendars is ambiguous: refused, with the candidates."""
        keys = {r.key for r in self.ledger.rows() if _matches(r, only)}
        keys |= {j.key for j in self._jobs.values() if _matches(j, only)}
        posts = sorted({key.split("@", 1)[0] for key in keys})
        if len(posts) > 1:
            raise UsageError(
                f"'{only}' names {len(posts)} posts: " + ", ".join(posts[:10]),
                hint="name one as calendar:post (or calendar:post@account)",
            )
        return keys

    def select(
        self, now: datetime, only: str | None, targets: set[str] | None, result: PublishResult
    ) -> list[Row]:
        """Due rows, in time order; with ``only``, that post's unsent rows, whatever time."""
        self._on_purpose = only is not None
        if only is not None and targets is not None:
            matched = self.ledger.rows(keys=sorted(targets))
            rows = [r for r in matched if r.state in ("pending", "missed") and r.key in self._jobs]
            done = [r for r in matched if r.state == "published"]
            for row in done:  # never twice: say so, and succeed
                self._emit(
                    result,
                    self._outcome(
                        row, "already", url=row.url, message="already published; never sent twice"
                    ),
                )
            if not rows and done:
                return []
            if not rows:
                other = sorted({f"{r.key} is {r.state}" for r in matched})
                held = sorted(k for k in self.project_held(targets))
                raise UsageError(
                    f"no unsent post matches '{only}'"
                    + (f" ({'; '.join(other[:5])})" if other else "")
                    + (f"; held: {'; '.join(held)}" if held else ""),
                    hint="see `cmctl plan` or `cmctl status` for post ids; `cmctl retry` "
                    "queues a failed or missed job again",
                )
            for row in rows:
                if row.state == "missed" or row.next_attempt_at is None:
                    self.ledger.set_state(
                        row.key,
                        now,
                        "pending",
                        expect=("missed", "pending"),
                        event="sent on purpose (--post)",
                        reason=None,
                        attempts=0 if row.state == "missed" else row.attempts,
                        next_attempt_at=_iso(now),
                        deadline=_iso(now + RETRY_GRACE),
                    )
            return self.ledger.rows(keys=[r.key for r in rows])
        due = []
        for row in self.ledger.rows(states=("pending",)):
            if row.key not in self._jobs:
                continue  # its calendar is held back by errors, or its post is held
            if row.scheduled_at <= now and (
                row.next_attempt_at is None or row.next_attempt_at <= now
            ):
                due.append(row)
        return due

    def project_held(self, keys: set[str]) -> list[str]:
        return [
            f"{key}: {why}"
            for key, why in self._held_posts.items()
            if any(k.split("#")[0] == key for k in keys)
        ]

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
        from cmctl.networks.http import Http

        network = registry.get(account.network)
        if not network.publishes:
            raise CmctlError(f"cmctl cannot publish to {network.title} yet")
        options = {name: self.config.resolve(account, name) for name in account.options}
        if account.network == "feed" and isinstance(options.get("path"), str):
            options["path"] = str((self.config.root / options["path"]).resolve())
        secrets = [
            str(options[f.name]) for f in network.account_fields if f.secret and options.get(f.name)
        ]
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
            if row.maybe_sent_at and not _resend_is_safe(type(adapter), row.maybe_sent_at, now):
                reason = (
                    f"an earlier attempt may have been published and {adapter.title} "
                    "no longer remembers its idempotency key"
                )
                if self.ledger.set_state(
                    row.key, now, "unknown", expect=("pending",), event="unknown", reason=reason
                ):
                    self._emit(result, self._outcome(row, "unknown", message=reason))
                return False
            claimed = self.ledger.claim(
                row.key,
                self.owner,
                now,
                LEASE,
                content_hash=job.content_hash,
                due_by=None if self._on_purpose else now,
            )
            if claimed is None:
                self._emit(
                    result, self._outcome(row, "busy", message="another cmctl is sending it")
                )
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

    def _attempt(
        self, adapter: Network, row: Row, job: Job, result: PublishResult
    ) -> tuple[str, float | None]:
        """One attempt at a job ``row`` this process has just claimed."""
        fresh = row
        out = Outgoing(
            key=row.key,
            idempotency_key=row.idempotency_key,
            calendar=row.calendar,
            post_id=row.post_id,
            part=row.part,
            text=job.text,
            media=job.media,
            lang=job.lang,
            scheduled_at=job.at,
            reply_to=self._sent(_key(row, row.part - 1)) if row.part else None,
            root=self._sent(_key(row, 0)) if row.part else None,
        )
        try:
            if self.dry_run:  # the decision is taken; the send is what a dry run skips
                sent = Sent(f"dry-run:{row.key}", None, {})
            else:
                sent = self._publish(adapter, out)
        except Transient as exc:
            return self._retry(row, fresh.attempts, exc.message, exc.retry_after, result)
        except Ambiguous as exc:
            reached = fresh.maybe_sent_at or fresh.claimed_at or self.clock.now()
            if _resend_is_safe(type(adapter), reached, self.clock.now()):
                return self._retry(
                    row,
                    fresh.attempts,
                    exc.message,
                    None,
                    result,
                    maybe_sent_at=reached,
                    until_deadline=type(adapter).idempotency_window is None,
                )
            return self._finish(row, "unknown", exc.message, result), None
        except SendError as exc:  # Permanent, or AuthExpired twice
            return self._finish(row, "failed", exc.message, result), None
        except Exception as exc:  # a bug in an adapter: we cannot know what happened
            message = f"internal error while sending: {type(exc).__name__}: {exc}"
            message = adapter.http.redact(message)
            reached = fresh.maybe_sent_at or fresh.claimed_at or self.clock.now()
            if _resend_is_safe(type(adapter), reached, self.clock.now()):
                return self._retry(
                    row, fresh.attempts, message, None, result, maybe_sent_at=reached
                )
            return self._finish(row, "unknown", message, result), None
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
            remote_ref=_json(sent.ref),
            sent_hash=job.content_hash,
            published_at=_iso(now),
            reason=None,
            next_attempt_at=None,
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
                remote_ref=_json(sent.ref),
                sent_hash=job.content_hash,
            )
            message = (
                "published; its claim had been taken over meanwhile"
                if done
                else "published (another cmctl recorded it first)"
            )
            self._emit(result, self._outcome(row, "published", url=sent.url, message=message))
            return "published", None
        self._emit(result, self._outcome(row, "published", url=sent.url))
        return "published", None

    @staticmethod
    def _publish(adapter: Network, out: Outgoing) -> Sent:
        try:
            return adapter.publish(out)
        except AuthExpired:
            if not adapter.refresh():
                raise Permanent("the session expired and could not be renewed") from None
            return adapter.publish(out)

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
        extra = {"maybe_sent_at": _iso(maybe_sent_at)} if maybe_sent_at else {}
        self.ledger.finish(
            row.key,
            self.owner,
            now,
            "pending",
            event="retry",
            detail=message,
            reason=message,
            next_attempt_at=_iso(next_at),
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


def publish_now(
    config: Config,
    *,
    only: str | None = None,
    dry_run: bool = False,
    listener: Listener | None = None,
    clock: Any = clock_mod,
) -> PublishResult:
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
    if dry_run:  # the real procedure, on a private copy of the ledger; nothing is sent
        import tempfile

        from cmctl.ledger.store import scratch_copy

        project = open_project(config, now=clock.now())
        with tempfile.TemporaryDirectory(prefix="cmctl-dry-run-") as scratch:
            ledger = scratch_copy(config.state_dir, Path(scratch))
            try:
                return Publisher(project, ledger, clock=clock, listener=listener, dry_run=True).run(
                    only=only
                )
            finally:
                ledger.close()
    inputs = stamp.compute(config)  # before reading: an edit during the run is seen next time
    project = open_project(config, now=clock.now())
    ledger = Ledger.open(config.state_dir)
    try:
        result = Publisher(project, ledger, clock=clock, listener=listener).run(only=only)
    finally:
        ledger.close()
    if result.attention():
        stamp.forget(config)  # come back to them on every run
    else:
        stamp.save(config, inputs)
    return result


def publish_due(project: Project, ledger: Ledger, **options: Any) -> PublishResult:
    """Publish what is due now. Options: clock, listener, transport, should_stop,
    dry_run (for the Publisher), only (for the run)."""
    run_options = {k: options.pop(k) for k in ("only",) if k in options}
    return Publisher(project, ledger, **options).run(**run_options)


def _resend_is_safe(network: type[Network], reached: datetime, now: datetime) -> bool:
    """Can a job whose earlier attempt may have reached the network be sent again?"""
    window_ = network.idempotency_window
    return window_ is None or (window_ > timedelta(0) and now - reached <= window_)


def _key(row: Row, part: int) -> str:
    base = row.post_key
    return f"{base}#{part}" if part else base


def _matches(row: Row | Job, only: str) -> bool:
    """`--post` takes `post`, `calendar:post`, `calendar:post@account`, or a job key."""
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
