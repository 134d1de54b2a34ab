"""`plan` reads a cached project lazily (``open_project(lazy=True)``): each file's head
first, its jobs when a pass over the plan reaches them, the checks that span files
after the rows. What it shows must be what a full load shows, whatever happens to the
cache between the head and the rest."""

from __future__ import annotations

import gc
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from cmctl import cache, rules
from cmctl import project as project_mod
from cmctl.config import load
from tests.conftest import WEEKDAY_QUEUE, as_json, calendar, post
from tests.test_cache import backdate, entries

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def proj(project: Any) -> Any:
    """Two files with project-wide findings (the same post twice across them, X's daily
    quota exceeded over both), one with an error of its own, posts before and after a
    cut: every kind of diagnostic the lazy load leaves for later or reads at once."""
    project.calendar(
        calendar(
            *(post(f"a{i}", at=f"2026-12-01 {8 + i // 2:02}:{30 * (i % 2):02}") for i in range(10)),
            post("twin", at="2026-12-05 10:00", text="same text"),
            post("long", at="2026-12-06 10:00", text="x" * 600),
            accounts="[xacct, masto]",
        ),
        "a.yaml",
    )
    project.calendar(
        calendar(
            *(
                post(f"b{i}", at=f"2026-12-01 {14 + i // 2:02}:{30 * (i % 2):02}")
                for i in range(10)
            ),
            post("twin", at="2026-12-05 10:00", text="same text"),
            post("late", at="2027-03-01 10:00", text="spring"),
            accounts="[xacct, masto]",
        ),
        "b.yaml",
    )
    backdate(project.root)
    return project


def said(run: Any, *commands: tuple[str, ...]) -> tuple[str, ...]:
    """Each command's exit code, stdout and stderr."""
    return tuple(f"{r.exit_code}\n{r.stdout}\n{r.stderr}" for r in (run(*c) for c in commands))


def outputs(run: Any) -> tuple[str, ...]:
    return said(
        run,
        ("plan", "--json"),
        ("plan",),
        ("plan", "--json", "--from", "2026-12-05"),
        ("plan", "-j", "3", "--json"),
    )


def test_a_lazy_plan_is_the_full_plan(proj: Any, run: Any) -> None:
    full = outputs(run)  # no state folder: no cache, a full load
    found = as_json(run("plan", "--json"))
    assert found["errors"] == 2 and found["warnings"] == 2  # too long x2; twice, quota
    (proj.root / ".cmctl").mkdir()
    assert outputs(run) == full  # cold: compiled and stored
    assert len(entries(proj.root)) == 2
    assert outputs(run) == full  # warm: read lazily


def _open(proj: Any) -> project_mod.Project:
    return project_mod.open_project(load(proj.root / "cmctl.yaml"), now=NOW, lazy=True)


