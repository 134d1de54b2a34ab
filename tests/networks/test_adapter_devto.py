"""The DEV (dev.to) adapter against a fake Forem API v1 (tests/fakes/devto.py).

Units: the request as the API documents it (api-key, the v1 Accept header, the
article's fields), the look-up in /articles/me/all, every failure mapped to the typed
error the publisher expects, no secret in any message. Through the CLI: a duplicate
refusal settled by a look-up both ways, a duplicate on a first attempt, the cover image
fetched by URL, `validate`'s rules for DEV, an invalid key.
"""

from __future__ import annotations

import sqlite3
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cmctl.networks.base import Attachment, Duplicate, Outgoing, Permanent, Sent, Transient
from cmctl.networks.devto import DevTo
from cmctl.networks.http import Http
from tests.conftest import as_json, calendar, post
from tests.fakes.devto import API_KEY, FakeDevTo
from tests.networks.helpers import make_outgoing

KEY = "dec:launch@dev"
LINK = "https://acme.example/blog/launch"
SINCE = datetime(2000, 1, 1, tzinfo=UTC)


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


def outgoing(**changes: Any) -> Outgoing:
    fields: dict[str, Any] = {
        "title": "We launch",
        "link": LINK,
        "tags": ("News", "webdev"),
    }
    fields.update(changes)
    text = fields.pop("text", "Today we launch.\n\nMore soon.")
    return make_outgoing(KEY, text, **fields)


@pytest.fixture
def fake() -> Iterator[FakeDevTo]:
    with FakeDevTo() as server:
        yield server


def adapter(fake: FakeDevTo, key: str = API_KEY, **options: Any) -> DevTo:
    http = Http(secrets=[key], timeout=5)
    return DevTo(None, {"api_key": key, "api_url": f"{fake.url}/api", **options}, http, Path("."))


# --- publishing -----------------------------------------------------------------------


def test_an_article_goes_out_with_its_fields_and_the_v1_headers(fake: FakeDevTo) -> None:
    sent = adapter(fake).publish(outgoing())
    [request] = fake.requests_to("/api/articles", "POST")
    assert request.headers["api-key"] == API_KEY
    assert request.headers["accept"] == "application/vnd.forem.api-v1+json"
    assert fake.v0_requests == 0
    assert request.json == {
        "article": {
            "title": "We launch",
            "body_markdown": "Today we launch.\n\nMore soon.",
            "published": True,
            "tags": ["news", "webdev"],  # DEV's tags are lowercase
            "canonical_url": LINK,
        }
    }
    [article] = fake.mine()
    assert sent == Sent(str(article["id"]), article["url"], {"id": str(article["id"]),
                                                             "path": article["path"]})  # fmt: skip
    assert sent.url is not None and sent.url.startswith("https://dev.to/brand/we-launch-")


def test_without_a_link_no_canonical_url_is_sent(fake: FakeDevTo) -> None:
    adapter(fake).publish(outgoing(link=None, tags=()))
    [request] = fake.requests_to("/api/articles", "POST")
    sent: dict[str, Any] = request.json["article"] if request.json else {}
    assert "canonical_url" not in sent and sent["tags"] == []


def test_the_cover_is_the_first_image_at_its_media_url(fake: FakeDevTo, tmp_path: Path) -> None:
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "launch day.png").write_bytes(png())
    cover = Attachment(tmp_path / "media" / "launch day.png", "A rocket", tmp_path)
    dev = adapter(fake, media_url="https://cdn.acme.example/site/")
    dev.publish(outgoing(media=(cover,)))
    [request] = fake.requests_to("/api/articles", "POST")
    assert request.json is not None and request.json["article"]["main_image"] == (
        "https://cdn.acme.example/site/media/launch%20day.png"
    )


def test_a_cover_without_media_url_is_refused_before_sending(
    fake: FakeDevTo, tmp_path: Path
) -> None:
    (tmp_path / "a.png").write_bytes(png())
    with pytest.raises(Permanent, match="set media_url"):
        adapter(fake).publish(outgoing(media=(Attachment(tmp_path / "a.png", None, tmp_path),)))
    assert fake.requests_to("/api/articles", "POST") == []


