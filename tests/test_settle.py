"""Human decisions (`cmctl resolve`, `cmctl retry`): cmctl/settle.py as units on a real
ledger, then through the CLI against the local feed and the fake networks."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from cmctl.errors import UsageError
from cmctl.ledger.schema import MIGRATIONS
from cmctl.ledger.store import Ledger, Row, planned_job
from cmctl.networks.base import Sent
from cmctl.settle import decided_by, find, resolve, retry
from tests.conftest import as_json, calendar, post

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


# ---------------------------------------------------------------------------- units
@dataclass
class _Job:
    """What Ledger.sync reads of a compiled job."""

    calendar: str
    post_id: str
    account: str
    part: int
    network: str = "mastodon"
    status: str = "scheduled"
    at: datetime = AT
    catch_up: timedelta = timedelta(hours=1)
    content_hash: str = "h"

    @property
    def key(self) -> str:
        base = f"{self.calendar}:{self.post_id}@{self.account}"
        return f"{base}#{self.part}" if self.part else base


def _ledger(tmp_path: Path, parts: int = 2, post_id: str = "t", **job: Any) -> Ledger:
    ledger = Ledger.open(tmp_path / "state")
    ledger.sync(
        [planned_job(_Job("c", post_id, "m", part, **job)) for part in range(parts)],
        AT,
        present={"c"},
    )
    return ledger


def _set(ledger: Ledger, key: str, state: str, **values: Any) -> None:
    row = ledger.get(key)
    assert row is not None
    assert ledger.set_state(key, NOW, state, expect=(row.state,), event="test", **values)


def _row(ledger: Ledger, key: str) -> Row:
    row = ledger.get(key)
    assert row is not None
    return row


def _states(ledger: Ledger) -> dict[str, str]:
    return {r.key: r.state for r in ledger.rows()}


def test_a_job_key_names_that_job_even_when_it_is_the_threads_post_key(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path)
    _set(ledger, "c:t@m", "unknown")
    _set(ledger, "c:t@m#1", "failed")
    assert [r.key for r in find(ledger, "c:t@m")] == ["c:t@m"]
    assert resolve(ledger, "c:t@m", NOW, skip=True)[0].startswith("c:t@m: skipped")
    with pytest.raises(UsageError) as refused:  # calendar:post names both parts
        resolve(ledger, "c:t", NOW, skip=True)
    assert "names 2 jobs" in refused.value.message
    assert "c:t@m#1" in str(refused.value.hint)


def test_published_with_the_networks_reference_lets_the_thread_continue(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path, parts=3)
    _set(ledger, "c:t@m", "unknown")
    _set(ledger, "c:t@m#2", "failed")  # stopped with its thread
    asked: list[tuple[str, str]] = []

    def lookup(row: Row, url: str) -> Sent:
        asked.append((row.key, url))
        return Sent("109", "https://m.example/@b/109", {"id": "109", "uri": "u"})

    lines = resolve(ledger, "c:t@m", NOW, url=" https://m.example/@b/109 ", lookup=lookup)
    assert asked == [("c:t@m", "https://m.example/@b/109")]
    first = _row(ledger, "c:t@m")
    assert (first.state, first.remote_id, first.url) == (
        "published",
        "109",
        "https://m.example/@b/109",
    )
    assert first.remote_ref == {"id": "109", "uri": "u"}
    assert decided_by(ledger, "c:t@m") == "human"
    for key in ("c:t@m#1", "c:t@m#2"):
        row = _row(ledger, key)
        assert row.state == "pending" and row.next_attempt_at == NOW
        assert row.deadline is not None and row.deadline > NOW
        assert decided_by(ledger, key) == "human via c:t@m"
    assert len(lines) == 3


def test_a_url_is_never_stored_as_a_remote_id(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path, parts=1)
    _set(ledger, "c:t@m", "unknown")

    def lookup(row: Row, url: str) -> Sent:
        raise AssertionError("no later part: no need to ask the network")

    resolve(ledger, "c:t@m", NOW, url="https://m.example/@b/1", lookup=lookup)
    row = _row(ledger, "c:t@m")
    assert (row.state, row.url, row.remote_id) == ("published", "https://m.example/@b/1", None)


def test_where_the_network_cannot_find_the_post_the_later_parts_fail_saying_why(
    tmp_path: Path,
) -> None:
    ledger = _ledger(tmp_path, parts=3)
    _set(ledger, "c:t@m", "failed")
    lines = resolve(
        ledger, "c:t@m", NOW, url="https://m.example/@b/1", lookup=lambda row, url: None
    )
    assert _row(ledger, "c:t@m").remote_id is None
    for key in ("c:t@m#1", "c:t@m#2"):
        row = _row(ledger, key)
        assert row.state == "failed"
        assert row.reason == ("part #0 was resolved by hand; cmctl cannot reply to it on Mastodon")
        assert decided_by(ledger, key) == "human via c:t@m"
    assert "cmctl cannot reply to it" in lines[1]
    with pytest.raises(UsageError) as refused:  # and retry does not send a non-reply
        retry(ledger, ["c:t@m#1"], NOW)
    assert "resolved by hand" in refused.value.message
    assert _row(ledger, "c:t@m#1").state == "failed"


def test_a_lookup_that_fails_records_nothing(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path)
    _set(ledger, "c:t@m", "unknown")

    def lookup(row: Row, url: str) -> Sent:
        raise UsageError("no such post")

    with pytest.raises(UsageError):
        resolve(ledger, "c:t@m", NOW, url="https://m.example/@b/1", lookup=lookup)
    assert _states(ledger) == {"c:t@m": "unknown", "c:t@m#1": "pending"}
    with pytest.raises(UsageError):  # not a link at all
        resolve(ledger, "c:t@m", NOW, url="two words", lookup=lookup)
    assert _states(ledger) == {"c:t@m": "unknown", "c:t@m#1": "pending"}


def test_a_skip_is_a_human_decision_that_only_retry_reopens(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path, parts=2)
    _set(ledger, "c:t@m", "unknown")
    resolve(ledger, "c:t@m", NOW, skip=True)
    assert _states(ledger) == {"c:t@m": "skipped", "c:t@m#1": "skipped"}
    assert decided_by(ledger, "c:t@m") == "human"
    assert decided_by(ledger, "c:t@m#1") == "human via c:t@m"
    with pytest.raises(UsageError) as refused:  # its parent was skipped by hand
        retry(ledger, ["c:t@m#1"], NOW)
    assert "c:t@m" in refused.value.message and "skipped by hand" in refused.value.message
    lines = retry(ledger, ["c:t@m"], NOW)
    assert _states(ledger) == {"c:t@m": "pending", "c:t@m#1": "pending"}
    assert lines[0] == "c:t@m: queued again"
    assert decided_by(ledger, "c:t@m") == "human"
    events = [e["event"] for e in ledger.events("c:t@m")]
    assert events[-2:] == ["resolved: skip", "retry by hand"]


def test_retry_refuses_what_a_human_must_look_at_or_the_calendar_decides(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path, parts=1)
    _set(ledger, "c:t@m", "unknown")
    with pytest.raises(UsageError) as refused:
        retry(ledger, ["c:t@m"], NOW)
    assert "may already be online" in refused.value.message
    assert "--published URL" in str(refused.value.hint)
    draft = _ledger(tmp_path / "d", parts=1, status="draft")
    assert _states(draft) == {"c:t@m": "skipped"}
    with pytest.raises(UsageError) as refused:
        retry(draft, ["c:t@m"], NOW)
    assert "draft" in refused.value.message and "calendar" in str(refused.value.hint)
    _set(draft, "c:t@m", "published")
    with pytest.raises(UsageError) as refused:
        retry(draft, ["t"], NOW)
    assert "never sends a post twice" in str(refused.value.hint)
    with pytest.raises(UsageError):
        retry(draft, ["nope"], NOW)


def test_retrying_a_later_part_queues_the_thread_from_its_first_unsent_part(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path, parts=3)
    for key in ("c:t@m", "c:t@m#1", "c:t@m#2"):
        _set(ledger, key, "missed")
    lines = retry(ledger, ["c:t@m#1"], NOW)
    assert _states(ledger) == dict.fromkeys(("c:t@m", "c:t@m#1", "c:t@m#2"), "pending")
    assert all(r.next_attempt_at == NOW and r.attempts == 0 for r in ledger.rows())
    assert lines[0].startswith("c:t@m: queued again first")
    assert lines[1] == "c:t@m#1: queued again"
    assert decided_by(ledger, "c:t@m#1") == "human"
    assert decided_by(ledger, "c:t@m") == "human via c:t@m#1"


def test_retrying_a_part_after_an_unknown_one_names_the_part_to_settle(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path, parts=2)
    _set(ledger, "c:t@m", "unknown")
    _set(ledger, "c:t@m#1", "failed")
    with pytest.raises(UsageError) as refused:
        retry(ledger, ["c:t@m#1"], NOW)
    assert "part #0 (c:t@m)" in refused.value.message
    assert "resolve c:t@m" in str(refused.value.hint)
    assert _states(ledger) == {"c:t@m": "unknown", "c:t@m#1": "failed"}


def test_not_published_on_a_later_part_queues_the_parts_before_it(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path, parts=2)
    _set(ledger, "c:t@m", "failed")
    _set(ledger, "c:t@m#1", "unknown", maybe_sent_at="2026-12-01T09:00:00.000000Z")
    resolve(ledger, "c:t@m#1", NOW, not_published=True)
    assert _states(ledger) == {"c:t@m": "pending", "c:t@m#1": "pending"}
    assert _row(ledger, "c:t@m#1").maybe_sent_at is None


def test_migration_keeps_an_old_ledger_and_adds_decided_by(tmp_path: Path) -> None:
    path = tmp_path / "state" / "ledger.sqlite3"
    path.parent.mkdir()
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode = WAL")  # as every cmctl ledger is
    for statement in MIGRATIONS[0].split(";"):
        if statement.strip():
            db.execute(statement)
    db.execute("PRAGMA user_version = 1")
    db.execute(
        "INSERT INTO jobs (key, calendar, post_id, account, part, network, "
        "content_hash, scheduled_at, catch_up_s, state, idempotency_key, created_at, "
        "updated_at) VALUES ('c:a@m', 'c', 'a', 'm', 0, 'mastodon', 'h', "
        "'2026-12-01T09:00:00.000000Z', 3600, 'failed', 'k', "
        "'2026-12-01T09:00:00.000000Z', '2026-12-01T09:00:00.000000Z')"
    )
    db.commit()
    db.close()
    ledger = Ledger.open(tmp_path / "state")
    assert ledger.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert decided_by(ledger, "c:a@m") is None
    retry(ledger, ["c:a@m"], NOW)
    assert decided_by(ledger, "c:a@m") == "human"


# ---------------------------------------------------------------------------- CLI
def _publish(run: Any) -> list[dict[str, Any]]:
    result = run("publish", "--json")
    outcomes: list[dict[str, Any]] = as_json(result)["outcomes"]
    return outcomes


def _jobs(project: Any) -> dict[str, Row]:
    ledger = Ledger.open(project.root / ".cmctl")
    try:
        return {r.key: r for r in ledger.rows()}
    finally:
        ledger.close()


def test_retry_of_a_later_part_sends_the_whole_thread_in_order(
    project: Any, run: Any, now: Any
) -> None:
    project.calendar(
        calendar(
            post("t", at="2026-12-01 09:30", catch_up="30m", thread=["deux"]), accounts="[feed]"
        )
    )
    now.move_to("2026-12-01T09:05:00Z")  # 35 minutes late: the thread is missed
    assert {o["state"] for o in _publish(run)} == {"missed"}
    out = run("retry", "dec:t@feed#1")
    assert out.exit_code == 0, out.output
    assert "dec:t@feed: queued again first" in out.stdout
    outcomes = _publish(run)
    assert [(o["key"], o["state"]) for o in outcomes] == [
        ("dec:t@feed", "published"),
        ("dec:t@feed#1", "published"),
    ]
    feed = (project.root / "public/feed.xml").read_text()
    assert 'ref="urn:cmctl:dec:t@feed"' in feed


def test_skip_then_retry_through_the_cli(project: Any, run: Any, now: Any) -> None:
    project.calendar(calendar(post("late", at="2026-12-01 09:30"), accounts="[feed]"))
    now.move_to("2026-12-01T12:00:00Z")
    _publish(run)  # missed
    assert run("resolve", "dec:late@feed", "--skip").exit_code == 0
    assert _jobs(project)["dec:late@feed"].state == "skipped"
    assert run("resolve", "dec:late@feed", "--skip").exit_code == 0  # a hand skip: revisable
    out = run("retry", "late")
    assert out.exit_code == 0 and "queued again" in out.stdout
    assert [o["state"] for o in _publish(run)] == ["published"]
    refused = run("retry", "late")
    assert refused.exit_code == 2 and "published" in refused.stderr


def test_a_skip_by_hand_survives_the_next_publish(project: Any, run: Any, now: Any) -> None:
    project.calendar(calendar(post("late", at="2026-12-01 09:30"), accounts="[feed]"))
    now.move_to("2026-12-01T12:00:00Z")
    _publish(run)  # missed
    assert run("resolve", "dec:late@feed", "--skip").exit_code == 0
    project.calendar(
        calendar(post("late", at="2026-12-01 13:30", text="edited"), accounts="[feed]")
    )
    assert _publish(run) == []
    assert _jobs(project)["dec:late@feed"].state == "skipped"


def _masto(project: Any, monkeypatch: pytest.MonkeyPatch, fake: Any) -> None:
    project.config(
        "accounts:\n  masto:\n    network: mastodon\n"
        f"    instance: {fake.url}\n    token: ${{T}}\n"
        "defaults:\n  timezone: Europe/Paris\n"
    )
    monkeypatch.setenv("T", "good-token")
    monkeypatch.setenv("CMCTL_HTTP_TIMEOUT", "2")
    project.calendar(calendar(post("t", at="2026-12-01 09:30", text="Un", thread=["Deux"])))


def _by_hand(fake: Any, text: str) -> dict[str, Any]:
    """What a human posts in the Mastodon app."""
    response = httpx.post(
        f"{fake.url}/api/v1/statuses",
        json={"status": text},
        headers={"Authorization": "Bearer good-token"},
    )
    response.raise_for_status()
    status: dict[str, Any] = response.json()
    return status


def test_mastodon_thread_start_published_by_hand_then_the_rest_replies_to_it(
    project: Any, run: Any, now: Any, fake_mastodon: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _masto(project, monkeypatch, fake_mastodon)
    now.move_to("2026-12-01T08:30:30Z")
    fake_mastodon.fail_next("/api/v1/statuses", 422, {"error": "Validation failed: nope"})
    # part 0 refused: part 1 cannot reply to it, and says so at once
    assert [(o["key"], o["state"]) for o in _publish(run)] == [
        ("dec:t@masto", "failed"),
        ("dec:t@masto#1", "failed"),
    ]
    mine = _by_hand(fake_mastodon, "Un")
    bad = run("resolve", "dec:t@masto", "--published", "not a link")
    assert bad.exit_code == 2 and "Traceback" not in bad.output
    missing = run("resolve", "dec:t@masto", "--published", f"{fake_mastodon.url}/@brand/999")
    assert missing.exit_code == 2 and "nothing was recorded" in missing.stderr
    assert _jobs(project)["dec:t@masto"].state == "failed"
    settled = run("resolve", "dec:t@masto", "--published", mine["url"])
    assert settled.exit_code == 0, settled.output
    row = _jobs(project)["dec:t@masto"]
    assert (row.remote_id, row.url) == (mine["id"], mine["url"])
    outcomes = _publish(run)
    assert [(o["key"], o["state"]) for o in outcomes] == [("dec:t@masto#1", "published")]
    reply = fake_mastodon.statuses[-1]
    assert reply["text"] == "Deux" and reply["in_reply_to_id"] == mine["id"]
    assert len(fake_mastodon.statuses) == 2


def test_mastodon_link_from_another_server_is_searched_with_resolve(
    project: Any, run: Any, now: Any, fake_mastodon: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _masto(project, monkeypatch, fake_mastodon)
    now.move_to("2026-12-01T08:30:30Z")
    fake_mastodon.fail_next("/api/v1/statuses", 422, {"error": "Validation failed: nope"})
    _publish(run)
    mine = _by_hand(fake_mastodon, "Un")
    elsewhere = "https://other.example/@brand@mastodon.example/4242"
    fake_mastodon.remote_links[elsewhere] = mine["id"]
    fake_mastodon.scopes = {"write"}
    refused = run("resolve", "dec:t@masto", "--published", elsewhere)
    assert refused.exit_code == 2 and "read:search" in refused.stderr
    assert "good-token" not in refused.output
    fake_mastodon.scopes = {"read", "write"}
    assert run("resolve", "dec:t@masto", "--published", elsewhere).exit_code == 0
    row = _jobs(project)["dec:t@masto"]
    assert (row.remote_id, row.url) == (mine["id"], mine["url"])
    search = fake_mastodon.requests_to("/api/v2/search")[-1]
    assert search.param("resolve") == "true" and search.param("q") == elsewhere
    _publish(run)
    assert fake_mastodon.statuses[-1]["in_reply_to_id"] == mine["id"]


def test_bluesky_thread_start_published_by_hand_then_the_rest_replies_to_it(
    project: Any, run: Any, now: Any, fake_bluesky: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.config(
        "accounts:\n  bsky:\n    network: bluesky\n    handle: brand.test\n"
        f"    app_password: ${{P}}\n    service: {fake_bluesky.url}\n"
        "defaults:\n  timezone: Europe/Paris\n"
    )
    monkeypatch.setenv("P", "app-pass-1234")
    monkeypatch.setenv("CMCTL_HTTP_TIMEOUT", "2")
    project.calendar(
        calendar(post("t", at="2026-12-01 09:30", text="Un", thread=["Deux"]), accounts="[bsky]")
    )
    now.move_to("2026-12-01T08:30:30Z")
    fake_bluesky.fail_next(
        "com.atproto.repo.putRecord", 400, {"error": "InvalidRequest", "message": "nope"}
    )
    assert [o["state"] for o in _publish(run)] == ["failed", "failed"]  # part 0, so part 1
    uri, cid = fake_bluesky.seed_record(
        "app.bsky.feed.post",
        "3kabcdefghij2",
        {"text": "Un", "createdAt": "2026-12-01T08:40:00.000Z"},
    )
    other = fake_bluesky.add_account("someone.test")
    fake_bluesky.seed_record(
        "app.bsky.feed.post",
        "3kabcdefghij3",
        {"text": "x", "createdAt": "2026-12-01T08:40:00.000Z"},
        did=other.did,
    )
    theirs = run(
        "resolve",
        "dec:t@bsky",
        "--published",
        "https://bsky.app/profile/someone.test/post/3kabcdefghij3",
    )
    assert theirs.exit_code == 2 and "not of this account" in theirs.stderr
    wrong = run(
        "resolve",
        "dec:t@bsky",
        "--published",
        "https://bsky.app/profile/brand.test/post/3kabcdefghij4",
    )
    assert wrong.exit_code == 2 and "no post" in wrong.stderr
    link = "https://bsky.app/profile/brand.test/post/3kabcdefghij2"
    settled = run("resolve", "dec:t@bsky", "--published", link)
    assert settled.exit_code == 0, settled.output
    row = _jobs(project)["dec:t@bsky"]
    assert (row.remote_id, row.remote_ref) == (uri, {"uri": uri, "cid": cid})
    outcomes = _publish(run)
    assert [(o["key"], o["state"]) for o in outcomes] == [("dec:t@bsky#1", "published")]
    reply = next(p for p in fake_bluesky.posts() if p.get("text") == "Deux")
    assert reply["reply"]["parent"] == {"uri": uri, "cid": cid}
    assert reply["reply"]["root"] == {"uri": uri, "cid": cid}


def test_webhook_cannot_reply_to_a_part_settled_by_hand_and_says_so(
    project: Any, run: Any, now: Any, fake_webhook_unsigned: Any
) -> None:
    hook = fake_webhook_unsigned
    project.config(
        "accounts:\n  hook:\n    network: webhook\n"
        f"    url: {hook.url}/hooks/cmctl\n"
        "defaults:\n  timezone: Europe/Paris\n"
    )
    project.calendar(
        calendar(post("t", at="2026-12-01 09:30", text="Un", thread=["Deux"]), accounts="[hook]")
    )
    now.move_to("2026-12-01T08:30:30Z")
    hook.fail_next("/hooks/cmctl", 400, {"error": "nope"})
    assert [o["state"] for o in _publish(run)] == ["failed", "failed"]  # part 0, so part 1
    before = len(hook.requests)
    settled = run("resolve", "dec:t@hook", "--published", "https://example.com/posts/1")
    assert settled.exit_code == 0, settled.output
    assert "cmctl cannot reply to it on Webhook" in settled.stdout
    jobs = _jobs(project)
    assert jobs["dec:t@hook"].remote_id is None
    assert jobs["dec:t@hook#1"].state == "failed"
    assert _publish(run) == []
    assert len(hook.requests) == before  # nothing sent as a reply to a string
    status = run("status", "--json")
    assert any(a["key"] == "dec:t@hook#1" for a in as_json(status)["attention"])


def test_a_network_that_is_down_gives_a_clean_error(
    project: Any, run: Any, now: Any, fake_mastodon: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _masto(project, monkeypatch, fake_mastodon)
    now.move_to("2026-12-01T08:30:30Z")
    fake_mastodon.fail_next("/api/v1/statuses", 422, {"error": "Validation failed: nope"})
    _publish(run)
    fake_mastodon.fail_next("/api/v1/statuses/1", 503, {"error": "down"}, times=10)
    result = run("resolve", "dec:t@masto", "--published", f"{fake_mastodon.url}/@brand/1")
    assert result.exit_code == 1 and "could not ask Mastodon" in result.stderr
    assert "Traceback" not in result.output
    assert _jobs(project)["dec:t@masto"].state == "failed"


# ---------------------------------------------------------------------------- adapters
def _adapter(name: str, options: dict[str, Any], tmp_path: Path) -> Any:
    from cmctl.networks import registry
    from cmctl.networks.http import Http

    return registry.get(name)(name, options, Http(), tmp_path)


def test_networks_without_a_lookup_answer_none(tmp_path: Path) -> None:
    from cmctl.networks.base import Network

    assert (
        _adapter("webhook", {"url": "https://h.example/x"}, tmp_path).reference(
            "https://h.example/p/1"
        )
        is None
    )
    assert Network.reference is _adapter("slack", {}, tmp_path).reference.__func__


@pytest.mark.parametrize("name", ["feed.xml", "feed.json"])
def test_feed_finds_an_entry_by_id_or_link(tmp_path: Path, name: str) -> None:
    from cmctl.networks.base import Permanent
    from tests.networks.helpers import make_outgoing

    feed = _adapter("feed", {"path": str(tmp_path / name)}, tmp_path)
    with pytest.raises(Permanent):  # no file yet
        feed.reference("urn:cmctl:dec:launch@feed")
    feed.publish(make_outgoing("dec:launch@feed", "Bonjour"))
    sent = feed.reference("urn:cmctl:dec:launch@feed")
    assert (sent.remote_id, sent.ref) == (
        "urn:cmctl:dec:launch@feed",
        {"id": "urn:cmctl:dec:launch@feed"},
    )
    with pytest.raises(Permanent, match="no entry"):
        feed.reference("https://example.com/nothing")


def test_bluesky_takes_an_at_uri_and_refuses_other_links(tmp_path: Path, fake_bluesky: Any) -> None:
    from cmctl.networks.base import Permanent

    uri, cid = fake_bluesky.seed_record(
        "app.bsky.feed.post",
        "3kabcdefghij2",
        {"text": "Un", "createdAt": "2026-12-01T08:40:00.000Z"},
    )
    bsky = _adapter(
        "bluesky",
        {"handle": "brand.test", "app_password": "app-pass-1234", "service": fake_bluesky.url},
        tmp_path,
    )
    sent = bsky.reference(uri)
    assert (sent.remote_id, sent.ref) == (uri, {"uri": uri, "cid": cid})
    for bad in ("https://example.com/x", f"{uri[:-13]}..", "bsky.app/profile/a/post/b"):
        with pytest.raises(Permanent):
            bsky.reference(bad)
    assert not fake_bluesky.requests_to("com.atproto.server.createSession")
