"""The OAuth 2.0 defaults every browser-login network starts from (cmctl/networks/oauth.py).

A token endpoint written from RFC 6749 (§4.1.3 the code exchange, §5 its answers, §6
the refresh) plays the network; the scripted network declares an ``OAuthApp``.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from cmctl.networks.credentials import Credential, LoginRequired
from cmctl.networks.http import Http
from cmctl.networks.oauth import OAuthApp, s256
from tests.fakes.base import FakeServer, RecordedRequest, Reply, parse_form
from tests.networks import scripted

APP = OAuthApp(
    auth_base="https://login.example",
    authorize_path="/oauth/authorize",
    token_path="/oauth/token",
    scopes=("post.write", "offline"),
)


class TokenEndpoint(FakeServer):
    """RFC 6749's token endpoint: codes and refresh tokens are good once."""

    def __init__(self) -> None:
        super().__init__()
        self.codes = {"the-code"}
        self.refresh_tokens = {"refresh-1"}
        self.issued = 0

    def route(self, request: RecordedRequest) -> Reply:
        if request.path != "/oauth/token" or request.method != "POST":
            return Reply(404, {"error": "not_found"})
        form = {k: v[0].text for k, v in parse_form(request).items()}
        grant = form.get("grant_type")
        if grant == "authorization_code" and form.get("code") in self.codes:
            self.codes.discard(form["code"])
        elif grant == "refresh_token" and form.get("refresh_token") in self.refresh_tokens:
            self.refresh_tokens.discard(form["refresh_token"])  # rotated: spent once
        else:
            return Reply(400, {"error": "invalid_grant", "error_description": "bad grant"})
        self.issued += 1
        fresh = f"refresh-{self.issued + 1}"
        self.refresh_tokens.add(fresh)
        return Reply(
            200,
            {
                "token_type": "bearer",
                "access_token": f"access-{self.issued}",
                "expires_in": 7200,
                "refresh_token": fresh,
                "scope": "post.write offline",
            },
            {"Cache-Control": "no-store"},
        )


@pytest.fixture
def endpoint() -> Iterator[TokenEndpoint]:
    with TokenEndpoint() as server:
        yield server


@pytest.fixture
def adapter(endpoint: TokenEndpoint, tmp_path: Path) -> Iterator[scripted.Scripted]:
    scripted.declare(oauth=APP)
    options = {"client_id": "my-app", "client_secret": "app-secret-value", "api_url": endpoint.url}
    bound = scripted.Scripted("brand", options, Http(secrets=["app-secret-value"]), tmp_path)
    yield bound
    bound.close()
    scripted.restore()


def test_the_browser_step_carries_state_pkce_and_scopes(adapter: scripted.Scripted) -> None:
    url = adapter.authorization_url("st4te", s256("v" * 43), "http://127.0.0.1:8765/callback")
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://login.example/oauth/authorize"
    assert query == {
        "response_type": "code",
        "client_id": "my-app",
        "redirect_uri": "http://127.0.0.1:8765/callback",
        "state": "st4te",
        "scope": "post.write offline",
        "code_challenge": s256("v" * 43),
        "code_challenge_method": "S256",
    }


def test_the_account_may_point_the_browser_step_elsewhere(endpoint: Any, tmp_path: Path) -> None:
    scripted.declare(oauth=APP)
    try:
        options = {"client_id": "a", "auth_url": "http://127.0.0.1:9/"}
        bound = scripted.Scripted("brand", options, Http(), tmp_path)
        assert bound.authorization_url("s", None, "r").startswith(
            "http://127.0.0.1:9/oauth/authorize?"
        )
        assert "code_challenge" not in bound.authorization_url("s", None, "r")
    finally:
        scripted.restore()


def test_s256_is_rfc_7636s_own_example() -> None:
    # RFC 7636, Appendix B
    assert s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == (
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )


def test_a_code_is_exchanged_with_its_verifier(
    adapter: scripted.Scripted, endpoint: TokenEndpoint, now: Any
) -> None:
    cred = adapter.exchange_code("the-code", "the-verifier", "http://127.0.0.1:8765/callback")
    assert (cred.access, cred.refresh) == ("access-1", "refresh-2")
    assert cred.expires_at == datetime(2026, 11, 20, 14, 0, tzinfo=UTC)  # now + 7200 s
    form = {k: v[0].text for k, v in parse_form(endpoint.requests[-1]).items()}
    assert form == {
        "grant_type": "authorization_code",
        "code": "the-code",
        "redirect_uri": "http://127.0.0.1:8765/callback",
        "code_verifier": "the-verifier",
        "client_id": "my-app",
        "client_secret": "app-secret-value",
    }
    # every token received is a secret from now on
    assert adapter.http.redact("got access-1 and refresh-2") == "got *** and ***"


