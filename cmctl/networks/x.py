# X (formerly Twitter). A post is created with POST /2/tweets of the X API v2; media
# are uploaded first and attached by media_id; a thread is a chain of posts, each with
# reply.in_reply_to_tweet_id set to the one before.
#
# Credentials (either of two ways)
#   https://developer.x.com → Developer Portal → Projects & Apps → your app (in a
#   Project) → User authentication settings: app permissions "Read and write", type of
#   app "Native App" (public client: no secret; cmctl uses PKCE) or "Web App, Automated
#   App or Bot" (confidential: it also gets a client secret), callback URI
#   http://127.0.0.1:8765/callback (cmctl's default `redirect_uri`), a website URL.
#   1. OAuth 2.0 (recommended): copy the "OAuth 2.0 Client ID" (and Client Secret, for
#      a confidential app) from "Keys and tokens", then `cmctl accounts login NAME`:
#          network: x
#          client_id: ${X_CLIENT_ID}
#          client_secret: ${X_CLIENT_SECRET}   # only for a confidential app
#      Scopes asked: tweet.read tweet.write users.read media.write offline.access
#      (offline.access gives a refresh token). Access tokens last 2 hours; refresh
#      tokens are single-use and rotate, so cmctl renews them itself, under the
#      credential store's lock, and saves the new pair before it uses it
#      (https://docs.x.com/fundamentals/authentication/oauth-2-0/authorization-code).
#      On a server without a browser, `access_token`/`refresh_token` may be seeded as
#      ${VAR}s; the store keeps the rotated ones from then on.
#   2. OAuth 1.0a user tokens, for an account that does not want a login flow: on the
#      app's "Keys and tokens" tab, the "API Key and Secret" and the "Access Token and
#      Secret" (generated for your own account, after setting "Read and write"):
#          network: x
#          api_key: ${X_API_KEY}
#          api_secret: ${X_API_SECRET}
#          access_token: ${X_ACCESS_TOKEN}
#          access_token_secret: ${X_ACCESS_TOKEN_SECRET}
#      Each request is signed with HMAC-SHA1 (RFC 5849, as X documents it:
#      https://docs.x.com/fundamentals/authentication/oauth-1-0a/creating-a-signature)
#      by oauthlib. These tokens do not expire unless regenerated or revoked.
#   Posting needs an API plan that allows POST /2/tweets.
#
# Sources for every limit below
#   - 280, weighted (twitter-text configuration v3: Latin, punctuation and common
#     symbols count 1, other code points such as CJK count 2, every URL counts 23,
#     every emoji counts 2): https://docs.x.com/fundamentals/counting-characters
#     and https://github.com/twitter/twitter-text/blob/master/config/v3.json
#     (vendored in ../shared/conformance/twitter-text/config-v3.json); implemented by
#     cmctl.text.twitter.weighted_length. Longer posts exist for X Premium accounts:
#     the account's `max_length` says so.
#   - "You may attach up to 4 photos, 1 animated GIF or 1 video in a Post",
#     image types JPG, PNG, GIF, WEBP, "Image size: <= 5 MB",
#     "Animated GIF size: <= 15 MB", video "File size: must not exceed 512 mb":
#     https://docs.x.com/x-api/media/quickstart/best-practices
#     (xdevplatform/docs x-api/media/quickstart/best-practices.mdx, 2026-08-22)
#   - "Image: 5 MB, GIF: 15 MB, Video: 512 MB": https://docs.x.com/x-api/media
#   - Video containers: the media_type enum of POST /2/media/upload/initialize lists
#     video/mp4, video/quicktime, video/webm and video/mp2t (openapi.json of
#     xdevplatform/docs); X's help pages name MP4 and MOV for posts.
#
# Conservative choices
#   - Video 512 MB: a draft of the same docs page gives 8 GB (16 GB for Premium) for
#     Post video; the published page and the media introduction still say 512 MB.
#   - Video types: MP4 and MOV only (what X recommends for posts); WebM and MPEG-TS are
#     accepted by the upload endpoint but not promised for posts.
#   - "MB" is taken as MiB (5 × 1024 × 1024 bytes), as in the v1.1 media docs.
#
# Publishing
#   1. Each image: POST /2/media/upload (multipart `media`, `media_category`
#      tweet_image) → data.id (https://docs.x.com/x-api/media/media-upload). A GIF or a
#      video: the chunked upload, POST /2/media/upload/initialize (JSON media_type,
#      total_bytes, media_category tweet_gif/tweet_video) → data.id, then
#      /2/media/upload/{id}/append (multipart segment_index, media; 4 MiB segments),
#      /2/media/upload/{id}/finalize → data.processing_info {state, check_after_secs};
#      while `pending`/`in_progress` cmctl asks again (GET /2/media/upload?
#      command=STATUS&media_id=ID, https://docs.x.com/x-api/mediaupload/media-upload-status)
#      on a later attempt, in check_after_secs: a NotReady, never a sleep in the send.
#      Alt text: POST /2/media/metadata {"id", "metadata": {"alt_text": {"text"}}}
#      (https://docs.x.com/x-api/media/create-media-metadata). Every media id is saved
#      in the job's checkpoint as soon as X gives it, so a retry never uploads again.
#   2. POST /2/tweets {"text", "media": {"media_ids"}, "reply": {"in_reply_to_tweet_id"}}
#      → 201 {"data": {"id", "text"}} (https://docs.x.com/x-api/posts/creation-of-a-post).
#      The post's address is https://x.com/<username>/status/<id>, the username from
#      GET /2/users/me (read once per run).
#   Rate limits: X sends no Retry-After. A 429 carries `x-rate-limit-reset` (epoch
#   seconds) for the 15-minute window and, when a 24-hour cap is spent,
#   `x-user-limit-24hour-reset` (`x-user-limit-24hour-remaining: 0`): cmctl waits until
#   the later of the resets it has reason to believe
#   (https://docs.x.com/x-api/fundamentals/rate-limits).
#   Errors are problem details {"title", "detail", "type", "status"}. 401: the access
#   token expired or was revoked: renewed once (OAuth 2.0), then "log in again".
#
# Idempotency (Idempotency.LOOKUP)
#   X has no idempotency key, and its duplicate guard (403 "You are not allowed to
#   create a Tweet with duplicate content.", akrherz/iembot#163) does not name the
#   existing post (plhery/node-twitter-api-v2#469). After an ambiguous attempt cmctl
#   reads the account's own recent posts, GET /2/users/{id}/tweets?start_time=…
#   (https://docs.x.com/x-api/users/get-posts), and takes the post whose text is this
#   job's: X returns links as t.co links, `&`, `<`, `>` HTML-escaped, and appends the
#   media's t.co link, so both sides are normalised (links replaced by a placeholder,
#   entities unescaped, NFC) before they are compared; a thread part must also reply
#   to the part before it. Found: published; not found: sent again.

