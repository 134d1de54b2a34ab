# Bluesky: the AT Protocol social app (https://bsky.app). A post is an
# `app.bsky.feed.post` record written to your repository on your PDS (Personal Data
# Server) with com.atproto.repo.putRecord; images are blobs uploaded first with
# com.atproto.repo.uploadBlob and referenced from an `app.bsky.embed.images` embed.
#
# Credentials
#   In the Bluesky app: Settings → Privacy and security → App passwords → Add App
#   Password. Name it (e.g. "cmctl"), leave "Allow access to your direct messages"
#   off, and copy the password shown once (xxxx-xxxx-xxxx-xxxx). Never use your main
#   password. cmctl logs in with com.atproto.server.createSession. In cmctl.yaml:
#       network: bluesky
#       handle: you.bsky.social                 # or your own domain handle
#       app_password: ${BLUESKY_APP_PASSWORD}
#       service: https://bsky.social            # only if your account lives on another PDS
#
# Sources for every limit below (lexicons from bluesky-social/atproto, as vendored in
# ../shared/conformance/atproto/lexicons/, commit d6296a1, 2026-08-20)
#   - Text: app.bsky.feed.post, property `text`: "maxGraphemes": 300 and
#     "maxLength": 3000 (lexicon string maxLength counts UTF-8 bytes, see
#     https://atproto.com/specs/lexicon#string). Both apply: a text of 300 emoji
#     families can be under the grapheme limit and over the byte limit.
#     https://github.com/bluesky-social/atproto/blob/main/lexicons/app/bsky/feed/post.json
#   - Images: app.bsky.embed.images: `images` maxLength 4; each `image` blob
#     "accept": ["image/*"], "maxSize": 2000000 ("May be up to 2 MB, formerly limited
#     to 1 MB", raised in atproto PR #4823, April 2026).
#     https://github.com/bluesky-social/atproto/blob/main/lexicons/app/bsky/embed/images.json
#   - Video: app.bsky.embed.video: one `video` blob, "accept": ["video/mp4"],
#     "maxSize": 300000000 ("May be up to 300mb, formerly limited to 100mb",
#     atproto PR #5373, August 2026).
#     https://github.com/bluesky-social/atproto/blob/main/lexicons/app/bsky/embed/video.json
#     Upload flow and per-day video quotas: https://docs.bsky.app/docs/tutorials/video
#   - No mixing: a post has one `embed`, a union of images | video | gallery |
#     external | record | recordWithMedia, so images and a video never share a post.
#   - Threads: a reply is a post whose `reply` has `root` and `parent` strong refs
#     (app.bsky.feed.post#replyRef).
#
# Conservative choices
#   - Image types: the lexicon accepts image/*; the AppView resizes with sharp, which
#     reads JPEG, PNG, WebP and GIF (packages/bsky/src/image/util.ts). We accept those
#     four only. A GIF is shown as a still image (its first frame).
#   - 4 images, not 10: the newer app.bsky.embed.gallery (June 2026) takes up to 10
#     images, but every client must support it first; app.bsky.embed.images (4) is
#     what every client shows today.
#
# Publishing (XRPC over HTTPS on `service`: POST/GET {service}/xrpc/<method NSID>,
# https://atproto.com/specs/xrpc; schemas in ../shared/conformance/atproto/lexicons/)
#   1. Session: com.atproto.server.createSession {identifier: handle, password:
#      app_password} gives accessJwt, refreshJwt, did and handle, kept in the
#      credential store of the state folder (cmctl/networks/credentials.py): the PDS
#      rate-limits createSession (30 per 5 minutes), so one login serves every run
#      until its refresh token lapses (90 days). Each JWT's expiry is read from its
#      `exp` claim (without verifying it); 5 minutes before the access token expires,
#      refreshSession renews it under the store's lock, and the rotated pair is saved
#      before it is used, so two runs never both spend one refresh token.
#      An expired access token answers 400 or 401 with error "ExpiredToken" (the PDS's
#      auth verifier throws InvalidRequestError or AuthRequiredError('Token has
#      expired', 'ExpiredToken')): publish raises AuthExpired, the publisher calls
#      refresh(), which calls com.atproto.server.refreshSession with the refreshJwt
#      (and logs in again with createSession when that one has expired too).
#      Lexicons: com.atproto.server.createSession / refreshSession ("Requires auth
#      using the 'refreshJwt'"; errors ExpiredToken, InvalidToken); the error names
#      come from packages/pds/src/auth-verifier.ts in bluesky-social/atproto.
#   2. Each attachment: com.atproto.repo.uploadBlob with the raw bytes and the
#      sniffed Content-Type; the answer's `blob` goes in the embed.
#      Images: app.bsky.embed.images {images: [{image, alt, aspectRatio}]} (aspect
#      ratio from the file header, cmctl.media.dimensions). A video: the "simple
#      method" of https://docs.bsky.app/docs/tutorials/video (uploadBlob to the PDS,
#      app.bsky.embed.video); the video service processes it after the post appears.
#   3. The record, per app.bsky.feed.post: $type, text, createdAt (now, UTC, ms, "Z"),
#      langs (the post's BCP 47 tags, at most 3), facets, embed, reply.
#      Facets (app.bsky.richtext.facet) index UTF-8 *bytes*, start inclusive, end
#      exclusive (https://docs.bsky.app/docs/advanced-guides/post-richtext):
#        links: #link {uri} (a URL written without scheme gets https://). A link
#          written with http(s):// is shown the way Bluesky's own app shows the links
#          it posts (social-app's toShortUrl, applied by shortenLinks in the composer):
#          without its scheme, and when what follows the host (path, "/" alone left
#          out, then ?query and #fragment) is longer than 15 characters, its first 13
#          then "..."; the facet's uri keeps the full URL. `validate` counts, and
#          `plan` shows, the shortened text (shown_text).
#        mentions: #mention {did}, the handle resolved with
#          com.atproto.identity.resolveHandle (a mention that does not resolve, or is
#          not a handle, such as a fediverse @user@domain, stays plain text),
#        hashtags: #tag {tag} without the "#".
#      Replies: reply {root, parent}, strong refs {uri, cid} of the thread's first
#      part and of the previous part (app.bsky.feed.post#replyRef).
#   4. com.atproto.repo.putRecord {repo: did, collection: app.bsky.feed.post, rkey,
#      record, swapRecord: null}. Sent: the at:// URI, the bsky.app URL, {uri, cid}.
#
# Idempotency (a resend is harmless forever: idempotency_window = None)
#   The record key is not left to the server: cmctl derives a TID from the job, the
#   same on every attempt (see record_key below), and writes with putRecord and
#   `swapRecord: null`, which means "only if no record exists at this key"
#   (putRecord.json: swapRecord is nullable; the PDS treats an update whose swap CID
#   is null as a bad swap: packages/pds/src/actor-store/repo/transactor.ts, "There
#   should be a current record for an update", answered as error InvalidSwap by
#   packages/pds/src/api/com/atproto/repo/putRecord.ts). So a second attempt can
#   never make a second post: it gets InvalidSwap, and cmctl then reads the existing
#   record with com.atproto.repo.getRecord and reports it as sent (a byte-identical
#   record would instead get the PDS's no-op success, with the same uri and cid).
#   Record keys: https://atproto.com/specs/record-key; app.bsky.feed.post uses
#   "key": "tid", and TIDs are https://atproto.com/specs/tid (13 characters of
#   base32-sortable, a 64-bit integer: top bit 0, 53 bits of microseconds since the
#   UNIX epoch, 10 bits of clock identifier).

