"""A fake LinkedIn: the OAuth endpoints, /v2/userinfo, and the versioned REST API
(posts, images, comments, organizations), for one member and one page.

Follows LinkedIn's documentation:

- OAuth 2.0 3-legged flow: POST /oauth/v2/accessToken (form: grant_type
  authorization_code, code, redirect_uri, client_id, client_secret) → {"access_token",
  "expires_in": 5184000 (60 days), "scope"}; no refresh token (programmatic refresh is for
  approved partners only); a refresh_token grant is refused
  (https://learn.microsoft.com/en-us/linkedin/shared/authentication/authorization-code-flow,
  .../programmatic-refresh-tokens);
- GET /v2/userinfo (OpenID Connect): {"sub", "name", ...}
  (https://learn.microsoft.com/en-us/linkedin/consumer/integrations/self-serve/sign-in-with-linkedin-v2);
- every /rest call needs `LinkedIn-Version: YYYYMM` of an active version (426
  NONEXISTENT_VERSION otherwise) and `X-Restli-Protocol-Version: 2.0.0`
  (https://learn.microsoft.com/en-us/linkedin/marketing/versioning);
- errors {"status", "serviceErrorCode", "code", "message"}; 401 INVALID_ACCESS_TOKEN /
  EXPIRED_ACCESS_TOKEN (https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/error-handling);
- POST /rest/posts → 201, empty body, the URN in `x-restli-id`; identical commentary and
  content by the same author → 422 DUPLICATE_POST naming the existing URN (the body
  quoted in Arisamiga/Linkedin-RSS#5); GET /rest/posts?q=author needs r_member_social or
  r_organization_social (403 ACCESS_DENIED otherwise)
  (https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/posts-api);
- the commentary is little text: shown up to the first unescaped reserved character
  and silently cut there, still answering 201 (the failure apoorvdarshan/crossposter
  v1.1.5 and alexey-pelykh/linkedctl#194 describe); `\\x` is a literal x, `#word` a
  hashtag, `{hashtag|\\#|word}` a hashtag template, `@[Name](urn)` a mention, URLs as is
  (https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/little-text-format);
- POST /rest/images?action=initializeUpload → value.uploadUrl / value.image; PUT the bytes
  there (https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/images-api);
- POST /rest/socialActions/{post urn}/comments {actor, object, message: {text}} → 201,
  `x-restli-id` urn:li:comment:(urn:li:activity:N,M)
  (https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/comments-api);
- GET /rest/organizations/{id} → {"localizedName"}.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import unquote

from tests.fakes.base import FakeServer, RecordedRequest, Reply, parse_form

CLIENT_ID = "86cmctlclient"
CLIENT_SECRET = "li-client-secret-0123456789"
MEMBER_SUB = "782bbtaQ"
MEMBER = f"urn:li:person:{MEMBER_SUB}"
MEMBER_NAME = "Camille Martin"
ORG_ID = "2414183"
ORGANIZATION = f"urn:li:organization:{ORG_ID}"
ORG_NAME = "Acme Coffee"
TOKEN = "AQVmember-token-0123456789abcdef"  # a member's: may post, may not read
PAGE_TOKEN = "AQVpage-token-0123456789abcdef"  # a page admin's: may post and read
# Active versions: a year of monthly releases before the tests' date (December 2026).
VERSIONS = frozenset(f"2026{m:02d}" for m in range(1, 12)) | {"202512"}
LIFETIME = timedelta(days=60)
RESERVED = set("\\|{}@[]()<>#*_~")
_URL = re.compile(r"https?://[^\s<>\\]+")
_HASHTAG = re.compile(r"#(\w+)")
_TEMPLATE = re.compile(r"\{hashtag\|\\#\|(\w+)\}")
_MENTION = re.compile(r"@\[[^\]]*\]\(urn:li:(?:person|organization):[\w-]+\)")


def error(status: int, code: str, message: str, service: int = 0) -> dict[str, Any]:
    """LinkedIn's error body."""
    return {"status": status, "serviceErrorCode": service, "code": code, "message": message}


