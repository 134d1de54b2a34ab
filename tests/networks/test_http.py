"""The HTTP helper reads answers that are errors in disguise through each network's
declared ``Answers``: recorded answers in the shape of each network's docs, served by an
httpx.MockTransport (unit tests of the helper, not of adapters)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from cmctl.networks import registry
from cmctl.networks.answers import MAX_WAIT, Answers
from cmctl.networks.errors import Ambiguous, AuthExpired, Permanent, SendError, Transient
from cmctl.networks.http import Http

SECRET = "xoxb-1234-SECRETSECRET"


def answer(
    status: int, body: Any = None, headers: dict[str, str] | None = None
) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        content = b"" if body is None else json.dumps(body).encode()
        return httpx.Response(
            status, content=content, headers={"content-type": "application/json", **(headers or {})}
        )

    return handler


def client(network: str, handler: Callable[[httpx.Request], httpx.Response]) -> Http:
    """An Http bound the way an adapter binds it: through the network's declaration."""
    declared = registry.get(network)
    http = Http(secrets=[SECRET], transport=httpx.MockTransport(handler))
    declared(None, {}, http, Path("/nonexistent"))  # Network.__init__ hands over `answers`
    assert http.answers is declared.answers is not None
    return http


def fails(http: Http, *, creates: bool = True, url: str = "https://api.test/x") -> SendError:
    with pytest.raises(SendError) as caught:
        http.request("POST", url, creates=creates)
    return caught.value


# ------------------------------------------------------------------------ Slack
def test_slack_200_ok_false_is_a_refusal_in_the_networks_words() -> None:
    http = client("slack", answer(200, {"ok": False, "error": "channel_not_found"}))
    error = fails(http)
    assert type(error) is Permanent
    assert "channel_not_found" in error.message


def test_slack_ok_true_passes() -> None:
    http = client("slack", answer(200, {"ok": True, "channel": "C1", "ts": "1.2"}))
    assert http.request("POST", "https://api.test/x", creates=True).json()["ts"] == "1.2"


@pytest.mark.parametrize("code", ["invalid_auth", "token_revoked", "account_inactive"])
def test_slack_revoked_token_is_auth_expired(code: str) -> None:
    error = fails(client("slack", answer(200, {"ok": False, "error": code})))
    assert type(error) is AuthExpired and code in error.message


def test_slack_fatal_error_on_a_create_is_ambiguous_and_a_retry_elsewhere() -> None:
    handler = answer(200, {"ok": False, "error": "fatal_error"})
    assert type(fails(client("slack", handler), creates=True)) is Ambiguous
    assert type(fails(client("slack", handler), creates=False)) is Transient


def test_slack_429_ratelimited_waits_for_retry_after() -> None:
    handler = answer(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "30"})
    error = fails(client("slack", handler))
    assert isinstance(error, Transient) and error.retry_after == 30


# --------------------------------------------------------------------- Telegram
TELEGRAM_URL = f"https://api.telegram.org/bot{SECRET}/sendMessage"


def test_telegram_429_retry_after_from_the_body() -> None:
    body = {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 35",
        "parameters": {"retry_after": 35},
    }
    error = fails(client("telegram", answer(429, body)), url=TELEGRAM_URL)
    assert isinstance(error, Transient) and error.retry_after == 35
    assert "Too Many Requests" in error.message
    assert SECRET not in error.message  # the token sits in Telegram's URL path


def test_telegram_ok_false_in_a_200_is_not_a_success() -> None:
    body = {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}
    error = fails(client("telegram", answer(200, body)), url=TELEGRAM_URL)
    assert type(error) is Permanent and "chat not found" in error.message


def test_telegram_revoked_token_is_auth_expired() -> None:
    body = {"ok": False, "error_code": 401, "description": "Unauthorized"}
    error = fails(client("telegram", answer(401, body)), url=TELEGRAM_URL)
    assert type(error) is AuthExpired and SECRET not in error.message


def test_a_body_retry_after_is_capped_like_headers() -> None:
    body = {"ok": False, "error_code": 429, "parameters": {"retry_after": 10**12}}
    error = fails(client("telegram", answer(429, body)))
    assert isinstance(error, Transient) and error.retry_after == MAX_WAIT


# ---------------------------------------------------------------------- Discord
def test_discord_429_fractional_retry_after_from_the_body() -> None:
    body = {"message": "You are being rate limited.", "retry_after": 1.5, "global": False}
    error = fails(client("discord", answer(429, body)))
    assert isinstance(error, Transient) and error.retry_after == 1.5
    assert "rate limited" in error.message


def test_discord_fractional_retry_after_header_is_read() -> None:
    error = fails(client("discord", answer(429, {"message": "slow"}, {"Retry-After": "2.5"})))
    assert isinstance(error, Transient) and error.retry_after == 2.5


def test_the_longer_of_header_and_body_wins() -> None:
    handler = answer(429, {"retry_after": 64.57}, {"Retry-After": "3"})
    error = fails(client("discord", handler))
    assert isinstance(error, Transient) and error.retry_after == 64.57


def test_discord_unauthorized_is_auth_expired_and_keeps_no_secret() -> None:
    handler = answer(401, {"message": f"Invalid Webhook Token {SECRET}", "code": 50027})
    error = fails(client("discord", handler))
    assert type(error) is AuthExpired
    assert SECRET not in error.message and "Invalid Webhook Token" in error.message


def test_discord_other_refusals_stay_permanent() -> None:
    error = fails(client("discord", answer(400, {"message": "Invalid Form Body", "code": 50035})))
    assert type(error) is Permanent and "Invalid Form Body" in error.message


# ------------------------------------------------------------------------- Meta
META = ["facebook", "instagram", "threads"]


