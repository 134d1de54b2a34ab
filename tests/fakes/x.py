"""A fake X API v2: the calls cmctl makes, with X's own answers.

Sources (read 2026-12 through the docs corpus; xdevplatform/docs is the published
docs.x.com):

- OAuth 2.0 authorization code with PKCE,
  https://docs.x.com/fundamentals/authentication/oauth-2-0/authorization-code:
  ``POST /2/oauth2/token`` (form ``grant_type`` authorization_code with ``code``,
  ``redirect_uri``, ``code_verifier``; or refresh_token with ``refresh_token``); a
  confidential client authenticates with HTTP Basic, a public one sends ``client_id``
  in the body. Access tokens last two hours (``expires_in: 7200``); ``offline.access``
  adds a refresh token. Refresh tokens are single-use: each refresh returns a new pair.
  A refused grant answers 400 ``{"error": "invalid_request", "error_description":
  "Value passed for the token was invalid."}``. Assumed from users' reports (trypost#126,
  gptme-contrib#285, shared reference networks.md §1.1), not from the docs: a refresh
  token presented a second time revokes the whole login (every token of that grant).
- OAuth 1.0a user context, HMAC-SHA1, https://docs.x.com/fundamentals/authentication/
  oauth-1-0a/creating-a-signature: the fake recomputes the signature (query parameters
  included, JSON and multipart bodies not) and answers 401 when it differs.
- Errors are problem details, https://docs.x.com/x-api/fundamentals/response-codes-and-
  errors: ``{"title", "detail", "type", "status"}``; 401 ``{"title": "Unauthorized",
  "type": "about:blank", "status": 401, "detail": "Unauthorized"}``.
- ``POST /2/tweets`` (JSON ``text``, ``media.media_ids``, ``reply.in_reply_to_tweet_id``)
  → 201 ``{"data": {"id", "text", "edit_history_tweet_ids"}}``,
  https://docs.x.com/x-api/posts/creation-of-a-post. The same text again from the same
  account: 403 ``{"detail": "You are not allowed to create a Tweet with duplicate
  content.", "type": "about:blank", "title": "Forbidden", "status": 403}``
  (akrherz/iembot#163; the existing post is not named, node-twitter-api-v2#469).
- ``GET /2/users/me`` → ``{"data": {"id", "name", "username"}}``;
  ``GET /2/users/{id}/tweets`` (``start_time``, ``max_results`` 5..100,
  ``pagination_token``, ``tweet.fields``), newest first, ``meta.next_token``,
  https://docs.x.com/x-api/users/get-posts. Stored text as X returns it: links turned
  into t.co links, ``&``, ``<``, ``>`` escaped as entities, and a post with media ends
  with the media's t.co link.
- Media, https://docs.x.com/x-api/media/media-upload and the chunked quickstart
  https://docs.x.com/x-api/media/quickstart/media-upload-chunked: ``POST
  /2/media/upload`` (multipart ``media``, ``media_category``) → ``{"data": {"id",
  "media_key", "size", "expires_after_secs"}}``; ``initialize`` / ``{id}/append`` /
  ``{id}/finalize``, the last with ``processing_info {state, check_after_secs}`` for
  video and GIF; ``GET /2/media/upload?command=STATUS&media_id=ID``; ``POST
  /2/media/metadata`` ``{"id", "metadata": {"alt_text": {"text"}}}``.
- Rate limits, https://docs.x.com/x-api/fundamentals/rate-limits: every answer carries
  ``x-rate-limit-limit/-remaining/-reset`` (epoch seconds); ``POST /2/tweets`` also the
  24-hour ``x-user-limit-24hour-*``. No Retry-After. A 429 is ``{"title": "Too Many
  Requests", "detail": "Too Many Requests", "type": "about:blank", "status": 429}``.
"""

from __future__ import annotations

import base64
import html
import re
from datetime import datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import quote, unquote, urlencode

from cmctl.networks.oauth import s256
from tests.fakes.base import FakeServer, RecordedRequest, Reply, parse_form

USER_ID = "1500000000000000001"
USERNAME = "brandhq"
CLIENT_ID = "x-client-id-abc"
CLIENT_SECRET = "x-client-secret-0123456789"
API_KEY = "xvz1evFS4wEEPTGEFPHBog"
API_SECRET = "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw"
ACCESS_TOKEN_1A = "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb"
ACCESS_SECRET_1A = "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE"
LIFETIME = timedelta(hours=2)
DUPLICATE = "You are not allowed to create a Tweet with duplicate content."
_URL = re.compile(r"https?://\S+", re.IGNORECASE)


