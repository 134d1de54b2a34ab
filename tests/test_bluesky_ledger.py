"""Bluesky through the real CLI: record keys from the job alone, and evidence of a post.

Issue #6, items 6 and 17: a lost or truncated ledger must never make a second post
(the record key is a function of the job key, not of when its ledger row was made),
and an InvalidSwap (the record exists) whose read fails is retried and recorded,
`unknown` at worst, never `failed`.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import as_json, calendar, post


@pytest.fixture
def bsky(project: Any, fake_bluesky: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    project.config(
        "accounts:\n  bsky:\n    network: bluesky\n    handle: brand.test\n"
        f"    app_password: ${{P}}\n    service: {fake_bluesky.url}\n"
        "defaults:\n  timezone: Europe/Paris\n"
    )
    monkeypatch.setenv("P", "app-pass-1234")
    return fake_bluesky


def rkeys(server: Any) -> list[str]:
    return sorted(uri.rsplit("/", 1)[1] for uri in server.records)


def states(run: Any) -> dict[str, str]:
    """The ledger's own state names (`plan` says "retrying (n)" for a pending retry)."""
    from pathlib import Path

    from cmctl.ledger.store import Ledger

    ledger = Ledger.existing(Path.cwd() / ".cmctl")
    assert ledger is not None
    try:
        return {r.key: r.state for r in ledger.rows()}
    finally:
        ledger.close()


def test_a_truncated_ledger_is_an_error_and_bluesky_gets_no_second_post(
    project: Any, run: Any, now: Any, bsky: Any
) -> None:
    project.calendar(calendar(post("a", at="2026-12-01 09:30"), accounts="[bsky]"))
    now.move_to("2026-12-01T08:31:00Z")
    assert run("publish").exit_code == 0
    assert len(bsky.posts()) == 1
    ledger = project.root / ".cmctl" / "ledger.sqlite3"
    ledger.write_bytes(b"")  # a full disk, a bad restore...
    now.move_to("2026-12-01T08:40:00Z")
    for args in (("publish",), ("status",)):
        result = run(*args)
        assert result.exit_code == 2, result.stdout + result.stderr
        assert "not a usable cmctl ledger" in result.stderr
        assert "Traceback" not in result.stderr
    assert len(bsky.posts()) == 1
    assert ledger.read_bytes() == b""


def test_the_record_key_survives_a_new_ledger_made_at_another_time(
    project: Any, run: Any, now: Any, bsky: Any
) -> None:
    """Same job key, two ledgers created a day apart: the same record key, one post."""
    project.calendar(calendar(post("a", at="2026-12-01 09:30", thread=["deux"]), accounts="[bsky]"))
    now.move_to("2026-12-01T08:31:00Z")
    assert run("publish").exit_code == 0
    first = rkeys(bsky)
    assert len(first) == 2
    url = as_json(run("log", "--json"))["entries"][0]["url"]
    # The ledger is lost; the state folder is set aside on purpose, the post moved.
    state = project.root / ".cmctl"
    state.rename(project.root / ".cmctl.old")
    project.calendar(calendar(post("a", at="2026-12-02 09:30", thread=["deux"]), accounts="[bsky]"))
    now.move_to("2026-12-02T08:31:00Z")
    result = run("publish", "--json")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert rkeys(bsky) == first  # putRecord hit the same keys: InvalidSwap, no new post
    assert len(bsky.posts()) == 2
    entries = as_json(run("log", "--json"))["entries"]
    assert [e["key"] for e in entries] == ["dec:a@bsky", "dec:a@bsky#1"]
    assert entries[0]["url"] == url


def _swap_then_failing_reads(bsky: Any, reads: int) -> None:
    """The first putRecord commits but its answer is lost (a 502): the retry gets
    InvalidSwap, and the next ``reads`` getRecord calls fail with a 500."""
    bsky.fail_next("com.atproto.repo.putRecord", 502, {"error": "UpstreamFailure"}, commit=True)
    bsky.fail_next("com.atproto.repo.getRecord", 500, {"error": "InternalServerError"}, times=reads)


