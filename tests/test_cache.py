"""The per-file cache of compiled calendars (cmctl/cache.py) as open_project uses it."""

from __future__ import annotations

import os
import pickle
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from cmctl import cache
from cmctl import project as project_mod
from cmctl.calendar import loader
from tests.conftest import calendar, post
from tests.test_validate import png


def backdate(root: Path, seconds: int = 3600) -> None:
    """Files written just now are too recent to be cached (racy): age them."""
    for path in root.rglob("*"):
        if ".cmctl" in path.parts or not path.is_file():
            continue
        st = path.stat()
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns - seconds * 1_000_000_000))


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The calendar files actually loaded (not taken from the cache), by name."""
    seen: list[str] = []
    real = loader.load_calendar

    def spy(path: Path, *args: Any) -> Any:
        seen.append(path.name)
        return real(path, *args)

    monkeypatch.setattr(loader, "load_calendar", spy)
    return seen


@pytest.fixture
def proj(project: Any) -> Any:
    project.write("calendars/media/a.png", png())
    project.calendar(
        calendar(
            post("a", at="2026-12-01 09:30", media=[{"path": "media/a.png"}]),  # no alt
            post("b", at="2026-11-01 09:30", text="in the past"),
            post("c", at="2026-12-02 10:00", text="x" * 600),  # too long
            accounts="[masto, bsky]",
        ),
        "dec.yaml",
    )
    project.calendar(calendar(post("d", at="2026-12-03 09:00"), accounts="[nope]"), "jan.yaml")
    backdate(project.root)
    return project


def outputs(run: Any) -> tuple[str, ...]:
    results = (
        run("plan", "--json"),
        run("plan"),
        run("validate", "--format", "json"),
        run("validate"),
        run("agenda"),
    )
    return tuple(f"{r.exit_code}\n{r.stdout}" for r in results)


def entries(root: Path) -> list[Path]:
    return sorted((root / ".cmctl" / cache.FOLDER).glob("*.entry"))


def test_cached_output_is_the_uncached_output(proj: Any, run: Any, loads: list[str]) -> None:
    fresh = outputs(run)
    assert not (proj.root / ".cmctl").exists()  # read-only commands create no state folder
    assert "past" in fresh[2] and "alt-text" in fresh[2] and "unknown-account" in fresh[2]
    (proj.root / ".cmctl").mkdir()
    loads.clear()
    cold = outputs(run)
    assert len(entries(proj.root)) == 2
    loads.clear()
    warm = outputs(run)
    assert loads == []  # every file came from the cache
    assert fresh == cold == warm


def test_a_dry_run_creates_no_state_folder(proj: Any, run: Any) -> None:
    assert run("publish", "--dry-run").exit_code in (0, 1)
    assert not (proj.root / ".cmctl").exists()


def test_files_modified_just_now_are_not_stored(project: Any, run: Any, loads: list[str]) -> None:
    project.calendar(calendar(post("a")))
    (project.root / ".cmctl").mkdir()
    run("plan")
    run("plan")
    assert loads == ["dec.yaml", "dec.yaml"]  # racy: a second save in the same tick hides
    backdate(project.root)
    run("plan")
    loads.clear()
    run("plan")
    assert loads == []


def _edit(p: Any) -> list[Path]:
    path = p.root / "calendars" / "dec.yaml"
    path.write_text(path.read_text().replace("past", "gone"))  # same size
    return [path]


def _touch(p: Any) -> list[Path]:
    path = p.root / "calendars" / "dec.yaml"
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    return []


def _config(p: Any) -> list[Path]:
    path = p.root / "cmctl.yaml"
    path.write_text(path.read_text().replace("Europe/Paris", "Europe/Berlin"))
    return [path]


def _media(p: Any) -> list[Path]:
    path = p.root / "calendars" / "media" / "a.png"
    path.write_bytes(png(8, 8))
    return [path]


def _version(p: Any) -> list[Path]:
    import cmctl

    cmctl.__version__ = cmctl.__version__ + ".post1"
    return []


@pytest.mark.parametrize("change", [_edit, _touch, _config, _media, _version])
def test_a_change_invalidates(
    proj: Any, run: Any, loads: list[str], change: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import cmctl

    monkeypatch.setattr(cmctl, "__version__", cmctl.__version__)  # restored after
    (proj.root / ".cmctl").mkdir()
    before = outputs(run)
    for path in change(proj):
        st = path.stat()
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns - 7200 * 1_000_000_000))
    loads.clear()
    after = outputs(run)
    assert "dec.yaml" in loads
    if change is _touch:
        assert after == before
    if change in (_config, _version):
        assert "jan.yaml" in loads  # everything depends on them
    else:
        assert "jan.yaml" not in loads
    cached = outputs(run)
    import shutil

    shutil.rmtree(proj.root / ".cmctl")
    assert cached == after == outputs(run)


def test_a_post_going_by_is_seen(proj: Any, run: Any, now: Any, loads: list[str]) -> None:
    """`past` depends on now: an entry holds only while no post changes side."""
    (proj.root / ".cmctl").mkdir()
    run("validate")
    loads.clear()
    now.move_to(datetime(2026, 11, 30, 12, 0, tzinfo=UTC))  # no post went by
    run("validate")
    assert loads == []
    now.move_to(datetime(2026, 12, 1, 12, 0, tzinfo=UTC))  # post a went by
    cached = run("validate", "--format", "json").stdout
    assert loads == ["dec.yaml"]
    assert cached.count('"rule": "past"') == 2
    (proj.root / ".cmctl").rename(proj.root / "elsewhere")
    assert run("validate", "--format", "json").stdout == cached


def test_only_the_past_rule_depends_on_now(proj: Any) -> None:
    """What makes the validity window enough: a rule that reads `now` must say so here."""
    from cmctl import rules
    from cmctl.calendar.loader import load_calendar
    from cmctl.compile import compile_jobs
    from cmctl.diagnostics import Sink
    from cmctl.project import load_config

    config = load_config(str(proj.root / "cmctl.yaml"))
    cal = load_calendar(proj.root / "calendars" / "dec.yaml", config, Sink("dec.yaml"))
    assert cal is not None
    jobs = compile_jobs([cal], config)
    early = rules.check([cal], jobs, config, datetime(2000, 1, 1, tzinfo=UTC))
    late = rules.check([cal], jobs, config, datetime(2100, 1, 1, tzinfo=UTC))
    assert {d for d in early if d.rule != "past"} == {d for d in late if d.rule != "past"}


def _truncate(p: Path) -> None:
    p.write_bytes(p.read_bytes()[:-10])


def _corrupt(p: Path) -> None:
    data = bytearray(p.read_bytes())
    data[-5] ^= 0xFF
    p.write_bytes(bytes(data))


def _foreign(p: Path) -> None:
    p.write_bytes(b"\x00" * 100)


def _newer(p: Path) -> None:
    body = pickle.dumps("from the future")
    import hashlib

    head = cache.MAGIC + (cache.FORMAT + 1).to_bytes(4, "big") + hashlib.sha256(body).digest()
    p.write_bytes(head + body)


def _shape(p: Path) -> None:  # a valid entry of another shape: never a traceback
    body = pickle.dumps((1, 2, 3))
    import hashlib

    p.write_bytes(cache.MAGIC + cache.FORMAT.to_bytes(4, "big") + hashlib.sha256(body).digest())
    with p.open("ab") as f:
        f.write(body)


def _symlink(p: Path) -> None:
    other = p.parent.parent / "elsewhere.entry"
    other.write_bytes(p.read_bytes())
    p.unlink()
    p.symlink_to(other)


def _fifo(p: Path) -> None:
    p.unlink()
    os.mkfifo(p)


def _writable(p: Path) -> None:
    p.chmod(0o666)


@pytest.mark.parametrize(
    "damage", [_truncate, _corrupt, _foreign, _newer, _shape, _symlink, _fifo, _writable]
)
def test_a_damaged_entry_is_ignored_and_rebuilt(
    proj: Any, run: Any, loads: list[str], damage: Any
) -> None:
    fresh = outputs(run)
    (proj.root / ".cmctl").mkdir()
    run("plan")
    for entry in entries(proj.root):
        damage(entry)
    loads.clear()
    assert outputs(run) == fresh
    assert sorted(loads)[:2] == ["dec.yaml", "jan.yaml"]
    for entry in entries(proj.root):  # rewritten as regular files of ours
        assert entry.is_file() and not entry.is_symlink()
        assert entry.stat().st_mode & 0o777 == 0o600
    loads.clear()
    run("plan")
    assert loads == []


def _loose(p: Path) -> None:
    (p / cache.FOLDER).chmod(0o777)


def _group(p: Path) -> None:
    (p / cache.FOLDER).chmod(0o770)


def _linked(p: Path) -> None:
    (p / cache.FOLDER).rename(p / "real")
    (p / cache.FOLDER).symlink_to(p / "real")


def _state_world(p: Path) -> None:
    p.chmod(0o777)


@pytest.mark.parametrize("unsafe", [_loose, _group, _linked, _state_world])
def test_an_unsafe_cache_folder_is_not_read(
    proj: Any, run: Any, loads: list[str], unsafe: Any
) -> None:
    fresh = outputs(run)
    state = proj.root / ".cmctl"
    state.mkdir()
    run("plan")
    unsafe(state)
    loads.clear()
    assert outputs(run) == fresh
    assert loads.count("dec.yaml") == 5  # every command compiled it


def test_a_cache_folder_of_another_user_is_not_read(
    proj: Any, run: Any, loads: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (proj.root / ".cmctl").mkdir()
    run("plan")
    monkeypatch.setattr(cache, "_uid", lambda: os.geteuid() + 1)
    loads.clear()
    run("plan")
    assert loads == ["dec.yaml", "jan.yaml"]


def test_entries_of_removed_files_are_pruned(proj: Any, run: Any) -> None:
    (proj.root / ".cmctl").mkdir()
    stray = proj.root / ".cmctl" / cache.FOLDER / "folder"
    run("plan")
    stray.mkdir()
    assert len(entries(proj.root)) == 2
    run("plan", "calendars/dec.yaml")  # a part of the project: nothing pruned
    assert len(entries(proj.root)) == 2
    (proj.root / "calendars" / "jan.yaml").unlink()
    run("plan")
    assert [e.name for e in entries(proj.root)] == [
        cache.FileCache(-1, b"").slot(Path("calendars/dec.yaml"))
    ]
    assert stray.is_dir()  # not ours


def test_entries_hold_no_secret(proj: Any, run: Any) -> None:
    secret = "s3cr3t-token-value-0123456789abcdef"
    proj.write(".env", f"MASTO_TOKEN={secret}\n")
    backdate(proj.root)
    (proj.root / ".cmctl").mkdir()
    run("plan")
    assert entries(proj.root)
    for entry in entries(proj.root):
        assert secret.encode() not in entry.read_bytes()


def test_workers_store_and_reuse(proj: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fork pool writes entries; the next load takes them all."""
    from cmctl.project import load_config, open_project

    (proj.root / ".cmctl").mkdir()
    monkeypatch.setattr(project_mod, "PARALLEL_MIN_BYTES", 0)
    config = load_config(str(proj.root / "cmctl.yaml"))
    at = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    first = open_project(config, now=at, workers=2)
    assert len(entries(proj.root)) == 2

    def boom(*args: Any) -> Any:
        raise AssertionError("loaded again")

    monkeypatch.setattr(loader, "load_calendar", boom)
    again = open_project(load_config(str(proj.root / "cmctl.yaml")), now=at, workers=2)
    assert [j.key for j in again.jobs] == [j.key for j in first.jobs]
    assert again.diagnostics == first.diagnostics
    light = open_project(load_config(str(proj.root / "cmctl.yaml")), now=at, keep=False)
    assert not light.jobs and light.calendars == [] and light.job_count == first.job_count
