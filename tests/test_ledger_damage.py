"""A missing, empty or damaged ledger is an error in every command, never a fresh start.

Issue #6, item 6: a ledger truncated to 0 bytes was taken for a new one, and the next
run posted again. Each kind of damage below must give the clean "not a usable ledger"
error (exit 2) in every command that opens the ledger, never a traceback or a hang,
and must leave the damaged file exactly as it was.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import as_json, calendar, post

LEDGER = "ledger.sqlite3"


def bounded(run: Any, *args: str, seconds: float = 30) -> Any:
    """run(*args), failing (instead of hanging the suite) if it does not return."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = run(*args)
        except BaseException as exc:  # reported below
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"cmctl {' '.join(args)} hung"
    if "error" in box:
        raise box["error"]
    return box["result"]


def used_project(project: Any, run: Any, now: Any) -> Path:
    """A project that has published once (feed), with a second post still pending."""
    project.calendar(
        calendar(
            post("a", at="2026-12-01 09:30"), post("b", at="2026-12-02 09:30"), accounts="[feed]"
        )
    )
    now.move_to("2026-12-01T08:31:00Z")
    assert run("publish").exit_code == 0
    state = project.root / ".cmctl"
    assert (state / LEDGER).stat().st_size > 0
    assert (state / "ledger.id").read_text().startswith("cmctl ledger ")
    return state


# --- kinds of damage -------------------------------------------------------------------


def empty(state: Path) -> None:
    (state / LEDGER).write_bytes(b"")


def garbage(state: Path) -> None:
    (state / LEDGER).write_bytes(os.urandom(8192))


def truncated(state: Path) -> None:
    path = state / LEDGER
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def cut_mid_page(state: Path) -> None:
    path = state / LEDGER
    path.write_bytes(path.read_bytes()[:5000])


def directory(state: Path) -> None:
    (state / LEDGER).unlink()
    (state / LEDGER).mkdir()


def fifo(state: Path) -> None:
    (state / LEDGER).unlink()
    os.mkfifo(state / LEDGER)


def wal_fifo(state: Path) -> None:
    os.mkfifo(state / f"{LEDGER}-wal")


def newer(state: Path) -> None:
    db = sqlite3.connect(state / LEDGER)
    db.execute("PRAGMA user_version = 99")
    db.close()


def foreign(state: Path) -> None:
    (state / LEDGER).unlink()
    db = sqlite3.connect(state / LEDGER)
    db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    db.execute("INSERT INTO notes (body) VALUES ('hello')")
    db.commit()
    db.close()


def missing(state: Path) -> None:
    (state / LEDGER).unlink()


def broken_link(state: Path) -> None:
    (state / LEDGER).unlink()
    (state / LEDGER).symlink_to(state / "elsewhere.sqlite3")


DAMAGE: dict[str, Callable[[Path], None]] = {
    "empty": empty,
    "garbage": garbage,
    "truncated": truncated,
    "cut-mid-page": cut_mid_page,
    "directory": directory,
    "fifo": fifo,
    "wal-fifo": wal_fifo,
    "newer-cmctl": newer,
    "other-sqlite": foreign,
    "missing": missing,
    "broken-link": broken_link,
}

COMMANDS = [
    ("publish",),
    ("publish", "--json"),
    ("publish", "--dry-run"),
    ("publish", "--post", "b"),
    ("status",),
    ("status", "--json"),
    ("log",),
    ("log", "--events", "--json"),
    ("plan",),
    ("plan", "--json"),
    ("resolve", "dec:b@feed", "--skip"),
    ("retry", "dec:b@feed"),
    ("daemon",),
]


def snapshot(state: Path) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for path in sorted(state.iterdir()):
        if path.name in ("plan.stamp", "ledger.id") or path.name.startswith("."):
            continue
        st = os.lstat(path)
        seen[path.name] = path.read_bytes() if stat.S_ISREG(st.st_mode) else stat.S_IFMT(st.st_mode)
    return seen


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_ledger_is_a_clean_error_in_every_command(
    project: Any, run: Any, now: Any, damage: str
) -> None:
    state = used_project(project, run, now)
    DAMAGE[damage](state)
    before = snapshot(state)
    now.move_to("2026-12-02T08:31:00Z")  # b is due: a silent fresh start would send both
    for args in COMMANDS:
        result = bounded(run, *args)
        said = result.stdout + result.stderr
        assert result.exit_code == 2, (args, said)
        assert "Traceback" not in said and "internal error" not in said, (args, said)
        if damage == "missing":
            assert "is missing, but" in said, (args, said)
        else:
            assert "not a usable" in said, (args, said)
        if damage != "newer-cmctl":
            assert "mv " in said and ".cmctl.old" in said, (args, said)  # the way out
        assert snapshot(state) == before, args  # never repaired, replaced or re-created
    assert (project.root / "public/feed.xml").read_text().count("<entry>") == 1