def publish_until_settled(run: Any, now: Any, key: str, seen: set[str], rounds: int = 40) -> str:
    """Run `cmctl publish` at each recorded retry time until ``key`` leaves pending."""
    state = "pending"
    for _ in range(rounds):
        result = run("publish", "--json")
        assert result.exit_code in (0, 1), result.stdout + result.stderr
        seen.update(o["state"] for o in as_json(result)["outcomes"] if o["key"] == key)
        state = states(run)[key]
        seen.add(state)
        if state != "pending":
            return state
        retrying = {
            r["key"]: r["next_attempt_at"] for r in as_json(run("status", "--json"))["retrying"]
        }
        now.move_to(retrying[key])
    return state


def test_invalid_swap_with_a_failed_read_is_read_again_then_published(
    project: Any, run: Any, now: Any, slept: Any, bsky: Any
) -> None:
    project.calendar(calendar(post("t", at="2026-12-01 09:30", thread=["deux"]), accounts="[bsky]"))
    now.move_to("2026-12-01T08:31:00Z")
    _swap_then_failing_reads(bsky, reads=3)
    seen: set[str] = set()
    assert publish_until_settled(run, now, "dec:t@bsky", seen) == "published"
    assert "failed" not in seen and "unknown" not in seen
    assert len(bsky.requests_to("getRecord")) >= 4  # read again until it worked
    posts = bsky.posts()
    assert len(posts) == 2  # one first part, never a second; then the reply
    entries = as_json(run("log", "--json"))["entries"]
    first = next(e for e in entries if e["key"] == "dec:t@bsky")
    assert first["url"].startswith("https://bsky.app/profile/brand.test/post/")
    assert states(run) == {"dec:t@bsky": "published", "dec:t@bsky#1": "published"}
    reply = next(p for p in posts if "reply" in p)
    assert reply["reply"]["parent"]["uri"] == first["remote_id"]
    assert reply["reply"]["root"]["uri"] == first["remote_id"]


def test_a_lagging_read_is_read_again_later_then_published(
    project: Any, run: Any, now: Any, slept: Any, bsky: Any
) -> None:
    from datetime import timedelta

    project.calendar(calendar(post("t", at="2026-12-01 09:30", thread=["deux"]), accounts="[bsky]"))
    now.move_to("2026-12-01T08:31:00Z")
    bsky.read_lag = timedelta(minutes=3)  # RecordNotFound for 3 minutes after the write
    bsky.fail_next("com.atproto.repo.putRecord", 502, {"error": "UpstreamFailure"}, commit=True)
    seen: set[str] = set()
    assert publish_until_settled(run, now, "dec:t@bsky", seen) == "published"
    assert "failed" not in seen and "unknown" not in seen
    assert states(run)["dec:t@bsky#1"] == "published"
    assert len(bsky.posts()) == 2


def test_reads_that_keep_failing_end_unknown_never_failed(
    project: Any, run: Any, now: Any, slept: Any, bsky: Any
) -> None:
    project.calendar(calendar(post("t", at="2026-12-01 09:30", thread=["deux"]), accounts="[bsky]"))
    now.move_to("2026-12-01T08:31:00Z")
    _swap_then_failing_reads(bsky, reads=1000)
    seen: set[str] = set()
    assert publish_until_settled(run, now, "dec:t@bsky", seen) == "unknown"
    assert "failed" not in seen
    assert len(bsky.posts()) == 1  # the first part, once; the reply never went out
    status = as_json(run("status", "--json"))
    [entry] = [a for a in status["attention"] if a["key"] == "dec:t@bsky"]
    # each attempt only reads (the record key is remembered for ever): cmctl kept
    # reading until the job's deadline, not only MAX_ATTEMPTS times
    from cmctl.publish import MAX_ATTEMPTS

    assert entry["attempts"] > MAX_ATTEMPTS
    assert states(run)["dec:t@bsky#1"] != "published"
