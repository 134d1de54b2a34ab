# Mastodon: the federated micro-blogging server (https://joinmastodon.org). A post
# ("status") goes to one account on one instance through the instance's REST API
# (POST /api/v1/statuses, media first through POST /api/v2/media).
#
# Credentials
#   On your instance: Preferences → Development → New application. Give it a name,
#   tick the scopes `write:statuses` and `write:media` (add `read:accounts` so cmctl
#   can check whom the token belongs to), save, open the application and copy
#   "Your access token". In cmctl.yaml:
#       network: mastodon
#       instance: https://mastodon.social       # base URL of your instance
#       token: ${MASTODON_TOKEN}
#       max_characters: 1000                    # only if your instance allows more than 500
#   The token never expires unless you revoke it (same page, or Preferences →
#   Account → Authorized apps).
#
# Sources for every limit below
#   - Length 500 by default: StatusLengthValidator::MAX_CHARS
#     https://github.com/mastodon/mastodon/blob/main/app/validators/status_length_validator.rb
#     An instance may allow more; it says so in GET /api/v2/instance as
#     configuration.statuses.max_characters
#     (https://docs.joinmastodon.org/entities/Instance/#max_characters), which is
#     what the optional `max_characters` account field mirrors.
#   - How it is counted (every URL counts 23, the domain of @user@domain is not
#     counted): https://docs.joinmastodon.org/user/posting/ ("Text") and
#     configuration.statuses.characters_reserved_per_url in the Instance entity;
#     implemented by cmctl.text.mastodon.mastodon_length.
#   - 4 attachments, no video beside anything else: PostStatusService#validate_media!
#     (`media_ids.size > 4`, and `images_and_video` when an audio/video item is not
#     alone) https://github.com/mastodon/mastodon/blob/main/app/services/post_status_service.rb
#     and Status::MEDIA_ATTACHMENTS_LIMIT = 4.
#   - Types and sizes: MediaAttachment IMAGE_LIMIT = 16.megabytes, VIDEO_LIMIT =
#     99.megabytes (Rails megabytes, i.e. MiB), IMAGE_MIME_TYPES and VIDEO_MIME_TYPES
#     https://github.com/mastodon/mastodon/blob/main/app/models/media_attachment.rb
#     (app/models/concerns/media_attachment/mime_types.rb in recent versions);
#     an instance reports its own values as configuration.media_attachments.*.
#
# Conservative choices
#   - GIFs are declared with the images (16 MB). Mastodon turns an animated GIF into
#     a looping video ("gifv") that may then be as large as a video, but a still GIF
#     stays an image; 16 MB is safe for both, and either may sit beside images.
#   - Audio attachments exist in Mastodon but cmctl has no audio kind yet.
#   - Sizes are the defaults of a stock instance (MAX_IMAGE_SIZE / MAX_VIDEO_SIZE can
#     change them per instance).
#
# Publishing
#   1. Each attachment: POST {instance}/api/v2/media (multipart: `file`, and
#      `description` = the alt text). 200 means processed; 202 means "accepted, still
#      processing" (url null), and cmctl polls GET /api/v1/media/{id} (206 = still
#      processing, 200 = ready) with a growing pause, for at most 60 s of waiting,
#      then gives up with a Transient error. https://docs.joinmastodon.org/methods/media/
#      An upload is not a post: an orphan attachment is harmless (the instance
#      deletes unattached media after a day), so uploads are not idempotent-guarded.
#   2. POST {instance}/api/v1/statuses, JSON {status, media_ids, in_reply_to_id,
#      language, visibility: "public"}, headers `Authorization: Bearer <token>` and
#      `Idempotency-Key: <the job's idempotency key>`.
#      https://docs.joinmastodon.org/methods/statuses/#create
#      `language` is the post's first BCP 47 tag; Mastodon keeps the ISO 639 part of
#      it (LanguagesHelper#valid_locale_or_nil strips a region such as fr-FR).
#   Errors: 401 means the token is wrong or revoked (Permanent, with a hint); 422
#   carries Mastodon's own message ("Validation failed: ..."), Permanent, except
#   "not finished processing" about media, which is Transient.
#
# Idempotency (why a resend is safe for one hour: idempotency_window = 1 h)
#   The Idempotency-Key header: "Provide this header with any arbitrary string to
#   prevent duplicate submissions of the same status. [...] Idempotency keys are
#   stored for up to 1 hour." (https://docs.joinmastodon.org/methods/statuses/#create).
#   In the server, PostStatusService returns the status already created for the key
#   (`idempotency_duplicate`) and stores new ones with
#   `redis.setex(idempotency_key, 3_600, @status.id)`
#   (app/services/post_status_service.rb). After that hour a resend would post again,
#   so the publisher must not resend blindly past the window.
#
# Checking an account (`check`)
#   GET /api/v1/accounts/verify_credentials (needs read:accounts) names the account;
#   GET /api/v2/instance gives configuration.statuses.max_characters, and check warns
#   when the account's `max_characters` asks for more than the instance allows.

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar, TypeAlias
from urllib.parse import quote