from __future__ import annotations

import contextlib
import hashlib
import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, TypeAlias

from cmctl import clock
from cmctl.networks.base import (
    AccountField,
    Ambiguous,
    AuthExpired,
    Idempotency,
    MediaKind,
    Network,
    Permanent,
    Quota,
    SendError,
    Sent,
    Transient,
)

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from pathlib import Path

    from cmctl.networks.base import Attachment, Outgoing
    from cmctl.networks.credentials import Credential, CredentialStore
    from cmctl.networks.http import Http
    from cmctl.text.entities import Entity

# An httpx.Response. Declaration files name no httpx, even for type checking, so that
# `cmctl validate` never loads it (see base.py); the HTTP helper hands these over.
Response: TypeAlias = Any

DEFAULT_SERVICE = "https://bsky.social"
POST = "app.bsky.feed.post"
FACET = "app.bsky.richtext.facet"
MAX_LANGS = 3  # app.bsky.feed.post: langs maxLength 3
MAX_TAG_BYTES, MAX_TAG_GRAPHEMES = 640, 64  # app.bsky.richtext.facet#tag
# How the app shows a link (see the header): past SHORT_AFTER characters after the
# host, SHORT_KEEP of them then SHORT_MARK.
SHORT_AFTER, SHORT_KEEP, SHORT_MARK = 15, 13, "..."

