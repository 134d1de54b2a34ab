"""The job state machine: one table of transitions, enforced by the ledger."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from cmctl.ledger import states
from cmctl.ledger.reconcile import Planned
from cmctl.ledger.schema import STATES
from cmctl.ledger.store import Ledger

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
REPO = Path(__file__).resolve().parents[2]


def ledger_with_one_job(tmp_path: Path) -> Ledger:
    ledger = Ledger.open(tmp_path / "state")
    job = Planned(
        "c:p@a", "c", "p", "a", 0, "feed", "h", "2026-12-01T09:00:00.000000Z", 3600, False
    )
    ledger.sync([job], NOW, present={"c"})
    return ledger


def test_the_enum_is_the_schema_s_states() -> None:
    assert {s.value for s in states.State} == set(STATES)


def test_a_transition_outside_the_table_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    ledger = ledger_with_one_job(tmp_path)
    assert ledger.set_state(
        "c:p@a", NOW, "published", expect=("pending",), event="test", remote_id="r"
    )
    with pytest.raises(states.IllegalTransition):  # published is final
        ledger.set_state("c:p@a", NOW, "pending", expect=("published",), event="oops")
    row = ledger.get("c:p@a")
    assert row is not None and row.state == "published"
    assert [e["event"] for e in ledger.events("c:p@a")][-1] == "test"


def test_finish_only_from_a_claim_to_a_state_the_table_allows(tmp_path: Path) -> None:
    ledger = ledger_with_one_job(tmp_path)
    with pytest.raises(states.IllegalTransition):
        ledger.finish("c:p@a", "me", NOW, "missed", event="nonsense")


def test_every_transition_names_its_cause_and_no_state_is_unreachable() -> None:
    assert all(cause for cause in states.TRANSITIONS.values())
    reached = {new for _, new in states.TRANSITIONS} | {states.State.PENDING}
    assert reached == set(states.State)
    # published has no way out: never sent twice
    assert not [pair for pair in states.TRANSITIONS if pair[0] is states.State.PUBLISHED]


def test_the_docs_table_lists_every_state() -> None:
    text = (REPO / "docs" / "publishing.md").read_text(encoding="utf-8")
    for state in states.State:
        assert f"| `{state.value}` |" in text


def test_the_docs_list_every_transition() -> None:
    text = (REPO / "docs" / "publishing.md").read_text(encoding="utf-8")
    for old, new in states.TRANSITIONS:
        assert f"| `{old.value}` → `{new.value}` |" in text
