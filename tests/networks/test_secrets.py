"""Secrets never shown: every kind of secret, from every place it can be written, through
every error path, never appears (nor any encoded form or fragment of it) in stdout,
stderr, `publish --json`, `status --json`, `log --events`, `accounts check` or the
ledger's bytes (ledger.sqlite3 and its -wal).

Kinds: plain, with `/` and `"`, with a backslash, all digits, non-ASCII (cannot go in an
HTTP header: the send fails, cleanly), longer than the 300-character cut.
Places: cmctl.yaml inline, ${ENV}, .env, ${ENV} with a secret file's trailing newline.
Paths: the fake server echoes the secret in a JSON error, in an escaped JSON error, in
a text error (JSON-escaped, percent-encoded, base64), past the 300-character cut, in a
401 and in a 5xx; transport errors; an illegal header; config errors; webhook URLs with
userinfo, a path token and a query token.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote, quote_plus

import httpx
import pytest

from tests.conftest import calendar, post
from tests.fakes.webhook import WEBHOOK_SECRET

KINDS = {
    "plain": "tok-PLAIN-0123456789abcdefXYZ",
    "slash-quote": 'tok/SL"ASH-0123456789abcQ',
    "backslash": "tok\\BACKSLASH-0123456789q",
    "numeric": "8675309012345678",
    "non-ascii": "tøk-ÜNICODE-0123456789é",
    "long": "tok-LONG-" + "x7Q" * 100,
}
PLACES = ("inline", "env", "dotenv", "env-newline")


def forms(secret: str) -> set[str]:
    """The secret as a careless encoder may write it, and fragments of it."""
    s = secret.strip()
    out = {
        s,
        json.dumps(s)[1:-1],
        json.dumps(s, ensure_ascii=False)[1:-1],
        json.dumps(s)[1:-1].replace("/", "\\/"),
        json.dumps(json.dumps(s))[1:-1],
        quote(s, safe=""),
        quote(s),
        quote_plus(s),
        repr(s)[1:-1],
        base64.b64encode(s.encode()).decode(),
    }
    if len(s) > 8:  # a fragment cut by a truncation
        window = max(8, min(16, len(s) // 2))
        out |= {s[i : i + window] for i in range(len(s) - window + 1)}
    return out


def assert_hidden(secrets: list[str], *texts: str | bytes) -> None:
    for secret in secrets:
        for form in forms(secret):
            for text in texts:
                hay = text if isinstance(text, bytes) else text.encode("utf-8")
                assert form.encode("utf-8") not in hay, f"{form!r} shown"


def everything(run: Any, project: Any) -> list[str | bytes]:
    """Every output a user or a tool may read, and the ledger's raw bytes."""
    texts: list[str | bytes] = []
    for args in (
        ("publish", "--json"),
        ("status", "--json"),
        ("status",),
        ("log", "--events"),
        ("log", "--events", "--json"),
        ("accounts", "check"),
        ("accounts", "check", "--json"),
        ("accounts", "--json"),
    ):
        result = run(*args)
        assert result.exit_code != 70, (args, result.output)
        assert "Traceback" not in result.stderr
        texts += [result.stdout, result.stderr]
    state = project.root / ".cmctl"
    for name in ("ledger.sqlite3", "ledger.sqlite3-wal"):
        if (state / name).exists():
            texts.append((state / name).read_bytes())
    return texts


def place(project: Any, monkeypatch: pytest.MonkeyPatch, where: str, var: str, secret: str) -> str:
    """Put ``secret`` where ``where`` says; return what cmctl.yaml writes for it."""
    if where == "inline":
        return json.dumps(secret, ensure_ascii=False)  # a YAML double-quoted scalar
    if where == "dotenv":
        project.write(".env", f"{var}='{secret}'\n")
    else:
        monkeypatch.setenv(var, secret + ("\n" if where == "env-newline" else ""))
    return f"${{{var}}}"


def mastodon_project(
    project: Any, monkeypatch: Any, server: Any, value: str, instance: str | None = None
) -> None:
    project.config(
        f"accounts:\n  masto:\n    network: mastodon\n"
        f"    instance: {instance or server.url}\n    token: {value}\n"
        "defaults:\n  timezone: Europe/Paris\n"
    )
    project.calendar(calendar(post("a", at="2026-12-01 09:30"), accounts="[masto]"))
    monkeypatch.setenv("CMCTL_HTTP_TIMEOUT", "0.5")