# https://atproto.com/specs/tid: base32-sortable, 13 characters, first one 0-15.
TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
TID_SYNTAX = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")
# https://atproto.com/specs/handle#handle-identifier-syntax
HANDLE_SYNTAX = re.compile(
    r"^([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+"
    r"[a-zA-Z]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$"
)
# Record keys' timestamps (see record_key): 2^45 microseconds from 2023-01-01T00:00Z.
RKEY_EPOCH_US = 1_672_531_200_000_000
RKEY_SPAN_US = 1 << 45
# Renew a session this long before its access token expires (2 hours on the PDS).
REFRESH_AHEAD = timedelta(minutes=5)


class Bluesky(Network):
    name: ClassVar[str] = "bluesky"
    title: ClassVar[str] = "Bluesky"
    docs_url: ClassVar[str] = (
        "https://github.com/bluesky-social/atproto/blob/main/lexicons/app/bsky/feed/post.json"
    )
    abbreviation: ClassVar[str | None] = "bsky"

    # docs.bsky.app/docs/advanced-guides/rate-limits: a PDS account may spend 5,000
    # points an hour and 35,000 a day, a record create costing 3: 1,666 and 11,666 posts.
    quotas: ClassVar[tuple[Quota, ...]] = (
        Quota(1666, timedelta(hours=1)),
        Quota(11666, timedelta(days=1)),
    )

    api_base: ClassVar[str | None] = DEFAULT_SERVICE
    api_base_field: ClassVar[str | None] = "service"  # your PDS, when not bsky.social

    max_length: ClassVar[int | None] = 300
    length_unit: ClassVar[str] = "graphemes"
    max_bytes: ClassVar[int | None] = 3000

    media_kinds: ClassVar[tuple[MediaKind, ...]] = (
        MediaKind(
            "image",
            frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"}),
            max_bytes=2_000_000,
            max_count=4,
        ),
        MediaKind(
            "video",
            frozenset({"video/mp4"}),
            max_bytes=300_000_000,
            max_count=1,
        ),
    )
    max_media: ClassVar[int] = 4
    mixed_media: ClassVar[bool] = False

    threads: ClassVar[bool] = True

    publishes: ClassVar[bool] = True
    # Deterministic record key + putRecord that only creates (see the header above).
    idempotency_window: ClassVar[timedelta | None] = None
    idempotency: ClassVar[Idempotency] = Idempotency.CHOSEN_ID

    account_fields: ClassVar[tuple[AccountField, ...]] = (
        AccountField(
            "handle",
            required=True,
            help="your handle, e.g. you.bsky.social (or your DID)",
        ),
        AccountField(
            "app_password",
            required=True,
            secret=True,
            help="an app password (Settings → Privacy and security → App passwords), "
            "never your main password",
        ),
        AccountField(
            "service",
            default="https://bsky.social",
            help="URL of the PDS that hosts your account",
        ),
    )

    @classmethod
    def count(cls, text: str) -> int:
        """Grapheme clusters, as the lexicon's maxGraphemes counts them."""
        from cmctl.text.units import count_graphemes

        return count_graphemes(text)

    @classmethod
    def shown_text(cls, text: str) -> str:
        """The text with its http(s) links shortened, as the post will show it."""
        return displayed(text)[0]

    # ------------------------------------------------------------------ publishing
    def __init__(
        self, account: Any, options: Mapping[str, Any], http: Http, state_dir: Path
    ) -> None:
        super().__init__(account, options, http, state_dir)
        self._session: dict[str, str] | None = None  # accessJwt, refreshJwt, did, handle
        self._store().check()  # a store others can read holds the account back (exit 2)
        self._dids: dict[str, str | None] = {}  # resolved handles

    @property
    def service(self) -> str:
        """Where XRPC calls go: `api_url`, else `service`, else bsky.social."""
        return self.api_url

    def _xrpc(self, method: str) -> str:
        return f"{self.service}/xrpc/{method}"

    @property
    def _account_name(self) -> str:
        return str(getattr(self.account, "name", self.account))

    def _store(self) -> CredentialStore:
        from cmctl.networks.credentials import CredentialStore

        return CredentialStore(self.state_dir)

    def _current(self) -> dict[str, str]:
        """The session: this run's, else the stored one, renewed first when it must be.

        Sessions live in the credential store (cmctl/networks/credentials.py), so runs
        reuse one instead of logging in each time (createSession allows 30 logins in 5
        minutes). Under the store's lock: refreshSession when the access token expires
        within REFRESH_AHEAD, createSession when there is no session (or it belongs to
        another handle or service) or the refresh token is refused."""
        if self._session is not None and not _expires_soon(self._session):
            return self._session
        with _store_trouble():
            cred = self._store().refresh(self._account_name, self._renew, ahead=REFRESH_AHEAD)
        return self._adopt(cred)

    def _renew(self, current: Credential | None) -> Credential:
        """A new session for the store: refreshSession if we can, else createSession."""
        if (
            current is None
            or current.refresh is None
            or current.extra.get("for") != self._who()
            or (
                current.refresh_expires_at is not None and current.refresh_expires_at <= clock.now()
            )
        ):
            return self._login()
        self.http.add_secret(current.refresh)
        try:
            response = self.http.request(
                "POST",
                self._xrpc("com.atproto.server.refreshSession"),
                classify=self._classify_auth,
                headers={"Authorization": f"Bearer {current.refresh}"},
            )
        except (AuthExpired, Permanent):  # the refresh token expired or was revoked
            return self._login()
        return self._credential(response, "refreshSession")

    def _who(self) -> str:
        """Whose session: the handle and the PDS it was opened on."""
        handle = str(self.options.get("handle") or "").strip().lstrip("@").lower()
        return f"{handle} {self.service}"

    def _login(self) -> Credential:
        """com.atproto.server.createSession with the handle and the app password."""
        handle = str(self.options.get("handle") or "").strip().lstrip("@")
        password = str(self.options.get("app_password") or "")
        if not handle or not password:
            raise Permanent("the account needs `handle` and `app_password`")
        self.http.add_secret(password)
        response = self.http.request(
            "POST",
            self._xrpc("com.atproto.server.createSession"),
            classify=self._classify_login,
            json={"identifier": handle, "password": password},
        )
        return self._credential(response, "createSession")

    def _credential(self, response: Response, method: str) -> Credential:
        from cmctl.networks.credentials import Credential

        body = _json_object(response, method)
        session = {k: body.get(k) for k in ("accessJwt", "refreshJwt", "did", "handle")}
        if not all(isinstance(v, str) and v for v in session.values()):
            raise Permanent(f"{method}: Bluesky answered without a complete session")
        access, refresh = str(session["accessJwt"]), str(session["refreshJwt"])
        self.http.add_secret(access)
        self.http.add_secret(refresh)
        return Credential(
            access=access,
            refresh=refresh,
            expires_at=jwt_expiry(access),
            refresh_expires_at=jwt_expiry(refresh),
            renewable=True,  # the app password opens a new session by itself
            extra={"did": session["did"], "handle": session["handle"], "for": self._who()},
        )

    def _adopt(self, cred: Credential) -> dict[str, str]:
        """Make ``cred`` this run's session."""
        if cred.refresh is not None:
            self.http.add_secret(cred.refresh)
        self.http.add_secret(cred.access)
        self._session = {
            "accessJwt": cred.access,
            "refreshJwt": cred.refresh or "",
            "did": str(cred.extra.get("did") or ""),
            "handle": str(cred.extra.get("handle") or ""),
        }
        return self._session

    def refresh(self) -> bool:
        """After an ExpiredToken: renew the session under the store's lock.

        If another process renewed it meanwhile, its session is used as it is (the
        refused access token is no longer the stored one): a refresh token is never
        spent twice."""
        refused = self._session["accessJwt"] if self._session else None
        with _store_trouble():
            cred = self._store().refresh(
                self._account_name, self._renew, ahead=REFRESH_AHEAD, refused=refused
            )
        self._adopt(cred)
        return True

    def close(self) -> None:
        self._session = None
        super().close()

    def check(self) -> str:
        """Prove the app password with createSession, and keep that session for the
        next runs (a check costs one login of the 30 allowed in 5 minutes)."""
        session = self._adopt(
            self._store().refresh(self._account_name, lambda _: self._login(), force=True)
        )
        return f"@{session['handle']} ({session['did']})"

    def publish(self, out: Outgoing) -> Sent:
        session = self._current()
        auth = {"Authorization": f"Bearer {session['accessJwt']}"}
        blobs = [(item, self._upload(item, auth)) for item in out.media]
        record = self.build_record(out, blobs)
        rkey = record_key(out)
        try:
            response = self.http.request(
                "POST",
                self._xrpc("com.atproto.repo.putRecord"),
                creates=True,
                classify=self._classify_put,
                headers=auth,
                json={
                    "repo": session["did"],
                    "collection": POST,
                    "rkey": rkey,
                    "record": record,
                    "swapRecord": None,
                },
            )
        except _AlreadyWritten:
            return self._existing(session, rkey)
        # A 2xx without {uri, cid}: the record may be there; a resend is harmless.
        body = _json_object(response, "putRecord", Transient)
        return _sent(session, body, rkey, Transient)

    def build_record(
        self, out: Outgoing, blobs: list[tuple[Attachment, dict[str, Any]]]
    ) -> dict[str, Any]:
        """The app.bsky.feed.post record for one part (blobs: uploaded media)."""
        text, links = displayed(out.text)
        record: dict[str, Any] = {"$type": POST, "text": text, "createdAt": _now_iso()}
        if out.lang:
            record["langs"] = list(out.lang[:MAX_LANGS])
        facets = self.facets(text, links)
        if facets:
            record["facets"] = facets
        if blobs:
            record["embed"] = _embed(blobs)
        if out.reply_to is not None:
            parent = _strong_ref(out.reply_to)
            root = _strong_ref(out.root) if out.root is not None else parent
            record["reply"] = {"root": root, "parent": parent}
        return record

    def facets(
        self, text: str, links: list[tuple[Entity, str]] | None = None
    ) -> list[dict[str, Any]]:
        """Link, mention and hashtag facets with UTF-8 byte offsets, in text order.
        ``links``: the links of ``text`` with their full URIs (``displayed``); None:
        the URLs found in ``text``, as written."""
        from cmctl.text.entities import byte_span, extract_hashtags, extract_mentions
        from cmctl.text.units import count_graphemes

        if links is None:
            links = _links(text)
        found: list[tuple[tuple[int, int], dict[str, Any]]] = []
        for url, uri in links:
            found.append((byte_span(text, url), {"$type": f"{FACET}#link", "uri": uri}))

        def outside(entity: Entity) -> bool:  # not inside a (shortened) link
            return not any(u.start < entity.end and entity.start < u.end for u, _ in links)

        for mention in filter(outside, extract_mentions(text)):
            did = self.resolve_handle(mention.value)
            if did is not None:
                found.append((byte_span(text, mention), {"$type": f"{FACET}#mention", "did": did}))
        for tag in filter(outside, extract_hashtags(text)):
            fits = len(tag.value.encode()) <= MAX_TAG_BYTES
            if fits and count_graphemes(tag.value) <= MAX_TAG_GRAPHEMES:
                found.append((byte_span(text, tag), {"$type": f"{FACET}#tag", "tag": tag.value}))
        found.sort(key=lambda facet: facet[0])
        return [
            {"index": {"byteStart": start, "byteEnd": end}, "features": [feature]}
            for (start, end), feature in found
        ]

    def resolve_handle(self, handle: str) -> str | None:
        """The DID of ``handle``, or None when it is not a handle or does not resolve."""
        handle = handle.lower()
        if len(handle) > 253 or not HANDLE_SYNTAX.match(handle):
            return None  # e.g. a fediverse mention (user@domain) or a bare @name
        cache = self._dids
        if handle not in cache:
            try:
                response = self.http.request(
                    "GET",
                    self._xrpc("com.atproto.identity.resolveHandle"),
                    params={"handle": handle},
                )
            except Permanent:  # HandleNotFound, or a handle the server will not take
                cache[handle] = None
            else:
                did = _json_object(response, "resolveHandle").get("did")
                cache[handle] = did if isinstance(did, str) and did.startswith("did:") else None
        return cache[handle]

    def _upload(self, item: Attachment, auth: dict[str, str]) -> dict[str, Any]:
        from cmctl.media import MediaProblem, read_checked

        try:
            content, found = read_checked(
                item.path, item.root, max(k.max_bytes for k in self.media_kinds)
            )
        except MediaProblem as p:
            raise Permanent(p.message) from None
        mime = found.mime_type or "application/octet-stream"
        response = self.http.request(
            "POST",
            self._xrpc("com.atproto.repo.uploadBlob"),
            classify=self._classify_auth,
            headers={**auth, "Content-Type": mime},
            content=content,
        )
        blob = _json_object(response, "uploadBlob").get("blob")
        if not isinstance(blob, dict):
            raise Permanent(f"uploadBlob: Bluesky answered without a blob for {item.path.name}")
        return blob

    def _existing(self, session: dict[str, str], rkey: str) -> Sent:
        """The record an earlier attempt wrote at ``rkey`` (com.atproto.repo.getRecord).

        InvalidSwap proved that the record exists: whatever goes wrong reading it (an
        error, a 5xx, a timeout, a RecordNotFound from a server that lags behind its
        own write) is Ambiguous, never a failure. The publisher reads again later (the
        next putRecord answers InvalidSwap again) and records the post once the read
        succeeds; at the job's deadline it is `unknown`, for a human to settle."""
        try:
            response = self.http.request(
                "GET",
                self._xrpc("com.atproto.repo.getRecord"),
                params={"repo": session["did"], "collection": POST, "rkey": rkey},
            )
            return _sent(session, _json_object(response, "getRecord", Ambiguous), rkey, Ambiguous)
        except AuthExpired:
            raise
        except SendError as exc:
            raise Ambiguous(
                f"the post exists (putRecord: InvalidSwap at {rkey}) but "
                f"reading it failed: {exc.message}; cmctl reads it again "
                "later"
            ) from None

    # --- how Bluesky's errors map ---------------------------------------------------
    def _problem(self, response: Response) -> tuple[str, str]:
        """(XRPC error name, safe message) of an error response."""
        try:
            body = response.json()
        except ValueError:
            body = None
        name = body.get("error") if isinstance(body, dict) else None
        where = f"{response.request.method} {response.request.url.path}"
        said = self.http.error_message(response)  # redacted, then cut
        return (name if isinstance(name, str) else ""), f"{where}: {response.status_code} {said}"

    def _classify_auth(self, response: Response) -> SendError | None:
        name, message = self._problem(response)
        if response.status_code in (400, 401) and name in ("ExpiredToken", "InvalidToken"):
            return AuthExpired(f"{message} (the Bluesky session must be refreshed)")
        return None

    def _classify_put(self, response: Response) -> SendError | None:
        name, message = self._problem(response)
        if name == "InvalidSwap":
            return _AlreadyWritten(message)
        return self._classify_auth(response)

    def _classify_login(self, response: Response) -> SendError | None:
        name, message = self._problem(response)
        if response.status_code == 401 or name == "AuthenticationRequired":
            return Permanent(
                f"{message}: Bluesky refused the handle or app password; check `handle` "
                "and `app_password` (Settings → Privacy and security → App passwords)"
            )
        if name == "AuthFactorTokenRequired":
            return Permanent(f"{message}: use an app password, not the account password")
        return None

    # ------------------------------------------------------------------ settled by hand
    # A post's link as the app shows it, https://bsky.app/profile/HANDLE_OR_DID/post/RKEY
    # (other clients use the same path), or its AT-URI at://DID/app.bsky.feed.post/RKEY.
    post_link: ClassVar[str] = (
        r"^(?:https://[^/?#]+/profile/([^/?#]+)/post/([^/?#]+)/?(?:[?#].*)?"
        r"|at://([^/?#]+)/app\.bsky\.feed\.post/([^/?#]+))$"
    )

    def reference(self, url: str) -> Sent | None:
        """The post at ``url`` (a part a human published or found online), to reply to.

        The handle in the link is resolved with com.atproto.identity.resolveHandle (a
        DID is taken as it is), then the record is read with com.atproto.repo.getRecord
        {repo: DID, collection: app.bsky.feed.post, rkey}, whose answer has the uri and
        cid a reply's strong ref needs (app.bsky.feed.post#replyRef). Both are public
        queries: no session is opened. The post must be the account's own (its handle
        resolved the same way): a thread never continues under someone else's post.
        Record key syntax: https://atproto.com/specs/record-key.
        """
        import re

        link = url.strip()
        match = re.match(self.post_link, link)
        example = "https://bsky.app/profile/you.bsky.social/post/3kabcdefghij2"
        if match is None:
            raise Permanent(f"{link!r} is not a link to a Bluesky post (e.g. {example})")
        actor = match.group(1) or match.group(3)
        rkey = match.group(2) or match.group(4)
        if rkey in (".", "..") or not re.match(r"^[A-Za-z0-9._:~-]{1,512}$", rkey):
            raise Permanent(f"{link!r} does not end with a Bluesky record key (e.g. {example})")
        did = actor if actor.startswith("did:") else self.resolve_handle(actor)
        if did is None:
            raise Permanent(f"Bluesky does not know the handle {actor!r} of {link}")
        own = str(self.options.get("handle") or "").strip().lstrip("@")
        mine = own if own.startswith("did:") else self.resolve_handle(own) if own else None
        if mine is not None and did != mine:
            raise Permanent(f"{link} is a post of {actor}, not of this account (@{own})")
        try:
            response = self.http.request(
                "GET",
                self._xrpc("com.atproto.repo.getRecord"),
                params={"repo": did, "collection": POST, "rkey": rkey},
            )
        except Permanent as exc:  # RecordNotFound, or a repo this PDS does not host
            raise Permanent(f"Bluesky has no post at {link} ({exc.message})") from None
        body = _json_object(response, "getRecord")
        uri, cid = body.get("uri"), body.get("cid")
        if not isinstance(uri, str) or not isinstance(cid, str):
            raise Permanent(f"getRecord: Bluesky answered without the uri and cid of {link}")
        return Sent(
            remote_id=uri,
            url=f"https://bsky.app/profile/{actor}/post/{rkey}",
            ref={"uri": uri, "cid": cid},
        )


