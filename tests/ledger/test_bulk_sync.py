"""A first sync into an empty ledger builds its indexes after the rows: the same ledger."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from cmctl.ledger.reconcile import Planned
from cmctl.ledger.store import Ledger, idempotency_key, iso

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _planned(count: int) -> list[Planned]:
    return [
        Planned(
            f"c{i % 7}:p{i}@a{i % 3}",
            f"c{i % 7}",
            f"p{i}",
            f"a{i % 3}",
            0,
            "feed",
            f"h{i}",
            iso(NOW + timedelta(minutes=i)),
            3600,
            i % 50 == 0,  # a few drafts: skipped rows, their own extra values
        )
        for i in range(count)
    ]


def _dump(path: Path) -> tuple[list[tuple[object, ...]], ...]:
    db = sqlite3.connect(path)
    try:
        schema = db.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name"
        ).fetchall()
        jobs = db.execute(
            "SELECT key, state, reason, idempotency_key, created_at FROM jobs ORDER BY key"
        ).fetchall()
        events = db.execute("SELECT at, key, event FROM events ORDER BY key").fetchall()
        plans = [
            db.execute(f"EXPLAIN QUERY PLAN {q}").fetchall()[-1][-1]
            for q in (
                "SELECT 1 FROM jobs WHERE state = 'pending' AND scheduled_at < 'x'",
                "SELECT 1 FROM jobs WHERE calendar = 'c1' AND post_id = 'p1'",
                "SELECT 1 FROM events WHERE key = 'c1:p1@a1'",
            )
        ]
        integrity = db.execute("PRAGMA integrity_check").fetchall()
    finally:
        db.close()
    return schema, jobs, events, [(p,) for p in plans], integrity


@pytest.mark.parametrize("count", [999, 2_500])  # below and above the bulk path
def test_a_first_sync_gives_the_ledger_row_by_row_would(tmp_path: Path, count: int) -> None:
    bulk = Ledger.open(tmp_path / "bulk")
    bulk.sync(_planned(count), NOW, present={f"c{i}" for i in range(7)})
    bulk.close()
    # the reference: the same rows synced in small steps, each into a non-empty ledger
    steps = Ledger.open(tmp_path / "steps")
    planned = _planned(count)
    for start in range(0, count, 500):
        steps.sync(planned[: start + 500], NOW, present={f"c{i}" for i in range(7)})
    steps.close()
    schema, jobs, events, plans, integrity = _dump(tmp_path / "bulk" / "ledger.sqlite3")
    assert _dump(tmp_path / "steps" / "ledger.sqlite3")[:4] == (schema, jobs, events, plans)
    assert integrity == [("ok",)]
    assert len(jobs) == count and len(events) == count
    assert all("USING" in p[0] and "INDEX" in p[0] for p in plans), plans
    assert jobs[0][3] == idempotency_key(str(jobs[0][0]))
    assert {j[1] for j in jobs} == {"pending", "skipped"}
    # each insert names only the columns it sets: the others take their defaults
    db = sqlite3.connect(tmp_path / "bulk" / "ledger.sqlite3")
    db.row_factory = sqlite3.Row
    rows = {r["post_id"]: dict(r) for r in db.execute("SELECT * FROM jobs")}
    db.close()
    assert rows["p0"]["state"] == "skipped" and rows["p0"]["reason"] == "draft"
    pending = rows["p1"]
    assert pending["state"] == "pending" and pending["attempts"] == 0
    assert pending["created_at"] == pending["updated_at"] == iso(NOW)
    unset = ("reason", "remote_id", "url", "sent_hash", "maybe_sent_at", "next_attempt_at")
    assert all(pending[c] is None for c in unset)


def test_a_crash_in_the_first_sync_leaves_the_ledger_and_its_indexes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger = Ledger.open(tmp_path / "state")
    before = _dump(tmp_path / "state" / "ledger.sqlite3")
    made: list[str] = []

    def dies_midway(key: str) -> str:  # while the rows go in, the indexes dropped
        if len(made) == 1_500:
            raise RuntimeError("the process dies here")
        made.append(key)
        return idempotency_key(key)

    monkeypatch.setattr("cmctl.ledger.store.idempotency_key", dies_midway)
    with pytest.raises(RuntimeError):
        ledger.sync(_planned(2_000), NOW, present={f"c{i}" for i in range(7)})
    ledger.close()
    assert _dump(tmp_path / "state" / "ledger.sqlite3") == before


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2027, 3, 4, 5, 6, 7, tzinfo=UTC),
        datetime(2027, 3, 4, 5, 6, 7, 890, tzinfo=UTC),  # microseconds kept, zero-padded
        datetime(2027, 10, 31, 2, 30, tzinfo=timezone(timedelta(hours=5, minutes=30))),
        datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-8))),
        datetime(999, 1, 1, tzinfo=UTC),  # strftime's own text (its year unpadded)
        datetime(9999, 12, 31, 23, 0, tzinfo=UTC),
    ],
)
def test_iso_is_the_utc_text_strftime_writes(moment: datetime) -> None:
    assert iso(moment) == moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
