"""The network contract v2, from the publisher's side: idempotency strategies, look-ups,
duplicate refusals, multi-step publishing with checkpoints (issue #7, section 1).

A scripted network (tests/networks/scripted.py) declares each strategy in turn; the
publisher must decide from the declaration alone, through the real CLI.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest

from cmctl.networks import registry
from cmctl.networks.base import Idempotency
from tests.conftest import as_json, calendar, post
from tests.networks import scripted


@pytest.fixture
def net(project: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[scripted.Server]:
    monkeypatch.setitem(registry.BUILTIN, "scripted", "tests.networks.scripted:Scripted")
    registry._refs.cache_clear()
    registry.get.cache_clear()
    scripted.SERVER.__init__()  # type: ignore[misc]
    project.config("accounts:\n  s:\n    network: scripted\ndefaults:\n  timezone: UTC\n")
    yield scripted.SERVER
    scripted.restore()
    registry._refs.cache_clear()
    registry.get.cache_clear()


def publish(run: Any, *args: str) -> tuple[int, list[tuple[str, str]]]:
    result = run("publish", "--json", *args)
    data = as_json(result)
    return result.exit_code, [(o["key"], o["state"]) for o in data["outcomes"]]


def row(project: Any, key: str) -> sqlite3.Row:
    db = sqlite3.connect(project.root / ".cmctl" / "ledger.sqlite3")
    db.row_factory = sqlite3.Row
    try:
        return db.execute("SELECT * FROM jobs WHERE key = ?", (key,)).fetchone()
    finally:
        db.close()


def one_post(project: Any, now: Any) -> None:
    project.calendar(
        calendar(post("a", at="2026-12-01 09:30", text="Un"), accounts="[s]", tz="UTC")
    )
    now.move_to("2026-12-01T09:30:30Z")


def test_lookup_finds_what_an_ambiguous_attempt_published(
    project: Any, run: Any, now: Any, slept: Any, net: scripted.Server
) -> None:
    one_post(project, now)
    net.script = ["commit-then-fail"]
    _, outcomes = publish(run)  # retry, then (inline) the look-up finds it
    assert outcomes[-1] == ("dec:a@s", "published")
    assert net.texts() == ["Un"] and len(net.finds) == 1
    assert row(project, "dec:a@s")["url"] == "https://scripted.example/p1"


def test_lookup_that_finds_nothing_resends_once(
    project: Any, run: Any, now: Any, slept: Any, net: scripted.Server
) -> None:
    one_post(project, now)
    net.script = ["fail-before"]
    code, outcomes = publish(run)
    assert code == 0 and outcomes[-1] == ("dec:a@s", "published")
    assert net.texts() == ["Un"] and len(net.finds) == 1


def test_without_a_strategy_an_ambiguous_answer_is_unknown(
    project: Any, run: Any, now: Any, slept: Any, net: scripted.Server
) -> None:
    scripted.declare(idempotency=Idempotency.NONE, finds=False)
    one_post(project, now)
    net.script = ["commit-then-fail"]
    code, outcomes = publish(run)
    assert code == 1 and outcomes == [("dec:a@s", "unknown")]
    assert net.texts() == ["Un"] and net.finds == []


def test_a_dead_claim_on_a_lookup_network_is_looked_up_not_unknown(
    project: Any, run: Any, now: Any, slept: Any, net: scripted.Server
) -> None:
    from cmctl.ledger import owner

    project.calendar(
        calendar(post("a", at="2026-12-01 09:30", text="Un"), accounts="[s]", tz="UTC")
    )
    now.move_to("2026-12-01T09:00:00Z")
    publish(run)
    net.posts["p1"] = {"text": "Un", "key": "dec:a@s", "media": None}  # it went out...
    db = sqlite3.connect(project.root / ".cmctl" / "ledger.sqlite3")
    with db:  # ...and its sender died before recording it
        db.execute(
            "UPDATE jobs SET state = 'sending', claim_owner = ?, claimed_at = "
            "'2026-12-01T09:30:01.000000Z', attempts = 1",
            (f"{owner._machine()}/999999/1",),
        )
    db.close()
    now.move_to("2026-12-01T09:31:00Z")
    code, outcomes = publish(run)
    assert code == 0 and outcomes == [("dec:a@s", "published")]
    assert net.texts() == ["Un"]


def test_a_duplicate_refusal_on_a_first_attempt_is_the_networks_no(
    project: Any, run: Any, now: Any, net: scripted.Server
) -> None:
    one_post(project, now)
    net.script = ["duplicate"]
    code, outcomes = publish(run)
    assert code == 1 and outcomes == [("dec:a@s", "failed")]


def test_a_duplicate_after_an_earlier_attempt_without_lookup_is_unknown(
    project: Any, run: Any, now: Any, slept: Any, net: scripted.Server
) -> None:
    """A key the network honours, no look-up: the resend after an ambiguous attempt is
    refused as a duplicate; that may be this job's own post: unknown, never failed."""
    scripted.declare(idempotency=Idempotency.KEY, finds=False)
    one_post(project, now)
    net.script = ["commit-then-fail", "duplicate"]
    code, outcomes = publish(run)
    assert code == 1 and outcomes[-1] == ("dec:a@s", "unknown")
    assert "check the account" in row(project, "dec:a@s")["reason"]