def short_url(url: str) -> str:
    """How Bluesky's app shows an http(s) link (see the header); anything else as is."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return url
    host = parts.netloc.rpartition("@")[2].lower()
    rest = "" if parts.path == "/" else parts.path
    rest += (f"?{parts.query}" if parts.query else "") + (
        f"#{parts.fragment}" if parts.fragment else ""
    )
    if len(rest) > SHORT_AFTER:
        return host + rest[:SHORT_KEEP] + SHORT_MARK
    return host + rest


def _links(text: str) -> list[tuple[Entity, str]]:
    """The URLs of ``text`` with the URI each links to."""
    from cmctl.text.entities import extract_urls

    return [(u, u.value if "://" in u.value else "https://" + u.value) for u in extract_urls(text)]


def displayed(text: str) -> tuple[str, list[tuple[Entity, str]]]:
    """``text`` as the post shows it (http(s) links shortened) and, for each link, where
    it is in that text and the full URI it links to."""
    from cmctl.text.entities import Entity

    shown: list[str] = []
    links: list[tuple[Entity, str]] = []
    last = at = 0
    for url, uri in _links(text):
        short = short_url(url.value) if "://" in url.value else url.value
        shown.append(text[last : url.start])
        at += url.start - last
        links.append((Entity("url", at, at + len(short), short), uri))
        shown.append(short)
        at += len(short)
        last = url.end
    shown.append(text[last:])
    return "".join(shown), links


class _AlreadyWritten(Permanent):
    """putRecord's InvalidSwap: a record exists at our key (an earlier attempt)."""