def test_a_wrong_key_says_where_to_get_one_and_never_shows_it(fake: FakeDevTo) -> None:
    with pytest.raises(Permanent) as caught:
        adapter(fake, key="wrong-key-9876543210").publish(outgoing())
    message = caught.value.message
    assert "401 unauthorized" in message
    assert "https://dev.to/settings/extensions" in message
    assert "wrong-key-9876543210" not in message
    assert fake.articles == []


def test_a_validation_error_is_permanent_with_devs_words(fake: FakeDevTo) -> None:
    with pytest.raises(Permanent) as caught:
        adapter(fake).publish(outgoing(tags=("c++",)))
    assert not isinstance(caught.value, Duplicate)
    assert 'Tag "c++" contains non-alphanumeric or prohibited unicode characters' in (
        caught.value.message
    )


@pytest.mark.parametrize("same", ["body", "canonical"])
def test_devs_uniqueness_refusals_are_duplicates(fake: FakeDevTo, same: str) -> None:
    if same == "body":  # the same title and body from this user
        fake.add_article(title="We launch", body_markdown="Today we launch.\n\nMore soon.",
                         published=True)  # fmt: skip
        words = "Body markdown has already been taken"
    else:  # another user's article has the canonical URL
        fake.add_article(user_id=2, title="Other", body_markdown="x", published=True,
                         canonical_url=LINK)  # fmt: skip
        words = "Canonical url has already been taken"
    with pytest.raises(Duplicate, match=words):
        adapter(fake).publish(outgoing())


def test_devs_rate_limit_is_a_wait_of_its_retry_after(fake: FakeDevTo) -> None:
    dev = adapter(fake)
    for i in range(10):
        dev.publish(outgoing(title=f"Post {i}", link=f"{LINK}/{i}"))
    with pytest.raises(Transient) as caught:
        dev.publish(outgoing(title="One too many"))
    assert "Rate limit reached" in caught.value.message
    assert caught.value.retry_after is not None and 1 <= caught.value.retry_after <= 31


# --- the look-up ------------------------------------------------------------------------


def test_find_recognises_this_jobs_article_by_title_and_canonical_url(fake: FakeDevTo) -> None:
    dev = adapter(fake)
    assert dev.find(outgoing(), since=SINCE) is None
    fake.add_article(title="We launch", body_markdown="other", published=True,
                     canonical_url="https://acme.example/other")  # fmt: skip
    assert dev.find(outgoing(), since=SINCE) is None  # same title, another article
    mine = fake.add_article(title="We launch", body_markdown="edited by DEV", published=True,
                            canonical_url=LINK)  # fmt: skip
    found = dev.find(outgoing(), since=SINCE)
    assert found is not None and found.remote_id == str(mine["id"]) and found.url == mine["url"]
    request = fake.requests_to("/api/articles/me/all")[-1]
    assert request.headers["api-key"] == API_KEY
    assert request.param("page") == "1" and request.param("per_page") == "100"


def test_find_without_a_link_compares_the_body(fake: FakeDevTo) -> None:
    fake.add_article(title="We launch", body_markdown="Not this one", published=True)
    assert adapter(fake).find(outgoing(link=None), since=SINCE) is None
    fake.add_article(title="We launch", body_markdown="Today we launch.\n\nMore soon.\n",
                     published=True)  # fmt: skip
    assert adapter(fake).find(outgoing(link=None), since=SINCE) is not None


def test_find_ignores_an_article_published_before_the_first_attempt(fake: FakeDevTo) -> None:
    fake.add_article(title="We launch", body_markdown="b", published=True, canonical_url=LINK,
                     published_at="2026-11-20T10:00:00Z")  # fmt: skip
    since = datetime(2026, 11, 30, tzinfo=UTC)
    assert adapter(fake).find(outgoing(), since=since) is None
    assert adapter(fake).find(outgoing(), since=since - timedelta(days=30)) is not None


def test_find_reads_the_following_pages(fake: FakeDevTo) -> None:
    mine = fake.add_article(title="We launch", body_markdown="b", published=True,
                            canonical_url=LINK)  # fmt: skip
    for i in range(120):  # newer ones, listed first
        fake.add_article(title=f"Later {i}", body_markdown=f"b{i}", published=True)
    found = adapter(fake).find(outgoing(), since=SINCE)
    assert found is not None and found.remote_id == str(mine["id"])
    assert [r.param("page") for r in fake.requests_to("/api/articles/me/all")] == ["1", "2"]