def render(little: str) -> str:
    """The text LinkedIn shows for ``little``: cut at the first unescaped reserved char."""
    shown: list[str] = []
    i = 0
    while i < len(little):
        c = little[i]
        if c == "\\" and i + 1 < len(little):
            shown.append(little[i + 1])
            i += 2
            continue
        if c in "hH" and (m := _URL.match(little, i)):
            url = _linked(m.group(0))
            shown.append(url)
            i += len(url)
            continue
        if c in RESERVED:
            for pattern in (_HASHTAG, _TEMPLATE, _MENTION):
                m = pattern.match(little, i)
                if m:
                    shown.append("#" + m.group(1) if pattern is not _MENTION else m.group(0))
                    i = m.end()
                    break
            else:
                return "".join(shown)  # silently cut here
            continue
        shown.append(c)
        i += 1
    return "".join(shown)


def _linked(url: str) -> str:
    """The part of a URL-looking run LinkedIn links: not the sentence's final
    punctuation, nor a closing parenthesis opened before the URL."""
    end = len(url)
    while end and (
        url[end - 1] in ".,;:!?'\""
        or (url[end - 1] == ")" and url[:end].count(")") > url[:end].count("("))
    ):
        end -= 1
    return url[:end]


@dataclass
class Token:
    sub: str
    scopes: frozenset[str]
    expires_at: datetime
    revoked: bool = False


@dataclass
class Post:
    id: str
    author: str
    commentary: str
    text: str  # as shown
    content: dict[str, Any] | None
    created_at: datetime
    comments: list[dict[str, Any]] = field(default_factory=list)


class FakeLinkedIn(FakeServer):
    name: ClassVar[str] = "fake-linkedin"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # The two given tokens never expire on their own (tests freeze and move the
        # clock after the fake starts): ``expire()`` ends one.
        forever = datetime(9999, 1, 1, tzinfo=UTC)
        self.tokens: dict[str, Token] = {
            TOKEN: Token(MEMBER_SUB, frozenset({"openid", "profile", "w_member_social"}), forever),
            PAGE_TOKEN: Token(
                MEMBER_SUB, frozenset({"w_organization_social", "r_organization_social"}), forever
            ),
        }
        self.codes: dict[str, frozenset[str]] = {}
        self.posts: list[Post] = []
        self.images: dict[str, bytes | None] = {}
        self._uploads: dict[str, str] = {}
        self._seq = 7141138937766391000

    # -- helpers for tests ---------------------------------------------------------
    def issue_code(self, scopes: tuple[str, ...] = ("openid", "profile", "w_member_social")) -> str:
        code = f"code-{len(self.codes) + 1}"
        self.codes[code] = frozenset(scopes)
        return code

    def expire(self, token: str = TOKEN) -> None:
        with self._lock:
            self.tokens[token].expires_at = self.now() - timedelta(seconds=1)

    def revoke(self, token: str = TOKEN) -> None:
        with self._lock:
            self.tokens[token].revoked = True

    def comments(self) -> list[dict[str, Any]]:
        return [c for p in self.posts for c in p.comments]

    def _next(self) -> int:
        self._seq += 1
        return self._seq

    # -- routing ---------------------------------------------------------------------
    def route(self, request: RecordedRequest) -> Reply:
        path = request.path
        if path == "/oauth/v2/accessToken" and request.method == "POST":
            return self._token(request)
        if path.startswith("/upload/") and request.method == "PUT":
            return self._upload(request)
        token = self._bearer(request)
        if isinstance(token, Reply):
            return token
        if path == "/v2/userinfo":
            return Reply(200, {"sub": token.sub, "name": MEMBER_NAME, "given_name": "Camille"})
        if not path.startswith("/rest/"):
            return Reply(404, error(404, "NOT_FOUND", f"No resource found for {path}"))
        version = request.headers.get("linkedin-version", "")
        if version not in VERSIONS:
            return Reply(
                426, error(426, "NONEXISTENT_VERSION", f"Requested version {version} is not active")
            )
        if request.headers.get("x-restli-protocol-version") != "2.0.0":
            return Reply(
                400, error(400, "ILLEGAL_ARGUMENT", "X-Restli-Protocol-Version 2.0.0 required")
            )
        if path == "/rest/posts" and request.method == "POST":
            return self._create(request, token)
        if path == "/rest/posts" and request.method == "GET":
            return self._list(request, token)
        if path == "/rest/images" and request.param("action") == "initializeUpload":
            return self._initialize(request)
        m = re.fullmatch(r"/rest/socialActions/([^/]+)/comments", path)
        if m and request.method == "POST":
            return self._comment(request, unquote(m.group(1)))
        m = re.fullmatch(r"/rest/organizations/(\d+)", path)
        if m and request.method == "GET":
            if m.group(1) != ORG_ID:
                return Reply(404, error(404, "NOT_FOUND", "Organization not found"))
            return Reply(200, {"id": int(ORG_ID), "localizedName": ORG_NAME})
        return Reply(404, error(404, "NOT_FOUND", f"No resource found for {path}"))

    def _bearer(self, request: RecordedRequest) -> Token | Reply:
        header = request.headers.get("authorization", "")
        token = self.tokens.get(header.removeprefix("Bearer ").strip())
        if token is None or token.revoked:
            return Reply(
                401,
                error(
                    401,
                    "REVOKED_ACCESS_TOKEN" if token else "INVALID_ACCESS_TOKEN",
                    "The token used in the request has been revoked by the user"
                    if token
                    else "Invalid access token",
                    65601 if token else 65600,
                ),
            )
        if token.expires_at <= self.now():
            return Reply(
                401,
                error(
                    401, "EXPIRED_ACCESS_TOKEN", "The token used in the request has expired", 65601
                ),
            )
        return token

    def _token(self, request: RecordedRequest) -> Reply:
        form = {k: v[0].text for k, v in parse_form(request).items()}
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return Reply(
                401,
                {"error": "invalid_client", "error_description": "Client authentication failed"},
            )
        if form.get("grant_type") == "refresh_token":
            return Reply(
                400,
                {
                    "error": "invalid_request",
                    "error_description": "Unable to retrieve access token: appid/redirect uri/"
                    "code verifier does not "
                    "match authorization code. Or authorization code expired.",
                },
            )
        scopes = self.codes.pop(form.get("code", ""), None)
        if form.get("grant_type") != "authorization_code" or scopes is None:
            return Reply(
                400,
                {
                    "error": "invalid_request",
                    "error_description": "Unable to retrieve access token: "
                    "authorization code not found",
                },
            )
        access = f"AQV-issued-{len(self.tokens)}-token-value"
        self.tokens[access] = Token(MEMBER_SUB, scopes, self.now() + LIFETIME)
        return Reply(
            200,
            {
                "access_token": access,
                "expires_in": int(LIFETIME.total_seconds()),
                "scope": ",".join(sorted(scopes)),
            },
        )

    def _author_allowed(self, token: Token, author: str) -> bool:
        if author == f"urn:li:person:{token.sub}":
            return "w_member_social" in token.scopes
        return author == ORGANIZATION and "w_organization_social" in token.scopes

    def _create(self, request: RecordedRequest, token: Token) -> Reply:
        body = request.json if isinstance(request.json, dict) else {}
        author = str(body.get("author") or "")
        if not self._author_allowed(token, author):
            return Reply(
                403, error(403, "ACCESS_DENIED", f"Not enough permissions to post as {author}", 100)
            )
        for key in ("commentary", "visibility", "distribution", "lifecycleState"):
            if key not in body:
                return Reply(422, error(422, "FIELD_MISSING", f"/{key} is required"))
        text = str(body["commentary"])
        if len(text) > 3000:
            return Reply(
                422,
                error(
                    422,
                    "FIELD_ARRAY_SIZE_TOO_HIGH",
                    f"ShareCommentary text length ({len(text)} characters) exceeded the "
                    "maximum allowed (3000 characters)",
                ),
            )
        content = body.get("content")
        for item in _content_ids(content):
            if item not in self.images or self.images[item] is None:
                return Reply(422, error(422, "INVALID_CONTENT", f"Image {item} is not uploaded"))
        for post in self.posts:
            if post.author == author and post.commentary == text and post.content == content:
                return Reply(
                    422,
                    {
                        "errorDetailType": "com.linkedin.common.error.BadRequest",
                        "message": "com.linkedin.content.common.exception."
                        "BadRequestResponseException: "
                        f"Content is a duplicate of {post.id}",
                        "errorDetails": {
                            "inputErrors": [
                                {
                                    "description": "Duplicate post is detected",
                                    "input": {},
                                    "code": "DUPLICATE_POST",
                                }
                            ]
                        },
                        "status": 422,
                    },
                )
        urn = f"urn:li:share:{self._next()}"
        self.posts.append(Post(urn, author, text, render(text), content, self.now()))
        return Reply(201, None, {"x-restli-id": urn, "x-linkedin-id": urn})

    def _list(self, request: RecordedRequest, token: Token) -> Reply:
        author = request.param("author") or ""
        scope = "r_organization_social" if author == ORGANIZATION else "r_member_social"
        if request.param("q") != "author" or scope not in token.scopes:
            return Reply(
                403,
                error(
                    403,
                    "ACCESS_DENIED",
                    "Not enough permissions to access: "
                    "partnerApiPostsExternal.FINDER-author.20251101",
                    100,
                ),
            )
        count = int(request.param("count") or 10)
        mine = sorted(
            (p for p in self.posts if p.author == author), key=lambda p: p.created_at, reverse=True
        )
        return Reply(
            200,
            {
                "elements": [
                    {
                        "id": p.id,
                        "author": p.author,
                        "commentary": p.commentary,
                        "createdAt": int(p.created_at.timestamp() * 1000),
                        "lifecycleState": "PUBLISHED",
                    }
                    for p in mine[:count]
                ],
                "paging": {"start": 0, "count": count},
            },
        )

    def _initialize(self, request: RecordedRequest) -> Reply:
        body = request.json if isinstance(request.json, dict) else {}
        owner = (body.get("initializeUploadRequest") or {}).get("owner")
        if owner not in (MEMBER, ORGANIZATION):
            return Reply(422, error(422, "INVALID_OWNER", f"Invalid owner {owner}"))
        image = f"urn:li:image:C4E10AQ{self._next()}"
        self.images[image] = None
        key = f"up{len(self._uploads) + 1}"
        self._uploads[key] = image
        return Reply(
            200,
            {
                "value": {
                    "uploadUrlExpiresAt": int((self.now() + timedelta(days=1)).timestamp() * 1000),
                    "uploadUrl": f"{self.url}/upload/{key}?sig=secret-signature",
                    "image": image,
                }
            },
        )

    def _upload(self, request: RecordedRequest) -> Reply:
        image = self._uploads.get(request.path.rpartition("/")[2])
        if image is None:
            return Reply(404, error(404, "NOT_FOUND", "Upload not found"))
        self.images[image] = request.body
        return Reply(201, None)

    def _comment(self, request: RecordedRequest, urn: str) -> Reply:
        post = next((p for p in self.posts if p.id == urn), None)
        if post is None:
            return Reply(404, error(404, "NOT_FOUND", f"Post {urn} not found"))
        body = request.json if isinstance(request.json, dict) else {}
        text = (body.get("message") or {}).get("text")
        if body.get("object") != urn or not isinstance(text, str):
            return Reply(
                422, error(422, "INVALID_ARGUMENT", "object and message.text are required")
            )
        cid = self._next()
        comment_urn = f"urn:li:comment:(urn:li:activity:{urn.rpartition(':')[2]},{cid})"
        comment = {
            "$URN": comment_urn,
            "id": str(cid),
            "actor": body.get("actor"),
            "object": urn,
            "message": {"text": text},
        }
        post.comments.append(comment)
        return Reply(201, comment, {"x-restli-id": comment_urn})


def _content_ids(content: Any) -> list[str]:
    if not isinstance(content, dict):
        return []
    media = content.get("media")
    if isinstance(media, dict):
        return [str(media.get("id"))]
    multi = content.get("multiImage")
    if isinstance(multi, dict):
        return [str(i.get("id")) for i in multi.get("images") or [] if isinstance(i, dict)]
    return []
