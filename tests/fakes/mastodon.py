"""A fake Mastodon instance: the REST API calls cmctl makes, with Mastodon's own answers.

Sources, per endpoint and error body (read 2026-08; docs = mastodon/documentation at
2903485, code = mastodon/mastodon ``main`` as indexed):

- Auth, all endpoints: a missing or wrong ``Authorization: Bearer`` gives
  ``401 {"error": "The access token is invalid"}`` (Doorkeeper's text, documented on
  every method), https://docs.joinmastodon.org/methods/statuses/#create "401".
  Doorkeeper also reads ``access_token`` from the query or form.
- ``GET /api/v1/accounts/verify_credentials`` -> CredentialAccount,
  https://docs.joinmastodon.org/methods/accounts/#verify_credentials
- ``GET /api/v2/instance`` (public) -> Instance with ``configuration.statuses``
  (``max_characters`` 500, ``max_media_attachments`` 4, ``characters_reserved_per_url``
  23) and ``configuration.media_attachments`` (the stock limits: images 16 MiB,
  videos 99 MiB, description 1500), https://docs.joinmastodon.org/methods/instance/#v2
  and https://docs.joinmastodon.org/entities/Instance/
- ``POST /api/v2/media`` (multipart ``file``, ``description``, ``focus``, ``thumbnail``):
  200 when processed synchronously, 202 with ``url: null`` while the full size is
  processed in the background; ``GET /api/v1/media/:id``: 206 while processing
  (the same MediaAttachment, ``url`` still null), 200 once done (attached or not:
  ``set_media_attachment`` is ``current_account.media_attachments.find``), 404
  ``{"error": "Record not found"}`` for an unknown id;
  422 ``"Validation failed: File content type is invalid, File is invalid"`` for an
  unsupported type. https://docs.joinmastodon.org/methods/media/#v2 and #get;
  206/200 from ``Api::V1::MediaController#status_code_for_media_attachment``
  (app/controllers/api/v1/media_controller.rb), 202/200 from
  ``Api::V2::MediaController``. ``POST /api/v1/media`` (deprecated, synchronous) and
  ``PUT /api/v1/media/:id`` are served too.
- ``POST /api/v1/statuses`` (JSON, urlencoded or multipart; ``status``,
  ``media_ids[]``, ``in_reply_to_id``, ``sensitive``, ``spoiler_text``,
  ``visibility``, ``language``), https://docs.joinmastodon.org/methods/statuses/#create.
  Order of checks as in ``Api::V1::StatusesController`` and ``PostStatusService``
  (app/controllers/api/v1/statuses_controller.rb, app/services/post_status_service.rb):
  1. ``in_reply_to_id`` unknown -> ``404 {"error": "The post you are trying to reply
     to does not appear to exist."}`` (``set_thread``; text from config/locales/en.yml
     ``statuses.errors.in_reply_not_found``);
  2. ``Idempotency-Key`` seen for this account within 3600 s -> the SAME status, 200
     (``with_idempotency``: ``redis.setex("idempotency:status:#{account}:#{key}",
     3_600, status.id)``, stored only after a success; the docs: "Idempotency keys are
     stored for up to 1 hour");
  3. media (``validate_media!``), all 422 with the bare i18n text
     (``Mastodon::ValidationError``): more than 4 -> "Cannot attach more than 4
     files"; unknown or already attached -> "Media 12, 34 not found or already
     attached to another post"; a video beside anything -> "Cannot attach a video
     to a post that already contains images"; still processing -> "Cannot attach
     files that have not finished processing. Try again in a moment!"
     (en.yml ``media_attachments.validations.*``);
  4. the status itself (``ActiveRecord::RecordInvalid`` -> 422 "Validation failed:
     ..."): blank text without media -> "Validation failed: Text can't be blank"
     (documented example); over the limit -> "Validation failed: Text character
     limit of 500 exceeded" (``StatusLengthValidator``, en.yml
     ``statuses.over_character_limit``), counted by
     ``cmctl.text.mastodon.mastodon_length`` (spoiler + text, URLs as 23, remote
     mention domains free).
- ``GET /api/v2/search?q=LINK&type=statuses&resolve=true``: the status a link names
  (local ``url``/``uri``, or a link registered in ``remote_links`` as if fetched from
  another server); 403 "This action is outside the authorized scopes" when
  ``scopes`` lacks read and read:search, https://docs.joinmastodon.org/methods/search/#v2
  and SearchService#url_query? (app/services/search_service.rb).
- ``GET /api/v1/statuses/:id``, ``DELETE /api/v1/statuses/:id`` and
  ``GET /api/v1/accounts/:id/statuses`` for recovery checks; 404
  ``{"error": "Record not found"}`` (https://docs.joinmastodon.org/entities/Error/).
- Rate limits, https://docs.joinmastodon.org/api/rate-limits/: every API answer
  carries ``X-RateLimit-Limit``, ``X-RateLimit-Remaining`` and ``X-RateLimit-Reset``
  (ISO 8601, ``Time#iso8601(6)``: end of the current fixed window); 300 calls per
  token per 5 minutes (``throttle_per_token_api`` in config/initializers/rack_attack.rb),
  and status creation reports its own family (``override_rate_limit_headers :create,
  family: :statuses``; 300 per 3 hours, app/lib/rate_limiter.rb). Over a limit, and
  for a 429 injected with ``fail_next``: ``429 {"error": "Too many requests"}``
  (``throttled_responder``; en.yml ``errors.429``) with ``X-RateLimit-Remaining: 0``
  and the reset time. Mastodon sends no ``Retry-After``; pass one in ``headers`` to
  test a client that reads it.

Assumed, not found in the docs or code read: the 422 texts for a missing ``file``
("Validation failed: File can't be blank"), a too large file ("Validation failed:
File file size must be less than 16 MB", Paperclip's wording), a too long
description and an unknown ``visibility``; the exact HTML of ``content`` (escaped
text in ``<p>``, lines joined with ``<br />``, links not linkified). ``scheduled_at``
and polls are not implemented (422 saying so).
"""