def test_check_names_the_user(fake: FakeDevTo) -> None:
    assert adapter(fake).check().startswith("@brand (Brand) on 127.0.0.1")
    with pytest.raises(Permanent, match="settings/extensions"):
        adapter(fake, key="nope-nope-nope").check()


# --- through the CLI ------------------------------------------------------------------------


def dev_project(
    project: Any, fake: FakeDevTo, monkeypatch: pytest.MonkeyPatch, now: Any, *posts: str,
    extra: str = "",
) -> None:  # fmt: skip
    project.config(
        f"{extra}accounts:\n  dev:\n    network: devto\n    api_key: ${{DEVTO_KEY}}\n"
        f"    api_url: {fake.url}/api\ndefaults:\n  timezone: UTC\n"
    )
    monkeypatch.setenv("DEVTO_KEY", API_KEY)
    monkeypatch.setenv("CMCTL_HTTP_TIMEOUT", "0.5")
    project.calendar(calendar(*posts, accounts="[dev]", tz="UTC"))
    now.move_to("2026-12-01T09:30:30Z")


LAUNCH = post("launch", at="2026-12-01 09:30", text="Today we launch.", title="We launch",
              link=LINK, hashtags=["news"], thread=["More soon."])  # fmt: skip


def publish(run: Any) -> tuple[int, list[tuple[str, str]]]:
    result = run("publish", "--json")
    return result.exit_code, [(o["key"], o["state"]) for o in as_json(result)["outcomes"]]


def row(project: Any, key: str) -> sqlite3.Row:
    db = sqlite3.connect(project.root / ".cmctl" / "ledger.sqlite3")
    db.row_factory = sqlite3.Row
    try:
        found: sqlite3.Row = db.execute("SELECT * FROM jobs WHERE key = ?", (key,)).fetchone()
        return found
    finally:
        db.close()


def test_an_article_with_its_thread_is_published_once(
    project: Any, run: Any, now: Any, fake_devto: FakeDevTo, monkeypatch: pytest.MonkeyPatch
) -> None:
    dev_project(project, fake_devto, monkeypatch, now, LAUNCH)
    assert publish(run) == (0, [(KEY, "published")])
    [article] = fake_devto.mine()
    assert article["body_markdown"] == "Today we launch.\n\nMore soon."  # the thread appended
    assert (article["title"], article["canonical_url"], article["tag_list"]) == (
        "We launch", LINK, ["news"])  # fmt: skip
    assert row(project, KEY)["url"] == article["url"]
    assert publish(run) == (0, [])


