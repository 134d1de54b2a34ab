"""The Threads adapter against the fake Threads API (tests/fakes/threads.py).

Units: the counter (emoji count their UTF-8 bytes), the login's two exchanges and the
renewal rules, containers (text, image with alt text, carousel, replies), their status
deciding what an ambiguous publish did, the publishing limit, Graph's errors, `check`.
Then the product through `cmctl publish`: a thread of three parts as replies, a token
renewed ahead, a revoked login, a post whose media Threads is still preparing.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from cmctl.networks.base import (
    Ambiguous,
    Attachment,
    AuthExpired,
    Idempotency,
    NotReady,
    Outgoing,
    Permanent,
    Transient,
)
from cmctl.networks.credentials import Credential, CredentialStore, LoginRequired
from cmctl.networks.http import Http
from cmctl.networks.threads import QUOTA_WAIT, STATUS_WAIT, Threads
from tests.conftest import as_json, calendar, post
from tests.fakes.threads import (
    APP_ID,
    APP_SECRET,
    CODE,
    TOKEN,
    USER_ID,
    FakeThreads,
    graph_error,
)
from tests.networks.helpers import make_outgoing
from tests.networks.test_adapter_mastodon import png

KEY = "dec:launch@thr"
REDIRECT = "http://127.0.0.1:8765/callback"


def adapter(fake: FakeThreads, tmp_path: Path, **options: Any) -> Threads:
    opts = {
        "client_id": APP_ID,
        "client_secret": APP_SECRET,
        "access_token": TOKEN,
        "user_id": USER_ID,
        "api_url": fake.url,
        "media_url": "https://cdn.acme.example/site",
        **options,
    }
    return Threads("thr", {k: v for k, v in opts.items() if v is not None}, Http(timeout=2.0),
                   tmp_path / "state")  # fmt: skip


class Saved:
    """Collects what an adapter saves as its checkpoint, and when."""

    def __init__(self, fake: FakeThreads | None = None) -> None:
        self.last: dict[str, Any] | None = None
        self.fake = fake
        self.published_when_saved: list[int] = []

    def __call__(self, checkpoint: dict[str, Any]) -> None:
        self.last = json.loads(json.dumps(checkpoint))
        if self.fake is not None:
            self.published_when_saved.append(len(self.fake.posts))


def outgoing(
    text: str = "We launch today!", saved: Saved | None = None, **changes: Any
) -> Outgoing:
    saved = saved or Saved()
    checkpoint = changes.pop("checkpoint", None)
    return make_outgoing(
        changes.pop("key", KEY), text, checkpoint=checkpoint, save_checkpoint=saved, **changes
    )


def image(tmp_path: Path, name: str = "a.png", alt: str | None = "A red rocket") -> Attachment:
    folder = tmp_path / "media"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_bytes(png())
    return Attachment(path, alt, tmp_path)


def form_of(request: Any) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.body.decode()).items()}


# ------------------------------------------------------------------ the counter
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hello", 5),
        ("日本語のテキスト", 8),  # CJK: one each, not their 3 bytes
        ("e\u0301", 1),  # a combining accent joins its letter: one grapheme
        ("a\u0308\u0323", 1),  # two combining marks
        ("👍", 4),
        ("👍🏽", 8),  # skin tone: the whole cluster's bytes
        ("👩🏿\u200d💻", 15),  # ZWJ sequence with a skin tone
        ("👨\u200d👩\u200d👧\u200d👦", 25),  # family: four people, three joiners
        ("🇫🇷", 8),  # a flag is two regional indicators
        ("🇫🇷🇩🇪", 16),  # two flags side by side
        ("🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f", 28),  # Scotland
        ("❤\ufe0f", 6),  # heart + emoji presentation selector
        ("1\ufe0f\u20e3", 7),  # keycap
        ("1", 1),  # a digit has the Emoji property but is no emoji
        ("#cm", 3),
        ("Bonjour 👋 le monde", 21),
    ],
)
def test_emoji_count_their_utf8_bytes_everything_else_one_per_grapheme(
    text: str, expected: int
) -> None:
    assert Threads.count(text) == expected


def test_the_500_limit_counts_emoji_bytes() -> None:
    assert Threads.check_text("👨\u200d👩\u200d👧\u200d👦" * 20, has_media=False)[2] == []
    assert Threads.check_text("👨\u200d👩\u200d👧\u200d👦" * 20 + "a", has_media=False)[2] == [
        "text is 501/500 characters for threads"
    ]
    assert Threads.check_text("日" * 500, has_media=False)[2] == []


# ------------------------------------------------------------------ declaration, login
def test_declares_a_lookup_and_replies_as_threads() -> None:
    assert Threads.publishes and Threads.finds and Threads.threads and Threads.media_by_url
    assert Threads.idempotency is Idempotency.LOOKUP
    assert {(q.posts, q.counts) for q in Threads.quotas} == {(250, "roots"), (1000, "replies")}
    assert Threads.field("client_secret") is not None and Threads.field("client_secret").secret
    assert Threads.field("access_token").secret  # type: ignore[union-attr]


def test_the_browser_step_asks_for_both_scopes_without_pkce(
    fake_threads: FakeThreads, tmp_path: Path
) -> None:
    url = adapter(fake_threads, tmp_path).authorization_url("st4te", "challenge", REDIRECT)
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://threads.net/oauth/authorize"
    assert query["scope"] == "threads_basic,threads_content_publish"
    assert query["client_id"] == APP_ID and query["state"] == "st4te"
    assert query["redirect_uri"] == REDIRECT and "code_challenge" not in query


def test_a_code_becomes_a_long_lived_token_and_the_user_id(
    fake_threads: FakeThreads, tmp_path: Path, now: Any
) -> None:
    now.move_to("2026-12-01T08:00:00Z")
    thr = adapter(fake_threads, tmp_path, access_token=None, user_id=None)
    cred = thr.exchange_code(CODE, None, REDIRECT)
    assert fake_threads.tokens[cred.access][0] == "long"
    assert cred.expires_at == datetime(2027, 1, 30, 8, 0, tzinfo=UTC)  # 60 days
    assert cred.extra["user_id"] == USER_ID and cred.refresh is None
    [code_call] = fake_threads.requests_to("/oauth/access_token", "POST")
    assert form_of(code_call)["grant_type"] == "authorization_code"
    [exchange] = fake_threads.requests_to("/access_token", "GET")
    assert exchange.param("grant_type") == "th_exchange_token"
    assert exchange.param("client_secret") == APP_SECRET  # Meta's design: in the query
    with pytest.raises(LoginRequired) as refused:  # a code is good once
        thr.exchange_code(CODE, None, REDIRECT)
    assert "cmctl accounts login thr" in refused.value.message


def test_a_failed_exchange_never_shows_the_secret_or_the_tokens(
    fake_threads: FakeThreads, tmp_path: Path
) -> None:
    thr = adapter(fake_threads, tmp_path, access_token=None)
    fake_threads.fail_next("/access_token", 500, "upstream said " + APP_SECRET)
    with pytest.raises(Transient) as failed:
        thr.exchange_code(CODE, None, REDIRECT)
    assert APP_SECRET not in failed.value.message
    assert "client_secret" not in failed.value.message  # the query is never shown
    assert "/access_token" in failed.value.message


def stored(tmp_path: Path, token: str, issued: datetime, lifetime: timedelta) -> None:
    CredentialStore(tmp_path / "state").save(
        "thr",
        Credential(token, expires_at=issued + lifetime,
                   extra={"issued_at": issued.isoformat(), "user_id": USER_ID}),
    )  # fmt: skip


def test_a_token_within_ten_days_of_its_end_is_renewed_before_use(
    fake_threads: FakeThreads, tmp_path: Path
) -> None:
    old = fake_threads.issue(age=timedelta(days=55))
    stored(tmp_path, old, fake_threads.now() - timedelta(days=55), timedelta(days=60))
    thr = adapter(fake_threads, tmp_path, access_token=None)
    new = thr.access_token()
    assert new != old and fake_threads.tokens[new][0] == "long"
    [renewal] = fake_threads.requests_to("/refresh_access_token")
    assert renewal.param("grant_type") == "th_refresh_token"
    saved = CredentialStore(tmp_path / "state").get("thr")
    assert saved is not None and saved.access == new and saved.extra["user_id"] == USER_ID


def test_two_adapters_due_at_once_spend_one_renewal(
    fake_threads: FakeThreads, tmp_path: Path
) -> None:
    old = fake_threads.issue(age=timedelta(days=55))
    stored(tmp_path, old, fake_threads.now() - timedelta(days=55), timedelta(days=60))
    first = adapter(fake_threads, tmp_path, access_token=None)
    second = adapter(fake_threads, tmp_path, access_token=None)  # another process
    new = first.access_token()
    # the second read the old token before the renewal was saved: under the lock it
    # finds the new one and renews nothing
    assert second._stored_credential(refused=old).access == new
    assert second.access_token() == new
    assert len(fake_threads.requests_to("/refresh_access_token")) == 1


@pytest.mark.parametrize(
    ("age", "lifetime"),
    [(timedelta(days=20), timedelta(days=60)), (timedelta(hours=2), timedelta(days=5))],
)
def test_no_renewal_before_ten_days_left_nor_before_24_hours_old(
    fake_threads: FakeThreads, tmp_path: Path, age: timedelta, lifetime: timedelta
) -> None:
    token = fake_threads.issue(age=age, lifetime=lifetime)
    stored(tmp_path, token, fake_threads.now() - age, lifetime)
    assert adapter(fake_threads, tmp_path, access_token=None).access_token() == token
    assert fake_threads.requests_to("/refresh_access_token") == []


def test_a_lapsed_token_means_log_in_again(fake_threads: FakeThreads, tmp_path: Path) -> None:
    token = fake_threads.issue(age=timedelta(days=61))
    stored(tmp_path, token, fake_threads.now() - timedelta(days=61), timedelta(days=60))
    with pytest.raises(LoginRequired) as lapsed:
        adapter(fake_threads, tmp_path, access_token=None).access_token()
    assert "expired on" in lapsed.value.message
    assert "cmctl accounts login thr" in lapsed.value.message
    assert fake_threads.requests_to("/refresh_access_token") == []  # dead for good


# ------------------------------------------------------------------ publishing
def test_a_text_post_is_a_container_saved_then_published(
    fake_threads: FakeThreads, tmp_path: Path
) -> None:
    saved = Saved(fake_threads)
    sent = adapter(fake_threads, tmp_path).publish(outgoing(saved=saved))
    [created] = fake_threads.requests_to(f"/{USER_ID}/threads", "POST")
    assert form_of(created) == {"media_type": "TEXT", "text": "We launch today!"}
    assert created.headers["authorization"] == f"Bearer {TOKEN}"
    [published] = fake_threads.requests_to("/threads_publish")
    assert saved.last is not None and form_of(published)["creation_id"] == saved.last["container"]
    assert saved.published_when_saved == [0]  # the checkpoint came before the publish
    [p] = fake_threads.posts
    assert sent.remote_id == p["id"] and sent.url == p["permalink"]
    assert sent.url.startswith("https://www.threads.net/@acme/post/")


def test_an_image_waits_as_not_ready_then_publishes_the_same_container(
    fake_threads: FakeThreads, tmp_path: Path, now: Any
) -> None:
    thr = adapter(fake_threads, tmp_path)
    saved = Saved()
    out = outgoing(media=(image(tmp_path),), saved=saved)
    with pytest.raises(NotReady) as waiting:
        thr.publish(out)
    assert waiting.value.retry_in == STATUS_WAIT and fake_threads.posts == []
    [created] = fake_threads.requests_to(f"/{USER_ID}/threads", "POST")
    assert form_of(created) == {
        "text": "We launch today!",
        "media_type": "IMAGE",
        "image_url": "https://cdn.acme.example/site/media/a.png",
        "alt_text": "A red rocket",
    }
    now.shift(60)
    sent = thr.publish(outgoing(media=out.media, checkpoint=saved.last))
    assert len(fake_threads.requests_to(f"/{USER_ID}/threads", "POST")) == 1  # not made again
    assert [p["id"] for p in fake_threads.posts] == [sent.remote_id]


def test_several_files_are_a_carousel_of_items(
    fake_threads: FakeThreads, tmp_path: Path, now: Any
) -> None:
    fake_threads.media_delay = 0
    media = (image(tmp_path, "a.png"), image(tmp_path, "b.png", alt=None))
    adapter(fake_threads, tmp_path).publish(outgoing(media=media))
    first, second, carousel = (form_of(r) for r in fake_threads.requests_to("/threads", "POST"))
    assert first["is_carousel_item"] == "true" and first["alt_text"] == "A red rocket"
    assert second["image_url"].endswith("/media/b.png") and "alt_text" not in second
    assert carousel["media_type"] == "CAROUSEL" and len(carousel["children"].split(",")) == 2
    assert fake_threads.posts[0]["media_type"] == "CAROUSEL"


def test_a_thread_part_replies_to_the_previous_one(
    fake_threads: FakeThreads, tmp_path: Path
) -> None:
    thr = adapter(fake_threads, tmp_path)
    root = thr.publish(outgoing("One"))
    reply = thr.publish(outgoing("Two", key=KEY + "#1", part=1, reply_to=root, root=root))
    assert fake_threads.posts[1]["reply_to_id"] == root.remote_id
    assert fake_threads.requests_to("/threads_publishing_limit")[-1].param("fields") == (
        "reply_quota_usage,reply_config"
    )
    assert reply.remote_id == fake_threads.posts[1]["id"]


def published_container(fake: FakeThreads, tmp_path: Path, text: str) -> tuple[Threads, str]:
    thr = adapter(fake, tmp_path)
    saved = Saved()
    thr.publish(outgoing(text, saved=saved))
    assert saved.last is not None
    return thr, saved.last["container"]


def test_a_published_container_is_found_by_text_and_time_not_the_newest(
    fake_threads: FakeThreads, tmp_path: Path, now: Any
) -> None:
    now.move_to("2026-12-01T08:30:00Z")
    thr, container = published_container(fake_threads, tmp_path, "We launch today!")
    ours = fake_threads.posts[0]
    now.shift(30)
    thr.publish(outgoing("Something else, posted after", key="dec:other@thr"))
    checkpoint = {"container": container, "created": "2026-12-01T08:30:00+00:00"}
    since = datetime(2026, 12, 1, 8, 29, tzinfo=UTC)
    found = thr.find(outgoing(checkpoint=checkpoint), since)
    assert found is not None and found.remote_id == ours["id"] and found.url == ours["permalink"]
    again = thr.publish(outgoing(checkpoint=checkpoint))  # never a second publish
    assert again.remote_id == ours["id"] and len(fake_threads.posts) == 2


def test_a_published_container_not_listed_yet_is_looked_up_later(
    fake_threads: FakeThreads, tmp_path: Path
) -> None:
    thr, container = published_container(fake_threads, tmp_path, "We launch today!")
    fake_threads.fail_next(f"/{USER_ID}/threads", 200, {"data": []})  # the list lags
    with pytest.raises(Transient, match="never publishes it twice"):
        thr.publish(outgoing(checkpoint={"container": container}))
    assert len(fake_threads.posts) == 1


def test_a_finished_container_is_published_again_an_expired_one_made_again(
    fake_threads: FakeThreads, tmp_path: Path, now: Any
) -> None:
    thr = adapter(fake_threads, tmp_path)
    fake_threads.media_delay = 0
    saved = Saved()
    fake_threads.fail_next("/threads_publish", 500, graph_error(2, "Service unavailable"))
    with pytest.raises(Ambiguous):  # a 5xx to the publish: it may be online
        thr.publish(outgoing(saved=saved))
    assert thr.find(outgoing(checkpoint=saved.last), fake_threads.now()) is None  # FINISHED
    thr.publish(outgoing(checkpoint=saved.last))
    assert len(fake_threads.requests_to("/threads", "POST")) == 1 and len(fake_threads.posts) == 1
    # a container left unpublished for a day expires: a new one is made
    fake_threads.fail_next("/threads_publish", 500, graph_error(2, "Service unavailable"))
    with pytest.raises(Ambiguous):
        thr.publish(outgoing("Later", key="dec:b@thr", saved=saved))
    now.shift(25 * 3600)
    thr.publish(outgoing("Later", key="dec:b@thr", checkpoint=saved.last))
    assert len(fake_threads.requests_to("/threads", "POST")) == 3
    assert [p["text"] for p in fake_threads.posts] == ["We launch today!", "Later"]


def test_a_container_in_error_fails_with_threads_reason(
    fake_threads: FakeThreads, tmp_path: Path
) -> None:
    fake_threads.failing["https://cdn.acme.example/site/media/a.png"] = "FAILED_DOWNLOADING_IMAGE"
    with pytest.raises(Permanent, match="FAILED_DOWNLOADING_IMAGE"):
        adapter(fake_threads, tmp_path).publish(outgoing(media=(image(tmp_path),)))
    assert fake_threads.posts == []


def test_a_spent_publishing_limit_waits_for_the_window(
    fake_threads: FakeThreads, tmp_path: Path
) -> None:
    moment = fake_threads.now()
    fake_threads.posts = [
        {"id": str(n), "text": "x", "reply_to_id": None, "timestamp": moment} for n in range(250)
    ]
    with pytest.raises(Transient) as waiting:
        adapter(fake_threads, tmp_path).publish(outgoing())
    assert waiting.value.retry_after == QUOTA_WAIT and "250/250 posts" in waiting.value.message
    assert fake_threads.requests_to("/threads_publish") == []


@pytest.mark.parametrize(
    ("body", "error", "words"),
    [
        (graph_error(190, "Error validating access token: Session has expired"), AuthExpired,
         "log in again"),
        (graph_error(17, "(#17) User request limit reached"), Transient, "rate limit"),
        (graph_error(100, "Param text must be at most 500 characters long.", 2207010),
         Permanent, "at most 500 characters"),
    ],
)  # fmt: skip
def test_graph_errors_in_threads_words(
    fake_threads: FakeThreads, tmp_path: Path, body: Any, error: type, words: str
) -> None:
    fake_threads.fail_next(f"/{USER_ID}/threads", 400, body)
    with pytest.raises(error) as failed:
        adapter(fake_threads, tmp_path).publish(outgoing())
    assert words in failed.value.message and TOKEN not in failed.value.message


def test_check_names_the_account(fake_threads: FakeThreads, tmp_path: Path) -> None:
    assert adapter(fake_threads, tmp_path).check() == f"@acme (Threads user {USER_ID})"
    with pytest.raises(Permanent, match="not to user_id 42"):
        adapter(fake_threads, tmp_path, user_id="42").check()


def test_the_user_id_comes_from_the_login_when_the_account_sets_none(
    fake_threads: FakeThreads, tmp_path: Path
) -> None:
    thr = adapter(fake_threads, tmp_path, access_token=None, user_id=None)
    CredentialStore(tmp_path / "state").save("thr", thr.exchange_code(CODE, None, REDIRECT))
    thr.publish(outgoing())
    assert fake_threads.requests_to(f"/{USER_ID}/threads_publish")


# ------------------------------------------------------------------ through the CLI
def thr_project(
    project: Any, fake: FakeThreads, monkeypatch: pytest.MonkeyPatch, now: Any, *posts: str,
    seed: bool = True, extra: str = "",
) -> None:  # fmt: skip
    lines = [
        "accounts:",
        "  thr:",
        "    network: threads",
        f'    client_id: "{APP_ID}"',
        "    client_secret: ${THREADS_APP_SECRET}",
        f'    user_id: "{USER_ID}"',
        f"    api_url: {fake.url}",
    ]
    if seed:
        lines.append("    access_token: ${THREADS_TOKEN}")
    project.config("\n".join(lines) + "\ndefaults:\n  timezone: Europe/Paris\n" + extra)
    monkeypatch.setenv("THREADS_APP_SECRET", APP_SECRET)
    monkeypatch.setenv("THREADS_TOKEN", TOKEN)
    monkeypatch.setenv("CMCTL_HTTP_TIMEOUT", "0.5")
    project.calendar(calendar(*posts, accounts="[thr]"))
    now.move_to("2026-12-01T08:30:30Z")


def publish(run: Any) -> tuple[int, list[tuple[str, str]]]:
    result = run("publish", "--json")
    return result.exit_code, [(o["key"], o["state"]) for o in as_json(result)["outcomes"]]


def test_a_thread_of_three_parts_is_a_chain_of_replies(
    project: Any, run: Any, now: Any, fake_threads: FakeThreads, monkeypatch: pytest.MonkeyPatch
) -> None:
    thr_project(project, fake_threads, monkeypatch, now,
                post("a", at="2026-12-01 09:30", text="Un", thread=["Deux", "Trois"]))  # fmt: skip
    code, outcomes = publish(run)
    assert code == 0 and [s for _, s in outcomes] == ["published"] * 3
    one, two, three = fake_threads.posts
    assert [p["text"] for p in (one, two, three)] == ["Un", "Deux", "Trois"]
    assert one["reply_to_id"] is None
    assert two["reply_to_id"] == one["id"] and three["reply_to_id"] == two["id"]


def test_a_timeout_after_the_reply_was_published_never_duplicates_it(
    project: Any, run: Any, now: Any, fake_threads: FakeThreads, monkeypatch: pytest.MonkeyPatch,
    slept: list[float],
) -> None:  # fmt: skip
    thr_project(project, fake_threads, monkeypatch, now,
                post("a", at="2026-12-01 09:30", text="Un", thread=["Deux"]))  # fmt: skip
    original = fake_threads.route

    def route(request: Any) -> Any:  # once the reply's container exists, its publish hangs
        reply = original(request)
        creates = request.method == "POST" and request.path.endswith(f"/{USER_ID}/threads")
        if creates and "reply_to_id" in form_of(request):
            fake_threads.hang_next("/threads_publish", seconds=2.0, commit=True)
        return reply

    monkeypatch.setattr(fake_threads, "route", route)
    code, outcomes = publish(run)
    assert code == 0 and outcomes == [
        ("dec:a@thr", "published"),
        ("dec:a@thr#1", "retry"),  # no answer: it may be online
        ("dec:a@thr#1", "published"),  # the container is PUBLISHED: found, not resent
    ]
    assert len(fake_threads.requests_to("/threads_publish")) == 2
    assert [p["text"] for p in fake_threads.posts] == ["Un", "Deux"]
    assert as_json(run("plan", "--json"))["jobs"][1]["state"] == "published"


def test_a_token_near_its_end_is_renewed_and_the_post_sent(
    project: Any, run: Any, now: Any, fake_threads: FakeThreads, monkeypatch: pytest.MonkeyPatch
) -> None:
    thr_project(project, fake_threads, monkeypatch, now, post("a", at="2026-12-01 09:30"),
                seed=False)  # fmt: skip
    old = fake_threads.issue(age=timedelta(days=55))
    state = project.root / ".cmctl"
    CredentialStore(state).save(
        "thr",
        Credential(old, expires_at=fake_threads.now() + timedelta(days=5),
                   extra={"issued_at": (fake_threads.now() - timedelta(days=55)).isoformat()}),
    )  # fmt: skip
    code, outcomes = publish(run)
    assert code == 0 and outcomes == [("dec:a@thr", "published")]
    assert len(fake_threads.requests_to("/refresh_access_token")) == 1
    used = fake_threads.requests_to("/threads_publish")[0].headers["authorization"]
    assert old not in used
    assert run("status").exit_code == 0  # 60 days again: no warning


def test_a_refused_token_is_refreshed_once_and_the_post_sent(
    project: Any, run: Any, now: Any, fake_threads: FakeThreads, monkeypatch: pytest.MonkeyPatch
) -> None:
    thr_project(project, fake_threads, monkeypatch, now, post("a", at="2026-12-01 09:30"))
    fake_threads.fail_next(
        f"/{USER_ID}/threads", 400, graph_error(190, "Error validating access token", 463)
    )
    code, outcomes = publish(run)
    assert code == 0 and outcomes == [("dec:a@thr", "published")]
    assert len(fake_threads.requests_to("/refresh_access_token")) == 1
    assert len(fake_threads.posts) == 1


def test_a_revoked_login_waits_for_a_new_login_and_status_says_so(
    project: Any, run: Any, now: Any, fake_threads: FakeThreads, monkeypatch: pytest.MonkeyPatch
) -> None:
    thr_project(project, fake_threads, monkeypatch, now, post("a", at="2026-12-01 09:30"))
    fake_threads.revoke()
    result = run("publish")
    assert result.exit_code == 1 and "cmctl accounts login thr" in result.stdout
    status = run("status")
    assert status.exit_code == 1 and "log in again" in status.stdout
    everything = result.output + status.output + run("log", "--events").output
    for secret in (TOKEN, APP_SECRET):
        assert secret not in everything
    assert fake_threads.posts == []


def test_media_threads_is_preparing_waits_across_runs(
    project: Any, run: Any, now: Any, fake_threads: FakeThreads, monkeypatch: pytest.MonkeyPatch,
    slept: list[float],
) -> None:  # fmt: skip
    from tests.test_media_url import Files

    data = png()
    with Files({"/site/media/a.png": data}) as files:
        served = f"{files.url}/site/media/a.png"
        thr_project(project, fake_threads, monkeypatch, now,
                    post("a", at="2026-12-01 09:30", media=[{"path": "../media/a.png",
                                                             "alt": "A rocket"}]),
                    extra=f"media_url: {files.url}/site\n")  # fmt: skip
        project.write("media/a.png", data)
        code, outcomes = publish(run)
        assert outcomes == [("dec:a@thr", "retry")] and fake_threads.posts == []
        assert slept == []  # never slept on: the next run looks again
        now.shift(61)
        code, outcomes = publish(run)
        assert code == 0 and outcomes == [("dec:a@thr", "published")]
    assert len(fake_threads.requests_to(f"/{USER_ID}/threads", "POST")) == 1
    [p] = fake_threads.posts
    assert p["alt_text"] == "A rocket" and p["url"] == served
