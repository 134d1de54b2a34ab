"""A fake Threads API (graph.threads.net): the login, containers, publishing, look-ups.

Sources (read 2026-12):

- Tokens, https://developers.facebook.com/docs/threads/get-started/get-access-tokens-and-permissions
  and https://developers.facebook.com/docs/threads/get-started/long-lived-tokens:
  ``POST /oauth/access_token`` (form ``client_id``, ``client_secret``, ``grant_type=
  authorization_code``, ``redirect_uri``, ``code``) -> ``{"access_token", "user_id"}``, a
  short-lived token (1 h); a code is good once. ``GET /access_token?grant_type=
  th_exchange_token&client_secret=…&access_token=<short>`` -> ``{"access_token",
  "token_type": "bearer", "expires_in"}`` (60 days). ``GET /refresh_access_token?
  grant_type=th_refresh_token&access_token=<long>``: "Long-lived tokens that have not
  expired can be refreshed"; the token must be at least 24 hours old; the answer has a
  new 60-day token. An expired token is dead for good.
- Containers and publishing, https://developers.facebook.com/docs/threads/posts and
  https://developers.facebook.com/docs/threads/reference/publishing: ``POST
  /v1.0/{user}/threads`` (``media_type`` TEXT/IMAGE/VIDEO/CAROUSEL, ``text``,
  ``image_url``, ``video_url``, ``alt_text``, ``is_carousel_item``, ``children``,
  ``reply_to_id``) -> ``{"id"}``; ``POST /v1.0/{user}/threads_publish``
  (``creation_id``) -> ``{"id"}`` (the media id). Media containers are ``IN_PROGRESS``
  for a while ("about 30 seconds on average"): ``media_delay`` seconds here, text ones
  ``text_delay`` (0).
- Container status, https://developers.facebook.com/docs/threads/troubleshooting:
  ``GET /{container}?fields=status,error_message``; EXPIRED (not published within 24
  hours), ERROR, FINISHED, IN_PROGRESS, PUBLISHED.
- Limits, https://developers.facebook.com/docs/threads/overview: 250 posts and 1,000
  replies per 24 h, ``GET /{user}/threads_publishing_limit?fields=quota_usage,config,
  reply_quota_usage,reply_config`` -> ``{"data": [{...}]}``.
- Own posts, https://developers.facebook.com/docs/threads/retrieve-and-discover-posts/retrieve-posts
  and https://developers.facebook.com/docs/threads/retrieve-and-manage-replies: ``GET
  /{user}/threads`` and ``/{user}/replies`` (``fields``, ``since``, ``limit``,
  ``after``), newest first, ``paging.cursors``; ``GET /{media}?fields=permalink``;
  ``GET /me?fields=id,username``.
- Errors: Graph's body ``{"error": {"message", "type", "code", "error_subcode",
  "fbtrace_id"}}``; 190 for an invalid, expired or revoked token.

Assumed, not found in the docs read: the wording and code of a publish of a container
that is not FINISHED or already published (code 24, as Instagram's "Media ID is not
available"), of a spent publishing limit (code 4 here), and of a refresh of a token
younger than 24 hours (code 10). The token travels as ``Authorization: Bearer`` or the
``access_token`` parameter; both are accepted.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any, ClassVar

from tests.fakes.base import FakeServer, RecordedRequest, Reply, parse_form

__all__ = [
    "APP_ID",
    "APP_SECRET",
    "TOKEN",
    "USER_ID",
    "FakeThreads",
    "graph_error",
]

APP_ID = "990011223344"
APP_SECRET = "threads-app-secret-5f3a"
USER_ID = "17841400123456"
USERNAME = "acme"
TOKEN = "THAAlongLivedToken-9c1e"  # a long-lived token issued 30 days ago
CODE = "AQBthe-code-1"
LONG = timedelta(days=60)
SHORT = timedelta(hours=1)
POSTS_PER_DAY = 250
REPLIES_PER_DAY = 1000


def graph_error(code: int, message: str, subcode: int | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    error["fbtrace_id"] = "AThreadsTrace"
    return {"error": error}


def _time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S+0000")


class FakeThreads(FakeServer):
    name: ClassVar[str] = "threads"

    def __init__(self, *, latency: float = 0.0) -> None:
        super().__init__(latency=latency)
        self.user_id = USER_ID
        self.codes = {CODE}
        # token -> (kind, issued, expires)
        self.tokens: dict[str, tuple[str, datetime, datetime]] = {}
        self.revoked: set[str] = set()
        self.containers: dict[str, dict[str, Any]] = {}
        self.posts: list[dict[str, Any]] = []  # published, oldest first (replies too)
        self.text_delay = 0.0
        self.media_delay = 30.0
        self.failing: dict[str, str] = {}  # image/video URL -> error_message
        self._serial = itertools.count(1000)
        self.tokens[TOKEN] = ("long", self.now() - timedelta(days=30), self.now() + LONG / 2)

    # -- helpers for tests -------------------------------------------------------------
    def roots(self) -> list[dict[str, Any]]:
        return [p for p in self.posts if not p.get("reply_to_id")]

    def replies(self) -> list[dict[str, Any]]:
        return [p for p in self.posts if p.get("reply_to_id")]

    def revoke(self, token: str | None = None) -> None:
        """The user removed the app (or changed password): every token stops working."""
        self.revoked |= set(self.tokens) if token is None else {token}

    def issue(self, age: timedelta, lifetime: timedelta = LONG) -> str:
        """A long-lived token issued ``age`` ago."""
        token = f"THAAlong-{next(self._serial)}"
        issued = self.now() - age
        self.tokens[token] = ("long", issued, issued + lifetime)
        return token

    # -- routing -------------------------------------------------------------------------
    def route(self, request: RecordedRequest) -> Reply:
        path = request.path.rstrip("/")
        params = {k: v[0] for k, v in request.query.items()} if request.query else {}
        form = {k: v[0].text for k, v in parse_form(request).items()}
        args = {**params, **form}
        if path == "/oauth/access_token" and request.method == "POST":
            return self._code(args)
        if path == "/access_token" and request.method == "GET":
            return self._exchange(args)
        if path == "/refresh_access_token" and request.method == "GET":
            return self._refresh(args)
        if not path.startswith("/v1.0/"):
            return Reply(404, graph_error(100, "Unsupported request"))
        refusal = self._authorized(request, args)
        if refusal is not None:
            return refusal
        parts = path.split("/")[2:]
        if parts == ["me"]:
            return Reply(200, {"id": self.user_id, "username": USERNAME})
        if len(parts) == 2 and parts[0] in (self.user_id, "me"):
            edge = parts[1]
            if edge == "threads" and request.method == "POST":
                return self._create(args)
            if edge == "threads_publish" and request.method == "POST":
                return self._publish(args)
            if edge == "threads_publishing_limit":
                return self._limit()
            if edge in ("threads", "replies") and request.method == "GET":
                return self._list(edge, args)
        if len(parts) == 1 and request.method == "GET":
            return self._object(parts[0])
        return Reply(400, graph_error(100, "Unsupported request - method type: " + request.method))

    def _authorized(self, request: RecordedRequest, args: dict[str, str]) -> Reply | None:
        header = request.headers.get("authorization", "")
        token = header.removeprefix("Bearer ").strip() if header else args.get("access_token", "")
        known = self.tokens.get(token)
        if known is None or token in self.revoked:
            return Reply(
                400, graph_error(190, "Invalid OAuth access token - Cannot parse access token")
            )
        if known[2] <= self.now():
            return Reply(
                400,
                graph_error(190, "Error validating access token: Session has expired", 463),
            )
        return None

    # -- login ---------------------------------------------------------------------------
    def _code(self, args: dict[str, str]) -> Reply:
        if args.get("client_id") != APP_ID or args.get("client_secret") != APP_SECRET:
            return Reply(400, graph_error(101, "Error validating client secret."))
        if args.get("grant_type") != "authorization_code" or args.get("code") not in self.codes:
            return Reply(400, graph_error(100, "Error validating verification code.", 36008))
        self.codes.discard(args["code"])
        token = f"THAAshort-{next(self._serial)}"
        self.tokens[token] = ("short", self.now(), self.now() + SHORT)
        return Reply(200, {"access_token": token, "user_id": int(self.user_id)})

    def _exchange(self, args: dict[str, str]) -> Reply:
        short = args.get("access_token", "")
        known = self.tokens.get(short)
        if args.get("client_secret") != APP_SECRET:
            return Reply(400, graph_error(101, "Error validating client secret."))
        if args.get("grant_type") != "th_exchange_token" or known is None or known[0] != "short":
            return Reply(400, graph_error(190, "Invalid OAuth access token."))
        if known[2] <= self.now() or short in self.revoked:
            return Reply(400, graph_error(190, "Session has expired", 463))
        token = f"THAAlong-{next(self._serial)}"
        self.tokens[token] = ("long", self.now(), self.now() + LONG)
        return Reply(
            200,
            {
                "access_token": token,
                "token_type": "bearer",
                "expires_in": int(LONG.total_seconds()),
            },
        )

    def _refresh(self, args: dict[str, str]) -> Reply:
        current = args.get("access_token", "")
        known = self.tokens.get(current)
        if args.get("grant_type") != "th_refresh_token" or known is None or known[0] != "long":
            return Reply(400, graph_error(190, "Invalid OAuth access token."))
        if current in self.revoked or known[2] <= self.now():
            return Reply(400, graph_error(190, "Error validating access token", 463))
        if self.now() - known[1] < timedelta(hours=24):
            return Reply(400, graph_error(10, "Tokens can be refreshed once they are 24 hours old"))
        token = f"THAAlong-{next(self._serial)}"
        self.tokens[token] = ("long", self.now(), self.now() + LONG)
        return Reply(
            200,
            {
                "access_token": token,
                "token_type": "bearer",
                "expires_in": int(LONG.total_seconds()),
            },
        )

    # -- containers ------------------------------------------------------------------------
    def _create(self, args: dict[str, str]) -> Reply:
        kind = args.get("media_type", "")
        carousel_item = args.get("is_carousel_item") == "true"
        if kind not in ("TEXT", "IMAGE", "VIDEO", "CAROUSEL"):
            return Reply(
                400,
                graph_error(100, "Param media_type must be one of {TEXT, IMAGE, VIDEO, CAROUSEL}"),
            )
        if kind == "TEXT" and not args.get("text"):
            return Reply(400, graph_error(100, "Param text is required for TEXT"))
        url = args.get("image_url") if kind == "IMAGE" else args.get("video_url")
        if kind in ("IMAGE", "VIDEO") and not url:
            return Reply(400, graph_error(100, f"Param {kind.lower()}_url is required"))
        children = [c for c in args.get("children", "").split(",") if c]
        if kind == "CAROUSEL":
            if not 2 <= len(children) <= 20:
                return Reply(400, graph_error(100, "Carousels take 2 to 20 children"))
            for child in children:
                item = self.containers.get(child)
                if item is None or not item["carousel_item"]:
                    return Reply(400, graph_error(100, f"Invalid child {child}"))
                if self._status(item) != "FINISHED":
                    return Reply(400, graph_error(24, f"Child {child} is not ready"))
        reply_to = args.get("reply_to_id")
        if reply_to and not any(p["id"] == reply_to for p in self.posts):
            return Reply(400, graph_error(100, "Invalid reply_to_id"))
        container_id = str(next(self._serial)) + "0001"
        delay = self.media_delay if kind in ("IMAGE", "VIDEO") else self.text_delay
        self.containers[container_id] = {
            "id": container_id,
            "media_type": kind,
            "text": args.get("text", ""),
            "url": url,
            "alt_text": args.get("alt_text"),
            "children": children,
            "carousel_item": carousel_item,
            "reply_to_id": reply_to,
            "created": self.now(),
            "ready_at": self.now() + timedelta(seconds=delay),
            "published": None,
            "error": self.failing.get(url or ""),
        }
        return Reply(200, {"id": container_id})

    def _status(self, container: dict[str, Any]) -> str:
        if container["published"] is not None:
            return "PUBLISHED"
        if container["error"]:
            return "ERROR"
        if self.now() - container["created"] > timedelta(hours=24):
            return "EXPIRED"
        if self.now() < container["ready_at"]:
            return "IN_PROGRESS"
        return "FINISHED"

    def _publish(self, args: dict[str, str]) -> Reply:
        container = self.containers.get(args.get("creation_id", ""))
        if container is None or container["carousel_item"]:
            return Reply(400, graph_error(100, "Invalid parameter creation_id"))
        status = self._status(container)
        if status != "FINISHED":
            return Reply(400, graph_error(24, f"Media ID is not available (status {status})"))
        reply = bool(container["reply_to_id"])
        used, total = self._usage(reply)
        if used >= total:
            return Reply(400, graph_error(4, "Application request limit reached"))
        media_id = str(next(self._serial)) + "7777"
        container["published"] = media_id
        self.posts.append(
            {
                "id": media_id,
                "text": container["text"],
                "media_type": container["media_type"],
                "reply_to_id": container["reply_to_id"],
                "container": container["id"],
                "children": container["children"],
                "alt_text": container["alt_text"],
                "url": container["url"],
                "timestamp": self.now(),
                "permalink": f"https://www.threads.net/@{USERNAME}/post/C{media_id}",
            }
        )
        return Reply(200, {"id": media_id})

    def _usage(self, reply: bool) -> tuple[int, int]:
        since = self.now() - timedelta(days=1)
        used = sum(
            1 for p in self.posts if bool(p["reply_to_id"]) == reply and p["timestamp"] > since
        )
        return used, REPLIES_PER_DAY if reply else POSTS_PER_DAY

    def _limit(self) -> Reply:
        posts, replies = self._usage(False), self._usage(True)
        day = 86400
        return Reply(
            200,
            {
                "data": [
                    {
                        "quota_usage": posts[0],
                        "config": {"quota_total": posts[1], "quota_duration": day},
                        "reply_quota_usage": replies[0],
                        "reply_config": {"quota_total": replies[1], "quota_duration": day},
                    }
                ]
            },
        )

    def _object(self, object_id: str) -> Reply:
        container = self.containers.get(object_id)
        if container is not None:
            body: dict[str, Any] = {"id": object_id, "status": self._status(container)}
            if container["error"]:
                body["error_message"] = container["error"]
            return Reply(200, body)
        for post in self.posts:
            if post["id"] == object_id:
                return Reply(200, {"id": object_id, "permalink": post["permalink"]})
        return Reply(
            400,
            graph_error(100, f"Object with ID '{object_id}' does not exist", 33),
        )

    def _list(self, edge: str, args: dict[str, str]) -> Reply:
        replies = edge == "replies"
        found = [p for p in reversed(self.posts) if bool(p["reply_to_id"]) == replies]
        since = args.get("since")
        if since and since.isdigit():
            found = [p for p in found if p["timestamp"].timestamp() >= int(since)]
        limit = int(args.get("limit") or 25)
        start = int(args.get("after") or 0)
        page = found[start : start + limit]
        body: dict[str, Any] = {
            "data": [
                {
                    "id": p["id"],
                    "text": p["text"],
                    "timestamp": _time(p["timestamp"]),
                    "permalink": p["permalink"],
                }
                for p in page
            ]
        }
        if start + limit < len(found):
            after = str(start + limit)
            body["paging"] = {
                "cursors": {"before": str(start), "after": after},
                "next": f"{self.url}/v1.0/{self.user_id}/{edge}?after={after}",
            }
        return Reply(200, body)