def test_a_duplicate_after_an_ambiguous_attempt_is_found_by_the_look_up(
    project: Any,
    run: Any,
    now: Any,
    slept: list[float],
    fake_devto: FakeDevTo,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dev_project(project, fake_devto, monkeypatch, now, LAUNCH)
    fake_devto.fail_next("/api/articles", 502, "Bad Gateway", commit=True)
    fake_devto.lagging_reads = 1  # the first look-up does not see it yet: cmctl resends
    code, outcomes = publish(run)
    assert code == 0 and outcomes[-1] == (KEY, "published"), outcomes
    posts = fake_devto.requests_to("/api/articles", "POST")
    assert len(posts) == 2  # the resend was refused as a duplicate...
    assert len(fake_devto.mine()) == 1  # ...and the look-up found this job's article
    assert row(project, KEY)["url"] == fake_devto.mine()[0]["url"]


def test_a_duplicate_after_an_ambiguous_attempt_not_found_is_unknown(
    project: Any,
    run: Any,
    now: Any,
    slept: list[float],
    fake_devto: FakeDevTo,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dev_project(project, fake_devto, monkeypatch, now, LAUNCH)
    # an older article of the account with the same title and body (no canonical URL)
    fake_devto.add_article(title="We launch", body_markdown="Today we launch.\n\nMore soon.",
                           published=True, published_at="2026-11-20T10:00:00Z")  # fmt: skip
    fake_devto.fail_next("/api/articles", 502, "Bad Gateway")  # not committed
    code, outcomes = publish(run)
    assert code == 1 and outcomes[-1] == (KEY, "unknown"), outcomes
    assert "Body markdown has already been taken" in row(project, KEY)["reason"]
    assert len(fake_devto.mine()) == 1  # nothing of this job went out
    assert run("status").exit_code == 1


def test_a_duplicate_on_a_first_attempt_is_devs_no(
    project: Any, run: Any, now: Any, fake_devto: FakeDevTo, monkeypatch: pytest.MonkeyPatch
) -> None:
    dev_project(project, fake_devto, monkeypatch, now, LAUNCH)
    fake_devto.add_article(user_id=2, title="Theirs", body_markdown="x", published=True,
                           canonical_url=LINK)  # fmt: skip
    code, outcomes = publish(run)
    assert code == 1 and outcomes == [(KEY, "failed")]
    assert "Canonical url has already been taken" in row(project, KEY)["reason"]
    assert fake_devto.requests_to("/api/articles/me/all") == []  # no look-up: not ours


def test_the_cover_is_checked_at_its_url_then_sent_as_main_image(
    project: Any,
    run: Any,
    now: Any,
    slept: list[float],
    fake_devto: FakeDevTo,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.test_media_url import Files

    image = png(8, 8)
    with Files({}) as files:
        cover = post("launch", at="2026-12-01 09:30", text="Body", title="We launch",
                     media=[{"path": "../media/a.png", "alt": "A rocket"}])  # fmt: skip
        dev_project(project, fake_devto, monkeypatch, now, cover,
                    extra=f"media_url: {files.url}/site\n")  # fmt: skip
        project.write("media/a.png", image)
        code, outcomes = publish(run)
        assert {state for _, state in outcomes} == {"retry"}
        assert "/site/media/a.png answers 404" in row(project, KEY)["reason"]
        assert fake_devto.requests_to("/api/articles", "POST") == []  # no broken cover
        files.files["/site/media/a.png"] = image  # the site is deployed
        now.move_to("2026-12-01T09:55:00Z")
        code, outcomes = publish(run)
        assert code == 0 and outcomes == [(KEY, "published")]
        assert fake_devto.mine()[0]["main_image"] == f"{files.url}/site/media/a.png"


def test_validate_wants_media_url_a_title_and_devs_tags(
    project: Any, run: Any, now: Any, fake_devto: FakeDevTo, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.write("media/a.png", png())
    bad = post("launch", at="2026-12-07 09:00", text="Body", hashtags=["web-dev", "a" * 31, "ok"],
               media=[{"path": "../media/a.png", "alt": "A"}])  # fmt: skip
    dev_project(project, fake_devto, monkeypatch, now, bad)
    result = run("validate", "--format", "json")
    assert result.exit_code == 1
    found = {(d["rule"], d["message"]) for d in as_json(result)["diagnostics"]}
    assert ("article", "DEV (dev.to) publishes articles: the post needs a 'title'") in found
    assert ("article", "hashtag 'web-dev': devto tags are letters and digits only") in found
    assert ("article", f"hashtag '{'a' * 31}' is 31/30 characters for devto") in found
    assert any(rule == "media-url" and "needs media_url" in m for rule, m in found)
    assert not any("'ok'" in m for _, m in found)


def test_an_invalid_key_fails_with_the_hint_and_shows_no_secret(
    project: Any, run: Any, now: Any, fake_devto: FakeDevTo, monkeypatch: pytest.MonkeyPatch
) -> None:
    dev_project(project, fake_devto, monkeypatch, now, LAUNCH)
    monkeypatch.setenv("DEVTO_KEY", "revoked-key-5555-abcdef")
    result = run("publish")
    assert result.exit_code == 1
    assert "the API key is wrong or was revoked" in result.stdout
    assert "https://dev.to/settings/extensions" in result.stdout
    checked = run("accounts", "check")
    assert checked.exit_code != 0
    everything = (
        result.stdout + result.stderr + checked.stdout + checked.stderr
        + run("status").stdout + run("log", "--events").stdout
    )  # fmt: skip
    assert "revoked-key-5555-abcdef" not in everything
    ledger = (project.root / ".cmctl" / "ledger.sqlite3").read_bytes()
    assert b"revoked-key-5555-abcdef" not in ledger
    assert fake_devto.articles == []
