"""A fake Instagram Platform (Instagram API with Instagram Login): the calls cmctl makes.

Sources (read 2026-12):
- Content publishing guide: https://developers.facebook.com/docs/instagram-platform/content-publishing/
- IG User Media (containers: image_url, alt_text, video_url, media_type REELS / VIDEO in
  a carousel, is_carousel_item, CAROUSEL with children; "Containers expire after 24
  hours"): https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/media
- IG Container (status_code IN_PROGRESS, FINISHED, PUBLISHED, ERROR, EXPIRED):
  https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-container
- IG User Media Publish (creation_id → {"id": media id}):
  https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/media_publish
- Content publishing limit ({"data": [{"quota_usage", "config": {"quota_total",
  "quota_duration"}}]}): https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/content_publishing_limit
- Business Login (www.instagram.com/oauth/authorize → 302 to the redirect URI with
  code and state, "#_" appended; POST
  api.instagram.com/oauth/access_token → {"data": [{"access_token", "user_id",
  "permissions"}]}, a 1-hour token):
  https://developers.facebook.com/docs/instagram-platform/instagram-api-with-instagram-login/business-login
- GET /access_token?grant_type=ig_exchange_token&client_secret=&access_token= → a 60-day
  token {"access_token", "token_type": "bearer", "expires_in"}:
  https://developers.facebook.com/docs/instagram-platform/reference/access_token
- GET /refresh_access_token?grant_type=ig_refresh_token&access_token= "at least 24 hours
  old but has not expired", valid 60 days from the refresh:
  https://developers.facebook.com/docs/instagram-platform/reference/refresh_access_token
- Graph errors {"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}:
  https://developers.facebook.com/docs/graph-api/guides/error-handling ; "Media ID is
  not available" 9007 / 2207027; publishing limit 9 / 2207042; media fetch 9004 /
  2207052 (the IG error code table, error-codes reference).

The fake serves the project's media too (``files``, under ``/cdn/``): Instagram "cURLs"
image_url / video_url at container creation, and cmctl checks they are served first.
Containers of ``files`` it does not have fail as Instagram does (9004 / 2207052).

Assumed, not found in what was read: the exact texts of the refresh refusals (a token
under 24 h, an expired one), of media_publish on a PUBLISHED or EXPIRED container, and
of the code exchange's refusals (the older {"error_type", "code", "error_message"}).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import urlencode

from tests.fakes.base import FakeServer, RecordedRequest, Reply, parse_form

__all__ = ["APP_ID", "APP_SECRET", "TOKEN", "USER_ID", "FakeInstagram", "graph_error"]

APP_ID = "990602627938098"
APP_SECRET = "ig-app-secret-6f1c2d9e8b7a"
USER_ID = "17841405793187218"
TOKEN = "IGAAlong-lived-token-0123456789"  # a long-lived token the fake knows at start
SHORT_LIFE = timedelta(hours=1)
LONG_LIFE = timedelta(days=60)
CONTAINER_LIFE = timedelta(hours=24)
QUOTA_TOTAL = 50
QUOTA_WINDOW = timedelta(days=1)


def graph_error(code: int, message: str, subcode: int | None = None, **more: Any) -> dict[str, Any]:
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    error.update(more)
    error["fbtrace_id"] = "AbCdEfGhIjK"
    return {"error": error}


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S+0000")


@dataclass
class Token:
    value: str
    issued: datetime
    expires: datetime
    long: bool


@dataclass
class Container:
    id: str
    created: datetime
    ready_at: datetime
    form: dict[str, str]
    status: str = "IN_PROGRESS"  # until ready_at; then FINISHED, PUBLISHED, ERROR
    children: list[str] = field(default_factory=list)


class FakeInstagram(FakeServer):
    name: ClassVar[str] = "instagram"

    def __init__(self) -> None:
        super().__init__()
        self.tokens: dict[str, Token] = {}
        self.codes: dict[str, str] = {}  # code → redirect_uri (spent codes removed)
        self.containers: dict[str, Container] = {}
        self.media: list[dict[str, Any]] = []  # published, oldest first
        self.files: dict[str, bytes] = {}  # path under /cdn → bytes
        self.processing = timedelta(0)  # how long an image container stays IN_PROGRESS
        self.video_processing = timedelta(seconds=60)
        self.quota_total = QUOTA_TOTAL
        self.quota_used_elsewhere = 0  # posts published by other apps in the window
        self._next = 18000000000000000
        now = self.now()
        self.tokens[TOKEN] = Token(TOKEN, now - timedelta(days=2), now + LONG_LIFE, True)

    # -- helpers for tests ---------------------------------------------------------

    def published(self) -> list[dict[str, Any]]:
        return list(self.media)

    def issue_code(self, redirect_uri: str = "http://127.0.0.1:8765/callback") -> str:
        code = "AQ" + secrets.token_hex(12)
        self.codes[code] = redirect_uri
        return code

    def add_token(self, *, age: timedelta, left: timedelta, long: bool = True) -> str:
        value = ("IGAA" if long else "IGQ") + secrets.token_hex(10)
        now = self.now()
        self.tokens[value] = Token(value, now - age, now + left, long)
        return value

    def revoke(self) -> None:
        """The user removed the app (or changed the password): every token dies."""
        self.tokens.clear()

    def serve(self, path: str, data: bytes) -> str:
        """Serve ``data`` at /cdn/<path>; returns the media_url base."""
        self.files["/cdn/" + path.lstrip("/")] = data
        return f"{self.url}/cdn"

    # -- routes --------------------------------------------------------------------

    def route(self, request: RecordedRequest) -> Reply:
        path = request.path.rstrip("/")
        if path.startswith("/cdn/"):
            data = self.files.get(path)
            if data is None:
                return Reply(404, "not found")
            if request.headers.get("range") == "bytes=0-0":
                return Reply(206, data[:1], {"Content-Range": f"bytes 0-0/{len(data)}"})
            return Reply(200, data)
        if path == "/oauth/authorize" and request.method == "GET":
            return self._authorize(request)
        if path == "/oauth/access_token" and request.method == "POST":
            return self._exchange_code(request)
        if path == "/access_token" and request.method == "GET":
            return self._long_lived(request)
        if path == "/refresh_access_token" and request.method == "GET":
            return self._refresh(request)
        parts = path.strip("/").split("/")
        if parts and parts[0].startswith("v") and "." in parts[0]:
            parts = parts[1:]  # the version is optional on graph.instagram.com
        token = self._token(request)
        if isinstance(token, Reply):
            return token
        if parts == ["me"] and request.method == "GET":
            return Reply(200, {"user_id": USER_ID, "username": "brand", "id": "2749"})
        if len(parts) == 2 and parts[0] in (USER_ID, "me"):
            edge = parts[1]
            if edge == "media" and request.method == "POST":
                return self._create(request)
            if edge == "media" and request.method == "GET":
                return self._list(request)
            if edge == "media_publish" and request.method == "POST":
                return self._publish(request)
            if edge == "content_publishing_limit" and request.method == "GET":
                used = self._used()
                config = {"quota_total": self.quota_total, "quota_duration": 86400}
                return Reply(200, {"data": [{"quota_usage": used, "config": config}]})
        if len(parts) == 1 and request.method == "GET":
            found = self.containers.get(parts[0])
            if found is not None:
                status = self._status(found)
                said = "Finished: Media has been uploaded and it is ready to be published."
                if status == "IN_PROGRESS":
                    said = "In Progress: Media is still being processed."
                elif status == "ERROR":
                    said = "Error: Media upload has failed with error code 2207082."
                elif status == "EXPIRED":
                    said = "Expired: The container was not published within 24 hours."
                return Reply(200, {"status_code": status, "status": said, "id": found.id})
            for item in self.media:
                if item["id"] == parts[0]:
                    return Reply(200, {k: v for k, v in item.items() if not k.startswith("_")})
        return Reply(
            400,
            graph_error(
                100,
                f"Unsupported request - method type: {request.method.lower()}",
                33,
            ),
        )

    # -- auth ----------------------------------------------------------------------

    def _token(self, request: RecordedRequest) -> Token | Reply:
        value = request.param("access_token")
        auth = request.headers.get("authorization", "")
        if auth.startswith("Bearer "):
            value = auth[len("Bearer ") :]
        token = self.tokens.get(value or "")
        if token is None:
            return Reply(
                400, graph_error(190, "Invalid OAuth access token - Cannot parse access token")
            )
        if token.expires <= self.now():
            return Reply(
                400,
                graph_error(
                    190,
                    "Error validating access token: Session has expired on "
                    f"{token.expires:%A, %d-%b-%y %H:%M:%S} UTC.",
                    463,
                ),
            )
        return token

    def _authorize(self, request: RecordedRequest) -> Reply:
        """The browser step, as if the user logged in and allowed the app: a 302 to the
        redirect URI with ``code`` and ``state`` (Business Login, "Step 1")."""
        redirect_uri = request.param("redirect_uri") or ""
        scopes = (request.param("scope") or "").split(",")
        if request.param("client_id") != APP_ID or request.param("response_type") != "code":
            return Reply(400, "Invalid platform app")
        if "instagram_business_content_publish" not in scopes:
            back = {"error": "access_denied", "error_reason": "user_denied",
                    "error_description": "Permissions error"}  # fmt: skip
        else:
            back = {"code": self.issue_code(redirect_uri), "state": request.param("state") or ""}
        # Instagram appends "#_" to the redirect; a client must ignore it
        return Reply(302, "", {"Location": f"{redirect_uri}?{urlencode(back)}#_"})

    def _exchange_code(self, request: RecordedRequest) -> Reply:
        form = {k: v[0].text for k, v in parse_form(request).items()}
        if form.get("client_id") != APP_ID or form.get("client_secret") != APP_SECRET:
            return Reply(
                400,
                {"error_type": "OAuthException", "code": 400,
                 "error_message": "Invalid platform app"},
            )  # fmt: skip
        code = form.get("code", "")
        if form.get("grant_type") != "authorization_code" or code not in self.codes:
            return Reply(
                400,
                {"error_type": "OAuthException", "code": 400,
                 "error_message": "This authorization code has been used"},
            )  # fmt: skip
        if self.codes.pop(code) != form.get("redirect_uri"):
            return Reply(
                400,
                {"error_type": "OAuthException", "code": 400,
                 "error_message": "Error validating verification code. Please make sure "
                 "your redirect_uri is identical to the one you used in the OAuth dialog "
                 "request"},
            )  # fmt: skip
        short = self.add_token(age=timedelta(0), left=SHORT_LIFE, long=False)
        permissions = "instagram_business_basic,instagram_business_content_publish"
        return Reply(
            200,
            {"data": [{"access_token": short, "user_id": USER_ID, "permissions": permissions}]},
        )

    def _long_lived(self, request: RecordedRequest) -> Reply:
        if request.param("grant_type") != "ig_exchange_token":
            return Reply(400, graph_error(100, "Unsupported grant_type"))
        if request.param("client_secret") != APP_SECRET:
            return Reply(400, graph_error(101, "Error validating client secret."))
        token = self._token(request)
        if isinstance(token, Reply):
            return token
        if token.long:
            return Reply(400, graph_error(100, "The access token is already long-lived"))
        new = self.add_token(age=timedelta(0), left=LONG_LIFE)
        return Reply(
            200,
            {
                "access_token": new,
                "token_type": "bearer",
                "expires_in": int(LONG_LIFE.total_seconds()),
            },
        )

    def _refresh(self, request: RecordedRequest) -> Reply:
        if request.param("grant_type") != "ig_refresh_token":
            return Reply(400, graph_error(100, "Unsupported grant_type"))
        token = self._token(request)
        if isinstance(token, Reply):
            return token
        if not token.long or self.now() - token.issued < timedelta(hours=24):
            return Reply(
                400, graph_error(190, "The access token must be at least 24 hours old to refresh")
            )
        new = self.add_token(age=timedelta(0), left=LONG_LIFE)
        del self.tokens[token.value]
        return Reply(
            200,
            {
                "access_token": new,
                "token_type": "bearer",
                "expires_in": int(LONG_LIFE.total_seconds()),
            },
        )

    # -- publishing ----------------------------------------------------------------

    def _id(self) -> str:
        self._next += 7
        return str(self._next)

    def _status(self, container: Container) -> str:
        now = self.now()
        if container.status == "PUBLISHED":
            return "PUBLISHED"
        if now >= container.created + CONTAINER_LIFE:
            return "EXPIRED"
        if container.status == "IN_PROGRESS" and now >= container.ready_at:
            container.status = "FINISHED"
        return container.status

    def _create(self, request: RecordedRequest) -> Reply:
        form = {k: v[0].text for k, v in parse_form(request).items()}
        for k, v in request.query.items():
            form.setdefault(k, v[0])
        now = self.now()
        kind = form.get("media_type", "")
        if kind == "CAROUSEL":
            children = [c for c in form.get("children", "").split(",") if c]
            if not 2 <= len(children) <= 10:
                return Reply(400, graph_error(100, "Invalid parameter", 2207028,
                             error_user_msg="A carousel has 2 to 10 items"))  # fmt: skip
            for child in children:
                found = self.containers.get(child)
                if found is None or self._status(found) != "FINISHED":
                    return Reply(400, graph_error(9007, "Media ID is not available", 2207027))
            container = Container(self._id(), now, now, form, children=children)
            self.containers[container.id] = container
            return Reply(200, {"id": container.id})
        url = form.get("image_url") or form.get("video_url")
        if not url:
            return Reply(400, graph_error(100, "The parameter image_url is required"))
        if kind not in ("", "REELS", "VIDEO", "STORIES"):
            return Reply(400, graph_error(100, f"Invalid media_type {kind}"))
        if kind == "VIDEO" and form.get("is_carousel_item") != "true":
            return Reply(400, graph_error(100, "The VIDEO media type is no longer supported"))
        if form.get("alt_text") and "image_url" not in form:
            return Reply(400, graph_error(100, "alt_text is only supported for images"))
        if url.startswith(self.url) and url[len(self.url) :] not in self.files:
            return Reply(
                400,
                graph_error(9004, "The media could not be fetched from this uri", 2207052,
                            error_user_title="Media download has failed",
                            error_user_msg="The media could not be fetched from this uri"),
            )  # fmt: skip
        delay = self.video_processing if "video_url" in form else self.processing
        container = Container(self._id(), now, now + delay, form)
        self.containers[container.id] = container
        return Reply(200, {"id": container.id})

    def _used(self) -> int:
        since = self.now() - QUOTA_WINDOW
        return self.quota_used_elsewhere + sum(1 for m in self.media if m["_at"] >= since)

    def _publish(self, request: RecordedRequest) -> Reply:
        form = {k: v[0].text for k, v in parse_form(request).items()}
        creation = form.get("creation_id") or request.param("creation_id") or ""
        container = self.containers.get(creation)
        if container is None or container.form.get("is_carousel_item") == "true":
            return Reply(400, graph_error(100, "Invalid parameter", 2207006))
        status = self._status(container)
        if status == "IN_PROGRESS":
            return Reply(400, graph_error(9007, "Media ID is not available", 2207027,
                         error_user_title="Media not ready for publishing",
                         error_user_msg="The media is not ready for publishing, please wait "
                         "for a moment"))  # fmt: skip
        if status == "EXPIRED":
            return Reply(400, graph_error(-1, "The media you are trying to access has expired. "
                         "Please try to generate a new container ID", 2207020))  # fmt: skip
        if status == "PUBLISHED":
            return Reply(400, graph_error(100, "The media has already been published"))
        if status == "ERROR":
            return Reply(400, graph_error(-1, "Media upload has failed", 2207082))
        if self._used() >= self.quota_total:
            return Reply(400, graph_error(9, "Application request limit reached", 2207042,
                         error_user_title="Publishing limit reached"))  # fmt: skip
        container.status = "PUBLISHED"
        now = self.now()
        media_id = self._id()
        shortcode = secrets.token_urlsafe(8).replace("-", "a").replace("_", "b")
        kind = container.form.get("media_type") or "IMAGE"
        self.media.append(
            {
                "id": media_id,
                "caption": container.form.get("caption", ""),
                "timestamp": _iso(now),
                "permalink": f"https://www.instagram.com/p/{shortcode}/",
                "media_type": "CAROUSEL_ALBUM" if kind == "CAROUSEL" else kind,
                "_at": now,
                "_container": container.id,
            }
        )
        return Reply(200, {"id": media_id})

    def _list(self, request: RecordedRequest) -> Reply:
        limit = int(request.param("limit") or "25")
        after = int(request.param("after") or "0")
        newest = [
            {k: v for k, v in m.items() if not k.startswith("_")} for m in reversed(self.media)
        ]
        page = newest[after : after + limit]
        body: dict[str, Any] = {"data": page}
        if after + limit < len(newest):
            body["paging"] = {
                "cursors": {"before": str(after), "after": str(after + limit)},
                "next": f"{self.url}/{USER_ID}/media?after={after + limit}",
            }
        return Reply(200, body)