from __future__ import annotations

import contextlib
import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from cmctl.text.mastodon import mastodon_length
from tests.fakes.base import FakeServer, RecordedRequest, Reply, parse_form

__all__ = ["FakeMastodon", "MastodonMedia"]

MIB = 1024 * 1024
IMAGE_SIZE_LIMIT = 16 * MIB
VIDEO_SIZE_LIMIT = 99 * MIB
DESCRIPTION_LIMIT = 1500
MAX_MEDIA = 4
IDEMPOTENCY_TTL = timedelta(hours=1)

IMAGE_TYPES = (
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/heic",
    "image/heif",
    "image/webp",
    "image/avif",
)
VIDEO_TYPES = ("video/webm", "video/mp4", "video/quicktime", "video/ogg")
AUDIO_TYPES = (
    "audio/wave",
    "audio/wav",
    "audio/x-wav",
    "audio/x-pn-wave",
    "audio/vnd.wave",
    "audio/ogg",
    "audio/vorbis",
    "audio/mpeg",
    "audio/mp3",
    "audio/webm",
    "audio/flac",
    "audio/aac",
    "audio/m4a",
    "audio/x-m4a",
    "audio/mp4",
    "audio/3gpp",
    "video/x-ms-asf",
)
SUPPORTED_TYPES = IMAGE_TYPES + VIDEO_TYPES + AUDIO_TYPES
VISIBILITIES = ("public", "unlisted", "private", "direct")

INVALID_TOKEN = "The access token is invalid"
NOT_FOUND = "Record not found"
REPLY_NOT_FOUND = "The post you are trying to reply to does not appear to exist."
TOO_MANY_REQUESTS = "Too many requests"


