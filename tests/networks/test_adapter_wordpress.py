"""The WordPress adapter against the fake site (tests/fakes/wordpress.py), as units and
through the real CLI: Markdown as HTML (raw HTML escaped), the thread appended, the
featured image with its alt text, tags found, created or left out with a warning, the
slug chosen per job and looked up after an ambiguous send, errors with what to do."""

from __future__ import annotations

import base64
import zlib
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from cmctl.networks.base import Ambiguous, Attachment, Outgoing, Permanent
from cmctl.networks.http import Http
from cmctl.networks.wordpress import WordPress, render, slug_for
from tests.conftest import as_json, calendar, post
from tests.fakes.wordpress import APP_PASSWORD, FakeWordPress
from tests.networks.helpers import SCHEDULED, make_outgoing

KEY = "dec:launch@wp"


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


def image(tmp_path: Path, name: str, alt: str | None) -> Attachment:
    path = tmp_path / name
    path.write_bytes(png())
    return Attachment(path, alt, tmp_path)


def outgoing(**changes: Any) -> Outgoing:
    fields: dict[str, Any] = {"title": "Launch day", "text": "We *launch* today."}
    fields.update(changes)
    text = fields.pop("text")
    return make_outgoing(KEY, text, **fields)


@pytest.fixture
def site() -> Iterator[FakeWordPress]:
    with FakeWordPress() as server:
        yield server


def adapter(
    site: FakeWordPress, tmp_path: Path, user: str = "editor", password: str = APP_PASSWORD
) -> WordPress:
    options = {
        "site": "https://blog.example.com",
        "api_url": site.api_url,
        "username": user,
        "app_password": password,
    }
    return WordPress("wp", options, Http(secrets=[password], timeout=0.5), tmp_path)


# --- units --------------------------------------------------------------------------


def test_markdown_is_published_as_html_with_raw_html_escaped() -> None:
    html = render("A *b* **c**\n\n<script>alert(1)</script>\n\n- one\n- two")
    assert "<em>b</em>" in html and "<strong>c</strong>" in html
    assert "<li>one</li>" in html
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_the_slug_is_the_jobs_own_and_stable() -> None:
    one = outgoing(post_id="Lancement d'été 2026!")
    assert slug_for(one) == slug_for(replace(one, text="edited", title="other"))
    assert slug_for(one).startswith("lancement-d-t-2026-")
    other = replace(one, key="dec:launch@wp2")
    assert slug_for(other) != slug_for(one)
    long = outgoing(post_id="x" * 300)
    assert len(slug_for(long)) <= 80
    assert set(slug_for(outgoing(post_id="é"))) <= set("abcdefghijklmnopqrstuvwxyz0123456789-")


def test_a_post_is_published_with_title_html_link_and_basic_auth(
    site: FakeWordPress, tmp_path: Path
) -> None:
    out = outgoing(link="https://example.com/launch?a=1&b=2")
    sent = adapter(site, tmp_path).publish(out)
    [created] = site.posts
    assert sent.url == created["link"] == f"https://blog.example.com/{slug_for(out)}/"
    assert sent.remote_id == str(created["id"])
    assert created["title"]["raw"] == "Launch day"
    assert created["status"] == "publish"
    body = created["content"]["raw"]
    assert body.startswith("<p>We <em>launch</em> today.</p>")
    assert body.endswith(
        '<p><a href="https://example.com/launch?a=1&amp;b=2">'
        "https://example.com/launch?a=1&amp;b=2</a></p>\n"
    )
    [request] = site.requests_to("/wp/v2/posts", "POST")
    expected = base64.b64encode(f"editor:{APP_PASSWORD}".encode()).decode()
    assert request.headers["authorization"] == f"Basic {expected}"