def echoes(secret: str) -> dict[str, tuple[int, Any]]:
    """Error answers that echo ``secret`` in every way a server might."""
    s = secret
    return {
        "json": (422, {"error": f"Validation failed: token {s} is not allowed"}),
        "json-escaped": (422, json.dumps({"error": f"bad token {s}"}).replace("/", "\\/")),
        "text-encoded": (
            400,
            f"bad token: {json.dumps(s)[1:-1]} url={quote(s, safe='')} "
            f"b64={base64.b64encode(s.encode()).decode()} repr={s!r}",
        ),
        "truncated": (400, "x" * 280 + " " + s),
        "401": (401, {"error": f"The access token {s} is invalid"}),
        "500": (500, {"error": f"upstream saw Authorization: Bearer {s}"}),
    }


ECHOES = ("json", "json-escaped", "text-encoded", "truncated", "401", "500")


@pytest.mark.parametrize("echo", ECHOES)
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_mastodon_echoed_token_is_never_shown(
    kind: str,
    echo: str,
    project: Any,
    run: Any,
    now: Any,
    slept: Any,
    monkeypatch: Any,
    fake_mastodon: Any,
) -> None:
    secret = KINDS[kind]
    fake_mastodon.token = secret
    where = PLACES[(sorted(KINDS).index(kind) + ECHOES.index(echo)) % len(PLACES)]
    mastodon_project(
        project,
        monkeypatch,
        fake_mastodon,
        place(project, monkeypatch, where, "MASTO_TOKEN", secret),
    )
    status, body = echoes(secret)[echo]
    fake_mastodon.fail_next("/api/v1/statuses", status, body, times=3)
    fake_mastodon.fail_next("/api/v1/accounts/verify_credentials", status, body, times=2)
    now.move_to("2026-12-01T08:30:30Z")
    texts = everything(run, project)
    assert_hidden([secret], *texts)
    if kind != "non-ascii":  # the echo reached the outputs, redacted
        assert any("***" in t for t in texts if isinstance(t, str))


@pytest.mark.parametrize("where", PLACES)
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_place_a_token_is_written(
    kind: str,
    where: str,
    project: Any,
    run: Any,
    now: Any,
    slept: Any,
    monkeypatch: Any,
    fake_mastodon: Any,
) -> None:
    secret = KINDS[kind]
    fake_mastodon.token = secret
    mastodon_project(
        project,
        monkeypatch,
        fake_mastodon,
        place(project, monkeypatch, where, "MASTO_TOKEN", secret),
    )
    fake_mastodon.fail_next("/api/v1/statuses", 422, {"error": f"nope {secret}"})
    now.move_to("2026-12-01T08:30:30Z")
    texts = everything(run, project)
    assert_hidden([secret], *texts)
    if kind != "non-ascii":  # the token reached the server whole: whitespace stripped
        assert any(
            r.headers.get("authorization") == f"Bearer {secret}" for r in fake_mastodon.requests
        )


@pytest.mark.parametrize("echo", ("json", "text-encoded", "truncated", "401"))
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_bluesky_echoed_app_password_is_never_shown(
    kind: str,
    echo: str,
    project: Any,
    run: Any,
    now: Any,
    slept: Any,
    monkeypatch: Any,
    fake_bluesky: Any,
) -> None:
    secret = KINDS[kind]
    where = PLACES[sorted(KINDS).index(kind) % len(PLACES)]
    value = place(project, monkeypatch, where, "BSKY_PASSWORD", secret)
    project.config(
        f"accounts:\n  bsky:\n    network: bluesky\n    handle: brand.test\n"
        f"    app_password: {value}\n    service: {fake_bluesky.url}\n"
    )
    project.calendar(calendar(post("a", at="2026-12-01 09:30"), accounts="[bsky]"))
    status, body = echoes(secret)[echo]
    if isinstance(body, dict):
        body = {"error": "AuthenticationRequired", "message": body["error"]}
    fake_bluesky.fail_next("com.atproto.server.createSession", status, body, times=9)
    now.move_to("2026-12-01T08:30:30Z")
    assert_hidden([secret], *everything(run, project))


def test_bluesky_session_tokens_echoed_are_never_shown(
    project: Any, run: Any, now: Any, slept: Any, monkeypatch: Any, fake_bluesky: Any
) -> None:
    project.config(
        f"accounts:\n  bsky:\n    network: bluesky\n    handle: brand.test\n"
        f"    app_password: ${{P}}\n    service: {fake_bluesky.url}\n"
    )
    monkeypatch.setenv("P", "app-pass-1234")
    project.calendar(calendar(post("a", at="2026-12-01 09:30"), accounts="[bsky]"))
    seen: list[str] = []
    original = fake_bluesky.route

    def route(request: Any) -> Any:
        auth = request.headers.get("authorization", "")
        if request.path.endswith("putRecord") and auth:
            seen.append(auth.removeprefix("Bearer "))
            from tests.fakes.base import Reply

            return Reply(400, {"error": "InvalidRequest", "message": f"who is {auth}?"})
        return original(request)

    monkeypatch.setattr(fake_bluesky, "route", route)
    now.move_to("2026-12-01T08:30:30Z")
    texts = everything(run, project)
    assert seen
    assert_hidden(["app-pass-1234", *seen], *texts)


WEBHOOK_URLS = {
    "path-token-then-query": (
        "{base}/hooks/PATHTOKEN-abc123456?sig=QUERYTOKEN-98765",
        ["PATHTOKEN-abc123456", "QUERYTOKEN-98765"],
    ),
    "query-token": ("{base}/h?token=QTOKEN-only-123456&x=1", ["QTOKEN-only-123456"]),
    "userinfo": (
        "http://hookuser:PA55-userinfo-word@{hostport}/hooks/x",
        ["PA55-userinfo-word", "hookuser:PA55-userinfo-word"],
    ),
}


@pytest.mark.parametrize("url_kind", sorted(WEBHOOK_URLS))
@pytest.mark.parametrize("where", ("inline", "env-newline"))
def test_webhook_url_credentials_are_never_shown(
    url_kind: str,
    where: str,
    project: Any,
    run: Any,
    now: Any,
    slept: Any,
    monkeypatch: Any,
    fake_webhook: Any,
) -> None:
    template, secrets = WEBHOOK_URLS[url_kind]
    url = template.format(base=fake_webhook.url, hostport=fake_webhook.url.split("//")[1])
    value = url if where == "inline" else place(project, monkeypatch, where, "HOOK_URL", url)
    project.config(
        f"accounts:\n  hook:\n    network: webhook\n    url: {value}\n"
        "    secret: ${HOOK_SECRET}\n"
    )
    monkeypatch.setenv("HOOK_SECRET", WEBHOOK_SECRET)
    project.calendar(calendar(post("a", at="2026-12-01 09:30"), accounts="[hook]"))
    path = url.split("?")[0].rsplit("/", 1)[1]
    basic = base64.b64encode(b"hookuser:PA55-userinfo-word").decode()
    fake_webhook.fail_next(
        path, 400, {"error": f"refused {url} (Basic {basic}) secret {WEBHOOK_SECRET}"}, times=3
    )
    now.move_to("2026-12-01T08:30:30Z")
    texts = everything(run, project)
    assert_hidden([*secrets, WEBHOOK_SECRET, WEBHOOK_SECRET.removeprefix("whsec_")], *texts)
    check = run("accounts", "check", "--send-test", "hook")
    assert_hidden([*secrets, WEBHOOK_SECRET], check.stdout, check.stderr)


def test_userinfo_credentials_on_a_transport_error(
    project: Any, run: Any, now: Any, slept: Any, monkeypatch: Any, fake_mastodon: Any
) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("MASTO_TOKEN", "good-token")
    mastodon_project(
        project,
        monkeypatch,
        fake_mastodon,
        "${MASTO_TOKEN}",
        instance=f"http://admin:Us3rInfo-Passw0rd@127.0.0.1:{port}",
    )
    now.move_to("2026-12-01T08:30:30Z")
    texts = everything(run, project)
    assert any("cannot connect" in t for t in texts if isinstance(t, str))
    assert_hidden(["Us3rInfo-Passw0rd", "admin:Us3rInfo-Passw0rd", "good-token"], *texts)


