# DEV (dev.to): an article on the DEV Community, the Forem instance at https://dev.to,
# created with the Forem API v1: POST https://dev.to/api/articles with the headers
# `api-key` and `Accept: application/vnd.forem.api-v1+json` (without that Accept the
# request falls through to the deprecated v0 API) and a JSON body
# {"article": {"title", "body_markdown", "published", "tags", "main_image",
# "canonical_url"}}. https://developers.forem.com/api/v1#tag/articles/operation/createArticle
#
# Credentials
#   https://dev.to/settings/extensions → "DEV Community API Keys" → give it a
#   description → Generate API Key, and copy it. In cmctl.yaml:
#       network: devto
#       api_key: ${DEVTO_API_KEY}
#   The key does not expire; revoke it on the same page. (`api_url` points the account
#   at another Forem: https://community.example/api.)
#
# What is published
#   One article per post (``article``): `title` is the post's title, `body_markdown`
#   its text with the thread parts appended as paragraphs, `tags` its hashtags
#   (lowercase, without '#'), `canonical_url` its `link`, `published: true`. The API
#   takes no upload: the first image becomes the cover (`main_image`), fetched by DEV
#   from the project's `media_url` (cmctl/media_url.py; `validate` requires it, and the
#   publisher checks the file is served there before sending).
#
# Sources for every limit below
#   - Title: `validates :title, presence: true, length: { maximum: 128 }` (forem/forem
#     app/models/article.rb; the API answers "Title is too long (maximum is 128
#     characters)").
#   - Tags: at most 4 ("Tag list exceed the maximum of 4 tags", Article#validate_tag,
#     MAX_TAG_LIST_SIZE = 4); each must be alphanumeric ('Tag "x" contains
#     non-alphanumeric or prohibited unicode characters', Tag#validate_name) and at
#     most 30 characters; DEV stores tags in lowercase (acts-as-taggable-on's
#     force_lowercase), so cmctl sends them lowercase.
#   - No length limit on `body_markdown` in the API reference (the model caps it at
#     800 KB: `validates :body_markdown, bytesize: { maximum: 800.kilobytes }`).
#   - Media: one cover image by URL (`main_image`: `url: { schemes: %w[https http] }`).
#     Types are those DEV's own image uploader takes (jpeg, png, gif, webp); 25 MB is
#     the editor's upload ceiling, kept here as a safe one (assumed for images DEV
#     fetches by URL, which the docs do not bound).
#   - Threads: an article has no reply chain from its author; a post's thread is
#     appended to the article instead (``article``).
#   - Quota: creating articles is limited to 10 requests per 30 s (the v0 API docs,
#     "Rate limits"); over it DEV answers 429 {"error": "Rate limit reached, try again
#     in N seconds", "status": 429} with Retry-After, which cmctl waits for.
#
# Errors (bodies {"error": "...", "status": N}, Api::V1::ApiController)
#   401 {"error": "unauthorized", "status": 401}: a wrong or revoked key (or a suspended
#   account): Permanent, with the hint to generate a key. 422 {"error": "<the
#   validation errors as a sentence>", "status": 422}: Permanent with DEV's words,
#   except a uniqueness refusal, which is a duplicate (below).
#
# Idempotency (LOOKUP: DEV has no idempotency key)
#   DEV refuses a second article from the same user with the same title and body
#   ("Body markdown has already been taken": `validates :body_markdown, uniqueness:
#   { scope: %i[user_id title] }`), a published canonical URL already used ("Canonical
#   url has already been taken", forem#1845) and, in recent Forem, a title used in the
#   last five minutes ("Title has already been used in the last five minutes").
#   These are ``Duplicate``: on a first attempt, someone's article already has it
#   (failed); after an earlier attempt, the publisher asks ``find``. ``find`` reads
#   GET /api/articles/me/all (page / per_page, newest first) and recognises this job's
#   article by its title and its canonical URL (its body when the post has no link),
#   published since the first attempt. Only then is it recorded as published.
#
# Checking an account (`check`): GET /api/users/me names the user.

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, TypeAlias