def test_a_confidential_client_may_prove_itself_with_basic_auth(
    adapter: scripted.Scripted, endpoint: TokenEndpoint
) -> None:
    scripted.declare(oauth=OAuthApp("https://l", "/a", "/oauth/token", client_auth="basic"))
    adapter.exchange_code("the-code", None, "r")
    request = endpoint.requests[-1]
    expected = base64.b64encode(b"my-app:app-secret-value").decode()
    assert request.headers["authorization"] == f"Basic {expected}"
    form = parse_form(request)
    assert "client_secret" not in form and "code_verifier" not in form


def test_a_refresh_token_is_spent_once_and_a_refused_one_means_log_in_again(
    adapter: scripted.Scripted, endpoint: TokenEndpoint
) -> None:
    first = Credential("old", "refresh-1", datetime(2026, 1, 1, tzinfo=UTC))
    renewed = adapter.renew(first)
    assert (renewed.access, renewed.refresh) == ("access-1", "refresh-2")
    with pytest.raises(LoginRequired) as refused:
        adapter.renew(first)  # the same refresh token again: refused
    message = str(refused.value)
    assert "`cmctl accounts login brand`" in message and "invalid_grant" in message
    assert "refresh-1" not in message


def test_without_a_refresh_token_only_a_login_helps(adapter: scripted.Scripted) -> None:
    with pytest.raises(LoginRequired, match="cmctl accounts login brand"):
        adapter.renew(Credential("old", None, datetime(2026, 1, 1, tzinfo=UTC) - timedelta(1)))


def test_a_network_without_oauth_says_so(tmp_path: Path) -> None:
    bound = scripted.Scripted("brand", {}, Http(), tmp_path)
    with pytest.raises(Exception, match="do not log in through a browser"):
        bound.exchange_code("c", None, "r")


# --- the access token an adapter uses: stored, renewed, seeded ----------------------


def bound(endpoint: TokenEndpoint, tmp_path: Path, **options: str) -> scripted.Scripted:
    base = {"client_id": "my-app", "api_url": endpoint.url}
    return scripted.Scripted("brand", {**base, **options}, Http(), tmp_path)


@pytest.fixture
def declared() -> Iterator[None]:
    scripted.declare(oauth=APP)
    yield
    scripted.restore()


def test_a_seeded_token_is_used_then_renewed_and_the_rotation_kept(
    declared: None, endpoint: TokenEndpoint, tmp_path: Path, now: Any
) -> None:
    from cmctl.networks.credentials import CredentialStore

    seeded = {"access_token": "seeded-access", "refresh_token": "refresh-1"}
    assert bound(endpoint, tmp_path, **seeded).access_token() == "seeded-access"
    assert endpoint.issued == 0  # trusted as issued now: no call
    # the network refuses it: one refresh, saved before use, the seed remembered
    adapter = bound(endpoint, tmp_path, **seeded)
    adapter.access_token()
    assert adapter.refresh() is True
    assert adapter.access_token() == "access-1"
    stored = CredentialStore(tmp_path).get("brand")
    assert stored is not None and (stored.access, stored.refresh) == ("access-1", "refresh-2")
    # the next run keeps the rotated token, not the stale seeded one
    assert bound(endpoint, tmp_path, **seeded).access_token() == "access-1"
    # until the seeded values themselves change
    fresh = {"access_token": "new-seeded", "refresh_token": "refresh-9"}
    assert bound(endpoint, tmp_path, **fresh).access_token() == "new-seeded"


def test_a_token_about_to_expire_is_renewed_first(
    declared: None, endpoint: TokenEndpoint, tmp_path: Path, now: Any
) -> None:
    from cmctl.networks.credentials import CredentialStore

    store = CredentialStore(tmp_path)
    store.save("brand", Credential("old", "refresh-1", datetime(2026, 11, 20, 12, 2, tzinfo=UTC)))
    assert bound(endpoint, tmp_path).access_token() == "access-1"
    assert bound(endpoint, tmp_path).access_token() == "access-1"  # once
    assert endpoint.issued == 1


def test_two_adapters_refused_the_same_token_spend_one_refresh(
    declared: None, endpoint: TokenEndpoint, tmp_path: Path, now: Any
) -> None:
    from cmctl.networks.credentials import CredentialStore

    later = datetime(2027, 1, 1, tzinfo=UTC)
    CredentialStore(tmp_path).save("brand", Credential("old", "refresh-1", later))
    one, two = bound(endpoint, tmp_path), bound(endpoint, tmp_path)
    assert one.access_token() == two.access_token() == "old"
    assert one.refresh() and two.refresh()  # the second finds the renewed one
    assert one.access_token() == two.access_token() == "access-1"
    assert endpoint.issued == 1


def test_never_logged_in_names_the_command(
    declared: None, endpoint: TokenEndpoint, tmp_path: Path
) -> None:
    with pytest.raises(LoginRequired, match="cmctl accounts login brand"):
        bound(endpoint, tmp_path).access_token()