@dataclass(slots=True)
class MastodonMedia:
    """An uploaded attachment, as the fake keeps it."""

    id: str
    type: str  # image, gifv, video, audio
    mime_type: str
    filename: str
    data: bytes
    description: str | None
    focus: str | None
    remaining_polls: int  # GETs still answered 206
    status_id: str | None = None

    @property
    def processed(self) -> bool:
        return self.remaining_polls <= 0


class FakeMastodon(FakeServer):
    """A Mastodon instance with one account. See the module docstring for the API."""

    name: ClassVar[str] = "fake-mastodon"

    def __init__(
        self,
        token: str = "good-token",
        *,
        username: str = "brand",
        display_name: str = "Brand",
        account_id: str = "110000000000000001",
        max_characters: int = 500,
        processing_steps: int = 0,
        rate_limit: int = 300,
        rate_limit_period: int = 300,
        status_rate_limit: int = 300,
        status_rate_limit_period: int = 3 * 3600,
        latency: float = 0.0,
    ) -> None:
        super().__init__(latency=latency)
        self.token = token
        self.username = username
        self.display_name = display_name
        self.account_id = account_id
        self.max_characters = max_characters
        #: How many GET /api/v1/media/:id polls answer 206 after an upload (0: the
        #: upload answers 200 with its url at once; N > 0: it answers 202, url null).
        self.processing_steps = processing_steps
        self.rate_limit = rate_limit
        self.rate_limit_period = rate_limit_period
        self.status_rate_limit = status_rate_limit
        self.status_rate_limit_period = status_rate_limit_period
        #: Statuses created, in creation order: the Status entity as returned, plus
        #: ``text`` (the plain source, Mastodon's own optional attribute).
        self.statuses: list[dict[str, Any]] = []
        self.media: dict[str, MastodonMedia] = {}
        self.deleted: set[str] = set()
        self._idempotency: dict[str, tuple[str, datetime]] = {}
        self._windows: dict[tuple[str, str], tuple[int, int]] = {}
        self._status_times: list[datetime] = []
        self._last_id = 0
        #: Scopes of the token; GET /api/v2/search with resolve needs read or read:search.
        self.scopes: set[str] = {"read", "write"}
        #: Links of posts as other servers show them, by the local status id they
        #: resolve to (what ResolveURLService finds by fetching the link).
        self.remote_links: dict[str, str] = {}

    # -- test helpers ----------------------------------------------------------------

    def status(self, status_id: str) -> dict[str, Any] | None:
        """The stored status with this id (deleted ones included), or None."""
        for status in self.statuses:
            if status["id"] == status_id:
                return status
        return None

    @property
    def texts(self) -> list[str]:
        """The source text of every status created, in order."""
        return [s["text"] for s in self.statuses]

    def expire_idempotency_keys(self) -> None:
        """Forget every Idempotency-Key now, as if an hour had passed."""
        with self._lock:
            self._idempotency.clear()

    def finish_processing(self, media_id: str | None = None) -> None:
        """Mark one (or every) uploaded attachment as processed."""
        with self._lock:
            for media in self.media.values():
                if media_id is None or media.id == media_id:
                    media.remaining_polls = 0

    def fault_headers(self, status: int) -> dict[str, str]:
        if status != 429:
            return {}
        reset = self._window_end(self.rate_limit_period)
        return {
            "X-RateLimit-Limit": str(self.rate_limit),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": _iso6(reset),
        }

    # -- routing ---------------------------------------------------------------------

    _MEDIA_ID = re.compile(r"^/api/v1/media/([^/]+)$")
    _STATUS_ID = re.compile(r"^/api/v1/statuses/([^/]+)$")
    _ACCOUNT_STATUSES = re.compile(r"^/api/v1/accounts/([^/]+)/statuses$")

    def route(self, request: RecordedRequest) -> Reply:
        path, method = request.path.rstrip("/") or "/", request.method
        if path in ("/api/v2/instance", "/api/v1/instance") and method == "GET":
            return self._throttled(request, "ip") or Reply(200, self._instance(path))
        if not self._authorized(request):
            return Reply(
                401,
                {"error": INVALID_TOKEN},
                {
                    "WWW-Authenticate": 'Bearer realm="Doorkeeper", error="invalid_token", '
                    f'error_description="{INVALID_TOKEN}"'
                },
            )
        limited = self._throttled(request, "token")
        if limited is not None:
            return limited
        if path == "/api/v1/accounts/verify_credentials" and method == "GET":
            return Reply(200, self._account(credential=True))
        if path in ("/api/v2/media", "/api/v1/media") and method == "POST":
            return self._upload(request, asynchronous=path.startswith("/api/v2"))
        if path == "/api/v1/statuses" and method == "POST":
            return self._create_status(request)
        if match := self._MEDIA_ID.match(path):
            if method == "GET":
                return self._get_media(match.group(1))
            if method == "PUT":
                return self._update_media(match.group(1), request)
        if match := self._STATUS_ID.match(path):
            if method == "GET":
                return self._get_status(match.group(1))
            if method == "DELETE":
                return self._delete_status(match.group(1))
        if (match := self._ACCOUNT_STATUSES.match(path)) and method == "GET":
            return self._account_statuses(match.group(1), request)
        if path == "/api/v2/search" and method == "GET":
            return self._search(request)
        return Reply(404, {"error": NOT_FOUND})

    def decorate(self, request: RecordedRequest, reply: Reply) -> None:
        if not request.path.startswith("/api/"):
            return
        lower = {k.lower() for k in reply.headers}
        if "x-ratelimit-limit" in lower:
            return
        if request.path.rstrip("/") == "/api/v1/statuses" and request.method == "POST":
            recent = self._recent_statuses()
            reset = self._window_end(self.status_rate_limit_period)
            reply.headers.update(
                {
                    "X-RateLimit-Limit": str(self.status_rate_limit),
                    "X-RateLimit-Remaining": str(max(0, self.status_rate_limit - recent)),
                    "X-RateLimit-Reset": _iso6(reset),
                }
            )
            return
        key = ("token", self.token) if self._authorized(request) else ("ip", "127.0.0.1")
        _, count = self._windows.get(key, (0, 0))
        reply.headers.update(
            {
                "X-RateLimit-Limit": str(self.rate_limit),
                "X-RateLimit-Remaining": str(max(0, self.rate_limit - count)),
                "X-RateLimit-Reset": _iso6(self._window_end(self.rate_limit_period)),
            }
        )

    # -- auth and limits -------------------------------------------------------------

    def _authorized(self, request: RecordedRequest) -> bool:
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip() == self.token
        if header:
            return False
        token = request.param("access_token")
        if token is None and request.method != "GET":
            parts = parse_form(request).get("access_token")
            token = parts[0].text if parts else None
        return token == self.token

    def _window_end(self, period: int) -> datetime:
        now = self.now().timestamp()
        return datetime.fromtimestamp(int(now) - int(now) % period + period, UTC)

    def _throttled(self, request: RecordedRequest, kind: str) -> Reply | None:
        key = (kind, self.token if kind == "token" else "127.0.0.1")
        now = int(self.now().timestamp())
        window = now - now % self.rate_limit_period
        start, count = self._windows.get(key, (window, 0))
        if start != window:
            count = 0
        count += 1
        self._windows[key] = (window, count)
        if count > self.rate_limit:
            return Reply(429, {"error": TOO_MANY_REQUESTS}, self.fault_headers(429))
        return None

    def _recent_statuses(self) -> int:
        horizon = self.now() - timedelta(seconds=self.status_rate_limit_period)
        return sum(1 for t in self._status_times if t > horizon)

    # -- entities --------------------------------------------------------------------

    def _next_id(self) -> str:
        """A Mastodon-style snowflake: milliseconds << 16, strictly increasing."""
        candidate = int(self.now().timestamp() * 1000) << 16
        self._last_id = max(candidate, self._last_id + 1)
        return str(self._last_id)

    def _account(self, *, credential: bool = False) -> dict[str, Any]:
        account: dict[str, Any] = {
            "id": self.account_id,
            "username": self.username,
            "acct": self.username,
            "display_name": self.display_name,
            "locked": False,
            "bot": False,
            "discoverable": True,
            "group": False,
            "created_at": "2024-01-01T00:00:00.000Z",
            "note": "",
            "url": f"{self.url}/@{self.username}",
            "uri": f"{self.url}/users/{self.username}",
            "avatar": f"{self.url}/avatars/original/missing.png",
            "avatar_static": f"{self.url}/avatars/original/missing.png",
            "header": f"{self.url}/headers/original/missing.png",
            "header_static": f"{self.url}/headers/original/missing.png",
            "followers_count": 0,
            "following_count": 0,
            "statuses_count": sum(1 for s in self.statuses if s["id"] not in self.deleted),
            "last_status_at": None,
            "emojis": [],
            "fields": [],
        }
        if credential:
            account["source"] = {
                "privacy": "public",
                "sensitive": False,
                "language": "",
                "note": "",
                "fields": [],
                "follow_requests_count": 0,
            }
            account["role"] = {"id": "-99", "name": "", "permissions": "0", "color": ""}
        return account

    def _instance(self, path: str) -> dict[str, Any]:
        host = self.url.removeprefix("http://")
        configuration = {
            "urls": {"streaming": f"ws://{host}"},
            "accounts": {"max_featured_tags": 10, "max_pinned_statuses": 5},
            "statuses": {
                "max_characters": self.max_characters,
                "max_media_attachments": MAX_MEDIA,
                "characters_reserved_per_url": 23,
            },
            "media_attachments": {
                "supported_mime_types": list(SUPPORTED_TYPES),
                "description_limit": DESCRIPTION_LIMIT,
                "image_size_limit": IMAGE_SIZE_LIMIT,
                "image_matrix_limit": 33177600,
                "video_size_limit": VIDEO_SIZE_LIMIT,
                "video_frame_rate_limit": 120,
                "video_matrix_limit": 8294400,
            },
            "polls": {
                "max_options": 4,
                "max_characters_per_option": 50,
                "min_expiration": 300,
                "max_expiration": 2629746,
            },
            "translation": {"enabled": False},
        }
        if path == "/api/v1/instance":
            return {
                "uri": host,
                "title": "Fake Mastodon",
                "version": "4.4.0",
                "urls": configuration["urls"],
                "configuration": configuration,
                "max_toot_chars": self.max_characters,
            }
        return {
            "domain": host,
            "title": "Fake Mastodon",
            "version": "4.4.0",
            "source_url": "https://github.com/mastodon/mastodon",
            "description": "A local fake for tests",
            "usage": {"users": {"active_month": 1}},
            "thumbnail": {"url": f"{self.url}/thumbnail.png"},
            "languages": ["en"],
            "configuration": configuration,
            "registrations": {"enabled": False, "approval_required": False, "message": None},
            "api_versions": {"mastodon": 6},
            "contact": {"email": "", "account": self._account()},
            "rules": [],
        }

    def _media_json(self, media: MastodonMedia) -> dict[str, Any]:
        base = f"{self.url}/system/media_attachments/files/{media.id}"
        meta: dict[str, Any] = {}
        if media.focus:
            x, _, y = media.focus.partition(",")
            with contextlib.suppress(ValueError):
                meta["focus"] = {"x": float(x), "y": float(y)}
        return {
            "id": media.id,
            "type": media.type,
            "url": f"{base}/original/{media.filename}" if media.processed else None,
            "preview_url": f"{base}/small/{media.filename}",
            "remote_url": None,
            "preview_remote_url": None,
            "text_url": None,
            "meta": meta,
            "description": media.description,
            "blurhash": None,
        }

    def _status_json(self, status: dict[str, Any]) -> dict[str, Any]:
        public = {k: v for k, v in status.items() if k != "text"}
        public["account"] = self._account()
        public["media_attachments"] = [
            self._media_json(self.media[m["id"]]) for m in status["media_attachments"]
        ]
        return public

    # -- media -----------------------------------------------------------------------

    def _upload(self, request: RecordedRequest, *, asynchronous: bool) -> Reply:
        form = parse_form(request)
        files = form.get("file") or []
        upload = files[0] if files else None
        if upload is None or upload.filename is None:
            return Reply(422, {"error": "Validation failed: File can't be blank"})
        mime = (upload.content_type or "application/octet-stream").split(";")[0].strip().lower()
        if mime not in SUPPORTED_TYPES:
            return Reply(
                422, {"error": "Validation failed: File content type is invalid, File is invalid"}
            )
        larger = mime in VIDEO_TYPES or mime in AUDIO_TYPES or mime == "image/gif"
        limit = VIDEO_SIZE_LIMIT if larger else IMAGE_SIZE_LIMIT
        if len(upload.data) > limit:
            return Reply(
                422,
                {"error": f"Validation failed: File file size must be less than {limit // MIB} MB"},
            )
        description = _field(form, "description")
        if description is not None and len(description) > DESCRIPTION_LIMIT:
            return Reply(
                422,
                {
                    "error": "Validation failed: Description is too long "
                    f"(maximum is {DESCRIPTION_LIMIT} characters)"
                },
            )
        if mime == "image/gif":
            kind = "gifv"
        else:
            kind = mime.split("/")[0] if mime not in ("video/x-ms-asf",) else "video"
        media = MastodonMedia(
            id=self._next_id(),
            type=kind,
            mime_type=mime,
            filename=_safe_filename(upload.filename),
            data=upload.data,
            description=description,
            focus=_field(form, "focus"),
            remaining_polls=self.processing_steps if asynchronous else 0,
        )
        self.media[media.id] = media
        status = 202 if not media.processed else 200
        return Reply(status, self._media_json(media))

    def _get_media(self, media_id: str) -> Reply:
        media = self.media.get(media_id)
        if media is None:
            return Reply(404, {"error": NOT_FOUND})
        if not media.processed:
            body = self._media_json(media)
            media.remaining_polls -= 1
            return Reply(206, body)
        return Reply(200, self._media_json(media))

    def _update_media(self, media_id: str, request: RecordedRequest) -> Reply:
        media = self.media.get(media_id)
        if media is None:
            return Reply(404, {"error": NOT_FOUND})
        params = _params(request)
        if isinstance(params.get("description"), str):
            media.description = params["description"]
        if isinstance(params.get("focus"), str):
            media.focus = params["focus"]
        return Reply(206 if not media.processed else 200, self._media_json(media))

    # -- statuses --------------------------------------------------------------------

    def _create_status(self, request: RecordedRequest) -> Reply:
        params = _params(request)
        if params.get("scheduled_at") or params.get("poll") or _has_prefix(params, "poll["):
            return Reply(422, {"error": "FakeMastodon does not implement scheduled_at or polls"})
        text = _as_str(params.get("status")) or ""
        spoiler = _as_str(params.get("spoiler_text")) or ""
        reply_to = _as_str(params.get("in_reply_to_id")) or None
        thread = None
        if reply_to is not None:
            thread = self.status(reply_to)
            if thread is None or reply_to in self.deleted:
                return Reply(404, {"error": REPLY_NOT_FOUND})
        key = request.headers.get("idempotency-key", "").strip()
        if key:
            self._forget_old_keys()
            if key in self._idempotency:
                status_id = self._idempotency[key][0]
                if status_id in self.deleted:
                    return Reply(404, {"error": NOT_FOUND})
                stored = self.status(status_id)
                assert stored is not None
                return Reply(200, self._status_json(stored))
        if self._recent_statuses() >= self.status_rate_limit:
            return Reply(429, {"error": TOO_MANY_REQUESTS})
        media_ids = _media_ids(params)
        media, problem = self._validate_media(media_ids)
        if problem is not None:
            return Reply(422, {"error": problem})
        visibility = _as_str(params.get("visibility")) or "public"
        if visibility not in VISIBILITIES:
            problem = "Validation failed: Visibility is not included in the list"
            return Reply(422, {"error": problem})
        if not media and not text.strip():
            return Reply(422, {"error": "Validation failed: Text can't be blank"})
        if mastodon_length(text, spoiler_text=spoiler) > self.max_characters:
            return Reply(
                422,
                {
                    "error": "Validation failed: Text character limit of "
                    f"{self.max_characters} exceeded"
                },
            )
        language = _as_str(params.get("language")) or None
        if language is not None and not re.fullmatch(r"[a-z]{2,3}(-[A-Za-z0-9]+)*", language):
            language = None  # Mastodon falls back to the account's or the default locale
        status_id = self._next_id()
        created = self.now()
        for item in media:
            item.status_id = status_id
        status: dict[str, Any] = {
            "id": status_id,
            "created_at": _iso_ms(created),
            "in_reply_to_id": thread["id"] if thread else None,
            "in_reply_to_account_id": self.account_id if thread else None,
            "sensitive": _truthy(params.get("sensitive")) or bool(spoiler),
            "spoiler_text": spoiler,
            "visibility": visibility,
            "language": language or "en",
            "uri": f"{self.url}/users/{self.username}/statuses/{status_id}",
            "url": f"{self.url}/@{self.username}/{status_id}",
            "replies_count": 0,
            "reblogs_count": 0,
            "favourites_count": 0,
            "edited_at": None,
            "favourited": False,
            "reblogged": False,
            "muted": False,
            "bookmarked": False,
            "pinned": False,
            "content": _content_html(text),
            "filtered": [],
            "reblog": None,
            "application": {"name": "cmctl", "website": None},
            "media_attachments": [{"id": m.id} for m in media],
            "mentions": [],
            "tags": [],
            "emojis": [],
            "card": None,
            "poll": None,
            "text": text,
        }
        self.statuses.append(status)
        self._status_times.append(created)
        if thread is not None:
            thread["replies_count"] += 1
        if key:
            self._idempotency[key] = (status_id, created)
        return Reply(200, self._status_json(status))

    def _validate_media(self, media_ids: list[str]) -> tuple[list[MastodonMedia], str | None]:
        if not media_ids:
            return [], None
        if len(media_ids) > MAX_MEDIA:
            return [], "Cannot attach more than 4 files"
        wanted = [_to_i(i) for i in media_ids]
        found: list[MastodonMedia] = []
        missing: list[int] = []
        for number in wanted:
            media = self.media.get(str(number))
            if media is None or media.status_id is not None:
                missing.append(number)
            elif media not in found:
                found.append(media)
        if missing:
            ids = ", ".join(str(n) for n in missing)
            return [], f"Media {ids} not found or already attached to another post"
        if len(found) > 1 and any(m.type in ("video", "gifv", "audio") for m in found):
            return [], "Cannot attach a video to a post that already contains images"
        if any(not m.processed for m in found):
            return [], (
                "Cannot attach files that have not finished processing. Try again in a moment!"
            )
        return found, None

    def _forget_old_keys(self) -> None:
        horizon = self.now() - IDEMPOTENCY_TTL
        for key, (_, stored_at) in list(self._idempotency.items()):
            if stored_at <= horizon:
                del self._idempotency[key]

    def _get_status(self, status_id: str) -> Reply:
        status = self.status(status_id)
        if status is None or status_id in self.deleted:
            return Reply(404, {"error": NOT_FOUND})
        return Reply(200, self._status_json(status))

    def _delete_status(self, status_id: str) -> Reply:
        status = self.status(status_id)
        if status is None or status_id in self.deleted:
            return Reply(404, {"error": NOT_FOUND})
        self.deleted.add(status_id)
        body = self._status_json(status)
        body["text"] = status["text"]
        return Reply(200, body)

    def _search(self, request: RecordedRequest) -> Reply:
        """GET /api/v2/search: only what a link query finds (no full-text index).

        A query that is an http(s) link, with ``resolve=true``, is resolved to one
        status (SearchService#url_query?, ResolveURLService): a local status by its
        ``url`` or ``uri``, or a status registered in ``remote_links``; anything else
        finds nothing (empty lists, 200). ``resolve`` needs a token with ``read`` or
        ``read:search`` (Doorkeeper's 403 "This action is outside the authorized
        scopes" otherwise), https://docs.joinmastodon.org/methods/search/#v2.
        """
        query = (request.param("q") or "").strip()
        if not query:
            return Reply(400, {"error": "Validation failed: q is missing"})
        results: dict[str, list[Any]] = {"accounts": [], "statuses": [], "hashtags": []}
        resolve = (request.param("resolve") or "").lower() in ("true", "1")
        if resolve and not self.scopes & {"read", "read:search"}:
            return Reply(403, {"error": "This action is outside the authorized scopes"})
        wanted = request.param("type")
        if resolve and re.match(r"^https?://", query) and wanted in (None, "", "statuses"):
            for status in self.statuses:
                if status["id"] in self.deleted:
                    continue
                if (
                    query in (status["url"], status["uri"])
                    or self.remote_links.get(query) == status["id"]
                ):
                    results["statuses"].append(self._status_json(status))
                    break
        return Reply(200, results)

    def _account_statuses(self, account_id: str, request: RecordedRequest) -> Reply:
        if account_id != self.account_id:
            return Reply(404, {"error": NOT_FOUND})
        try:
            limit = max(1, min(40, int(request.param("limit") or 20)))
        except ValueError:
            limit = 20
        live = [s for s in reversed(self.statuses) if s["id"] not in self.deleted]
        return Reply(200, [self._status_json(s) for s in live[:limit]])


