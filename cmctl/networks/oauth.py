"""OAuth 2.0 as the networks declare it: what `cmctl accounts login` and token renewal need.

A network whose accounts log in through a browser declares an ``OAuthApp`` (its
``oauth`` class attribute): where the browser step lives, where codes and refresh
tokens are exchanged, which scopes, and whether PKCE is used. The network's adapter
(an instance of its declaration bound to one account) then has three hooks, with
defaults that follow RFC 6749 / RFC 7636 and that a network overrides only where it
differs (cmctl/networks/base.py):

- ``authorization_url(state, challenge, redirect_uri)``: the address the browser opens;
- ``exchange_code(code, verifier, redirect_uri)``: the code for a ``Credential``
  (Instagram and Threads then trade the short-lived token for a long-lived one);
- ``renew(current)``: a fresh ``Credential`` from ``current`` (a rotating refresh token,
  a long-lived token refreshed), or ``LoginRequired`` when only a human can help. The
  adapter calls it through ``CredentialStore.refresh`` (under the store's lock, saved
  before use), never directly.

Everything here is declarative or pure; the browser, the loopback listener and the
``state`` check live in cmctl/login.py.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal, Protocol
from urllib.parse import quote, urlencode

from cmctl import clock
from cmctl.networks.errors import Permanent, SendError

if TYPE_CHECKING:
    import httpx

    from cmctl.networks.credentials import Credential
    from cmctl.networks.http import Http

DEFAULT_REDIRECT_URI = "http://127.0.0.1:8765/callback"


class Adapter(Protocol):
    """What the grants need of an adapter (a ``Network`` bound to one account)."""

    @property
    def title(self) -> str: ...
    @property
    def options(self) -> Mapping[str, Any]: ...
    @property
    def http(self) -> Http: ...
    @property
    def api_url(self) -> str: ...


@dataclass(frozen=True, slots=True)
class OAuthApp:
    """How one network's authorization-code login goes."""

    # Host of the browser step (the account's ``auth_url`` overrides it) and its path.
    auth_base: str
    authorize_path: str
    # Path of the token endpoint (code exchange and refresh), on ``token_base`` when set
    # (the account's ``token_url`` overrides it), else on the account's ``api_url``.
    token_path: str
    token_base: str | None = None
    scopes: tuple[str, ...] = ()
    scope_separator: str = " "
    pkce: bool = True
    # How the app proves itself at the token endpoint when it has a client secret:
    # HTTP Basic (RFC 6749 §2.3.1) or client_id/client_secret in the form body.
    client_auth: Literal["basic", "body"] = "body"
    # The secret is optional (X: a public PKCE client without it).
    secret_required: bool = True
    # How long an access token lasts when the network does not say (``expires_in``
    # absent), and how long a seeded one is trusted from when cmctl first saw it.
    access_lifetime: timedelta | None = None


def pkce_pair() -> tuple[str, str]:
    """(verifier, S256 challenge) per RFC 7636 §4.1–4.2: 86 unreserved characters."""
    verifier = secrets.token_urlsafe(64)
    return verifier, s256(verifier)


