"""`plan --json` writes each job's text from its packed rows (project.Packed): the same
text, byte for byte, as from the built Job (output._job_text)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from cmctl import output
from cmctl.ledger.store import JobState
from cmctl.project import load_config, open_project
from tests.conftest import DEFAULT_CONFIG, WEEKDAY_QUEUE, as_json, calendar, post

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def _write(project: Any) -> None:
    project.config(DEFAULT_CONFIG + WEEKDAY_QUEUE)
    project.write("calendars/media/a.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    project.calendar(
        calendar(
            post("a", "2026-12-01 09:30", "Bonjour « monde » 👋", thread=["deux", "trois"]),
            post(
                "b", "2026-12-01 10:00", "Avec image", media=[{"path": "media/a.png", "alt": "x"}]
            ),
            post("c", "2026-12-02 10:00", "Brouillon", status="draft"),
            post("d", "2026-12-03 10:00", "Article", title="Un titre", accounts=["feed"]),
            accounts="[masto, feed]",
        )
    )
    project.calendar(
        "timezone: Europe/Paris\nposts:\n"
        "  - id: q1\n    queue: weekdays\n    text: Queued one\n"
        "  - id: q2\n    queue: weekdays\n    text: Queued two\n",
        name="queued.yaml",
    )


STATES = [
    None,
    JobState("published", "other-hash", 1, "https://x/1", None),
    JobState("pending", None, 2, None, 'timeout "quoted"'),
    JobState("failed", None, 1, None, "refused"),
]


def test_packed_text_is_the_jobs_text(project: Any) -> None:
    _write(project)
    loaded = open_project(load_config(), now=NOW)
    assert not loaded.report.errors, loaded.diagnostics
    jobs = list(loaded.jobs)
    packed = list(loaded.jobs.packed())
    assert [p.key for p in packed] == [j.key for j in jobs] and len(jobs) >= 8
    assert any(j.post.queue for j in jobs) and any(j.media for j in jobs)
    assert any(j.title for j in jobs) and any(j.status == "draft" for j in jobs)
    for job, one in zip(jobs, packed, strict=True):
        assert (one.at, one.account, one.network, one.status, one.content_hash) == (
            job.at,
            job.account,
            job.network,
            job.status,
            job.content_hash,
        )
        for state in STATES:
            for newline in ("\n", "\n    "):
                want = output._job_text(output.PlanJob(job, state), newline)
                assert output._packed_text(output.PlanPacked(one, state), newline) == want
                assert json.loads(want) == output.job_dict(job, state)


def test_plan_json_is_job_dict_of_every_job(project: Any, run: Any, now: Any) -> None:
    _write(project)
    now.move_to(NOW)
    result = run("plan", "--json", "--drafts")
    assert result.exit_code == 0, result.output
    loaded = open_project(load_config(), now=NOW)
    assert as_json(result)["jobs"] == [output.job_dict(j) for j in loaded.jobs]
