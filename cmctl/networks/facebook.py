# Facebook Pages: posts on a Facebook Page (not a personal profile: the Graph API
# cannot post to those) through the Graph API, https://graph.facebook.com then
# /{api_version}/... (`api_url` replaces the host, `api_version` the version).
#
# Credentials
#   https://developers.facebook.com/apps → Create app (use case "Manage everything on
#   your Page"). Ask for the permissions `pages_manage_posts`, `pages_read_engagement`
#   (needed to read the Page's posts back, see Idempotency) and `pages_show_list`;
#   `pages_manage_engagement` for the comments of a thread (App Review is needed
#   before people other than the app's own roles can grant them). Log in with Facebook
#   Login as a person who can perform the CREATE_CONTENT task on the Page, exchange the
#   user token for a long-lived one (GET /oauth/access_token?grant_type=
#   fb_exchange_token...), then GET /me/accounts with it: each Page comes with its Page
#   access token, which does not expire (it dies with a password change, the loss of
#   the Page role or the app's removal: error 190, "log in again"). Graph API Explorer
#   (https://developers.facebook.com/tools/explorer) does all of this by hand: pick the
#   app, "Get Page Access Token", then the Page in "User or Page".
#   https://developers.facebook.com/docs/facebook-login/guides/access-tokens/get-long-lived
#   In cmctl.yaml:
#       network: facebook
#       page_id: "123456789012345"        # the Page's id (About → Page transparency)
#       token: ${FACEBOOK_PAGE_TOKEN}     # the Page access token, never a user token
#       api_version: v23.0                # optional: the Graph API version used
#   The token travels in the `Authorization: Bearer` header, never in a URL; it is
#   redacted from every message all the same.
#
# Sources for every limit below
#   - 63,206 characters in a Page post's message: the longest status update Facebook
#     accepts (the figure fixed by cmctl's spec; Meta's reference for the `message`
#     field, https://developers.facebook.com/docs/graph-api/reference/page/feed/,
#     does not state a number).
#   - Photos: file types .jpeg, .bmp, .png, .gif, .tiff; "Files can not exceed 4MB.
#     For .png files, we recommend not exceeding 1MB": Meta's photo specification as
#     given in https://developers.facebook.com/docs/page-stories-api ("Photo
#     specifications") and for POST /{page-id}/photos
#     (https://developers.facebook.com/docs/graph-api/reference/page/photos/). The
#     Photo reference ("Creating": "a photo must be less than 10MB", "Animated photos
#     are not supported", https://developers.facebook.com/docs/graph-api/reference/photo/)
#     allows more; 4 MB holds for both.
#   - Several photos in one post: each uploaded with `published=false`, then joined
#     with `attached_media[n]={"media_fbid": id}` on /{page-id}/feed
#     (https://developers.facebook.com/docs/pages-api/posts, "Publish a photo").
#   - Video is not published by cmctl yet (POST /{page-id}/videos is a post of its own,
#     through the Resumable Upload API): a video in a Facebook post is a `validate`
#     error rather than a post that cannot go out.
#
# Conservative choices
#   - Counting: Facebook does not document its unit; cmctl counts UTF-16 code units
#     (an emoji counts 2), never less than the code points Facebook may count.
#   - 10 photos per post: the Graph API gives no maximum for `attached_media`; 10 is
#     the largest number publishers report working reliably.
#
# Publishing
#   1. Each photo: POST /{page}/photos, multipart `source`, `published=false`, and the
#      alt text as `alt_text_custom` ("Accessible alternative description for an
#      image", a documented parameter of photo creation in the Photo reference above;
#      Facebook shows its own automatic alt text when none is given). The photo ids are
#      saved as the job's checkpoint (Outgoing.save) before the post is created, so a
#      retry attaches the same uploads instead of uploading again. An unpublished
#      photo is not a post: an orphan is harmless.
#   2. POST /{page}/feed (form): `message`, `attached_media[n]`, and, for a post without
#      photos, `link` = the first http(s) link of the text (Facebook then shows its
#      preview; the message keeps the link as written). Answer {"id": "PAGE_POST"}.
#   3. The post's `permalink_url` (GET /{post-id}?fields=permalink_url) is its URL in
#      the ledger; https://www.facebook.com/{post-id} when that read fails.
#   4. Thread parts: comments on the post, in order (POST /{post-id}/comments,
#      `message`; one photo per comment, uploaded unpublished and given as
#      `attachment_id`). Each comment's `permalink_url` is its URL.
#   Errors (https://developers.facebook.com/docs/graph-api/guides/error-handling),
#   body {"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}:
#   - 190 (and 102): the token expired or was revoked: log in again and take a new Page
#     token (AuthExpired, with the steps; the Page token cannot be renewed by cmctl).
#   - 4, 17, 32, 613 (and 1, 2, 341, 80001-80014): throttled or a passing outage:
#     Transient, for as long as the usage headers (X-App-Usage, X-Page-Usage,
#     X-Business-Use-Case-Usage with estimated_time_to_regain_access) say; without a
#     figure there, 5 minutes (cmctl's choice: the docs say only "wait and retry").
#     Usage headers at 95% or more on any answer, 2xx included, stop the next call
#     until they have fallen (cmctl/networks/answers.py).
#   - 368 "Temporarily blocked for policy violations": the docs' tactic is "Wait and
#     retry the operation", so Transient, with a wait of one hour (the docs give no
#     duration); past the job's deadline it is `failed` with Facebook's words.
#   - 506 "Duplicate Post" (and the photo subcode 1366051 "These photos were already
#     posted"): Duplicate, settled by the publisher with the look-up below.
#   - anything else: Permanent, with Facebook's message (and its user-facing text).
#
# Idempotency (LOOKUP: idempotency_window = 0, finds = True)
#   The Graph API has no idempotency key and no field where a post could carry cmctl's
#   marker. After an ambiguous answer (a timeout, a 5xx after sending) or a 506 after an
#   earlier attempt, the publisher asks `find(out, since)`:
#   - part 0: GET /{page}/published_posts?fields=id,message,created_time,permalink_url
#     &since=<unix time>, newest first, following the `after` cursor (never the `next`
#     URL, which would carry a token), at most 10 pages of 100 posts;
#   - a thread part: GET /{post-id}/comments (reverse chronological) of the thread's
#     post, keeping only the Page's own comments (`from.id`).
#   A post or comment matches when its message is this job's text exactly (line
#   endings and surrounding white space aside) and it was created at or after `since`.
#   The limit: the match is by text, so another post with the very same text published
#   by hand on the Page after the first attempt would be taken for this job's post (and
#   this job recorded as published, never posted twice). `validate` warns about the
#   same post twice in a calendar, and Facebook itself refuses an identical post in a
#   row (506).
#   https://developers.facebook.com/docs/graph-api/reference/page/published_posts/
#
# `schedule: network` (an account option; cmctl/publish/handover.py drives it)
#   Hand-over: POST /{page}/feed as above with `published=false` and
#   `scheduled_publish_time` (unix time): Facebook holds the post and publishes it then
#   (https://developers.facebook.com/docs/pages-api/posts, "Publish posts"). Facebook
#   accepts a time at least 10 minutes ahead (``schedule_lead``); a post moved to less
#   than that is taken back and published by cmctl itself at its time. How far ahead at
#   most is given differently by Meta's pages (30 days; 6 months in older ones): cmctl
#   takes the shorter, 30 days (``schedule_horizon``), and hands a later post over once
#   it comes within it. Kept in step with POST /{post-id} (`message`,
#   `scheduled_publish_time`; photos cannot be changed on a held post: an edit of its
#   photos is published with the photos first handed over); taken back with DELETE
#   /{post-id}; confirmed with GET /{post-id}?fields=is_published,permalink_url.
#   The look-up after an ambiguous hand-over also reads GET /{page}/scheduled_posts
#   (https://developers.facebook.com/docs/graph-api/reference/page/scheduled_posts/),
#   so a held post is never handed over twice. Comments (thread parts) cannot be
#   scheduled: they go out by cmctl once the post is confirmed published.
#
# Checking an account (`check`)
#   GET /{page}?fields=id,name names the Page; GET /me?fields=id,name tells whose token
#   it is: a Page token answers as the Page itself, so another id means a user token (or
#   another Page's), refused with the way to get the right one.

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, TypeAlias
from urllib.parse import quote

