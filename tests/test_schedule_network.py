"""`schedule: network`: posts handed over early, kept in step, confirmed (WordPress fake).

Through the real CLI against the fake site: the hand-over as soon as the post is
synced, an edit, a move, a move within the lead, a removal, a draft, `cmctl cancel`,
the confirmation once its time has passed, the "missed schedule", the dry run, what
`plan`, `status` and `log` show, and an ambiguous hand-over that leaves no duplicate.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from cmctl.ledger.store import Ledger, Row
from tests.conftest import as_json, calendar, post
from tests.fakes.wordpress import APP_PASSWORD, FakeWordPress

AT = "2026-12-05 10:00"  # Europe/Paris: 09:00 UTC, days after DEFAULT_NOW
KEY = "dec:launch@wp"


def wp_config(site: FakeWordPress, schedule: str = "network") -> str:
    return f"""
accounts:
  wp:
    network: wordpress
    site: https://blog.example.com
    api_url: {site.api_url}
    username: editor
    app_password: ${{WP_APP_PASSWORD}}
    schedule: {schedule}
defaults:
  timezone: Europe/Paris
"""


@pytest.fixture
def wp(project: Any, fake_wordpress: FakeWordPress, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("WP_APP_PASSWORD", APP_PASSWORD)
    project.config(wp_config(fake_wordpress))
    return fake_wordpress


def write(project: Any, *, at: str = AT, text: str = "Our launch.", **extra: Any) -> None:
    project.calendar(
        calendar(post("launch", at=at, text=text, title="Launch", **extra), accounts="[wp]")
    )


def publish(run: Any, *args: str) -> dict[str, str]:
    out = run("publish", "--json", *args)
    return {o["key"]: o["state"] for o in as_json(out)["outcomes"]}


def job(project: Any, key: str = KEY) -> Row:
    ledger = Ledger.open(project.root / ".cmctl")
    try:
        row = ledger.get(key)
        assert row is not None
        return row
    finally:
        ledger.close()


def network_at(project: Any, key: str = KEY) -> str | None:
    db = sqlite3.connect(project.root / ".cmctl" / "ledger.sqlite3")
    try:
        value: str | None = db.execute(
            "SELECT network_at FROM jobs WHERE key = ?", (key,)
        ).fetchone()[0]
        return value
    finally:
        db.close()


def writes(site: FakeWordPress) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in site.requests if r.method != "GET"]


# ---------------------------------------------------------------------------- hand-over
def test_handed_over_as_soon_as_synced_and_only_once(project: Any, run: Any, wp: Any) -> None:
    write(project)
    assert publish(run) == {KEY: "scheduled"}
    (held,) = wp.posts
    assert held["status"] == "future" and held["date_gmt"] == "2026-12-05T09:00:00"
    assert held["title"]["raw"] == "Launch" and "Our launch." in held["content"]["raw"]
    row = job(project)
    assert row.state == "scheduled" and row.remote_id == str(held["id"])
    assert row.sent_hash == row.content_hash
    assert network_at(project) == "2026-12-05T09:00:00.000000Z"
    before = len(writes(wp))
    assert publish(run) == {}  # nothing to do: never handed over twice
    assert len(writes(wp)) == before and len(wp.posts) == 1


def test_a_post_within_the_lead_is_sent_by_cmctl_at_its_time(
    project: Any, run: Any, wp: Any, now: Any
) -> None:
    write(project, at="2026-11-20 13:01")  # 12:01 UTC: 1 minute ahead, lead is 2
    assert publish(run) == {}
    assert wp.posts == []
    now.move_to("2026-11-20T12:01:00Z")
    assert publish(run) == {KEY: "published"}
    assert [p["status"] for p in wp.posts] == ["publish"]


def test_the_account_option_is_checked(project: Any, run: Any, wp: Any) -> None:
    project.config(wp_config(wp, schedule="later"))
    write(project)
    out = run("validate")
    assert out.exit_code != 0
    assert "cmctl" in out.output and "network" in out.output and "later" in out.output


def test_schedule_on_a_network_that_cannot_is_an_unknown_field(project: Any, run: Any) -> None:
    project.config(
        """
