"""Queues after review: a slot in a DST gap warns, a cancelled post takes no slot."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest

from cmctl.queues import Placed, Queue, Remembered, Waiting, parse_slot, place
from tests.conftest import DEFAULT_CONFIG, WEEKDAY_QUEUE, as_json
from tests.test_publish import publish
from tests.test_queues import cal, plan, qpost

SUNDAY = """
queues:
  sunday:
    timezone: Europe/Paris
    slots: ["sun 02:30"]
    accounts: [feed]
"""


@pytest.fixture
def queued_project(project: Any) -> Any:
    project.config(DEFAULT_CONFIG + WEEKDAY_QUEUE)
    return project


# ---------------------------------------------------------------------------- DST gap
def test_a_post_placed_at_a_slot_in_a_dst_gap_says_so() -> None:
    queue = Queue("q", "Europe/Paris", (parse_slot("sun 02:30"),), ("a",))
    now = datetime(2027, 3, 22, tzinfo=UTC)  # a Monday
    got = place(
        [Waiting("c", "p1", "q", ("a",), None), Waiting("c", "p2", "q", ("a",), None)],
        {"q": queue},
        {},
        now,
    )
    # 2027-03-28 02:30 does not exist in Paris: 03:00 (01:00 UTC); the next Sunday is normal
    assert got[("c", "p1")] == Placed(
        datetime(2027, 3, 28, 1, 0, tzinfo=UTC), None, False, time(2, 30)
    )
    assert got[("c", "p2")] == Placed(datetime(2027, 4, 4, 0, 30, tzinfo=UTC), None, False)


def test_validate_warns_at_the_queue_line_of_a_post_a_dst_gap_moved(project: Any, run: Any) -> None:
    project.config(DEFAULT_CONFIG + SUNDAY)
    project.calendar(
        cal(qpost("p1", queue="sunday", after="2027-03-22"), qpost("p2", queue="sunday"))
    )
    result = run("validate")
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert (
        "queue slot 02:30 does not exist in Europe/Paris on 2027-03-28 (clocks jump "
        "forward): post 'p1' goes out at 03:00 then" in text
    )
    assert ":4:" in result.output  # p1's `queue:` line
    assert "post 'p2' goes out" not in text  # its Sunday (2026-11-22) is an ordinary one


# ---------------------------------------------------------------------------- cancelled
def test_a_cancelled_queued_post_keeps_its_time_and_takes_no_slot() -> None:
    queue = Queue("q", "UTC", (parse_slot("daily 09:00"),), ("a",))
    now = datetime(2027, 1, 1, tzinfo=UTC)
    recorded = datetime(2027, 1, 1, 9, 0, tzinfo=UTC)
    got = place(
        [Waiting("c", "p1", "q", ("a",), None), Waiting("c", "p2", "q", ("a",), None)],
        {"q": queue},
        {"c:p1@a": Remembered("skipped", recorded, cancelled=True)},
        now,
        min_gap=lambda account: timedelta(hours=2),
    )
    assert got[("c", "p1")] == Placed(recorded, None, False, cancelled=True)
    assert got[("c", "p2")] == Placed(recorded, None, False)  # its slot is free


def test_cmctl_queue_and_validate_ignore_a_cancelled_queued_post(project: Any, run: Any) -> None:
    config = DEFAULT_CONFIG.replace("  feed:\n", "  feed:\n    min_gap: 2h\n")
    project.config(config + WEEKDAY_QUEUE)
    project.calendar(cal(qpost("p1", "One"), qpost("p2", "Two")))
    assert publish(run)[0] == 0  # p1 Monday 09:00, p2 12:30
    assert run("cancel", "dec:p1").exit_code == 0
    jobs = plan(run)
    assert jobs["dec:p1@feed"]["slot"] == "2026-11-23T09:00:00+01:00"  # kept, skipped
    assert jobs["dec:p2@feed"]["slot"] == "2026-11-23T09:00:00+01:00"
    result = run("queue", "--json", "--days", "3")
    assert result.exit_code == 0, result.output
    taken = [(s["time"], s["post"]) for s in as_json(result) if s["post"]]
    assert taken == [("2026-11-23T09:00:00+01:00", "p2")]
    result = run("validate")
    assert "min_gap" not in result.output and "same time" not in result.output


def test_cmctl_queue_shows_the_slot_of_a_cancelled_queued_post_free(
    queued_project: Any, run: Any
) -> None:
    queued_project.calendar(cal(qpost("p1", "One"), qpost("p2", "Two")))
    assert publish(run)[0] == 0  # p1 Monday 09:00, p2 12:30
    assert run("cancel", "dec:p2").exit_code == 0
    result = run("queue", "--json", "--days", "3")
    assert result.exit_code == 0, result.output
    slots = {s["time"]: s["post"] for s in as_json(result)}
    assert slots["2026-11-23T09:00:00+01:00"] == "p1"
    assert slots["2026-11-23T12:30:00+01:00"] is None
