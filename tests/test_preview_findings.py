"""`validate` and `plan` tell what the ledger knows (held threads, inherited identities,
vanished calendars) without reading the whole ledger when little of it went out: the
findings are those of the full reconciliation."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from cmctl.ledger import preview
from tests.conftest import calendar, post


def _scenario(project: Any, run: Any, now: Any) -> None:
    feed = "[feed]"
    project.calendar(
        calendar(
            post("t", at="2026-12-01 09:30", text="A", thread=["B"]),
            post("p1", at="2026-12-01 09:40", text="one"),
            post("p2", at="2026-12-05 09:00", text="later"),
            accounts=feed,
        ),
        name="a.yaml",
    )
    b = calendar(
        post("q", at="2026-12-01 09:45", text="same post"),
        post("r", at="2026-12-06 09:00", text="pending"),
        accounts=feed,
    )
    project.calendar(b, name="b.yaml")
    project.calendar(calendar(post("z", at="2026-12-07 09:00"), accounts=feed), name="c.yaml")
    for n in range(3):  # posts nothing happened to, in a calendar that stays
        project.calendar(
            calendar(post(f"s{n}", at=f"2026-12-0{n + 2} 12:00"), accounts=feed),
            name=f"s{n}.yaml",
        )
    now.move_to("2026-12-01T08:50:00Z")
    assert run("publish").exit_code == 0
    # a started thread reshaped, a renamed file (new identities for sent posts), a
    # calendar gone, a pending post moved
    project.calendar(
        calendar(
            post("t", at="2026-12-01 09:30", text="X", thread=["A", "B"]),
            post("p1", at="2026-12-01 09:40", text="one"),
            post("p2", at="2026-12-05 10:00", text="later"),
            accounts=feed,
        ),
        name="a.yaml",
    )
    (project.root / "calendars/b.yaml").rename(project.root / "calendars/b2.yaml")
    (project.root / "calendars/c.yaml").unlink()


def _both(run: Any, monkeypatch: Any, *args: str) -> tuple[Any, Any]:
    fast = run(*args)
    with monkeypatch.context() as patched:  # the full reconciliation of every row
        patched.setattr(preview, "findings", preview.foresee)
        whole = run(*args)
    return fast, whole


def test_validate_and_plan_find_what_the_whole_ledger_says(
    project: Any, run: Any, now: Any, monkeypatch: Any
) -> None:
    _scenario(project, run, now)
    fast, whole = _both(run, monkeypatch, "validate", "--format", "json")
    assert fast.exit_code == whole.exit_code == 1
    assert fast.stdout == whole.stdout
    codes = {d["rule"] for d in json.loads(fast.stdout)["diagnostics"]}
    assert {"thread-shape", "identity-changed", "calendar-vanished"} <= codes, fast.stdout
    fast, whole = _both(run, monkeypatch, "plan", "--json")
    assert fast.stdout == whole.stdout
    notices = json.loads(fast.stdout)["notices"]
    assert sum(n["rule"] == "calendar-vanished" for n in notices) == 2  # b and c
    # a plan in slices says them from the process that runs the checks spanning files
    sliced = run("plan", "--json", "-j", "3")
    assert json.loads(sliced.stdout) == json.loads(fast.stdout)
    alone, sliced = run("plan", "-j", "1"), run("plan", "-j", "3")
    assert "calendar-vanished" in alone.stderr and "thread-shape" in alone.stderr
    assert (sliced.stdout, sliced.stderr) == (alone.stdout, alone.stderr)


@pytest.mark.parametrize("published", [False, True])
def test_the_findings_are_those_of_the_full_reconciliation(
    project: Any, run: Any, now: Any, published: bool
) -> None:
    from cmctl.project import load_config, open_project

    if published:
        _scenario(project, run, now)
    else:  # nothing went out: only vanished calendars to find
        project.calendar(calendar(post("z", at="2026-12-07 09:00"), accounts="[feed]"), "c.yaml")
        project.calendar(calendar(post("y", at="2026-12-07 09:00"), accounts="[feed]"), "d.yaml")
        now.move_to("2026-12-01T08:50:00Z")
        assert run("publish").exit_code == 0
        (project.root / "calendars/c.yaml").unlink()
    loaded = open_project(load_config(), keep=True, now=datetime(2026, 12, 1, 9, tzinfo=UTC))
    full = preview.foresee(loaded)
    found = preview.findings(loaded)
    assert full is not None and found is not None
    assert found.held_posts == full.held_posts
    assert found.vanished == full.vanished and found.vanished
    inherited = [(p.key, v) for p, v, _ in full.inserts if v["state"] != "pending"]
    assert [(p.key, v) for p, v, _ in found.inserts if v["state"] != "pending"] == inherited
    assert bool(inherited) == published
