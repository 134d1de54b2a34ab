"""The emergency brake: `cmctl pause` / `cmctl resume` (cmctl/brake.py), through the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import as_json, calendar, post
from tests.process import Processes, cmctl_cmd, processes_fixture  # noqa: F401 (the fixture)

ATOM = "{http://www.w3.org/2005/Atom}"
CONFIG = """
accounts:
  feed:
    network: feed
    path: public/feed.xml
  news:
    network: feed
    path: public/news.xml
defaults:
  timezone: Europe/Paris
"""


@pytest.fixture
def brake_project(project: Any) -> Any:
    project.config(CONFIG)
    project.calendar(
        calendar(
            post("a", at="2026-12-01 09:30"),
            post("b", at="2026-12-01 09:40", catch_up="2h"),
            accounts="[feed, news]",
        )
    )
    return project


def ids(project: Any, name: str) -> list[str]:
    path = project.root / "public" / name
    if not path.exists():
        return []
    return [e.findtext(f"{ATOM}id") or "" for e in ET.parse(path).getroot().iter(f"{ATOM}entry")]


def publish(run: Any, *args: str) -> tuple[int, dict[str, Any]]:
    result = run("publish", "--json", *args)
    return result.exit_code, as_json(result)


def outcomes(data: dict[str, Any]) -> list[tuple[str, str]]:
    return [(o["key"], o["state"]) for o in data["outcomes"]]


def test_pause_everything_holds_due_posts_and_resume_sends_or_misses(
    brake_project: Any, run: Any, now: Any
) -> None:
    now.move_to("2026-12-01T07:00:00+00:00")
    result = run("pause", "--reason", "product recall")
    assert result.exit_code == 0, result.output
    assert "paused everything" in result.stdout and "product recall" in result.stdout
    now.move_to("2026-12-01T08:45:00Z")  # 09:45 Paris: a and b are due
    code, data = publish(run)
    assert code == 0
    assert sorted(outcomes(data)) == [
        ("dec:a@feed", "held"),
        ("dec:a@news", "held"),
        ("dec:b@feed", "held"),
        ("dec:b@news", "held"),
    ]
    assert "held: paused since 2026-12-01 07:00:00Z by " in data["outcomes"][0]["message"]
    assert "(product recall)" in data["outcomes"][0]["message"]
    assert ids(brake_project, "feed.xml") == [] and ids(brake_project, "news.xml") == []
    # cron runs again later: still held, and never marked missed while paused
    now.move_to("2026-12-01T10:00:00Z")  # 11:00 Paris: a is past its 1 h window
    code, data = publish(run)
    assert {state for _, state in outcomes(data)} == {"held"}
    human = run("publish")
    assert "held" in human.stdout and "product recall" in human.stdout
    # resume: b (2 h window) goes out, a is missed and listed by status
    result = run("resume")
    assert result.exit_code == 0 and "resumed everything" in result.stdout
    code, data = publish(run)
    assert sorted(outcomes(data)) == [
        ("dec:a@feed", "missed"),
        ("dec:a@news", "missed"),
        ("dec:b@feed", "published"),
        ("dec:b@news", "published"),
    ]
    assert ids(brake_project, "feed.xml") == ["urn:cmctl:dec:b@feed"]
    status = run("status")
    assert status.exit_code == 1
    assert "PAUSED" not in status.stdout
    assert "dec:a@feed" in status.stdout and "missed" in status.stdout


def test_pause_one_account_the_others_go_on(brake_project: Any, run: Any, now: Any) -> None:
    now.move_to("2026-12-01T07:00:00+00:00")
    assert run("pause", "news", "--reason", "bad buzz").exit_code == 0
    now.move_to("2026-12-01T08:31:00Z")  # a is due
    _, data = publish(run)
    assert sorted(outcomes(data)) == [("dec:a@feed", "published"), ("dec:a@news", "held")]
    assert ids(brake_project, "feed.xml") == ["urn:cmctl:dec:a@feed"]
    assert ids(brake_project, "news.xml") == []
    # an account cannot be resumed alone under a whole-project pause; here it can
    assert run("resume", "news").exit_code == 0
    _, data = publish(run)
    assert outcomes(data) == [("dec:a@news", "published")]


def test_status_says_the_pause_first_and_exits_1(brake_project: Any, run: Any, now: Any) -> None:
    now.move_to("2026-12-01T07:00:00+00:00")
    run("pause", "news", "--reason", "legal review")
    status = run("status")
    assert status.exit_code == 1
    first = status.stdout.splitlines()[0]
    assert first.startswith("PAUSED account 'news': paused since 2026-12-01 07:00:00Z by ")
    assert "@" in first and "(legal review)" in first and "`cmctl resume news`" in first
    data = as_json(run("status", "--json"))
    assert data["pauses"][0]["account"] == "news"
    assert data["pauses"][0]["reason"] == "legal review"
    assert data["pauses"][0]["since"] == "2026-12-01T07:00:00+00:00"
    assert "@" in data["pauses"][0]["by"]
    run("pause", "--reason", "crisis")
    lines = run("status").stdout.splitlines()
    assert lines[0].startswith("PAUSED everything: ") and "(crisis)" in lines[0]
    assert lines[1].startswith("PAUSED account 'news'")
    resumed = run("resume")
    assert resumed.exit_code == 0 and resumed.stdout.count("resumed") == 2
    status = run("status")
    assert status.exit_code == 0 and "PAUSED" not in status.stdout


def test_unknown_accounts_are_a_usage_error_naming_the_known_ones(
    brake_project: Any, run: Any
) -> None:
    for command in ("pause", "resume"):
        result = run(command, "feed", "nope")
        assert result.exit_code == 2
        assert "'nope'" in result.stderr and "feed, news" in result.stderr
        assert "Traceback" not in result.output
    assert run("status").stdout.find("PAUSED") == -1


def test_resuming_one_account_under_a_whole_project_pause_is_refused(
    brake_project: Any, run: Any
) -> None:
    run("pause")
    result = run("resume", "news")
    assert result.exit_code == 1
    assert "whole project is paused" in result.stderr and "`cmctl resume`" in result.stderr
    assert run("status").exit_code == 1


def test_publish_post_during_a_pause_is_refused(brake_project: Any, run: Any, now: Any) -> None:
    now.move_to("2026-12-01T07:00:00+00:00")
    run("pause", "feed", "--reason", "crisis")
    result = run("publish", "--post", "dec:a@feed")
    assert result.exit_code == 1
    assert "account 'feed' is paused since" in result.stderr and "(crisis)" in result.stderr
    assert "`cmctl resume feed`" in result.stderr
    assert ids(brake_project, "feed.xml") == []
    # the other account's post may still be sent on purpose
    assert run("publish", "--post", "dec:a@news").exit_code == 0
    assert ids(brake_project, "news.xml") == ["urn:cmctl:dec:a@news"]
    run("resume", "feed")
    assert run("publish", "--post", "dec:a@feed").exit_code == 0
    assert ids(brake_project, "feed.xml") == ["urn:cmctl:dec:a@feed"]


def test_dry_run_shows_held_jobs_as_held(brake_project: Any, run: Any, now: Any) -> None:
    now.move_to("2026-12-01T07:00:00+00:00")
    run("pause", "news")
    now.move_to("2026-12-01T08:31:00Z")
    code, data = publish(run, "--dry-run")
    assert code == 0
    assert sorted(outcomes(data)) == [("dec:a@feed", "would-send"), ("dec:a@news", "held")]
    assert ids(brake_project, "feed.xml") == []


def test_a_pause_pulled_mid_run_holds_what_is_not_claimed_yet(
    brake_project: Any, run: Any, now: Any, monkeypatch: Any
) -> None:
    """The claim that starts each send checks the pause in the same statement: a pause
    committed while a run goes through its list stops the rest of the list."""
    from cmctl import brake
    from cmctl.ledger.store import LEDGER_NAME, Ledger
    from cmctl.publish.sending import Sending

    brake_project.calendar(  # one account: its posts go one after the other
        calendar(post("a", at="2026-12-01 09:30"), post("b"), post("c"), accounts="[feed]")
    )
    now.move_to("2026-12-01T08:45:00Z")  # all three due
    sent: list[Any] = []
    original = Sending._publish

    def publish_then_pause(adapter: Any, out: Any) -> Any:
        answer = original(adapter, out)
        sent.append(out)
        if len(sent) == 1:  # someone pulls the brake while the first send is out
            ledger = Ledger(next(brake_project.root.rglob(LEDGER_NAME)))
            brake.pause(ledger, [], "mid-run", datetime.now(UTC))
            ledger.close()
        return answer

    monkeypatch.setattr(Sending, "_publish", staticmethod(publish_then_pause))
    _, data = publish(run)
    final = [state for _, state in outcomes(data)]
    assert len(sent) == 1
    assert final == ["published", "held", "held"]
    assert ids(brake_project, "feed.xml") == ["urn:cmctl:dec:a@feed"]


@pytest.mark.e2e
def test_a_pause_during_a_burst_with_the_daemon_running(
    tmp_path: Path, processes: Processes
) -> None:
    """A real daemon sends a burst to a slow network; `cmctl pause` returns; nothing is
    sent after that (a send in flight may finish). `cmctl resume`: the rest goes out."""
    from tests.fakes.mastodon import FakeMastodon

    root = tmp_path / "proj"
    (root / "calendars").mkdir(parents=True)
    with FakeMastodon(latency=0.3) as masto:
        (root / "cmctl.yaml").write_text(
            f"accounts:\n  masto:\n    network: mastodon\n    instance: {masto.url}\n"
            "    token: good-token\ndefaults:\n  timezone: UTC\n",
            encoding="utf-8",
        )
        when = (datetime.now(UTC) + timedelta(seconds=2)).strftime("%Y-%m-%d %H:%M:%S")
        posts = "".join(f"  - id: p{i:02}\n    at: {when}\n    text: post {i}\n" for i in range(20))
        (root / "calendars" / "c.yaml").write_text(
            "defaults:\n  accounts: [masto]\nposts:\n" + posts, encoding="utf-8"
        )
        env = {**os.environ, "NO_COLOR": "1", "HOME": str(root)}
        log = root / "daemon.log"
        daemon = processes.cmctl(
            "daemon",
            "--log-format",
            "json",
            cwd=root,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log.open("w"),
        )
        deadline = time.monotonic() + 30
        while len(masto.statuses) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(masto.statuses) >= 3, log.read_text()
        pause = subprocess.run(
            [*cmctl_cmd(), "pause", "--reason", "crisis"],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert pause.returncode == 0, pause.stderr
        at_pause = len(masto.statuses)
        time.sleep(2.0)  # the burst would have sent ~6 more by now
        # at most the one send in flight when the pause committed
        assert len(masto.statuses) <= at_pause + 1, log.read_text()
        held = len(masto.statuses)
        assert held < 20
        events = [json.loads(line) for line in log.read_text().splitlines() if line[:1] == "{"]
        assert any(e["event"] == "paused" for e in events), log.read_text()
        resume = subprocess.run(
            [*cmctl_cmd(), "resume"], cwd=root, env=env, capture_output=True, text=True, timeout=30
        )
        assert resume.returncode == 0, resume.stderr
        deadline = time.monotonic() + 30
        while len(masto.statuses) < 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sorted(s["text"] for s in masto.statuses) == sorted(f"post {i}" for i in range(20))
        events = [json.loads(line) for line in log.read_text().splitlines() if line[:1] == "{"]
        assert any(e.get("reason") == "a pause was lifted" for e in events), log.read_text()
        assert [e for e in events if e["event"] == "held"], "held sends are logged"
        daemon.terminate()
        assert daemon.wait(timeout=15) == 0


def test_the_claim_itself_refuses_a_paused_account(brake_project: Any, run: Any, now: Any) -> None:
    """Units: whatever checked the pause before, the claim that starts a send checks it
    in its own statement; a paused account's jobs wake no alarm."""
    from cmctl import brake
    from cmctl.ledger.store import LEDGER_NAME, Ledger

    now.move_to("2026-12-01T07:00:00Z")
    assert run("publish").exit_code == 0  # syncs the plan; nothing due yet
    ledger = Ledger(next(brake_project.root.rglob(LEDGER_NAME)))
    try:
        moment = datetime(2026, 12, 1, 8, 31, tzinfo=UTC)
        first = datetime(2026, 12, 1, 8, 30, tzinfo=UTC)
        assert ledger.next_wakeup() == first
        brake.pause(ledger, ["news"], None, moment, by="ana@laptop")
        assert ledger.claim("dec:a@news", "me", moment, timedelta(minutes=10)) is None
        assert ledger.next_wakeup() == first  # feed's a still wakes the publisher
        brake.pause(ledger, [], "all", moment, by="ana@laptop")
        assert ledger.claim("dec:a@feed", "me", moment, timedelta(minutes=10)) is None
        assert ledger.next_wakeup() is None
        assert [p.scope for p in brake.active(ledger)] == ["*", "news"]
        assert [p.scope for p in brake.resume(ledger, [])] == ["*", "news"]
        assert ledger.next_wakeup() == first
        claimed = ledger.claim("dec:a@news", "me", moment, timedelta(minutes=10))
        assert claimed is not None and claimed.state == "sending"
    finally:
        ledger.close()
