"""A first sync (an empty ledger) takes reconciliation's short way: the same changes."""

from __future__ import annotations

import pytest

from cmctl.ledger import reconcile as module
from cmctl.ledger.reconcile import Known, Planned, reconcile

T = "2026-12-01T08:30:00.000000Z"


def _plan() -> list[Planned]:
    jobs = []
    for i in range(40):
        parts = 3 if i % 7 == 0 else 1
        for part in range(parts):
            key = f"c{i % 3}:p{i}@a{i % 2}" + (f"#{part}" if part else "")
            digest = "same" if i in (5, 6) else f"h{i}"  # twins: not inherited from nothing
            jobs.append(
                Planned(
                    key, f"c{i % 3}", f"p{i}", f"a{i % 2}", part, "feed", digest, T, 60, i % 5 == 0
                )
            )
    return jobs


def test_an_empty_ledger_gives_what_the_general_path_gives() -> None:
    plan = _plan()
    fast = reconcile([], iter(plan), present={"c0", "c1", "c2"})
    # one row of a vanished calendar: the general path runs, and changes nothing of the plan
    other = Known("gone:x@a", "gone", "x", "a", 0, "feed", "pending", "h", None, T, 60)
    general = reconcile([other], plan, present={"c0", "c1", "c2"})
    # the general path goes a calendar at a time: the same inserts, grouped by calendar
    assert general.inserts == sorted(fast.inserts, key=lambda insert: insert[0].calendar)
    assert [p for p, _, _ in fast.inserts] == plan  # the plan's order
    assert fast.stats == general.stats
    assert fast.stats["drafts"] == sum(p.draft for p in plan) > 0
    assert (fast.updates, fast.held_posts, fast.vanished) == ([], {}, {})
    assert general.vanished == {"gone": 1}


def test_an_empty_ledger_looks_for_no_conflict_or_heir(monkeypatch: pytest.MonkeyPatch) -> None:
    def never(*_: object) -> None:
        raise AssertionError("the general path")

    monkeypatch.setattr(module, "_thread_conflict", never)
    monkeypatch.setattr(module, "inheritable", never)
    assert len(reconcile([], _plan(), present={"c0"}).inserts) == len(_plan())
