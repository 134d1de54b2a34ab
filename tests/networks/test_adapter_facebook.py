"""The Facebook Pages adapter against the fake Graph API (tests/fakes/facebook.py).

Units: the adapter bound by hand to the fake (real HTTP on 127.0.0.1): posts, photos
uploaded unpublished and attached, comments as thread parts, the look-up, Graph's error
codes, `check`. Then the product through `cmctl publish`: an expired token, a 506
duplicate after an earlier attempt (found by the look-up, or not: `unknown`), a thread.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cmctl.networks.base import (
    Ambiguous,
    Attachment,
    AuthExpired,
    Duplicate,
    Idempotency,
    Outgoing,
    Permanent,
    Transient,
)
from cmctl.networks.facebook import BLOCKED_WAIT, THROTTLE_WAIT, Facebook
from cmctl.networks.http import Http
from tests.conftest import as_json, calendar, post
from tests.fakes.facebook import PAGE_ID, PAGE_TOKEN, USER_TOKEN, FakeFacebook, graph_error
from tests.networks.helpers import make_outgoing
from tests.networks.test_adapter_mastodon import png

KEY = "dec:launch@fb"
T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def adapter(fake: FakeFacebook, tmp_path: Path, **options: Any) -> Facebook:
    opts = {"page_id": PAGE_ID, "token": PAGE_TOKEN, "api_url": fake.url, **options}
    return Facebook("fb", opts, Http(timeout=2.0), tmp_path / "state")


def outgoing(text: str = "We launch today! https://example.com/launch", **changes: Any) -> Outgoing:
    return make_outgoing(changes.pop("key", KEY), text, **changes)


def image(tmp_path: Path, name: str = "a.png", alt: str | None = "A red rocket") -> Attachment:
    path = tmp_path / name
    path.write_bytes(png())
    return Attachment(path, alt)


class Saved:
    """Collects what an adapter saves as its checkpoint."""

    def __init__(self) -> None:
        self.last: dict[str, Any] | None = None

    def __call__(self, checkpoint: dict[str, Any]) -> None:
        self.last = json.loads(json.dumps(checkpoint))


# --- declaration --------------------------------------------------------------------


def test_declares_a_lookup_and_comments_as_threads() -> None:
    assert Facebook.publishes and Facebook.finds and Facebook.threads
    assert Facebook.idempotency is Idempotency.LOOKUP
    assert Facebook.idempotency_window == timedelta(0)
    assert {k.kind for k in Facebook.media_kinds} == {"image"}  # no video yet: validate says so


# --- publishing ---------------------------------------------------------------------


def test_text_post_with_the_token_in_a_header_and_its_link(
    fake_facebook: FakeFacebook, tmp_path: Path
) -> None:
    sent = adapter(fake_facebook, tmp_path).publish(outgoing())
    [created] = fake_facebook.posts
    assert created["message"] == "We launch today! https://example.com/launch"
    assert created["link"] == "https://example.com/launch"
    assert sent.remote_id == created["id"] and sent.url == created["permalink_url"]
    [feed] = fake_facebook.requests_to(f"/v23.0/{PAGE_ID}/feed", "POST")
    assert feed.headers["authorization"] == f"Bearer {PAGE_TOKEN}"
    for request in fake_facebook.requests:
        assert "access_token" not in request.query  # never in a URL


def test_api_version_is_the_accounts(fake_facebook: FakeFacebook, tmp_path: Path) -> None:
    adapter(fake_facebook, tmp_path, api_version="v24.0").publish(outgoing("Hi"))
    assert fake_facebook.requests_to(f"/v24.0/{PAGE_ID}/feed", "POST")
    with pytest.raises(Permanent, match="not a Graph API version"):
        adapter(fake_facebook, tmp_path, api_version="23").publish(outgoing("Hi"))


def test_photos_uploaded_unpublished_with_alt_text_then_attached(
    fake_facebook: FakeFacebook, tmp_path: Path
) -> None:
    saved = Saved()
    media = (image(tmp_path, "a.png"), image(tmp_path, "b.png", alt=None))
    out = outgoing("Two photos https://example.com", media=media, save_checkpoint=saved)
    adapter(fake_facebook, tmp_path).publish(out)
    photos = list(fake_facebook.photos.values())
    assert [p["published"] for p in photos] == [False, False]
    assert [p["alt_text_custom"] for p in photos] == ["A red rocket", None]
    [created] = fake_facebook.posts
    assert created["photos"] == [p["id"] for p in photos]
    assert created["link"] is None  # a link preview and photos do not mix
    assert saved.last is not None and sorted(saved.last["photos"].values()) == sorted(
        p["id"] for p in photos
    )


def test_a_retry_reuses_the_uploaded_photos(fake_facebook: FakeFacebook, tmp_path: Path) -> None:
    saved = Saved()
    media = (image(tmp_path),)
    fb = adapter(fake_facebook, tmp_path)
    fake_facebook.fail_next("/feed", 503, graph_error(2, "Service temporarily unavailable"))
    with pytest.raises(Ambiguous):  # a 5xx to a create: maybe (the look-up settles it)
        fb.publish(outgoing("Photo", media=media, save_checkpoint=saved))
    assert saved.last is not None  # saved before the post was attempted
    fb.publish(outgoing("Photo", media=media, checkpoint=saved.last, save_checkpoint=saved))
    assert len(fake_facebook.requests_to("/photos", "POST")) == 1
    assert len(fake_facebook.posts) == 1 and fake_facebook.posts[0]["photos"]


def test_thread_parts_are_comments_on_the_post(fake_facebook: FakeFacebook, tmp_path: Path) -> None:
    fb = adapter(fake_facebook, tmp_path)
    first = fb.publish(outgoing("Part one"))
    second = fb.publish(outgoing("Part two", key=KEY + "#1", part=1, root=first, reply_to=first))
    third = fb.publish(
        outgoing(
            "Part three",
            key=KEY + "#2",
            part=2,
            root=first,
            reply_to=second,
            media=(image(tmp_path),),
        )
    )
    comments = fake_facebook.comments[first.remote_id]
    assert [c["message"] for c in comments] == ["Part two", "Part three"]
    assert comments[1]["attachment_id"] is not None
    assert fake_facebook.photos[comments[1]["attachment_id"]]["alt_text_custom"] == "A red rocket"
    assert second.url == comments[0]["permalink_url"] and third.remote_id == comments[1]["id"]
    assert len(fake_facebook.posts) == 1


def test_a_comment_takes_one_photo(fake_facebook: FakeFacebook, tmp_path: Path) -> None:
    fb = adapter(fake_facebook, tmp_path)
    first = fb.publish(outgoing("Part one"))
    media = (image(tmp_path, "a.png"), image(tmp_path, "b.png"))
    with pytest.raises(Permanent, match="one photo"):
        fb.publish(outgoing("Two", key=KEY + "#1", part=1, root=first, media=media))


def test_the_url_falls_back_to_the_post_id(fake_facebook: FakeFacebook, tmp_path: Path) -> None:
    fake_facebook.fail_next(f"/{PAGE_ID}_101", 500, graph_error(1, "An unknown error occurred"))
    sent = adapter(fake_facebook, tmp_path).publish(outgoing("Hi"))
    assert sent.remote_id == f"{PAGE_ID}_101"
    assert sent.url == f"https://www.facebook.com/{PAGE_ID}_101"


# --- the look-up ----------------------------------------------------------------------


def test_find_matches_this_jobs_text_since_the_attempt(
    fake_facebook: FakeFacebook, tmp_path: Path, now: Any
) -> None:
    now.move_to(T0)
    fake_facebook.add_post("Hello", T0 - timedelta(days=2))  # the same text, long ago
    fb = adapter(fake_facebook, tmp_path)
    assert fb.find(outgoing("Hello"), since=T0 - timedelta(minutes=5)) is None
    fb.publish(outgoing("Other"))
    fb.publish(outgoing("Hello\r\n"))
    found = fb.find(outgoing("Hello"), since=T0 - timedelta(minutes=5))
    assert found is not None and found.remote_id == fake_facebook.posts[-1]["id"]
    assert found.url == fake_facebook.posts[-1]["permalink_url"]
    [read, *_] = fake_facebook.requests_to("/published_posts", "GET")
    assert read.param("since") == str(int((T0 - timedelta(minutes=5)).timestamp()))


def test_find_follows_the_cursor_never_the_next_url(
    fake_facebook: FakeFacebook, tmp_path: Path, now: Any
) -> None:
    now.move_to(T0)
    fake_facebook.add_post("Mine", T0 + timedelta(seconds=1))
    for i in range(150):
        fake_facebook.add_post(f"Later {i}", T0 + timedelta(seconds=10 + i))
    found = adapter(fake_facebook, tmp_path).find(outgoing("Mine"), since=T0)
    assert found is not None and found.remote_id == fake_facebook.posts[0]["id"]
    reads = fake_facebook.requests_to("/published_posts", "GET")
    assert [r.param("after") for r in reads] == [None, "100"]
    assert all("access_token" not in r.query for r in reads)


def test_find_a_comment_of_the_page_only(
    fake_facebook: FakeFacebook, tmp_path: Path, now: Any
) -> None:
    now.move_to(T0)
    fb = adapter(fake_facebook, tmp_path)
    first = fb.publish(outgoing("Part one"))
    part = outgoing("Part two", key=KEY + "#1", part=1, root=first, reply_to=first)
    other = Facebook(
        "fb",
        {"page_id": PAGE_ID, "token": USER_TOKEN, "api_url": fake_facebook.url},
        Http(timeout=2.0),
        tmp_path,
    )
    other.publish(part)  # a visitor comments the same words
    assert fb.find(part, since=T0) is None
    sent = fb.publish(part)
    found = fb.find(part, since=T0)
    assert found is not None and found.remote_id == sent.remote_id
    assert found.ref["post"] == first.remote_id
    assert fb.find(part, since=T0 + timedelta(hours=1)) is None  # older than the attempt


# --- errors ---------------------------------------------------------------------------


def test_expired_token_is_auth_expired_with_the_way_to_a_new_one(
    fake_facebook: FakeFacebook, tmp_path: Path
) -> None:
    fake_facebook.expire()
    with pytest.raises(AuthExpired) as caught:
        adapter(fake_facebook, tmp_path).publish(outgoing())
    message = caught.value.message
    assert "code 190" in message and "Get Page Access Token" in message
    assert PAGE_TOKEN not in message and PAGE_TOKEN not in str(caught.value)


def test_506_is_a_duplicate(fake_facebook: FakeFacebook, tmp_path: Path) -> None:
    fb = adapter(fake_facebook, tmp_path)
    fb.publish(outgoing("Same"))
    with pytest.raises(Duplicate, match="Duplicate status message"):
        fb.publish(outgoing("Same"))
    assert len(fake_facebook.posts) == 1


def test_368_waits_an_hour(fake_facebook: FakeFacebook, tmp_path: Path) -> None:
    fake_facebook.fail_next(
        "/feed",
        400,
        graph_error(368, "The action attempted has been deemed abusive or is otherwise disallowed"),
    )
    with pytest.raises(Transient) as caught:
        adapter(fake_facebook, tmp_path).publish(outgoing())
    assert (
        caught.value.retry_after == BLOCKED_WAIT and "temporarily blocked" in caught.value.message
    )


def test_throttled_waits_for_the_usage_headers(fake_facebook: FakeFacebook, tmp_path: Path) -> None:
    usage = {PAGE_ID: [{"type": "pages", "call_count": 100, "estimated_time_to_regain_access": 7}]}
    fake_facebook.fail_next(
        "/feed",
        400,
        graph_error(32, "(#32) Page request limit reached"),
        headers={"X-Business-Use-Case-Usage": json.dumps(usage)},
    )
    fb = adapter(fake_facebook, tmp_path)
    with pytest.raises(Transient) as caught:
        fb.publish(outgoing())
    assert caught.value.retry_after == 7 * 60 and "call_count at 100%" in caught.value.message
    with pytest.raises(Transient, match="not sent"):  # nothing is called until it falls
        fb.publish(outgoing())
    assert len(fake_facebook.requests_to("/feed")) == 1


@pytest.mark.parametrize("code", [4, 17, 32, 613])
def test_throttled_without_figures_waits_minutes(
    fake_facebook: FakeFacebook, tmp_path: Path, code: int
) -> None:
    fake_facebook.fail_next("/feed", 400, graph_error(code, "(#4) Application request limit"))
    with pytest.raises(Transient) as caught:
        adapter(fake_facebook, tmp_path).publish(outgoing())
    assert caught.value.retry_after == THROTTLE_WAIT


def test_other_graph_errors_are_permanent_with_facebooks_words(
    fake_facebook: FakeFacebook, tmp_path: Path
) -> None:
    body = graph_error(100, "(#100) Invalid parameter", 1349125)
    body["error"]["error_user_msg"] = "The link could not be read."
    fake_facebook.fail_next("/feed", 400, body)
    with pytest.raises(Permanent) as caught:
        adapter(fake_facebook, tmp_path).publish(outgoing())
    message = caught.value.message
    assert "Invalid parameter" in message and "The link could not be read." in message
    assert "code 100, subcode 1349125" in message


def test_a_server_error_on_the_post_is_ambiguous(
    fake_facebook: FakeFacebook, tmp_path: Path
) -> None:
    fake_facebook.fail_next("/feed", 500, graph_error(1, "An unknown error occurred"), commit=True)
    with pytest.raises(Ambiguous):
        adapter(fake_facebook, tmp_path).publish(outgoing())


# --- check ----------------------------------------------------------------------------


def test_check_names_the_page(fake_facebook: FakeFacebook, tmp_path: Path) -> None:
    assert adapter(fake_facebook, tmp_path).check() == f"Acme Notes (Facebook Page {PAGE_ID})"
    assert fake_facebook.posts == []


def test_check_refuses_a_user_token(fake_facebook: FakeFacebook, tmp_path: Path) -> None:
    with pytest.raises(Permanent, match="user token or another Page's") as caught:
        adapter(fake_facebook, tmp_path, token=USER_TOKEN).check()
    assert USER_TOKEN not in caught.value.message and "/me/accounts" in caught.value.message


# --- through the CLI ------------------------------------------------------------------


def fb_project(
    project: Any, fake: FakeFacebook, monkeypatch: pytest.MonkeyPatch, now: Any, *posts: str
) -> None:
    project.config(
        "accounts:\n  fb:\n    network: facebook\n"
        f'    page_id: "{PAGE_ID}"\n    token: ${{FB}}\n    api_url: {fake.url}\n'
        "defaults:\n  timezone: UTC\n"
    )
    monkeypatch.setenv("FB", PAGE_TOKEN)
    monkeypatch.setenv("CMCTL_HTTP_TIMEOUT", "0.5")
    project.calendar(calendar(*posts, accounts="[fb]", tz="UTC"))
    now.move_to("2026-12-01T09:30:30Z")


def states(run: Any) -> tuple[int, list[str]]:
    result = run("publish", "--json")
    return result.exit_code, [o["state"] for o in as_json(result)["outcomes"]]


def test_an_expired_token_fails_with_the_hint_and_no_secret(
    project: Any, run: Any, now: Any, fake_facebook: FakeFacebook, monkeypatch: pytest.MonkeyPatch
) -> None:
    fb_project(project, fake_facebook, monkeypatch, now, post("a", at="2026-12-01 09:30"))
    fake_facebook.expire()
    result = run("publish")
    assert result.exit_code == 1
    assert "Error validating access token" in result.stdout  # Facebook's words
    assert "update the account's `token`" in result.stdout  # and what to do
    [row] = as_json(run("status", "--json"))["attention"]
    assert "code 190" in row["reason"] and "Get Page Access Token" in row["reason"]
    everything = result.output + run("status").output + run("log", "--events").output
    assert PAGE_TOKEN not in everything
    assert PAGE_TOKEN.encode() not in (project.root / ".cmctl" / "ledger.sqlite3").read_bytes()
    assert fake_facebook.posts == []


def test_a_506_after_an_earlier_attempt_is_published_when_found(
    project: Any,
    run: Any,
    now: Any,
    slept: list[float],
    fake_facebook: FakeFacebook,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The first attempt timed out after Facebook stored the post; the look-up lags and
    sees nothing; the resend is refused (506); the second look-up finds the post."""
    fb_project(project, fake_facebook, monkeypatch, now, post("a", at="2026-12-01 09:30"))
    fake_facebook.hang_next("/feed", seconds=2.0, commit=True)
    fake_facebook.lagging_reads = 1
    code, seen = states(run)
    assert code == 0 and seen[-1] == "published", seen
    assert len(fake_facebook.posts) == 1
    assert len(fake_facebook.requests_to("/feed", "POST")) == 2  # the resend was refused
    assert (
        as_json(run("plan", "--json"))["jobs"][0]["url"] == fake_facebook.posts[0]["permalink_url"]
    )


