"""The `scheduled` state (schedule: network): its transitions and its reconciliation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cmctl.ledger import states
from cmctl.ledger.reconcile import Known, Planned, reconcile
from cmctl.ledger.store import Ledger, iso

T = "2026-12-01T08:30:00.000000Z"
T2 = "2026-12-01T09:30:00.000000Z"
NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def job(digest: str = "h0", at: str = T, draft: bool = False) -> Planned:
    return Planned("c:p@a", "c", "p", "a", 0, "wordpress", digest, at, 3600, draft)


def held(digest: str = "h0", at: str = T, **extra: str) -> Known:
    return Known(
        "c:p@a", "c", "p", "a", 0, "wordpress", "scheduled", digest, digest, at, 3600, **extra
    )  # type: ignore[arg-type]


def test_the_scheduled_transitions() -> None:
    S = states.State
    table = states.TRANSITIONS
    assert (S.SENDING, S.SCHEDULED) in table and (S.SCHEDULED, S.SENDING) in table
    assert (S.SENDING, S.SKIPPED) in table and (S.SCHEDULED, S.UNKNOWN) in table
    # held by the network: never quietly pending, skipped or published without a claim
    for target in (S.PENDING, S.SKIPPED, S.PUBLISHED, S.FAILED, S.MISSED):
        assert (S.SCHEDULED, target) not in table
    with pytest.raises(states.IllegalTransition):
        states.check("scheduled", "skipped")
    with pytest.raises(states.IllegalTransition):
        states.check("pending", "scheduled")


def test_scheduled_is_never_cancelled_quietly_when_removed_or_drafted() -> None:
    removed = reconcile([held()], [], present={"c"})
    assert removed.updates == [] and removed.stats["cancelled"] == 0
    drafted = reconcile([held()], [job(draft=True)], present={"c"})
    assert drafted.updates == []


def test_an_edit_changes_only_the_content_hash_a_move_the_time() -> None:
    edited = reconcile([held()], [job(digest="h1")], present={"c"})
    assert [c.values for c in edited.updates] == [{"content_hash": "h1"}]
    moved = reconcile([held()], [job(at=T2)], present={"c"})
    assert [c.values for c in moved.updates] == [{"scheduled_at": T2}]
    assert moved.updates[0].event and "moved" in moved.updates[0].event


def test_a_human_cancel_is_not_undone_by_a_move() -> None:
    cancelled = reconcile([held(decided_by="human")], [job(at=T2)], present={"c"})
    assert cancelled.updates == []


def test_a_renamed_held_post_is_not_inherited() -> None:
    renamed = Planned("c:q@a", "c", "q", "a", 0, "wordpress", "h0", T, 3600, False)
    result = reconcile([held()], [renamed], present={"c"})
    assert [(j.key, v["state"]) for j, v, _ in result.inserts] == [("c:q@a", "pending")]


def test_the_ledger_claims_and_releases_a_held_post(tmp_path: Path) -> None:
    ledger = Ledger.open(tmp_path / "state")
    try:
        ledger.sync([job()], NOW, present={"c"})
        assert ledger.claim("c:p@a", "me", NOW, timedelta(minutes=10))
        assert ledger.finish(
            "c:p@a", "me", NOW, "scheduled", event="scheduled", remote_id="7", network_at=T
        )
        with pytest.raises(states.IllegalTransition):
            ledger.set_state("c:p@a", NOW, "skipped", expect=("scheduled",), event="no")
        assert ledger.set_state(
            "c:p@a",
            NOW,
            "sending",
            expect=("scheduled",),
            event="claimed",
            claim_owner="me",
            claimed_at=iso(NOW),
        )
        assert ledger.finish("c:p@a", "me", NOW, "skipped", event="taken back")
        row = ledger.get("c:p@a")
        assert row is not None and row.state == "skipped"
        events = [e["event"] for e in ledger.events("c:p@a")]
        assert events[-3:] == ["scheduled", "claimed", "taken back"]
    finally:
        ledger.close()
