"""Review of the lazy load (``open_project(lazy=True)``, cache format 4): what `plan`,
`agenda` and `export` say from a warm cache is what a full load says, whatever the
project holds and whatever happens to the cache meanwhile."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cmctl import cache
from tests.conftest import DEFAULT_CONFIG, as_json, calendar, post
from tests.test_cache import backdate, entries

COMMANDS = (
    ("plan",),
    ("plan", "--json"),
    ("plan", "-j", "3"),
    ("plan", "-j", "3", "--json"),
    ("plan", "--from", "2026-12-05", "--to", "2027-01-31"),
    ("plan", "--account", "masto", "--json"),
    ("plan", "--network", "x"),
    ("plan", "--drafts", "--json"),
    ("agenda", "--json", "--date", "2026-12-01"),
    ("agenda", "--date", "2026-12-01"),
    ("export", "--format", "csv"),
    ("export", "--format", "json"),
    ("export", "--format", "ics"),
)


def outputs(run: Any, commands: tuple[tuple[str, ...], ...] = COMMANDS) -> list[str]:
    found = []
    for args in commands:
        r = run(*args)
        found.append(f"{' '.join(args)}\n{r.exit_code}\n{r.stdout}\n{r.stderr}")
    return found


def _same(run: Any, root: Path, commands: tuple[tuple[str, ...], ...] = COMMANDS) -> None:
    full = outputs(run, commands)  # no state folder: a full load
    (root / ".cmctl").mkdir()
    cold = outputs(run, commands)
    assert entries(root)
    warm = outputs(run, commands)
    assert not any(f.split("\n")[1] == "2" for f in full)  # no usage error
    for a, b, c in zip(full, cold, warm, strict=True):
        assert a == b
        assert a == c


@pytest.fixture
def busy(project: Any) -> Any:
    """Every kind of file: errors, project-wide warnings (same post twice, X's quota,
    min-gap), drafts, two files with one calendar name, a file with no jobs, a file
    with only errors."""
    project.config(
        DEFAULT_CONFIG.replace(
            "  timezone: Europe/Paris", "  timezone: Europe/Paris\n  min_gap: 2h"
        )
    )
    project.calendar(
        calendar(
            *(post(f"a{i}", at=f"2026-12-01 {8 + i // 2:02}:{30 * (i % 2):02}") for i in range(20)),
            post("twin", at="2026-12-05 10:00", text="same text"),
            post("long", at="2026-12-06 10:00", text="x" * 600),
            post("idea", at="2026-12-07 10:00", text="draft", status="draft"),
            accounts="[xacct, masto]",
        ),
        "a.yaml",
    )
    project.calendar(
        calendar(
            post("twin", at="2026-12-05 10:00", text="same text"),
            post("late", at="2027-01-03 10:00", text="spring"),
            accounts="[xacct, masto]",
        ),
        "b.yaml",
    )
    project.calendar("calendar: shared\n" + calendar(post("s1", at="2026-12-09 10:00")), "c1.yaml")
    project.calendar("calendar: shared\n" + calendar(post("s2", at="2026-12-10 10:00")), "c2.yaml")
    project.calendar("timezone: Europe/Paris\nposts: []\n", "empty.yaml")
    project.calendar(calendar(post("bad", at="2026-12-11 10:00"), accounts="[nope]"), "bad.yaml")
    backdate(project.root)
    return project


def test_every_view_of_a_busy_project_is_the_full_one(busy: Any, run: Any) -> None:
    _same(run, busy.root)


def test_the_busy_project_says_everything(busy: Any, run: Any) -> None:
    r = run("validate", "--format", "json")
    rules = {d["rule"] for d in as_json(r)["diagnostics"]}
    assert r.exit_code == 1
    assert rules == {
        "duplicate-calendar",
        "length",
        "min-gap",
        "quota",
        "same-post-twice",
        "unknown-account",
    }


def test_a_head_larger_than_one_read_and_a_long_plan(project: Any, run: Any) -> None:
    """Lines mode (> 2,000 rows), and heads beyond HEAD_READ (many diagnostics)."""
    project.calendar(
        calendar(
            *(
                post(
                    f"p{i}",
                    at=f"2026-12-{1 + i // 100:02} {8 + (i % 100) // 10:02}:{i % 10 * 5:02}",
                    text=("y" * 600 if i % 3 == 0 else f"post {i}"),
                )
                for i in range(2400)
            ),
            accounts="[masto, feed]",
        ),
        "big.yaml",
    )
    backdate(project.root)
    _same(run, project.root, COMMANDS[:4])
    (entry,) = entries(project.root)
    head = int.from_bytes(entry.read_bytes()[cache.HEADER - 8 : cache.HEADER], "big")
    assert head > cache.HEAD_READ


def _truncate_after_peek(monkeypatch: pytest.MonkeyPatch, how: Any) -> None:
    real = cache.FileCache.peek

    def peek(self: cache.FileCache, path: Path, now: Any) -> Any:
        found = real(self, path, now)
        if found is not None:
            how(Path(f"/proc/self/fd/{self.fd}") / self.slot(path))
        return found

    monkeypatch.setattr(cache.FileCache, "peek", peek)


def _trunc(entry: Path) -> None:
    entry.write_bytes(entry.read_bytes()[: cache.HEADER + 10])


def _fifo(entry: Path) -> None:
    entry.unlink()
    import os

    os.mkfifo(entry, 0o600)


def _link(entry: Path) -> None:
    data = entry.read_bytes()
    entry.unlink()
    other = entry.with_name("elsewhere")
    other.write_bytes(data)
    entry.symlink_to(other)


@pytest.mark.parametrize("how", [_trunc, _fifo, _link])
def test_entries_changed_after_their_heads_were_read(
    busy: Any, run: Any, monkeypatch: pytest.MonkeyPatch, how: Any
) -> None:
    full = outputs(run)
    (busy.root / ".cmctl").mkdir()
    outputs(run)
    with monkeypatch.context() as m:
        _truncate_after_peek(m, how)
        for args, expected in zip(COMMANDS, full, strict=True):
            assert outputs(run, (args,)) == [expected]
            for entry in entries(busy.root):
                entry.unlink()
            for other in (busy.root / ".cmctl" / cache.FOLDER).iterdir():
                other.unlink()
            outputs(run, (("validate",),))


def test_one_file_of_the_project(busy: Any, run: Any) -> None:
    commands = (
        ("plan", "calendars/a.yaml"),
        ("plan", "--json", "calendars/c1.yaml"),
        ("export", "--format", "json", "calendars/b.yaml"),
    )
    _same(run, busy.root, commands)


def test_no_descriptor_is_left_open_by_many_runs(busy: Any, run: Any) -> None:
    import gc
    import os

    (busy.root / ".cmctl").mkdir()
    outputs(run)
    gc.collect()
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(3):
        outputs(run)
    after_no_gc = len(os.listdir("/proc/self/fd"))
    gc.collect()
    assert (after_no_gc - before, len(os.listdir("/proc/self/fd")) - before) == (0, 0)


def _rewrite_head(entry: Path, change: Any) -> None:
    """The entry with its head changed by ``change`` and sealed again (a sound SHA-256):
    what a damaged writer, not a damaged disk, could leave."""
    import hashlib
    import pickle

    data = entry.read_bytes()
    length = int.from_bytes(data[cache.HEADER - 8 : cache.HEADER], "big")
    env, key, deps, lo, hi, meta, spans = pickle.loads(data[cache.HEADER : cache.HEADER + length])
    body = pickle.dumps((env, key, deps, lo, hi, meta, change(spans)), protocol=5)
    head = (
        cache.MAGIC
        + cache.FORMAT.to_bytes(4, "big")
        + hashlib.sha256(body).digest()
        + len(body).to_bytes(8, "big")
    )
    entry.write_bytes(head + body + data[cache.HEADER + length :])


@pytest.mark.parametrize("length", [1 << 40, 1 << 62, 1 << 70])
def test_a_head_that_claims_huge_sections(busy: Any, run: Any, length: int) -> None:
    full = outputs(run, COMMANDS[:2])
    (busy.root / ".cmctl").mkdir()
    outputs(run, COMMANDS[:2])
    for entry in entries(busy.root):
        _rewrite_head(entry, lambda spans: tuple((length, d) for _, d in spans))
    assert outputs(run, COMMANDS[:2]) == full


def _fingerprint() -> bytes:
    import hashlib

    h = hashlib.sha256()
    cache._installed(h)
    return h.digest()


def test_a_network_installed_as_an_egg_changes_the_fingerprint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """easy_install and `setup.py install` leave eggs (a folder or a zip, put on the
    path by easy-install.pth): importlib.metadata finds their networks in EGG-INFO."""
    from importlib.metadata import entry_points

    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.setattr("sys.path", [str(site)])
    empty = _fingerprint()
    egg = site / "cmctl_acme-1.0-py3.11.egg"
    (egg / "EGG-INFO").mkdir(parents=True)
    (egg / "EGG-INFO" / "PKG-INFO").write_text("Metadata-Version: 1.1\nName: cmctl-acme\n")
    (egg / "EGG-INFO" / "entry_points.txt").write_text("[cmctl.networks]\nacme = acme:Net\n")
    monkeypatch.setattr("sys.path", [str(site), str(egg)])  # what easy-install.pth does
    assert [e.name for e in entry_points(group="cmctl.networks")] == ["acme"]
    installed = _fingerprint()
    assert installed != empty
    (egg / "EGG-INFO" / "entry_points.txt").write_text("[cmctl.networks]\nacme = acme:Net2\n")
    assert _fingerprint() != installed


def test_unreadable_and_broken_files(busy: Any, run: Any) -> None:
    busy.write("calendars/latin1.yaml", b"posts:\n  - id: \xe9\n")
    busy.write("calendars/syntax.yaml", "posts: [\n")
    (busy.root / "calendars" / "gone.yaml").symlink_to(busy.root / "nowhere.yaml")
    (busy.root / "calendars" / "folder.yaml").mkdir()
    backdate(busy.root)
    _same(run, busy.root)


def test_queued_posts_with_everything_else(busy: Any, run: Any) -> None:
    from tests.conftest import WEEKDAY_QUEUE

    busy.config((busy.root / "cmctl.yaml").read_text() + WEEKDAY_QUEUE)
    busy.calendar(
        "timezone: Europe/Paris\nposts:\n"
        "  - id: q1\n    queue: weekdays\n    accounts: [feed]\n    text: queued\n"
        "  - id: q2\n    queue: weekdays\n    accounts: [feed]\n    text: same text\n",
        "q.yaml",
    )
    backdate(busy.root)
    _same(run, busy.root)


def test_the_agenda_page(busy: Any, run: Any) -> None:
    def page() -> tuple[int, str, bytes]:
        r = run("agenda", "--html", "out.html", "--date", "2026-12-01")
        return r.exit_code, r.stdout + r.stderr, (busy.root / "out.html").read_bytes()

    full = page()
    (busy.root / ".cmctl").mkdir()
    assert page() == full
    assert entries(busy.root)
    assert page() == full


def test_a_file_broken_after_its_head_was_read_is_said(
    busy: Any, run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The entry rewritten by another run (an editor's save hook) after the file was
    saved broken: the rows the pass reads are those of the file as it is now (none),
    and so is what the report says (an error, exit 1), never a plan that lost a
    file's posts and exits 0."""
    import os

    del busy  # a project with errors of its own: a clean one says it best
    (Path.cwd() / "calendars").mkdir(exist_ok=True)
    for name in os.listdir("calendars"):
        os.unlink(f"calendars/{name}")
    broken_after_head(Path.cwd(), run, monkeypatch)
    r = run("plan")
    assert "b1" not in r.stdout and "a1" in r.stdout
    assert r.exit_code == 1 and "1 error(s)" in r.stderr
    found = as_json(run("plan", "--json"))
    assert found["errors"] == 1 and [j["post"] for j in found["jobs"]] == ["a1"]


def broken_after_head(root: Path, run: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two clean files, a warm cache; then b.yaml is saved broken (its entry rewritten
    by another run) right after this run read its head."""
    import os

    (root / "calendars").mkdir(exist_ok=True)
    (root / "calendars/a.yaml").write_text(calendar(post("a1", at="2026-12-01 10:00")))
    (root / "calendars/b.yaml").write_text(calendar(post("b1", at="2026-12-02 10:00")))
    backdate(root)
    (root / ".cmctl").mkdir()
    assert run("plan").exit_code == 0
    real = cache.FileCache.peek

    def peek(self: cache.FileCache, path: Path, now: Any) -> Any:
        found = real(self, path, now)
        if found is not None and path.name == "b.yaml":
            path.write_text("posts: [\n")  # saved broken...
            backdate(root)
            os.unlink(f"/proc/self/fd/{self.fd}/{self.slot(path)}")  # ...entry gone
        return found

    monkeypatch.setattr(cache.FileCache, "peek", peek)
