"""The Slack adapter against FakeSlack (tests/fakes/slack.py, written from Slack's docs).

Units: the message and its metadata, unshared uploads shown in image blocks with their
alt text (uploaded once, kept in the checkpoint), a file not ready yet, thread replies,
the look-up through history and replies (paginated), each error code's class and hint,
no secret in any message. Through the CLI: an image and a thread, and a restart after
an ambiguous send that leaves no duplicate.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from cmctl.networks import slack as slack_module
from cmctl.networks.base import (
    Ambiguous,
    Attachment,
    AuthExpired,
    NotReady,
    Permanent,
    SendError,
    Sent,
    Transient,
)
from cmctl.networks.http import Http
from cmctl.networks.slack import EVENT_TYPE, HINTS, Slack
from tests.conftest import as_json, calendar, post
from tests.fakes.slack import CHANNEL, TOKEN, FakeSlack
from tests.networks.helpers import make_outgoing
from tests.test_validate import png

KEY = "dec:launch@slk"


@pytest.fixture
def server(fake_slack: FakeSlack) -> FakeSlack:
    return fake_slack


@pytest.fixture
def saved() -> list[dict[str, Any]]:
    return []


def adapter(server: FakeSlack, tmp_path: Path, **options: Any) -> Slack:
    opts = {"token": TOKEN, "channel": CHANNEL, "api_url": f"{server.url}/api", **options}
    return Slack("slk", opts, Http(timeout=2.0), tmp_path / "state")


def outgoing(saved: list[dict[str, Any]] | None = None, **changes: Any) -> Any:
    key = changes.pop("key", KEY)
    text = changes.pop("text", "We launch today! https://example.com/launch #launch")
    if saved is not None:
        changes.setdefault("save_checkpoint", saved.append)
    return make_outgoing(key, text, **changes)


def image(tmp_path: Path, name: str = "a.png", alt: str | None = "A red rocket") -> Attachment:
    path = tmp_path / name
    path.write_bytes(png(4, 4))
    return Attachment(path, alt, tmp_path)


def posted(server: FakeSlack) -> list[dict[str, Any]]:
    return [dict(r.json or {}) for r in server.requests_to("/api/chat.postMessage")]


# --- declaration --------------------------------------------------------------------


def test_declares_a_lookup_and_threads() -> None:
    assert Slack.publishes and Slack.finds and Slack.threads
    assert Slack.idempotency.value == "lookup"
    assert Slack.check_text("x" * 3001, has_media=True)[2]  # a section block's text
    assert not Slack.check_text("x" * 3001, has_media=False)[2]
    assert Slack.alt_limit() == 1000


# --- publishing ---------------------------------------------------------------------


def test_a_text_message_carries_the_jobs_key_in_its_metadata(
    server: FakeSlack, tmp_path: Path
) -> None:
    sent = adapter(server, tmp_path).publish(outgoing())
    [request] = server.requests_to("/api/chat.postMessage")
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    [body] = posted(server)
    assert body["channel"] == CHANNEL
    assert body["text"].startswith("We launch today!")
    assert body["metadata"] == {"event_type": EVENT_TYPE, "event_payload": {"key": KEY}}
    assert "blocks" not in body and "thread_ts" not in body
    [message] = server.messages
    assert sent.remote_id == message["ts"] and sent.ref == {"channel": CHANNEL, "ts": message["ts"]}
    assert (
        sent.url == f"https://acme.slack.com/archives/{CHANNEL}/p{message['ts'].replace('.', '')}"
    )


def test_images_are_uploaded_unshared_with_alt_text_and_shown_in_blocks(
    server: FakeSlack, tmp_path: Path, saved: list[dict[str, Any]]
) -> None:
    media = (image(tmp_path, "a.png", "A red rocket"), image(tmp_path, "b.png", None))
    adapter(server, tmp_path).publish(outgoing(saved, media=media))
    tickets = server.requests_to("/api/files.getUploadURLExternal")
    forms = [dict(r.query) | {k: [v] for k, v in _form(r).items()} for r in tickets]
    assert forms[0]["filename"] == ["a.png"] and forms[0]["alt_txt"] == ["A red rocket"]
    assert forms[0]["length"] == [str(len(png(4, 4)))]
    assert "alt_txt" not in forms[1]
    uploads = [r for r in server.requests if r.path.startswith("/upload/")]
    assert [u.body for u in uploads] == [png(4, 4)] * 2
    for complete in server.requests_to("/api/files.completeUploadExternal"):
        args = dict(complete.json or {})
        assert "channel_id" not in args and "channels" not in args
    [body] = posted(server)
    section, first, second = body["blocks"]
    assert section == {"type": "section", "text": {"type": "mrkdwn", "text": body["text"]}}
    ids = list(server.files)
    assert first == {"type": "image", "slack_file": {"id": ids[0]}, "alt_text": "A red rocket"}
    assert second["slack_file"] == {"id": ids[1]} and second["alt_text"] == "b.png"
    assert body["metadata"]["event_payload"] == {"key": KEY}
    # the file ids were saved before the message went out
    assert [sorted(s["files"].values()) for s in saved] == [ids[:1], sorted(ids)]


def test_a_retry_uses_the_checkpoint_and_uploads_nothing_again(
    server: FakeSlack, tmp_path: Path, saved: list[dict[str, Any]]
) -> None:
    media = (image(tmp_path),)
    server.fail_next("/api/chat.postMessage", 503, {"ok": False, "error": "service_unavailable"})
    slack = adapter(server, tmp_path)
    with pytest.raises(Transient):
        slack.publish(outgoing(saved, media=media))
    slack.publish(outgoing(saved, media=media, checkpoint=saved[-1]))
    assert len(server.requests_to("/api/files.getUploadURLExternal")) == 1
    assert len(server.messages) == 1


def test_a_file_slack_has_not_processed_yet_is_not_ready_then_refused(
    server: FakeSlack, tmp_path: Path, saved: list[dict[str, Any]]
) -> None:
    server.file_ready_after = 1
    media = (image(tmp_path),)
    slack = adapter(server, tmp_path)
    with pytest.raises(NotReady) as waiting:
        slack.publish(outgoing(saved, media=media))
    assert 0 < waiting.value.retry_in <= 5 and "invalid_blocks" in waiting.value.message
    assert saved[-1]["polls"] == 1 and server.messages == []
    slack.publish(outgoing(saved, media=media, checkpoint=saved[-1]))
    assert len(server.messages) == 1
    assert len(server.requests_to("/api/files.getUploadURLExternal")) == 1
    # a file that never becomes showable: refused after a bounded number of waits
    server.file_ready_after = 100
    later: list[dict[str, Any]] = []
    other = (image(tmp_path, "c.png"),)
    with pytest.raises(NotReady):
        slack.publish(outgoing(later, key="dec:other@slk", media=other))
    stuck = {**later[-1], "polls": slack_module.MAX_FILE_POLLS}
    with pytest.raises(Permanent, match="invalid_blocks"):
        slack.publish(outgoing(later, key="dec:other@slk", checkpoint=stuck, media=other))
    assert len(server.messages) == 1


def test_invalid_blocks_without_images_is_a_refusal(server: FakeSlack, tmp_path: Path) -> None:
    server.fail_next("/api/chat.postMessage", 200, {"ok": False, "error": "invalid_blocks"})
    with pytest.raises(Permanent, match="refused the message's blocks"):
        adapter(server, tmp_path).publish(outgoing())


def test_thread_parts_are_replies_to_the_first_message(server: FakeSlack, tmp_path: Path) -> None:
    slack = adapter(server, tmp_path)
    root = slack.publish(outgoing())
    second = slack.publish(outgoing(key=KEY + "#1", part=1, text="deux", root=root, reply_to=root))
    third = slack.publish(
        outgoing(key=KEY + "#2", part=2, text="trois", root=root, reply_to=second)
    )
    bodies = posted(server)
    assert [b.get("thread_ts") for b in bodies] == [None, root.remote_id, root.remote_id]
    assert third.url is not None and f"thread_ts={root.remote_id}" in third.url


# --- look-up ------------------------------------------------------------------------


def test_find_reads_history_with_metadata_for_a_first_part(
    server: FakeSlack, tmp_path: Path, now: Any
) -> None:
    slack = adapter(server, tmp_path)
    since = server.now() - timedelta(minutes=5)
    assert slack.find(outgoing(), since) is None
    slack.publish(outgoing(key="dec:other@slk"))
    sent = slack.publish(outgoing())
    found = slack.find(outgoing(), since)
    assert found == sent
    [request, *_] = server.requests_to("/api/conversations.history")
    assert request.param("include_all_metadata") == "true"
    assert request.param("channel") == CHANNEL
    assert abs(float(request.param("oldest") or 0) - since.timestamp()) < 1e-3
    # posted before `since`: not this attempt's
    assert slack.find(outgoing(), server.now() + timedelta(minutes=1)) is None


def test_find_follows_the_cursor(
    server: FakeSlack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(slack_module, "PAGE_SIZE", 1)
    slack = adapter(server, tmp_path)
    since = server.now() - timedelta(minutes=5)
    sent = slack.publish(outgoing())
    for n in range(3):  # newer messages come first in history
        slack.publish(outgoing(key=f"dec:n{n}@slk"))
    server.clear_requests()
    assert slack.find(outgoing(), since) == sent
    pages = server.requests_to("/api/conversations.history")
    assert len(pages) == 4 and pages[1].param("cursor")
    monkeypatch.setattr(slack_module, "MAX_PAGES", 2)
    with pytest.raises(Transient, match="too busy"):
        slack.find(outgoing(), since)


def test_find_reads_the_thread_for_a_reply(server: FakeSlack, tmp_path: Path) -> None:
    slack = adapter(server, tmp_path)
    since = server.now() - timedelta(minutes=5)
    root = slack.publish(outgoing())
    reply = outgoing(key=KEY + "#1", part=1, text="deux", root=root, reply_to=root)
    assert slack.find(reply, since) is None
    sent = slack.publish(reply)
    assert slack.find(reply, since) == sent
    request = server.requests_to("/api/conversations.replies")[-1]
    assert request.param("ts") == root.remote_id
    assert request.param("include_all_metadata") == "true"


# --- errors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "kind", "words"),
    [
        ("not_in_channel", Permanent, "/invite @yourapp"),
        ("channel_not_found", Permanent, "`channel`"),
        ("is_archived", Permanent, "archived"),
        ("msg_too_long", Permanent, "shorten the post"),
        ("missing_scope", Permanent, "chat:write"),
        ("restricted_action", Permanent, "admin"),
        ("invalid_auth", AuthExpired, "Bot User OAuth Token"),
        ("not_authed", AuthExpired, "`token`"),
        ("token_revoked", AuthExpired, "reinstall the app"),
        ("account_inactive", AuthExpired, "reinstall the app"),
        ("fatal_error", Ambiguous, "may have published"),
    ],
)
def test_each_error_code_has_its_class_and_hint(
    server: FakeSlack, tmp_path: Path, code: str, kind: type[SendError], words: str
) -> None:
    server.fail_next("/api/chat.postMessage", 200, {"ok": False, "error": code})
    with pytest.raises(SendError) as caught:
        adapter(server, tmp_path).publish(outgoing())
    assert type(caught.value) is kind
    assert code in caught.value.message and words in caught.value.message
    assert TOKEN not in caught.value.message and TOKEN not in str(caught.value)


def test_the_fakes_own_refusals_read_the_same(server: FakeSlack, tmp_path: Path) -> None:
    server.channels[CHANNEL].is_member = False
    with pytest.raises(Permanent, match="not_in_channel: the bot is not a member"):
        adapter(server, tmp_path).publish(outgoing())
    server.revoke()
    with pytest.raises(AuthExpired, match="token_revoked"):
        adapter(server, tmp_path).publish(outgoing())
    with pytest.raises(AuthExpired, match="invalid_auth"):
        adapter(server, tmp_path, token="xoxb-wrong").publish(outgoing())
    with pytest.raises(Permanent, match="channel_not_found"):
        server.revoked.clear()
        adapter(server, tmp_path, channel="C0NOPE").publish(outgoing())


def test_ratelimited_waits_for_retry_after(server: FakeSlack, tmp_path: Path) -> None:
    server.fail_next(
        "/api/chat.postMessage", 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "30"}
    )
    with pytest.raises(Transient) as caught:
        adapter(server, tmp_path).publish(outgoing())
    assert caught.value.retry_after == 30 and "ratelimited" in caught.value.message
    assert server.messages == []


def test_an_echoed_token_is_never_shown(server: FakeSlack, tmp_path: Path) -> None:
    server.fail_next("/api/chat.postMessage", 200, {"ok": False, "error": f"bad {TOKEN}"})
    with pytest.raises(SendError) as caught:
        adapter(server, tmp_path).publish(outgoing())
    assert TOKEN not in caught.value.message and TOKEN[:12] not in caught.value.message


def test_a_failed_permalink_does_not_fail_a_published_message(
    server: FakeSlack, tmp_path: Path
) -> None:
    server.fail_next("/api/chat.getPermalink", 500, "oops")
    sent = adapter(server, tmp_path).publish(outgoing())
    assert sent.remote_id and sent.url is None and len(server.messages) == 1


# --- check --------------------------------------------------------------------------


def test_check_names_the_team_the_bot_and_the_channel(server: FakeSlack, tmp_path: Path) -> None:
    said = adapter(server, tmp_path).check()
    assert "@cmctl_bot in Acme" in said and "#announcements" in said and CHANNEL in said
    assert server.messages == []
    server.channels[CHANNEL].is_member = False
    assert "/invite" in adapter(server, tmp_path).check()
    with pytest.raises(Permanent, match="channel_not_found"):
        adapter(server, tmp_path, channel="C0NOPE").check()


# --- through the CLI ----------------------------------------------------------------


@pytest.fixture
def slack_project(
    project: Any, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch, now: Any
) -> Iterator[Any]:
    project.config(
        "accounts:\n  slk:\n    network: slack\n    token: ${SLACK_TOKEN}\n"
        f"    channel: {CHANNEL}\n    api_url: {fake_slack.url}/api\n"
        "defaults:\n  timezone: Europe/Paris\n"
    )
    monkeypatch.setenv("SLACK_TOKEN", TOKEN)
    monkeypatch.setenv("CMCTL_HTTP_TIMEOUT", "0.5")
    now.move_to("2026-12-01T08:30:30Z")
    yield project


def test_an_image_and_a_thread_through_publish(
    slack_project: Any, run: Any, fake_slack: FakeSlack
) -> None:
    slack_project.write("media/a.png", png(8, 8))
    slack_project.calendar(
        calendar(
            post(
                "a",
                text="Launch #news https://example.com",
                media=[{"path": "../media/a.png", "alt": "A square"}],
                thread=["deux", "trois"],
            ),
            accounts="[slk]",
        )
    )
    result = run("publish", "--json")
    assert result.exit_code == 0, result.output
    assert [o["state"] for o in as_json(result)["outcomes"]] == ["published"] * 3
    root, second, third = fake_slack.messages
    assert root["blocks"][1]["alt_text"] == "A square"
    assert second["thread_ts"] == third["thread_ts"] == root["ts"]
    assert [m["metadata"]["event_payload"]["key"] for m in fake_slack.messages] == [
        "dec:a@slk",
        "dec:a@slk#1",
        "dec:a@slk#2",
    ]
    log = run("log").stdout
    assert "acme.slack.com/archives" in log


def test_a_restart_after_an_ambiguous_send_leaves_no_duplicate(
    slack_project: Any, run: Any, fake_slack: FakeSlack, now: Any, slept: list[float]
) -> None:
    slack_project.calendar(calendar(post("a", thread=["deux"]), accounts="[slk]"))
    fake_slack.hang_next("/api/chat.postMessage", seconds=2.0, commit=True)  # stored, no answer
    fake_slack.fail_next("/api/conversations.history", 503, "down", times=50)  # cannot look
    result = run("publish", "--json")
    assert [o["state"] for o in as_json(result)["outcomes"]][-1] == "retry"
    assert len(fake_slack.messages) == 1
    # the next run (a new process: the ledger is all it knows) looks before it resends
    fake_slack.clear_faults()
    now.shift(120)
    result = run("publish", "--json")
    assert result.exit_code == 0, result.output
    assert [o["state"] for o in as_json(result)["outcomes"]] == ["published", "published"]
    root, reply = fake_slack.messages
    assert reply["thread_ts"] == root["ts"]  # the found message is the thread's root
    db = sqlite3.connect(slack_project.root / ".cmctl" / "ledger.sqlite3")
    urls = [u for (u,) in db.execute("SELECT url FROM jobs ORDER BY key")]
    db.close()
    assert all(u and "acme.slack.com" in u for u in urls)


def test_a_revoked_token_fails_with_a_hint_and_no_secret(
    slack_project: Any, run: Any, fake_slack: FakeSlack
) -> None:
    slack_project.calendar(calendar(post("a"), accounts="[slk]"))
    fake_slack.revoke()
    result = run("publish")
    assert result.exit_code == 1
    assert "token_revoked" in result.stdout and "reinstall the app" in result.stdout
    everything = (
        result.stdout + result.stderr + run("status").stdout + run("log", "--events").stdout
    )
    assert TOKEN not in everything
    ledger = (slack_project.root / ".cmctl" / "ledger.sqlite3").read_bytes()
    assert TOKEN.encode() not in ledger


def test_accounts_check_names_the_channel(slack_project: Any, run: Any) -> None:
    result = run("accounts", "check")
    assert result.exit_code == 0, result.output
    assert "#announcements" in result.stdout


def _form(request: Any) -> dict[str, str]:
    from tests.fakes.base import parse_form

    return {k: v[-1].text for k, v in parse_form(request).items()}


def test_hints_cover_the_codes_the_issue_names() -> None:
    for code in ("ratelimited", "not_in_channel", "channel_not_found", "invalid_auth"):
        assert code in HINTS
    assert "token_revoked" in HINTS and issubclass(Sent, object)