def test_a_duplicate_after_an_earlier_attempt_is_looked_up_found(
    project: Any, run: Any, now: Any, slept: Any, net: scripted.Server
) -> None:
    one_post(project, now)
    net.script = ["commit-then-fail", "duplicate"]
    net.hidden_finds = 1  # the first look-up lags: cmctl resends, and is refused
    code, outcomes = publish(run)
    assert code == 0 and outcomes[-1] == ("dec:a@s", "published")
    assert net.texts() == ["Un"] and len(net.finds) == 2


def test_a_duplicate_after_an_earlier_attempt_is_looked_up_not_found(
    project: Any, run: Any, now: Any, slept: Any, net: scripted.Server
) -> None:
    one_post(project, now)
    net.script = ["fail-before", "duplicate"]  # refused: another post has this text
    code, outcomes = publish(run)
    assert code == 1 and outcomes[-1] == ("dec:a@s", "unknown")
    assert net.texts() == []


def test_not_ready_keeps_its_checkpoint_and_is_not_a_failed_attempt(
    project: Any, run: Any, now: Any, net: scripted.Server
) -> None:
    one_post(project, now)
    net.script = ["not-ready"]
    code, outcomes = publish(run)
    assert outcomes == [("dec:a@s", "retry")]
    r = row(project, "dec:a@s")
    assert r["state"] == "pending" and r["attempts"] == 0
    assert r["checkpoint"] == '{"uploaded": "media-1"}'
    now.move_to("2026-12-01T09:31:05Z")
    code, outcomes = publish(run)
    assert code == 0 and outcomes == [("dec:a@s", "published")]
    assert net.uploads == 1  # the second attempt used the checkpoint
    assert next(iter(net.posts.values()))["media"] == "media-1"
    assert row(project, "dec:a@s")["checkpoint"] is None


def test_not_ready_is_bounded_by_the_deadline(
    project: Any, run: Any, now: Any, net: scripted.Server
) -> None:
    one_post(project, now)
    net.script = ["not-ready"] * 50
    publish(run)
    now.move_to("2026-12-01T12:29:50Z")  # 10 s before the deadline (1 h window + 2 h)
    code, outcomes = publish(run)
    assert code == 1 and outcomes == [("dec:a@s", "failed")]
    assert "still not ready at its deadline" in row(project, "dec:a@s")["reason"]


