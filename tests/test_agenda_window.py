"""`cmctl agenda` reads only the stretch of the plan its grid shows (Jobs.between), and
shows exactly what a grid built from every job shows."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from cmctl import agenda
from cmctl.project import Rows, load_config, open_project
from cmctl.timeutil import zone
from tests.conftest import as_json, calendar, post

ZONES = ("Pacific/Kiritimati", "Pacific/Pago_Pago", "Europe/Paris", "America/New_York")


def _months(project: Any) -> None:
    """One file a month and zone; posts at the edges of each local day and month."""
    for n, tz in enumerate(ZONES):
        posts = []
        for month in (11, 12):
            last = 30 if month == 11 else 31
            for day, hour in ((1, "00:30"), (15, "12:00"), (last, "23:30")):
                status = {"status": "draft"} if day == 15 and n % 2 else {}
                posts.append(
                    post(
                        f"m{month}d{day}", f"2026-{month}-{day:02d} {hour}", f"Hello {tz}", **status
                    )
                )
        project.calendar(calendar(*posts, accounts="[feed]", tz=tz), name=f"z{n}.yaml")
    project.calendar(
        calendar(post("later", "2027-03-01 10:00", "Far later"), accounts="[feed]"),
        name="later.yaml",
    )


def _entries(grid: agenda.Grid) -> list[tuple[date, str, str, bool]]:
    return [(day, e.time, e.post, e.draft) for day in sorted(grid.days) for e in grid.days[day]]


@pytest.mark.parametrize("span", ["month", "week"])
@pytest.mark.parametrize("anchor", ["2026-11-01", "2026-11-30", "2026-12-01", "2026-12-31"])
def test_the_window_holds_every_job_of_the_grid(project: Any, span: str, anchor: str) -> None:
    _months(project)
    loaded = open_project(load_config(), now=datetime(2026, 10, 1, tzinfo=UTC))
    tz = zone("Europe/Paris")
    day = date.fromisoformat(anchor)
    every = agenda.build(list(loaded.jobs), tz, day, span)
    shown = agenda.build(list(loaded.jobs.between(*agenda.window(day, span, tz))), tz, day, span)
    assert _entries(shown) == _entries(every) and _entries(every)


def test_agenda_unpacks_only_the_files_of_its_month(
    project: Any, run: Any, monkeypatch: Any
) -> None:
    _months(project)
    opened: list[str] = []
    real = Rows.jobs

    def jobs(rows: Any) -> Any:
        opened.append(rows.first[1])
        return real(rows)

    monkeypatch.setattr(Rows, "jobs", jobs)
    data = as_json(run("agenda", "--date", "2027-03-10", "--json"))
    assert [p["post"] for d in data["days"] for p in d["posts"]] == ["later"]
    assert opened == ["later"]


def test_the_default_month(project: Any, run: Any, now: Any) -> None:
    _months(project)
    now.move_to("2026-12-20T10:00:00Z")  # posts to come: this month
    assert as_json(run("agenda", "--json"))["title"] == "December 2026"
    now.move_to("2027-06-01T10:00:00Z")  # nothing to come: the first planned month
    # (Kiritimati's 1 November 00:30 is 31 October in the project's zone)
    assert as_json(run("agenda", "--json"))["title"] == "October 2026"
    assert as_json(run("agenda", "--json", "--no-drafts"))["title"] == "October 2026"
