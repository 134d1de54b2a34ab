"""The cron fast path says again what the last full run found needs a human (a vanished
calendar, a file with errors), without reading the calendars, while neither the inputs
nor the ledger's jobs changed: one broken file among a thousand no longer costs a full
run every minute, and is never said less loudly."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

import cmctl.project
from cmctl.ledger.store import LEDGER_NAME, Ledger
from tests.conftest import calendar, post


def _aged(root: Path) -> None:
    """Not "racy": written well before the stamp, on the test's clock."""
    old = time.time() - 60
    for path in [root / "cmctl.yaml", *(root / "calendars").glob("*.yaml")]:
        os.utime(path, (old, old))


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many runs read the calendars (full runs)."""
    seen: list[int] = []
    real = cmctl.project.open_project

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(cmctl.project, "open_project", spy)
    return seen


@pytest.fixture
def vanished(project: Any, run: Any, now: Any) -> Any:
    """Two calendars synced, then one file removed with its jobs still planned."""
    project.calendar(calendar(post("a", at="2026-12-10 09:30"), accounts="[feed]"), "a.yaml")
    project.calendar(calendar(post("b", at="2026-12-11 09:30"), accounts="[feed]"), "b.yaml")
    now.move_to("2026-12-01T08:00:00Z")
    _aged(project.root)
    assert run("publish").exit_code == 0
    (project.root / "calendars/b.yaml").unlink()
    return project


def test_a_vanished_calendar_is_said_on_every_run_without_a_full_run(
    vanished: Any, run: Any, now: Any, reads: list[int]
) -> None:
    first = run("publish")
    assert first.exit_code == 1 and "calendar 'b' is no longer in the project" in first.stderr
    assert reads == [1]
    for minute in range(1, 4):
        now.move_to(f"2026-12-01T08:0{minute}:00Z")
        again = run("publish")
        assert (again.exit_code, again.stdout, again.stderr) == (1, first.stdout, first.stderr)
    assert reads == [1]  # said from the ledger, the calendars unread
    as_json = run("publish", "--json")
    assert as_json.exit_code == 1 and '"vanished": {\n    "b": 1\n  }' in as_json.stdout
    assert reads == [1]
    assert run("cancel", "b").exit_code == 0  # the ledger's jobs changed: a full run
    done = run("publish")
    assert done.exit_code == 0 and "no longer" not in done.stderr
    assert reads == [1, 1]
    assert run("publish").exit_code == 0 and reads == [1, 1]  # and fast again


def test_a_file_with_errors_is_said_until_it_is_fixed(
    project: Any, run: Any, now: Any, reads: list[int]
) -> None:
    project.calendar(calendar(post("a", at="2026-12-10 09:30"), accounts="[feed]"), "a.yaml")
    broken = project.calendar(calendar(post("b", at="2026-12-11 09:30"), accounts="[nope]"))
    now.move_to("2026-12-01T08:00:00Z")
    _aged(project.root)
    first = run("publish")
    assert first.exit_code == 1 and "has errors" in first.stderr
    again = run("publish")
    assert (again.exit_code, again.stderr) == (1, first.stderr) and reads == [1]
    broken.write_text(calendar(post("b", at="2026-12-11 09:30"), accounts="[feed]"))
    _aged(project.root)
    os.utime(broken, (time.time() - 30, time.time() - 30))  # an edit: another mtime
    fixed = run("publish")
    assert fixed.exit_code == 0 and "has errors" not in fixed.stderr and reads == [1, 1]


def test_a_change_to_the_jobs_behind_its_back_means_a_full_run(
    vanished: Any, run: Any, now: Any, reads: list[int]
) -> None:
    """Any change to the jobs moves the ledger's mark (here one that logs no event)."""
    assert run("publish").exit_code == 1
    ledger = Ledger(vanished.root / ".cmctl" / LEDGER_NAME)
    try:
        with ledger.transaction() as db:
            db.execute("UPDATE jobs SET updated_at = '2026-12-01T08:00:30+00:00'")
    finally:
        ledger.close()
    assert run("publish").exit_code == 1 and reads == [1, 1]


def test_remembered_parts_that_do_not_add_up_mean_a_full_run(
    vanished: Any, run: Any, reads: list[int]
) -> None:
    """A ledger written by an older cmctl (lines only), or damaged: read in full."""
    assert run("publish").exit_code == 1
    ledger = Ledger(vanished.root / ".cmctl" / LEDGER_NAME)
    try:
        ledger.db.execute(
            "UPDATE meta SET value = json_remove(value, '$.vanished') WHERE name = 'attention'"
        )
        ledger.db.commit()
    finally:
        ledger.close()
    said = run("publish")
    assert said.exit_code == 1 and "no longer in the project" in said.stderr
    assert reads == [1, 1]


def test_publish_post_leaves_the_next_run_a_full_one(
    vanished: Any, run: Any, now: Any, reads: list[int]
) -> None:
    assert run("publish").exit_code == 1
    now.move_to("2026-12-01T08:05:00Z")
    assert run("publish", "--post", "a").exit_code == 1  # still says b
    assert run("publish").exit_code == 1 and reads == [1, 1, 1]
