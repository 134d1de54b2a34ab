"""Random ledgers: a first plan synced, what runs, humans and networks did to its rows
since, and a second plan that edits, drafts, reorders, renames and adds."""

from __future__ import annotations

import random
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cmctl.ledger.reconcile import Planned, Reconciliation
from cmctl.ledger.store import iso

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
CALENDARS = ("c0", "c1", "c2", "c3", "c4")


def first_plan(rng: random.Random) -> list[Planned]:
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


def live(db_path: Path, rng: random.Random) -> None:
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


def second_plan(rng: random.Random, first: list[Planned]) -> list[Planned]:
    """The calendars edited: jobs removed, moved, edited, drafted, parts reordered, a
    file renamed (c3 -> c5, new identities for the same posts), parts added at the end of
    posts, new posts."""
    out = []
    last_parts = {}
    for job in first:
        last_parts[(job.calendar, job.post_id, job.account)] = max(
            job, last_parts.get((job.calendar, job.post_id, job.account), job), key=lambda j: j.part
        )
    for job in last_parts.values():
        if job.calendar != "c3" and rng.random() < 0.08:  # a part added at the end
            part = job.part + 1
            first = [
                *first,
                replace(
                    job,
                    key=f"{job.calendar}:{job.post_id}@{job.account}#{part}",
                    part=part,
                    content_hash=f"{job.content_hash}+{part}",
                ),
            ]
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


def same(got: Reconciliation, expected: Reconciliation) -> None:
    """The same changes, in the same order."""
    assert list(got.inserts) == list(expected.inserts)
    assert got.updates == expected.updates
    assert got.held_posts == expected.held_posts
    assert got.vanished == expected.vanished
    assert got.stats == expected.stats