def graph_error(code: int, message: str = "(#17) User request limit reached") -> dict[str, Any]:
    return {
        "error": {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "A"}
    }


@pytest.mark.parametrize("network", META)
def test_meta_expired_token_code_190_is_auth_expired(network: str) -> None:
    handler = answer(400, graph_error(190, "Error validating access token: Session has expired"))
    error = fails(client(network, handler))
    assert type(error) is AuthExpired and "Session has expired" in error.message


@pytest.mark.parametrize("network", META)
def test_meta_throttling_codes_in_a_400_are_transient(network: str) -> None:
    assert isinstance(fails(client(network, answer(400, graph_error(17)))), Transient)


@pytest.mark.parametrize("network", META)
def test_meta_throttling_code_in_a_5xx_to_a_create_may_have_published(network: str) -> None:
    # a 5xx is no proof the post was not stored, whatever its body says to do next
    assert isinstance(fails(client(network, answer(500, graph_error(2)))), Ambiguous)
    assert isinstance(fails(client(network, answer(500, graph_error(2))), creates=False), Transient)


@pytest.mark.parametrize("network", META)
def test_meta_other_400_stays_a_refusal(network: str) -> None:
    handler = answer(400, graph_error(100, "Invalid parameter"))
    error = fails(client(network, handler))
    assert type(error) is Permanent and "Invalid parameter" in error.message


@pytest.mark.parametrize("network", META)
def test_meta_usage_over_the_limit_stops_the_next_call_not_this_one(network: str, now: Any) -> None:
    """A 2xx is a success (the post went out): it is returned. But the usage header says
    the app is at 96%: the next call is not sent until the regain time has passed."""
    calls: list[str] = []
    usage = {
        "123": [
            {
                "type": "pages",
                "call_count": 96,
                "total_cputime": 10,
                "total_time": 12,
                "estimated_time_to_regain_access": 7,
            }
        ]
    }

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return httpx.Response(
            200, json={"id": "1"}, headers={"X-Business-Use-Case-Usage": json.dumps(usage)}
        )

    http = client(network, handler)
    assert http.request("POST", "https://graph.test/feed", creates=True).json() == {"id": "1"}
    error = fails(http)
    assert isinstance(error, Transient) and error.retry_after == 7 * 60
    assert "call_count at 96%" in error.message and "not sent" in error.message
    assert calls == ["/feed"]  # refused before sending
    now.shift(timedelta(minutes=7, seconds=1))
    http.request("GET", "https://graph.test/again")
    assert calls == ["/feed", "/again"]


def test_meta_app_usage_without_a_regain_time_waits_the_declared_default(now: Any) -> None:
    headers = {"X-App-Usage": json.dumps({"call_count": 20, "total_cputime": 99, "total_time": 5})}
    http = client("facebook", answer(200, {"id": "1"}, headers))
    http.request("GET", "https://graph.test/a")
    error = fails(http)
    declared = registry.get("facebook").answers
    assert declared is not None
    assert isinstance(error, Transient) and error.retry_after == declared.usage_wait
    assert "total_cputime at 99%" in error.message


def test_usage_under_the_limit_changes_nothing() -> None:
    headers = {"X-App-Usage": json.dumps({"call_count": 94, "total_cputime": 1, "total_time": 1})}
    http = client("facebook", answer(200, {"id": "1"}, headers))
    for _ in range(3):
        http.request("GET", "https://graph.test/a")


def test_a_throttled_400_waits_the_regain_time() -> None:
    usage = {"9": [{"call_count": 100, "estimated_time_to_regain_access": 20}]}
    handler = answer(400, graph_error(80001), {"X-Business-Use-Case-Usage": json.dumps(usage)})
    error = fails(client("facebook", handler))
    assert isinstance(error, Transient) and error.retry_after == 20 * 60


# --------------------------------------------------------------------- generic
@pytest.mark.parametrize(
    "body",
    [b"", b"not json", b"[1, 2]", b'{"ok": "false"}', b'{"ok": null}', b'{"error": {"a": [1]}}'],
)
def test_odd_bodies_on_a_2xx_pass_untouched(body: bytes) -> None:
    http = Http(
        transport=httpx.MockTransport(lambda r: httpx.Response(200, content=body)),
        answers=Answers(ok="ok", message=("error",), retry_after=("retry_after",)),
    )
    assert http.request("GET", "https://api.test/").content == body


@pytest.mark.parametrize(
    "header", ["not json", "[]", '{"call_count": "99"}', '{"a": [1, "x"]}', '{"x": NaN}']
)
def test_odd_usage_headers_are_ignored(header: str) -> None:
    http = Http(
        transport=httpx.MockTransport(
            lambda r: httpx.Response(200, headers={"x-app-usage": header})
        ),
        answers=Answers(usage=("x-app-usage",)),
    )
    for _ in range(2):
        http.request("GET", "https://api.test/")


def test_without_a_declaration_a_200_ok_false_is_still_a_success() -> None:
    """Networks that do not declare ``ok`` are not second-guessed (a blog post whose JSON
    happens to hold "ok": false is a success)."""
    http = Http(transport=httpx.MockTransport(answer(200, {"ok": False})))
    assert http.request("GET", "https://api.test/").json() == {"ok": False}


def test_the_adapters_classifier_still_has_the_first_word() -> None:
    http = client("discord", answer(401, {"message": "401: Unauthorized", "code": 0}))
    with pytest.raises(Permanent, match="mine"):
        http.request("GET", "https://api.test/", classify=lambda r: Permanent("mine"))


def test_secrets_the_network_echoes_in_an_ok_false_body_are_redacted() -> None:
    http = client("slack", answer(200, {"ok": False, "error": f"bad token {SECRET}"}))
    error = fails(http)
    assert SECRET not in error.message and "SECRETSECRET" not in error.message
