"""The Telegram adapter against the fake Bot API (tests/fakes/telegram.py), and through
the real CLI: methods and fields as https://core.telegram.org/bots/api documents them,
plain text, replies, albums, public links, and a token that never shows."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cmctl.networks.base import Ambiguous, Attachment, Idempotency, Permanent, Sent, Transient
from cmctl.networks.http import Http
from cmctl.networks.telegram import Telegram
from tests.conftest import as_json, calendar, post
from tests.fakes.base import parse_form
from tests.fakes.telegram import TOKEN, FakeTelegram, too_many
from tests.networks.helpers import make_outgoing
from tests.test_validate import png

GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,"
GIF += b"\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00" * 64


@pytest.fixture
def tg(fake_telegram: FakeTelegram, tmp_path: Path) -> Iterator[Telegram]:
    adapter = Telegram(
        "tg",
        {"token": TOKEN, "chat": "@brand_news", "api_url": fake_telegram.url},
        Http(),
        tmp_path,
    )
    yield adapter
    adapter.http.close()


def media(tmp_path: Path, name: str, data: bytes, alt: str | None = "An image") -> Attachment:
    path = tmp_path / name
    path.write_bytes(data)
    return Attachment(path, alt, tmp_path)


def assert_no_token(text: str) -> None:
    assert TOKEN not in text and TOKEN.split(":")[1] not in text


def test_declares_publishing_without_idempotency_and_with_replies() -> None:
    assert Telegram.publishes is True and Telegram.threads is True
    assert Telegram.idempotency is Idempotency.NONE and Telegram.finds is False
    token, chat = Telegram.account_fields
    assert token.name == "token" and token.secret and token.required
    assert chat.name == "chat" and chat.required and not chat.secret


def test_text_is_sent_as_written_without_parse_mode(
    tg: Telegram, fake_telegram: FakeTelegram
) -> None:
    text = "Launch *today* _maybe_ [see](https://example.com) #cm"
    sent = tg.publish(make_outgoing("dec:a@tg", text))
    [request] = fake_telegram.requests_to("/sendMessage")
    assert request.path == f"/bot{TOKEN}/sendMessage"
    assert request.json == {"chat_id": "@brand_news", "text": text}  # no parse_mode
    [message] = fake_telegram.messages
    assert message["text"] == text
    assert sent == Sent(
        str(message["message_id"]),
        f"https://t.me/brand_news/{message['message_id']}",
        {"message_id": message["message_id"], "message_ids": [message["message_id"]]},
    )


def test_a_thread_part_replies_to_the_previous_one(
    tg: Telegram, fake_telegram: FakeTelegram
) -> None:
    first = tg.publish(make_outgoing("dec:a@tg", "One"))
    second = tg.publish(make_outgoing("dec:a@tg#1", "Two", part=1, reply_to=first, root=first))
    request = fake_telegram.requests_to("/sendMessage")[-1]
    assert request.json["reply_parameters"] == {"message_id": int(first.remote_id)}
    assert fake_telegram.messages[-1]["reply_to_message"]["message_id"] == int(first.remote_id)
    assert second.remote_id != first.remote_id


@pytest.mark.parametrize(
    ("name", "data", "method", "field"),
    [
        ("a.png", png(), "sendPhoto", "photo"),
        ("a.gif", GIF, "sendAnimation", "animation"),
        ("a.mp4", MP4, "sendVideo", "video"),
    ],
)
def test_one_file_goes_with_its_caption(
    tg: Telegram,
    fake_telegram: FakeTelegram,
    tmp_path: Path,
    name: str,
    data: bytes,
    method: str,
    field: str,
) -> None:
    out = make_outgoing("dec:a@tg", "Caption *as is*", media=(media(tmp_path, name, data),))
    sent = tg.publish(out)
    [request] = fake_telegram.requests_to(f"/{method}")
    form = parse_form(request)
    assert form["caption"][0].text == "Caption *as is*"
    assert form[field][0].data == data and form[field][0].filename == name
    assert "parse_mode" not in form
    assert fake_telegram.messages[0][field]["file_size"] == len(data)
    assert sent.url == f"https://t.me/brand_news/{sent.remote_id}"


def test_an_album_goes_as_a_media_group_with_the_caption_on_the_first_item(
    tg: Telegram, fake_telegram: FakeTelegram, tmp_path: Path
) -> None:
    files = (media(tmp_path, "a.png", png()), media(tmp_path, "b.mp4", MP4))
    sent = tg.publish(make_outgoing("dec:a@tg", "Album", media=files))
    [request] = fake_telegram.requests_to("/sendMediaGroup")
    form = parse_form(request)
    assert json.loads(form["media"][0].text) == [
        {"type": "photo", "media": "attach://file0", "caption": "Album"},
        {"type": "video", "media": "attach://file1"},
    ]
    assert form["file0"][0].data == png() and form["file1"][0].data == MP4
    first, second = fake_telegram.messages
    assert first["caption"] == "Album" and "caption" not in second
    assert sent.remote_id == str(first["message_id"])
    assert sent.ref["message_ids"] == [first["message_id"], second["message_id"]]


def test_a_private_channel_gets_its_t_me_c_link(
    fake_telegram: FakeTelegram, tmp_path: Path
) -> None:
    fake_telegram.chat["username"] = None
    options = {"token": TOKEN, "chat": "-1001234567890", "api_url": fake_telegram.url}
    adapter = Telegram("tg", options, Http(), tmp_path)
    sent = adapter.publish(make_outgoing("dec:a@tg", "Private"))
    assert sent.url == f"https://t.me/c/1234567890/{sent.remote_id}"


def test_flood_control_waits_for_parameters_retry_after(
    tg: Telegram, fake_telegram: FakeTelegram
) -> None:
    fake_telegram.fail_next("/sendMessage", 429, too_many(35))
    with pytest.raises(Transient) as caught:
        tg.publish(make_outgoing("dec:a@tg", "Hi"))
    assert caught.value.retry_after == 35
    assert "Too Many Requests: retry after 35" in caught.value.message
    assert_no_token(caught.value.message)
    assert fake_telegram.messages == []


def test_a_revoked_token_fails_with_a_hint_and_never_shows(
    tg: Telegram, fake_telegram: FakeTelegram
) -> None:
    fake_telegram.revoke()
    with pytest.raises(Permanent) as caught:
        tg.publish(make_outgoing("dec:a@tg", "Hi"))
    assert "401 Unauthorized" in caught.value.message
    assert "@BotFather" in caught.value.message
    assert_no_token(caught.value.message)


def test_chat_not_found_says_to_check_the_chat(tg: Telegram, fake_telegram: FakeTelegram) -> None:
    fake_telegram.chat["username"] = "other_channel"
    with pytest.raises(Permanent) as caught:
        tg.publish(make_outgoing("dec:a@tg", "Hi"))
    assert "Bad Request: chat not found" in caught.value.message
    assert "`chat`" in caught.value.message


def test_a_migrated_group_names_its_new_id(tg: Telegram, fake_telegram: FakeTelegram) -> None:
    body = {
        "ok": False,
        "error_code": 400,
        "description": "Bad Request: group chat was upgraded to a supergroup chat",
        "parameters": {"migrate_to_chat_id": -1009876543210},
    }
    fake_telegram.fail_next("/sendMessage", 400, body)
    with pytest.raises(Permanent) as caught:
        tg.publish(make_outgoing("dec:a@tg", "Hi"))
    assert "set the account's `chat` to -1009876543210" in caught.value.message


def test_a_timeout_after_sending_is_ambiguous_and_says_to_check_by_hand(
    fake_telegram: FakeTelegram, tmp_path: Path
) -> None:
    options = {"token": TOKEN, "chat": "@brand_news", "api_url": fake_telegram.url}
    adapter = Telegram("tg", options, Http(timeout=0.3), tmp_path)
    fake_telegram.hang_next("/sendMessage", seconds=1.0, commit=True)
    with pytest.raises(Ambiguous) as caught:
        adapter.publish(make_outgoing("dec:a@tg", "Hi"))
    assert "cannot read a channel's history" in caught.value.message
    assert "cmctl resolve" in caught.value.message
    assert_no_token(caught.value.message)
    assert len(fake_telegram.messages) == 1  # it did go out: only a human can tell


@pytest.mark.parametrize(
    "error", [httpx.ReadError, httpx.UnsupportedProtocol, httpx.ConnectError, httpx.InvalidURL]
)
def test_a_transport_error_quoting_the_url_never_shows_the_token(
    tmp_path: Path, error: type[Exception]
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error(f"failed to reach {request.url} ({request.url.path})")

    http = Http(transport=httpx.MockTransport(handler))
    adapter = Telegram("tg", {"token": TOKEN, "chat": "@brand_news"}, http, tmp_path)
    with pytest.raises((Ambiguous, Permanent, Transient)) as caught:
        adapter.publish(make_outgoing("dec:a@tg", "Hi"))
    assert_no_token(caught.value.message)
    assert_no_token(str(caught.value))
    assert "api.telegram.org" in caught.value.message  # where, without the token


def test_a_malformed_token_is_refused_before_any_call_and_not_shown(tmp_path: Path) -> None:
    calls: list[httpx.Request] = []
    http = Http(transport=httpx.MockTransport(lambda r: calls.append(r) or httpx.Response(200)))
    bad = "12345:short/../../x-with-slash-0123456789"
    adapter = Telegram("tg", {"token": bad, "chat": "@brand_news"}, http, tmp_path)
    with pytest.raises(Permanent) as caught:
        adapter.publish(make_outgoing("dec:a@tg", "Hi"))
    assert "does not look like a bot token" in caught.value.message
    assert bad not in caught.value.message and calls == []


def test_check_names_the_bot_and_the_chat(tg: Telegram, fake_telegram: FakeTelegram) -> None:
    assert tg.check() == 'bot @brand_bot posting to channel "Brand News" (@brand_news)'
    assert fake_telegram.messages == []
    assert [r.path.rsplit("/", 1)[1] for r in fake_telegram.requests] == ["getMe", "getChat"]


def test_reference_reads_a_t_me_link_of_this_chat(tg: Telegram) -> None:
    found = tg.reference("https://t.me/brand_news/42")
    assert found is not None and found.remote_id == "42" and found.ref["message_id"] == 42
    with pytest.raises(Permanent, match="not a message of the account's chat"):
        tg.reference("https://t.me/someone_else/42")
    with pytest.raises(Permanent, match="not a link to a Telegram message"):
        tg.reference("https://example.com/42")


# --- through the CLI ------------------------------------------------------------------


def tg_project(project: Any, fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch) -> None:
    project.config(
        "accounts:\n  tg:\n    network: telegram\n    token: ${TG_TOKEN}\n"
        f"    chat: '@brand_news'\n    api_url: {fake.url}\ndefaults:\n  timezone: UTC\n"
    )
    monkeypatch.setenv("TG_TOKEN", TOKEN)


def test_publish_a_thread_with_an_image_and_log_its_links(
    project: Any, run: Any, now: Any, fake_telegram: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    tg_project(project, fake_telegram, monkeypatch)
    project.write("media/a.png", png())
    project.calendar(
        calendar(
            post(
                "a",
                at="2026-12-01 09:30",
                text="Look [here] *now*",
                media=[{"path": "../media/a.png", "alt": "A square"}],
                thread=["Second", "Third"],
            ),
            accounts="[tg]",
            tz="UTC",
        )
    )
    now.move_to("2026-12-01T09:30:30Z")
    result = run("publish", "--json")
    assert result.exit_code == 0, result.output
    assert [o["state"] for o in as_json(result)["outcomes"]] == ["published"] * 3
    photo, second, third = fake_telegram.messages
    assert photo["caption"] == "Look [here] *now*" and "photo" in photo
    assert second["reply_to_message"]["message_id"] == photo["message_id"]
    assert third["reply_to_message"]["message_id"] == second["message_id"]
    log = run("log").output
    for message in (photo, second, third):
        assert f"https://t.me/brand_news/{message['message_id']}" in log


def test_accounts_check_names_the_bot_and_hides_the_token(
    project: Any, run: Any, fake_telegram: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    tg_project(project, fake_telegram, monkeypatch)
    result = run("accounts", "check")
    assert result.exit_code == 0, result.output
    assert "@brand_bot" in result.output and "Brand News" in result.output
    assert_no_token(result.output)
