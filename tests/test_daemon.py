"""The real `cmctl daemon` process: on time, reload, one per state folder, clean stop.

These are the few tests that wait on the wall clock: posts are scheduled a few
seconds ahead and the daemon must publish them when they fall due.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.process import Processes, cmctl_cmd, processes_fixture  # noqa: F401 (the fixture)

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def _reaped(processes: Processes) -> Iterator[None]:
    """Every process a test here starts (daemons, their ticks, cron runs) is killed as a
    group and reaped when the test ends, pass or fail (tests/process.py)."""
    with processes.watching():
        yield


ATOM = "{http://www.w3.org/2005/Atom}"
CONFIG = """\
accounts:
  feed:
    network: feed
    path: public/feed.xml
defaults:
  timezone: UTC
"""


def at(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).strftime("%Y-%m-%d %H:%M:%S")


def write_calendar(root: Path, posts: list[tuple[str, str]]) -> None:
    lines = ["defaults:", "  accounts: [feed]", "posts:"]
    for post_id, when in posts:
        lines += [f"  - id: {post_id}", f"    at: {when}", f"    text: post {post_id}"]
    (root / "calendars").mkdir(exist_ok=True)
    path = root / "calendars" / "c.yaml"
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.replace(path)


def published_ids(root: Path) -> list[str]:
    path = root / "public" / "feed.xml"
    if not path.exists():
        return []
    return [e.findtext(f"{ATOM}id") or "" for e in ET.parse(path).getroot().iter(f"{ATOM}entry")]


def wait_for(predicate: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


class DaemonProc:
    def __init__(
        self, root: Path, *, cmd: list[str] | None = None, env: dict[str, str] | None = None
    ) -> None:
        self.root = root
        env = {**os.environ, "NO_COLOR": "1", "HOME": str(root), **(env or {})}
        self.stderr_path = root / "daemon.log"
        self.proc = subprocess.Popen(
            [*(cmd or cmctl_cmd()), "daemon", "--log-format", "json"],
            cwd=root,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self.stderr_path.open("w"),
        )

    def events(self) -> list[dict[str, Any]]:
        text = self.stderr_path.read_text(encoding="utf-8")
        return [json.loads(line) for line in text.splitlines() if line.startswith("{")]

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout=timeout)


@pytest.fixture
def daemon_project(tmp_path: Path) -> Iterator[tuple[Path, list[DaemonProc]]]:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "cmctl.yaml").write_text(CONFIG, encoding="utf-8")
    started: list[DaemonProc] = []
    yield root, started  # the processes are reaped by _reaped


def test_daemon_publishes_on_time_and_stops_cleanly(daemon_project: Any) -> None:
    root, started = daemon_project
    write_calendar(root, [("a", at(3)), ("b", at(5))])
    d = DaemonProc(root)
    started.append(d)
    assert wait_for(lambda: len(published_ids(root)) == 2), d.stderr_path.read_text()

    def logged() -> set[str]:  # the log line follows the feed's write and the ledger's
        return {e["key"] for e in d.events() if e["event"] == "published"}

    assert wait_for(lambda: logged() == {"c:a@feed", "c:b@feed"}), d.stderr_path.read_text()
    events = d.events()
    assert any(e["event"] == "sleeping" for e in events), "it sleeps until the next post"
    status = subprocess.run(
        [*cmctl_cmd(), "status", "--json"], cwd=root, capture_output=True, text=True, timeout=30
    )
    assert json.loads(status.stdout)["daemon"]["alive"] is True
    assert d.stop() == 0
    assert d.events()[-1]["event"] == "stopped"
    status = subprocess.run(
        [*cmctl_cmd(), "status", "--json"], cwd=root, capture_output=True, text=True, timeout=30
    )
    assert json.loads(status.stdout)["daemon"]["state"] == "stopped"


def test_daemon_is_not_late(daemon_project: Any) -> None:
    root, started = daemon_project
    when = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=4)
    write_calendar(root, [("a", when.strftime("%Y-%m-%d %H:%M:%S"))])
    d = DaemonProc(root)
    started.append(d)
    assert wait_for(lambda: len(published_ids(root)) == 1)
    # the feed file is written before the tick logs its event: wait for the event too
    assert wait_for(lambda: any(e["event"] == "published" for e in d.events()), timeout=10)
    [event] = [e for e in d.events() if e["event"] == "published"]
    lateness = (datetime.fromisoformat(event["ts"]) - when).total_seconds()
    assert 0 <= lateness < 2.0, lateness


def test_a_changed_calendar_is_picked_up_without_restart(daemon_project: Any) -> None:
    root, started = daemon_project
    write_calendar(root, [("a", at(3600))])
    d = DaemonProc(root)
    started.append(d)
    assert wait_for(lambda: any(e["event"] == "sleeping" for e in d.events()))
    write_calendar(root, [("a", at(3600)), ("merged", at(3))])  # a merged pull request
    assert wait_for(lambda: published_ids(root) == ["urn:cmctl:c:merged@feed"])
    assert any(e["event"] == "reloaded" for e in d.events())
    assert d.stop() == 0


def test_sighup_reloads(daemon_project: Any) -> None:
    root, started = daemon_project
    write_calendar(root, [("a", at(3600))])
    d = DaemonProc(root)
    started.append(d)
    assert wait_for(lambda: any(e["event"] == "sleeping" for e in d.events()))
    d.proc.send_signal(signal.SIGHUP)
    assert wait_for(lambda: any(e["event"] == "reloaded" for e in d.events()))
    assert d.stop() == 0


def test_one_daemon_per_state_folder(daemon_project: Any) -> None:
    root, started = daemon_project
    write_calendar(root, [("a", at(3600))])
    d = DaemonProc(root)
    started.append(d)
    assert wait_for(lambda: any(e["event"] == "started" for e in d.events()))
    second = subprocess.run(
        [*cmctl_cmd(), "daemon"], cwd=root, capture_output=True, text=True, timeout=30
    )
    assert second.returncode == 2
    assert "already runs" in second.stderr
    assert d.stop(signal.SIGINT) == 0


def test_kill_9_and_restart_lose_nothing(daemon_project: Any) -> None:
    root, started = daemon_project
    write_calendar(root, [(f"p{i}", at(2 + i * 0.5)) for i in range(6)])
    d = DaemonProc(root)
    started.append(d)
    assert wait_for(lambda: len(published_ids(root)) >= 2)
    d.proc.kill()  # SIGKILL: no chance to clean up
    d.proc.wait()
    d2 = DaemonProc(root)
    started.append(d2)
    assert wait_for(lambda: len(published_ids(root)) == 6, timeout=30)
    ids = published_ids(root)
    assert sorted(ids) == sorted(f"urn:cmctl:c:p{i}@feed" for i in range(6))
    assert d2.stop() == 0


def test_kill_9_mid_burst_on_mastodon_and_bluesky(tmp_path: Path) -> None:
    """SIGKILL while posts are in flight to both networks, then a restart: every post
    exists exactly once on each network (idempotency keys, deterministic record keys)."""
    from tests.fakes.bluesky import FakeBluesky
    from tests.fakes.mastodon import FakeMastodon

    root = tmp_path / "proj"
    (root / "calendars").mkdir(parents=True)
    with FakeMastodon(latency=0.15) as masto, FakeBluesky(latency=0.15) as bsky:
        (root / "cmctl.yaml").write_text(
            "accounts:\n"
            f"  masto:\n    network: mastodon\n    instance: {masto.url}\n"
            "    token: ${MASTO_TOKEN}\n"
            f"  bsky:\n    network: bluesky\n    handle: brand.test\n"
            f"    app_password: ${{BSKY_PASSWORD}}\n    service: {bsky.url}\n"
            "defaults:\n  timezone: UTC\n",
            encoding="utf-8",
        )
        when = at(2)
        posts = "".join(
            f'  - id: p{i}\n    at: {when}\n    text: "Post numéro {i} #cm"\n' for i in range(12)
        )
        (root / "calendars" / "c.yaml").write_text(
            "defaults:\n  accounts: [masto, bsky]\nposts:\n" + posts, encoding="utf-8"
        )
        env_patch = {"MASTO_TOKEN": "good-token", "BSKY_PASSWORD": "app-pass-1234"}
        os.environ.update(env_patch)
        try:
            first = DaemonProc(root)
            assert wait_for(lambda: len(masto.statuses) >= 3 and len(bsky.posts()) >= 3), (
                first.stderr_path.read_text()
            )
            first.proc.kill()  # mid-run: some posts out, some in flight, some not started
            first.proc.wait()
            second = DaemonProc(root)
            assert wait_for(
                lambda: len(masto.statuses) >= 12 and len(bsky.posts()) >= 12, timeout=40
            ), second.stderr_path.read_text()
            time.sleep(1.0)  # anything still going out would show up now
            assert second.stop() == 0
        finally:
            for name in env_patch:
                os.environ.pop(name, None)
        masto_texts = sorted(s["text"] for s in masto.statuses)
        bsky_texts = sorted(p["text"] for p in bsky.posts())
        expected = sorted(f"Post numéro {i} #cm" for i in range(12))
        assert masto_texts == expected, "each post exactly once on Mastodon"
        assert bsky_texts == expected, "each post exactly once on Bluesky"


def test_a_post_falling_due_during_a_slow_tick_is_not_forgotten(tmp_path: Path) -> None:
    """Account one's post takes 3 s to send; account two's falls due meanwhile. The
    daemon must notice it when the tick ends, not go idle."""
    from tests.fakes.mastodon import FakeMastodon

    root = tmp_path / "proj"
    (root / "calendars").mkdir(parents=True)
    with FakeMastodon(latency=3.0) as masto:
        accounts = "".join(
            f"  {name}:\n    network: mastodon\n    instance: {masto.url}\n    token: good-token\n"
            for name in ("one", "two")
        )
        (root / "cmctl.yaml").write_text(
            f"accounts:\n{accounts}defaults:\n  timezone: UTC\n", encoding="utf-8"
        )
        (root / "calendars" / "c.yaml").write_text(
            "posts:\n"
            f"  - id: slow\n    at: {at(2)}\n    accounts: [one]\n    text: slow\n"
            f"  - id: meanwhile\n    at: {at(3.5)}\n    accounts: [two]\n    text: meanwhile\n",
            encoding="utf-8",
        )
        d = DaemonProc(root)
        try:
            assert wait_for(lambda: sorted(masto.texts) == ["meanwhile", "slow"], timeout=25), (
                d.stderr_path.read_text()
            )
        finally:
            d.stop()


def ledger_row(root: Path, key: str) -> dict[str, Any] | None:
    import sqlite3

    path = root / ".cmctl" / "ledger.sqlite3"
    if not path.exists():
        return None
    conn = sqlite3.connect(path, timeout=10)
    conn.row_factory = sqlite3.Row
    try:
        row = conn.execute("SELECT * FROM jobs WHERE key = ?", (key,)).fetchone()
    except sqlite3.OperationalError:
        return None
    finally:
        conn.close()
    return dict(row) if row else None


def shifted_cmd(seconds: int) -> tuple[list[str], dict[str, str]]:
    """A cmctl whose clock runs ``seconds`` away from this test's (session shift kept)."""
    from tests.clockshift import ENV, parse_offset
    from tests.process import SHIFTED

    base = parse_offset(os.environ[ENV]) if os.environ.get(ENV) else timedelta(0)
    total = int(base.total_seconds()) + seconds
    return [sys.executable, str(SHIFTED)], {ENV: f"{total}s"}


@pytest.mark.parametrize(
    "claim_age, outcome",
    [
        (0, "published"),  # Mastodon remembers the idempotency key for an hour: resent
        (2 * 3600, "unknown"),  # claimed 2 h ago: a resend could post twice, a human looks
    ],
)
def test_daemon_recovers_the_claim_of_a_killed_publish(
    tmp_path: Path, claim_age: int, outcome: str
) -> None:
    """`cmctl publish` is killed (SIGKILL) while the fake holds its request; the running
    daemon recovers the dead claim within seconds, not at the 10-minute lease."""
    from tests.fakes.mastodon import FakeMastodon

    root = tmp_path / "proj"
    (root / "calendars").mkdir(parents=True)
    key = "c:p@masto"
    with FakeMastodon() as masto:
        (root / "cmctl.yaml").write_text(
            f"accounts:\n  masto:\n    network: mastodon\n    instance: {masto.url}\n"
            "    token: good-token\ndefaults:\n  timezone: UTC\n",
            encoding="utf-8",
        )
        (root / "calendars" / "c.yaml").write_text(
            f"posts:\n  - id: p\n    at: {at(-claim_age - 5)}\n    accounts: [masto]\n"
            "    catch_up: 3h\n    text: once only\n",
            encoding="utf-8",
        )
        masto.hang_next("/api/v1/statuses", 60, commit=True)  # stored, then no answer
        env = {**os.environ, "NO_COLOR": "1", "HOME": str(root)}
        cmd = cmctl_cmd()
        if claim_age:  # the cron run's clock is claim_age behind: its claim looks old
            cmd, extra = shifted_cmd(-claim_age)
            env.update(extra)
        cron = subprocess.Popen(
            [*cmd, "publish"],
            cwd=root,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        d: DaemonProc | None = None
        try:
            assert wait_for(
                lambda: (
                    len(masto.statuses) == 1
                    and (ledger_row(root, key) or {}).get("state") == "sending"
                )
            )
            d = DaemonProc(root)
            assert wait_for(lambda: any(e["event"] in ("sleeping", "idle") for e in d.events())), (
                d.stderr_path.read_text()
            )
            assert (ledger_row(root, key) or {})["state"] == "sending"  # the cron is alive
            cron.kill()  # SIGKILL mid-send
            cron.wait()
            killed = time.monotonic()
            assert wait_for(
                lambda: (ledger_row(root, key) or {}).get("state") == outcome, timeout=15
            ), d.stderr_path.read_text()
            assert time.monotonic() - killed < 10, "within seconds, not at the lease"
            time.sleep(0.5)  # a second copy would show up now
            assert d.stop() == 0
        finally:
            if cron.poll() is None:
                cron.kill()
                cron.wait()
            if d is not None and d.proc.poll() is None:
                d.proc.kill()
                d.proc.wait()
        assert masto.texts == ["once only"], "never twice"
        events = d.events()
        assert any(e["event"] == "waking" and "owner died" in e.get("reason", "") for e in events)
        if outcome == "unknown":
            assert any(e["event"] == "unknown" and e["key"] == key for e in events)


def test_a_wall_clock_step_back_does_not_stop_the_watch(daemon_project: Any) -> None:
    """The wall clock steps back an hour (NTP, a VM restore) while the daemon runs: a
    calendar merged just after is still picked up and published at its time."""
    from tests.process import SHIFTED

    root, started = daemon_project
    write_calendar(root, [("a", at(7200))])
    marker = root / "stepped"
    d = DaemonProc(
        root,
        cmd=[sys.executable, str(SHIFTED.with_name("stepped_cmctl.py"))],
        env={"CMCTL_TEST_CLOCK_STEP": f"3:-3600:{marker}"},
    )
    started.append(d)
    assert wait_for(lambda: marker.exists()), d.stderr_path.read_text()
    # What the daemon's wall clock now says, plus 3 s.
    when = (datetime.now(UTC) - timedelta(seconds=3600 - 3)).strftime("%Y-%m-%d %H:%M:%S")
    write_calendar(root, [("a", at(7200)), ("merged", when)])
    assert wait_for(lambda: published_ids(root) == ["urn:cmctl:c:merged@feed"], timeout=15), (
        d.stderr_path.read_text()
    )
    events = d.events()
    assert any(e["event"] == "clock-step" for e in events)
    assert d.stop() == 0


def test_sigterm_reaches_the_tick_process_whose_send_in_flight_finishes(tmp_path: Path) -> None:
    """SIGTERM while the tick process waits on a slow network: the send in flight
    finishes and is recorded (and logged), the next one never starts, the daemon exits 0."""
    from tests.fakes.mastodon import FakeMastodon

    root = tmp_path / "proj"
    (root / "calendars").mkdir(parents=True)
    with FakeMastodon(latency=2.0) as masto:
        (root / "cmctl.yaml").write_text(
            f"accounts:\n  masto:\n    network: mastodon\n    instance: {masto.url}\n"
            "    token: good-token\ndefaults:\n  timezone: UTC\n",
            encoding="utf-8",
        )
        when = at(1)
        (root / "calendars" / "c.yaml").write_text(
            "defaults:\n  accounts: [masto]\nposts:\n"
            f"  - id: a\n    at: {when}\n    text: first\n"
            f"  - id: b\n    at: {when}\n    text: second\n",
            encoding="utf-8",
        )
        d = DaemonProc(root)
        try:

            def sending() -> dict[str, Any] | None:
                rows = [ledger_row(root, f"c:{p}@masto") or {} for p in ("a", "b")]
                return next((r for r in rows if r.get("state") == "sending"), None)

            assert wait_for(lambda: sending() is not None, timeout=30), d.stderr_path.read_text()
            row = sending()
            assert row is not None
            tick_pid = int(row["claim_owner"].split("/")[1])
            assert tick_pid != d.proc.pid, "the send runs in a tick process"
            assert d.stop(timeout=30) == 0, d.stderr_path.read_text()
        finally:
            if d.proc.poll() is None:
                d.proc.kill()
                d.proc.wait()
        assert masto.texts == ["first" if row["key"] == "c:a@masto" else "second"]
    assert (ledger_row(root, row["key"]) or {})["state"] == "published"
    other = "c:b@masto" if row["key"] == "c:a@masto" else "c:a@masto"
    assert (ledger_row(root, other) or {})["state"] == "pending", "no new send after SIGTERM"
    events = d.events()
    assert [e["key"] for e in events if e["event"] == "published"] == [row["key"]]
    assert events[-1]["event"] == "stopped"
    with pytest.raises(ProcessLookupError):
        os.kill(tick_pid, 0)


def test_a_tick_process_that_dies_is_logged_and_its_claim_recovered(tmp_path: Path) -> None:
    """The tick process is SIGKILLed mid-send: the daemon lives on, says so, and recovers
    the claim at once (Mastodon's idempotency key: resent, published once)."""
    from tests.fakes.mastodon import FakeMastodon

    root = tmp_path / "proj"
    (root / "calendars").mkdir(parents=True)
    key = "c:p@masto"
    with FakeMastodon() as masto:
        (root / "cmctl.yaml").write_text(
            f"accounts:\n  masto:\n    network: mastodon\n    instance: {masto.url}\n"
            "    token: good-token\ndefaults:\n  timezone: UTC\n",
            encoding="utf-8",
        )
        (root / "calendars" / "c.yaml").write_text(
            f"posts:\n  - id: p\n    at: {at(1)}\n    accounts: [masto]\n    text: once only\n",
            encoding="utf-8",
        )
        masto.hang_next("/api/v1/statuses", 60, commit=True)  # stored, then no answer
        d = DaemonProc(root)
        try:
            assert wait_for(
                lambda: (
                    len(masto.statuses) == 1
                    and (ledger_row(root, key) or {}).get("state") == "sending"
                ),
                timeout=30,
            ), d.stderr_path.read_text()
            owner = (ledger_row(root, key) or {})["claim_owner"]
            tick_pid = int(owner.split("/")[1])
            assert tick_pid != d.proc.pid
            os.kill(tick_pid, signal.SIGKILL)
            assert wait_for(
                lambda: (ledger_row(root, key) or {}).get("state") == "published", timeout=20
            ), d.stderr_path.read_text()
            assert d.proc.poll() is None, "the daemon lives on"
            assert d.stop() == 0
        finally:
            if d.proc.poll() is None:
                d.proc.kill()
                d.proc.wait()
        assert masto.texts == ["once only"], "never twice"
    events = d.events()
    assert any(
        e["event"] == "internal-error" and "killed by SIGKILL" in e["message"] for e in events
    ), events
    assert any(e["event"] == "waking" and "owner died" in e.get("reason", "") for e in events)


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_the_daemon_does_not_hold_the_plan(tmp_path: Path) -> None:
    """Issue #7: the daemon's memory does not grow with the number of posts (the tick
    process loads the calendars, then exits)."""
    sizes = {}
    for count in (20, 8000):
        root = tmp_path / f"p{count}"
        root.mkdir()
        (root / "cmctl.yaml").write_text(CONFIG, encoding="utf-8")
        start = datetime.now(UTC) + timedelta(days=2)
        write_calendar(
            root,
            [
                (f"p{i}", (start + timedelta(minutes=i)).strftime("%Y-%m-%d %H:%M:%S"))
                for i in range(count)
            ],
        )
        d = DaemonProc(root)
        try:
            assert wait_for(
                lambda: any(e["event"] == "sleeping" for e in d.events()),  # noqa: B023
                timeout=60,
            ), d.stderr_path.read_text()
            sizes[count] = rss_kb(d.proc.pid)
            assert d.stop() == 0
        finally:
            if d.proc.poll() is None:
                d.proc.kill()
                d.proc.wait()
    print(sizes)
    assert sizes[8000] - sizes[20] < 6 * 1024, sizes  # holding the plan: about 19 MB more


def test_a_reload_that_fails_keeps_posting_and_status_says_so(daemon_project: Any) -> None:
    """cmctl.yaml breaks (a glob that matches nothing) while a calendar gains a post: the
    tick falls back to the previous cmctl.yaml, the post goes out on time, and `cmctl
    status` says the reload failed until cmctl.yaml is fixed."""
    root, started = daemon_project
    write_calendar(root, [("a", at(3600))])
    d = DaemonProc(root)
    started.append(d)
    assert wait_for(lambda: any(e["event"] == "sleeping" for e in d.events()))
    (root / "cmctl.yaml").write_text(CONFIG + "calendars: calendrs/*.yaml\n", encoding="utf-8")
    write_calendar(root, [("a", at(3600)), ("merged", at(3))])
    assert wait_for(lambda: published_ids(root) == ["urn:cmctl:c:merged@feed"]), (
        d.stderr_path.read_text()
    )
    failed = [e for e in d.events() if e["event"] == "reload-failed"]
    assert failed and "calendrs/*.yaml" in failed[0]["message"]

    def status() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*cmctl_cmd(), "status", "--json"], cwd=root, capture_output=True, text=True
        )

    assert any("could not reload" in line for line in json.loads(status().stdout)["blocked"])
    (root / "cmctl.yaml").write_text(CONFIG, encoding="utf-8")
    assert wait_for(lambda: any(e["event"] == "reloaded" for e in d.events()))
    assert wait_for(lambda: status().returncode == 0)
    assert d.stop() == 0
