"""A large plan written in time slices on forked processes (cmctl.planview, cmctl.fanout):
byte for byte what one process writes, whatever the slices, the filters, the ledger
states, and whether a child fails."""

from __future__ import annotations

import io
import itertools
import os
import random
import signal
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cmctl import fanout
from tests.conftest import DEFAULT_CONFIG, WEEKDAY_QUEUE, calendar, post

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def _write(project: Any, files: int = 6) -> None:
    """Weekly files over two accounts, threads, media, drafts, titles, ties across
    files, and queued posts."""
    project.config(DEFAULT_CONFIG + WEEKDAY_QUEUE)
    project.write("calendars/media/a.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    for n in range(files):
        day = datetime(2026, 12, 1, tzinfo=UTC) + timedelta(days=7 * n)
        posts = []
        for i in range(6):
            at = f"{day + timedelta(days=i % 5):%Y-%m-%d} {9 + i:02d}:00"
            extra: dict[str, Any] = {}
            if i == 1:
                extra["thread"] = ["deux 🧵", "trois"]
            if i == 2:
                extra["media"] = [{"path": "media/a.png", "alt": "carré"}]
            if i == 3:
                extra["status"] = "draft"
            if i == 4:
                extra["title"] = f"Titre {n}"
                extra["accounts"] = ["feed"]
            posts.append(post(f"p{i}", at, f"Semaine {n}, post {i} « é » 👋", **extra))
        project.calendar(calendar(*posts, accounts="[masto, feed]"), name=f"w{n}.yaml")
    every = [
        post(f"e{n}", f"{datetime(2026, 12, 1, tzinfo=UTC) + timedelta(days=7 * n):%Y-%m-%d} 09:00")
        for n in range(files)
    ]
    project.calendar(calendar(*every, accounts="[feed]"), name="all.yaml")
    project.calendar(
        "timezone: Europe/Paris\nposts:\n"
        "  - id: q1\n    queue: weekdays\n    text: Queued one\n"
        "  - id: q2\n    queue: weekdays\n    text: Queued two\n",
        name="queued.yaml",
    )


@pytest.fixture
def sliced(project: Any, run: Any, now: Any, monkeypatch: Any) -> Any:
    """The project written, some of it published (ledger states), every plan sliced."""
    import cmctl.planview

    _write(project)
    now.move_to("2026-12-01T08:30:00Z")
    published = run("publish")  # masto has no token: its job waits for a human
    assert "2 published" in published.output, published.output
    monkeypatch.setattr(cmctl.planview, "SPLIT_MIN", 0)
    return run


ARGS = [
    ("plan", "--json"),
    ("plan", "--json", "--drafts"),
    ("plan", "--json", "--account", "feed"),
    ("plan", "--json", "--from", "2026-12-09", "--to", "2026-12-20"),
    ("plan",),
    ("plan", "--drafts"),
    ("plan", "--from", "2026-12-09"),
    ("plan", "--network", "mastodon"),
]


@pytest.mark.parametrize("args", ARGS, ids=" ".join)
def test_sliced_plan_is_the_one_process_plan(sliced: Any, args: tuple[str, ...]) -> None:
    one = sliced(*args, "-j", "1")
    assert one.exit_code == 0, one.output
    assert one.stdout.count("\n") > 5
    for count in ("2", "3", "7"):
        many = sliced(*args, "-j", count)
        assert many.exit_code == 0, many.output
        assert (many.stdout, many.stderr) == (one.stdout, one.stderr)


@pytest.mark.parametrize("rows", [3, 10_000])
def test_sliced_human_plan_as_lines_and_as_table(sliced: Any, monkeypatch: Any, rows: int) -> None:
    """Above STREAM_ROWS the slices are copied as lines; below, the table needs every
    row in this process (the other slices' rows made again here)."""
    from cmctl import output

    monkeypatch.setattr(output, "STREAM_ROWS", rows)
    one = sliced("plan", "-j", "1")
    many = sliced("plan", "-j", "3")
    assert many.exit_code == 0, many.output
    assert many.stdout == one.stdout and many.stderr == one.stderr
    header = output.plan_header(show_utc=True, narrow=False)  # not a terminal: 160 wide
    assert one.stdout.startswith(header) == (rows == 3)
    assert one.stdout.count("\n") > 20


def _failing_child(how: str, monkeypatch: Any) -> None:
    """Make every child's slice fail (``how``), never this process's own."""
    parent = os.getpid()
    real = fanout.Slices._make_into

    def make_into(self: Any, index: int) -> Any:
        if os.getpid() != parent:
            if how == "raise":
                raise RuntimeError("boom")
            if how == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            if how == "garbage":
                self._files[index].write(b"half a slice")
                return object.__new__(type("Unpicklable", (), {"__reduce__": None}))
        return real(self, index)

    monkeypatch.setattr(fanout.Slices, "_make_into", make_into)


@pytest.mark.parametrize("how", ["raise", "kill", "garbage"])
@pytest.mark.parametrize("args", [("plan", "--json"), ("plan",)], ids=" ".join)
def test_a_failed_child_slice_is_made_here(
    sliced: Any, monkeypatch: Any, how: str, args: tuple[str, ...]
) -> None:
    one = sliced(*args, "-j", "1")
    _failing_child(how, monkeypatch)
    many = sliced(*args, "-j", "3")
    assert many.exit_code == 0, many.output
    assert many.stdout == one.stdout


def test_no_child_is_left_behind(sliced: Any, monkeypatch: Any) -> None:
    started: list[int] = []
    real = os.fork

    def fork() -> int:
        pid = real()
        if pid:
            started.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", fork)
    assert sliced("plan", "--json", "-j", "3").exit_code == 0
    assert len(started) == 3  # two slices, and the checks that span files
    for pid in started:
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # reaped: no zombie, no orphan


def test_small_plans_stay_in_one_process(project: Any, run: Any, monkeypatch: Any) -> None:
    _write(project)
    monkeypatch.setattr(os, "fork", lambda: pytest.fail("forked"))
    assert run("plan", "--json").exit_code == 0  # far below SPLIT_MIN
    assert run("plan").exit_code == 0


# ------------------------------------------------------------------ Jobs.between, cuts
def _jobs(project: Any) -> Any:
    from cmctl.project import load_config, open_project

    _write(project, files=8)
    return open_project(load_config(), now=NOW).jobs


def test_between_is_the_plan_filtered_by_time(project: Any) -> None:
    jobs = _jobs(project)
    every = [(j.at, j.key) for j in jobs]
    times = sorted({at for at, _ in every})
    rng = random.Random(7)
    bounds = [None, times[0], times[-1], times[0] - timedelta(days=1)]
    bounds += [times[-1] + timedelta(seconds=1), *rng.sample(times, 6)]
    bounds += [t + timedelta(minutes=30) for t in rng.sample(times, 3)]
    for lower in bounds:
        for upper in bounds:
            want = [
                key
                for at, key in every
                if (lower is None or at >= lower) and (upper is None or at < upper)
            ]
            part = jobs.between(lower, upper)
            assert [j.key for j in part] == want
            assert [p.key for p in part.packed()] == want
            assert len(part) == len(want) and part.spanned() >= len(want)
            assert bool(part) == bool(want)
            # narrowing again keeps both bounds
            assert [j.key for j in part.between(None, None)] == want


def test_cuts_slice_the_plan_into_even_parts(project: Any) -> None:
    jobs = _jobs(project)
    assert jobs.cuts(1) == []
    for count in (2, 3, 4):
        cuts = jobs.cuts(count)
        assert cuts == sorted(set(cuts)) and 1 <= len(cuts) <= count - 1
        edges = [None, *cuts, None]
        sizes = [len(jobs.between(a, b)) for a, b in itertools.pairwise(edges)]
        assert sum(sizes) == len(jobs)
        assert max(sizes) <= 2 * len(jobs) / count  # about even, not exact
    inside = jobs.between(jobs.cuts(2)[0], None)
    assert all(c >= jobs.cuts(2)[0] for c in inside.cuts(3))


# ---------------------------------------------------------------------- fanout itself
def _write_slice(index: int) -> int:
    sys.stdout.write(f"slice {index} é👋\n" * (index + 1))
    return index * 10


def test_slices_are_copied_in_order_into_a_text_stream(monkeypatch: Any) -> None:
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    monkeypatch.setattr(sys, "stdout", out)
    with fanout.Slices(4, _write_slice) as slices:
        slices.start()
        out.write("first\n")
        for index in (1, 2, 3):
            assert slices.result(index) == index * 10
            slices.copy(index)
        assert slices.size(3) == len(("slice 3 é👋\n" * 4).encode())
    out.flush()
    want = "first\n" + "".join(f"slice {i} é👋\n" * (i + 1) for i in (1, 2, 3))
    assert out.buffer.getvalue().decode() == want  # type: ignore[attr-defined]


def test_slices_without_a_byte_buffer_are_decoded(monkeypatch: Any) -> None:
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    with fanout.Slices(3, _write_slice) as slices:
        slices.start()
        slices.copy(1)
        slices.copy(2)
    assert out.getvalue() == "slice 1 é👋\n" * 2 + "slice 2 é👋\n" * 3


def test_slices_made_here_when_fork_is_refused(monkeypatch: Any) -> None:
    def refuse() -> int:
        raise OSError("no more processes")

    monkeypatch.setattr(os, "fork", refuse)
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    with fanout.Slices(3, _write_slice) as slices:
        slices.start()
        assert slices.result(2) == 20
        slices.copy(1)
        slices.copy(2)
    assert out.getvalue() == "slice 1 é👋\n" * 2 + "slice 2 é👋\n" * 3


@pytest.mark.parametrize("args", [("plan", "--json"), ("plan",)], ids=" ".join)
def test_no_temporary_file_means_one_process(
    sliced: Any, monkeypatch: Any, args: tuple[str, ...]
) -> None:
    import tempfile

    one = sliced(*args, "-j", "1")

    def full() -> Any:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tempfile, "TemporaryFile", full)
    monkeypatch.setattr(os, "fork", lambda: pytest.fail("forked"))
    many = sliced(*args, "-j", "3")
    assert many.exit_code == 0, many.output
    assert (many.stdout, many.stderr) == (one.stdout, one.stderr)


def test_slices_are_capped(project: Any) -> None:
    from cmctl import planview

    jobs = _jobs(project)
    assert planview.slice_count(jobs, 20_000) == planview.MOST_SLICES
    assert planview.slice_count(jobs, 3) == 3
    assert planview.slice_count(jobs, None) == 1  # far below SPLIT_MIN
