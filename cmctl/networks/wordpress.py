# WordPress: a blog post on a self-hosted WordPress site, created with the core REST
# API (https://developer.wordpress.org/rest-api/reference/posts/#create-a-post).
#
# Credentials
#   In wp-admin: Users → Profile (your own user) → Application Passwords → type a name
#   ("cmctl") → Add New Application Password, and copy the 24-character password shown
#   once (the spaces in it do not matter). It authenticates REST requests with HTTP
#   Basic auth as `username:password`, and only over HTTPS (WordPress 5.6+; plain HTTP
#   only on a site whose environment type is `local`). The user needs a role that can
#   publish posts and upload files (Author, Editor or Administrator); creating a new tag
#   needs Editor or Administrator. In cmctl.yaml:
#       network: wordpress
#       site: https://blog.example.com           # the blog's address
#       username: editor
#       app_password: ${WP_APP_PASSWORD}
#   The password never expires; revoke it on the same page. A security plugin or the
#   host may disable Application Passwords; WordPress.com sites use OAuth2 instead
#   (https://developer.wordpress.com/docs/oauth2/) and are not supported.
#   Reference: https://make.wordpress.org/core/2020/11/05/application-passwords-integration-guide/
#
# Sources for every limit below
#   - No text limit: `content` of a post is stored in a LONGTEXT column and the REST
#     schema for posts sets no maximum length:
#     https://developer.wordpress.org/rest-api/reference/posts/#create-a-post
#   - Media types: what get_allowed_mime_types() allows by default (images JPEG, PNG,
#     GIF, WebP, AVIF; videos MP4, MOV, WebM among others):
#     https://developer.wordpress.org/reference/functions/get_allowed_mime_types/
#     and https://wordpress.org/documentation/article/accepted-file-types/
#   - Media size: the site's own PHP `upload_max_filesize`/`post_max_size` (shown in
#     Media → Add New as "Maximum upload file size"), reported by the REST media
#     endpoint when exceeded: https://developer.wordpress.org/rest-api/reference/media/
#   - Threads: a blog post has no reply chain: it is an article (``article``), the
#     thread's parts appended to its body as paragraphs.
#
# Conservative choices
#   - Sizes and counts: the real limits belong to each site and cmctl cannot know them
#     before publishing, so the declared ceilings are generous (100 MB per image, 2 GB
#     per video, 50 files per post) and the site has the last word.
#
# Publishing (REST base `{site}/wp-json`; `api_url` replaces it)
#   1. Media, each once: POST /wp/v2/media with the file as the raw body,
#      `Content-Disposition: attachment; filename="…"` and its `Content-Type`
#      (https://developer.wordpress.org/rest-api/reference/media/#create-a-media-item),
#      then POST /wp/v2/media/<id> {alt_text} when it has one. Each uploaded id is saved
#      in the job's checkpoint (``Outgoing.save``) before the next step, so a retry never
#      uploads it again. The first image is the post's featured image (`featured_media`);
#      every other file is placed at the end of the body (<img> with its alt text, or
#      <video controls>). An upload is not a post: an orphan is harmless.
#   2. Tags: each hashtag is found by name (GET /wp/v2/tags?search=…, exact name,
#      case ignored) or created (POST /wp/v2/tags;
#      https://developer.wordpress.org/rest-api/reference/tags/). A role that may not
#      create terms (403 rest_cannot_create: Authors) publishes without that tag and the
#      outcome says so (``Sent.warnings``): a warning, not a failure.
#   3. POST /wp/v2/posts {title, content, status: publish, slug, tags, featured_media}.
#      `content` is the Markdown body rendered to HTML by markdown-it-py's CommonMark
#      preset with raw HTML turned off: a `<script>` in a post is published as text,
#      never as markup. The post's `link`, when set, ends the body as its own paragraph
#      (a link to itself).
#
# Idempotency: LOOKUP (honestly not CHOSEN_ID)
#   WordPress has no idempotency key, and its slug is no guard: a clashing slug is not
#   refused, wp_unique_post_slug() publishes the post as `<slug>-2`
#   (https://developer.wordpress.org/reference/functions/wp_unique_post_slug/). So cmctl
#   chooses a slug per job, stable across retries (`<post id>-<8 hex of a hash of the
#   job's key>`, lowercase ASCII letters, digits and hyphens, at most 80 characters),
#   and after an ambiguous answer looks it up before sending again:
#   GET /wp/v2/posts?slug=<slug>&status=any&context=edit (authenticated, so drafts,
#   scheduled and private posts are seen too:
#   https://developer.wordpress.org/rest-api/reference/posts/#list-posts). Found: that
#   post is the one published; not found: nothing reached the site, so sending again
#   is safe. A resend without the look-up would publish `<slug>-2`.
#
# Errors (WordPress REST bodies: {"code": "rest_…", "message": "…", "data": {"status": N}})
#   401 (incorrect_password, invalid_username, rest_not_logged_in): the username or
#   application password is wrong or revoked, with where to make a new one; 403
#   rest_cannot_create / rest_cannot_publish / rest_cannot_upload: the user's role, with
#   the roles that can; 400 rest_invalid_param: WordPress's message and the parameters
#   it names; 413 and rest_upload_*: the file, with the site's upload limit; 5xx: try
#   again (ambiguous for the post itself, see above). All Permanent but the 5xx.
#
# Checking an account (`check`)
#   GET /wp/v2/users/me?context=edit names the user and its roles; GET {site}/wp-json
#   (the index) names the site.
#
# `schedule: network` (an account option; cmctl/publish/handover.py drives it)
#   Hand-over: the same POST /wp/v2/posts with `status: future` and `date_gmt` (the
#   post's time, UTC): WordPress holds it and WP-Cron publishes it at that time
#   (https://developer.wordpress.org/rest-api/reference/posts/#create-a-post, `status`
#   and `date_gmt`; https://developer.wordpress.org/plugins/cron/). Kept in step with
#   POST /wp/v2/posts/<id> (new title, content, tags and `date_gmt`,
#   .../posts/#update-a-post); taken back with DELETE /wp/v2/posts/<id>, which moves it
#   to the trash (no `force`: a human can still restore it;
#   .../posts/#delete-a-post); confirmed with GET /wp/v2/posts/<id>?context=edit:
#   `status: publish` is published (its `link` is then the public URL), `future` is
#   still held. WP-Cron runs on page loads: a site nobody visits, or with cron broken,
#   keeps the post `future` past its time (the "missed schedule"): cmctl asks again
#   until the job's deadline, then says `unknown`. The look-up (`find`, status=any) sees
#   `future` posts too, so an ambiguous hand-over is never handed over twice.
#   Lead: 2 minutes (WordPress publishes at once a `future` post whose date has passed;
#   the margin keeps a hand-over from racing its own time). No horizon.

