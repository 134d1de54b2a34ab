"""Review of the calendar-by-calendar sync through the real CLI (issue #7): a post moved
or a file renamed after a publish, a failed post with an ambiguous attempt drafted, the
previews of `validate`/`plan` against what `publish` then does, a damaged ledger row."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from tests.conftest import as_json, calendar, post
from tests.test_promises import FEED_ONLY
from tests.test_publish import feed_ids, publish


def ledger_sql(project: Any, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    db = sqlite3.connect(project.root / ".cmctl" / "ledger.sqlite3")
    try:
        with db:
            return db.execute(sql, args).fetchall()
    finally:
        db.close()


def states(project: Any) -> dict[str, str]:
    return {key: state for key, state in ledger_sql(project, "SELECT key, state FROM jobs")}


def feed_calendar(*posts: str) -> str:
    return calendar(*posts, accounts="[feed]")


@pytest.mark.parametrize("target", ["a.yaml", "z.yaml"], ids=["moved-before", "moved-after"])
def test_a_published_post_moved_to_another_file_is_never_sent_again(
    project: Any, run: Any, now: Any, target: str
) -> None:
    """The post leaves m.yaml (still in the project, so the old calendar is reconciled
    too) for a file read before or after it: validate warns, publish inherits."""
    project.config(FEED_ONLY)
    moving = post("x", at="2026-12-01 09:30", text="Moved")
    staying = post("y", at="2026-12-02 09:30", text="Stays")
    project.calendar(feed_calendar(moving, staying), name="m.yaml")
    project.calendar(feed_calendar(post("o", at="2026-12-03 09:30", text="Other")), name=target)
    now.move_to("2026-12-01T08:31:00Z")
    code, data = publish(run)
    assert code == 0 and [o["key"] for o in data["outcomes"]] == ["m:x@feed"]
    project.calendar(feed_calendar(staying), name="m.yaml")
    other = post("o", at="2026-12-03 09:30", text="Other")
    project.calendar(feed_calendar(other, moving), name=target)
    new = f"{target.removesuffix('.yaml')}:x@feed"
    validate = run("validate")
    assert validate.exit_code == 0
    assert "[identity-changed]" in validate.stdout and new in validate.stdout
    code, data = publish(run)
    assert (code, data["outcomes"], data["held_posts"], data["vanished"]) == (0, [], {}, {})
    assert states(project)[new] == "published"
    assert states(project)["m:x@feed"] == "published"
    assert states(project)["m:y@feed"] == "pending"
    now.move_to("2026-12-03T08:31:00Z")
    code, data = publish(run)  # y and o go out, x never again
    assert sorted(o["key"] for o in data["outcomes"]) == sorted(
        ["m:y@feed", f"{target.removesuffix('.yaml')}:o@feed"]
    )
    assert feed_ids(project).count("urn:cmctl:m:x@feed") == 1
    assert not any(":x@feed" in i and "m:x" not in i for i in feed_ids(project))


def test_drafting_a_failed_post_after_an_ambiguous_attempt(
    project: Any, run: Any, now: Any
) -> None:
    """Before 685bc02 the sync raised IllegalTransition (failed → unknown was missing):
    exit 70, every change rolled back, on every run. Now the post becomes unknown,
    publish goes on with the rest and says it (exit 1), status asks a human."""
    project.config(FEED_ONLY)
    project.calendar(
        feed_calendar(
            post("a", at="2026-12-01 09:30", text="Maybe out"),
            post("b", at="2026-12-01 10:30", text="Next"),
        )
    )
    now.move_to("2026-12-01T07:00:00Z")
    publish(run)
    ledger_sql(
        project,
        "UPDATE jobs SET state = 'failed', attempts = 3, reason = 'HTTP 502', "
        "maybe_sent_at = '2026-12-01T06:30:00.000000Z' WHERE key = 'dec:a@feed'",
    )
    project.calendar(
        feed_calendar(
            post("a", at="2026-12-01 09:30", text="Maybe out", status="draft"),
            post("b", at="2026-12-01 10:30", text="Next"),
        )
    )
    assert run("validate").exit_code == 0
    now.move_to("2026-12-01T09:31:00Z")
    code, data = publish(run)
    said = {o["key"]: o["state"] for o in data["outcomes"]}
    assert code == 1 and said == {"dec:a@feed": "unknown", "dec:b@feed": "published"}
    assert "draft after an attempt that may have been published" in data["outcomes"][0]["message"]
    assert states(project) == {"dec:a@feed": "unknown", "dec:b@feed": "published"}
    now.move_to("2026-12-01T09:40:00Z")  # said once, as a send that ends unknown is
    code, data = publish(run)
    assert code == 0 and data["outcomes"] == []
    status = run("status")
    assert status.exit_code == 1
    assert "dec:a@feed" in status.stdout and "turned into a draft after an attempt" in (
        status.stdout
    )
    assert feed_ids(project) == ["urn:cmctl:dec:b@feed"]


def test_the_previews_say_what_publish_then_does(project: Any, run: Any, now: Any) -> None:
    """A thread reshaped after its first part went out (held), a file renamed with one
    post published (inherited) and one not (the old calendar vanished): validate and
    plan report the three, and publish does exactly that."""
    project.config(FEED_ONLY)
    thread = post("t", at="2026-12-01 09:30", text="Head", thread=["B", "C"])
    project.calendar(feed_calendar(thread), name="t.yaml")
    renamed = feed_calendar(
        post("a", at="2026-12-01 09:30", text="Out"),
        post("b", at="2026-12-02 09:30", text="Later"),
    )
    project.calendar(renamed, name="r.yaml")
    now.move_to("2026-12-01T07:00:00Z")
    publish(run)
    ledger_sql(
        project,
        "UPDATE jobs SET state = 'published', sent_hash = content_hash, "
        "url = 'https://feed.example/' || key WHERE key IN ('t:t@feed', 'r:a@feed')",
    )
    reshaped = post("t", at="2026-12-01 09:30", text="Head", thread=["inserted", "B", "C"])
    project.calendar(feed_calendar(reshaped), name="t.yaml")
    (project.root / "calendars" / "r.yaml").rename(project.root / "calendars" / "a.yaml")

    validate = run("validate")
    assert validate.exit_code == 1
    for rule in ("thread-shape", "identity-changed", "calendar-vanished"):
        assert f"[{rule}]" in validate.stdout
    assert "a:a@feed is a new identity" in validate.stdout
    assert "calendar 'r' is no longer in the project: its 1 " in validate.stdout
    plan = run("plan")
    for rule in ("thread-shape", "identity-changed", "calendar-vanished"):
        assert f"[{rule}]" in plan.stderr

    code, data = publish(run)
    assert code == 1
    assert list(data["held_posts"]) == ["t:t@feed"]
    assert data["vanished"] == {"r": 1}
    assert data["outcomes"] == []
    assert states(project) == {
        "t:t@feed": "published",
        "t:t@feed#1": "pending",
        "t:t@feed#2": "pending",
        "r:a@feed": "published",
        "r:b@feed": "pending",
        "a:a@feed": "published",  # inherited
        "a:b@feed": "pending",
    }
    plan_json = as_json(run("plan", "--json"))
    assert {j["key"]: j["state"] for j in plan_json["jobs"]}["a:a@feed"] == "published"


def test_a_hand_edited_calendar_column_does_not_break_every_publish(
    project: Any, run: Any, now: Any
) -> None:
    project.config(FEED_ONLY)
    project.calendar(feed_calendar(post("a", at="2026-12-01 09:30")), name="c.yaml")
    project.calendar(feed_calendar(post("b", at="2026-12-01 10:30", text="B")), name="d.yaml")
    now.move_to("2026-12-01T07:00:00Z")
    publish(run)
    ledger_sql(project, "UPDATE jobs SET calendar = 'c' WHERE key = 'd:b@feed'")
    assert run("validate").exit_code == 0
    result = run("publish")
    assert result.exit_code != 70, result.stdout + result.stderr
    assert "internal error" not in result.stdout + result.stderr
    now.move_to("2026-12-01T08:31:00Z")
    code, data = publish(run)
    assert code == 0 and [o["key"] for o in data["outcomes"]] == ["c:a@feed"]
    now.move_to("2026-12-01T09:31:00Z")
    code, data = publish(run)
    assert code == 0 and [o["key"] for o in data["outcomes"]] == ["d:b@feed"]


def test_a_calendar_file_name_that_is_not_utf8_is_a_clear_error(
    project: Any, run: Any, now: Any
) -> None:
    project.config(FEED_ONLY)
    name = b"caf\xe9.yaml".decode("utf-8", "surrogateescape")
    (project.root / "calendars").mkdir()
    (project.root / "calendars" / name).write_text(feed_calendar(post("b", at="2026-12-01 10:30")))
    now.move_to("2026-12-01T07:00:00Z")
    result = run("publish")
    assert result.exit_code != 70, result.stdout + result.stderr
    assert "internal error" not in result.stdout + result.stderr


def test_validate_names_the_copy_that_publish_lets_inherit(
    project: Any, run: Any, now: Any
) -> None:
    """A published post's file renamed and copied: two new identities of one sent post,
    one inherits it. The sync takes the jobs file by file (a.yaml, then b.yaml), the
    previews in plan (time) order, where b.yaml's first post (renamed too, so the
    preview reads it) comes before a.yaml's: both must name the same heir."""
    project.config(FEED_ONLY)
    same = post("p", at="2026-12-01 09:30", text="Same")
    early = post("early", at="2026-12-01 09:00", text="Early")
    project.calendar(feed_calendar(early, same), name="dec.yaml")
    now.move_to("2026-12-01T08:31:00Z")
    _code, data = publish(run)
    assert [o["key"] for o in data["outcomes"]] == ["dec:early@feed", "dec:p@feed"]
    (project.root / "calendars" / "dec.yaml").unlink()
    project.calendar(feed_calendar(same), name="a.yaml")
    project.calendar(feed_calendar(early, same), name="b.yaml")
    validate = run("validate")
    foretold = [
        key
        for key in ("a:p@feed", "b:p@feed")
        if f"{key} is a new identity for a post already sent" in validate.stdout
    ]
    assert len(foretold) == 1
    publish(run)
    inherited = ledger_sql(
        project, "SELECT key FROM jobs WHERE reason = 'already published as dec:p@feed'"
    )
    assert [key for (key,) in inherited] == foretold


