"""The webhook adapter against a scripted receiver (httpx.MockTransport, no sockets).

Signatures are recomputed here independently, as a Standard Webhooks receiver would
(https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md),
and checked against the specification's published test vector.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from cmctl import clock
from cmctl.networks.base import (
    Ambiguous,
    Attachment,
    Outgoing,
    Permanent,
    SendError,
    Sent,
    Transient,
)
from cmctl.networks.http import Http
from cmctl.networks.webhook import Webhook, secret_key, sign, webhook_id
from tests.networks.helpers import Recorder, make_outgoing

URL = "https://hooks.example.com/cmctl"
RAW_KEY = b"0123456789abcdef0123456789abcdef"
SECRET = "whsec_" + base64.b64encode(RAW_KEY).decode()
KEY = "dec:launch@hook"
NOW = datetime(2026, 12, 1, 8, 30, 5, 250000, tzinfo=UTC)
SCHEDULED = datetime(2026, 12, 1, 8, 30, tzinfo=UTC)

Handler = Callable[[httpx.Request], httpx.Response]


def outgoing(**changes: Any) -> Outgoing:
    key = changes.pop("key", KEY)
    text = changes.pop("text", "We launch today 🚀")
    return make_outgoing(key, text, scheduled_at=SCHEDULED, **changes)


Receiver = Recorder


def adapter(handler: Handler, tmp_path: Path, **options: Any) -> tuple[Webhook, Receiver]:
    receiver = Receiver(handler)
    http = Http(transport=httpx.MockTransport(receiver))
    opts = {"url": URL, **options}
    return Webhook("hook", opts, http, tmp_path / "state"), receiver


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "now", lambda: NOW)


def verify(request: httpx.Request, secret: str) -> bool:
    """What a Standard Webhooks receiver does, written from the spec, not from cmctl."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    msg_id = request.headers["webhook-id"]
    timestamp = request.headers["webhook-timestamp"]
    signed = f"{msg_id}.{timestamp}.".encode() + request.content
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    signatures = request.headers["webhook-signature"].split(" ")
    return any(
        s.partition(",")[0] == "v1" and hmac.compare_digest(s.partition(",")[2], expected)
        for s in signatures
    )


def assert_no_secret(error: SendError) -> None:
    for secret in (SECRET, SECRET.removeprefix("whsec_")):
        assert secret not in error.message
        assert secret not in str(error)


# --- declaration and signature ------------------------------------------------------


def test_declares_publishing_with_a_forever_idempotency() -> None:
    assert Webhook.publishes is True
    assert Webhook.idempotency_window is None