from __future__ import annotations

import base64
import hashlib
import html
import re
from datetime import UTC, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, TypeAlias

from cmctl.networks.answers import Answers
from cmctl.networks.base import (
    OPEN_MEDIA,
    OPEN_MEDIA_MAX,
    SCHEDULE,
    AccountField,
    Ambiguous,
    Idempotency,
    MediaKind,
    Network,
    Outgoing,
    Permanent,
    SendError,
    Sent,
)

if TYPE_CHECKING:
    from datetime import datetime

    from cmctl.networks.base import Attachment

# An httpx.Response. Declaration files name no httpx, even for type checking, so that
# `cmctl validate` never loads it (see base.py); the HTTP helper hands these over.
Response: TypeAlias = Any

SLUG_MAX = 80  # characters of the slug cmctl chooses (WordPress allows 200)
_NOT_SLUG = re.compile(r"[^a-z0-9]+")

ROLE_HINT = (
    "the WordPress user's role cannot do this; publishing needs Author, Editor or "
    "Administrator (Users → All Users → Role)"
)
PASSWORD_HINT = (
    "check the account's `username` and `app_password` (wp-admin: Users → Profile → "
    "Application Passwords → Add New Application Password)"
)


def slug_for(out: Outgoing) -> str:
    """The post's slug, chosen by cmctl and the same on every attempt: the post id in
    WordPress's slug alphabet, then 8 hex digits of a hash of the job's key (unique per
    calendar, post and account)."""
    digest = hashlib.sha256(out.key.encode("utf-8")).hexdigest()[:8]
    stem = _NOT_SLUG.sub("-", out.post_id.lower()).strip("-")[: SLUG_MAX - 9].strip("-")
    return f"{stem}-{digest}" if stem else f"post-{digest}"


