"""`cmctl accounts login NAME` end to end: the real CLI, a simulated browser, no internet.

The scripted network (tests/networks/scripted.py) declares an ``OAuthApp`` whose
endpoints are a generic RFC 6749/7636 authorization server (tests/fakes/oauth.py).
The CLI runs in this process with its stdin and stdout on real pipes: a "browser"
thread reads the authorization URL from the CLI's stdout, asks the fake's authorize
endpoint, and follows its redirect to the loopback listener (or pastes it on stdin,
as with --no-browser). Every wait is bounded: the CLI's --timeout, joins with timeouts.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from cmctl.networks import registry
from cmctl.networks.base import AccountField, Network
from cmctl.networks.credentials import CredentialStore
from cmctl.networks.oauth import OAuthApp, s256
from tests.conftest import DEFAULT_NOW
from tests.fakes.oauth import CLIENT_ID, CLIENT_SECRET, FakeAuthServer
from tests.networks import scripted


def _check(self: Network) -> str:
    """The scripted network's ``check`` for these tests: who the bearer token is."""
    response = self.http.request(
        "GET", self.api_url + "/me", headers={"Authorization": f"Bearer {self.access_token()}"}
    )
    return "@" + str(response.json()["username"])


FIELDS = (
    AccountField("client_id"),
    AccountField("client_secret", secret=True),
    AccountField("redirect_uri"),
    AccountField("auth_url"),
    AccountField("access_token", secret=True),
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(autouse=True)
def _no_browser(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CMCTL_NO_BROWSER", "1")  # never a real browser


@pytest.fixture
def fake(project: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAuthServer]:
    monkeypatch.setitem(registry.BUILTIN, "scripted", "tests.networks.scripted:Scripted")
    registry._refs.cache_clear()
    registry.get.cache_clear()
    redirect = f"http://127.0.0.1:{free_port()}/callback"
    with FakeAuthServer(redirect_uri=redirect) as server:
        app = OAuthApp(
            auth_base=server.url,
            authorize_path="/authorize",
            token_path="/token",
            scopes=("post.write", "offline.access"),
        )
        scripted.declare(oauth=app, account_fields=FIELDS, check=_check)
        monkeypatch.setenv("OAUTH_SECRET", CLIENT_SECRET)
        write_config(project, server, redirect_uri=redirect)
        yield server
    scripted.restore()
    registry._refs.cache_clear()
    registry.get.cache_clear()


def write_config(project: Any, server: FakeAuthServer, **options: str | None) -> None:
    fields = {
        "network": "scripted",
        "client_id": CLIENT_ID,
        "client_secret": "${OAUTH_SECRET}",
        "api_url": server.url,
    }
    fields.update({k: v for k, v in options.items() if v is not None})
    for key in [k for k, v in options.items() if v is None]:
        fields.pop(key, None)
    lines = "".join(f"    {k}: {json.dumps(v)}\n" for k, v in fields.items())
    project.config(f"accounts:\n  brand:\n{lines}defaults:\n  timezone: UTC\n")


# ------------------------------------------------------------------ the live CLI
@dataclass
class Live:
    code: int
    out: str
    err: str
    url: str = ""
    pages: list[httpx.Response] = field(default_factory=list)


Browser = Callable[[str, Callable[[str], None], list[httpx.Response]], None]


def login(browser: Browser, *args: str) -> Live:
    """Run `cmctl accounts login brand ARGS` with stdin/stdout on pipes; ``browser``
    runs in a thread with the URL read from stdout, a ``paste`` function writing a line
    on the CLI's stdin, and a list to keep the pages it got."""
    from cmctl.cli import cli

    out_r, out_w = os.pipe()
    in_r, in_w = os.pipe()
    stdout = io.TextIOWrapper(os.fdopen(out_w, "wb"), encoding="utf-8", line_buffering=True)
    stdin = io.TextIOWrapper(os.fdopen(in_r, "rb"), encoding="utf-8")
    paste_end = os.fdopen(in_w, "w", encoding="utf-8")
    err = io.StringIO()
    seen: list[str] = []
    pages: list[httpx.Response] = []
    failures: list[BaseException] = []

    def paste(line: str) -> None:
        paste_end.write(line + "\n")
        paste_end.flush()

    def user() -> None:
        with os.fdopen(out_r, "r", encoding="utf-8") as reader:
            first = reader.readline()  # ends: the CLI closes stdout when it returns
            seen.append(first)
            if first.strip():
                try:
                    browser(first.strip(), paste, pages)
                except BaseException as exc:
                    failures.append(exc)
            seen.append(reader.read())

    thread = threading.Thread(target=user, daemon=True)
    thread.start()
    try:
        with pytest.MonkeyPatch.context() as streams:
            streams.setattr(sys, "stdout", stdout)
            streams.setattr(sys, "stdin", stdin)
            streams.setattr(sys, "stderr", err)
            code = cli.main(
                ["accounts", "login", "brand", "--timeout", "10", *args],
                prog_name="cmctl",
                standalone_mode=False,
            )
    finally:
        stdout.close()
        thread.join(timeout=10)
        with contextlib.suppress(OSError):
            paste_end.close()
        stdin.close()
    assert not thread.is_alive()
    if failures:
        raise failures[0]
    return Live(int(code or 0), "".join(seen), err.getvalue(), seen[0].strip(), pages)


def client() -> httpx.Client:
    return httpx.Client(trust_env=False, timeout=5, follow_redirects=False)


def authorize(url: str) -> str:
    """What a browser does at the network: the user allows, the network redirects."""
    with client() as c:
        answer = c.get(url)
    assert answer.status_code == 302, answer.text
    return answer.headers["location"]


def goes_back(url: str, paste: Callable[[str], None], pages: list[httpx.Response]) -> None:
    """The browser follows the redirect to cmctl's loopback listener."""
    back = authorize(url)
    with client() as c:
        pages.append(c.get(back))


def pastes(url: str, paste: Callable[[str], None], pages: list[httpx.Response]) -> None:
    """The user (--no-browser) copies the address the browser was sent to."""
    paste(authorize(url))


def with_state(location: str, state: str) -> str:
    parts = urlsplit(location)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    return parts._replace(query=urlencode({**query, "state": state})).geturl()


def stored(project: Any) -> Any:
    return CredentialStore(project.root / ".cmctl").get("brand")


def secrets_of(fake: FakeAuthServer) -> list[str]:
    verifiers = [
        r.body.decode() for r in fake.token_requests() if b"code_verifier" in r.body
    ]  # the whole form: code, verifier, secret
    return [CLIENT_SECRET, *fake.codes, *fake.tokens, *fake.refreshes, *verifiers]


# ----------------------------------------------------------------------- the tests
def test_the_printed_url_then_the_browser_comes_back_and_the_login_is_stored(
    project: Any, now: Any, fake: FakeAuthServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = urlsplit(fake.redirect_uri).port

    def browser(url: str, paste: Any, pages: list[httpx.Response]) -> None:
        with client() as c:  # the browser asks the listener for its icon first
            pages.append(c.get(f"http://127.0.0.1:{port}/favicon.ico"))
            pages.append(c.get(f"http://127.0.0.1:{port}/callback"))  # a stray visit
        goes_back(url, paste, pages)

    live = login(browser)
    assert live.code == 0, live.err
    lines = live.out.splitlines()
    assert lines[0] == live.url  # alone on its line, first
    parts = urlsplit(live.url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == fake.url + "/authorize"
    assert query["response_type"] == "code" and query["client_id"] == CLIENT_ID
    assert query["redirect_uri"] == fake.redirect_uri
    assert query["scope"] == "post.write offline.access"
    assert len(query["state"]) >= 32 and query["code_challenge_method"] == "S256"
    # the verifier sent with the code is the one behind the printed challenge
    (exchange,) = fake.token_requests()
    form = {k: v[0] for k, v in parse_qs(exchange.body.decode()).items()}
    assert s256(form["code_verifier"]) == query["code_challenge"]
    assert form["redirect_uri"] == fake.redirect_uri
    assert [p.status_code for p in live.pages] == [404, 404, 200]
    assert "You can close this tab" in live.pages[-1].text
    assert lines[1:] == [
        "account 'brand' logged in to Scripted as @brand",
        "the login renews itself: cmctl refreshes its tokens before they expire",
    ]
    cred = stored(project)
    assert cred.access in fake.tokens and cred.refresh in fake.refreshes
    assert cred.expires_at == DEFAULT_NOW + timedelta(hours=1)
    assert (project.root / ".cmctl" / "credentials.json").stat().st_mode & 0o777 == 0o600
    config_text = (project.root / "cmctl.yaml").read_text()
    for secret in secrets_of(fake):
        assert secret not in live.out and secret not in live.err
        assert secret not in config_text
    assert "Log in" in live.err or "Open this address" in live.err


def test_a_second_login_replaces_the_stored_one(
    project: Any, now: Any, fake: FakeAuthServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert login(goes_back).code == 0
    first = stored(project)
    assert login(goes_back).code == 0
    second = stored(project)
    assert second.version == first.version + 1 and second.access != first.access


def test_a_login_without_refresh_says_when_it_expires_and_status_warns(
    project: Any, now: Any, fake: FakeAuthServer, monkeypatch: pytest.MonkeyPatch, run: Any
) -> None:
    fake.refresh_tokens = False
    fake.lifetime = 60 * 24 * 3600  # 60 days, as a member token without refresh
    live = login(goes_back)
    assert live.code == 0, live.err
    assert live.out.splitlines()[2] == (
        "the login expires on 2027-01-19 12:00 UTC (in 60 days): log in again before "
        "then with `cmctl accounts login brand`"
    )
    assert run("status").exit_code == 0
    now.move_to(DEFAULT_NOW + timedelta(days=50))
    status = run("status")
    assert "`cmctl accounts login brand`" in status.output and "expires in 10 days" in (
        status.output
    )
    check = run("accounts", "check", "brand")
    assert "cmctl accounts login brand" in check.output


def test_a_wrong_state_is_refused_and_the_code_never_exchanged(
    project: Any, now: Any, fake: FakeAuthServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def forged(url: str, paste: Any, pages: list[httpx.Response]) -> None:
        with client() as c:
            pages.append(c.get(with_state(authorize(url), "not-the-state")))

    live = login(forged)
    assert live.code == 2
    assert "state does not match" in live.err and "nothing was exchanged" in live.err
    assert live.pages[0].status_code == 400
    assert fake.token_requests() == []
    assert stored(project) is None


def test_a_pasted_address_with_a_wrong_state_is_refused(
    project: Any, now: Any, fake: FakeAuthServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = login(
        lambda url, paste, pages: paste(with_state(authorize(url), "forged")),
        "--no-browser",
    )
    assert live.code == 2 and "state does not match" in live.err
    assert fake.token_requests() == [] and stored(project) is None


def test_access_denied_exits_2_with_the_networks_words(
    project: Any, now: Any, fake: FakeAuthServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.deny = True
    live = login(goes_back)
    assert live.code == 2
    assert "did not grant the login (access_denied: The user denied access)" in live.err
    assert fake.token_requests() == [] and stored(project) is None
    assert "close this tab" in live.pages[0].text


def test_no_browser_takes_the_pasted_address(
    project: Any, now: Any, fake: FakeAuthServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def user(url: str, paste: Callable[[str], None], pages: Any) -> None:
        paste("")
        paste("I logged in")  # not an address: cmctl asks again
        paste("  " + authorize(url) + "  ")

    live = login(user, "--no-browser")
    assert live.code == 0, live.err
    assert "paste the whole address" in live.err
    assert live.out.splitlines()[1] == "account 'brand' logged in to Scripted as @brand"
    assert stored(project) is not None
    for secret in secrets_of(fake):
        assert secret not in live.out and secret not in live.err


def test_no_browser_still_listens_whichever_comes_first(
    project: Any, now: Any, fake: FakeAuthServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = login(goes_back, "--no-browser")
    assert live.code == 0, live.err
    assert len(fake.token_requests()) == 1


def test_a_busy_port_names_the_redirect_uri_and_how_to_change_it(
    project: Any, run: Any, fake: FakeAuthServer
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        redirect = f"http://127.0.0.1:{busy.getsockname()[1]}/callback"
        write_config(project, fake, redirect_uri=redirect)
        result = run("accounts", "login", "brand", "--timeout", "5")
    assert result.exit_code == 2
    assert f"cannot listen on {redirect}" in result.stderr and "is in use" in result.stderr
    assert "redirect_uri: http://127.0.0.1:8766/callback" in result.stderr
    assert result.stdout == ""  # no URL: the browser's answer would have nowhere to go


def test_a_redirect_uri_cmctl_cannot_listen_on_is_refused(
    project: Any, run: Any, fake: FakeAuthServer
) -> None:
    write_config(project, fake, redirect_uri="https://brand.example/callback")
    result = run("accounts", "login", "brand")
    assert result.exit_code == 2 and "not a loopback address" in result.stderr
    assert "--no-browser" in result.stderr


def test_no_answer_in_time_exits_2(project: Any, run: Any, fake: FakeAuthServer) -> None:
    result = run("accounts", "login", "brand", "--timeout", "0.05")
    assert result.exit_code == 2
    assert "no answer from the browser within 0.05 s" in result.stderr
    assert result.stdout.startswith(fake.url + "/authorize?")
    assert stored(project) is None


def test_an_account_without_oauth_does_not_log_in(
    project: Any, run: Any, fake: FakeAuthServer
) -> None:
    scripted.declare(oauth=None)
    result = run("accounts", "login", "brand")
    assert result.exit_code == 2
    assert "account 'brand' (Scripted) does not log in: its credentials are in cmctl.yaml" in (
        result.stderr
    )


def test_an_unknown_account(project: Any, run: Any, fake: FakeAuthServer) -> None:
    result = run("accounts", "login", "nobody")
    assert result.exit_code == 2 and "unknown account 'nobody'" in result.stderr


@pytest.mark.parametrize(
    ("removed", "named"),
    [("client_id", "sets no client_id"), ("client_secret", "sets no client_secret")],
)
def test_the_app_keys_are_required(
    project: Any, run: Any, fake: FakeAuthServer, removed: str, named: str
) -> None:
    write_config(project, fake, redirect_uri=fake.redirect_uri, **{removed: None})
    result = run("accounts", "login", "brand")
    assert result.exit_code == 2 and named in result.stderr, result.stderr
    assert result.stdout == ""


def test_a_public_client_needs_no_secret(
    project: Any, now: Any, fake: FakeAuthServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = scripted.Scripted.oauth
    assert app is not None
    from dataclasses import replace

    scripted.declare(oauth=replace(app, secret_required=False))
    fake.client_secret = None
    write_config(project, fake, redirect_uri=fake.redirect_uri, client_secret=None)
    assert login(goes_back).code == 0


def test_a_refused_exchange_exits_2_without_a_secret(
    project: Any, now: Any, fake: FakeAuthServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.client_secret = "another-secret-entirely"
    live = login(goes_back)
    assert live.code == 2 and "did not exchange the code" in live.err
    assert stored(project) is None
    for secret in secrets_of(fake):
        assert secret not in live.err


def test_a_login_wins_over_seeded_tokens_until_they_change(
    project: Any, now: Any, fake: FakeAuthServer, monkeypatch: pytest.MonkeyPatch, run: Any
) -> None:
    monkeypatch.setenv("SEEDED", "seeded-access-token-1")
    write_config(project, fake, redirect_uri=fake.redirect_uri, access_token="${SEEDED}")
    assert login(goes_back).code == 0
    logged = stored(project).access
    check = run("accounts", "check", "brand")
    assert check.exit_code == 0 and "@brand" in check.output
    assert stored(project).access == logged  # the seed did not take the login's place
    monkeypatch.setenv("SEEDED", "seeded-access-token-2")  # a new seed wins again
    run("accounts", "check", "brand")
    assert stored(project).access == "seeded-access-token-2"


def test_accounts_check_before_any_login_names_the_command(
    project: Any, run: Any, fake: FakeAuthServer
) -> None:
    result = run("accounts", "check", "brand")
    assert result.exit_code == 1
    assert "has not logged in to Scripted yet" in result.output
    assert "cmctl accounts login brand" in result.output


def test_the_system_browser_is_never_opened_when_disabled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from cmctl.login import system_browser

    assert system_browser() is None  # CMCTL_NO_BROWSER (set for every test here)
    monkeypatch.delenv("CMCTL_NO_BROWSER")
    monkeypatch.delenv("BROWSER", raising=False)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    if sys.platform not in ("darwin", "win32"):
        assert system_browser() is None  # no display: a text browser would take the tty


def test_loopback_addresses() -> None:
    from cmctl.login import loopback_address

    assert loopback_address("http://127.0.0.1:8765/callback") == ("127.0.0.1", 8765, "/callback")
    assert loopback_address("http://[::1]:9000/cb") == ("::1", 9000, "/cb")
    assert loopback_address("http://localhost/") == ("127.0.0.1", 80, "/")
    for bad in ("https://127.0.0.1:1/", "http://brand.example/cb", "http://u@127.0.0.1:2/"):
        assert loopback_address(bad) is None
    assert Path  # keep the import list honest for the type checker


def test_the_account_list_shows_the_login(
    project: Any, now: Any, fake: FakeAuthServer, run: Any
) -> None:
    def login_of(name: str) -> Any:
        rows = json.loads(run("accounts", "--json").stdout)["accounts"]
        return {r["account"]: r for r in rows}[name]["login"]

    assert login_of("brand") == {
        "state": "not logged in",
        "expires_at": None,
        "renews_itself": False,
    }
    assert "not logged in" in run("accounts").stdout
    assert login(goes_back).code == 0
    assert login_of("brand")["state"] == "logged in" and login_of("brand")["renews_itself"]
    assert "renews itself" in run("accounts").stdout
    fake.refresh_tokens = False
    assert login(goes_back).code == 0
    assert login_of("brand")["expires_at"] == "2026-11-20T13:00:00+00:00"
    now.move_to(DEFAULT_NOW + timedelta(hours=2))
    assert login_of("brand")["state"] == "expired"


def test_with_no_browser_a_remote_redirect_uri_is_only_pasted(
    project: Any, now: Any, fake: FakeAuthServer
) -> None:
    fake.redirect_uri = "https://brand.example/oauth/callback"
    write_config(project, fake, redirect_uri=fake.redirect_uri)
    live = login(pastes, "--no-browser")
    assert live.code == 0, live.err
    assert "redirect_uri=https%3A%2F%2Fbrand.example%2Foauth%2Fcallback" in live.url
    assert stored(project) is not None


def test_the_browser_is_opened_on_the_url_but_never_under_no_browser(
    project: Any, now: Any, fake: FakeAuthServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[str] = []

    def opener(url: str) -> bool:
        opened.append(url)
        return True

    monkeypatch.setattr("cmctl.login.system_browser", lambda: opener)
    live = login(goes_back)
    assert live.code == 0 and opened == [live.url]
    assert "in the browser that opened" in live.err
    live = login(goes_back, "--no-browser")
    assert live.code == 0 and opened == [opened[0]]