def test_signature_matches_the_standard_webhooks_test_vector() -> None:
    # The vector every Standard Webhooks library tests against (svix/standard-webhooks).
    key = secret_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    signature = sign(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", b'{"test": 2432232314}')
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert secret_key("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw") == key  # prefix optional


def test_webhook_id_is_msg_and_the_idempotency_key() -> None:
    assert webhook_id("0123abcd") == "msg_0123abcd"
    unsafe = webhook_id("a.b c")  # "." would break the signed content's delimiters
    assert unsafe.startswith("msg_") and "." not in unsafe and " " not in unsafe


# --- publish ------------------------------------------------------------------------


def test_post_is_signed_json_with_the_documented_shape(tmp_path: Path) -> None:
    image = tmp_path / "cover.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    out = outgoing(media=(Attachment(image, "A red rocket"),))
    hook, receiver = adapter(
        lambda r: httpx.Response(200, json={"ok": True}), tmp_path, secret=SECRET
    )

    sent = hook.publish(out)

    (request,) = receiver.requests
    assert request.method == "POST" and str(request.url) == URL
    msg_id = "msg_" + out.idempotency_key
    assert request.headers["webhook-id"] == msg_id
    assert request.headers["webhook-timestamp"] == str(int(NOW.timestamp()))
    assert request.headers["content-type"] == "application/json"
    assert verify(request, SECRET)
    assert json.loads(request.content) == {
        "type": "post.published",
        "timestamp": "2026-12-01T08:30:05.250000Z",
        "data": {
            "key": KEY,
            "calendar": "dec",
            "post": "launch",
            "part": 0,
            "text": "We launch today 🚀",
            "media": [
                {"path": str(image), "alt": "A red rocket", "mime_type": "image/png", "size": 48}
            ],
            "lang": ["en"],
            "scheduled_at": "2026-12-01T08:30:00Z",
            "in_reply_to": None,
        },
    }
    assert "🚀".encode() in request.content  # UTF-8, exactly the signed bytes
    assert sent == Sent(remote_id=msg_id, url=None, ref={"id": msg_id})


def test_a_tampered_body_fails_verification(tmp_path: Path) -> None:
    hook, receiver = adapter(lambda r: httpx.Response(204), tmp_path, secret=SECRET)
    hook.publish(outgoing())
    request = receiver.requests[0]
    forged = httpx.Request(
        "POST", URL, headers=request.headers, content=request.content.replace(b"launch", b"lunch")
    )
    forged.read()
    assert not verify(forged, SECRET)


def test_without_a_secret_nothing_is_signed(tmp_path: Path) -> None:
    hook, receiver = adapter(lambda r: httpx.Response(204), tmp_path)
    hook.publish(outgoing())
    assert "webhook-signature" not in receiver.requests[0].headers
    assert receiver.requests[0].headers["webhook-id"].startswith("msg_")


def test_thread_part_names_the_previous_part(tmp_path: Path) -> None:
    hook, receiver = adapter(lambda r: httpx.Response(204), tmp_path)
    first = hook.publish(outgoing())
    second = hook.publish(outgoing(key=KEY + "#1", part=1, text="more", reply_to=first, root=first))
    body = json.loads(receiver.requests[1].content)
    assert body["data"]["in_reply_to"] == first.remote_id
    assert body["data"]["part"] == 1
    assert second.remote_id != first.remote_id


def test_every_attempt_carries_the_same_webhook_id(tmp_path: Path) -> None:
    hook, receiver = adapter(lambda r: httpx.Response(204), tmp_path, secret=SECRET)
    hook.publish(outgoing())
    hook.publish(outgoing())
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1
    assert all(verify(r, SECRET) for r in receiver.requests)


def test_the_receivers_url_is_recorded(tmp_path: Path) -> None:
    hook, _ = adapter(
        lambda r: httpx.Response(201, json={"url": "https://example.com/p/1"}), tmp_path
    )
    assert hook.publish(outgoing()).url == "https://example.com/p/1"
    hook, _ = adapter(lambda r: httpx.Response(200, text="thanks"), tmp_path)
    assert hook.publish(outgoing()).url is None


# --- errors -------------------------------------------------------------------------


@pytest.mark.parametrize("status", [503, 429])
def test_refusals_to_process_are_transient(tmp_path: Path, status: int) -> None:
    hook, _ = adapter(lambda r: httpx.Response(status), tmp_path, secret=SECRET)
    with pytest.raises(Transient) as caught:
        hook.publish(outgoing())
    assert not isinstance(caught.value, Ambiguous)


@pytest.mark.parametrize("status", [500, 502, 504])
def test_server_errors_are_ambiguous_and_resendable(tmp_path: Path, status: int) -> None:
    """The receiver may have it; it dedupes on webhook-id, so the publisher resends."""
    from cmctl.networks.webhook import Webhook

    hook, _ = adapter(lambda r: httpx.Response(status), tmp_path, secret=SECRET)
    with pytest.raises(Ambiguous):
        hook.publish(outgoing())
    assert Webhook.idempotency_window is None


def test_a_timeout_is_ambiguous(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    hook, _ = adapter(handler, tmp_path)
    with pytest.raises(Ambiguous):
        hook.publish(outgoing())


@pytest.mark.parametrize("status", [400, 401, 404, 410, 301])
def test_refusals_are_permanent_and_never_show_the_secret(tmp_path: Path, status: int) -> None:
    hook, _ = adapter(
        lambda r: httpx.Response(status, json={"error": f"bad secret {SECRET}"}),
        tmp_path,
        secret=SECRET,
    )
    with pytest.raises(Permanent) as caught:
        hook.publish(outgoing())
    assert str(status) in caught.value.message
    assert_no_secret(caught.value)


def test_a_malformed_secret_is_permanent_and_not_shown(tmp_path: Path) -> None:
    bad = "whsec_not base64 at all!!"
    hook, receiver = adapter(lambda r: httpx.Response(204), tmp_path, secret=bad)
    with pytest.raises(Permanent) as caught:
        hook.publish(outgoing())
    assert "base64" in caught.value.message
    assert bad not in str(caught.value) and "not base64 at all" not in caught.value.message
    assert receiver.requests == []


def test_a_url_that_is_not_http_is_permanent(tmp_path: Path) -> None:
    hook, _ = adapter(lambda r: httpx.Response(204), tmp_path, url="ftp://example.com/x")
    with pytest.raises(Permanent, match="http"):
        hook.publish(outgoing())


# --- check --------------------------------------------------------------------------


def test_check_sends_nothing(tmp_path: Path) -> None:
    hook, receiver = adapter(lambda r: httpx.Response(204), tmp_path, secret=SECRET)
    said = hook.check()
    assert receiver.requests == []  # a receiver may publish whatever it gets
    assert "nothing sent" in said and "--send-test hook" in said
    assert "signing secret well-formed" in said


def test_send_test_sends_a_signed_ping(tmp_path: Path) -> None:
    hook, receiver = adapter(lambda r: httpx.Response(204), tmp_path, secret=SECRET)
    said = hook.send_test()
    assert said.startswith("sent a signed cmctl.ping test event (msg_ping_")
    assert said.endswith("it answered 204")
    (request,) = receiver.requests
    body = json.loads(request.content)
    assert body["type"] == "cmctl.ping"
    assert body["data"] == {"account": "hook"}
    assert request.headers["webhook-id"].startswith("msg_")
    assert verify(request, SECRET)