from cmctl.networks.base import (
    MB,
    AccountField,
    Ambiguous,
    Duplicate,
    Idempotency,
    MediaKind,
    Network,
    Outgoing,
    Permanent,
    Quota,
    SendError,
    Sent,
    Transient,
)

if TYPE_CHECKING:
    from cmctl.networks.base import Attachment

# An httpx.Response (declaration files name no httpx, see mastodon.py).
Response: TypeAlias = Any

ACCEPT = "application/vnd.forem.api-v1+json"
KEY_HINT = "generate a key at https://dev.to/settings/extensions and set the account's `api_key`"
TAG_MAX_LENGTH = 30
# A uniqueness refusal in DEV's 422 sentence (see "Idempotency" above).
DUPLICATE_WORDS = re.compile(
    r"(body markdown|canonical url) has already been taken"
    r"|has already been used in the last five minutes",
    re.IGNORECASE,
)
PER_PAGE = 100  # articles per page of /articles/me/all (DEV allows up to 1000)
MAX_PAGES = 20  # how far back a look-up reads (2,000 articles)


class DevTo(Network):
    name: ClassVar[str] = "devto"
    title: ClassVar[str] = "DEV (dev.to)"
    docs_url: ClassVar[str] = "https://developers.forem.com/api/v1#tag/articles"
    api_base: ClassVar[str | None] = "https://dev.to/api"
    media_by_url: ClassVar[bool] = True  # main_image: Dev.to fetches the cover by URL

    # Forem API v0 (developers.forem.com/api): creating articles is limited to 10
    # requests per 30 s.
    quotas: ClassVar[tuple[Quota, ...]] = (Quota(10, timedelta(seconds=30)),)

    max_length: ClassVar[int | None] = None

    # One cover image, fetched by URL (`main_image`).
    media_kinds: ClassVar[tuple[MediaKind, ...]] = (
        MediaKind(
            "image",
            frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"}),
            max_bytes=25 * MB,
            max_count=1,
        ),
    )
    max_media: ClassVar[int] = 1

    # An article: a title, the thread appended as paragraphs, the hashtags as its tags
    # (DEV takes at most 4: https://dev.to/tags).
    article: ClassVar[bool] = True
    title_max_length: ClassVar[int | None] = 128
    max_tags: ClassVar[int | None] = 4
    threads: ClassVar[bool] = False

    publishes: ClassVar[bool] = True
    idempotency: ClassVar[Idempotency] = Idempotency.LOOKUP
    finds: ClassVar[bool] = True

    account_fields: ClassVar[tuple[AccountField, ...]] = (
        AccountField(
            "api_key",
            required=True,
            secret=True,
            help="DEV API key (https://dev.to/settings/extensions → DEV Community API Keys)",
        ),
    )

    @classmethod
    def check_article(cls, title: str | None, tags: Sequence[str]) -> list[tuple[str, str]]:
        """The base checks, and DEV's own rules for a tag: letters and digits only, at
        most 30 characters."""
        problems = super().check_article(title, tags)
        for tag in tags:
            if not tag.isalnum():
                problems.append(
                    (
                        f"hashtag {tag!r}: {cls.name} tags are letters and digits only",
                        f"write it without punctuation or spaces (e.g. "
                        f"{re.sub(r'[^0-9A-Za-z]', '', tag).lower() or 'news'!r}), or give "
                        f"the '{cls.name}' variant its own 'hashtags:'",
                    )
                )
            elif len(tag) > TAG_MAX_LENGTH:
                problems.append(
                    (
                        f"hashtag {tag!r} is {len(tag)}/{TAG_MAX_LENGTH} characters for {cls.name}",
                        f"shorten it, or give the '{cls.name}' variant its own 'hashtags:'",
                    )
                )
        return problems

    # ------------------------------------------------------------------ publishing
    def _headers(self) -> dict[str, str]:
        key = str(self.options.get("api_key") or "")
        if not key.strip():
            raise Permanent(f"the account has no `api_key`: {KEY_HINT}")
        self.http.add_secret(key)
        return {"api-key": key, "Accept": ACCEPT}

    def publish(self, out: Outgoing) -> Sent:
        headers = self._headers()
        if not (out.title or "").strip():
            raise Permanent("a DEV article needs a title: give the post a 'title:'")
        article: dict[str, Any] = {
            "title": out.title,
            "body_markdown": out.text,
            "published": True,
            "tags": [tag.lower() for tag in out.tags],
        }
        if out.link:
            article["canonical_url"] = out.link
        if out.media:
            article["main_image"] = self._cover_url(out.media[0])
        response = self.http.request(
            "POST",
            f"{self.api_url}/articles",
            creates=True,
            classify=self._classify,
            headers=headers,
            json={"article": article},
        )
        # A 2xx without an article: it may well exist. The next attempt looks it up.
        found = _json(response)
        if not isinstance(found, dict) or not _id(found):
            raise Ambiguous("DEV answered without an article id; it may have published it")
        return _sent(found)

    def _cover_url(self, item: Attachment) -> str:
        """The public URL DEV fetches the cover from: `media_url` + the file's path."""
        return self.served_url(item)

    def find(self, out: Outgoing, since: datetime) -> Sent | None:
        """This job's article among the account's own (GET /articles/me/all, newest
        first): the same title, and the same canonical URL (the same body when the post
        has no link), published at or after ``since``."""
        headers = self._headers()
        for page in range(1, MAX_PAGES + 1):
            response = self.http.request(
                "GET",
                f"{self.api_url}/articles/me/all",
                classify=self._classify,
                headers=headers,
                params={"page": str(page), "per_page": str(PER_PAGE)},
            )
            articles = _json(response)
            if not isinstance(articles, list):
                raise Transient("GET /articles/me/all: DEV answered without a list of articles")
            older = False
            for article in articles:
                if not isinstance(article, dict):
                    continue
                published_at = _time(article.get("published_at"))
                if published_at is not None and published_at < since:
                    older = True  # newest first: the rest is older still
                    continue
                if self._is_this_job(article, out) and article.get("published") is not False:
                    return _sent(article)
            if older or len(articles) < PER_PAGE:
                return None
        return None

    @staticmethod
    def _is_this_job(article: dict[str, Any], out: Outgoing) -> bool:
        if not _id(article) or article.get("title") != out.title:
            return False
        if out.link:
            return bool(article.get("canonical_url") == out.link)
        body = article.get("body_markdown")
        return isinstance(body, str) and body.strip() == out.text.strip()

    def check(self) -> str:
        response = self.http.request(
            "GET", f"{self.api_url}/users/me", classify=self._classify, headers=self._headers()
        )
        me = _json(response)
        if not isinstance(me, dict) or not me.get("username"):
            raise Permanent("GET /users/me: DEV answered without a user")
        name = f" ({me['name']})" if me.get("name") else ""
        return f"@{me['username']}{name} on {self.api_url.split('://', 1)[-1].split('/', 1)[0]}"

    def _classify(self, response: Response) -> SendError | None:
        """DEV's answers that the generic mapping would get wrong or leave unexplained."""
        where = f"{response.request.method} {response.request.url.path}"
        said = self.http.error_message(response)  # redacted, then cut
        status = response.status_code
        if status == 401:
            return Permanent(
                f"{where}: 401 {said}: the API key is wrong or was revoked; {KEY_HINT}"
            )
        if status == 422 and DUPLICATE_WORDS.search(said):
            return Duplicate(f"{where}: 422 {said}")
        return None


def _json(response: Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _id(article: dict[str, Any]) -> str:
    value = article.get("id")
    return str(value) if isinstance(value, (int, str)) and value != "" else ""


def _sent(article: dict[str, Any]) -> Sent:
    url = article.get("url")
    return Sent(
        remote_id=_id(article),
        url=url if isinstance(url, str) else None,
        ref={"id": _id(article), "path": article.get("path")},
    )


def _time(value: Any) -> datetime | None:
    """An ISO 8601 time from DEV (aware), or None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment
