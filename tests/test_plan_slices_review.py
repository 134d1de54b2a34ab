"""Adversarial review of the sliced plan (cmctl.planview, cmctl.fanout): ``-j N`` writes
what ``-j 1`` writes, byte for byte (stdout, stderr, exit code), whatever the project;
and a sliced plan leaves no process behind, however it ends."""

from __future__ import annotations

import contextlib
import io
import os
import random
import sqlite3
import sys
from typing import Any

import pytest

from cmctl import fanout
from tests.conftest import DEFAULT_CONFIG, calendar, post

QUEUES = """
queues:
  weekdays:
    timezone: Europe/Paris
    slots: ["mon-fri 09:00", "mon-fri 12:30"]
    accounts: [feed]
"""


@pytest.fixture(params=[False, True], ids=["table", "lines"])
def sliced(project: Any, now: Any, monkeypatch: Any, request: Any) -> Any:
    """Every plan sliced; as a table, or (``lines``) as the streamed lines."""
    import cmctl.output
    import cmctl.planview

    monkeypatch.setattr(cmctl.planview, "SPLIT_MIN", 0)
    if request.param:
        monkeypatch.setattr(cmctl.output, "STREAM_ROWS", 1)
    now.move_to("2026-11-20T08:00:00Z")
    project.config(DEFAULT_CONFIG + QUEUES)
    return project


def _same(run: Any, *args: str, counts: tuple[str, ...] = ("2", "3", "7")) -> Any:
    one = run("plan", *args, "-j", "1")
    assert "Traceback" not in one.output
    for count in counts:
        many = run("plan", *args, "-j", count)
        assert (many.exit_code, many.stdout, many.stderr) == (
            one.exit_code,
            one.stdout,
            one.stderr,
        ), f"-j {count}"
    return one


# ------------------------------------------------------------------------ bugs found
def test_a_post_seen_in_two_slices_is_counted_once(sliced: Any, run: Any) -> None:
    """Two files named alike (x.yaml, x.yml: an error, exit 1) give one post id at two
    times far apart, so in two slices: the footer's post count is of distinct posts,
    as one process counts them, not a sum of each slice's."""
    sliced.calendar(
        calendar(post("a", "2026-12-01 09:00"), post("b", "2026-12-20 09:00")), name="x.yaml"
    )
    sliced.calendar(
        calendar(post("a", "2027-06-29 09:00"), post("c", "2027-06-25 09:00")), name="x.yml"
    )
    one = _same(run)
    assert one.exit_code == 1
    assert "4 jobs from 3 posts" in one.stdout


def test_an_interrupted_wait_leaves_no_child_running(monkeypatch: Any) -> None:
    """^C (or any exception) while the parent waits for a child's answer: closing the
    slices still stops and reaps that child (it was forgotten once its pipe was
    being read, and ran on after cmctl had exited)."""
    hold_read, hold_write = os.pipe()

    def make(index: int) -> int:  # the child waits until the test lets it go
        os.read(hold_read, 1)
        return index

    class Interrupted:
        def __init__(self, fd: int, *_: Any, **__: Any) -> None:
            os.close(fd)

        def __enter__(self) -> Interrupted:
            return self

        def __exit__(self, *_: Any) -> None:
            pass

        def read(self) -> bytes:
            raise KeyboardInterrupt

    monkeypatch.setattr(sys, "stdout", io.StringIO())
    pids: list[int] = []
    try:
        with pytest.raises(KeyboardInterrupt), fanout.Slices(2, make) as slices:
            slices.start()
            pids = list(slices._pids.values())
            monkeypatch.setattr(fanout, "open", Interrupted, raising=False)
            slices.result(1)
        assert len(pids) == 1
        with pytest.raises(ChildProcessError):  # reaped: not running, not a zombie
            os.waitpid(pids[0], os.WNOHANG)
    finally:
        os.write(hold_write, b"x" * 8)  # a child still running ends
        for pid in pids:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        os.close(hold_read)
        os.close(hold_write)


# -------------------------------------------------------------- what held (kept as tests)
def _random_project(project: Any, seed: int) -> list[str]:
    """Files with threads, media, drafts, recurring posts, ties at one instant across
    files and zones, empty files, the year's extremes (2000, 2199), queued posts."""
    rng = random.Random(seed)
    project.write("calendars/media/a.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    instants = [
        "2026-12-01 09:30",
        "2026-12-01 10:00",
        "2026-12-05 09:00",
        "2027-01-01 00:00",
        "2027-03-28 03:00",
        "2027-10-31 02:30",
        "2027-06-15 12:00",
        "2199-12-31 23:59",
        "2027-12-31 23:59",
        "2000-01-01 00:00",
        "2026-11-20 09:00",
        "2026-12-01 09:31",
    ]
    times = []
    for n in range(rng.randint(2, 7)):
        if rng.random() < 0.15:
            project.calendar("timezone: Europe/Paris\nposts: []\n", name=f"f{n}.yaml")
            continue
        posts = []
        for i in range(rng.randint(1, 6)):
            at = rng.choice(instants)
            times.append(at)
            extra: dict[str, Any] = {}
            r = rng.random()
            if r < 0.15:
                extra["thread"] = ["deux 🧵", "trois"]
            elif r < 0.3:
                extra["media"] = [{"path": "media/a.png", "alt": "carré"}]
            elif r < 0.45:
                extra["status"] = "draft"
            elif r < 0.55:
                extra["repeat"] = "{every: week, count: 5}"
            if rng.random() < 0.3:
                extra["accounts"] = ["feed"]
            posts.append(post(f"p{i}", at, f"F{n} post {i} « é » 👋", **extra))
        tz = rng.choice(["Europe/Paris", "America/New_York", "UTC"])
        project.calendar(calendar(*posts, accounts="[masto, feed]", tz=tz), name=f"f{n}.yaml")
    if rng.random() < 0.5:
        project.calendar(
            "timezone: Europe/Paris\nposts:\n"
            "  - id: q1\n    queue: weekdays\n    text: Queued one\n"
            "  - id: q2\n    queue: weekdays\n    text: Queued two\n",
            name="queued.yaml",
        )
    return times