def s256(verifier: str) -> str:
    """The S256 code challenge of ``verifier`` (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def new_state() -> str:
    """An unguessable ``state`` for one login (RFC 6749 §10.12)."""
    return secrets.token_urlsafe(32)


# ---------------------------------------------------------------- the standard grants
def token_request(
    adapter: Adapter, app: OAuthApp, form: dict[str, str], *, account: str
) -> Credential:
    """POST ``form`` to the token endpoint (RFC 6749 §4.1.3 and §6) and read the answer
    into a Credential. A refused grant (400 ``invalid_grant``, 401) is LoginRequired:
    only a new login helps. Every token received is a secret of the adapter's HTTP."""
    from cmctl.networks.credentials import Credential, LoginRequired

    options = adapter.options
    client_id = str(options.get("client_id") or "")
    client_secret = str(options.get("client_secret") or "")
    adapter.http.add_secret(client_secret or None)
    body = {**form, "client_id": client_id}
    headers = {"Accept": "application/json"}
    if client_secret and app.client_auth == "basic":
        pair = f"{quote(client_id, safe='')}:{quote(client_secret, safe='')}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
    elif client_secret:
        body["client_secret"] = client_secret
    for key in ("code", "refresh_token", "code_verifier"):
        adapter.http.add_secret(form.get(key))

    def refused(response: httpx.Response) -> SendError | None:
        if response.status_code in (400, 401):
            said = _said(response)
            return LoginRequired(account, f"{adapter.title} refused the login ({said})")
        return None

    response = adapter.http.request(
        "POST", token_url(adapter, app), data=body, headers=headers, classify=refused
    )
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict) or not isinstance(answer.get("access_token"), str):
        raise Permanent(f"{adapter.title}'s token endpoint answered without an access_token")
    access = answer["access_token"]
    refresh = answer.get("refresh_token")
    adapter.http.add_secret(access)
    adapter.http.add_secret(refresh if isinstance(refresh, str) else None)
    lifetime = answer.get("expires_in")
    now = clock.now()
    expires_at = now + app.access_lifetime if app.access_lifetime is not None else None
    if isinstance(lifetime, int | float) and not isinstance(lifetime, bool) and lifetime > 0:
        expires_at = now + timedelta(seconds=float(lifetime))
    refresh_life = answer.get("refresh_token_expires_in")
    refresh_expires_at = None
    if isinstance(refresh_life, int | float) and not isinstance(refresh_life, bool):
        refresh_expires_at = now + timedelta(seconds=float(refresh_life))
    scope = answer.get("scope")
    return Credential(
        access=access,
        refresh=refresh if isinstance(refresh, str) and refresh else None,
        expires_at=expires_at,
        refresh_expires_at=refresh_expires_at,
        extra={"scope": scope} if isinstance(scope, str) else {},
    )


def token_url(adapter: Adapter, app: OAuthApp) -> str:
    """The token endpoint: the account's ``token_url``, else the declared ``token_base``,
    else the account's API URL; then the declared path."""
    base = str(adapter.options.get("token_url") or "").strip().rstrip("/")
    if not base:
        base = (app.token_base or adapter.api_url).rstrip("/")
    return base + app.token_path


def authorization_url(
    adapter: Adapter, app: OAuthApp, state: str, challenge: str | None, redirect_uri: str
) -> str:
    """The browser step's address (RFC 6749 §4.1.1, RFC 7636 §4.3)."""
    base = str(adapter.options.get("auth_url") or "").strip().rstrip("/") or app.auth_base
    query = {
        "response_type": "code",
        "client_id": str(adapter.options.get("client_id") or ""),
        "redirect_uri": redirect_uri,
        "state": state,
    }
    if app.scopes:
        query["scope"] = app.scope_separator.join(app.scopes)
    if app.pkce and challenge is not None:
        query["code_challenge"] = challenge
        query["code_challenge_method"] = "S256"
    return f"{base.rstrip('/')}{app.authorize_path}?{urlencode(query, quote_via=quote)}"


def _said(response: httpx.Response) -> str:
    """The error of a token endpoint's answer (RFC 6749 §5.2), never a token."""
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if isinstance(body, dict):
        error = body.get("error")
        text = body.get("error_description")
        if isinstance(error, dict):  # Meta's Graph error object
            text, error = error.get("message"), error.get("code")
        parts = [str(p) for p in (error, text) if p]
        if parts:
            return ": ".join(parts)[:300]
    return f"HTTP {response.status_code}"


# ------------------------------------------------------- tokens seeded from cmctl.yaml
SEED_FIELDS = ("access_token", "refresh_token")


def seed_digest(options: Mapping[str, Any]) -> str | None:
    """A digest of the tokens the account seeds (``access_token``/``refresh_token`` in
    cmctl.yaml, usually ``${VAR}``), or None when it seeds none. The store keeps it
    beside the credential: when the seeded values change, they win again."""
    values = [str(options.get(name) or "") for name in SEED_FIELDS]
    if not any(values):
        return None
    return hashlib.sha256("\0".join(values).encode("utf-8")).hexdigest()[:32]
