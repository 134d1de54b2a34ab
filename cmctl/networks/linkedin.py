# LinkedIn: posts on a member's profile or an organization (company) page, created
# with the versioned Posts API (POST https://api.linkedin.com/rest/posts, header
# `LinkedIn-Version: YYYYMM`). Images and videos are uploaded first through the
# Images API and Videos API and referenced by URN.
#
# Credentials
#   https://www.linkedin.com/developers/apps → Create app (it must be linked to a
#   company page) → Products: add "Share on LinkedIn" (scope `w_member_social`, posts
#   as you) and "Sign In with LinkedIn using OpenID Connect" (`openid profile`: cmctl
#   learns your member URN from /v2/userinfo at login). For a company page instead:
#   "Community Management API" (scopes `w_organization_social r_organization_social`;
#   you must be an ADMINISTRATOR, CONTENT_ADMIN or DIRECT_SPONSORED_CONTENT_POSTER of
#   the page) and the account's `author: urn:li:organization:<id>`. Auth tab: copy the
#   Client ID and Primary Client Secret, and add the redirect URL
#   http://127.0.0.1:8765/callback (or the account's `redirect_uri`). Then
#   `cmctl accounts login NAME`. In cmctl.yaml:
#       network: linkedin
#       client_id: 86abc...
#       client_secret: ${LINKEDIN_CLIENT_SECRET}
#       api_version: "202611"          # quoted YYYYMM, an active LinkedIn-Version
#       author: urn:li:organization:1  # only for a page; a member's is found at login
#   For CI, `access_token: ${LINKEDIN_TOKEN}` seeds a token obtained elsewhere.
#   Member tokens last 60 days and cannot be renewed by the app (programmatic refresh
#   tokens are for approved Marketing Developer Platform partners only; cmctl uses
#   one when LinkedIn issues it): `cmctl status` warns 14 days ahead; log in again.
#   https://learn.microsoft.com/en-us/linkedin/shared/authentication/authorization-code-flow
#   https://learn.microsoft.com/en-us/linkedin/shared/authentication/programmatic-refresh-tokens
#   https://learn.microsoft.com/en-us/linkedin/consumer/integrations/self-serve/sign-in-with-linkedin-v2
#
# Sources for every limit below
#   - 3000 characters of commentary: the limit LinkedIn's composer and Help Center
#     state for a post. The Posts API reference
#     (https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/posts-api)
#     documents `commentary` in "little text format"
#     (https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/little-text-format)
#     without giving a number, so 3000 is what cmctl holds it to.
#   - Images: 2 to 20 in a MultiImage post ("minimum of 2 images and maximum of 20
#     images"): https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/multiimage-post-api
#   - Image types JPG, GIF, PNG (and at most 36,152,320 pixels):
#     https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/images-api
#   - Alt text: `altText` of a media or multiImage item, "maximum of 4086 characters"
#     (Posts API, MultiImage API).
#   - Video is not published yet (the Videos API's multipart upload is not built):
#     images only, so `validate` refuses a video rather than the send failing.
#
# Conservative choices
#   - Counting: LinkedIn does not say how it counts; cmctl counts UTF-16 code units
#     (an emoji counts 2), which is never less than code points. Characters escaped
#     for little text format (a backslash before \ | { } @ [ ] ( ) < > # * _ ~) are
#     counted as written in the calendar, before escaping.
#   - Image size: the Images API gives a pixel limit but no byte limit; 5 MB (MiB) is
#     what LinkedIn's own composer accepts and what publishers document.