# -- helpers -------------------------------------------------------------------------


def _params(request: RecordedRequest) -> dict[str, Any]:
    """Request parameters the way Rails merges them: JSON body, form fields, query."""
    params: dict[str, Any] = {}
    for name, values in request.query.items():
        params[name] = values if name.endswith("[]") else values[-1]
    if isinstance(request.json, dict):
        params.update(request.json)
        return params
    for name, parts in parse_form(request).items():
        if name.endswith("[]"):
            params[name] = [p.text for p in parts]
        elif parts[-1].filename is None:
            params[name] = parts[-1].text
    return params


def _field(form: dict[str, list[Any]], name: str) -> str | None:
    parts = form.get(name)
    return parts[-1].text if parts else None


def _has_prefix(params: dict[str, Any], prefix: str) -> bool:
    return any(name.startswith(prefix) for name in params)


def _as_str(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return None


def _media_ids(params: dict[str, Any]) -> list[str]:
    value = params.get("media_ids[]", params.get("media_ids"))
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value if v is not None and str(v) != ""]
    return [str(value)] if str(value) else []


def _to_i(value: str) -> int:
    """Ruby's String#to_i: the leading digits, 0 when none."""
    match = re.match(r"\s*([+-]?\d+)", value)
    return int(match.group(1)) if match else 0


def _truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "t", "on", "yes")


def _safe_filename(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "_", name.rsplit("/", 1)[-1]) or "file"
    return cleaned[:100]


def _content_html(text: str) -> str:
    paragraphs = [p for p in re.split(r"\n{2,}", text.replace("\r\n", "\n")) if p.strip()]
    return "".join(
        "<p>" + "<br />".join(html.escape(line, quote=False) for line in p.split("\n")) + "</p>"
        for p in paragraphs
    )


def _iso_ms(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _iso6(moment: datetime) -> str:
    """Ruby's ``Time#iso8601(6)`` of a UTC time."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