@pytest.mark.parametrize("damage", ["empty", "garbage", "truncated", "fifo", "missing"])
def test_the_cron_fast_path_reports_a_damaged_ledger(
    project: Any, run: Any, now: Any, monkeypatch: Any, damage: str
) -> None:
    import cmctl.project
    import cmctl.stamp

    state = used_project(project, run, now)
    DAMAGE[damage](state)

    def must_not_read(*_: Any, **__: Any) -> None:
        raise AssertionError("the fast path fell through to a full run")

    # Nothing changed since the last run: the fast path alone decides.
    monkeypatch.setattr(cmctl.stamp, "matching", lambda config: {"attention": None})
    monkeypatch.setattr(cmctl.project, "open_project", must_not_read)
    result = bounded(run, "publish")
    assert result.exit_code == 2, result.stdout + result.stderr
    assert "fell through" not in result.stderr
    assert "Traceback" not in result.stderr


def test_a_fifo_in_place_of_the_plan_stamp_never_hangs(project: Any, run: Any, now: Any) -> None:
    state = used_project(project, run, now)
    (state / "plan.stamp").unlink()
    os.mkfifo(state / "plan.stamp")
    assert bounded(run, "publish").exit_code == 0


def test_a_ledger_from_another_project_is_refused(
    project: Any, run: Any, now: Any, tmp_path: Path
) -> None:
    state = used_project(project, run, now)
    from cmctl.ledger.store import Ledger

    other = Ledger.open(tmp_path / "other")
    other.close()
    before = (tmp_path / "other" / LEDGER).read_bytes()
    (state / LEDGER).write_bytes(before)
    for args in (("publish",), ("status",)):
        result = run(*args)
        assert result.exit_code == 2
        assert "is not the ledger this state folder was using" in result.stderr
        assert "ledger.id" in result.stderr
    assert (state / LEDGER).read_bytes() == before


def test_a_restored_backup_of_the_same_ledger_is_accepted(project: Any, run: Any, now: Any) -> None:
    state = used_project(project, run, now)
    backup = (state / LEDGER).read_bytes()
    now.move_to("2026-12-02T08:31:00Z")
    assert run("publish").exit_code == 0  # b published
    (state / LEDGER).write_bytes(backup)  # an older backup of this very ledger
    assert run("status").exit_code == 0


def test_starting_afresh_is_one_explicit_step(project: Any, run: Any, now: Any) -> None:
    state = used_project(project, run, now)
    empty(state)
    result = run("publish")
    assert result.exit_code == 2
    state.rename(state.with_name(".cmctl.old"))  # what the hint says
    assert run("publish").exit_code == 0
    assert (state / LEDGER).stat().st_size > 0


def test_a_first_run_creates_the_ledger_and_its_marker(project: Any, run: Any, now: Any) -> None:
    from cmctl.ledger.store import Ledger

    project.calendar(calendar(post("a", at="2026-12-01 09:30"), accounts="[feed]"))
    assert as_json(run("status", "--json"))["ledger"] is False  # reading creates nothing
    assert not (project.root / ".cmctl").exists()
    assert run("publish").exit_code == 0
    state = project.root / ".cmctl"
    ledger = Ledger.open(state)
    try:
        assert (state / "ledger.id").read_text().split() == [
            "cmctl",
            "ledger",
            ledger.meta("ledger_id"),
        ]
    finally:
        ledger.close()
    assert sorted(p.name for p in state.iterdir() if p.name.endswith(".new")) == []


def test_a_ledger_from_before_the_marker_is_adopted(tmp_path: Path) -> None:
    from cmctl.ledger.store import Ledger

    ledger = Ledger.open(tmp_path)
    ledger.db.execute("DELETE FROM meta WHERE name = 'ledger_id'")
    ledger.close()
    (tmp_path / "ledger.id").unlink()
    ledger = Ledger.open(tmp_path)
    try:
        adopted = ledger.meta("ledger_id")
        assert adopted and (tmp_path / "ledger.id").read_text().split()[2] == adopted
    finally:
        ledger.close()


def test_two_first_runs_at_once_share_one_ledger(tmp_path: Path) -> None:
    from cmctl.ledger.store import Ledger

    ids: list[str | None] = []
    errors: list[BaseException] = []

    def first_run() -> None:
        try:
            ledger = Ledger.open(tmp_path)
            ids.append(ledger.meta("ledger_id"))
            ledger.close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=first_run) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert len(set(ids)) == 1 and len(ids) == 6
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".new")]


def test_damage_found_while_reading_rows_is_a_ledger_error(tmp_path: Path) -> None:
    """Corruption that only shows on a later query (a page cut off while the WAL hid
    it) is still the clean error, not a raw sqlite3 exception."""
    from cmctl.ledger.store import Ledger, LedgerError, _Connection

    ledger = Ledger.open(tmp_path)
    conn = ledger.db
    assert isinstance(conn, _Connection)
    err = sqlite3.DatabaseError("database disk image is malformed")
    err.sqlite_errorcode = 11  # type: ignore[attr-defined]
    from cmctl.ledger.store import _checked

    turned = _checked(err, conn)
    assert isinstance(turned, LedgerError) and turned.exit_code == 2
    assert "not a usable cmctl ledger" in turned.message
    ledger.close()