#
# Publishing
#   Every call carries `Authorization: Bearer`, `LinkedIn-Version: <api_version>` and
#   `X-Restli-Protocol-Version: 2.0.0` (https://learn.microsoft.com/en-us/linkedin/marketing/versioning).
#   1. Each image: POST /rest/images?action=initializeUpload {"initializeUploadRequest":
#      {"owner": author}} → value.uploadUrl and value.image (urn:li:image:...); PUT the
#      bytes to uploadUrl. The image URNs are saved as the job's checkpoint before the
#      post: a retry never uploads them again (Images API, link above).
#   2. POST /rest/posts {author, commentary, visibility: PUBLIC, distribution
#      {feedDistribution: MAIN_FEED, targetEntities: [], thirdPartyDistributionChannels:
#      []}, lifecycleState: PUBLISHED, isReshareDisabledByAuthor: false, content: {media:
#      {id, altText}} | {multiImage: {images: [{id, altText}]}}} → 201, the post's URN
#      in the `x-restli-id` header; its URL https://www.linkedin.com/feed/update/<urn>/.
#   3. A thread part is a comment on the post: POST /rest/socialActions/<urn>/comments
#      {actor, object, message: {text}}
#      (https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/comments-api).
#   The commentary is "little text": every reserved character \ | { } @ [ ] ( ) < > # * _ ~
#   is escaped with a backslash, or LinkedIn silently cuts the post at the first one while
#   answering 201 (apoorvdarshan/crossposter v1.1.5, alexey-pelykh/linkedctl#194,
#   ComposioHQ/composio#2710). Left as written: URLs (so they still link) and the last line
#   of hashtags cmctl writes from `hashtags:` (`#tag`, little text's HashtagElement; a
#   reserved character inside a tag is escaped). A `#` the author typed in the text is
#   escaped, shown as a plain '#'. Comments are plain text (`message.text`), sent as written.
#   Errors: {"status", "serviceErrorCode", "code", "message"}. 401 → the stored login is
#   renewed once (a member's cannot be: "log in again: cmctl accounts login NAME"). 426
#   NONEXISTENT_VERSION → which `api_version` to set. 429: LinkedIn sends no Retry-After
#   (its limits are daily, reset at midnight UTC): cmctl waits RATE_LIMIT_WAIT seconds
#   (a Retry-After, when sent, wins), then the publisher's usual give-up applies.
#
# Idempotency (NONE, with a look-up where the app may read)
#   No idempotency key. A 422 DUPLICATE_POST names the existing post ("Content is a
#   duplicate of urn:li:share:...", Arisamiga/Linkedin-RSS#5): after an earlier attempt of
#   the same job that post is this job's, and ``find`` returns it (the publisher records
#   it as published); on a first attempt it is someone else's identical post: failed.
#   Listing the author's posts (GET /rest/posts?q=author) needs r_member_social (closed to
#   most apps) or, for a page, r_organization_social: ``find`` asks, and a 403 means "no
#   look-up": after an ambiguous answer the job is then `unknown` (check the profile, then
#   `cmctl resolve`), never resent. A comment cannot be listed by a member's app: an
#   ambiguous comment is `unknown` too.
#
# Checking an account (`check`)
#   GET /v2/userinfo (a member's name) or GET /rest/organizations/<id> (a page's name);
#   warns when `api_version` is more than VERSION_WARN_MONTHS months old (LinkedIn sunsets
#   versions about a year after release).

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, TypeAlias
from urllib.parse import quote

from cmctl.networks.base import (
    MB,
    AccountField,
    Ambiguous,
    Answers,
    AuthExpired,
    Duplicate,
    Idempotency,
    MediaKind,
    Network,
    Outgoing,
    Permanent,
    SendError,
    Sent,
    Transient,
)
from cmctl.networks.oauth import OAuthApp

if TYPE_CHECKING:
    from cmctl.networks.base import Attachment
    from cmctl.networks.credentials import Credential

Response: TypeAlias = Any  # an httpx.Response (declaration files name no httpx)

RESERVED = frozenset("\\|{}@[]()<>#*_~")
RATE_LIMIT_WAIT = 60.0  # seconds after a 429 without Retry-After
VERSION_WARN_MONTHS = 10
LOOKUP_COUNT = 50  # the author's latest posts a look-up reads
MEMBER_SCOPES = ("openid", "profile", "w_member_social")
ORGANIZATION_SCOPES = ("w_organization_social", "r_organization_social")
WEB = "https://www.linkedin.com"

_URL = re.compile(r"https?://[^\s<>\\]+")
_VERSION = re.compile(r"^(\d{4})(\d{2})(\.\d{2})?$")
_DUPLICATE_OF = re.compile(r"urn:li:(?:share|ugcPost):\d+")
_FEED_URL = re.compile(
    r"^https://(?:www\.)?linkedin\.com/feed/update/(urn:li:(?:share|ugcPost|activity):\d+)/?(?:[?#].*)?$"
)
_AUTHOR = re.compile(r"^urn:li:(person|organization):[A-Za-z0-9_-]+$")


