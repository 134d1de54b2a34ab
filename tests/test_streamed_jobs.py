"""The plan kept packed and streamed: jobs built one at a time, only where needed."""

from __future__ import annotations

import heapq
import json
from datetime import UTC, datetime
from typing import Any

from tests.conftest import calendar, post

NOW = datetime(2026, 11, 20, tzinfo=UTC)


def _weeks(project: Any, files: int = 4) -> None:
    """One file a week, each after the last; plus one that spans them all, with ties."""
    for n in range(files):
        posts = [
            post(f"p{i}", at=f"2026-12-{1 + 7 * n + i:02d} 10:00", text=f"Week {n} post {i}")
            for i in range(3)
        ]
        posts.append(post("t", at=f"2026-12-{2 + 7 * n:02d} 11:00", thread=["two", "three"]))
        project.calendar(calendar(*posts, accounts="[feed]"), name=f"w{n}.yaml")
    every = [post(f"e{n}", at=f"2026-12-{1 + 7 * n:02d} 10:00", text=f"Also {n}") for n in range(4)]
    project.calendar(calendar(*every, accounts="[feed]"), name="all.yaml")


def _load(project: Any) -> Any:
    from cmctl.project import load_config, open_project

    return open_project(load_config(), now=NOW)


def _order(job: Any) -> tuple[Any, ...]:
    return (job.at, job.calendar, job.post_id, job.account, job.part)


def test_jobs_come_in_plan_order_across_files(project: Any) -> None:
    _weeks(project)
    jobs = _load(project).jobs
    keys = [j.key for j in jobs]
    assert len(keys) == len(jobs) == 4 * (3 + 3) + 4
    by_file = [list(f.jobs()) for f in jobs._files]
    merged = heapq.merge(*([j for _, j in rows] for rows in by_file), key=_order)
    assert keys == [j.key for j in merged]  # heapq.merge's order, ties by file
    assert keys == [j.key for j in sorted(jobs, key=_order)]
    assert [j.key for j in jobs] == keys  # a second pass gives the same plan
    assert jobs[0].key == keys[0]


def test_a_file_is_unpacked_only_when_its_time_comes(project: Any, monkeypatch: Any) -> None:
    from cmctl.project import Rows

    _weeks(project)
    jobs = _load(project).jobs
    opened: list[int] = []
    real = Rows.jobs

    def jobs_of(rows: Any) -> Any:
        opened.append(jobs._files.index(rows))
        return real(rows)

    monkeypatch.setattr(Rows, "jobs", jobs_of)
    names = [f.name for f in sorted((project.root / "calendars").glob("*.yaml"))]
    assert names[0] == "all.yaml"  # files in this order: all, w0, w1, w2, w3
    stream = iter(jobs)
    assert next(stream).key == "all:e0@feed" and opened == [0]  # nothing else yet
    assert next(stream).key == "w0:p0@feed" and opened == [0, 1]
    seen = 2
    for job in stream:
        seen += 1
        if job.calendar == "w1":
            break
        assert opened == [0, 1]  # the later weeks wait for their time
    assert opened == [0, 1, 2]
    assert seen + len(list(stream)) == len(jobs) and opened == [0, 1, 2, 3, 4]


def test_the_ledger_facts_are_those_of_the_built_jobs(project: Any) -> None:
    from cmctl.ledger.store import planned_job

    _weeks(project)
    jobs = _load(project).jobs
    built = [(n, planned_job(j)) for n, j in jobs.numbered()]
    # file by file, each file's in plan order
    assert [(n, planned_job(f)) for n, f in jobs.facts()] == sorted(built, key=lambda b: b[0])
    assert {n for n, _ in built} == set(range(5))


def test_plan_reads_the_ledger_states_in_batches(
    project: Any, run: Any, now: Any, monkeypatch: Any
) -> None:
    import cmctl.planview

    _weeks(project)
    now.move_to("2026-12-01T09:01:00Z")  # 10:01 Paris: w0:p0 and all:e0 are due
    assert run("publish").exit_code == 0
    whole = run("plan", "--json", "--drafts")
    monkeypatch.setattr(cmctl.planview, "STATE_BATCH", 3)
    batched = run("plan", "--json", "--drafts")
    assert batched.stdout == whole.stdout
    states = {j["key"]: j["state"] for j in json.loads(batched.stdout)["jobs"]}
    assert states["w0:p0@feed"] == "published" and states["all:e0@feed"] == "published"
    assert states["w1:p0@feed"] == "pending"
    text = run("plan").stdout
    monkeypatch.setattr(cmctl.output, "STREAM_ROWS", 5)
    lines = run("plan").stdout.splitlines()
    assert "published" in lines[1] and lines[-1] == f"{len(states)} jobs from 20 posts"
    assert text.count("published") == sum(line.count("published") for line in lines)


def test_drafts_hidden_are_counted_as_the_plan_streams(project: Any, run: Any) -> None:
    project.calendar(
        calendar(
            post("a", at="2026-12-02 10:00"),
            post("d", at="2026-12-03 10:00", status="draft"),
            accounts="[masto, feed]",
        )
    )
    data = json.loads(run("plan", "--json").stdout)
    assert [j["key"] for j in data["jobs"]] == ["dec:a@feed", "dec:a@masto"]
    assert data["drafts_hidden"] == 2
    assert list(data) == ["jobs", "drafts_hidden", "errors", "warnings", "notices"]


def test_publish_builds_only_the_jobs_it_may_send(
    project: Any, run: Any, now: Any, monkeypatch: Any
) -> None:
    from cmctl.project import Rows

    _weeks(project)
    built: list[str] = []
    real = Rows.jobs

    def jobs_of(rows: Any) -> Any:
        for order, job in real(rows):
            built.append(job.key)
            yield order, job

    monkeypatch.setattr(Rows, "jobs", jobs_of)
    now.move_to("2026-12-01T09:01:00Z")  # 10:01 Paris: w0:p0 and all:e0 are due
    result = run("publish", "--json")
    assert result.exit_code == 0, result.stdout + result.stderr
    sent = sorted(o["key"] for o in json.loads(result.stdout)["outcomes"])
    assert sent == ["all:e0@feed", "w0:p0@feed"]
    # the files of the due jobs, not the three later weeks (the sync builds no job)
    assert {k.split(":")[0] for k in built} == {"w0", "all"}


def test_a_file_too_broken_to_load_leaves_the_others_planned(project: Any, run: Any) -> None:
    project.calendar(calendar(post("a", at="2026-12-02 10:00"), accounts="[feed]"))
    project.calendar("posts: [unclosed\n", name="broken.yaml")
    result = run("plan", "--json")
    assert result.exit_code == 1
    assert [j["key"] for j in json.loads(result.stdout)["jobs"]] == ["dec:a@feed"]
