"""The ledger's fast read paths give what the row-by-name ones gave."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from cmctl.ledger.reconcile import Planned
from cmctl.ledger.store import Ledger, Row, iso

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _ledger(tmp_path: Path) -> Ledger:
    ledger = Ledger.open(tmp_path / "state")
    planned = [
        Planned(
            f"c:p{i}@a",
            "c",
            f"p{i}",
            "a",
            0,
            "feed",
            f"h{i}",
            iso(NOW + timedelta(hours=i)),
            3600,
            False,
        )
        for i in range(-2, 4)
    ]
    ledger.sync(planned, NOW - timedelta(days=1), present={"c"})
    with ledger.transaction() as db:
        ledger.update(
            db,
            NOW,
            "c:p3@a",
            deadline=iso(NOW - timedelta(minutes=1)),
            next_attempt_at=iso(NOW),
            remote_ref='{"uri": "x"}',
        )
        ledger.update(
            db,
            NOW,
            "c:p-1@a",
            state="published",
            url="https://x.example/1",
            sent_hash="old",
            attempts=1,
        )
    return ledger


def test_rows_read_as_tuples_are_the_rows_read_by_name(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path)
    by_name = [
        Row.from_sql(r)
        for r in ledger.db.execute(
            "SELECT * FROM jobs ORDER BY scheduled_at, calendar, post_id, account, part"
        )
    ]
    assert [vars_of(r) for r in ledger.rows()] == [vars_of(r) for r in by_name]
    states = ledger.states()
    assert states["c:p-1@a"].state == "published" and states["c:p-1@a"].sent_hash == "old"
    assert states["c:p-1@a"].url == "https://x.example/1" and states["c:p0@a"].attempts == 0


def vars_of(row: Row) -> tuple[object, ...]:
    return tuple(getattr(row, f) for f in row.__slots__)  # type: ignore[attr-defined]


def test_due_by_keeps_what_is_due_or_past_its_deadline(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path)
    due = [r.key for r in ledger.rows(states=("pending",), due_by=NOW)]
    assert due == ["c:p-2@a", "c:p0@a", "c:p3@a"]  # p3: sent on purpose, deadline passed
    assert len(ledger.rows(states=("pending",))) == 5
