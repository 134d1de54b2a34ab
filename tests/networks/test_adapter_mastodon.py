"""The Mastodon adapter against a scripted instance (httpx.MockTransport, no sockets).

Requests are checked as the API documents them (https://docs.joinmastodon.org/methods/
statuses/ and /methods/media/): paths, the Bearer token, the Idempotency-Key, the JSON
body, the multipart upload with its description; and every failure maps to the typed
error the publisher expects, with no secret in any message.
"""

from __future__ import annotations

import dataclasses
import email
import email.policy
import json
import subprocess
import sys
import zlib
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from cmctl import clock
from cmctl.ledger.store import idempotency_key
from cmctl.networks.base import (
    Ambiguous,
    Attachment,
    NotReady,
    Outgoing,
    Permanent,
    SendError,
    Sent,
    Transient,
)
from cmctl.networks.http import Http
from cmctl.networks.mastodon import MEDIA_POLL_DELAYS, Mastodon
from tests.networks.helpers import Recorder, make_outgoing

TOKEN = "tok-SECRET-0123456789abcdef"
INSTANCE = "https://mastodon.example"
KEY = "dec:launch@masto"

Handler = Callable[[httpx.Request], httpx.Response]


# --- helpers ------------------------------------------------------------------------


def png(width: int = 3, height: int = 2) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + b"\x08\x02\x00\x00\x00"
    raw = b"".join(b"\x00" + b"\x00\x00\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def media(tmp_path: Path, name: str = "a.png", alt: str | None = "A red rocket") -> Attachment:
    path = tmp_path / name
    path.write_bytes(png())
    return Attachment(path, alt)


def outgoing(**changes: Any) -> Outgoing:
    key = changes.pop("key", KEY)
    text = changes.pop("text", "We launch today! https://example.com/launch")
    return make_outgoing(key, text, **changes)


class Server(Recorder):
    """Records requests and answers them with a handler the test provides."""

    def paths(self) -> list[str]:
        return [f"{r.method} {r.url.path}" for r in self.requests]


def adapter(handler: Handler, tmp_path: Path, **options: Any) -> tuple[Mastodon, Server]:
    server = Server(handler)
    http = Http(transport=httpx.MockTransport(server))
    opts = {"instance": INSTANCE, "token": TOKEN, **options}
    return Mastodon("masto", opts, http, tmp_path / "state"), server


def status_json(status_id: str = "109876") -> dict[str, Any]:
    return {
        "id": status_id,
        "uri": f"{INSTANCE}/users/brand/statuses/{status_id}",
        "url": f"{INSTANCE}/@brand/{status_id}",
    }


def parts(request: httpx.Request) -> dict[str, Any]:
    """The multipart/form-data fields of a request, by name (parsed by the stdlib)."""
    raw = b"Content-Type: " + request.headers["content-type"].encode() + b"\r\n\r\n"
    message = email.message_from_bytes(raw + request.content, policy=email.policy.HTTP)
    found: dict[str, Any] = {}
    for part in message.iter_parts():
        found[str(part.get_param("name", header="content-disposition"))] = part
    return found


def assert_no_secret(error: SendError, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in error.message
        assert secret not in str(error)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    waited: list[float] = []
    monkeypatch.setattr(clock, "sleep", waited.append)
    yield waited


# --- declaration --------------------------------------------------------------------


def test_declares_publishing_with_mastodons_one_hour_idempotency() -> None:
    assert Mastodon.publishes is True
    # PostStatusService: redis.setex(idempotency_key, 3_600, @status.id)
    assert Mastodon.idempotency_window == timedelta(hours=1)


def test_adapter_modules_do_not_import_httpx() -> None:
    code = (
        "import sys\n"
        "import cmctl.networks.mastodon, cmctl.networks.bluesky, cmctl.networks.webhook\n"
        "import cmctl.networks.feed, cmctl.media\n"
        "assert 'httpx' not in sys.modules, 'httpx imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])


# --- publish ------------------------------------------------------------------------


def test_text_post_sends_token_idempotency_key_and_json_body(tmp_path: Path) -> None:
    masto, server = adapter(lambda r: httpx.Response(200, json=status_json()), tmp_path)
    out = outgoing()

    sent = masto.publish(out)

    assert sent == Sent(
        remote_id="109876",
        url=f"{INSTANCE}/@brand/109876",
        ref={"id": "109876", "uri": f"{INSTANCE}/users/brand/statuses/109876"},
    )
    (request,) = server.requests
    assert request.method == "POST"
    assert str(request.url) == f"{INSTANCE}/api/v1/statuses"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["idempotency-key"] == out.idempotency_key
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == {
        "status": out.text,
        "visibility": "public",
        "language": "en",
    }


def test_the_idempotency_key_is_the_same_on_every_attempt(tmp_path: Path) -> None:
    masto, server = adapter(lambda r: httpx.Response(200, json=status_json()), tmp_path)
    masto.publish(outgoing())
    masto.publish(outgoing())
    keys = {r.headers["idempotency-key"] for r in server.requests}
    assert keys == {idempotency_key(KEY)}


def test_reply_names_the_previous_part(tmp_path: Path) -> None:
    masto, server = adapter(lambda r: httpx.Response(200, json=status_json("2")), tmp_path)
    first = Sent(remote_id="1", url=f"{INSTANCE}/@brand/1")
    masto.publish(
        outgoing(
            key=KEY + "#1", part=1, text="More", reply_to=first, root=first, lang=("fr-FR", "en")
        )
    )
    body = json.loads(server.requests[0].content)
    assert body["in_reply_to_id"] == "1"
    assert body["language"] == "fr-FR"  # Mastodon keeps the ISO 639 part itself


def attempts(masto: Mastodon, out: Outgoing, tries: int = 10) -> tuple[Sent, list[float]]:
    """Publish as the publisher does: on NotReady, come back with the saved checkpoint."""
    saved: dict[str, Any] = {}
    waits: list[float] = []
    for _ in range(tries):
        attempt = dataclasses.replace(
            out, checkpoint=dict(saved) or None, save_checkpoint=saved.update
        )
        try:
            return masto.publish(attempt), waits
        except NotReady as exc:
            waits.append(exc.retry_in)
    raise AssertionError("still not ready")


def test_media_uploaded_with_description_then_attached(tmp_path: Path, sleeps: list[float]) -> None:
    polls = iter([206, 206, 200])

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/api/v2/media":
            n = sum(1 for r in server.requests if r.url.path == "/api/v2/media")
            if n == 1:  # small image: processed at once
                return httpx.Response(200, json={"id": "m1", "url": f"{INSTANCE}/m1.png"})
            return httpx.Response(202, json={"id": "m2", "url": None})
        if path == "/api/v1/media/m2":
            code = next(polls)
            return httpx.Response(code, json={"id": "m2", "url": None if code == 206 else "u"})
        if path == "/api/v1/statuses":
            return httpx.Response(200, json=status_json())
        return httpx.Response(404, json={"error": "Record not found"})

    masto, server = adapter(handler, tmp_path)
    first = media(tmp_path, "a.png", "A red rocket")
    second = media(tmp_path, "b.png", None)
    _, waits = attempts(masto, outgoing(media=(first, second)))

    # each upload once (kept in the checkpoint), then a look per attempt until processed
    assert server.paths() == [
        "POST /api/v2/media",
        "POST /api/v2/media",
        "GET /api/v1/media/m2",
        "GET /api/v1/media/m2",
        "GET /api/v1/media/m2",
        "POST /api/v1/statuses",
    ]
    upload = parts(server.requests[0])
    assert upload["description"].get_content() == "A red rocket"
    file_part = upload["file"]
    assert file_part.get_param("filename", header="content-disposition") == "a.png"
    assert file_part.get_content_type() == "image/png"
    assert file_part.get_payload(decode=True) == first.path.read_bytes()
    assert "description" not in parts(server.requests[1])  # no alt text: no description
    for request in server.requests:
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
        if request.url.path != "/api/v1/statuses":
            assert "idempotency-key" not in request.headers
    assert json.loads(server.requests[-1].content)["media_ids"] == ["m1", "m2"]
    assert waits == list(MEDIA_POLL_DELAYS[:2])  # "come back in N s", growing
    assert sleeps == []  # the adapter never sleeps: the publisher decides when


def test_media_still_processing_is_not_ready_never_posted(
    tmp_path: Path, sleeps: list[float]
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v2/media":
            return httpx.Response(202, json={"id": "m1", "url": None})
        if request.url.path == "/api/v1/media/m1":
            return httpx.Response(206, json={"id": "m1", "url": None})
        raise AssertionError("no status may be posted")

    masto, server = adapter(handler, tmp_path)
    with pytest.raises(AssertionError, match="still not ready"):
        attempts(masto, outgoing(media=(media(tmp_path),)), tries=12)
    assert server.paths().count("POST /api/v2/media") == 1  # uploaded once, for good
    assert "POST /api/v1/statuses" not in server.paths()


# --- errors -------------------------------------------------------------------------


def test_422_is_permanent_with_mastodons_message(tmp_path: Path) -> None:
    masto, _ = adapter(
        lambda r: httpx.Response(
            422, json={"error": "Validation failed: Text character limit of 500 exceeded"}
        ),
        tmp_path,
    )
    with pytest.raises(Permanent) as caught:
        masto.publish(outgoing())
    assert "Validation failed: Text character limit of 500 exceeded" in caught.value.message
    assert "422" in caught.value.message


def test_422_media_not_processed_is_transient(tmp_path: Path) -> None:
    masto, _ = adapter(
        lambda r: httpx.Response(
            422,
            json={
                "error": "Cannot attach files that have not finished processing. Try again in a "
                "moment!"
            },
        ),
        tmp_path,
    )
    with pytest.raises(Transient):
        masto.publish(outgoing())


def test_401_is_permanent_with_a_hint_and_never_shows_the_token(tmp_path: Path) -> None:
    masto, _ = adapter(
        lambda r: httpx.Response(401, json={"error": f"The access token {TOKEN} is invalid"}),
        tmp_path,
    )
    with pytest.raises(Permanent) as caught:
        masto.publish(outgoing())
    assert "check the account's `token`" in caught.value.message
    assert_no_secret(caught.value, TOKEN)


@pytest.mark.parametrize("status", [503, 429])
def test_refusals_to_process_are_transient(tmp_path: Path, status: int) -> None:
    masto, _ = adapter(lambda r: httpx.Response(status, text=f"oops {TOKEN}"), tmp_path)
    with pytest.raises(Transient) as caught:
        masto.publish(outgoing())
    assert_no_secret(caught.value, TOKEN)


@pytest.mark.parametrize("status", [500, 502, 504])
def test_server_errors_on_the_status_are_ambiguous(tmp_path: Path, status: int) -> None:
    """It may be stored: Ambiguous. The publisher resends it with the same
    Idempotency-Key only while Mastodon still remembers keys (one hour)."""
    masto, _ = adapter(lambda r: httpx.Response(status, text=f"oops {TOKEN}"), tmp_path)
    with pytest.raises(Ambiguous) as caught:
        masto.publish(outgoing())
    assert_no_secret(caught.value, TOKEN)
    assert Mastodon.idempotency_window == timedelta(hours=1)


def test_a_timeout_after_sending_is_ambiguous(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    masto, _ = adapter(handler, tmp_path)
    with pytest.raises(Ambiguous):
        masto.publish(outgoing())


def test_missing_instance_or_token_is_permanent(tmp_path: Path) -> None:
    masto, _ = adapter(lambda r: httpx.Response(200, json=status_json()), tmp_path, token="")
    with pytest.raises(Permanent, match="token"):
        masto.publish(outgoing())
    masto, _ = adapter(lambda r: httpx.Response(200, json=status_json()), tmp_path, instance="")
    with pytest.raises(Permanent, match="instance"):
        masto.publish(outgoing())


def test_an_instance_without_scheme_gets_https(tmp_path: Path) -> None:
    masto, server = adapter(
        lambda r: httpx.Response(200, json=status_json()), tmp_path, instance="mastodon.example/"
    )
    masto.publish(outgoing())
    assert str(server.requests[0].url) == f"{INSTANCE}/api/v1/statuses"


# --- check --------------------------------------------------------------------------


def instance_handler(max_characters: int) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/accounts/verify_credentials":
            return httpx.Response(200, json={"id": "1", "username": "brand", "acct": "brand"})
        if request.url.path == "/api/v2/instance":
            return httpx.Response(
                200,
                json={
                    "domain": "mastodon.example",
                    "configuration": {"statuses": {"max_characters": max_characters}},
                },
            )
        return httpx.Response(404)

    return handler


def test_check_names_the_account_and_reads_the_instance_limit(tmp_path: Path) -> None:
    masto, server = adapter(instance_handler(500), tmp_path)
    assert masto.check() == "@brand on mastodon.example"
    assert masto.instance_max_characters() == 500
    assert server.requests[0].headers["authorization"] == f"Bearer {TOKEN}"


def test_check_warns_when_the_instance_allows_fewer_characters(tmp_path: Path) -> None:
    masto, _ = adapter(instance_handler(500), tmp_path, max_characters=1000)
    message = masto.check()
    assert message.startswith("@brand on mastodon.example")
    assert "max_characters is 1000" in message and "allows 500" in message
    masto, _ = adapter(instance_handler(5000), tmp_path, max_characters=1000)
    assert "warning" not in masto.check()


def test_check_with_a_bad_token_is_permanent(tmp_path: Path) -> None:
    masto, _ = adapter(
        lambda r: httpx.Response(401, json={"error": "The access token is invalid"}), tmp_path
    )
    with pytest.raises(Permanent) as caught:
        masto.check()
    assert "token" in caught.value.message
    assert_no_secret(caught.value, TOKEN)