def test_mastodon_waits_for_processing_through_checkpoints_uploading_once(
    project: Any,
    run: Any,
    now: Any,
    slept: list[float],
    fake_mastodon: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Mastodon's media processing (202, then 206 until ready) is multi-step publishing:
    the upload's id is kept in the ledger, the publisher waits briefly in the same run,
    and the file is uploaded once."""
    from tests.test_validate import png

    fake_mastodon.processing_steps = 2
    project.config(
        "accounts:\n  masto:\n    network: mastodon\n"
        f"    instance: {fake_mastodon.url}\n    token: ${{T}}\n"
        "defaults:\n  timezone: UTC\n"
    )
    monkeypatch.setenv("T", "good-token")
    project.write("media/a.png", png(8, 8))
    project.calendar(
        calendar(
            post(
                "a",
                at="2026-12-01 09:30",
                text="Image",
                media=[{"path": "../media/a.png", "alt": "A square"}],
            ),
            accounts="[masto]",
            tz="UTC",
        )
    )
    now.move_to("2026-12-01T09:30:30Z")
    result = run("publish", "--json")
    states = [o["state"] for o in as_json(result)["outcomes"]]
    assert result.exit_code == 0 and states[-1] == "published", result.output
    assert "retry" in states  # "not ready yet", waited for in this run
    uploads = [r for r in fake_mastodon.requests if r.path == "/api/v2/media"]
    assert len(uploads) == 1 and len(fake_mastodon.statuses) == 1
    assert fake_mastodon.statuses[0]["media_attachments"]
    assert slept and max(slept) <= 15


def test_media_fetched_by_url_must_be_served_before_the_send(
    project: Any, run: Any, now: Any, net: scripted.Server
) -> None:
    """A network that fetches media by URL (`media_by_url`): before sending, cmctl
    checks that `media_url` serves each file (same size), and says which is missing."""
    from tests.test_media_url import Files
    from tests.test_validate import png

    image = png(8, 8)
    from cmctl.networks.base import OPEN_MEDIA

    scripted.declare(media_by_url=True, media_kinds=OPEN_MEDIA, max_media=4)
    with Files({}) as files:
        project.config(
            f"media_url: {files.url}/site\naccounts:\n  s:\n"
            "    network: scripted\ndefaults:\n  timezone: UTC\n"
        )
        project.write("media/a.png", image)
        project.calendar(
            calendar(
                post(
                    "a",
                    at="2026-12-01 09:30",
                    text="Image",
                    media=[{"path": "../media/a.png", "alt": "A"}],
                ),
                accounts="[s]",
                tz="UTC",
            )
        )
        now.move_to("2026-12-01T09:30:30Z")
        code, outcomes = publish(run)
        assert {state for _, state in outcomes} == {"retry"} and net.texts() == []
        assert "/site/media/a.png answers 404" in row(project, "dec:a@s")["reason"]
        files.files["/site/media/a.png"] = image  # the site is deployed
        now.move_to("2026-12-01T09:55:00Z")
        code, outcomes = publish(run)
        assert code == 0 and outcomes == [("dec:a@s", "published")]


def test_the_sender_waits_for_a_spent_quota_and_says_so(
    project: Any, run: Any, now: Any, net: scripted.Server
) -> None:
    from datetime import timedelta

    from cmctl.quota import Quota

    scripted.declare(quotas=(Quota(2, timedelta(hours=1)),))
    project.calendar(
        calendar(
            *(post(f"p{i}", at="2026-12-01 09:30", text=f"T{i}") for i in range(3)),
            accounts="[s]",
            tz="UTC",
        )
    )
    now.move_to("2026-12-01T09:30:30Z")
    code, outcomes = publish(run)
    assert [s for _, s in outcomes] == ["published", "published", "retry"]
    assert "waiting for the quota" in row(project, "dec:p2@s")["reason"]
    assert net.texts() == ["T0", "T1"]  # no third request burnt on a 429
    now.move_to("2026-12-01T09:50:00Z")  # still within the window: nothing
    assert publish(run)[1] == []
    now.move_to("2026-12-01T10:31:00Z")
    code, outcomes = publish(run)
    assert code == 0 and outcomes == [("dec:p2@s", "published")]


def test_a_quota_that_frees_after_the_deadline_fails_loudly(
    project: Any, run: Any, now: Any, net: scripted.Server
) -> None:
    from datetime import timedelta

    from cmctl.quota import Quota

    scripted.declare(quotas=(Quota(1, timedelta(days=1)),))
    project.calendar(
        calendar(
            post("a", at="2026-12-01 09:30", text="A"),
            post("b", at="2026-12-01 09:30", text="B"),
            accounts="[s]",
            tz="UTC",
        )
    )
    now.move_to("2026-12-01T09:30:30Z")
    code, outcomes = publish(run)
    assert code == 1 and dict(outcomes) == {"dec:a@s": "published", "dec:b@s": "failed"}
    assert "after this post's deadline" in row(project, "dec:b@s")["reason"]
