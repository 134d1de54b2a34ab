# Instagram: feed posts (a single image, a reel, or a carousel of up to 10 items) on an
# Instagram professional (Business or Creator) account, through the Instagram
# Platform's Content Publishing API: POST /{ig-user-id}/media creates a container
# (one per carousel item, then one CAROUSEL container), POST
# /{ig-user-id}/media_publish publishes it. Instagram fetches every image and video
# from a public URL with cURL, so media must be reachable on a public server at
# publishing time. A caption is the only text; there is no text-only post.
#
# Credentials (Instagram API with Instagram Login, host graph.instagram.com)
#   Switch the account to a professional account (Instagram app → Settings → Account
#   type and tools). https://developers.facebook.com/apps → Create app → add the
#   "Instagram" product → "API setup with Instagram login": add the account as an
#   Instagram tester (accept the invitation in Instagram → Settings → Apps and
#   websites), then "Generate token" with the scopes `instagram_business_basic` and
#   `instagram_business_content_publish`. In "Set up Instagram business login" add the
#   redirect URI http://127.0.0.1:8765/callback (or the account's `redirect_uri`), and
#   copy the Instagram app ID and secret (not the Facebook app's) into cmctl.yaml:
#       network: instagram
#       client_id: "990602627938098"           # the Instagram app ID
#       client_secret: ${INSTAGRAM_APP_SECRET}
#       user_id: "17841405793187218"           # optional: learnt at login
#   then `cmctl accounts login NAME`: the browser step on www.instagram.com
#   (/oauth/authorize, scopes comma-separated, no PKCE), the code exchanged at
#   api.instagram.com/oauth/access_token for a 1-hour token and the account's user_id,
#   that token traded at graph.instagram.com/access_token?grant_type=ig_exchange_token
#   for a 60-day one. For CI, `access_token: ${INSTAGRAM_TOKEN}` seeds a long-lived
#   token instead ("Generate token" on the dashboard, then exchanged).
#   https://developers.facebook.com/docs/instagram-platform/instagram-api-with-instagram-login/business-login
#   https://developers.facebook.com/docs/instagram-platform/reference/access_token
#   Renewal: GET /refresh_access_token?grant_type=ig_refresh_token "Refresh a long-lived
#   access token that is at least 24 hours old but has not expired. Refreshed tokens are
#   valid for 60 days" (https://developers.facebook.com/docs/instagram-platform/reference/
#   refresh_access_token). cmctl refreshes it when it is at least 24 h old and within
#   10 days of its expiry (a seeded token, whose expiry cmctl cannot read, at its first
#   use after 24 h: the answer's expires_in then tells it); once expired only a new
#   login helps ("log in again: cmctl accounts login NAME"). With Facebook Login
#   instead (graph.facebook.com, a Page-linked account) cmctl does not publish.
#   Secrets (app secret, codes, tokens) travel in query strings on these endpoints:
#   each is registered with the HTTP helper first, so no message ever shows one.
#
# Sources for every limit below
#   - Caption: "Maximum 2200 characters, 30 hashtags, and 20 @ tags":
#     https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/media
#     (parameter `caption`).
#   - Media required: the Content Publishing guide publishes images, videos, reels and
#     carousels only: https://developers.facebook.com/docs/instagram-platform/content-publishing/
#   - Carousel: "Carousels are limited to 10 images, videos, or a mix of the two"
#     (same guide, Limitations), so images and videos may share a post.
#   - Images: "Format: JPEG", "File size: 8 MB maximum" (IG User Media reference,
#     "Image specifications"; "Only JPEG images are supported" in the guide).
#   - Video (reels, and videos inside carousels): "Container: MOV or MP4 (MPEG-4 Part
#     14)", "File size: 300MB maximum" (IG User Media reference, "Reel
#     specifications").
#
#   - At most 30 hashtags and 20 @ mentions in a caption (same `caption` parameter):
#     `validate` counts them in the final caption (the text's own #words and the
#     hashtags line), see `check_text`.
#   - Alt text: `alt_text` on image containers only ("Reels and stories are not
#     supported", IG User Media reference, March 24, 2025 change).
#   - Publishing cap: content_publishing_limit (quota_usage, config.quota_total,
#     config.quota_duration), read before each media_publish
#     (https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/content_publishing_limit).
#
# Publishing (https://developers.facebook.com/docs/instagram-platform/content-publishing/)
#   1. A container per file: POST /{user_id}/media with image_url (and alt_text) or
#      video_url and media_type=REELS (VIDEO is no longer accepted for a single video;
#      a carousel item keeps media_type=VIDEO), `caption` on a single item. Several
#      files: each with is_carousel_item=true, then a CAROUSEL container with
#      `children` and the caption. Every container id is saved in the job's checkpoint
#      as soon as Instagram answers it (creating a container publishes nothing).
#   2. GET /{container}?fields=status_code,status until FINISHED: IN_PROGRESS is
#      NotReady (the job comes back, nothing sleeps in the send); ERROR fails with
#      Instagram's words; EXPIRED (24 h) starts over with new containers.
#   3. content_publishing_limit: at the cap, Transient until an hour later.
#   4. POST /{user_id}/media_publish creation_id=... (the one step that publishes) →
#      {"id": media id}; its permalink (GET /{media}?fields=permalink) is Sent.url.
#
# Idempotency (LOOKUP; the container is the handle)
#   After an ambiguous media_publish (a timeout, a 5xx, or code 4 / subcode 2207051,
#   which Meta has been seen to answer for posts that went out), `find` reads the saved
#   container's status_code: PUBLISHED → this job's media is found in GET
#   /{user_id}/media?fields=id,caption,timestamp,permalink by its caption and a
#   timestamp at or after the first attempt (never the newest blindly; until it is
#   listed, Transient); FINISHED → not published: publish the same container again;
#   EXPIRED or ERROR → nothing of it is online: start over (ERROR fails with the reason).
#
# Errors (Graph format {"error": {"message", "type", "code", "error_subcode",
# "error_user_title", "error_user_msg"}}; https://developers.facebook.com/docs/
# instagram-platform/instagram-graph-api/reference/error-codes)
#   - 190 / 102: token expired or revoked → refreshed once, else "log in again".
#   - 4, 17, 32, 613 (and 1, 2, 341, 80001-80014): rate limits and outages →
#     Transient for what the usage headers say, else 5 min; 9 / 2207042 (the publishing
#     limit) → an hour.
#   - 9007 / 2207027 "Media ID is not available" at media_publish → NotReady.
#   - 2207001, 2207003, 2207032, 2207053 (server error, media download too slow,
#     "re-create media", unknown upload error: the docs say try again) → Transient; the
#     containers are made anew. 2207006, 2207008, 2207020 (container gone or expired)
#     → start over.
#   - any other 2207xxx and 4xx → Permanent with Instagram's words.
#
# Conservative choices
#   - Counting: Meta does not document the unit of the 2200; cmctl counts UTF-16 code
#     units (an emoji counts 2), never less than the code points Meta may count.
#   - Video 300 MB: some Meta pages now give 1 GB for reels; 300 MB holds for both.
#   - "MB" is taken as decimal megabytes (8,000,000 bytes): Meta does not say which.

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, TypeAlias
from urllib.parse import quote