def _ledger_states(project: Any, seed: int) -> None:
    """failed, retrying (n), published and published-changed-since rows."""
    found = list(project.root.rglob("ledger.sqlite3"))
    if not found:
        return
    rng = random.Random(seed)
    db = sqlite3.connect(found[0])
    for (key,) in db.execute("SELECT key FROM jobs").fetchall():
        r = rng.random()
        if r < 0.2:
            db.execute("UPDATE jobs SET state='failed', reason='nope' WHERE key=?", (key,))
        elif r < 0.4:
            db.execute("UPDATE jobs SET state='pending', attempts=2 WHERE key=?", (key,))
        elif r < 0.6:
            db.execute(
                "UPDATE jobs SET state='published', sent_hash='x', url='https://u/1' WHERE key=?",
                (key,),
            )
    db.commit()
    db.close()


@pytest.mark.parametrize("seed", range(6))
def test_random_projects_sliced_are_the_one_process_plan(
    sliced: Any, run: Any, now: Any, seed: int
) -> None:
    times = _random_project(sliced, seed)
    now.move_to("2026-12-01T08:30:00Z")
    run("publish")
    _ledger_states(sliced, seed)
    t = times[seed % len(times)] if times else "2026-12-01 09:30"
    for args in [
        ("--drafts",),
        ("--json", "--account", "feed"),
        ("--network", "mastodon", "--from", t),  # a bound on a post's very time
        ("--json", "--to", t),
        ("--from", t[:10], "--to", t[:10]),
        ("--json", "--from", "2027-06-15 12:00", "--to", "2026-12-01"),  # empty
    ]:
        _same(run, *args, counts=("2", "7"))


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-8"])
def test_a_stdout_encoding_with_a_bom_writes_it_once(monkeypatch: Any, encoding: str) -> None:
    """PYTHONIOENCODING=utf-8-sig (or utf-16): one process writes the byte order mark
    once, at the start; a slice's file must not bring its own into the middle."""

    def write(index: int) -> int:
        sys.stdout.write(f"slice {index} é👋\n")
        return index

    def one_process() -> bytes:
        out = io.TextIOWrapper(io.BytesIO(), encoding=encoding)
        out.write("first\n" + "".join(f"slice {i} é👋\n" for i in (1, 2, 3)))
        out.flush()
        return out.buffer.getvalue()  # type: ignore[attr-defined]

    out = io.TextIOWrapper(io.BytesIO(), encoding=encoding)
    monkeypatch.setattr(sys, "stdout", out)
    with fanout.Slices(4, write) as slices:
        slices.start()
        out.write("first\n")
        for index in (1, 2, 3):
            slices.copy(index)
    out.flush()
    assert out.buffer.getvalue() == one_process()  # type: ignore[attr-defined]


@pytest.mark.parametrize("seed", [1, 4])
def test_a_cut_on_every_post_time(
    sliced: Any, run: Any, now: Any, monkeypatch: Any, seed: int
) -> None:
    """The cuts put exactly on each post's time (ties across files on both sides of
    each): one slice per instant, still the one-process plan."""
    from cmctl.project import Jobs

    def on_every_time(self: Jobs, count: int) -> list[Any]:
        return sorted({p.at for p in self.packed()})[1:] if count > 1 else []

    _random_project(sliced, seed)
    now.move_to("2026-12-01T08:30:00Z")
    run("publish")
    _ledger_states(sliced, seed)
    monkeypatch.setattr(Jobs, "cuts", on_every_time)
    for args in [("--drafts",), ("--json", "--drafts"), ("--json",), ()]:
        _same(run, *args, counts=("2",))


def test_many_slices_leave_files_to_open_the_ledger(sliced: Any, run: Any, now: Any) -> None:
    """-j N beyond what the open-file limit allows (a temporary file and a pipe a
    slice, in each process): fewer slices, never "not a usable cmctl ledger" (exit 2,
    "restore it from a backup") for a ledger that is fine."""
    import resource

    _random_project(sliced, 2)
    now.move_to("2026-12-01T08:30:00Z")
    run("publish")
    assert list(sliced.root.rglob("ledger.sqlite3"))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    in_use = len(os.listdir("/proc/self/fd"))
    resource.setrlimit(resource.RLIMIT_NOFILE, (in_use + 60, hard))
    try:
        one = _same(run, "--json", counts=("40",))
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert one.exit_code == 0, one.output


def test_a_narrow_terminal(sliced: Any, run: Any, now: Any) -> None:
    """COLUMNS=100: the narrow layout, chosen once, the same in every slice."""
    _random_project(sliced, 5)
    now.move_to("2026-12-01T08:30:00Z")
    run("publish")
    _ledger_states(sliced, 5)

    def narrow(*args: str) -> Any:
        return run(*args, env={"COLUMNS": "100"})

    one = _same(narrow, "--drafts", counts=("3",))
    assert "network" not in one.stdout.splitlines()[0]