class LinkedIn(Network):
    name: ClassVar[str] = "linkedin"
    title: ClassVar[str] = "LinkedIn"
    docs_url: ClassVar[str] = (
        "https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/posts-api"
    )
    api_base: ClassVar[str | None] = "https://api.linkedin.com"
    abbreviation: ClassVar[str | None] = "in"

    # Error bodies: {"status": 401, "serviceErrorCode": 65600, "code":
    # "INVALID_ACCESS_TOKEN", "message": "Invalid access token"}
    # (https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/error-handling).
    answers: ClassVar[Answers | None] = Answers(
        message=("message",),
        code=("code",),
        expired=frozenset({"INVALID_ACCESS_TOKEN", "EXPIRED_ACCESS_TOKEN", "REVOKED_ACCESS_TOKEN"}),
        expired_statuses=frozenset({401}),
    )

    max_length: ClassVar[int | None] = 3000
    length_unit: ClassVar[str] = "characters"

    media_kinds: ClassVar[tuple[MediaKind, ...]] = (
        MediaKind(
            "image",
            frozenset({"image/jpeg", "image/png", "image/gif"}),
            max_bytes=5 * MB,
            max_count=20,
        ),
    )
    max_media: ClassVar[int] = 20
    mixed_media: ClassVar[bool] = False
    alt_max_length: ClassVar[int | None] = 4086

    threads: ClassVar[bool] = True  # follow-up parts as comments on the post

    publishes: ClassVar[bool] = True
    idempotency: ClassVar[Idempotency] = Idempotency.NONE
    finds: ClassVar[bool] = True

    oauth: ClassVar[OAuthApp | None] = OAuthApp(
        auth_base=WEB,
        authorize_path="/oauth/v2/authorization",
        token_path="/oauth/v2/accessToken",
        token_base=WEB,
        scopes=MEMBER_SCOPES,
        pkce=False,  # LinkedIn's standard 3-legged flow has no PKCE
        client_auth="body",
        access_lifetime=timedelta(days=60),
    )

    account_fields: ClassVar[tuple[AccountField, ...]] = (
        AccountField(
            "client_id",
            required=True,
            help="the app's Client ID (linkedin.com/developers/apps → your app → Auth)",
        ),
        AccountField(
            "client_secret",
            required=True,
            secret=True,
            help="the app's Primary Client Secret (same Auth tab), as ${VAR}",
        ),
        AccountField(
            "api_version",
            required=True,
            help='the LinkedIn-Version to call, "YYYYMM" in quotes (an active version: '
            "LinkedIn sunsets them after about a year)",
            example='"202611"',
        ),
        AccountField(
            "author",
            help="who posts: urn:li:organization:<id> for a page; a member's "
            "urn:li:person:<id> is found at login when left out",
        ),
        AccountField(
            "access_token",
            secret=True,
            help="a member access token obtained elsewhere, as ${VAR} (CI); otherwise "
            "`cmctl accounts login NAME` stores one",
        ),
        AccountField(
            "redirect_uri",
            help="the redirect URL registered on the app's Auth tab "
            "(default http://127.0.0.1:8765/callback)",
        ),
        AccountField(
            "auth_url",
            default=WEB,
            url=True,
            help="host of the browser login step (default https://www.linkedin.com); "
            "the token exchange goes there too",
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The post a DUPLICATE_POST refusal named, by job key (what ``find`` returns).
        self._duplicate_of: dict[str, str] = {}
        self._member = ""  # the member found at login (or asked), when no `author`

    @classmethod
    def count(cls, text: str) -> int:
        """UTF-16 code units (conservative: LinkedIn does not document its count)."""
        from cmctl.text.units import utf16_length

        return utf16_length(text)

    # ------------------------------------------------------------------ login
    def authorization_url(self, state: str, challenge: str | None, redirect_uri: str) -> str:
        from cmctl.networks import oauth

        app = self._oauth()
        if self._configured_author().startswith("urn:li:organization:"):
            app = replace(app, scopes=ORGANIZATION_SCOPES)
        return oauth.authorization_url(self, app, state, challenge, redirect_uri)

    def exchange_code(self, code: str, verifier: str | None, redirect_uri: str) -> Credential:
        """The code's token; a member's URN from /v2/userinfo when the account names
        no ``author`` (kept in the credential)."""
        cred = super().exchange_code(code, None, redirect_uri)  # no PKCE at LinkedIn
        if self._configured_author():
            return cred
        return replace(cred, extra={**cred.extra, **self._userinfo(cred.access)})

    def renew(self, current: Credential) -> Credential:
        if current.refresh is not None:  # an approved partner's programmatic refresh
            return super().renew(current)
        from cmctl.networks.credentials import LoginRequired

        raise LoginRequired(
            self.account_name,
            "the LinkedIn login has expired or was revoked (member logins last 60 days "
            "and cannot be renewed by an app)",
        )

    def _auth_base(self) -> str:
        return str(self.options.get("auth_url") or "").strip().rstrip("/") or WEB

    def _oauth(self) -> OAuthApp:
        app = super()._oauth()
        return replace(app, token_base=self._auth_base())

    def _userinfo(self, token: str) -> dict[str, str]:
        response = self.http.request(
            "GET", f"{self.api_url}/v2/userinfo", headers={"Authorization": f"Bearer {token}"}
        )
        body = _json_object(response) or {}
        sub = body.get("sub")
        if not isinstance(sub, str) or not sub:
            raise Permanent(
                "LinkedIn's /v2/userinfo named no member: add the product \"Sign In with "
                "LinkedIn using OpenID Connect\" to the app, or set the account's `author`"
            )
        name = body.get("name")
        found = {"author": f"urn:li:person:{sub}"}
        if isinstance(name, str) and name:
            found["name"] = name
        return found

    # ------------------------------------------------------------------ calls
    def _configured_author(self) -> str:
        return str(self.options.get("author") or "").strip()

    @property
    def author(self) -> str:
        """The account's ``author``, else the member found at login, else asked now."""
        author = self._configured_author()
        if not author:
            if self._member:
                return self._member
            cred = self._stored_credential(refused=None)
            author = str(cred.extra.get("author") or "") or self._userinfo(cred.access)["author"]
            self._member = author
        if not _AUTHOR.match(author):
            raise Permanent(
                f"the account's author {author!r} is not urn:li:person:<id> nor "
                "urn:li:organization:<id>"
            )
        return author

    @property
    def version(self) -> str:
        value = self.options.get("api_version")
        text = str(value).strip() if isinstance(value, str) else ""
        if not _VERSION.match(text) or not 1 <= int(text[4:6]) <= 12:
            raise Permanent(
                f'the account\'s api_version {value!r} is not "YYYYMM": set it to an active '
                f'LinkedIn version, quoted, e.g. api_version: "{suggested_version()}"'
            )
        return text

    def _headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.access_token()}",
            "LinkedIn-Version": self.version,
            "X-Restli-Protocol-Version": "2.0.0",
        }

    def _call(self, method: str, path: str, *, creates: bool = False, **kwargs: Any) -> Response:
        """One call to the versioned API (or /v2/...), errors classified."""
        url = path if "://" in path else f"{self.api_url}{path}"
        extra = kwargs.pop("classify", None)

        def classify(response: Response) -> SendError | None:
            problem: SendError | None = extra(response) if extra is not None else None
            return problem or self._classify(response)

        headers = {**self._headers(), **kwargs.pop("headers", {})}
        return self.http.request(
            method, url, creates=creates, classify=classify, headers=headers, **kwargs
        )

    def _classify(self, response: Response) -> SendError | None:
        body = _json_object(response) or {}
        code = str(body.get("code") or "")
        said = self.http.error_message(response)
        where = f"{response.request.method} {response.request.url.path}"
        if response.status_code == 426 or code == "NONEXISTENT_VERSION":
            return Permanent(
                f"{where}: {response.status_code} {said} (NONEXISTENT_VERSION): LinkedIn "
                "no longer serves "
                f"api_version {self.options.get('api_version')!r}: set the account's "
                f"api_version to an active version, quoted, e.g. api_version: "
                f'"{suggested_version()}"'
            )
        if response.status_code == 429 and "retry-after" not in response.headers:
            return Transient(
                f"{where}: 429 {said} (LinkedIn's limits are daily, reset at midnight UTC)",
                RATE_LIMIT_WAIT,
            )
        return None

    # ------------------------------------------------------------------ publishing
    def publish(self, out: Outgoing) -> Sent:
        if out.part and out.root is not None:
            return self._comment(out)
        progress: dict[str, Any] = dict(out.checkpoint or {})
        author = self.author
        images = self._images(out, progress, author)
        payload: dict[str, Any] = {
            "author": author,
            "commentary": commentary(out),
            "visibility": "PUBLIC",
            "distribution": {
                "feedDistribution": "MAIN_FEED",
                "targetEntities": [],
                "thirdPartyDistributionChannels": [],
            },
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": False,
        }
        items = [{"id": urn, **({"altText": alt} if alt else {})} for urn, alt in images]
        if len(items) == 1:
            payload["content"] = {"media": items[0]}
        elif items:
            payload["content"] = {"multiImage": {"images": items}}

        def duplicate(response: Response) -> SendError | None:
            text = response.text if response.status_code == 422 else ""
            if "DUPLICATE_POST" not in text:
                return None
            found = _DUPLICATE_OF.search(text)
            if found is not None:
                self._duplicate_of[out.key] = found.group(0)
            said = self.http.error_message(response)
            return Duplicate(f"POST /rest/posts: 422 {said} (DUPLICATE_POST)")

        response = self._call("POST", "/rest/posts", creates=True, json=payload, classify=duplicate)
        urn = response.headers.get("x-restli-id") or ""
        if not urn.startswith("urn:li:"):
            raise Ambiguous("POST /rest/posts: LinkedIn answered without the post's x-restli-id")
        return _post_sent(urn)

    def _images(
        self, out: Outgoing, progress: dict[str, Any], author: str
    ) -> list[tuple[str, str | None]]:
        done: dict[str, str] = dict(progress.get("images") or {})
        found = []
        for item in out.media:
            mark = item.fingerprint
            if mark not in done:
                done[mark] = self._upload(item, author)
                progress["images"] = dict(done)
                out.save(dict(progress))
            found.append((done[mark], (item.alt or "").strip() or None))
        return found

    def _upload(self, item: Attachment, author: str) -> str:
        from cmctl.media import MediaProblem, read_checked

        try:
            data, facts = read_checked(item.path, item.root, self.media_kinds[0].max_bytes)
        except MediaProblem as p:
            raise Permanent(p.message) from None
        response = self._call(
            "POST",
            "/rest/images?action=initializeUpload",
            json={"initializeUploadRequest": {"owner": author}},
        )
        value = (_json_object(response) or {}).get("value")
        value = value if isinstance(value, dict) else {}
        upload_url, image = value.get("uploadUrl"), value.get("image")
        if not isinstance(upload_url, str) or not isinstance(image, str) or not image:
            raise Transient("initializeUpload: LinkedIn answered without an upload URL")
        self.http.add_secret(upload_url, partial=False)  # a signed URL: never shown
        self.http.request(
            "PUT",
            upload_url,
            content=data,
            headers={
                "Authorization": f"Bearer {self.access_token()}",
                "Content-Type": facts.mime_type or "application/octet-stream",
            },
        )
        return image

    def _comment(self, out: Outgoing) -> Sent:
        root = out.root
        assert root is not None
        post = root.remote_id
        response = self._call(
            "POST",
            f"/rest/socialActions/{quote(post, safe='')}/comments",
            creates=True,
            json={"actor": self.author, "object": post, "message": {"text": out.text}},
        )
        body = _json_object(response) or {}
        urn = response.headers.get("x-restli-id") or str(body.get("$URN") or "")
        if not urn:
            cid = body.get("id")
            urn = f"urn:li:comment:({post},{cid})" if cid else ""
        if not urn:
            raise Ambiguous("the comment's answer named no comment (x-restli-id)")
        url = f"{WEB}/feed/update/{post}/?commentUrn={quote(urn, safe='')}"
        return Sent(remote_id=urn, url=url, ref={"urn": urn, "post": post})

    # ------------------------------------------------------------------ look-up
    def find(self, out: Outgoing, since: datetime) -> Sent | None:
        """This job's post: the one a DUPLICATE_POST refusal named, else the author's
        latest posts with this commentary, created since ``since``. None when the app
        may not read them (403: no r_member_social / r_organization_social) and for a
        comment (a member's app cannot list comments)."""
        named = self._duplicate_of.get(out.key)
        if named is not None:
            return _post_sent(named)
        if out.part:
            return None
        author = self.author

        def forbidden(response: Response) -> SendError | None:
            return Permanent("no look-up") if response.status_code == 403 else None

        try:
            response = self._call(
                "GET",
                "/rest/posts",
                params={
                    "q": "author",
                    "author": author,
                    "count": str(LOOKUP_COUNT),
                    "sortBy": "CREATED",
                },
                classify=forbidden,
            )
        except Permanent as exc:
            if exc.message == "no look-up":
                return None
            raise
        elements = (_json_object(response) or {}).get("elements")
        wanted = commentary(out)
        after = since.timestamp() * 1000
        for element in elements if isinstance(elements, list) else []:
            if not isinstance(element, dict) or element.get("commentary") != wanted:
                continue
            created = element.get("createdAt")
            if isinstance(created, int | float) and created < after:
                continue
            urn = element.get("id")
            if isinstance(urn, str) and urn.startswith("urn:li:"):
                return _post_sent(urn)
        return None

    def reference(self, url: str) -> Sent | None:
        """The post a link names (https://www.linkedin.com/feed/update/<urn>/), so that
        the thread's comments can follow a post settled by hand. Read from the link
        alone: a member's app cannot read the post back."""
        found = _FEED_URL.match(url.strip())
        if found is None:
            raise Permanent(
                f"{url!r} is not a LinkedIn post link: expected "
                "https://www.linkedin.com/feed/update/urn:li:share:<id>/ (the post's "
                '"Copy link to post", opened in a browser)'
            )
        return _post_sent(found.group(1))

    # ------------------------------------------------------------------ check
    def check(self) -> str:
        try:
            who = self._who()
        except AuthExpired:
            self.refresh()  # a member's login cannot be renewed: LoginRequired says so
            who = self._who()
        warning = version_warning(self.version)
        return f"{who}, LinkedIn-Version {self.version}" + (
            f" (warning: {warning})" if warning else ""
        )

    def _who(self) -> str:
        author = self.author
        if author.startswith("urn:li:organization:"):
            org = author.rpartition(":")[2]

            def forbidden(response: Response) -> SendError | None:
                return Permanent("unnamed") if response.status_code == 403 else None

            try:
                body = _json_object(
                    self._call("GET", f"/rest/organizations/{org}", classify=forbidden)
                )
            except Permanent as exc:
                if exc.message != "unnamed":
                    raise
                return f"page {author}"
            name = (body or {}).get("localizedName")
            return f"page {name} ({author})" if name else f"page {author}"
        body = _json_object(self._call("GET", "/v2/userinfo")) or {}
        name = body.get("name")
        return f"{name} ({author})" if name else author


