"""A fake Bluesky PDS: the XRPC calls cmctl makes, with the reference PDS's answers.

Sources, per endpoint and error body (bluesky-social/atproto at d6296a1, 2026-08-20;
lexicons as vendored in ``shared/conformance/atproto/lexicons``):

- Error bodies, all endpoints: ``{"error": <name>, "message": <text>}`` with the HTTP
  status of the error class; a missing message defaults to the status text
  ("Invalid Request", "Authentication Required", "Rate Limit Exceeded"...).
  https://atproto.com/specs/xrpc#error-responses;
  packages/xrpc-server/src/errors.ts (``XRPCError.payload``),
  packages/xrpc/src/types.ts (``ResponseTypeStrings``). Unknown method: 501
  ``MethodNotImplemented``; wrong HTTP verb: 400 "Incorrect HTTP method (GET)
  expected POST"; JSON input with another Content-Type: 400 "Wrong request encoding
  (Content-Type): ..." (packages/xrpc-server/src/server.ts, util.ts).
- Auth (packages/pds/src/auth-verifier.ts): no ``Authorization`` -> 401
  ``AuthMissing`` "Authentication Required"; a scheme other than Bearer -> 400
  ``InvalidToken`` "Unexpected authorization type"; a token that does not verify
  (garbage, wrong type: a refresh token where an access token is due or the other
  way round) -> 400 ``InvalidToken`` "Token could not be verified"; an expired JWT
  -> **400** ``ExpiredToken`` "Token has expired" (``jose.errors.JWTExpired`` is
  mapped to ``InvalidRequestError``, not 401). Tokens are real HS256 JWTs (typ
  ``at+jwt`` / ``refresh+jwt``, ``scope`` com.atproto.appPass or
  com.atproto.access / com.atproto.refresh, ``sub`` = DID, ``exp``: 2 hours and 90
  days), https://docs.bsky.app/docs/api/com-atproto-server-create-session.
- ``com.atproto.server.createSession`` (lexicon on disk): identifier = handle (any
  case) or DID, password = app password or account password -> accessJwt,
  refreshJwt, handle, did, didDoc (its ``#atproto_pds`` service points at this
  fake), email, emailConfirmed, active; wrong -> 401 ``AuthenticationRequired``
  "Invalid identifier or password" (packages/pds/src/account-manager/account-manager.ts);
  rate limit 30 per 5 minutes per identifier (createSession.ts).
- ``com.atproto.server.refreshSession``: Bearer refreshJwt -> new pair; the refresh
  token is rotated (packages/pds/src/account-manager/helpers/auth.ts,
  ``rotateRefreshToken``): the spent one keeps working for a 2-hour grace
  (``REFRESH_GRACE``), and a reuse within it gets a refresh token with the same id as
  the first use got (``nextId``); after the grace, or after
  ``revoke_refresh_tokens()`` -> 400 ``ExpiredToken`` "Token has been revoked"
  (refreshSession.ts). ``refresh_uses`` counts the uses of each refresh token (by
  its ``jti``), so a test sees one spent twice. ``com.atproto.server.getSession`` too.
- ``com.atproto.repo.createRecord`` / ``putRecord`` (lexicons on disk; handlers
  packages/pds/src/api/com/atproto/repo/{createRecord,putRecord}.ts,
  packages/pds/src/repo/prepare.ts, packages/pds/src/actor-store/repo/transactor.ts):
  input validated against the procedure lexicon; ``repo`` must be the session's
  account (another local account -> 401 ``AuthenticationRequired``; unknown -> 403
  ``AccountNotFound`` "Account not found"); ``record.$type`` defaults to the
  collection, another one -> 400 "Invalid $type: expected X, got Y"; the rkey must
  suit the record's key type ("tid" for posts) -> 400 "Invalid record key for
  app.bsky.feed.post: ..."; the record is validated against ``app.bsky.feed.post``
  (unless ``validate: false``) -> 400 ``InvalidRequest`` "Invalid app.bsky.feed.post
  record: <issue> at $.record.<path>"; putRecord with a record identical to the
  stored one is a no-op (same uri/cid, no ``commit``) even with ``swapRecord``;
  otherwise ``swapRecord: null`` means "must not exist" and ``swapRecord: <cid>``
  "must be at cid" -> 400 ``InvalidSwap`` "Record was at <cid|null>"; createRecord
  on an existing rkey fails inside the MST -> 500 ``InternalServerError``; blobs
  referenced must have been uploaded by the account (400 ``BlobNotFound`` "Could not
  find blob: <cid>") with the same mimeType (``InvalidMimeType``) and size
  (``InvalidSize``) (actor-store/blob/transactor.ts). Answers ``{"uri", "cid",
  "commit": {"cid", "rev"}, "validationStatus"}``; ``cid`` is the real CIDv1
  dag-cbor sha-256 of the record, so a client computing it gets the same value.
- ``com.atproto.repo.getRecord`` (public): missing -> 400 ``RecordNotFound`` "Could
  not locate record: <uri>" (getRecord.ts). ``listRecords`` too.
- ``com.atproto.repo.uploadBlob``: raw body + Content-Type -> ``{"blob": {"$type":
  "blob", "ref": {"$link": "bafkrei..."}, "mimeType", "size"}}`` (raw-codec CID of the
  bytes); over ``blob_upload_limit`` -> 413 ``PayloadTooLarge`` "request entity too
  large" (xrpc-server util.ts). Size and type limits of a use (images:
  ``image/*``, 2,000,000 bytes; link thumbs 1,000,000) are enforced when a record
  references the blob, as the lexicon says ("Blob restrictions are enforced when the
  reference is created").
- ``com.atproto.identity.resolveHandle``: a local handle -> ``{"did"}``; a handle
  under one of ``service_handle_domains`` but unknown -> 400 ``HandleNotFound``;
  any other unknown handle -> 400 ``InvalidRequest`` "Unable to resolve handle"
  (resolveHandle.ts).
- Rate limits, https://docs.bsky.app/docs/advanced-guides/rate-limits and
  packages/xrpc-server/src/rate-limiter-http.ts: answers carry ``RateLimit-Limit``,
  ``RateLimit-Remaining``, ``RateLimit-Reset`` (epoch seconds) and
  ``RateLimit-Policy`` ("5000;w=3600"); writes cost points (create 3, put 2) against
  5000 per hour (packages/pds/src/rate-limits.ts); over a limit or on an injected
  429: ``{"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}``.

Strict mode (``strict=True``, the default) adds checks the reference PDS does not
make, to catch client bugs early; each message says "(fake strict check)": facet
``byteStart``/``byteEnd`` must lie inside the UTF-8 text, on character boundaries,
with start <= end; union members must be one of the listed ``$type``s (facet
features, embeds); ``reply.root``/``reply.parent`` pointing at a repo hosted here
must name an existing record with that cid. ``strict=False`` behaves like the PDS.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar

from tests.fakes.atproto import (
    DataModelError,
    Lexicons,
    LexIssue,
    blob_cid,
    format_issue,
    is_did,
    is_handle,
    is_record_key,
    is_tid,
    make_tid,
    parse_at_uri,
    record_cid,
    walk_blobs,
)
from tests.fakes.base import FakeServer, RecordedRequest, Reply

__all__ = ["Account", "Blob", "FakeBluesky", "utc_iso"]

POST = "app.bsky.feed.post"
ACCESS_TTL = timedelta(hours=2)
REFRESH_TTL = timedelta(days=90)
REFRESH_GRACE = timedelta(hours=2)
WRITE_POINTS = {"com.atproto.repo.createRecord": 3, "com.atproto.repo.putRecord": 2}
_UNSET: Any = object()

PROCEDURES = {
    "com.atproto.server.createSession",
    "com.atproto.server.refreshSession",
    "com.atproto.repo.createRecord",
    "com.atproto.repo.putRecord",
    "com.atproto.repo.uploadBlob",
}
QUERIES = {
    "com.atproto.repo.getRecord",
    "com.atproto.repo.listRecords",
    "com.atproto.identity.resolveHandle",
    "com.atproto.server.getSession",
}


class XrpcError(Exception):
    def __init__(self, status: int, error: str, message: str | None = None) -> None:
        defaults = {
            400: "Invalid Request",
            401: "Authentication Required",
            403: "Forbidden",
            413: "Payload Too Large",
            429: "Rate Limit Exceeded",
            500: "Internal Server Error",
            501: "Method Not Implemented",
        }
        super().__init__(message or defaults.get(status, ""))
        self.status = status
        self.error = error
        self.message = message or defaults.get(status, "")

    def reply(self) -> Reply:
        return Reply(self.status, {"error": self.error, "message": self.message})


def invalid(message: str, error: str = "InvalidRequest") -> XrpcError:
    return XrpcError(400, error, message)


@dataclass(slots=True)
class Account:
    handle: str
    did: str
    app_password: str | None
    password: str | None
    email: str


@dataclass(slots=True)
class Blob:
    cid: str
    mime_type: str
    size: int
    data: bytes
    did: str


@dataclass(slots=True)
class _Limiter:
    limit: int
    window: int  # seconds
    start: float = 0.0
    used: int = 0

    def consume(self, now: float, points: int) -> bool:
        if now >= self.start + self.window:
            self.start, self.used = now, 0
        if self.used + points > self.limit:
            return False
        self.used += points
        return True

    def headers(self, now: float) -> dict[str, str]:
        if now >= self.start + self.window:
            remaining, reset = self.limit, now + self.window
        else:
            remaining, reset = self.limit - self.used, self.start + self.window
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(max(0, remaining)),
            "RateLimit-Reset": str(int(reset)),
            "RateLimit-Policy": f"{self.limit};w={self.window}",
        }


@dataclass(slots=True)
class _Session:
    did: str
    scope: str
    refresh_ids: set[str] = field(default_factory=set)


class FakeBluesky(FakeServer):
    """A PDS hosting one account (more with ``add_account``). See the module docstring."""

    name: ClassVar[str] = "fake-bluesky"

    def __init__(
        self,
        handle: str = "brand.test",
        did: str = "did:plc:cmctlfakebrandtest234567",
        app_password: str = "app-pass-1234",
        *,
        password: str | None = None,
        strict: bool = True,
        service_handle_domains: tuple[str, ...] = (),
        blob_upload_limit: int = 100 * 1024 * 1024,
        write_points_per_hour: int = 5000,
        sessions_per_5_minutes: int = 30,
        requests_per_5_minutes: int = 3000,
        latency: float = 0.0,
    ) -> None:
        super().__init__(latency=latency)
        self.strict = strict
        self.service_handle_domains = service_handle_domains
        self.blob_upload_limit = blob_upload_limit
        self.lexicons = Lexicons(closed_unions=strict)
        self.accounts: dict[str, Account] = {}
        self.account = self.add_account(handle, did, app_password=app_password, password=password)
        #: Every record stored, by AT-URI (``at://did/collection/rkey``), as written.
        self.records: dict[str, dict[str, Any]] = {}
        #: CID of each stored record, by AT-URI.
        self.record_cids: dict[str, str] = {}
        #: Uploaded blobs by CID.
        self.blobs: dict[str, Blob] = {}
        self._jwt_key = secrets.token_bytes(32)
        self._service_did = "did:web:127.0.0.1"
        self._sessions: dict[str, _Session] = {}  # refresh token id -> session
        self._issued_access: set[str] = set()
        self._expired_access: set[str] = set()
        self._expired_refresh: set[str] = set()
        self._revoked_refresh: set[str] = set()
        #: Uses of each refresh token by refreshSession, by the token's ``jti``.
        self.refresh_uses: dict[str, int] = {}
        self._next_id: dict[str, tuple[str, float]] = {}  # spent jti -> (next, grace end)
        self._last_tid = 0
        self._write_limits: dict[str, _Limiter] = {}
        self._session_limits: dict[str, _Limiter] = {}
        self._write_points = write_points_per_hour
        self._sessions_per_5_minutes = sessions_per_5_minutes
        self._global = _Limiter(requests_per_5_minutes, 300)
        #: Switch: a read replica that lags behind its own writes. ``getRecord`` answers
        #: ``RecordNotFound`` for a record written less than this long ago (fake clock).
        #: (To make reads fail outright, ``fail_next("getRecord", 500, ...)``.)
        self.read_lag = timedelta(0)
        self._written_at: dict[str, datetime] = {}

    # -- test helpers ----------------------------------------------------------------

    @property
    def handle(self) -> str:
        return self.account.handle

    @property
    def did(self) -> str:
        return self.account.did

    def add_account(
        self,
        handle: str,
        did: str | None = None,
        *,
        app_password: str | None = None,
        password: str | None = None,
    ) -> Account:
        """Host another account (for mentions, replies to others, resolveHandle)."""
        if did is None:
            digest = hashlib.sha256(handle.encode()).digest()
            did = "did:plc:" + base64.b32encode(digest).decode().lower()[:24]
        if not is_handle(handle) or not is_did(did):
            raise ValueError(f"bad handle or DID: {handle!r} {did!r}")
        account = Account(handle.lower(), did, app_password, password, f"{handle}@example.test")
        self.accounts[did] = account
        return account

    def posts(self, did: str | None = None) -> list[dict[str, Any]]:
        """The app.bsky.feed.post records of an account (default: the main one), in order."""
        prefix = f"at://{did or self.did}/{POST}/"
        return [r for uri, r in self.records.items() if uri.startswith(prefix)]

    def seed_record(
        self, collection: str, rkey: str, record: dict[str, Any], did: str | None = None
    ) -> tuple[str, str]:
        """Store a record directly (no validation); returns (uri, cid)."""
        with self._lock:
            value = {"$type": collection, **record}
            uri = f"at://{did or self.did}/{collection}/{rkey}"
            cid = record_cid(value)
            self.records[uri] = value
            self.record_cids[uri] = cid
            return uri, cid

    def expire_access_tokens(self) -> None:
        """Every access token issued so far now fails with 400 ExpiredToken."""
        with self._lock:
            self._expired_access |= self._issued_access

    def expire_refresh_tokens(self) -> None:
        """Every refresh token issued so far now fails with 400 ExpiredToken."""
        with self._lock:
            for session in self._sessions.values():
                self._expired_refresh |= session.refresh_ids

    def revoke_refresh_tokens(self) -> None:
        """Every refresh token issued so far is revoked ("Token has been revoked")."""
        with self._lock:
            for session in self._sessions.values():
                self._revoked_refresh |= session.refresh_ids

    def fault_headers(self, status: int) -> dict[str, str]:
        if status != 429:
            return {}
        headers = self._global.headers(self.now().timestamp())
        headers["RateLimit-Remaining"] = "0"
        return headers

    # -- routing ---------------------------------------------------------------------

    def route(self, request: RecordedRequest) -> Reply:
        if not request.path.startswith("/xrpc/"):
            return Reply(404, {"error": "NotFound", "message": "Not Found"})
        nsid = request.path.removeprefix("/xrpc/").rstrip("/")
        try:
            return self._xrpc(nsid, request)
        except XrpcError as exc:
            return exc.reply()

    def decorate(self, request: RecordedRequest, reply: Reply) -> None:
        if any(k.lower() == "ratelimit-limit" for k in reply.headers):
            return
        nsid = request.path.removeprefix("/xrpc/").rstrip("/")
        now = self.now().timestamp()
        limiter = self._global
        if nsid in WRITE_POINTS:
            session = self._peek_did(request)
            if session is not None:
                limiter = self._write_limit(session)
        elif nsid == "com.atproto.server.createSession" and isinstance(request.json, dict):
            limiter = self._session_limit(str(request.json.get("identifier", "")))
        reply.headers.update(limiter.headers(now))

    def _xrpc(self, nsid: str, request: RecordedRequest) -> Reply:
        expected = "POST" if nsid in PROCEDURES else "GET" if nsid in QUERIES else None
        if expected is None:
            raise XrpcError(501, "MethodNotImplemented")
        if request.method != expected:
            raise invalid(f"Incorrect HTTP method ({request.method}) expected {expected}")
        if not self._global.consume(self.now().timestamp(), 1):
            raise XrpcError(429, "RateLimitExceeded")
        handler = getattr(self, "_" + nsid.rsplit(".", 1)[1])
        result: Reply = handler(request)
        return result

    # -- auth ------------------------------------------------------------------------

    def _jwt(self, header: dict[str, Any], payload: dict[str, Any]) -> str:
        def enc(part: dict[str, Any]) -> str:
            raw = json.dumps(part, separators=(",", ":")).encode()
            return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

        signing_input = f"{enc(header)}.{enc(payload)}"
        signature = hmac.new(self._jwt_key, signing_input.encode(), hashlib.sha256).digest()
        return signing_input + "." + base64.urlsafe_b64encode(signature).rstrip(b"=").decode()

    def _decode(self, token: str, typ: str) -> dict[str, Any]:
        """Verify signature and type; raises XrpcError like jose.jwtVerify does for the PDS."""
        try:
            head_b64, payload_b64, sig_b64 = token.split(".")
            signing_input = f"{head_b64}.{payload_b64}".encode()
            expected = hmac.new(self._jwt_key, signing_input, hashlib.sha256).digest()
            given = base64.urlsafe_b64decode(sig_b64 + "=" * (-len(sig_b64) % 4))
            header = json.loads(base64.urlsafe_b64decode(head_b64 + "=" * (-len(head_b64) % 4)))
            payload = json.loads(
                base64.urlsafe_b64decode(payload_b64 + "=" * (-len(payload_b64) % 4))
            )
        except (ValueError, TypeError):
            raise invalid("Token could not be verified", "InvalidToken") from None
        if not hmac.compare_digest(expected, given) or header.get("typ") != typ:
            raise invalid("Token could not be verified", "InvalidToken")
        if not isinstance(payload, dict) or not is_did(payload.get("sub")):
            raise invalid("Malformed token", "InvalidToken")
        return payload

    def _bearer(self, request: RecordedRequest) -> str:
        header = request.headers.get("authorization")
        if not header:
            raise XrpcError(401, "AuthMissing")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer":
            raise invalid("Unexpected authorization type", "InvalidToken")
        return token.strip()

    def _access(self, request: RecordedRequest) -> str:
        """The DID of a valid access token, or the PDS's error."""
        token = self._bearer(request)
        payload = self._decode(token, "at+jwt")
        if token in self._expired_access or payload.get("exp", 0) <= self.now().timestamp():
            raise invalid("Token has expired", "ExpiredToken")
        did = str(payload["sub"])
        if did not in self.accounts:
            raise XrpcError(403, "AccountNotFound", "Account not found")
        return did

    def _peek_did(self, request: RecordedRequest) -> str | None:
        try:
            return self._access(request)
        except XrpcError:
            return None

    def _issue(self, did: str, scope: str, jti: str | None = None) -> dict[str, str]:
        now = int(self.now().timestamp())
        access = self._jwt(
            {"typ": "at+jwt", "alg": "HS256"},
            {
                "scope": scope,
                "sub": did,
                "iat": now,
                "exp": now + int(ACCESS_TTL.total_seconds()),
                "aud": self._service_did,
                "jti": secrets.token_urlsafe(12),
            },
        )
        jti = jti or secrets.token_urlsafe(24)
        refresh = self._jwt(
            {"typ": "refresh+jwt", "alg": "HS256"},
            {
                "scope": "com.atproto.refresh",
                "sub": did,
                "aud": self._service_did,
                "jti": jti,
                "iat": now,
                "exp": now + int(REFRESH_TTL.total_seconds()),
            },
        )
        self._issued_access.add(access)
        session = _Session(did, scope, {jti})
        self._sessions[jti] = session
        return {"accessJwt": access, "refreshJwt": refresh}

    def _session_body(self, account: Account, tokens: dict[str, str] | None) -> dict[str, Any]:
        body: dict[str, Any] = dict(tokens or {})
        body.update(
            {
                "handle": account.handle,
                "did": account.did,
                "didDoc": {
                    "@context": [
                        "https://www.w3.org/ns/did/v1",
                        "https://w3id.org/security/multikey/v1",
                    ],
                    "id": account.did,
                    "alsoKnownAs": [f"at://{account.handle}"],
                    "verificationMethod": [],
                    "service": [
                        {
                            "id": "#atproto_pds",
                            "type": "AtprotoPersonalDataServer",
                            "serviceEndpoint": self.url,
                        }
                    ],
                },
                "email": account.email,
                "emailConfirmed": True,
                "emailAuthFactor": False,
                "active": True,
            }
        )
        return body

    # -- input helpers ---------------------------------------------------------------

    def _json_input(self, nsid: str, request: RecordedRequest) -> dict[str, Any]:
        if not request.body:
            raise invalid("A request body is expected but none was provided")
        if request.content_type != "application/json":
            raise invalid(f"Wrong request encoding (Content-Type): {request.content_type}")
        if not isinstance(request.json, dict):
            raise invalid("Invalid JSON body")
        try:
            self.lexicons.validate_input(nsid, request.json)
        except LexIssue as issue:
            raise invalid(str(issue)) from None
        return request.json

    def _params(self, nsid: str, request: RecordedRequest, required: tuple[str, ...]) -> None:
        for name in required:
            if request.param(name) is None:
                raise invalid(f'Invalid {nsid} params: Missing required key "{name}"')

    def _write_limit(self, did: str) -> _Limiter:
        return self._write_limits.setdefault(did, _Limiter(self._write_points, 3600))

    def _session_limit(self, identifier: str) -> _Limiter:
        key = identifier.lower()
        return self._session_limits.setdefault(key, _Limiter(self._sessions_per_5_minutes, 300))

    def _find_account(self, identifier: str) -> Account | None:
        ident = identifier.strip().lower().removeprefix("@")
        for account in self.accounts.values():
            if ident in (account.handle, account.did.lower(), account.email.lower()):
                return account
        return None

    def _repo(self, repo: str, did: str) -> Account:
        account = self._find_account(repo)
        if account is None:
            raise XrpcError(403, "AccountNotFound", "Account not found")
        if account.did != did:
            raise XrpcError(401, "AuthenticationRequired")
        return account

    def _next_tid(self) -> str:
        micros = int(self.now().timestamp() * 1_000_000)
        self._last_tid = max(micros, self._last_tid + 1)
        return make_tid(self._last_tid, 7)

    # -- com.atproto.server ----------------------------------------------------------

    def _createSession(self, request: RecordedRequest) -> Reply:
        body = self._json_input("com.atproto.server.createSession", request)
        identifier, password = str(body["identifier"]), str(body["password"])
        if not self._session_limit(identifier).consume(self.now().timestamp(), 1):
            raise XrpcError(429, "RateLimitExceeded")
        account = self._find_account(identifier)
        scope = None
        if account is not None:
            if account.app_password is not None and hmac.compare_digest(
                password, account.app_password
            ):
                scope = "com.atproto.appPass"
            elif account.password is not None and hmac.compare_digest(password, account.password):
                scope = "com.atproto.access"
        if account is None or scope is None:
            raise XrpcError(401, "AuthenticationRequired", "Invalid identifier or password")
        return Reply(200, self._session_body(account, self._issue(account.did, scope)))

    def _refreshSession(self, request: RecordedRequest) -> Reply:
        token = self._bearer(request)
        payload = self._decode(token, "refresh+jwt")
        jti = str(payload.get("jti", ""))
        if jti in self._expired_refresh or payload.get("exp", 0) <= self.now().timestamp():
            raise invalid("Token has expired", "ExpiredToken")
        session = self._sessions.get(jti)
        now = self.now().timestamp()
        rotated = self._next_id.get(jti)
        if (
            session is None
            or jti in self._revoked_refresh
            or (rotated is not None and rotated[1] <= now)
        ):
            raise invalid("Token has been revoked", "ExpiredToken")
        account = self.accounts.get(session.did)
        if account is None:
            raise invalid(f"Could not find user info for account: {session.did}")
        self.refresh_uses[jti] = self.refresh_uses.get(jti, 0) + 1
        if rotated is None:  # first use: the grace starts, the next id is chosen
            rotated = (secrets.token_urlsafe(24), now + REFRESH_GRACE.total_seconds())
            self._next_id[jti] = rotated
        tokens = self._issue(account.did, session.scope, jti=rotated[0])
        return Reply(200, self._session_body(account, tokens))

    def _getSession(self, request: RecordedRequest) -> Reply:
        did = self._access(request)
        return Reply(200, self._session_body(self.accounts[did], None))

    # -- com.atproto.identity --------------------------------------------------------

    def _resolveHandle(self, request: RecordedRequest) -> Reply:
        nsid = "com.atproto.identity.resolveHandle"
        self._params(nsid, request, ("handle",))
        handle = str(request.param("handle"))
        if not is_handle(handle):
            raise invalid(f"Invalid {nsid} params: {format_issue('handle', handle, '$').message}")
        handle = handle.lower()
        for account in self.accounts.values():
            if account.handle == handle:
                return Reply(200, {"did": account.did})
        if any(handle.endswith(d) or handle == d.lstrip(".") for d in self.service_handle_domains):
            raise invalid("Unable to resolve handle", "HandleNotFound")
        raise invalid("Unable to resolve handle")

    # -- com.atproto.repo ------------------------------------------------------------

    def _uploadBlob(self, request: RecordedRequest) -> Reply:
        did = self._access(request)
        if not request.body:
            raise invalid("A request body is expected but none was provided")
        if len(request.body) > self.blob_upload_limit:
            raise XrpcError(413, "PayloadTooLarge", "request entity too large")
        mime = request.content_type or "application/octet-stream"
        cid = blob_cid(request.body)
        self.blobs[cid] = Blob(cid, mime, len(request.body), request.body, did)
        return Reply(
            200,
            {
                "blob": {
                    "$type": "blob",
                    "ref": {"$link": cid},
                    "mimeType": mime,
                    "size": len(request.body),
                }
            },
        )

    def _getRecord(self, request: RecordedRequest) -> Reply:
        nsid = "com.atproto.repo.getRecord"
        self._params(nsid, request, ("repo", "collection", "rkey"))
        account = self._find_account(str(request.param("repo")))
        if account is None:
            raise invalid("Could not locate record")
        uri = f"at://{account.did}/{request.param('collection')}/{request.param('rkey')}"
        cid = request.param("cid")
        if uri not in self.records or (cid is not None and self.record_cids[uri] != cid):
            raise invalid(f"Could not locate record: {uri}", "RecordNotFound")
        written = self._written_at.get(uri)
        if written is not None and self.now() - written < self.read_lag:
            raise invalid(f"Could not locate record: {uri}", "RecordNotFound")
        return Reply(200, {"uri": uri, "cid": self.record_cids[uri], "value": self.records[uri]})

    def _listRecords(self, request: RecordedRequest) -> Reply:
        nsid = "com.atproto.repo.listRecords"
        self._params(nsid, request, ("repo", "collection"))
        repo = str(request.param("repo"))
        account = self._find_account(repo)
        if account is None:
            raise invalid(f"Could not find repo: {repo}")
        prefix = f"at://{account.did}/{request.param('collection')}/"
        uris = sorted((u for u in self.records if u.startswith(prefix)), reverse=True)
        if request.param("reverse") == "true":
            uris.reverse()
        try:
            limit = max(1, min(100, int(request.param("limit") or 50)))
        except ValueError:
            raise invalid(f"Invalid {nsid} params: Expected integer value type") from None
        return Reply(
            200,
            {
                "records": [
                    {"uri": u, "cid": self.record_cids[u], "value": self.records[u]}
                    for u in uris[:limit]
                ]
            },
        )

    def _createRecord(self, request: RecordedRequest) -> Reply:
        return self._write(request, "com.atproto.repo.createRecord")

    def _putRecord(self, request: RecordedRequest) -> Reply:
        return self._write(request, "com.atproto.repo.putRecord")

    def _write(self, request: RecordedRequest, nsid: str) -> Reply:
        did = self._access(request)
        body = self._json_input(nsid, request)
        if not self._write_limit(did).consume(self.now().timestamp(), WRITE_POINTS[nsid]):
            raise XrpcError(429, "RateLimitExceeded")
        account = self._repo(str(body["repo"]), did)
        collection = str(body["collection"])
        put = nsid.endswith("putRecord")
        swap = body.get("swapRecord", _UNSET) if put else _UNSET
        rkey = body.get("rkey")
        record = body["record"]
        if not isinstance(record, dict):
            raise invalid("Invalid record: expected an object")

        # prepareWrite: $type, rkey syntax, lexicon validation, CID
        record_type = record.get("$type", collection)
        if record_type != collection:
            raise invalid(f"Invalid $type: expected {collection}, got {record.get('$type')}")
        value = {**record, "$type": collection} if "$type" not in record else record
        if rkey is not None and not is_record_key(rkey):
            raise invalid(f"Invalid record key: {rkey}")
        rkey = rkey or self._next_tid()
        validation_status: str | None = None
        if body.get("validate") is not False:
            definition = self.lexicons.get(collection)
            if definition is None or definition.get("type") != "record":
                if body.get("validate") is True:
                    raise invalid(f"Unknown lexicon type: {collection}")
                validation_status = "unknown"
            else:
                self._check_key(collection, definition.get("key", "any"), rkey)
                try:
                    self.lexicons.validate_record(collection, value)
                    if self.strict and collection == POST:
                        self._strict_post(value, account)
                except LexIssue as issue:
                    raise invalid(f"Invalid {collection} record: {issue}") from None
                validation_status = "valid"
        try:
            cid = record_cid(value)
        except DataModelError as exc:
            raise invalid(f"Invalid record: {exc}") from None

        uri = f"at://{account.did}/{collection}/{rkey}"
        current = self.record_cids.get(uri)
        if put and current == cid:  # no-op: same content, nothing committed
            return Reply(
                200,
                {"uri": uri, "cid": cid, "validationStatus": validation_status}
                if validation_status
                else {"uri": uri, "cid": cid},
            )
        if not put and current is not None:
            raise XrpcError(500, "InternalServerError")  # MST: "There is already a value"
        if swap is not _UNSET:
            if swap is None and current is not None:
                raise invalid(f"Record was at {current}", "InvalidSwap")
            if swap is not None and swap != current:
                raise invalid(f"Record was at {current or 'null'}", "InvalidSwap")
        self._check_blobs(value, account.did)

        self.records[uri] = value
        self.record_cids[uri] = cid
        self._written_at[uri] = self.now()
        rev = self._next_tid()
        answer: dict[str, Any] = {
            "uri": uri,
            "cid": cid,
            "commit": {
                "cid": record_cid({"did": account.did, "rev": rev, "data": cid}),
                "rev": rev,
            },
        }
        if validation_status:
            answer["validationStatus"] = validation_status
        return Reply(200, answer)

    def _check_key(self, collection: str, key: str, rkey: str) -> None:
        ok = True
        if key == "tid":
            ok = is_tid(rkey)
            description = format_issue("tid", rkey, "$")
        elif key.startswith("literal:"):
            ok = rkey == key.removeprefix("literal:")
            description = LexIssue(f'Expected "{key.removeprefix("literal:")}" (got "{rkey}")', "$")
        else:
            description = format_issue("record-key", rkey, "$")
        if not ok:
            raise invalid(f"Invalid record key for {collection}: {description}")

    def _strict_post(self, post: dict[str, Any], account: Account) -> None:
        text = post.get("text", "")
        encoded = text.encode("utf-8", "surrogatepass")
        for index, facet in enumerate(post.get("facets") or []):
            where = f"$.record.facets[{index}].index"
            start, end = facet["index"]["byteStart"], facet["index"]["byteEnd"]
            if start > end or end > len(encoded):
                raise LexIssue(
                    f"facet byte range {start}..{end} is outside the text ({len(encoded)} "
                    "bytes) (fake strict check)",
                    where,
                )
            for offset in (start, end):
                if offset < len(encoded) and (encoded[offset] & 0xC0) == 0x80:
                    raise LexIssue(
                        f"facet byte offset {offset} is inside a UTF-8 character "
                        "(fake strict check)",
                        where,
                    )
        reply = post.get("reply")
        if isinstance(reply, dict):
            for part in ("root", "parent"):
                ref = reply[part]
                parsed = parse_at_uri(ref["uri"])
                if parsed is None:
                    continue
                authority, collection, rkey = parsed
                owner = self._find_account(authority)
                if owner is None:
                    continue  # a repo elsewhere in the network
                uri = f"at://{owner.did}/{collection}/{rkey}"
                if uri not in self.records:
                    raise LexIssue(
                        f"reply {part} {ref['uri']} does not exist on this PDS (fake strict check)",
                        f"$.record.reply.{part}.uri",
                    )
                if self.record_cids[uri] != ref["cid"]:
                    raise LexIssue(
                        f"reply {part} cid {ref['cid']} is not the record's cid "
                        f"{self.record_cids[uri]} (fake strict check)",
                        f"$.record.reply.{part}.cid",
                    )

    def _check_blobs(self, record: dict[str, Any], did: str) -> None:
        for _, ref in walk_blobs(record):
            cid = ref["ref"]["$link"]
            blob = self.blobs.get(cid)
            if blob is None or blob.did != did:
                raise invalid(f"Could not find blob: {cid}", "BlobNotFound")
            if ref.get("mimeType") != blob.mime_type:
                raise invalid(
                    "Referenced Mimetype does not match stored blob. "
                    f"Expected: {blob.mime_type}, Got: {ref.get('mimeType')}",
                    "InvalidMimeType",
                )
            if ref.get("size") != blob.size:
                raise invalid(
                    "Referenced Size does not match stored blob. "
                    f"Expected: {blob.size}, Got: {ref.get('size')}",
                    "InvalidSize",
                )


def utc_iso(moment: datetime) -> str:
    """A datetime in the "preferred" atproto syntax (milliseconds, Z)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