@pytest.fixture
def warm(proj: Any, run: Any) -> Any:
    (proj.root / ".cmctl").mkdir()
    run("validate")
    run("plan")
    return proj


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The entries' sections read, by entry name."""
    seen: list[str] = []
    real = cache.Section.read

    def spy(self: cache.Section) -> bytes | None:
        seen.append(self.name)
        return real(self)

    monkeypatch.setattr(cache.Section, "read", spy)
    return seen


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How often the quota check (one of the checks that span files) ran."""
    ran: list[int] = []
    real = rules.check_quotas

    def spy(*args: Any) -> Any:
        ran.append(1)
        return real(*args)

    monkeypatch.setattr(rules, "check_quotas", spy)
    return ran


def test_only_heads_are_read_until_jobs_or_checks_are_wanted(
    warm: Any, reads: list[str], checks: list[int]
) -> None:
    p = _open(warm)
    assert reads == [] and checks == []
    assert p.job_count == 48 and len(p.calendars) == 2  # counts and calendars from heads
    spring = [j.post.id for j in p.jobs.between(datetime(2027, 1, 1, tzinfo=UTC), None)]
    assert spring == ["late", "late"]
    assert len(reads) == 1  # only b.yaml's jobs: a.yaml has none in 2027
    reads.clear()
    report = p.report
    assert checks == [1] and len(reads) == 2  # every file's sightings, read once
    assert {d.rule for d in report.items} == {"same-post-twice", "quota", "length"}
    assert p.report is report and checks == [1]


def test_a_full_load_reads_the_jobs_at_once(warm: Any, reads: list[str]) -> None:
    """What publishes sees one version of each file in every pass: the jobs are read
    with the head; the sightings only when the report is (publish never reads it)."""
    p = project_mod.open_project(load(warm.root / "cmctl.yaml"), now=NOW)
    assert len(reads) == 2
    assert len(list(p.jobs)) == 48 and len(list(p.jobs)) == 48
    assert len(reads) == 2 and p.errors  # the errors need no sightings
    assert len(reads) == 2
    assert p.report.warnings == 2 and len(reads) == 4


def _rows_section_damaged(entry: Path) -> None:
    data = bytearray(entry.read_bytes())
    length = int.from_bytes(data[cache.HEADER - 8 : cache.HEADER], "big")
    data[cache.HEADER + length + 5] ^= 0xFF  # the first section: the jobs
    entry.write_bytes(bytes(data))


def _last_section_damaged(entry: Path) -> None:
    data = bytearray(entry.read_bytes())
    data[-3] ^= 0xFF  # the last section: the sightings
    entry.write_bytes(bytes(data))


def _removed(entry: Path) -> None:
    entry.unlink()


def _truncated(entry: Path) -> None:
    entry.write_bytes(entry.read_bytes()[: cache.HEADER + 10])


@pytest.mark.parametrize(
    "damage", [_rows_section_damaged, _last_section_damaged, _removed, _truncated]
)
def test_an_entry_damaged_after_its_head_was_read_is_compiled_again(warm: Any, damage: Any) -> None:
    expected = _open(warm)
    jobs = [(j.key, j.text, j.at) for j in expected.jobs]
    found = sorted(expected.diagnostics)
    p = _open(warm)
    for entry in entries(warm.root):
        damage(entry)
    assert [(j.key, j.text, j.at) for j in p.jobs] == jobs
    assert sorted(p.diagnostics) == found
    for entry in entries(warm.root):  # and stored again, sound
        assert cache.FileCache.open(load(warm.root / "cmctl.yaml")) is not None
        assert entry.stat().st_size > cache.HEADER + 100


def test_a_file_edited_after_its_head_was_read_shows_as_it_is_now(warm: Any, run: Any) -> None:
    """Another run rewrote the entry in between (the file was edited): the pass reads
    the file as it is now, never a mix, never a traceback."""
    p = _open(warm)
    text = (warm.root / "calendars/b.yaml").read_text()
    (warm.root / "calendars/b.yaml").write_text(text.replace("spring", "summer"))
    backdate(warm.root)
    run("validate")  # rewrites b.yaml's entry
    late = [j for j in p.jobs if j.post.id == "late"]
    assert [j.text for j in late] == ["summer", "summer"]


def test_queued_posts_are_placed_before_the_rows(project: Any, run: Any) -> None:
    """A queued post's time depends on every file: a project with one is checked at once."""
    project.config(project.root.joinpath("cmctl.yaml").read_text() + WEEKDAY_QUEUE)
    project.calendar(
        "timezone: Europe/Paris\nposts:\n"
        "  - id: q1\n    queue: weekdays\n    accounts: [feed]\n    text: queued\n"
        "  - id: d1\n    at: 2026-12-01 09:00\n    accounts: [feed]\n    text: dated\n",
        "q.yaml",
    )
    backdate(project.root)
    full = [run("plan", "--json").stdout, run("plan").stdout]
    (project.root / ".cmctl").mkdir()
    run("plan")
    assert [run("plan", "--json").stdout, run("plan").stdout] == full
    p = _open(project)
    assert p._later is None  # checked at once


def test_the_cache_folder_is_closed_when_the_lazy_project_goes(warm: Any) -> None:
    before = set(os.listdir("/proc/self/fd"))
    p = _open(warm)
    assert len(list(p.jobs)) == 48
    assert len(set(os.listdir("/proc/self/fd")) - before) == 1  # the cache folder
    del p
    gc.collect()
    assert set(os.listdir("/proc/self/fd")) - before == set()