def problem(status: int, title: str, detail: str, kind: str = "about:blank") -> dict[str, Any]:
    return {"title": title, "detail": detail, "type": kind, "status": status}


def too_many(seconds: int, now: datetime, *, daily: bool = False) -> tuple[Any, dict[str, str]]:
    """X's 429 asking to wait ``seconds`` (the 15-minute window, or the 24-hour cap)."""
    reset = str(int(now.timestamp()) + seconds)
    headers = {"x-rate-limit-limit": "100", "x-rate-limit-remaining": "0"}
    if daily:
        soon = str(int(now.timestamp()) + 60)
        headers = {
            "x-rate-limit-limit": "100",
            "x-rate-limit-remaining": "99",
            "x-rate-limit-reset": soon,
            "x-user-limit-24hour-limit": "17",
            "x-user-limit-24hour-remaining": "0",
            "x-user-limit-24hour-reset": reset,
        }
    else:
        headers["x-rate-limit-reset"] = reset
    return problem(429, "Too Many Requests", "Too Many Requests"), headers


def clock_now() -> datetime:
    """cmctl's clock (frozen or moved by the test)."""
    from cmctl import clock

    return clock.now()


def account_lines(server: FakeX) -> tuple[list[str], dict[str, str]]:
    """An OAuth 2.0 account on ``server`` in cmctl.yaml (tokens seeded from the
    environment, as on a CI server), and that environment."""
    access, refresh = server.grant(lifetime=timedelta(days=3650))
    lines = [
        "network: x",
        f"client_id: {CLIENT_ID}",
        f"api_url: {server.url}",
        "access_token: ${X_ACCESS_TOKEN}",
        "refresh_token: ${X_REFRESH_TOKEN}",
    ]
    return lines, {"X_ACCESS_TOKEN": access, "X_REFRESH_TOKEN": refresh}


