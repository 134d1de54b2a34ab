"""A sync into a ledger that has rows reads them a calendar at a time (never all held),
and decides exactly what the pure ``reconcile`` decides with every row in hand."""

from __future__ import annotations

import random
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cmctl.ledger import reconcile as module
from cmctl.ledger.reconcile import Known, Planned, Reconciliation, reconcile
from cmctl.ledger.store import Ledger, iso, read_known

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
CALENDARS = ("c0", "c1", "c2", "c3", "c4")


def _first_plan(rng: random.Random) -> list[Planned]:
    jobs = []
    for i in range(120):
        calendar = rng.choice(CALENDARS)
        account = rng.choice(("a0", "a1"))
        at = iso(NOW + timedelta(hours=rng.randrange(-48, 200)))
        for part in range(rng.choice((1, 1, 1, 2, 3))):
            key = f"{calendar}:p{i}@{account}" + (f"#{part}" if part else "")
            jobs.append(
                Planned(
                    key, calendar, f"p{i}", account, part, "feed", f"h{i}.{part}", at, 3600, False
                )
            )
    rng.shuffle(jobs)  # a plan's order is its times', not its calendars'
    return jobs


def _live(db_path: Path, rng: random.Random) -> None:
    """What runs, humans and networks did to the rows since the first sync."""
    db = sqlite3.connect(db_path)
    keys = [k for (k,) in db.execute("SELECT key FROM jobs ORDER BY rowid")]
    for key in keys:
        roll = rng.random()
        if roll < 0.3:
            continue
        state = rng.choice(
            ("published", "unknown", "scheduled", "failed", "missed", "skipped", "sending")
        )
        values: dict[str, object] = {"state": state}
        if state == "published":
            values.update(sent_hash=f"sent-{key}", remote_id=f"r-{key}", url=f"https://x/{key}")
        if state in ("unknown", "sending") or rng.random() < 0.15:
            values["maybe_sent_at"] = iso(NOW)
        if rng.random() < 0.15:
            values["decided_by"] = "human"
        sets = ", ".join(f"{name} = ?" for name in values)
        db.execute(f"UPDATE jobs SET {sets} WHERE key = ?", (*values.values(), key))
    db.commit()
    db.close()


def _second_plan(rng: random.Random, first: list[Planned]) -> list[Planned]:
    """The calendars edited: jobs removed, moved, edited, drafted, parts reordered, a
    file renamed (c3 -> c5, new identities for the same posts), new posts."""
    out = []
    for job in first:
        roll = rng.random()
        if job.calendar == "c3":
            job = replace(
                job, key=job.key.replace("c3:", "c5:", 1), calendar="c5", post_id=job.post_id
            )
        if roll < 0.1:
            continue
        if roll < 0.2:
            job = replace(job, scheduled_at=iso(NOW + timedelta(days=rng.randrange(1, 9))))
        elif roll < 0.3:
            job = replace(job, content_hash=job.content_hash + "-edited")
        elif roll < 0.35:
            job = replace(job, draft=True)
        elif roll < 0.4 and job.part:
            job = replace(job, content_hash=job.content_hash.rsplit(".", 1)[0] + ".0")
        elif roll < 0.45:
            job = replace(job, catch_up_s=60, network="other")
        out.append(job)
    for i in range(200, 215):
        calendar = rng.choice(("c0", "c1", "c5", "c6"))
        out.append(
            Planned(
                f"{calendar}:p{i}@a0",
                calendar,
                f"p{i}",
                "a0",
                0,
                "feed",
                f"h{i}",
                iso(NOW),
                60,
                False,
            )
        )
    return out


def _same(got: Reconciliation, expected: Reconciliation) -> None:
    assert list(got.inserts) == list(expected.inserts)
    assert got.updates == expected.updates
    assert got.held_posts == expected.held_posts
    assert got.vanished == expected.vanished
    assert got.stats == expected.stats


@pytest.mark.parametrize("seed", range(12))
def test_the_sync_decides_what_reconcile_decides_with_every_row(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    state_dir = tmp_path / "state"
    ledger = Ledger.open(state_dir)
    first = _first_plan(rng)
    ledger.sync(first, NOW, present=set(CALENDARS))
    _live(ledger.path, rng)
    second = _second_plan(rng, first)
    # c4 left the project (vanished), c2 has errors (held: its jobs are not planned)
    present = {"c0", "c1", "c2", "c5", "c6"}
    held = {"c2"}
    second = [job for job in second if job.calendar not in ("c2", "c4")]

    with sqlite3.connect(ledger.path) as db:  # (what a full read gives, WAL included)
        expected = reconcile(read_known(db), second, present=present, held=held)
    assert expected.updates and expected.inserts and expected.vanished  # it is all there
    assert expected.stats["inherited"] or expected.held_posts or seed  # (seed 0: both)

    got = ledger.sync(second, NOW, present=present, held=held)
    _same(got, expected)
    ledger.close()


def test_rows_are_read_a_calendar_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger = Ledger.open(tmp_path / "state")
    first = _first_plan(random.Random(1))
    ledger.sync(first, NOW, present=set(CALENDARS))
    _live(ledger.path, random.Random(1))
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