from __future__ import annotations

import html
import re
import unicodedata
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, TypeAlias
from urllib.parse import quote, urlencode

from cmctl.networks.base import (
    MB,
    AccountField,
    Ambiguous,
    Duplicate,
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
from cmctl.networks.oauth import OAuthApp

if TYPE_CHECKING:
    from cmctl.networks.base import Attachment

# An httpx.Response: declaration files name no httpx, even for type checking (base.py).
Response: TypeAlias = Any

SEGMENT = 4 * MB  # bytes per APPEND of the chunked upload (X: at most 5 MB per segment)
PAGE_SIZE = 100  # max_results of GET /2/users/{id}/tweets (5..100)
MAX_PAGES = 5  # a look-up reads at most 500 of the account's recent posts
POLL_DEFAULT = 5.0  # seconds before asking again when X gives no check_after_secs
_URL = re.compile(r"https?://\S+", re.IGNORECASE)
_SPACE = re.compile(r"\s+")
OAUTH1_FIELDS = ("api_key", "api_secret", "access_token", "access_token_secret")


class X(Network):
    name: ClassVar[str] = "x"
    title: ClassVar[str] = "X"
    docs_url: ClassVar[str] = "https://docs.x.com/x-api/media/quickstart/best-practices"
    api_base: ClassVar[str | None] = "https://api.x.com"

    # The free plan: 17 posts per 24 h per user (10up/autoshare-for-twitter#351,
    # giacomov/arxiv-sanity-bot#35; see shared reference networks.md §1.1). Paid plans
    # allow more (Basic: 100 per 24 h), so this is a warning for the cheapest account.
    quotas: ClassVar[tuple[Quota, ...]] = (Quota(17, timedelta(days=1), note="free plan"),)

    max_length: ClassVar[int | None] = 280
    length_unit: ClassVar[str] = "characters"
    length_field: ClassVar[str | None] = "max_length"  # X Premium: longer posts

    media_kinds: ClassVar[tuple[MediaKind, ...]] = (
        MediaKind(
            "image",
            frozenset({"image/jpeg", "image/png", "image/webp"}),
            max_bytes=5 * MB,
            max_count=4,
        ),
        MediaKind("gif", frozenset({"image/gif"}), max_bytes=15 * MB, max_count=1),
        MediaKind(
            "video",
            frozenset({"video/mp4", "video/quicktime"}),
            max_bytes=512 * MB,
            max_count=1,
        ),
    )
    max_media: ClassVar[int] = 4
    mixed_media: ClassVar[bool] = False
    # media/metadata/create: alt_text.text is at most 1000 characters
    # (https://developer.x.com/en/docs/media/upload-media/api-reference/post-media-metadata-create)
    alt_max_length: ClassVar[int | None] = 1000

    threads: ClassVar[bool] = True

    publishes: ClassVar[bool] = True
    idempotency: ClassVar[Idempotency] = Idempotency.LOOKUP
    finds: ClassVar[bool] = True

    # https://docs.x.com/fundamentals/authentication/oauth-2-0/authorization-code:
    # the browser step on x.com, the token endpoint on the API host; a confidential
    # client authenticates with HTTP Basic, a public one sends client_id in the body.
    oauth: ClassVar[OAuthApp | None] = OAuthApp(
        auth_base="https://x.com",
        authorize_path="/i/oauth2/authorize",
        token_path="/2/oauth2/token",
        scopes=("tweet.read", "tweet.write", "users.read", "media.write", "offline.access"),
        pkce=True,
        client_auth="basic",
        secret_required=False,
        access_lifetime=timedelta(hours=2),
    )

    account_fields: ClassVar[tuple[AccountField, ...]] = (
        AccountField(
            "client_id",
            help="OAuth 2.0 Client ID of your X app (Developer Portal → Keys and tokens); "
            "then `cmctl accounts login NAME`",
        ),
        AccountField(
            "client_secret",
            secret=True,
            help="OAuth 2.0 Client Secret, for a confidential app only (a public app "
            "logs in with PKCE alone)",
        ),
        AccountField(
            "access_token",
            secret=True,
            help="OAuth 2.0: an access token to seed the login with (CI); with "
            "api_key: the OAuth 1.0a Access Token",
        ),
        AccountField(
            "refresh_token",
            secret=True,
            help="OAuth 2.0: a refresh token to seed the login with (CI); cmctl keeps "
            "the rotated ones",
        ),
        AccountField("api_key", secret=True, help="OAuth 1.0a API Key (instead of a login)"),
        AccountField("api_secret", secret=True, help="OAuth 1.0a API Key Secret"),
        AccountField("access_token_secret", secret=True, help="OAuth 1.0a Access Token Secret"),
        AccountField("auth_url", help="host of the browser login step (default https://x.com)"),
        AccountField(
            "redirect_uri",
            help="the callback URI registered with the app "
            "(default http://127.0.0.1:8765/callback)",
        ),
        AccountField(
            "max_length",
            type="integer",
            help="the account's post length when it may post more than 280 (X Premium)",
        ),
    )

    @classmethod
    def count(cls, text: str) -> int:
        """X's weighted length (twitter-text config v3)."""
        from cmctl.text.twitter import weighted_length

        return weighted_length(text)

    # ------------------------------------------------------------------ auth
    @property
    def oauth1(self) -> bool:
        """True when the account signs with OAuth 1.0a user tokens (no login flow)."""
        return bool(self.options.get("api_key") or self.options.get("access_token_secret"))

    def _authorize(
        self, method: str, url: str, params: dict[str, str] | None
    ) -> tuple[str, dict[str, str]]:
        """The URL to call (query included) and its Authorization header."""
        if params:
            url = f"{url}?{urlencode(params, quote_via=quote)}"
        if not self.oauth1:
            return url, {"Authorization": f"Bearer {self.access_token()}"}
        values = {name: str(self.options.get(name) or "") for name in OAUTH1_FIELDS}
        missing = [name for name, value in values.items() if not value]
        if missing:
            raise Permanent(
                "OAuth 1.0a needs api_key, api_secret, access_token and access_token_secret; "
                f"the account lacks {', '.join(missing)}"
            )
        for name in OAUTH1_FIELDS[1:]:
            self.http.add_secret(values[name])
        return url, {"Authorization": sign(method, url, **values)}

    def _call(
        self,
        method: str,
        path: str,
        *,
        creates: bool = False,
        params: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> Response:
        """One API call, authorised; a refused OAuth 2.0 token is renewed once."""
        base = f"{self.api_url}{path}"
        for attempt in (1, 2):
            url, headers = self._authorize(method, base, params)
            refused: list[bool] = []

            def classify(response: Response, refused: list[bool] = refused) -> SendError | None:
                if response.status_code == 401 and not self.oauth1:
                    refused.append(True)
                    return Transient("401")  # replaced below: renewed, then called again
                return self._classify(response)

            try:
                return self.http.request(
                    method, url, creates=creates, classify=classify, headers=headers, **kwargs
                )
            except Transient:
                if not refused:
                    raise
            if attempt == 2 or not self.refresh():
                break
        from cmctl.networks.credentials import LoginRequired

        raise LoginRequired(self.account_name, "X refuses its access token (401)")

    def _classify(self, response: Response) -> SendError | None:
        """X's answers the generic mapping would get wrong or leave unexplained."""
        where = f"{response.request.method} {response.request.url.path}"
        said = _said(response, self.http.redact)
        status = response.status_code
        if status == 401:  # OAuth 1.0a: the keys are wrong, regenerated or revoked
            return Permanent(
                f"{where}: 401 {said}: X refuses the OAuth 1.0a keys; check api_key, "
                "api_secret, access_token and access_token_secret (Developer Portal → "
                "your app → Keys and tokens)"
            )
        if status == 403 and "duplicate content" in said.lower():
            return Duplicate(f"{where}: 403 {said}")
        if status == 403:
            return Permanent(
                f'{where}: 403 {said}: the app needs "Read and write" permissions (User '
                "authentication settings) and an API plan that allows posting"
            )
        if status == 429:
            return Transient(f"{where}: 429 {said}", rate_limit_wait(response.headers))
        if status >= 400:
            # problem details: the generic message would show only the title
            if status in (408, 503) or status >= 500:
                return None
            return Permanent(f"{where}: {status} {said}")
        return None

    # ------------------------------------------------------------------ publishing
    def publish(self, out: Outgoing) -> Sent:
        media_ids = self._attachments(out)
        body: dict[str, Any] = {"text": out.text}
        if media_ids:
            body["media"] = {"media_ids": media_ids}
        if out.reply_to is not None:
            body["reply"] = {"in_reply_to_tweet_id": out.reply_to.remote_id}
        response = self._call("POST", "/2/tweets", creates=True, json=body)
        data = _data(response)
        tweet_id = data.get("id") if data is not None else None
        if not isinstance(tweet_id, str | int) or tweet_id == "":
            raise Ambiguous("POST /2/tweets: X answered without the post's id")
        return self._sent(str(tweet_id))

    def _sent(self, tweet_id: str) -> Sent:
        try:
            username = self._me().get("username")
        except SendError:  # the post is out: never fail it for its address
            username = None
        who = username if isinstance(username, str) and username else "i/web"
        return Sent(tweet_id, f"https://x.com/{who}/status/{tweet_id}", {"id": tweet_id})

    def _me(self) -> dict[str, Any]:
        """GET /2/users/me (id, username), read once per run."""
        me: dict[str, Any] | None = getattr(self, "_me_cache", None)
        if me is None:
            data = _data(self._call("GET", "/2/users/me"))
            if data is None or not data.get("id"):
                raise Transient("GET /2/users/me: X answered without the user's id")
            me = data
            self._me_cache = me
        return me

    def _attachments(self, out: Outgoing) -> list[str]:
        """Each attachment uploaded once (its id saved before the next step), its alt
        text set once, and its processing waited for as NotReady."""
        progress: dict[str, Any] = dict(out.checkpoint or {})
        uploaded: dict[str, str] = dict(progress.get("media") or {})
        described: set[str] = set(progress.get("alt") or ())
        processing: set[str] = set(progress.get("processing") or ())

        def save(polls: int = 0) -> None:
            out.save(
                {
                    "media": uploaded,
                    "alt": sorted(described),
                    "processing": sorted(processing),
                    "polls": polls,
                }
            )

        ids = []
        for item in out.media:
            mark = item.fingerprint
            if mark not in uploaded:
                media_id, pending = self._upload(item)
                uploaded[mark] = media_id
                if pending:
                    processing.add(media_id)
                save()
            media_id = uploaded[mark]
            if item.alt and media_id not in described:
                self._call(
                    "POST",
                    "/2/media/metadata",
                    json={"id": media_id, "metadata": {"alt_text": {"text": item.alt}}},
                )
                described.add(media_id)
                save()
            ids.append(media_id)
        for media_id in sorted(processing):
            wait = self._still_processing(media_id)
            if wait is not None:
                polls = int(progress.get("polls") or 0) + 1
                save(polls)
                raise NotReady("X is still processing an attachment", retry_in=wait)
            processing.discard(media_id)
            save()
        return ids

    def _upload(self, item: Attachment) -> tuple[str, bool]:
        """The media id of one file, and whether X is still processing it."""
        from cmctl.media import MediaProblem, read_checked

        limit = max(kind.max_bytes for kind in self.media_kinds)
        try:
            data, facts = read_checked(item.path, item.root, limit)
        except MediaProblem as p:  # checked again at send time: the file may have changed
            raise Permanent(p.message) from None
        mime = facts.mime_type or "application/octet-stream"
        kind = self.media_kind(mime)
        if kind is None or kind.kind == "image":
            response = self._call(
                "POST",
                "/2/media/upload",
                files={"media": (item.path.name, data, mime)},
                data={"media_category": "tweet_image", "media_type": mime},
            )
            answer = _data(response) or {}
            return _media_id(answer, item), _pending(answer) is not None
        category = "tweet_gif" if kind.kind == "gif" else "tweet_video"
        init = _data(
            self._call(
                "POST",
                "/2/media/upload/initialize",
                json={"media_type": mime, "total_bytes": len(data), "media_category": category},
            )
        )
        media_id = _media_id(init or {}, item)
        path = f"/2/media/upload/{quote(media_id, safe='')}"
        for index, start in enumerate(range(0, len(data), SEGMENT)):
            self._call(
                "POST",
                f"{path}/append",
                files={"media": (item.path.name, data[start : start + SEGMENT], mime)},
                data={"segment_index": str(index)},
            )
        done = _data(self._call("POST", f"{path}/finalize")) or {}
        return media_id, _pending(done) is not None

    def _still_processing(self, media_id: str) -> float | None:
        """Seconds to wait while X processes ``media_id``; None once it succeeded."""
        answer = _data(
            self._call("GET", "/2/media/upload", params={"command": "STATUS", "media_id": media_id})
        )
        return _pending(answer or {})

    # ------------------------------------------------------------------ look-up
    def find(self, out: Outgoing, since: datetime) -> Sent | None:
        """This job's post among the account's own posts since ``since``, if any."""
        user_id = str(self._me()["id"])
        start = since.astimezone(UTC).replace(microsecond=0)
        query = {
            "start_time": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "max_results": str(PAGE_SIZE),
            "tweet.fields": "created_at,text,conversation_id,referenced_tweets,note_tweet",
        }
        wanted = normalised(out.text)
        token = ""
        for _ in range(MAX_PAGES):
            page = {**query, **({"pagination_token": token} if token else {})}
            response = self._call("GET", f"/2/users/{quote(user_id, safe='')}/tweets", params=page)
            body = _json(response)
            posts = body.get("data") if body is not None else None
            for post in posts if isinstance(posts, list) else []:
                if isinstance(post, dict) and self._is_this_job(post, out, wanted):
                    return self._sent(str(post["id"]))
            meta = body.get("meta") if body is not None else None
            token = str(meta.get("next_token") or "") if isinstance(meta, dict) else ""
            if not token:
                return None
        raise Transient(
            f"GET /2/users/:id/tweets: this job's post is not in the {MAX_PAGES * PAGE_SIZE} "
            "posts read; the account posts too much to be sure (cmctl looks again later)"
        )

    @staticmethod
    def _is_this_job(post: dict[str, Any], out: Outgoing, wanted: str) -> bool:
        if not post.get("id"):
            return False
        note = post.get("note_tweet")
        text = note.get("text") if isinstance(note, dict) else None
        text = text if isinstance(text, str) else post.get("text")
        if not isinstance(text, str):
            return False
        found = normalised(text)
        if out.media:  # X appends the media's own t.co link
            found = found.removesuffix(" " + LINK).removesuffix(LINK).rstrip()
        if found != wanted:
            return False
        if out.reply_to is None:
            return True
        refs = post.get("referenced_tweets")
        return any(
            isinstance(ref, dict)
            and ref.get("type") == "replied_to"
            and str(ref.get("id")) == out.reply_to.remote_id
            for ref in (refs if isinstance(refs, list) else [])
        )

    # ------------------------------------------------------------------ settled by hand
    def reference(self, url: str) -> Sent | None:
        """The post at ``url`` (https://x.com/USER/status/ID, twitter.com too), read with
        GET /2/tweets/:id (https://docs.x.com/x-api/posts/lookup/introduction): it must
        be this account's, so that a thread never continues under someone else's post."""
        from urllib.parse import urlsplit

        link = url.strip()
        example = "https://x.com/you/status/1234567890123456789"
        try:
            parts = urlsplit(link)
        except ValueError:
            parts = urlsplit("")
        host = (parts.hostname or "").lower().removeprefix("www.").removeprefix("mobile.")
        match = re.fullmatch(r"/(?:[^/]+|i/web)/status/(\d+)/?", parts.path)
        if host not in ("x.com", "twitter.com") or match is None:
            raise Permanent(f"{link!r} is not a link to a post on X (e.g. {example})")
        tweet_id = match.group(1)
        try:
            response = self._call(
                "GET", f"/2/tweets/{tweet_id}", params={"tweet.fields": "author_id"}
            )
        except Permanent as exc:
            raise Permanent(f"X has no post {tweet_id} ({exc.message})") from None
        data = _data(response)
        if data is None:
            raise Permanent(f"X has no post {tweet_id} (its answer holds no data)")
        if str(data.get("author_id")) != str(self._me()["id"]):
            raise Permanent(f"{link} is a post of another account, not of this one")
        return self._sent(tweet_id)

    # ------------------------------------------------------------------ check
    def check(self) -> str:
        me = self._me()
        return f"@{me.get('username') or '?'} ({me.get('name') or me['id']})"


# ---------------------------------------------------------------------- helpers
LINK = "\x00link\x00"


def normalised(text: str) -> str:
    """Text as comparable with what X returns: links replaced by a placeholder (X turns
    them into t.co links), HTML entities unescaped (X returns `&amp;`, `&lt;`, `&gt;`),
    NFC, whitespace collapsed."""
    text = unicodedata.normalize("NFC", html.unescape(text))
    text = _URL.sub(LINK, text)
    return _SPACE.sub(" ", text).strip()


def sign(
    method: str,
    url: str,
    *,
    api_key: str,
    api_secret: str,
    access_token: str,
    access_token_secret: str,
    form: str | None = None,
    nonce: str | None = None,
    timestamp: str | None = None,
) -> str:
    """The OAuth 1.0a Authorization header of a request (HMAC-SHA1, RFC 5849 §3.4.2),
    its query parameters and a form-encoded body (``form``) included. JSON and
    multipart bodies are not signed (§3.4.1.3: only form-encoded bodies are), which is
    also what X documents. oauthlib computes it (a dependency for this alone: signing
    is easy to get subtly wrong, and oauthlib is the reference implementation)."""
    from oauthlib.oauth1 import Client  # type: ignore[import-untyped]

    client = Client(
        api_key,
        client_secret=api_secret,
        resource_owner_key=access_token,
        resource_owner_secret=access_token_secret,
        nonce=nonce,
        timestamp=timestamp,
    )
    headers = {"Content-Type": "application/x-www-form-urlencoded"} if form else None
    _, signed, _ = client.sign(url, method.upper(), body=form, headers=headers)
    return str(signed["Authorization"])


def rate_limit_wait(headers: Any) -> float | None:
    """Seconds until X lets the account post again: `x-rate-limit-reset` (epoch
    seconds, the 15-minute window), and `x-user-limit-24hour-reset` (or the app's)
    when that 24-hour cap is spent; the later one. None when X says nothing."""
    from cmctl import clock
    from cmctl.networks.answers import MAX_WAIT

    now = clock.now().timestamp()
    waits = []
    for prefix in ("x-rate-limit", "x-user-limit-24hour", "x-app-limit-24hour"):
        remaining = str(headers.get(f"{prefix}-remaining") or "").strip()
        if prefix != "x-rate-limit" and remaining != "0":
            continue
        try:
            reset = float(str(headers.get(f"{prefix}-reset") or "").strip())
        except ValueError:
            continue
        waits.append(min(max(reset - now, 0.0), MAX_WAIT))
    return max(waits) if waits else None


def _said(response: Response, redact: Any) -> str:
    """X's words: a problem's detail (or title), or the first of its `errors`."""
    body = _json(response)
    parts: list[str] = []
    if body is not None:
        problems = [body, *[e for e in body.get("errors") or [] if isinstance(e, dict)]]
        for problem in problems:
            for key in ("detail", "message", "title"):
                value = problem.get(key)
                if isinstance(value, str) and value:
                    parts.append(value)
                    break
            if parts:
                break
    said = redact(parts[0]) if parts else "(no explanation)"
    return str(said)[:300]


def _json(response: Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _data(response: Response) -> dict[str, Any] | None:
    body = _json(response)
    data = body.get("data") if body is not None else None
    return data if isinstance(data, dict) else None


def _media_id(answer: dict[str, Any], item: Attachment) -> str:
    media_id = answer.get("id")
    if not isinstance(media_id, str | int) or media_id == "":
        raise Transient(f"X answered the upload of {item.path.name} without a media id")
    return str(media_id)


def _pending(answer: dict[str, Any]) -> float | None:
    """Seconds to wait when ``processing_info`` says pending or in progress; None when
    the media is ready; Permanent when X failed to process it."""
    info = answer.get("processing_info")
    if not isinstance(info, dict):
        return None
    state = info.get("state")
    if state == "succeeded":
        return None
    if state == "failed":
        error = info.get("error")
        why = error.get("message") if isinstance(error, dict) else None
        raise Permanent(f"X could not process an attachment ({why or 'failed'})")
    after = info.get("check_after_secs")
    if isinstance(after, int | float) and not isinstance(after, bool) and after > 0:
        return float(min(after, 3600))
    return POLL_DEFAULT
