"""A fake DEV (dev.to, Forem API v1): the calls cmctl makes, with Forem's own answers.

Sources (read 2026-12): the API reference https://developers.forem.com/api/v1 (as
transcribed by https://docs.rs/crate/forem_openapi_client/latest/source/docs/ArticleArticle.md
and ArticleIndex.md), and forem/forem: app/controllers/api/v1/api_controller.rb,
app/controllers/concerns/api/articles_controller.rb, app/models/article.rb.

- Auth: the ``api-key`` header; a missing or unknown key gives
  ``401 {"error": "unauthorized", "status": 401}`` (``error_unauthorized``).
  ``Accept: application/vnd.forem.api-v1+json`` selects v1; without it Forem serves the
  deprecated v0 API and says so in a ``Warning: 299`` header (the fake does the same,
  and records ``v0_requests``).
- ``POST /api/articles`` with ``{"article": {title, body_markdown, published, tags,
  main_image, canonical_url, description, series}}``: 201 with the article (``show``)
  and a ``Location`` header. An ``article`` that is not an object: 422 "article param
  must be a JSON object...". Validation errors: ``422 {"error": <full messages as a
  sentence>, "status": 422}`` (``errors_as_sentence``), among them:
  "Title can't be blank", "Title is too long (maximum is 128 characters)",
  "Tag list exceed the maximum of 4 tags", 'Tag "x" contains non-alphanumeric or
  prohibited unicode characters', "Body markdown has already been taken" (same user,
  same title and body), "Canonical url has already been taken" (any published
  article), "Main image is not a valid URL".
- ``GET /api/articles/me/all?page=&per_page=`` (per_page default 30, at most 1000):
  the user's articles, published or not, newest first (``published_at`` desc, drafts
  first, then ``created_at`` desc), a bare JSON array with ``body_markdown``,
  ``canonical_url``, ``published``, ``published_at``, ``tag_list``, ``url``.
- ``GET /api/users/me``: the user (``type_of``, ``id``, ``username``, ``name``...).
- Rate limit: creating articles, 10 per 30 s per user (v0 docs "Rate limits"); over
  it ``429 {"error": "Rate limit reached, try again in N seconds", "status": 429}``
  with ``Retry-After`` (Forem's RateLimitChecker).

Assumed, not found in what was read: the exact 422 text for a non-object ``article``
and for a bad ``main_image`` URL; the recent Forem's i18n text for a taken canonical
URL (Rails' default "has already been taken" is used).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, ClassVar

from tests.fakes.base import FakeServer, RecordedRequest, Reply

__all__ = ["API_KEY", "FakeDevTo"]

API_KEY = "devto-key-0123456789abcdef"
ACCEPT_V1 = "application/vnd.forem.api-v1+json"
CREATE_LIMIT = 10
CREATE_WINDOW = timedelta(seconds=30)
UNAUTHORIZED = {"error": "unauthorized", "status": 401}
NOT_FOUND = {"error": "not found", "status": 404}


def _sentence(messages: list[str]) -> str:
    """Rails' Array#to_sentence."""
    if len(messages) <= 2:
        return " and ".join(messages)
    return ", ".join(messages[:-1]) + ", and " + messages[-1]


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class FakeDevTo(FakeServer):
    name: ClassVar[str] = "devto"

    def __init__(self, api_key: str = API_KEY, username: str = "brand") -> None:
        super().__init__()
        self.api_key = api_key
        self.username = username
        self.user_id = 1
        self.articles: list[dict[str, Any]] = []  # every user's, oldest first
        self.v0_requests = 0
        # listings that do not show the newest article yet (a lagging read replica)
        self.lagging_reads = 0
        self._creates: list[datetime] = []

    # -- helpers for tests ---------------------------------------------------------

    def mine(self) -> list[dict[str, Any]]:
        """The account's articles, oldest first."""
        return [a for a in self.articles if a["user_id"] == self.user_id]

    def add_article(self, *, user_id: int | None = None, **fields: Any) -> dict[str, Any]:
        """An article that is already online (another user's with ``user_id``)."""
        return self._store(user_id or self.user_id, fields, self.now())

    def fault_headers(self, status: int) -> dict[str, str]:
        return {"Retry-After": "30"} if status == 429 else {}

    # -- routes --------------------------------------------------------------------

    def route(self, request: RecordedRequest) -> Reply:
        path = request.path.rstrip("/")
        if not path.startswith("/api/"):
            return Reply(404, NOT_FOUND)
        if request.headers.get("accept", "") != ACCEPT_V1:
            self.v0_requests += 1
        if request.headers.get("api-key") != self.api_key:
            return Reply(401, UNAUTHORIZED, {"Cache-Control": "no-store"})
        if path == "/api/articles" and request.method == "POST":
            return self._create(request)
        if path == "/api/articles/me/all" and request.method == "GET":
            return self._me(request)
        if path == "/api/users/me" and request.method == "GET":
            user = {
                "type_of": "user",
                "id": self.user_id,
                "username": self.username,
                "name": "Brand",
                "summary": None,
                "joined_at": "Jan 1, 2020",
                "profile_image": "https://dev.to/uploads/brand.png",
            }
            return Reply(200, user)
        return Reply(404, NOT_FOUND)

    def decorate(self, request: RecordedRequest, reply: Reply) -> None:
        if request.headers.get("accept", "") != ACCEPT_V1:
            reply.headers.setdefault(
                "Warning", '299 - "This endpoint is part of the V0 (beta) API. Use V1."'
            )

    def _create(self, request: RecordedRequest) -> Reply:
        body = request.json if isinstance(request.json, dict) else {}
        fields = body.get("article")
        if not isinstance(fields, dict):
            kind = "NilClass" if fields is None else type(fields).__name__.capitalize()
            message = f"article param must be a JSON object. You provided article as a {kind}"
            return Reply(422, {"error": message, "status": 422})
        now = self.now()
        self._creates = [t for t in self._creates if now - t < CREATE_WINDOW]
        if len(self._creates) >= CREATE_LIMIT:
            wait = int((self._creates[0] + CREATE_WINDOW - now).total_seconds()) + 1
            message = f"Rate limit reached, try again in {wait} seconds"
            return Reply(429, {"error": message, "status": 429}, {"Retry-After": str(wait)})
        self._creates.append(now)
        errors = self._validate(fields)
        if errors:
            return Reply(422, {"error": _sentence(errors), "status": 422})
        article = self._store(self.user_id, fields, now)
        return Reply(201, self._show(article), {"Location": article["url"]})

    def _validate(self, fields: dict[str, Any]) -> list[str]:
        errors = []
        title = fields.get("title")
        body = fields.get("body_markdown") or ""
        tags = fields.get("tags") or []
        if isinstance(tags, str):
            tags = [t.strip() for t in tags.split(",") if t.strip()]
        if not isinstance(title, str) or not title.strip():
            errors.append("Title can't be blank")
        elif len(title) > 128:
            errors.append("Title is too long (maximum is 128 characters)")
        if any(
            a["user_id"] == self.user_id and a["title"] == title and a["body_markdown"] == body
            for a in self.articles
        ):
            errors.append("Body markdown has already been taken")
        canonical = fields.get("canonical_url")
        if canonical and any(a["canonical_url"] == canonical for a in self.articles):
            errors.append("Canonical url has already been taken")
        image = fields.get("main_image")
        if image and not str(image).startswith(("http://", "https://")):
            errors.append("Main image is not a valid URL")
        if len(tags) > 4:
            errors.append("Tag list exceed the maximum of 4 tags")
        else:
            for tag in tags:
                if not str(tag).isalnum():
                    errors.append(
                        f'Tag "{tag}" contains non-alphanumeric or prohibited unicode characters'
                    )
                elif len(str(tag)) > 30:
                    errors.append(f'Tag "{tag}" is too long (maximum is 30 characters)')
        return errors

    def _store(self, user_id: int, fields: dict[str, Any], now: datetime) -> dict[str, Any]:
        article_id = 1000 + len(self.articles) + 1
        title = str(fields.get("title") or "")
        slug = "".join(c if c.isalnum() else "-" for c in title.lower()).strip("-")
        slug = f"{slug}-{article_id:x}"
        username = self.username if user_id == self.user_id else f"user{user_id}"
        path = f"/{username}/{slug}"
        url = f"https://dev.to{path}"
        published = fields.get("published") is True
        tags = fields.get("tags") or []
        if isinstance(tags, str):
            tags = [t.strip() for t in tags.split(",") if t.strip()]
        article = {
            "id": article_id,
            "user_id": user_id,
            "title": title,
            "body_markdown": str(fields.get("body_markdown") or ""),
            "published": published,
            "published_at": fields.get("published_at") or (_iso(now) if published else None),
            "created_at": _iso(now),
            "tag_list": [str(t).lower() for t in tags],
            # DEV makes an article its own canonical URL when none is given
            "canonical_url": fields.get("canonical_url") or url,
            "main_image": fields.get("main_image"),
            "slug": slug,
            "path": path,
            "url": url,
        }
        self.articles.append(article)
        return article

    def _show(self, a: dict[str, Any]) -> dict[str, Any]:
        return {
            "type_of": "article",
            "id": a["id"],
            "title": a["title"],
            "description": a["body_markdown"][:100],
            "cover_image": a["main_image"],
            "published_at": a["published_at"],
            "tag_list": ", ".join(a["tag_list"]),
            "tags": list(a["tag_list"]),
            "slug": a["slug"],
            "path": a["path"],
            "url": a["url"],
            "canonical_url": a["canonical_url"],
            "created_at": a["created_at"],
            "body_markdown": a["body_markdown"],
            "user": {"username": self.username, "name": "Brand"},
        }

    def _me(self, request: RecordedRequest) -> Reply:
        try:
            per_page = min(max(int(request.param("per_page") or 30), 1), 1000)
            page = max(int(request.param("page") or 1), 1)
        except ValueError:
            per_page, page = 30, 1
        mine = self.mine()
        if self.lagging_reads > 0:
            self.lagging_reads -= 1
            mine = mine[:-1]
        drafts = [a for a in mine if not a["published_at"]]
        dated = [a for a in mine if a["published_at"]]
        drafts.sort(key=lambda a: (a["created_at"], a["id"]), reverse=True)
        dated.sort(key=lambda a: (a["published_at"], a["created_at"], a["id"]), reverse=True)
        ordered = drafts + dated
        chunk = ordered[(page - 1) * per_page : page * per_page]
        listed = [
            {
                "type_of": "article",
                "id": a["id"],
                "title": a["title"],
                "description": a["body_markdown"][:100],
                "cover_image": a["main_image"],
                "published": a["published"],
                "published_at": a["published_at"],
                "tag_list": list(a["tag_list"]),
                "slug": a["slug"],
                "path": a["path"],
                "url": a["url"],
                "canonical_url": a["canonical_url"],
                "body_markdown": a["body_markdown"],
                "user": {"username": self.username, "name": "Brand"},
            }
            for a in chunk
        ]
        return Reply(200, listed)