from cmctl.networks.base import (
    MB,
    AccountField,
    Ambiguous,
    Idempotency,
    MediaKind,
    Network,
    NotReady,
    Outgoing,
    Permanent,
    Quota,
    SendError,
    Sent,
    Transient,
)

if TYPE_CHECKING:
    from cmctl.networks.base import Attachment

# An httpx.Response. Declaration files name no httpx, even for type checking, so that
# `cmctl validate` never loads it (see base.py); the HTTP helper hands these over.
Response: TypeAlias = Any

# Waiting for the instance to process an upload: the pause before each new look, in
# seconds, the last one repeated; the publisher bounds the whole wait by the job's
# deadline (short pauses are waited for in the same run, longer ones by the next).
MEDIA_POLL_DELAYS = (1.0, 2.0, 3.0, 5.0, 8.0, 15.0, 30.0, 60.0)


class Mastodon(Network):
    name: ClassVar[str] = "mastodon"
    title: ClassVar[str] = "Mastodon"
    docs_url: ClassVar[str] = "https://docs.joinmastodon.org/user/posting/"
    api_base_field: ClassVar[str | None] = "instance"  # no public default: your instance
    abbreviation: ClassVar[str | None] = "masto"

    # docs.joinmastodon.org/api/rate-limits: "Statuses: 300 per 3 hours" per account
    # (POST /api/v1/statuses; thread parts are statuses too).
    quotas: ClassVar[tuple[Quota, ...]] = (Quota(300, timedelta(hours=3)),)

    max_length: ClassVar[int | None] = 500
    length_unit: ClassVar[str] = "characters"
    length_field: ClassVar[str | None] = "max_characters"

    media_kinds: ClassVar[tuple[MediaKind, ...]] = (
        MediaKind(
            "image",
            frozenset(
                {
                    "image/jpeg",
                    "image/png",
                    "image/gif",
                    "image/webp",
                    "image/avif",
                    "image/heic",
                    "image/heif",
                }
            ),
            max_bytes=16 * MB,
            max_count=4,
        ),
        MediaKind(
            "video",
            frozenset({"video/mp4", "video/quicktime", "video/webm", "video/ogg"}),
            max_bytes=99 * MB,
            max_count=1,
        ),
    )
    max_media: ClassVar[int] = 4
    mixed_media: ClassVar[bool] = False
    # Alt text ("description" of an upload): MediaAttachment::MAX_DESCRIPTION_LENGTH =
    # 1_500 (app/models/media_attachment.rb); an instance reports its own value as
    # configuration.media_attachments.description_limit in GET /api/v2/instance, which
    # the optional `description_limit` account field mirrors (`accounts check` warns
    # when it asks for more than the instance allows).
    alt_max_length: ClassVar[int | None] = 1500
    alt_length_field: ClassVar[str | None] = "description_limit"

    threads: ClassVar[bool] = True  # in_reply_to_id on POST /api/v1/statuses

    publishes: ClassVar[bool] = True
    # Mastodon keeps an Idempotency-Key for one hour (see the header above).
    idempotency_window: ClassVar[timedelta | None] = timedelta(hours=1)
    idempotency: ClassVar[Idempotency] = Idempotency.KEY

    account_fields: ClassVar[tuple[AccountField, ...]] = (
        AccountField(
            "instance",
            required=True,
            help="base URL of your Mastodon instance, e.g. https://mastodon.social",
        ),
        AccountField(
            "token",
            required=True,
            secret=True,
            help="access token of an application with write:statuses and write:media "
            "(Preferences → Development)",
        ),
        AccountField(
            "max_characters",
            type="integer",
            help="your instance's post length when it allows more than 500 "
            "(configuration.statuses.max_characters in /api/v2/instance)",
        ),
        AccountField(
            "description_limit",
            type="integer",
            help="your instance's alt text length when it allows more than 1500 "
            "(configuration.media_attachments.description_limit in /api/v2/instance)",
        ),
    )

    @classmethod
    def count(cls, text: str) -> int:
        """Mastodon's count: graphemes, every URL as 23, remote mention domains free."""
        from cmctl.text.mastodon import mastodon_length

        return mastodon_length(text)

    # ------------------------------------------------------------------ publishing
    @property
    def base_url(self) -> str:
        """The account's `api_url` when set, else its `instance` (see Network.api_url)."""
        if not str(self.options.get("instance") or self.options.get("api_url") or "").strip():
            raise Permanent("the account has no `instance` (e.g. https://mastodon.social)")
        return self.api_url

    def _headers(self) -> dict[str, str]:
        token = str(self.options.get("token") or "")
        if not token:
            raise Permanent("the account has no `token`")
        self.http.add_secret(token)
        return {"Authorization": f"Bearer {token}"}

    def publish(self, out: Outgoing) -> Sent:
        headers = self._headers()
        media_ids = self._attachments(out, headers)
        body: dict[str, Any] = {"status": out.text, "visibility": "public"}
        if media_ids:
            body["media_ids"] = media_ids
        if out.reply_to is not None:
            body["in_reply_to_id"] = out.reply_to.remote_id
        if out.lang:
            body["language"] = out.lang[0]
        response = self.http.request(
            "POST",
            f"{self.base_url}/api/v1/statuses",
            creates=True,
            classify=self._classify,
            headers={**headers, "Idempotency-Key": out.idempotency_key},
            json=body,
        )
        # A 2xx without a status: it may well exist. Ambiguous, so the publisher resends
        # only while Mastodon still remembers the Idempotency-Key (one hour).
        status = _json_object(response, "POST /api/v1/statuses", Ambiguous)
        status_id = status.get("id")
        if not isinstance(status_id, (str, int)) or status_id == "":
            raise Ambiguous("Mastodon answered without a status id")
        url = status.get("url") or status.get("uri")
        return Sent(
            remote_id=str(status_id),
            url=url if isinstance(url, str) else None,
            ref={"id": str(status_id), "uri": status.get("uri")},
        )

    def _attachments(self, out: Outgoing, headers: dict[str, str]) -> list[str]:
        """Upload each attachment once, and wait for the instance to process them.

        Multi-step: each uploaded media id is saved as the job's checkpoint before the
        next step, so a later attempt (after a crash, or after "not ready yet") reuses
        it instead of uploading again. While an attachment is still processing (206),
        this raises NotReady: the publisher comes back later (briefly, in the same run,
        for short waits), within the job's deadline, without counting a failure."""
        progress: dict[str, Any] = dict(out.checkpoint or {})
        uploaded: dict[str, str] = dict(progress.get("media") or {})
        processing: set[str] = set(progress.get("processing") or ())
        ids = []
        for item in out.media:
            mark = item.fingerprint
            if mark not in uploaded:
                media_id, ready = self._upload(item, headers)
                uploaded[mark] = media_id
                if not ready:
                    processing.add(media_id)
                out.save({"media": uploaded, "processing": sorted(processing), "polls": 0})
            ids.append(uploaded[mark])
        for media_id in sorted(processing):
            if self._still_processing(media_id, headers):
                polls = int(progress.get("polls") or 0)
                out.save({"media": uploaded, "processing": sorted(processing), "polls": polls + 1})
                delay = MEDIA_POLL_DELAYS[min(polls, len(MEDIA_POLL_DELAYS) - 1)]
                raise NotReady("Mastodon is still processing an attachment", retry_in=delay)
            processing.discard(media_id)
        return ids

    def _upload(self, item: Attachment, headers: dict[str, str]) -> tuple[str, bool]:
        """POST /api/v2/media: the media id, and whether it is processed already."""
        from cmctl.media import MediaProblem, open_checked

        data = {"description": item.alt} if item.alt else {}
        limit = max(kind.max_bytes for kind in self.media_kinds)
        try:
            with open_checked(item.path, item.root, limit) as (f, found):
                mime = found.mime_type or "application/octet-stream"
                response = self.http.request(
                    "POST",
                    f"{self.base_url}/api/v2/media",
                    creates=False,
                    classify=self._classify,
                    headers=headers,
                    files={"file": (item.path.name, f, mime)},
                    data=data,
                )
        except MediaProblem as p:  # checked again at send time: the file may have changed
            raise Permanent(p.message) from None
        attachment = _json_object(response, "POST /api/v2/media")
        media_id = attachment.get("id")
        if not isinstance(media_id, (str, int)) or media_id == "":
            raise Permanent(f"Mastodon answered the upload of {item.path.name} without an id")
        ready = response.status_code != 202 and attachment.get("url") is not None
        return str(media_id), ready

    def _still_processing(self, media_id: str, headers: dict[str, str]) -> bool:
        """GET /api/v1/media/{id}: 206 while the instance is still processing it."""
        response = self.http.request(
            "GET",
            f"{self.base_url}/api/v1/media/{quote(media_id, safe='')}",
            classify=self._classify,
            headers=headers,
        )
        return bool(response.status_code == 206)

    def check(self) -> str:
        headers = self._headers()
        response = self.http.request(
            "GET",
            f"{self.base_url}/api/v1/accounts/verify_credentials",
            classify=self._classify,
            headers=headers,
        )
        me = _json_object(response, "GET /api/v1/accounts/verify_credentials")
        host = str(self.options.get("instance") or self.base_url).strip().rstrip("/")
        host = host.split("://", 1)[-1]
        who = f"@{me.get('acct') or me.get('username') or '?'} on {host}"
        allowed = self.instance_max_characters()
        wanted = self.options.get("max_characters")
        if isinstance(wanted, int) and allowed is not None and allowed < wanted:
            who += (
                f" (warning: max_characters is {wanted} but the instance allows "
                f"{allowed} characters)"
            )
        alt_allowed = self.instance_limit("media_attachments", "description_limit")
        alt_wanted = self.options.get("description_limit")
        if isinstance(alt_wanted, int) and alt_allowed is not None and alt_allowed < alt_wanted:
            who += (
                f" (warning: description_limit is {alt_wanted} but the instance allows "
                f"{alt_allowed} characters of alt text)"
            )
        return who

    def instance_max_characters(self) -> int | None:
        """configuration.statuses.max_characters from GET /api/v2/instance (public)."""
        return self.instance_limit("statuses", "max_characters")

    def instance_limit(self, section: str, key: str) -> int | None:
        """configuration.<section>.<key> from GET /api/v2/instance (read once)."""
        instance = getattr(self, "_instance", None)
        if instance is None:
            token = str(self.options.get("token") or "")
            headers = self._headers() if token else {}
            try:
                response = self.http.request(
                    "GET", f"{self.base_url}/api/v2/instance", headers=headers
                )
                instance = _json_object(response, "GET /api/v2/instance")
            except SendError:
                return None
            self._instance = instance
        configuration = instance.get("configuration")
        part = configuration.get(section) if isinstance(configuration, dict) else None
        value = part.get(key) if isinstance(part, dict) else None
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
        return None

    def _classify(self, response: Response) -> SendError | None:
        """Mastodon's answers that the generic mapping would get wrong or leave unexplained."""
        where = f"{response.request.method} {response.request.url.path}"
        # Redacted here too: the instance's words could echo what we sent.
        said = self.http.error_message(response)  # redacted, then cut
        status = response.status_code
        if status == 401:
            return Permanent(
                f"{where}: 401 {said}: the access token is wrong or was revoked; check "
                "the account's `token` (Preferences → Development on the instance)"
            )
        if status == 403:
            return Permanent(
                f"{where}: 403 {said}: the token lacks a scope it needs "
                "(write:statuses, write:media; read:accounts for `cmctl accounts check`)"
            )
        if status == 422 and "processing" in said.lower():
            # "Cannot attach files that have not finished processing. Try again in a moment!"
            return Transient(f"{where}: 422 {said}", retry_after=5.0)
        return None

    # ------------------------------------------------------------------ settled by hand
    # A status on its own instance: /@user/ID (/@user@domain/ID: a remote author's post
    # as this instance shows it) or the status URI /users/user/statuses/ID.
    local_status: ClassVar[str] = r"^/(?:@[^/]+|users/[^/]+/statuses)/([^/]+)/?$"

    def reference(self, url: str) -> Sent | None:
        """The status at ``url`` (a part a human published or found online), to reply to.

        A link on this instance, https://INSTANCE/@user/ID (also /@user@domain/ID, a
        remote post as the instance shows it) or the status URI
        https://INSTANCE/users/user/statuses/ID, is read with GET /api/v1/statuses/:id
        (https://docs.joinmastodon.org/methods/statuses/#get). A link on another server
        is looked up with GET /api/v2/search?q=URL&type=statuses&resolve=true, which
        needs a user token with read:search ("Public (without resolve or offset), or
        User token + read:search", https://docs.joinmastodon.org/methods/search/#v2).
        The status must belong to the account (verify_credentials, when the token may
        read it): a thread never continues under someone else's post.
        """
        import re
        from urllib.parse import urlsplit

        headers = self._headers()
        example = f"{self.base_url}/@you/123456789"
        link = url.strip()
        parts = urlsplit(link)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise Permanent(f"{link!r} is not a link to a Mastodon post (e.g. {example})")
        here = urlsplit(self.base_url).netloc.lower()
        match = re.match(self.local_status, parts.path) if parts.netloc.lower() == here else None
        if match is not None:
            status_id = match.group(1)
            try:
                response = self.http.request(
                    "GET",
                    f"{self.base_url}/api/v1/statuses/{quote(status_id, safe='')}",
                    classify=self._classify,
                    headers=headers,
                )
            except Permanent as exc:
                raise Permanent(f"{here} has no post {status_id} ({exc.message})") from None
            status = _json_object(response, "GET /api/v1/statuses/:id")
        else:
            response = self.http.request(
                "GET",
                f"{self.base_url}/api/v2/search",
                classify=self._classify_search,
                headers=headers,
                params={"q": link, "type": "statuses", "resolve": "true", "limit": "1"},
            )
            found = _json_object(response, "GET /api/v2/search").get("statuses")
            if not isinstance(found, list) or not found or not isinstance(found[0], dict):
                raise Permanent(
                    f"{here} finds no post at {link}; give the post's own link (e.g. {example})"
                )
            status = found[0]
        status_id = status.get("id")
        if not isinstance(status_id, (str, int)) or status_id == "":
            raise Permanent(f"{here} answered without a status id for {link}")
        self._check_owner(status, link)
        found_url = status.get("url") or status.get("uri")
        return Sent(
            remote_id=str(status_id),
            url=found_url if isinstance(found_url, str) else link,
            ref={"id": str(status_id), "uri": status.get("uri")},
        )

    def _check_owner(self, status: dict[str, Any], link: str) -> None:
        """Refuse a status of another account (when the token may say who it is)."""
        author = status.get("account")
        author_id = author.get("id") if isinstance(author, dict) else None
        try:
            response = self.http.request(
                "GET",
                f"{self.base_url}/api/v1/accounts/verify_credentials",
                classify=self._classify,
                headers=self._headers(),
            )
            me = _json_object(response, "GET /api/v1/accounts/verify_credentials").get("id")
        except SendError:  # no read:accounts scope: the link is taken on trust
            return
        if author_id is not None and me is not None and str(author_id) != str(me):
            who = author.get("acct") if isinstance(author, dict) else None
            raise Permanent(f"{link} is a post of @{who or author_id}, not of this account")

    def _classify_search(self, response: Response) -> SendError | None:
        if response.status_code == 403:
            return Permanent(
                f"GET /api/v2/search: 403: the token lacks the read:search scope needed to "
                f"look up a link from another server; give the post's link on "
                f"{self.base_url} instead (e.g. {self.base_url}/@you/123456789)"
            )
        return self._classify(response)


def _json_object(
    response: Response, where: str, error: type[SendError] = Permanent
) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise error(f"{where}: Mastodon answered {response.status_code} without a JSON object")
    return body