def test_the_first_image_is_featured_with_its_alt_and_the_others_are_in_the_body(
    site: FakeWordPress, tmp_path: Path
) -> None:
    saved: list[dict[str, Any]] = []
    out = outgoing(
        media=(
            image(tmp_path, "rocket.png", "A red rocket"),
            image(tmp_path, "crowd.png", 'The "crowd"'),
        ),
        save_checkpoint=saved.append,
    )
    adapter(site, tmp_path).publish(out)
    first, second = site.media
    assert first["alt_text"] == "A red rocket" and second["alt_text"] == 'The "crowd"'
    assert first["data"] == png()
    [upload, _] = site.requests_to("/wp/v2/media", "POST")
    assert upload.headers["content-disposition"] == 'attachment; filename="rocket.png"'
    assert upload.headers["content-type"] == "image/png"
    [created] = site.posts
    assert created["featured_media"] == first["id"]
    body = created["content"]["raw"]
    assert f'<img src="{second["source_url"]}" alt="The &quot;crowd&quot;" />' in body
    assert first["source_url"] not in body
    # every upload was saved before the post was created
    assert len(saved[-1]["media"]) == 2
    assert site.requests.index(site.requests_to("/wp/v2/posts", "POST")[0]) > site.requests.index(
        site.requests_to(f"/wp/v2/media/{second['id']}")[0]
    )


def test_a_retry_never_uploads_again(site: FakeWordPress, tmp_path: Path) -> None:
    saved: list[dict[str, Any]] = []
    out = outgoing(media=(image(tmp_path, "a.png", "Alt"),), save_checkpoint=saved.append)
    site.fail_next("/wp/v2/posts", 503, {"code": "down", "message": "Down"})
    with pytest.raises(Exception, match="503"):
        adapter(site, tmp_path).publish(out)
    assert len(site.media) == 1
    adapter(site, tmp_path).publish(replace(out, checkpoint=saved[-1]))
    assert len(site.media) == 1  # the checkpoint's id was reused
    assert len(site.requests_to("/wp/v2/media", "POST")) == 1
    assert site.posts[0]["featured_media"] == site.media[0]["id"]


def test_tags_are_found_by_exact_name_or_created(site: FakeWordPress, tmp_path: Path) -> None:
    site.tags.append({"id": 7, "name": "newsletter", "slug": "newsletter", "count": 1})
    sent = adapter(site, tmp_path).publish(outgoing(tags=("News", "launch")))
    [created] = site.posts
    launch = next(t for t in site.tags if t["name"] == "launch")
    assert created["tags"] == [1, launch["id"]]  # "News" is the existing "news", not newsletter
    assert sent.warnings == ()


def test_a_tag_the_role_cannot_create_is_left_out_with_a_warning(
    site: FakeWordPress, tmp_path: Path
) -> None:
    sent = adapter(site, tmp_path, user="author").publish(outgoing(tags=("news", "launch")))
    [created] = site.posts
    assert created["tags"] == [1]
    [warning] = sent.warnings
    assert "tag 'launch' left out" in warning and "Editor or Administrator" in warning


def test_after_an_ambiguous_send_the_lookup_finds_the_post(
    site: FakeWordPress, tmp_path: Path
) -> None:
    wp = adapter(site, tmp_path)
    out = outgoing()
    assert wp.find(out, SCHEDULED) is None
    site.hang_next("/wp/v2/posts", seconds=2.0, commit=True)
    with pytest.raises(Ambiguous):
        wp.publish(out)
    found = wp.find(out, SCHEDULED)
    assert found is not None and found.url == site.posts[0]["link"]
    [lookup] = site.requests_to("/wp/v2/posts", "GET")[-1:]
    assert lookup.param("slug") == slug_for(out)
    assert lookup.param("status") == "any" and lookup.param("context") == "edit"
    # another job's post is not this one
    assert wp.find(replace(out, key="dec:other@wp", post_id="other"), SCHEDULED) is None


def test_the_fake_appends_2_to_a_clashing_slug(site: FakeWordPress, tmp_path: Path) -> None:
    wp = adapter(site, tmp_path)
    wp.publish(outgoing())
    wp.publish(outgoing())
    assert [p["slug"] for p in site.posts] == [slug_for(outgoing()), slug_for(outgoing()) + "-2"]


