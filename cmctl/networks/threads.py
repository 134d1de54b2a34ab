# Threads: Meta's text-first network (https://www.threads.com). A post is published
# in two steps through the Threads API: POST /{threads-user-id}/threads creates a
# media container (TEXT, IMAGE, VIDEO, or CAROUSEL from up to 20 item containers),
# POST /{threads-user-id}/threads_publish publishes it. A reply chain is made by
# creating each next container with `reply_to_id` set to the post before. Threads
# fetches images and videos from a public URL, so media must be reachable on a public
# server at publishing time.
#
# Credentials
#   https://developers.facebook.com/apps → Create app → use case "Access the Threads
#   API". Under Use cases → Customize → Settings: tick the permissions
#   `threads_basic` and `threads_content_publish`, add the redirect callback URL
#   `http://127.0.0.1:8765/callback` (or the account's `redirect_uri`), and under
#   App roles → Roles add your Threads account as a Threads tester, then accept the
#   invitation in Threads (Settings → Account → Website permissions → Invites). The
#   Threads app id and secret (App settings → Basic, the *Threads* ones) are the
#   account's `client_id` and `client_secret`. `cmctl accounts login NAME` then runs
#   the browser step (https://threads.net/oauth/authorize), trades the code for a
#   short-lived token (POST /oauth/access_token, 1 h) and that for a long-lived one
#   (GET /access_token?grant_type=th_exchange_token, 60 days), kept in the credential
#   store. cmctl renews it (GET /refresh_access_token?grant_type=th_refresh_token)
#   once it is 24 h old and within 10 days of its end; a token that lapsed is dead
#   for good: log in again. For CI, `access_token: ${THREADS_TOKEN}` seeds a long-lived
#   token (taken as issued when cmctl first sees it).
#   https://developers.facebook.com/docs/threads/get-started/get-access-tokens-and-permissions
#   https://developers.facebook.com/docs/threads/get-started/long-lived-tokens
#   In cmctl.yaml:
#       network: threads
#       client_id: "1234567890"              # the Threads app id
#       client_secret: ${THREADS_APP_SECRET}
#       user_id: "17841400000000000"          # optional: learnt at login
#   The token travels in an `Authorization: Bearer` header; the app secret and the
#   tokens of the two exchanges travel in query strings (Meta's design), which cmctl
#   never shows: every message is redacted and names the path without its query.
#
# Sources for every limit below
#   - "Text posts are limited to 500 characters." and "Emojis are counted as the number
#     of UTF-8 bytes." (the second sentence links to the grapheme-splitter package):
#     https://developers.facebook.com/docs/threads/posts (Single thread posts,
#     Limitations).
#   - Carousel: the `children` of a CAROUSEL container: "Carousels can have at least 2
#     and up to 20 total images or videos or a mix of the two":
#     https://developers.facebook.com/docs/threads/posts (Carousel posts), so images
#     and videos may share a post.
#   - Media specifications (same page, "Media specifications"): images JPEG and PNG,
#     "File size: 8 MB maximum"; video container MOV or MP4, "File size: 1 GB maximum",
#     5 minutes.
#   - Replies from the same account: `reply_to_id` on POST /{threads-user-id}/threads,
#     https://developers.facebook.com/docs/threads/reply-management
#
# How `count` reads "emojis are counted as the number of UTF-8 bytes"
#   The text is split into grapheme clusters (what the linked grapheme-splitter does).
#   A cluster that is an emoji (it holds an Extended_Pictographic code point, a
#   regional indicator of a flag, or the keycap mark U+20E3) counts the UTF-8 bytes of
#   the whole cluster: 👍 counts 4, 👍🏽 counts 8, 👨‍👩‍👧 counts 18, 🇫🇷 counts 8.
#   Every other cluster counts 1. Counting whole clusters, joiners and variation
#   selectors included, is the conservative reading: it is never less than counting
#   the emoji code points alone. Symbols such as © that are Extended_Pictographic also
#   count their bytes (2), again the safe side.
#
# Conservative choices
#   - "MB" and "GB" are taken as decimal (8,000,000 and 1,000,000,000 bytes): Meta does
#     not say which.
#   - GIFs: Threads shows GIFs only through its GIPHY integration (`gif_attachment`),
#     not as uploaded files, so image/gif is not accepted.
#   - Alt text: "The maximum length of alt_text is 1,000 characters" (POST
#     /{threads-user-id}/threads, https://developers.facebook.com/docs/threads/reference/publishing).
#
# Publishing (https://developers.facebook.com/docs/threads/posts,
# https://developers.facebook.com/docs/threads/troubleshooting)
#   1. A container: POST /v1.0/{user}/threads, media_type TEXT (text), IMAGE (image_url)
#      or VIDEO (video_url), with alt_text; several files: one `is_carousel_item`
#      container each, then a CAROUSEL container with `children`. A thread part sets
#      `reply_to_id` = the previous part's id. The container id is saved in the job's
#      checkpoint (out.save) at once: a container is not a post, it expires unpublished
#      after 24 h, so creating one is never ambiguous.
#   2. Its status (GET /{container}?fields=status,error_message): IN_PROGRESS is
#      NotReady (come back in a minute, as the docs ask: never a sleep in the send);
#      FINISHED goes on; ERROR fails with Threads' reason; EXPIRED starts over.
#   3. The quota (GET /{user}/threads_publishing_limit): 250 posts / 1,000 replies
#      per 24 h; when spent, Transient for an hour (the endpoint gives no reset time).
#   4. POST /{user}/threads_publish creation_id=… → {"id"}: the only step that
#      publishes. Its permalink (GET /{id}?fields=permalink) is Sent.url.
#
# Idempotency (LOOKUP)
#   A container is published once at most, so the checkpointed container decides what
#   an ambiguous publish did: PUBLISHED → the post is found in the account's own list
#   (GET /{user}/threads, or /{user}/replies for a thread part, fields
#   id,text,timestamp,permalink) by its text, at or after the first attempt — never the
#   newest blindly; while Threads does not list it yet, Transient (never a resend);
#   FINISHED → publish the same container again; EXPIRED/ERROR as above.
#
# Errors: Graph's body {"error": {"message", "type", "code", "error_subcode",
#   "error_user_msg"}}: 190 → AuthExpired (renewed once, else "log in again");
#   4, 17, 32, 613 (and 1, 2, 341, 80001-80014) → Transient for as long as the usage
#   headers say, else 5 minutes; any other refusal → Permanent with Threads' words.

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, TypeAlias
from urllib.parse import quote