accounts:
  feed:
    network: feed
    path: public/feed.xml
    schedule: network
"""
    )
    project.calendar(calendar(post("p", at=AT), accounts="[feed]"))
    out = run("validate")
    assert out.exit_code != 0 and "schedule" in out.output


# ---------------------------------------------------------------------------- in step
def test_an_edit_updates_the_post_on_the_site(project: Any, run: Any, wp: Any) -> None:
    write(project)
    publish(run)
    write(project, text="Our launch, reworded.")
    assert publish(run) == {KEY: "rescheduled"}
    (held,) = wp.posts
    assert "reworded" in held["content"]["raw"] and held["status"] == "future"
    row = job(project)
    assert row.state == "scheduled" and row.sent_hash == row.content_hash
    assert publish(run) == {}  # in step now


def test_a_move_updates_the_date_on_the_site(project: Any, run: Any, wp: Any) -> None:
    write(project)
    publish(run)
    write(project, at="2026-12-06 18:30")
    assert publish(run) == {KEY: "rescheduled"}
    (held,) = wp.posts
    assert held["date_gmt"] == "2026-12-06T17:30:00" and held["status"] == "future"
    assert network_at(project) == "2026-12-06T17:30:00.000000Z"
    assert job(project).state == "scheduled"


def test_moved_within_the_lead_is_taken_back_and_sent_by_cmctl_at_its_time(
    project: Any, run: Any, wp: Any, now: Any
) -> None:
    write(project)
    publish(run)
    write(project, at="2026-11-20 13:01")  # 1 minute ahead: within the 2-minute lead
    assert publish(run) == {KEY: "taken-back"}
    assert [p["status"] for p in wp.posts] == ["trash"]
    row = job(project)
    assert row.state == "pending" and row.remote_id is None and row.maybe_sent_at is None
    now.move_to("2026-11-20T12:01:00Z")
    assert publish(run) == {KEY: "published"}
    assert [p["status"] for p in wp.posts] == ["trash", "publish"]
    assert len(wp.published()) == 1


@pytest.mark.parametrize("how", ["removed", "draft", "cancel"])
def test_removed_drafted_or_cancelled_is_moved_to_the_trash(
    project: Any, run: Any, wp: Any, how: str
) -> None:
    write(project)
    project.calendar(
        calendar(
            post("launch", at=AT, text="Our launch.", title="Launch"),
            post("other", at=AT, text="Stays.", title="Other"),
            accounts="[wp]",
        )
    )
    publish(run)
    assert len(wp.scheduled()) == 2
    if how == "removed":
        project.calendar(
            calendar(post("other", at=AT, text="Stays.", title="Other"), accounts="[wp]")
        )
    elif how == "draft":
        project.calendar(
            calendar(
                post("launch", at=AT, text="Our launch.", title="Launch", status="draft"),
                post("other", at=AT, text="Stays.", title="Other"),
                accounts="[wp]",
            )
        )
    else:
        out = run("cancel", "dec:launch")
        assert out.exit_code == 0, out.output
        assert "takes it back" in out.output
    assert publish(run) == {KEY: "taken-back"}
    statuses = {p["title"]["raw"]: p["status"] for p in wp.posts}
    assert statuses == {"Launch": "trash", "Other": "future"}
    row = job(project)
    assert row.state == "skipped" and row.remote_id is None
    assert publish(run) == {}


def test_the_account_set_back_to_cmctl_takes_it_back(project: Any, run: Any, wp: Any) -> None:
    write(project)
    publish(run)
    project.config(wp_config(wp, schedule="cmctl"))
    assert publish(run) == {KEY: "taken-back"}
    assert [p["status"] for p in wp.posts] == ["trash"]
    assert job(project).state == "pending"


# ---------------------------------------------------------------------------- confirm
def test_time_passes_then_confirmed_published_with_its_url(
    project: Any, run: Any, wp: Any, now: Any
) -> None:
    write(project)
    publish(run)
    assert job(project).url == f"https://blog.example.com/?p={wp.posts[0]['id']}"
    now.move_to("2026-12-05T09:00:30Z")
    out = run("publish", "--json")
    assert out.exit_code == 0, out.output
    (outcome,) = as_json(out)["outcomes"]
    slug = wp.posts[0]["slug"]
    assert outcome["state"] == "published"
    assert outcome["url"] == f"https://blog.example.com/{slug}/"
    row = job(project)
    assert row.state == "published" and row.url == f"https://blog.example.com/{slug}/"
    assert row.published_at is not None
    assert len(wp.posts) == 1 and wp.posts[0]["status"] == "publish"
    log = as_json(run("log", "--json"))
    assert [e["url"] for e in log["entries"]] == [f"https://blog.example.com/{slug}/"]
    assert log["scheduled"] == []


def test_a_missed_schedule_ends_unknown_with_the_reason(
    project: Any, run: Any, wp: Any, now: Any
) -> None:
    write(project)
    publish(run)
    wp.cron_broken = True
    now.move_to("2026-12-05T09:01:00Z")
    assert publish(run) == {}  # still held: asked again later
    row = job(project)
    assert row.state == "scheduled" and row.next_attempt_at is not None
    now.move_to("2026-12-05T13:00:00Z")  # beyond its catch-up window and the grace
    assert publish(run) == {KEY: "unknown"}
    row = job(project)
    assert row.state == "unknown" and "missed schedule" in (row.reason or "")
    status = run("status")
    assert status.exit_code == 1 and KEY in status.output


def test_a_daemon_or_cron_wakes_up_to_confirm(project: Any, run: Any, wp: Any, now: Any) -> None:
    write(project)
    publish(run)
    ledger = Ledger.open(project.root / ".cmctl")
    try:
        wake = ledger.next_wakeup()
        assert wake is not None and wake.isoformat().startswith("2026-12-05T09:00")
        assert not ledger.has_work(datetime(2026, 12, 5, 8, 59, tzinfo=UTC))
        assert ledger.has_work(datetime(2026, 12, 5, 9, 0, tzinfo=UTC))
    finally:
        ledger.close()
    now.move_to("2026-12-05T09:00:30Z")
    assert publish(run) == {KEY: "published"}  # the cron fast path did not skip it


# ---------------------------------------------------------------------------- views
def test_status_plan_and_log_show_it(project: Any, run: Any, wp: Any) -> None:
    write(project)
    publish(run)
    status = run("status", "--json")
    assert status.exit_code == 0, status.output
    data = as_json(status)
    assert data["counts"] == {"scheduled": 1} and data["attention"] == []
    assert "scheduled" in run("status").output
    plan = run("plan", "--json")
    (entry,) = [j for j in as_json(plan)["jobs"] if j["key"] == KEY]
    assert entry["state"] == "scheduled"
    assert "scheduled" in run("plan").output
    events = as_json(run("log", "--events", "--json"))["entries"]
    assert any(e["event"] == "scheduled" for e in events)
    log = as_json(run("log", "--json"))
    (held,) = log["scheduled"]
    assert held["remote_id"] == str(wp.posts[0]["id"]) and held["url"].endswith(
        f"?p={held['remote_id']}"
    )
    assert "scheduled for" in run("log").output


def test_the_dry_run_names_its_decisions_and_sends_nothing(project: Any, run: Any, wp: Any) -> None:
    write(project)
    assert publish(run, "--dry-run") == {KEY: "would-schedule"}
    assert wp.posts == [] and writes(wp) == []
    assert publish(run) == {KEY: "scheduled"}
    write(project, text="Edited.")
    assert publish(run, "--dry-run") == {KEY: "would-reschedule"}
    project.calendar(calendar(post("other", at=AT, title="O"), accounts="[wp]"))
    assert publish(run, "--dry-run") == {KEY: "would-take-back", "dec:other@wp": "would-schedule"}
    assert [p["status"] for p in wp.posts] == ["future"]
    assert "Edited." not in wp.posts[0]["content"]["raw"]


# ---------------------------------------------------------------------------- exactly once
def test_an_ambiguous_hand_over_is_looked_up_never_duplicated(
    project: Any, run: Any, wp: Any, now: Any
) -> None:
    write(project)
    wp.fail_next("/wp/v2/posts", 502, "<html>Bad Gateway</html>", commit=True)
    first = publish(run)
    assert first == {KEY: "retry"}
    assert len(wp.posts) == 1  # it reached the site
    row = job(project)
    assert row.state == "pending" and row.maybe_sent_at is not None
    now.shift(60)  # its next attempt
    assert publish(run) == {KEY: "scheduled"}  # found by the look-up (status=any)
    assert len(wp.posts) == 1 and job(project).remote_id == str(wp.posts[0]["id"])


def test_a_run_killed_mid_hand_over_leaves_no_duplicate(project: Any, run: Any, wp: Any) -> None:
    write(project)
    publish(run)  # handed over
    # a second account's state cannot be faked simply; kill -9 is a claim left behind:
    db = sqlite3.connect(project.root / ".cmctl" / "ledger.sqlite3")
    db.execute(
        "UPDATE jobs SET state = 'pending', claim_owner = NULL, remote_id = NULL, url = NULL, "
        "remote_ref = NULL, maybe_sent_at = '2026-11-20T12:00:00.000000Z' WHERE key = ?",
        (KEY,),
    )
    db.commit()
    db.close()
    assert publish(run) == {KEY: "scheduled"}
    assert len(wp.posts) == 1


def test_migration_4_keeps_an_old_ledger(tmp_path: Path) -> None:
    from cmctl.ledger.schema import MIGRATIONS

    path = tmp_path / "state" / "ledger.sqlite3"
    path.parent.mkdir()
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode = WAL")
    for script in MIGRATIONS[:3]:
        for statement in script.split(";"):
            if statement.strip():
                db.execute(statement)
    db.execute("PRAGMA user_version = 3")
    db.execute(
        "INSERT INTO jobs (key, calendar, post_id, account, part, network, content_hash, "
        "scheduled_at, catch_up_s, state, idempotency_key, created_at, updated_at, url, "
        "decided_by, checkpoint) VALUES ('c:a@m', 'c', 'a', 'm', 0, 'mastodon', 'h', "
        "'2026-12-01T09:00:00.000000Z', 3600, 'published', 'k', "
        "'2026-12-01T09:00:00.000000Z', '2026-12-01T09:00:00.000000Z', 'https://x/1', "
        "'human', '{\"a\": 1}')"
    )
    db.execute("INSERT INTO events (at, key, event) VALUES ('t', 'c:a@m', 'published')")
    db.commit()
    db.close()
    ledger = Ledger.open(tmp_path / "state")
    try:
        assert ledger.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS) == 5
        row = ledger.get("c:a@m")
        assert row is not None and row.state == "published" and row.url == "https://x/1"
        assert row.decided_by == "human" and row.checkpoint == {"a": 1}
        assert [e["event"] for e in ledger.events("c:a@m")] == ["published"]
        indexes = {
            r[0] for r in ledger.db.execute("SELECT name FROM sqlite_master WHERE type='index'")
        }
        assert {"jobs_due", "jobs_post"} <= indexes
        ledger.db.execute("UPDATE jobs SET state = 'scheduled', network_at = 'x'")  # allowed now
        with pytest.raises(sqlite3.IntegrityError):
            ledger.db.execute("UPDATE jobs SET state = 'nonsense'")
    finally:
        ledger.close()


# ---------------------------------------------------------------------------- Facebook
FB_KEY = "dec:launch@fb"


@pytest.fixture
def fb(project: Any, fake_facebook: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    from tests.fakes.facebook import PAGE_ID, PAGE_TOKEN

    monkeypatch.setenv("FB_TOKEN", PAGE_TOKEN)
    project.config(
        f"""