def test_the_lookup_needs_authentication_on_the_fake(site: FakeWordPress) -> None:
    import httpx

    answer = httpx.get(f"{site.api_url}/wp/v2/posts", params={"status": "any", "context": "edit"})
    assert answer.status_code == 401
    assert answer.json()["code"] == "rest_forbidden_context"


def test_a_wrong_password_says_what_to_do_and_never_shows_it(
    site: FakeWordPress, tmp_path: Path
) -> None:
    wrong = "wxyz WXYZ 9999 wxyz WXYZ 9999"
    with pytest.raises(Permanent) as caught:
        adapter(site, tmp_path, password=wrong).publish(outgoing())
    message = caught.value.message
    assert "invalid application password" in message
    assert "incorrect_password" in message
    assert "Application Passwords" in message and "`app_password`" in message
    assert wrong not in message and wrong.replace(" ", "") not in message


def test_a_role_that_cannot_publish_gets_a_hint(site: FakeWordPress, tmp_path: Path) -> None:
    site.users["contrib"] = (APP_PASSWORD, "contributor")
    with pytest.raises(Permanent) as caught:
        adapter(site, tmp_path, user="contrib").publish(outgoing())
    assert "rest_cannot_publish" in caught.value.message
    assert "Author, Editor or Administrator" in caught.value.message


def test_invalid_params_and_too_large_uploads_are_permanent(
    site: FakeWordPress, tmp_path: Path
) -> None:
    site.fail_next(
        "/wp/v2/posts",
        400,
        {
            "code": "rest_invalid_param",
            "message": "Invalid parameter(s): slug",
            "data": {"status": 400, "params": {"slug": "slug is not of type string."}},
        },
    )
    with pytest.raises(Permanent, match=r"Invalid parameter\(s\): slug.*slug is not of type"):
        adapter(site, tmp_path).publish(outgoing())
    site.max_upload = 10
    with pytest.raises(Permanent, match=r"413.*Maximum upload file size"):
        adapter(site, tmp_path).publish(outgoing(media=(image(tmp_path, "a.png", None),)))
    assert site.posts == []


def test_5xx_on_the_post_is_ambiguous_and_on_a_read_transient(
    site: FakeWordPress, tmp_path: Path
) -> None:
    from cmctl.networks.base import Transient

    site.fail_next("/wp/v2/posts", 500, {"code": "internal_server_error", "message": "Oops"})
    with pytest.raises(Ambiguous):
        adapter(site, tmp_path).publish(outgoing())
    site.fail_next("/wp/v2/tags", 502, "Bad Gateway")
    with pytest.raises(Transient):
        adapter(site, tmp_path).publish(outgoing(tags=("x",)))


def test_check_names_the_user_roles_and_site(site: FakeWordPress, tmp_path: Path) -> None:
    said = adapter(site, tmp_path).check()
    assert said == "editor (editor) on Brand Blog (https://blog.example.com)"
    assert site.posts == []


# --- through the CLI ----------------------------------------------------------------


@pytest.fixture
def wp_project(project: Any, site: FakeWordPress, monkeypatch: pytest.MonkeyPatch, now: Any) -> Any:
    def configure(user: str = "editor", site_url: str = "https://blog.example.com") -> None:
        project.config(
            "accounts:\n  wp:\n    network: wordpress\n"
            f"    site: {site_url}\n    api_url: {site.api_url}\n"
            f"    username: {user}\n    app_password: ${{WP_PASS}}\n"
            "defaults:\n  timezone: Europe/Paris\n"
        )

    configure()
    monkeypatch.setenv("WP_PASS", APP_PASSWORD)
    monkeypatch.setenv("CMCTL_HTTP_TIMEOUT", "0.5")
    now.move_to("2026-12-01T08:30:30Z")
    return configure


