"""A fake self-hosted WordPress site: the core REST API under /wp-json, as documented.

Sources:
- Routes, arguments and objects: https://developer.wordpress.org/rest-api/reference/posts/
  (create, list with ``slug``, ``status``, ``context``), .../reference/media/ (create
  from a raw body with ``Content-Disposition``, update ``alt_text``),
  .../reference/tags/ (list with ``search``, create), .../reference/users/#retrieve-a-user
  (``/wp/v2/users/me``), and the index ``/wp-json``.
- Authentication: application passwords over HTTP Basic,
  https://make.wordpress.org/core/2020/11/05/application-passwords-integration-guide/
  (spaces in the password are ignored; a wrong one is 401 ``incorrect_password``, an
  unknown user 401 ``invalid_username``, whatever the route).
- Error bodies ``{"code", "message", "data": {"status"}}``:
  https://developer.wordpress.org/rest-api/using-the-rest-api/global-parameters/ and the
  messages of WP_REST_Posts_Controller / WP_REST_Terms_Controller /
  WP_REST_Attachments_Controller (rest_cannot_create, rest_cannot_publish,
  rest_forbidden_context, rest_forbidden_status, term_exists with ``term_id``,
  rest_upload_no_data, rest_upload_no_content_disposition, rest_no_route).
- Slugs: a clashing slug is not refused, wp_unique_post_slug() appends -2, -3…
  https://developer.wordpress.org/reference/functions/wp_unique_post_slug/
- Scheduled posts: ``status: future`` with ``date_gmt`` is held until WP-Cron publishes
  it (https://developer.wordpress.org/plugins/cron/: WP-Cron runs on page loads, so the
  fake runs it on every request, unless ``cron_broken``: a "missed schedule"); a
  ``future`` post whose date has passed is published at once (wp_insert_post). A future
  post's ``link`` is ``?p=<id>`` until it is published. Retrieve / update / delete one
  post: .../reference/posts/#retrieve-a-post, #update-a-post, #delete-a-post (without
  ``force`` it goes to the trash, its slug suffixed ``__trashed``; again: 410
  ``rest_already_trashed``; an unknown id: 404 ``rest_post_invalid_id``).

Users: ``editor`` (role editor) and ``author`` (role author: publishes and uploads, may
not create tags), both with the application password ``APP_PASSWORD``.
"""

from __future__ import annotations

import base64
import html
import re
from typing import Any, ClassVar

from tests.fakes.base import FakeServer, RecordedRequest, Reply

APP_PASSWORD = "abcd EFGH 1234 ijkl MNOP 5678"

# what each role may do (a subset of WordPress's capabilities)
CAPS = {
    "administrator": {"publish_posts", "upload_files", "manage_categories", "edit_posts"},
    "editor": {"publish_posts", "upload_files", "manage_categories", "edit_posts"},
    "author": {"publish_posts", "upload_files", "edit_posts"},
    "contributor": {"edit_posts"},
    "subscriber": set(),
}


def _error(status: int, code: str, message: str, **data: Any) -> Reply:
    return Reply(status, {"code": code, "message": message, "data": {"status": status, **data}})


