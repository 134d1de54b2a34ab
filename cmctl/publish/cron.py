"""`cmctl publish`: the cron fast path, the dry run, and the full run."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from cmctl import clock as clock_mod
from cmctl.ledger.store import Ledger
from cmctl.publish.result import Listener, PublishResult

if TYPE_CHECKING:
    from cmctl.config import Config


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
    full run (cmctl/stamp.py), the ledger already holds the plan: if it has nothing
    due, there is nothing to read or do. What that run found needs a human (a file with
    errors, a vanished calendar, a reshaped thread) is said again, from the ledger, as
    long as neither the inputs nor the ledger's jobs changed since (``Ledger.mark``):
    a broken file among a thousand no longer costs a full run every minute. Otherwise:
    load, sync, publish.
    """
    from cmctl import stamp

    # Ledger.existing: None when this state folder was never used; a damaged or missing
    # ledger in a folder that was is an error (exit 2), on the fast path as on the others.
    saved = stamp.matching(config) if only is None and not dry_run else None
    if saved is not None:
        fast = Ledger.existing(config.state_dir)
        if fast is not None:
            try:
                if not fast.has_work(clock.now()):
                    mark = saved.get("attention")
                    if mark is None:
                        return PublishResult(fast=True)
                    if mark == fast.mark():
                        recalled = _recalled(fast)
                        if recalled is not None:
                            return recalled
            finally:
                fast.close()
    # Past the fast path: now the calendars and the sending machinery are needed.
    from cmctl.ledger.memory import queue_memory
    from cmctl.project import open_project
    from cmctl.publish.publisher import Publisher

    if dry_run:  # the real procedure, on a private copy of the ledger; nothing is sent
        import tempfile

        from cmctl.ledger.store import scratch_copy

        project = open_project(config, now=clock.now(), memory=queue_memory(config.state_dir))
        with tempfile.TemporaryDirectory(prefix="cmctl-dry-run-") as scratch:
            ledger = scratch_copy(config.state_dir, Path(scratch))
            try:
                return Publisher(project, ledger, clock=clock, listener=listener, dry_run=True).run(
                    only=only
                )
            finally:
                ledger.close()
    inputs = stamp.compute(config)  # before reading: an edit during the run is seen next time
    # The ledger (and so the state folder) first: the calendars' compiled results are
    # then cached there from the very first run (cmctl/cache.py).
    ledger = Ledger.open(config.state_dir)
    try:
        project = open_project(config, now=clock.now(), memory=queue_memory(config.state_dir))
        result = Publisher(project, ledger, clock=clock, listener=listener).run(only=only)
        # What needs a human is said again by the fast path while the ledger's jobs are
        # as this run left them (another run, `cancel`, `resolve` change that mark).
        mark = ledger.mark() if result.attention() else None
    finally:
        ledger.close()
    if only is not None and mark is not None:
        stamp.forget(config)  # --post skips the checks the attention is kept from
    else:
        stamp.save(config, inputs, attention=mark)
    return result


def _recalled(ledger: Ledger) -> PublishResult | None:
    import json

    from cmctl.publish.publisher import ATTENTION_META

    raw = ledger.meta(ATTENTION_META)
    try:
        return PublishResult.recalled(json.loads(raw)) if raw else None
    except ValueError:
        return None
