"""The daemon wakes when a held job's catch-up window ends (cmctl.daemon.next_expiry):
a post held at its time is said missed then, not at whatever tick comes next."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cmctl import brake
from cmctl.daemon import JUDGED_AFTER, next_expiry
from cmctl.ledger.store import LEDGER_NAME, Ledger
from cmctl.publish.policy import window
from tests.conftest import calendar, post
from tests.test_daemon_units import mono  # noqa: F401 - the fixture

DUE = datetime(2026, 12, 1, 8, 30, tzinfo=UTC)  # 09:30 in Paris


def _held(project: Any, run: Any, now: Any) -> Ledger:
    project.calendar(
        calendar(
            post("a", at="2026-12-01 09:30"), post("b", at="2026-12-09 09:30"), accounts="[feed]"
        )
    )
    now.move_to("2026-12-01T07:00:00Z")
    assert run("publish").exit_code == 0  # the ledger learns the plan
    config = project.root / "cmctl.yaml"
    config.write_text(config.read_text() + "blackout:\n  - 2026-12-01\n")  # declared since
    now.move_to(DUE + timedelta(seconds=30))
    run("publish")  # a is held: not sent, still pending
    ledger = Ledger(next(project.root.rglob(LEDGER_NAME)))
    assert ledger.get("dec:a@feed").state == "pending"  # type: ignore[union-attr]
    return ledger


def test_a_held_job_wakes_the_daemon_when_its_window_ends(project: Any, run: Any, now: Any) -> None:
    ledger = _held(project, run, now)
    try:
        row = ledger.get("dec:a@feed")
        assert row is not None
        end = DUE + window(row) + JUDGED_AFTER
        assert next_expiry(ledger, after=DUE + timedelta(seconds=30)) == end
        assert ledger.next_wakeup(after=DUE) == datetime(2026, 12, 9, 8, 30, tzinfo=UTC)
        assert next_expiry(ledger, after=end) is None  # judged by then
        brake.pause(ledger, ["feed"], None, DUE, by="ana@laptop")
        assert next_expiry(ledger, after=DUE) is None  # the resume wakes it
    finally:
        ledger.close()
    now.move_to(end)
    run("publish")
    ledger = Ledger(next(project.root.rglob(LEDGER_NAME)))
    try:
        assert ledger.get("dec:a@feed").state == "pending"  # type: ignore[union-attr]
        brake.resume(ledger, [])
    finally:
        ledger.close()
    run("publish")
    ledger = Ledger(next(project.root.rglob(LEDGER_NAME)))
    try:
        assert ledger.get("dec:a@feed").state == "missed"  # type: ignore[union-attr]
    finally:
        ledger.close()


def test_a_retried_job_wakes_the_daemon_at_its_deadline(project: Any, run: Any, now: Any) -> None:
    from cmctl.publish.policy import deadline

    ledger = _held(project, run, now)
    try:
        with ledger.transaction() as db:
            db.execute("UPDATE jobs SET attempts = 1 WHERE key = 'dec:a@feed'")
        row = ledger.get("dec:a@feed")
        assert row is not None
        assert next_expiry(ledger, after=DUE) == deadline(row) + JUDGED_AFTER
    finally:
        ledger.close()


@pytest.mark.usefixtures("mono")  # the daemon's interval clock, faked
def test_the_daemon_sets_its_alarm_at_the_end_of_a_held_jobs_window(project: Any, now: Any) -> None:
    from tests.test_daemon_units import CONFIG, Harness
    from tests.test_daemon_units import calendar as daemon_calendar

    start = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    soon, tomorrow = start + timedelta(hours=1), start + timedelta(days=1)
    project.config(CONFIG)
    project.calendar(daemon_calendar(("soon", soon), ("tomorrow", tomorrow)), name="c.yaml")
    h = Harness(project)
    h.daemon.tick()  # the ledger learns the plan
    assert h.scheduler.alarms[-1] == soon
    project.config(CONFIG + "blackout:\n  - 2026-11-20\n")  # declared since
    h.daemon._reload_requested = True  # as its watch would (files changed)
    now.move_to(soon)
    h.daemon.tick()  # soon is held, not sent
    row = h.daemon.ledger.get("c:soon@feed")
    assert row is not None and row.state == "pending"
    assert h.scheduler.alarms[-1] == soon + window(row) + JUDGED_AFTER  # not tomorrow
    now.move_to(h.scheduler.alarms[-1])
    h.daemon.tick()
    assert h.daemon.ledger.get("c:soon@feed").state == "missed"  # type: ignore[union-attr]
    assert h.scheduler.alarms[-1] == tomorrow
