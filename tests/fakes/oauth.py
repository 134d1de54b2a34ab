"""A generic OAuth 2.0 authorization server, written from the RFCs (no network's own).

- RFC 6749 §4.1.1–4.1.2 (https://www.rfc-editor.org/rfc/rfc6749#section-4.1): the
  authorization endpoint checks ``response_type=code``, the ``client_id`` and that
  ``redirect_uri`` is exactly the registered one (if not, it answers 400 and does NOT
  redirect, §4.1.2.1), then redirects (302) to ``redirect_uri`` with ``code`` and the
  ``state`` it got, or with ``error=access_denied`` when the user refuses (``deny``);
- RFC 7636 §4.3–4.6 (https://www.rfc-editor.org/rfc/rfc7636#section-4.6): the
  ``code_challenge`` (S256) is kept with the code and the token endpoint checks the
  ``code_verifier`` against it;
- RFC 6749 §4.1.3, §5.1–5.2, §6, §2.3.1: the token endpoint (``/token``) trades a code
  (good once, for the same ``redirect_uri``; a code used twice is refused and every
  token it gave is revoked, §4.1.2) or a refresh token (rotated: good once; a refresh
  token used twice revokes the whole login, as the OAuth 2.0 Security BCP §4.14.2
  says) for short-lived bearer tokens; the client proves itself with its secret in the
  body or with HTTP Basic;
- RFC 6750 §2.1: ``GET /me`` with ``Authorization: Bearer`` tells who the token is
  for (401 ``invalid_token`` otherwise): what an adapter's ``check`` calls.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import unquote, urlencode

from tests.fakes.base import FakeServer, RecordedRequest, Reply, parse_form

CLIENT_ID = "cmctl-test-app"
CLIENT_SECRET = "app-secret-7f3a9c1e5b"
USER = "brand"


@dataclass
class _Grant:
    """One login: the tokens issued from one code, revoked together."""

    access: set[str] = field(default_factory=set)
    refresh: str | None = None
    revoked: bool = False


@dataclass
class _Code:
    redirect_uri: str
    challenge: str | None
    grant: _Grant
    used: bool = False


class FakeAuthServer(FakeServer):
    name = "oauth"

    def __init__(self, *, redirect_uri: str = "", lifetime: int = 3600) -> None:
        super().__init__()
        self.client_id = CLIENT_ID
        self.client_secret: str | None = CLIENT_SECRET
        self.redirect_uri = redirect_uri  # the one registered with the app
        self.lifetime = lifetime  # expires_in of access tokens, seconds
        self.refresh_tokens = True  # issue refresh tokens
        self.refresh_lifetime: int | None = None  # refresh_token_expires_in, when set
        self.pkce_required = True
        self.deny = False  # the user refuses at the authorization step
        self.codes: dict[str, _Code] = {}
        self.tokens: dict[str, tuple[_Grant, datetime]] = {}  # access -> (grant, expiry)
        self.refreshes: dict[str, _Grant] = {}  # every refresh token ever issued

    # --------------------------------------------------------------- routing
    def route(self, request: RecordedRequest) -> Reply:
        if request.method == "GET" and request.path == "/authorize":
            return self._authorize(request)
        if request.method == "POST" and request.path == "/token":
            return self._token(request)
        if request.method == "GET" and request.path == "/me":
            return self._me(request)
        return Reply(404, {"error": "not_found"})

    def token_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == "/token"]

    # --------------------------------------------------------------- RFC 6749 §4.1.1
    def _authorize(self, request: RecordedRequest) -> Reply:
        redirect_uri = request.param("redirect_uri") or ""
        if request.param("client_id") != self.client_id:
            return Reply(400, "unknown client_id")
        if not redirect_uri or redirect_uri != self.redirect_uri:
            return Reply(400, "redirect_uri does not match the one registered")
        state = request.param("state")
        back: dict[str, str] = {}
        challenge = request.param("code_challenge")
        if request.param("response_type") != "code":
            back = {"error": "unsupported_response_type"}
        elif self.pkce_required and (
            challenge is None or request.param("code_challenge_method") != "S256"
        ):
            back = {"error": "invalid_request", "error_description": "PKCE S256 required"}
        elif self.deny:
            back = {"error": "access_denied", "error_description": "The user denied access"}
        else:
            code = secrets.token_urlsafe(24)
            self.codes[code] = _Code(redirect_uri, challenge, _Grant())
            back = {"code": code}
        if state is not None:
            back["state"] = state
        return Reply(302, "", {"Location": f"{redirect_uri}?{urlencode(back)}"})

    # --------------------------------------------------------------- RFC 6749 §4.1.3, §6
    def _token(self, request: RecordedRequest) -> Reply:
        form = {k: v[0].text for k, v in parse_form(request).items()}
        if not self._client_ok(request, form):
            return Reply(401, {"error": "invalid_client"}, {"WWW-Authenticate": "Basic"})
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            entry = self.codes.get(form.get("code", ""))
            if entry is None:
                return _invalid_grant("unknown code")
            if entry.used:  # §4.1.2: refuse, and revoke what the code gave
                entry.grant.revoked = True
                return _invalid_grant("code already used")
            entry.used = True
            if form.get("redirect_uri") != entry.redirect_uri:
                return _invalid_grant("redirect_uri mismatch")
            if entry.challenge is not None:
                verifier = form.get("code_verifier") or ""
                digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
                if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != entry.challenge:
                    return _invalid_grant("code_verifier does not match")
            return self._issue(entry.grant)
        if grant_type == "refresh_token":
            token = form.get("refresh_token", "")
            grant = self.refreshes.get(token)
            if grant is None or grant.revoked:
                return _invalid_grant("unknown or revoked refresh token")
            if grant.refresh != token:  # spent already: the whole login goes
                grant.revoked = True
                return _invalid_grant("refresh token already used")
            return self._issue(grant)
        return Reply(400, {"error": "unsupported_grant_type"})

    def _client_ok(self, request: RecordedRequest, form: dict[str, str]) -> bool:
        basic = request.headers.get("authorization", "")
        if basic.startswith("Basic "):
            pair = base64.b64decode(basic[6:]).decode()
            client_id, _, secret = pair.partition(":")
            client_id, secret = unquote(client_id), unquote(secret)
        else:
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        if client_id != self.client_id:
            return False
        return self.client_secret is None or secret == self.client_secret

    def _issue(self, grant: _Grant) -> Reply:
        access = "at-" + secrets.token_urlsafe(16)
        grant.access.add(access)
        self.tokens[access] = (grant, self.now() + timedelta(seconds=self.lifetime))
        body: dict[str, object] = {
            "access_token": access,
            "token_type": "bearer",
            "expires_in": self.lifetime,
        }
        if self.refresh_tokens:
            grant.refresh = "rt-" + secrets.token_urlsafe(16)
            self.refreshes[grant.refresh] = grant
            body["refresh_token"] = grant.refresh
            if self.refresh_lifetime is not None:
                body["refresh_token_expires_in"] = self.refresh_lifetime
        return Reply(200, body, {"Cache-Control": "no-store", "Pragma": "no-cache"})

    # --------------------------------------------------------------- RFC 6750 §2.1
    def _me(self, request: RecordedRequest) -> Reply:
        auth = request.headers.get("authorization", "")
        found = self.tokens.get(auth[7:]) if auth.startswith("Bearer ") else None
        if found is None or found[0].revoked or found[1] <= self.now():
            return Reply(
                401,
                {"error": "invalid_token"},
                {"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        return Reply(200, {"id": "1001", "username": USER})


def _invalid_grant(why: str) -> Reply:
    return Reply(400, {"error": "invalid_grant", "error_description": why})
