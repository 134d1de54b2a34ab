"""Publisher.run: sync, housekeeping, selection, sending; and publish_due."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cmctl import gcpause
from cmctl.config import display
from cmctl.ledger.reconcile import Planned, Reconciliation
from cmctl.ledger.store import Ledger, Row, iso, planned_job
from cmctl.publish.handover import Handover
from cmctl.publish.housekeeping import Housekeeping
from cmctl.publish.jobs import JobsByKey
from cmctl.publish.result import PublishResult
from cmctl.publish.selection import Selection
from cmctl.publish.sending import Sending

if TYPE_CHECKING:
    from cmctl.project import Project

ATTENTION_META = "attention"  # ledger meta: what the last run could not do, for status


class Publisher(Housekeeping, Selection, Handover, Sending):
    """One run of the publishing engine over a project and its ledger."""

    def run(self, *, only: str | None = None) -> PublishResult:
        """Sync, recover, expire, select, send. One procedure for cron, the daemon and
        the dry run (which runs it on a scratch copy of the ledger and sends nothing)."""
        result = PublishResult()
        now = self.clock.now()
        config = self.config
        held_files = sorted({d.path for d in self.project.errors})
        result.held = held_files
        held = {c.name for c in self.project.calendars if c.display in held_files}
        held |= {
            config.calendar_name(path) for path in self.project.files if display(path) in held_files
        }  # files too broken to name themselves
        present = {c.name for c in self.project.calendars} | held
        with gcpause.paused():  # 100,000 jobs: no cycles, only objects to keep
            where, planned = self._planned(held, result)
        sync = self.ledger.sync(planned, now, present=present, held=held)
        result.sync = sync.stats
        result.held_posts = sync.held_posts
        result.vanished = sync.vanished
        self._said_unknown(sync, result)
        if sync.held_posts:
            for p in planned:
                if p.post_key in sync.held_posts:
                    where.pop(p.key, None)
        del planned
        self._jobs = JobsByKey(self.project.jobs, where)  # built when asked for
        self._held_posts = sync.held_posts
        targets = self._targets(only) if only is not None else None
        self.recover(now, result, targets)
        if targets is None:
            self.expire(now, result)
            # schedule: network: confirm, keep in step, hand over (cmctl/publish/handover.py)
            self.on_network(now, result, present=present, held=held)
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

    def _said_unknown(self, sync: Reconciliation, result: PublishResult) -> None:
        """A job the sync made ``unknown`` (drafted, removed or renamed after an attempt
        that may have been published) is said as this run's outcome, as a send that
        ends unknown is: the run exits 1, `status` lists it until a human settles it."""
        keys = [c.key for c in sync.updates if c.values.get("state") == "unknown"]
        if sync.stats.get("inherited"):
            keys += [p.key for p, values, _ in sync.inserts if values.get("state") == "unknown"]
        for key in keys:
            row = self.ledger.get(key)
            if row is not None and row.state == "unknown":
                self._emit(result, self._outcome(row, "unknown", message=row.reason))

    def _planned(
        self, held: set[str], result: PublishResult
    ) -> tuple[dict[str, int], list[Planned]]:
        """What the ledger plans of the jobs to sync and send, and where each job is
        (its file's number in ``project.jobs``); a job that cannot be scheduled holds
        its calendar back (``held`` grows), never the rest. No job is kept."""
        where: dict[str, int] = {}
        planned: list[Planned] = []
        for number, job in self.project.jobs.facts():  # no Job built
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
            where[job.key] = number
        kept = [p for p in planned if p.calendar not in held]
        if len(kept) != len(planned):  # calendars held after some of their jobs passed
            for p in planned:
                if p.calendar in held:
                    where.pop(p.key, None)
        return where, kept

    def _remember_attention(self, now: datetime, result: PublishResult) -> None:
        """Keep what needs a human (held calendars and posts, vanished calendars,
        unusable accounts) in the ledger, where `cmctl status` reads it."""
        import json

        said = result.remembered()
        raw = self.ledger.meta(ATTENTION_META)
        try:
            before = {k: v for k, v in json.loads(raw).items() if k != "at"} if raw else None
        except (ValueError, AttributeError):
            before = None
        if before != said and (said["lines"] or raw):
            self.ledger.set_meta(ATTENTION_META, json.dumps({"at": iso(now), **said}))


def publish_due(project: Project, ledger: Ledger, **options: Any) -> PublishResult:
    """Publish what is due now. Options: clock, listener, transport, should_stop,
    dry_run (for the Publisher), only (for the run)."""
    run_options = {k: options.pop(k) for k in ("only",) if k in options}
    return Publisher(project, ledger, **options).run(**run_options)