def record_key(out: Outgoing) -> str:
    """The post's record key: a TID that is a function of the job key alone.

    Never of when the ledger row was made or of the post's time: a ledger restored from
    an older backup, a re-created row or a moved post must land on the same key, or a
    resend would make a second post. The 64 bits of the TID come from a hash of the job
    key: 45 bits of microseconds after 2023-01-01 (so the timestamp is a plausible one,
    between January 2023 and February 2024, after Bluesky opened) and 10 bits of clock
    identifier. Two jobs collide only if 55 bits of their hashes agree.
    """
    digest = hashlib.sha256(f"cmctl:bluesky:rkey:{out.key}".encode()).digest()
    bits = int.from_bytes(digest[:8], "big")
    micros = RKEY_EPOCH_US + (bits >> 10) % RKEY_SPAN_US
    return tid(micros, bits & 0x3FF)


def tid(micros: int, clock_id: int) -> str:
    """Encode a TID: 0 (1 bit), microseconds (53 bits), clock identifier (10 bits)."""
    value = ((micros & ((1 << 53) - 1)) << 10) | (clock_id & 0x3FF)
    chars = []
    for _ in range(13):
        chars.append(TID_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def _sent(session: dict[str, str], body: dict[str, Any], rkey: str, error: type[SendError]) -> Sent:
    uri, cid = body.get("uri"), body.get("cid")
    if not isinstance(uri, str) or not isinstance(cid, str):
        raise error("Bluesky answered without the post's uri and cid")
    who = session["handle"]
    if who == "handle.invalid":  # what the PDS says when the handle no longer verifies
        who = session["did"]
    return Sent(
        remote_id=uri,
        url=f"https://bsky.app/profile/{who}/post/{rkey}",
        ref={"uri": uri, "cid": cid},
    )


def _embed(blobs: list[tuple[Attachment, dict[str, Any]]]) -> dict[str, Any]:
    from cmctl.media import dimensions, facts

    if (facts(blobs[0][0].path, blobs[0][0].root).mime_type or "").startswith("video/"):
        item, blob = blobs[0]
        video: dict[str, Any] = {"$type": "app.bsky.embed.video", "video": blob}
        if item.alt:
            video["alt"] = item.alt
        return video
    images = []
    for item, blob in blobs:
        image: dict[str, Any] = {"image": blob, "alt": item.alt or ""}
        size = dimensions(item.path)
        if size is not None:
            image["aspectRatio"] = {"width": size[0], "height": size[1]}
        images.append(image)
    return {"$type": "app.bsky.embed.images", "images": images}


def _strong_ref(sent: Sent) -> dict[str, str]:
    uri, cid = sent.ref.get("uri"), sent.ref.get("cid")
    if not isinstance(uri, str) or not isinstance(cid, str):
        raise Permanent(f"the part {sent.remote_id} has no Bluesky uri and cid to reply to")
    return {"uri": uri, "cid": cid}


@contextlib.contextmanager
def _store_trouble() -> Iterator[None]:
    """A credential store that fails mid-run (a full disk): nothing was posted, retry."""
    from cmctl.errors import ConfigError

    try:
        yield
    except ConfigError as exc:
        raise Transient(str(exc)) from None


def jwt_expiry(token: str) -> datetime | None:
    """The ``exp`` claim of a JWT, read without verifying it (only the PDS can), or None.

    Only to know when to refresh ahead: the PDS still judges every token itself."""
    import base64
    import json

    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        exp = claims["exp"]
        if isinstance(exp, bool) or not isinstance(exp, (int, float)):
            return None
        return datetime.fromtimestamp(exp, UTC)
    except (IndexError, KeyError, TypeError, ValueError, OverflowError, OSError):
        return None


def _expires_soon(session: dict[str, str]) -> bool:
    expiry = jwt_expiry(session["accessJwt"])
    return expiry is not None and expiry <= clock.now() + REFRESH_AHEAD


def _now_iso() -> str:
    """clock.now() as atproto datetimes are written: UTC, milliseconds, "Z"."""
    return clock.now().astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _json_object(
    response: Response, method: str, error: type[SendError] = Permanent
) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise error(f"{method}: Bluesky answered {response.status_code} without a JSON object")
    return body
