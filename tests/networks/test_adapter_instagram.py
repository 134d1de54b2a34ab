"""The Instagram adapter against a fake Instagram Platform (tests/fakes/instagram.py).

Units: containers as the API documents them (image_url + alt_text, REELS, a carousel),
the container's status polled as NotReady, the checkpoint saved before media_publish,
the look-up decided by the container's status, the publishing cap, Graph's errors, the
long-lived token (exchange, refresh rules), validate's caps on hashtags and mentions.
Through the CLI: a container IN_PROGRESS across runs, a token refreshed before it
expires, an expired login ("log in again", status exits 1), no secret in any output.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from cmctl.networks.base import (
    Ambiguous,
    Attachment,
    NotReady,
    Outgoing,
    Permanent,
    Sent,
    Transient,
)
from cmctl.networks.credentials import Credential, CredentialStore, LoginRequired
from cmctl.networks.http import Http
from cmctl.networks.instagram import Instagram
from tests.conftest import DEFAULT_NOW, as_json, calendar, post
from tests.fakes.base import RecordedRequest, Reply
from tests.fakes.instagram import APP_ID, APP_SECRET, USER_ID, FakeInstagram, graph_error
from tests.networks.helpers import make_outgoing
from tests.networks.test_declarations import JPEG

MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00" * 64
KEY = "dec:launch@ig"
CAPTION = "We launch today #news"


@pytest.fixture
def fake(now: Any) -> Iterator[FakeInstagram]:
    with FakeInstagram() as server:
        yield server


class Saves:
    """The checkpoints an adapter saves, as the publisher would keep them."""

    def __init__(self) -> None:
        self.saved: list[dict[str, Any]] = []

    @property
    def last(self) -> dict[str, Any] | None:
        return self.saved[-1] if self.saved else None

    def __call__(self, checkpoint: dict[str, Any]) -> None:
        self.saved.append(dict(checkpoint))


def files(tmp_path: Path, fake: FakeInstagram, *names: str) -> tuple[Attachment, ...]:
    items = []
    for name in names:
        data = MP4 if name.endswith(".mp4") else JPEG
        (tmp_path / "media").mkdir(exist_ok=True)
        (tmp_path / "media" / name).write_bytes(data)
        fake.serve(f"media/{name}", data)
        alt = None if name.endswith(".mp4") else f"alt of {name}"
        items.append(Attachment(tmp_path / "media" / name, alt, tmp_path))
    return tuple(items)


def outgoing(media: tuple[Attachment, ...], saves: Saves, **changes: Any) -> Outgoing:
    return make_outgoing(
        KEY,
        changes.pop("text", CAPTION),
        media=media,
        checkpoint=saves.last,
        save_checkpoint=saves,
        **changes,
    )


def adapter(
    fake: FakeInstagram, tmp_path: Path, token: str | None = None, **options: Any
) -> Instagram:
    token = token or fake.add_token(age=timedelta(days=2), left=timedelta(days=58))
    http = Http(timeout=5)
    opts = {
        "user_id": USER_ID,
        "access_token": token,
        "api_url": fake.url,
        "media_url": f"{fake.url}/cdn",
        "client_id": APP_ID,
        "client_secret": APP_SECRET,
        "token_url": fake.url,
        **options,
    }
    return Instagram("ig", opts, http, tmp_path / "state")


def form(request: Any) -> dict[str, str]:
    from tests.fakes.base import parse_form

    return {k: v[0].text for k, v in parse_form(request).items()}


# --- publishing -----------------------------------------------------------------------


def test_one_image_a_container_with_alt_text_then_media_publish(
    fake: FakeInstagram, tmp_path: Path
) -> None:
    saves = Saves()
    media = files(tmp_path, fake, "a.jpg")
    sent = adapter(fake, tmp_path).publish(outgoing(media, saves))
    [create] = fake.requests_to("/media", "POST")
    assert create.path == f"/v23.0/{USER_ID}/media"
    assert form(create) == {
        "image_url": f"{fake.url}/cdn/media/a.jpg",
        "alt_text": "alt of a.jpg",
        "caption": CAPTION,
    }
    [publish] = fake.requests_to("/media_publish", "POST")
    # the container was in the checkpoint before the one step that publishes
    assert saves.last is not None and form(publish) == {"creation_id": saves.last["container"]}
    [media_item] = fake.published()
    assert sent == Sent(media_item["id"], media_item["permalink"], {"id": media_item["id"]})
    assert fake.requests_to("/content_publishing_limit")  # the cap was read first
    assert all(r.headers["authorization"].startswith("Bearer ") for r in fake.requests_to("/media"))
    assert all("access_token" not in r.query for r in fake.requests_to("/media"))


def test_a_video_is_a_reel_polled_as_not_ready_until_finished(
    fake: FakeInstagram, tmp_path: Path
) -> None:
    saves = Saves()
    media = files(tmp_path, fake, "clip.mp4")
    ig = adapter(fake, tmp_path)
    with pytest.raises(NotReady) as caught:
        ig.publish(outgoing(media, saves))
    assert caught.value.retry_in == 30
    [create] = fake.requests_to("/media", "POST")
    assert form(create)["media_type"] == "REELS" and "alt_text" not in form(create)
    assert fake.requests_to("/media_publish") == []
    fake.advance_clock(61)
    ig.publish(outgoing(media, saves))
    assert len(fake.requests_to("/media", "POST")) == 1  # the same container, not a new one
    assert len(fake.published()) == 1


def test_several_files_are_a_carousel_of_items(fake: FakeInstagram, tmp_path: Path) -> None:
    saves = Saves()
    media = files(tmp_path, fake, "a.jpg", "b.jpg", "clip.mp4")
    ig = adapter(fake, tmp_path)
    with pytest.raises(NotReady):  # the video item is still processed
        ig.publish(outgoing(media, saves))
    items = [form(r) for r in fake.requests_to("/media", "POST")]
    assert [i.get("is_carousel_item") for i in items] == ["true"] * 3
    assert items[1]["alt_text"] == "alt of b.jpg" and "caption" not in items[0]
    assert items[2]["media_type"] == "VIDEO"  # a video inside a carousel
    assert saves.last is not None and len(saves.last["items"]) == 3
    fake.advance_clock(61)
    ig.publish(outgoing(media, saves))
    creates = [form(r) for r in fake.requests_to("/media", "POST")]
    assert len(creates) == 4  # three items once, then the carousel
    assert creates[3] == {
        "media_type": "CAROUSEL",
        "children": ",".join(saves.last["items"]),
        "caption": CAPTION,
    }
    [album] = fake.published()
    assert album["media_type"] == "CAROUSEL_ALBUM"


def test_media_publish_before_the_container_is_ready_is_not_ready(
    fake: FakeInstagram, tmp_path: Path
) -> None:
    saves = Saves()
    media = files(tmp_path, fake, "a.jpg")
    fake.fail_next("/media_publish", 400, graph_error(9007, "Media ID is not available", 2207027))
    with pytest.raises(NotReady):
        adapter(fake, tmp_path).publish(outgoing(media, saves))


def test_an_error_container_fails_with_instagrams_words(
    fake: FakeInstagram, tmp_path: Path
) -> None:
    saves = Saves()
    media = files(tmp_path, fake, "a.jpg")
    fake.processing = timedelta(seconds=60)
    ig = adapter(fake, tmp_path)
    with pytest.raises(NotReady):
        ig.publish(outgoing(media, saves))
    for container in fake.containers.values():
        container.status = "ERROR"
    with pytest.raises(Permanent, match="Media upload has failed with error code 2207082"):
        ig.publish(outgoing(media, saves))
    assert fake.published() == []


def test_an_expired_container_is_made_anew(fake: FakeInstagram, tmp_path: Path) -> None:
    saves = Saves()
    media = files(tmp_path, fake, "a.jpg")
    fake.processing = timedelta(seconds=60)
    ig = adapter(fake, tmp_path)
    with pytest.raises(NotReady):
        ig.publish(outgoing(media, saves))
    first = saves.last
    fake.processing = timedelta(0)
    fake.advance_clock(timedelta(hours=25))
    ig = adapter(
        fake, tmp_path, token=fake.add_token(age=timedelta(days=2), left=timedelta(days=9))
    )
    assert ig.find(outgoing(media, saves), DEFAULT_NOW) is None  # nothing of it online
    ig.publish(outgoing(media, saves))
    assert saves.last is not None and first is not None
    assert saves.last["container"] != first["container"]
    assert len(fake.published()) == 1


def test_a_media_error_from_instagram_is_permanent_with_its_words(
    fake: FakeInstagram, tmp_path: Path
) -> None:
    media = files(tmp_path, fake, "a.jpg")
    body = graph_error(-1, "Invalid parameter", 2207009, error_user_title="Aspect ratio",
                       error_user_msg="The aspect ratio is not supported.")  # fmt: skip
    fake.fail_next("/media", 400, body)
    with pytest.raises(Permanent) as caught:
        adapter(fake, tmp_path).publish(outgoing(media, Saves()))
    assert "The aspect ratio is not supported." in caught.value.message
    assert "subcode 2207009" in caught.value.message


@pytest.mark.parametrize("subcode", [2207001, 2207003, 2207032, 2207053])
def test_the_subcodes_the_docs_say_to_retry_are_transient(
    fake: FakeInstagram, tmp_path: Path, subcode: int
) -> None:
    media = files(tmp_path, fake, "a.jpg")
    fake.fail_next("/media", 400, graph_error(-2, "Instagram server error", subcode))
    with pytest.raises(Transient):
        adapter(fake, tmp_path).publish(outgoing(media, Saves()))


def test_the_publishing_cap_waits_without_publishing(fake: FakeInstagram, tmp_path: Path) -> None:
    media = files(tmp_path, fake, "a.jpg")
    fake.quota_used_elsewhere = 50
    with pytest.raises(Transient) as caught:
        adapter(fake, tmp_path).publish(outgoing(media, Saves()))
    assert "publishing limit is reached (50/50" in caught.value.message
    assert caught.value.retry_after == 3600
    assert fake.requests_to("/media_publish") == []


def test_rate_limits_wait_for_the_usage_headers(fake: FakeInstagram, tmp_path: Path) -> None:
    media = files(tmp_path, fake, "a.jpg")
    usage = '{"call_count": 100, "total_cputime": 20, "total_time": 30}'
    fake.fail_next("/media", 400, graph_error(4, "Application request limit reached"),
                   headers={"X-App-Usage": usage})  # fmt: skip
    with pytest.raises(Transient) as caught:
        adapter(fake, tmp_path).publish(outgoing(media, Saves()))
    assert "rate limit" in caught.value.message and caught.value.retry_after == 600


def test_action_blocked_on_media_publish_is_ambiguous(fake: FakeInstagram, tmp_path: Path) -> None:
    """Meta has answered 4 / 2207051 to posts that went out: the container decides."""
    saves = Saves()
    media = files(tmp_path, fake, "a.jpg")
    fake.fail_next("/media_publish", 400, graph_error(4, "Action is blocked", 2207051),
                   commit=True)  # fmt: skip
    ig = adapter(fake, tmp_path)
    with pytest.raises(Ambiguous):
        ig.publish(outgoing(media, saves))
    found = ig.find(outgoing(media, saves), DEFAULT_NOW - timedelta(minutes=1))
    assert found is not None and found.remote_id == fake.published()[0]["id"]


# --- look-up -------------------------------------------------------------------------


def test_a_published_container_is_found_by_caption_not_by_being_newest(
    fake: FakeInstagram, tmp_path: Path
) -> None:
    saves = Saves()
    media = files(tmp_path, fake, "a.jpg")
    fake.hang_next("/media_publish", seconds=2.0, commit=True)
    ig = adapter(fake, tmp_path)
    ig.http.client.timeout = 0.5  # type: ignore[assignment]
    with pytest.raises(Ambiguous):
        ig.publish(outgoing(media, saves))
    ours = fake.published()[0]
    # someone posts from the app right after: the newest is not ours
    other = fake.add_token(age=timedelta(days=2), left=timedelta(days=50))
    theirs = adapter(fake, tmp_path, token=other)
    theirs.publish(outgoing(media, Saves(), text="Another post"))
    found = adapter(fake, tmp_path).find(outgoing(media, saves), DEFAULT_NOW - timedelta(minutes=2))
    assert found is not None and found.remote_id == ours["id"] and found.url == ours["permalink"]


def test_a_finished_container_is_published_again_not_looked_up(
    fake: FakeInstagram, tmp_path: Path
) -> None:
    saves = Saves()
    media = files(tmp_path, fake, "a.jpg")
    fake.hang_next("/media_publish", seconds=2.0, commit=False)  # never reached Instagram
    ig = adapter(fake, tmp_path)
    ig.http.client.timeout = 0.5  # type: ignore[assignment]
    with pytest.raises(Ambiguous):
        ig.publish(outgoing(media, saves))
    assert fake.published() == []
    again = adapter(fake, tmp_path)
    assert again.find(outgoing(media, saves), DEFAULT_NOW) is None
    assert fake.requests_to(f"/{USER_ID}/media", "GET") == []  # the status said enough
    again.publish(outgoing(media, saves))
    assert len(fake.requests_to("/media", "POST")) == 1  # the same container
    assert len(fake.published()) == 1


def test_a_published_container_not_listed_yet_is_asked_again_later(
    fake: FakeInstagram, tmp_path: Path
) -> None:
    saves = Saves()
    media = files(tmp_path, fake, "a.jpg")
    ig = adapter(fake, tmp_path)
    ig.publish(outgoing(media, saves))
    fake.media.clear()  # a lagging listing
    with pytest.raises(Transient, match="not listed yet"):
        ig.find(outgoing(media, saves), DEFAULT_NOW)
    with pytest.raises(Transient, match="never published twice"):
        ig.publish(outgoing(media, saves))


# --- validate --------------------------------------------------------------------------


def test_caption_caps_on_hashtags_and_mentions() -> None:
    tags = " ".join(f"#t{i}" for i in range(30))
    assert Instagram.check_text(tags, has_media=True)[2] == []
    assert Instagram.check_text(tags + " #one", has_media=True)[2] == [
        "31 hashtags; instagram takes at most 30"
    ]
    mentions = " ".join(f"@u{i}" for i in range(21))
    assert Instagram.check_text(mentions, has_media=True)[2] == [
        "21 @ mentions; instagram takes at most 20"
    ]
    # not hashtags or mentions: a URL's fragment, an e-mail, an HTML entity
    words = "https://a.example/p#frag me@brand.example &#39; " * 40
    assert Instagram.check_text(words, has_media=True)[2] == []


def test_validate_counts_hashtags_in_the_final_caption(
    project: Any, run: Any, now: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.write("media/a.jpg", JPEG)
    own = " ".join(f"#own{i}" for i in range(20))
    line = [f"tag{i}" for i in range(11)]
    project.config(
        "media_url: https://cdn.example\naccounts:\n  ig:\n    network: instagram\n"
        "defaults:\n  timezone: Europe/Paris\n"
    )
    project.calendar(calendar(post("a", at="2026-12-07 09:00", text=own, hashtags=line,
                                   media=[{"path": "../media/a.jpg", "alt": "A"}]),
                              accounts="[ig]"))  # fmt: skip
    result = run("validate", "--format", "json")
    assert result.exit_code == 1
    messages = [d["message"] for d in as_json(result)["diagnostics"]]
    assert any("31 hashtags; instagram takes at most 30" in m for m in messages), messages


# --- tokens ----------------------------------------------------------------------------


def test_login_trades_the_code_for_a_60_day_token_and_learns_the_user(
    fake: FakeInstagram, tmp_path: Path
) -> None:
    ig = adapter(fake, tmp_path, user_id="", access_token="")
    code = fake.issue_code()
    cred = ig.exchange_code(code, None, "http://127.0.0.1:8765/callback")
    [exchange] = fake.requests_to("/oauth/access_token", "POST")
    assert form(exchange) == {
        "client_id": APP_ID,
        "client_secret": APP_SECRET,
        "grant_type": "authorization_code",
        "redirect_uri": "http://127.0.0.1:8765/callback",
        "code": code,
    }
    [long] = fake.requests_to("/access_token", "GET")
    assert long.param("grant_type") == "ig_exchange_token"
    assert long.param("client_secret") == APP_SECRET
    assert fake.tokens[cred.access].long
    assert cred.expires_at == DEFAULT_NOW + timedelta(days=60)
    assert cred.refresh is None and cred.extra["user_id"] == USER_ID
    url = ig.authorization_url("st4te", None, "http://127.0.0.1:8765/callback")
    assert url.startswith("https://www.instagram.com/oauth/authorize?")
    assert "scope=instagram_business_basic%2Cinstagram_business_content_publish" in url
    assert "code_challenge" not in url


def test_the_fakes_browser_step_gives_a_code_the_adapter_exchanges(
    fake: FakeInstagram, tmp_path: Path
) -> None:
    import httpx

    ig = adapter(fake, tmp_path, user_id="", access_token="", auth_url=fake.url)
    url = ig.authorization_url("st4te", None, "http://127.0.0.1:8765/callback")
    answer = httpx.get(url, follow_redirects=False)
    assert answer.status_code == 302
    back = httpx.URL(answer.headers["location"])
    assert back.params["state"] == "st4te"
    cred = ig.exchange_code(back.params["code"], None, "http://127.0.0.1:8765/callback")
    assert fake.tokens[cred.access].long


def test_a_refused_exchange_never_shows_a_secret(
    fake: FakeInstagram, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ig = adapter(fake, tmp_path, user_id="", access_token="")
    code = fake.issue_code()

    def echo(request: RecordedRequest) -> Reply:  # a server that quotes the query back
        return Reply(400, graph_error(100, f"bad request: {request.query} code={code}"))

    monkeypatch.setattr(fake, "_long_lived", echo)
    with pytest.raises(LoginRequired) as caught:
        ig.exchange_code(code, None, "http://127.0.0.1:8765/callback")
    message = str(caught.value)
    assert "log in again with `cmctl accounts login ig`" in message and "bad request" in message
    short = next(t for t, v in fake.tokens.items() if not v.long)
    for secret in (APP_SECRET, code, short):
        assert secret not in message


def stored(state: Path, token: str, *, age: timedelta, left: timedelta) -> None:
    """A credential cmctl got at a login ``age`` ago, expiring ``left`` from now."""
    from cmctl import clock

    CredentialStore(state).save(
        "ig",
        Credential(
            token,
            expires_at=clock.now() + left,
            extra={"issued_at": (clock.now() - age).isoformat(), "user_id": USER_ID},
        ),
    )


@pytest.mark.parametrize(
    ("age", "left", "refreshed"),
    [
        (timedelta(days=30), timedelta(days=30), False),  # far from its expiry
        (timedelta(days=51), timedelta(days=9), True),  # within 10 days, old enough
        (timedelta(hours=2), timedelta(days=9), False),  # under 24 h: Instagram would refuse
    ],
)
def test_a_token_is_refreshed_only_when_old_enough_and_near_its_expiry(
    fake: FakeInstagram, tmp_path: Path, age: timedelta, left: timedelta, refreshed: bool
) -> None:
    token = fake.add_token(age=age, left=left)
    stored(tmp_path / "state", token, age=age, left=left)
    ig = adapter(fake, tmp_path, token=None, access_token="", user_id="")
    used = ig.access_token()
    assert bool(fake.requests_to("/refresh_access_token")) is refreshed
    assert (used != token) is refreshed
    cred = CredentialStore(tmp_path / "state").get("ig")
    assert cred is not None and cred.access == used and cred.extra["user_id"] == USER_ID
    if refreshed:
        assert cred.expires_at == DEFAULT_NOW + timedelta(days=60)


def test_an_expired_login_says_log_in_again(fake: FakeInstagram, tmp_path: Path) -> None:
    stored(tmp_path / "state", "IGAAgone", age=timedelta(days=61), left=-timedelta(days=1))
    ig = adapter(fake, tmp_path, access_token="")
    with pytest.raises(LoginRequired, match=r"expired on .*cmctl accounts login ig"):
        ig.access_token()
    assert fake.requests_to("/refresh_access_token") == []


def test_a_seeded_token_is_refreshed_after_a_day_to_learn_its_expiry(
    fake: FakeInstagram, tmp_path: Path, now: Any
) -> None:
    token = fake.add_token(age=timedelta(days=40), left=timedelta(days=20))
    first = adapter(fake, tmp_path, token=token)
    assert first.access_token() == token  # seen for the first time: not refreshed
    now.shift(timedelta(hours=25))
    second = adapter(fake, tmp_path, token=token)
    fresh = second.access_token()
    assert fresh != token and fake.tokens[fresh].long
    cred = CredentialStore(tmp_path / "state").get("ig")
    assert cred is not None and "seeded" not in cred.extra and cred.extra.get("seed")
    now.shift(timedelta(hours=25))
    assert adapter(fake, tmp_path, token=token).access_token() == fresh  # kept until day 50


# --- through the CLI -----------------------------------------------------------------------


def ig_project(project: Any, fake: FakeInstagram, monkeypatch: pytest.MonkeyPatch, now: Any,
               *names: str, seed: str | None = None) -> None:  # fmt: skip
    lines = [
        "accounts:",
        "  ig:",
        "    network: instagram",
        f'    user_id: "{USER_ID}"',
        f'    client_id: "{APP_ID}"',
        "    client_secret: ${IG_SECRET}",
        f"    api_url: {fake.url}",
        f"    media_url: {fake.url}/cdn",
    ]
    if seed:
        lines.append("    access_token: ${IG_TOKEN}")
        monkeypatch.setenv("IG_TOKEN", seed)
    monkeypatch.setenv("IG_SECRET", APP_SECRET)
    monkeypatch.setenv("CMCTL_HTTP_TIMEOUT", "0.5")
    project.config("\n".join(lines) + "\ndefaults:\n  timezone: Europe/Paris\n  catch_up: 3h\n")
    media = []
    for name in names:
        data = MP4 if name.endswith(".mp4") else JPEG
        project.write(f"media/{name}", data)
        fake.serve(f"media/{name}", data)
        media.append({"path": f"../media/{name}", "alt": "A rocket"})
    project.calendar(calendar(post("launch", at="2026-12-01 09:30", text=CAPTION, media=media),
                              accounts="[ig]"))  # fmt: skip
    now.move_to("2026-12-01T08:30:30Z")


def publish(run: Any) -> tuple[int, list[dict[str, Any]]]:
    result = run("publish", "--json")
    return result.exit_code, as_json(result)["outcomes"]


def test_a_container_in_progress_waits_across_runs_without_failing(
    project: Any, run: Any, now: Any, slept: list[float], fake: FakeInstagram,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    ig_project(project, fake, monkeypatch, now, "clip.mp4",
               seed=fake.add_token(age=timedelta(days=2), left=timedelta(days=50)))  # fmt: skip
    fake.video_processing = timedelta(seconds=90)
    code, outcomes = publish(run)
    assert code == 1 and [o["state"] for o in outcomes] == ["retry"]
    assert "not ready yet" in outcomes[0]["message"]
    assert slept == []  # 30 s: the next run comes back, nothing sleeps
    now.shift(40)
    code, outcomes = publish(run)
    assert [o["state"] for o in outcomes] == ["retry"]  # still IN_PROGRESS
    now.shift(60)
    code, outcomes = publish(run)
    assert code == 0 and [o["state"] for o in outcomes] == ["published"]
    assert len(fake.requests_to("/media", "POST")) == 1  # one container across the runs
    assert len(fake.published()) == 1
    plan = as_json(run("plan", "--json"))["jobs"][0]
    assert plan["url"] == fake.published()[0]["permalink"]


def test_a_carousel_committed_then_timed_out_is_never_duplicated(
    project: Any, run: Any, now: Any, slept: list[float], fake: FakeInstagram,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    ig_project(project, fake, monkeypatch, now, "a.jpg", "b.jpg",
               seed=fake.add_token(age=timedelta(days=2), left=timedelta(days=50)))  # fmt: skip
    fake.hang_next("/media_publish", seconds=2.0, commit=True)
    code, outcomes = publish(run)
    assert code == 0, outcomes
    assert [o["state"] for o in outcomes] == ["retry", "published"]
    assert len(fake.published()) == 1
    assert len(fake.requests_to("/media_publish")) == 1  # found, not published again


def test_a_token_near_its_expiry_is_refreshed_and_the_post_sent(
    project: Any, run: Any, now: Any, fake: FakeInstagram, monkeypatch: pytest.MonkeyPatch
) -> None:
    ig_project(project, fake, monkeypatch, now, "a.jpg")
    token = fake.add_token(age=timedelta(days=55), left=timedelta(days=5))
    stored(project.root / ".cmctl", token, age=timedelta(days=55), left=timedelta(days=5))
    code, outcomes = publish(run)
    assert code == 0 and [o["state"] for o in outcomes] == ["published"], outcomes[0]["message"]
    assert len(fake.requests_to("/refresh_access_token")) == 1
    assert token not in fake.tokens  # the old one was traded for the new one
    check = run("accounts", "check")
    assert check.exit_code == 0 and "@brand" in check.output
    assert len(fake.requests_to("/refresh_access_token")) == 1  # once


def test_an_expired_login_fails_with_log_in_again_and_no_secret(
    project: Any, run: Any, now: Any, fake: FakeInstagram, monkeypatch: pytest.MonkeyPatch
) -> None:
    ig_project(project, fake, monkeypatch, now, "a.jpg")
    token = fake.add_token(age=timedelta(days=70), left=-timedelta(days=10))
    stored(project.root / ".cmctl", token, age=timedelta(days=80), left=timedelta(days=1))
    result = run("publish")
    assert result.exit_code == 1
    assert "log in again with `cmctl accounts login ig`" in result.stdout
    status = run("status", "--json")
    assert status.exit_code == 1
    [row] = as_json(status)["attention"]
    assert row["state"] == "failed" and "cmctl accounts login ig" in row["reason"]
    assert publish(run)[1] == []  # never retried blindly
    everything = result.output + status.output + run("log", "--events").output
    everything += run("accounts", "check").output
    ledger = (project.root / ".cmctl" / "ledger.sqlite3").read_bytes()
    for secret in (token, APP_SECRET):
        assert secret not in everything and secret.encode() not in ledger
    assert fake.published() == []
