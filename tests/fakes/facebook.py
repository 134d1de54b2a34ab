"""A fake Graph API for one Facebook Page: the calls cmctl makes, with Graph's answers.

Sources (read 2026-12):

- Versioned paths ``/vNN.N/...`` on graph.facebook.com; the access token as the
  ``access_token`` parameter (query or form) or an ``Authorization: Bearer|OAuth``
  header. https://developers.facebook.com/docs/graph-api/overview
- Errors, https://developers.facebook.com/docs/graph-api/guides/error-handling: the body
  ``{"error": {"message", "type", "code", "error_subcode", "error_user_title",
  "error_user_msg", "fbtrace_id"}}``; codes 190 (token expired or invalid; subcode 463
  expired, 460 password changed), 4 / 17 / 32 / 613 throttling, 368 "Temporarily
  blocked for policy violations", 506 "Duplicate Post" ("Duplicate posts cannot be
  published consecutively"), 100 invalid parameter (subcode 33: the object does not
  exist). Graph answers these with HTTP 400 (403 for some permission errors); the code
  in the body is what matters.
- Usage headers, https://developers.facebook.com/docs/graph-api/overview/rate-limiting:
  ``X-App-Usage`` ``{"call_count", "total_cputime", "total_time"}`` (percentages) on
  every answer, and for Page-token calls ``X-Business-Use-Case-Usage``
  ``{"<page id>": [{"type": "pages", "call_count", "total_cputime", "total_time",
  "estimated_time_to_regain_access"}]}`` (minutes). Tests set ``app_usage`` /
  ``page_usage`` to play a Page near its limit.
- ``GET /{page-id}?fields=id,name``, ``GET /me`` (a Page token answers as the Page, a
  user token as the user): https://developers.facebook.com/docs/pages-api/getting-started
- ``POST /{page-id}/photos`` (multipart ``source`` or ``url``; ``published``;
  ``alt_text_custom``; ``caption``) -> ``{"id"}`` unpublished, ``{"id", "post_id"}``
  published; no file -> ``(#324) Requires upload file``.
  https://developers.facebook.com/docs/graph-api/reference/page/photos/ and
  https://developers.facebook.com/docs/graph-api/reference/photo/ ("Creating")
- ``POST /{page-id}/feed`` (``message``, ``link``, ``attached_media[n]={"media_fbid"}``,
  ``published``) -> ``{"id": "PAGEID_POSTID"}``;
  ``GET /{page-id}/published_posts`` (``fields``, ``since`` unix time, ``limit``,
  ``after``) newest first, with ``paging.cursors`` and a ``next`` URL that carries the
  access token, as Graph's do. https://developers.facebook.com/docs/pages-api/posts and
  https://developers.facebook.com/docs/graph-api/reference/page/published_posts/
- ``POST /{object-id}/comments`` (``message``, ``attachment_id``) -> ``{"id"}``;
  ``GET /{object-id}/comments`` (``order`` chronological | reverse_chronological,
  ``filter``), comments with ``from``.
  https://developers.facebook.com/docs/graph-api/reference/object/comments/
- ``GET /{post-or-comment-id}?fields=permalink_url``.
  https://developers.facebook.com/docs/graph-api/reference/pagepost
- Scheduled posts: ``POST /{page-id}/feed`` with ``published=false`` and
  ``scheduled_publish_time`` (unix time, 10 minutes to 30 days ahead, else ``(#100)``),
  held until that time (``GET /{page-id}/scheduled_posts``,
  https://developers.facebook.com/docs/graph-api/reference/page/scheduled_posts/), then
  published by Facebook (``is_published``); updated with ``POST /{post-id}``
  (``message``, ``scheduled_publish_time``) and deleted with ``DELETE /{post-id}``, both
  answering ``{"success": true}``. https://developers.facebook.com/docs/pages-api/posts

Assumed, not found in the docs read: the exact wording of 506 ("(#506) Duplicate status
message", as publishers quote it), of an unknown or reused ``media_fbid`` and of a
too long message (both code 100 here), and that 506 compares the text and link with
the Page's latest post only.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import urlencode

from tests.fakes.base import FakeServer, RecordedRequest, Reply, parse_form

__all__ = ["PAGE_ID", "PAGE_TOKEN", "USER_TOKEN", "FakeFacebook", "graph_error"]

PAGE_ID = "1122334455"
PAGE_NAME = "Acme Notes"
PAGE_TOKEN = "EAAPageToken-abc123"
USER_ID = "99887766"
USER_TOKEN = "EAAUserToken-xyz789"
MAX_MESSAGE = 63_206
TRACE = "AzXyTrace01"


def graph_error(
    code: int, message: str, subcode: int | None = None, kind: str = "OAuthException"
) -> dict[str, Any]:
    """Graph's error body."""
    error: dict[str, Any] = {"message": message, "type": kind, "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    error["fbtrace_id"] = TRACE
    return {"error": error}


def _time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S+0000")


class FakeFacebook(FakeServer):
    name: ClassVar[str] = "facebook"

    def __init__(self, *, latency: float = 0.0) -> None:
        super().__init__(latency=latency)
        self.page_id = PAGE_ID
        self.tokens: dict[str, tuple[str, str]] = {
            PAGE_TOKEN: ("page", PAGE_ID),
            USER_TOKEN: ("user", USER_ID),
        }
        self.expired: set[str] = set()
        self.posts: list[dict[str, Any]] = []  # published posts, oldest first
        self.photos: dict[str, dict[str, Any]] = {}
        self.comments: dict[str, list[dict[str, Any]]] = {}
        self.app_usage: dict[str, Any] = {"call_count": 1, "total_cputime": 1, "total_time": 1}
        self.page_usage: dict[str, Any] = {
            "type": "pages",
            "call_count": 1,
            "total_cputime": 1,
            "total_time": 1,
            "estimated_time_to_regain_access": 0,
        }
        self.lagging_reads = 0  # reads of published_posts that miss the newest post
        self._serial = 100
        self.publishes_scheduled = True  # False: held posts are never published

    def scheduled(self) -> list[dict[str, Any]]:
        return [p for p in self.posts if not p["is_published"]]

    def _run_schedule(self) -> None:
        if not self.publishes_scheduled:
            return
        now = self.now().timestamp()
        for post in self.posts:
            if not post["is_published"] and post["scheduled"] <= now:
                post["is_published"] = True

    # -- helpers for tests -------------------------------------------------------------
    def add_post(self, message: str, created: datetime) -> dict[str, Any]:
        """A post published earlier (by hand, or by another tool)."""
        post = self._new_post(message, None, [], created)
        self.posts.sort(key=lambda p: p["created"])
        return post

    def expire(self, token: str = PAGE_TOKEN) -> None:
        self.expired.add(token)

    def messages(self) -> list[str]:
        return [p["message"] for p in self.posts]

    # -- plumbing ----------------------------------------------------------------------
    def _id(self) -> str:
        self._serial += 1
        return str(self._serial)

    def _new_post(
        self, message: str, link: str | None, photos: list[str], created: datetime
    ) -> dict[str, Any]:
        post_id = f"{self.page_id}_{self._id()}"
        post = {
            "id": post_id,
            "message": message,
            "link": link,
            "photos": photos,
            "created": created,
            "is_published": True,
            "scheduled": None,
            "permalink_url": f"https://www.facebook.com/{self.page_id}/posts/"
            f"{post_id.split('_')[1]}",
        }
        self.posts.append(post)
        self.comments[post_id] = []
        return post

    def decorate(self, request: RecordedRequest, reply: Reply) -> None:
        reply.headers.setdefault("X-App-Usage", json.dumps(self.app_usage))
        if self._token(request) == PAGE_TOKEN:
            reply.headers.setdefault(
                "X-Business-Use-Case-Usage", json.dumps({self.page_id: [self.page_usage]})
            )
        reply.headers.setdefault("facebook-api-version", "v23.0")

    def _token(self, request: RecordedRequest) -> str | None:
        auth = request.headers.get("authorization", "")
        scheme, _, value = auth.partition(" ")
        if scheme.lower() in ("bearer", "oauth") and value.strip():
            return value.strip()
        if request.param("access_token"):
            return request.param("access_token")
        form = parse_form(request)
        if form.get("access_token"):
            return form["access_token"][0].text
        return None

    def _params(self, request: RecordedRequest) -> dict[str, str]:
        params = {k: v[0] for k, v in request.query.items() if v}
        for name, parts in parse_form(request).items():
            if parts and parts[0].filename is None:
                params[name] = parts[0].text
        return params

    # -- routing -----------------------------------------------------------------------
    def route(self, request: RecordedRequest) -> Reply:
        parts = [p for p in request.path.split("/") if p]
        if not parts or not parts[0].startswith("v"):
            return Reply(
                400, graph_error(2500, "Unknown path components", kind="GraphMethodException")
            )
        parts = parts[1:]
        token = self._token(request)
        if token is None:
            return Reply(
                400,
                graph_error(
                    2500,
                    "An active access token must be used to query information about "
                    "the current user.",
                ),
            )
        if token in self.expired:
            return Reply(
                400,
                graph_error(
                    190,
                    "Error validating access token: The session has been invalidated because "
                    "the user changed their password or Facebook has changed the session for "
                    "security reasons.",
                    460,
                ),
            )
        if token not in self.tokens:
            return Reply(
                400, graph_error(190, "Invalid OAuth access token - Cannot parse access token")
            )
        kind, who = self.tokens[token]
        params = self._params(request)
        self._run_schedule()
        if len(parts) == 1 and request.method in ("POST", "DELETE") and parts[0] != "me":
            return self._edit(parts[0], request.method, params)
        if request.method == "GET" and parts == ["me"]:
            if kind == "page":
                return Reply(200, {"id": self.page_id, "name": PAGE_NAME})
            return Reply(200, {"id": USER_ID, "name": "Alex Admin"})
        if len(parts) == 1 and request.method == "GET":
            return self._node(parts[0])
        if len(parts) == 2:
            node, edge = parts
            if node == self.page_id and edge in ("feed", "photos") and request.method == "POST":
                if kind != "page":
                    return Reply(
                        403,
                        graph_error(
                            200,
                            "(#200) If posting to a page, requires both pages_read_engagement "
                            "and pages_manage_posts as an admin with sufficient administrative "
                            "permission",
                        ),
                    )
                if edge == "photos":
                    return self._upload(request, params)
                return self._feed(params)
            if node == self.page_id and edge == "published_posts" and request.method == "GET":
                return self._published(params, token)
            if node == self.page_id and edge == "scheduled_posts" and request.method == "GET":
                return self._published(params, token, held=True)
            if edge == "comments":
                if request.method == "POST":
                    return self._comment(node, params, who if kind == "page" else USER_ID)
                if request.method == "GET":
                    return self._comments(node, params, token)
        return Reply(
            400,
            graph_error(
                100,
                f"Unsupported {request.method.lower()} request. Please read the Graph API "
                "documentation at https://developers.facebook.com/docs/graph-api",
                33,
                "GraphMethodException",
            ),
        )

    def _missing(self, object_id: str) -> Reply:
        return Reply(
            400,
            graph_error(
                100,
                f"Unsupported get request. Object with ID '{object_id}' does not exist, cannot "
                "be loaded due to missing permissions, or does not support this operation.",
                33,
                "GraphMethodException",
            ),
        )

    def _node(self, object_id: str) -> Reply:
        if object_id == self.page_id:
            return Reply(200, {"id": self.page_id, "name": PAGE_NAME})
        for post in self.posts:
            if post["id"] == object_id:
                return Reply(
                    200,
                    {
                        "id": object_id,
                        "permalink_url": post["permalink_url"],
                        "is_published": post["is_published"],
                    },
                )
            for comment in self.comments.get(post["id"], []):
                if comment["id"] == object_id:
                    return Reply(200, {"id": object_id, "permalink_url": comment["permalink_url"]})
        return self._missing(object_id)

    def _upload(self, request: RecordedRequest, params: dict[str, str]) -> Reply:
        files = [p for p in parse_form(request).get("source", []) if p.filename is not None]
        if not files and not params.get("url"):
            return Reply(400, graph_error(324, "(#324) Requires upload file"))
        photo_id = self._id()
        published = params.get("published", "true").lower() != "false"
        self.photos[photo_id] = {
            "id": photo_id,
            "alt_text_custom": params.get("alt_text_custom"),
            "published": published,
            "attached_to": None,
            "size": len(files[0].data) if files else 0,
            "content_type": files[0].content_type if files else None,
        }
        if not published:
            return Reply(200, {"id": photo_id})
        post = self._new_post(params.get("caption", ""), None, [photo_id], self.now())
        self.photos[photo_id]["attached_to"] = post["id"]
        return Reply(200, {"id": photo_id, "post_id": post["id"]})

    def _feed(self, params: dict[str, str]) -> Reply:
        message = params.get("message", "")
        link = params.get("link")
        photos: list[str] = []
        n = 0
        while f"attached_media[{n}]" in params:
            try:
                media = json.loads(params[f"attached_media[{n}]"])
                photo_id = str(media["media_fbid"])
            except (ValueError, KeyError, TypeError):
                photo_id = ""
            photo = self.photos.get(photo_id)
            if photo is None or photo["published"] or photo["attached_to"] is not None:
                return Reply(
                    400,
                    graph_error(100, f"(#100) param attached_media[{n}] has invalid media_fbid"),
                )
            photos.append(photo_id)
            n += 1
        if not message and not link and not photos:
            return Reply(
                400,
                graph_error(100, "(#100) Either message, link or attached_media must be specified"),
            )
        if len(message) > MAX_MESSAGE:
            return Reply(400, graph_error(100, "(#100) Message is too long"))
        held = params.get("published", "true").lower() == "false"
        when = params.get("scheduled_publish_time")
        if held and when is not None:
            problem = self._bad_time(when)
            if problem is not None:
                return problem
        if self.posts and not photos:
            last = self.posts[-1]
            if last["message"] == message and last["link"] == link and not last["photos"]:
                return Reply(400, graph_error(506, "(#506) Duplicate status message"))
        post = self._new_post(message, link, photos, self.now())
        if held and when is not None:
            post["is_published"] = False
            post["scheduled"] = int(when)
        for photo_id in photos:
            self.photos[photo_id]["attached_to"] = post["id"]
        return Reply(200, {"id": post["id"]})

    def _page(
        self, items: list[dict[str, Any]], params: dict[str, str], path: str, token: str
    ) -> Reply:
        limit = max(1, min(int(params.get("limit") or 25), 100))
        start = int(params.get("after") or 0)
        chunk = items[start : start + limit]
        fields = (params.get("fields") or "id").split(",")
        data = [{k: item[k] for k in fields if k in item} for item in chunk]
        body: dict[str, Any] = {"data": data}
        if chunk:
            body["paging"] = {"cursors": {"before": str(start), "after": str(start + len(chunk))}}
            if start + len(chunk) < len(items):
                query = {**params, "after": str(start + len(chunk)), "access_token": token}
                body["paging"]["next"] = (
                    f"https://graph.facebook.com/v23.0/{path}?{urlencode(query)}"
                )
        return Reply(200, body)

    def _bad_time(self, when: str) -> Reply | None:
        try:
            at = int(when)
        except ValueError:
            at = 0
        now = self.now().timestamp()
        if not now + 600 <= at <= now + 30 * 86400:
            return Reply(
                400,
                graph_error(
                    100,
                    "(#100) The specified scheduled publish time is invalid.",
                ),
            )
        return None

    def _edit(self, object_id: str, method: str, params: dict[str, str]) -> Reply:
        post = next((p for p in self.posts if p["id"] == object_id), None)
        if post is None:
            return self._missing(object_id)
        if method == "DELETE":
            self.posts.remove(post)
            return Reply(200, {"success": True})
        when = params.get("scheduled_publish_time")
        if when is not None:
            if post["is_published"]:
                return Reply(400, graph_error(100, "(#100) The post is already published."))
            problem = self._bad_time(when)
            if problem is not None:
                return problem
            post["scheduled"] = int(when)
        if "message" in params:
            post["message"] = params["message"]
        return Reply(200, {"success": True})

    def _published(self, params: dict[str, str], token: str, *, held: bool = False) -> Reply:
        since = params.get("since")
        posts = [p for p in reversed(self.posts) if p["is_published"] != held]  # newest first
        if self.lagging_reads > 0 and posts:
            self.lagging_reads -= 1
            posts = posts[1:]
        if since:
            posts = [p for p in posts if p["created"].timestamp() >= int(since)]
        items = [{**p, "created_time": _time(p["created"])} for p in posts]
        edge = "scheduled_posts" if held else "published_posts"
        return self._page(items, params, f"{self.page_id}/{edge}", token)

    def _comment(self, object_id: str, params: dict[str, str], author: str) -> Reply:
        if object_id not in self.comments:
            return self._missing(object_id)
        message = params.get("message", "")
        attachment = params.get("attachment_id")
        if attachment is not None:
            photo = self.photos.get(attachment)
            if photo is None or photo["published"] or photo["attached_to"] is not None:
                return Reply(400, graph_error(100, "(#100) Invalid attachment_id"))
        if not message and attachment is None:
            return Reply(400, graph_error(100, "(#100) Missing message or attachment"))
        comment_id = f"{object_id.split('_')[-1]}_{self._id()}"
        comment = {
            "id": comment_id,
            "message": message,
            "attachment_id": attachment,
            "created": self.now(),
            "from": {"id": author, "name": PAGE_NAME if author == self.page_id else "Alex"},
            "permalink_url": f"https://www.facebook.com/{object_id}?comment_id={comment_id}",
        }
        if attachment is not None:
            self.photos[attachment]["attached_to"] = comment_id
        self.comments[object_id].append(comment)
        return Reply(200, {"id": comment_id})

    def _comments(self, object_id: str, params: dict[str, str], token: str) -> Reply:
        if object_id not in self.comments:
            return self._missing(object_id)
        comments = list(self.comments[object_id])
        if params.get("order") == "reverse_chronological":
            comments.reverse()
        items = [{**c, "created_time": _time(c["created"])} for c in comments]
        return self._page(items, params, f"{object_id}/comments", token)