def render(text: str) -> str:
    """Markdown to HTML (CommonMark), raw HTML in the source escaped, never passed on."""
    from markdown_it import MarkdownIt

    return str(MarkdownIt("commonmark", {"html": False}).render(text))


class WordPress(Network):
    name: ClassVar[str] = "wordpress"
    title: ClassVar[str] = "WordPress"
    docs_url: ClassVar[str] = "https://developer.wordpress.org/rest-api/reference/posts/"
    # Self-hosted: the REST base is {site}/wp-json (see ``rest``); no public default.
    api_base: ClassVar[str | None] = None
    abbreviation: ClassVar[str | None] = "wp"

    max_length: ClassVar[int | None] = None

    media_kinds: ClassVar[tuple[MediaKind, ...]] = OPEN_MEDIA
    max_media: ClassVar[int] = OPEN_MEDIA_MAX
    mixed_media: ClassVar[bool] = True

    # A blog post is an article: a title, the thread appended as paragraphs, the
    # hashtags as tags.
    article: ClassVar[bool] = True
    threads: ClassVar[bool] = False

    account_fields: ClassVar[tuple[AccountField, ...]] = (
        AccountField(
            "site",
            required=True,
            url=True,
            https="WordPress accepts application passwords over HTTPS only",
            help="the blog's address, e.g. https://blog.example.com",
        ),
        AccountField("username", required=True, help="the WordPress user that publishes"),
        AccountField(
            "app_password",
            required=True,
            secret=True,
            help="an application password of that user (Users → Profile → Application "
            "Passwords), never the login password",
        ),
        SCHEDULE,
    )
    # `schedule: network`: WordPress holds a `future` post and publishes it via WP-Cron.
    schedules: ClassVar[bool] = True
    schedule_lead: ClassVar[timedelta] = timedelta(minutes=2)
    schedule_missed_hint: ClassVar[str] = (
        'a "missed schedule": WP-Cron did not run, e.g. a site nobody visited'
    )

    publishes: ClassVar[bool] = True
    idempotency: ClassVar[Idempotency] = Idempotency.LOOKUP
    idempotency_window: ClassVar[timedelta | None] = None  # the look-up reads the site for ever
    finds: ClassVar[bool] = True

    # WordPress's error bodies: {"code": "rest_…", "message": "…", "data": {...}}
    answers: ClassVar[Answers | None] = Answers(message=("message",), code=("code",))

    # ------------------------------------------------------------------ plumbing
    @property
    def rest(self) -> str:
        """The REST base: the account's `api_url`, else {site}/wp-json."""
        if str(self.options.get("api_url") or "").strip():
            return self.api_url
        site = str(self.options.get("site") or "").strip().rstrip("/")
        if not site:
            raise Permanent("the account has no `site` (e.g. https://blog.example.com)")
        return (site if "://" in site else "https://" + site) + "/wp-json"

    def _headers(self) -> dict[str, str]:
        user = str(self.options.get("username") or "")
        password = str(self.options.get("app_password") or "")
        if not user or not password:
            raise Permanent(f"the account needs `username` and `app_password`; {PASSWORD_HINT}")
        self.http.add_secret(password)
        self.http.add_secret(password.replace(" ", ""))
        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        self.http.add_secret(token)
        return {"Authorization": f"Basic {token}"}

    def _call(self, method: str, path: str, *, creates: bool = False, **kwargs: Any) -> Any:
        """One REST call; the JSON answer (any JSON value)."""
        response = self.http.request(
            method,
            f"{self.rest}{path}",
            creates=creates,
            classify=self._classify,
            headers={**self._headers(), **kwargs.pop("headers", {})},
            **kwargs,
        )
        try:
            return response.json()
        except ValueError:
            error = Ambiguous if creates else Permanent
            raise error(
                f"{method} {path}: WordPress answered {response.status_code} without JSON"
            ) from None

    # ------------------------------------------------------------------ publishing
    def publish(self, out: Outgoing) -> Sent:
        post, warnings = self._article(out)
        post.update(status="publish", slug=slug_for(out))
        return self._create(post, warnings)

    def _create(self, post: dict[str, Any], warnings: list[str]) -> Sent:
        created = self._call("POST", "/wp/v2/posts", creates=True, json=post)
        if not isinstance(created, dict) or not isinstance(created.get("id"), (int, str)):
            raise Ambiguous("WordPress answered the new post without its id")
        return self._sent(created, tuple(warnings))

    def _article(self, out: Outgoing) -> tuple[dict[str, Any], list[str]]:
        """The post's fields (title, content, tags, featured image) and any warnings."""
        progress: dict[str, Any] = dict(out.checkpoint or {})
        media = self._media(out, progress)
        warnings: list[str] = []
        tags = self._tags(out.tags, warnings)
        featured = next((m for m in media if m["kind"] == "image"), None)
        body = render(out.text)
        for item in media:
            if item is featured:
                continue
            src = html.escape(str(item["url"]), quote=True)
            alt = html.escape(str(item.get("alt") or ""), quote=True)
            if item["kind"] == "video":
                body += f'<figure><video controls src="{src}"></video></figure>\n'
            else:
                body += f'<figure><img src="{src}" alt="{alt}" /></figure>\n'
        if out.link:
            link = html.escape(out.link, quote=True)
            body += f'<p><a href="{link}">{link}</a></p>\n'
        post: dict[str, Any] = {"title": out.title or "", "content": body}
        if tags:
            post["tags"] = tags
        if featured is not None:
            post["featured_media"] = featured["id"]
        return post, warnings

    # ------------------------------------------------------------------ schedule: network
    @staticmethod
    def _date_gmt(out: Outgoing) -> str:
        return out.scheduled_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")

    def schedule(self, out: Outgoing) -> Sent:
        """Hand the post over as `future`, for WP-Cron to publish at its time."""
        post, warnings = self._article(out)
        post.update(status="future", date_gmt=self._date_gmt(out), slug=slug_for(out))
        return self._create(post, warnings)

    def reschedule(self, sent: Sent, out: Outgoing) -> Sent:
        """The held post's new title, content, tags and time (still `future`)."""
        post, warnings = self._article(out)
        post.update(status="future", date_gmt=self._date_gmt(out))
        updated = self._call("POST", f"/wp/v2/posts/{_post_id(sent)}", json=post)
        if not isinstance(updated, dict) or "id" not in updated:
            raise Permanent("WordPress answered the update without the post")
        return self._sent(updated, tuple(warnings))

    def unschedule(self, sent: Sent) -> None:
        """Move the held post to the trash (a human can restore it); gone already: fine."""
        try:
            self._call("DELETE", f"/wp/v2/posts/{_post_id(sent)}")
        except _Gone:
            return

    def confirm(self, sent: Sent, out: Outgoing | None) -> Sent | None:
        """Published (its public link), or None while WordPress still holds it."""
        try:
            post = self._call("GET", f"/wp/v2/posts/{_post_id(sent)}", params={"context": "edit"})
        except _Gone:
            raise Permanent(
                f"post {_post_id(sent)} is no longer on the site (deleted by hand?)"
            ) from None
        status = post.get("status") if isinstance(post, dict) else None
        if status == "publish" and isinstance(post, dict):
            return self._sent(post)
        if status == "future":
            return None
        raise Permanent(f"post {_post_id(sent)} is `{status}` on the site, not scheduled any more")

    @staticmethod
    def _sent(post: dict[str, Any], warnings: tuple[str, ...] = ()) -> Sent:
        link = post.get("link")
        return Sent(
            remote_id=str(post["id"]),
            url=link if isinstance(link, str) else None,
            ref={"id": str(post["id"]), "slug": post.get("slug")},
            warnings=warnings,
        )

    def _media(self, out: Outgoing, progress: dict[str, Any]) -> list[dict[str, Any]]:
        """Each attachment uploaded once (ids kept in the checkpoint), alt text set."""
        uploaded: dict[str, dict[str, Any]] = dict(progress.get("media") or {})
        items = []
        for item in out.media:
            mark = item.fingerprint
            entry = uploaded.get(mark)
            if entry is None:
                entry = self._upload(item)
                uploaded[mark] = entry
                out.save({"media": uploaded})
            if item.alt and not entry.get("alt_set"):
                self._call("POST", f"/wp/v2/media/{entry['id']}", json={"alt_text": item.alt})
                entry = uploaded[mark] = {**entry, "alt_set": True}
                out.save({"media": uploaded})
            items.append({**entry, "alt": item.alt})
        return items

    def _upload(self, item: Attachment) -> dict[str, Any]:
        """POST /wp/v2/media with the file as the body: its id, URL and kind."""
        from cmctl.media import MediaProblem, read_checked

        limit = max(kind.max_bytes for kind in self.media_kinds)
        try:
            data, found = read_checked(item.path, item.root, limit)
        except MediaProblem as p:  # checked again at send time: the file may have changed
            raise Permanent(p.message) from None
        mime = found.mime_type or "application/octet-stream"
        name = re.sub(r'["\\\r\n]', "_", item.path.name)
        media = self._call(
            "POST",
            "/wp/v2/media",
            headers={
                "Content-Type": mime,
                "Content-Disposition": f'attachment; filename="{name}"',
            },
            content=data,
        )
        if not isinstance(media, dict) or not isinstance(media.get("id"), (int, str)):
            raise Permanent(f"WordPress answered the upload of {item.path.name} without an id")
        kind = self.media_kind(mime)
        return {
            "id": media["id"],
            "url": media.get("source_url") or "",
            "kind": kind.kind if kind else "file",
        }

    def _tags(self, names: tuple[str, ...], warnings: list[str]) -> list[int]:
        """The ids of the post's tags, found by name or created; a tag the role may not
        create is left out, with a warning."""
        ids: list[int] = []
        for name in dict.fromkeys(n for n in names if n):
            found = self._call("GET", "/wp/v2/tags", params={"search": name, "per_page": "100"})
            tags = found if isinstance(found, list) else []
            match = next(
                (
                    t["id"]
                    for t in tags
                    if isinstance(t, dict)
                    and isinstance(t.get("id"), int)
                    and html.unescape(str(t.get("name", ""))).casefold() == name.casefold()
                ),
                None,
            )
            if match is None:
                match = self._create_tag(name, warnings)
            if match is not None and match not in ids:
                ids.append(int(match))
        return ids

    def _create_tag(self, name: str, warnings: list[str]) -> int | None:
        try:
            tag = self._call("POST", "/wp/v2/tags", json={"name": name})
        except _TagRefused as refused:
            if refused.term_id is not None:  # created meanwhile: the same tag
                return refused.term_id
            warnings.append(
                f"tag '{name}' left out: the WordPress user's role may not create tags "
                "(an Editor or Administrator can; or create it once in Posts → Tags)"
            )
            return None
        if not isinstance(tag, dict) or not isinstance(tag.get("id"), int):
            raise Permanent(f"WordPress answered the new tag '{name}' without an id")
        return int(tag["id"])

    # ------------------------------------------------------------------ look-up
    def find(self, out: Outgoing, since: datetime) -> Sent | None:
        """The post with this job's slug, whatever its status (the slug is the job's)."""
        slug = slug_for(out)
        found = self._call(
            "GET",
            "/wp/v2/posts",
            params={"slug": slug, "status": "any", "context": "edit"},
        )
        for post in found if isinstance(found, list) else ():
            if isinstance(post, dict) and post.get("slug") == slug and "id" in post:
                return self._sent(post)
        return None

    # ------------------------------------------------------------------ check
    def check(self) -> str:
        me = self._call("GET", "/wp/v2/users/me", params={"context": "edit"})
        if not isinstance(me, dict):
            raise Permanent("GET /wp/v2/users/me: WordPress answered without a user")
        who = str(me.get("username") or me.get("slug") or me.get("name") or "?")
        roles = me.get("roles")
        if isinstance(roles, list) and roles:
            who += f" ({', '.join(str(r) for r in roles)})"
        index = self._call("GET", "/")
        site = str(index.get("name") or "") if isinstance(index, dict) else ""
        where = str(self.options.get("site") or self.rest).strip().rstrip("/")
        return f"{who} on {site} ({where})" if site else f"{who} on {where}"

    # ------------------------------------------------------------------ errors
    def _classify(self, response: Response) -> SendError | None:
        """WordPress's error bodies, with what to do about them."""
        where = f"{response.request.method} {response.request.url.path}"
        code = _code(response)
        said = self.http.error_message(response)
        if code and code not in said:
            said = f"{said} ({code})"
        status = response.status_code
        data = _data(response)
        creating_tag = response.request.method == "POST" and response.request.url.path.endswith(
            "/wp/v2/tags"
        )
        if creating_tag and (
            code == "term_exists" or (status == 403 and code == "rest_cannot_create")
        ):
            term = data.get("term_id")
            return _TagRefused(said, term if isinstance(term, int) else None)
        if (status == 404 and code == "rest_post_invalid_id") or (
            status == 410 and code == "rest_already_trashed"
        ):
            return _Gone(f"{where}: {status} {said}")
        if status == 401:
            return Permanent(f"{where}: 401 {said}: {PASSWORD_HINT}")
        if status == 403 and code.startswith("rest_cannot"):
            return Permanent(f"{where}: 403 {said}: {ROLE_HINT}")
        if status == 400 and code == "rest_invalid_param":
            params = data.get("params")
            details = (
                "; ".join(f"{k}: {v}" for k, v in params.items())
                if isinstance(params, dict)
                else ""
            )
            return Permanent(f"{where}: 400 {said}" + (f" ({details})" if details else ""))
        if status == 413 or code.startswith("rest_upload"):
            return Permanent(
                f"{where}: {status} {said}: the site refused the file; its limit is shown "
                'in wp-admin → Media → Add New ("Maximum upload file size")'
            )
        return None


class _TagRefused(Permanent):
    """POST /wp/v2/tags said no: the tag exists (``term_id``) or the role may not create it."""

    def __init__(self, message: str, term_id: int | None) -> None:
        super().__init__(message)
        self.term_id = term_id


class _Gone(Permanent):
    """The post is not there (404 rest_post_invalid_id) or in the trash already (410)."""


def _post_id(sent: Sent) -> str:
    """The WordPress id of a post cmctl handed over (digits only: it goes in a path)."""
    value = str(sent.ref.get("id") or sent.remote_id)
    if not value.isdigit():
        raise Permanent(f"{value!r} is not a WordPress post id")
    return value


def _body(response: Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _code(response: Response) -> str:
    code = _body(response).get("code")
    return code if isinstance(code, str) else ""


def _data(response: Response) -> dict[str, Any]:
    data = _body(response).get("data")
    return data if isinstance(data, dict) else {}