def test_publish_appends_the_thread_and_keeps_the_hashtags_as_tags(
    project: Any, run: Any, site: FakeWordPress, wp_project: Any
) -> None:
    project.calendar(
        calendar(
            post(
                "launch",
                text="It is *launch* day.",
                title="Launch day",
                hashtags=["news"],
                thread=["Part **two**.", "<script>alert(1)</script>"],
            ),
            accounts="[wp]",
        )
    )
    result = run("publish", "--json")
    assert result.exit_code == 0, result.stdout
    [outcome] = as_json(result)["outcomes"]
    assert outcome["state"] == "published"
    [created] = site.posts
    assert outcome["url"] == created["link"]
    body = created["content"]["raw"]
    assert body == (
        "<p>It is <em>launch</em> day.</p>\n<p>Part <strong>two</strong>.</p>\n"
        "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n"
    )
    assert "#news" not in body and created["tags"] == [1]
    assert run("log").stdout.count(created["link"]) >= 1


def test_a_forbidden_tag_is_a_warning_of_the_outcome_not_a_failure(
    project: Any, run: Any, site: FakeWordPress, wp_project: Any
) -> None:
    wp_project(user="author")
    project.calendar(
        calendar(post("a", title="T", hashtags=["brandnew"]), accounts="[wp]"),
    )
    result = run("publish", "--json")
    assert result.exit_code == 0, result.stdout
    [outcome] = as_json(result)["outcomes"]
    assert outcome["state"] == "published"
    assert "tag 'brandnew' left out" in outcome["message"]
    assert len(site.posts) == 1 and site.posts[0]["tags"] == []


def test_a_featured_image_through_the_cli(
    project: Any, run: Any, site: FakeWordPress, wp_project: Any
) -> None:
    project.write("calendars/img/rocket.png", png())
    project.calendar(
        "timezone: Europe/Paris\ndefaults:\n  accounts: [wp]\nposts:\n"
        "  - id: a\n    at: 2026-12-01 09:30\n    title: T\n    text: Hi\n"
        "    media:\n      - path: img/rocket.png\n        alt: A red rocket\n"
    )
    result = run("publish")
    assert result.exit_code == 0, result.stdout
    [item] = site.media
    assert item["alt_text"] == "A red rocket"
    assert site.posts[0]["featured_media"] == item["id"]


def test_a_wrong_password_fails_with_the_hint_and_no_secret(
    project: Any, run: Any, site: FakeWordPress, wp_project: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = "zzzz YYYY 0000 zzzz YYYY 0000"
    monkeypatch.setenv("WP_PASS", wrong)
    project.calendar(calendar(post("a", title="T"), accounts="[wp]"))
    result = run("publish")
    assert result.exit_code == 1
    assert "app_password" in result.stdout
    everything = result.stdout + result.stderr + run("status").stdout + run("log").stdout
    assert wrong not in everything and wrong.replace(" ", "") not in everything
    ledger = (project.root / ".cmctl" / "ledger.sqlite3").read_bytes()
    assert wrong.encode() not in ledger
    assert site.posts == []


def test_accounts_check_names_user_and_site(
    project: Any, run: Any, site: FakeWordPress, wp_project: Any
) -> None:
    result = run("accounts", "check")
    assert result.exit_code == 0, result.stdout
    assert "Brand Blog" in result.stdout and "editor" in result.stdout


@pytest.mark.parametrize(
    ("url", "warned"),
    [
        ("http://blog.example.com", True),
        ("https://blog.example.com", False),
        ("http://localhost:8080", False),
        ("http://127.0.0.1", False),
    ],
)
def test_a_plain_http_site_is_a_validate_warning(
    project: Any, run: Any, wp_project: Any, url: str, warned: bool
) -> None:
    wp_project(site_url=url)
    project.calendar(calendar(post("a", title="T"), accounts="[wp]"))
    result = run("validate")
    assert result.exit_code == 0, result.stdout
    said = result.stdout
    assert ("application passwords over HTTPS only" in said) is warned


def test_a_site_that_is_not_a_url_is_a_validate_error(
    project: Any, run: Any, wp_project: Any
) -> None:
    wp_project(site_url="ftp://blog.example.com")
    project.calendar(calendar(post("a", title="T"), accounts="[wp]"))
    result = run("validate")
    assert result.exit_code != 0
    assert "accounts.wp.site" in result.stdout + result.stderr