class FakeX(FakeServer):
    """X API v2 for one user (``USERNAME``), an OAuth 2.0 app and OAuth 1.0a keys."""

    name: ClassVar[str] = "fake-x"

    def __init__(self, *, confidential: bool = False) -> None:
        super().__init__()
        self.confidential = confidential  # the app has a client secret (Basic auth)
        self.tweets: list[dict[str, Any]] = []
        self.media: dict[str, dict[str, Any]] = {}
        self.codes: dict[str, str] = {}  # code → PKCE challenge
        self.access: dict[str, tuple[datetime, int]] = {}  # token → (expiry, grant)
        self.refresh_tokens: dict[str, tuple[int, bool]] = {}  # token → (grant, spent)
        self.revoked: set[int] = set()
        self.refreshes = 0
        self._grants = 0
        self._issued = 0
        self._ids = 1_860_000_000_000_000_000
        self.processing_polls = 2  # STATUS calls before a video is processed
        self.lagging = 0  # timeline reads that do not show the last minute's posts yet

    # -- test controls ---------------------------------------------------------------
    def grant(self, *, lifetime: timedelta = LIFETIME) -> tuple[str, str]:
        """A login made outside cmctl: (access token, refresh token)."""
        with self._lock:
            self._grants += 1
            return self._issue(self._grants, lifetime)

    def authorize(self, challenge: str) -> str:
        """The code the browser step would hand over for a PKCE ``challenge``."""
        with self._lock:
            code = f"code-{len(self.codes) + 1}"
            self.codes[code] = challenge
            return code

    def expire_access_tokens(self) -> None:
        with self._lock:
            past = self.now() - timedelta(seconds=1)
            self.access = {t: (past, g) for t, (_, g) in self.access.items()}

    def revoke(self) -> None:
        """The user revoked the app (or the login broke): every token is refused."""
        with self._lock:
            self.revoked.update(g for _, g in self.access.values())
            self.revoked.update(g for g, _ in self.refresh_tokens.values())

    def posted(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(t) for t in self.tweets]

    # -- FakeServer ------------------------------------------------------------------
    def fault_headers(self, status: int) -> dict[str, str]:
        if status == 429:
            return too_many(900, self.now())[1]
        return {}

    def decorate(self, request: RecordedRequest, reply: Reply) -> None:
        reset = str(int(self.now().timestamp()) + 900)
        reply.headers.setdefault("x-rate-limit-limit", "100")
        reply.headers.setdefault("x-rate-limit-remaining", "99")
        reply.headers.setdefault("x-rate-limit-reset", reset)
        if isinstance(reply.body, dict) and reply.status >= 400 and "status" in reply.body:
            reply.headers.setdefault("Content-Type", "application/problem+json")

    def route(self, request: RecordedRequest) -> Reply:
        if request.path == "/2/oauth2/token" and request.method == "POST":
            return self._token(request)
        if not self._authenticated(request):
            return Reply(401, problem(401, "Unauthorized", "Unauthorized"))
        key = (request.method, request.path)
        if key == ("GET", "/2/users/me"):
            return Reply(200, {"data": {"id": USER_ID, "name": "Brand", "username": USERNAME}})
        if key == ("POST", "/2/tweets"):
            return self._create(request)
        if request.method == "GET" and request.path == f"/2/users/{USER_ID}/tweets":
            return self._timeline(request)
        match = re.fullmatch(r"/2/tweets/(\d+)", request.path)
        if request.method == "GET" and match:
            tweet = next((t for t in self.tweets if t["id"] == match.group(1)), None)
            if tweet is None:
                return Reply(
                    200,
                    {
                        "errors": [
                            {
                                "value": match.group(1),
                                "detail": f"Could not find tweet with id: [{match.group(1)}].",
                                "title": "Not Found Error",
                                "resource_type": "tweet",
                                "parameter": "id",
                                "resource_id": match.group(1),
                                "type": "https://api.twitter.com/2/problems/resource-not-found",
                            }
                        ]
                    },
                )
            view = {k: tweet[k] for k in ("id", "text", "edit_history_tweet_ids")}
            if "author_id" in (request.param("tweet.fields") or ""):
                view["author_id"] = tweet["author_id"]
            return Reply(200, {"data": view})
        if request.path.startswith("/2/media"):
            return self._media(request)
        return Reply(404, problem(404, "Not Found Error", "Could not find the resource."))

    # -- auth ------------------------------------------------------------------------
    def _issue(self, grant: int, lifetime: timedelta = LIFETIME) -> tuple[str, str]:
        self._issued += 1
        access = f"x-access-{self._issued}-{grant}"
        refresh = f"x-refresh-{self._issued}-{grant}"
        self.access[access] = (self.now() + lifetime, grant)
        self.refresh_tokens[refresh] = (grant, False)
        return access, refresh

    def _token(self, request: RecordedRequest) -> Reply:
        form = {k: v[0].text for k, v in parse_form(request).items()}
        refused = Reply(
            400,
            {
                "error": "invalid_request",
                "error_description": "Value passed for the token was invalid.",
            },
        )
        basic = request.headers.get("authorization", "")
        if self.confidential:
            pair = f"{quote(CLIENT_ID, safe='')}:{quote(CLIENT_SECRET, safe='')}".encode()
            if basic != "Basic " + base64.b64encode(pair).decode():
                return Reply(
                    401,
                    {
                        "error": "unauthorized_client",
                        "error_description": "Missing valid authorization header",
                    },
                )
        elif form.get("client_id") != CLIENT_ID:
            return Reply(
                400, {"error": "invalid_request", "error_description": "Missing client_id"}
            )
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            challenge = self.codes.pop(form.get("code", ""), None)
            if challenge is None or s256(form.get("code_verifier", "")) != challenge:
                return refused
            self._grants += 1
            grant = self._grants
        elif grant_type == "refresh_token":
            entry = self.refresh_tokens.get(form.get("refresh_token", ""))
            if entry is None or entry[0] in self.revoked:
                return refused
            grant, spent = entry
            if spent:  # a rotated token presented again: the whole login is revoked
                self.revoked.add(grant)
                return refused
            self.refresh_tokens[form["refresh_token"]] = (grant, True)
            self.refreshes += 1
        else:
            return Reply(400, {"error": "unsupported_grant_type"})
        access, refresh = self._issue(grant)
        return Reply(
            200,
            {
                "token_type": "bearer",
                "expires_in": int(LIFETIME.total_seconds()),
                "access_token": access,
                "scope": "tweet.read tweet.write users.read media.write offline.access",
                "refresh_token": refresh,
            },
        )

    def _authenticated(self, request: RecordedRequest) -> bool:
        header = request.headers.get("authorization", "")
        if header.startswith("Bearer "):
            entry = self.access.get(header[7:])
            return entry is not None and entry[1] not in self.revoked and entry[0] > self.now()
        if header.startswith("OAuth "):
            return self._signed(request, header)
        return False

    def _signed(self, request: RecordedRequest, header: str) -> bool:
        from oauthlib.oauth1 import Client

        params = dict(
            (k.strip(), unquote(v.strip().strip('"')))
            for k, _, v in (p.partition("=") for p in header[6:].split(","))
        )
        if (
            params.get("oauth_consumer_key") != API_KEY
            or params.get("oauth_token") != ACCESS_TOKEN_1A
        ):
            return False
        query = [(k, v) for k, values in request.query.items() for v in values]
        url = f"{self.url}{request.path}"
        if query:
            url += "?" + urlencode(query, quote_via=quote)
        client = Client(
            API_KEY,
            client_secret=API_SECRET,
            resource_owner_key=ACCESS_TOKEN_1A,
            resource_owner_secret=ACCESS_SECRET_1A,
            nonce=params.get("oauth_nonce"),
            timestamp=params.get("oauth_timestamp"),
        )
        expected = client.sign(url, request.method)[1]["Authorization"]
        return f'oauth_signature="{quote(params.get("oauth_signature", ""), safe="")}"' in expected

    # -- posts -----------------------------------------------------------------------
    def _create(self, request: RecordedRequest) -> Reply:
        body = request.json if isinstance(request.json, dict) else {}
        text = body.get("text")
        media_ids = (body.get("media") or {}).get("media_ids") or []
        if not isinstance(text, str) or (not text and not media_ids):
            return Reply(
                400,
                problem(
                    400,
                    "Invalid Request",
                    "One or more parameters to your request was invalid.",
                    "https://api.twitter.com/2/problems/invalid-request",
                ),
            )
        for media_id in media_ids:
            item = self.media.get(str(media_id))
            if item is None or item["state"] != "succeeded":
                return Reply(
                    400,
                    problem(
                        400,
                        "Invalid Request",
                        "Your media IDs are invalid.",
                        "https://api.twitter.com/2/problems/invalid-request",
                    ),
                )
        reply_to = (body.get("reply") or {}).get("in_reply_to_tweet_id")
        parent = next((t for t in self.tweets if t["id"] == reply_to), None)
        if reply_to is not None and parent is None:
            return Reply(
                400,
                problem(
                    400,
                    "Invalid Request",
                    "The tweet you are replying to does not exist.",
                    "https://api.twitter.com/2/problems/invalid-request",
                ),
            )
        if any(t["sent"] == text for t in self.tweets):
            return Reply(403, problem(403, "Forbidden", DUPLICATE))
        self._ids += 1
        tweet_id = str(self._ids)
        shown = html.escape(text, quote=False)
        shown = _URL.sub(lambda m: f"https://t.co/{abs(hash(m.group())) % 10**10:010d}", shown)
        if media_ids:
            shown = f"{shown} https://t.co/m{len(self.tweets):09d}"
        tweet: dict[str, Any] = {
            "id": tweet_id,
            "text": shown,
            "sent": text,
            "created_at": self.now().strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "author_id": USER_ID,
            "conversation_id": parent["conversation_id"] if parent else tweet_id,
            "media_ids": [str(m) for m in media_ids],
            "edit_history_tweet_ids": [tweet_id],
        }
        if parent is not None:
            tweet["referenced_tweets"] = [{"type": "replied_to", "id": parent["id"]}]
        self.tweets.append(tweet)
        reset = str(int(self.now().timestamp()) + 86400)
        return Reply(
            201,
            {"data": {"id": tweet_id, "text": shown, "edit_history_tweet_ids": [tweet_id]}},
            {
                "x-user-limit-24hour-limit": "17",
                "x-user-limit-24hour-remaining": str(max(0, 17 - len(self.tweets))),
                "x-user-limit-24hour-reset": reset,
            },
        )

    def _timeline(self, request: RecordedRequest) -> Reply:
        posts = list(reversed(self.tweets))
        if self.lagging > 0:  # X's timelines may lag behind a post just created
            self.lagging -= 1
            recent = (self.now() - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S")
            posts = [t for t in posts if t["created_at"][:19] < recent]
        start = request.param("start_time")
        if start:
            since = datetime.fromisoformat(start.replace("Z", "+00:00"))
            posts = [
                t for t in posts if datetime.fromisoformat(t["created_at"][:19] + "+00:00") >= since
            ]
        size = int(request.param("max_results") or 10)
        if not 5 <= size <= 100:
            return Reply(
                400,
                problem(
                    400,
                    "Invalid Request",
                    "The `max_results` query parameter value is not between 5 and 100",
                ),
            )
        offset = int(request.param("pagination_token") or 0)
        page = posts[offset : offset + size]
        fields = set((request.param("tweet.fields") or "").split(","))
        data = []
        for tweet in page:
            item = {"id": tweet["id"], "text": tweet["text"]}
            item["edit_history_tweet_ids"] = tweet["edit_history_tweet_ids"]
            for name in ("created_at", "conversation_id", "referenced_tweets"):
                if name in fields and name in tweet:
                    item[name] = tweet[name]
            data.append(item)
        meta: dict[str, Any] = {"result_count": len(data)}
        if data:
            meta["newest_id"], meta["oldest_id"] = data[0]["id"], data[-1]["id"]
        if offset + size < len(posts):
            meta["next_token"] = str(offset + size)
        return Reply(200, {"data": data, "meta": meta} if data else {"meta": meta})

    # -- media -----------------------------------------------------------------------
    def _new_media(self, category: str, size: int, state: str) -> dict[str, Any]:
        self._ids += 1
        media_id = str(self._ids)
        item = {"id": media_id, "media_key": f"3_{media_id}", "size": size}
        item.update({"category": category, "state": state, "polls": 0, "alt": None})
        self.media[media_id] = item
        return item

    def _media(self, request: RecordedRequest) -> Reply:
        path = request.path
        if path == "/2/media/upload" and request.method == "POST":
            form = parse_form(request)
            part = (form.get("media") or [None])[0]
            if part is None:
                return Reply(400, problem(400, "Invalid Request", "media is required"))
            category = (form.get("media_category") or [None])[0]
            item = self._new_media(category.text if category else "tweet_image", 0, "succeeded")
            item["size"] = len(part.data)
            return Reply(200, {"data": self._view(item)})
        if path == "/2/media/upload" and request.method == "GET":
            item = self.media.get(request.param("media_id") or "")
            if item is None or request.param("command") != "STATUS":
                return Reply(400, problem(400, "Invalid Request", "Invalid media_id"))
            if item["state"] in ("pending", "in_progress"):
                item["polls"] += 1
                item["state"] = (
                    "succeeded" if item["polls"] >= self.processing_polls else "in_progress"
                )
            return Reply(200, {"data": self._view(item)})
        if path == "/2/media/upload/initialize":
            body = request.json if isinstance(request.json, dict) else {}
            item = self._new_media(
                str(body.get("media_category")), int(body.get("total_bytes") or 0), "init"
            )
            item["received"] = 0
            return Reply(200, {"data": {**self._view(item), "expires_after_secs": 86400}})
        match = re.fullmatch(r"/2/media/upload/(\d+)/(append|finalize)", path)
        if match:
            item = self.media.get(match.group(1))
            if item is None:
                return Reply(400, problem(400, "Invalid Request", "Invalid media_id"))
            if match.group(2) == "append":
                part = (parse_form(request).get("media") or [None])[0]
                item["received"] += len(part.data) if part else 0
                return Reply(200, {"meta": {}})
            if item["received"] != item["size"]:
                return Reply(400, problem(400, "Invalid Request", "File size mismatch"))
            item["state"] = "pending"
            return Reply(200, {"data": self._view(item)})
        if path == "/2/media/metadata" and request.method == "POST":
            body = request.json if isinstance(request.json, dict) else {}
            item = self.media.get(str(body.get("id")))
            if item is None:
                return Reply(400, problem(400, "Invalid Request", "Invalid media_id"))
            item["alt"] = ((body.get("metadata") or {}).get("alt_text") or {}).get("text")
            return Reply(
                200,
                {
                    "data": {
                        "id": item["id"],
                        "associated_metadata": {"alt_text": {"text": item["alt"]}},
                    }
                },
            )
        return Reply(404, problem(404, "Not Found Error", "Could not find the resource."))

    @staticmethod
    def _view(item: dict[str, Any]) -> dict[str, Any]:
        view = {"id": item["id"], "media_key": item["media_key"], "size": item["size"]}
        view["expires_after_secs"] = 86400
        if item["category"] in ("tweet_video", "tweet_gif") and item["state"] != "init":
            info: dict[str, Any] = {"state": item["state"]}
            if item["state"] in ("pending", "in_progress"):
                info["check_after_secs"] = 1
            view["processing_info"] = info
        return view