import regex

from cmctl.networks import graph
from cmctl.networks.base import (
    AccountField,
    Ambiguous,
    Answers,
    Attachment,
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
    from cmctl.networks.credentials import Credential

# An httpx.Response (declaration files name no httpx, see base.py).
Response: TypeAlias = Any

_CLUSTER = regex.compile(r"\X")
_EMOJI = regex.compile(r"[\p{Extended_Pictographic}\p{Regional_Indicator}\u20E3]")

VERSION = "v1.0"
LONG_LIVED = timedelta(days=60)  # "valid for 60 days" (long-lived tokens)
RENEW_AGE = timedelta(hours=24)  # a token refreshes only once 24 h old
RENEW_WITHIN = timedelta(days=10)  # cmctl renews within 10 days of the end
STATUS_WAIT = 60.0  # "query a container's status no more than once per minute"
QUOTA_WAIT = 3600.0  # cmctl's choice: the publishing limit gives no reset time
THROTTLE_WAIT = 300.0  # cmctl's choice, as for Facebook
LOOKUP_PAGES = 4
LOOKUP_PAGE_SIZE = 50
THROTTLED = frozenset({"4", "17", "32", "613"})
LOGIN_HINT = "cmctl accounts login"


def threads_length(text: str) -> int:
    """Length of ``text`` as Threads counts it: emoji clusters count their UTF-8 bytes."""
    total = 0
    for cluster in _CLUSTER.findall(text):
        total += len(cluster.encode("utf-8")) if _EMOJI.search(cluster) else 1
    return total


class Threads(Network):
    name: ClassVar[str] = "threads"
    title: ClassVar[str] = "Threads"
    docs_url: ClassVar[str] = "https://developers.facebook.com/docs/threads/posts"
    api_base: ClassVar[str | None] = "https://graph.threads.net"
    media_by_url: ClassVar[bool] = True  # the Threads API fetches image_url / video_url

    # Meta's Graph API errors and usage headers (cmctl/networks/graph.py).
    answers: ClassVar[Answers | None] = graph.ANSWERS

    # Threads posts reference, "Publishing limits" (threads_publishing_limit): 250
    # API-published posts and 1,000 replies per rolling 24 h; thread parts are replies.
    quotas: ClassVar[tuple[Quota, ...]] = (
        Quota(250, timedelta(days=1), counts="roots"),
        Quota(1000, timedelta(days=1), counts="replies"),
    )

    max_length: ClassVar[int | None] = 500
    length_unit: ClassVar[str] = "characters"
    alt_max_length: ClassVar[int | None] = 1000

    media_kinds: ClassVar[tuple[MediaKind, ...]] = (
        MediaKind(
            "image",
            frozenset({"image/jpeg", "image/png"}),
            max_bytes=8_000_000,
            max_count=20,
        ),
        MediaKind(
            "video",
            frozenset({"video/mp4", "video/quicktime"}),
            max_bytes=1_000_000_000,
            max_count=20,
        ),
    )
    max_media: ClassVar[int] = 20
    mixed_media: ClassVar[bool] = True

    threads: ClassVar[bool] = True

    publishes: ClassVar[bool] = True
    idempotency: ClassVar[Idempotency] = Idempotency.LOOKUP
    idempotency_window: ClassVar[timedelta | None] = timedelta(0)  # no key at all
    finds: ClassVar[bool] = True

    oauth: ClassVar[OAuthApp | None] = OAuthApp(
        auth_base="https://threads.net",
        authorize_path="/oauth/authorize",
        token_path="/oauth/access_token",
        scopes=("threads_basic", "threads_content_publish"),
        scope_separator=",",
        pkce=False,
        client_auth="body",
        access_lifetime=LONG_LIVED,
    )

    account_fields: ClassVar[tuple[AccountField, ...]] = (
        AccountField(
            "client_id",
            required=True,
            help="the Threads app id (App settings → Basic → Threads app ID), quoted",
        ),
        AccountField(
            "client_secret",
            required=True,
            secret=True,
            help="the Threads app secret, as ${VAR}",
        ),
        AccountField(
            "user_id",
            help="the Threads user id, quoted (optional: learnt at login)",
        ),
        AccountField(
            "access_token",
            secret=True,
            help="a long-lived Threads token to start from, as ${VAR} (CI); "
            "else `cmctl accounts login NAME`",
        ),
        AccountField(
            "auth_url",
            default="https://threads.net",
            url=True,
            help="host of the browser step of the login (default https://threads.net)",
        ),
        AccountField(
            "redirect_uri",
            default=DEFAULT_REDIRECT_URI,
            help="the redirect callback URL registered with the Threads app",
        ),
    )

    @classmethod
    def count(cls, text: str) -> int:
        return threads_length(text)

    # ------------------------------------------------------------------ plumbing
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._user: str | None = None

    def _url(self, *path: str) -> str:
        return "/".join([self.api_url, VERSION, *(quote(p, safe="") for p in path)])

    @property
    def user(self) -> str:
        """The account's Threads user id: cmctl.yaml's, else the login's, else /me's."""
        if self._user is None:
            own = str(self.options.get("user_id") or "").strip()
            if not own:
                own = str(self._credential().extra.get("user_id") or "")
            if not own:
                own = str(self._call("GET", "me", params={"fields": "id"}).get("id") or "")
            if not own:
                raise Permanent("Threads did not say the account's user id: set user_id")
            self._user = own
        return self._user

    def _credential(self) -> Credential:
        """The stored credential, renewed first when it is due (see ``renew``)."""
        cred = self._stored_credential(refused=None)
        if _due(cred, _now()):
            # the current token still works for days: keep it when renewing fails
            with contextlib.suppress(SendError):
                cred = self._stored_credential(refused=cred.access)
        return cred

    def access_token(self) -> str:
        if self._token is None:
            self._token = self._credential().access
        return self._token

    def _call(
        self, method: str, *path: str, creates: bool = False, **kwargs: Any
    ) -> dict[str, Any]:
        """One Graph call with the account's token; the JSON object it answers."""
        response = self.http.request(
            method,
            self._url(*path),
            creates=creates,
            classify=self._classify,
            headers={"Authorization": f"Bearer {self.access_token()}"},
            **kwargs,
        )
        body = _json(response)
        if not isinstance(body, dict):
            where = f"{method} /{'/'.join(path)}"
            error = Ambiguous if creates else Permanent
            raise error(f"{where}: Threads answered {response.status_code} without a JSON object")
        return body

    # ------------------------------------------------------------------ login
    def exchange_code(self, code: str, verifier: str | None, redirect_uri: str) -> Credential:
        """The code for a short-lived token (and the user id), then that token for a
        long-lived one (GET /access_token?grant_type=th_exchange_token)."""
        from cmctl.networks.oauth import token_url

        secret = self._secret()
        self.http.add_secret(code)
        form = {
            "client_id": str(self.options.get("client_id") or ""),
            "client_secret": secret,
            "grant_type": "authorization_code",
            "redirect_uri": redirect_uri,
            "code": code,
        }
        short = self._token_call("POST", token_url(self, self._oauth()), data=form)
        user_id = str(short.get("user_id") or "")
        params = {
            "grant_type": "th_exchange_token",
            "client_secret": secret,
            "access_token": short["access_token"],
        }
        long = self._token_call("GET", f"{self.api_url}/access_token", params=params)
        return self._credential_of(long, {"user_id": user_id} if user_id else {})

    def renew(self, current: Credential) -> Credential:
        """A long-lived token refreshed (GET /refresh_access_token?grant_type=
        th_refresh_token); LoginRequired once it has lapsed, or when refused."""
        from cmctl.networks.credentials import LoginRequired

        now = _now()
        if current.expires_at is not None and current.expires_at <= now:
            raise LoginRequired(
                self.account_name,
                f"the Threads login expired on {current.expires_at:%Y-%m-%d %H:%M} UTC",
            )
        params = {"grant_type": "th_refresh_token", "access_token": current.access}
        answer = self._token_call("GET", f"{self.api_url}/refresh_access_token", params=params)
        extra = {k: v for k, v in current.extra.items() if k != "issued_at"}
        return self._credential_of(answer, extra)

    def seeded_credential(self, tokens: Mapping[str, str], digest: str) -> Credential:
        cred = super().seeded_credential(tokens, digest)
        from dataclasses import replace

        return replace(cred, extra={**cred.extra, "issued_at": _now().isoformat()})

    def _secret(self) -> str:
        secret = str(self.options.get("client_secret") or "")
        if not secret:
            raise Permanent("the account has no client_secret (the Threads app secret)")
        self.http.add_secret(secret)
        return secret

    def _token_call(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        from cmctl.networks.credentials import LoginRequired

        for key in ("access_token", "client_secret", "code"):
            for bag in (kwargs.get("params") or {}, kwargs.get("data") or {}):
                self.http.add_secret(bag.get(key) or None)

        def refused(response: Response) -> SendError | None:
            if response.status_code in (400, 401, 403):
                said = _said(response, self.http.redact)
                return LoginRequired(self.account_name, f"Threads refused the login ({said})")
            return None

        response = self.http.request(method, url, classify=refused, **kwargs)
        answer = _json(response)
        if not isinstance(answer, dict) or not isinstance(answer.get("access_token"), str):
            raise Permanent("Threads' token endpoint answered without an access_token")
        self.http.add_secret(answer["access_token"])
        return answer

    def _credential_of(self, answer: dict[str, Any], extra: dict[str, Any]) -> Credential:
        from cmctl.networks.credentials import Credential

        now = _now()
        life = answer.get("expires_in")
        seconds = float(life) if isinstance(life, int | float) and not isinstance(life, bool) else 0
        lasts = timedelta(seconds=seconds) if seconds > 0 else LONG_LIVED
        return Credential(
            access=answer["access_token"],
            expires_at=now + lasts,
            extra={**extra, "issued_at": now.isoformat()},
        )

    # ------------------------------------------------------------------ publishing
    def publish(self, out: Outgoing) -> Sent:
        checkpoint = dict(out.checkpoint or {})
        container = checkpoint.get("container")
        if isinstance(container, str) and container:
            status, said = self._status(container)
            if status == "PUBLISHED":
                return self._published(out, checkpoint)
            if status in ("FINISHED", "IN_PROGRESS", "ERROR"):
                return self._go_on(out, container, status, said)
            checkpoint = {}  # EXPIRED (or gone): never published, start over
        container = self._create(out, checkpoint)
        status, said = self._status(container)
        return self._go_on(out, container, status, said)

    def _go_on(self, out: Outgoing, container: str, status: str, said: str) -> Sent:
        if status == "IN_PROGRESS":
            raise NotReady(f"Threads is still preparing container {container}", STATUS_WAIT)
        if status == "ERROR":
            raise Permanent(f"Threads could not prepare the post: {said or 'ERROR'}")
        if status == "EXPIRED":
            raise Transient(f"container {container} expired before it was published")
        if status != "FINISHED":
            raise Transient(f"container {container} is {status or 'in an unknown state'}")
        self._check_quota(out)
        created = self._call(
            "POST", self.user, "threads_publish", creates=True, data={"creation_id": container}
        )
        media_id = created.get("id")
        if not isinstance(media_id, str | int) or media_id == "":
            raise Ambiguous("Threads answered the publish without an id")
        media_id = str(media_id)
        return Sent(media_id, self._permalink(media_id), {"id": media_id})

    def _create(self, out: Outgoing, checkpoint: dict[str, Any]) -> str:
        """The post's container (its carousel items first), saved as the checkpoint."""
        form: dict[str, str] = {"text": out.text}
        if out.part and out.reply_to is not None:
            form["reply_to_id"] = out.reply_to.remote_id
        if len(out.media) == 1:
            form.update(self._media_form(out.media[0]))
        elif out.media:
            children = self._children(out, checkpoint)
            form.update({"media_type": "CAROUSEL", "children": ",".join(children)})
        else:
            form["media_type"] = "TEXT"
        body = self._call("POST", self.user, "threads", data=form)
        container = body.get("id")
        if not isinstance(container, str | int) or container == "":
            raise Permanent("Threads answered the container without an id")
        container = str(container)
        out.save({**checkpoint, "container": container, "created": _now().isoformat()})
        return container

    def _children(self, out: Outgoing, checkpoint: dict[str, Any]) -> list[str]:
        """One carousel item container per file, each FINISHED before the carousel."""
        made: list[str] = [str(c) for c in checkpoint.get("children") or []]
        for index, item in enumerate(out.media):
            if index < len(made):
                status, said = self._status(made[index])
                if status == "EXPIRED":
                    made = made[:index]  # the rest is older still: make them again
                elif status == "ERROR":
                    raise Permanent(f"Threads could not prepare {item.path.name}: {said}")
                else:
                    continue
            form = {**self._media_form(item), "is_carousel_item": "true"}
            body = self._call("POST", self.user, "threads", data=form)
            made.append(str(body.get("id") or ""))
            out.save({"children": made})
        for child in made:
            status, said = self._status(child)
            if status == "IN_PROGRESS":
                raise NotReady(f"Threads is still preparing carousel item {child}", STATUS_WAIT)
            if status != "FINISHED":
                raise Transient(f"carousel item {child} is {status}: {said}".rstrip(": "))
        checkpoint["children"] = made
        return made

    def _media_form(self, item: Attachment) -> dict[str, str]:
        from cmctl.media import MediaProblem, facts

        url = self.served_url(item)
        try:
            kind = self.media_kind(facts(item.path, item.root).mime_type)
        except (MediaProblem, OSError) as exc:
            raise Permanent(f"media {item.path.name}: {exc}") from None
        video = kind is not None and kind.kind == "video"
        form = {"media_type": "VIDEO", "video_url": url} if video else {}
        form = form or {"media_type": "IMAGE", "image_url": url}
        if item.alt:
            form["alt_text"] = item.alt
        return form

    def _status(self, container: str) -> tuple[str, str]:
        body = self._call("GET", container, params={"fields": "status,error_message"})
        return str(body.get("status") or ""), str(body.get("error_message") or "")

    def _check_quota(self, out: Outgoing) -> None:
        """The account's publishing limit (posts, or replies for a thread part)."""
        reply = out.part > 0
        fields = "reply_quota_usage,reply_config" if reply else "quota_usage,config"
        try:
            body = self._call(
                "GET", self.user, "threads_publishing_limit", params={"fields": fields}
            )
        except Permanent:
            return  # no figures (a permission missing): Threads enforces it at publish
        data = body.get("data")
        row = data[0] if isinstance(data, list) and data and isinstance(data[0], dict) else {}
        used = row.get("reply_quota_usage" if reply else "quota_usage")
        config = row.get("reply_config" if reply else "config")
        total = config.get("quota_total") if isinstance(config, dict) else None
        if isinstance(used, int) and isinstance(total, int) and total > 0 and used >= total:
            what = "replies" if reply else "posts"
            raise Transient(
                f"Threads' publishing limit is reached ({used}/{total} {what} in 24 h); "
                "cmctl tries again in an hour",
                QUOTA_WAIT,
            )

    def _permalink(self, media_id: str) -> str | None:
        try:
            body = self._call("GET", media_id, params={"fields": "permalink"})
        except SendError:
            return None
        url = body.get("permalink")
        return url if isinstance(url, str) and url.startswith("https://") else None

    def _published(self, out: Outgoing, checkpoint: Mapping[str, Any]) -> Sent:
        """The container is published: find its post; never publish again."""
        since = _time(checkpoint.get("created")) or out.scheduled_at - timedelta(days=1)
        found = self._search(out, since - timedelta(minutes=5))
        if found is None:
            raise Transient(
                "Threads says this post is published but does not list it yet; "
                "cmctl looks again later (it never publishes it twice)"
            )
        return found

    # ------------------------------------------------------------------ look-up
    def find(self, out: Outgoing, since: datetime) -> Sent | None:
        container = (out.checkpoint or {}).get("container")
        if isinstance(container, str) and container:
            status, _ = self._status(container)
            if status == "PUBLISHED":
                return self._published(out, {"created": since.isoformat()})
            return None  # not published: publish() goes on from the container
        return self._search(out, since)

    def _search(self, out: Outgoing, since: datetime) -> Sent | None:
        """This job's post among the account's own (replies for a thread part), by its
        text, at or after ``since``: never the newest blindly."""
        edge = "replies" if out.part else "threads"
        params = {
            "fields": "id,text,timestamp,permalink",
            "since": str(int(since.timestamp())),
            "limit": str(LOOKUP_PAGE_SIZE),
        }
        for _ in range(LOOKUP_PAGES):
            body = self._call("GET", self.user, edge, params=params)
            data = body.get("data")
            items = [d for d in data if isinstance(d, dict)] if isinstance(data, list) else []
            for item in items:
                created = _time(item.get("timestamp"))
                if created is not None and created < since:
                    continue
                text = item.get("text")
                found = item.get("id")
                if isinstance(text, str) and text.strip() == out.text.strip() and found:
                    url = item.get("permalink")
                    return Sent(
                        str(found), url if isinstance(url, str) else None, {"id": str(found)}
                    )
            paging = body.get("paging")
            cursors = paging.get("cursors") if isinstance(paging, dict) else None
            after = cursors.get("after") if isinstance(cursors, dict) else None
            if not after or not isinstance(paging, dict) or "next" not in paging:
                return None
            params = {**params, "after": str(after)}
        return None

    # ------------------------------------------------------------------ check
    def check(self) -> str:
        try:
            me = self._call("GET", "me", params={"fields": "id,username"})
        except AuthExpired:
            self.refresh()
            me = self._call("GET", "me", params={"fields": "id,username"})
        own = str(self.options.get("user_id") or "").strip()
        if own and str(me.get("id")) != own:
            raise Permanent(
                f"the token belongs to Threads user {me.get('id')}, not to user_id {own}"
            )
        return f"@{me.get('username') or '?'} (Threads user {me.get('id')})"

    # ------------------------------------------------------------------ errors
    def _classify(self, response: Response) -> SendError | None:
        """Graph's error codes, in Threads' words."""
        answers = self.answers
        body = _json(response)
        error = body.get("error") if isinstance(body, dict) else None
        if answers is None or not isinstance(error, dict) or response.status_code >= 500:
            return None
        graph = read_graph_error(response, body, self.http.redact)
        if graph is None:
            return None
        code, head = graph.code, graph.head
        if code in ("190", "102"):
            return AuthExpired(
                f"{head}: the Threads token expired or was revoked; if renewing it fails, "
                f"log in again with `{LOGIN_HINT} {self.account_name}`"
            )
        if code in THROTTLED:
            reading = answers.read(response.status_code, response.headers, response.content)
            wait = reading.usage_wait or THROTTLE_WAIT
            figures = f" ({reading.usage_said})" if reading.usage_said else ""
            return Transient(
                f"{head}: Threads' rate limit{figures}; calls resume in {wait / 60:.0f} min", wait
            )
        if code not in answers.later:
            return Permanent(head)
        return None


def _due(cred: Credential, now: datetime) -> bool:
    """Is a long-lived token due for renewal: 24 h old, within 10 days of its end?"""
    if cred.expires_at is None or cred.expires_at <= now:
        return False
    issued = _time(cred.extra.get("issued_at"))
    old_enough = issued is None or now - issued >= RENEW_AGE
    return old_enough and cred.expires_at - now <= RENEW_WITHIN


def _now() -> datetime:
    from cmctl import clock

    return clock.now()


def _time(value: Any) -> datetime | None:
    """An aware datetime from Threads' "2026-12-01T09:30:00+0000" (or ISO 8601)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        try:
            moment = datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")
        except ValueError:
            return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _json(response: Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _said(response: Response, redact: Any) -> str:
    """A token endpoint's refusal in Threads' words (never a token)."""
    body = _json(response)
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        parts = [str(p) for p in (error.get("code"), error.get("message")) if p]
        if parts:
            return str(redact(": ".join(parts)))[:300]
    return f"HTTP {response.status_code}"
