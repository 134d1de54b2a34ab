"""One contract, every adapter: the same cases through `cmctl publish` against each
network's local fake server (tests/fakes/), which follows the network's API docs.

Cases: success; 429 with Retry-After; 5xx; a timeout after the server committed the
post; an expired token; a permanent 4xx. Whatever happens, a post exists at most once
on the network, and the ledger says what happened.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import as_json, calendar, post
from tests.fakes import discord, slack, telegram, threads, x
from tests.fakes.devto import API_KEY as DEVTO_KEY
from tests.fakes.facebook import PAGE_ID, PAGE_TOKEN, graph_error
from tests.fakes.instagram import TOKEN as IG_TOKEN
from tests.fakes.instagram import USER_ID as IG_USER
from tests.fakes.instagram import graph_error as ig_error
from tests.fakes.linkedin import CLIENT_ID as LI_CLIENT_ID
from tests.fakes.linkedin import CLIENT_SECRET as LI_SECRET
from tests.fakes.linkedin import ORGANIZATION as LI_PAGE
from tests.fakes.linkedin import PAGE_TOKEN as LI_PAGE_TOKEN
from tests.fakes.webhook import WEBHOOK_SECRET
from tests.fakes.wordpress import APP_PASSWORD as WP_APP_PASSWORD

Env = dict[str, str]


@dataclass(frozen=True)
class Case:
    account: str
    fixture: str
    create_path: str  # suffix of the request that publishes
    count: Callable[[Any], int]  # posts that exist on the network
    refusal: tuple[int, Any]  # the network's own permanent refusal
    refusal_words: str  # part of the message cmctl must pass on
    # The account's lines in cmctl.yaml (after "  NAME:\n    network: ...") pointing at
    # the fake, and the environment its ${VARS} need.
    options: Callable[[Any], tuple[list[str], Env]]
    # False where the network has neither a key nor a look-up (Idempotency.NONE): an
    # ambiguous attempt then ends `unknown`, never resent.
    resends: bool = True
    # The network's own 429 for a wait of N seconds (body, headers); None: Retry-After.
    rate_limited: Callable[[int], tuple[Any, dict[str, str]]] | None = None
    # Revokes the credential on the fake, and the hint cmctl must then give.
    revoke: Callable[[Any], None] | None = None
    revoked_hint: str = ""
    # Extra keys of the contract's post (media a network requires), after writing what
    # they need: (server, project) → {key: value}.
    post_extra: Callable[[Any, Any], dict[str, Any]] | None = None


def _ig_media(server: Any, project: Any) -> dict[str, Any]:
    from tests.networks.test_declarations import JPEG

    project.write("media/a.jpg", JPEG)
    server.serve("media/a.jpg", JPEG)
    return {"media": [{"path": "../media/a.jpg", "alt": "A rocket"}]}


CASES = {
    "mastodon": Case(
        "masto",
        "fake_mastodon",
        "/api/v1/statuses",
        lambda s: len(s.statuses),
        (422, {"error": "Validation failed: Text character limit of 500 exceeded"}),
        "Text character limit of 500 exceeded",
        lambda s: (
            ["network: mastodon", f"instance: {s.url}", "token: ${MASTO_TOKEN}"],
            {"MASTO_TOKEN": "good-token"},
        ),
    ),
    "bluesky": Case(
        "bsky",
        "fake_bluesky",
        "com.atproto.repo.putRecord",
        lambda s: len(s.posts()),
        (400, {"error": "InvalidRequest", "message": "Invalid app.bsky.feed.post record"}),
        "Invalid app.bsky.feed.post record",
        lambda s: (
            [
                "network: bluesky",
                "handle: brand.test",
                "app_password: ${BSKY_PASSWORD}",
                f"service: {s.url}",
            ],
            {"BSKY_PASSWORD": "app-pass-1234"},
        ),
    ),
    "webhook": Case(
        "hook",
        "fake_webhook",
        "/hooks/cmctl",
        lambda s: sum(1 for p in s.payloads if p.get("type") == "post.published"),
        (400, {"error": "unknown event type"}),
        "unknown event type",
        lambda s: (
            ["network: webhook", f"url: {s.url}/hooks/cmctl", "secret: ${HOOK_SECRET}"],
            {"HOOK_SECRET": WEBHOOK_SECRET},
        ),
    ),
    "slack": Case(
        "slk",
        "fake_slack",
        "/api/chat.postMessage",
        lambda s: len(s.messages),
        (200, {"ok": False, "error": "msg_too_long"}),
        "msg_too_long",
        lambda s: (
            [
                "network: slack",
                "token: ${SLACK_TOKEN}",
                f"channel: {slack.CHANNEL}",
                f"api_url: {s.url}/api",
            ],
            {"SLACK_TOKEN": slack.TOKEN},
        ),
    ),
    "telegram": Case(
        "tg",
        "fake_telegram",
        "/sendMessage",
        lambda s: len(s.messages),
        (400, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}),
        "Bad Request: chat not found",
        lambda s: (
            ["network: telegram", "token: ${TG_TOKEN}", "chat: '@brand_news'", f"api_url: {s.url}"],
            {"TG_TOKEN": telegram.TOKEN},
        ),
        resends=False,
        rate_limited=lambda n: (telegram.too_many(n), {}),
        revoke=lambda s: s.revoke(),
        revoked_hint="@BotFather",
    ),
    "discord": Case(
        "disc",
        "fake_discord",
        f"/webhooks/{discord.WEBHOOK_ID}/{discord.TOKEN}",
        lambda s: len(s.messages),
        (400, {"message": "Cannot send an empty message", "code": 50006}),
        "Cannot send an empty message",
        lambda s: (
            ["network: discord", "webhook_url: ${DISCORD_WEBHOOK}"],
            {"DISCORD_WEBHOOK": s.webhook_url},
        ),
        resends=False,
        rate_limited=lambda n: discord.rate_limited(n - 0.25),
        revoke=lambda s: s.delete_webhook(),
        revoked_hint="Integrations → Webhooks",
    ),
    "facebook": Case(
        "fb",
        "fake_facebook",
        "/feed",
        lambda s: len(s.posts),
        (400, graph_error(100, "(#100) The parameter link is not a valid URL")),
        "The parameter link is not a valid URL",
        lambda s: (
            [
                "network: facebook",
                f'page_id: "{PAGE_ID}"',
                "token: ${FB_TOKEN}",
                f"api_url: {s.url}",
            ],
            {"FB_TOKEN": PAGE_TOKEN},
        ),
    ),
    "devto": Case(
        "dev",
        "fake_devto",
        "/api/articles",
        lambda s: len(s.mine()),
        (422, {"error": "Title is too long (maximum is 128 characters)", "status": 422}),
        "Title is too long (maximum is 128 characters)",
        lambda s: (
            ["network: devto", "api_key: ${DEVTO_KEY}", f"api_url: {s.url}/api"],
            {"DEVTO_KEY": DEVTO_KEY},
        ),
    ),
    "wordpress": Case(
        "wp",
        "fake_wordpress",
        "/wp/v2/posts",
        lambda s: len(s.published()),
        (
            400,
            {
                "code": "rest_invalid_param",
                "message": "Invalid parameter(s): title",
                "data": {"status": 400, "params": {"title": "title is not of type string."}},
            },
        ),
        "Invalid parameter(s): title",
        lambda s: (
            [
                "network: wordpress",
                "site: https://blog.example.com",
                f"api_url: {s.api_url}",
                "username: editor",
                "app_password: ${WP_APP_PASSWORD}",
            ],
            {"WP_APP_PASSWORD": WP_APP_PASSWORD},
        ),
    ),
    "x": Case(
        "xx",
        "fake_x",
        "/2/tweets",
        lambda s: len(s.tweets),
        (403, x.problem(403, "Forbidden", "You are not permitted to perform this action.")),
        "You are not permitted to perform this action.",
        x.account_lines,
        rate_limited=lambda n: x.too_many(n, x.clock_now()),
        revoke=lambda s: s.revoke(),
        revoked_hint="cmctl accounts login xx",
    ),
    "threads": Case(
        "thr",
        "fake_threads",
        "/threads_publish",
        lambda s: len(s.posts),
        (400, threads.graph_error(100, "Param text must be at most 500 characters long.")),
        "Param text must be at most 500 characters long.",
        lambda s: (
            [
                "network: threads",
                f'client_id: "{threads.APP_ID}"',
                "client_secret: ${THREADS_APP_SECRET}",
                "access_token: ${THREADS_TOKEN}",
                f"api_url: {s.url}",
            ],
            {"THREADS_APP_SECRET": threads.APP_SECRET, "THREADS_TOKEN": threads.TOKEN},
        ),
        revoke=lambda s: s.revoke(),
        revoked_hint="cmctl accounts login thr",
    ),
    "linkedin": Case(
        "lin",
        "fake_linkedin",
        "/rest/posts",
        lambda s: len(s.posts),
        (
            422,
            {
                "status": 422,
                "serviceErrorCode": 100,
                "code": "FIELD_ARRAY_SIZE_TOO_HIGH",
                "message": "ShareCommentary text length (3001 characters) exceeded the maximum "
                "allowed (3000 characters)",
            },
        ),
        "exceeded the maximum allowed (3000 characters)",
        # A page: its posts can be listed (r_organization_social), so an ambiguous post
        # is looked up. A member's app cannot: tests/networks/test_adapter_linkedin.py.
        lambda s: (
            [
                "network: linkedin",
                f"client_id: {LI_CLIENT_ID}",
                "client_secret: ${LI_SECRET}",
                'api_version: "202610"',
                f"author: {LI_PAGE}",
                "access_token: ${LI_TOKEN}",
                f"api_url: {s.url}",
                f"auth_url: {s.url}",
            ],
            {"LI_SECRET": LI_SECRET, "LI_TOKEN": LI_PAGE_TOKEN},
        ),
        revoke=lambda s: s.revoke(LI_PAGE_TOKEN),
        revoked_hint="cmctl accounts login lin",
    ),
    "instagram": Case(
        "ig",
        "fake_instagram",
        "/media_publish",
        lambda s: len(s.published()),
        (400, ig_error(100, "Invalid parameter", error_user_msg="The caption is too long")),
        "The caption is too long",
        lambda s: (
            [
                "network: instagram",
                f'user_id: "{IG_USER}"',
                "access_token: ${IG_TOKEN}",
                f"api_url: {s.url}",
                f"media_url: {s.url}/cdn",
            ],
            {"IG_TOKEN": IG_TOKEN},
        ),
        revoke=lambda s: s.revoke(),
        revoked_hint="cmctl accounts login ig",
        post_extra=_ig_media,
    ),
}


@pytest.fixture(params=sorted(CASES))
def net(
    request: pytest.FixtureRequest, project: Any, monkeypatch: pytest.MonkeyPatch, now: Any
) -> tuple[Case, Any]:
    case = CASES[request.param]
    server = request.getfixturevalue(case.fixture)
    options, env = case.options(server)
    lines = ["accounts:", f"  {case.account}:", *(f"    {line}" for line in options)]
    lines += ["defaults:", "  timezone: Europe/Paris"]
    project.config("\n".join(lines) + "\n")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("CMCTL_HTTP_TIMEOUT", "0.5")
    extra = case.post_extra(server, project) if case.post_extra else {}
    project.calendar(
        calendar(
            post("a", at="2026-12-01 09:30", text="Bonjour #cm", title="Bonjour", **extra),
            accounts=f"[{case.account}]",
        )
    )
    now.move_to("2026-12-01T08:30:30Z")
    return case, server


def publish(run: Any) -> tuple[int, list[dict[str, Any]]]:
    result = run("publish", "--json")
    return result.exit_code, as_json(result)["outcomes"]


def job(run: Any) -> dict[str, Any]:
    return as_json(run("plan", "--json"))["jobs"][0]


def test_success(net: Any, run: Any) -> None:
    case, server = net
    code, outcomes = publish(run)
    assert code == 0, outcomes
    assert [o["state"] for o in outcomes] == ["published"]
    assert case.count(server) == 1
    assert job(run)["state"] == "published"
    assert publish(run) == (0, [])
    assert case.count(server) == 1


def too_many(case: Case, server: Any, seconds: int) -> None:
    """The network's 429 asking for ``seconds``, in its own words (else Retry-After)."""
    if case.rate_limited is None:
        body, headers = {"error": "Too many requests"}, {"Retry-After": str(seconds)}
    else:
        body, headers = case.rate_limited(seconds)
    server.fail_next(case.create_path, 429, body, headers=headers)


