"""Review of ``Project.errors`` (the calendars' errors without the checks that span
files), the sliced `plan --json` whose checks run in a process of their own, and the
lazy `validate`: exit codes and counts equal to a full load and to ``-j 1``."""

from __future__ import annotations

import re
from typing import Any

import pytest

from cmctl import cache
from tests import test_plan_lazy
from tests.conftest import as_json, calendar, post
from tests.test_cache import backdate
from tests.test_plan_lazy_review import _truncate_after_peek, broken_after_head, busy
from tests.test_plan_slices import _failing_child

__all__ = ["busy"]  # a fixture


@pytest.mark.parametrize("rows", [0, 10_000])  # lines copied from the children, or a table
@pytest.mark.parametrize("jobs", ["1", "2", "3"])
def test_a_file_broken_after_its_head_fails_a_sliced_plan(
    project: Any, run: Any, monkeypatch: pytest.MonkeyPatch, jobs: str, rows: int
) -> None:
    """Its rows read again in a slice's child, or its sightings in the checks' child:
    the error it now has must reach this process's exit code and count."""
    from cmctl import output

    monkeypatch.setattr(output, "STREAM_ROWS", rows)
    broken_after_head(project.root, run, monkeypatch)
    r = run("plan", "-j", jobs)
    assert "b1" not in r.stdout and "a1" in r.stdout
    assert r.exit_code == 1 and "1 error(s)" in r.stderr


@pytest.mark.parametrize("jobs", ["1", "2", "3"])
def test_a_file_broken_after_its_head_fails_a_sliced_json_plan(
    project: Any, run: Any, monkeypatch: pytest.MonkeyPatch, jobs: str
) -> None:
    broken_after_head(project.root, run, monkeypatch)
    r = run("plan", "--json", "-j", jobs)
    found = as_json(r)
    assert [j["post"] for j in found["jobs"]] == ["a1"]
    assert (found["errors"], r.exit_code) == (1, 1)


VALIDATE = (
    ("validate",),
    ("validate", "--format", "json"),
    ("validate", "--strict", "--format", "json"),
    ("validate", "--format", "github"),
    ("validate", "-j", "2", "--format", "json"),
    ("validate", "calendars/b.yaml", "--format", "json"),
    ("plan",),
    ("plan", "--json"),
    ("plan", "--json", "-j", "3"),
)


def _outputs(run: Any) -> list[str]:
    found = []
    for args in VALIDATE:
        r = run(*args)
        found.append(f"{' '.join(args)}\n{r.exit_code}\n{r.stdout}\n{r.stderr}")
    return found


@pytest.mark.parametrize(
    "damage",
    [
        None,
        test_plan_lazy._rows_section_damaged,
        test_plan_lazy._last_section_damaged,
        test_plan_lazy._removed,
        test_plan_lazy._truncated,
    ],
)
def test_validate_and_plan_of_a_busy_project_equal_a_full_load(
    busy: Any, run: Any, monkeypatch: pytest.MonkeyPatch, damage: Any
) -> None:
    """Errors, warnings from the checks that span files, a duplicate calendar: exit
    codes and counts from a cold cache, a warm one, and entries damaged right after
    their heads were read, are a full load's."""
    full = _outputs(run)
    assert "1" in [f.split("\n")[1] for f in full] and "2" not in [f.split("\n")[1] for f in full]
    (busy.root / ".cmctl").mkdir()
    assert _outputs(run) == full  # cold
    if damage is not None:
        _truncate_after_peek(monkeypatch, damage)
    assert _outputs(run) == full


@pytest.mark.parametrize("how", [None, "raise", "kill", "garbage"])
@pytest.mark.parametrize("args", [("plan", "--json"), ("plan",)], ids=" ".join)
def test_a_sliced_plan_of_a_busy_warm_project_is_the_one_process_plan(
    busy: Any, run: Any, monkeypatch: pytest.MonkeyPatch, how: str | None, args: tuple[str, ...]
) -> None:
    """The checks that span files left for later (no queued post): their child, or
    this process when it fails, counts what ``-j 1`` counts; the exit code is a full
    load's."""
    from cmctl import output

    monkeypatch.setattr(output, "STREAM_ROWS", 0)
    full = run(*args, "-j", "1")
    (busy.root / ".cmctl").mkdir()
    assert run(*args).exit_code == full.exit_code == 1
    if how is not None:
        _failing_child(how, monkeypatch)
    for jobs in ("1", "2", "3", "5"):
        many = run(*args, "-j", jobs)
        assert (many.exit_code, many.stdout, many.stderr) == (
            full.exit_code,
            full.stdout,
            full.stderr,
        )