# ---------------------------------------------------------------------- little text
def escape(text: str) -> str:
    """``text`` as little text showing it as written: every reserved character escaped,
    URLs left as they are (so LinkedIn still links them)."""
    out: list[str] = []
    last = 0
    for match in _URL.finditer(text):
        url = _trim_url(match.group(0))
        out.append(_escape_plain(text[last : match.start()]))
        out.append(url)
        last = match.start() + len(url)
    out.append(_escape_plain(text[last:]))
    return "".join(out)


def _trim_url(url: str) -> str:
    """A URL without the punctuation that ends the sentence around it (a closing
    parenthesis the URL did not open included)."""
    while url and url[-1] in ".,;:!?'\"":
        url = url[:-1]
    while url.endswith(")") and url.count(")") > url.count("("):
        url = url[:-1]
    return url


def _escape_plain(text: str) -> str:
    return "".join("\\" + c if c in RESERVED else c for c in text)


def commentary(out: Outgoing) -> str:
    """The post's commentary: its text escaped, the hashtag line cmctl wrote (from
    ``hashtags:``) kept as hashtags."""
    text = out.text
    line = " ".join(f"#{tag}" for tag in out.tags)
    if out.part == 0 and out.tags and (text == line or text.endswith("\n\n" + line)):
        head = text[: len(text) - len(line)]
        tags = " ".join("#" + _escape_plain(tag) for tag in out.tags)
        return escape(head) + tags
    return escape(text)


# ---------------------------------------------------------------------- versions
def suggested_version(today: datetime | None = None) -> str:
    """Last month as YYYYMM: LinkedIn releases a version each month, and last month's is
    out (and active for about a year)."""
    from cmctl import clock

    now = today or clock.now()
    year, month = (now.year, now.month - 1) if now.month > 1 else (now.year - 1, 12)
    return f"{year:04d}{month:02d}"


def version_warning(version: str, today: datetime | None = None) -> str | None:
    """A warning when ``version`` (YYYYMM) is more than VERSION_WARN_MONTHS months old."""
    from cmctl import clock

    now = today or clock.now()
    match = _VERSION.match(version)
    if match is None:
        return None
    age = (now.year - int(match.group(1))) * 12 + now.month - int(match.group(2))
    if age <= VERSION_WARN_MONTHS:
        return None
    return (
        f'api_version "{version}" is {age} months old; LinkedIn sunsets versions after about '
        f'a year: set api_version: "{suggested_version(now)}" (quoted) and check the changes'
    )


def _post_sent(urn: str) -> Sent:
    return Sent(remote_id=urn, url=f"{WEB}/feed/update/{urn}/", ref={"urn": urn})


def _json_object(response: Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None