def test_429_with_retry_after_is_honoured(net: Any, run: Any, slept: list[float]) -> None:
    case, server = net
    too_many(case, server, 7)
    code, outcomes = publish(run)
    assert code == 0, outcomes
    assert [o["state"] for o in outcomes] == ["retry", "published"]
    # waited at least what the network asked (a fraction less: Discord's body is exact)
    assert slept and slept[0] >= (7 if case.rate_limited is None else 6.7)
    assert case.count(server) == 1


def test_long_retry_after_waits_for_a_later_run(
    net: Any, run: Any, now: Any, slept: list[float]
) -> None:
    case, server = net
    too_many(case, server, 600)
    code, outcomes = publish(run)
    assert code == 1 and [o["state"] for o in outcomes] == ["retry"]
    assert slept == []  # not worth blocking a cron run for ten minutes
    assert job(run)["state"] == "retrying (1)"
    now.shift(300)
    assert publish(run) == (0, [])  # not yet
    now.shift(400)
    code, outcomes = publish(run)
    assert code == 0 and [o["state"] for o in outcomes] == ["published"]
    assert case.count(server) == 1


def test_5xx_is_retried_with_backoff(net: Any, run: Any, now: Any, slept: list[float]) -> None:
    case, server = net
    server.fail_next(case.create_path, 503, {"error": "Service Unavailable"}, times=3)
    code, outcomes = publish(run)
    # 5 s then 10 s (±20%) are waited for in this run; the third (16-24 s) is not
    assert [o["state"] for o in outcomes] == ["retry", "retry", "retry"]
    assert "503" in outcomes[0]["message"]
    assert len(slept) == 2 and 4 <= slept[0] <= 6 and 8 <= slept[1] <= 12
    assert case.count(server) == 0
    now.shift(30)
    code, outcomes = publish(run)
    assert code == 0 and [o["state"] for o in outcomes] == ["published"]
    assert case.count(server) == 1


