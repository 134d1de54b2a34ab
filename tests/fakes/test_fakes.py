"""The fakes themselves behave like the documented APIs (plain httpx calls, no cmctl code)."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes import atproto
from tests.fakes.bluesky import FakeBluesky
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.webhook import WEBHOOK_SECRET, FakeWebhookReceiver, sign

SYNTAX = atproto.CONFORMANCE / "atproto" / "syntax"
POST = "app.bsky.feed.post"
CREATED = "2026-11-20T12:00:00.000Z"


def lines(name: str) -> list[str]:
    text = (SYNTAX / name).read_text(encoding="utf-8")
    return [line for line in text.split("\n") if line and not line.startswith("#")]


# -- base server ---------------------------------------------------------------------


def test_request_log_records_everything(fake_mastodon: FakeMastodon) -> None:
    with httpx.Client(base_url=fake_mastodon.url) as client:
        client.post(
            "/api/v1/statuses?x=1",
            json={"status": "hi"},
            headers={"Authorization": "Bearer good-token", "X-Custom": "Yes"},
        )
    (request,) = fake_mastodon.requests
    assert request.method == "POST"
    assert request.path == "/api/v1/statuses"
    assert request.query == {"x": ["1"]}
    assert request.headers["x-custom"] == "Yes"
    assert request.headers["authorization"] == "Bearer good-token"
    assert json.loads(request.body) == {"status": "hi"}
    assert request.json == {"status": "hi"}
    assert request.received_at.tzinfo is not None
    assert abs(request.received_at - datetime.now(UTC)) < timedelta(seconds=5)
    assert fake_mastodon.requests_to("/statuses", "post") == [request]


def test_stop_is_fast_and_leaks_no_thread() -> None:
    before = {t.ident for t in threading.enumerate()}
    server = FakeMastodon().start()
    client = httpx.Client(base_url=server.url, headers={"Authorization": "Bearer good-token"})
    assert client.get("/api/v1/accounts/verify_credentials").status_code == 200  # keep-alive
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 1.0
    client.close()
    time.sleep(0.05)
    assert {t.ident for t in threading.enumerate() if t.is_alive()} <= before
    server.stop()  # idempotent


def test_latency_delays_every_answer() -> None:
    with FakeMastodon(latency=0.15) as server, httpx.Client(base_url=server.url) as client:
        started = time.monotonic()
        client.get("/api/v2/instance")
        assert time.monotonic() - started >= 0.15


def test_fail_next_without_commit_does_not_store(fake_mastodon: FakeMastodon) -> None:
    fake_mastodon.fail_next("/api/v1/statuses", 503, "Service Unavailable", times=2)
    with masto_client(fake_mastodon) as client:
        for _ in range(2):
            response = client.post("/api/v1/statuses", json={"status": "hi"})
            assert response.status_code == 503
            assert response.text == "Service Unavailable"
        assert fake_mastodon.statuses == []
        assert client.post("/api/v1/statuses", json={"status": "hi"}).status_code == 200
    assert fake_mastodon.texts == ["hi"]


def test_fail_next_with_commit_stores_then_fails(fake_mastodon: FakeMastodon) -> None:
    fake_mastodon.fail_next("/statuses", 500, {"error": "boom"}, commit=True)
    with masto_client(fake_mastodon) as client:
        key = {"Idempotency-Key": "retry-1"}
        failed = client.post("/api/v1/statuses", json={"status": "hi"}, headers=key)
        assert failed.status_code == 500
        assert failed.json() == {"error": "boom"}
        assert fake_mastodon.texts == ["hi"]  # committed before the 500
        retried = client.post("/api/v1/statuses", json={"status": "hi"}, headers=key)
    assert retried.status_code == 200
    assert retried.json()["id"] == fake_mastodon.statuses[0]["id"]
    assert len(fake_mastodon.statuses) == 1


def test_fail_randomly_commits_then_fails_a_seeded_share(fake_mastodon: FakeMastodon) -> None:
    fake_mastodon.fail_randomly("/api/v1/statuses", 0.5, 500, {"error": "boom"}, seed=7)
    with masto_client(fake_mastodon) as client:
        codes = [
            client.post("/api/v1/statuses", json={"status": f"s{i}"}).status_code for i in range(40)
        ]
        assert 5 < codes.count(500) < 35 and set(codes) == {200, 500}
        assert len(fake_mastodon.statuses) == 40  # each one committed first
        fake_mastodon.clear_faults()
        assert client.post("/api/v1/statuses", json={"status": "ok"}).status_code == 200
    again = FakeMastodon()
    again.fail_randomly("/api/v1/statuses", 0.5, 500, seed=7)
    with again, masto_client(again) as client:
        replay = [
            client.post("/api/v1/statuses", json={"status": f"s{i}"}).status_code for i in range(40)
        ]
    assert replay == codes, "the same seed gives the same sequence"


def test_fail_randomly_can_hang_after_the_commit(fake_mastodon: FakeMastodon) -> None:
    fake_mastodon.fail_randomly("/api/v1/statuses", 1.0, hang=1.0)
    with masto_client(fake_mastodon, timeout=0.2) as client, pytest.raises(httpx.ReadTimeout):
        client.post("/api/v1/statuses", json={"status": "stored anyway"})
    assert fake_mastodon.texts == ["stored anyway"]


def test_fail_randomly_stops_after_its_budget(fake_mastodon: FakeMastodon) -> None:
    fake_mastodon.fail_randomly("/api/v1/statuses", 1.0, 502, times=2)
    with masto_client(fake_mastodon) as client:
        codes = [
            client.post("/api/v1/statuses", json={"status": f"s{i}"}).status_code for i in range(4)
        ]
    assert codes == [502, 502, 200, 200]
    assert fake_mastodon.random_faults_served == 2


def test_hang_next_times_out_the_client_after_the_commit(fake_mastodon: FakeMastodon) -> None:
    fake_mastodon.hang_next("/api/v1/statuses", 1.0)
    with masto_client(fake_mastodon, timeout=0.2) as client:
        started = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            client.post("/api/v1/statuses", json={"status": "stored anyway"})
        assert time.monotonic() - started < 0.9
        assert fake_mastodon.texts == ["stored anyway"]
        # the server still answers other requests while that handler hangs
        assert client.get("/api/v1/accounts/verify_credentials").status_code == 200
    started = time.monotonic()
    fake_mastodon.stop()  # the hanging handler does not hold stop() up
    assert time.monotonic() - started < 1.0


def test_hang_next_without_commit_never_processes(fake_mastodon: FakeMastodon) -> None:
    fake_mastodon.hang_next("/api/v1/statuses", 0.1, commit=False)
    with masto_client(fake_mastodon) as client:
        response = client.post("/api/v1/statuses", json={"status": "lost"})
    assert response.status_code == 504
    assert fake_mastodon.statuses == []


# -- Mastodon ------------------------------------------------------------------------


@pytest.fixture
def masto(fake_mastodon: FakeMastodon) -> Iterator[httpx.Client]:
    with masto_client(fake_mastodon) as client:
        yield client


def masto_client(server: FakeMastodon, timeout: float = 5.0) -> httpx.Client:
    return httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {server.token}"}, timeout=timeout
    )


@pytest.mark.parametrize("header", [None, "Bearer wrong", "Basic Z29vZC10b2tlbg=="])
def test_mastodon_rejects_a_bad_token(fake_mastodon: FakeMastodon, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    with httpx.Client(base_url=fake_mastodon.url, headers=headers) as client:
        for response in (
            client.get("/api/v1/accounts/verify_credentials"),
            client.post("/api/v1/statuses", json={"status": "hi"}),
            client.post("/api/v2/media", files={"file": ("a.png", b"x", "image/png")}),
        ):
            assert response.status_code == 401
            assert response.json() == {"error": "The access token is invalid"}
    assert fake_mastodon.statuses == []


def test_mastodon_verify_credentials_and_instance(
    fake_mastodon: FakeMastodon, masto: httpx.Client
) -> None:
    account = masto.get("/api/v1/accounts/verify_credentials").json()
    assert account["username"] == account["acct"] == "brand"
    assert account["url"] == f"{fake_mastodon.url}/@brand"
    assert "source" in account
    with httpx.Client(base_url=fake_mastodon.url) as anonymous:  # instance is public
        instance = anonymous.get("/api/v2/instance").json()
    statuses = instance["configuration"]["statuses"]
    assert statuses == {
        "max_characters": 500,
        "max_media_attachments": 4,
        "characters_reserved_per_url": 23,
    }
    media = instance["configuration"]["media_attachments"]
    assert media["image_size_limit"] == 16 * 1024 * 1024
    assert "image/png" in media["supported_mime_types"]


def test_mastodon_status_entity(fake_mastodon: FakeMastodon, masto: httpx.Client) -> None:
    response = masto.post(
        "/api/v1/statuses",
        json={"status": "Bonjour <tout>\nle monde", "language": "fr", "visibility": "unlisted"},
    )
    assert response.status_code == 200
    status = response.json()
    assert status["url"] == f"{fake_mastodon.url}/@brand/{status['id']}"
    assert status["content"] == "<p>Bonjour &lt;tout&gt;<br />le monde</p>"
    assert status["language"] == "fr"
    assert status["visibility"] == "unlisted"
    assert status["in_reply_to_id"] is None
    assert status["media_attachments"] == []
    assert "text" not in status
    assert fake_mastodon.statuses[0]["text"] == "Bonjour <tout>\nle monde"
    assert masto.get(f"/api/v1/statuses/{status['id']}").json()["id"] == status["id"]


def test_mastodon_idempotency_key_returns_the_same_status(
    fake_mastodon: FakeMastodon, masto: httpx.Client
) -> None:
    def send(text: str, key: str) -> httpx.Response:
        return masto.post(
            "/api/v1/statuses", json={"status": text}, headers={"Idempotency-Key": key}
        )

    first = send("once", "k")
    again = send("twice", "k")
    assert again.status_code == 200
    assert again.json() == first.json()
    assert fake_mastodon.texts == ["once"]
    other = send("other", "j")
    assert other.json()["id"] != first.json()["id"]
    # keys live one hour
    fake_mastodon.advance_clock(timedelta(minutes=59))
    assert send("x", "k").json()["id"] == first.json()["id"]
    fake_mastodon.advance_clock(timedelta(minutes=2))
    later = send("late", "k")
    assert later.json()["id"] != first.json()["id"]
    fake_mastodon.expire_idempotency_keys()
    assert send("new", "j").json()["id"] != other.json()["id"]
    assert fake_mastodon.texts == ["once", "other", "late", "new"]


def test_mastodon_length_rules(fake_mastodon: FakeMastodon, masto: httpx.Client) -> None:
    assert masto.post("/api/v1/statuses", json={"status": "a" * 500}).status_code == 200
    too_long = masto.post("/api/v1/statuses", json={"status": "a" * 501})
    assert too_long.status_code == 422
    assert too_long.json() == {"error": "Validation failed: Text character limit of 500 exceeded"}
    # a URL counts 23 whatever its length, so 477 + URL fits
    url = "https://example.com/" + "p" * 200
    assert masto.post("/api/v1/statuses", json={"status": "b" * 476 + " " + url}).status_code == 200
    # the content warning counts too
    spoiled = masto.post("/api/v1/statuses", json={"status": "c" * 490, "spoiler_text": "s" * 11})
    assert spoiled.status_code == 422
    blank = masto.post("/api/v1/statuses", json={"status": "  "})
    assert blank.json() == {"error": "Validation failed: Text can't be blank"}
    assert len(fake_mastodon.statuses) == 2


def test_mastodon_custom_limit(masto: httpx.Client, fake_mastodon: FakeMastodon) -> None:
    fake_mastodon.max_characters = 1000
    assert (
        masto.get("/api/v2/instance").json()["configuration"]["statuses"]["max_characters"] == 1000
    )
    assert masto.post("/api/v1/statuses", json={"status": "a" * 1000}).status_code == 200
    response = masto.post("/api/v1/statuses", json={"status": "a" * 1001})
    assert response.json()["error"] == "Validation failed: Text character limit of 1000 exceeded"


def test_mastodon_media_202_206_200() -> None:
    fake = FakeMastodon(processing_steps=1)
    with fake, masto_client(fake) as client:
        upload = client.post(
            "/api/v2/media",
            files={"file": ("cat.png", b"\x89PNG fake", "image/png")},
            data={"description": "A cat"},
        )
        assert upload.status_code == 202
        media = upload.json()
        assert media["url"] is None
        assert media["type"] == "image"
        assert media["description"] == "A cat"
        early = client.post("/api/v1/statuses", data={"status": "pic", "media_ids[]": media["id"]})
        assert early.status_code == 422
        assert early.json() == {
            "error": "Cannot attach files that have not finished processing. Try again in a moment!"
        }
        polled = client.get(f"/api/v1/media/{media['id']}")
        assert polled.status_code == 206
        assert polled.json()["url"] is None
        done = client.get(f"/api/v1/media/{media['id']}")
        assert done.status_code == 200
        assert done.json()["url"].startswith(fake.url)
        posted = client.post("/api/v1/statuses", data={"status": "pic", "media_ids[]": media["id"]})
        assert posted.status_code == 200
        (attachment,) = posted.json()["media_attachments"]
        assert attachment["id"] == media["id"]
        assert attachment["description"] == "A cat"
        # still readable once attached, but it cannot be attached again
        assert client.get(f"/api/v1/media/{media['id']}").status_code == 200
        reused = client.post("/api/v1/statuses", json={"status": "x", "media_ids": [media["id"]]})
        assert reused.json() == {
            "error": f"Media {media['id']} not found or already attached to another post"
        }


def test_mastodon_media_synchronous_and_errors(masto: httpx.Client) -> None:
    ok = masto.post("/api/v2/media", files={"file": ("a.jpg", b"jpeg", "image/jpeg")})
    assert ok.status_code == 200
    assert ok.json()["url"] is not None
    bad = masto.post("/api/v2/media", files={"file": ("a.txt", b"text", "text/plain")})
    assert bad.status_code == 422
    assert bad.json() == {
        "error": "Validation failed: File content type is invalid, File is invalid"
    }
    unknown = masto.post("/api/v1/statuses", json={"status": "x", "media_ids": ["123", "456"]})
    assert unknown.status_code == 422
    assert unknown.json()["error"] == "Media 123, 456 not found or already attached to another post"
    five = masto.post("/api/v1/statuses", json={"status": "x", "media_ids": ["1"] * 5})
    assert five.json() == {"error": "Cannot attach more than 4 files"}
    assert masto.get("/api/v1/media/999").json() == {"error": "Record not found"}


def test_mastodon_replies(fake_mastodon: FakeMastodon, masto: httpx.Client) -> None:
    missing = masto.post("/api/v1/statuses", json={"status": "re", "in_reply_to_id": "42"})
    assert missing.status_code == 404
    assert missing.json() == {
        "error": "The post you are trying to reply to does not appear to exist."
    }
    parent = masto.post("/api/v1/statuses", json={"status": "1/2"}).json()
    child = masto.post(
        "/api/v1/statuses", data={"status": "2/2", "in_reply_to_id": parent["id"]}
    ).json()
    assert child["in_reply_to_id"] == parent["id"]
    assert child["in_reply_to_account_id"] == fake_mastodon.account_id
    listed = masto.get(f"/api/v1/accounts/{fake_mastodon.account_id}/statuses").json()
    assert [s["id"] for s in listed] == [child["id"], parent["id"]]


def test_mastodon_rate_limit_headers(fake_mastodon: FakeMastodon, masto: httpx.Client) -> None:
    response = masto.get("/api/v1/accounts/verify_credentials")
    assert response.headers["X-RateLimit-Limit"] == "300"
    assert response.headers["X-RateLimit-Remaining"] == "299"
    reset = datetime.fromisoformat(response.headers["X-RateLimit-Reset"].replace("Z", "+00:00"))
    assert timedelta(0) < reset - datetime.now(UTC) <= timedelta(minutes=5)
    created = masto.post("/api/v1/statuses", json={"status": "hi"})
    assert created.headers["X-RateLimit-Limit"] == "300"  # the statuses family
    assert created.headers["X-RateLimit-Remaining"] == "299"

    fake_mastodon.fail_next(
        "/api/v1/statuses", 429, {"error": "Too many requests"}, headers={"Retry-After": "30"}
    )
    limited = masto.post("/api/v1/statuses", json={"status": "hi"})
    assert limited.status_code == 429
    assert limited.json() == {"error": "Too many requests"}
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    assert limited.headers["Retry-After"] == "30"
    assert datetime.fromisoformat(limited.headers["X-RateLimit-Reset"].replace("Z", "+00:00"))


def test_mastodon_enforces_its_rate_limit() -> None:
    with FakeMastodon(rate_limit=2) as fake, masto_client(fake) as client:
        assert client.get("/api/v1/accounts/verify_credentials").status_code == 200
        assert client.get("/api/v1/accounts/verify_credentials").status_code == 200
        third = client.get("/api/v1/accounts/verify_credentials")
        assert third.status_code == 429
        assert third.json() == {"error": "Too many requests"}
        fake.advance_clock(timedelta(minutes=5))
        assert client.get("/api/v1/accounts/verify_credentials").status_code == 200


# -- Bluesky -------------------------------------------------------------------------


class Bsky:
    """A tiny XRPC client for the tests."""

    def __init__(self, server: FakeBluesky, timeout: float = 5.0) -> None:
        self.server = server
        self.http = httpx.Client(base_url=server.url, timeout=timeout)
        self.access = ""
        self.refresh = ""

    def login(self, identifier: str | None = None, password: str = "app-pass-1234") -> None:
        response = self.call(
            "com.atproto.server.createSession",
            {"identifier": identifier or self.server.handle, "password": password},
        )
        assert response.status_code == 200, response.text
        self.access, self.refresh = response.json()["accessJwt"], response.json()["refreshJwt"]

    def call(self, nsid: str, body: Any = None, token: str | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.http.post(f"/xrpc/{nsid}", json=body, headers=headers)

    def query(self, nsid: str, **params: str) -> httpx.Response:
        return self.http.get(f"/xrpc/{nsid}", params=params)

    def create(self, record: dict[str, Any], **extra: Any) -> httpx.Response:
        body = {"repo": self.server.did, "collection": POST, "record": record, **extra}
        return self.call("com.atproto.repo.createRecord", body, self.access)

    def put(self, rkey: str, record: dict[str, Any], **extra: Any) -> httpx.Response:
        body = {
            "repo": self.server.did,
            "collection": POST,
            "rkey": rkey,
            "record": record,
            **extra,
        }
        return self.call("com.atproto.repo.putRecord", body, self.access)

    def upload(self, data: bytes, mime: str) -> dict[str, Any]:
        response = self.http.post(
            "/xrpc/com.atproto.repo.uploadBlob",
            content=data,
            headers={"Authorization": f"Bearer {self.access}", "Content-Type": mime},
        )
        assert response.status_code == 200, response.text
        blob: dict[str, Any] = response.json()["blob"]
        return blob


@pytest.fixture
def bsky(fake_bluesky: FakeBluesky) -> Iterator[Bsky]:
    client = Bsky(fake_bluesky)
    client.login()
    yield client
    client.http.close()


def post(text: str = "Bonjour", **extra: Any) -> dict[str, Any]:
    return {"$type": POST, "text": text, "createdAt": CREATED, **extra}


def error(response: httpx.Response) -> tuple[int, str, str]:
    body = response.json()
    return response.status_code, body["error"], body["message"]


def test_bluesky_sessions(fake_bluesky: FakeBluesky) -> None:
    client = Bsky(fake_bluesky)
    wrong = client.call(
        "com.atproto.server.createSession", {"identifier": "brand.test", "password": "nope"}
    )
    assert wrong.status_code == 401
    assert wrong.json() == {
        "error": "AuthenticationRequired",
        "message": "Invalid identifier or password",
    }
    client.login(fake_bluesky.did)  # a DID works as identifier too
    client.login("Brand.Test")
    session = client.query("com.atproto.server.getSession")
    assert error(session) == (401, "AuthMissing", "Authentication Required")
    me = client.http.get(
        "/xrpc/com.atproto.server.getSession", headers={"Authorization": f"Bearer {client.access}"}
    ).json()
    assert me["did"] == fake_bluesky.did
    assert me["handle"] == "brand.test"
    assert me["didDoc"]["service"][0]["serviceEndpoint"] == fake_bluesky.url
    # JWTs, with the claims clients read
    payload = client.access.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["sub"] == fake_bluesky.did
    assert claims["scope"] == "com.atproto.appPass"
    assert claims["exp"] - claims["iat"] == 7200
    # the access token is not a refresh token and the other way round
    assert error(client.call("com.atproto.server.refreshSession", token=client.access)) == (
        400,
        "InvalidToken",
        "Token could not be verified",
    )
    assert error(Bsky(fake_bluesky).call("com.atproto.repo.createRecord", {}, client.refresh)) == (
        400,
        "InvalidToken",
        "Token could not be verified",
    )
    client.http.close()


def test_bluesky_expired_access_token_then_refresh(fake_bluesky: FakeBluesky, bsky: Bsky) -> None:
    assert bsky.create(post("before")).status_code == 200
    fake_bluesky.expire_access_tokens()
    expired = bsky.create(post("after"))
    # the reference PDS answers 400 (InvalidRequestError), not 401, for an expired JWT
    assert expired.status_code == 400
    assert expired.json() == {"error": "ExpiredToken", "message": "Token has expired"}
    refreshed = bsky.call("com.atproto.server.refreshSession", token=bsky.refresh)
    assert refreshed.status_code == 200
    assert refreshed.json()["did"] == fake_bluesky.did
    bsky.access = refreshed.json()["accessJwt"]
    assert bsky.create(post("after")).status_code == 200
    assert [p["text"] for p in fake_bluesky.posts()] == ["before", "after"]


def test_bluesky_tokens_expire_with_the_clock(fake_bluesky: FakeBluesky, bsky: Bsky) -> None:
    fake_bluesky.advance_clock(timedelta(hours=2, seconds=1))
    assert error(bsky.create(post())) == (400, "ExpiredToken", "Token has expired")
    assert bsky.call("com.atproto.server.refreshSession", token=bsky.refresh).status_code == 200
    fake_bluesky.revoke_refresh_tokens()
    assert error(bsky.call("com.atproto.server.refreshSession", token=bsky.refresh)) == (
        400,
        "ExpiredToken",
        "Token has been revoked",
    )


def test_bluesky_refresh_rotates_the_refresh_token_with_a_grace(
    fake_bluesky: FakeBluesky, bsky: Bsky
) -> None:
    def jti(token: str) -> str:
        import base64
        import json

        part = token.split(".")[1]
        return str(json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))["jti"])

    first = bsky.call("com.atproto.server.refreshSession", token=bsky.refresh).json()
    assert jti(first["refreshJwt"]) != jti(bsky.refresh)
    # a reuse within the 2-hour grace gets a token with the same id as the first use
    again = bsky.call("com.atproto.server.refreshSession", token=bsky.refresh).json()
    assert jti(again["refreshJwt"]) == jti(first["refreshJwt"])
    assert fake_bluesky.refresh_uses[jti(bsky.refresh)] == 2
    fake_bluesky.advance_clock(timedelta(hours=2, seconds=1))
    assert error(bsky.call("com.atproto.server.refreshSession", token=bsky.refresh)) == (
        400,
        "ExpiredToken",
        "Token has been revoked",
    )
    assert bsky.call(
        "com.atproto.server.refreshSession", token=first["refreshJwt"]
    ).status_code == (200)


def test_bluesky_create_and_get_record(fake_bluesky: FakeBluesky, bsky: Bsky) -> None:
    response = bsky.create(post("Hello"))
    assert response.status_code == 200
    body = response.json()
    did, collection, rkey = body["uri"].removeprefix("at://").split("/")
    assert (did, collection) == (fake_bluesky.did, POST)
    assert atproto.is_tid(rkey)
    assert body["cid"].startswith("bafyrei")
    assert body["cid"] == atproto.record_cid(post("Hello"))  # a real dag-cbor CID
    assert body["validationStatus"] == "valid"
    assert fake_bluesky.records[body["uri"]] == post("Hello")
    got = bsky.query(
        "com.atproto.repo.getRecord", repo=fake_bluesky.handle, collection=POST, rkey=rkey
    )
    assert got.json() == {"uri": body["uri"], "cid": body["cid"], "value": post("Hello")}
    missing = bsky.query(
        "com.atproto.repo.getRecord", repo=fake_bluesky.did, collection=POST, rkey="3jzfcijpj2z2a"
    )
    assert error(missing) == (
        400,
        "RecordNotFound",
        f"Could not locate record: at://{did}/{POST}/3jzfcijpj2z2a",
    )
    again = bsky.create(post("dup"), rkey=rkey)  # createRecord on a taken rkey fails in the MST
    assert error(again) == (500, "InternalServerError", "Internal Server Error")


def test_bluesky_put_record_swap_semantics(fake_bluesky: FakeBluesky, bsky: Bsky) -> None:
    rkey = "3kabc2222222a"
    first = bsky.put(rkey, post("v1"), swapRecord=None)
    assert first.status_code == 200
    cid = first.json()["cid"]
    # same record again: the PDS sees no change and commits nothing
    same = bsky.put(rkey, post("v1"), swapRecord=None)
    assert same.status_code == 200
    assert same.json()["cid"] == cid
    assert "commit" not in same.json()
    # swapRecord null means "only if no record exists"
    changed = bsky.put(rkey, post("v2"), swapRecord=None)
    assert error(changed) == (400, "InvalidSwap", f"Record was at {cid}")
    stale = bsky.put(rkey, post("v2"), swapRecord=atproto.record_cid(post("other")))
    assert error(stale) == (400, "InvalidSwap", f"Record was at {cid}")
    nothing = bsky.put("3kabc2222222b", post("v2"), swapRecord=cid)
    assert error(nothing) == (400, "InvalidSwap", "Record was at null")
    updated = bsky.put(rkey, post("v2"), swapRecord=cid)
    assert updated.status_code == 200
    assert fake_bluesky.records[f"at://{fake_bluesky.did}/{POST}/{rkey}"]["text"] == "v2"
    bad_key = bsky.put("not-a-tid", post())
    assert error(bad_key) == (
        400,
        "InvalidRequest",
        'Invalid record key for app.bsky.feed.post: Invalid TID string (got "not-a-tid") at $',
    )


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (post("x" * 301), "grapheme too big (maximum 300, got 301) at $.record.text"),
        # 300 graphemes but 7500 bytes: both limits apply
        (post("👨‍👩‍👧‍👦" * 300), "string too big (maximum 3000, got 7500) at $.record.text"),
        ({"$type": POST, "text": "hi"}, 'Missing required key "createdAt" at $.record'),
        (
            post(createdAt="2026-11-20 12:00:00"),
            'Invalid datetime (got "2026-11-20 12:00:00") at $.record.createdAt',
        ),
        (
            post(createdAt="2026-11-20T12:00:00.000-00:00"),
            'Invalid datetime (got "2026-11-20T12:00:00.000-00:00") at $.record.createdAt',
        ),
        (post(langs=["en_US"]), 'Invalid language (got "en_US") at $.record.langs[0]'),
        (
            post(langs=["fr", "en", "de", "it"]),
            "array too big (maximum 3, got 4) at $.record.langs",
        ),
        (post(text=5), "Expected string value type (got 5) at $.record.text"),
        (
            post(reply={"root": {"uri": "at://x", "cid": "nope"}}),
            'Missing required key "parent" at $.record.reply',
        ),
    ],
)
def test_bluesky_validates_posts_against_the_lexicon(
    bsky: Bsky, fake_bluesky: FakeBluesky, record: dict[str, Any], message: str
) -> None:
    response = bsky.create(record)
    assert error(response) == (
        400,
        "InvalidRequest",
        f"Invalid app.bsky.feed.post record: {message}",
    )
    assert fake_bluesky.records == {}


def test_bluesky_accepts_limits_exactly(bsky: Bsky) -> None:
    assert bsky.create(post("x" * 300)).status_code == 200
    assert bsky.create(post("é" * 300)).status_code == 200  # 600 bytes
    assert bsky.create(post(langs=["fr", "en-GB", "pt-BR"])).status_code == 200


def test_bluesky_facets(bsky: Bsky, fake_bluesky: FakeBluesky) -> None:
    # The worked example of Bluesky's docs (shared/conformance/README.md)
    text = (
        "✨ example mentioning @atproto.com to share the URL 👨‍❤️‍👨 "
        "https://en.wikipedia.org/wiki/CBOR."
    )
    facets = [
        {
            "index": {"byteStart": 23, "byteEnd": 35},
            "features": [{"$type": "app.bsky.richtext.facet#mention", "did": fake_bluesky.did}],
        },
        {
            "index": {"byteStart": 74, "byteEnd": 108},
            "features": [
                {
                    "$type": "app.bsky.richtext.facet#link",
                    "uri": "https://en.wikipedia.org/wiki/CBOR",
                }
            ],
        },
    ]
    assert bsky.create(post(text, facets=facets)).status_code == 200

    def facet(start: int, end: int, feature: dict[str, Any] | None = None) -> list[Any]:
        feature = feature or {"$type": "app.bsky.richtext.facet#tag", "tag": "x"}
        return [{"index": {"byteStart": start, "byteEnd": end}, "features": [feature]}]

    beyond = bsky.create(post("é#x", facets=facet(2, 5)))
    assert "outside the text (4 bytes)" in error(beyond)[2]
    inside = bsky.create(post("é#x", facets=facet(1, 4)))
    assert "inside a UTF-8 character" in error(inside)[2]
    backwards = bsky.create(post("abc", facets=facet(2, 1)))
    assert error(backwards)[0] == 400
    unknown = bsky.create(
        post(
            "abc",
            facets=facet(0, 1, {"$type": "app.bsky.richtext.facet#url", "uri": "https://x.y"}),
        )
    )
    assert "facets[0].features[0].$type" in error(unknown)[2]
    untyped = bsky.create(post("abc", facets=facet(0, 1, {"uri": "https://x.y"})))
    assert 'includes the "$type" property' in error(untyped)[2]
    bad_did = bsky.create(
        post(
            "abc",
            facets=facet(0, 1, {"$type": "app.bsky.richtext.facet#mention", "did": "brand.test"}),
        )
    )
    assert error(bad_did)[2].endswith(
        'Invalid DID (got "brand.test") at $.record.facets[0].features[0].did'
    )


def test_bluesky_lenient_mode_is_like_the_pds() -> None:
    with FakeBluesky(strict=False) as fake:
        client = Bsky(fake)
        client.login()
        facets = [
            {
                "index": {"byteStart": 0, "byteEnd": 99},
                "features": [{"$type": "com.example.unknown"}],
            }
        ]
        assert client.create(post("abc", facets=facets)).status_code == 200
        client.http.close()


def test_bluesky_replies(bsky: Bsky, fake_bluesky: FakeBluesky) -> None:
    root = bsky.create(post("1/2")).json()
    ref = {"uri": root["uri"], "cid": root["cid"]}
    reply = bsky.create(post("2/2", reply={"root": ref, "parent": ref}))
    assert reply.status_code == 200
    ghost = {"uri": f"at://{fake_bluesky.did}/{POST}/3jzfcijpj2z2a", "cid": root["cid"]}
    missing = bsky.create(post("x", reply={"root": ref, "parent": ghost}))
    assert "does not exist on this PDS" in error(missing)[2]
    wrong_cid = {"uri": root["uri"], "cid": atproto.record_cid({"a": 1})}
    assert (
        "is not the record's cid"
        in error(bsky.create(post("x", reply={"root": wrong_cid, "parent": ref})))[2]
    )
    elsewhere = {
        "uri": "at://did:plc:someoneelse234567abcdefg/app.bsky.feed.post/3jzfcijpj2z2a",
        "cid": root["cid"],
    }
    assert bsky.create(post("x", reply={"root": elsewhere, "parent": elsewhere})).status_code == 200


def test_bluesky_images(bsky: Bsky, fake_bluesky: FakeBluesky) -> None:
    png = b"\x89PNG" + b"\x00" * 100
    blob = bsky.upload(png, "image/png")
    assert blob == {
        "$type": "blob",
        "ref": {"$link": atproto.blob_cid(png)},
        "mimeType": "image/png",
        "size": 104,
    }
    assert blob["ref"]["$link"].startswith("bafkrei")

    def embed(*images: dict[str, Any]) -> dict[str, Any]:
        return {"$type": "app.bsky.embed.images", "images": list(images)}

    ok = bsky.create(post("pic", embed=embed({"image": blob, "alt": "A cat"})))
    assert ok.status_code == 200
    no_alt = bsky.create(post("pic", embed=embed({"image": blob})))
    assert error(no_alt)[2].endswith('Missing required key "alt" at $.record.embed.images[0]')
    five = bsky.create(post("pic", embed=embed(*[{"image": blob, "alt": ""}] * 5)))
    assert error(five)[2].endswith("array too big (maximum 4, got 5) at $.record.embed.images")
    never_uploaded = {**blob, "ref": {"$link": atproto.blob_cid(b"other")}}
    missing = bsky.create(post("pic", embed=embed({"image": never_uploaded, "alt": ""})))
    assert error(missing) == (
        400,
        "BlobNotFound",
        f"Could not find blob: {never_uploaded['ref']['$link']}",
    )
    lying = bsky.create(
        post("pic", embed=embed({"image": {**blob, "mimeType": "image/jpeg"}, "alt": ""}))
    )
    assert error(lying)[1] == "InvalidMimeType"
    big = b"\xff" * 2_000_001
    big_blob = bsky.upload(big, "image/jpeg")
    too_big = bsky.create(post("pic", embed=embed({"image": big_blob, "alt": ""})))
    assert error(too_big)[2].endswith(
        "blob too big (maximum 2000000, got 2000001) at $.record.embed.images[0].image"
    )
    video = bsky.upload(b"\x00\x00\x00 ftypmp4", "video/mp4")
    not_image = bsky.create(post("pic", embed=embed({"image": video, "alt": ""})))
    assert error(not_image)[2].endswith(
        'Expected "image/*" (got "video/mp4") at $.record.embed.images[0].image.mimeType'
    )
    assert len(fake_bluesky.posts()) == 1


def test_bluesky_upload_limit() -> None:
    with FakeBluesky(blob_upload_limit=10) as fake:
        client = Bsky(fake)
        client.login()
        response = client.http.post(
            "/xrpc/com.atproto.repo.uploadBlob",
            content=b"x" * 11,
            headers={"Authorization": f"Bearer {client.access}", "Content-Type": "image/png"},
        )
        assert error(response) == (413, "PayloadTooLarge", "request entity too large")
        client.http.close()


def test_bluesky_resolve_handle(fake_bluesky: FakeBluesky) -> None:
    client = Bsky(fake_bluesky)
    known = client.query("com.atproto.identity.resolveHandle", handle="brand.test")
    assert known.json() == {"did": fake_bluesky.did}
    unknown = client.query("com.atproto.identity.resolveHandle", handle="nobody.example")
    assert error(unknown) == (400, "InvalidRequest", "Unable to resolve handle")
    other = fake_bluesky.add_account("friend.test")
    assert client.query("com.atproto.identity.resolveHandle", handle="friend.test").json() == {
        "did": other.did
    }
    bad = client.query("com.atproto.identity.resolveHandle", handle="not a handle")
    assert error(bad)[0] == 400
    client.http.close()
    with FakeBluesky(service_handle_domains=(".bsky.social",)) as pds:
        lookup = Bsky(pds)
        answer = lookup.query("com.atproto.identity.resolveHandle", handle="x.bsky.social")
        assert error(answer) == (400, "HandleNotFound", "Unable to resolve handle")
        lookup.http.close()


def test_bluesky_xrpc_plumbing(fake_bluesky: FakeBluesky, bsky: Bsky) -> None:
    assert error(bsky.http.get("/xrpc/com.atproto.repo.createRecord")) == (
        400,
        "InvalidRequest",
        "Incorrect HTTP method (GET) expected POST",
    )
    assert error(bsky.http.get("/xrpc/com.example.nothing")) == (
        501,
        "MethodNotImplemented",
        "Method Not Implemented",
    )
    assert error(bsky.call("com.atproto.repo.createRecord", token=bsky.access)) == (
        400,
        "InvalidRequest",
        "A request body is expected but none was provided",
    )
    missing = bsky.call("com.atproto.repo.createRecord", {"repo": fake_bluesky.did}, bsky.access)
    assert error(missing) == (400, "InvalidRequest", 'Missing required key "collection" at $')
    other = fake_bluesky.add_account("friend.test")
    foreign = bsky.call(
        "com.atproto.repo.createRecord",
        {"repo": other.did, "collection": POST, "record": post()},
        bsky.access,
    )
    assert error(foreign) == (401, "AuthenticationRequired", "Authentication Required")
    typo = bsky.create({"$type": "app.bsky.feed.posts", "text": "x", "createdAt": CREATED})
    assert error(typo)[2] == "Invalid $type: expected app.bsky.feed.post, got app.bsky.feed.posts"
    basic = bsky.http.post(
        "/xrpc/com.atproto.repo.createRecord", json={}, headers={"Authorization": "Basic eDp5"}
    )
    assert error(basic) == (400, "InvalidToken", "Unexpected authorization type")


def test_bluesky_rate_limit_headers(fake_bluesky: FakeBluesky, bsky: Bsky) -> None:
    created = bsky.create(post())
    assert created.headers["RateLimit-Limit"] == "5000"
    assert created.headers["RateLimit-Remaining"] == "4997"  # a create costs 3 points
    assert created.headers["RateLimit-Policy"] == "5000;w=3600"
    reset = int(created.headers["RateLimit-Reset"])
    assert 0 < reset - time.time() <= 3600
    fake_bluesky.fail_next(
        "createRecord", 429, {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}
    )
    limited = bsky.create(post())
    assert error(limited) == (429, "RateLimitExceeded", "Rate Limit Exceeded")
    assert limited.headers["RateLimit-Remaining"] == "0"
    assert int(limited.headers["RateLimit-Reset"]) > 0


def test_bluesky_write_points_run_out() -> None:
    with FakeBluesky(write_points_per_hour=5) as fake:
        client = Bsky(fake)
        client.login()
        assert client.create(post("1")).status_code == 200
        assert error(client.create(post("2"))) == (429, "RateLimitExceeded", "Rate Limit Exceeded")
        assert client.put("3kabc2222222a", post("3")).status_code == 200  # puts cost 2
        client.http.close()


def test_bluesky_hang_after_commit(fake_bluesky: FakeBluesky) -> None:
    client = Bsky(fake_bluesky, timeout=0.2)
    client.login()
    fake_bluesky.hang_next("com.atproto.repo.putRecord", 1.0)
    with pytest.raises(httpx.ReadTimeout):
        client.put("3kabc2222222a", post("slow"))
    assert [p["text"] for p in fake_bluesky.posts()] == ["slow"]
    # a retry of the same deterministic put is then a harmless no-op
    client.http.timeout = httpx.Timeout(5.0)
    again = client.put("3kabc2222222a", post("slow"), swapRecord=None)
    assert again.status_code == 200
    client.http.close()


# -- syntax helpers, checked against the interop files -------------------------------


@pytest.mark.parametrize(
    ("name", "check"),
    [
        ("tid", atproto.is_tid),
        ("recordkey", atproto.is_record_key),
        ("did", atproto.is_did),
        ("handle", atproto.is_handle),
        ("datetime", atproto.is_datetime),
    ],
)
def test_syntax_matches_the_interop_files(name: str, check: Any) -> None:
    for value in lines(f"{name}_syntax_valid.txt"):
        assert check(value), value
    for value in lines(f"{name}_syntax_invalid.txt"):
        assert not check(value), value


def test_tids_are_valid_and_sortable() -> None:
    tids = [atproto.make_tid(1_700_000_000_000_000 + i, 5) for i in range(0, 5000, 997)]
    assert all(atproto.is_tid(t) for t in tids)
    assert tids == sorted(tids)


def test_lexicons_are_the_vendored_ones() -> None:
    names = {p.stem for p in Path(atproto.LEXICON_DIR).glob("*.json")}
    assert {POST, "app.bsky.richtext.facet", "com.atproto.repo.putRecord"} <= names


# -- webhook -------------------------------------------------------------------------


def signed(
    body: bytes, msg_id: str = "msg_1", when: int | None = None, secret: str = WEBHOOK_SECRET
) -> dict[str, str]:
    stamp = int(time.time()) if when is None else when
    return {
        "Content-Type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": sign(secret, msg_id, stamp, body),
    }


def test_sign_matches_the_reference_test_vector() -> None:
    # libraries/javascript/src/webhook.test.ts, "sign function works"
    assert sign(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1614265330,
        '{"test": 2432232314}',
    ) == ("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")


def test_webhook_accepts_a_good_signature_and_dedupes(fake_webhook: FakeWebhookReceiver) -> None:
    body = b'{"type":"post.published","data":{"id":"p1"}}'
    with httpx.Client(base_url=fake_webhook.url) as client:
        first = client.post("/hooks/cmctl", content=body, headers=signed(body))
        assert first.status_code == 200
        assert first.json() == {"ok": True, "duplicate": False}
        again = client.post("/hooks/cmctl", content=body, headers=signed(body))
        assert again.json() == {"ok": True, "duplicate": True}
    assert len(fake_webhook.deliveries) == 1
    assert len(fake_webhook.attempts) == 2
    delivery = fake_webhook.deliveries[0]
    assert delivery.verified and delivery.id == "msg_1" and delivery.path == "/hooks/cmctl"
    assert fake_webhook.payloads == [{"type": "post.published", "data": {"id": "p1"}}]


def test_webhook_rejects_bad_signatures(fake_webhook: FakeWebhookReceiver) -> None:
    body = b'{"a":1}'
    other_secret = "whsec_" + base64.b64encode(b"another-secret-of-32-bytes-long!").decode()
    now = int(time.time())
    cases = {
        "No matching signature found": signed(body, secret=other_secret),
        "Message timestamp too old": signed(body, when=now - 302),
        "Message timestamp too new": signed(body, when=now + 310),
        "Missing required headers": {"Content-Type": "application/json"},
        "Invalid Signature Headers": {**signed(body), "webhook-timestamp": "soon"},
    }
    with httpx.Client(base_url=fake_webhook.url) as client:
        for reason, headers in cases.items():
            response = client.post("/", content=body, headers=headers)
            assert response.status_code == 401, reason
            assert response.json() == {"error": reason}
        tampered = client.post("/", content=b'{"a":2}', headers=signed(body))
        assert tampered.status_code == 401
        # key rotation: one good signature among several is enough; v1a entries are skipped
        rotated = signed(body, msg_id="msg_2")
        rotated["webhook-signature"] = (
            sign(other_secret, "msg_2", int(rotated["webhook-timestamp"]), body)
            + " v1a,AAAA "
            + rotated["webhook-signature"]
        )
        assert client.post("/", content=body, headers=rotated).status_code == 200
    assert [d.id for d in fake_webhook.deliveries] == ["msg_2"]
    assert len(fake_webhook.attempts) == 7
    assert not any(a.accepted for a in fake_webhook.attempts[:6])


def test_webhook_tolerance_follows_its_clock(fake_webhook: FakeWebhookReceiver) -> None:
    body = b"{}"
    headers = signed(body, when=int(time.time()))
    fake_webhook.advance_clock(timedelta(minutes=6))
    with httpx.Client(base_url=fake_webhook.url) as client:
        response = client.post("/", content=body, headers=headers)
    assert response.json() == {"error": "Message timestamp too old"}


def test_unsigned_receiver_and_fault_after_commit(
    fake_webhook_unsigned: FakeWebhookReceiver,
) -> None:
    fake_webhook_unsigned.fail_next("/in", 500, {"error": "oops"}, commit=True)
    headers = {"webhook-id": "msg_9", "Content-Type": "application/json"}
    with httpx.Client(base_url=fake_webhook_unsigned.url) as client:
        failed = client.post("/in", json={"n": 1}, headers=headers)
        assert failed.status_code == 500
        retried = client.post("/in", json={"n": 1}, headers=headers)
        assert retried.json() == {"ok": True, "duplicate": True}
        assert client.get("/in").status_code == 405
    assert fake_webhook_unsigned.payloads == [{"n": 1}]
    assert not fake_webhook_unsigned.deliveries[0].verified
    assert len(fake_webhook_unsigned.attempts) == 2


def test_webhook_rejects_malformed_secret() -> None:
    with pytest.raises(ValueError):
        FakeWebhookReceiver("whsec_")


# -- under frozen time (the ``now`` fixture of tests/conftest.py) --------------------


def test_fakes_work_with_time_frozen(
    now: Any,
    fake_bluesky: FakeBluesky,
    fake_mastodon: FakeMastodon,
    fake_webhook: FakeWebhookReceiver,
) -> None:
    frozen = datetime.now(UTC)
    client = Bsky(fake_bluesky)
    client.login()
    assert client.create(post()).status_code == 200
    with masto_client(fake_mastodon) as masto:
        first = masto.post("/api/v1/statuses", json={"status": "a"}).json()
        second = masto.post("/api/v1/statuses", json={"status": "b"}).json()
    assert int(second["id"]) > int(first["id"])
    body = b"{}"
    with httpx.Client(base_url=fake_webhook.url) as hook:
        assert hook.post("/", content=body, headers=signed(body)).status_code == 200
    assert fake_webhook.deliveries[0].received_at == frozen
    now.move_to(frozen + timedelta(hours=3))  # the access token (2 h) is now stale
    assert error(client.create(post())) == (400, "ExpiredToken", "Token has expired")
    client.http.close()