def test_a_506_after_an_earlier_attempt_is_unknown_when_not_found(
    project: Any,
    run: Any,
    now: Any,
    slept: list[float],
    fake_facebook: FakeFacebook,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The first attempt never reached Facebook, but the same text was posted by hand
    two days ago: the 506 is about that post, not this job's. Never `failed`, never
    `published`: a human looks."""
    fb_project(project, fake_facebook, monkeypatch, now, post("a", at="2026-12-01 09:30"))
    fake_facebook.add_post("Bonjour", datetime(2026, 11, 29, 9, 0, tzinfo=UTC))
    fake_facebook.hang_next("/feed", seconds=2.0, commit=False)
    code, seen = states(run)
    assert code == 1 and seen[-1] == "unknown", seen
    assert len(fake_facebook.posts) == 1  # only the old one
    status = as_json(run("status", "--json"))
    [row] = status["attention"]
    assert row["state"] == "unknown" and "Duplicate status message" in row["reason"]


def test_a_thread_with_a_photo_through_the_cli(
    project: Any,
    run: Any,
    now: Any,
    slept: list[float],
    fake_facebook: FakeFacebook,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    project.write("media/a.png", png())
    fb_project(
        project,
        fake_facebook,
        monkeypatch,
        now,
        post(
            "a",
            at="2026-12-01 09:30",
            text="Launch",
            media=[{"path": "../media/a.png", "alt": "A rocket"}],
            thread=["deux", "trois"],
        ),
    )
    code, seen = states(run)
    assert code == 0 and seen == ["published"] * 3
    [created] = fake_facebook.posts
    assert created["message"] == "Launch" and len(created["photos"]) == 1
    assert fake_facebook.photos[created["photos"][0]]["alt_text_custom"] == "A rocket"
    comments = fake_facebook.comments[created["id"]]
    assert [c["message"] for c in comments] == ["deux", "trois"]
    urls = [j["url"] for j in as_json(run("plan", "--json"))["jobs"]]
    assert urls == [created["permalink_url"], *(c["permalink_url"] for c in comments)]


def test_accounts_check_with_a_user_token_says_so(
    project: Any, run: Any, now: Any, fake_facebook: FakeFacebook, monkeypatch: pytest.MonkeyPatch
) -> None:
    fb_project(project, fake_facebook, monkeypatch, now, post("a", at="2026-12-01 09:30"))
    monkeypatch.setenv("FB", USER_TOKEN)
    result = run("accounts", "check")
    assert result.exit_code != 0
    assert "user token" in result.output and USER_TOKEN not in result.output
    monkeypatch.setenv("FB", PAGE_TOKEN)
    result = run("accounts", "check")
    assert result.exit_code == 0 and "Acme Notes" in result.output
