"""Review of ``Project.errors`` (the calendars' errors without the checks that span
files), the sliced `plan --json` whose checks run in a process of their own, and the
lazy `validate`: exit codes and counts equal to a full load and to ``-j 1``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from cmctl import cache
from tests.conftest import as_json, calendar, post
from tests.test_cache import backdate


def _broken_after_head(project: Any, run: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two clean files, a warm cache; then b.yaml is saved broken (its entry rewritten
    by another run) right after this run read its head."""
    project.calendar(calendar(post("a1", at="2026-12-01 10:00")), "a.yaml")
    project.calendar(calendar(post("b1", at="2026-12-02 10:00")), "b.yaml")
    backdate(project.root)
    (project.root / ".cmctl").mkdir()
    assert run("plan").exit_code == 0
    real = cache.FileCache.peek

    def peek(self: cache.FileCache, path: Path, now: Any) -> Any:
        found = real(self, path, now)
        if found is not None and path.name == "b.yaml":
            path.write_text("posts: [\n")  # saved broken...
            backdate(project.root)
            os.unlink(f"/proc/self/fd/{self.fd}/{self.slot(path)}")  # ...entry gone
        return found

    monkeypatch.setattr(cache.FileCache, "peek", peek)


@pytest.mark.parametrize("rows", [0, 10_000])  # lines copied from the children, or a table
@pytest.mark.parametrize("jobs", ["1", "2", "3"])
def test_a_file_broken_after_its_head_fails_a_sliced_plan(
    project: Any, run: Any, monkeypatch: pytest.MonkeyPatch, jobs: str, rows: int
) -> None:
    """Its rows read again in a slice's child, or its sightings in the checks' child:
    the error it now has must reach this process's exit code and count."""
    from cmctl import output

    monkeypatch.setattr(output, "STREAM_ROWS", rows)
    _broken_after_head(project, run, monkeypatch)
    r = run("plan", "-j", jobs)
    assert "b1" not in r.stdout and "a1" in r.stdout
    assert r.exit_code == 1 and "1 error(s)" in r.stderr


@pytest.mark.parametrize("jobs", ["1", "2", "3"])
def test_a_file_broken_after_its_head_fails_a_sliced_json_plan(
    project: Any, run: Any, monkeypatch: pytest.MonkeyPatch, jobs: str
) -> None:
    _broken_after_head(project, run, monkeypatch)
    r = run("plan", "--json", "-j", jobs)
    found = as_json(r)
    assert [j["post"] for j in found["jobs"]] == ["a1"]
    assert (found["errors"], r.exit_code) == (1, 1)
