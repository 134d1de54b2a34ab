"""The three promises under hostile conditions (issue #6): the publisher and the ledger.

Each test names the item of the hostile tester's report it covers. They run through the
real CLI on the local feed network, whose adapter is monkeypatched where a test needs a
network that fails in a precise way.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest

from cmctl.networks.base import Permanent, Sent
from tests.conftest import as_json, calendar, post
from tests.test_publish import feed_ids, publish, states

FEED_ONLY = (
    "accounts:\n  feed:\n    network: feed\n    path: public/feed.xml\n"
    "defaults:\n  timezone: Europe/Paris\n"
)


def ledger_rows(project: Any) -> dict[str, sqlite3.Row]:
    db = sqlite3.connect(project.root / ".cmctl" / "ledger.sqlite3")
    db.row_factory = sqlite3.Row
    try:
        return {r["key"]: r for r in db.execute("SELECT * FROM jobs")}
    finally:
        db.close()


@contextlib.contextmanager
def feed_refuses(part: int) -> Iterator[None]:
    """While inside: the feed refuses thread part ``part`` (a permanent 4xx)."""
    from cmctl.networks import feed

    original = feed.Feed.publish

    def publish_(self: Any, out: Any) -> Sent:
        if out.part == part:
            raise Permanent("HTTP 422: refused")
        return original(self, out)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(feed.Feed, "publish", publish_)
        yield


def ledger_bytes(project: Any) -> bytes:
    # the database and its write-ahead log (readers may touch the -shm index)
    folder = project.root / ".cmctl"
    return b"".join(
        p.read_bytes()
        for p in (folder / "ledger.sqlite3", folder / "ledger.sqlite3-wal")
        if p.exists()
    )


# ---------------------------------------------------------------- 2. the dry run


def test_dry_run_takes_the_real_runs_decisions_missed_thread(
    project: Any, run: Any, now: Any
) -> None:
    """Item 2: a thread past its catch-up window: would-miss, for every part."""
    project.calendar(
        calendar(
            post("t", at="2026-12-01 09:30", catch_up="30m", thread=["deux"]), accounts="[feed]"
        )
    )
    now.move_to("2026-12-01T10:00:00Z")  # 1 h 30 late
    _, dry = publish(run, "--dry-run")
    assert not (project.root / ".cmctl").exists()
    _code, real = publish(run)
    assert [(o["key"], o["state"]) for o in real["outcomes"]] == [
        ("dec:t@feed", "missed"),
        ("dec:t@feed#1", "missed"),
    ]
    assert [(o["key"], o["state"]) for o in dry["outcomes"]] == [
        ("dec:t@feed", "would-miss"),
        ("dec:t@feed#1", "would-miss"),
    ]


def test_dry_run_past_deadline_would_fail_and_writes_nothing(
    project: Any, run: Any, now: Any
) -> None:
    """Item 2: a pending retry past its deadline: would-fail, then failed for real; the
    dry run leaves the ledger byte for byte as it was."""
    project.calendar(calendar(post("a", at="2026-12-01 09:30"), accounts="[feed]"))
    now.move_to("2026-12-01T08:31:00Z")
    publish(run, "--dry-run")
    db_path = project.root / ".cmctl" / "ledger.sqlite3"
    assert not db_path.exists()
    now.move_to("2026-12-01T07:00:00Z")
    publish(run)  # creates the ledger, nothing due
    db = sqlite3.connect(db_path)
    with db:  # an attempt that failed, retry planned, long ago
        db.execute(
            "UPDATE jobs SET attempts = 1, next_attempt_at = '2026-12-01T08:35:00."
            "000000Z', reason = 'HTTP 503'"
        )
    db.close()
    now.move_to("2026-12-01T12:00:00Z")  # the deadline (window 1 h + 2 h grace) is past
    before = ledger_bytes(project)
    code, dry = publish(run, "--dry-run")
    assert ledger_bytes(project) == before
    assert [o["state"] for o in dry["outcomes"]] == ["would-fail"]
    assert code == 1
    code, real = publish(run)
    assert [o["state"] for o in real["outcomes"]] == ["failed"]
    assert feed_ids(project) == []


def test_dry_run_is_the_same_procedure(project: Any, run: Any, now: Any) -> None:
    """Item 2: for a mix of states, the dry run's decisions are the real run's, named
    would-…, and the real run still does all of it afterwards."""
    project.calendar(
        calendar(
            post("due", at="2026-12-01 09:30"),
            post("late", at="2026-12-01 06:00"),
            post("future", at="2026-12-02 09:30"),
            post("draft", at="2026-12-01 09:00", status="draft"),
            post("thread", at="2026-12-01 09:20", thread=["b", "c"]),
            accounts="[feed]",
        )
    )
    now.move_to("2026-12-01T08:31:00Z")
    _, dry = publish(run, "--dry-run")
    _, real = publish(run)
    names = {"published": "would-send", "missed": "would-miss"}
    assert [(o["key"], o["state"]) for o in dry["outcomes"]] == [
        (o["key"], names[o["state"]]) for o in real["outcomes"]
    ]
    assert len(real["outcomes"]) == 5


# ---------------------------------------------------------------- 3. nothing vanishes


def test_a_send_whose_claim_was_taken_over_is_still_reported(
    project: Any, run: Any, now: Any, monkeypatch: Any
) -> None:
    """Item 3: while we sent, another process recovered our claim (lease expired): the
    post went out, so it is recorded as published and reported, never dropped."""
    from cmctl.networks import feed

    project.calendar(calendar(post("a", at="2026-12-01 09:30"), accounts="[feed]"))
    now.move_to("2026-12-01T08:31:00Z")
    original = feed.Feed.publish

    def slow_publish(self: Any, out: Any) -> Sent:
        db = sqlite3.connect(project.root / ".cmctl" / "ledger.sqlite3")
        with db:  # a second process declared us dead and made the job unknown
            db.execute("UPDATE jobs SET state = 'unknown', claim_owner = NULL")
        db.close()
        return original(self, out)

    monkeypatch.setattr(feed.Feed, "publish", slow_publish)
    _code, data = publish(run)
    assert [(o["key"], o["state"]) for o in data["outcomes"]] == [("dec:a@feed", "published")]
    assert "taken over" in data["outcomes"][0]["message"]
    row = ledger_rows(project)["dec:a@feed"]
    assert row["state"] == "published" and row["remote_id"]
    events = as_json(run("log", "--events", "--json"))
    assert "published" in json.dumps(events)


def test_post_on_a_missed_post_says_published_only(project: Any, run: Any, now: Any) -> None:
    """Item 3: `--post` on a missed post: one line per job, published; the other posts
    of the project are not touched (nor reported) by a run on purpose."""
    project.calendar(
        calendar(
            post("late", at="2026-12-01 06:00", thread=["deux"]),
            post("other", at="2026-12-01 06:00"),
            accounts="[feed]",
        )
    )
    now.move_to("2026-12-01T12:00:00Z")
    code, data = publish(run, "--post", "late")
    assert code == 0
    assert [(o["key"], o["state"]) for o in data["outcomes"]] == [
        ("dec:late@feed", "published"),
        ("dec:late@feed#1", "published"),
    ]
    assert states(run)["dec:other@feed"] == "pending"  # the next plain run reports it


# ---------------------------------------------------------------- 4. human decisions


def test_skip_by_hand_sticks_through_edits(project: Any, run: Any, now: Any) -> None:
    """Item 4: unknown after a crash, seen online, skipped by a human; then any edit of
    the calendar: never sent again (before: sync turned it back into pending)."""
    project.calendar(calendar(post("a", at="2026-12-01 09:30"), accounts="[feed]"))
    now.move_to("2026-12-01T08:31:00Z")
    publish(run, "--dry-run")
    now.move_to("2026-12-01T07:00:00Z")
    publish(run)
    db = sqlite3.connect(project.root / ".cmctl" / "ledger.sqlite3")
    with db:
        db.execute(
            "UPDATE jobs SET state = 'unknown', maybe_sent_at = "
            "'2026-12-01T08:30:00.000000Z', reason = 'sender died'"
        )
    db.close()
    assert run("resolve", "dec:a@feed", "--skip").exit_code == 0
    for text in ("edited once", "edited twice"):
        project.calendar(calendar(post("a", at="2026-12-01 09:40", text=text), accounts="[feed]"))
        now.move_to("2026-12-01T08:45:00Z")
        _code, data = publish(run)
        assert data["outcomes"] == []
    assert feed_ids(project) == []
    assert ledger_rows(project)["dec:a@feed"]["state"] == "skipped"
    # and drafting then un-drafting it does not reopen it either
    project.calendar(calendar(post("a", at="2026-12-01 09:40", status="draft"), accounts="[feed]"))
    publish(run)
    project.calendar(calendar(post("a", at="2026-12-01 09:40"), accounts="[feed]"))
    publish(run)
    assert feed_ids(project) == []
    assert ledger_rows(project)["dec:a@feed"]["state"] == "skipped"


def test_recovery_to_unknown_keeps_maybe_sent(project: Any, run: Any, now: Any) -> None:
    """Item 4: a dead claim whose network no longer remembers its idempotency key
    becomes unknown and keeps maybe_sent_at: drafting the post later never makes it
    skipped-then-pending (which would send it a second time)."""
    from cmctl.ledger import owner

    project.calendar(calendar(post("a", at="2026-12-01 09:30"), accounts="[masto]"))
    now.move_to("2026-12-01T05:00:00Z")
    publish(run)
    db = sqlite3.connect(project.root / ".cmctl" / "ledger.sqlite3")
    with db:  # a process of this machine that is gone claimed it 2 h ago
        db.execute(
            "UPDATE jobs SET state = 'sending', claim_owner = ?, claimed_at = "
            "'2026-12-01T06:00:00.000000Z', claim_expires_at = "
            "'2026-12-01T06:10:00.000000Z'",
            (f"{owner._machine()}/999999/1",),
        )
    db.close()
    now.move_to("2026-12-01T08:10:00Z")  # Mastodon keeps idempotency keys ~1 h
    _code, data = publish(run)
    assert [o["state"] for o in data["outcomes"]] == ["unknown"]
    row = ledger_rows(project)["dec:a@masto"]
    assert row["state"] == "unknown" and row["maybe_sent_at"]
    project.calendar(calendar(post("a", at="2026-12-01 09:30", status="draft"), accounts="[masto]"))
    publish(run)
    project.calendar(calendar(post("a", at="2026-12-01 09:30"), accounts="[masto]"))
    publish(run)
    assert ledger_rows(project)["dec:a@masto"]["state"] == "unknown"


# ---------------------------------------------------------------- 5. thread shapes


def test_inserting_a_part_into_a_started_thread_holds_the_post(
    project: Any, run: Any, now: Any
) -> None:
    """Item 5: thread [A, B] published, then [X, A, B]: B must not go out again as #2
    (and X cannot go out before A): the post is held, loudly, and validate says so."""
    project.calendar(
        calendar(post("t", at="2026-12-01 09:30", text="A", thread=["B"]), accounts="[feed]")
    )
    now.move_to("2026-12-01T08:31:00Z")
    assert publish(run)[0] == 0
    assert len(feed_ids(project)) == 2
    project.calendar(
        calendar(post("t", at="2026-12-01 09:30", text="X", thread=["A", "B"]), accounts="[feed]")
    )
    validate = run("validate")
    assert validate.exit_code == 1
    assert "dec:t@feed" in validate.stdout and "[thread-shape]" in validate.stdout
    code, data = publish(run)
    assert code == 1 and data["outcomes"] == []
    assert "dec:t@feed" in data["held_posts"]
    assert len(feed_ids(project)) == 2
    status = run("status", "--json")
    assert status.exit_code == 1
    assert any("dec:t@feed" in line for line in as_json(status)["blocked"])
    # put back, and append a part at the end: that goes out, once
    project.calendar(
        calendar(post("t", at="2026-12-01 09:30", text="A", thread=["B", "C"]), accounts="[feed]")
    )
    code, data = publish(run)
    assert code == 0 and [o["key"] for o in data["outcomes"]] == ["dec:t@feed#2"]
    assert run("status").exit_code == 0


@pytest.mark.parametrize(
    "new_parts",
    [
        ["B", "A", "C"],  # reordered: A would go out again as #1
        ["A", "C"],  # B (sent) removed: C would take its place and never go out
        ["A", "X", "B", "C"],  # inserted in the middle: B would go out again as #2
    ],
)
def test_reshaping_a_started_thread_is_held(
    project: Any, run: Any, now: Any, new_parts: list[str]
) -> None:
    project.calendar(
        calendar(post("t", at="2026-12-01 09:30", text="A", thread=["B", "C"]), accounts="[feed]")
    )
    now.move_to("2026-12-01T08:31:00Z")
    with feed_refuses(2):
        publish(run)  # A and B out, C failed
    sent = feed_ids(project)
    assert len(sent) == 2
    first, *rest = new_parts
    project.calendar(
        calendar(post("t", at="2026-12-01 09:30", text=first, thread=rest), accounts="[feed]")
    )
    assert run("validate").exit_code == 1
    code, _data = publish(run)
    assert code == 1
    assert feed_ids(project) == sent


def test_editing_a_thread_halfway_is_fine(project: Any, run: Any, now: Any) -> None:
    """Not every change is a reshape: editing the unsent part's text, or a sent part's
    text without adding parts, is followed (the unsent part goes out as edited)."""
    project.calendar(
        calendar(post("t", at="2026-12-01 09:30", text="A", thread=["B"]), accounts="[feed]")
    )
    now.move_to("2026-12-01T08:31:00Z")
    with feed_refuses(1):
        publish(run)
    project.calendar(
        calendar(
            post("t", at="2026-12-01 09:30", text="A, corrected", thread=["B, shorter"]),
            accounts="[feed]",
        )
    )
    assert run("validate").exit_code == 0
    code, data = publish(run)
    assert code == 0 and [o["key"] for o in data["outcomes"]] == ["dec:t@feed#1"]


# ---------------------------------------------------------------- 7. --post names one post


def test_post_id_in_two_calendars_is_refused(project: Any, run: Any, now: Any) -> None:
    project.calendar(
        calendar(post("weekly-tip", at="2026-12-01 09:30"), accounts="[feed]"), name="dec.yaml"
    )
    project.calendar(
        calendar(post("weekly-tip", at="2099-12-01 09:30", text="futur"), accounts="[feed]"),
        name="later.yaml",
    )
    now.move_to("2026-12-01T08:31:00Z")
    result = run("publish", "--post", "weekly-tip")
    assert result.exit_code == 2
    assert "dec:weekly-tip" in result.stderr and "later:weekly-tip" in result.stderr
    assert feed_ids(project) == []
    code, data = publish(run, "--post", "dec:weekly-tip")
    assert code == 0 and [o["key"] for o in data["outcomes"]] == ["dec:weekly-tip@feed"]
    assert feed_ids(project) == ["urn:cmctl:dec:weekly-tip@feed"]


# ---------------------------------------------------------------- 8. identities


def test_renaming_a_calendar_file_does_not_repost(project: Any, run: Any, now: Any) -> None:
    cal = calendar(
        post("a", at="2026-12-01 09:30"), post("b", at="2026-12-01 10:30"), accounts="[feed]"
    )
    project.calendar(cal, name="dec.yaml")
    now.move_to("2026-12-01T08:31:00Z")
    publish(run)
    assert feed_ids(project) == ["urn:cmctl:dec:a@feed"]
    (project.root / "calendars" / "dec.yaml").rename(project.root / "calendars" / "december.yaml")
    validate = run("validate")
    assert "[identity-changed]" in validate.stdout and "december:a@feed" in validate.stdout
    plan = run("plan")
    assert "identity-changed" in plan.stderr
    _, data = publish(run)
    assert data["outcomes"] == []
    assert feed_ids(project) == ["urn:cmctl:dec:a@feed"]
    assert states(run)["december:a@feed"] == "published"
    now.move_to("2026-12-01T09:31:00Z")  # b goes out once, under its new identity
    _code, data = publish(run)
    assert [o["key"] for o in data["outcomes"]] == ["december:b@feed"]


def test_the_same_post_in_two_files_is_a_warning(project: Any, run: Any, now: Any) -> None:
    project.calendar(
        calendar(post("a", at="2026-12-01 09:30", text="Pareil"), accounts="[feed]"),
        name="one.yaml",
    )
    project.calendar(
        calendar(post("copy", at="2026-12-01 09:30", text="Pareil"), accounts="[feed]"),
        name="two.yaml",
    )
    result = run("validate")
    assert result.exit_code == 0
    assert "[same-post-twice]" in result.stdout and "calendars/one.yaml" in result.stdout


def test_an_account_that_switches_network_updates_pending_jobs(
    project: Any, run: Any, now: Any
) -> None:
    project.config(FEED_ONLY)
    project.calendar(calendar(post("a", at="2026-12-01 09:30"), accounts="[feed]"))
    now.move_to("2026-12-01T07:00:00Z")
    publish(run)
    project.config(
        FEED_ONLY.replace(
            "network: feed\n    path: public/feed.xml",
            "network: webhook\n    url: http://127.0.0.1:9/h",
        )
    )
    publish(run)
    assert ledger_rows(project)["dec:a@feed"]["network"] == "webhook"


# ---------------------------------------------------------------- 9. one bad job


def test_one_unschedulable_job_does_not_stop_the_others(
    project: Any, run: Any, now: Any, monkeypatch: Any
) -> None:
    project.calendar(
        calendar(post("bad", at="2026-12-01 09:30"), accounts="[feed]"), name="bad.yaml"
    )
    project.calendar(calendar(post("good", at="2026-12-01 09:30"), accounts="[feed]"))
    import cmctl.publish.publisher
    from cmctl.ledger import store

    original = store.planned_job

    def planned_job(job: Any) -> Any:
        if job.post_id == "bad":
            raise OverflowError("date value out of range")
        return original(job)

    monkeypatch.setattr(cmctl.publish.publisher, "planned_job", planned_job)
    now.move_to("2026-12-01T08:31:00Z")
    code, data = publish(run)
    assert code == 1
    assert [o["key"] for o in data["outcomes"]] == ["dec:good@feed"]
    assert any("bad:bad@feed" in p for p in data["problems"])


def test_an_extreme_row_in_the_ledger_never_stops_the_run(project: Any, run: Any, now: Any) -> None:
    """Item 9: a row whose time and window overflow datetime arithmetic (written by an
    older cmctl that accepted `at: 9999-12-31 23:30` and `catch_up: 99999999d`) is
    reported; the others go out; `status` and `plan` still read the ledger."""
    old = project.calendar(
        calendar(post("a", at="2026-12-01 09:30"), accounts="[feed]"), name="old.yaml"
    )
    project.calendar(calendar(post("b", at="2026-12-01 09:30"), accounts="[feed]"))
    now.move_to("2026-12-01T07:00:00Z")
    publish(run)
    old.unlink()  # its rows stay (a vanished calendar is kept), as the old cmctl wrote them
    db = sqlite3.connect(project.root / ".cmctl" / "ledger.sqlite3")
    with db:
        db.execute(
            "UPDATE jobs SET catch_up_s = ?, scheduled_at = '9999-12-31T23:30:00."
            "000000Z' WHERE post_id = 'a'",
            (10**15,),
        )
    db.close()
    now.move_to("2026-12-01T08:31:00Z")
    code, data = publish(run)
    assert code == 1
    assert data["vanished"] == {"old": 1}  # said loudly; never judged (not due)
    assert run("status", "--json").exit_code == 1
    assert run("plan", "--json").exit_code == 0
    assert "dec:b@feed" in [o["key"] for o in data["outcomes"]]
    assert "dec:b@feed" in " ".join(feed_ids(project))


def test_one_accounts_bug_does_not_stop_the_other_accounts(
    project: Any, run: Any, now: Any, monkeypatch: Any
) -> None:
    project.config(
        "accounts:\n"
        + "".join(f"  {a}:\n    network: feed\n    path: public/{a}.xml\n" for a in ("f1", "f2"))
        + "defaults:\n  timezone: Europe/Paris\n"
    )
    project.calendar(calendar(post("a", at="2026-12-01 09:30"), accounts="[f1, f2]"))
    from cmctl.networks import feed

    original = feed.Feed.__init__

    def buggy(self: Any, account: Any, *args: Any, **kwargs: Any) -> None:
        if account.name == "f1":
            raise KeyError("a bug in the adapter's set-up")
        original(self, account, *args, **kwargs)

    monkeypatch.setattr(feed.Feed, "__init__", buggy)
    now.move_to("2026-12-01T08:31:00Z")
    code, data = publish(run)
    assert code == 1
    assert [(o["key"], o["state"]) for o in data["outcomes"]] == [("dec:a@f2", "published")]
    assert "account 'f1': internal error" in data["problems"][0]
    assert states(run)["dec:a@f1"] == "pending"  # not lost: it waits for a fix


# ---------------------------------------------------------------- 11. vanished calendars


def test_a_glob_that_matches_nothing_cancels_nothing(project: Any, run: Any, now: Any) -> None:
    project.config(FEED_ONLY)
    project.calendar(calendar(post("a", at="2026-12-01 09:30"), accounts="[feed]"))
    now.move_to("2026-12-01T07:00:00Z")
    publish(run)
    project.config(FEED_ONLY + "calendars: calendrs/*.yaml\n")
    for command in (("validate",), ("publish",), ("plan",)):
        result = run(*command)
        assert result.exit_code == 2, command
        assert "calendrs/*.yaml" in result.stderr
    project.config(FEED_ONLY)
    assert states(run)["dec:a@feed"] == "pending"


def test_a_vanished_calendar_is_kept_and_said_loudly(project: Any, run: Any, now: Any) -> None:
    project.calendar(calendar(post("a", at="2026-12-01 09:30"), accounts="[feed]"))
    project.calendar(
        calendar(post("b", at="2026-12-01 09:30"), accounts="[feed]"), name="other.yaml"
    )
    now.move_to("2026-12-01T07:00:00Z")
    assert publish(run)[0] == 0
    (project.root / "calendars" / "dec.yaml").unlink()
    code, data = publish(run)
    assert code == 1
    assert data["vanished"] == {"dec": 1}
    rows = ledger_rows(project)
    assert rows["dec:a@feed"]["state"] == "pending"
    status = run("status")
    assert status.exit_code == 1 and "calendar 'dec'" in status.stdout
    assert "calendar-vanished" in run("validate").stdout
    result = run("cancel", "dec")
    assert result.exit_code == 0 and "dec:a@feed: cancelled" in result.stdout
    assert ledger_rows(project)["dec:a@feed"]["state"] == "skipped"
    assert publish(run)[0] == 0
    assert run("status").exit_code == 0
    # restoring the file later does not undo a human's cancellation
    project.calendar(calendar(post("a", at="2026-12-01 09:30"), accounts="[feed]"))
    now.move_to("2026-12-01T08:31:00Z")
    code, data = publish(run)
    assert [o["key"] for o in data["outcomes"]] == ["other:b@feed"]


# ---------------------------------------------------------------- 12. thread parts settle


def test_a_failed_middle_part_fails_the_later_parts_visibly(
    project: Any, run: Any, now: Any, monkeypatch: Any
) -> None:
    project.calendar(
        calendar(post("t", at="2026-12-01 09:30", thread=["b", "c", "d"]), accounts="[feed]")
    )
    now.move_to("2026-12-01T08:31:00Z")
    with feed_refuses(1):
        code, data = publish(run)
    assert code == 1
    final = {o["key"]: o["state"] for o in data["outcomes"]}
    assert final == {
        "dec:t@feed": "published",
        "dec:t@feed#1": "failed",
        "dec:t@feed#2": "failed",
        "dec:t@feed#3": "failed",
    }
    status = as_json(run("status", "--json"))
    keys = {r["key"]: r["reason"] for r in status["attention"]}
    assert "part #1" in keys["dec:t@feed#3"]
    assert run("status").exit_code == 1


# ---------------------------------------------------------------- 13. held calendars


def test_a_held_calendar_makes_status_exit_1(project: Any, run: Any, now: Any) -> None:
    project.calendar(calendar(post("a", at="2026-12-01 09:30"), accounts="[feed]"))
    now.move_to("2026-12-01T07:00:00Z")
    assert publish(run)[0] == 0
    assert run("status").exit_code == 0
    project.calendar(
        calendar(post("a", at="2026-12-01 09:30", text="x" * 2), accounts="[feed, nope]")
    )
    assert publish(run)[0] == 1
    status = run("status")
    assert status.exit_code == 1 and "calendars/dec.yaml" in status.stdout
    project.calendar(calendar(post("a", at="2026-12-01 09:30"), accounts="[feed]"))
    assert publish(run)[0] == 0
    assert run("status").exit_code == 0


# ---------------------------------------------------------------- 21. the last line


def test_a_secret_in_an_adapters_own_message_never_reaches_the_ledger(
    project: Any, run: Any, now: Any, monkeypatch: Any
) -> None:
    """Item 21: even an adapter that forgets to redact (a third-party one) cannot write
    a secret into the ledger or print it: every secret cmctl resolved is scrubbed."""
    from cmctl.networks import mastodon

    token = "tok-Zx9/Qq+e4RkL2mNp"
    monkeypatch.setenv("MASTO_TOKEN", token)

    def leaky(self: Any, out: Any) -> Sent:
        raise Permanent(f"the server said: invalid token {token} for {out.key}")

    monkeypatch.setattr(mastodon.Mastodon, "publish", leaky)
    project.calendar(calendar(post("a", at="2026-12-01 09:30"), accounts="[masto]"))
    now.move_to("2026-12-01T08:31:00Z")
    result = run("publish", "--json")
    assert result.exit_code == 1 and "invalid token" in result.stdout
    shown = (
        result.stdout
        + result.stderr
        + run("log", "--events").stdout
        + run("status", "--json").stdout
    )
    assert token not in shown
    assert token.encode() not in ledger_bytes(project)


# ---------------------------------------------------------------- 20. a full disk


def test_a_full_disk_mid_send_is_a_clean_error_and_nothing_is_lost(
    project: Any, run: Any, now: Any, monkeypatch: Any
) -> None:
    """Item 20: the disk fills up while the outcome is recorded: exit 2 with what to do
    (no traceback, no exit 70); the claim stays; once space is back, the next run
    recovers it and the post is there exactly once."""
    import cmctl.ledger.store as store
    from cmctl.ledger import owner

    project.calendar(calendar(post("a", at="2026-12-01 09:30"), accounts="[feed]"))
    now.move_to("2026-12-01T08:31:00Z")
    original = store.Ledger.log

    def full(db: Any, at: Any, key: str, event: str, detail: Any = None) -> None:
        if event == "published":
            raise sqlite3.OperationalError("database or disk is full")
        original(db, at, key, event, detail)

    monkeypatch.setattr(store.Ledger, "log", staticmethod(full))
    result = run("publish")
    assert result.exit_code == 2, result.output
    assert "cannot write the ledger" in result.stderr and "free some space" in result.stderr
    assert "Traceback" not in result.output
    monkeypatch.setattr(store.Ledger, "log", staticmethod(original))
    assert ledger_rows(project)["dec:a@feed"]["state"] == "sending"
    db = sqlite3.connect(project.root / ".cmctl" / "ledger.sqlite3")
    with db:  # that process is gone
        db.execute("UPDATE jobs SET claim_owner = ?", (f"{owner._machine()}/999999/1",))
    db.close()
    code, data = publish(run)
    assert code == 0 and [o["state"] for o in data["outcomes"]] == ["published"]
    assert feed_ids(project) == ["urn:cmctl:dec:a@feed"]
