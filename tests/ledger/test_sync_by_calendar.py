"""A sync into a ledger that has rows reads them a calendar at a time (never all held),
and decides exactly what the pure ``reconcile`` decides with every row in hand."""

from __future__ import annotations

import random
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from cmctl.ledger import reconcile as module
from cmctl.ledger.reconcile import Known, Planned, Reconciliation, reconcile
from cmctl.ledger.store import Ledger, iso, read_known
from tests.ledger.random_ledgers import CALENDARS, NOW, first_plan, live, same, second_plan


@pytest.mark.parametrize("seed", range(12))
def test_the_sync_decides_what_reconcile_decides_with_every_row(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    state_dir = tmp_path / "state"
    ledger = Ledger.open(state_dir)
    first = first_plan(rng)
    ledger.sync(first, NOW, present=set(CALENDARS))
    live(ledger.path, rng)
    second = second_plan(rng, first)
    # c4 left the project (vanished), c2 has errors (held: its jobs are not planned)
    present = {"c0", "c1", "c2", "c5", "c6"}
    held = {"c2"}
    second = [job for job in second if job.calendar not in ("c2", "c4")]

    with sqlite3.connect(ledger.path) as db:  # (what a full read gives, WAL included)
        expected = reconcile(read_known(db), second, present=present, held=held)
    assert expected.updates and expected.inserts and expected.vanished  # it is all there
    assert expected.stats["inherited"] or expected.held_posts or seed  # (seed 0: both)

    got = ledger.sync(second, NOW, present=present, held=held)
    same(got, expected)
    ledger.close()


def test_rows_are_read_a_calendar_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger = Ledger.open(tmp_path / "state")
    first = first_plan(random.Random(1))
    ledger.sync(first, NOW, present=set(CALENDARS))
    live(ledger.path, random.Random(1))
    calls: list[tuple[set[str], set[str]]] = []
    calendar = module.Reconciling.calendar

    def spy(self: module.Reconciling, known: list[Known], jobs: list[Planned]) -> Reconciliation:
        calls.append(({row.calendar for row in known}, {job.calendar for job in jobs}))
        return calendar(self, known, jobs)

    monkeypatch.setattr(module.Reconciling, "calendar", spy)
    ledger.sync(first[:50], NOW, present=set(CALENDARS))
    ledger.close()
    assert len(calls) == len(CALENDARS)
    for rows_of, jobs_of in calls:
        assert len(rows_of | jobs_of) == 1  # one calendar's rows and jobs, never more
    assert set().union(*(rows | jobs for rows, jobs in calls)) == set(CALENDARS)


@pytest.mark.parametrize("state", ["failed", "missed", "pending"])
def test_a_settled_job_that_may_be_online_and_is_drafted_becomes_unknown(
    tmp_path: Path, state: str
) -> None:
    """A retry that failed for good after an ambiguous attempt keeps ``maybe_sent_at``:
    drafting it then must neither stop the sync (an illegal transition rolls back every
    calendar's changes) nor skip quietly a post that may be online."""
    ledger = Ledger.open(tmp_path / "state")
    jobs = [
        Planned(f"c:p{i}@a", "c", f"p{i}", "a", 0, "feed", f"h{i}", iso(NOW), 60, False)
        for i in range(2)
    ]
    ledger.sync(jobs, NOW, present={"c"})
    with sqlite3.connect(ledger.path) as db:
        db.execute(
            "UPDATE jobs SET state = ?, maybe_sent_at = ? WHERE key = 'c:p0@a'", (state, iso(NOW))
        )
    drafted = [replace(jobs[0], draft=True), replace(jobs[1], content_hash="edited")]
    ledger.sync(drafted, NOW, present={"c"})
    assert ledger.get("c:p0@a").state == "unknown"  # type: ignore[union-attr]
    assert ledger.get("c:p1@a").content_hash == "edited"  # type: ignore[union-attr]
    ledger.close()
