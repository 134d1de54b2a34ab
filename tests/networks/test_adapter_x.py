"""The X adapter against the fake X API v2 (tests/fakes/x.py), as units: OAuth 2.0
tokens (seeded, renewed once, refused), OAuth 1.0a signing (RFC 5849 and X's own
example), the v2 media upload with checkpoints, rate-limit headers, the duplicate
refusal and the look-up of the account's own posts."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from cmctl.networks.base import (
    Ambiguous,
    Attachment,
    Duplicate,
    NotReady,
    Outgoing,
    Permanent,
    Sent,
    Transient,
)
from cmctl.networks.credentials import CredentialStore, LoginRequired
from cmctl.networks.http import Http
from cmctl.networks.x import X, normalised, rate_limit_wait, sign
from tests.conftest import as_json, calendar, post
from tests.fakes import x as fx
from tests.fakes.x import FakeX
from tests.networks.helpers import make_outgoing
from tests.process import Processes, processes_fixture  # noqa: F401 (the fixture)

KEY = "dec:launch@x"
MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00" * 64


def png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    ihdr = (3).to_bytes(4, "big") + (2).to_bytes(4, "big") + b"\x08\x02\x00\x00\x00"
    raw = b"".join(b"\x00" + b"\x00\x00\x00" * 3 for _ in range(2))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def server(now: Any) -> Iterator[FakeX]:
    with FakeX() as fake:
        yield fake


def oauth2(server: FakeX, tmp_path: Path, **extra: Any) -> X:
    access, refresh = server.grant()
    options = {
        "client_id": fx.CLIENT_ID,
        "api_url": server.url,
        "access_token": access,
        "refresh_token": refresh,
        **extra,
    }
    return X("brand", options, Http(), tmp_path / "state")


def oauth1(server: FakeX, tmp_path: Path, **extra: str) -> X:
    options = {
        "api_url": server.url,
        "api_key": fx.API_KEY,
        "api_secret": fx.API_SECRET,
        "access_token": fx.ACCESS_TOKEN_1A,
        "access_token_secret": fx.ACCESS_SECRET_1A,
        **extra,
    }
    return X("brand", options, Http(), tmp_path / "state")


class Saved:
    """An Outgoing's checkpoints, as the ledger would keep them."""

    def __init__(self) -> None:
        self.checkpoint: dict[str, Any] | None = None

    def __call__(self, checkpoint: dict[str, Any]) -> None:
        self.checkpoint = checkpoint

    def out(self, text: str, media: tuple[Attachment, ...]) -> Outgoing:
        return make_outgoing(
            KEY, text, media=media, checkpoint=self.checkpoint, save_checkpoint=self
        )


# --- posting ------------------------------------------------------------------------


def test_a_thread_is_posted_as_replies_with_the_posts_address(
    server: FakeX, tmp_path: Path
) -> None:
    adapter = oauth2(server, tmp_path)
    first = adapter.publish(make_outgoing(KEY, "Hello & welcome"))
    second = adapter.publish(
        make_outgoing(KEY + "#1", "part two", part=1, reply_to=first, root=first)
    )
    tweets = server.posted()
    assert [t["sent"] for t in tweets] == ["Hello & welcome", "part two"]
    assert first.url == f"https://x.com/{fx.USERNAME}/status/{first.remote_id}"
    assert tweets[1]["referenced_tweets"] == [{"type": "replied_to", "id": first.remote_id}]
    create = server.requests_to("/2/tweets", "POST")[-1]
    assert create.json == {"text": "part two", "reply": {"in_reply_to_tweet_id": first.remote_id}}
    assert create.headers["authorization"].startswith("Bearer x-access-")
    assert second.ref == {"id": second.remote_id}
    assert len(server.requests_to("/2/users/me")) == 1  # the username is read once


