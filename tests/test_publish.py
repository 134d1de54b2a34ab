"""`cmctl publish` and the ledger, end to end in-process, on the local feed network."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import as_json, calendar, post
from tests.process import Processes, processes_fixture  # noqa: F401 (the fixture)

ATOM = "{http://www.w3.org/2005/Atom}"


def feed_ids(project: Any, name: str = "public/feed.xml") -> list[str]:
    path = project.root / name
    if not path.exists():
        return []
    root = ET.parse(path).getroot()
    return [e.findtext(f"{ATOM}id") for e in root.iter(f"{ATOM}entry")]


def publish(run: Any, *args: str) -> tuple[int, dict[str, Any]]:
    result = run("publish", "--json", *args)
    return result.exit_code, as_json(result)


def states(run: Any) -> dict[str, str]:
    return {j["key"]: j["state"] for j in as_json(run("plan", "--json", "--drafts"))["jobs"]}


def test_sends_what_is_due_exactly_once(project: Any, run: Any, now: Any) -> None:
    project.calendar(
        calendar(
            post("a", at="2026-12-01 09:30"), post("b", at="2026-12-01 10:30"), accounts="[feed]"
        )
    )
    now.move_to("2026-12-01T08:31:00Z")  # 09:31 Paris: a is due, b is not
    code, data = publish(run)
    assert code == 0
    assert [(o["key"], o["state"]) for o in data["outcomes"]] == [("dec:a@feed", "published")]
    assert feed_ids(project) == ["urn:cmctl:dec:a@feed"]
    code, data = publish(run)  # a second run sends nothing again
    assert code == 0 and data["outcomes"] == []
    now.move_to("2026-12-01T09:45:00Z")
    code, data = publish(run)
    assert [o["key"] for o in data["outcomes"]] == ["dec:b@feed"]
    assert sorted(feed_ids(project)) == ["urn:cmctl:dec:a@feed", "urn:cmctl:dec:b@feed"]
    assert states(run) == {"dec:a@feed": "published", "dec:b@feed": "published"}


def test_human_output_one_line_per_post(project: Any, run: Any, now: Any) -> None:
    project.calendar(calendar(post("a", at="2026-12-01 09:30"), accounts="[feed]"))
    now.move_to("2026-12-01T08:31:00Z")
    result = run("publish")
    assert result.exit_code == 0
    assert "published" in result.stdout and "feed (feed)" in result.stdout
    assert "1 published" in result.stdout
    assert "nothing due" in run("publish").stdout


def test_missed_beyond_catch_up_is_reported_not_sent(project: Any, run: Any, now: Any) -> None:
    project.calendar(
        calendar(post("late", at="2026-12-01 09:30", catch_up="30m"), accounts="[feed]")
    )
    now.move_to("2026-12-01T09:05:00Z")  # 35 minutes late
    code, data = publish(run)
    assert code == 1
    [outcome] = data["outcomes"]
    assert outcome["state"] == "missed" and "catch-up window" in outcome["message"]
    assert feed_ids(project) == []
    status = run("status", "--json")
    assert status.exit_code == 1
    assert as_json(status)["attention"][0]["key"] == "dec:late@feed"
    code, data = publish(run, "--post", "late")  # on purpose
    assert code == 0 and data["outcomes"][0]["state"] == "published"
    assert feed_ids(project) == ["urn:cmctl:dec:late@feed"]
    assert run("status").exit_code == 0
    code, data = publish(run, "--post", "late")  # again: a no-op that says so
    assert code == 0 and [o["state"] for o in data["outcomes"]] == ["already"]
    assert feed_ids(project) == ["urn:cmctl:dec:late@feed"]
    assert run("publish", "--post", "nope").exit_code == 2


def test_within_catch_up_a_late_run_still_sends(project: Any, run: Any, now: Any) -> None:
    project.calendar(calendar(post("a", at="2026-12-01 09:30"), accounts="[feed]"))
    now.move_to("2026-12-01T09:20:00Z")  # 50 min late, default catch-up 1h
    code, data = publish(run)
    assert code == 0 and data["outcomes"][0]["state"] == "published"


def test_dry_run_sends_nothing(project: Any, run: Any, now: Any) -> None:
    project.calendar(calendar(post("a", at="2026-12-01 09:30"), accounts="[feed]"))
    now.move_to("2026-12-01T08:31:00Z")
    code, data = publish(run, "--dry-run")
    assert code == 0 and data["outcomes"][0]["state"] == "would-send"
    assert feed_ids(project) == []
    assert not (project.root / ".cmctl").exists()  # a dry run never creates a ledger


def test_drafts_never_publish_until_approved(project: Any, run: Any, now: Any) -> None:
    project.calendar(calendar(post("d", at="2026-12-01 09:30", status="draft"), accounts="[feed]"))
    now.move_to("2026-12-01T08:31:00Z")
    code, data = publish(run)
    assert code == 0 and data["outcomes"] == []
    assert states(run)["dec:d@feed"] == "skipped"
    project.calendar(calendar(post("d", at="2026-12-01 09:30"), accounts="[feed]"))
    code, data = publish(run)
    assert data["outcomes"][0]["state"] == "published"


def test_editing_a_published_post_never_republishes(project: Any, run: Any, now: Any) -> None:
    project.calendar(calendar(post("a", at="2026-12-01 09:30", text="v1"), accounts="[feed]"))
    now.move_to("2026-12-01T08:31:00Z")
    assert publish(run)[0] == 0
    project.calendar(
        calendar(post("a", at="2026-12-01 09:32", text="v2, corrigée"), accounts="[feed]")
    )
    now.move_to("2026-12-01T08:35:00Z")
    code, data = publish(run)
    assert code == 0 and data["outcomes"] == []
    assert feed_ids(project) == ["urn:cmctl:dec:a@feed"]
    assert states(run)["dec:a@feed"] == "published, changed since"
    table = run("plan").stdout
    assert "published, changed since" in table


def test_moving_reschedules_and_deleting_cancels(project: Any, run: Any, now: Any) -> None:
    project.calendar(
        calendar(
            post("move", at="2026-12-01 09:30"),
            post("gone", at="2026-12-01 09:30"),
            accounts="[feed]",
        )
    )
    now.move_to("2026-12-01T07:00:00Z")
    assert publish(run) == (
        0,
        {"ok": True, "outcomes": [], "held": [], "problems": [], "held_posts": {}, "vanished": {}},
    )
    project.calendar(calendar(post("move", at="2026-12-01 11:00"), accounts="[feed]"))
    now.move_to("2026-12-01T08:31:00Z")  # the old time of both
    code, data = publish(run)
    assert code == 0 and data["outcomes"] == []
    plan = {j["key"]: j for j in as_json(run("plan", "--json"))["jobs"]}
    assert plan["dec:move@feed"]["state"] == "pending"
    log = as_json(run("log", "--events", "--json"))["entries"]
    assert any(e["key"] == "dec:gone@feed" and e["event"].startswith("cancelled") for e in log)
    now.move_to("2026-12-01T10:00:30Z")
    code, data = publish(run)
    assert [o["key"] for o in data["outcomes"]] == ["dec:move@feed"]
    assert feed_ids(project) == ["urn:cmctl:dec:move@feed"]


def test_a_calendar_with_errors_is_held_and_never_cancels(project: Any, run: Any, now: Any) -> None:
    project.calendar(
        calendar(post("a", at="2026-12-01 09:30"), accounts="[feed]"), name="good.yaml"
    )
    project.calendar(
        calendar(post("b", at="2026-12-01 09:30"), accounts="[feed]"), name="other.yaml"
    )
    now.move_to("2026-12-01T07:00:00Z")
    publish(run)
    # A typo breaks other.yaml: its post must neither go out nor be cancelled.
    project.calendar(
        calendar(post("b", at="2026-12-01 09:30", txet="oops"), accounts="[feed]"),
        name="other.yaml",
    )
    now.move_to("2026-12-01T08:31:00Z")
    code, data = publish(run)
    assert code == 1
    assert data["held"] == ["calendars/other.yaml"]
    assert [o["key"] for o in data["outcomes"]] == ["good:a@feed"]
    project.calendar(
        calendar(post("b", at="2026-12-01 09:30"), accounts="[feed]"), name="other.yaml"
    )
    code, data = publish(run)
    assert code == 0 and [o["key"] for o in data["outcomes"]] == ["other:b@feed"]


def test_thread_parts_go_out_in_order_as_replies(project: Any, run: Any, now: Any) -> None:
    project.calendar(
        calendar(post("t", at="2026-12-01 09:30", thread=["deux", "trois"]), accounts="[feed]")
    )
    now.move_to("2026-12-01T08:31:00Z")
    code, data = publish(run)
    assert code == 0
    assert [o["key"] for o in data["outcomes"]] == ["dec:t@feed", "dec:t@feed#1", "dec:t@feed#2"]
    root = ET.parse(project.root / "public/feed.xml").getroot()
    replies = {
        e.findtext(f"{ATOM}id"): e.find("{http://purl.org/syndication/thread/1.0}in-reply-to")
        for e in root.iter(f"{ATOM}entry")
    }
    assert replies["urn:cmctl:dec:t@feed#2"].get("ref") == "urn:cmctl:dec:t@feed#1"
    assert replies["urn:cmctl:dec:t@feed#1"].get("ref") == "urn:cmctl:dec:t@feed"


@pytest.mark.e2e
def test_two_processes_at_the_same_moment_send_each_post_once(
    project: Any, processes: Processes
) -> None:
    """Two real `cmctl publish` processes race for the same 40 due posts."""
    import os
    import subprocess
    from datetime import UTC, datetime, timedelta

    due = (datetime.now(UTC) - timedelta(minutes=2)).strftime("%Y-%m-%d %H:%M")
    project.calendar(
        calendar(*(post(f"p{i}", at=due) for i in range(40)), accounts="[feed]", tz="UTC")
    )
    env = {**os.environ, "NO_COLOR": "1"}
    procs = [
        processes.cmctl(
            "publish",
            "--json",
            cwd=project.root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    published = []
    for (stdout, stderr), proc in zip(outputs, procs, strict=True):
        assert proc.returncode == 0, stderr
        published += [o["key"] for o in json.loads(stdout)["outcomes"] if o["state"] == "published"]
    assert sorted(published) == sorted(f"dec:p{i}@feed" for i in range(40))
    assert len(feed_ids(project)) == 40


def test_resolve_and_retry(project: Any, run: Any, now: Any) -> None:
    project.calendar(calendar(post("late", at="2026-12-01 09:30"), accounts="[feed]"))
    now.move_to("2026-12-01T12:00:00Z")
    assert publish(run)[0] == 1  # missed
    bad = run("retry")
    assert bad.exit_code == 2
    out = run("retry", "late")
    assert out.exit_code == 0 and "queued again" in out.stdout
    code, data = publish(run)
    assert code == 0 and data["outcomes"][0]["state"] == "published"
    entries = as_json(run("log", "--json"))["entries"]
    assert [e["key"] for e in entries] == ["dec:late@feed"]
    assert run("resolve", "late", "--skip").exit_code == 2  # nothing left to settle


def test_status_without_a_ledger(project: Any, run: Any) -> None:
    result = run("status", "--json")
    assert result.exit_code == 0 and as_json(result)["ledger"] is False
    assert not (project.root / ".cmctl").exists()


def test_corrupt_ledger_is_a_clear_error(project: Any, run: Any, now: Any) -> None:
    project.calendar(calendar(post("a", at="2026-12-01 09:30"), accounts="[feed]"))
    state = project.root / ".cmctl"
    state.mkdir()
    (state / "ledger.sqlite3").write_bytes(b"not a database at all" * 100)
    now.move_to("2026-12-01T08:31:00Z")
    result = run("publish")
    assert result.exit_code == 2
    assert "not a usable cmctl ledger" in result.stderr
    assert "Traceback" not in result.stderr
    assert (state / "ledger.sqlite3").read_bytes().startswith(b"not a database")


def test_unpublishable_network_is_reported_not_silently_missed(
    project: Any, run: Any, now: Any, monkeypatch: Any
) -> None:
    from cmctl.networks import registry

    # X publishes now; the case is a network whose adapter does not exist yet
    monkeypatch.setattr(registry.get("x"), "publishes", False)
    project.calendar(calendar(post("a", at="2026-12-01 09:30"), accounts="[xacct]"))
    now.move_to("2026-12-01T08:31:00Z")
    result = run("publish")
    assert result.exit_code == 1
    assert "cannot publish to X yet" in result.stderr


def test_missing_secret_is_reported_by_name_never_value(
    project: Any, run: Any, now: Any, monkeypatch: Any
) -> None:
    monkeypatch.delenv("MASTO_TOKEN", raising=False)
    project.calendar(calendar(post("a", at="2026-12-01 09:30"), accounts="[masto]"))
    now.move_to("2026-12-01T08:31:00Z")
    result = run("publish")
    assert result.exit_code == 1
    assert "MASTO_TOKEN" in result.stderr and "not set" in result.stderr


def test_ledger_is_never_half_written(project: Any, run: Any, now: Any, monkeypatch: Any) -> None:
    """A crash in the middle of recording leaves the ledger as it was before."""
    project.calendar(calendar(post("a", at="2026-12-01 09:30"), accounts="[feed]"))
    now.move_to("2026-12-01T07:00:00Z")
    publish(run)
    import cmctl.ledger.store as store

    original = store.Ledger.log

    def crash(*args: Any, **kwargs: Any) -> None:
        if args[3] == "published":
            raise RuntimeError("power cut")
        original(*args, **kwargs)

    monkeypatch.setattr(store.Ledger, "log", staticmethod(crash))
    now.move_to("2026-12-01T08:31:00Z")
    result = run("publish", "--json")
    # A bug around one job is reported (never a traceback) and stops that job only.
    assert result.exit_code == 1
    assert (
        "internal error around dec:a@feed: RuntimeError: power cut"
        in as_json(result)["problems"][0]
    )
    monkeypatch.setattr(store.Ledger, "log", staticmethod(original))
    row = states(run)["dec:a@feed"]
    assert row == "sending"  # the claim committed; the outcome did not half-commit
    # That process is gone: a claim held by a pid that no longer exists on this host
    # is recovered by the next run; the feed is idempotent, so it is resent safely.
    import sqlite3

    from cmctl.ledger import owner

    dead = f"{owner._machine()}/999999/1"  # a process of this machine that is gone
    assert owner.alive(dead) is False
    db = sqlite3.connect(project.root / ".cmctl" / "ledger.sqlite3")
    with db:
        db.execute("UPDATE jobs SET claim_owner = ?", (dead,))
    db.close()
    now.move_to("2026-12-01T08:32:00Z")  # well within the 10-minute lease
    code, data = publish(run)
    assert code == 0
    assert [o["state"] for o in data["outcomes"]] == ["published"]
    assert feed_ids(project) == ["urn:cmctl:dec:a@feed"]


def test_state_folder_from_config(project: Any, run: Any, now: Any) -> None:
    project.config(
        "accounts:\n  feed:\n    network: feed\n    path: out/feed.xml\n"
        "state: var/cmctl\ndefaults:\n  timezone: Europe/Paris\n"
    )
    project.calendar(calendar(post("a", at="2026-12-01 09:30"), accounts="[feed]"))
    now.move_to("2026-12-01T08:31:00Z")
    assert publish(run)[0] == 0
    assert (project.root / "var/cmctl/ledger.sqlite3").exists()
    assert Path(project.root / "out/feed.xml").exists()


def test_cron_tick_reads_nothing_when_nothing_changed_or_is_due(
    project: Any, run: Any, now: Any, monkeypatch: Any
) -> None:
    import os
    import time

    import cmctl.project

    cal = project.calendar(
        calendar(
            post("a", at="2026-12-01 09:30"), post("b", at="2026-12-02 09:30"), accounts="[feed]"
        )
    )
    now.move_to("2026-12-01T08:31:00Z")
    # Not "racy": written well before the stamp, on the test's clock (the kernel
    # stamped it with the real date, which may be any distance from the frozen one).
    old = time.time() - 60
    for path in (cal, project.root / "cmctl.yaml"):
        os.utime(path, (old, old))
    assert publish(run)[0] == 0  # full run: a published, stamp written

    def must_not_read(*_: Any, **__: Any) -> None:
        raise AssertionError("the calendars were read")

    original = cmctl.project.open_project
    monkeypatch.setattr(cmctl.project, "open_project", must_not_read)
    now.move_to("2026-12-01T12:00:00Z")
    assert publish(run) == (
        0,
        {"ok": True, "outcomes": [], "held": [], "problems": [], "held_posts": {}, "vanished": {}},
    )
    now.move_to("2026-12-02T08:31:00Z")  # b falls due: the ledger knows, a full run is needed
    assert "the calendars were read" in run("publish").stderr
    monkeypatch.setattr(cmctl.project, "open_project", original)
    project.calendar(
        calendar(
            post("a", at="2026-12-01 09:30"), post("b", at="2026-12-03 09:30"), accounts="[feed]"
        )
    )
    code, data = publish(run)  # the edit is seen: b moved, nothing due
    assert code == 0 and data["outcomes"] == []
    assert states(run)["dec:b@feed"] == "pending"


def test_many_accounts_in_parallel_each_post_once_in_order(
    project: Any, run: Any, now: Any
) -> None:
    """Several accounts due together: sent in parallel threads, ledger writes group-
    committed; every post exactly once, each account's posts in order."""
    accounts = [f"f{i}" for i in range(6)]
    project.config(
        "accounts:\n"
        + "".join(f"  {a}:\n    network: feed\n    path: public/{a}.xml\n" for a in accounts)
        + "defaults:\n  timezone: Europe/Paris\n"
    )
    posts = [
        post(f"p{i:02d}", at=f"2026-12-01 09:{i % 30:02d}", thread=["suite"]) for i in range(30)
    ]
    project.calendar(calendar(*posts, accounts="[" + ", ".join(accounts) + "]"))
    now.move_to("2026-12-01T08:45:00Z")
    code, data = publish(run)
    assert code == 0
    published = [o["key"] for o in data["outcomes"] if o["state"] == "published"]
    assert len(published) == len(set(published)) == 6 * 30 * 2
    for a in accounts:
        assert len(feed_ids(project, f"public/{a}.xml")) == 60
        sent_order = [k for k in published if k.split("@")[1].split("#")[0] == a]
        expected = [f"dec:p{i:02d}@{a}{suffix}" for i in range(30) for suffix in ("", "#1")]
        assert sent_order == expected
    assert set(states(run).values()) == {"published"}