def test_illegal_header_never_quotes_the_token(fake_mastodon: Any) -> None:
    """h11 refuses a header value with a newline and quotes it whole in its error."""
    from cmctl.networks.base import Permanent
    from cmctl.networks.http import Http

    token = "tok-ILLEGAL-0123456789"
    http = Http(secrets=[token])
    for value in (f"Bearer {token}\n", f"Bearer {token}\r\nX: y", f"Bearer {token}é"):
        with pytest.raises(Permanent) as caught:
            http.request(
                "GET",
                f"{fake_mastodon.url}/api/v1/accounts/verify_credentials",
                headers={"Authorization": value},
            )
        assert_hidden([token], caught.value.message, str(caught.value))
    http.close()


# --- config errors -------------------------------------------------------------------
@pytest.mark.parametrize(
    "value", ["8675309012345678", "1.5e10", "true", "[a1b2c3d4e5]", "{k: a1b2c3d4e5}"]
)
def test_a_secret_that_is_not_text_is_refused_without_quoting_it(
    value: str, project: Any, run: Any
) -> None:
    project.config(
        f"accounts:\n  masto:\n    network: mastodon\n"
        f"    instance: https://m.example\n    token: {value}\n"
    )
    for args in (("validate",), ("validate", "--format", "github"), ("accounts", "check")):
        result = run(*args)
        assert result.exit_code == 2, result.output
        assert "'accounts.masto.token' must be text" in result.output
        for shown in ("8675309012345678", "1.5e10", "a1b2c3d4e5"):
            assert shown not in result.output


@pytest.mark.parametrize("where", ("inline", "env", "dotenv"))
@pytest.mark.parametrize(
    "secret, problem",
    [
        ("q7Z", "too short to be a real credential"),
        ("", "is empty"),
        ("tok-CTRL\x00-0123456789", "control or invisible character"),
        ("tok-NL\n-0123456789", "control or invisible character"),
        ("tok-ZW\u200b-0123456789", "control or invisible character"),
    ],
)
def test_an_unusable_secret_is_a_clean_config_error(
    secret: str, problem: str, where: str, project: Any, run: Any, now: Any, monkeypatch: Any
) -> None:
    if where == "dotenv" and ("\n" in secret or "\x00" in secret):
        return  # a .env line cannot hold these
    if where == "inline" and "\x00" in secret:
        return  # YAML refuses it first
    if where == "env" and "\x00" in secret:
        return  # the environment cannot hold it
    value = place(project, monkeypatch, where, "MASTO_TOKEN", secret)
    project.config(
        f"accounts:\n  masto:\n    network: mastodon\n"
        f"    instance: https://m.example\n    token: {value}\n"
    )
    project.calendar(calendar(post("a", at="2026-12-01 09:30"), accounts="[masto]"))
    now.move_to("2026-12-01T08:30:30Z")
    outputs = []
    for args in (("accounts", "check"), ("publish",), ("status", "--json")):
        result = run(*args)
        assert result.exit_code in ((0, 1, 2) if args[0] == "status" else (1, 2)), result.output
        assert "Traceback" not in result.stderr
        outputs.append(result.output)
    joined = "\n".join(outputs[:2])
    assert problem in joined and "token" in joined
    visible = "".join(c for c in secret if c.isprintable()).strip()
    if visible:
        assert_hidden([visible], *outputs)


def test_a_secret_file_newline_is_stripped(
    project: Any, run: Any, now: Any, slept: Any, monkeypatch: Any, fake_mastodon: Any
) -> None:
    monkeypatch.setenv("MASTO_TOKEN", "  good-token\r\n")
    mastodon_project(project, monkeypatch, fake_mastodon, "${MASTO_TOKEN}")
    now.move_to("2026-12-01T08:30:30Z")
    result = run("publish", "--json")
    assert result.exit_code == 0, result.output
    assert len(fake_mastodon.statuses) == 1


# --- the redactor as a unit ---------------------------------------------------------
def test_redact_before_truncating() -> None:
    from cmctl.networks.http import Http

    token = "tok-" + "A1b2" * 20
    http = Http(secrets=[token])
    response = httpx.Response(
        400, text="x" * 290 + token, request=httpx.Request("GET", "https://h/x")
    )
    said = http.error_message(response)
    assert said.endswith("***") and token[:6] not in said
    http.close()


def test_short_values_are_redacted_only_as_whole_tokens() -> None:
    from cmctl.redact import Redactor

    redact = Redactor(["a1"])
    assert (
        redact("GET /x: 401 a1 refused, a1b stays, (a1)")
        == "GET /x: 401 *** refused, a1b stays, (***)"
    )