def unknown_not_resent(case: Case, server: Any, run: Any, code: int, outcomes: Any) -> None:
    """A network without key or look-up: the ambiguous job is unknown, never resent."""
    assert code == 1, outcomes
    assert [o["state"] for o in outcomes] == ["unknown"]
    assert "resolve" in outcomes[0]["message"]  # says how to settle it by hand
    status = run("status", "--json")
    assert status.exit_code == 1
    assert as_json(status)["attention"][0]["state"] == "unknown"
    assert publish(run)[1] == []  # never sent again
    assert case.count(server) == 1


def test_5xx_after_commit_never_duplicates(net: Any, run: Any, slept: list[float]) -> None:
    case, server = net
    server.fail_next(case.create_path, 502, "Bad Gateway", commit=True)
    code, outcomes = publish(run)
    if not case.resends:
        return unknown_not_resent(case, server, run, code, outcomes)
    assert code == 0, outcomes
    assert [o["state"] for o in outcomes] == ["retry", "published"]
    assert case.count(server) == 1  # the idempotency mechanism caught the resend


def test_timeout_after_commit_never_duplicates(net: Any, run: Any, slept: list[float]) -> None:
    case, server = net
    server.hang_next(case.create_path, seconds=2.0, commit=True)
    code, outcomes = publish(run)
    if not case.resends:
        assert "no answer" in outcomes[0]["message"]
        return unknown_not_resent(case, server, run, code, outcomes)
    assert code == 0 and [o["state"] for o in outcomes] == ["retry", "published"]
    assert "no answer" in outcomes[0]["message"]
    assert case.count(server) == 1  # stored before the client gave up, and only once