def test_installed_distributions_are_in_the_fingerprint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hashlib

    def fingerprint() -> bytes:
        h = hashlib.sha256()
        cache._installed(h)
        return h.digest()

    site = tmp_path / "site"
    site.mkdir()
    (tmp_path / "script").mkdir()
    monkeypatch.setattr("sys.path", [str(tmp_path / "script"), str(site), str(tmp_path / "nope")])
    empty = fingerprint()
    (tmp_path / "script" / "tool.py").write_text("")  # a folder without distributions
    assert fingerprint() == empty
    plugin = site / "cmctl_acme-1.0.dist-info"
    plugin.mkdir()
    one = fingerprint()
    assert one != empty
    (plugin / "entry_points.txt").write_text("[cmctl.networks]\nacme = acme:Network\n")
    registered = fingerprint()
    assert registered != one
    plugin.rename(site / "cmctl_acme-1.1.dist-info")
    assert fingerprint() not in (empty, one, registered)


def test_the_checks_that_span_files_only_warn(proj: Any, run: Any) -> None:
    """``Project.errors`` (a human plan's error count, publish's held files) does not run
    them: it is exact only while they never say an error."""
    config = proj.root / "cmctl.yaml"
    config.write_text(config.read_text() + "  min_gap: 2h\n")  # under defaults:
    backdate(proj.root)
    found = as_json(run("validate", "--format", "json"))["diagnostics"]
    spanning = [d for d in found if d["rule"] in ("same-post-twice", "quota", "min-gap")]
    assert {d["rule"] for d in spanning} == {"same-post-twice", "quota", "min-gap"}
    assert {d["severity"] for d in spanning} == {"warning"}


def test_a_human_plan_never_reads_the_sightings(
    warm: Any, run: Any, reads: list[str], checks: list[int]
) -> None:
    shown = run("plan", "--from", "2027-01-01")
    assert shown.exit_code == 1 and "✗ 2 error(s)" in shown.stderr  # a.yaml's, from its head
    assert checks == [] and len(reads) == 1  # b.yaml's jobs only
    assert run("plan", "--json").exit_code == 1 and checks == [1]  # it counts the warnings


def test_validate_reads_only_the_sightings_of_a_cached_file(
    warm: Any, run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """validate wants no jobs: of each entry, its head and its last section."""
    read: list[bool] = []
    real = cache.Section.read

    def spy(self: cache.Section) -> bytes | None:
        size = os.stat(self.name, dir_fd=self.store.fd).st_size
        read.append(self.offset + self.length == size)
        return real(self)

    monkeypatch.setattr(cache.Section, "read", spy)
    fresh = run("validate", "--format", "json")
    assert read == [True, True]
    shutil.rmtree(warm.root / ".cmctl")
    assert run("validate", "--format", "json").stdout == fresh.stdout


def test_with_a_ledger_a_lazy_load_says_what_a_full_one_says(
    project: Any, run: Any, now: Any
) -> None:
    """A reshaped thread, a renamed file and a vanished calendar: the ledger's findings
    need the jobs of a lazily read project (validate, plan)."""
    from tests.test_preview_findings import _scenario

    _scenario(project, run, now)
    backdate(project.root)
    commands = (("validate", "--format", "json"), ("plan", "--json"), ("plan",), ("validate",))

    shutil.rmtree(project.root / ".cmctl" / cache.FOLDER)
    cold = said(run, *commands)  # compiled, and stored
    assert len(entries(project.root)) == 5
    assert said(run, *commands) == cold  # read lazily
    assert "identity-changed" in cold[0] and "thread-shape" in cold[0]


def test_a_compiled_file_leaves_its_sightings_in_the_cache(
    proj: Any, reads: list[str], checks: list[int]
) -> None:
    """A first publish compiles every file and never wants the sightings: once stored,
    they are not held (read back if the report is)."""
    (proj.root / ".cmctl").mkdir()
    p = project_mod.open_project(load(proj.root / "cmctl.yaml"), now=NOW)
    assert len(entries(proj.root)) == 2 and reads == [] and checks == []
    assert len(list(p.jobs)) == 48 and reads == []  # the jobs compiled are held
    assert p.report.warnings == 2 and len(reads) == 2 and checks == [1]
