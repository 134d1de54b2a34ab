"""The LinkedIn adapter against FakeLinkedIn (tests/fakes/linkedin.py, from LinkedIn's docs).

Units: the declaration and its OAuth app; little text escaping on nasty texts (the fake
cuts a post at the first unescaped reserved character, as LinkedIn does); the post, its
headers and x-restli-id; images (one, several, alt text, uploaded once); comments as
thread parts; DUPLICATE_POST naming the post; the look-up a member's app cannot make and
a page's can; 426 and old versions; the login's code exchange, 60-day tokens, no renewal.
Through the CLI: a thread with images, a duplicate after an earlier attempt, an ambiguous
member post left `unknown`, an expired login, `accounts check` version warnings, `status`
saying when to log in again.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from cmctl.networks.base import Ambiguous, Attachment, AuthExpired, Duplicate, Permanent, Transient
from cmctl.networks.credentials import CredentialStore, LoginRequired
from cmctl.networks.http import Http
from cmctl.networks.linkedin import (
    LinkedIn,
    commentary,
    escape,
    suggested_version,
    version_warning,
)
from tests.conftest import as_json, calendar, post
from tests.fakes.linkedin import (
    CLIENT_ID,
    CLIENT_SECRET,
    MEMBER,
    MEMBER_NAME,
    ORGANIZATION,
    PAGE_TOKEN,
    TOKEN,
    FakeLinkedIn,
    Post,
    render,
)
from tests.networks.helpers import make_outgoing
from tests.test_validate import png

KEY = "dec:launch@lin"
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
NASTY = [
    "Plain text, nothing reserved.",
    "Our Q3 (final) results: 3*4 = 12 [draft] {json} <html> a|b ~approx~ snake_case @team",
    "Back\\slash and #notatag in the text, then C# and 100% #1!",
    "See (https://example.com/a_(b)_c?x=1&y=~z#frag) and https://ex.com/path_with_underscores.",
    "Emoji 👋🏽 then (parenthesis) 🇫🇷 [brackets]",
    "Ends with a reserved character *",
]


@pytest.fixture
def server(fake_linkedin: FakeLinkedIn) -> FakeLinkedIn:
    return fake_linkedin


def adapter(server: FakeLinkedIn, tmp_path: Path, **options: Any) -> LinkedIn:
    opts = {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "api_version": "202610",
        "access_token": TOKEN,
        "api_url": server.url,
        "auth_url": server.url,
        **options,
    }
    return LinkedIn("lin", opts, Http(timeout=2.0), tmp_path / "state")


def outgoing(saved: list[dict[str, Any]] | None = None, **changes: Any) -> Any:
    key = changes.pop("key", KEY)
    text = changes.pop("text", "We launch today (at last)! https://example.com/launch")
    if saved is not None:
        changes.setdefault("save_checkpoint", saved.append)
    return make_outgoing(key, text, **changes)


def image(tmp_path: Path, name: str = "a.png", alt: str | None = "A red rocket") -> Attachment:
    path = tmp_path / name
    path.write_bytes(png(4, 4))
    return Attachment(path, alt, tmp_path)


def created(server: FakeLinkedIn) -> list[dict[str, Any]]:
    return [dict(r.json or {}) for r in server.requests_to("/rest/posts", "POST")]


# --- declaration ----------------------------------------------------------------------


def test_declares_comments_a_lookup_and_a_60_day_login() -> None:
    assert LinkedIn.publishes and LinkedIn.threads and LinkedIn.finds
    assert LinkedIn.idempotency.value == "none"  # no look-up for most member apps
    app = LinkedIn.oauth
    assert app is not None
    assert (app.authorize_path, app.token_path) == (
        "/oauth/v2/authorization",
        "/oauth/v2/accessToken",
    )
    assert app.scopes == ("openid", "profile", "w_member_social")
    assert not app.pkce and app.client_auth == "body"
    assert app.access_lifetime == timedelta(days=60)
    assert LinkedIn.media_kind("video/mp4") is None  # images only, said by `validate`


def test_the_login_url_asks_for_a_pages_scopes_when_the_author_is_a_page(
    server: FakeLinkedIn, tmp_path: Path
) -> None:
    member = adapter(server, tmp_path).authorization_url("st", None, "http://127.0.0.1:8765/cb")
    page = adapter(server, tmp_path, author=ORGANIZATION).authorization_url("st", None, "x")
    assert member.startswith(f"{server.url}/oauth/v2/authorization?")
    query = parse_qs(urlsplit(member).query)
    assert query["scope"] == ["openid profile w_member_social"]
    assert query["client_id"] == [CLIENT_ID] and "code_challenge" not in query
    assert parse_qs(urlsplit(page).query)["scope"] == [
        "w_organization_social r_organization_social"
    ]
    default = LinkedIn("lin", {"client_id": CLIENT_ID}, Http(), tmp_path)
    assert default.authorization_url("s", None, "x").startswith(
        "https://www.linkedin.com/oauth/v2/authorization?"
    )


# --- little text ------------------------------------------------------------------------


@pytest.mark.parametrize("text", NASTY)
def test_escaped_text_is_shown_whole_by_linkedin(text: str) -> None:
    assert render(escape(text)) == text


def test_unescaped_text_is_cut_by_the_fake_as_by_linkedin() -> None:
    assert render("Our results (final) are in") == "Our results "  # the failure escaping avoids
    assert (
        render("Read https://example.com/a_b now #news") == "Read https://example.com/a_b now #news"
    )


def test_urls_stay_as_written_and_everything_else_is_escaped() -> None:
    text = "Docs (https://example.com/a_b?q=1) *now*"
    assert escape(text) == "Docs \\(https://example.com/a_b?q=1\\) \\*now\\*"
    assert escape("a\\b") == "a\\\\b"


def test_the_hashtag_line_cmctl_writes_stays_hashtags() -> None:
    out = outgoing(
        text="C# (and #more) today\n\nhttps://ex.com/x\n\n#launch #open_source",
        tags=("launch", "open_source"),
    )
    little = commentary(out)
    assert little == "C\\# \\(and \\#more\\) today\n\nhttps://ex.com/x\n\n#launch #open\\_source"
    assert render(little) == out.text
    # a text that merely ends like a hashtag line, without hashtags: escaped
    assert commentary(outgoing(text="Hi\n\n#launch")) == "Hi\n\n\\#launch"
    # a thread part never carries the hashtag line
    assert commentary(outgoing(text="#launch", tags=("launch",), part=1)) == "\\#launch"


# --- publishing ---------------------------------------------------------------------------


def test_a_text_post(server: FakeLinkedIn, tmp_path: Path) -> None:
    sent = adapter(server, tmp_path).publish(outgoing(text=NASTY[1]))
    [stored] = server.posts
    assert sent.remote_id == stored.id and sent.remote_id.startswith("urn:li:share:")
    assert sent.url == f"https://www.linkedin.com/feed/update/{stored.id}/"
    assert stored.text == NASTY[1]  # shown whole, not cut at "("
    [body] = created(server)
    assert body["author"] == MEMBER  # found through /v2/userinfo: the account set none
    assert body["visibility"] == "PUBLIC" and body["lifecycleState"] == "PUBLISHED"
    assert body["distribution"]["feedDistribution"] == "MAIN_FEED"
    assert body["isReshareDisabledByAuthor"] is False and "content" not in body
    [request] = server.requests_to("/rest/posts", "POST")
    assert request.headers["linkedin-version"] == "202610"
    assert request.headers["x-restli-protocol-version"] == "2.0.0"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"


def test_one_image_then_several_with_alt_text_uploaded_once(
    server: FakeLinkedIn, tmp_path: Path
) -> None:
    saved: list[dict[str, Any]] = []
    li = adapter(server, tmp_path)
    li.publish(outgoing(saved, media=(image(tmp_path),)))
    media = created(server)[0]["content"]["media"]
    assert media == {"id": media["id"], "altText": "A red rocket"}
    assert server.images[media["id"]] == png(4, 4)
    two = (image(tmp_path, "b.png", "B"), image(tmp_path, "c.png", None))
    saved.clear()
    server.fail_next("/rest/posts", 500, {"status": 500, "message": "Internal error"})
    with pytest.raises(Ambiguous):
        li.publish(outgoing(saved, key="dec:two@lin", media=two))
    assert len(saved) == 2 and len(server.requests_to("/rest/images")) == 3  # saved first
    li.publish(outgoing(saved, key="dec:two@lin", media=two, checkpoint=saved[-1]))
    assert len(server.requests_to("/rest/images")) == 3  # never uploaded again
    images = created(server)[-1]["content"]["multiImage"]["images"]
    assert [i.get("altText") for i in images] == ["B", None]
    assert "sig=secret-signature" not in str(saved)


def test_thread_parts_are_comments_on_the_post(server: FakeLinkedIn, tmp_path: Path) -> None:
    li = adapter(server, tmp_path)
    root = li.publish(outgoing())
    reply = li.publish(
        outgoing(key=f"{KEY}#1", text="More (details) here", part=1, root=root, reply_to=root)
    )
    [comment] = server.comments()
    assert comment["message"]["text"] == "More (details) here"
    assert comment["actor"] == MEMBER and comment["object"] == root.remote_id
    assert reply.remote_id == comment["$URN"]
    assert reply.url is not None and reply.url.startswith(root.url or "")
    # a member's app cannot list comments: an ambiguous comment cannot be looked up
    since = datetime(2026, 1, 1, tzinfo=UTC)
    assert li.find(outgoing(key=f"{KEY}#1", text="x", part=1, root=root), since) is None


def test_a_duplicate_refusal_names_the_post_and_find_returns_it(
    server: FakeLinkedIn, tmp_path: Path
) -> None:
    first = adapter(server, tmp_path).publish(outgoing())
    li = adapter(server, tmp_path)
    with pytest.raises(Duplicate) as refused:
        li.publish(outgoing())
    assert "DUPLICATE_POST" in refused.value.message
    since = datetime(2026, 1, 1, tzinfo=UTC)
    assert li.find(outgoing(), since) == first
    assert len(server.posts) == 1


def test_find_cannot_list_a_members_posts_but_can_a_pages(
    server: FakeLinkedIn, tmp_path: Path
) -> None:
    since = datetime(2020, 1, 1, tzinfo=UTC)
    member = adapter(server, tmp_path)
    member.publish(outgoing())
    assert adapter(server, tmp_path).find(outgoing(), since) is None  # 403: no r_member_social
    page = adapter(server, tmp_path / "p", author=ORGANIZATION, access_token=PAGE_TOKEN)
    sent = page.publish(outgoing(text="Page (news)"))
    fresh = adapter(server, tmp_path / "p", author=ORGANIZATION, access_token=PAGE_TOKEN)
    assert fresh.find(outgoing(text="Page (news)"), since) == sent
    assert fresh.find(outgoing(text="Another"), since) is None
    later = datetime.now(UTC) + timedelta(hours=1)
    assert fresh.find(outgoing(text="Page (news)"), later) is None  # posted before `since`


def test_an_inactive_version_says_which_to_set(
    server: FakeLinkedIn, tmp_path: Path, now: Any
) -> None:
    now.move_to("2026-12-01T08:30:00Z")
    with pytest.raises(Permanent) as refused:
        adapter(server, tmp_path, api_version="202301").publish(outgoing())
    assert "NONEXISTENT_VERSION" in refused.value.message
    assert 'api_version: "202611"' in refused.value.message
    with pytest.raises(Permanent, match='api_version: "202611"'):
        adapter(server, tmp_path, api_version="2025-11").publish(outgoing())
    assert server.posts == []


def test_version_warnings_with_a_frozen_clock() -> None:
    today = datetime(2026, 12, 1, tzinfo=UTC)
    assert version_warning("202602", today) is None  # 10 months: fine
    warning = version_warning("202601", today)
    assert warning is not None and "11 months" in warning and '"202611"' in warning
    assert suggested_version(datetime(2027, 1, 15, tzinfo=UTC)) == "202612"


def test_a_429_without_retry_after_waits_a_minute(server: FakeLinkedIn, tmp_path: Path) -> None:
    server.fail_next("/rest/posts", 429, {"status": 429, "message": "Too Many Requests"})
    with pytest.raises(Transient) as slow:
        adapter(server, tmp_path).publish(outgoing())
    assert slow.value.retry_after == 60.0


def test_an_expired_token_is_auth_expired_and_cannot_be_renewed(
    server: FakeLinkedIn, tmp_path: Path
) -> None:
    server.expire(TOKEN)
    li = adapter(server, tmp_path, author=MEMBER)
    with pytest.raises(AuthExpired):
        li.publish(outgoing())
    with pytest.raises(LoginRequired) as login:
        li.refresh()
    assert "cmctl accounts login lin" in login.value.message
    assert TOKEN not in login.value.message


def test_a_post_link_settled_by_hand_is_a_reference(server: FakeLinkedIn, tmp_path: Path) -> None:
    li = adapter(server, tmp_path)
    urn = "urn:li:share:7141138937766391808"
    found = li.reference(f"https://www.linkedin.com/feed/update/{urn}/?utm_source=share")
    assert found is not None and found.remote_id == urn
    assert found.url == f"https://www.linkedin.com/feed/update/{urn}/"
    with pytest.raises(Permanent, match="feed/update"):
        li.reference("https://www.linkedin.com/in/someone/")
    assert server.requests == []  # read from the link alone


# --- login ------------------------------------------------------------------------------


def test_the_code_exchange_finds_the_member_and_a_60_day_expiry(
    server: FakeLinkedIn, tmp_path: Path
) -> None:
    li = adapter(server, tmp_path, access_token="")
    cred = li.exchange_code(server.issue_code(), None, "http://127.0.0.1:8765/callback")
    assert cred.extra["author"] == MEMBER and cred.extra["name"] == MEMBER_NAME
    assert cred.refresh is None and cred.expires_at is not None
    left = cred.expires_at - datetime.now(UTC)
    assert timedelta(days=59) < left <= timedelta(days=60)
    [form] = server.requests_to("/oauth/v2/accessToken")
    assert b"client_secret=" in form.body and "authorization" not in form.headers
    with pytest.raises(LoginRequired, match="60 days"):
        li.renew(cred)
    page = adapter(server, tmp_path, access_token="", author=ORGANIZATION)
    page_cred = page.exchange_code(server.issue_code(), None, "x")
    assert "author" not in page_cred.extra  # the account names it
    assert len(server.requests_to("/v2/userinfo")) == 1


def test_a_logged_in_member_posts_as_the_member_found_at_login(
    server: FakeLinkedIn, tmp_path: Path
) -> None:
    li = adapter(server, tmp_path, access_token="")
    cred = li.exchange_code(server.issue_code(), None, "x")
    CredentialStore(tmp_path / "state").save("lin", cred)
    server.clear_requests()
    sent = adapter(server, tmp_path, access_token="").publish(outgoing())
    assert created(server)[0]["author"] == MEMBER and sent.remote_id
    assert server.requests_to("/v2/userinfo") == []  # kept from the login


# --- through the CLI -----------------------------------------------------------------------


@pytest.fixture
def li_project(
    project: Any, fake_linkedin: FakeLinkedIn, monkeypatch: pytest.MonkeyPatch, now: Any
) -> Iterator[Any]:
    project.config(
        "accounts:\n  lin:\n    network: linkedin\n"
        f"    client_id: {CLIENT_ID}\n    client_secret: ${{LI_SECRET}}\n"
        '    api_version: "202610"\n    access_token: ${LI_TOKEN}\n'
        f"    api_url: {fake_linkedin.url}\n    auth_url: {fake_linkedin.url}\n"
        "defaults:\n  timezone: Europe/Paris\n"
    )
    monkeypatch.setenv("LI_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("LI_TOKEN", TOKEN)
    monkeypatch.setenv("CMCTL_HTTP_TIMEOUT", "0.5")
    now.move_to("2026-12-01T08:30:30Z")
    yield project


def states(result: Any) -> list[str]:
    return [o["state"] for o in as_json(result)["outcomes"]]


def test_images_and_a_thread_through_publish(
    li_project: Any, run: Any, fake_linkedin: FakeLinkedIn
) -> None:
    li_project.write("media/a.png", png(8, 8))
    li_project.write("media/b.png", png(6, 6))
    li_project.calendar(
        calendar(
            post(
                "a",
                text="Launch (v2) *today* https://example.com/a_b",
                hashtags=["launch", "cm"],
                media=[{"path": "../media/a.png", "alt": "A square"}, {"path": "../media/b.png"}],
                thread=["Details [in] the comments"],
            ),
            accounts="[lin]",
        )
    )
    result = run("publish", "--json")
    assert result.exit_code == 0, result.output
    assert states(result) == ["published", "published"]
    [stored] = fake_linkedin.posts
    assert stored.text == "Launch (v2) *today* https://example.com/a_b\n\n#launch #cm"
    assert len(stored.content["multiImage"]["images"]) == 2  # type: ignore[index]
    assert fake_linkedin.comments()[0]["message"]["text"] == "Details [in] the comments"
    assert f"feed/update/{stored.id}/" in run("log").stdout


def test_a_duplicate_after_an_earlier_attempt_is_recorded_as_published(
    li_project: Any, run: Any, fake_linkedin: FakeLinkedIn, slept: list[float]
) -> None:
    li_project.calendar(calendar(post("a", text="Hello (world)"), accounts="[lin]"))
    # stored, but answered "come back later": the resend meets LinkedIn's duplicate check
    fake_linkedin.fail_next("/rest/posts", 503, {"status": 503, "message": "down"}, commit=True)
    result = run("publish", "--json")
    assert result.exit_code == 0, result.output
    assert states(result) == ["retry", "published"]
    [stored] = fake_linkedin.posts
    job = as_json(run("plan", "--json"))["jobs"][0]
    assert job["state"] == "published" and stored.id in job["url"]


def test_a_duplicate_on_a_first_attempt_fails(
    li_project: Any, run: Any, fake_linkedin: FakeLinkedIn
) -> None:
    li_project.calendar(calendar(post("a", text="Hello"), accounts="[lin]"))
    # the same text posted by hand before cmctl's first attempt
    fake_linkedin.posts.append(Post("urn:li:share:1", MEMBER, "Hello", "Hello", None, NOW))
    result = run("publish", "--json")
    assert result.exit_code == 1 and states(result) == ["failed"]
    assert "duplicate of urn:li:share:1" in as_json(result)["outcomes"][0]["message"]


def test_an_ambiguous_member_post_is_unknown_never_resent(
    li_project: Any, run: Any, fake_linkedin: FakeLinkedIn, slept: list[float]
) -> None:
    li_project.calendar(calendar(post("a"), accounts="[lin]"))
    fake_linkedin.hang_next("/rest/posts", seconds=2.0, commit=True)
    result = run("publish", "--json")
    assert result.exit_code == 1
    assert states(result)[-1] == "unknown"
    assert "a resend could duplicate it" in as_json(result)["outcomes"][-1]["message"]
    assert run("publish", "--json").exit_code in (0, 1)
    assert len(fake_linkedin.posts) == 1


def test_an_expired_login_fails_clearly_without_a_secret(
    li_project: Any, run: Any, fake_linkedin: FakeLinkedIn
) -> None:
    li_project.calendar(calendar(post("a"), accounts="[lin]"))
    fake_linkedin.expire(TOKEN)
    result = run("publish")
    assert result.exit_code == 1
    assert "cmctl accounts login lin" in result.stdout
    status = run("status")
    assert status.exit_code == 1 and "cmctl accounts login lin" in status.stdout
    everything = result.output + status.output + run("log", "--events").output
    for secret in (TOKEN, CLIENT_SECRET):
        assert secret not in everything
        assert secret.encode() not in (li_project.root / ".cmctl" / "ledger.sqlite3").read_bytes()
    assert fake_linkedin.posts == []


def test_accounts_check_names_the_member_and_warns_of_an_old_version(
    li_project: Any, run: Any, now: Any
) -> None:
    now.move_to("2027-09-15T08:00:00Z")  # 202610 is 11 months old then
    result = run("accounts", "check", "--json")
    assert result.exit_code == 0, result.output
    [checked] = as_json(result)["accounts"]
    assert checked["ok"] and "11 months old" in checked["message"]
    assert 'api_version: "202708"' in checked["message"]
    now.move_to("2026-12-01T08:30:30Z")
    result = run("accounts", "check", "--json")
    assert result.exit_code == 0, result.output
    [checked] = as_json(result)["accounts"]
    assert MEMBER_NAME in checked["message"] and "warning" not in checked["message"]


def test_status_says_when_to_log_in_again(
    li_project: Any, run: Any, now: Any, fake_linkedin: FakeLinkedIn
) -> None:
    li_project.calendar(calendar(post("a", at="2026-12-01 09:30"), accounts="[lin]"))
    assert run("publish").exit_code == 0  # the seeded token is stored, 60 days
    assert "log in again" not in run("status").stdout
    now.move_to("2027-01-20T08:00:00Z")  # 50 days later
    status = run("status")
    assert "cmctl accounts login lin" in status.stdout and "expires in" in status.stdout