SECRETS = (
    telegram.TOKEN,
    discord.TOKEN,
    threads.TOKEN,
    threads.APP_SECRET,
    "good-token",
    "app-pass-1234",
    WEBHOOK_SECRET,
    LI_PAGE_TOKEN,
    LI_SECRET,
    IG_TOKEN,
)


def test_a_revoked_credential_fails_with_a_hint_and_no_secret(
    net: Any, run: Any, project: Any
) -> None:
    case, server = net
    if case.revoke is None:
        pytest.skip("this network's revoked credential is covered by its own test")
    case.revoke(server)
    result = run("publish")
    assert result.exit_code == 1
    assert case.revoked_hint in result.stdout
    assert publish(run)[1] == []  # never retried blindly
    status = run("status", "--json")
    [row] = as_json(status)["attention"]
    assert row["state"] == "failed" and case.revoked_hint in row["reason"]
    check = run("accounts", "check")
    assert check.exit_code != 0 and case.revoked_hint in check.output
    everything = result.output + status.output + check.output + run("log", "--events").output
    ledger = (project.root / ".cmctl" / "ledger.sqlite3").read_bytes()
    for secret in SECRETS:
        assert secret not in everything
        assert secret.encode() not in ledger
    assert case.count(server) == 0


def test_permanent_refusal_fails_with_the_networks_words(net: Any, run: Any) -> None:
    case, server = net
    status, body = case.refusal
    server.fail_next(case.create_path, status, body)
    code, outcomes = publish(run)
    assert code == 1
    [outcome] = outcomes
    assert outcome["state"] == "failed"
    assert case.refusal_words in outcome["message"]
    status_view = as_json(run("status", "--json"))
    assert status_view["attention"][0]["reason"] == outcome["message"]
    assert case.count(server) == 0
    assert publish(run) == (0, [])  # never retried blindly


