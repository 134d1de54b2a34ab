"""What `validate` and `plan` say of the ledger (``preview.findings_in``: held threads,
new identities that inherit, vanished calendars) is what the full reconciliation of
every row finds, whatever happened to the rows."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest

from cmctl.ledger.preview import findings_in
from cmctl.ledger.reconcile import Reconciliation, reconcile
from cmctl.ledger.store import Ledger, read_known
from tests.ledger.random_ledgers import CALENDARS, NOW, first_plan, live, second_plan


def _said(found: Reconciliation) -> tuple[object, ...]:
    inherited = [
        (planned.key, values)
        for planned, values, _ in found.inserts
        if values["state"] in ("published", "unknown")
    ]
    return found.held_posts, inherited, found.vanished


@pytest.mark.parametrize("seed", range(40))
def test_the_findings_are_those_of_the_full_reconciliation(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    ledger = Ledger.open(tmp_path / "state")
    first = first_plan(rng)
    ledger.sync(first, NOW, present=set(CALENDARS))
    live(ledger.path, rng)
    ledger.close()
    present = {"c0", "c1", "c2", "c5", "c6"}  # c4 vanished, c2 held (errors)
    held = {"c2"}
    second = [job for job in second_plan(rng, first) if job.calendar not in ("c2", "c4")]
    with sqlite3.connect(ledger.path) as db:
        full = reconcile(read_known(db), second, present=present, held=held)
        found = findings_in(db, lambda: second, present=present, held=held, planned=lambda j: j)
    assert _said(found) == _said(full)


def test_the_random_ledgers_have_all_there_is_to_find(tmp_path: Path) -> None:
    """(the test above is only worth its scenarios)"""
    held = inherited = vanished = 0
    for seed in range(40):
        rng = random.Random(seed)
        ledger = Ledger.open(tmp_path / str(seed))
        first = first_plan(rng)
        ledger.sync(first, NOW, present=set(CALENDARS))
        live(ledger.path, rng)
        ledger.close()
        second = [job for job in second_plan(rng, first) if job.calendar not in ("c2", "c4")]
        with sqlite3.connect(ledger.path) as db:
            full = reconcile(
                read_known(db), second, present={"c0", "c1", "c2", "c5", "c6"}, held={"c2"}
            )
        said = _said(full)
        held += bool(said[0])
        inherited += bool(said[1])
        vanished += bool(said[2])
    assert held >= 10 and inherited >= 10 and vanished >= 10, (held, inherited, vanished)