from cmctl import clock
from cmctl.networks import graph
from cmctl.networks.base import (
    AccountField,
    Ambiguous,
    Answers,
    AuthExpired,
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
from cmctl.networks.graph import read as read_graph_error
from cmctl.networks.oauth import DEFAULT_REDIRECT_URI, OAuthApp

if TYPE_CHECKING:
    from cmctl.networks.base import Attachment
    from cmctl.networks.credentials import Credential

# An httpx.Response (declaration files name no httpx, see mastodon.py).
Response: TypeAlias = Any

DEFAULT_VERSION = "v23.0"
LONG_LIVED = timedelta(days=60)
REFRESH_AFTER = timedelta(hours=24)  # Instagram refreshes only tokens at least this old
REFRESH_WITHIN = timedelta(days=10)  # cmctl refreshes this close to the expiry
MAX_HASHTAGS = 30
MAX_MENTIONS = 20
IMAGE_POLL = 10.0  # seconds before reading an image container's status again
VIDEO_POLL = 30.0
THROTTLE_WAIT = 300.0  # rate limited without a figure in the usage headers
CAP_WAIT = 3600.0  # the publishing cap reached
LOOKUP_PAGE_SIZE = 50
LOOKUP_PAGES = 4
# Subcodes the error table says to retry (the containers are then made anew).
RETRY_SUBCODES = frozenset({"2207001", "2207003", "2207032", "2207053"})
GONE_SUBCODES = frozenset({"2207006", "2207008", "2207020"})  # the container is gone
NOT_READY_SUBCODE = "2207027"
CAP_SUBCODE = "2207042"
BLOCKED_SUBCODE = "2207051"
THROTTLED = frozenset({"4", "17", "32", "613", "341"} | {str(c) for c in range(80001, 80015)})
LOGIN_HINT = "cmctl accounts login"

# A hashtag or a mention as Instagram links them: not inside a word, an e-mail address
# or a URL's fragment.
_HASHTAG = re.compile(r"(?<![\w&/#])#(\w+)")
_MENTION = re.compile(r"(?<![\w.@/])@([A-Za-z0-9._]+)")


class Instagram(Network):
    name: ClassVar[str] = "instagram"
    title: ClassVar[str] = "Instagram"
    docs_url: ClassVar[str] = (
        "https://developers.facebook.com/docs/instagram-platform/content-publishing/"
    )
    api_base: ClassVar[str | None] = "https://graph.instagram.com"
    media_by_url: ClassVar[bool] = True  # the Graph API fetches image_url / video_url
    abbreviation: ClassVar[str | None] = "insta"

    # Meta's Graph API errors and usage headers (cmctl/networks/graph.py).
    answers: ClassVar[Answers | None] = graph.ANSWERS

    # IG User Media Publish reference: 50 API-published posts per rolling 24 h per
    # account, enforced at media_publish; a carousel counts as one. (Older docs said 25;
    # content_publishing_limit tells the account's own figure, read before publishing.)
    quotas: ClassVar[tuple[Quota, ...]] = (Quota(50, timedelta(days=1)),)

    max_length: ClassVar[int | None] = 2200
    length_unit: ClassVar[str] = "characters"

    media_kinds: ClassVar[tuple[MediaKind, ...]] = (
        MediaKind("image", frozenset({"image/jpeg"}), max_bytes=8_000_000, max_count=10),
        MediaKind(
            "video",
            frozenset({"video/mp4", "video/quicktime"}),
            max_bytes=300_000_000,
            max_count=10,
        ),
    )
    max_media: ClassVar[int] = 10
    mixed_media: ClassVar[bool] = True
    media_required: ClassVar[bool] = True

    threads: ClassVar[bool] = False

    publishes: ClassVar[bool] = True
    idempotency: ClassVar[Idempotency] = Idempotency.LOOKUP
    idempotency_window: ClassVar[timedelta | None] = timedelta(0)  # no key at all
    finds: ClassVar[bool] = True

    oauth: ClassVar[OAuthApp | None] = OAuthApp(
        auth_base="https://www.instagram.com",
        authorize_path="/oauth/authorize",
        token_path="/oauth/access_token",
        token_base="https://api.instagram.com",
        scopes=("instagram_business_basic", "instagram_business_content_publish"),
        scope_separator=",",
        pkce=False,
        client_auth="body",
        access_lifetime=LONG_LIVED,
    )

    account_fields: ClassVar[tuple[AccountField, ...]] = (
        AccountField(
            "user_id",
            help='the Instagram professional account\'s id, quoted (e.g. "17841405793187218"); '
            "learnt at login when absent",
        ),
        AccountField("client_id", help="the Instagram app ID (App Dashboard → Instagram)"),
        AccountField("client_secret", secret=True, help="the Instagram app secret"),
        AccountField(
            "access_token",
            secret=True,
            help="a long-lived Instagram user token to seed the login with (CI, servers); "
            "cmctl refreshes it and keeps the new one in its credential store",
        ),
        AccountField(
            "auth_url",
            url=True,
            default="https://www.instagram.com",
            help="host of the login's browser step",
        ),
        AccountField(
            "token_url",
            url=True,
            default="https://api.instagram.com",
            help="host where a login's code is exchanged",
        ),
        AccountField(
            "redirect_uri",
            default=DEFAULT_REDIRECT_URI,
            help="the redirect URI registered in the app's business login settings",
        ),
        AccountField(
            "api_version",
            default=DEFAULT_VERSION,
            help=f"the Graph API version, as Meta writes it (default {DEFAULT_VERSION})",
        ),
    )

    def __init__(self, account: Any, options: Mapping[str, Any], http: Any, state_dir: Any) -> None:
        super().__init__(account, options, http, state_dir)
        self._cred: Credential | None = None
        self.http.add_secret(str(options.get("client_secret") or "") or None)

    @classmethod
    def count(cls, text: str) -> int:
        """UTF-16 code units (conservative: Meta does not document its count)."""
        from cmctl.text.units import utf16_length

        return utf16_length(text)

    @classmethod
    def check_text(
        cls, text: str, *, has_media: bool, account: Mapping[str, Any] | None = None
    ) -> tuple[int, int | None, list[str]]:
        """The length, and Instagram's caps on hashtags and @ mentions in the caption
        (counted in the final caption: the text's own and the hashtags line)."""
        length, limit, problems = super().check_text(text, has_media=has_media, account=account)
        tags = len(_HASHTAG.findall(text))
        if tags > MAX_HASHTAGS:
            problems.append(f"{tags} hashtags; {cls.name} takes at most {MAX_HASHTAGS}")
        mentions = len(_MENTION.findall(text))
        if mentions > MAX_MENTIONS:
            problems.append(f"{mentions} @ mentions; {cls.name} takes at most {MAX_MENTIONS}")
        return length, limit, problems

    # ------------------------------------------------------------------ tokens
    def _stored_credential(self, refused: str | None) -> Credential:
        cred = super()._stored_credential(refused)
        self._cred = cred
        return cred

    def access_token(self) -> str:
        """The stored token, refreshed first when it is at least 24 h old and within 10
        days of its expiry (a seeded one, whose expiry is unknown, once 24 h old)."""
        if self._token is None:
            cred = self._stored_credential(refused=None)
            if _due(cred, clock.now()):
                try:
                    self._stored_credential(refused=cred.access)  # under the store's lock
                except Transient:
                    self._token = cred.access  # still valid for days: refresh next time
        assert self._token is not None
        return self._token

    def exchange_code(self, code: str, verifier: str | None, redirect_uri: str) -> Credential:
        """The code for a 1-hour token and the user's id (api.instagram.com), that token
        for a 60-day one (graph.instagram.com/access_token, ig_exchange_token)."""
        from cmctl.networks import oauth
        from cmctl.networks.credentials import Credential

        client_id, secret = self._app()
        self.http.add_secret(code)
        form = {
            "client_id": client_id,
            "client_secret": secret,
            "grant_type": "authorization_code",
            "redirect_uri": redirect_uri,
            "code": code,
        }
        response = self.http.request(
            "POST",
            oauth.token_url(self, self._oauth()),
            data=form,
            headers={"Accept": "application/json"},
            classify=self._refused,
        )
        answer = _json(response)
        if isinstance(answer, dict) and isinstance(answer.get("data"), list) and answer["data"]:
            answer = answer["data"][0]  # Business Login wraps it in "data"
        if not isinstance(answer, dict) or not isinstance(answer.get("access_token"), str):
            raise Permanent("Instagram's token endpoint answered without an access_token")
        short = answer["access_token"]
        self.http.add_secret(short)
        user_id = answer.get("user_id")
        long = self._token_call(
            "access_token",
            {"grant_type": "ig_exchange_token", "client_secret": secret, "access_token": short},
        )
        extra: dict[str, Any] = {"issued_at": clock.now().isoformat()}
        own = str(self.options.get("user_id") or "").strip()
        if not own and isinstance(user_id, (int, str)) and str(user_id):
            extra["user_id"] = str(user_id)
        return Credential(access=long[0], expires_at=long[1], extra=extra)

    def renew(self, current: Credential) -> Credential:
        """GET /refresh_access_token (ig_refresh_token): a new 60-day token from one at
        least 24 h old that has not expired; LoginRequired otherwise."""
        from cmctl.networks.credentials import Credential, LoginRequired

        now = clock.now()
        if current.expires_at is not None and current.expires_at <= now:
            raise LoginRequired(
                self.account_name,
                f"the Instagram login expired on {current.expires_at:%Y-%m-%d %H:%M} UTC",
            )
        issued = _time(current.extra.get("issued_at"))
        if issued is not None and now - issued < REFRESH_AFTER:
            raise LoginRequired(
                self.account_name,
                "Instagram refused a token issued less than a day ago (revoked?)",
            )
        access, expires_at = self._token_call(
            "refresh_access_token",
            {"grant_type": "ig_refresh_token", "access_token": current.access},
        )
        keep = {k: v for k, v in current.extra.items() if k not in ("seed", "seeded")}
        return Credential(
            access=access, expires_at=expires_at, extra={**keep, "issued_at": now.isoformat()}
        )

    def seeded_credential(self, tokens: Mapping[str, str], digest: str) -> Credential:
        """A seeded token's expiry is unknown: taken as 60 days from now, and refreshed at
        its first use after 24 h (the answer then says when it expires)."""
        cred = super().seeded_credential(tokens, digest)
        cred.extra.update({"issued_at": clock.now().isoformat(), "seeded": True})
        return cred

    def _token_call(self, path: str, params: dict[str, str]) -> tuple[str, datetime | None]:
        """GET graph.instagram.com/<path> with secrets in the query: (token, expiry)."""
        for value in params.values():
            self.http.add_secret(value)
        response = self.http.request(
            "GET", f"{self.api_url}/{path}", params=params, classify=self._refused
        )
        answer = _json(response)
        if not isinstance(answer, dict) or not isinstance(answer.get("access_token"), str):
            raise Permanent(f"Instagram's /{path} answered without an access_token")
        token = answer["access_token"]
        self.http.add_secret(token)
        lifetime = answer.get("expires_in")
        now = clock.now()
        expires_at = now + LONG_LIVED
        if isinstance(lifetime, (int, float)) and not isinstance(lifetime, bool) and lifetime > 0:
            expires_at = now + timedelta(seconds=float(lifetime))
        return token, expires_at

    def _refused(self, response: Response) -> SendError | None:
        """A token endpoint's no: only a new login helps (400, 401, code 190)."""
        from cmctl.networks.credentials import LoginRequired

        if response.status_code in (400, 401, 403):
            said = _graph_words(response) or f"HTTP {response.status_code}"
            return LoginRequired(
                self.account_name, f"Instagram refused the login ({self.http.redact(said)})"
            )
        return None

    def _app(self) -> tuple[str, str]:
        client_id = str(self.options.get("client_id") or "").strip()
        secret = str(self.options.get("client_secret") or "").strip()
        if not client_id or not secret:
            raise Permanent(
                "the account needs client_id and client_secret (the Instagram app ID and "
                "secret: App Dashboard → Instagram → API setup with Instagram login)"
            )
        self.http.add_secret(secret)
        return client_id, secret

    # ------------------------------------------------------------------ plumbing
    @property
    def version(self) -> str:
        version = str(self.options.get("api_version") or DEFAULT_VERSION).strip()
        if not re.fullmatch(r"v\d+\.\d+", version):
            raise Permanent(
                f"api_version {version!r} is not a Graph API version (e.g. {DEFAULT_VERSION})"
            )
        return version

    def _user(self) -> str:
        own = str(self.options.get("user_id") or "").strip()
        if own:
            return own
        self.access_token()
        learnt = self._cred.extra.get("user_id") if self._cred is not None else None
        if isinstance(learnt, str) and learnt:
            return learnt
        me = self._call("GET", "me", params={"fields": "user_id,username"})
        found = me.get("user_id") or me.get("id")
        if not isinstance(found, (str, int)) or not str(found):
            raise Permanent('set the account\'s user_id (e.g. "17841405793187218")')
        return str(found)

    def _call(self, method: str, *path: str, creates: bool = False, **kwargs: Any) -> Any:
        """One Graph call with the account's token; the JSON object it answers."""
        url = "/".join([self.api_url, self.version, *(quote(p, safe="") for p in path)])
        headers = {"Authorization": f"Bearer {self.access_token()}"}
        response = self.http.request(
            method, url, creates=creates, classify=self._classify, headers=headers, **kwargs
        )
        body = _json(response)
        if not isinstance(body, dict):
            where = f"{method} /{'/'.join(path)}"
            error = Ambiguous if creates else Transient
            raise error(f"{where}: Instagram answered {response.status_code} without JSON")
        return body

    def _read(self, *path: str, **kwargs: Any) -> Any:
        """A read for a look-up: a refused token is refreshed once; any other failure
        is Transient (asked again later, never taken for "not published")."""
        from cmctl.networks.credentials import LoginRequired

        try:
            try:
                return self._call("GET", *path, **kwargs)
            except AuthExpired:
                self.refresh()
                return self._call("GET", *path, **kwargs)
        except (Transient, LoginRequired):
            raise
        except SendError as exc:  # AuthExpired twice, a 4xx (Meta's passing code 100/33)
            raise Transient(exc.message) from None

    # ------------------------------------------------------------------ publishing
    def publish(self, out: Outgoing) -> Sent:
        if out.part:
            raise Permanent("Instagram has no threads: a post is one caption")
        if not out.media:
            raise Permanent("Instagram needs at least one image or video")
        user = self._user()
        state = dict(out.checkpoint or {})
        if state.get("mark") != _mark(out):
            state = {}  # another caption or other media: other containers
        container = state.get("container")
        if isinstance(container, str):
            status, said = self._status(container)
            if status == "PUBLISHED":  # an earlier attempt published it
                since = _time(state.get("since")) or out.scheduled_at
                found = self._search(out, since - timedelta(minutes=2))
                if found is not None:
                    return found
                raise Transient(
                    f"Instagram says container {container} is published; its media is not "
                    "listed yet (looked up again later, never published twice)"
                )
            if status == "EXPIRED":
                state = {}  # never published: start over
            elif status == "ERROR":
                out.save({})
                raise Permanent(f"Instagram could not process the media: {said or 'ERROR'}")
        if not isinstance(state.get("container"), str):
            state = self._containers(out, user, state)
        container = str(state["container"])
        status, said = self._status(container)
        if status == "IN_PROGRESS" or status == "":
            raise NotReady(
                f"Instagram is still processing the media (container {container})",
                self._poll(out),
            )
        if status == "ERROR":
            out.save({})
            raise Permanent(f"Instagram could not process the media: {said or 'ERROR'}")
        if status == "EXPIRED":
            out.save({})
            raise Transient(f"container {container} expired before it was published; made anew")
        if status == "PUBLISHED":
            raise Ambiguous(f"container {container} is already published")
        self._check_cap(user)
        # the one step that publishes (its container is in the checkpoint already)
        created = self._call(
            "POST", user, "media_publish", creates=True, data={"creation_id": container}
        )
        media_id = created.get("id")
        if not isinstance(media_id, (str, int)) or not str(media_id):
            raise Ambiguous("Instagram answered media_publish without a media id")
        return Sent(str(media_id), self._permalink(str(media_id)), {"id": str(media_id)})

    def _containers(self, out: Outgoing, user: str, state: dict[str, Any]) -> dict[str, Any]:
        """Create the containers this post needs (each saved as soon as it exists);
        NotReady while carousel items are still processed."""
        state = {"mark": _mark(out), "since": state.get("since") or clock.now().isoformat(),
                 "items": list(state.get("items") or [])}  # fmt: skip
        if len(out.media) == 1:
            form = self._item_form(out.media[0], carousel=False)
            form["caption"] = out.text
            state["container"] = self._create(user, form)
            out.save(state)
            return state
        items: list[str] = state["items"]
        for item in out.media[len(items) :]:
            items.append(self._create(user, self._item_form(item, carousel=True)))
            out.save(state)
        for child in items:
            status, said = self._status(child)
            if status in ("EXPIRED", "ERROR"):
                out.save({})
                if status == "ERROR":
                    raise Permanent(f"Instagram could not process a carousel item: {said}")
                raise Transient("a carousel item expired before it was published; made anew")
            if status != "FINISHED":
                raise NotReady(f"Instagram is still processing carousel item {child}",
                               self._poll(out))  # fmt: skip
        form = {"media_type": "CAROUSEL", "children": ",".join(items), "caption": out.text}
        state["container"] = self._create(user, form)
        out.save(state)
        return state

    def _item_form(self, item: Attachment, *, carousel: bool) -> dict[str, str]:
        url = self._media_url(item)
        if _is_video(item):
            form = {"video_url": url, "media_type": "VIDEO" if carousel else "REELS"}
        else:
            form = {"image_url": url}
            if item.alt:
                form["alt_text"] = item.alt
        if carousel:
            form["is_carousel_item"] = "true"
        return form

    def _create(self, user: str, form: dict[str, str]) -> str:
        body = self._call("POST", user, "media", data=form)
        container = body.get("id")
        if not isinstance(container, (str, int)) or not str(container):
            raise Transient("Instagram answered a container without an id")
        return str(container)

    def _status(self, container: str) -> tuple[str, str]:
        body = self._read(container, params={"fields": "status_code,status"})
        code = body.get("status_code")
        said = body.get("status")
        return (str(code) if code else "", str(said) if said else "")

    def _poll(self, out: Outgoing) -> float:
        return VIDEO_POLL if any(_is_video(m) for m in out.media) else IMAGE_POLL

    def _check_cap(self, user: str) -> None:
        """content_publishing_limit: at the cap, nothing is published until later."""
        body = self._call(
            "GET", user, "content_publishing_limit", params={"fields": "quota_usage,config"}
        )
        data = body.get("data")
        entry = data[0] if isinstance(data, list) and data and isinstance(data[0], dict) else {}
        usage = entry.get("quota_usage")
        config = entry.get("config") if isinstance(entry.get("config"), dict) else {}
        total = config.get("quota_total") if isinstance(config, dict) else None
        if isinstance(usage, int) and isinstance(total, int) and total > 0 and usage >= total:
            raise Transient(
                f"Instagram's publishing limit is reached ({usage}/{total} posts in 24 h); "
                "cmctl tries again in an hour",
                CAP_WAIT,
            )

    def _media_url(self, item: Attachment) -> str:
        return self.served_url(item)

    def _permalink(self, media_id: str) -> str | None:
        try:
            body = self._call("GET", media_id, params={"fields": "permalink"})
        except SendError:
            return None  # published all the same; the id is what matters
        url = body.get("permalink")
        return url if isinstance(url, str) and url.startswith("https://") else None

    # ------------------------------------------------------------------ look-up
    def find(self, out: Outgoing, since: datetime) -> Sent | None:
        """After an ambiguous media_publish: the saved container's status decides."""
        state = out.checkpoint or {}
        container = state.get("container")
        if isinstance(container, str) and state.get("mark") == _mark(out):
            status, _ = self._status(container)
            if status != "PUBLISHED":
                return None  # FINISHED: publish it again; EXPIRED, ERROR: nothing online
            found = self._search(out, since)
            if found is None:
                raise Transient(
                    f"Instagram says container {container} is published; its media is not "
                    "listed yet"
                )
            return found
        return self._search(out, since)

    def _search(self, out: Outgoing, since: datetime) -> Sent | None:
        """This job's media among the account's newest: its caption, at or after since."""
        user = self._user()
        params = {"fields": "id,caption,timestamp,permalink", "limit": str(LOOKUP_PAGE_SIZE)}
        for _ in range(LOOKUP_PAGES):
            body = self._read(user, "media", params=params)
            data = body.get("data")
            items = [d for d in data if isinstance(d, dict)] if isinstance(data, list) else []
            older = False
            for item in items:
                moment = _time(item.get("timestamp"))
                if moment is not None and moment < since:
                    older = True  # newest first: the rest is older still
                    continue
                caption = item.get("caption")
                if isinstance(caption, str) and _same(caption, out.text) and item.get("id"):
                    media_id = str(item["id"])
                    url = item.get("permalink")
                    return Sent(media_id, url if isinstance(url, str) else None, {"id": media_id})
            paging = body.get("paging")
            cursors = paging.get("cursors") if isinstance(paging, dict) else None
            after = cursors.get("after") if isinstance(cursors, dict) else None
            if older or not after or not isinstance(paging, dict) or "next" not in paging:
                return None
            params = {**params, "after": str(after)}
        return None

    # ------------------------------------------------------------------ check
    def check(self) -> str:
        try:
            me = self._call("GET", "me", params={"fields": "user_id,username"})
        except AuthExpired:  # renewed once, else "log in again"
            self.refresh()
            me = self._call("GET", "me", params={"fields": "user_id,username"})
        found = str(me.get("user_id") or me.get("id") or "?")
        own = str(self.options.get("user_id") or "").strip()
        if own and found != own:
            raise Permanent(
                f"the token belongs to @{me.get('username') or '?'} ({found}), not to the "
                f"account's user_id {own}: log in as that account, or fix user_id"
            )
        return f"@{me.get('username') or '?'} (Instagram {found})"

    # ------------------------------------------------------------------ errors
    def _classify(self, response: Response) -> SendError | None:
        """Graph's error codes, with Instagram's media subcodes (2207xxx)."""
        try:
            body = response.json()
        except ValueError:
            return None
        graph = read_graph_error(
            response, body, self.http.redact, user_fields=("error_user_title", "error_user_msg")
        )
        if graph is None:
            return None
        code, subcode, head = graph.code, graph.subcode, graph.head
        where = response.request.url.path
        publishing = where.endswith("/media_publish") and response.request.method == "POST"
        problem: SendError
        if response.status_code >= 500 and publishing:
            problem = Ambiguous(f"{head}; Instagram may have published it")
        elif code in ("190", "102"):
            problem = AuthExpired(f"{head}: the token was revoked or has expired")
        elif publishing and subcode == BLOCKED_SUBCODE:
            # seen answered for posts that did go out: the container's status decides
            problem = Ambiguous(f"{head}; Instagram may have published it")
        elif subcode == NOT_READY_SUBCODE:
            problem = NotReady(f"{head}: the media is not ready yet", IMAGE_POLL)
        elif code == "9" or subcode == CAP_SUBCODE:
            problem = Transient(f"{head}: Instagram's publishing limit is reached", CAP_WAIT)
        elif subcode in RETRY_SUBCODES or subcode in GONE_SUBCODES:
            problem = Transient(f"{head}: Instagram says to try again")
        elif code in THROTTLED:
            reading = self.answers.read(
                response.status_code, response.headers, response.content
            ) if self.answers is not None else None  # fmt: skip
            wait = (reading.usage_wait if reading else None) or THROTTLE_WAIT
            figures = f" ({reading.usage_said})" if reading and reading.usage_said else ""
            problem = Transient(
                f"{head}: Instagram's rate limit{figures}; calls resume in {wait / 60:.0f} min",
                wait,
            )
        elif response.status_code < 500 and code not in ("1", "2"):
            problem = Permanent(head)
        else:
            return None
        return problem


def _due(cred: Credential, now: datetime) -> bool:
    """Is the token old enough to refresh (24 h) and near its expiry (10 days), or a
    seeded one whose real expiry is unknown?"""
    issued = _time(cred.extra.get("issued_at"))
    if issued is None or now - issued < REFRESH_AFTER:
        return False
    if cred.expires_at is not None and cred.expires_at <= now:
        return False  # expired: only a login helps (the next call says so)
    if cred.extra.get("seeded"):
        return True
    return cred.expires_at is not None and cred.expires_at - now <= REFRESH_WITHIN


def _mark(out: Outgoing) -> str:
    """What the containers were made of: the caption and the media files."""
    parts = [out.text, *(f"{m.path}\0{m.alt or ''}" for m in out.media)]
    return hashlib.sha256("\0\0".join(parts).encode("utf-8")).hexdigest()[:24]


def _is_video(item: Attachment) -> bool:
    return item.path.suffix.lower() in (".mp4", ".mov", ".m4v")


def _same(found: str, sent: str) -> bool:
    def norm(text: str) -> str:
        return " ".join(text.split())

    return norm(found) == norm(sent)


def _graph_words(response: Response) -> str:
    body = _json(response)
    if not isinstance(body, dict):
        return ""
    error = body.get("error")
    if isinstance(error, dict):
        return str(error.get("message") or error.get("code") or "")
    parts = [body.get(k) for k in ("error_type", "error_message", "error", "error_description")]
    return ": ".join(str(p) for p in parts if isinstance(p, (str, int)) and p != "")


def _json(response: Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _time(value: Any) -> datetime | None:
    """An ISO 8601 time (Instagram writes 2026-12-01T08:30:00+0000), aware, or None."""
    if not isinstance(value, str) or not value:
        return None
    text = value.replace("Z", "+00:00")
    if re.search(r"[+-]\d{4}$", text):
        text = text[:-2] + ":" + text[-2:]
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None