from cmctl.networks import graph
from cmctl.networks.base import (
    MB,
    SCHEDULE,
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
from cmctl.networks.graph import read as read_graph_error

if TYPE_CHECKING:
    from cmctl.networks.base import Attachment

# An httpx.Response (declaration files name no httpx, see base.py).
Response: TypeAlias = Any

DEFAULT_VERSION = "v23.0"
THROTTLED = frozenset({"4", "17", "32", "613"})
THROTTLE_WAIT = 300.0  # seconds, when a throttled answer carries no usage figure
BLOCKED_WAIT = 3600.0  # seconds, after 368 "temporarily blocked"
DUPLICATE_PHOTOS = "1366051"
LOOKUP_PAGES = 10
LOOKUP_PAGE_SIZE = 100
TOKEN_HINT = (
    "log in again for a new Page access token (Graph API Explorer → Get Page Access Token, "
    "or GET /me/accounts with a long-lived user token), then update the account's `token`"
)
_LINK = re.compile(r"https?://[^\s<>\"]+")


def _same_text(a: str, b: str) -> bool:
    def norm(text: str) -> str:
        return text.replace("\r\n", "\n").strip()

    return norm(a) == norm(b)


def _created(value: Any) -> datetime | None:
    """Graph's created_time ("2026-12-01T08:30:31+0000"), aware; None when unreadable."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z").astimezone(UTC)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Facebook(Network):
    name: ClassVar[str] = "facebook"
    title: ClassVar[str] = "Facebook Page"
    docs_url: ClassVar[str] = "https://developers.facebook.com/docs/pages-api/posts"
    api_base: ClassVar[str | None] = "https://graph.facebook.com"
    abbreviation: ClassVar[str | None] = "fb"

    # Meta's Graph API errors and usage headers (cmctl/networks/graph.py).
    answers: ClassVar[Answers | None] = graph.ANSWERS

    max_length: ClassVar[int | None] = 63_206
    length_unit: ClassVar[str] = "characters"

    media_kinds: ClassVar[tuple[MediaKind, ...]] = (
        MediaKind(
            "image",
            frozenset({"image/jpeg", "image/png", "image/gif", "image/bmp", "image/tiff"}),
            max_bytes=4 * MB,
            max_count=10,
        ),
    )
    max_media: ClassVar[int] = 10
    mixed_media: ClassVar[bool] = False

    threads: ClassVar[bool] = True  # comments on the post

    publishes: ClassVar[bool] = True
    idempotency: ClassVar[Idempotency] = Idempotency.LOOKUP
    idempotency_window: ClassVar[timedelta | None] = timedelta(0)  # no key at all
    finds: ClassVar[bool] = True

    account_fields: ClassVar[tuple[AccountField, ...]] = (
        AccountField(
            "page_id",
            required=True,
            help='the Page\'s numeric id, quoted (e.g. "123456789012345")',
        ),
        AccountField(
            "token",
            required=True,
            secret=True,
            help="a Page access token of this Page (not a user token), with "
            "pages_manage_posts, pages_read_engagement and pages_manage_engagement",
        ),
        AccountField(
            "api_version",
            default=DEFAULT_VERSION,
            help=f"the Graph API version, as Facebook writes it (default {DEFAULT_VERSION})",
        ),
        SCHEDULE,
    )
    # `schedule: network`: `published=false` + `scheduled_publish_time`, 10 min to 30 days
    schedules: ClassVar[bool] = True
    schedule_lead: ClassVar[timedelta] = timedelta(minutes=10)
    schedule_horizon: ClassVar[timedelta | None] = timedelta(days=30)

    @classmethod
    def count(cls, text: str) -> int:
        """UTF-16 code units (conservative: Facebook does not document its count)."""
        from cmctl.text.units import utf16_length

        return utf16_length(text)

    # ------------------------------------------------------------------ plumbing
    @property
    def page(self) -> str:
        page = str(self.options.get("page_id") or "").strip()
        if not page:
            raise Permanent('the account has no `page_id` (the Page\'s id, e.g. "1234567890")')
        return page

    @property
    def version(self) -> str:
        version = str(self.options.get("api_version") or DEFAULT_VERSION).strip()
        if not re.fullmatch(r"v\d+\.\d+", version):
            raise Permanent(
                f"api_version {version!r} is not a Graph API version (e.g. {DEFAULT_VERSION})"
            )
        return version

    def _url(self, *path: str) -> str:
        return "/".join([self.api_url, self.version, *(quote(p, safe="") for p in path)])

    def _headers(self) -> dict[str, str]:
        token = str(self.options.get("token") or "")
        if not token:
            raise Permanent("the account has no `token` (a Page access token)")
        self.http.add_secret(token)
        return {"Authorization": f"Bearer {token}"}

    def _call(self, method: str, *path: str, creates: bool = False, **kwargs: Any) -> Any:
        """One Graph call; the JSON object it answers."""
        response = self.http.request(
            method,
            self._url(*path),
            creates=creates,
            classify=self._classify,
            headers=self._headers(),
            **kwargs,
        )
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            where = f"{method} /{'/'.join(path)}"
            error = Ambiguous if creates else Permanent
            raise error(f"{where}: Facebook answered {response.status_code} without a JSON object")
        return body

    # ------------------------------------------------------------------ publishing
    def publish(self, out: Outgoing) -> Sent:
        if out.part == 0:
            return self._post(out)
        return self._comment(out)

    def _post(self, out: Outgoing, **extra: str) -> Sent:
        photos = self._photos(out)
        form: dict[str, str] = {"message": out.text}
        for n, photo_id in enumerate(photos):
            form[f"attached_media[{n}]"] = f'{{"media_fbid":"{photo_id}"}}'
        link = _LINK.search(out.text)
        if link and not photos:
            form["link"] = link.group(0).rstrip(".,;:!?)")
        form.update(extra)
        created = self._call("POST", self.page, "feed", creates=True, data=form)
        post_id = created.get("id")
        if not isinstance(post_id, str) or not post_id:
            raise Ambiguous("Facebook answered the post without an id")
        return Sent(post_id, self._permalink(post_id), {"id": post_id})

    # ------------------------------------------------------------------ schedule: network
    def schedule(self, out: Outgoing) -> Sent:
        """Hand part 0 over unpublished, for Facebook to publish at its time."""
        if out.part != 0:
            raise Permanent("a comment cannot be scheduled on Facebook")
        when = str(int(out.scheduled_at.timestamp()))
        return self._post(out, published="false", scheduled_publish_time=when)

    def reschedule(self, sent: Sent, out: Outgoing) -> Sent:
        """The held post's new text and time."""
        form = {
            "message": out.text,
            "scheduled_publish_time": str(int(out.scheduled_at.timestamp())),
        }
        self._call("POST", sent.remote_id, data=form)
        return sent

    def unschedule(self, sent: Sent) -> None:
        """Delete the held post; already gone: fine."""
        try:
            self._call("DELETE", sent.remote_id)
        except Permanent as exc:
            if not _missing(exc):
                raise

    def confirm(self, sent: Sent, out: Outgoing | None) -> Sent | None:
        """Published (its permalink), or None while Facebook still holds it."""
        body = self._call("GET", sent.remote_id, params={"fields": "is_published,permalink_url"})
        if body.get("is_published") is not True:
            return None
        url = body.get("permalink_url")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            url = f"https://www.facebook.com/{sent.remote_id}"
        return Sent(sent.remote_id, url, {"id": sent.remote_id})

    def _comment(self, out: Outgoing) -> Sent:
        root = out.root or out.reply_to
        if root is None:
            raise Permanent("a thread part without the post it comments on")
        if len(out.media) > 1:
            raise Permanent("a Facebook comment takes one photo; split the part")
        form: dict[str, str] = {"message": out.text}
        photos = self._photos(out)
        if photos:
            form["attachment_id"] = photos[0]
        created = self._call("POST", root.remote_id, "comments", creates=True, data=form)
        comment_id = created.get("id")
        if not isinstance(comment_id, str) or not comment_id:
            raise Ambiguous("Facebook answered the comment without an id")
        url = self._permalink(comment_id, _comment_url(root.remote_id, comment_id))
        return Sent(comment_id, url, {"id": comment_id, "post": root.remote_id})

    def _photos(self, out: Outgoing) -> list[str]:
        """Upload each photo once, unpublished; the ids are kept in the checkpoint."""
        uploaded: dict[str, str] = dict((out.checkpoint or {}).get("photos") or {})
        ids = []
        for item in out.media:
            mark = item.fingerprint
            if mark not in uploaded:
                uploaded[mark] = self._upload(item)
                out.save({"photos": uploaded})
            ids.append(uploaded[mark])
        return ids

    def _upload(self, item: Attachment) -> str:
        from cmctl.media import MediaProblem, open_checked

        data = {"published": "false"}
        if item.alt:
            data["alt_text_custom"] = item.alt
        limit = max(kind.max_bytes for kind in self.media_kinds)
        try:
            with open_checked(item.path, item.root, limit) as (f, found):
                mime = found.mime_type or "application/octet-stream"
                body = self._call(
                    "POST",
                    self.page,
                    "photos",
                    files={"source": (item.path.name, f, mime)},
                    data=data,
                )
        except MediaProblem as p:  # checked again at send time: the file may have changed
            raise Permanent(p.message) from None
        photo_id = body.get("id")
        if not isinstance(photo_id, (str, int)) or photo_id == "":
            raise Permanent(f"Facebook answered the upload of {item.path.name} without an id")
        return str(photo_id)

    def _permalink(self, object_id: str, fallback: str | None = None) -> str:
        """The object's permalink_url, or a link built from its id when that read fails."""
        try:
            body = self._call("GET", object_id, params={"fields": "permalink_url"})
        except SendError:
            body = {}
        url = body.get("permalink_url")
        if isinstance(url, str) and url.startswith(("https://", "http://")):
            return url
        return fallback or f"https://www.facebook.com/{object_id}"

    # ------------------------------------------------------------------ look-up
    def find(self, out: Outgoing, since: datetime) -> Sent | None:
        found = self._find(out, since, "published_posts")
        if found is None and out.part == 0:  # a hand-over (schedule: network) is held
            found = self._find(out, since, "scheduled_posts")
        return found

    def _find(self, out: Outgoing, since: datetime, edge: str) -> Sent | None:
        if out.part == 0:
            path: tuple[str, ...] = (self.page, edge)
            params = {
                "fields": "id,message,created_time,permalink_url",
                "since": str(int(since.timestamp())),
            }
            root = None
        else:
            root = out.root or out.reply_to
            if root is None:
                return None
            path = (root.remote_id, "comments")
            params = {
                "fields": "id,message,created_time,permalink_url,from",
                "order": "reverse_chronological",
                "filter": "toplevel",
            }
        params["limit"] = str(LOOKUP_PAGE_SIZE)
        for _ in range(LOOKUP_PAGES):
            body = self._call("GET", *path, params=params)
            data = body.get("data")
            items = [d for d in data if isinstance(d, dict)] if isinstance(data, list) else []
            older = False
            for item in items:
                created = _created(item.get("created_time"))
                if created is not None and created < since:
                    older = True  # newest first: the rest is older still
                    continue
                if root is not None and not self._ours(item):
                    continue
                message = item.get("message")
                found_id = item.get("id")
                if isinstance(message, str) and _same_text(message, out.text) and found_id:
                    found_id = str(found_id)
                    url = item.get("permalink_url")
                    if not isinstance(url, str) or not url:
                        url = (
                            _comment_url(root.remote_id, found_id)
                            if root is not None
                            else f"https://www.facebook.com/{found_id}"
                        )
                    ref = (
                        {"id": found_id}
                        if root is None
                        else {"id": found_id, "post": root.remote_id}
                    )
                    return Sent(found_id, url, ref)
            paging = body.get("paging")
            cursors = paging.get("cursors") if isinstance(paging, dict) else None
            after = cursors.get("after") if isinstance(cursors, dict) else None
            if older or not after or not isinstance(paging, dict) or "next" not in paging:
                return None
            params = {**params, "after": str(after)}
        return None

    def _ours(self, comment: dict[str, Any]) -> bool:
        author = comment.get("from")
        return isinstance(author, dict) and str(author.get("id")) == self.page

    # ------------------------------------------------------------------ check
    def check(self) -> str:
        page = self._call("GET", self.page, params={"fields": "id,name"})
        me = self._call("GET", "me", params={"fields": "id,name"})
        name = page.get("name") or "?"
        if str(me.get("id")) != str(page.get("id") or self.page):
            raise Permanent(
                f"the token belongs to {me.get('name') or '?'} ({me.get('id')}), not to the "
                f"Page {name} ({self.page}): it is a user token or another Page's. Give this "
                "Page's access token: GET /me/accounts with your user token lists each Page "
                "with its access_token (or Graph API Explorer → Get Page Access Token)"
            )
        return f"{name} (Facebook Page {page.get('id') or self.page})"

    # ------------------------------------------------------------------ errors
    def _classify(self, response: Response) -> SendError | None:
        """Graph's error codes that need more than the declared Answers give."""
        answers = self.answers
        if answers is None:
            return None
        try:
            body = response.json()
        except ValueError:
            return None
        graph = read_graph_error(response, body, self.http.redact)
        if graph is None:
            return None
        code, subcode, head = graph.code, graph.subcode, graph.head
        if response.status_code >= 500 and _creates(response):
            # a Graph error on a 5xx to a create: the post may exist all the same
            return Ambiguous(f"{head}; Facebook may have published it")
        if code in ("190", "102"):
            return AuthExpired(f"{head}: the Page token was revoked or has expired; {TOKEN_HINT}")
        if code == "506" or subcode == DUPLICATE_PHOTOS:
            return Duplicate(f"{head}: Facebook refuses it as a duplicate of a recent post")
        if code == "368":
            return Transient(
                f"{head}: Facebook has temporarily blocked this Page from posting (a policy "
                "block); cmctl tries again in an hour. See the Page's Account Quality page",
                BLOCKED_WAIT,
            )
        if code in THROTTLED:
            reading = answers.read(response.status_code, response.headers, response.content)
            wait = reading.usage_wait or THROTTLE_WAIT
            figures = f" ({reading.usage_said})" if reading.usage_said else ""
            return Transient(
                f"{head}: Facebook's rate limit{figures}; calls resume in {wait / 60:.0f} min",
                wait,
            )
        if response.status_code < 500 and code not in answers.later:
            return Permanent(head)  # Facebook's words, its user-facing text and the code
        return None


def _missing(exc: Permanent) -> bool:
    """Graph's "Object with ID ... does not exist" (code 100, subcode 33)."""
    return "does not exist" in exc.message


def _creates(response: Response) -> bool:
    """Was this request a post or a comment (a photo upload publishes nothing)?"""
    path = response.request.url.path.rstrip("/")
    return bool(response.request.method == "POST" and path.endswith(("/feed", "/comments")))


def _comment_url(post_id: str, comment_id: str) -> str:
    return f"https://www.facebook.com/{post_id}?comment_id={comment_id}"
