"""`cmctl accounts login` against each browser-login network's own fake, end to end.

The real CLI prints the network's authorization URL; the "user" reads it, the fake
issues the code its browser step would (bound to the PKCE challenge where the network
uses PKCE), and the user pastes the address the browser was sent back to
(``--no-browser``). Then the code is exchanged the network's way (Instagram and
Threads trade the short-lived token for a 60-day one; LinkedIn finds the member),
stored, and `cmctl accounts check` proves it with the network's own API.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from cmctl.networks.credentials import CredentialStore
from tests.conftest import as_json
from tests.fakes import instagram, linkedin, threads, x
from tests.test_login import free_port, login


@dataclass(frozen=True)
class Net:
    fixture: str
    authorize: str  # the path of the browser step, on auth_url
    lines: Callable[[Any], list[str]]  # the account in cmctl.yaml (after its name)
    secret: str  # the app secret, given as ${APP_SECRET}
    code: Callable[[Any, dict[str, str], str], str]  # the fake's code for this login
    who: str  # what `accounts check` names
    lasts: str  # what the login says of its end (60 days: the long-lived token was got)


NETS = {
    "x": Net(
        "fake_x",
        "/i/oauth2/authorize",
        lambda s: [
            "network: x",
            f"client_id: {x.CLIENT_ID}",
            "client_secret: ${APP_SECRET}",
            f"api_url: {s.url}",
            f"auth_url: {s.url}",
        ],
        x.CLIENT_SECRET,
        lambda s, query, redirect: s.authorize(query["code_challenge"]),
        "@",
        "the login renews itself",
    ),
    "linkedin": Net(
        "fake_linkedin",
        "/oauth/v2/authorization",
        lambda s: [
            "network: linkedin",
            f"client_id: {linkedin.CLIENT_ID}",
            "client_secret: ${APP_SECRET}",
            'api_version: "202610"',
            f"api_url: {s.url}",
            f"auth_url: {s.url}",
        ],
        linkedin.CLIENT_SECRET,
        lambda s, query, redirect: s.issue_code(),
        linkedin.MEMBER_NAME,
        "(in 60 days)",
    ),
    "instagram": Net(
        "fake_instagram",
        "/oauth/authorize",
        lambda s: [
            "network: instagram",
            f'client_id: "{instagram.APP_ID}"',
            "client_secret: ${APP_SECRET}",
            f"api_url: {s.url}",
            f"auth_url: {s.url}",
            f"token_url: {s.url}",
        ],
        instagram.APP_SECRET,
        lambda s, query, redirect: s.issue_code(redirect),
        "@",
        "(in 60 days)",
    ),
    "threads": Net(
        "fake_threads",
        "/oauth/authorize",
        lambda s: [
            "network: threads",
            f'client_id: "{threads.APP_ID}"',
            "client_secret: ${APP_SECRET}",
            f"api_url: {s.url}",
            f"auth_url: {s.url}",
        ],
        threads.APP_SECRET,
        lambda s, query, redirect: threads.CODE,
        "@" + threads.USERNAME,
        "(in 60 days)",
    ),
}


@pytest.fixture(params=sorted(NETS))
def net(
    request: pytest.FixtureRequest, project: Any, monkeypatch: pytest.MonkeyPatch, now: Any
) -> Iterator[tuple[Net, Any, str]]:
    monkeypatch.setenv("CMCTL_NO_BROWSER", "1")
    spec = NETS[request.param]
    server = request.getfixturevalue(spec.fixture)
    redirect = f"http://127.0.0.1:{free_port()}/callback"
    lines = [*spec.lines(server), f"redirect_uri: {redirect}"]
    body = "".join(f"    {line}\n" for line in lines)
    project.config(f"accounts:\n  brand:\n{body}defaults:\n  timezone: UTC\n")
    monkeypatch.setenv("APP_SECRET", spec.secret)
    yield spec, server, redirect


def test_login_exchanges_the_code_the_networks_way_and_the_token_works(
    net: tuple[Net, Any, str], project: Any, run: Any
) -> None:
    spec, server, redirect = net
    seen: dict[str, str] = {}

    def user(url: str, paste: Callable[[str], None], pages: list[Any]) -> None:
        parts = urlsplit(url)
        seen.update({k: v[0] for k, v in parse_qs(parts.query).items()})
        seen["path"] = parts.path
        code = spec.code(server, seen, redirect)
        paste(f"{redirect}?{urlencode({'code': code, 'state': seen['state']})}")

    live = login(user, "--no-browser")
    assert live.code == 0, live.err
    assert seen["path"] == spec.authorize and seen["redirect_uri"] == redirect
    assert seen["client_id"] and len(seen["state"]) >= 32
    stored = CredentialStore(project.root / ".cmctl").get("brand")
    assert stored is not None and stored.access
    assert spec.who in live.out and spec.lasts in live.out
    assert spec.secret not in live.out + live.err and stored.access not in live.out + live.err
    check = run("accounts", "check", "--json")
    (result,) = as_json(check)["accounts"]
    assert check.exit_code == 0, check.output
    assert result["ok"] and spec.who in result["message"], result
    assert stored.access not in check.output and spec.secret not in check.output