def test_images_are_uploaded_once_with_alt_text_even_when_the_post_fails(
    server: FakeX, tmp_path: Path
) -> None:
    (tmp_path / "a.png").write_bytes(png())
    media = (Attachment(tmp_path / "a.png", "A red square", tmp_path),)
    adapter = oauth2(server, tmp_path)
    saved = Saved()
    server.fail_next("/2/tweets", 503, fx.problem(503, "Service Unavailable", "Try later"))
    with pytest.raises(Transient):
        adapter.publish(saved.out("with a picture", media))
    [upload] = server.requests_to("/2/media/upload", "POST")
    assert b'name="media_category"' in upload.body and b"tweet_image" in upload.body
    [media_id] = saved.checkpoint["media"].values()  # type: ignore[index]
    assert server.media[media_id]["alt"] == "A red square"
    adapter.publish(saved.out("with a picture", media))  # the next attempt
    assert len(server.requests_to("/2/media/upload", "POST")) == 1  # not uploaded again
    assert len(server.requests_to("/2/media/metadata")) == 1
    assert server.posted()[0]["media_ids"] == [media_id]


def test_an_upload_is_saved_before_the_post_is_sent(server: FakeX, tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(png())
    media = (Attachment(tmp_path / "a.png", None, tmp_path),)
    adapter = oauth2(server, tmp_path)
    saved = Saved()
    server.hang_next("/2/tweets", seconds=2.0, commit=False)  # no answer, nothing posted
    adapter.http.client.timeout = httpx.Timeout(0.5)
    with pytest.raises(Ambiguous):
        adapter.publish(saved.out("no alt", media))
    assert saved.checkpoint is not None and len(saved.checkpoint["media"]) == 1
    adapter.publish(saved.out("no alt", media))
    assert len(server.requests_to("/2/media/upload", "POST")) == 1


def test_a_video_goes_through_the_chunked_upload_and_is_waited_for_as_not_ready(
    server: FakeX, tmp_path: Path
) -> None:
    (tmp_path / "clip.mp4").write_bytes(MP4)
    media = (Attachment(tmp_path / "clip.mp4", None, tmp_path),)
    adapter = oauth2(server, tmp_path)
    saved = Saved()
    with pytest.raises(NotReady) as waiting:
        adapter.publish(saved.out("a clip", media))
    assert waiting.value.retry_in == 1.0  # X's check_after_secs, not a sleep
    init = server.requests_to("/2/media/upload/initialize")[0]
    assert init.json == {
        "media_type": "video/mp4",
        "total_bytes": len(MP4),
        "media_category": "tweet_video",
    }
    assert len(server.requests_to("/append")) == 1 and len(server.requests_to("/finalize")) == 1
    assert server.posted() == []
    sent = adapter.publish(saved.out("a clip", media))
    assert len(server.requests_to("/2/media/upload/initialize")) == 1  # never re-uploaded
    status = server.requests_to("/2/media/upload", "GET")
    assert [r.param("command") for r in status] == ["STATUS", "STATUS"]
    assert server.posted()[0]["id"] == sent.remote_id


def test_media_x_cannot_process_fails_with_its_reason(server: FakeX, tmp_path: Path) -> None:
    (tmp_path / "clip.mp4").write_bytes(MP4)
    adapter = oauth2(server, tmp_path)
    saved = Saved()
    with pytest.raises(NotReady):
        adapter.publish(saved.out("a clip", (Attachment(tmp_path / "clip.mp4", None, tmp_path),)))
    [item] = server.media.values()
    item["state"] = "failed"
    server.fail_next(
        "/2/media/upload",
        200,
        {
            "data": {
                "id": item["id"],
                "processing_info": {
                    "state": "failed",
                    "error": {"code": 1, "name": "InvalidMedia", "message": "Unsupported video"},
                },
            }
        },
    )
    with pytest.raises(Permanent, match="Unsupported video"):
        adapter.publish(saved.out("a clip", (Attachment(tmp_path / "clip.mp4", None, tmp_path),)))


# --- rate limits and refusals -------------------------------------------------------


def test_a_429_waits_until_xs_reset_header(server: FakeX, tmp_path: Path) -> None:
    adapter = oauth2(server, tmp_path)
    body, headers = fx.too_many(600, server.now())
    server.fail_next("/2/tweets", 429, body, headers=headers)
    with pytest.raises(Transient) as slow:
        adapter.publish(make_outgoing(KEY, "hello"))
    assert slow.value.retry_after is not None and 595 <= slow.value.retry_after <= 600
    assert "Too Many Requests" in slow.value.message


def test_a_spent_24_hour_cap_waits_for_its_own_reset(server: FakeX, tmp_path: Path) -> None:
    adapter = oauth2(server, tmp_path)
    body, headers = fx.too_many(20000, server.now(), daily=True)
    server.fail_next("/2/tweets", 429, body, headers=headers)
    with pytest.raises(Transient) as slow:
        adapter.publish(make_outgoing(KEY, "hello"))
    assert slow.value.retry_after is not None and slow.value.retry_after >= 19990


def test_rate_limit_wait_reads_only_spent_daily_caps(now: Any) -> None:
    t = int(datetime.now(UTC).timestamp())
    assert rate_limit_wait({"x-rate-limit-reset": str(t + 60)}) == 60
    spare = {"x-rate-limit-reset": str(t + 60), "x-user-limit-24hour-reset": str(t + 9000)}
    assert rate_limit_wait({**spare, "x-user-limit-24hour-remaining": "3"}) == 60
    assert rate_limit_wait({**spare, "x-user-limit-24hour-remaining": "0"}) == 9000
    assert rate_limit_wait({"x-rate-limit-reset": "soon"}) is None


def test_the_duplicate_refusal_is_a_duplicate(server: FakeX, tmp_path: Path) -> None:
    adapter = oauth2(server, tmp_path)
    adapter.publish(make_outgoing(KEY, "same words"))
    with pytest.raises(Duplicate, match="duplicate content"):
        adapter.publish(make_outgoing(KEY, "same words"))
    assert len(server.posted()) == 1


def test_a_read_only_app_is_told_what_to_change(server: FakeX, tmp_path: Path) -> None:
    adapter = oauth2(server, tmp_path)
    forbidden = fx.problem(403, "Forbidden", "You are not permitted to perform this action.")
    server.fail_next("/2/tweets", 403, forbidden)
    with pytest.raises(Permanent, match="Read and write"):
        adapter.publish(make_outgoing(KEY, "hello"))


# --- OAuth 2.0 tokens ---------------------------------------------------------------


def test_an_expired_access_token_is_renewed_once_and_the_rotated_pair_saved(
    server: FakeX, tmp_path: Path
) -> None:
    adapter = oauth2(server, tmp_path)
    adapter.publish(make_outgoing(KEY, "one"))
    before = CredentialStore(tmp_path / "state").get("brand")
    server.expire_access_tokens()  # refused though cmctl believes it has 2 h left
    adapter.publish(make_outgoing(KEY + "#1", "two"))
    assert server.refreshes == 1
    after = CredentialStore(tmp_path / "state").get("brand")
    assert before is not None and after is not None
    assert after.refresh != before.refresh and after.access != before.access
    [token] = server.requests_to("/2/oauth2/token")
    assert b"client_id=" + fx.CLIENT_ID.encode() in token.body  # a public client
    assert "authorization" not in token.headers
    assert len(server.posted()) == 2


def test_a_confidential_app_authenticates_with_basic(tmp_path: Path, now: Any) -> None:
    with FakeX(confidential=True) as server:
        adapter = oauth2(server, tmp_path, client_secret=fx.CLIENT_SECRET)
        server.expire_access_tokens()
        adapter.publish(make_outgoing(KEY, "one"))
        [token] = server.requests_to("/2/oauth2/token")
        assert token.headers["authorization"].startswith("Basic ")
        assert server.refreshes == 1


def test_a_revoked_login_asks_to_log_in_again_without_a_token(
    server: FakeX, tmp_path: Path
) -> None:
    adapter = oauth2(server, tmp_path)
    server.revoke()
    with pytest.raises(LoginRequired) as refused:
        adapter.publish(make_outgoing(KEY, "hello"))
    assert "cmctl accounts login brand" in refused.value.message
    for token in [*server.access, *server.refresh_tokens]:
        assert token not in refused.value.message
    assert server.posted() == []


def test_a_refresh_token_used_twice_revokes_the_whole_login(server: FakeX, tmp_path: Path) -> None:
    """X's rotation as the fake plays it: the second use of a spent refresh token is
    refused, and so is every token of that login from then on."""
    import httpx

    _, refresh = server.grant()
    form = {"grant_type": "refresh_token", "refresh_token": refresh, "client_id": fx.CLIENT_ID}
    first = httpx.post(f"{server.url}/2/oauth2/token", data=form)
    assert first.status_code == 200 and first.json()["expires_in"] == 7200
    again = httpx.post(f"{server.url}/2/oauth2/token", data=form)
    assert again.status_code == 400
    assert again.json()["error_description"] == "Value passed for the token was invalid."
    newest = first.json()["access_token"]
    me = httpx.get(f"{server.url}/2/users/me", headers={"Authorization": f"Bearer {newest}"})
    assert me.status_code == 401 and me.json()["detail"] == "Unauthorized"


# --- OAuth 1.0a -----------------------------------------------------------------------


def test_signing_matches_xs_documented_example() -> None:
    """https://docs.x.com/fundamentals/authentication/oauth-1-0a/creating-a-signature:
    its keys, nonce, timestamp, query and form body give hCtSmYh+iHYCEqBWrE7C7hYmtUk=."""
    header = sign(
        "post",
        "https://api.twitter.com/1.1/statuses/update.json?include_entities=true",
        api_key=fx.API_KEY,
        api_secret=fx.API_SECRET,
        access_token=fx.ACCESS_TOKEN_1A,
        access_token_secret=fx.ACCESS_SECRET_1A,
        form="status=Hello%20Ladies%20%2b%20Gentlemen%2c%20a%20signed%20OAuth%20request%21",
        nonce="kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg",
        timestamp="1318622958",
    )
    assert header.startswith("OAuth ")
    assert 'oauth_signature="hCtSmYh%2BiHYCEqBWrE7C7hYmtUk%3D"' in header
    assert 'oauth_signature_method="HMAC-SHA1"' in header and 'oauth_version="1.0"' in header


def test_the_signer_computes_rfc_5849s_example() -> None:
    """RFC 5849 §1.2 (GET photos.example.net/photos, HMAC-SHA1): its request has no
    oauth_version, so the base string is built with the same primitives `sign` uses."""
    from oauthlib.oauth1.rfc5849 import signature as s

    params = [
        ("file", "vacation.jpg"),
        ("size", "original"),
        ("oauth_consumer_key", "dpf43f3p2l4k3l03"),
        ("oauth_token", "nnch734d00sl2jdk"),
        ("oauth_signature_method", "HMAC-SHA1"),
        ("oauth_timestamp", "137131202"),
        ("oauth_nonce", "chapoH"),
    ]
    uri = s.base_string_uri("http://photos.example.net/photos")
    base = s.signature_base_string("GET", uri, s.normalize_parameters(params))
    keys = SimpleNamespace(
        client_secret="kd94hf93k423kf44", resource_owner_secret="pfkkdhi9sl3r4s00"
    )
    assert s.sign_hmac_sha1_with_client(base, keys) == "MdpQcU8iPSUjWoN/UDMsK2sui9I="


def test_oauth1_user_tokens_post_and_look_up(server: FakeX, tmp_path: Path) -> None:
    adapter = oauth1(server, tmp_path)
    assert adapter.check() == f"@{fx.USERNAME} (Brand)"
    sent = adapter.publish(make_outgoing(KEY, "signed"))
    assert server.requests_to("/2/tweets")[0].headers["authorization"].startswith("OAuth ")
    found = adapter.find(make_outgoing(KEY, "signed"), server.now() - timedelta(minutes=5))
    assert found is not None and found.remote_id == sent.remote_id  # query params signed
    assert not (tmp_path / "state" / "credentials.json").exists()  # nothing to store


def test_wrong_oauth1_keys_fail_with_a_hint_and_no_secret(server: FakeX, tmp_path: Path) -> None:
    adapter = oauth1(server, tmp_path, api_secret="not-the-right-secret-123")
    with pytest.raises(Permanent) as refused:
        adapter.publish(make_outgoing(KEY, "signed"))
    assert "Keys and tokens" in refused.value.message
    assert "not-the-right-secret-123" not in refused.value.message
    assert fx.ACCESS_SECRET_1A not in refused.value.message


def test_incomplete_oauth1_keys_say_which_is_missing(server: FakeX, tmp_path: Path) -> None:
    adapter = oauth1(server, tmp_path, access_token_secret="")
    adapter.options = {**adapter.options, "access_token_secret": "", "api_key": fx.API_KEY}
    with pytest.raises(Permanent, match="lacks access_token_secret"):
        adapter.publish(make_outgoing(KEY, "x"))


# --- the look-up ------------------------------------------------------------------------


def test_normalised_text_ignores_tco_links_and_entities() -> None:
    mine = "Ships <today> & tomorrow: https://example.com/a?b=c  #launch"
    theirs = "Ships &lt;today&gt; &amp; tomorrow: https://t.co/AbC123  #launch"
    assert normalised(mine) == normalised(theirs)
    assert normalised("Ships today") != normalised("Ships tomorrow")


def test_find_returns_this_jobs_post_only(server: FakeX, tmp_path: Path) -> None:
    adapter = oauth2(server, tmp_path)
    since = server.now() - timedelta(seconds=1)
    text = "Read this & that <now>: https://example.com/long/path?x=1"
    sent = adapter.publish(make_outgoing(KEY, text))
    adapter.publish(make_outgoing("dec:other@x", "another post"))
    found = adapter.find(make_outgoing(KEY, text), since)
    assert found == Sent(sent.remote_id, sent.url, {"id": sent.remote_id})
    assert adapter.find(make_outgoing(KEY, "never posted"), since) is None
    timeline = server.requests_to(f"/2/users/{fx.USER_ID}/tweets")[0]
    assert timeline.param("start_time") == since.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert "created_at" in (timeline.param("tweet.fields") or "")


def test_find_matches_a_thread_part_on_its_parent_too(server: FakeX, tmp_path: Path) -> None:
    adapter = oauth2(server, tmp_path)
    since = server.now() - timedelta(seconds=1)
    a = adapter.publish(make_outgoing(KEY, "thread one"))
    b = adapter.publish(make_outgoing("dec:b@x", "thread two"))
    reply = adapter.publish(make_outgoing(KEY + "#1", "more", part=1, reply_to=a, root=a))
    found = adapter.find(make_outgoing(KEY + "#1", "more", part=1, reply_to=a, root=a), since)
    assert found is not None and found.remote_id == reply.remote_id
    other = make_outgoing("dec:b@x#1", "more", part=1, reply_to=b, root=b)
    assert adapter.find(other, since) is None  # same words, another thread


def test_find_sees_a_post_with_media_despite_its_appended_link(
    server: FakeX, tmp_path: Path
) -> None:
    (tmp_path / "a.png").write_bytes(png())
    media = (Attachment(tmp_path / "a.png", None, tmp_path),)
    adapter = oauth2(server, tmp_path)
    since = server.now() - timedelta(seconds=1)
    sent = adapter.publish(make_outgoing(KEY, "look", media=media))
    assert server.posted()[0]["text"].startswith("look https://t.co/")
    found = adapter.find(make_outgoing(KEY, "look", media=media), since)
    assert found is not None and found.remote_id == sent.remote_id


def test_find_follows_pages_then_gives_up_as_transient(server: FakeX, tmp_path: Path) -> None:
    adapter = oauth2(server, tmp_path)
    since = server.now() - timedelta(seconds=1)
    first = adapter.publish(make_outgoing(KEY, "the oldest"))
    for i in range(105):
        server.tweets.append({**server.tweets[0], "id": str(10**18 + i), "sent": f"n{i}"})
        server.tweets[-1]["text"] = f"filler {i}"
    found = adapter.find(make_outgoing(KEY, "the oldest"), since)
    assert found is not None and found.remote_id == first.remote_id
    assert len(server.requests_to(f"/2/users/{fx.USER_ID}/tweets")) == 2
    for i in range(500):
        server.tweets.append({**server.tweets[0], "id": str(2 * 10**18 + i), "text": f"f{i}"})
    with pytest.raises(Transient, match="not in the 500 posts"):
        adapter.find(make_outgoing(KEY, "the oldest"), since)


# --- through the real CLI ---------------------------------------------------------------


@pytest.fixture
def x_project(project: Any, server: FakeX, monkeypatch: pytest.MonkeyPatch, now: Any) -> FakeX:
    lines, env = fx.account_lines(server)
    project.config(
        "accounts:\n  xx:\n"
        + "".join(f"    {line}\n" for line in lines)
        + "defaults:\n  timezone: Europe/Paris\n"
    )
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("CMCTL_HTTP_TIMEOUT", "0.5")
    project.calendar(
        calendar(
            post("a", at="2026-12-01 09:30", text="Bonjour & welcome https://example.com/x"),
            accounts="[xx]",
        )
    )
    now.move_to("2026-12-01T08:30:30Z")
    return server


def test_a_duplicate_refusal_after_an_ambiguous_attempt_is_published(
    run: Any, x_project: FakeX, slept: list[float]
) -> None:
    """The post went out but the answer was lost; X's timeline does not show it at the
    first look; the resend is refused as a duplicate: the second look finds it."""
    x_project.hang_next("/2/tweets", seconds=2.0, commit=True)
    x_project.lagging = 1
    result = run("publish", "--json")
    outcomes = as_json(result)["outcomes"]
    assert [o["state"] for o in outcomes] == ["retry", "published"], outcomes
    assert len(x_project.tweets) == 1
    assert len(x_project.requests_to("/2/tweets", "POST")) == 2  # the refused resend
    [job] = as_json(run("plan", "--json"))["jobs"]
    tweet_id = x_project.tweets[0]["id"]
    assert job["state"] == "published"
    assert job["url"] == f"https://x.com/{fx.USERNAME}/status/{tweet_id}"


def test_an_expired_access_token_is_refreshed_once_through_publish(
    run: Any, x_project: FakeX
) -> None:
    x_project.expire_access_tokens()
    result = run("publish", "--json")
    assert [o["state"] for o in as_json(result)["outcomes"]] == ["published"]
    assert x_project.refreshes == 1 and len(x_project.tweets) == 1


def test_a_revoked_login_fails_the_job_with_the_login_command(
    run: Any, x_project: FakeX, project: Any
) -> None:
    x_project.revoke()
    result = run("publish")
    assert result.exit_code == 1
    assert "log in again with `cmctl accounts login xx`" in result.stdout
    status = run("status")
    assert status.exit_code == 1
    assert "cmctl accounts login xx" in status.stdout
    check = run("accounts", "check")
    assert check.exit_code != 0 and "cmctl accounts login xx" in check.output
    everything = result.output + status.output + check.output + run("log", "--events").output
    ledger = (project.root / ".cmctl" / "ledger.sqlite3").read_bytes()
    tokens = [*x_project.access, *x_project.refresh_tokens]
    assert tokens
    for token in tokens:
        assert token not in everything and token.encode() not in ledger
    assert x_project.tweets == []


def test_accounts_check_names_the_account(run: Any, x_project: FakeX) -> None:
    result = run("accounts", "check")
    assert result.exit_code == 0, result.output
    assert f"@{fx.USERNAME}" in result.stdout


@pytest.mark.e2e
def test_two_processes_racing_with_a_token_about_to_expire_refresh_once(
    project: Any, processes: Processes
) -> None:
    """Two real `cmctl publish` runs at the same second, the stored access token within
    the renewal margin: one refresh in all (the rotated refresh token is spent once, so
    X never revokes the login), and each post exactly once."""
    import json
    import os
    import subprocess

    from cmctl.networks.credentials import Credential

    with FakeX() as server:
        access, refresh = server.grant()
        project.config(
            "accounts:\n  xx:\n    network: x\n"
            f"    client_id: {fx.CLIENT_ID}\n    api_url: {server.url}\n"
        )
        soon = datetime.now(UTC) + timedelta(minutes=2)
        CredentialStore(project.root / ".cmctl").save(
            "xx", Credential(access=access, refresh=refresh, expires_at=soon)
        )
        due = (datetime.now(UTC) - timedelta(minutes=2)).strftime("%Y-%m-%d %H:%M")
        project.calendar(
            calendar(
                *(post(f"p{i}", at=due, text=f"post {i}") for i in range(6)),
                accounts="[xx]",
                tz="UTC",
            )
        )
        env = {**os.environ, "NO_COLOR": "1"}
        procs = [
            processes.cmctl(
                "publish",
                "--json",
                cwd=project.root,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        published = []
        for proc in procs:
            stdout, stderr = proc.communicate(timeout=120)
            assert proc.returncode == 0, stderr
            outcomes = json.loads(stdout)["outcomes"]
            published += [o["key"] for o in outcomes if o["state"] == "published"]
        assert sorted(published) == sorted(f"dec:p{i}@xx" for i in range(6))
        assert sorted(t["sent"] for t in server.tweets) == [f"post {i}" for i in range(6)]
        assert server.refreshes == 1
        assert server.revoked == set()
        stored = CredentialStore(project.root / ".cmctl").get("xx")
        assert stored is not None and stored.refresh != refresh


def test_a_post_settled_by_hand_is_found_from_its_link(server: FakeX, tmp_path: Path) -> None:
    adapter = oauth2(server, tmp_path)
    sent = adapter.publish(make_outgoing(KEY, "mine"))
    link = f"https://twitter.com/{fx.USERNAME}/status/{sent.remote_id}?s=20"
    assert adapter.reference(link) == sent
    server.tweets.append({**server.tweets[0], "id": "42", "author_id": "999"})
    with pytest.raises(Permanent, match="another account"):
        adapter.reference("https://x.com/someone/status/42")
    with pytest.raises(Permanent, match="no post 7"):
        adapter.reference("https://x.com/someone/status/7")
    with pytest.raises(Permanent, match="not a link to a post on X"):
        adapter.reference("https://example.com/a/status/1")


def test_max_length_lets_a_longer_post_validate(project: Any, run: Any) -> None:
    long_text = "word " * 70  # 350 characters
    project.calendar(calendar(post("a", text=long_text), accounts="[xx]"))
    project.config("accounts:\n  xx:\n    network: x\n    client_id: abc\n")
    result = run("validate")
    assert result.exit_code == 1 and "/280" in result.output
    project.config("accounts:\n  xx:\n    network: x\n    client_id: abc\n    max_length: 25000\n")
    assert run("validate").exit_code == 0