def test_group_commit_keeps_each_write_atomic(tmp_path: Path) -> None:
    from cmctl.ledger.store import Ledger

    ledger = Ledger.open(tmp_path)

    def good(value: str) -> Any:
        return lambda db: (
            db.execute("INSERT INTO meta (name, value) VALUES (?, ?)", (value, value)).rowcount
        )

    def bad(db: Any) -> None:
        db.execute("INSERT INTO meta (name, value) VALUES ('half', 'written')")
        raise RuntimeError("fails after a first statement")

    with ledger.group_commit():
        assert ledger.write(good("a")) == 1
        with pytest.raises(RuntimeError):
            ledger.write(bad)
        assert ledger.write(good("b")) == 1
    assert ledger.meta("a") == "a" and ledger.meta("b") == "b"
    assert ledger.meta("half") is None  # the failed op left nothing behind
    assert ledger.counts() == {}  # no job touched
    ledger.close()


def test_a_stuck_claim_of_this_very_process_is_recovered(project: Any, run: Any, now: Any) -> None:
    """The daemon is one long-lived process: a claim it left behind (an error between
    claim and outcome) is taken back at its next run, not left in `sending` forever."""
    import sqlite3

    from cmctl.ledger import owner

    project.calendar(calendar(post("a", at="2026-12-01 09:30"), accounts="[feed]"))
    now.move_to("2026-12-01T07:00:00Z")
    publish(run)
    db = sqlite3.connect(project.root / ".cmctl" / "ledger.sqlite3")
    with db:
        db.execute(
            "UPDATE jobs SET state = 'sending', claim_owner = ?, attempts = 1, "
            "claimed_at = '2026-12-01T08:30:00.000000Z', "
            "claim_expires_at = '2026-12-01T08:40:00.000000Z'",
            (owner.current(),),
        )
    db.close()
    now.move_to("2026-12-01T08:31:00Z")
    code, data = publish(run)
    assert code == 0 and [o["state"] for o in data["outcomes"]] == ["published"]
    assert feed_ids(project) == ["urn:cmctl:dec:a@feed"]


def test_a_claim_is_refused_when_the_job_changed_since_it_was_selected(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from cmctl.ledger.store import Ledger

    ledger = Ledger.open(tmp_path)
    now = datetime(2026, 12, 1, 8, 30, tzinfo=UTC)
    with ledger.transaction() as db:
        ledger.insert(
            db,
            now,
            key="c:a@f",
            calendar="c",
            post_id="a",
            account="f",
            part=0,
            network="feed",
            content_hash="new",
            scheduled_at="2026-12-02T08:30:00.000000Z",
            catch_up_s=3600,
            state="pending",
            idempotency_key="k",
        )
    lease = timedelta(minutes=10)
    assert ledger.claim("c:a@f", "me", now, lease, content_hash="old") is None  # edited
    assert ledger.claim("c:a@f", "me", now, lease, content_hash="new", due_by=now) is None
    claimed = ledger.claim("c:a@f", "me", now, lease, content_hash="new")  # on purpose
    assert claimed is not None and claimed.state == "sending"
    ledger.close()