def test_a_post_being_sent_when_its_file_is_renamed_is_said_unknown(
    project: Any, run: Any, now: Any
) -> None:
    """Its new identity inherits `unknown` (the old attempt may be online): publish says
    it as an outcome (exit 1) and sends nothing of it; the rest goes out."""
    project.config(FEED_ONLY)
    project.calendar(
        feed_calendar(post("a", at="2026-12-01 09:30", text="In flight")), name="old.yaml"
    )
    project.calendar(feed_calendar(post("b", at="2026-12-01 10:30", text="Next")), name="b.yaml")
    now.move_to("2026-12-01T07:00:00Z")
    publish(run)
    ledger_sql(
        project,
        "UPDATE jobs SET state = 'sending', claim_owner = 'elsewhere/1/x', "
        "claimed_at = '2026-12-01T06:59:00.000000Z', "
        "maybe_sent_at = '2026-12-01T06:59:00.000000Z' WHERE key = 'old:a@feed'",
    )
    (project.root / "calendars/old.yaml").rename(project.root / "calendars/new.yaml")
    now.move_to("2026-12-01T09:31:00Z")
    code, data = publish(run)
    said = {o["key"]: o["state"] for o in data["outcomes"]}
    assert code == 1 and said["new:a@feed"] == "unknown" and said["b:b@feed"] == "published"
    assert "new:a@feed" not in feed_ids(project) and states(project)["new:a@feed"] == "unknown"
