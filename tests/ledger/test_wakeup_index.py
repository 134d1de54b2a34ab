"""`status`'s reads of retries and the next wake-up go through indexes (migration 5), and
answer what the one full scan they replace answered."""

from __future__ import annotations

import random
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cmctl.ledger.schema import MIGRATIONS
from cmctl.ledger.store import PAUSED_SQL, Ledger, iso, parse_iso

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
COLUMNS = (
    "key, calendar, post_id, account, part, network, content_hash, scheduled_at, catch_up_s, "
    "state, attempts, next_attempt_at, idempotency_key, created_at, updated_at"
)


def _fill(db: sqlite3.Connection, seed: int, count: int = 300) -> None:
    draw = random.Random(seed)
    rows = []
    for i in range(count):
        state = draw.choice(["pending"] * 5 + ["scheduled", "published", "failed", "skipped"])
        attempts = draw.choice([0, 0, 0, 1, 3]) if state != "published" else 1
        at = NOW + timedelta(minutes=draw.randint(-600, 600))
        retry = None
        if attempts or draw.random() < 0.1:  # a retry time, sometimes without an attempt
            retry = iso(at + timedelta(minutes=draw.randint(-120, 240)))
        if draw.random() < 0.3:
            retry = None
        key = f"c:p{i}@a{i % 4}"
        stamp = iso(NOW)
        row = (key, "c", f"p{i}", f"a{i % 4}", 0, "feed", "h", iso(at), 3600, state, attempts)
        rows.append((*row, retry, f"k{i}", stamp, stamp))
    db.executemany(f"INSERT INTO jobs ({COLUMNS}) VALUES ({','.join('?' * 15)})", rows)


def _scan_answer(db: sqlite3.Connection, after: datetime | None) -> datetime | None:
    """The query `next_wakeup` was before migration 5 (one scan of every pending row)."""
    due = "COALESCE(MAX(next_attempt_at, scheduled_at), scheduled_at)"
    sql = (
        f"SELECT MIN({due}) FROM jobs WHERE (state = 'scheduled' OR "
        f"(state = 'pending' AND NOT {PAUSED_SQL}))"
    )
    args: tuple[str, ...] = ()
    if after is not None:
        sql += f" AND {due} > ?"
        args = (iso(after),)
    r = db.execute(sql, args).fetchone()
    return parse_iso(r[0]) if r and r[0] else None


@pytest.mark.parametrize("seed", range(6))
def test_next_wakeup_answers_what_the_scan_answered(tmp_path: Path, seed: int) -> None:
    ledger = Ledger.open(tmp_path)
    try:
        with ledger.transaction() as db:
            _fill(db, seed)
            if seed % 3 == 1:
                db.execute("INSERT INTO meta (name, value) VALUES ('pause:a1', '{}')")
            if seed == 5:
                db.execute("INSERT INTO meta (name, value) VALUES ('pause:*', '{}')")
        for after in (None, NOW - timedelta(hours=3), NOW, NOW + timedelta(hours=5)):
            assert ledger.next_wakeup(after) == _scan_answer(ledger.db, after)
        expected = [
            r[0]
            for r in ledger.db.execute(
                "SELECT key FROM jobs WHERE state = 'pending' AND attempts > 0 "
                "ORDER BY scheduled_at, calendar, post_id, account, part"
            )
        ]
        assert [r.key for r in ledger.retrying()] == expected
        assert ledger.counts() == dict(
            ledger.db.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state").fetchall()
        )
    finally:
        ledger.close()


def test_status_reads_scan_no_table(tmp_path: Path) -> None:
    """Every statement of retrying, next_wakeup, has_work and counts searches an index:
    none reads the whole jobs table (100,000 rows at an agency's scale)."""
    ledger = Ledger.open(tmp_path)
    statements: list[str] = []
    try:
        with ledger.transaction() as db:
            _fill(db, 0)
        ledger.db.set_trace_callback(statements.append)
        ledger.retrying()
        ledger.next_wakeup()
        ledger.next_wakeup(NOW)
        ledger.has_work(NOW)
        ledger.counts()
        ledger.db.set_trace_callback(None)
        assert len(statements) >= 6
        for sql in statements:
            plan = " / ".join(r[-1] for r in ledger.db.execute(f"EXPLAIN QUERY PLAN {sql}", ()))
            assert "SCAN jobs" not in plan, (sql, plan)
    finally:
        ledger.close()


def test_migration_5_indexes_a_ledger_of_schema_4(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode = WAL")
    for script in MIGRATIONS[:4]:
        for statement in script.split(";"):
            if statement.strip():
                db.execute(statement)
    db.execute("PRAGMA user_version = 4")
    _fill(db, 3)
    db.commit()
    before = db.execute("SELECT * FROM jobs ORDER BY key").fetchall()
    answer = _scan_answer(db, None)
    db.close()
    ledger = Ledger.open(tmp_path)
    try:
        assert ledger.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS) == 5
        sql = (
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'jobs_retry' "
            "AND tbl_name = 'jobs'"
        )
        assert (
            "WHERE attempts > 0 OR next_attempt_at IS NOT NULL"
            in ledger.db.execute(sql).fetchone()[0]
        )
        assert [tuple(r) for r in ledger.db.execute("SELECT * FROM jobs ORDER BY key")] == [
            tuple(r) for r in before
        ]
        assert ledger.next_wakeup() == answer is not None
        assert ledger.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        ledger.close()