LEDGERED = (
    ("validate", "--format", "json"),
    ("validate", "--strict"),
    ("validate", "calendars/good.yaml", "--format", "json"),
    ("plan",),
    ("plan", "--json"),
    ("plan", "--json", "-j", "3"),
    ("plan", "-j", "3"),
    ("publish", "--dry-run", "--json"),
)


def test_with_a_ledger_held_files_and_counts_equal_a_load_without_cache(
    project: Any, run: Any, now: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A broken file held by publish (its post neither sent nor cancelled), the checks
    that span files warning, a ledger: what validate, plan and publish say from a cold
    and a warm cache is what they say with no cache at all."""
    project.config(
        "accounts:\n  feed:\n    network: feed\n    path: public/feed.xml\n"
        "  xacct:\n    network: x\ndefaults:\n  timezone: Europe/Paris\n  min_gap: 2h\n"
    )
    project.calendar(
        calendar(
            post("a", at="2026-12-01 09:30", text="same"),
            post("c", at="2026-12-01 10:00"),
            *(post(f"x{i}", at=f"2026-12-02 {8 + i // 4:02}:{15 * (i % 4):02}") for i in range(20)),
            accounts="[feed, xacct]",
        ),
        name="good.yaml",
    )
    project.calendar(
        calendar(post("b", at="2026-12-01 09:30", text="same"), accounts="[feed]"),
        name="other.yaml",
    )
    now.move_to("2026-12-01T07:00:00Z")
    assert run("publish").exit_code == 0
    project.calendar(
        calendar(post("b", at="2026-12-01 09:30", txet="oops"), accounts="[feed]"),
        name="other.yaml",
    )
    backdate(project.root)
    real = cache.FileCache.open
    monkeypatch.setattr(cache.FileCache, "open", classmethod(lambda cls, config: None))
    full = _outputs_of(run, LEDGERED)
    assert [f.split("\n")[1] for f in full] == ["1", "1", "0", "1", "1", "1", "1", "1"]
    assert {"min-gap", "quota"} <= set(re.findall(r"\[([a-z-]+)\]", full[1]))
    assert '"held": [\n    "calendars/other.yaml"' in full[-1]
    monkeypatch.setattr(cache.FileCache, "open", real)
    assert _outputs_of(run, LEDGERED) == full  # cold
    assert _outputs_of(run, LEDGERED) == full  # warm


def _outputs_of(run: Any, commands: tuple[tuple[str, ...], ...]) -> list[str]:
    found = []
    for args in commands:
        r = run(*args)
        found.append(f"{' '.join(args)}\n{r.exit_code}\n{r.stdout}\n{r.stderr}")
    return found


def test_validate_of_queued_posts_from_a_warm_cache_equals_a_full_load(
    project: Any, run: Any
) -> None:
    """Queued posts (placed before the checks that span files run), a min_gap warned
    across queued and fixed posts, drafts, threads: validate's counts and exit code from the
    heads and sightings alone equal a full load's."""
    from tests.conftest import DEFAULT_CONFIG, WEEKDAY_QUEUE
    from tests.test_plan_slices import _write

    _write(project, files=3)
    project.config(
        DEFAULT_CONFIG.replace(
            "  timezone: Europe/Paris", "  timezone: Europe/Paris\n  min_gap: 1h"
        )
        + WEEKDAY_QUEUE
    )
    queued = "".join(f"  - id: q{i}\n    queue: weekdays\n    text: Q {i}\n" for i in range(60))
    project.calendar(f"timezone: Europe/Paris\nposts:\n{queued}", name="many.yaml")
    backdate(project.root)
    commands = (*VALIDATE[:5], ("plan", "--json"))
    full = _outputs_of(run, commands)
    assert '"rule": "min-gap"' in full[1]
    (project.root / ".cmctl").mkdir()
    assert _outputs_of(run, commands) == full
    assert _outputs_of(run, commands) == full
