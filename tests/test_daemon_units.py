"""The daemon's monitor as a unit: a fake monotonic clock, the wall clock frozen and
stepped by hand, a scheduler that records alarms instead of firing them."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import datetime, timedelta
from typing import Any

import pytest

from cmctl import daemon as daemon_mod
from cmctl.daemon import Daemon, Log
from tests.conftest import DEFAULT_NOW, Project

CONFIG = """
accounts:
  feed:
    network: feed
    path: public/feed.xml
defaults:
  timezone: UTC
"""


class Monotonic:
    def __init__(self) -> None:
        self.value = 1000.0

    def __call__(self) -> float:
        return self.value

    def advance(self, seconds: float) -> None:
        self.value += seconds


class FakeScheduler:
    """Records each alarm set; fires nothing."""

    def __init__(self) -> None:
        self.alarms: list[datetime] = []

    def add_job(self, _func: Any, _trigger: str, *, run_date: datetime, **_: Any) -> None:
        self.alarms.append(run_date)

    def get_job(self, _id: str) -> None:
        return None


@pytest.fixture
def mono(monkeypatch: pytest.MonkeyPatch) -> Monotonic:
    clock = Monotonic()
    monkeypatch.setattr("cmctl.clock.monotonic", clock)
    return clock


def calendar(*posts: tuple[str, datetime]) -> str:
    lines = ["defaults:", "  accounts: [feed]", "posts:"]
    for post_id, when in posts:
        lines += [
            f"  - id: {post_id}",
            f"    at: {when:%Y-%m-%d %H:%M:%S}",
            f"    text: post {post_id}",
        ]
    return "\n".join(lines) + "\n"


class Harness:
    def __init__(self, project: Project) -> None:
        from cmctl.project import load_config

        self.project = project
        self.stream = io.StringIO()
        self.daemon = Daemon(
            lambda: load_config(None), Log(self.stream, json_lines=True), fork=False
        )
        self.scheduler = FakeScheduler()
        self.daemon.scheduler = self.scheduler

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        records = [json.loads(line) for line in self.stream.getvalue().splitlines()]
        return [r for r in records if name is None or r["event"] == name]

    def heartbeat(self) -> datetime:
        info = json.loads(self.daemon.ledger.meta("daemon") or "{}")
        return datetime.fromisoformat(info["heartbeat"])


@pytest.fixture
def harness(project: Project, now: Any, mono: Monotonic) -> Harness:
    project.config(CONFIG)
    project.calendar(calendar(("later", DEFAULT_NOW + timedelta(days=1))), name="c.yaml")
    h = Harness(project)
    h.daemon.pulse()  # first heartbeat
    h.daemon.tick()
    return h


def test_clock_monotonic_is_the_interval_clock() -> None:
    from cmctl import clock

    first = clock.monotonic()
    assert clock.monotonic() >= first


def test_watch_and_heartbeat_go_on_after_the_wall_clock_steps_back(
    harness: Harness, now: Any, mono: Monotonic, project: Project
) -> None:
    d = harness.daemon
    assert harness.heartbeat() == DEFAULT_NOW
    now.move_to(DEFAULT_NOW - timedelta(hours=1))  # NTP steps the wall clock back
    mono.advance(0.5)
    d.pulse()
    assert [e["direction"] for e in harness.events("clock-step")] == ["back"]
    stream_before = len(harness.events())

    # Minutes later (monotonic), while the wall clock is still an hour behind where it was:
    # a calendar merged now is seen at the next watch, and the heartbeat still beats.
    project.calendar(
        calendar(
            ("later", DEFAULT_NOW + timedelta(days=1)),
            ("merged", DEFAULT_NOW - timedelta(minutes=50)),
        ),
        name="c.yaml",
    )
    mono.advance(daemon_mod.WATCH_SECONDS + 0.1)
    now.shift(daemon_mod.WATCH_SECONDS + 0.1)
    d.pulse()
    assert harness.events("reload requested")[-1]["reason"] == "files changed"
    assert len(harness.events()) > stream_before
    assert d._reload_requested

    mono.advance(daemon_mod.HEARTBEAT_SECONDS)
    now.shift(daemon_mod.HEARTBEAT_SECONDS)
    d.pulse()
    assert harness.heartbeat() == DEFAULT_NOW - timedelta(hours=1) + timedelta(
        seconds=daemon_mod.WATCH_SECONDS + 0.1 + daemon_mod.HEARTBEAT_SECONDS
    )
    assert not harness.events("clock-step")[1:], "a steady clock is not a step"


def test_a_step_forward_past_a_post_wakes_the_publisher(
    harness: Harness, now: Any, mono: Monotonic
) -> None:
    """APScheduler's alarm waits on wall time measured before the step: the monitor
    re-evaluates what is due at once."""
    d = harness.daemon
    assert d._alarm == DEFAULT_NOW + timedelta(days=1)
    now.move_to(DEFAULT_NOW + timedelta(days=1, minutes=1))
    mono.advance(0.5)
    d.pulse()
    assert harness.events("clock-step")[-1]["direction"] == "forward"
    assert harness.scheduler.alarms[-1] == DEFAULT_NOW + timedelta(days=1, minutes=1)
    # The heartbeat is written at once: `status` must not call the daemon dead.
    assert harness.heartbeat() == DEFAULT_NOW + timedelta(days=1, minutes=1)


def test_a_due_post_whose_alarm_did_not_fire_wakes_the_publisher(
    harness: Harness, now: Any, mono: Monotonic
) -> None:
    """No step: the periodic check on the monotonic clock notices a post due that no
    alarm fired for (a stuck scheduler, a retry queued by another process)."""
    d = harness.daemon
    now.move_to(DEFAULT_NOW + timedelta(days=1, seconds=5))
    mono.advance(86400 + 5)  # both clocks agree: a day went by, and the alarm never fired
    d.pulse()
    assert not harness.events("clock-step")
    assert "did not fire" in harness.events("waking")[-1]["reason"]
    assert harness.scheduler.alarms[-1] == DEFAULT_NOW + timedelta(days=1, seconds=5)


def test_the_problems_timer_runs_on_the_monotonic_clock(
    harness: Harness, now: Any, mono: Monotonic, project: Project
) -> None:
    project.calendar("posts: [", name="broken.yaml")  # a held calendar
    d = harness.daemon
    d._reload_requested = True
    d.tick()
    assert any("broken.yaml" in e["message"] for e in harness.events("needs-human"))
    alarms = len(harness.scheduler.alarms)
    now.move_to(DEFAULT_NOW - timedelta(hours=1))  # the wall clock steps back
    mono.advance(0.5)
    d.pulse()  # the step itself wakes it; then the timer must still come back
    d.tick()
    alarms = len(harness.scheduler.alarms)
    mono.advance(daemon_mod.RETRY_PROBLEMS_SECONDS + 1)
    now.shift(daemon_mod.RETRY_PROBLEMS_SECONDS + 1)
    d.pulse()
    assert "retrying held" in harness.events("waking")[-1]["reason"]
    assert len(harness.scheduler.alarms) > alarms


def dead_owner() -> str:
    """The owner id of a process of this machine that has exited."""
    from cmctl.ledger import owner

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    ident = owner.current()
    machine = ident.split("/", 1)[0]
    return f"{machine}/{proc.pid}/1"


def test_a_dead_local_claim_wakes_the_publisher_once(
    harness: Harness, now: Any, mono: Monotonic
) -> None:
    d = harness.daemon
    owner = dead_owner()
    assert d.ledger.claim("c:later@feed", owner, DEFAULT_NOW, timedelta(minutes=10))
    mono.advance(daemon_mod.WATCH_SECONDS + 0.1)
    now.shift(daemon_mod.WATCH_SECONDS + 0.1)
    d.pulse()
    assert "owner died" in harness.events("waking")[-1]["reason"]
    d.tick()  # the publisher's recovery: the feed is idempotent, so it goes back to pending
    assert d.ledger.get("c:later@feed").state == "pending"  # type: ignore[union-attr]
    wakes = len(harness.events("waking"))
    mono.advance(daemon_mod.WATCH_SECONDS + 0.1)
    now.shift(daemon_mod.WATCH_SECONDS + 0.1)
    d.pulse()
    assert len(harness.events("waking")) == wakes


def test_another_machines_claim_sets_the_alarm_at_its_lease_expiry(
    harness: Harness, now: Any, mono: Monotonic
) -> None:
    d = harness.daemon
    expires = DEFAULT_NOW + timedelta(minutes=10)
    assert d.ledger.claim(
        "c:later@feed", "elsewhere:abc/123/456", DEFAULT_NOW, timedelta(minutes=10)
    )
    d.tick()
    assert d._alarm == expires
    # And when that moment passes with no alarm (replaced, or never fired), the watch
    # wakes the publisher for it.
    now.move_to(expires + timedelta(seconds=5))
    mono.advance((expires - DEFAULT_NOW).total_seconds() + 5)
    d._alarm = None
    d.pulse()
    assert "owner died" in harness.events("waking")[-1]["reason"]


def test_a_claim_of_a_live_local_process_is_left_alone(
    harness: Harness, now: Any, mono: Monotonic
) -> None:
    from cmctl.ledger import owner

    d = harness.daemon
    assert d.ledger.claim("c:later@feed", owner.current(), DEFAULT_NOW, timedelta(minutes=10))
    mono.advance(daemon_mod.WATCH_SECONDS + 0.1)
    now.shift(daemon_mod.WATCH_SECONDS + 0.1)
    d.pulse()
    assert not harness.events("waking")


def test_a_reload_that_fails_is_said_by_status(
    harness: Harness, project: Project, run: Any
) -> None:
    """Item 13: the daemon goes on with its previous plan when cmctl.yaml breaks (a
    glob that matches nothing), and `cmctl status` says so (exit 1) until it is fixed."""
    good = (project.root / "cmctl.yaml").read_text(encoding="utf-8")
    project.config(good + "calendars: calendrs/*.yaml\n")
    d = harness.daemon
    d._reload_requested = True
    d.tick()
    assert harness.events("reload-failed")
    status = run("status", "--json")
    assert status.exit_code == 1
    assert any(
        "could not reload" in line and "calendrs/*.yaml" in line
        for line in json.loads(status.stdout)["blocked"]
    )
    project.config(good)
    d._reload_requested = True
    d.tick()
    assert run("status").exit_code == 0


@pytest.mark.parametrize("kind", ["fifo", "dir", "link"])
def test_a_daemon_lock_that_is_not_a_file_is_a_clean_error(
    project: Project, run: Any, kind: str
) -> None:
    """Item 20: a FIFO, a folder or a symbolic link in place of daemon.lock: exit 2, no
    hang, no traceback, and nothing written through the link."""
    import os

    project.config(CONFIG)
    project.calendar(calendar(("later", DEFAULT_NOW + timedelta(days=1))), name="c.yaml")
    state = project.root / ".cmctl"
    assert run("publish").exit_code == 0
    lock = state / "daemon.lock"
    target = project.root / "elsewhere.txt"
    if kind == "fifo":
        os.mkfifo(lock)
    elif kind == "dir":
        lock.mkdir()
    else:
        target.write_text("keep me\n", encoding="utf-8")
        lock.symlink_to(target)
    result = run("daemon")
    assert result.exit_code == 2, result.output
    assert "daemon.lock" in result.stderr
    if kind == "link":
        assert target.read_text(encoding="utf-8") == "keep me\n"


def test_a_daemon_started_on_a_broken_glob_says_so_in_status(
    project: Project, now: Any, mono: Monotonic, run: Any
) -> None:
    """No previous plan to fall back on: the daemon keeps trying (a fix is picked up by
    itself) and `cmctl status` exits 1 saying why, instead of a silent idle daemon."""
    project.config(CONFIG + "calendars: calendrs/*.yaml\n")
    h = Harness(project)
    h.daemon.pulse()
    h.daemon.tick()
    assert h.events("error")
    status = run("status", "--json")
    assert status.exit_code == 1
    assert any("calendrs/*.yaml" in line for line in json.loads(status.stdout)["blocked"])