class FakeWordPress(FakeServer):
    name: ClassVar[str] = "fake-wordpress"

    def __init__(self, *, site: str = "https://blog.example.com", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.site = site
        self.site_name = "Brand Blog"
        self.users: dict[str, tuple[str, str]] = {
            "editor": (APP_PASSWORD, "editor"),
            "author": (APP_PASSWORD, "author"),
        }
        self.posts: list[dict[str, Any]] = []
        self.media: list[dict[str, Any]] = []
        self.tags: list[dict[str, Any]] = [{"id": 1, "name": "news", "slug": "news", "count": 0}]
        self.max_upload = 2 * 1024 * 1024
        self._next_id = 100
        self.cron_broken = False  # WP-Cron never runs: future posts miss their schedule

    @property
    def api_url(self) -> str:
        return f"{self.url}/wp-json"

    def published(self) -> list[dict[str, Any]]:
        return [p for p in self.posts if p["status"] == "publish"]

    def scheduled(self) -> list[dict[str, Any]]:
        return [p for p in self.posts if p["status"] == "future"]

    def run_cron(self) -> None:
        """WP-Cron: publish the future posts whose time has come."""
        if self.cron_broken:
            return
        now = self.now().strftime("%Y-%m-%dT%H:%M:%S")
        for post in self.posts:
            if post["status"] == "future" and post["date_gmt"] <= now:
                post["status"] = "publish"
                post["link"] = f"{self.site}/{post['slug']}/"

    # ------------------------------------------------------------------ plumbing
    def _id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _user(self, request: RecordedRequest) -> tuple[str, str] | Reply | None:
        """(username, role), None when anonymous, or the 401 a bad password gets."""
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("basic "):
            return None
        try:
            user, _, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
        except ValueError:
            return _error(401, "invalid_username", "Unknown username.")
        known = self.users.get(user)
        if known is None:
            return _error(
                401,
                "invalid_username",
                "Unknown username. Check again or try your email address.",
            )
        if password.replace(" ", "") != known[0].replace(" ", ""):
            return _error(
                401,
                "incorrect_password",
                "The provided password is an invalid application password.",
            )
        return user, known[1]

    def route(self, request: RecordedRequest) -> Reply:
        who = self._user(request)
        if isinstance(who, Reply):
            return who
        path = request.path.removeprefix("/wp-json").rstrip("/") or "/"
        method = request.method
        self.run_cron()  # WP-Cron runs on page loads
        if path == "/" and method == "GET":
            return Reply(
                200,
                {
                    "name": self.site_name,
                    "description": "A fake",
                    "url": self.site,
                    "home": self.site,
                    "namespaces": ["oembed/1.0", "wp/v2"],
                    "authentication": {"application-passwords": {}},
                },
            )
        if path == "/wp/v2/users/me" and method == "GET":
            if who is None:
                return _error(401, "rest_not_logged_in", "You are not currently logged in.")
            return Reply(
                200, {"id": 1, "name": who[0].title(), "username": who[0], "roles": [who[1]]}
            )
        if path == "/wp/v2/posts" and method == "GET":
            return self._list_posts(request, who)
        if path == "/wp/v2/posts" and method == "POST":
            return self._create_post(request, who)
        match = re.fullmatch(r"/wp/v2/posts/(\d+)", path)
        if match:
            return self._one_post(int(match.group(1)), request, who)
        if path == "/wp/v2/media" and method == "POST":
            return self._upload(request, who)
        match = re.fullmatch(r"/wp/v2/media/(\d+)", path)
        if match and method in ("POST", "PUT", "PATCH"):
            return self._update_media(int(match.group(1)), request, who)
        if path == "/wp/v2/tags" and method == "GET":
            search = (request.param("search") or "").lower()
            return Reply(200, [t for t in self.tags if search in t["name"].lower()])
        if path == "/wp/v2/tags" and method == "POST":
            return self._create_tag(request, who)
        return _error(
            404, "rest_no_route", "No route was found matching the URL and request method."
        )

    @staticmethod
    def _can(who: tuple[str, str] | None, cap: str) -> bool:
        return who is not None and cap in CAPS.get(who[1], set())

    # ------------------------------------------------------------------ posts
    def _list_posts(self, request: RecordedRequest, who: tuple[str, str] | None) -> Reply:
        status = request.param("status") or "publish"
        context = request.param("context") or "view"
        if context == "edit" and not self._can(who, "edit_posts"):
            return _error(
                401,
                "rest_forbidden_context",
                "Sorry, you are not allowed to edit posts in this post type.",
            )
        if status != "publish" and not self._can(who, "edit_posts"):
            return _error(401, "rest_forbidden_status", "Status is forbidden.")
        slugs = set(request.query.get("slug", []))
        found = [
            p
            for p in self.posts
            if (not slugs or p["slug"] in slugs)
            and ((status == "any" and p["status"] != "trash") or p["status"] == status)
        ]
        return Reply(200, found)

    def _create_post(self, request: RecordedRequest, who: tuple[str, str] | None) -> Reply:
        if not self._can(who, "edit_posts"):
            return _error(
                401 if who is None else 403,
                "rest_cannot_create",
                "Sorry, you are not allowed to create posts as this user.",
            )
        body = request.json
        if not isinstance(body, dict):
            return _error(400, "rest_invalid_json", "Invalid JSON body passed.")
        status = body.get("status", "draft")
        if status not in ("publish", "future", "draft", "pending", "private"):
            return _error(
                400,
                "rest_invalid_param",
                "Invalid parameter(s): status",
                params={"status": "status is not one of publish, future, draft, pending, private."},
            )
        if status == "publish" and not self._can(who, "publish_posts"):
            return _error(
                403,
                "rest_cannot_publish",
                "Sorry, you are not allowed to publish posts as this user.",
            )
        featured = body.get("featured_media", 0)
        if featured and not any(m["id"] == featured for m in self.media):
            return _error(400, "rest_invalid_featured_media", "Invalid featured media ID.")
        for tag in body.get("tags", []):
            if not any(t["id"] == tag for t in self.tags):
                return _error(400, "rest_invalid_param", "Invalid parameter(s): tags")
        title = str(body.get("title") or "")
        slug = self._unique_slug(str(body.get("slug") or _slugify(title) or "post"))
        post_id = self._id()
        now = self.now().strftime("%Y-%m-%dT%H:%M:%S")
        date_gmt = str(body.get("date_gmt") or now)
        if status == "future" and date_gmt <= now:
            status = "publish"  # wp_insert_post: a future date that has passed
        post = {
            "id": post_id,
            "date_gmt": date_gmt,
            "slug": slug,
            "status": status,
            "link": f"{self.site}/{slug}/" if status == "publish" else f"{self.site}/?p={post_id}",
            "title": {"raw": title, "rendered": html.escape(title)},
            "content": {"raw": body.get("content", ""), "rendered": body.get("content", "")},
            "author": 1,
            "featured_media": featured,
            "tags": list(body.get("tags", [])),
        }
        self.posts.append(post)
        return Reply(201, post, {"Location": f"{self.url}/wp-json/wp/v2/posts/{post_id}"})

    def _one_post(
        self, post_id: int, request: RecordedRequest, who: tuple[str, str] | None
    ) -> Reply:
        post = next((p for p in self.posts if p["id"] == post_id), None)
        if post is None:
            return _error(404, "rest_post_invalid_id", "Invalid post ID.")
        if request.method == "GET":
            if post["status"] != "publish" and not self._can(who, "edit_posts"):
                return _error(401, "rest_forbidden", "Sorry, you are not allowed to do that.")
            return Reply(200, post)
        if not self._can(who, "edit_posts"):
            return _error(
                401 if who is None else 403,
                "rest_cannot_edit",
                "Sorry, you are not allowed to edit this post.",
            )
        if request.method == "DELETE":
            if post["status"] == "trash":
                return _error(410, "rest_already_trashed", "The post has already been deleted.")
            post["status"] = "trash"
            post["slug"] = f"{post['slug']}__trashed"
            return Reply(200, post)
        if request.method not in ("POST", "PUT", "PATCH"):
            return _error(
                404, "rest_no_route", "No route was found matching the URL and request method."
            )
        body = request.json if isinstance(request.json, dict) else {}
        if "title" in body:
            title = str(body["title"] or "")
            post["title"] = {"raw": title, "rendered": html.escape(title)}
        if "content" in body:
            post["content"] = {"raw": body["content"], "rendered": body["content"]}
        if "tags" in body:
            post["tags"] = list(body["tags"])
        if "featured_media" in body:
            post["featured_media"] = body["featured_media"]
        if "date_gmt" in body:
            post["date_gmt"] = str(body["date_gmt"])
        if "status" in body:
            post["status"] = str(body["status"])
        if post["status"] == "future" and post["date_gmt"] <= self.now().strftime(
            "%Y-%m-%dT%H:%M:%S"
        ):
            post["status"] = "publish"
        post["link"] = (
            f"{self.site}/{post['slug']}/"
            if post["status"] == "publish"
            else f"{self.site}/?p={post['id']}"
        )
        return Reply(200, post)

    def _unique_slug(self, slug: str) -> str:
        taken = {p["slug"] for p in self.posts}
        if slug not in taken:
            return slug
        n = 2
        while f"{slug}-{n}" in taken:
            n += 1
        return f"{slug}-{n}"

    # ------------------------------------------------------------------ media
    def _upload(self, request: RecordedRequest, who: tuple[str, str] | None) -> Reply:
        if not self._can(who, "upload_files"):
            return _error(
                401 if who is None else 403,
                "rest_cannot_create",
                "Sorry, you are not allowed to upload media as this user.",
            )
        if not request.body:
            return _error(400, "rest_upload_no_data", "No data supplied.")
        disposition = request.headers.get("content-disposition", "")
        match = re.search(r'filename="?([^";]+)"?', disposition)
        if not match:
            return _error(
                400, "rest_upload_no_content_disposition", "No Content-Disposition supplied."
            )
        if len(request.body) > self.max_upload:
            return Reply(413, "<html><body><h1>413 Request Entity Too Large</h1></body></html>")
        name = match.group(1)
        media_id = self._id()
        item = {
            "id": media_id,
            "source_url": f"{self.site}/wp-content/uploads/{name}",
            "mime_type": request.content_type,
            "media_type": "image" if request.content_type.startswith("image/") else "file",
            "alt_text": "",
            "data": request.body,
        }
        self.media.append(item)
        return Reply(201, {k: v for k, v in item.items() if k != "data"})

    def _update_media(
        self, media_id: int, request: RecordedRequest, who: tuple[str, str] | None
    ) -> Reply:
        item = next((m for m in self.media if m["id"] == media_id), None)
        if item is None:
            return _error(404, "rest_post_invalid_id", "Invalid post ID.")
        if not self._can(who, "upload_files"):
            return _error(
                401 if who is None else 403,
                "rest_cannot_edit",
                "Sorry, you are not allowed to edit this post.",
            )
        body = request.json if isinstance(request.json, dict) else {}
        if "alt_text" in body:
            item["alt_text"] = str(body["alt_text"])
        return Reply(200, {k: v for k, v in item.items() if k != "data"})

    # ------------------------------------------------------------------ tags
    def _create_tag(self, request: RecordedRequest, who: tuple[str, str] | None) -> Reply:
        if not self._can(who, "manage_categories"):
            return _error(
                401 if who is None else 403,
                "rest_cannot_create",
                "Sorry, you are not allowed to create terms in this taxonomy.",
            )
        body = request.json if isinstance(request.json, dict) else {}
        name = str(body.get("name") or "").strip()
        if not name:
            return _error(
                400, "rest_missing_callback_param", "Missing parameter(s): name", params=["name"]
            )
        existing = next((t for t in self.tags if t["name"].lower() == name.lower()), None)
        if existing is not None:
            return _error(
                400,
                "term_exists",
                "A term with the name provided already exists in this taxonomy.",
                term_id=existing["id"],
            )
        tag = {"id": self._id(), "name": html.escape(name), "slug": _slugify(name), "count": 0}
        self.tags.append(tag)
        return Reply(201, tag)


def _slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
