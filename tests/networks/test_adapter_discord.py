"""The Discord adapter against the fake webhook (tests/fakes/discord.py), and through the
real CLI: Execute Webhook with ?wait=true, attachments with their alt text, follow-up
parts, rate limits read from the body, and a webhook URL that never shows."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cmctl.networks.base import Ambiguous, Attachment, Idempotency, Permanent, Transient
from cmctl.networks.discord import Discord
from cmctl.networks.http import Http
from tests.conftest import as_json, calendar, post
from tests.fakes.base import parse_form
from tests.fakes.discord import CHANNEL_ID, GUILD_ID, TOKEN, WEBHOOK_ID, FakeDiscord, rate_limited
from tests.networks.helpers import make_outgoing
from tests.test_validate import png

PATH = f"/api/v10/webhooks/{WEBHOOK_ID}/{TOKEN}"


@pytest.fixture
def disc(fake_discord: FakeDiscord, tmp_path: Path) -> Iterator[Discord]:
    adapter = Discord("disc", {"webhook_url": fake_discord.webhook_url}, Http(), tmp_path)
    yield adapter
    adapter.http.close()


def assert_no_secret(text: str) -> None:
    assert TOKEN not in text and TOKEN[:16] not in text


def test_declares_publishing_without_idempotency_and_with_follow_ups() -> None:
    assert Discord.publishes is True and Discord.threads is True
    assert Discord.idempotency is Idempotency.NONE and Discord.finds is False
    [field] = Discord.account_fields
    assert field.name == "webhook_url" and field.secret and field.required


def test_text_waits_for_the_message_and_records_its_link(
    disc: Discord, fake_discord: FakeDiscord
) -> None:
    sent = disc.publish(make_outgoing("dec:a@disc", "Hello **world**"))
    [execute] = fake_discord.requests_to(PATH, "POST")
    assert execute.param("wait") == "true"
    assert execute.json == {"content": "Hello **world**"}
    [message] = fake_discord.messages
    assert sent.remote_id == message["id"]
    assert sent.url == f"https://discord.com/channels/{GUILD_ID}/{CHANNEL_ID}/{message['id']}"


def test_the_guild_is_read_once(disc: Discord, fake_discord: FakeDiscord) -> None:
    disc.publish(make_outgoing("dec:a@disc", "One"))
    disc.publish(make_outgoing("dec:b@disc", "Two"))
    assert len(fake_discord.requests_to(PATH, "GET")) == 1


def test_images_are_attachments_with_their_alt_text(
    disc: Discord, fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    (tmp_path / "a.png").write_bytes(png())
    (tmp_path / "b.png").write_bytes(png(2, 2))
    files = (
        Attachment(tmp_path / "a.png", "A red rocket", tmp_path),
        Attachment(tmp_path / "b.png", None, tmp_path),
    )
    disc.publish(make_outgoing("dec:a@disc", "Pictures", media=files))
    [execute] = fake_discord.requests_to(PATH, "POST")
    form = parse_form(execute)
    assert json.loads(form["payload_json"][0].text) == {
        "content": "Pictures",
        "attachments": [
            {"id": 0, "filename": "a.png", "description": "A red rocket"},
            {"id": 1, "filename": "b.png"},
        ],
    }
    assert form["files[0]"][0].data == png() and form["files[1]"][0].content_type == "image/png"
    [message] = fake_discord.messages
    assert [a["description"] for a in message["attachments"]] == ["A red rocket", None]


def test_a_thread_part_is_a_follow_up_message(disc: Discord, fake_discord: FakeDiscord) -> None:
    first = disc.publish(make_outgoing("dec:a@disc", "One"))
    disc.publish(make_outgoing("dec:a@disc#1", "Two", part=1, reply_to=first, root=first))
    assert [m["content"] for m in fake_discord.messages] == ["One", "Two"]
    assert fake_discord.requests_to(PATH, "POST")[-1].json == {"content": "Two"}


def test_the_bodys_fractional_retry_after_wins_over_the_rounded_header(
    disc: Discord, fake_discord: FakeDiscord
) -> None:
    body, headers = rate_limited(0.5)
    assert headers["Retry-After"] == "1"
    fake_discord.fail_next(PATH, 429, body, headers=headers)
    with pytest.raises(Transient) as caught:
        disc.publish(make_outgoing("dec:a@disc", "Hi"))
    assert caught.value.retry_after == 0.5
    assert "You are being rate limited." in caught.value.message
    assert "global" not in caught.value.message
    assert_no_secret(caught.value.message)


def test_a_global_rate_limit_says_so(disc: Discord, fake_discord: FakeDiscord) -> None:
    body, headers = rate_limited(3.25, scope_global=True)
    fake_discord.fail_next(PATH, 429, body, headers=headers)
    with pytest.raises(Transient) as caught:
        disc.publish(make_outgoing("dec:a@disc", "Hi"))
    assert caught.value.retry_after == 3.25 and "global rate limit" in caught.value.message


def test_a_429_without_a_body_falls_back_to_the_header(
    disc: Discord, fake_discord: FakeDiscord
) -> None:
    fake_discord.fail_next(PATH, 429, "rate limited", headers={"Retry-After": "4"})
    with pytest.raises(Transient) as caught:
        disc.publish(make_outgoing("dec:a@disc", "Hi"))
    assert caught.value.retry_after == 4


@pytest.mark.parametrize("how", ["deleted", "token"])
def test_a_deleted_or_reset_webhook_fails_with_a_hint_and_no_secret(
    fake_discord: FakeDiscord, tmp_path: Path, how: str
) -> None:
    url = fake_discord.webhook_url
    if how == "deleted":
        fake_discord.delete_webhook()
    else:
        fake_discord.token = "reset-token_0123456789abcdefghijklmnopqrstuvwxyz"
    adapter = Discord("disc", {"webhook_url": url}, Http(), tmp_path)
    with pytest.raises(Permanent) as caught:
        adapter.publish(make_outgoing("dec:a@disc", "Hi"))
    words = "404 Unknown Webhook" if how == "deleted" else "401 Invalid Webhook Token"
    assert words in caught.value.message
    assert "Integrations → Webhooks" in caught.value.message
    assert_no_secret(caught.value.message)
    assert fake_discord.messages == []


def test_an_invalid_form_body_is_permanent_in_discords_words(
    disc: Discord, fake_discord: FakeDiscord
) -> None:
    with pytest.raises(Permanent) as caught:
        disc.publish(make_outgoing("dec:a@disc", "x" * 2001))
    assert "Invalid Form Body" in caught.value.message and "50035" in caught.value.message


def test_too_large_files_say_what_to_do(disc: Discord, fake_discord: FakeDiscord) -> None:
    fake_discord.fail_next(PATH, 413, {"message": "Request entity too large", "code": 40005})
    with pytest.raises(Permanent) as caught:
        disc.publish(make_outgoing("dec:a@disc", "Hi"))
    assert "Request entity too large" in caught.value.message
    assert "make them smaller" in caught.value.message


def test_a_timeout_after_sending_is_ambiguous_and_says_to_check_by_hand(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    adapter = Discord(
        "disc", {"webhook_url": fake_discord.webhook_url}, Http(timeout=0.3), tmp_path
    )
    fake_discord.hang_next(PATH, seconds=1.0, commit=True)
    with pytest.raises(Ambiguous) as caught:
        adapter.publish(make_outgoing("dec:a@disc", "Hi"))
    assert "cannot read the channel back" in caught.value.message
    assert "cmctl resolve" in caught.value.message
    assert_no_secret(caught.value.message)
    assert len(fake_discord.messages) == 1


@pytest.mark.parametrize(
    "url",
    [
        "https://discord.com/channels/1/2",
        "ftp://discord.com/api/webhooks/1/abcdefghijkl",
        "https://discord.com/api/webhooks/notanumber/abcdefghijkl",
    ],
)
def test_a_url_that_is_not_a_webhook_is_refused_without_showing_it(
    tmp_path: Path, url: str
) -> None:
    adapter = Discord("disc", {"webhook_url": url}, Http(), tmp_path)
    with pytest.raises(Permanent) as caught:
        adapter.publish(make_outgoing("dec:a@disc", "Hi"))
    assert "is not a Discord webhook URL" in caught.value.message
    assert url not in caught.value.message


def test_a_versioned_webhook_url_keeps_its_version(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    url = f"{fake_discord.url}/api/v9/webhooks/{WEBHOOK_ID}/{TOKEN}"
    Discord("disc", {"webhook_url": url}, Http(), tmp_path).publish(make_outgoing("k@d", "Hi"))
    assert fake_discord.requests_to(f"/api/v9/webhooks/{WEBHOOK_ID}/{TOKEN}", "POST")


def test_check_names_the_webhook_never_its_token(disc: Discord, fake_discord: FakeDiscord) -> None:
    said = disc.check()
    assert said == (
        f'webhook "Brand announcements" posting to channel {CHANNEL_ID} of server {GUILD_ID}'
    )
    assert fake_discord.messages == [] and not fake_discord.requests_to(PATH, "POST")


# --- through the CLI ------------------------------------------------------------------

REAL = f"https://discord.com/api/webhooks/{WEBHOOK_ID}/{TOKEN}"


def disc_project(project: Any, fake: FakeDiscord, monkeypatch: pytest.MonkeyPatch) -> None:
    """A webhook URL as users copy it, and `api_url` pointing its calls at the fake."""
    project.config(
        "accounts:\n  disc:\n    network: discord\n    webhook_url: ${DISCORD_WEBHOOK}\n"
        f"    api_url: {fake.url}/api\ndefaults:\n  timezone: UTC\n"
    )
    monkeypatch.setenv("DISCORD_WEBHOOK", REAL)


def test_publish_a_thread_with_an_image_and_log_its_links(
    project: Any, run: Any, now: Any, fake_discord: FakeDiscord, monkeypatch: pytest.MonkeyPatch
) -> None:
    disc_project(project, fake_discord, monkeypatch)
    project.write("media/a.png", png())
    project.calendar(
        calendar(
            post(
                "a",
                at="2026-12-01 09:30",
                text="Look",
                media=[{"path": "../media/a.png", "alt": "A square"}],
                thread=["Second"],
            ),
            accounts="[disc]",
            tz="UTC",
        )
    )
    now.move_to("2026-12-01T09:30:30Z")
    result = run("publish", "--json")
    assert result.exit_code == 0, result.output
    assert [o["state"] for o in as_json(result)["outcomes"]] == ["published"] * 2
    assert fake_discord.requests_to(f"/api/webhooks/{WEBHOOK_ID}/{TOKEN}", "POST")
    image, follow_up = fake_discord.messages
    assert image["attachments"][0]["description"] == "A square"
    assert follow_up["content"] == "Second"
    log = run("log").output
    everything = log + result.output + run("log", "--events").output
    for message in (image, follow_up):
        # the link is recorded whole: the secret URL's host is not mistaken for a secret
        assert f"https://discord.com/channels/{GUILD_ID}/{CHANNEL_ID}/{message['id']}" in log
    assert TOKEN not in everything and REAL not in everything
    ledger = (project.root / ".cmctl" / "ledger.sqlite3").read_bytes()
    assert TOKEN.encode() not in ledger


def test_accounts_check_names_the_webhook_and_hides_its_url(
    project: Any, run: Any, fake_discord: FakeDiscord, monkeypatch: pytest.MonkeyPatch
) -> None:
    disc_project(project, fake_discord, monkeypatch)
    result = run("accounts", "check")
    assert result.exit_code == 0, result.output
    assert "Brand announcements" in result.output
    assert TOKEN not in result.output and TOKEN[:16] not in result.output
