"""The paths that keep large projects fast: streamed JSON, light jobs, the worker pool."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from cmctl import output


@pytest.mark.parametrize(
    "data",
    [
        {"a": [], "b": {}, "c": [1, 2.5, None, True, False, 'é\n"x\u2028', {"d": [{}]}]},
        {3: 2, None: 3, True: 4, 2.5: 1, "nan": float("nan"), "inf": [float("-inf")]},
        [],
        {},
        "text",
        7,
        [datetime(2026, 12, 1, tzinfo=UTC), (1, 2), [[[]]]],
    ],
)
def test_echo_json_writes_what_json_dumps_would(data: Any, capsys: Any) -> None:
    output.echo_json(data)
    expected = json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n"
    assert capsys.readouterr().out == expected


def test_echo_json_writes_a_generator_as_a_list(capsys: Any) -> None:
    output.echo_json({"jobs": ({"n": i} for i in range(5000)), "empty": (i for i in ())})
    expected = {"jobs": [{"n": i} for i in range(5000)], "empty": []}
    assert capsys.readouterr().out == json.dumps(expected, indent=2) + "\n"


def _many_calendars(project: Any) -> None:
    from tests.conftest import calendar, post

    for n in range(5):
        posts = [
            post(
                f"p{i}", at=f"2026-12-{2 + i:02d} 10:00", text=f"Post {n}/{i} é 🎉", status="draft"
            )
            if i == 3
            else post(f"p{i}", at=f"2026-12-{2 + i:02d} 1{n}:00", text=f"Post {n}/{i} é 🎉")
            for i in range(4)
        ]
        posts.append(
            post("t", at="2026-12-03 08:00", text="Thread", thread=["two", "three"])
            + "    variants:\n      feed:\n        text: Only in the feed\n"
        )
        project.calendar(calendar(*posts, accounts="[masto, feed]"), name=f"f{n}.yaml")


def test_plan_from_the_worker_pool_is_the_plan_of_one_process(
    project: Any, run: Any, monkeypatch: Any
) -> None:
    import cmctl.project

    _many_calendars(project)
    monkeypatch.setattr(cmctl.project, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(cmctl.project, "worker_count", lambda workers: 1)
    one = run("plan", "--json", "--drafts")
    monkeypatch.setattr(cmctl.project, "worker_count", lambda workers: 3)
    pooled = run("plan", "--json", "--drafts")
    assert one.exit_code == pooled.exit_code == 0, one.stdout + one.stderr
    assert pooled.stdout == one.stdout
    jobs = json.loads(pooled.stdout)["jobs"]
    assert len(jobs) == 5 * (4 * 2 + 3 * 2)
    assert {j["text"] for j in jobs if j["post"] == "t" and j["account"] == "feed"} == {
        "Only in the feed",
        "two",
        "three",
    }
    assert sum(j["status"] == "draft" for j in jobs) == 10


def test_kept_jobs_do_not_hold_their_posts_content(project: Any, monkeypatch: Any) -> None:
    import cmctl.project
    from cmctl.project import load_config, open_project

    _many_calendars(project)
    for count in (1, 2):
        monkeypatch.setattr(cmctl.project, "PARALLEL_MIN_BYTES", 0)
        monkeypatch.setattr(cmctl.project, "worker_count", lambda workers, c=count: c)
        loaded = open_project(load_config(), now=datetime(2026, 12, 1, tzinfo=UTC))
        assert loaded.jobs and all(j.post.content.text is None for j in loaded.jobs)
        assert all(not c.posts for c in loaded.calendars)
        assert {c.name for c in loaded.calendars} == {f"f{n}" for n in range(5)}


def test_a_large_human_plan_is_written_line_by_line(
    project: Any, run: Any, monkeypatch: Any
) -> None:
    import cmctl.output

    _many_calendars(project)
    table = run("plan").stdout
    monkeypatch.setattr(cmctl.output, "STREAM_ROWS", 3)
    result = run("plan", "--drafts")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        "when",
        "(local)",
        "UTC",
        "account",
        "network",
        "post",
        "text",
        "length",
        "state",
    ]
    first = lines[1].split()
    assert first == [
        "Wed",
        "2026-12-02",
        "10:00",
        "CET",
        "09:00Z",
        "feed",
        "feed",
        "p0",
        "Post",
        "0/0",
        "é",
        "🎉",
        "12",
        "planned",
    ]
    assert "p3 (draft)" in result.stdout
    assert "↳ two" in result.stdout and "Only in the feed" in result.stdout
    assert lines[-1] == "70 jobs from 25 posts"
    assert len(lines) == 72
    assert "70 jobs from 25 posts" not in table  # the small plan keeps its table
    assert "60 jobs from 20 posts" in table and "│" not in table


def test_status_does_not_load_the_calendar_machinery(project: Any) -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from cmctl.cli import main\n"
        "sys.argv = ['cmctl', 'status']\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "loaded = [m for m in ('cmctl.project', 'cmctl.compile', 'cmctl.calendar.loader')"
        " if m in sys.modules]\n"
        "print('LOADED', loaded)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert "LOADED []" in done.stdout, done.stdout + done.stderr


def test_plan_jobs_are_written_as_their_job_dict(project: Any) -> None:
    """`plan --json` writes each job's text in one call: it is job_dict's, whatever the
    job (media, thread part, draft, variant) and whatever the ledger says of it."""
    import io
    import sys

    from cmctl.ledger.store import JobState
    from cmctl.project import load_config, open_project
    from tests.conftest import calendar, post
    from tests.test_validate import png

    _many_calendars(project)
    project.write("calendars/media/a.png", png())
    project.calendar(
        calendar(
            post(
                "m",
                at="2026-12-04 10:00",
                text='Quote "x" \\ and\ttab',
                media=[{"path": "media/a.png", "alt": 'an "alt" é'}, {"path": "media/a.png"}],
            ),
            accounts="[masto, feed]",
        ),
        name="m.yaml",
    )
    loaded = open_project(load_config(), now=datetime(2026, 12, 1, tzinfo=UTC))
    assert any(j.media for j in loaded.jobs) and any(j.limit is None for j in loaded.jobs)
    rows = [
        None,
        JobState("published", "another", 1, 'https://example.org/"1"', None),
        JobState("pending", None, 2, None, "HTTP 503 é"),
        JobState("failed", None, 1, None, "refused"),
    ]
    for row in rows:
        out = io.StringIO()
        saved, sys.stdout = sys.stdout, out
        try:
            output.echo_json({"jobs": (output.PlanJob(j, row) for j in loaded.jobs), "n": 1})
        finally:
            sys.stdout = saved
        expected = {"jobs": [output.job_dict(j, row) for j in loaded.jobs], "n": 1}
        assert out.getvalue() == json.dumps(expected, ensure_ascii=False, indent=2) + "\n"