def test_expired_bluesky_session_is_refreshed_once(
    project: Any, run: Any, now: Any, fake_bluesky: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.config(
        "accounts:\n  bsky:\n    network: bluesky\n    handle: brand.test\n"
        f"    app_password: ${{P}}\n    service: {fake_bluesky.url}\n"
        "defaults:\n  timezone: Europe/Paris\n"
    )
    monkeypatch.setenv("P", "app-pass-1234")
    project.calendar(calendar(post("a", at="2026-12-01 09:30", thread=["deux"]), accounts="[bsky]"))
    now.move_to("2026-12-01T08:30:30Z")
    # Expire the session between the first part and the reply.
    original = fake_bluesky.route

    def route(request: Any) -> Any:
        reply = original(request)
        if request.path.endswith("putRecord") and len(fake_bluesky.posts()) == 1:
            fake_bluesky.expire_access_tokens()
        return reply

    monkeypatch.setattr(fake_bluesky, "route", route)
    code, outcomes = publish(run)
    assert code == 0, outcomes
    assert [o["state"] for o in outcomes] == ["published", "published"]
    assert fake_bluesky.requests_to("com.atproto.server.refreshSession")
    posts = fake_bluesky.posts()
    assert len(posts) == 2
    reply = next(p for p in posts if "reply" in p)
    first = next(p for p in posts if "reply" not in p)
    assert reply["reply"]["root"]["uri"] == reply["reply"]["parent"]["uri"]
    assert first["text"].startswith("Bonjour")


def test_invalid_mastodon_token_fails_with_a_hint_and_no_secret(
    project: Any, run: Any, now: Any, fake_mastodon: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.config(
        "accounts:\n  masto:\n    network: mastodon\n"
        f"    instance: {fake_mastodon.url}\n    token: ${{T}}\n"
        "defaults:\n  timezone: Europe/Paris\n"
    )
    monkeypatch.setenv("T", "expired-token-value-123")
    project.calendar(calendar(post("a", at="2026-12-01 09:30")))
    now.move_to("2026-12-01T08:30:30Z")
    result = run("publish")
    assert result.exit_code == 1
    assert "access token is invalid" in result.stdout  # the instance's words
    # ...and the hint that only cmctl gives: what is wrong and where to fix it
    assert "the access token is wrong or was revoked" in result.stdout
    assert "Preferences → Development" in result.stdout
    everything = (
        result.stdout + result.stderr + run("status").stdout + run("log", "--events").stdout
    )
    assert "expired-token-value-123" not in everything
    ledger = (project.root / ".cmctl" / "ledger.sqlite3").read_bytes()
    assert b"expired-token-value-123" not in ledger


def test_mastodon_resend_after_its_idempotency_window_becomes_unknown(
    project: Any, run: Any, now: Any, fake_mastodon: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Mastodon forgets idempotency keys after an hour: then a resend could duplicate."""
    project.config(
        "accounts:\n  masto:\n    network: mastodon\n"
        f"    instance: {fake_mastodon.url}\n    token: ${{T}}\n"
        "defaults:\n  timezone: Europe/Paris\n  catch_up: 3h\n"
    )
    monkeypatch.setenv("T", "good-token")
    monkeypatch.setenv("CMCTL_HTTP_TIMEOUT", "0.5")
    project.calendar(calendar(post("a", at="2026-12-01 09:30")))
    now.move_to("2026-12-01T08:30:30Z")
    fake_mastodon.hang_next("/api/v1/statuses", seconds=2.0, commit=True)
    fake_mastodon.fail_next("/api/v1/statuses", 503, {"error": "down"}, times=20)
    publish(run)  # ambiguous (maybe published), then 503s: still not sure
    assert len(fake_mastodon.statuses) == 1
    assert job(run)["state"].startswith("retrying")
    now.shift(2 * 3600)
    fake_mastodon.expire_idempotency_keys()
    fake_mastodon.clear_faults()
    code, outcomes = publish(run)
    assert code == 1, (outcomes, job(run))
    assert [o["state"] for o in outcomes] == ["unknown"]
    assert len(fake_mastodon.statuses) == 1  # never sent a second time
    status = as_json(run("status", "--json"))
    assert status["attention"][0]["state"] == "unknown"
    url = fake_mastodon.statuses[0]["url"]
    settled = run("resolve", "dec:a@masto", "--published", url)
    assert settled.exit_code == 0
    assert run("status").exit_code == 0
    assert job(run)["url"] == url


def test_accounts_check_proves_credentials(net: Any, run: Any) -> None:
    case, server = net
    result = run("accounts", "check", "--json")
    assert result.exit_code == 0, result.stdout
    [checked] = as_json(result)["accounts"]
    assert checked["ok"] is True
    assert case.count(server) == 0  # a harmless call: nothing published


def masto_project(
    project: Any, fake_mastodon: Any, monkeypatch: pytest.MonkeyPatch, now: Any, *posts: str
) -> None:
    project.config(
        "accounts:\n  masto:\n    network: mastodon\n"
        f"    instance: {fake_mastodon.url}\n    token: ${{T}}\n"
        "defaults:\n  timezone: Europe/Paris\n"
    )
    monkeypatch.setenv("T", "good-token")
    monkeypatch.setenv("CMCTL_HTTP_TIMEOUT", "0.5")
    project.calendar(calendar(*posts))
    now.move_to("2026-12-01T08:30:30Z")


def test_a_post_still_failing_long_after_its_time_is_given_up_not_sent_late(
    project: Any,
    run: Any,
    now: Any,
    fake_mastodon: Any,
    slept: list[float],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    masto_project(project, fake_mastodon, monkeypatch, now, post("a", at="2026-12-01 09:30"))
    fake_mastodon.fail_next("/api/v1/statuses", 503, {"error": "down"}, times=1000)
    code, outcomes = publish(run)
    assert code == 1 and outcomes[-1]["state"] == "retry"
    now.shift(24 * 3600)  # the machine was off for a day
    fake_mastodon.clear_faults()
    code, outcomes = publish(run)
    assert code == 1
    assert [o["state"] for o in outcomes] == ["failed"]
    assert "gave up" in outcomes[0]["message"]
    assert fake_mastodon.statuses == []  # never posted a day late


def test_an_ambiguous_post_removed_from_the_calendar_becomes_unknown(
    project: Any, run: Any, now: Any, fake_mastodon: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    masto_project(
        project,
        fake_mastodon,
        monkeypatch,
        now,
        post("a", at="2026-12-01 09:30"),
        post("b", at="2026-12-05 09:30"),
    )
    fake_mastodon.hang_next("/api/v1/statuses", seconds=2.0, commit=True)
    fake_mastodon.fail_next("/api/v1/statuses", 503, {"error": "down"}, times=20)
    publish(run)  # a: maybe published, retrying
    project.calendar(calendar(post("b", at="2026-12-05 09:30")))  # a is deleted
    fake_mastodon.clear_faults()
    publish(run)
    status = as_json(run("status", "--json"))
    [row] = status["attention"]
    assert row["key"] == "dec:a@masto" and row["state"] == "unknown"
    assert "removed from the calendar" in row["reason"]