accounts:
  fb:
    network: facebook
    page_id: "{PAGE_ID}"
    token: ${{FB_TOKEN}}
    api_url: {fake_facebook.url}
    schedule: network
defaults:
  timezone: Europe/Paris
"""
    )
    return fake_facebook


def fb_write(project: Any, *, at: str = AT, text: str = "Our launch.", **extra: Any) -> None:
    project.calendar(calendar(post("launch", at=at, text=text, **extra), accounts="[fb]"))


def test_facebook_holds_the_post_then_comments_follow_once_confirmed(
    project: Any, run: Any, fb: Any, now: Any
) -> None:
    fb_write(project, thread=["First comment."])
    assert publish(run) == {FB_KEY: "scheduled"}
    (held,) = fb.scheduled()
    assert held["scheduled"] == int(datetime(2026, 12, 5, 9, tzinfo=UTC).timestamp())
    feed = next(r for r in fb.requests if r.path.endswith("/feed"))
    assert (
        "published=false" in feed.body.decode() and "scheduled_publish_time" in feed.body.decode()
    )
    assert job(project, FB_KEY + "#1").state == "pending"  # comments cannot be scheduled
    now.move_to("2026-12-05T09:00:30Z")
    assert publish(run) == {FB_KEY: "published", FB_KEY + "#1": "published"}
    row = job(project, FB_KEY)
    assert row.state == "published" and row.url == held["permalink_url"]
    assert [c["message"] for c in fb.comments[held["id"]]] == ["First comment."]
    assert len(fb.posts) == 1


def test_facebook_edit_and_move_are_kept_in_step(project: Any, run: Any, fb: Any) -> None:
    fb_write(project)
    publish(run)
    fb_write(project, at="2026-12-06 10:00", text="Reworded.")
    assert publish(run) == {FB_KEY: "rescheduled"}
    (held,) = fb.scheduled()
    assert held["message"] == "Reworded." and held["scheduled"] == int(
        datetime(2026, 12, 6, 9, tzinfo=UTC).timestamp()
    )


def test_facebook_moved_within_ten_minutes_is_deleted_and_sent_by_cmctl(
    project: Any, run: Any, fb: Any, now: Any
) -> None:
    fb_write(project)
    publish(run)
    fb_write(project, at="2026-11-20 13:05")  # 5 minutes ahead: Facebook needs 10
    assert publish(run) == {FB_KEY: "taken-back"}
    assert fb.posts == []
    now.move_to("2026-11-20T12:05:00Z")
    assert publish(run) == {FB_KEY: "published"}
    assert [p["is_published"] for p in fb.posts] == [True]


def test_facebook_beyond_its_horizon_is_handed_over_once_within_it(
    project: Any, run: Any, fb: Any, now: Any
) -> None:
    fb_write(project, at="2027-02-01 10:00")  # more than 30 days ahead
    assert publish(run) == {}
    assert fb.posts == [] and job(project, FB_KEY).state == "pending"
    now.move_to("2027-01-10T12:00:00Z")
    assert publish(run) == {FB_KEY: "scheduled"}
    assert len(fb.scheduled()) == 1


def test_facebook_ambiguous_hand_over_is_found_among_scheduled_posts(
    project: Any, run: Any, fb: Any, now: Any
) -> None:
    fb_write(project)
    fb.fail_next("/feed", 500, {"error": {"message": "An unknown error", "code": 1}}, commit=True)
    assert publish(run) == {FB_KEY: "retry"}
    assert len(fb.scheduled()) == 1
    now.shift(60)
    assert publish(run) == {FB_KEY: "scheduled"}
    assert len(fb.posts) == 1 and job(project, FB_KEY).remote_id == fb.posts[0]["id"]
